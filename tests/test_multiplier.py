"""Multiplier bootstrap and analytic influence-function inference.

Tolerances: bootstrap SEs within 3.5 Monte Carlo standard errors of the analytic SEs, and exact
identities to 1e-12. The bootstrap SE is ``IQR / 1.349`` of B draws that are, given the data,
close to normal with standard deviation equal to the analytic SE ``sigma``. For sample quantiles
``Var(q_p) = p (1 - p) / (B f(q_p)^2)`` and ``Cov(q_.25, q_.75) = .25^2 / (B f^2)``, with
``f = phi(0.6745) / sigma = 0.3178 / sigma`` at both quartiles, so
``Var(IQR) = 2 (0.1875 - 0.0625) sigma^2 / (B 0.3178^2) = 2.475 sigma^2 / B`` and the relative
Monte Carlo error of the SE is ``sqrt(2.475) / 1.349 / sqrt(B) = 1.166 / sqrt(B)``: 1.17% at
B = 9,999 (checked by simulation in :func:`test_iqr_se_monte_carlo_error_matches_its_formula`).
3.5 of them, 4.1%, is the tolerance for the 30 SEs compared (the largest deviation at this seed
is 2.8 of them).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from evaluation.errors import ConfigError
from evaluation.estimators.callaway_santanna import fit_cs
from evaluation.inference.base import InferenceSettings, InfluenceProblem
from evaluation.inference.multiplier import (
    MultiplierBootstrap,
    analytic_from_influence,
    bootstrap_draws,
    iqr_se,
    multiplier_weights,
)
from evaluation.panel import Panel

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def panel() -> Panel:
    df = pd.read_csv(HERE / "data" / "mpdta.csv")
    return Panel.from_frame(
        df, unit="countyreal", time="year", cohort="first.treat", outcomes="lemp"
    )


BOOT_REPS = 9999
#: Relative Monte Carlo error of an IQR-based bootstrap SE from B draws (module docstring).
IQR_SE_MC_ERROR = 1.166 / math.sqrt(BOOT_REPS)
RTOL = 3.5 * IQR_SE_MC_ERROR


@pytest.fixture(scope="module")
def fits(panel):
    analytic = fit_cs(panel, "lemp", inference="cr1", aggregation="dynamic")
    s = InferenceSettings(reps=BOOT_REPS, weights="mammen", rng=np.random.default_rng(20240501))
    boot = fit_cs(panel, "lemp", inference="multiplier", settings=s, aggregation="dynamic")
    return analytic, boot


def test_bootstrap_se_close_to_analytic(fits):
    analytic, boot = fits
    for table in ("group_time", "event_study"):
        a = getattr(analytic, table)["se"].to_numpy()
        b = getattr(boot, table)["se"].to_numpy()
        np.testing.assert_allclose(b, a, rtol=RTOL)
    for name in ("group", "calendar", "overall"):
        np.testing.assert_allclose(
            boot.aggregations[name]["se"], analytic.aggregations[name]["se"], rtol=RTOL
        )
    assert boot.overall.se == pytest.approx(analytic.overall.se, rel=RTOL)
    # point estimates are untouched by the inference choice
    np.testing.assert_array_equal(boot.group_time["estimate"], analytic.group_time["estimate"])


def test_iqr_se_monte_carlo_error_matches_its_formula():
    # 400 bootstrap runs of B = 9,999 normal draws with sd 1: the spread of their IQR-based SEs
    rng = np.random.default_rng(17)
    ses = np.array([iqr_se(rng.standard_normal((BOOT_REPS, 1)))[0] for _ in range(400)])
    # the sd of 400 values is known to about 1 / sqrt(2 x 399) = 3.5% of itself
    assert np.std(ses, ddof=1) == pytest.approx(IQR_SE_MC_ERROR, rel=0.15)
    assert ses.mean() == pytest.approx(1.0, abs=4 * IQR_SE_MC_ERROR / math.sqrt(400))


def test_sup_t_band(fits):
    _, boot = fits
    info = boot.info["inference_info"]
    for fam, table in (("dynamic", boot.event_study), ("group_time", boot.group_time)):
        crit = info[fam]["band_critical_value"]
        assert norm.ppf(0.975) < crit < 4.0
        assert (table["band_low"] <= table["ci_low"] + 1e-15).all()
        assert (table["band_high"] >= table["ci_high"] - 1e-15).all()
        width = (table["band_high"] - table["band_low"]) / (2 * table["se"])
        np.testing.assert_allclose(width, crit, rtol=1e-12)


def test_reproducible_by_seed(panel):
    def run(seed):
        s = InferenceSettings(reps=199, rng=np.random.default_rng(seed))
        return fit_cs(panel, "lemp", inference="multiplier", settings=s)

    a, b, c = run(1), run(1), run(2)
    pd.testing.assert_frame_equal(a.event_study, b.event_study)
    assert a.overall.se == b.overall.se
    assert a.overall.se != c.overall.se


def test_sup_t_band_covers_jointly_in_simulation():
    # k independent standard-normal estimates: the band should hold all k with about 95%
    rng = np.random.default_rng(3)
    n, k = 400, 6
    hits = 0
    reps = 200
    for _ in range(reps):
        x = rng.standard_normal((n, k))
        est = x.mean(axis=0)
        psi = x - est
        out = MultiplierBootstrap().infer(
            InfluenceProblem(est, psi, [str(j) for j in range(k)]),
            InferenceSettings(reps=499, weights="rademacher", rng=rng),
        )
        hits += bool(np.all((out.band_low <= 0) & (out.band_high >= 0)))
    # binomial(200, 0.95): 3 sd is about 0.046
    assert abs(hits / reps - 0.95) < 0.05


@pytest.mark.parametrize("kind", ["mammen", "rademacher", "webb", "normal"])
def test_weight_moments(kind):
    v = multiplier_weights(kind, (400_000, 1), np.random.default_rng(9))
    assert abs(v.mean()) < 0.01
    assert abs(v.var() - 1.0) < 0.01
    if kind == "mammen":
        s5 = math.sqrt(5)
        vals = np.unique(v)
        np.testing.assert_allclose(vals, [(1 - s5) / 2, (1 + s5) / 2])
        assert abs((v < 0).mean() - (s5 + 1) / (2 * s5)) < 0.003
        assert abs((v**3).mean() - 1.0) < 0.03  # Mammen's third moment is 1
    with pytest.raises(ConfigError):
        multiplier_weights("uniform", (2, 2), np.random.default_rng(0))


def test_analytic_from_influence_by_hand():
    psi = np.array([[1.0, 0.0], [-1.0, 2.0], [3.0, -2.0], [-3.0, 0.0]])
    prob = InfluenceProblem(np.array([0.5, 0.0]), psi, ["a", "b"])
    out = analytic_from_influence(prob, InferenceSettings(level=0.9))
    se = np.sqrt((psi**2).sum(axis=0)) / 4
    assert out.se[0] == pytest.approx(se[0], abs=1e-15)
    z = norm.ppf(0.95)
    assert out.ci_low[0] == pytest.approx(0.5 - z * se[0], abs=1e-15)
    assert out.p_value[0] == pytest.approx(2 * norm.sf(0.5 / se[0]), abs=1e-15)
    # clusters: sums of psi within clusters {0, 1}, {2, 3}
    clus = InfluenceProblem(prob.estimates, psi, ["a", "b"], clusters=np.array([0, 0, 1, 1]))
    out_c = analytic_from_influence(clus, InferenceSettings())
    sums = np.array([[0.0, 2.0], [0.0, -2.0]])
    assert np.isnan(out_c.se[0])  # degenerate: both cluster sums are 0
    assert out_c.se[1] == pytest.approx(np.sqrt((sums[:, 1] ** 2).sum()) / 4)


def test_draws_match_definition_and_chunking():
    rng = np.random.default_rng(4)
    psi = rng.standard_normal((50, 3))
    d1 = bootstrap_draws(psi, 10, np.random.default_rng(8), weights="rademacher")
    v = multiplier_weights("rademacher", (10, 50), np.random.default_rng(8))
    np.testing.assert_allclose(d1, v @ psi / 50, atol=1e-14)


def test_iqr_se_of_normal_draws():
    draws = np.random.default_rng(0).normal(scale=2.0, size=(100_000, 1))
    assert iqr_se(draws)[0] == pytest.approx(2.0, rel=0.02)


def test_cluster_level_weights():
    rng = np.random.default_rng(6)
    psi = rng.standard_normal((40, 2))
    clusters = np.repeat(np.arange(10), 4)
    d = bootstrap_draws(psi, 5, np.random.default_rng(1), weights="rademacher", clusters=clusters)
    v = multiplier_weights("rademacher", (5, 10), np.random.default_rng(1))
    sums = np.vstack([psi[clusters == c].sum(axis=0) for c in range(10)])
    np.testing.assert_allclose(d, v @ sums / 40, atol=1e-14)


def test_needs_rng_and_influence_problem():
    prob = InfluenceProblem(np.zeros(1), np.ones((3, 1)), ["a"])
    with pytest.raises(ConfigError, match="rng"):
        MultiplierBootstrap().infer(prob, InferenceSettings())
    with pytest.raises(ConfigError, match="InfluenceProblem"):
        MultiplierBootstrap().infer(object(), InferenceSettings(rng=np.random.default_rng(0)))
