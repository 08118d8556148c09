"""Fake go-live and leave-one-pilot-out checks, with estimators passed in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.errors import EstimationError
from evaluation.estimators.imputation import imputation_statistic
from evaluation.estimators.synthetic import fit_sdid
from evaluation.inference.base import InferenceSettings
from evaluation.panel import Panel
from evaluation.results import DidResult, Estimate
from evaluation.sensitivity.placebo import fake_golive, leave_one_pilot_out


def _frame(seed: int = 0, n: int = 14, t: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cohort = [8, 8, 10] + [0] * (n - 3)
    rows = []
    for i, g in enumerate(cohort):
        a = rng.normal(0, 2)
        for s in range(1, t + 1):
            eff = 0.0 if g == 0 or s < g else 5.0
            rows.append((f"u{i:02d}", s, g, a + 0.3 * s + eff + rng.normal(0, 0.2)))
    return pd.DataFrame(rows, columns=["unit", "time", "cohort", "y"])


def _imputation_point(panel: Panel, outcome: str) -> DidResult:
    """A minimal estimator (imputation point estimate, no inference) with the fit_* shape."""
    stat, _ = imputation_statistic(panel, cells=False)
    est = float(stat(panel.data[outcome].to_numpy(), panel.unit_cohorts.to_numpy()[None])[0, 0])
    nan = float("nan")
    return DidResult(
        "imputation",
        "notyet",
        outcome,
        panel.n_units,
        panel.n_periods,
        panel.n_treated_units,
        Estimate(est, nan, nan, nan, nan, "none"),
    )


def test_fake_golive_shifts_cohorts_and_uses_only_pre_data() -> None:
    p = Panel.from_frame(_frame(), unit="unit", time="time", cohort="cohort", outcomes="y")
    seen = []

    def spy(panel: Panel, outcome: str) -> DidResult:
        seen.append(panel)
        return _imputation_point(panel, outcome)

    actual = _imputation_point(p, "y")
    out = fake_golive(p, "y", spy, shifts=(1, 3), actual=actual)
    # window: periods before the first real go-live (8)
    assert all(q.data["time"].max() == 7 for q in seen)
    # shift 1: cohort 8 -> 7; cohort 10 -> 9 is outside the window -> comparison unit
    assert seen[0].cohorts.tolist() == [7.0]
    assert seen[1].cohorts.tolist() == [5.0, 7.0]  # 8 -> 5 and 10 -> 7
    assert out.table["shift"].tolist() == [1, 3]
    # no real effect before go-live: placebo estimates are small against the real 5
    assert (out.table["estimate"].abs() < 0.5).all()
    assert actual.overall.estimate == pytest.approx(5.0, abs=0.3)
    assert out.p_value == pytest.approx(1 / 3)


def test_fake_golive_matches_manual_refit() -> None:
    p = Panel.from_frame(_frame(1), unit="unit", time="time", cohort="cohort", outcomes="y")
    out = fake_golive(p, "y", _imputation_point, shifts=(2,))
    df = _frame(1)
    df = df[df["time"] < 8].copy()
    df["cohort"] = np.where(df["cohort"] == 8, 6, 0)
    manual = Panel.from_frame(df, unit="unit", time="time", cohort="cohort", outcomes="y")
    assert out.table["estimate"][0] == pytest.approx(
        _imputation_point(manual, "y").overall.estimate, abs=1e-12
    )


def test_leave_one_pilot_out_table_and_max_change() -> None:
    p = Panel.from_frame(_frame(2), unit="unit", time="time", cohort="cohort", outcomes="y")
    out = leave_one_pilot_out(p, "y", _imputation_point)
    assert out.table["dropped"].tolist() == ["u00", "u01", "u02"]
    for u, est in zip(out.table["dropped"], out.table["estimate"], strict=True):
        keep = [v for v in p.units if v != u]
        direct = _imputation_point(p.subset_units(keep), "y").overall.estimate
        assert est == pytest.approx(direct, abs=1e-12)
    assert out.max_change == pytest.approx(
        float((out.table["estimate"] - out.actual).abs().max()), abs=1e-12
    )


def test_works_with_sdid_and_its_placebo_inference() -> None:
    p = Panel.from_frame(_frame(3), unit="unit", time="time", cohort="cohort", outcomes="y")
    opts = {"settings": InferenceSettings(reps=20, rng=np.random.default_rng(0))}
    out = leave_one_pilot_out(p, "y", fit_sdid, **opts)
    assert len(out.table) == 3 and out.table["se"].notna().all()
    fake = fake_golive(p, "y", fit_sdid, shifts=(2,), **opts)
    assert abs(fake.table["estimate"][0]) < 1.0


def test_errors() -> None:
    df = _frame()
    df.loc[df["unit"] != "u00", "cohort"] = np.where(
        df.loc[df["unit"] != "u00", "cohort"] > 0, 0, 0
    )
    p = Panel.from_frame(df, unit="unit", time="time", cohort="cohort", outcomes="y")
    with pytest.raises(EstimationError, match="at least two"):
        leave_one_pilot_out(p, "y", _imputation_point)
    with pytest.raises(EstimationError, match="no earlier period"):
        fake_golive(p, "y", _imputation_point, shifts=(7,))
