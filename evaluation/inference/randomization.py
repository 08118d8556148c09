"""Randomization inference that reassigns pilot status and wave timing across units.

With few treated clusters, cluster-robust and bootstrap inference lose their size; inference by
reassigning treatment across units keeps it (MacKinnon and Webb 2020; Fisher 1935). Here a draw
permutes the vector of unit cohorts: the same number of units go live in each wave, but which units
they are changes, and with them the go-live dates.

The statistic is the estimator itself, evaluated for B assignments at once by the estimator's
vectorised, linear-in-the-outcome ``statistic(y, cohorts)`` (see
:class:`~evaluation.inference.base.PermutationProblem`): no refit per draw.

Test inversion
--------------
Under the sharp null of a constant additive effect ``tau`` the untreated outcome is
``y0 = y - tau * d`` (``d`` the observed treatment indicator). With ``a_b = S_b(y)`` and
``c_b = S_b(d)`` the statistic of ``y0`` under draw ``b`` is ``a_b - tau * c_b``, and the observed
statistic net of the effect is ``beta - tau * s`` with ``s = S_obs(d)`` (1 for post-treatment
effects, 0 for placebo leads: the estimators using this guarantee that ``S_b(D_b) = s`` for every
assignment). The two-sided p-value is::

    p(tau) = (1 + #{b : |a_b - tau c_b| >= |beta - tau s|}) / (B + 1)

for sampled draws, or the share over all distinct assignments (observed included) when they are
few enough to enumerate. The confidence set is ``{tau : p(tau) > 1 - level}``, located by a scan and
bisection on each side of the estimate.
"""

from __future__ import annotations

import itertools
import math
from typing import ClassVar

import numpy as np

from evaluation.errors import ConfigError
from evaluation.inference.base import (
    InferenceOutcome,
    InferenceSettings,
    PermutationProblem,
    register,
)

__all__ = [
    "RandomizationInference",
    "count_assignments",
    "draw_assignments",
    "enumerate_assignments",
    "randomization_test",
]


def count_assignments(cohorts: np.ndarray) -> int:
    """Return the number of distinct reassignments of a cohort vector (multinomial).

    Examples
    --------
    >>> count_assignments(np.array([1.0, 1.0, np.inf, np.inf, np.inf]))
    10
    """
    _, counts = np.unique(cohorts, return_counts=True)
    total = math.factorial(len(cohorts))
    for c in counts:
        total //= math.factorial(int(c))
    return total


def enumerate_assignments(cohorts: np.ndarray) -> np.ndarray:
    """All distinct reassignments of the cohort vector, shape (count, n_units).

    The observed assignment is among them.
    """
    n = len(cohorts)
    values, counts = np.unique(cohorts, return_counts=True)
    # place the rarest values first, by combinations of remaining positions
    order = np.argsort(counts, kind="stable")
    values, counts = values[order], counts[order]
    rows: list[np.ndarray] = []

    def place(free: tuple[int, ...], k: int, current: np.ndarray) -> None:
        if k == len(values) - 1:
            out = current.copy()
            out[list(free)] = values[k]
            rows.append(out)
            return
        for chosen in itertools.combinations(free, int(counts[k])):
            nxt = current.copy()
            nxt[list(chosen)] = values[k]
            rest = tuple(i for i in free if i not in set(chosen))
            place(rest, k + 1, nxt)

    place(tuple(range(n)), 0, np.empty(n, dtype=float))
    return np.vstack(rows)


def draw_assignments(cohorts: np.ndarray, reps: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``reps`` random permutations of the cohort vector, shape (reps, n_units)."""
    idx = rng.permuted(np.tile(np.arange(len(cohorts)), (reps, 1)), axis=1)
    return np.asarray(cohorts, dtype=float)[idx]


def _pvalues(
    a: np.ndarray, c: np.ndarray, beta: float, s: float, tau: np.ndarray, exact: bool
) -> np.ndarray:
    """p(tau) for a vector of tau values (one statistic)."""
    null = np.abs(a[None, :] - tau[:, None] * c[None, :])
    obs = np.abs(beta - tau * s)[:, None]
    # a tolerance so that the observed assignment counts itself under enumeration
    hits = (null >= obs - 1e-12 * (1.0 + np.abs(obs))).sum(axis=1)
    if exact:
        return hits / a.size
    return (1.0 + hits) / (a.size + 1.0)


def _invert(
    a: np.ndarray, c: np.ndarray, beta: float, s: float, alpha: float, exact: bool
) -> tuple[float, float]:
    """Confidence set endpoints {tau: p(tau) > alpha} by scan and bisection."""
    if s == 0:  # a placebo lead: no treatment effect enters, the set is all or nothing
        p0 = _pvalues(a, c, beta, s, np.array([0.0]), exact)[0]
        return (-np.inf, np.inf) if p0 > alpha else (np.nan, np.nan)
    scale = float(np.std(a - beta * c)) or (abs(beta) + 1.0)
    centre = beta / s

    def accepted(t: float) -> bool:
        return bool(_pvalues(a, c, beta, s, np.array([t]), exact)[0] > alpha)

    if not accepted(centre):
        return (np.nan, np.nan)
    ends = []
    for direction in (-1.0, 1.0):
        step = scale
        inside, outside = centre, None
        for _ in range(60):
            t = centre + direction * step
            if accepted(t):
                inside = t
                step *= 2.0
            else:
                outside = t
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
    return (min(ends), max(ends))


def randomization_test(
    problem: PermutationProblem, settings: InferenceSettings
) -> InferenceOutcome:
    """Randomization p-values and test-inversion intervals for a permutation problem.

    All distinct assignments are used when there are at most ``settings.enumerate_max`` of them
    (exact p-values); otherwise ``settings.reps`` random permutations.
    """
    cohorts = np.asarray(problem.cohorts, dtype=float)
    n_distinct = count_assignments(cohorts)
    exact = n_distinct <= settings.enumerate_max
    if exact:
        draws = enumerate_assignments(cohorts)
    else:
        draws = draw_assignments(cohorts, settings.reps, settings.generator())
    y = np.asarray(problem.y, dtype=float)
    d = np.asarray(problem.treated, dtype=float)
    observed = problem.statistic(y, cohorts[None, :])[0]
    s_obs = problem.statistic(d, cohorts[None, :])[0]
    a = _chunked(problem, y, draws)
    c = _chunked(problem, d, draws)
    alpha = 1.0 - settings.level
    k = observed.shape[0]
    p = np.empty(k)
    lo = np.empty(k)
    hi = np.empty(k)
    se = np.empty(k)
    for j in range(k):
        p[j] = _pvalues(a[:, j], c[:, j], observed[j], s_obs[j], np.array([0.0]), exact)[0]
        lo[j], hi[j] = _invert(a[:, j], c[:, j], observed[j], s_obs[j], alpha, exact)
        se[j] = float(np.std(a[:, j] - observed[j] * c[:, j], ddof=1))
    return InferenceOutcome(
        method="ri",
        se=se,
        ci_low=lo,
        ci_high=hi,
        p_value=p,
        info={
            "ri_assignments": int(draws.shape[0]),
            "ri_exact": bool(exact),
            "ri_distinct_assignments": float(n_distinct),
            "se_note": "standard deviation of the randomization distribution",
        },
    )


def _chunked(problem: PermutationProblem, y: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Evaluate the statistic over draws in chunks (bounded memory)."""
    out = []
    n_rows = max(len(y), 1)
    chunk = max(1, min(len(draws), int(2e7 // n_rows)))
    for start in range(0, len(draws), chunk):
        out.append(np.asarray(problem.statistic(y, draws[start : start + chunk]), dtype=float))
    return np.vstack(out)


@register
class RandomizationInference:
    """Randomization inference (``"ri"``): reassign cohorts across units."""

    name: ClassVar[str] = "ri"
    accepts: ClassVar[tuple[type, ...]] = (PermutationProblem,)

    def infer(self, problem: object, settings: InferenceSettings) -> InferenceOutcome:
        """Run the randomization test for every target of the problem."""
        if not isinstance(problem, PermutationProblem):
            raise ConfigError("randomization inference needs a PermutationProblem")
        return randomization_test(problem, settings)
