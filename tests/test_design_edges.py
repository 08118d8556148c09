"""Design edges where the estimators must follow the references or say what they do.

Overlap in propensity-score Callaway-Sant'Anna (R ``did``'s rule), one multiplier-bootstrap
weight default, effectively treated units, covariates absorbed by fixed effects, event time on
non-unit period steps, and documentation that matches the code.
"""

from __future__ import annotations

import inspect
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.errors import ConfigError, EstimationError
from evaluation.estimation import estimate
from evaluation.estimators.callaway_santanna import fit_cs
from evaluation.inference.base import InferenceSettings
from evaluation.panel import Panel

DOCS = Path(__file__).resolve().parents[1] / "docs"


# --------------------------------------------------------------------------- 1. overlap
def _overlap_frame() -> pd.DataFrame:
    """43 units: a cohort of 6 with good overlap and one of 6 whose covariate nearly separates."""
    rng = np.random.default_rng(11)
    n, periods = 43, 6
    x = rng.normal(size=n)
    cohort = np.zeros(n)
    cohort[:6], cohort[6:12] = 4, 5
    x[6:12] = 2.5 + np.array([-0.1, 0.3, 0.6, 0.9, 1.2, 1.5])
    x[12] = 2.5  # one comparison unit inside the late cohort's range: no complete separation
    rows = []
    for i in range(n):
        for t in range(1, periods + 1):
            effect = 2.0 if cohort[i] and t >= cohort[i] else 0.0
            rows.append((i, t, cohort[i], x[i], 0.5 * x[i] * t + rng.normal() + effect))
    return pd.DataFrame(rows, columns=["u", "t", "g", "x", "y"])


def _max_pscore(frame: pd.DataFrame, group: float) -> float:
    """Largest fitted score of statsmodels' logit of the group on x (R did's preliminary glm)."""
    import statsmodels.api as sm

    units = frame.drop_duplicates("u")
    cell = units[(units["g"] == group) | (units["g"] == 0)]
    X = sm.add_constant(cell["x"].to_numpy())
    d = (cell["g"] == group).to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.Logit(d, X).fit(disp=0, maxiter=200)
    return float(fit.predict(X).max())


@pytest.mark.parametrize("estimation", ["dr", "ipw"])
def test_overlap_violation_leaves_cells_missing_and_names_them(estimation: str) -> None:
    frame = _overlap_frame()
    assert _max_pscore(frame, 5) >= 0.999 > 0.99 > _max_pscore(frame, 4)
    panel = Panel.from_frame(frame, unit="u", time="t", cohort="g", outcomes="y", covariates=["x"])
    res = fit_cs(panel, "y", estimation=estimation, inference="cr1")
    gt = res.group_time
    late = gt["group"] == 5
    assert gt.loc[late, "estimate"].isna().all()
    assert gt.loc[~late, "estimate"].notna().all()
    (note,) = [w for w in res.warnings if "overlap condition violated" in w]
    for t in range(2, 7):
        assert f"ATT(5, {t})" in note
    assert "ATT(4," not in note
    # the aggregates use the remaining cells: the simple ATT is cohort 4's post-period average
    post4 = gt[(gt["group"] == 4) & (gt["time"] >= 4)]["estimate"].mean()
    assert res.overall.estimate == pytest.approx(post4, abs=1e-12)
    assert np.isfinite(res.overall.se)


def test_outcome_regression_has_no_overlap_rule() -> None:
    frame = _overlap_frame()
    panel = Panel.from_frame(frame, unit="u", time="t", cohort="g", outcomes="y", covariates=["x"])
    res = fit_cs(panel, "y", estimation="reg", inference="cr1")
    assert res.group_time["estimate"].notna().all()
    assert not any("overlap" in w for w in res.warnings)


def test_complete_separation_is_an_overlap_violation() -> None:
    frame = _overlap_frame()
    frame.loc[frame["u"] == 12, "x"] = -1.0  # no comparison unit left inside the range
    panel = Panel.from_frame(frame, unit="u", time="t", cohort="g", outcomes="y", covariates=["x"])
    res = fit_cs(panel, "y", estimation="dr", inference="cr1")
    assert res.group_time.loc[res.group_time["group"] == 5, "estimate"].isna().all()
    assert any("overlap condition violated" in w for w in res.warnings)


# --------------------------------------------------------------------------- 2. weights
def test_rademacher_is_the_multiplier_default_everywhere() -> None:
    from evaluation.inference.multiplier import bootstrap_draws
    from evaluation.studies import coverage_study

    assert inspect.signature(bootstrap_draws).parameters["weights"].default == "rademacher"
    assert inspect.signature(estimate).parameters["weights"].default == "rademacher"
    assert inspect.signature(coverage_study).parameters["weights"].default == "rademacher"
    assert InferenceSettings().weights == "rademacher"
    psi = np.random.default_rng(1).normal(size=(30, 2))
    draws = bootstrap_draws(psi, 50, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    v = rng.integers(0, 2, size=(50, 30)).astype(float) * 2.0 - 1.0
    assert np.allclose(draws, v @ psi / 30, atol=1e-14)
    # fit_cs without settings bootstraps with the same default
    src = inspect.getsource(fit_cs)
    assert 'InferenceSettings(weights="mammen")' not in src


def test_docs_name_rademacher_as_the_multiplier_default() -> None:
    text = (DOCS / "methods-cs.md").read_text()
    assert "Mammen weights by default" not in text
    assert re.search(r"Rademacher weights \(\+/-1\) by default", text)


# --------------------------------------------------------------------------- 3. who is treated
def _late_frame() -> pd.DataFrame:
    """20 units, 10 periods: 3 treated at 6, 4 first treated at 15 (after the last period)."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(20):
        g = 6 if i < 3 else (15 if i < 7 else 0)
        for t in range(1, 11):
            rows.append((f"u{i:02d}", t, g, rng.normal() + (1.0 if 0 < g <= t else 0.0)))
    return pd.DataFrame(rows, columns=["force", "period", "cohort", "y"])


@pytest.mark.parametrize("method", ["cs", "twfe", "event_study", "imputation"])
def test_units_treated_after_the_last_period_are_not_counted(method: str) -> None:
    res = estimate(_late_frame(), "y", method=method, inference="cr1" if method != "twfe" else None)
    assert res.n_treated_units == 3
    moved = res.info["reclassified_units"]
    assert [m["unit"] for m in moved] == ["u03", "u04", "u05", "u06"]
    assert all("after its last observed period" in m["reason"] for m in moved)
    assert any("used as never treated: u03, u04, u05, u06" in w for w in res.warnings)
    # with 3 effectively treated units the design warnings speak of 3, not 7
    assert any(w.startswith("only 3 treated unit(s) of 20") for w in res.warnings) or (
        res.overall.inference == "ri"
    )


def test_recommended_inference_uses_effectively_treated_units() -> None:
    from evaluation.design import recommended_inference

    frame = _late_frame()
    panel = Panel.from_frame(frame, unit="force", time="period", cohort="cohort", outcomes="y")
    assert panel.n_treated_units == 7  # the panel still holds the cohorts as given
    assert recommended_inference(panel, "cs") == "ri"
    assert recommended_inference(panel, "twfe") == "ri"
    res = fit_cs(panel, "y", settings=InferenceSettings(reps=99, rng=np.random.default_rng(0)))
    assert res.overall.inference == "ri"


def test_first_period_units_dropped_through_the_api_are_reported() -> None:
    frame = _late_frame()
    frame.loc[frame["force"] == "u19", "cohort"] = 1  # treated from the first period
    with pytest.raises(EstimationError, match="no period before treatment"):
        Panel.from_frame(frame, unit="force", time="period", cohort="cohort", outcomes="y")
    panel = Panel.from_frame(
        frame, unit="force", time="period", cohort="cohort", outcomes="y", require_pre_period=False
    )
    res = fit_cs(panel, "y", inference="cr1")
    assert res.n_treated_units == 3
    moved = {m["unit"]: m["reason"] for m in res.info["reclassified_units"]}
    assert "no pre-treatment period" in moved["u19"]
    assert any("not counted as treated: u19" in w for w in res.warnings)


# ------------------------------------------------------------------- 4. collinear covariates
def _covariate_frame() -> pd.DataFrame:
    rng = np.random.default_rng(8)
    rows = []
    for i in range(24):
        g = [0, 5, 7][i % 3]
        size = rng.normal()
        for t in range(1, 10):
            rows.append(
                (i, t, g, size, float(i % 2), 0.1 * t, rng.normal(), rng.normal() + (0 < g <= t))
            )
    frame = pd.DataFrame(
        rows, columns=["force", "period", "cohort", "size", "urban", "trend", "w", "y"]
    )
    frame["w2"] = 2.0 * frame["w"] + frame["size"]  # w plus a unit component: collinear after FE
    frame["flat"] = 3.0
    return frame


@pytest.mark.parametrize("method", ["twfe", "event_study", "imputation"])
@pytest.mark.parametrize(
    ("covariate", "why"),
    [
        ("size", "does not change within any unit"),
        ("urban", "does not change within any unit"),
        ("trend", "changes only from period to period"),
        ("flat", "has the same value in every row"),
    ],
)
def test_covariates_absorbed_by_fixed_effects_are_refused_by_name(
    method: str, covariate: str, why: str
) -> None:
    frame = _covariate_frame()
    with pytest.raises(ConfigError, match=rf"{method}: covariate.*'{covariate}': it {why}"):
        estimate(frame, "y", method=method, inference="cr1", covariates=[covariate])


@pytest.mark.parametrize("method", ["twfe", "event_study", "imputation"])
def test_covariate_collinear_with_another_after_fixed_effects_is_refused(method: str) -> None:
    frame = _covariate_frame()
    with pytest.raises(ConfigError, match="'w2': after the unit and period effects it is a linear"):
        estimate(frame, "y", method=method, inference="cr1", covariates=["w", "w2"])
    res = estimate(frame, "y", method=method, inference="cr1", covariates=["w"])
    assert np.isfinite(res.overall.estimate)


def test_cs_takes_time_invariant_covariates_and_refuses_useless_ones() -> None:
    frame = _covariate_frame()
    res = estimate(frame, "y", method="cs", inference="cr1", covariates=["size", "urban"])
    assert np.isfinite(res.overall.estimate)
    with pytest.raises(ConfigError, match="'flat': it has the same value for every unit"):
        estimate(frame, "y", method="cs", inference="cr1", covariates=["size", "flat"])
    frame["size2"] = 1.0 - 2.0 * frame["size"]
    with pytest.raises(ConfigError, match="'size2': it is a linear combination"):
        estimate(frame, "y", method="cs", inference="cr1", covariates=["size", "size2"])


def test_cli_refuses_an_absorbed_covariate_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from evaluation.cli import main

    path = tmp_path / "panel.csv"
    _covariate_frame().to_csv(path, index=False)
    code = main(
        [
            "estimate",
            str(path),
            "--outcome",
            "y",
            "--method",
            "twfe",
            "--inference",
            "cr1",
            "--covariates",
            "urban",
        ]
    )
    _, err = capsys.readouterr()
    assert code == 2
    assert "'urban'" in err and "time-invariant" in err


# --------------------------------------------------------------------------- 5. time steps
def _five_year_frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = []
    for i in range(30):
        g = [0, 2005, 2010][i % 3]
        for t in range(1990, 2021, 5):
            rows.append((i, t, g, rng.normal() + (0 < g <= t) * (1 + (t - g) / 10)))
    return pd.DataFrame(rows, columns=["force", "period", "cohort", "y"])


def test_event_study_counts_event_time_in_the_panels_steps() -> None:
    frame = _five_year_frame()
    res = estimate(frame, "y", method="event_study", inference="cr1")
    assert res.info["time_step"] == 5
    # the same panel with periods renumbered 1, 2, 3, ...: identical event study
    steps = frame.assign(
        period=(frame["period"] - 1985) // 5,
        cohort=np.where(frame["cohort"] > 0, (frame["cohort"] - 1985) // 5, 0),
    )
    ref = estimate(steps, "y", method="event_study", inference="cr1")
    assert ref.info["time_step"] == 1
    assert res.event_study["event_time"].tolist() == ref.event_study["event_time"].tolist()
    assert -1 in res.event_study["event_time"].tolist()
    for col in ("estimate", "se"):
        assert np.allclose(res.event_study[col], ref.event_study[col], atol=1e-10, equal_nan=True)
    assert res.overall.estimate == pytest.approx(ref.overall.estimate, abs=1e-10)


def test_event_study_names_a_cohort_off_the_time_grid_and_a_missing_reference() -> None:
    frame = _five_year_frame()
    frame.loc[frame["force"] == 1, "cohort"] = 2003
    with pytest.raises(ConfigError, match=r"cohort\(s\) \[2003\] fall between the panel's periods"):
        estimate(frame, "y", method="event_study", inference="cr1")
    gappy = _five_year_frame()
    gappy = gappy[gappy["period"] != 2000]  # 1990, 1995, 2005, ...: steps of 5, -1 for 2005 gone
    gappy = gappy[~((gappy["cohort"] == 2010) & (gappy["period"] == 2005))]
    with pytest.raises(ConfigError, match="reference event time -1 is not observed"):
        estimate(gappy, "y", method="event_study", inference="cr1")


# --------------------------------------------------------------------------- 6. docs match code
def _imputation_frame() -> pd.DataFrame:
    frame = _covariate_frame()
    return frame[["force", "period", "cohort", "y"]]


@pytest.mark.parametrize("inference", ["cr1", "multiplier"])
def test_imputation_takes_what_the_docs_say_it_takes(inference: str) -> None:
    text = (DOCS / "methods-robustness.md").read_text()
    section = text[text.index("## Imputation estimator") : text.index("## Synthetic")]
    assert f'- `"{inference}"`:' in section
    assert not re.search(rf'`"{inference}"`[^\n]*are refused', section)
    res = estimate(_imputation_frame(), "y", method="imputation", inference=inference, rng=1)
    assert res.overall.inference == inference and np.isfinite(res.overall.se)
    with pytest.raises(ConfigError):
        estimate(_imputation_frame(), "y", method="imputation", inference="wild", rng=1)
    assert '- `"wild"` is refused' in section


def test_first_period_units_are_refused_as_the_cs_docs_say() -> None:
    text = (DOCS / "methods-cs.md").read_text()
    assert "units treated in or before the first period are left out" not in text
    assert "Units treated from the first period on (no pre-treatment period) are refused" in text
    frame = _late_frame()
    frame.loc[frame["force"] == "u19", "cohort"] = 1
    with pytest.raises(EstimationError, match="u19"):
        estimate(frame, "y", method="cs", inference="cr1")


def test_leave_one_pilot_out_drops_only_effectively_treated_units() -> None:
    from evaluation.sensitivity.placebo import leave_one_pilot_out

    panel = Panel.from_frame(
        _late_frame(), unit="force", time="period", cohort="cohort", outcomes="y"
    )
    res = leave_one_pilot_out(panel, "y", fit_cs, inference="cr1")
    assert res.table["dropped"].tolist() == ["u00", "u01", "u02"]
