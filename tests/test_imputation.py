"""Imputation estimator (Borusyak-Jaravel-Spiess) against pyfixest's did2s, dummy-variable OLS
and hand calculations; its cr3 and ri problems against brute-force refits."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_peer

from evaluation.errors import ConfigError, EstimationError
from evaluation.estimators.imputation import (
    fit_imputation,
    imputation_statistic,
    imputation_variance,
)
from evaluation.inference.base import InferenceSettings, PermutationProblem
from evaluation.panel import Panel

DATA = Path(__file__).resolve().parent / "data"
ALL_METHODS = all(
    importlib.util.find_spec(f"evaluation.inference.{m}") is not None
    for m in ("cluster", "wild", "multiplier", "randomization")
)
needs_registry = pytest.mark.skipif(
    not ALL_METHODS, reason="inference registry modules not all present yet"
)


def _stat(panel: Panel, outcome: str, **kw: object) -> dict[str, float]:
    stat, names = imputation_statistic(panel, **kw)  # type: ignore[arg-type]
    est = stat(panel.data[outcome].to_numpy(), panel.unit_cohorts.to_numpy()[None, :])[0]
    return dict(zip(names, est, strict=True))


def _staggered(seed: int = 3, n: int = 43, t: int = 12, covariate: bool = False) -> pd.DataFrame:
    """43 forces, 12 periods, waves going live in periods 5, 7 and 9, growing effects."""
    rng = np.random.default_rng(seed)
    cohort = np.zeros(n)
    cohort[:3], cohort[3:6], cohort[6:10] = 5, 7, 9
    rows = []
    a = rng.normal(0, 2, n)
    lam = rng.normal(0, 1, t + 1)
    for i in range(n):
        for s in range(1, t + 1):
            x = rng.normal()
            e = 0.0 if cohort[i] == 0 or s < cohort[i] else 1.0 + 0.3 * (s - cohort[i])
            y = a[i] + lam[s] + (0.7 * x if covariate else 0.0) + e + rng.normal(0, 0.5)
            rows.append((f"f{i:02d}", s, cohort[i], y, x))
    return pd.DataFrame(rows, columns=["force", "period", "cohort", "y", "x"])


def _did2s(df: pd.DataFrame, unit: str, time: str, cohort: str, y: str, xs: str = "0"):
    pf = require_peer("pyfixest")

    d = df.copy()
    g = d[cohort].to_numpy(dtype=float)
    d["D"] = ((g > 0) & (d[time].to_numpy() >= g)).astype(int)
    d["h"] = np.where(d["D"] == 1, d[time] - g, -1).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        overall = pf.did2s(
            d,
            yname=y,
            first_stage=f"~ {xs} | {unit} + {time}",
            second_stage="~ D",
            treatment="D",
            cluster=unit,
        )
        es = pf.did2s(
            d,
            yname=y,
            first_stage=f"~ {xs} | {unit} + {time}",
            second_stage="~ i(h, ref=-1)",
            treatment="D",
            cluster=unit,
        )
    return float(overall.coef()["D"]), es.coef()


# ------------------------------------------------------------------ point estimates vs peers
@pytest.mark.peers
def test_matches_pyfixest_did2s_on_generated_staggered_panel() -> None:
    df = _staggered()
    p = Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")
    ours = _stat(p, "y", cells=False)
    overall, es = _did2s(df, "force", "period", "cohort", "y")
    assert ours["overall"] == pytest.approx(overall, abs=1e-8)
    horizons = [k for k in ours if k.startswith("h=")]
    assert len(horizons) == 8
    for k in horizons:
        h = int(k[2:])
        peer = float(es[f"h::{h}"])
        assert ours[k] == pytest.approx(peer, abs=1e-8)


@pytest.mark.peers
def test_matches_pyfixest_did2s_with_covariate() -> None:
    df = _staggered(seed=5, covariate=True)
    p = Panel.from_frame(
        df, unit="force", time="period", cohort="cohort", outcomes="y", covariates=["x"]
    )
    ours = _stat(p, "y", cells=False)
    overall, es = _did2s(df, "force", "period", "cohort", "y", xs="x")
    assert ours["overall"] == pytest.approx(overall, abs=1e-8)
    assert ours["h=3"] == pytest.approx(float(es["h::3"]), abs=1e-8)


@pytest.mark.peers
def test_matches_pyfixest_on_mpdta() -> None:
    """mpdta: the 2004 cohort has a single untreated year, so pyfixest's did2s drops those
    singleton units (and then fails in its variance step). Check (1) pf.did2s on mpdta without
    the 2004 cohort; (2) the full data against Gardner's two stages run with pyfixest: first
    stage feols(fixef_rm="none") on untreated rows, second stage the means of the residualised
    outcome over treated rows (the did2s second stage on treatment dummies)."""
    pf = require_peer("pyfixest")

    df = pd.read_csv(DATA / "mpdta.csv")
    sub = df[df["first.treat"] != 2004]
    p = Panel.from_frame(sub, unit="countyreal", time="year", cohort="first.treat", outcomes="lemp")
    ours = _stat(p, "lemp", cells=False)
    overall, es = _did2s(sub, "countyreal", "year", "first.treat", "lemp")
    # pf.did2s demeans by alternating projections with its default fixef_tol (no option to
    # tighten it), which leaves differences of order 1e-7 on 500 counties: tolerance 1e-6 here,
    # 1e-8 below where pyfixest's first stage is run with fixef_tol=1e-13.
    assert ours["overall"] == pytest.approx(overall, abs=1e-6)
    for h in (0, 1):
        peer = float(es[f"h::{h}"])
        assert ours[f"h={h}"] == pytest.approx(peer, abs=1e-6)

    full = Panel.from_frame(
        df, unit="countyreal", time="year", cohort="first.treat", outcomes="lemp"
    )
    ours = _stat(full, "lemp", cells=False)
    d = df.copy()
    g = d["first.treat"].to_numpy()
    d["D"] = ((g > 0) & (d["year"].to_numpy() >= g)).astype(int)
    first = pf.feols(
        "lemp ~ 1 | countyreal + year", data=d[d["D"] == 0], fixef_rm="none", fixef_tol=1e-13
    )
    d["r"] = d["lemp"].to_numpy() - np.asarray(first.predict(newdata=d))
    treated = d[d["D"] == 1]
    assert ours["overall"] == pytest.approx(treated["r"].mean(), abs=1e-8)
    by_h = treated.groupby(treated["year"] - treated["first.treat"])["r"].mean()
    for h, v in by_h.items():
        assert ours[f"h={h}"] == pytest.approx(v, abs=1e-8)


# ------------------------------------------------------------------ hand calculations
def test_two_by_two_hand_calculation() -> None:
    # unit a goes live in period 2; b never: tau = (a2 - a1) - (b2 - b1)
    df = pd.DataFrame(
        {
            "u": ["a", "a", "b", "b"],
            "t": [1, 2, 1, 2],
            "g": [2, 2, 0, 0],
            "y": [3.0, 10.0, 2.0, 4.5],
        }
    )
    p = Panel.from_frame(df, unit="u", time="t", cohort="g", outcomes="y")
    assert _stat(p, "y")["overall"] == pytest.approx((10 - 3) - (4.5 - 2), abs=1e-12)


def test_three_by_four_against_dummy_ols() -> None:
    # a goes live in 3, b in 4, c and d never. Untreated cells fitted by explicit dummy OLS.
    rng = np.random.default_rng(0)
    units, periods = ["a", "b", "c", "d"], [1, 2, 3, 4]
    cohort = {"a": 3, "b": 4, "c": 0, "d": 0}
    df = pd.DataFrame(
        [(u, t, cohort[u], rng.normal()) for u in units for t in periods],
        columns=["u", "t", "g", "y"],
    )
    treated = (df["g"] > 0) & (df["t"] >= df["g"])
    Xd = np.column_stack(
        [(df["u"] == u).to_numpy(float) for u in units]
        + [(df["t"] == t).to_numpy(float) for t in periods[1:]]
    )
    coef = np.linalg.lstsq(Xd[~treated], df["y"][~treated], rcond=None)[0]
    tau = (df["y"] - Xd @ coef)[treated]
    ev = (df["t"] - df["g"])[treated]
    p = Panel.from_frame(df, unit="u", time="t", cohort="g", outcomes="y")
    ours = _stat(p, "y")
    assert ours["overall"] == pytest.approx(tau.mean(), abs=1e-12)
    assert ours["h=0"] == pytest.approx(tau[ev == 0].mean(), abs=1e-12)
    assert ours["h=1"] == pytest.approx(tau[ev == 1].mean(), abs=1e-12)
    assert ours["g=3,t=4"] == pytest.approx(tau[(df["g"] == 3) & (df["t"] == 4)].mean(), abs=1e-12)


def test_exact_recovery_without_noise_and_unbalanced_panel() -> None:
    df = _staggered(seed=1)
    truth = df.copy()
    # rebuild without noise: additive untreated outcome, known effects
    rng = np.random.default_rng(2)
    a = dict(zip(df["force"].unique(), rng.normal(size=43), strict=True))
    lam = rng.normal(size=13)
    g = truth["cohort"].to_numpy()
    s = truth["period"].to_numpy()
    eff = np.where((g > 0) & (s >= g), 2.0 + 0.5 * (s - g), 0.0)
    truth["y"] = truth["force"].map(a).to_numpy() + lam[s] + eff
    truth = truth.drop(index=[5, 40, 100, 333]).reset_index(drop=True)  # unbalanced
    p = Panel.from_frame(truth, unit="force", time="period", cohort="cohort", outcomes="y")
    ours = _stat(p, "y", cells=False)
    kept = truth[(truth["cohort"] > 0) & (truth["period"] >= truth["cohort"])]
    e = kept["period"] - kept["cohort"]
    assert ours["overall"] == pytest.approx((2.0 + 0.5 * e).mean(), abs=1e-10)
    assert ours["h=3"] == pytest.approx(3.5, abs=1e-10)


def test_pretrend_coefficients_match_dummy_regression_on_untreated() -> None:
    pf = require_peer("pyfixest")

    df = _staggered(seed=7)
    p = Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")
    ours = _stat(p, "y", cells=False, pretrends=2)
    d = df[(df["cohort"] == 0) | (df["period"] < df["cohort"])].copy()
    ev = np.where(d["cohort"] > 0, d["period"] - d["cohort"], 0)
    d["pre2"] = (ev == -2).astype(float)
    d["pre1"] = (ev == -1).astype(float)
    fit = pf.feols("y ~ pre2 + pre1 | force + period", data=d)
    assert ours["pre=-2"] == pytest.approx(float(fit.coef()["pre2"]), abs=1e-8)
    assert ours["pre=-1"] == pytest.approx(float(fit.coef()["pre1"]), abs=1e-8)
    # main estimates unaffected by the pre-trend regression
    assert ours["overall"] == pytest.approx(_stat(p, "y", cells=False)["overall"], abs=1e-12)


# ------------------------------------------------------------------ inference problems
def test_vectorised_statistic_equals_refit_per_assignment() -> None:
    df = _staggered(seed=11, n=12, t=8)
    df.loc[df["cohort"] == 9, "cohort"] = 0
    p = Panel.from_frame(
        df, unit="force", time="period", cohort="cohort", outcomes="y", covariates=["x"]
    )
    stat, names = imputation_statistic(p, pretrends=1)
    rng = np.random.default_rng(4)
    base = p.unit_cohorts.to_numpy()
    draws = np.vstack([rng.permutation(base) for _ in range(6)])
    batched = stat(p.data["y"].to_numpy(), draws)
    for b in range(6):
        q = p.with_cohorts(dict(zip(p.units, draws[b], strict=True)))
        stat_b, names_b = imputation_statistic(q, pretrends=1)
        single = stat_b(q.data["y"].to_numpy(), draws[b][None, :])[0]
        one = dict(zip(names_b, single, strict=True))
        for j, name in enumerate(names):
            if name in one:
                assert batched[b, j] == pytest.approx(one[name], abs=1e-9, nan_ok=True)
    # linear in y
    y1, y2 = rng.normal(size=len(p.data)), rng.normal(size=len(p.data))
    lhs = stat(2.0 * y1 - 3.0 * y2, draws)
    rhs = 2.0 * stat(y1, draws) - 3.0 * stat(y2, draws)
    np.testing.assert_allclose(lhs, rhs, atol=1e-9)
    # statistic of the treatment indicator: 1 for effects, 0 for pre-trend coefficients
    s = stat(p.treated, base[None, :])[0]
    np.testing.assert_allclose(s[names.index("overall")], 1.0, atol=1e-12)
    np.testing.assert_allclose(s[names.index("pre=-1")], 0.0, atol=1e-12)


def test_randomization_inference_on_tiny_design_matches_brute_force() -> None:
    from evaluation.inference.randomization import randomization_test

    df = _staggered(seed=2, n=8, t=6)
    df["cohort"] = np.where(df["force"].isin(["f00", "f01"]), 4, 0)
    p = Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")
    stat, names = imputation_statistic(p, cells=False)
    prob = PermutationProblem(
        stat, p.data["y"].to_numpy(), p.treated, p.unit_cohorts.to_numpy(), names
    )
    out = randomization_test(prob, InferenceSettings())
    # brute force: 28 assignments of 2 treated among 8, full refit each time
    import itertools

    obs = _stat(p, "y", cells=False)["overall"]
    hits = 0
    for pair in itertools.combinations(p.units, 2):
        q = p.with_cohorts({u: (4.0 if u in pair else np.inf) for u in p.units})
        hits += abs(_stat(q, "y", cells=False)["overall"]) >= abs(obs) - 1e-12
    assert out.p_value[0] == pytest.approx(hits / 28, abs=1e-12)


def test_jackknife_refit_equals_dropping_the_unit() -> None:
    df = _staggered(seed=9, n=15, t=8)
    p = Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")
    captured = {}

    class Spy:
        name = "cr3"
        accepts = ()

    from evaluation.estimators import imputation as mod

    def fake_get_method(name: str):  # capture the RefitProblem the estimator poses
        from evaluation.inference.base import InferenceOutcome, RefitProblem

        class M:
            accepts = (RefitProblem,)

            def infer(self, problem, settings):
                captured["p"] = problem
                k = len(problem.estimates)
                z = np.zeros(k)
                return InferenceOutcome("cr3", z, z, z, z)

        M.name = name
        return M()

    mp = pytest.MonkeyPatch()
    mp.setattr(mod, "get_method", fake_get_method)
    try:
        res = fit_imputation(p, "y", inference="cr3")
    finally:
        mp.undo()
    prob = captured["p"]
    keep = [u for u in p.units if u != "f04"]
    direct = _stat(p.subset_units(keep), "y")
    refit = dict(zip(prob.names, prob.refit(np.array(keep)), strict=True))
    for k, v in direct.items():
        assert refit[k] == pytest.approx(v, abs=1e-10)
    assert res.overall.estimate == pytest.approx(_stat(p, "y")["overall"], abs=1e-12)
    assert {"event_time", "estimate", "se", "ci_low", "ci_high"} <= set(res.event_study.columns)
    assert {"group", "time", "estimate"} <= set(res.group_time.columns)


# ------------------------------------------------------------------ errors
def test_unidentified_periods_raise_estimation_error() -> None:
    df = pd.DataFrame(
        {"u": list("aabbcc"), "t": [1, 2] * 3, "g": [2, 2, 2, 2, 1, 1], "y": np.arange(6.0)}
    )
    p = Panel.from_frame(df, unit="u", time="t", cohort="g", outcomes="y", require_pre_period=False)
    with pytest.raises(EstimationError, match="cannot impute"):
        fit_imputation(p, "y", inference="cr3")


def test_cr3_with_a_unit_whose_removal_disconnects_the_design_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # unit 0 is untreated only in period 2 and unit 2 only in period 1: without unit 1 nothing
    # links them, the imputed outcome of unit 2 in period 2 is not identified, nor the jackknife
    df = pd.DataFrame({"id": [0, 1, 1, 2, 2], "t": [2, 1, 2, 1, 2], "g": [0, 0, 0, 2, 2], "y": 1.0})
    p = Panel.from_frame(df, unit="id", time="t", cohort="g", outcomes="y")
    assert fit_imputation(p, "y", inference="cr1").overall.estimate == pytest.approx(0.0)
    with pytest.raises(
        EstimationError, match=r"CR3 jackknife is undefined: without unit\(s\) \[1\]"
    ):
        fit_imputation(p, "y", inference="cr3")
    from evaluation.cli import main

    path = tmp_path / "panel.csv"
    df.to_csv(path, index=False)
    args = [str(path), "--unit", "id", "--time", "t", "--cohort", "g", "--outcome", "y"]
    assert main(["estimate", *args, "--method", "imputation", "--inference", "cr3"]) == 2
    assert "inference='cr1'" in capsys.readouterr().err


def test_disconnected_untreated_cells_in_the_full_sample_are_a_user_error() -> None:
    # unit 0 is untreated only in period 1, when the comparison unit is not observed: nothing
    # links unit 0's effect to periods 2-4, so its imputed outcomes are arbitrary. The solver
    # does not always notice (here it returned an estimate); the connectivity check does.
    df = pd.DataFrame(
        {
            "u": [0, 0, 0, 0, 1, 1, 1],
            "t": [1, 2, 3, 4, 2, 3, 4],
            "g": [2, 2, 2, 2, 0, 0, 0],
            "y": [-0.62, 0.56, -0.46, -0.77, 0.39, 1.63, 0.86],
        }
    )
    p = Panel.from_frame(df, unit="u", time="t", cohort="g", outcomes="y")
    for inference in ("cr1", "cr3", "ri"):
        with pytest.raises(EstimationError, match="cannot identify the unit and period effects"):
            fit_imputation(p, "y", inference=inference)


def test_bad_options() -> None:
    df = _staggered(n=10, t=6)
    p = Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")
    with pytest.raises(ConfigError, match="inference must be one of"):
        fit_imputation(p, "y", inference="wild")
    with pytest.raises(ConfigError, match="horizons"):
        fit_imputation(p, "y", inference="cr3", horizons=[40])


@needs_registry
def test_public_fit_with_registry_methods() -> None:
    df = _staggered(seed=4)
    p = Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")
    res = fit_imputation(
        p, "y", inference="ri", settings=InferenceSettings(reps=199, rng=np.random.default_rng(1))
    )
    assert res.overall.inference == "ri"
    assert 0 <= res.overall.p_value <= 1
    res3 = fit_imputation(p, "y", inference="cr3")
    assert res3.overall.se > 0
    assert res3.overall.estimate == pytest.approx(res.overall.estimate, abs=1e-12)


# ------------------------------------------------------------------ BJS conservative variance
def _unbalanced_with_covariate(seed: int = 21) -> pd.DataFrame:
    df = _staggered(seed=seed, n=14, t=9, covariate=True)
    df.loc[df["cohort"] == 9, "cohort"] = 8
    drop = np.random.default_rng(seed).choice(len(df), 6, replace=False)
    return df.drop(index=drop).reset_index(drop=True)


def test_implicit_weights_reproduce_estimates_and_satisfy_bjs_conditions() -> None:
    df = _unbalanced_with_covariate()
    p = Panel.from_frame(
        df, unit="force", time="period", cohort="cohort", outcomes="y", covariates=["x"]
    )
    iv = imputation_variance(p, "y", pretrends=2)
    y = df["y"].to_numpy()
    stat, names = imputation_statistic(p, pretrends=2)
    est = stat(y, p.unit_cohorts.to_numpy()[None, :])[0]
    assert list(iv.names) == names
    np.testing.assert_allclose(iv.weights.T @ y, est, rtol=0, atol=1e-10)
    np.testing.assert_allclose(iv.estimates, est, rtol=0, atol=1e-10)

    v = iv.weights
    treated = p.treated.astype(bool)
    g = df["cohort"].to_numpy(float)
    ev = np.where(g > 0, df["period"] - g, np.nan)
    unit_dummies = pd.get_dummies(df["force"]).to_numpy(float)
    time_dummies = pd.get_dummies(df["period"]).to_numpy(float)
    x = df["x"].to_numpy()
    effects = [j for j, n in enumerate(names) if not n.startswith("pre=")]
    # BJS's conditions: the estimator is invariant to unit effects, period effects and the
    # covariate (weights orthogonal to them), on all cells treated and untreated together
    for j in range(len(names)):
        np.testing.assert_allclose(unit_dummies.T @ v[:, j], 0.0, atol=1e-12)
        np.testing.assert_allclose(time_dummies.T @ v[:, j], 0.0, atol=1e-12)
        assert abs(x @ v[:, j]) < 1e-12
    # effect targets: treated weights are the averaging weights (sum to one, equal within the
    # target); untreated weights lie in the span of the untreated model's regressors
    Z0 = np.column_stack([unit_dummies, time_dummies, x])[~treated]
    for j in effects:
        wt = v[treated, j]
        assert wt.sum() == pytest.approx(1.0, abs=1e-12)
        nz = wt[np.abs(wt) > 1e-14]
        np.testing.assert_allclose(nz, 1.0 / len(nz), rtol=1e-12)
        coef = np.linalg.lstsq(Z0, v[~treated, j], rcond=None)[0]
        np.testing.assert_allclose(Z0 @ coef, v[~treated, j], atol=1e-12)
    # pre-trend coefficients: zero on treated cells, unit weight on their own indicator
    for k, j in enumerate(j for j, n in enumerate(names) if n.startswith("pre=")):
        assert np.abs(v[treated, j]).max() == 0.0
        lag = -int(names[j][4:])
        assert v[:, j] @ ((ev == -lag) & ~treated) == pytest.approx(1.0, abs=1e-12)
        other = 3 - lag
        assert v[:, j] @ ((ev == -other) & ~treated) == pytest.approx(0.0, abs=1e-12)
        assert k < 2


def _tiny() -> pd.DataFrame:
    """4 units x 3 periods: a and b go live in period 3, c and d never.

    y = alpha_i + lambda_t + tau_i D_it + r_it with alpha = (1, 2, 3, 4), lambda = (0, 1, 3),
    tau_a = 2, tau_b = 5 and r = q (1, -1) on a, q (-1, 1) on b (periods 1-2), s (1, 0, -1) on c
    and s (-1, 0, 1) on d, q = 0.3, s = 0.5. r sums to zero within every unit's and every
    period's untreated cells, so it is exactly the untreated-model residual.
    """
    q, s = 0.3, 0.5
    y = {
        "a": [1 + q, 2 - q, 4 + 2],
        "b": [2 - q, 3 + q, 5 + 5],
        "c": [3 + s, 4, 6 - s],
        "d": [4 - s, 5, 7 + s],
    }
    rows = [(u, t + 1, 3 if u in "ab" else 0, y[u][t]) for u in "abcd" for t in range(3)]
    return pd.DataFrame(rows, columns=["u", "t", "g", "y"])


def test_variance_by_hand_on_four_units_three_periods() -> None:
    """Hand calculation (see _tiny). Imputation weights: a, b: (-1/4, -1/4, 1/2); c, d:
    (1/4, 1/4, -1/2) (orthogonal to unit and period effects, untreated part in their span).
    Estimate (2 + 5) / 2 = 3.5. Treated residuals tau_i - mean(tau) = -/+ 1.5 (one cohort x
    period group); untreated residuals r. Unit scores sum_t v eps: a: 1/2 (-1.5) - q/4 + q/4 =
    -0.75, b: +0.75, c: s/4 + s/2 = 0.375, d: -0.375. Variance ((tau_a - tau_b)^2 + 9 s^2) / 8
    = 1.40625. Leave-out: the treated residuals double (tau_i minus the other unit's tau), unit
    scores -/+ 1.5, variance (4 (tau_a - tau_b)^2 + 9 s^2) / 8 = 4.78125."""
    df = _tiny()
    p = Panel.from_frame(df, unit="u", time="t", cohort="g", outcomes="y")
    iv = imputation_variance(p, "y")
    j = list(iv.names).index("overall")
    np.testing.assert_allclose(
        iv.weights[:, j], [-0.25, -0.25, 0.5] * 2 + [0.25, 0.25, -0.5] * 2, atol=1e-14
    )
    assert iv.estimates[j] == pytest.approx(3.5, abs=1e-12)
    np.testing.assert_allclose(
        iv.residuals[:, j],
        [0.3, -0.3, -1.5, -0.3, 0.3, 1.5, 0.5, 0.0, -0.5, -0.5, 0.0, 0.5],
        atol=1e-12,
    )
    np.testing.assert_allclose(iv.unit_scores[:, j], [-0.75, 0.75, 0.375, -0.375], atol=1e-12)
    assert iv.se[j] == pytest.approx(np.sqrt(1.40625), abs=1e-12)
    lo = imputation_variance(p, "y", leave_out=True)
    np.testing.assert_allclose(lo.unit_scores[:, j], [-1.5, 1.5, 0.375, -0.375], atol=1e-12)
    assert lo.se[j] == pytest.approx(np.sqrt(4.78125), abs=1e-12)
    # through the inference registry: InfluenceProblem scaling gives exactly BJS's SE
    res = fit_imputation(p, "y", inference="cr1")
    assert res.overall.se == pytest.approx(np.sqrt(1.40625), abs=1e-12)
    assert res.overall.ci_high - res.overall.estimate == pytest.approx(
        1.959963984540054 * np.sqrt(1.40625), abs=1e-9
    )
    res_lo = fit_imputation(p, "y", inference="cr1", leave_out=True)
    assert res_lo.overall.se == pytest.approx(np.sqrt(4.78125), abs=1e-12)


def _explicit_variance(
    df: pd.DataFrame, by: str, leave_out: bool, covariate: str | None = None
) -> tuple[float, float]:
    """Overall ATT and its BJS variance by brute force: dummy-variable OLS on untreated rows,
    weights -Z0 (Z0'Z0)^+ Z1'w, group averages with pandas (Stata's unit-weighted averages)."""
    d = df.reset_index(drop=True)
    g = d["cohort"].to_numpy(float)
    tr = (g > 0) & (d["period"].to_numpy() >= g)
    cols = [pd.get_dummies(d["force"]).to_numpy(float), pd.get_dummies(d["period"]).to_numpy(float)]
    if covariate:
        cols.append(d[[covariate]].to_numpy(float))
    Z = np.column_stack(cols)
    y = d["y"].to_numpy()
    coef = np.linalg.pinv(Z[~tr]) @ y[~tr]
    resid = y - Z @ coef  # untreated residuals; imputed effects on treated rows
    w = tr / tr.sum()
    v = w.copy()
    v[~tr] = -Z[~tr] @ np.linalg.pinv(Z[~tr].T @ Z[~tr]) @ (Z[tr].T @ w[tr])
    key = {
        "cohort_period": d["cohort"].astype(str) + "/" + d["period"].astype(str),
        "horizon": (d["period"] - d["cohort"]).astype(str),
        "cohort": d["cohort"].astype(str),
    }[by]
    t = pd.DataFrame({"unit": d["force"], "key": key, "w": w, "tau": resid})[tr]
    W_ig = t.groupby(["unit", "key"])["w"].transform("sum")
    S = (t.groupby(["unit", "key"])["w"].sum() ** 2).groupby(level="key").sum()
    num = (W_ig * t["w"] * t["tau"]).groupby(t["key"]).sum()
    eps = resid.copy()
    s_g = t["key"].map(S)
    eps[tr] = t["tau"] - t["key"].map(num) / s_g
    if leave_out:
        eps[tr] = eps[tr] * s_g / (s_g - W_ig**2)
    scores = pd.Series(v * eps).groupby(d["force"]).sum()
    return float(v @ y), float((scores**2).sum())


@pytest.mark.parametrize(
    ("by", "leave_out"),
    [("cohort_period", False), ("cohort_period", True), ("horizon", True), ("cohort", False)],
)
def test_variance_matches_brute_force_dummy_regression(by: str, leave_out: bool) -> None:
    df = _unbalanced_with_covariate(seed=23)
    p = Panel.from_frame(
        df, unit="force", time="period", cohort="cohort", outcomes="y", covariates=["x"]
    )
    iv = imputation_variance(p, "y", avg_effects_by=by, leave_out=leave_out)
    est, var = _explicit_variance(df, by, leave_out, covariate="x")
    assert iv.estimates[0] == pytest.approx(est, abs=1e-10)
    assert iv.se[0] ** 2 == pytest.approx(var, rel=1e-10)


def test_leave_out_equals_leaving_the_unit_out_of_its_group_average() -> None:
    """With one cell per unit and group (cohort x period), Stata's leave-out rescaling
    S / (S - W^2) is exactly tau_it minus the mean over the other units of its group."""
    df = _staggered(seed=31, n=12, t=8)
    p = Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")
    iv = imputation_variance(p, "y", leave_out=True)
    tr = p.treated.astype(bool)
    # imputed effects: y minus the fitted untreated outcome, from explicit dummy OLS
    Z = np.column_stack(
        [pd.get_dummies(df["force"]).to_numpy(float), pd.get_dummies(df["period"]).to_numpy(float)]
    )
    y = df["y"].to_numpy()
    tau = y - Z @ (np.linalg.pinv(Z[~tr]) @ y[~tr])
    t = df[tr].assign(tau=tau[tr])
    grp = t.groupby(["cohort", "period"])["tau"]
    other_mean = (grp.transform("sum") - t["tau"]) / (grp.transform("count") - 1)
    np.testing.assert_allclose(iv.residuals[tr, 0], t["tau"] - other_mean, atol=1e-10)


def test_leave_out_with_a_single_force_wave_is_an_error() -> None:
    df = _staggered(seed=3, n=12, t=8)
    df.loc[df["force"] == "f00", "cohort"] = 4  # a wave of one force
    p = Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")
    with pytest.raises(EstimationError, match="single treated unit"):
        imputation_variance(p, "y", leave_out=True)
    with pytest.raises(EstimationError, match="single treated unit"):
        fit_imputation(p, "y", inference="cr1", leave_out=True)
    # a coarser partition, without the horizon only f00 reaches, is fine; the group-time cells
    # of the one-force wave have no leave-out variance (NaN), the other targets do
    iv = imputation_variance(
        p, "y", avg_effects_by="treated", leave_out=True, horizons=[0, 1, 2, 3]
    )
    se = dict(zip(iv.names, iv.se, strict=True))
    assert all(np.isfinite(se[k]) for k in ("overall", "h=0", "h=3", "g=5,t=6"))
    assert np.isnan(se["g=4,t=4"])
    with pytest.raises(ConfigError, match="avg_effects_by must be one of"):
        fit_imputation(p, "y", inference="cr1", avg_effects_by="unit")


@needs_registry
def test_multiplier_bootstrap_of_the_same_scores() -> None:
    df = _staggered(seed=4)
    p = Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")
    iv = imputation_variance(p, "y", pretrends=1)
    res = fit_imputation(
        p,
        "y",
        pretrends=1,
        inference="multiplier",
        settings=InferenceSettings(reps=4999, rng=np.random.default_rng(7), weights="normal"),
    )
    # IQR-based bootstrap SE of a linear statistic with normal multipliers: its draws are
    # exactly N(0, se^2) given the data, so the SE agrees up to Monte Carlo error (~2-3%).
    es = res.event_study.set_index("event_time")
    se = dict(zip(iv.names, iv.se, strict=True))
    assert res.overall.se == pytest.approx(se["overall"], rel=0.06)
    for h in (0, 3, 7):
        assert es.loc[h, "se"] == pytest.approx(se[f"h={h}"], rel=0.06)
    assert es.loc[-1, "se"] == pytest.approx(se["pre=-1"], rel=0.06)
    # sup-t band over the event study is wider than the pointwise intervals
    assert {"band_low", "band_high"} <= set(es.columns)
    assert ((es["band_high"] - es["band_low"]) > (es["ci_high"] - es["ci_low"])).all()
    assert res.info["avg_effects_by"] == "cohort_period"


# ------------------------------------------------------------------ variance against peers
def _peer_frame(df: pd.DataFrame) -> pd.DataFrame:
    """did-imputation needs integer unit ids and times (its pyhdfe call cannot take pandas
    string arrays) and NaN as the never-treated cohort."""
    d = df.copy()
    d["Ei"] = d["cohort"].where(d["cohort"] > 0, np.nan)
    d["force"] = d["force"].str[1:].astype("int64")
    d["period"] = d["period"].astype("int64")
    return d


@pytest.mark.peers
@pytest.mark.parametrize(
    ("by", "peer_by", "covariate", "n"),
    [
        ("cohort_period", [], False, 43),  # peer default avgeffectsby(Ei t), as Stata
        ("cohort_period", [], True, 43),
        ("cohort", ["Ei"], False, 20),
        ("horizon", ["Rel_time"], False, 20),
    ],
)
def test_standard_errors_match_did_imputation(
    by: str, peer_by: list[str], covariate: bool, n: int
) -> None:
    """Peer: PyPI did-imputation 0.1.0, a port of Stata did_imputation (Borusyak). It finds the
    untreated weights iteratively (tol 1e-6) and recovers the fixed effects iteratively
    (tol 1e-6), so estimates agree to 1e-6 and standard errors to 1e-6 relative (observed:
    1e-8 and 4e-9). minn=0 keeps every horizon (its default suppresses small ones)."""
    did_imputation = require_peer("did_imputation").did_imputation
    import contextlib
    import io

    df = _staggered(seed=3, n=n, t=12 if n == 43 else 10, covariate=covariate)
    p = Panel.from_frame(
        df,
        unit="force",
        time="period",
        cohort="cohort",
        outcomes="y",
        covariates=["x"] if covariate else (),
    )
    iv = imputation_variance(p, "y", pretrends=2, avg_effects_by=by)
    ours = dict(zip(iv.names, zip(iv.estimates, iv.se, strict=True), strict=True))
    ctrl = ["x"] if covariate else []
    with contextlib.redirect_stdout(io.StringIO()):  # the peer prints warnings
        overall = did_imputation(
            _peer_frame(df), "y", "force", "period", "Ei", controls=ctrl, minn=0,
            avgeffectsby=peer_by,
        )  # fmt: skip
        es = did_imputation(
            _peer_frame(df), "y", "force", "period", "Ei", controls=ctrl, minn=0,
            allhorizons=True, pretrends=2, avgeffectsby=peer_by,
        )  # fmt: skip
    assert ours["overall"][0] == pytest.approx(overall.estimates["tau_ate"], abs=1e-6)
    assert ours["overall"][1] == pytest.approx(overall.std_errors["tau_ate"], rel=1e-6)
    horizons = [int(k[2:]) for k in ours if k.startswith("h=")]
    assert len(horizons) == p.n_periods - 4
    for h in horizons:
        assert ours[f"h={h}"][0] == pytest.approx(es.estimates[f"tau{h}"], abs=1e-6)
        assert ours[f"h={h}"][1] == pytest.approx(es.std_errors[f"tau{h}"], rel=1e-6)
    # pre-trend coefficients: CR1 convention factor. Both use G/(G-1) (n-1)/(n-k); we count
    # k = indicators + covariates + 12 periods (periods - 1 + intercept, as Stata xtreg/fixest),
    # the peer one fewer (no intercept), so our variance is larger by (n-k+1)/(n-k).
    n = int((~p.treated.astype(bool)).sum())
    k = 2 + len(ctrl) + p.n_periods
    convention = (n - k + 1) / (n - k)
    for lag in (1, 2):
        est, se = ours[f"pre={-lag}"]
        assert est == pytest.approx(es.pretrends_estimates[f"pre{lag}"], abs=1e-8)
        assert se**2 == pytest.approx(
            es.pretrends_std_errors[f"pre{lag}"] ** 2 * convention, rel=1e-6
        )


@pytest.mark.peers
def test_standard_errors_against_pyfixest_did2s_gmm() -> None:
    """pyfixest's did2s (Gardner 2021) GMM variance, with no small-sample factor, is the same
    sandwich with the second-stage residuals on treated cells: tau_it minus the fitted second
    stage. For horizon dummies that is tau_it minus the horizon mean, i.e. ours with
    avg_effects_by="horizon" (or "treated"), exactly. For the overall ATT (second stage ~ D) it
    is tau_it minus the plain overall mean; BJS/Stata weight the group average by each unit's
    weight, so the two agree exactly only when every treated unit has the same number of
    treated cells (one wave, balanced), checked here, and differ slightly otherwise (0.3% here)."""
    pf = require_peer("pyfixest")

    for one_wave in (False, True):
        df = _staggered(seed=3)
        if one_wave:
            df["cohort"] = np.where(df["cohort"] > 0, 7, 0)
        p = Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")
        d = df.copy()
        g = d["cohort"].to_numpy(float)
        d["D"] = ((g > 0) & (d["period"].to_numpy() >= g)).astype(int)
        d["h"] = np.where(d["D"] == 1, d["period"] - g, -1).astype(int)
        kw = {"yname": "y", "first_stage": "~ 0 | force + period", "treatment": "D"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_d = pf.did2s(d, second_stage="~ D", cluster="force", **kw)
            fit_h = pf.did2s(d, second_stage="~ i(h, ref=-1)", cluster="force", **kw)
        for by in ("horizon", "treated"):
            iv = imputation_variance(p, "y", avg_effects_by=by)
            se = dict(zip(iv.names, iv.se, strict=True))
            horizons = [k for k in se if k.startswith("h=")]
            for name in horizons:
                assert se[name] == pytest.approx(float(fit_h.se()[f"h::{name[2:]}"]), rel=1e-9)
        se_t = imputation_variance(p, "y", avg_effects_by="treated").se[0]
        peer = float(fit_d.se()["D"])
        if one_wave:
            assert se_t == pytest.approx(peer, rel=1e-9)
        else:
            assert se_t != pytest.approx(peer, rel=1e-4)
            assert se_t == pytest.approx(peer, rel=0.02)
