"""Wild cluster restricted bootstrap (WCR) with the fast algorithm of Roodman et al. (2019).

The bootstrap tests ``H0: beta_j = beta0`` for one coefficient of a :class:`LinearProblem`
(MacKinnon and Webb 2017, 2018; Cameron, Gelbach and Miller 2008). The null is imposed: the
bootstrap outcome is ``y* = X_r b_r + u_r * v_g`` with the restricted fit and residuals, and
``v_g`` a weight per cluster (Rademacher, Webb's six-point, Mammen's two-point or standard
normal). Each replicate's statistic is ``t* = (b*_j - beta0) / se*_CR1``.

The fast algorithm
------------------
With ``A = (X'X)^-1``, ``a = A[j]``, restricted residuals ``u`` and cluster scores
``s_g = X_g'u_g``, every replicate is linear in the weight vector ``v``:

* numerator ``b*_j - beta0 = d'v`` with ``d_g = a's_g``;
* cluster ``g``'s bootstrap score for coefficient ``j`` is ``z_g = d_g v_g - sum_h K_gh v_h``
  with ``K_gh = a'X_g'X_g A s_h``, so ``z = (diag(d) - K) v``.

So one ``B x G`` weight matrix times a few ``G x G`` matrices gives all B statistics; the cost
per replicate depends on G, not on n (Roodman, MacKinnon, Nielsen and Webb 2019, "Fast and wild:
bootstrap inference in Stata using boottest"). The restricted residuals are linear in
``beta0`` (``u = u_y - beta0 u_x``), hence so are ``d`` and ``K``: after one pass the statistic
is a ratio of a linear and the square root of a quadratic function of ``beta0`` for every
replicate, and the test-inversion confidence interval (the set of ``beta0`` not rejected at
``1 - level``) is found by root finding with the same weight draws for every ``beta0``.

Conventions
-----------
* p-value: symmetric (two-sided), ``mean(|t*| >= |t|)`` (boottest's and wildboottest's default
  statistic; replicates tied with the observed statistic, such as ``v = 1`` and ``v = -1`` under
  full enumeration, count as at least as extreme, so exact enumeration p-values are valid).
* Full enumeration: with Rademacher weights and ``2**G <= settings.enumerate_max`` all ``2**G``
  sign vectors are used (``reps`` is then ignored) and the p-value is exact and reproducible.
* The reported ``se`` is the CR1 standard error (the bootstrap gives p-values and intervals, not
  a standard error); the CR1 factor cancels in the bootstrap p-value.
* The bootstrap works on the problem as posed: unit effects (nested in clusters) partialled out
  and time effects as regressors, which is the bootstrap of the full two-way model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from evaluation.errors import ConfigError, EstimationError
from evaluation.inference.base import (
    InferenceOutcome,
    InferenceSettings,
    LinearProblem,
    Problem,
    register,
)
from evaluation.inference.cluster import cr1_factor, cr1_vcov

__all__ = [
    "WildBootstrap",
    "WildTest",
    "draw_wild_weights",
    "wild_test",
    "wild_wald_test",
]

_CHUNK = 4096


def draw_wild_weights(
    kind: str, n_clusters: int, reps: int, rng: np.random.Generator | None, enumerate_max: int
) -> tuple[np.ndarray, bool]:
    """Return a ``(B, G)`` matrix of bootstrap weights and whether it is a full enumeration.

    Rademacher weights are enumerated (all ``2**G`` sign vectors) when ``2**G <= enumerate_max``;
    otherwise ``reps`` rows are drawn from ``rng``.

    Examples
    --------
    >>> v, full = draw_wild_weights("rademacher", 3, 999, None, 100)
    >>> v.shape, full
    ((8, 3), True)
    """
    g = n_clusters
    if kind == "rademacher" and 2.0**g <= enumerate_max:
        codes = np.arange(2**g)[:, None] >> np.arange(g)[None, :] & 1
        return 1.0 - 2.0 * codes, True
    if rng is None:
        raise ConfigError("the wild bootstrap resamples: pass rng=numpy.random.default_rng(seed)")
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(reps, g)), False
    if kind == "webb":
        pts = np.sqrt(np.array([3.0, 2.0, 1.0]) / 2)
        return rng.choice(np.concatenate([-pts, pts[::-1]]), size=(reps, g)), False
    if kind == "mammen":
        s5 = np.sqrt(5.0)
        vals = np.array([-(s5 - 1) / 2, (s5 + 1) / 2])
        probs = np.array([(s5 + 1) / (2 * s5), (s5 - 1) / (2 * s5)])
        return rng.choice(vals, size=(reps, g), p=probs), False
    if kind == "normal":
        return rng.standard_normal((reps, g)), False
    raise ConfigError(
        f"weights must be one of 'rademacher', 'webb', 'mammen', 'normal'; got {kind!r}"
    )


def _cluster_codes(clusters: np.ndarray) -> tuple[np.ndarray, int]:
    _, codes = np.unique(clusters, return_inverse=True)
    return codes, int(codes.max()) + 1


def _csum(values: np.ndarray, codes: np.ndarray, g: int) -> np.ndarray:
    indicator = np.zeros((g, len(codes)))
    indicator[codes, np.arange(len(codes))] = 1.0
    return indicator @ values


@dataclass(frozen=True)
class WildTest:
    """Precomputed pieces of a WCR test of one coefficient; evaluates p(beta0) in O(B).

    Build with :func:`wild_test`. ``t_boot(beta0)`` gives the B bootstrap statistics,
    ``p_value(beta0)`` the symmetric p-value and ``confint(level)`` the test-inversion interval.
    """

    estimate: float
    se: float
    ssc: float
    n_y: np.ndarray
    n_x: np.ndarray
    q_yy: np.ndarray
    q_xy: np.ndarray
    q_xx: np.ndarray
    reps: int
    enumerated: bool

    def t_stat(self, beta0: float) -> float:
        """Observed t-statistic ``(b_j - beta0) / se_CR1``."""
        return (self.estimate - beta0) / self.se

    def t_boot(self, beta0: float) -> np.ndarray:
        """Bootstrap t-statistics under ``H0: beta_j = beta0`` (length B)."""
        num = self.n_y - beta0 * self.n_x
        var = self.ssc * (self.q_yy - 2 * beta0 * self.q_xy + beta0**2 * self.q_xx)
        with np.errstate(divide="ignore", invalid="ignore"):
            return num / np.sqrt(np.maximum(var, 0.0))

    def p_value(self, beta0: float = 0.0) -> float:
        """Symmetric bootstrap p-value of ``H0: beta_j = beta0``."""
        t = abs(self.t_stat(beta0))
        tb = np.abs(self.t_boot(beta0))
        return float(np.mean(tb >= t * (1 - 1e-12)))

    def confint(self, level: float) -> tuple[float, float]:
        """Test-inversion interval: the ``beta0`` with ``p(beta0) > 1 - level``."""
        alpha = 1 - level
        return self._endpoint(alpha, -1.0), self._endpoint(alpha, 1.0)

    def _endpoint(self, alpha: float, direction: float) -> float:
        inner = self.estimate
        step = self.se if self.se > 0 else max(abs(self.estimate), 1.0)
        outer = inner + direction * step
        for _ in range(60):
            if self.p_value(outer) <= alpha:
                break
            inner, step = outer, step * 2
            outer = inner + direction * step
        else:
            return float(direction * np.inf)
        scale = max(abs(inner), abs(outer), self.se, 1e-300)
        for _ in range(200):
            mid = 0.5 * (inner + outer)
            if self.p_value(mid) > alpha:
                inner = mid
            else:
                outer = mid
            if abs(outer - inner) <= 1e-12 * scale:
                break
        return 0.5 * (inner + outer)


def wild_test(
    problem: LinearProblem,
    target: int,
    *,
    weights: np.ndarray,
    enumerated: bool = False,
) -> WildTest:
    """Precompute the WCR pieces for coefficient ``target`` (a column of ``problem.X``).

    Parameters
    ----------
    problem
        The regression (clusters define the bootstrap clusters).
    target
        Column index of the tested coefficient.
    weights
        ``(B, G)`` bootstrap weights (from :func:`draw_wild_weights`), columns in sorted
        cluster order; reuse them for every ``beta0`` and every target.
    enumerated
        Whether ``weights`` is a full enumeration (recorded only).
    """
    X = np.asarray(problem.X, dtype=float)
    y = np.asarray(problem.y, dtype=float)
    codes, g = _cluster_codes(problem.clusters)
    if weights.shape[1] != g:
        raise ConfigError(f"weights have {weights.shape[1]} columns for {g} clusters")
    beta, vcov = cr1_vcov(problem)
    ssc = cr1_factor(problem)
    xtx_inv = np.linalg.inv(X.T @ X)
    a = xtx_inv[target]
    rest = np.delete(X, target, axis=1)
    xj = X[:, target]
    if rest.shape[1]:
        both = np.column_stack([y, xj])
        resid = both - rest @ np.linalg.solve(rest.T @ rest, rest.T @ both)
    else:
        resid = np.column_stack([y, xj])
    u_y, u_x = resid[:, 0], resid[:, 1]
    s_y = _csum(X * u_y[:, None], codes, g)  # (G, k)
    s_x = _csum(X * u_x[:, None], codes, g)
    w = _csum(X * (X @ a)[:, None], codes, g)  # rows: X_g'X_g a
    d_y, d_x = s_y @ a, s_x @ a
    p_y = -(w @ xtx_inv @ s_y.T)  # (G, G): diag(d) - K
    p_x = -(w @ xtx_inv @ s_x.T)
    p_y[np.diag_indices(g)] += d_y
    p_x[np.diag_indices(g)] += d_x
    n_y = weights @ d_y
    n_x = weights @ d_x
    q_yy = np.empty(len(weights))
    q_xy = np.empty(len(weights))
    q_xx = np.empty(len(weights))
    for start in range(0, len(weights), _CHUNK):
        v = weights[start : start + _CHUNK]
        zy, zx = v @ p_y.T, v @ p_x.T
        sl = slice(start, start + len(v))
        q_yy[sl] = np.einsum("bg,bg->b", zy, zy)
        q_xy[sl] = np.einsum("bg,bg->b", zy, zx)
        q_xx[sl] = np.einsum("bg,bg->b", zx, zx)
    return WildTest(
        estimate=float(beta[target]),
        se=float(np.sqrt(vcov[target, target])),
        ssc=ssc,
        n_y=n_y,
        n_x=n_x,
        q_yy=q_yy,
        q_xy=q_xy,
        q_xx=q_xx,
        reps=len(weights),
        enumerated=enumerated,
    )


def wild_wald_test(
    problem: LinearProblem, targets: list[int], *, weights: np.ndarray
) -> dict[str, float]:
    """Joint WCR Wald test of ``H0: beta_T = 0`` for several coefficients.

    The null (all ``targets`` zero) is imposed; each replicate's Wald statistic
    ``W* = b*_T' V*^-1 b*_T`` uses the replicate's own CR1 covariance, computed from the same
    linear-in-``v`` cluster scores as :func:`wild_test`.

    Returns
    -------
    dict
        ``statistic`` (observed Wald with the CR1 covariance), ``df`` (number of restrictions),
        ``p_value`` (share of ``W* >= W``) and ``reps``.
    """
    X = np.asarray(problem.X, dtype=float)
    y = np.asarray(problem.y, dtype=float)
    codes, g = _cluster_codes(problem.clusters)
    t = list(targets)
    q = len(t)
    beta, vcov = cr1_vcov(problem)
    ssc = cr1_factor(problem)
    v_t = vcov[np.ix_(t, t)]
    observed = float(beta[t] @ np.linalg.solve(v_t, beta[t]))
    xtx_inv = np.linalg.inv(X.T @ X)
    rest = np.delete(X, t, axis=1)
    u = y - rest @ np.linalg.solve(rest.T @ rest, rest.T @ y) if rest.shape[1] else y
    s = _csum(X * u[:, None], codes, g)  # (G, k)
    a_t = xtx_inv[t]  # (q, k)
    qmat = s @ a_t.T  # (G, q): d_g
    a_s = xtx_inv @ s.T  # (k, G)
    lmat = np.empty((g, q, g))
    for c in range(g):
        xg = X[codes == c]
        lmat[c] = (a_t @ (xg.T @ xg)) @ a_s
    stats_b = np.empty(len(weights))
    for start in range(0, len(weights), 1024):
        v = weights[start : start + 1024]
        delta = v @ qmat  # (b, q)
        z = v[:, :, None] * qmat[None, :, :] - np.einsum("gqh,bh->bgq", lmat, v)
        vb = ssc * np.einsum("bgq,bgr->bqr", z, z)
        sol = np.linalg.solve(vb, delta[:, :, None])[:, :, 0]
        stats_b[start : start + len(v)] = np.einsum("bq,bq->b", delta, sol)
    p = float(np.mean(stats_b >= observed * (1 - 1e-12)))
    return {"statistic": observed, "df": q, "p_value": p, "reps": len(weights)}


@register
class WildBootstrap:
    """Wild cluster restricted bootstrap (registered as ``"wild"``); see the module notes."""

    name: ClassVar[str] = "wild"
    accepts: ClassVar[tuple[type, ...]] = (LinearProblem,)

    def infer(self, problem: Problem, settings: InferenceSettings) -> InferenceOutcome:
        """Return CR1 standard errors with bootstrap p-values and test-inversion intervals."""
        if not isinstance(problem, LinearProblem):
            raise TypeError(f"wild cannot solve {type(problem).__name__}")
        _, g = _cluster_codes(problem.clusters)
        if g < 2:
            raise EstimationError("the wild cluster bootstrap needs at least 2 clusters")
        weights, enumerated = draw_wild_weights(
            settings.weights, g, settings.reps, settings.rng, settings.enumerate_max
        )
        se, lo, hi, p = [], [], [], []
        for j in problem.targets:
            test = wild_test(problem, j, weights=weights, enumerated=enumerated)
            ci = test.confint(settings.level)
            se.append(test.se)
            lo.append(ci[0])
            hi.append(ci[1])
            p.append(test.p_value(0.0))
        return InferenceOutcome(
            method=self.name,
            se=np.array(se),
            ci_low=np.array(lo),
            ci_high=np.array(hi),
            p_value=np.array(p),
            info={
                "reps": len(weights),
                "enumerated": enumerated,
                "weights": settings.weights,
                "n_clusters": g,
                "se": "CR1 (bootstrap gives p-values and intervals only)",
            },
        )
