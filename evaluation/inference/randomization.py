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
few enough to enumerate. The confidence set is ``{tau : p(tau) > 1 - level}``. Each draw's
condition ``|a_b - tau c_b| >= |beta - tau s|`` is a quadratic inequality in ``tau`` that changes
at most at the two points ``(a_b - beta) / (c_b - s)`` and ``(a_b + beta) / (c_b + s)``, so
``p(tau)`` is a step function whose breakpoints are all computed in one vectorised pass; sorting
them gives the number of extreme draws on every piece, and the interval endpoints are breakpoints,
exactly (no bisection). Every draw is extreme at ``tau = beta / s``; when all ``|c_b| < |s|`` the
set is an interval around that point, otherwise it can have gaps and the reported interval is its
hull (``info["ri_ci_gaps"]`` says, per target, whether it had any).
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
    "cohort_codes",
    "count_assignments",
    "draw_assignments",
    "enumerate_assignments",
    "randomization_test",
    "unit_sum",
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


#: Up to this many cohort values :func:`unit_sum` multiplies by a one-hot matrix; beyond, gathers.
_ONEHOT_MAX_VALUES = 6


def cohort_codes(cohorts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct values of a (B, N) cohort array and the code of every entry.

    Reassignments are permutations, so the few values of the first row usually cover all of
    them: entries are coded by comparison with those first, and everything is sorted only when
    they do not.

    Examples
    --------
    >>> values, codes = cohort_codes(np.array([[3.0, np.inf, 5.0], [np.inf, 5.0, 3.0]]))
    >>> values.tolist(), codes.tolist()
    ([3.0, 5.0, inf], [[0, 2, 1], [2, 1, 0]])
    """
    c = np.atleast_2d(np.asarray(cohorts, dtype=float))
    values = np.unique(c[0])
    if len(values) <= 32:
        codes = np.zeros(c.shape, dtype=np.int64)
        for v in values[:-1]:
            codes += c > v
    else:
        codes = np.minimum(np.searchsorted(values, c), len(values) - 1)
    if not np.array_equal(values[codes], c):
        values, inverse = np.unique(c, return_inverse=True)
        codes = inverse.reshape(c.shape)
    return values, codes


def unit_sum(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Sum per-unit pieces chosen by each assignment: ``out[b] = sum_i table[i, codes[b, i]]``.

    For statistics that add up over units a piece depending only on the unit and the cohort it
    is given (the TWFE and Callaway-Sant'Anna numerators are such sums), this evaluates B
    assignments as one ``B x (N V)`` one-hot matrix times the ``(N V) x k`` table (a matrix
    product), or, with more than a few cohort values V, by gathering and adding the rows; in
    chunks of bounded memory.

    Parameters
    ----------
    table
        Shape (N, V, k): unit ``i``'s piece when given cohort value ``v``.
    codes
        Shape (B, N): the cohort-value code of every unit in every assignment.

    Returns
    -------
    numpy.ndarray
        Shape (B, k).

    Examples
    --------
    >>> table = np.arange(12.0).reshape(3, 2, 2)  # 3 units, 2 cohort values, 2 statistics
    >>> unit_sum(table, np.array([[0, 1, 0], [1, 1, 1]])).tolist()
    [[14.0, 17.0], [18.0, 21.0]]
    """
    n_u, n_v, k = table.shape
    flat = table.reshape(n_u * n_v, k)
    rows = np.asarray(codes, dtype=np.int64) + (np.arange(n_u) * n_v)[None, :]
    out = np.empty((len(rows), k))
    if n_v > _ONEHOT_MAX_VALUES:  # many cohort values: gather the rows and add them up
        step = max(1, int(4_000_000 // max(n_u * k, 1)))
        for start in range(0, len(rows), step):
            out[start : start + step] = flat[rows[start : start + step]].sum(axis=1)
        return out
    step = max(1, int(4_000_000 // max(n_u * n_v, 1)))
    for start in range(0, len(rows), step):
        block = rows[start : start + step]
        onehot = np.zeros((len(block), n_u * n_v))
        np.put_along_axis(onehot, block, 1.0, axis=1)
        out[start : start + len(block)] = onehot @ flat
    return out


def _extreme(
    a: np.ndarray, c: np.ndarray, beta: float, s: float, tau: np.ndarray | float
) -> np.ndarray:
    """Whether each draw's ``|a_b - tau c_b|`` reaches the observed ``|beta - tau s|``.

    ``tau`` broadcasts against ``a`` and ``c``. A tolerance lets the observed assignment count
    itself under enumeration despite rounding.
    """
    null = np.abs(a - tau * c)
    obs = np.abs(beta - tau * s)
    return null >= obs - 1e-12 * (1.0 + obs)


def _pvalue_of_hits(hits: np.ndarray | int, reps: int, exact: bool) -> np.ndarray:
    """Return p from the number of draws at least as extreme as the observed statistic."""
    h = np.asarray(hits, dtype=float)
    return h / reps if exact else (1.0 + h) / (reps + 1.0)


def _pvalues(
    a: np.ndarray, c: np.ndarray, beta: float, s: float, tau: np.ndarray, exact: bool
) -> np.ndarray:
    """p(tau) for a vector of tau values (one statistic)."""
    hits = _extreme(a[None, :], c[None, :], beta, s, tau[:, None]).sum(axis=1)
    return _pvalue_of_hits(hits, a.size, exact)


def _step_function(
    a: np.ndarray, c: np.ndarray, beta: float, s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Count the extreme draws as a step function of ``tau``, in one vectorised pass.

    Draw ``b`` is extreme where ``|a_b - tau c_b| >= |beta - tau s|``, a quadratic inequality in
    ``tau`` whose boundary is at most the two points where ``a_b - tau c_b = +-(beta - tau s)``:
    ``(a_b - beta) / (c_b - s)`` and ``(a_b + beta) / (c_b + s)``. Between and beyond those two
    points the draw's status is constant; it is read off :func:`_extreme` at one point inside
    each of the three pieces (so ties and the tolerance are treated exactly as in the p-value).

    Returns
    -------
    positions, hits
        Sorted breakpoints (length m) and the number of extreme draws on each of the ``m + 1``
        open pieces ``(-inf, pos[0]), (pos[0], pos[1]), ..., (pos[m-1], inf)``.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        roots = np.stack([(a - beta) / (c - s), (a + beta) / (c + s)])
    roots[~np.isfinite(roots) | (np.abs(roots) > 1e250)] = np.nan
    finite = np.isfinite(roots)
    centre = beta / s if s != 0 else 0.0
    # a draw with one boundary point gets it twice; one with none, the centre twice
    lo = np.where(finite.any(axis=0), np.nanmin(np.where(finite, roots, np.inf), axis=0), centre)
    hi = np.where(finite.any(axis=0), np.nanmax(np.where(finite, roots, -np.inf), axis=0), centre)
    width = (hi - lo) + 1.0 + np.abs(lo) + np.abs(hi)
    with np.errstate(over="ignore", invalid="ignore"):
        left = _extreme(a, c, beta, s, lo - width)
        mid = _extreme(a, c, beta, s, 0.5 * (lo + hi))
        right = _extreme(a, c, beta, s, hi + width)
    positions = np.concatenate([lo, hi])
    change = np.concatenate([mid.astype(np.int64) - left, right.astype(np.int64) - mid])
    order = np.argsort(positions, kind="stable")
    hits = np.concatenate([[0], np.cumsum(change[order])]) + int(np.count_nonzero(left))
    return positions[order], hits


def _confidence_set(
    a: np.ndarray, c: np.ndarray, beta: float, s: float, alpha: float, exact: bool
) -> tuple[float, float, bool]:
    """Return the test-inversion interval ``{tau: p(tau) > alpha}`` from the step function.

    Returns the smallest and largest accepted ``tau`` (infinite when the set is unbounded,
    ``nan`` when nothing is accepted) and whether the set has gaps between them. Every draw is
    extreme at ``tau = beta / s`` (the observed statistic is zero there), so when every
    ``|c_b| < |s|`` each draw is extreme on an interval around that point and the set is an
    interval; otherwise it can have several pieces, and the interval reported is their hull,
    which contains every accepted value.
    """
    if s == 0:  # a placebo lead: no treatment effect enters, the set is all or nothing
        p0 = _pvalues(a, c, beta, s, np.array([0.0]), exact)[0]
        return (-np.inf, np.inf, False) if p0 > alpha else (np.nan, np.nan, False)
    positions, hits = _step_function(a, c, beta, s)
    lower = np.concatenate([[-np.inf], positions])
    upper = np.concatenate([positions, [np.inf]])
    keep = upper > lower  # pieces of positive length (ties of breakpoints give empty pieces)
    accepted = (_pvalue_of_hits(hits, a.size, exact) > alpha) & keep
    if not accepted.any():
        return (np.nan, np.nan, False)
    idx = np.flatnonzero(accepted)
    first, last = idx[0], idx[-1]
    gaps = bool(np.any(keep[first : last + 1] & ~accepted[first : last + 1]))
    return (float(lower[first]), float(upper[last]), gaps)


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
    gaps = []
    for j in range(k):
        p[j] = _pvalues(a[:, j], c[:, j], observed[j], s_obs[j], np.array([0.0]), exact)[0]
        lo[j], hi[j], gap = _confidence_set(a[:, j], c[:, j], observed[j], s_obs[j], alpha, exact)
        gaps.append(gap)
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
            "ri_ci_gaps": gaps,
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
