"""Layers point one way: the library never imports the layers above it or web/template code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_LIBRARY = ("dashboard", "reporting", "dash", "flask", "jinja2", "weasyprint")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


LIBRARY_FILES = sorted((ROOT / "evaluation").rglob("*.py"))


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_library_does_not_import_higher_layers(path: Path) -> None:
    bad = _imports(path) & set(FORBIDDEN_IN_LIBRARY)
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_the_check_sees_imports() -> None:
    # the scanner itself must find an import, or the test above could never fail
    assert "dash" in _imports(ROOT / "dashboard" / "app.py")


def test_no_submodule_shadows_a_public_name() -> None:
    """Importing ``evaluation.X`` sets ``evaluation.X`` to the module: no public name may be one."""
    import importlib
    import importlib.util
    import pkgutil

    import evaluation

    modules = {m.name for m in pkgutil.iter_modules(evaluation.__path__)}
    assert not modules & set(evaluation.__all__), modules & set(evaluation.__all__)
    importlib.import_module("evaluation.estimation")
    assert callable(evaluation.estimate) and evaluation.estimate.__name__ == "estimate"
