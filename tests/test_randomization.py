"""Randomization inference machinery, checked against brute force on small designs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

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
    with pytest.raises(Exception, match=r"rng=numpy\.random\.default_rng"):
        method.infer(problem, InferenceSettings(reps=99, enumerate_max=10))
