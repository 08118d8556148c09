"""Shared test fixtures.

``require_tool`` is how a test asks for a real system program (Chromium, LibreOffice, pdftoppm).
The project's set-up installs them (``make setup`` runs ``tools/system-deps.sh``). Under CI
(``CI=true``) a missing program fails the test; elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_tool(name: str) -> str:
    """Return the path of system program ``name``; fail under CI, skip elsewhere, if missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (make setup installs it: tools/system-deps.sh)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path
