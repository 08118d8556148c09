#!/usr/bin/env bash
# Install the system programs the project uses for real (not mocked) in its tests and outputs:
#   chromium + chromedriver  dashboard browser tests, PDF rendering fallback
#   soffice (LibreOffice)     recalculating the exported workbook in tests
#   pdftoppm (poppler)        rendering report pages to PNG
#   pango                     WeasyPrint's text layout (HTML -> PDF)
# Installs with apt-get when run as root on Debian/Ubuntu. When something is still missing:
# under CI (CI=true) this fails; elsewhere it warns and the tests that need it are skipped.
set -euo pipefail

need_cmds=(chromium soffice pdftoppm)
packages=(chromium chromium-driver libreoffice-calc-nogui poppler-utils fonts-liberation
          libpango-1.0-0 libpangoft2-1.0-0)

missing() {
    local out=()
    for c in "${need_cmds[@]}"; do command -v "$c" >/dev/null 2>&1 || out+=("$c"); done
    ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' || out+=("libpango")
    echo "${out[@]:-}"
}

gone="$(missing)"
if [[ -z "$gone" ]]; then
    exit 0
fi
if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: installing ${packages[*]} (missing: $gone)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
    gone="$(missing)"
fi
if [[ -n "$gone" ]]; then
    echo "system-deps: still missing: $gone (install: apt-get install ${packages[*]})" >&2
    if [[ "${CI:-}" == "true" ]]; then
        exit 1
    fi
fi
exit 0
