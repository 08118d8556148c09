"""Inference checked by brute force through the public API, on panels small enough to loop over.

* The event study's CR3 pre-trend Wald test against an explicit leave-one-cluster-out loop of
  full refits (not the vectorised jackknife the estimator uses).
* Randomization-inference p-values of every estimator that offers them against counting, over
  every distinct reassignment of the go-live dates, the refits whose estimate is at least as
  large in absolute value as the observed one.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluation.estimation import estimate
from evaluation.estimators.event_study import fit_event_study
from evaluation.panel import Panel


def _panel_frame(seed: int, cohorts: list[int], periods: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [(u, t, g) for u, g in enumerate(cohorts) for t in range(1, periods + 1)]
    df = pd.DataFrame(rows, columns=["id", "t", "g"])
    unit_fe = rng.normal(size=len(cohorts))[df["id"]]
    trend = 0.3 * rng.normal(size=len(cohorts))[df["id"]] * df["t"]  # unit trends: pre-trends
    treated = (df["g"] > 0) & (df["t"] >= df["g"])
    df["y"] = unit_fe + 0.2 * df["t"] + trend + 0.8 * treated + rng.normal(size=len(df))
    return df


def test_event_study_cr3_pretrend_equals_a_leave_one_cluster_out_loop() -> None:
    cohorts = [4, 4, 4, 5, 5, 0, 0, 0, 0, 0]
    df = _panel_frame(11, cohorts, periods=7)
    panel = Panel.from_frame(df, unit="id", time="t", cohort="g", outcomes="y")
    window = {"leads": 3, "lags": 2}
    res = fit_event_study(panel, "y", inference="cr3", **window)
    pre = res.info["pretrend"]
    es = res.event_study.set_index("event_time")
    leads = [e for e in es.index if e < -1]
    assert leads == [-3, -2] and pre["df"] == 2
    b = es.loc[leads, "estimate"].to_numpy()
    # leave each force out in turn and refit the whole event study
    units = list(panel.units)
    jack = []
    for u in units:
        sub = panel.subset_units([v for v in units if v != u])
        refit = fit_event_study(sub, "y", inference="cr1", **window).event_study
        jack.append(refit.set_index("event_time").loc[leads, "estimate"].to_numpy())
    jk = np.array(jack)
    g = len(units)
    dev = jk - jk.mean(axis=0)
    vcov = (g - 1) / g * dev.T @ dev
    wald = float(b @ np.linalg.solve(vcov, b))
    assert pre["vcov"] == "cr3" and pre["df_denom"] == g - 1
    assert pre["statistic"] == pytest.approx(wald, rel=1e-9)
    assert pre["p_value"] == pytest.approx(stats.f.sf(wald / 2, 2, g - 1), rel=1e-9)
    # the CR1 statistic differs on this panel: the test above can tell the two apart
    cr1 = fit_event_study(panel, "y", inference="cr1", **window).info["pretrend"]
    assert abs(cr1["statistic"] - wald) > 0.05 * wald
    # the per-coefficient CR3 standard errors come from the same loop
    np.testing.assert_allclose(es.loc[leads, "se"], np.sqrt(np.diag(vcov)), rtol=1e-9)


def _assignments(cohorts: list[int]) -> list[tuple[int, ...]]:
    return sorted(set(itertools.permutations(cohorts)))


@pytest.mark.parametrize("method", ["twfe", "cs", "imputation"])
def test_randomization_p_values_equal_brute_force_refits(method: str) -> None:
    cohorts = [3, 4, 0, 0, 0, 0]
    df = _panel_frame(5, cohorts, periods=5)
    kwargs = {"unit": "id", "time": "t", "cohort": "g", "method": method}
    res = estimate(df, "y", inference="ri", rng=0, **kwargs)
    assert res.info.get("ri_exact", True) is True
    observed = res.overall.estimate
    horizons = {}
    if method == "imputation":
        horizons = dict(
            zip(res.event_study["event_time"], res.event_study["estimate"], strict=True)
        )
    hits = 0
    hits_h = dict.fromkeys(horizons, 0)
    draws = _assignments(cohorts)
    assert len(draws) == 30  # 6! / (1! 1! 4!)
    for draw in draws:
        moved = df.assign(g=df["id"].map(dict(enumerate(draw))))
        refit = estimate(moved, "y", inference="cr1", **kwargs)
        stat = refit.overall.estimate
        hits += abs(stat) >= abs(observed) - 1e-9 * (1 + abs(observed))
        if horizons:
            by_h = dict(
                zip(refit.event_study["event_time"], refit.event_study["estimate"], strict=True)
            )
            for h, obs_h in horizons.items():
                hits_h[h] += abs(by_h[h]) >= abs(obs_h) - 1e-9 * (1 + abs(obs_h))
    assert res.overall.p_value == pytest.approx(hits / len(draws), abs=1e-12)
    assert 0 < hits < len(draws)
    if horizons:
        p_h = dict(zip(res.event_study["event_time"], res.event_study["p_value"], strict=True))
        for h in horizons:
            assert p_h[h] == pytest.approx(hits_h[h] / len(draws), abs=1e-12), h
