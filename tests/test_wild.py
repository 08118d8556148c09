"""Wild cluster restricted bootstrap: brute force, wildboottest, pyfixest, test inversion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import require_peer

from evaluation.errors import ConfigError
from evaluation.estimators._fe import linear_problem
from evaluation.estimators.twfe import fit_twfe
from evaluation.inference.base import INFERENCE_METHODS, InferenceSettings, LinearProblem
from evaluation.inference.cluster import cr1_factor, cr1_vcov
from evaluation.inference.wild import draw_wild_weights, wild_test, wild_wald_test
from evaluation.panel import Panel


def _panel(n: int = 10, t: int = 6, seed: int = 5) -> tuple[pd.DataFrame, Panel]:
    rng = np.random.default_rng(seed)
    g = np.where(np.arange(n) < n // 2, rng.choice([3.0, 4.0], size=n), 0.0)
    rows = []
    for i in range(n):
        a, sd = rng.normal(), rng.uniform(0.5, 2.0)
        for s in range(1, t + 1):
            eff = 0.4 if g[i] and s >= g[i] else 0.0
            rows.append({"u": i, "t": s, "g": g[i], "y": a + 0.1 * s + eff + sd * rng.normal()})
    df = pd.DataFrame(rows)
    df["D"] = ((df["t"] >= df["g"]) & (df["g"] > 0)).astype(float)
    return df, Panel.from_frame(df, unit="u", time="t", cohort="g", outcomes="y")


def _problem(panel: Panel) -> LinearProblem:
    return linear_problem(
        panel.data["y"].to_numpy(),
        panel.treated,
        panel.unit_index,
        panel.time_index,
        names=["D"],
        targets=[0],
    )


def _brute_force_t(problem: LinearProblem, j: int, beta0: float, v: np.ndarray) -> tuple:
    """Loop over draws: impose the null, rebuild y*, refit by least squares, CR1 t."""
    X, y = problem.X, problem.y
    _, codes = np.unique(problem.clusters, return_inverse=True)
    rest = np.delete(X, j, axis=1)
    y0 = y - beta0 * X[:, j]
    br = np.linalg.lstsq(rest, y0, rcond=None)[0]
    fitted = beta0 * X[:, j] + rest @ br
    u = y0 - rest @ br
    c = cr1_factor(problem)
    bread = np.linalg.inv(X.T @ X)
    beta, vcov = cr1_vcov(problem)
    t_obs = (beta[j] - beta0) / np.sqrt(vcov[j, j])
    out = np.empty(len(v))
    for b in range(len(v)):
        ystar = fitted + u * v[b, codes]
        bstar = np.linalg.lstsq(X, ystar, rcond=None)[0]
        e = ystar - X @ bstar
        s = np.zeros((codes.max() + 1, X.shape[1]))
        np.add.at(s, codes, X * e[:, None])
        var = c * (bread @ s.T @ s @ bread)[j, j]
        out[b] = (bstar[j] - beta0) / np.sqrt(var)
    return t_obs, out


@pytest.mark.parametrize("beta0", [0.0, 0.3, -0.5])
def test_enumeration_equals_brute_force_loop(beta0):
    _, panel = _panel()
    problem = _problem(panel)
    v, full = draw_wild_weights("rademacher", 10, 999, None, 100_000)
    assert full and v.shape == (1024, 10)
    fast = wild_test(problem, 0, weights=v, enumerated=True)
    t_obs, t_boot = _brute_force_t(problem, 0, beta0, v)
    assert fast.t_stat(beta0) == pytest.approx(t_obs, abs=1e-10)
    np.testing.assert_allclose(fast.t_boot(beta0), t_boot, atol=1e-9)
    brute_p = np.mean(np.abs(t_boot) >= np.abs(t_obs) * (1 - 1e-12))
    assert fast.p_value(beta0) == brute_p  # exact: same draws, same count


def test_enumeration_p_value_reproducible_without_rng():
    _, panel = _panel()
    s = InferenceSettings(rng=None)  # enumeration needs no randomness
    a = fit_twfe(panel, "y", inference="wild", settings=s)
    b = fit_twfe(panel, "y", inference="wild", settings=s)
    assert a.overall.p_value == b.overall.p_value
    assert a.info["inference"]["enumerated"] is True
    assert a.info["inference"]["reps"] == 1024


@pytest.mark.peers
def test_enumeration_matches_wildboottest_exactly():
    wbt = require_peer("wildboottest.wildboottest")
    import statsmodels.api as sm

    _, panel = _panel()
    problem = _problem(panel)
    X = pd.DataFrame(problem.X, columns=[f"x{i}" for i in range(problem.X.shape[1])])
    model = sm.OLS(problem.y, X)
    with pytest.warns(UserWarning, match="full_enumeration"):
        ref = wbt.wildboottest(
            model,
            B=9999,
            cluster=problem.clusters,
            param="x0",
            weights_type="rademacher",
            seed=1,
            show=False,
            parallel=False,
        )
    p_ref = float(ref["p-value"].iloc[0])
    v, _ = draw_wild_weights("rademacher", 10, 999, None, 100_000)
    fast = wild_test(problem, 0, weights=v, enumerated=True)
    t, tb = abs(fast.t_stat(0.0)), np.abs(fast.t_boot(0.0))
    strict = np.mean(tb > t * (1 + 1e-9))  # wildboottest's convention: |t*| > |t|
    inclusive = fast.p_value(0.0)
    # the draws v = 1 and v = -1 reproduce |t| exactly: the conventions differ by 2/1024
    assert inclusive - strict == pytest.approx(2 / 1024, abs=1e-15)
    assert p_ref in (strict, strict + 1 / 1024, inclusive)  # ties may fall either side in floats
    # wildboottest's k is the columns of X; ours adds the intercept of the nested unit effects
    n, k = problem.X.shape
    factor = np.sqrt((n - k) / (n - k - 1))
    assert float(ref["statistic"].iloc[0]) == pytest.approx(fast.t_stat(0.0) * factor, rel=1e-8)


def _mc_tol(p: float, reps: int) -> float:
    return 4 * np.sqrt(2 * max(p * (1 - p), 0.01) / reps)


@pytest.mark.peers
@pytest.mark.parametrize("kind", ["webb", "mammen"])
def test_monte_carlo_matches_wildboottest(kind):
    wbt = require_peer("wildboottest.wildboottest")
    import statsmodels.api as sm

    _, panel = _panel(n=20, t=6, seed=9)
    problem = _problem(panel)
    X = pd.DataFrame(problem.X, columns=[f"x{i}" for i in range(problem.X.shape[1])])
    ref = wbt.wildboottest(
        sm.OLS(problem.y, X),
        B=9999,
        cluster=problem.clusters,
        param="x0",
        weights_type=kind,
        seed=3,
        show=False,
        parallel=False,
    )
    p_ref = float(ref["p-value"].iloc[0])
    v, _ = draw_wild_weights(kind, 20, 9999, np.random.default_rng(4), 100_000)
    p = wild_test(problem, 0, weights=v).p_value(0.0)
    assert abs(p - p_ref) < _mc_tol(p_ref, 9999)


@pytest.mark.peers
def test_monte_carlo_matches_pyfixest_wildboottest():
    pf = require_peer("pyfixest")
    df, panel = _panel(n=20, t=6, seed=9)
    fit = pf.feols("y ~ D | u + t", data=df, vcov={"CRV1": "u"})
    ref = fit.wildboottest(reps=9999, param="D", seed=8, weights_type="rademacher")
    p_ref = float(ref["Pr(>|t|)"])
    s = InferenceSettings(reps=9999, rng=np.random.default_rng(2), enumerate_max=1000)
    res = fit_twfe(panel, "y", inference="wild", settings=s)
    assert abs(res.overall.p_value - p_ref) < _mc_tol(p_ref, 9999)
    # pyfixest one-hot encodes the effects, so its bootstrap t uses k = G + T in (n-1)/(n-k);
    # ours counts k = 1 + (T-1) + 1 (nested unit effects as one intercept). p-values do not
    # depend on the factor; the observed t differs by sqrt((n - G - T) / (n - T - 1)).
    n, g, t = len(df), panel.n_units, panel.n_periods
    factor = np.sqrt((n - g - t) / (n - t - 1))
    t_ours = res.overall.estimate / res.overall.se
    assert float(ref["t value"]) == pytest.approx(t_ours * factor, rel=1e-8)


def test_test_inversion_endpoints_have_p_equal_alpha():
    _, panel = _panel(n=20, t=6, seed=9)
    problem = _problem(panel)
    v, _ = draw_wild_weights("webb", 20, 9999, np.random.default_rng(6), 100_000)
    test = wild_test(problem, 0, weights=v)
    lo, hi = test.confint(0.95)
    assert lo < test.estimate < hi
    eps = 1e-9 * max(1.0, abs(hi - lo))
    for end, inward in ((lo, 1.0), (hi, -1.0)):
        inside = test.p_value(end + inward * eps)
        outside = test.p_value(end - inward * eps)
        assert 0.05 < inside <= 0.05 + 1e-3
        assert 0.05 - 1e-3 <= outside <= 0.05


def test_joint_wald_with_one_restriction_equals_t_test():
    _, panel = _panel(n=12, t=6, seed=2)
    problem = _problem(panel)
    v, _ = draw_wild_weights("rademacher", 12, 999, None, 100_000)
    wald = wild_wald_test(problem, [0], weights=v)
    single = wild_test(problem, 0, weights=v)
    assert wald["statistic"] == pytest.approx(single.t_stat(0.0) ** 2, rel=1e-10)
    assert wald["p_value"] == single.p_value(0.0)


def test_weight_distributions_moments():
    rng = np.random.default_rng(0)
    for kind in ("rademacher", "webb", "mammen", "normal"):
        v, full = draw_wild_weights(kind, 50, 20_000, rng, 0)
        assert not full
        assert abs(v.mean()) < 0.01 and abs(v.var() - 1) < 0.02
    v, _ = draw_wild_weights("mammen", 50, 20_000, rng, 0)
    assert abs((v**3).mean() - 1) < 0.05  # Mammen: third moment 1
    assert set(np.unique(draw_wild_weights("webb", 5, 2000, rng, 0)[0]).round(6)) == set(
        np.round([-np.sqrt(1.5), -1, -np.sqrt(0.5), np.sqrt(0.5), 1, np.sqrt(1.5)], 6)
    )


def test_registered_and_needs_rng_when_sampling():
    import evaluation.inference.wild  # noqa: F401

    assert "wild" in INFERENCE_METHODS
    _, panel = _panel(n=20)
    with pytest.raises(ConfigError, match="rng"):
        fit_twfe(panel, "y", inference="wild", settings=InferenceSettings(enumerate_max=10))


@pytest.mark.peers
def test_same_draws_as_wildboottest_give_the_same_p_value():
    # wildboottest draws rng.choice([-1, 1], G * B) and reshapes it G x B; with those draws
    # (transposed to our B x G layout, clusters in sorted order) the p-values are equal
    wbt = require_peer("wildboottest.wildboottest")
    import statsmodels.api as sm

    _, panel = _panel(n=24, t=8, seed=4)
    problem = _problem(panel)
    X = pd.DataFrame(problem.X, columns=[f"x{i}" for i in range(problem.X.shape[1])])
    reps = 1999
    for seed in (5, 6):
        ref = wbt.wildboottest(
            sm.OLS(problem.y, X),
            B=reps,
            cluster=problem.clusters,
            param="x0",
            weights_type="rademacher",
            seed=seed,
            show=False,
            parallel=False,
        )
        v = np.random.default_rng(seed).choice([-1, 1], size=24 * reps).reshape(24, reps).T
        p = wild_test(problem, 0, weights=v.astype(float)).p_value(0.0)
        assert p == pytest.approx(float(ref["p-value"].iloc[0]), abs=1e-12)


def test_narrowed_interval_search_equals_full_bisection(monkeypatch):
    # after a few halvings only the draws that flip inside the bracket are re-evaluated; with
    # the narrowing switched off every step evaluates every draw (the previous algorithm)
    import evaluation.inference.wild as wild

    _, panel = _panel(n=20, t=6, seed=9)
    problem = _problem(panel)
    for kind, seed in (("webb", 6), ("rademacher", 7), ("normal", 8)):
        v, _ = draw_wild_weights(kind, 20, 4999, np.random.default_rng(seed), 0)
        fast = wild_test(problem, 0, weights=v).confint(0.9)
        monkeypatch.setattr(wild, "_NARROW", 10_000)
        full = wild_test(problem, 0, weights=v).confint(0.9)
        monkeypatch.undo()
        assert fast == pytest.approx(full, rel=1e-12, abs=1e-14)


def test_rows_in_any_order_and_several_targets():
    # rows not sorted by cluster are sorted internally; a multi-target problem shares one fit
    from evaluation.inference.wild import WildBootstrap

    _, panel = _panel(n=14, t=7, seed=3)
    base = _problem(panel)
    X = np.column_stack([base.X[:, 0], base.X[:, 3], base.X[:, 1:3], base.X[:, 4:]])
    problem = LinearProblem(base.y, X, base.clusters, targets=(0, 1), names=("D", "t3"))
    order = np.random.default_rng(0).permutation(len(base.y))
    shuffled = LinearProblem(
        base.y[order], X[order], base.clusters[order], targets=(0, 1), names=("D", "t3")
    )
    s = InferenceSettings(reps=999, rng=np.random.default_rng(1), enumerate_max=0)
    out = WildBootstrap().infer(problem, s)
    out_shuffled = WildBootstrap().infer(
        shuffled, InferenceSettings(reps=999, rng=np.random.default_rng(1), enumerate_max=0)
    )
    v, _ = draw_wild_weights("rademacher", 14, 999, np.random.default_rng(1), 0)
    for j in (0, 1):
        single = wild_test(problem, j, weights=v)
        assert out.p_value[j] == single.p_value(0.0) == out_shuffled.p_value[j]
        lo, hi = single.confint(0.95)
        assert out.ci_low[j] == pytest.approx(lo, rel=1e-9)
        assert out_shuffled.ci_high[j] == pytest.approx(hi, rel=1e-9)
        assert out.se[j] == pytest.approx(np.sqrt(cr1_vcov(problem)[1][j, j]), rel=1e-10)


def test_joint_wald_equals_brute_force_loop():
    # two restrictions: refit each bootstrap sample and form its own CR1 Wald statistic
    _, panel = _panel(n=12, t=6, seed=2)
    problem = _problem(panel)
    t = [0, 2]
    X, y = problem.X, problem.y
    _, codes = np.unique(problem.clusters, return_inverse=True)
    v, _ = draw_wild_weights("webb", 12, 199, np.random.default_rng(3), 0)
    out = wild_wald_test(problem, t, weights=v)
    c = cr1_factor(problem)
    bread = np.linalg.inv(X.T @ X)

    def wald(yy: np.ndarray) -> float:
        b = bread @ X.T @ yy
        s = np.zeros((12, X.shape[1]))
        np.add.at(s, codes, X * (yy - X @ b)[:, None])
        vc = c * bread @ s.T @ s @ bread
        return float(b[t] @ np.linalg.solve(vc[np.ix_(t, t)], b[t]))

    rest = np.delete(X, t, axis=1)
    fitted = rest @ np.linalg.lstsq(rest, y, rcond=None)[0]
    u = y - fitted
    brute = np.array([wald(fitted + u * v[b, codes]) for b in range(len(v))])
    observed = wald(y)
    assert out["statistic"] == pytest.approx(observed, rel=1e-9)
    assert out["p_value"] == np.mean(brute >= observed * (1 - 1e-12))
