"""Cluster-robust inference: CR1 (sandwich) and CR3 (leave-one-cluster-out jackknife).

Conventions
-----------
* **CR1** ``V = c (X'X)^-1 (sum_g s_g s_g') (X'X)^-1`` with cluster scores ``s_g = X_g' e_g`` and
  ``c = G/(G-1) * (n-1)/(n-k)``. ``k`` counts the columns of ``X`` plus, when
  ``absorbed_nested`` is false, ``df_absorbed``. Fixed effects nested in the clusters (unit effects
  with clustering by unit) are not counted, except one parameter for the intercept they absorb:
  Stata's ``xtreg, fe vce(cluster)`` (which reports ``_cons``), fixest's default
  (``fixef.K = "nested"``) and pyfixest's (``k_fixef = "nonnested"``) all count it. For the TWFE
  of ``y`` on ``D`` with T periods, ``k = 1 + (T - 1) + 1``.
* **CR3** ``V = (G-1)/G * sum_g (b_(g) - b_bar)(b_(g) - b_bar)'`` with ``b_(g)`` the estimate
  leaving cluster ``g`` out and ``b_bar`` their mean (the jackknife of MacKinnon, Nielsen and
  Webb 2023, "CV3J"; Stata ``vce(jackknife)``). For a :class:`LinearProblem` the leave-one-out
  estimates use the closed form ``b_(g) = (X'X - X_g'X_g)^-1 (X'y - X_g'y_g)`` (no refits); for a
  :class:`RefitProblem` the estimator refits.
* Both use the **t distribution with G-1 degrees of freedom** for p-values and intervals
  (Stata and fixest's default for clustered errors; Bester, Conley and Hansen 2011).

For an :class:`InfluenceProblem`, ``"cr1"`` delegates to the analytic influence-function
standard errors of :func:`evaluation.inference.multiplier.analytic_from_influence`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from evaluation.errors import EstimationError
from evaluation.inference._dist import t_ppf, t_sf
from evaluation.inference.base import (
    InferenceOutcome,
    InferenceSettings,
    InfluenceProblem,
    LinearProblem,
    Problem,
    RefitProblem,
    register,
)

__all__ = [
    "CR1",
    "CR3",
    "cr1_factor",
    "cr1_vcov",
    "cr3_vcov",
    "is_singular",
    "jackknife_estimates",
    "ols_fit",
    "t_inference",
]


def is_singular(xtx: np.ndarray, tol: float = 1e-11) -> bool:
    """Whether a cross-product matrix ``X'X`` is numerically singular (Cholesky pivots)."""
    if xtx.shape[0] == 0:
        return False
    scale = np.sqrt(np.maximum(np.diag(xtx), 1e-300))
    try:
        chol = np.linalg.cholesky(xtx / np.outer(scale, scale))
    except np.linalg.LinAlgError:
        return True
    return bool(np.min(np.diag(chol)) ** 2 < tol)


def ols_fit(
    problem: LinearProblem, gram: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(beta, (X'X)^-1, residuals)`` of the problem's regression.

    ``gram`` is ``X'X`` when the caller has it more cheaply (e.g. from sparse regressors).

    Raises
    ------
    EstimationError
        If ``X'X`` is singular.
    """
    X = np.asarray(problem.X, dtype=float)
    y = np.asarray(problem.y, dtype=float)
    xtx = X.T @ X if gram is None else np.asarray(gram, dtype=float)
    if is_singular(xtx):
        raise EstimationError("the regression is singular (collinear regressors)")
    bread = np.linalg.inv(xtx)
    beta = bread @ (X.T @ y)
    return beta, bread, y - X @ beta


def cr1_factor(problem: LinearProblem) -> float:
    """Return the CR1 small-sample factor ``G/(G-1) * (n-1)/(n-k)`` (see module notes)."""
    n, k = problem.X.shape
    k += problem.df_extra
    if not problem.absorbed_nested:
        k += problem.df_absorbed
    elif problem.df_absorbed > 0:
        k += 1  # the intercept absorbed by the nested effects (Stata, fixest)
    g = len(np.unique(problem.clusters))
    if g < 2 or n <= k:
        raise EstimationError(f"CR1 needs at least 2 clusters and n > k (G={g}, n={n}, k={k})")
    return g / (g - 1) * (n - 1) / (n - k)


def _cluster_sums(values: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Sum rows of ``values`` (n, m) within clusters: returns (G, m) in sorted cluster order."""
    _, codes = np.unique(clusters, return_inverse=True)
    values = np.asarray(values, dtype=float)
    g = int(codes.max()) + 1
    if len(codes) and bool(np.all(codes[1:] >= codes[:-1])):  # rows grouped by cluster
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        return np.add.reduceat(values, starts, axis=0)
    out = np.empty((g, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(codes, weights=values[:, j], minlength=g)
    return out


def cr1_vcov(
    problem: LinearProblem, gram: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(beta, V)``: all coefficients and their CR1 covariance matrix (k x k).

    ``gram``: ``X'X`` if already known (see :func:`ols_fit`).
    """
    beta, bread, resid = ols_fit(problem, gram)
    scores = _cluster_sums(np.asarray(problem.X) * resid[:, None], problem.clusters)
    vcov = cr1_factor(problem) * bread @ (scores.T @ scores) @ bread
    return beta, vcov


def jackknife_estimates(problem: LinearProblem) -> np.ndarray:
    """Return the leave-one-cluster-out coefficients, shape (G, k), by the closed form.

    Raises
    ------
    EstimationError
        If leaving some cluster out makes the regression singular (e.g. it is the only
        treated unit): the jackknife is then undefined.
    """
    X = np.asarray(problem.X, dtype=float)
    y = np.asarray(problem.y, dtype=float)
    uniq, codes = np.unique(problem.clusters, return_inverse=True)
    xtx = X.T @ X
    xty = X.T @ y
    k = X.shape[1]
    out = np.empty((len(uniq), k))
    for g in range(len(uniq)):
        rows = codes == g
        xg = X[rows]
        m = xtx - xg.T @ xg
        if is_singular(m):
            raise EstimationError(
                f"CR3: leaving cluster {uniq[g]} out makes the regression singular "
                "(it carries all the variation in a regressor, e.g. the only treated unit "
                "or the only unit of a cohort); use 'cr1', 'wild' or 'ri'"
            )
        out[g] = np.linalg.solve(m, xty - xg.T @ y[rows])
    return out


def cr3_vcov(jackknife: np.ndarray) -> np.ndarray:
    """Return ``(G-1)/G * sum_g (b_(g) - b_bar)(b_(g) - b_bar)'`` from (G, k) estimates."""
    jk = np.asarray(jackknife, dtype=float)
    g = jk.shape[0]
    dev = jk - jk.mean(axis=0)
    return (g - 1) / g * dev.T @ dev


def t_inference(
    estimates: np.ndarray, se: np.ndarray, df: int, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(ci_low, ci_high, p_value)`` from the t distribution with ``df`` degrees."""
    est = np.asarray(estimates, dtype=float)
    se = np.asarray(se, dtype=float)
    q = t_ppf(0.5 + level / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * t_sf(np.abs(est / se), df)
    return est - q * se, est + q * se, p


@register
class CR1:
    """Cluster-robust CR1 standard errors with t(G-1) intervals (see module notes)."""

    name: ClassVar[str] = "cr1"
    accepts: ClassVar[tuple[type, ...]] = (LinearProblem, InfluenceProblem)

    def infer(self, problem: Problem, settings: InferenceSettings) -> InferenceOutcome:
        """Return CR1 standard errors, t(G-1) intervals and p-values for the targets."""
        if isinstance(problem, InfluenceProblem):
            from evaluation.inference.multiplier import analytic_from_influence

            return analytic_from_influence(problem, settings)
        if not isinstance(problem, LinearProblem):
            raise TypeError(f"cr1 cannot solve {type(problem).__name__}")
        beta, vcov = cr1_vcov(problem)
        t = list(problem.targets)
        se = np.sqrt(np.diag(vcov)[t])
        g = len(np.unique(problem.clusters))
        lo, hi, p = t_inference(beta[t], se, g - 1, settings.level)
        return InferenceOutcome(
            method=self.name,
            se=se,
            ci_low=lo,
            ci_high=hi,
            p_value=p,
            info={"df": g - 1, "n_clusters": g, "ssc": cr1_factor(problem)},
        )


@register
class CR3:
    """Leave-one-cluster-out jackknife (CR3) standard errors with t(G-1) intervals."""

    name: ClassVar[str] = "cr3"
    accepts: ClassVar[tuple[type, ...]] = (LinearProblem, RefitProblem)

    def infer(self, problem: Problem, settings: InferenceSettings) -> InferenceOutcome:
        """Return CR3 standard errors, t(G-1) intervals and p-values for the targets."""
        if isinstance(problem, LinearProblem):
            beta, _, _ = ols_fit(problem)
            t = list(problem.targets)
            jack = jackknife_estimates(problem)[:, t]
            est = beta[t]
        elif isinstance(problem, RefitProblem):
            units = np.asarray(problem.units)
            rows = [
                np.asarray(problem.refit(np.delete(units, i)), dtype=float)
                for i in range(len(units))
            ]
            jack = np.vstack(rows)
            est = np.asarray(problem.estimates, dtype=float)
        else:
            raise TypeError(f"cr3 cannot solve {type(problem).__name__}")
        g = jack.shape[0]
        if g < 2:
            raise EstimationError("CR3 needs at least 2 clusters")
        se = np.sqrt(np.diag(cr3_vcov(jack)))
        lo, hi, p = t_inference(est, se, g - 1, settings.level)
        return InferenceOutcome(
            method=self.name,
            se=se,
            ci_low=lo,
            ci_high=hi,
            p_value=p,
            info={"df": g - 1, "n_clusters": g, "jackknife": jack},
        )
