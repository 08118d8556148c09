"""Shared test fixtures.

Hypothesis profiles: ``ci`` (the default, used by ``make test`` and CI) is derandomised, so a
clean run cannot fail at random: the same examples are drawn every time, and a failure prints
the blob that reproduces it (``@reproduce_failure``). ``fuzz`` draws fresh random examples;
``make test-fuzz`` runs the property tests under it with many ``--hypothesis-seed`` values. Pick
one with ``HYPOTHESIS_PROFILE=fuzz`` or pytest's ``--hypothesis-profile=fuzz``.

``require_tool`` is how a test asks for a real system program (Chromium, LibreOffice, pdftoppm).
The project's set-up installs them (``make setup`` runs ``tools/system-deps.sh``). Under CI
(``CI=true``) a missing program fails the test; elsewhere the test is skipped with the reason.
``require_peer`` is the same rule for the peer packages the estimates are checked against (the
``peers`` extra, installed by ``make setup``): a cross-check that silently skipped in CI would
check nothing.
"""

from __future__ import annotations

import importlib
import os
import shutil
from types import ModuleType

import pytest
from hypothesis import settings

IN_CI = os.environ.get("CI", "").lower() == "true"

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True, database=None)
settings.register_profile("fuzz", derandomize=False, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def require_tool(name: str) -> str:
    """Return the path of system program ``name``; fail under CI, skip elsewhere, if missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (make setup installs it: tools/system-deps.sh)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def require_peer(module: str) -> ModuleType:
    """Import peer module ``module`` (``"pyfixest"``); fail under CI, skip elsewhere, if missing."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        message = (
            f"peer package {module.split('.')[0]!r} is not importable ({exc}); make setup "
            "installs the peers extra (pip install -e '.[dev,peers]')"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
