"""Copy govuk-frontend's compiled CSS into dashboard/assets, set in Arial, with no web fonts.

An internal tool does not use the GOV.UK brand font (GDS Transport) or the crown, so the
``@font-face`` rules are removed and every font stack starts with Arial; nothing is fetched from
outside the app. Run after ``npm install govuk-frontend`` in a scratch folder::

    python tools/vendor_govuk.py path/to/node_modules/govuk-frontend

The result (and the package's MIT licence) is committed; the app needs no npm at run time.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "dashboard" / "assets"

LICENCE = """The MIT License (MIT)

Copyright (c) 2018 Crown Copyright (Government Digital Service)

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
the Software, and to permit persons to whom the Software is furnished to do so,
subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


def arial_css(css: str) -> str:
    """Return the stylesheet without web fonts, source map or crest image, set in Arial."""
    css = re.sub(r"@font-face\{[^}]*\}", "", css)
    css = css.replace("font-family:GDS Transport,arial,sans-serif", "font-family:arial,sans-serif")
    css = css.replace("font-family:GDS Transport", "font-family:arial")
    css = re.sub(r"url\(/assets/images/[^)]*\)", "none", css)
    css = re.sub(r"/\*# sourceMappingURL=[^*]*\*/\s*$", "", css)
    if "GDS Transport" in css or "url(/assets/fonts" in css:
        raise SystemExit("govuk-frontend CSS still refers to the brand font")
    return css


def main(package: str) -> int:
    """Vendor the CSS and licence of the govuk-frontend package folder ``package``."""
    root = Path(package)
    meta = json.loads((root / "package.json").read_text(encoding="utf-8"))
    css = (root / "dist" / "govuk" / "govuk-frontend.min.css").read_text(encoding="utf-8")
    OUT.mkdir(parents=True, exist_ok=True)
    header = f"/* govuk-frontend {meta['version']} (MIT, Crown Copyright), set in Arial */\n"
    (OUT / "govuk-frontend.min.css").write_text(header + arial_css(css), encoding="utf-8")
    (OUT / "govuk-frontend-LICENCE.txt").write_text(LICENCE, encoding="utf-8")
    print(f"govuk-frontend {meta['version']} -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
