"""Imputation estimator (Borusyak-Jaravel-Spiess) against pyfixest's did2s, dummy-variable OLS
and hand calculations; its cr3 and ri problems against brute-force refits."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.errors import ConfigError, EstimationError
from evaluation.estimators.imputation import fit_imputation, imputation_statistic
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
    import pyfixest as pf

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
    import pyfixest as pf

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
    import pyfixest as pf

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
