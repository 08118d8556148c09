"""Analytic minimum detectable effect of a panel DiD with serial correlation (BPW 2020).

Burlig, Preonas and Woerman (2020, *Journal of Development Economics* 144, eq. 7) give the
variance of the difference-in-differences estimate with ``m`` pre and ``r`` post periods, ``J``
units of which a share ``P`` is treated, when errors are serially correlated within unit::

    Var = [ (m + r)/(m r) sigma2 + (m - 1)/m psi_B + (r - 1)/r psi_A - 2 psi_X ] / (P (1 - P) J)

``sigma2`` is the error variance, ``psi_B`` and ``psi_A`` the average covariance between two
distinct pre (before) and two distinct post (after) periods of a unit, and ``psi_X`` the average
covariance between a pre and a post period. The MDE at power ``1 - kappa`` and two-sided size
``alpha`` is ``(z_{1-kappa} + z_{1-alpha/2}) sqrt(Var)`` (normal quantiles; BPW write t).

The components are estimated on the user's own history, as BPW recommend: over every window of
the design's length, the covariance across forces of the outcome net of month means (common
shocks cancel in a DiD; a force's own level cancels too: its weights in the bracket sum to zero).
The average over windows is used. Forces with an absent month in a window are left out of that
window's covariance.

One change to BPW: the error variance may differ before and after go-live (``sigma2_pre``,
``sigma2_post``; the bracket's first term becomes ``sigma2_pre / m + sigma2_post / r``, which is
BPW's when the two are equal). Force panels in levels grow at different rates in forces of very
different sizes, so the variance is far from constant over time; with the two variances the
formula is the exact variance of the DiD of means for the history's covariance matrix (the
block averages are all the quadratic form uses).

Callaway and Sant'Anna compare each post period with the last period before go-live (the base
period), not with the mean of all pre periods, so for that estimator the formula is applied with
``m = 1`` (only the base period): ``analytic_mde(..., estimator="cs")``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from evaluation.errors import ConfigError

__all__ = ["BPWComponents", "analytic_mde", "bpw_components", "bpw_variance"]

#: estimators whose DiD uses every pre period (TWFE-like) rather than the base period only
_ALL_PRE = ("twfe", "did2x2", "imputation", "event_study")


@dataclass(frozen=True)
class BPWComponents:
    """Error variance and average within-unit covariances of BPW's formula."""

    sigma2_pre: float
    sigma2_post: float
    psi_pre: float
    psi_post: float
    psi_cross: float
    m: int
    r: int
    n_units: int
    n_windows: int

    @property
    def sigma2(self) -> float:
        """Average error variance over the window (BPW's single ``sigma2``)."""
        return (self.m * self.sigma2_pre + self.r * self.sigma2_post) / (self.m + self.r)


def _offdiag_mean(block: np.ndarray) -> float:
    n = block.shape[0]
    if n < 2:
        return 0.0
    return float((block.sum() - np.trace(block)) / (n * (n - 1)))


def bpw_components(y: np.ndarray, m: int, r: int, *, base_only: bool = False) -> BPWComponents:
    """Estimate BPW's components from ``(units, periods)`` history windows of ``m + r`` periods.

    Every window of ``m + r`` consecutive periods is used (pre = its first ``m``, post = the
    rest); the components are averaged over windows. With ``base_only`` the pre block is the
    last pre period alone (``m`` becomes 1), as for Callaway-Sant'Anna.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> c = bpw_components(rng.standard_normal((400, 6)), 3, 3)
    >>> round(c.sigma2, 1), abs(c.psi_cross) < 0.05
    (1.0, True)
    """
    y = np.asarray(y, dtype=float)
    n_periods = y.shape[1]
    if m < 1 or r < 1:
        raise ConfigError(f"need at least one pre and one post period; got m={m}, r={r}")
    if n_periods < m + r:
        raise ConfigError(f"history has {n_periods} periods; the design needs {m + r}")
    parts = []
    used = []
    for s in range(n_periods - m - r + 1):
        win = y[:, s : s + m + r]
        if base_only:
            win = win[:, m - 1 :]
        keep = ~np.isnan(win).any(axis=1)
        if keep.sum() < 3:
            continue
        u = win[keep] - win[keep].mean(axis=0)
        cov = u.T @ u / (keep.sum() - 1)
        mm = 1 if base_only else m
        diag = np.diag(cov)
        parts.append(
            (
                float(np.mean(diag[:mm])),
                float(np.mean(diag[mm:])),
                _offdiag_mean(cov[:mm, :mm]),
                _offdiag_mean(cov[mm:, mm:]),
                float(cov[:mm, mm:].mean()),
            )
        )
        used.append(int(keep.sum()))
    if not parts:
        raise ConfigError("no history window has three or more forces with every period present")
    s_b, s_a, psi_b, psi_a, psi_x = (float(v) for v in np.mean(parts, axis=0))
    return BPWComponents(
        s_b, s_a, psi_b, psi_a, psi_x, 1 if base_only else m, r, int(np.mean(used)), len(parts)
    )


def bpw_variance(c: BPWComponents, n_units: int, p_treated: float) -> float:
    """Variance of the DiD estimate (BPW eq. 7) for ``n_units`` units, share ``p_treated``."""
    if not 0 < p_treated < 1:
        raise ConfigError(f"the treated share must be between 0 and 1; got {p_treated}")
    m, r = c.m, c.r
    bracket = (
        c.sigma2_pre / m
        + c.sigma2_post / r
        + (m - 1) / m * c.psi_pre
        + (r - 1) / r * c.psi_post
        - 2 * c.psi_cross
    )
    return max(bracket, 0.0) / (p_treated * (1 - p_treated) * n_units)


def analytic_mde(
    y: np.ndarray,
    *,
    pre_months: int,
    post_months: int,
    pilots: int,
    estimator: str = "cs",
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Return the BPW minimum detectable effect (levels per unit-period, constant effect).

    ``y`` is the ``(forces, periods)`` history. ``estimator`` ``"cs"`` uses the base period only
    (m = 1); TWFE-like estimators use all ``pre_months``.
    """
    n_units = y.shape[0]
    if not 0 < pilots < n_units:
        raise ConfigError(f"need between 1 and {n_units - 1} pilots; got {pilots}")
    comp = bpw_components(y, pre_months, post_months, base_only=estimator not in _ALL_PRE)
    var = bpw_variance(comp, n_units, pilots / n_units)
    z = stats.norm.ppf(power) + stats.norm.ppf(1 - alpha / 2)
    return float(z * np.sqrt(var))
