"""The recommended inference and the design warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.design import design_warnings, recommended_inference
from evaluation.panel import Panel


def _panel(n_treated: int, n_units: int = 43, balanced: bool = True) -> Panel:
    rows = []
    for u in range(n_units):
        for t in range(1, 9):
            if not balanced and u == 0 and t == 8:
                continue
            rows.append({"u": u, "t": t, "g": 5 if u < n_treated else 0, "y": float(t)})
    return Panel.from_frame(pd.DataFrame(rows), unit="u", time="t", cohort="g", outcomes="y")


@pytest.mark.parametrize(
    ("n_treated", "method", "expected"),
    [
        (3, "twfe", "ri"),
        (3, "cs", "ri"),
        (5, "imputation", "ri"),
        (6, "twfe", "wild"),
        (6, "event_study", "wild"),
        (14, "cs", "multiplier"),
        (14, "imputation", "cr3"),
        (14, "sdid", "ri"),
        (3, "event_study", "wild"),
    ],
)
def test_recommendation_follows_the_design(n_treated: int, method: str, expected: str) -> None:
    assert recommended_inference(_panel(n_treated), method) == expected


def test_few_treated_warning_names_the_method_to_trust() -> None:
    (warning,) = design_warnings(_panel(3), "cr1", "twfe")
    assert "only 3 treated" in warning and "'ri'" in warning
    assert design_warnings(_panel(3), "ri", "twfe") == ()


def test_few_clusters_and_unbalanced_warnings() -> None:
    warns = design_warnings(_panel(8, n_units=20, balanced=False), "cr1", "twfe")
    assert any("only 20 clusters" in w for w in warns)
    assert any("unbalanced panel: 1 unit-period" in w for w in warns)


def test_recommended_methods_are_registered() -> None:
    from evaluation.inference.base import INFERENCE_METHODS, get_method

    get_method("cr1")  # loads the registry
    for n in (3, 14):
        for method in ("twfe", "cs", "imputation", "event_study", "sdid"):
            assert recommended_inference(_panel(n), method) in INFERENCE_METHODS
    assert np.isfinite(_panel(3).cohorts).all()


def test_few_treated_where_ri_is_not_offered() -> None:
    unbalanced = _panel(3, balanced=False)
    assert recommended_inference(unbalanced, "cs") == "cr3"
    assert recommended_inference(unbalanced, "twfe") == "ri"
    (warning, *_) = design_warnings(unbalanced, "cr3", "cs")
    assert "needs a balanced panel" in warning
    (warning,) = design_warnings(_panel(3), "wild", "event_study")
    assert "not offered for event studies" in warning
