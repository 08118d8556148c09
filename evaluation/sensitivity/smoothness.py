"""Sensitivity to violations of parallel trends: Rambachan and Roth (2023) smoothness bounds.

Conventions are those of :mod:`evaluation.sensitivity.honest` (and HonestDiD): ``beta`` holds
``n_pre`` pre-period coefficients then the post-period ones, the period just before go-live being
the omitted reference with ``delta = 0``; the target is ``theta = l' tau_post`` (default here:
the average post-period effect). The smoothness restriction

    Delta^SD(M): |(delta_{t+1} - delta_t) - (delta_t - delta_{t-1})| <= M  for every t

lets the trend difference bend by at most ``M`` per period (M = 0: it continues the linear trend
of the pre-periods exactly).

Identified set
--------------
With ``delta_pre = beta_pre`` known, the largest and smallest ``l' delta_post`` over
Delta^SD(M) are two linear programs (HonestDiD ``.compute_IDset_DeltaSD``); the set is
``l' beta_post`` minus that range. It is defined for a ``beta`` whose pre-period part satisfies
the restriction; when the pre-period estimates themselves bend by more than ``M`` the programs
are infeasible and the set is reported as NaN (HonestDiD warns and reports ``l' beta_post``).

Fixed-length confidence interval (FLCI)
---------------------------------------
HonestDiD's default for Delta^SD (Armstrong and Kolesar's optimal FLCI, as
``findOptimalFLCI``): among affine estimators ``a' beta = l_pre' beta_pre + l' beta_post`` the one
minimising the half-length ``h cv_alpha(b / h)``, where ``h`` is its standard error, ``b`` its
worst-case bias over Delta^SD(M) and ``cv_alpha(t)`` the ``1 - alpha`` quantile of ``|N(t, 1)|``.
With ``w`` the pre-period weights in HonestDiD's cumulative parametrisation and
``c = sum_s s l_s``, the worst-case bias is ``M (k_l + sum_i |z_i|)`` with ``z`` the cumulative
sums of ``w`` (``z_K = c``) and ``k_l`` a constant of ``l``; the variance is a quadratic form in
``z``. For each ``h`` the smallest bias is a convex program (an L1 objective under one quadratic
constraint, solved here by SLSQP on the positive and negative parts); the half-length is then
minimised over ``h`` between the smallest attainable standard error and the one with no bias
reduction, by bounded Brent search. The interval is ``a' beta_hat +/- half-length``.

Two differences from the port, both small: ``cv_alpha`` is computed exactly (root of
``Phi(c - t) - Phi(-c - t) = 1 - alpha``) where HonestDiD simulates it from 10^6 normal draws,
and the optimum over ``h`` is found by Brent search where HonestDiD bisects a finite-difference
derivative; the half-length is flat at its minimum, so both change it in the third or fourth
significant digit at most (tolerance in the tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaluation.errors import ConfigError

__all__ = [
    "flci",
    "folded_normal_quantile",
    "honest_smoothness",
    "sd_identified_set",
    "smoothness_bounds",
]


def folded_normal_quantile(p: float, t: float) -> float:
    """Return the ``p`` quantile of ``|N(t, 1)|`` (exact, by root finding)."""
    from scipy.optimize import brentq
    from scipy.special import ndtr

    t = abs(float(t))

    def gap(c: float) -> float:
        return float(ndtr(c - t) - ndtr(-c - t)) - p

    hi = t + 10.0
    return float(brentq(gap, 0.0, hi, xtol=1e-14, rtol=1e-14, maxiter=500))


def _check(
    beta: np.ndarray,
    sigma: np.ndarray | None,
    n_pre: int,
    l_vec: Sequence[float] | np.ndarray | None,
) -> np.ndarray:
    n_post = len(beta) - n_pre
    if n_pre < 1 or n_post < 1:
        raise ConfigError(
            f"need at least one pre- and one post-period coefficient; got n_pre={n_pre}, "
            f"{len(beta)} coefficients"
        )
    if sigma is not None and sigma.shape != (len(beta), len(beta)):
        raise ConfigError(f"sigma must be {len(beta)} x {len(beta)}; got {sigma.shape}")
    lv = np.full(n_post, 1.0 / n_post) if l_vec is None else np.asarray(l_vec, dtype=float)
    if lv.shape != (n_post,):
        raise ConfigError(f"l_vec must have {n_post} entries (one per post period)")
    return lv


def _a_sd(n_pre: int, n_post: int) -> np.ndarray:
    """Second-difference constraint matrix on ``delta`` without the reference (HonestDiD)."""
    total = n_pre + n_post
    a = np.zeros((total - 1, total + 1))
    for r in range(total - 1):
        a[r, r : r + 3] = (1.0, -2.0, 1.0)
    a = np.delete(a, n_pre, axis=1)
    return np.vstack([a, -a])


def sd_identified_set(
    beta: Sequence[float] | np.ndarray,
    n_pre: int,
    m: float,
    l_vec: Sequence[float] | np.ndarray | None = None,
) -> tuple[float, float]:
    """Return the identified set of ``l' tau_post`` under Delta^SD(m) given the true ``beta``.

    Returns
    -------
    (lower, upper)
    """
    from scipy.optimize import linprog

    b = np.asarray(beta, dtype=float)
    lv = _check(b, None, n_pre, l_vec)
    n_post = len(b) - n_pre
    A = _a_sd(n_pre, n_post)
    d = np.full(A.shape[0], float(m))
    f = np.r_[np.zeros(n_pre), lv]
    a_eq = np.hstack([np.eye(n_pre), np.zeros((n_pre, n_post))])
    free = [(None, None)] * len(b)
    hi = linprog(-f, A_ub=A, b_ub=d, A_eq=a_eq, b_eq=b[:n_pre], bounds=free, method="highs")
    lo = linprog(f, A_ub=A, b_ub=d, A_eq=a_eq, b_eq=b[:n_pre], bounds=free, method="highs")
    if hi.status == 2 or lo.status == 2:  # infeasible: beta_pre itself violates Delta^SD(m)
        return float("nan"), float("nan")
    if not (hi.success and lo.success):  # pragma: no cover - bounded and feasible otherwise
        raise ConfigError(f"the Delta^SD identified-set programs failed: {hi.message}")
    point = float(lv @ b[n_pre:])
    return point + float(hi.fun), point - float(lo.fun)


class _Flci:
    """The pieces of the FLCI problem for one (sigma, n_pre, l_vec)."""

    def __init__(self, sigma: np.ndarray, n_pre: int, lv: np.ndarray) -> None:
        k, n_post = n_pre, len(lv)
        s_pre = sigma[:k, :k]
        s_prepost = sigma[:k, k:]
        self.const = float(lv @ sigma[k:, k:] @ lv)
        # l_pre = D z (second differences of z with z_0 = z_-1 = 0), so var = z'Qz + q'z + r
        D = np.eye(k)
        for i in range(1, k):
            D[i, i - 1] = -2.0
            if i >= 2:
                D[i, i - 2] = 1.0
        self.D = D
        self.Q = D.T @ s_pre @ D
        self.q = 2.0 * D.T @ s_prepost @ lv
        self.k = k
        self.c = float(np.arange(1, n_post + 1) @ lv)
        self.bias_const = (
            sum(abs(float(np.arange(1, s + 1) @ lv[n_post - s :])) for s in range(1, n_post + 1))
            - self.c
        )

    def var(self, z: np.ndarray) -> float:
        return float(z @ self.Q @ z + self.q @ z + self.const)

    def lowest_h(self) -> tuple[float, np.ndarray]:
        """Smallest attainable standard error (z_K = c fixed): a linear KKT system."""
        k = self.k
        if k == 1:
            z = np.array([self.c])
            return float(np.sqrt(max(self.var(z), 0.0))), z
        free = slice(0, k - 1)
        Qf = self.Q[free, free]
        rhs = -(self.q[free] + 2.0 * self.Q[free, k - 1] * self.c) / 2.0
        zf = np.linalg.solve(Qf, rhs)
        z = np.r_[zf, self.c]
        return float(np.sqrt(max(self.var(z), 0.0))), z

    def no_reduction_h(self) -> tuple[float, np.ndarray]:
        """Return the standard error with all weight on the last cumulative sum."""
        z = np.r_[np.zeros(self.k - 1), self.c]
        return float(np.sqrt(max(self.var(z), 0.0))), z

    def min_bias(self, h: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        """Smallest ``k_l + sum |z_i|`` with standard error at most ``h`` (SLSQP)."""
        from scipy.optimize import minimize

        k = self.k
        if k == 1:
            return self.bias_const + abs(self.c), np.array([self.c])
        n = k - 1
        x0 = np.r_[np.maximum(start[:n], 0.0), np.maximum(-start[:n], 0.0)]

        def z_of(x: np.ndarray) -> np.ndarray:
            return np.r_[x[:n] - x[n:], self.c]

        def slack(x: np.ndarray) -> float:
            return (h * h - self.var(z_of(x))) / max(h * h, 1e-300)

        def slack_grad(x: np.ndarray) -> np.ndarray:
            z = z_of(x)
            g = (2.0 * self.Q @ z + self.q)[:n] / max(h * h, 1e-300)
            return np.r_[-g, g]

        res = minimize(
            lambda x: float(x.sum()),
            x0,
            jac=lambda x: np.ones_like(x),
            method="SLSQP",
            bounds=[(0.0, None)] * (2 * n),
            constraints=[{"type": "ineq", "fun": slack, "jac": slack_grad}],
            options={"ftol": 1e-13, "maxiter": 1000},
        )
        z = z_of(res.x)
        return self.bias_const + abs(self.c) + float(np.abs(z[:n]).sum()), z

    def l_pre(self, z: np.ndarray) -> np.ndarray:
        return self.D @ z


def flci(
    beta: Sequence[float] | np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    m: float,
    l_vec: Sequence[float] | np.ndarray | None = None,
    level: float = 0.95,
) -> dict[str, Any]:
    """Optimal fixed-length confidence interval for ``l' tau_post`` under Delta^SD(m).

    Returns
    -------
    dict
        ``ci_low``, ``ci_high``, ``half_length``, ``estimate`` (the affine estimator's value),
        ``se`` (its standard error ``h``), ``max_bias`` and ``weights`` (the affine estimator's
        weights on ``beta``, pre then post periods).
    """
    b = np.asarray(beta, dtype=float)
    S = np.asarray(sigma, dtype=float)
    lv = _check(b, S, n_pre, l_vec)
    if m < 0:
        raise ConfigError(f"M must be non-negative; got {m}")
    if not 0 < level < 1:
        raise ConfigError(f"level must be between 0 and 1; got {level}")
    prob = _Flci(S, n_pre, lv)
    h_min, z_min = prob.lowest_h()
    h_max, _ = prob.no_reduction_h()
    state = {"z": z_min}

    def half_length(h: float) -> tuple[float, float, np.ndarray]:
        bias, z = prob.min_bias(h, state["z"])
        state["z"] = z
        if m == 0:
            return h * folded_normal_quantile(level, 0.0), 0.0, z
        return h * folded_normal_quantile(level, m * bias / h), m * bias, z

    if m == 0 or h_max - h_min <= 1e-12 * max(h_max, 1e-300):
        h = h_min
        z = z_min
        bias = 0.0 if m == 0 else m * prob.min_bias(h, z_min)[0]
        hl = h * folded_normal_quantile(level, bias / h if h > 0 else 0.0)
    else:
        from scipy.optimize import minimize_scalar

        lo = h_min * (1.0 + 1e-9)
        res = minimize_scalar(
            lambda h: half_length(h)[0],
            bounds=(lo, h_max),
            method="bounded",
            options={"xatol": 1e-9 * h_max},
        )
        h = float(res.x)
        hl, bias, z = half_length(h)
        for h_end in (lo, h_max):  # the optimum may sit at an end of the interval
            hl_end, bias_end, z_end = half_length(h_end)
            if hl_end < hl:
                h, hl, bias, z = h_end, hl_end, bias_end, z_end
    weights = np.r_[prob.l_pre(z), lv]
    est = float(weights @ b)
    # the chosen estimator's own standard error and worst-case bias (the constraint var <= h^2
    # holds to solver tolerance): its half-length
    se = float(np.sqrt(max(float(weights @ S @ weights), 0.0)))
    bias = float(m) * (prob.bias_const + abs(prob.c) + float(np.abs(z[:-1]).sum()))
    if se > 0:
        hl = se * folded_normal_quantile(level, bias / se)
    return {
        "ci_low": est - hl,
        "ci_high": est + hl,
        "half_length": hl,
        "estimate": est,
        "se": se,
        "max_bias": bias,
        "weights": weights,
    }


def smoothness_bounds(
    beta: Sequence[float] | np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    *,
    m: Sequence[float] | np.ndarray | None = None,
    l_vec: Sequence[float] | np.ndarray | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Delta^SD table over a grid of M: identified set and FLCI, with the breakdown M.

    Parameters
    ----------
    beta, sigma, n_pre
        Event-study estimates (pre then post periods, reference omitted), their covariance and
        the number of pre-period coefficients.
    m
        Grid of M values; default five values from 0 to the standard error of ``l' beta_post``.
    l_vec
        Post-period weights; default the average post-period effect.
    level
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Columns ``M, id_lower, id_upper, ci_lower, ci_upper, estimate, half_length``;
        ``attrs["breakdown_ci"]``: the smallest M at which the FLCI contains zero (to 1e-3
        relative; ``0`` if it does at M = 0, ``inf`` if not up to 1000 standard errors).
    """
    b = np.asarray(beta, dtype=float)
    S = np.asarray(sigma, dtype=float)
    lv = _check(b, S, n_pre, l_vec)
    post = np.r_[np.zeros(n_pre), lv]
    se_post = float(np.sqrt(post @ S @ post))
    grid = list(np.linspace(0.0, se_post, 5)) if m is None else [float(v) for v in m]
    rows = []
    for mv in grid:
        lo, hi = sd_identified_set(b, n_pre, mv, lv)
        ci = flci(b, S, n_pre, mv, lv, level)
        rows.append(
            {
                "M": mv,
                "id_lower": lo,
                "id_upper": hi,
                "ci_lower": ci["ci_low"],
                "ci_upper": ci["ci_high"],
                "estimate": ci["estimate"],
                "half_length": ci["half_length"],
            }
        )
    table = pd.DataFrame(rows)
    table.attrs["breakdown_ci"] = _breakdown(b, S, n_pre, lv, level, se_post)
    table.attrs["l_vec"] = lv.tolist()
    return table


def _breakdown(
    b: np.ndarray, S: np.ndarray, n_pre: int, lv: np.ndarray, level: float, scale: float
) -> float:
    def covers_zero(mv: float) -> bool:
        ci = flci(b, S, n_pre, mv, lv, level)
        return bool(ci["ci_low"] <= 0.0 <= ci["ci_high"])

    if covers_zero(0.0):
        return 0.0
    hi = scale
    while not covers_zero(hi):
        hi *= 2.0
        if hi > 1000 * scale:
            return float("inf")
    lo = 0.0
    while hi - lo > 1e-3 * hi:
        mid = (lo + hi) / 2.0
        if covers_zero(mid):
            hi = mid
        else:
            lo = mid
    return hi


def honest_smoothness(
    result: Any,
    *,
    m: Sequence[float] | np.ndarray | None = None,
    l_vec: Sequence[float] | np.ndarray | None = None,
    level: float | None = None,
) -> pd.DataFrame:
    """Delta^SD table (identified set and FLCI over M) for a fitted event study.

    ``result`` is a ``DidResult`` of ``fit_event_study``, ``fit_sun_abraham`` or ``fit_cs``
    (``base_period="universal"``), as for
    :func:`evaluation.sensitivity.honest.honest_bounds`. ``l_vec`` weights the post-period
    effects (event times 0, 1, ...); the default is their average (the aggregated post-period
    effect); ``[1, 0, ...]`` gives the first period alone.
    """
    from evaluation.sensitivity.honest import event_study_inputs

    beta, sigma, n_pre, times = event_study_inputs(result)
    if level is None:
        level = float(getattr(getattr(result, "overall", None), "level", 0.95))
    table = smoothness_bounds(beta, sigma, n_pre, m=m, l_vec=l_vec, level=level)
    table.attrs["pre_event_times"] = times[:n_pre]
    table.attrs["post_event_times"] = times[n_pre:]
    return table
