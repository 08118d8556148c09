"""TWFE and 2x2: peers (pyfixest, linearmodels), four means, FE partialling, the RI statistic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_peer

from evaluation.errors import ConfigError, EstimationError
from evaluation.estimators._fe import two_way_demean
from evaluation.estimators.event_study import event_time_design, fit_event_study
from evaluation.estimators.twfe import STAGGERED_WARNING, fit_did2x2, fit_twfe, twfe_statistic
from evaluation.inference.base import InferenceSettings
from evaluation.panel import Panel

MPDTA = Path(__file__).resolve().parent / "data" / "mpdta.csv"
CR1 = InferenceSettings()


def _mpdta() -> tuple[pd.DataFrame, Panel]:
    df = pd.read_csv(MPDTA)
    df["D"] = ((df["year"] >= df["first.treat"]) & (df["first.treat"] > 0)).astype(float)
    panel = Panel.from_frame(
        df, unit="countyreal", time="year", cohort="first.treat", outcomes="lemp"
    )
    return df, panel


def _staggered(
    seed: int = 3, n: int = 30, t: int = 10, drop: int = 0
) -> tuple[pd.DataFrame, Panel]:
    rng = np.random.default_rng(seed)
    g = rng.choice([4.0, 6.0, 8.0, 0.0], size=n)
    rows = []
    for i in range(n):
        a = rng.normal()
        for s in range(1, t + 1):
            eff = 0.3 * (s - g[i] + 1) if g[i] and s >= g[i] else 0.0
            rows.append(
                {
                    "u": i,
                    "t": s,
                    "g": g[i],
                    "x": rng.normal(),
                    "y": a + 0.2 * s + eff + rng.normal(),
                }
            )
    df = pd.DataFrame(rows)
    if drop:
        # drop random unit-periods, keeping each unit's first period (pre-periods survive)
        cand = df.index[df["t"] > 1]
        df = df.drop(rng.choice(cand, size=drop, replace=False)).reset_index(drop=True)
    df["D"] = ((df["t"] >= df["g"]) & (df["g"] > 0)).astype(float)
    panel = Panel.from_frame(df, unit="u", time="t", cohort="g", outcomes="y", covariates=["x"])
    return df, panel


@pytest.mark.peers
def test_twfe_matches_pyfixest_mpdta():
    pf = require_peer("pyfixest")
    df, panel = _mpdta()
    res = fit_twfe(panel, "lemp", inference="cr1")
    fit = pf.feols("lemp ~ D | countyreal + year", data=df, vcov={"CRV1": "countyreal"})
    assert res.overall.estimate == pytest.approx(fit.coef().iloc[0], abs=1e-8)
    assert res.overall.se == pytest.approx(fit.se().iloc[0], abs=1e-6)
    # p-value and interval use t(G-1), as pyfixest with clustered errors
    assert res.overall.p_value == pytest.approx(fit.pvalue().iloc[0], abs=1e-8)
    assert res.overall.ci_low == pytest.approx(fit.confint().iloc[0, 0], abs=1e-8)
    assert STAGGERED_WARNING in res.warnings


@pytest.mark.peers
@pytest.mark.parametrize("drop", [0, 25])
def test_twfe_matches_pyfixest_generated(drop):
    pf = require_peer("pyfixest")
    df, panel = _staggered(drop=drop)
    res = fit_twfe(panel, "y", covariates=["x"], inference="cr1")
    fit = pf.feols("y ~ D + x | u + t", data=df, vcov={"CRV1": "u"})
    assert res.overall.estimate == pytest.approx(fit.coef().iloc[0], abs=1e-8)
    assert res.overall.se == pytest.approx(fit.se().iloc[0], abs=1e-6)
    if drop:
        assert res.bacon is None
        assert any("Goodman-Bacon" in w for w in res.warnings)


def _panelols(panel: Panel, y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """linearmodels PanelOLS with unit and time effects, clustered by unit: (params, SEs)."""
    from linearmodels.panel import PanelOLS

    index = pd.MultiIndex.from_arrays(
        [panel.unit_index, panel.data["time"].to_numpy()], names=["unit", "time"]
    )
    exog = pd.DataFrame(X, index=index, columns=[f"x{j}" for j in range(X.shape[1])])
    model = PanelOLS(pd.Series(y, index=index), exog, entity_effects=True, time_effects=True)
    res = model.fit(cov_type="clustered", cluster_entity=True)
    return res.params.to_numpy(), res.std_errors.to_numpy()


def test_linearmodels_clustered_se_documented_factor():
    df, panel = _mpdta()
    res = fit_twfe(panel, "lemp", inference="cr1", bacon=False)
    n, g, t = len(df), panel.n_units, panel.n_periods
    # ours: CR0 * G/(G-1) * (n-1)/(n-k), k = 1 (D) + (T-1) + 1; linearmodels' default clustered
    # covariance: CR0 * n / (n - k_all), k_all = 1 + G + (T-1) (all effects counted, no G/(G-1))
    cr0 = res.overall.se**2 / (g / (g - 1) * (n - 1) / (n - (1 + t)))
    coef, se = _panelols(panel, panel.data["lemp"].to_numpy(), panel.treated[:, None])
    assert coef[0] == pytest.approx(res.overall.estimate, abs=1e-10)
    assert se[0] ** 2 == pytest.approx(cr0 * n / (n - (1 + g + t - 1)), rel=1e-8)


@pytest.mark.parametrize("drop", [0, 40])
@pytest.mark.parametrize("covariates", [(), ("x",)])
def test_twfe_and_event_study_equal_panelols(drop, covariates):
    """The fast within transformation against linearmodels PanelOLS (1e-8)."""
    _df, panel = _staggered(drop=drop)
    y = panel.data["y"].to_numpy()
    cov = panel.data[list(covariates)].to_numpy().reshape(len(y), -1)
    res = fit_twfe(panel, "y", covariates=covariates, inference="cr1", bacon=False)
    coef, _ = _panelols(panel, y, np.column_stack([panel.treated, cov]))
    assert res.overall.estimate == pytest.approx(coef[0], abs=1e-8)
    dummies, times, keep = event_time_design(panel)
    assert keep.all()
    es = fit_event_study(panel, "y", covariates=covariates, inference="cr1")
    coef, _ = _panelols(panel, y, np.column_stack([dummies, cov]))
    got = es.event_study.set_index("event_time")["estimate"]
    for j, e in enumerate(times):
        assert got[e] == pytest.approx(coef[j], abs=1e-8), e


def test_two_way_demean_unbalanced_equals_dummy_regression():
    _df, panel = _staggered(drop=40)
    x = np.column_stack([panel.data["y"], panel.treated, panel.data["x"]])
    fast = two_way_demean(x, panel.unit_index, panel.time_index)
    dummies = np.column_stack(
        [
            np.eye(panel.n_units)[panel.unit_index],
            np.eye(panel.n_periods)[panel.time_index][:, 1:],
        ]
    )
    slow = x - dummies @ np.linalg.lstsq(dummies, x, rcond=None)[0]
    np.testing.assert_allclose(fast, slow, atol=1e-12)


def test_did2x2_is_difference_of_four_means():
    df, panel = _mpdta()
    res = fit_did2x2(panel, "lemp", pre=[2003], post=[2004, 2005], inference="cr1")
    treated = df["first.treat"] == 2004
    pre, post = df["year"] == 2003, df["year"].isin([2004, 2005])
    unit_post = df[post].groupby("countyreal")["lemp"].mean()
    unit_pre = df[pre].set_index("countyreal")["lemp"]
    change = unit_post - unit_pre
    t_units = df.loc[treated, "countyreal"].unique()
    expected = (
        change[change.index.isin(t_units)].mean() - change[~change.index.isin(t_units)].mean()
    )
    assert res.overall.estimate == pytest.approx(expected, abs=1e-12)
    m = res.info["means"]
    four = (m["treated_post"] - m["treated_pre"]) - (m["control_post"] - m["control_pre"])
    assert four == pytest.approx(expected, abs=1e-12)
    assert res.method == "did2x2"


def test_did2x2_errors():
    _df, panel = _mpdta()
    with pytest.raises(EstimationError, match="exactly two periods"):
        fit_did2x2(panel, "lemp")
    with pytest.raises(EstimationError, match="inside the post period"):
        fit_did2x2(panel, "lemp", pre=[2003], post=[2004, 2005, 2006])
    with pytest.raises(ConfigError, match="before every post"):
        fit_did2x2(panel, "lemp", pre=[2005], post=[2004])
    with pytest.raises(ConfigError, match="not in the panel"):
        fit_did2x2(panel, "lemp", pre=[1999], post=[2004])


def test_did2x2_two_period_panel():
    df, _ = _mpdta()
    two = df[df["year"].isin([2005, 2006]) & df["first.treat"].isin([0, 2006])]
    panel = Panel.from_frame(
        two, unit="countyreal", time="year", cohort="first.treat", outcomes="lemp"
    )
    res = fit_did2x2(panel, "lemp", inference="cr1")
    g = two.groupby(["first.treat", "year"])["lemp"].mean()
    expected = (g[(2006, 2006)] - g[(2006, 2005)]) - (g[(0, 2006)] - g[(0, 2005)])
    assert res.overall.estimate == pytest.approx(expected, abs=1e-12)


def test_unsupported_inference_names_alternatives():
    _, panel = _mpdta()
    with pytest.raises(ConfigError, match="'cr1'"):
        fit_twfe(panel, "lemp", inference="multiplier")


@pytest.mark.parametrize("drop", [0, 30])
@pytest.mark.parametrize("covariates", [(), ("x",)])
def test_permutation_statistic_identity_and_refit(drop, covariates):
    _, panel = _staggered(drop=drop)
    stat = twfe_statistic(panel, covariates)
    y = panel.data["y"].to_numpy()
    observed = panel.unit_cohorts.to_numpy()
    fitted = fit_twfe(panel, "y", covariates=covariates, inference="cr1", bacon=False)
    assert stat(y, observed[None, :])[0, 0] == pytest.approx(fitted.overall.estimate, abs=1e-12)
    rng = np.random.default_rng(11)
    draws = np.vstack([rng.permutation(observed) for _ in range(4)])
    values = stat(y, draws)
    assert values.shape == (4, 1)
    for b in range(4):
        moved = panel.with_cohorts(dict(zip(panel.units, draws[b], strict=True)))
        refit = fit_twfe(moved, "y", covariates=covariates, inference="cr1", bacon=False)
        assert values[b, 0] == pytest.approx(refit.overall.estimate, abs=1e-10)


def test_cr3_linear_equals_refit_problem():
    # the closed-form jackknife of the LinearProblem is the leave-one-unit-out refit of the
    # full two-way model (unit effects nested, time effects as regressors)
    from evaluation.estimators.twfe import _refit_function

    _, panel = _staggered(drop=20)
    res = fit_twfe(panel, "y", inference="cr3", bacon=False)
    jack = res.info["inference"]["jackknife"][:, 0]
    refit = _refit_function(panel, panel.data["y"].to_numpy(), panel.treated[:, None], [0])
    units = panel.units
    brute = np.array([refit(np.delete(units, i))[0] for i in range(len(units))])
    np.testing.assert_allclose(jack, brute, atol=1e-10)


def _dummy_residuals(values: np.ndarray, unit: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Residuals of least squares on explicit unit and time dummies (independent reference)."""
    F = np.column_stack([np.eye(unit.max() + 1)[unit], np.eye(time.max() + 1)[time]])
    coef = np.linalg.lstsq(F, values, rcond=None)[0]
    return values - F @ coef


@pytest.mark.parametrize("drop", [0, 30])
def test_two_way_projector_equals_dummy_regression(drop):
    from evaluation.estimators._fe import TwoWayProjector

    _, panel = _staggered(seed=8, drop=drop)
    u, t = panel.unit_index, panel.time_index
    x = np.random.default_rng(0).normal(size=(len(u), 3))
    proj = TwoWayProjector.build(u, t)
    ref = _dummy_residuals(x, u, t)
    np.testing.assert_allclose(proj.annihilate(x), ref, atol=1e-10)
    # quadratic forms: x'Mx = x'M_U x - ||L^-1 r||^2 with r the period sums of M_U x
    xu = x - (np.eye(u.max() + 1)[u] @ np.linalg.pinv(np.eye(u.max() + 1)[u])) @ x
    r = np.zeros((panel.n_periods, 3))
    np.add.at(r, t, xu)
    white = proj.whiten(r.T)  # (3, T-1)
    quad = np.einsum("nj,nj->j", xu, xu) - np.einsum("jk,jk->j", white, white)
    np.testing.assert_allclose(quad, np.einsum("nj,nj->j", ref, x), rtol=1e-10)


@pytest.mark.parametrize("drop", [0, 30])
@pytest.mark.parametrize("covariates", [(), ("x",)])
def test_permutation_statistic_equals_explicit_projection(drop, covariates):
    # the O(N)-per-draw statistic against <M D_b, y> / <M D_b, D_b> with M built from explicit
    # dummies (and covariates partialled out by least squares), for many draws, including
    # cohort values that are not in the observed assignment (go-live between periods, new dates)
    _, panel = _staggered(seed=4, drop=drop)
    stat = twfe_statistic(panel, covariates)
    u, t = panel.unit_index, panel.time_index
    times = panel.data["time"].to_numpy(dtype=float)
    y = panel.data["y"].to_numpy()
    observed = panel.unit_cohorts.to_numpy()
    rng = np.random.default_rng(5)
    draws = np.vstack([rng.permutation(observed) for _ in range(60)])
    odd = rng.choice([2.0, 3.5, 5.0, 9.0, np.inf], size=(5, len(observed)))
    for block in (draws, odd):
        values = stat(y, block)[:, 0]
        for b in range(len(block)):
            d = (times >= block[b][u]).astype(float)
            cols = [d] + [panel.data[c].to_numpy(dtype=float) for c in covariates]
            md = _dummy_residuals(np.column_stack(cols), u, t)
            if covariates:
                w = md[:, 1:]
                md0 = md[:, 0] - w @ np.linalg.lstsq(w, md[:, 0], rcond=None)[0]
            else:
                md0 = md[:, 0]
            expected = (md0 @ y) / (md0 @ d)
            assert values[b] == pytest.approx(expected, abs=1e-10)
    # the treatment indicator through the same statistic: exactly 1 for the observed cohorts
    assert stat(panel.treated, observed[None, :])[0, 0] == pytest.approx(1.0, abs=1e-12)
