"""CR1 and CR3: statsmodels, pyfixest, brute-force jackknife, t(G-1) inference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_peer
from scipy import stats

from evaluation.errors import EstimationError
from evaluation.estimators.twfe import fit_twfe
from evaluation.inference.base import InferenceSettings, LinearProblem, RefitProblem
from evaluation.inference.cluster import CR1, CR3, cr3_vcov, jackknife_estimates
from evaluation.panel import Panel

MPDTA = Path(__file__).resolve().parent / "data" / "mpdta.csv"


def _plain_problem(seed: int = 1, g: int = 15) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    clusters = np.repeat(np.arange(g), rng.integers(3, 9, size=g))
    n = len(clusters)
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=n) + clusters % 2])
    y = X @ np.array([1.0, 0.5, -0.2]) + rng.normal(size=g)[clusters] + rng.normal(size=n)
    return y, X, clusters


def test_cr1_matches_statsmodels_cluster():
    import statsmodels.api as sm

    y, X, cl = _plain_problem()
    lp = LinearProblem(y=y, X=X, clusters=cl, targets=[1, 2], names=["a", "b"])
    out = CR1().infer(lp, InferenceSettings())
    ref = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": cl})  # G/(G-1)(n-1)/(n-k)
    np.testing.assert_allclose(out.se, ref.bse[1:], rtol=1e-10)
    # t(G-1) reference distribution
    g = len(np.unique(cl))
    beta = np.linalg.lstsq(X, y, rcond=None)[0][1:]
    np.testing.assert_allclose(out.p_value, 2 * stats.t.sf(np.abs(beta / out.se), g - 1))
    q = stats.t.ppf(0.975, g - 1)
    np.testing.assert_allclose(out.ci_low, beta - q * out.se)


def test_cr3_closed_form_equals_refit_loop():
    y, X, cl = _plain_problem(seed=2)
    lp = LinearProblem(y=y, X=X, clusters=cl, targets=[1, 2], names=["a", "b"])
    jack = jackknife_estimates(lp)
    brute = np.vstack(
        [np.linalg.lstsq(X[cl != c], y[cl != c], rcond=None)[0] for c in np.unique(cl)]
    )
    np.testing.assert_allclose(jack, brute, atol=1e-10)
    out = CR3().infer(lp, InferenceSettings())
    g = len(np.unique(cl))
    dev = brute[:, 1:] - brute[:, 1:].mean(axis=0)
    np.testing.assert_allclose(out.se, np.sqrt((g - 1) / g * (dev**2).sum(axis=0)), rtol=1e-10)
    # the same through a RefitProblem
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    rp = RefitProblem(
        estimates=beta[1:],
        units=np.unique(cl),
        refit=lambda keep: np.linalg.lstsq(X[np.isin(cl, keep)], y[np.isin(cl, keep)], rcond=None)[
            0
        ][1:],
        names=["a", "b"],
    )
    np.testing.assert_allclose(CR3().infer(rp, InferenceSettings()).se, out.se, rtol=1e-10)


@pytest.mark.peers
def test_cr3_matches_pyfixest_crv3_with_documented_conversion():
    pf = require_peer("pyfixest")
    df = pd.read_csv(MPDTA)
    df = df[df["countyreal"].isin(df["countyreal"].unique()[::4])].reset_index(drop=True)
    df["D"] = ((df["year"] >= df["first.treat"]) & (df["first.treat"] > 0)).astype(float)
    panel = Panel.from_frame(
        df, unit="countyreal", time="year", cohort="first.treat", outcomes="lemp"
    )
    res = fit_twfe(panel, "lemp", inference="cr3", bacon=False)
    jack = res.info["inference"]["jackknife"][:, 0]
    fit = pf.feols("lemp ~ D | countyreal + year", data=df, vcov={"CRV3": "countyreal"})
    n, g, t = len(df), panel.n_units, panel.n_periods
    # pyfixest: G/(G-1) (n-1)/(n-k) sum (b_(g) - b_hat)^2 with k = 1 + (T-1) + 1
    b_hat = res.overall.estimate
    pf_var = g / (g - 1) * (n - 1) / (n - (t + 1)) * ((jack - b_hat) ** 2).sum()
    assert np.sqrt(pf_var) == pytest.approx(fit.se().iloc[0], abs=1e-6)
    # ours: (G-1)/G sum (b_(g) - mean)^2
    assert res.overall.se == pytest.approx(np.sqrt(cr3_vcov(jack[:, None])[0, 0]), abs=1e-12)
    assert res.overall.se == pytest.approx(
        np.sqrt((g - 1) / g * ((jack - jack.mean()) ** 2).sum()), abs=1e-12
    )


def test_cr3_singular_leave_one_out_is_a_clear_error():
    rows = []
    for i in range(6):
        for s in range(1, 5):
            rows.append({"u": i, "t": s, "g": 3 if i == 0 else 0, "y": float(i + s + (i == 0) * s)})
    panel = Panel.from_frame(pd.DataFrame(rows), unit="u", time="t", cohort="g", outcomes="y")
    with pytest.raises(EstimationError, match="CR3"):
        fit_twfe(panel, "y", inference="cr3")


def test_cr1_on_influence_problem_delegates_to_analytic_influence():
    from evaluation.inference.base import InfluenceProblem, get_method

    rng = np.random.default_rng(0)
    psi = rng.normal(size=(40, 2))
    problem = InfluenceProblem(estimates=np.array([0.1, -0.2]), influence=psi, names=["a", "b"])
    out = get_method("cr1").infer(problem, InferenceSettings())
    np.testing.assert_allclose(out.se, np.sqrt((psi**2).sum(axis=0)) / 40, rtol=1e-12)
