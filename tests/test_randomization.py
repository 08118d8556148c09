"""Randomization inference machinery, checked against brute force on small designs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from evaluation.errors import ConfigError
from evaluation.inference.base import InferenceSettings, PermutationProblem, get_method
from evaluation.inference.randomization import (
    count_assignments,
    draw_assignments,
    enumerate_assignments,
    randomization_test,
)


def _diff_in_means_problem(y: np.ndarray, treated_units: np.ndarray) -> PermutationProblem:
    """One row per unit; cohort 1 = treated, inf = control; statistic = difference in means."""
    cohorts = np.where(treated_units, 1.0, np.inf)

    def statistic(values: np.ndarray, assign: np.ndarray) -> np.ndarray:
        t = np.isfinite(assign)
        mt = (t * values).sum(axis=1) / t.sum(axis=1)
        mc = (~t * values).sum(axis=1) / (~t).sum(axis=1)
        return (mt - mc)[:, None]

    return PermutationProblem(
        statistic=statistic,
        y=y,
        treated=treated_units.astype(float),
        cohorts=cohorts,
        names=["dim"],
    )


def test_count_and_enumerate_match_itertools() -> None:
    cohorts = np.array([3.0, 3.0, 5.0, np.inf, np.inf, np.inf, np.inf])
    rows = enumerate_assignments(cohorts)
    brute = {tuple(p) for p in itertools.permutations(cohorts.tolist())}
    assert count_assignments(cohorts) == len(brute) == len(rows) == 105
    assert {tuple(r) for r in rows} == brute


def test_draws_preserve_wave_sizes_and_are_seeded() -> None:
    cohorts = np.array([1.0, 1.0, 2.0, 2.0, 2.0] + [np.inf] * 10)
    a = draw_assignments(cohorts, 50, np.random.default_rng(3))
    b = draw_assignments(cohorts, 50, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    for row in a:
        assert sorted(row.tolist()) == sorted(cohorts.tolist())


def test_exact_pvalue_equals_brute_force() -> None:
    rng = np.random.default_rng(0)
    n = 12
    treated = np.zeros(n, dtype=bool)
    treated[:3] = True
    y = rng.normal(size=n) + 1.2 * treated
    problem = _diff_in_means_problem(y, treated)
    out = randomization_test(problem, InferenceSettings(reps=999))
    obs = y[treated].mean() - y[~treated].mean()
    stats = []
    for idx in itertools.combinations(range(n), 3):
        m = np.zeros(n, dtype=bool)
        m[list(idx)] = True
        stats.append(y[m].mean() - y[~m].mean())
    stats_arr = np.array(stats)
    brute = np.mean(np.abs(stats_arr) >= abs(obs) - 1e-12)
    assert out.info["ri_exact"] is True
    assert out.p_value[0] == pytest.approx(brute, abs=1e-12)


def test_interval_endpoints_are_where_the_test_flips() -> None:
    rng = np.random.default_rng(1)
    n = 14
    treated = np.zeros(n, dtype=bool)
    treated[:4] = True
    y = rng.normal(size=n) + 2.0 * treated
    problem = _diff_in_means_problem(y, treated)
    settings = InferenceSettings(reps=999, level=0.9)
    out = randomization_test(problem, settings)
    lo, hi = out.ci_low[0], out.ci_high[0]
    obs = y[treated].mean() - y[~treated].mean()
    assert lo < obs < hi

    def p_at(tau: float) -> float:
        shifted = _diff_in_means_problem(y - tau * treated, treated)
        return float(randomization_test(shifted, settings).p_value[0])

    eps = 1e-6 * (hi - lo)
    assert p_at(lo + eps) > 0.1 >= p_at(lo - 10 * eps)
    assert p_at(hi - eps) > 0.1 >= p_at(hi + 10 * eps)


def test_sampled_pvalue_is_reproducible_and_close_to_exact() -> None:
    rng = np.random.default_rng(2)
    n = 43
    treated = np.zeros(n, dtype=bool)
    treated[:3] = True
    y = rng.normal(size=n) + 0.8 * treated
    problem = _diff_in_means_problem(y, treated)
    exact = randomization_test(problem, InferenceSettings(reps=999))  # 12,341 assignments
    assert exact.info["ri_exact"] is True
    sampled_settings = InferenceSettings(
        reps=4000, enumerate_max=1000, rng=np.random.default_rng(9)
    )
    s1 = randomization_test(problem, sampled_settings)
    s2 = randomization_test(
        problem, InferenceSettings(reps=4000, enumerate_max=1000, rng=np.random.default_rng(9))
    )
    assert s1.info["ri_exact"] is False
    assert s1.p_value[0] == s2.p_value[0]
    p = exact.p_value[0]
    assert abs(s1.p_value[0] - p) < 4 * np.sqrt(p * (1 - p) / 4000) + 1 / 4001


def test_registry_and_missing_rng_message() -> None:
    method = get_method("ri")
    treated = np.array([True] * 3 + [False] * 40)
    problem = _diff_in_means_problem(np.arange(43.0), treated)
    with pytest.raises(ConfigError, match=r"rng=numpy\.random\.default_rng"):
        method.infer(problem, InferenceSettings(reps=99, enumerate_max=10))


# ---------------------------------------------------------------- exact test inversion
def _bisection_reference(
    a: np.ndarray, c: np.ndarray, beta: float, s: float, alpha: float, exact: bool
) -> tuple[float, float]:
    """The previous inversion (kept here as the reference): a scan outwards from beta / s with
    doubling steps, then bisection of p(tau) on each side to 1e-9 (1 + |beta / s|)."""

    def accepted(tau: float) -> bool:
        null = np.abs(a - tau * c)
        obs = abs(beta - tau * s)
        hits = int(np.sum(null >= obs - 1e-12 * (1.0 + obs)))
        p = hits / a.size if exact else (1.0 + hits) / (a.size + 1.0)
        return p > alpha

    scale = float(np.std(a - beta * c)) or (abs(beta) + 1.0)
    centre = beta / s
    ends = []
    for direction in (-1.0, 1.0):
        step, inside, outside = scale, centre, None
        for _ in range(60):
            tau = centre + direction * step
            if accepted(tau):
                inside, step = tau, step * 2.0
            else:
                outside = tau
                break
        if outside is None:
            ends.append(direction * np.inf)
            continue
        lo, hi = inside, outside
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if accepted(mid):
                lo = mid
            else:
                hi = mid
            if abs(hi - lo) <= 1e-9 * (1.0 + abs(centre)):
                break
        ends.append(lo)
    return min(ends), max(ends)


def _random_problem(
    rng: np.random.Generator, spread: float
) -> tuple[np.ndarray, np.ndarray, float, float, float, bool]:
    reps = int(rng.integers(5, 2500))
    s = float(rng.choice([1.0, 0.5, 2.0, -1.0]))
    c = rng.normal(0.0, spread, reps)
    a = rng.normal(0.0, 1.0, reps) + rng.normal() * c
    return (
        a,
        c,
        float(rng.normal(0.0, 2.0)),
        s,
        float(rng.choice([0.05, 0.1, 0.2])),
        bool(rng.integers(0, 2)),
    )


def _tolerance(beta: float, s: float, *ends: float) -> float:
    # the reference stops bisecting at 1e-9 (1 + |beta / s|); the 1e-12 tie tolerance of the
    # p-value moves a breakpoint by at most about 1e-12 |tau| / |c_b -+ s|
    finite = [abs(e) for e in ends if np.isfinite(e)]
    return 1e-7 * (1.0 + abs(beta / s) + max(finite, default=0.0))


def test_exact_inversion_equals_bisection_when_the_set_is_an_interval():
    # with every |c_b| < |s| each draw is extreme on an interval around beta / s, so the
    # confidence set is an interval and the scan-and-bisection reference finds its ends
    from evaluation.inference.randomization import _confidence_set

    rng = np.random.default_rng(12)
    for _ in range(300):
        a, c, beta, s, alpha, exact = _random_problem(rng, 0.3)
        c = np.clip(c, -0.99 * abs(s), 0.99 * abs(s))
        ref = _bisection_reference(a, c, beta, s, alpha, exact)
        lo, hi, gaps = _confidence_set(a, c, beta, s, alpha, exact)
        assert not gaps
        tol = _tolerance(beta, s, *ref)
        assert lo == pytest.approx(ref[0], abs=tol)
        assert hi == pytest.approx(ref[1], abs=tol)


def test_exact_inversion_contains_the_bisection_interval_in_general():
    # when some |c_b| > |s| the set may have gaps; the reference then stops at one crossing,
    # the exact inversion reports the hull, which contains it (and every accepted tau)
    from evaluation.inference.randomization import _confidence_set

    rng = np.random.default_rng(13)
    n_gaps = 0
    for _ in range(300):
        a, c, beta, s, alpha, exact = _random_problem(rng, float(rng.choice([1.0, 2.0])))
        ref = _bisection_reference(a, c, beta, s, alpha, exact)
        lo, hi, gaps = _confidence_set(a, c, beta, s, alpha, exact)
        n_gaps += gaps
        tol = _tolerance(beta, s, *ref, lo, hi)
        assert lo <= ref[0] + tol
        assert hi >= ref[1] - tol
    assert n_gaps > 10  # the general case was exercised


def test_step_function_equals_pvalues_away_from_breakpoints():
    from evaluation.inference.randomization import _pvalues, _step_function

    rng = np.random.default_rng(14)
    for _ in range(50):
        a, c, beta, s, _, exact = _random_problem(rng, float(rng.choice([0.3, 2.0])))
        positions, hits = _step_function(a, c, beta, s)
        gaps = np.diff(positions)
        pick = np.flatnonzero(gaps > 1e-6 * (1 + np.abs(positions[:-1])))
        taus = 0.5 * (positions[pick] + positions[pick + 1])
        taus = np.concatenate([taus, [positions[0] - 1.0 - abs(positions[0])]])
        expected = np.concatenate([hits[pick + 1], [hits[0]]])
        p = _pvalues(a, c, beta, s, taus, exact)
        brute = expected / a.size if exact else (1.0 + expected) / (a.size + 1.0)
        np.testing.assert_array_equal(p, brute)


def test_gappy_set_reports_its_hull_and_flags_it():
    from evaluation.inference.randomization import _confidence_set, _pvalues

    # draws with |c_b| > s are extreme far out on both sides; with enough of them the set
    # {p > alpha} is unbounded although tau between the pieces is rejected
    a = np.array([0.0, 0.1, -0.1, 0.2, -0.2, 0.0, 0.0, 0.0, 0.0, 0.0])
    c = np.array([3.0, 3.0, -3.0, 2.5, -2.5, 0.0, 0.0, 0.0, 0.0, 0.0])
    beta, s, alpha = 1.0, 1.0, 0.3
    lo, hi, gaps = _confidence_set(a, c, beta, s, alpha, True)
    assert (lo, hi, gaps) == (-np.inf, np.inf, True)
    taus = np.linspace(-10, 10, 2001)
    p = _pvalues(a, c, beta, s, taus, True)
    assert p.max() > alpha >= p.min()  # rejected values inside the hull: a gap
    assert _pvalues(a, c, beta, s, np.array([-1e6, 1e6]), True).min() > alpha


def test_interval_in_outcome_and_flag_from_randomization_test():
    from evaluation.inference.randomization import enumerate_assignments

    rng = np.random.default_rng(21)
    n = 12
    treated = np.zeros(n, dtype=bool)
    treated[:3] = True
    y = rng.normal(size=n) + 1.0 * treated
    problem = _diff_in_means_problem(y, treated)
    out = randomization_test(problem, InferenceSettings(level=0.9))
    draws = enumerate_assignments(problem.cohorts)
    a = problem.statistic(y, draws)[:, 0]
    c = problem.statistic(treated.astype(float), draws)[:, 0]
    obs = float(y[treated].mean() - y[~treated].mean())
    ref = _bisection_reference(a, c, obs, 1.0, 1.0 - 0.9, True)  # alpha as randomization_test
    assert out.info["ri_ci_gaps"] == [False]
    assert out.ci_low[0] == pytest.approx(ref[0], abs=_tolerance(obs, 1.0, *ref))
    assert out.ci_high[0] == pytest.approx(ref[1], abs=_tolerance(obs, 1.0, *ref))


def test_placebo_statistic_set_is_all_or_nothing():
    from evaluation.inference.randomization import _confidence_set

    rng = np.random.default_rng(3)
    a = rng.normal(size=500)
    c = np.zeros(500)
    assert _confidence_set(a, c, 0.01, 0.0, 0.05, False)[:2] == (-np.inf, np.inf)
    lo, hi, _ = _confidence_set(a, c, 50.0, 0.0, 0.05, False)
    assert np.isnan(lo) and np.isnan(hi)


def test_cohort_codes_and_unit_sum_equal_loops():
    from evaluation.inference.randomization import cohort_codes, unit_sum

    rng = np.random.default_rng(4)
    cohorts = np.array([3.0, 3.0, 5.0, 7.0] + [np.inf] * 6)
    draws = draw_assignments(cohorts, 300, rng)
    odd = rng.choice([1.5, 3.0, 99.0, np.inf], size=(7, len(cohorts)))  # values not observed
    many = rng.choice(np.arange(1.0, 11.0), size=(9, len(cohorts)))  # gathered, not one-hot
    table = rng.normal(size=(len(cohorts), 12, 3))
    for block in (draws, odd, np.vstack([draws, odd]), many):
        values, codes = cohort_codes(block)
        np.testing.assert_array_equal(values[codes], block)
        assert np.all(np.diff(values) > 0)
        out = unit_sum(table[:, : len(values)], codes)
        brute = np.array(
            [sum(table[i, codes[b, i]] for i in range(len(cohorts))) for b in range(len(block))]
        )
        np.testing.assert_allclose(out, brute, atol=1e-12)
