"""Event study: pyfixest i(rel_time, ref=-1), binning, post average, pre-trend Wald test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_peer
from scipy import stats

from evaluation.errors import ConfigError, EstimationError
from evaluation.estimators.event_study import fit_event_study
from evaluation.inference.base import InferenceSettings
from evaluation.panel import Panel

MPDTA = Path(__file__).resolve().parent / "data" / "mpdta.csv"


def _mpdta() -> tuple[pd.DataFrame, Panel]:
    df = pd.read_csv(MPDTA)
    df["rel"] = np.where(df["first.treat"] > 0, df["year"] - df["first.treat"], -1)
    panel = Panel.from_frame(
        df, unit="countyreal", time="year", cohort="first.treat", outcomes="lemp"
    )
    return df, panel


def _generated(seed: int = 4) -> tuple[pd.DataFrame, Panel]:
    rng = np.random.default_rng(seed)
    n, t = 40, 12
    g = rng.choice([4.0, 6.0, 9.0, 0.0], size=n)
    rows = []
    for i in range(n):
        a = rng.normal()
        for s in range(1, t + 1):
            eff = 0.2 * (s - g[i] + 1) if g[i] and s >= g[i] else 0.0
            rows.append({"u": i, "t": s, "g": g[i], "y": a + 0.05 * s + eff + rng.normal()})
    df = pd.DataFrame(rows)
    df["rel"] = np.where(df["g"] > 0, df["t"] - df["g"], -1)
    return df, Panel.from_frame(df, unit="u", time="t", cohort="g", outcomes="y")


@pytest.mark.peers
def test_matches_pyfixest_full_window_mpdta():
    pf = require_peer("pyfixest")
    df, panel = _mpdta()
    res = fit_event_study(panel, "lemp", inference="cr1")
    fit = pf.feols(
        "lemp ~ i(rel, ref=-1) | countyreal + year", data=df, vcov={"CRV1": "countyreal"}
    )
    es = res.event_study.set_index("event_time")
    for name, coef in fit.coef().items():
        e = int(str(name).split("::")[1])
        assert es.loc[e, "estimate"] == pytest.approx(coef, abs=1e-8)
        assert es.loc[e, "se"] == pytest.approx(fit.se()[name], abs=1e-6)
    assert es.loc[-1, "estimate"] == 0.0 and np.isnan(es.loc[-1, "se"])
    # pre-trend Wald with pyfixest's CR1 covariance, computed independently
    names = [c for c in fit.coef().index if int(str(c).split("::")[1]) < -1]
    b = fit.coef()[names].to_numpy()
    v = fit._vcov[np.ix_(*[[list(fit.coef().index).index(c) for c in names]] * 2)]
    wald = float(b @ np.linalg.solve(v, b))
    pre = res.info["pretrend"]
    assert pre["statistic"] == pytest.approx(wald, rel=1e-6)
    assert pre["df"] == 3
    assert pre["p_value"] == pytest.approx(stats.f.sf(wald / 3, 3, panel.n_units - 1), rel=1e-6)


@pytest.mark.peers
def test_binned_window_matches_pyfixest_with_binned_dummies():
    pf = require_peer("pyfixest")
    df, panel = _generated()
    res = fit_event_study(panel, "y", leads=3, lags=2, inference="cr1")
    df["rb"] = np.where(df["g"] > 0, df["rel"].clip(-3, 2), -1)
    fit = pf.feols("y ~ i(rb, ref=-1) | u + t", data=df, vcov={"CRV1": "u"})
    es = res.event_study.set_index("event_time")
    assert sorted(es.index) == [-3, -2, -1, 0, 1, 2]
    for name, coef in fit.coef().items():
        e = int(float(str(name).split("::")[1]))
        assert es.loc[e, "estimate"] == pytest.approx(coef, abs=1e-8)
        assert es.loc[e, "se"] == pytest.approx(fit.se()[name], abs=1e-6)


@pytest.mark.peers
def test_unbinned_window_drops_outside_rows():
    pf = require_peer("pyfixest")
    df, panel = _generated()
    res = fit_event_study(panel, "y", leads=3, lags=2, bin_endpoints=False, inference="cr1")
    sub = df[(df["g"] == 0) | df["rel"].between(-3, 2)]
    fit = pf.feols("y ~ i(rel, ref=-1) | u + t", data=sub, vcov={"CRV1": "u"})
    es = res.event_study.set_index("event_time")
    for name, coef in fit.coef().items():
        e = int(float(str(name).split("::")[1]))
        assert es.loc[e, "estimate"] == pytest.approx(coef, abs=1e-8)


def test_overall_is_average_of_post_coefficients_with_its_cr1_se():
    from evaluation.estimators._fe import linear_problem
    from evaluation.estimators.event_study import event_time_design
    from evaluation.inference.cluster import cr1_vcov

    _, panel = _generated()
    res = fit_event_study(panel, "y", leads=3, lags=2, inference="cr1")
    es = res.event_study
    post = es[es["event_time"] >= 0]["estimate"]
    assert res.overall.estimate == pytest.approx(post.mean(), abs=1e-12)
    dummies, times, _ = event_time_design(panel, leads=3, lags=2)
    lp = linear_problem(
        panel.data["y"].to_numpy(),
        dummies,
        panel.unit_index,
        panel.time_index,
        names=[str(t) for t in times],
        targets=range(len(times)),
    )
    _, v = cr1_vcov(lp)
    c = np.array([1.0 / 3 if t >= 0 else 0.0 for t in times] + [0.0] * (v.shape[0] - len(times)))
    assert res.overall.se == pytest.approx(np.sqrt(c @ v @ c), rel=1e-10)


def test_wild_pretrend_is_a_joint_bootstrap_test():
    _, panel = _generated()
    s = InferenceSettings(reps=499, rng=np.random.default_rng(1))
    res = fit_event_study(panel, "y", leads=3, lags=2, inference="wild", settings=s)
    pre = res.info["pretrend"]
    assert pre["test"].startswith("wild") and pre["df"] == 2 and 0 <= pre["p_value"] <= 1
    cr1 = fit_event_study(panel, "y", leads=3, lags=2, inference="cr1").info["pretrend"]
    assert pre["statistic"] == pytest.approx(cr1["statistic"], rel=1e-10)


def test_design_errors():
    df, panel = _mpdta()
    with pytest.raises(ConfigError, match="reference"):
        fit_event_study(panel, "lemp", leads=2, lags=2, reference=-5)
    treated_only = df[df["first.treat"] > 0]
    p2 = Panel.from_frame(
        treated_only, unit="countyreal", time="year", cohort="first.treat", outcomes="lemp"
    )
    with pytest.raises(EstimationError, match="never-treated"):
        fit_event_study(p2, "lemp")
    with pytest.raises(ConfigError, match="'cr1'"):
        fit_event_study(panel, "lemp", inference="ri")
