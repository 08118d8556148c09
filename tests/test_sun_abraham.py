"""Sun-Abraham interaction-weighted event study: pyfixest's saturated event study, hand checks.

Tolerances: coefficients 1e-8 against pyfixest (same regression, same weights); standard errors
1e-6 relative (pyfixest's CRV1 and ours use the same small-sample factor; its aggregate is
``R V R'`` with the weights fixed, as ours); internal identities 1e-10.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.errors import ConfigError
from evaluation.estimation import estimate
from evaluation.estimators.event_study import fit_event_study
from evaluation.estimators.sun_abraham import fit_sun_abraham, interaction_design
from evaluation.inference.base import InferenceSettings
from evaluation.panel import Panel

MPDTA = Path(__file__).resolve().parent / "data" / "mpdta.csv"


def _heterogeneous(seed: int = 2, n: int = 40, cohorts=(0, 4, 6, 8)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        g = cohorts[i % len(cohorts)]
        a = rng.normal()
        for t in range(1, 11):
            eff = (0.5 + 0.2 * (t - g) + 0.3 * (g == 4)) if g and t >= g else 0.0
            rows.append((i, t, g, a + 0.1 * t + eff + rng.normal()))
    return pd.DataFrame(rows, columns=["unit", "year", "g", "y"])


def _pyfixest(df: pd.DataFrame, y: str, unit: str, time: str, cohort: str) -> pd.DataFrame:
    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.event_study(
            data=df, yname=y, idname=unit, tname=time, gname=cohort, estimator="saturated"
        )
        agg = fit.aggregate()
    agg.index = agg.index.astype(float).astype(int)
    return agg.astype(float)


def _check_against_peer(res, agg: pd.DataFrame) -> None:
    es = res.event_study.set_index("event_time")
    peer_times = sorted(agg.index)
    assert sorted(e for e in es.index if e != -1) == peer_times
    for e in peer_times:
        assert es.loc[e, "estimate"] == pytest.approx(agg.loc[e, "Estimate"], abs=1e-8), e
        assert es.loc[e, "se"] == pytest.approx(agg.loc[e, "Std. Error"], rel=1e-6), e


@pytest.mark.peers
def test_matches_pyfixest_saturated_event_study_simulated() -> None:
    df = _heterogeneous()
    panel = Panel.from_frame(df, unit="unit", time="year", cohort="g", outcomes="y")
    res = fit_sun_abraham(panel, "y", inference="cr1")
    _check_against_peer(res, _pyfixest(df, "y", "unit", "year", "g"))


@pytest.mark.peers
def test_matches_pyfixest_on_mpdta() -> None:
    df = pd.read_csv(MPDTA)
    panel = Panel.from_frame(
        df, unit="countyreal", time="year", cohort="first.treat", outcomes="lemp"
    )
    res = fit_sun_abraham(panel, "lemp", inference="cr1")
    _check_against_peer(res, _pyfixest(df, "lemp", "countyreal", "year", "first.treat"))


def test_one_cohort_equals_the_dynamic_event_study() -> None:
    df = _heterogeneous(cohorts=(0, 5))
    panel = Panel.from_frame(df, unit="unit", time="year", cohort="g", outcomes="y")
    sa = fit_sun_abraham(panel, "y", inference="cr1")
    es = fit_event_study(panel, "y", inference="cr1")
    for col in ("estimate", "se"):
        assert np.allclose(sa.event_study[col], es.event_study[col], atol=1e-10, equal_nan=True)
    assert sa.overall.estimate == pytest.approx(es.overall.estimate, abs=1e-10)
    assert sa.overall.se == pytest.approx(es.overall.se, abs=1e-10)


def test_weights_are_cohort_shares_of_observations() -> None:
    df = _heterogeneous()
    df = df.drop(index=[5, 17, 33]).reset_index(drop=True)  # unbalanced: shares move
    panel = Panel.from_frame(df, unit="unit", time="year", cohort="g", outcomes="y")
    _, cells, W, times = interaction_design(panel)
    rel = df["year"] - df["g"]
    treated = df[df["g"] > 0]
    for i, e in enumerate(times):
        at_e = treated[rel[treated.index] == e]
        counts = at_e.groupby("g").size()
        for j, (g, ce) in enumerate(cells):
            expect = counts.get(g, 0) / counts.sum() if ce == e else 0.0
            assert W[i, j] == pytest.approx(expect, abs=1e-12)
    assert np.allclose(W.sum(axis=1), 1.0)
    res = fit_sun_abraham(panel, "y", inference="cr1")
    gt = res.group_time
    for e, grp in gt.groupby("event_time"):
        theta = float((grp["weight"] * grp["estimate"]).sum())
        row = res.event_study[res.event_study["event_time"] == e]
        assert float(row["estimate"].iloc[0]) == pytest.approx(theta, abs=1e-12)
    post = res.event_study[res.event_study["event_time"] >= 0]["estimate"].mean()
    assert res.overall.estimate == pytest.approx(post, abs=1e-12)


def test_same_inference_options_as_the_event_study() -> None:
    df = _heterogeneous()
    panel = Panel.from_frame(df, unit="unit", time="year", cohort="g", outcomes="y")
    cr1 = fit_sun_abraham(panel, "y", inference="cr1")
    cr3 = fit_sun_abraham(panel, "y", inference="cr3")
    assert (cr3.event_study["se"].dropna() > 0).all()
    assert cr3.info["event_study_vcov"]["source"] == "cr3"
    s = InferenceSettings(reps=199, rng=np.random.default_rng(1))
    wild = fit_sun_abraham(panel, "y", inference="wild", settings=s)
    # the wild bootstrap reports the CR1 standard error and its own p-values and intervals
    assert np.allclose(wild.event_study["se"], cr1.event_study["se"], equal_nan=True)
    assert wild.overall.se == pytest.approx(cr1.overall.se, rel=1e-10)
    assert 0 <= wild.overall.p_value <= 1
    assert wild.overall.ci_low < wild.overall.estimate < wild.overall.ci_high
    with pytest.raises(ConfigError, match="not available for method 'sun_abraham'"):
        fit_sun_abraham(panel, "y", inference="ri")
    via = estimate(
        df, "y", unit="unit", time="year", cohort="g", method="sun_abraham", inference="cr1"
    )
    assert via.overall.estimate == pytest.approx(cr1.overall.estimate, abs=1e-12)
    assert cr1.info["pretrend"]["df"] == int((cr1.group_time["event_time"] < 0).sum())
