"""Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens and Wager 2021).

For a wave of one to three pilot forces, SDID re-weights the never-treated forces (unit weights
``omega``) and the pre-treatment periods (time weights ``lambda``) so that the weighted comparison
tracks the pilots before go-live, then takes the weighted difference in differences::

    gap_t = mean_treated_t - omega' Y_controls_t
    tau   = mean of gap_t over post-periods  -  lambda' (gap_t over pre-periods)

The weights are computed exactly as the R package ``synthdid`` (version 0.0.9, ``synthdid_estimate``
defaults): Frank-Wolfe with exact line search on the collapsed panel, unit weights with an
intercept and ridge penalty ``zeta_omega = (N1 T1)^(1/4) * sigma`` (``sigma`` the standard deviation
of the controls' pre-period first differences), time weights with an intercept and
``zeta_lambda = 1e-6 sigma``; 100 iterations, then sparsification (weights at most a quarter of
the largest set to zero) and a restart with at most 10,000 iterations, stopping when an iteration
lowers the objective by less than ``(1e-5 sigma)^2``. ``method="sc"`` is synthetic control as
``synthdid::sc_estimate`` (no intercept, ``zeta_omega = 1e-6 sigma``, no time weights) and
``method="did"`` is the plain DiD with uniform weights (``synthdid::did_estimate``).

Staggered designs are handled as Clarke, Pailanir, Athey and Imbens (2023, Stata ``sdid``): each
adoption cohort is estimated against the never-treated units over all periods, and the overall
effect is the average of cohort effects weighted by their number of treated unit-periods.

Inference (``"ri"``): placebo inference over the comparison forces, Algorithm 4 of Arkhangelsky et
al. and the ``placebo`` variance of R ``synthdid``/Stata ``sdid``: the treated adoption pattern
is given to comparison units drawn at random (all distinct placebo assignments when they are no
more than ``settings.reps``), the estimator is rerun on the comparison units only, the standard
error is the standard deviation of the placebo estimates (``sqrt((B-1)/B) * sd``, as R), the
interval is ``estimate +/- z * se`` and the p-value is the rank of ``|estimate|`` among the
placebo ``|estimates|``: ``(1 + #{|placebo| >= |estimate|}) / (B + 1)``. The weights depend on the
outcome, so the generic randomization machinery (linear statistics) is not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.design import design_warnings, n_effectively_treated, reclassified_units
from evaluation.errors import ConfigError, EstimationError, check_option
from evaluation.inference.base import InferenceSettings
from evaluation.inference.randomization import (
    count_assignments,
    draw_assignments,
    enumerate_assignments,
)
from evaluation.panel import Panel
from evaluation.periods import parse_period
from evaluation.results import DidResult, Estimate

__all__ = ["SDID_METHODS", "SdidFit", "fit_sdid", "sdid_block", "sdid_staggered"]

SdidMethod = Literal["sdid", "sc", "did"]
SDID_METHODS: tuple[SdidMethod, ...] = ("sdid", "sc", "did")


# ---------------------------------------------------------------------------------- solver
def _sc_weights(
    Y: np.ndarray,
    zeta: np.ndarray,
    *,
    intercept: bool,
    init: np.ndarray | None,
    min_decrease: np.ndarray,
    max_iter: int,
) -> np.ndarray:
    """Simplex weights on the first columns of ``Y`` predicting its last column, batched.

    For each batch ``b``: Frank-Wolfe with exact line search for ``|A w - b|^2 + eta |w|^2``,
    ``eta = rows * zeta^2``, as R ``synthdid``'s ``sc.weight.fw``, written in Gram form
    (``G = A'A``, ``G w`` updated) and run for all batches at once. Each batch stops as R does:
    after ``max_iter`` iterations or once an iteration lowers
    ``zeta^2 |w|^2 + |A w - b|^2 / rows`` by no more than ``min_decrease^2``.

    Parameters
    ----------
    Y
        Shape (B, rows, cols + 1); the last column is the target.
    zeta, min_decrease
        Shape (B,).
    init
        Starting weights (B, cols), default uniform.
    """
    B, n_rows, n_cols = Y.shape[0], Y.shape[1], Y.shape[2] - 1
    w = np.full((B, n_cols), 1.0 / n_cols) if init is None else init.astype(float).copy()
    if intercept:
        Y = Y - Y.mean(axis=1, keepdims=True)
    A, b = Y[:, :, :n_cols], Y[:, :, n_cols]
    G = np.matmul(np.swapaxes(A, 1, 2), A)
    c = np.einsum("brc,br->bc", A, b)
    bb = np.einsum("br,br->b", b, b)
    g_diag = np.diagonal(G, axis1=1, axis2=2)
    z2 = zeta**2
    eta = n_rows * z2
    md2 = min_decrease**2
    Gw = np.einsum("bij,bj->bi", G, w)
    rows = np.arange(B)
    prev = np.full(B, np.inf)
    curr = np.full(B, np.inf)
    active = np.ones(B, dtype=bool)
    it = 0
    while it < max_iter and active.any():
        it += 1
        half_grad = Gw - c + eta[:, None] * w
        i = np.argmin(half_grad, axis=1)
        wGw = np.einsum("bi,bi->b", w, Gw)
        ww = np.einsum("bi,bi->b", w, w)
        wi, Gwi = w[rows, i], Gw[rows, i]
        denom = g_diag[rows, i] - 2.0 * Gwi + wGw + eta * (1.0 - 2.0 * wi + ww)
        moved = ~((wi == 1.0) & (ww == 1.0)) & (denom > 0)
        num = -(half_grad[rows, i] - np.einsum("bi,bi->b", half_grad, w))
        step = np.divide(num, denom, out=np.zeros(B), where=moved)
        s = np.where(active & moved, np.clip(step, 0.0, 1.0), 0.0)
        w *= (1.0 - s)[:, None]
        w[rows, i] += s
        Gw *= (1.0 - s)[:, None]
        Gw += s[:, None] * G[rows, :, i]
        val = (
            z2 * np.einsum("bi,bi->b", w, w)
            + (np.einsum("bi,bi->b", w, Gw) - 2.0 * np.einsum("bi,bi->b", c, w) + bb) / n_rows
        )
        prev = np.where(active, curr, prev)
        curr = np.where(active, val, curr)
        if it >= 2:
            active &= prev - curr > md2
    return w


def _sparsify(v: np.ndarray) -> np.ndarray:
    v = v.copy()
    v[v <= v.max(axis=1, keepdims=True) / 4.0] = 0.0
    return v / v.sum(axis=1, keepdims=True)


def _collapsed(Y: np.ndarray, n0: int, t0: int) -> np.ndarray:
    """(B, N0 + 1, T0 + 1): treated rows and post columns averaged."""
    top = np.concatenate([Y[:, :n0, :t0], Y[:, :n0, t0:].mean(axis=2)[:, :, None]], axis=2)
    bottom = np.concatenate(
        [Y[:, n0:, :t0].mean(axis=1), Y[:, n0:, t0:].mean(axis=(1, 2))[:, None]], axis=1
    )
    return np.concatenate([top, bottom[:, None, :]], axis=1)


@dataclass(frozen=True)
class SdidFit:
    """Treated blocks (a batch of B designs of equal shape): estimates, weights, effect curves.

    Attributes
    ----------
    estimate
        The blocks' average effects, shape (B,).
    omega, lam
        Unit weights (B, N0) and time weights (B, T0); each row nonnegative, summing to one
        (``lam`` is all zeros for ``method="sc"``).
    curve
        Effect in each post-period, (B, T1): ``(treated mean - omega' controls)_t`` minus the
        ``lam``-weighted pre-period gap.
    """

    estimate: np.ndarray
    omega: np.ndarray
    lam: np.ndarray
    curve: np.ndarray


def sdid_block(
    Y: np.ndarray,
    n0: int,
    t0: int,
    *,
    method: SdidMethod = "sdid",
    eta_omega: float | None = None,
    max_iter: int = 10_000,
    max_iter_pre_sparsify: int = 100,
) -> SdidFit:
    """SDID, SC or DiD by block (R ``synthdid_estimate``, ``sc_estimate``, ``did_estimate``).

    Parameters
    ----------
    Y
        Outcomes, shape (N, T) or a batch (B, N, T): the first ``n0`` rows are controls, the
        first ``t0`` columns are pre-treatment.
    n0, t0
        Number of control units and of pre-treatment periods.
    method
        ``"sdid"``, ``"sc"`` or ``"did"``.
    eta_omega
        Unit-weight regularisation relative to the noise level (R ``eta.omega``); default
        ``(N1 T1)^(1/4)`` for SDID and ``1e-6`` for SC.
    max_iter, max_iter_pre_sparsify
        Frank-Wolfe iteration limits (R ``max.iter`` and ``max.iter.pre.sparsify``).

    Examples
    --------
    >>> Y = np.array([[1.0, 2.0, 3.0], [2.0, 3.0, 5.0], [1.5, 2.5, 6.0]])
    >>> sdid_block(Y, 2, 2, method="did").estimate.round(6).tolist()
    [2.0]
    """
    check_option("method", method, SDID_METHODS)
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 2:
        Y = Y[None]
    B, n, t = Y.shape
    n1, t1 = n - n0, t - t0
    if n1 < 1 or t1 < 1 or n0 < 1 or t0 < 1:
        raise EstimationError("SDID needs control and treated units, pre- and post-periods")
    if method == "did":
        omega = np.full((B, n0), 1.0 / n0)
        lam = np.full((B, t0), 1.0 / t0)
    else:
        diffs = np.diff(Y[:, :n0, :t0], axis=2).reshape(B, -1)
        if diffs.shape[1] < 2:
            raise EstimationError(
                "SDID needs at least two pre-treatment periods to set its regularisation"
            )
        noise = np.std(diffs, axis=1, ddof=1)
        min_decrease = 1e-5 * noise
        if eta_omega is None:
            eta_omega = 1e-6 if method == "sc" else (n1 * t1) ** 0.25
        zeta_omega, zeta_lambda = eta_omega * noise, 1e-6 * noise
        Yc = _collapsed(Y, n0, t0)

        def solve(M: np.ndarray, zeta: np.ndarray, intercept: bool) -> np.ndarray:
            w = _sc_weights(
                M,
                zeta,
                intercept=intercept,
                init=None,
                min_decrease=min_decrease,
                max_iter=max_iter_pre_sparsify,
            )
            return _sc_weights(
                M,
                zeta,
                intercept=intercept,
                init=_sparsify(w),
                min_decrease=min_decrease,
                max_iter=max_iter,
            )

        if method == "sc":
            lam = np.zeros((B, t0))
        else:
            lam = solve(Yc[:, :n0, :], zeta_lambda, True)
        omega = solve(np.swapaxes(Yc[:, :, :t0], 1, 2), zeta_omega, method == "sdid")
    gap = Y[:, n0:, :].mean(axis=1) - np.einsum("bi,bit->bt", omega, Y[:, :n0, :])
    curve = gap[:, t0:] - np.einsum("bt,bt->b", gap[:, :t0], lam)[:, None]
    return SdidFit(estimate=curve.mean(axis=1), omega=omega, lam=lam, curve=curve)


@dataclass(frozen=True)
class _Staggered:
    att: np.ndarray  # (B,)
    cohorts: np.ndarray  # cohort codes
    cohort_att: np.ndarray  # (B, n_cohorts)
    cohort_weight: np.ndarray  # treated cells share
    fits: tuple[SdidFit, ...]
    post_times: tuple[np.ndarray, ...]  # post-period codes per cohort
    treated_counts: np.ndarray


def sdid_staggered(
    Y: np.ndarray, cohorts: np.ndarray, times: np.ndarray, *, method: SdidMethod = "sdid"
) -> _Staggered:
    """Cohort-by-cohort estimates against never-treated units (Clarke et al. 2023), batched.

    ``Y`` is units x periods (balanced); ``cohorts`` the first treated period per unit (``inf``
    never treated), shape (N,) or a batch of assignments (B, N) with the same cohort counts;
    ``times`` the period codes. The overall effect averages the cohort effects weighted by
    treated unit-periods.
    """
    cohorts = np.atleast_2d(np.asarray(cohorts, dtype=float))
    never = ~np.isfinite(cohorts)
    n0 = int(never[0].sum())
    if n0 == 0:
        raise EstimationError("SDID needs never-treated comparison units")
    codes = np.unique(cohorts[0][~never[0]])
    fits, atts, cells, posts, counts = [], [], [], [], []
    for g in codes:
        treated = cohorts == g
        n1 = int(treated[0].sum())
        t0 = int((times < g).sum())
        if t0 == 0 or t0 == len(times):
            raise EstimationError(f"cohort {g:g} has no pre-period or no post-period in the panel")
        # per draw: never-treated rows first (in unit order), then the cohort's rows
        rank = np.where(never, 0, np.where(treated, 1, 2))
        order = np.argsort(rank, axis=1, kind="stable")[:, : n0 + n1]
        fit = sdid_block(Y[order], n0, t0, method=method)
        fits.append(fit)
        atts.append(fit.estimate)
        cells.append(n1 * (len(times) - t0))
        posts.append(times[t0:])
        counts.append(n1)
    w = np.asarray(cells, dtype=float) / np.sum(cells)
    cohort_att = np.column_stack(atts)
    return _Staggered(
        cohort_att @ w, codes, cohort_att, w, tuple(fits), tuple(posts), np.asarray(counts)
    )


def _targets(fit: _Staggered, events: list[int] | None = None) -> tuple[np.ndarray, list[int]]:
    """Return the (B, k) targets and the event times.

    Targets: overall, effect by event time (cohort curves weighted by treated units), then every
    cohort's effect curve.
    """
    num: dict[int, np.ndarray] = {}
    den: dict[int, float] = {}
    for g, f, post, n1 in zip(
        fit.cohorts, fit.fits, fit.post_times, fit.treated_counts, strict=True
    ):
        for j, t in enumerate(post):
            e = int(t - g)
            num[e] = num.get(e, 0.0) + n1 * f.curve[:, j]
            den[e] = den.get(e, 0.0) + n1
    events = sorted(num) if events is None else events
    B = fit.att.shape[0]
    curve = [num[e] / den[e] if e in num else np.full(B, np.nan) for e in events]
    gt = [f.curve for f in fit.fits]
    return np.column_stack([fit.att, *curve, *gt]), events


# ---------------------------------------------------------------------------------- public
def _cohort_code(panel: Panel, cohort: object) -> float:
    if isinstance(cohort, int | float | np.integer | np.floating) and panel.frequency is None:
        return float(cohort)
    if panel.frequency is None:
        try:
            return float(str(cohort))
        except ValueError:
            raise ConfigError(f"cohort must be a period number; got {cohort!r}") from None
    try:
        return float(parse_period(str(cohort)).ordinal)
    except ValueError:
        raise ConfigError(
            f"cohort must be a period label such as 2022-04; got {cohort!r}"
        ) from None


def fit_sdid(
    panel: Panel,
    outcome: str,
    *,
    cohort: object | None = None,
    method: SdidMethod = "sdid",
    inference: str | None = "ri",
    settings: InferenceSettings | None = None,
) -> DidResult:
    """Synthetic DiD (or synthetic control) for a wave of pilots, with placebo inference.

    Parameters
    ----------
    panel
        A balanced panel with never-treated comparison units.
    outcome
        Outcome column.
    cohort
        One adoption cohort (its first treated period, as in the data) or ``None`` for every
        cohort, each against the never-treated units, averaged with weights = treated
        unit-periods (Clarke et al. 2023). Units of other cohorts are left out.
    method
        ``"sdid"`` (default), ``"sc"`` (synthetic control weights, as ``synthdid::sc_estimate``)
        or ``"did"`` (uniform weights).
    inference
        ``"ri"``: placebo inference over the comparison units (see the module docstring).
        ``None`` means ``"ri"``.
    settings
        ``reps`` placebo draws (all distinct placebo assignments when there are no more than
        that), ``level``, and ``rng`` (needed when placebo assignments are sampled).

    Returns
    -------
    DidResult
        ``overall`` the (cell-weighted) ATT with placebo SE, interval and p-value;
        ``event_study`` by event time; ``group_time`` the cohort effect curves;
        ``aggregations["cohort"]`` the cohort effects and weights; ``info`` the unit and time
        weights and the placebo estimates.

    Raises
    ------
    EstimationError
        Unbalanced panel, no never-treated units, a cohort with no pre-period, fewer than two
        pre-periods, or no more comparison units than pilots (placebo inference impossible).
    """
    check_option("method", method, SDID_METHODS)
    inference = inference or "ri"
    if inference != "ri":
        raise ConfigError(
            f"inference {inference!r} is not available for method 'sdid'; it offers 'ri' "
            "(placebo inference over comparison units)"
        )
    if outcome not in panel.outcomes:
        raise ConfigError(f"outcome {outcome!r} is not in the panel; have {list(panel.outcomes)}")
    settings = settings or InferenceSettings()
    if cohort is not None:
        code = _cohort_code(panel, cohort)
        if code not in set(panel.cohorts.tolist()):
            allowed = [panel.time_label(c) for c in panel.cohorts]
            raise ConfigError(f"cohort must be one of {allowed}; got {cohort!r}")
        g = panel.unit_cohorts.to_numpy()
        keep = panel.units[(g == code) | ~np.isfinite(g)]
        panel = panel.subset_units(keep)
    wide = panel.wide(outcome)
    if wide.isna().to_numpy().any():
        raise EstimationError(
            "SDID needs a balanced panel: some unit-periods are missing "
            f"({int(wide.isna().to_numpy().sum())} cells)"
        )
    Y = wide.to_numpy(dtype=float)
    cohorts = panel.unit_cohorts.to_numpy(dtype=float)
    times = panel.times.astype(float)
    fit = sdid_staggered(Y, cohorts, times, method=method)
    est_b, events = _targets(fit)
    est = est_b[0]

    never = ~np.isfinite(cohorts)
    n0, n1 = int(never.sum()), int((~never).sum())
    if n0 <= n1:
        raise EstimationError(
            f"placebo inference needs more comparison units ({n0}) than pilots ({n1})"
        )
    pattern = np.concatenate([cohorts[~never], np.full(n0 - n1, np.inf)])
    placebo, exact = _placebo(Y[never], pattern, times, method, settings, events)
    inf_se, lo, hi, p = _summarise(est, placebo, settings.level)

    labels: dict[str, np.ndarray] = {
        "units": panel.units,
        "never": panel.units[never],
    }
    return _result(
        panel,
        outcome,
        method,
        fit,
        events,
        est,
        inf_se,
        lo,
        hi,
        p,
        placebo,
        exact,
        labels,
        settings,
    )


def _placebo(
    Yc: np.ndarray,
    pattern: np.ndarray,
    times: np.ndarray,
    method: SdidMethod,
    settings: InferenceSettings,
    events: list[int],
) -> tuple[np.ndarray, bool]:
    """Placebo estimates: treated adoption pattern given to comparison units."""
    n_distinct = count_assignments(pattern)
    exact = n_distinct <= settings.reps
    draws = (
        enumerate_assignments(pattern)
        if exact
        else draw_assignments(pattern, settings.reps, settings.generator())
    )
    out = [
        _targets(sdid_staggered(Yc, draws[s : s + 1000], times, method=method), events)[0]
        for s in range(0, len(draws), 1000)
    ]
    return np.vstack(out), exact


def _summarise(
    est: np.ndarray, placebo: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    B = placebo.shape[0]
    se = (
        np.sqrt((B - 1) / B) * np.nanstd(placebo, axis=0, ddof=1)
        if B > 1
        else np.full(len(est), np.nan)
    )
    z = stats.norm.ppf(0.5 + level / 2)
    hits = (np.abs(placebo) >= np.abs(est)[None, :] - 1e-12 * (1 + np.abs(est))).sum(axis=0)
    p = (1.0 + hits) / (B + 1.0)
    return se, est - z * se, est + z * se, p


def _result(
    panel: Panel,
    outcome: str,
    method: str,
    fit: _Staggered,
    events: list[int],
    est: np.ndarray,
    se: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    p: np.ndarray,
    placebo: np.ndarray,
    exact: bool,
    labels: dict[str, np.ndarray],
    settings: InferenceSettings,
) -> DidResult:
    n_e = len(events)
    es = pd.DataFrame(
        {
            "event_time": events,
            "estimate": est[1 : 1 + n_e],
            "se": se[1 : 1 + n_e],
            "ci_low": lo[1 : 1 + n_e],
            "ci_high": hi[1 : 1 + n_e],
            "p_value": p[1 : 1 + n_e],
        }
    )
    groups = [
        panel.time_label(g)
        for g, post in zip(fit.cohorts, fit.post_times, strict=True)
        for _ in post
    ]
    gtimes = [panel.time_label(t) for post in fit.post_times for t in post]
    sl = slice(1 + n_e, None)
    gt = pd.DataFrame(
        {
            "group": groups,
            "time": gtimes,
            "estimate": est[sl],
            "se": se[sl],
            "ci_low": lo[sl],
            "ci_high": hi[sl],
        }
    )
    by_cohort = pd.DataFrame(
        {
            "group": [panel.time_label(g) for g in fit.cohorts],
            "estimate": fit.cohort_att[0],
            "weight": fit.cohort_weight,
            "n_treated": fit.treated_counts,
        }
    )
    treated_units = panel.units[np.isfinite(panel.unit_cohorts.to_numpy())]
    g_of = panel.unit_cohorts
    weights_info = {}
    for g, f in zip(fit.cohorts, fit.fits, strict=True):
        pre = panel.times[panel.times < g]
        weights_info[str(panel.time_label(g))] = {
            "pilots": [str(u) for u in treated_units if g_of[u] == g],
            "unit_weights": dict(zip(map(str, labels["never"]), f.omega[0].tolist(), strict=True)),
            "time_weights": dict(
                zip([str(panel.time_label(t)) for t in pre], f.lam[0].tolist(), strict=True)
            ),
        }
    warnings = list(design_warnings(panel, "ri", "sdid"))
    if panel.covariates:
        warnings.append(f"sdid does not adjust for covariates; ignored: {list(panel.covariates)}")
    overall = Estimate(
        estimate=float(est[0]),
        se=float(se[0]),
        ci_low=float(lo[0]),
        ci_high=float(hi[0]),
        p_value=float(p[0]),
        inference="ri",
        level=settings.level,
    )
    return DidResult(
        method="sdid" if method == "sdid" else f"sdid:{method}",
        control="never",
        outcome=outcome,
        n_units=panel.n_units,
        n_periods=panel.n_periods,
        n_treated_units=n_effectively_treated(panel),
        overall=overall,
        group_time=gt,
        event_study=es,
        aggregations={"cohort": by_cohort},
        warnings=tuple(warnings),
        info={
            "reclassified_units": list(reclassified_units(panel)),
            "weights": weights_info,
            "placebo_estimates": placebo[:, 0],
            "placebo_exact": exact,
            "placebo_draws": int(placebo.shape[0]),
            "se_note": "placebo standard error: sqrt((B-1)/B) * sd of placebo estimates "
            "(R synthdid vcov(method='placebo')); p-value: rank among placebo estimates",
            "estimator": {
                "sdid": "synthetic difference-in-differences (Arkhangelsky et al. 2021)",
                "sc": "synthetic control (synthdid::sc_estimate)",
                "did": "difference-in-differences with uniform weights",
            }[method],
        },
    )
