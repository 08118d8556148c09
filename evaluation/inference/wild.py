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
``1 - level``) is found by root finding with the same weight draws for every ``beta0``: each
evaluation of ``p(beta0)`` is O(B) with no new bootstrap, and once the bracket is narrow only the
draws that change status inside it are re-evaluated.

The regression itself is fitted once per problem (``X'X``, its inverse and the cluster scores) and
shared by every tested coefficient; the restricted fits come from blocks of ``X'X`` and the
cluster-level pieces from per-cluster products ``X_g'[u_y, u_x, X a]``, so the set-up is O(n k)
after ``X'X`` and the bootstrap is a few ``B x G`` by ``G x G`` matrix products.

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
from functools import cached_property
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
from evaluation.inference.cluster import cr1_factor, is_singular

__all__ = [
    "WildBootstrap",
    "WildTest",
    "draw_wild_weights",
    "wild_test",
    "wild_wald_test",
]

_CHUNK = 16_384
#: Bisection steps evaluating every draw before only the flipping draws are re-evaluated.
_NARROW = 8


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


@dataclass(frozen=True)
class _Fit:
    """The unrestricted regression, computed once and shared by every tested coefficient.

    Rows are sorted by cluster (the regression does not depend on row order), so that cluster
    ``g`` is the slice ``bounds[g]:bounds[g + 1]`` and cluster sums are small matrix products.
    """

    X: np.ndarray
    y: np.ndarray
    bounds: np.ndarray  # (G + 1,) row offsets of the clusters
    xtx: np.ndarray
    xtx_inv: np.ndarray
    xty: np.ndarray
    beta: np.ndarray
    scores: np.ndarray  # (G, k) cluster scores of the unrestricted residuals
    ssc: float

    @property
    def n_clusters(self) -> int:
        """Number of clusters G."""
        return len(self.bounds) - 1

    def cross(self, values: np.ndarray) -> np.ndarray:
        """Return ``X_g' values_g`` for every cluster: (G, k, m) for ``values`` of shape (n, m)."""
        b = self.bounds
        return np.stack(
            [self.X[b[g] : b[g + 1]].T @ values[b[g] : b[g + 1]] for g in range(len(b) - 1)]
        )


def _fit(problem: LinearProblem) -> _Fit:
    """Fit the regression once: ``X'X``, its inverse, coefficients and cluster scores."""
    X = np.asarray(problem.X, dtype=float)
    y = np.asarray(problem.y, dtype=float)
    codes, g = _cluster_codes(np.asarray(problem.clusters))
    if not bool(np.all(codes[1:] >= codes[:-1])):
        order = np.argsort(codes, kind="stable")
        X, y, codes = X[order], y[order], codes[order]
    bounds = np.searchsorted(codes, np.arange(g + 1))
    xtx = X.T @ X
    if is_singular(xtx):
        raise EstimationError("the regression is singular (collinear regressors)")
    xtx_inv = np.linalg.inv(xtx)
    xty = X.T @ y
    beta = xtx_inv @ xty
    fit = _Fit(X, y, bounds, xtx, xtx_inv, xty, beta, np.empty(0), cr1_factor(problem))
    scores = fit.cross((y - X @ beta)[:, None])[:, :, 0]
    return _Fit(X, y, bounds, xtx, xtx_inv, xty, beta, scores, fit.ssc)


def _rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("bg,bg->b", a, b)


@dataclass(frozen=True)
class WildTest:
    """Precomputed pieces of a WCR test of one coefficient; evaluates p(beta0) in O(B).

    Build with :func:`wild_test`. ``t_boot(beta0)`` gives the B bootstrap statistics,
    ``p_value(beta0)`` the symmetric p-value and ``confint(level)`` the test-inversion interval.
    The ``B``-vectors ``n_y, n_x`` (numerators) and ``q_yy, q_xy, q_xx`` (variance pieces) are
    computed from the cluster-level pieces on first use; the p-value at ``beta0 = 0`` needs
    only ``n_y`` and ``q_yy``.
    """

    estimate: float
    se: float
    ssc: float
    weights: np.ndarray  # (B, G)
    d_y: np.ndarray  # (G,) numerator pieces: b*_j - beta0 = v'(d_y - beta0 d_x)
    d_x: np.ndarray
    p_y: np.ndarray  # (G, G) score maps: z = (p_y - beta0 p_x) v
    p_x: np.ndarray
    reps: int
    enumerated: bool

    @cached_property
    def _y_parts(self) -> tuple[np.ndarray, np.ndarray]:
        v = self.weights
        q_yy = np.empty(len(v))
        for start in range(0, len(v), _CHUNK):
            z = v[start : start + _CHUNK] @ self.p_y.T
            q_yy[start : start + len(z)] = _rowdot(z, z)
        return v @ self.d_y, q_yy

    @cached_property
    def _x_parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        v = self.weights
        q_xy = np.empty(len(v))
        q_xx = np.empty(len(v))
        both = np.concatenate([self.p_y.T, self.p_x.T], axis=1)
        g = self.p_y.shape[0]
        for start in range(0, len(v), _CHUNK):
            z = v[start : start + _CHUNK] @ both
            zy, zx = z[:, :g], z[:, g:]
            sl = slice(start, start + len(z))
            q_xy[sl] = _rowdot(zy, zx)
            q_xx[sl] = _rowdot(zx, zx)
        return v @ self.d_x, q_xy, q_xx

    @property
    def n_y(self) -> np.ndarray:
        """Bootstrap numerators at ``beta0 = 0`` (length B)."""
        return self._y_parts[0]

    @property
    def q_yy(self) -> np.ndarray:
        """Bootstrap sums of squared cluster scores at ``beta0 = 0`` (length B)."""
        return self._y_parts[1]

    @property
    def n_x(self) -> np.ndarray:
        """Slope of the bootstrap numerators in ``beta0`` (length B)."""
        return self._x_parts[0]

    @property
    def q_xy(self) -> np.ndarray:
        """Cross term of the bootstrap variance in ``beta0`` (length B)."""
        return self._x_parts[1]

    @property
    def q_xx(self) -> np.ndarray:
        """Quadratic term of the bootstrap variance in ``beta0`` (length B)."""
        return self._x_parts[2]

    def t_stat(self, beta0: float) -> float:
        """Observed t-statistic ``(b_j - beta0) / se_CR1``."""
        return (self.estimate - beta0) / self.se

    def t_boot(self, beta0: float) -> np.ndarray:
        """Bootstrap t-statistics under ``H0: beta_j = beta0`` (length B)."""
        return self._t_boot(beta0, None)

    def _t_boot(self, beta0: float, rows: np.ndarray | None) -> np.ndarray:
        """Bootstrap t-statistics for the draws ``rows`` (all when ``None``)."""
        n_y, q_yy = self._y_parts
        if beta0 == 0.0:
            num, quad = n_y, q_yy
        else:
            n_x, q_xy, q_xx = self._x_parts
            num = n_y - beta0 * n_x
            quad = q_yy - 2 * beta0 * q_xy + beta0**2 * q_xx
        if rows is not None:
            num, quad = num[rows], quad[rows]
        var = self.ssc * quad
        with np.errstate(divide="ignore", invalid="ignore"):
            return num / np.sqrt(np.maximum(var, 0.0))

    def _extreme(self, beta0: float, rows: np.ndarray | None = None) -> np.ndarray:
        """Whether each draw's ``|t*|`` is at least the observed ``|t|`` (ties count)."""
        t = abs(self.t_stat(beta0))
        return np.abs(self._t_boot(beta0, rows)) >= t * (1 - 1e-12)

    def p_value(self, beta0: float = 0.0) -> float:
        """Symmetric bootstrap p-value of ``H0: beta_j = beta0``."""
        return float(np.mean(self._extreme(beta0)))

    def confint(self, level: float) -> tuple[float, float]:
        """Test-inversion interval: the ``beta0`` with ``p(beta0) > 1 - level``."""
        alpha = 1 - level
        return self._endpoint(alpha, -1.0), self._endpoint(alpha, 1.0)

    def _endpoint(self, alpha: float, direction: float) -> float:
        """One end of the interval: a scan outwards, then bisection of the p-value step.

        ``p(beta0)`` is a step function; the endpoint is located to a relative ``1e-12``. The
        first :data:`_NARROW` halvings evaluate every draw; after that only the draws whose
        status differs between the two ends of the (by then narrow) bracket are re-evaluated,
        the others keeping theirs. The final bracket is checked with full evaluations (``p``
        above ``alpha`` inside, at most ``alpha`` outside) and, should the check ever fail, the
        bisection is redone evaluating every draw.
        """
        bracket = self._bracket(alpha, direction)
        if bracket is None:
            return float(direction * np.inf)
        inner, outer, hit_in, hit_out = bracket
        fast = self._bisect(alpha, inner, outer, hit_in, hit_out, narrow=_NARROW)
        if self.p_value(fast[0]) > alpha >= self.p_value(fast[1]):
            return 0.5 * (fast[0] + fast[1])
        slow = self._bisect(alpha, inner, outer, hit_in, hit_out, narrow=None)  # pragma: no cover
        return 0.5 * (slow[0] + slow[1])  # pragma: no cover

    def _bracket(
        self, alpha: float, direction: float
    ) -> tuple[float, float, np.ndarray, np.ndarray] | None:
        """Scan outwards from the estimate, doubling the step, until ``p <= alpha``."""
        inner = self.estimate
        hit_in = self._extreme(inner)
        step = self.se if self.se > 0 else max(abs(self.estimate), 1.0)
        outer = inner + direction * step
        for _ in range(60):
            hit_out = self._extreme(outer)
            if np.mean(hit_out) <= alpha:
                return inner, outer, hit_in, hit_out
            inner, hit_in, step = outer, hit_out, step * 2
            outer = inner + direction * step
        return None

    def _bisect(
        self,
        alpha: float,
        inner: float,
        outer: float,
        hit_in: np.ndarray,
        hit_out: np.ndarray,
        narrow: int | None,
    ) -> tuple[float, float]:
        """Bisect ``[inner, outer]`` (``p > alpha`` at inner, ``<= alpha`` at outer)."""
        reps = len(hit_in)
        scale = max(abs(inner), abs(outer), self.se, 1e-300)
        rows: np.ndarray | None = None
        fixed = 0
        for it in range(200):
            if it == narrow:
                # draws extreme at both ends count as extreme inside the (narrow) bracket;
                # only the draws that flip between the ends are evaluated from here on
                flips = hit_in != hit_out
                fixed = int(np.count_nonzero(hit_in & hit_out))
                rows = np.flatnonzero(flips)
                hit_in, hit_out = hit_in[rows], hit_out[rows]
            mid = 0.5 * (inner + outer)
            hit_mid = self._extreme(mid, rows)
            if (fixed + np.count_nonzero(hit_mid)) / reps > alpha:
                inner, hit_in = mid, hit_mid
            else:
                outer, hit_out = mid, hit_mid
            if abs(outer - inner) <= 1e-12 * scale:
                break
        return inner, outer


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
    return _wild_test(_fit(problem), target, weights, enumerated)


def _wild_test(fit: _Fit, target: int, weights: np.ndarray, enumerated: bool) -> WildTest:
    """:func:`wild_test` on a fitted regression (shared by several targets)."""
    g = fit.n_clusters
    if weights.shape[1] != g:
        raise ConfigError(f"weights have {weights.shape[1]} columns for {g} clusters")
    X = fit.X
    k = X.shape[1]
    a = fit.xtx_inv[target]
    se = float(np.sqrt(fit.ssc * np.sum((fit.scores @ a) ** 2)))
    # restricted fits of y and x_j on the other columns, from blocks of X'X (no refit)
    rest = np.delete(np.arange(k), target)
    coef = np.zeros((k, 2))
    if len(rest):
        rhs = np.column_stack([fit.xty[rest], fit.xtx[rest, target]])
        coef[rest] = np.linalg.solve(fit.xtx[np.ix_(rest, rest)], rhs)
    resid = np.column_stack([fit.y, X[:, target]]) - X @ coef
    # cluster sums of X_g'u_y, X_g'u_x and X_g'X_g a in one pass: (G, k, 3)
    sums = fit.cross(np.column_stack([resid, X @ a]))
    s_y, s_x, w = sums[:, :, 0], sums[:, :, 1], sums[:, :, 2]
    d_y, d_x = s_y @ a, s_x @ a
    wa = w @ fit.xtx_inv  # rows a'X_g'X_g A
    p_y = -(wa @ s_y.T)  # (G, G): diag(d) - K
    p_x = -(wa @ s_x.T)
    p_y[np.diag_indices(g)] += d_y
    p_x[np.diag_indices(g)] += d_x
    return WildTest(
        estimate=float(fit.beta[target]),
        se=se,
        ssc=fit.ssc,
        weights=weights,
        d_y=d_y,
        d_x=d_x,
        p_y=p_y,
        p_x=p_x,
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
    fit = _fit(problem)
    X, y = fit.X, fit.y
    t = list(targets)
    q = len(t)
    vcov = fit.ssc * fit.xtx_inv @ (fit.scores.T @ fit.scores) @ fit.xtx_inv
    beta = fit.beta
    v_t = vcov[np.ix_(t, t)]
    observed = float(beta[t] @ np.linalg.solve(v_t, beta[t]))
    xtx_inv = fit.xtx_inv
    rest = np.delete(np.arange(X.shape[1]), t)
    coef = np.zeros(X.shape[1])
    if len(rest):
        coef[rest] = np.linalg.solve(fit.xtx[np.ix_(rest, rest)], fit.xty[rest])
    u = y - X @ coef
    s = fit.cross(u[:, None])[:, :, 0]  # (G, k)
    a_t = xtx_inv[t]  # (q, k)
    qmat = s @ a_t.T  # (G, q): d_g
    a_s = xtx_inv @ s.T  # (k, G)
    xa = X @ a_t.T  # (n, q)
    # rows of lmat[c]: a_t X_c'X_c A s', from cluster sums of X * (X a_t)
    lmat = np.einsum("ckq,kh->cqh", fit.cross(xa), a_s)
    stats_b = np.empty(len(weights))
    for start in range(0, len(weights), 1024):
        v = weights[start : start + 1024]
        delta = v @ qmat  # (b, q)
        z = v[:, :, None] * qmat[None, :, :] - np.einsum("gqh,bh->bgq", lmat, v)
        vb = fit.ssc * np.einsum("bgq,bgr->bqr", z, z)
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
        fit = _fit(problem)
        se, lo, hi, p = [], [], [], []
        for j in problem.targets:
            test = _wild_test(fit, j, weights, enumerated)
            if not (np.isfinite(test.se) and test.se > 0):
                raise EstimationError(
                    "the wild bootstrap cannot test a coefficient whose cluster-robust standard "
                    "error is zero (the outcome is fitted exactly, e.g. it does not vary within "
                    "units over time apart from common shocks)"
                )
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
