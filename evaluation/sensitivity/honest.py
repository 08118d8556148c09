"""Sensitivity to violations of parallel trends: Rambachan and Roth (2023) relative magnitudes.

Event-study estimates ``beta = tau + delta`` mix the effects ``tau`` (zero before go-live) with a
trend difference ``delta``. Conventions are HonestDiD's: ``beta`` holds ``n_pre`` pre-period
coefficients (event times ``-n_pre, ..., -1``) then the post-period ones (``0, 1, ...``), the
period just before go-live being the omitted reference with ``delta = 0``. The restriction

    Delta^RM(Mbar): |delta_{t+1} - delta_t| <= Mbar * max_{s<0} |delta_{s+1} - delta_s|  (t >= 0)

bounds each post-period change of the trend difference by ``Mbar`` times the largest pre-period
change (Mbar = 1: no worse than the worst pre-period change). The target is ``theta = l' tau_post``
(default: the average post-period effect).

Identified set
--------------
With ``delta_pre = beta_pre`` known, write ``M0`` for the largest pre-period change and
``L_k = sum_{t >= k} l_t``. Post-period trend paths have increments of size at most
``Mbar M0``, so the set is exactly ``l' beta_post +/- Mbar * M0 * sum_k |L_k|`` (checked against a
linear program in the tests).

Robust confidence interval (which method)
-----------------------------------------
HonestDiD's default for Delta^RM is the conditional-least-favourable hybrid of Andrews, Roth and
Pakes (C-LF); the FLCI does not apply to Delta^RM (a union of polyhedra). Neither is implemented
here. Instead the interval is the union of Wald intervals over the linear functionals whose
maximum and minimum make up the bounds: the upper bound is ``max_(j, s) a_js' beta`` with
``a_js = l_post + s Mbar S d_j`` (``d_j`` the j-th pre-period difference, ``s = +/-1``,
``S = sum_k |L_k|``), and the interval runs from ``min_(j,s) (b_js' beta_hat - z se)`` to
``max_(j,s) (a_js' beta_hat + z se)``. Since the true ``theta`` lies between the true bounds, each
attained by one fixed functional, the interval covers ``theta`` with probability at least
``level`` (conservative: it covers the whole identified set; typically wider than C-LF). At
``Mbar = 0`` it is the usual Wald interval for ``l' beta_post``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.errors import ConfigError

__all__ = [
    "breakdown_mbar",
    "relative_magnitudes",
    "rm_confidence_interval",
    "rm_identified_set",
]


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


def rm_confidence_interval(
    beta: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    mbar: float,
    *,
    l_vec: Sequence[float] | None = None,
    level: float = 0.95,
) -> tuple[float, float]:
    """Robust interval for ``l' tau_post`` under Delta^RM(Mbar) (union of vertex Wald intervals).

    See the module docstring for the construction and why it covers at rate ``level``.
    """
    if mbar < 0:
        raise ConfigError(f"Mbar must be nonnegative; got {mbar}")
    beta, sigma, lv = _check(beta, sigma, n_pre, l_vec)
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


def breakdown_mbar(
    beta: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    *,
    l_vec: Sequence[float] | None = None,
    level: float = 0.95,
    kind: str = "ci",
    upper: float = 100.0,
) -> float:
    """Return the breakdown value: the smallest Mbar at which the result includes zero.

    ``kind="ci"`` uses the robust interval, ``kind="identified"`` the identified set. Returns
    ``0.0`` if zero is included already and ``inf`` if not even at ``upper``.
    """
    if kind not in ("ci", "identified"):
        raise ConfigError(f"kind must be one of 'ci', 'identified'; got {kind!r}")

    def includes_zero(m: float) -> bool:
        if kind == "ci":
            lo, hi = rm_confidence_interval(beta, sigma, n_pre, m, l_vec=l_vec, level=level)
        else:
            lo, hi = rm_identified_set(beta, sigma, n_pre, m, l_vec=l_vec)
        return lo <= 0.0 <= hi

    if includes_zero(0.0):
        return 0.0
    if not includes_zero(upper):
        return float("inf")
    lo, hi = 0.0, upper
    for _ in range(80):
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
    mbar: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0),
    l_vec: Sequence[float] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Sensitivity table over a grid of Mbar (as HonestDiD's relative-magnitudes results).

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

    Returns
    -------
    pandas.DataFrame
        Columns ``mbar, id_low, id_high, ci_low, ci_high, method``; ``attrs`` holds the
        breakdown values ``breakdown_ci`` and ``breakdown_identified``.

    Examples
    --------
    >>> t = relative_magnitudes(np.array([0.0, 0.1, 1.0]), np.eye(3) * 0.01, 2, mbar=[0, 1])
    >>> t[["mbar", "id_low", "id_high"]].round(3).to_numpy().tolist()
    [[0.0, 1.0, 1.0], [1.0, 0.9, 1.1]]
    """
    rows = []
    for m in mbar:
        il, ih = rm_identified_set(beta, sigma, n_pre, m, l_vec=l_vec)
        cl, ch = rm_confidence_interval(beta, sigma, n_pre, m, l_vec=l_vec, level=level)
        rows.append((float(m), il, ih, cl, ch, "union of vertex Wald intervals"))
    table = pd.DataFrame(rows, columns=["mbar", "id_low", "id_high", "ci_low", "ci_high", "method"])
    table.attrs["breakdown_ci"] = breakdown_mbar(beta, sigma, n_pre, l_vec=l_vec, level=level)
    table.attrs["breakdown_identified"] = breakdown_mbar(
        beta, sigma, n_pre, l_vec=l_vec, level=level, kind="identified"
    )
    return table
