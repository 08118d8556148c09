"""Sensitivity to violations of parallel trends: Rambachan and Roth (2023) relative magnitudes.

Event-study estimates ``beta = tau + delta`` mix the effects ``tau`` (zero before go-live) with a
trend difference ``delta``. Conventions are HonestDiD's: ``beta`` holds ``n_pre`` pre-period
coefficients (event times ``-n_pre, ..., -1``) then the post-period ones (``0, 1, ...``), the
period just before go-live being the omitted reference with ``delta = 0``. The restriction

    Delta^RM(Mbar): |delta_{t+1} - delta_t| <= Mbar * max_{s<0} |delta_{s+1} - delta_s|  (t >= 0)

bounds each post-period change of the trend difference by ``Mbar`` times the largest pre-period
change (Mbar = 1: no worse than the worst pre-period change). The target is ``theta = l' tau_post``
(default here: the average post-period effect; HonestDiD's default is the first post period).

Identified set
--------------
With ``delta_pre = beta_pre`` known, write ``M0`` for the largest pre-period change and
``L_k = sum_{t >= k} l_t``. Post-period trend paths have increments of size at most
``Mbar M0``, so the set is exactly ``l' beta_post +/- Mbar * M0 * sum_k |L_k|`` (checked against a
linear program in the tests).

Robust confidence sets (``method``)
-----------------------------------
``"C-LF"`` (default, HonestDiD's default for Delta^RM): Delta^RM(Mbar) is the union over the
location ``s`` and sign of the largest pre-period change of polyhedra ``A_s delta <= 0``
(HonestDiD ``.create_A_RM``). For each, ``theta`` values on a grid are tested with the
conditional-least-favourable hybrid moment-inequality test of Andrews, Roth and Pakes (ARP):
the post-period effects other than ``theta`` are nuisance parameters profiled out by a linear
program; a first-stage least-favourable test of size ``kappa = alpha / 10`` (critical value
simulated from ``lf_sims`` normal draws) rejects outright, otherwise the conditional test of
size ``(alpha - kappa) / (1 - kappa)`` uses the truncated-normal law of the LP value given its
binding moments (primal route) or, when the LP is degenerate, the dual vertex (bisection route).
With one post period there are no nuisance parameters and the no-nuisance ARP test is used
(HonestDiD ``.testInIdentifiedSet_LF_Hybrid``). The confidence set is the union over ``s`` and
sign of the accepted grid points; the interval reported is from its smallest to its largest
accepted grid point, as HonestDiD (``gridPoints = 1000`` over ``+/- 20`` standard errors of
``l' beta_post`` around zero unless ``grid`` bounds are given). Only post-period moments enter
the test (HonestDiD's ``postPeriodMomentsOnly = TRUE``). ``"Conditional"`` is the same without
the least-favourable first stage (``hybrid_flag = "ARP"``).

``"union"`` (conservative): the union of Wald intervals over the linear functionals whose
maximum and minimum make up the bounds: the upper bound is ``max_(j, s) a_js' beta`` with
``a_js = l_post + s Mbar S d_j`` (``d_j`` the j-th pre-period difference, ``s = +/-1``,
``S = sum_k |L_k|``), and the interval runs from ``min_(j,s) (b_js' beta_hat - z se)`` to
``max_(j,s) (a_js' beta_hat + z se)``. Since the true ``theta`` lies between the true bounds, each
attained by one fixed functional, the interval covers ``theta`` with probability at least
``level``; it covers the whole identified set and is typically wider than C-LF. At ``Mbar = 0``
it is the usual Wald interval for ``l' beta_post``.

:func:`honest_bounds` takes a fitted event study (:func:`evaluation.estimators.event_study.
fit_event_study` or :func:`evaluation.estimators.callaway_santanna.fit_cs` with
``base_period="universal"``) and returns the table over Mbar with the breakdown value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse, stats
from scipy.optimize import linprog

from evaluation.errors import ConfigError, EstimationError, check_option

__all__ = [
    "METHODS",
    "breakdown_mbar",
    "event_study_inputs",
    "honest_bounds",
    "relative_magnitudes",
    "rm_confidence_interval",
    "rm_identified_set",
]

METHODS = ("C-LF", "Conditional", "union")
_HYBRID = {"C-LF": "LF", "Conditional": "ARP"}


def _check(
    beta: np.ndarray, sigma: np.ndarray, n_pre: int, l_vec: Sequence[float] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    beta = np.asarray(beta, dtype=float).ravel()
    sigma = np.asarray(sigma, dtype=float)
    k = beta.size
    if sigma.shape != (k, k):
        raise ConfigError(f"sigma must be {k} x {k} to match beta; got {sigma.shape}")
    if not 1 <= n_pre < k:
        raise ConfigError(
            f"n_pre must leave at least one pre- and one post-period coefficient; got {n_pre} "
            f"of {k}"
        )
    n_post = k - n_pre
    lv = np.full(n_post, 1.0 / n_post) if l_vec is None else np.asarray(l_vec, dtype=float)
    if lv.shape != (n_post,):
        raise ConfigError(f"l_vec must have one weight per post period ({n_post})")
    return beta, sigma, lv


def _pieces(n_pre: int, n_post: int, lv: np.ndarray) -> tuple[np.ndarray, float]:
    """Pre-period difference functionals d_j (rows) on the full beta, and S = sum |L_k|."""
    k = n_pre + n_post
    D = np.zeros((n_pre, k))
    for j in range(n_pre - 1):  # delta_{s+1} - delta_s between consecutive pre-periods
        D[j, j + 1], D[j, j] = 1.0, -1.0
    D[n_pre - 1, n_pre - 1] = -1.0  # delta_0 - delta_{-1} with delta_0 = 0 (reference period)
    L = np.cumsum(lv[::-1])[::-1]
    return D, float(np.abs(L).sum())


def rm_identified_set(
    beta: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    mbar: float,
    *,
    l_vec: Sequence[float] | None = None,
) -> tuple[float, float]:
    """Return the identified set of ``l' tau_post`` under Delta^RM(Mbar), ``beta`` taken as true.

    Examples
    --------
    >>> rm_identified_set(np.array([0.1, -0.2, 1.0, 2.0]), np.eye(4), 2, 1.0)
    (1.05, 1.95)
    """
    beta, sigma, lv = _check(beta, sigma, n_pre, l_vec)
    D, S = _pieces(n_pre, beta.size - n_pre, lv)
    centre = float(lv @ beta[n_pre:])
    half = float(mbar) * float(np.max(np.abs(D @ beta))) * S
    return (round(centre - half, 12), round(centre + half, 12))


# ----------------------------------------------------------------------------- Delta^RM polyhedra
def _rm_constraints(n_pre: int, n_post: int, mbar: float, s: int, max_positive: bool) -> np.ndarray:
    """HonestDiD's ``.create_A_RM``: ``A delta <= 0`` for Delta^RM_{s,sign}(Mbar).

    The largest pre-period change is the one ending at event time ``s`` (``s = -(n_pre-1)..0``
    in HonestDiD's indexing, the reference period being 0), with sign ``+`` or ``-``. Columns
    are ``delta`` without the reference period; all-zero rows are dropped.
    """
    k = n_pre + n_post
    tilde = np.zeros((k, k + 1))
    for r in range(k):
        tilde[r, r], tilde[r, r + 1] = -1.0, 1.0
    vmax = np.zeros(k + 1)
    vmax[n_pre + s - 1], vmax[n_pre + s] = -1.0, 1.0
    if not max_positive:
        vmax = -vmax
    ub = np.vstack([np.tile(vmax, (n_pre, 1)), np.tile(mbar * vmax, (n_post, 1))])
    A = np.vstack([tilde - ub, -tilde - ub])
    A = A[(A * A).sum(axis=1) > 1e-10]
    return np.delete(A, n_pre, axis=1)


# ----------------------------------------------------------------------------- ARP building blocks
def _truncnorm_quantile(p: float, lo: float, hi: float, mu: float = 0.0, sd: float = 1.0) -> float:
    """Quantile of N(mu, sd^2) truncated to [lo, hi] (TruncatedNormal::norminvp)."""
    a, b = (lo - mu) / sd, (hi - mu) / sd
    if not a < b:
        return mu + a * sd
    return float(mu + sd * stats.truncnorm.ppf(p, a, b))


def _eta_lp(y: np.ndarray, X: np.ndarray, sd: np.ndarray) -> tuple[float, np.ndarray, bool]:
    """``min eta s.t. y - X nu <= eta sd`` (HonestDiD ``.test_delta_lp_fn``).

    Returns ``(eta, lambda, ok)`` with ``lambda >= 0`` the dual vertex (``sd' lambda = 1``,
    ``X' lambda = 0``).
    """
    k = X.shape[1]
    c = np.zeros(k + 1)
    c[0] = 1.0
    res = linprog(
        c,
        A_ub=-np.column_stack([sd, X]),
        b_ub=-y,
        bounds=[(None, None)] * (k + 1),
        method="highs-ds",
    )
    if res.status != 0:
        return float("nan"), np.zeros(len(y)), False
    return float(res.fun), -np.asarray(res.ineqlin.marginals), True


def _eta_lp_batch(
    Y: np.ndarray, X: np.ndarray, sd: np.ndarray
) -> list[tuple[float, np.ndarray, bool]]:
    """:func:`_eta_lp` for each row of ``Y`` at once.

    The problems are independent, so minimising the sum of their objectives over the
    block-diagonal constraint set gives every block's own minimum (and dual vertex) in one
    sparse LP, solved by dual simplex; if any block fails they are solved one at a time.
    """
    n, m = Y.shape
    k = X.shape[1]
    if n == 0:
        return []
    W = sparse.csr_matrix(-np.column_stack([sd, X]))
    A = sparse.block_diag([W] * n, format="csr")
    c = np.tile(np.r_[1.0, np.zeros(k)], n)
    res = linprog(
        c, A_ub=A, b_ub=-Y.ravel(), bounds=[(None, None)] * (n * (k + 1)), method="highs-ds"
    )
    if res.status != 0:
        return [_eta_lp(y, X, sd) for y in Y]
    eta = np.asarray(res.x).reshape(n, k + 1)[:, 0]
    lam = -np.asarray(res.ineqlin.marginals).reshape(n, m)
    return [(float(eta[i]), lam[i], True) for i in range(n)]


def _lf_draws(sigma: np.ndarray, sims: int, rng: np.random.Generator) -> np.ndarray:
    """Draws ``xi ~ N(0, sigma)`` (``sims`` rows) for the least-favourable critical value."""
    return rng.multivariate_normal(np.zeros(sigma.shape[0]), sigma, size=sims, method="eigh")


def _lf_cv(
    X: np.ndarray | None, sigma: np.ndarray, kappa: float, sims: int, rng: np.random.Generator
) -> float:
    """Least-favourable critical value (ARP section 6.2; HonestDiD ``.compute_least_favorable_cv``).

    The ``1 - kappa`` quantile, over ``sims`` draws ``xi ~ N(0, sigma)``, of the max statistic
    (no nuisance parameters: ``max_i xi_i / sd_i``; with nuisance: the LP value ``eta``).
    """
    xi = _lf_draws(sigma, sims, rng)
    sd = np.sqrt(np.diag(sigma))
    if X is None:
        eta = (xi / sd).max(axis=1)
    else:
        eta = np.array([e if ok else np.nan for e, _, ok in _eta_lp_batch(xi, X, sd)])
    return float(np.nanquantile(eta, 1 - kappa))


def _max_program(
    s_t: np.ndarray, gamma: np.ndarray, sigma: np.ndarray, W: np.ndarray, c: float
) -> tuple[float, np.ndarray | None]:
    """``max_x (s_T + sigma gamma c / gamma' sigma gamma)' x  s.t. W' x = e1, x >= 0``."""
    b = sigma @ gamma / float(gamma @ sigma @ gamma)
    f = s_t + b * c
    beq = np.zeros(W.shape[1])
    beq[0] = 1.0
    res = linprog(-f, A_eq=W.T, b_eq=beq, bounds=[(0, None)] * len(f), method="highs-ds")
    if res.status != 0:
        return float("nan"), None
    return float(-res.fun), np.asarray(res.x)


def _vlo_vup_dual(
    eta: float, s_t: np.ndarray, gamma: np.ndarray, sigma: np.ndarray, W: np.ndarray
) -> tuple[float, float]:
    """Return the truncation points ``(vlo, vup)`` by bisection on the dual.

    ARP appendix D, algorithm 1 (HonestDiD ``.vlo_vup_dual_fn``, with its fixed-point
    shortcut).
    """
    tol_c, tol_eq, maxiters, switchiters = 1e-6, 1e-6, 10000, 10
    sigma_b = float(np.sqrt(gamma @ sigma @ gamma))
    b = sigma @ gamma / float(gamma @ sigma @ gamma)
    eps = np.finfo(float).eps ** 0.75

    def check(c: float) -> tuple[bool, np.ndarray | None]:
        value, x = _max_program(s_t, gamma, sigma, W, c)
        return bool(np.isfinite(value) and abs(c - value) <= tol_eq), x

    def shortcut(x: np.ndarray | None) -> float:
        if x is None:
            return float("nan")
        num = float(x @ s_t)
        return (0.0 if abs(num) < eps else num) / (1.0 - float(x @ b))

    ok, _ = check(eta)
    if not ok:
        return eta, float("inf")
    bounds = []
    for start, upward in (
        (max(100.0, eta + 20 * sigma_b), True),
        (min(-100.0, eta - 20 * sigma_b), False),
    ):
        ok, x = check(start)
        if ok:
            bounds.append(float("inf") if upward else float("-inf"))
            continue
        dif, iters = 0.0, 1
        mid = shortcut(x)
        while iters < maxiters:
            ok, x = check(mid)
            if ok:
                break
            iters += 1
            if iters >= switchiters:
                dif = tol_c + 1
                break
            mid = shortcut(x)
        lo_b, hi_b = (eta, mid) if upward else (mid, eta)
        while dif > tol_c and iters < maxiters:
            iters += 1
            mid = 0.5 * (lo_b + hi_b)
            inside, _ = check(mid)
            if inside == upward:
                lo_b = mid
            else:
                hi_b = mid
            dif = hi_b - lo_b
        bounds.append(mid)
    return bounds[1], bounds[0]


def _conditional_test(
    y: np.ndarray,
    X: np.ndarray,
    sigma: np.ndarray,
    alpha: float,
    hybrid: str,
    kappa: float,
    lf_cv: float,
    lp: tuple[float, np.ndarray, bool] | None = None,
) -> bool:
    """Return True when the test of ``E[y] - X nu <= 0`` (for some ``nu``) rejects.

    ARP conditional (``hybrid="ARP"``) or conditional-LF hybrid (``"LF"``) test (HonestDiD
    ``.lp_conditional_test_fn``).
    """
    m, k = X.shape
    sd = np.sqrt(np.diag(sigma))
    if lp is None:
        lp = _eta_lp(y, X, sd)
    eta, lam, ok = lp
    if not ok:
        return False
    if hybrid == "LF":
        mod_size = (alpha - kappa) / (1 - kappa)
        if eta > lf_cv:
            return True
    else:
        mod_size = alpha
    B = lam > 1e-6
    degenerate = int(B.sum()) != k + 1
    XB = X[B]
    full_rank = np.linalg.matrix_rank(XB) == min(XB.shape) if XB.size else False
    cap = lf_cv if hybrid == "LF" else np.inf
    if degenerate or not full_rank:
        gamma = lam
        s2 = float(gamma @ sigma @ gamma)
        sigma_b = float(np.sqrt(max(s2, 0.0)))
        if sigma_b < 1e-10:
            return eta > 0
        s_t = y - sigma @ gamma * float(gamma @ y) / s2
        vlo, vup = _vlo_vup_dual(eta, s_t, gamma, sigma, np.column_stack([sd, X]))
    else:
        WB = np.column_stack([sd[B], XB])
        WBinv = np.linalg.inv(WB)
        SB = np.eye(m)[B]
        SBc = np.eye(m)[~B]
        gamma_b = np.column_stack([sd[~B], X[~B]]) @ WBinv @ SB - SBc
        v_b = WBinv[0] @ SB
        s2 = float(v_b @ sigma @ v_b)
        sigma_b = float(np.sqrt(s2))
        rho = gamma_b @ sigma @ v_b / s2
        with np.errstate(divide="ignore", invalid="ignore"):
            val = (-gamma_b @ y) / rho + float(v_b @ y)
        vlo = float(val[rho > 0].max()) if (rho > 0).any() else -np.inf
        vup = float(val[rho < 0].min()) if (rho < 0).any() else np.inf
    zlo, zup = vlo / sigma_b, min(vup, cap) / sigma_b
    stat = eta / sigma_b
    if not zlo <= stat <= zup:
        return False
    cval = max(0.0, _truncnorm_quantile(1 - mod_size, zlo, zup))
    return stat > cval


def _vlo_vup(
    gamma: np.ndarray, sigma: np.ndarray, A: np.ndarray, b: np.ndarray, z: np.ndarray
) -> tuple[float, float]:
    """Lee et al. (2016) truncation points of ``gamma' y`` given ``A y <= b`` (``.VLoVUpFN``)."""
    c = sigma @ gamma / float(gamma @ sigma @ gamma)
    ac = A @ c
    with np.errstate(divide="ignore", invalid="ignore"):
        obj = (b - A @ z) / ac
    lo = float(obj[ac < 0].max()) if (ac < 0).any() else -np.inf
    hi = float(obj[ac > 0].min()) if (ac > 0).any() else np.inf
    return lo, hi


def _nonuisance_test(
    y: np.ndarray,
    sigma: np.ndarray,
    A: np.ndarray,
    d: np.ndarray,
    alpha: float,
    hybrid: str,
    lf_cv: float,
) -> bool:
    """Return True when the ARP test without nuisance parameters rejects (one post period).

    HonestDiD ``.testInIdentifiedSet`` / ``.testInIdentifiedSet_LF_Hybrid``.
    """
    sd = np.sqrt(np.diag(A @ sigma @ A.T))
    At, dt = A / sd[:, None], d / sd
    moments = At @ y - dt
    j = int(np.argmax(moments))
    if hybrid == "LF":
        if moments[j] > lf_cv:
            return True
        alpha = (alpha - alpha / 10) / (1 - alpha / 10)  # second-stage size, kappa = alpha/10
    gamma = At[j]
    Abar = At - At[j][None, :]
    dbar = dt - dt[j]
    s2 = float(gamma @ sigma @ gamma)
    z = y - sigma @ gamma * float(gamma @ y) / s2
    lo, hi = _vlo_vup(gamma, sigma, Abar, dbar, z)
    cv = max(0.0, _truncnorm_quantile(1 - alpha, lo, hi, mu=float(dt[j]), sd=float(np.sqrt(s2))))
    return bool(moments[j] + dt[j] > cv)


def _gamma_matrix(lv: np.ndarray) -> np.ndarray:
    """Return an invertible matrix with first row ``l'``.

    HonestDiD ``.construct_Gamma``: the pivot columns of ``[l, e_1, ..., e_T]``, in order.
    """
    rows = [lv]
    for i in range(lv.size):
        if len(rows) == lv.size:
            break
        e = np.zeros(lv.size)
        e[i] = 1.0
        if np.linalg.matrix_rank(np.vstack([*rows, e])) > len(rows):
            rows.append(e)
    return np.vstack(rows)


def _make_test(
    beta: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    A: np.ndarray,
    lv: np.ndarray,
    alpha: float,
    hybrid: str,
    sims: int,
    rng: np.random.Generator,
) -> Any:
    """Return ``accept(thetas) -> bool array`` for the polyhedron ``A delta <= 0``.

    HonestDiD ``.ARP_computeCI`` with post-period moments only, or ``.APR_computeCI_NoNuis``
    with one post period.
    """
    kappa = alpha / 10
    n_post = beta.size - n_pre
    if n_post == 1:
        A = A[A[:, -1] != 0]  # postPeriodMomentsOnly: rows involving the post period
        lf = _lf_cv(None, A @ sigma @ A.T, kappa, sims, rng) if hybrid == "LF" else np.inf
        e = np.zeros(beta.size)
        e[n_pre] = 1.0
        d = np.zeros(A.shape[0])

        def accept_one(thetas: np.ndarray) -> np.ndarray:
            return np.array(
                [
                    not _nonuisance_test(beta - e * t, sigma, A, d, alpha, hybrid, lf)
                    for t in thetas
                ],
                dtype=bool,
            )

        return accept_one
    rows = np.flatnonzero((A[:, n_pre:] != 0).any(axis=1))  # postPeriodMomentsOnly
    Ag = A[:, n_pre:] @ np.linalg.inv(_gamma_matrix(lv))
    a1, X = Ag[rows, 0], Ag[rows, 1:]
    Y = (A @ beta)[rows]
    sY = (A @ sigma @ A.T)[np.ix_(rows, rows)]
    sd = np.sqrt(np.diag(sY))
    lf = _lf_cv(X, sY, kappa, sims, rng) if hybrid == "LF" else np.inf

    def accept(thetas: np.ndarray) -> np.ndarray:
        ys = Y[None, :] - np.outer(thetas, a1)
        sols = _eta_lp_batch(ys, X, sd) if len(thetas) > 1 else [_eta_lp(ys[0], X, sd)]
        return np.array(
            [
                not _conditional_test(y, X, sY, alpha, hybrid, kappa, lf, lp)
                for y, lp in zip(ys, sols, strict=True)
            ],
            dtype=bool,
        )

    return accept


def _extremes(accept: Any, grid: np.ndarray, search: str, step: int = 10) -> tuple[int, int]:
    """Smallest and largest accepted grid index (``-1, -1`` if none).

    ``search="full"`` tests every grid point (as HonestDiD). ``"refine"`` tests every
    ``step``-th point, then bisects between the outermost accepted coarse points and their
    rejected neighbours: the same answer as the full grid whenever acceptance is an interval
    at least ``step`` grid points wide.
    """
    n = grid.size
    if search == "full":
        ok = np.flatnonzero(accept(grid))
        return (int(ok[0]), int(ok[-1])) if ok.size else (-1, -1)
    coarse = np.unique(np.r_[np.arange(0, n, step), n - 1])
    ok = coarse[accept(grid[coarse])]
    if ok.size == 0:
        return -1, -1

    def bisect(rejected: int, accepted: int) -> int:
        while abs(accepted - rejected) > 1:
            mid = (accepted + rejected) // 2
            if accept(grid[[mid]])[0]:
                accepted = mid
            else:
                rejected = mid
        return accepted

    i_lo, i_hi = int(ok[0]), int(ok[-1])
    prev = coarse[coarse < i_lo]
    nxt = coarse[coarse > i_hi]
    lo = bisect(int(prev[-1]), i_lo) if prev.size else i_lo
    hi = bisect(int(nxt[0]), i_hi) if nxt.size else i_hi
    return lo, hi


def _conditional_ci(
    beta: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    mbar: float,
    lv: np.ndarray,
    alpha: float,
    hybrid: str,
    grid: np.ndarray,
    search: str,
    sims: int,
    rng: np.random.Generator,
) -> tuple[float, float, bool]:
    """Return ``(low, high, open)`` of the union over ``s`` and sign of the ARP sets.

    HonestDiD ``computeConditionalCS_DeltaRM``; ``open`` is True when an end of the grid is
    accepted (the interval may extend beyond the grid).
    """
    n_post = beta.size - n_pre
    lo, hi = grid.size, -1
    for s in range(-(n_pre - 1), 1):
        for positive in (True, False):
            A = _rm_constraints(n_pre, n_post, mbar, s, positive)
            test = _make_test(beta, sigma, n_pre, A, lv, alpha, hybrid, sims, rng)
            a, b = _extremes(test, grid, search)
            if a >= 0:
                lo, hi = min(lo, a), max(hi, b)
    if hi < 0:
        return float("nan"), float("nan"), False
    return float(grid[lo]), float(grid[hi]), lo == 0 or hi == grid.size - 1


def rm_confidence_interval(
    beta: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    mbar: float,
    *,
    l_vec: Sequence[float] | None = None,
    level: float = 0.95,
    method: str = "C-LF",
    grid_points: int = 1000,
    grid_bounds: tuple[float, float] | None = None,
    search: str = "refine",
    lf_sims: int = 1000,
    rng: np.random.Generator | None = None,
) -> tuple[float, float]:
    """Robust confidence interval for ``l' tau_post`` under Delta^RM(Mbar).

    Parameters
    ----------
    beta, sigma, n_pre, mbar, l_vec
        As :func:`relative_magnitudes`.
    level
        Confidence level (HonestDiD's ``alpha = 1 - level``).
    method
        ``"C-LF"`` (default: conditional-least-favourable hybrid, HonestDiD's default),
        ``"Conditional"`` (ARP conditional test) or ``"union"`` (conservative union of Wald
        intervals, closed form). See the module docstring.
    grid_points, grid_bounds
        Test-inversion grid for C-LF / Conditional: ``grid_points`` equally spaced values
        between ``grid_bounds`` (default ``+/- 20`` standard errors of ``l' beta_post`` around
        zero, as HonestDiD). The interval runs between accepted grid points, so it is exact
        only to the grid spacing.
    search
        ``"refine"`` (default: every tenth grid point, then bisection at the edges) or
        ``"full"`` (every grid point, as HonestDiD; about ten times slower).
    lf_sims, rng
        Draws for the least-favourable critical value (HonestDiD uses 1000) and their
        generator (default ``numpy.random.default_rng(0)``, so results are reproducible).

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(nan, nan)`` if no grid value is accepted.

    Examples
    --------
    >>> beta = np.array([0.01, -0.02, 0.1, 0.12]); sigma = np.eye(4) * 1e-4
    >>> lo, hi = rm_confidence_interval(beta, sigma, 2, 0.5, method="union")
    >>> round(lo, 4), round(hi, 4)
    (0.0625, 0.1575)
    """
    check_option("method", method, METHODS)
    check_option("search", search, ("refine", "full"))
    if mbar < 0:
        raise ConfigError(f"Mbar must be nonnegative; got {mbar}")
    if not 0 < level < 1:
        raise ConfigError(f"level must be between 0 and 1; got {level}")
    beta, sigma, lv = _check(beta, sigma, n_pre, l_vec)
    if method == "union":
        return _union_ci(beta, sigma, n_pre, float(mbar), lv, level)
    if grid_points < 3:
        raise ConfigError(f"grid_points must be at least 3; got {grid_points}")
    lo, hi, _ = _conditional_ci(
        beta,
        sigma,
        n_pre,
        float(mbar),
        lv,
        1 - level,
        _HYBRID[method],
        _grid(sigma, n_pre, lv, grid_points, grid_bounds),
        search,
        int(lf_sims),
        rng if rng is not None else np.random.default_rng(0),
    )
    return lo, hi


def _grid(
    sigma: np.ndarray,
    n_pre: int,
    lv: np.ndarray,
    points: int,
    bounds: tuple[float, float] | None,
) -> np.ndarray:
    if bounds is None:
        post = sigma[n_pre:, n_pre:]
        sd = float(np.sqrt(max(lv @ post @ lv, 0.0)))
        bounds = (-20 * sd, 20 * sd)
    lo, hi = float(bounds[0]), float(bounds[1])
    if not lo < hi:
        raise ConfigError(f"grid_bounds must be increasing; got {bounds}")
    return np.linspace(lo, hi, int(points))


def _union_ci(
    beta: np.ndarray, sigma: np.ndarray, n_pre: int, mbar: float, lv: np.ndarray, level: float
) -> tuple[float, float]:
    n_post = beta.size - n_pre
    D, S = _pieces(n_pre, n_post, lv)
    z = float(stats.norm.ppf(0.5 + level / 2))
    base = np.concatenate([np.zeros(n_pre), lv])
    his, los = [], []
    for d in D:
        for s in (1.0, -1.0):
            a = base + s * mbar * S * d
            b = base - s * mbar * S * d
            his.append(a @ beta + z * np.sqrt(max(a @ sigma @ a, 0.0)))
            los.append(b @ beta - z * np.sqrt(max(b @ sigma @ b, 0.0)))
    return float(min(los)), float(max(his))


def _includes_zero(lo: float, hi: float) -> bool:
    return bool(lo <= 0.0 <= hi)


def breakdown_mbar(
    beta: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    *,
    l_vec: Sequence[float] | None = None,
    level: float = 0.95,
    kind: str = "ci",
    method: str = "C-LF",
    upper: float = 100.0,
    tol: float | None = None,
    **ci_options: Any,
) -> float:
    """Return the breakdown value: the smallest Mbar at which the result includes zero.

    ``kind="ci"`` uses the robust interval of ``method``, ``kind="identified"`` the identified
    set. Returns ``0.0`` if zero is included already and ``inf`` if not even at ``upper``. The
    search is a bisection (intervals widen with Mbar since the sets Delta^RM(Mbar) are
    nested); ``tol`` is its precision in Mbar (default ``1e-9`` for the closed forms,
    ``0.01`` for the grid-based C-LF / Conditional intervals, whose ends move in grid steps).
    ``ci_options`` go to :func:`rm_confidence_interval`.
    """
    check_option("kind", kind, ("ci", "identified"))
    check_option("method", method, METHODS)
    closed_form = kind == "identified" or method == "union"
    tol = (1e-9 if closed_form else 0.01) if tol is None else float(tol)

    def includes_zero(m: float) -> bool:
        if kind == "ci":
            lo, hi = rm_confidence_interval(
                beta, sigma, n_pre, m, l_vec=l_vec, level=level, method=method, **ci_options
            )
        else:
            lo, hi = rm_identified_set(beta, sigma, n_pre, m, l_vec=l_vec)
        return _includes_zero(lo, hi)

    if includes_zero(0.0):
        return 0.0
    lo, hi = 0.0, min(1.0, upper)
    while not includes_zero(hi):  # expanding bracket
        if hi >= upper:
            return float("inf")
        lo, hi = hi, min(2 * hi, upper)
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if includes_zero(mid):
            hi = mid
        else:
            lo = mid
    return hi


def relative_magnitudes(
    beta: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    *,
    mbar: Sequence[float] = (0.0, 0.5, 1.0, 1.5, 2.0),
    l_vec: Sequence[float] | None = None,
    level: float = 0.95,
    method: str = "C-LF",
    breakdown: bool = True,
    **ci_options: Any,
) -> pd.DataFrame:
    """Return the sensitivity table over a grid of Mbar.

    As HonestDiD's ``createSensitivityResults_relativeMagnitudes``, plus the identified set.

    Parameters
    ----------
    beta, sigma
        Event-study estimates (``n_pre`` pre-period coefficients, reference period omitted,
        then the post-period ones) and their covariance.
    n_pre
        Number of pre-period coefficients.
    mbar
        Grid of Mbar values.
    l_vec
        Weights of the post-period effects in the target (default: equal, the average effect).
    level
        Confidence level.
    method
        ``"C-LF"`` (default), ``"Conditional"`` or ``"union"``: see
        :func:`rm_confidence_interval`.
    breakdown
        Compute the breakdown values (for C-LF / Conditional this repeats the interval a few
        times; pass False to skip).
    **ci_options
        ``grid_points``, ``grid_bounds``, ``search``, ``lf_sims``, ``rng`` of
        :func:`rm_confidence_interval`.

    Returns
    -------
    pandas.DataFrame
        Columns ``mbar, id_low, id_high, ci_low, ci_high, method``; ``attrs`` holds the
        breakdown values ``breakdown_ci`` and ``breakdown_identified`` (NaN when not computed).

    Examples
    --------
    >>> t = relative_magnitudes(np.array([0.0, 0.1, 1.0]), np.eye(3) * 0.01, 2, mbar=[0, 1],
    ...                         method="union")
    >>> t[["mbar", "id_low", "id_high"]].round(3).to_numpy().tolist()
    [[0.0, 1.0, 1.0], [1.0, 0.9, 1.1]]
    """
    check_option("method", method, METHODS)
    rows = []
    for m in mbar:
        il, ih = rm_identified_set(beta, sigma, n_pre, m, l_vec=l_vec)
        cl, ch = rm_confidence_interval(
            beta, sigma, n_pre, m, l_vec=l_vec, level=level, method=method, **ci_options
        )
        rows.append((float(m), il, ih, cl, ch, method))
    table = pd.DataFrame(rows, columns=["mbar", "id_low", "id_high", "ci_low", "ci_high", "method"])
    nan = float("nan")
    table.attrs["breakdown_ci"] = (
        breakdown_mbar(beta, sigma, n_pre, l_vec=l_vec, level=level, method=method, **ci_options)
        if breakdown
        else nan
    )
    table.attrs["breakdown_identified"] = breakdown_mbar(
        beta, sigma, n_pre, l_vec=l_vec, level=level, kind="identified"
    )
    return table


# ----------------------------------------------------------------------------- fitted results
def event_study_inputs(result: Any) -> tuple[np.ndarray, np.ndarray, int, list[int]]:
    """Return ``(beta, sigma, n_pre, event_times)`` in HonestDiD's layout from a fitted event study.

    ``result`` is a :class:`evaluation.results.DidResult` of ``fit_event_study`` or of
    ``fit_cs`` with ``base_period="universal"``; its ``info["event_study_vcov"]`` holds the
    covariance of the event-time estimates (the chosen cluster-robust covariance for the
    regression event study, with CR1 under the wild bootstrap; the influence-function
    covariance ``psi' psi / n^2`` for Callaway-Sant'Anna, as R's ``honest_did``). The reference
    period (event time -1, estimate 0) is dropped; pre-periods are the event times before it.

    Raises
    ------
    EstimationError
        No event study or covariance in the result, a varying base period (CS), a reference
        period other than -1, gaps in the event times, or no pre- or post-period.
    """
    es = getattr(result, "event_study", None)
    info = getattr(result, "info", {}) or {}
    cov = info.get("event_study_vcov")
    if es is None or cov is None:
        raise EstimationError(
            "the result has no event study with its covariance (info['event_study_vcov']); fit "
            "with fit_event_study or fit_cs"
        )
    if info.get("base_period", "universal") != "universal":
        raise EstimationError(
            "honest bounds need a universal base period (every event-time estimate relative to "
            "event time -1): refit fit_cs with base_period='universal'"
        )
    if int(info.get("anticipation", 0) or 0) != 0:
        raise EstimationError("honest bounds need anticipation=0 (reference event time -1)")
    reference = int(info.get("reference", -1))
    if reference != -1:
        raise EstimationError(f"honest bounds need the reference event time -1; got {reference}")
    times = [int(t) for t in cov["event_time"]]
    V = np.asarray(cov["vcov"], dtype=float)
    est = dict(
        zip(es["event_time"].astype(int).tolist(), es["estimate"].astype(float), strict=True)
    )
    keep = [i for i, t in enumerate(times) if t != reference]
    times = [times[i] for i in keep]
    V = V[np.ix_(keep, keep)]
    full = sorted({*times, reference})
    if full != list(range(full[0], full[-1] + 1)):
        raise EstimationError(f"event times must be consecutive around -1; got {times}")
    beta = np.array([est[t] for t in times])
    n_pre = sum(t < reference for t in times)
    if n_pre == 0 or n_pre == len(times):
        raise EstimationError(
            "honest bounds need at least one pre-period (before event time -1) and one post-period"
        )
    if not (np.isfinite(beta).all() and np.isfinite(V).all()):
        raise EstimationError("the event study has missing estimates or covariances")
    return beta, V, n_pre, times


def honest_bounds(
    result: Any,
    *,
    mbar: Sequence[float] = (0.0, 0.5, 1.0, 1.5, 2.0),
    l_vec: Sequence[float] | None = None,
    method: str = "C-LF",
    level: float | None = None,
    **ci_options: Any,
) -> pd.DataFrame:
    """Rambachan-Roth relative-magnitudes table for a fitted event study.

    Parameters
    ----------
    result
        A ``DidResult`` of ``fit_event_study`` or ``fit_cs`` (``base_period="universal"``).
    mbar
        Grid of Mbar values.
    l_vec
        Weights of the post-period effects (event times 0, 1, ...); default the average
        post-period effect.
    method
        ``"C-LF"`` (default), ``"Conditional"`` or ``"union"``.
    level
        Confidence level (default: the result's).
    **ci_options
        Passed to :func:`rm_confidence_interval` (``grid_points``, ``search``, ``rng`` ...).

    Returns
    -------
    pandas.DataFrame
        As :func:`relative_magnitudes`; ``attrs`` adds ``breakdown_ci``,
        ``breakdown_identified``, ``pre_event_times`` and ``post_event_times``.
    """
    check_option("method", method, METHODS)
    beta, sigma, n_pre, times = event_study_inputs(result)
    if level is None:
        level = float(getattr(getattr(result, "overall", None), "level", 0.95))
    table = relative_magnitudes(
        beta, sigma, n_pre, mbar=mbar, l_vec=l_vec, level=level, method=method, **ci_options
    )
    table.attrs["pre_event_times"] = times[:n_pre]
    table.attrs["post_event_times"] = times[n_pre:]
    return table
