"""Imputation estimator of Borusyak, Jaravel and Spiess (2024), the cross-check estimator.

The untreated potential outcome is modelled as unit plus period fixed effects (plus optional
covariates): ``Y_it(0) = alpha_i + lambda_t + X_it' beta + e_it``. The model is fitted on the
untreated observations only (never-treated units, and treated units before their go-live), the
untreated outcome is imputed for every treated observation, and effects are averages of the
differences ``tau_it = Y_it - Y_it(0)_hat``:

* overall ATT: the mean over all treated observations (BJS's default equal weights);
* event study: the mean over treated observations ``h`` periods after go-live, ``h >= 0``;
* group-time cells: the mean over the units of cohort ``g`` in period ``t``.

For point estimates this is the same as Gardner's (2021) two-stage DiD (``did2s``): first stage
on untreated observations, second stage a regression of the residualised outcome on treatment
indicators. Tests check the equality with :func:`pyfixest.did2s` to 1e-8.

Pre-trend test
--------------
``pretrends=k`` adds BJS's test (their Section 4.4, Stata ``did_imputation, pretrends(k)``): on the
untreated observations only, the outcome is regressed on the fixed effects (and covariates) and
indicators for the ``k`` periods before go-live. Their coefficients are reported as the negative
event times of the event study; the main estimates are unaffected.

Inference
---------
* ``"cr1"``: BJS's analytic conservative variance (their Theorem 3), clustered by unit. Every
  target is linear in the outcome, ``tau_hat = sum_it v_it Y_it``, with implicit weights
  ``v_it``: the averaging weights on treated cells and, on untreated cells,
  ``v_0 = -Z_0 (Z_0'Z_0)^- Z_1' w`` (``Z`` the unit and period dummies and covariates), solved
  exactly by the same elimination as the fit (:func:`_implicit_weights`). The variance is
  ``sum_i (sum_t v_it eps_tilde_it)^2`` with ``eps_tilde`` the untreated-model residuals on
  untreated cells and, on treated cells, ``tau_hat_it`` minus its average over the cell's
  ``avg_effects_by`` group (default cohort x period, as Stata ``did_imputation``; optional
  leave-out version). It is posed as an :class:`~evaluation.inference.base.InfluenceProblem`
  with ``influence[i, j] = n * sum_t v_it eps_tilde_it``, so the analytic
  ``sqrt(sum psi^2) / n`` is exactly BJS's standard error (no small-sample factor, normal
  reference). Pre-trend coefficients are OLS coefficients: their scores use the pre-trend
  regression's residuals times ``sqrt`` of the CR1 factor ``G/(G-1) * (n-1)/(n-k)``
  (``k`` = pre-trend indicators + covariates + identified periods, i.e. periods - 1 + intercept;
  unit effects nested in clusters not counted). Details and validation:
  ``docs/methods-imputation.md``.
* ``"multiplier"``: the multiplier bootstrap of the same unit scores, with a sup-t band over
  the event-study coefficients.
* ``"cr3"``: the cluster (unit) jackknife, refitting the whole estimator with each unit left out
  (:class:`~evaluation.inference.base.RefitProblem`); CR3 = (G-1)/G * sum of squared deviations of
  the leave-one-out estimates. When leaving a unit out disconnects the untreated force-periods
  (a treated observation's unit and period no longer linked through untreated observations),
  the imputed outcomes, and so that leave-one-out estimate, are not identified: the jackknife
  variance is then undefined and an :class:`~evaluation.errors.EstimationError` names the unit
  (exit code 2). Skipping the unit instead would drop exactly the unit the estimate leans on
  most and understate the variance; ``"cr1"`` or ``"ri"`` remain available.
* ``"ri"``: randomization inference reassigning the unit cohort vector. The estimator is linear
  in the outcome, and the fixed-effects fit on the untreated cells of every assignment is solved
  *exactly and at once* for all B assignments: the unit effects are eliminated and the period
  effects solve a batched T x T system (see :func:`_fe_fit`). Covariates and pre-trend indicators
  are partialled out the same way (Frisch-Waugh-Lovell), so no refit loop is needed.
* ``"wild"``: not available (the estimator is not a single regression); a
  :class:`~evaluation.errors.ConfigError` says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.design import (
    design_warnings,
    n_effectively_treated,
    reclassified_units,
    recommended_inference,
)
from evaluation.errors import ConfigError, EstimationError, check_option
from evaluation.estimators._covariates import check_fe_covariates
from evaluation.inference.base import (
    InferenceMethod,
    InferenceOutcome,
    InferenceSettings,
    InfluenceProblem,
    PermutationProblem,
    RefitProblem,
    get_method,
    pick_problem,
)
from evaluation.panel import Panel
from evaluation.results import DidResult, Estimate

__all__ = [
    "AVG_EFFECTS_BY",
    "IMPUTATION_INFERENCE",
    "ImputationVariance",
    "fit_imputation",
    "imputation_statistic",
    "imputation_variance",
]

#: Inference methods this estimator poses problems for.
IMPUTATION_INFERENCE = ("cr1", "cr3", "multiplier", "ri")


# ---------------------------------------------------------------------------------- the core
def _fe_solve(
    W: np.ndarray, ra: np.ndarray, rl: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Solve the unit + period normal equations on the cells where ``W`` is 1, batched.

    Finds ``(a, l)`` with ``sum_t W_it (a_i + l_t) = ra_i`` for every unit and
    ``sum_i W_it (a_i + l_t) = rl_t`` for every period (per batch ``b`` and column ``m``). With
    ``ra = sum_t W Z`` and ``rl = sum_i W Z`` these are the least-squares normal equations of
    ``Z`` on the fixed effects (:func:`_fe_fit`); the implicit weights of the estimator solve
    them with other right-hand sides (:func:`_implicit_weights`). Unit effects are eliminated
    (``a_i = (ra_i - sum_t W_it l_t) / n_i``), leaving the batched ``T x T`` system
    ``(diag(D) - W' diag(1/n) W) l = rl - W' diag(1/n) ra``; its one-dimensional null space (a
    constant shift between unit and period effects) is removed by adding ``u u'`` with ``u``
    the indicator of periods with fitting cells, which pins ``u'l = 0`` without changing
    ``a_i + l_t`` (the right-hand sides must satisfy ``sum_i ra_i = sum_t rl_t``).

    Parameters
    ----------
    W
        Mask of fitting cells, shape (B, N, T), 0/1 floats.
    ra, rl
        Right-hand sides, shapes (B, N, m) and (B, T, m).

    Returns
    -------
    alpha, lam, n_unit, n_time
        Unit effects (B, N, m), period effects (B, T, m), fitting cells per unit (B, N) and per
        period (B, T). Effects of units or periods without fitting cells are 0 (not identified).
    """
    T = W.shape[2]
    n = W.sum(axis=2)
    D = W.sum(axis=1)
    inv_n = np.divide(1.0, n, out=np.zeros_like(n), where=n > 0)
    Wn = W * inv_n[:, :, None]
    A = -np.matmul(np.swapaxes(Wn, 1, 2), W)  # (B, T, T)
    diag = np.arange(T)
    A[:, diag, diag] += D
    rhs = rl - np.matmul(np.swapaxes(Wn, 1, 2), ra)
    u = (D > 0).astype(float)
    A += u[:, :, None] * u[:, None, :]
    A[:, diag, diag] += 1.0 - u
    lam = np.linalg.solve(A, rhs)
    alpha = inv_n[..., None] * (ra - np.matmul(W, lam))
    return alpha, lam, n, D


def _fe_fit(W: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares unit + period effects on the cells where ``W`` is 1, batched.

    Minimises ``sum_it W_bit (Z_bitm - a_bim - l_btm)^2`` separately for every batch ``b`` and
    column ``m`` by solving the normal equations with :func:`_fe_solve`.

    Parameters
    ----------
    W
        Mask of fitting cells, shape (B, N, T), 0/1 floats.
    Z
        Values, shape (B or 1, N, T, m); entries outside ``W`` are ignored.

    Returns
    -------
    alpha, lam, n_unit, n_time
        As :func:`_fe_solve`.
    """
    WZ = W[..., None] * Z
    return _fe_solve(W, WZ.sum(axis=2), WZ.sum(axis=1))


@dataclass(frozen=True)
class _Layout:
    """Wide-array view of a panel fixed for every evaluation of the statistic."""

    unit_index: np.ndarray  # row -> unit code
    time_index: np.ndarray  # row -> period code
    times: np.ndarray  # period codes (T,)
    observed: np.ndarray  # (N, T) bool
    X: np.ndarray  # (N, T, K) covariates, 0 where absent
    horizons: tuple[int, ...]
    cells: tuple[tuple[float, float], ...]  # (cohort, time code) group-time cells
    pretrends: int

    @property
    def names(self) -> list[str]:
        out = ["overall"]
        out += [f"h={h}" for h in self.horizons]
        out += [f"g={g:g},t={t:g}" for g, t in self.cells]
        out += [f"pre={-j}" for j in range(self.pretrends, 0, -1)]
        return out

    def wide(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros(self.observed.shape)
        out[self.unit_index, self.time_index] = values
        return out


def _targets(
    layout: _Layout, Y: np.ndarray, cohorts: np.ndarray, keep: np.ndarray | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Evaluate every target for B cohort assignments at once.

    ``Y`` is (N, T) (zeros where unobserved); ``cohorts`` is (B, N). ``keep`` optionally drops
    units (jackknife). Returns the (B, k) estimates and diagnostics of the fit.
    """
    cohorts = np.atleast_2d(np.asarray(cohorts, dtype=float))
    B = cohorts.shape[0]
    obs = layout.observed.astype(float)
    if keep is not None:
        obs = obs * keep[:, None]
    t = layout.times.astype(float)
    g = cohorts[:, :, None]
    post = t[None, None, :] >= g  # (B, N, T)
    W = obs[None] * (~post)
    Tr = obs[None] * post
    K = layout.X.shape[2]
    k_pre = layout.pretrends
    event = t[None, None, :] - g  # -inf for never-treated after subtraction of inf
    # columns to partial out of the fixed effects: y, covariates, pre-trend indicators
    cols = [np.broadcast_to(Y[None, :, :, None], (B, *Y.shape, 1))]
    if K:
        cols.append(np.broadcast_to(layout.X[None], (B, *layout.X.shape)))
    if k_pre:
        pre = np.stack([(event == -j) & (W > 0) for j in range(k_pre, 0, -1)], axis=-1)
        cols.append(pre.astype(float))
    Z = np.concatenate(cols, axis=-1) if len(cols) > 1 else np.ascontiguousarray(cols[0])
    alpha, lam, n_unit, n_time = _fe_fit(W, Z)
    resid = (Z - alpha[:, :, None, :] - lam[:, None, :, :]) * W[..., None]

    # main model: FE + covariates (no pre-trend indicators)
    if K:
        Xr = resid[..., 1 : 1 + K].reshape(B, -1, K)
        yr = resid[..., 0].reshape(B, -1)
        XtX = np.matmul(np.swapaxes(Xr, 1, 2), Xr)
        Xty = np.matmul(np.swapaxes(Xr, 1, 2), yr[..., None])
        beta = np.linalg.solve(XtX, Xty)[..., 0]  # (B, K)
        a = alpha[..., 0] - np.einsum("bik,bk->bi", alpha[..., 1 : 1 + K], beta)
        lt = lam[..., 0] - np.einsum("btk,bk->bt", lam[..., 1 : 1 + K], beta)
        xb = np.einsum("itk,bk->bit", layout.X, beta)
    else:
        beta = np.zeros((B, 0))
        a, lt, xb = alpha[..., 0], lam[..., 0], 0.0
    y0 = a[:, :, None] + lt[:, None, :] + xb
    tau = (Y[None] - y0) * Tr
    imputable = (n_unit[:, :, None] > 0) & (n_time[:, None, :] > 0)
    bad = (Tr > 0) & ~imputable

    def mean_over(mask: np.ndarray) -> np.ndarray:
        num = (tau * mask).sum(axis=(1, 2))
        den = mask.sum(axis=(1, 2))
        out = np.divide(num, den, out=np.full(B, np.nan), where=den > 0)
        hit_bad = (bad & (mask > 0)).any(axis=(1, 2))
        out[hit_bad] = np.nan
        return out

    est = [mean_over(m) for m in _effect_masks(layout, Tr, g, t, event)]
    if k_pre:
        R = resid[..., 1:].reshape(B, -1, K + k_pre)
        yr = resid[..., 0].reshape(B, -1)
        RtR = np.matmul(np.swapaxes(R, 1, 2), R)
        ok = np.linalg.matrix_rank(RtR) == K + k_pre
        RtR[~ok] = np.eye(K + k_pre)
        coef = np.linalg.solve(RtR, np.matmul(np.swapaxes(R, 1, 2), yr[..., None]))[..., 0]
        coef[~ok] = np.nan
        for j in range(k_pre):
            est.append(coef[:, K + j])
    diag = {"bad": bad, "beta": beta, "n_time": n_time, "W": W, "Tr": Tr}
    return np.column_stack(est), diag


def _effect_masks(
    layout: _Layout, Tr: np.ndarray, g: np.ndarray, t: np.ndarray, event: np.ndarray
) -> list[np.ndarray]:
    """Treated cells averaged by each effect target: overall, horizons, group-time cells."""
    masks = [Tr]
    masks += [Tr * (event == h) for h in layout.horizons]
    masks += [Tr * ((g == gc) & (t[None, None, :] == tc)) for gc, tc in layout.cells]
    return masks


def _layout(
    panel: Panel, horizons: Sequence[int] | None, pretrends: int | None, cells: bool
) -> _Layout:
    N, T = panel.n_units, panel.n_periods
    observed = np.zeros((N, T), dtype=bool)
    observed[panel.unit_index, panel.time_index] = True
    K = len(panel.covariates)
    X = np.zeros((N, T, K))
    for k, c in enumerate(panel.covariates):
        X[panel.unit_index, panel.time_index, k] = panel.data[c].to_numpy(dtype=float)
    event = panel.event_time
    post_events = sorted({int(e) for e in event[np.isfinite(event) & (event >= 0)]})
    if horizons is None:
        hs = tuple(post_events)
    else:
        hs = tuple(int(h) for h in horizons)
        bad = [h for h in hs if h < 0 or h not in post_events]
        if bad:
            raise ConfigError(
                f"horizons must be post-treatment event times present in the data "
                f"({post_events}); got {bad}"
            )
    k_pre = 0 if pretrends is None else int(pretrends)
    if k_pre < 0:
        raise ConfigError(f"pretrends must be a non-negative number of periods; got {pretrends}")
    cell_list: tuple[tuple[float, float], ...] = ()
    if cells:
        d = panel.data
        treated_rows = d["time"].to_numpy() >= d["cohort"].to_numpy()
        pairs = (
            d.loc[treated_rows, ["cohort", "time"]]
            .drop_duplicates()
            .sort_values(["cohort", "time"])
            .to_numpy(dtype=float)
        )
        cell_list = tuple((float(a), float(b)) for a, b in pairs)
    return _Layout(
        unit_index=panel.unit_index,
        time_index=panel.time_index,
        times=panel.times,
        observed=observed,
        X=X,
        horizons=hs,
        cells=cell_list,
        pretrends=k_pre,
    )


def imputation_statistic(
    panel: Panel,
    *,
    horizons: Sequence[int] | None = None,
    pretrends: int | None = None,
    cells: bool = True,
) -> tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], list[str]]:
    """Return the vectorised imputation statistic and the names of its targets.

    The statistic maps an outcome vector (rows in panel order) and a (B, n_units) array of cohort
    assignments to the (B, k) estimates: overall ATT, event-study horizons, group-time cells and
    pre-trend coefficients, in that order. It is linear in the outcome, as randomization
    inference requires.

    Examples
    --------
    >>> df = pd.DataFrame({"u": [1, 1, 2, 2], "t": [1, 2, 1, 2], "g": [2, 2, 0, 0],
    ...                    "y": [1.0, 4.0, 1.0, 2.0]})
    >>> p = Panel.from_frame(df, unit="u", time="t", cohort="g", outcomes="y")
    >>> stat, names = imputation_statistic(p, cells=False)
    >>> names, stat(df["y"].to_numpy(), p.unit_cohorts.to_numpy()[None, :]).round(6).tolist()
    (['overall', 'h=0'], [[2.0, 2.0]])
    """
    layout = _layout(panel, horizons, pretrends, cells)

    def statistic(y: np.ndarray, cohorts: np.ndarray) -> np.ndarray:
        return _targets(layout, layout.wide(np.asarray(y, dtype=float)), cohorts)[0]

    return statistic, layout.names


# ---------------------------------------------------------------------------------- variance
#: Partitions of the treated cells within which the conservative variance averages the
#: estimated effects (Stata ``did_imputation``'s ``avgeffectsby``; default cohort x period).
AVG_EFFECTS_BY = ("cohort_period", "cohort", "horizon", "treated")

#: A group whose average is (almost) all one unit's cells cannot be left out (Stata's check).
_LEAVE_OUT_MAX_SHARE = 0.99999


@dataclass(frozen=True)
class ImputationVariance:
    """Implicit weights, residuals and BJS's conservative variance of every target.

    Every target is linear in the outcome, ``estimate_j = sum_it weights[it, j] * y_it``, and
    its variance estimate is ``se_j**2 = sum_i unit_scores[i, j]**2`` with
    ``unit_scores[i, j] = sum_t weights[it, j] * residuals[it, j]`` (units are the clusters).

    Attributes
    ----------
    names
        Target labels, as :func:`imputation_statistic` (overall, ``h=``, ``g=,t=``, ``pre=``).
    estimates
        Point estimates, shape (k,).
    weights
        Implicit weights ``v_it``, shape (n_rows, k), rows in panel order: the averaging weights
        on treated cells, minus the weights that carry the untreated cells through the fixed
        effects (and covariate) fit; for pre-trend coefficients the OLS (Frisch-Waugh) weights.
    residuals
        ``eps_tilde_it`` used for each target, shape (n_rows, k): untreated-model residuals on
        untreated cells; on treated cells the estimated effect minus its average over the
        cell's ``avg_effects_by`` group (scaled for ``leave_out``); for pre-trend coefficients
        the residuals of the pre-trend regression.
    unit_scores
        ``sum_t v_it eps_tilde_it`` per unit, shape (n_units, k), units in ``panel.units``
        order; pre-trend columns include ``sqrt`` of the CR1 factor (see ``pretrend_factor``).
    se
        Standard errors ``sqrt(sum_i unit_scores**2)``, shape (k,).
    avg_effects_by, leave_out
        The averaging partition and whether the leave-out version was used.
    pretrend_factor
        CR1 factor ``G/(G-1) * (n-1)/(n-k)`` applied to the pre-trend coefficients' variance
        (NaN without pre-trend coefficients).
    """

    names: tuple[str, ...]
    estimates: np.ndarray
    weights: np.ndarray
    residuals: np.ndarray
    unit_scores: np.ndarray
    se: np.ndarray
    avg_effects_by: str
    leave_out: bool
    pretrend_factor: float


def _group_codes(
    how: str, Tr: np.ndarray, g: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Treated cells ``(unit, period)`` and their averaging-group code for ``how``."""
    ii, tt = np.nonzero(Tr > 0)
    cohort = g[ii]
    period = t[tt]
    if how == "cohort_period":
        key = np.column_stack([cohort, period])
    elif how == "cohort":
        key = cohort[:, None]
    elif how == "horizon":
        key = (period - cohort)[:, None]
    else:  # "treated": one group
        key = np.zeros((len(ii), 1))
    _, codes = np.unique(key, axis=0, return_inverse=True)
    codes = codes.ravel()
    return ii, tt, codes, int(codes.max()) + 1 if len(codes) else 0


def _treated_residuals(
    w: np.ndarray,
    tau: np.ndarray,
    ii: np.ndarray,
    tt: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    leave_out: bool,
    names: Sequence[str],
    required: np.ndarray,
) -> np.ndarray:
    """BJS's treated-cell residuals ``tau_it - tau_bar_g`` for every target at once.

    With unit (cluster) weights ``W_ig = sum_{t: it in g} w_it`` the group average is
    ``tau_bar_g = sum_{it in g} W_ig w_it tau_it / sum_i W_ig^2`` (Stata ``did_imputation``;
    ``w_it^2``-weighted when a unit has one cell per group). ``leave_out`` multiplies the
    residual by ``S_g / (S_g - W_ig^2)``, ``S_g = sum_i W_ig^2``: with one cell per unit and
    group this is exactly ``tau_it`` minus the average over the *other* units. It is not
    defined when one unit carries (almost) all of a group's weight: an error for ``required``
    targets (overall, horizons), NaN residuals (hence NaN standard errors) for the others
    (group-time cells of a one-force wave, which no partition can rescue).

    Returns the residuals on the treated cells, shape (n_cells, J).
    """
    N, J = w.shape[0], w.shape[2]
    wc = w[ii, tt]  # (cells, J)
    Wig = np.zeros((N, n_groups, J))
    np.add.at(Wig, (ii, codes), wc)
    S = (Wig**2).sum(axis=0)  # (G, J)
    Wcell = Wig[ii, codes]  # (cells, J)
    num = np.zeros((n_groups, J))
    np.add.at(num, codes, Wcell * wc * tau[ii, tt][:, None])
    tau_bar = np.divide(num, S, out=np.zeros_like(num), where=S > 0)
    eps = tau[ii, tt][:, None] - tau_bar[codes]
    if leave_out:
        Sc = S[codes]
        share = np.divide(Wcell**2, Sc, out=np.zeros_like(Sc), where=Sc > 0)
        stuck = (share > _LEAVE_OUT_MAX_SHARE).any(axis=0)
        if (stuck & required).any():
            bad = [names[int(j)] for j in np.flatnonzero(stuck & required)]
            raise EstimationError(
                "leave-out standard errors are not defined when an averaging group has a "
                f"single treated unit (targets {bad[:5]}): a wave with one force, for example. "
                "Use a coarser avg_effects_by (e.g. 'treated') or drop horizons only that unit "
                "reaches; do not fall back to "
                "the non-leave-out version, which is biased downwards for the same reason"
            )
        ok = (Sc > 0) & ~stuck[None, :]
        eps = eps * np.divide(Sc, Sc - Wcell**2, out=np.ones_like(Sc), where=ok)
        eps[:, stuck] = np.nan
    return eps


def _implicit_weights(
    layout: _Layout, Y: np.ndarray, cohorts: np.ndarray, avg_effects_by: str, leave_out: bool
) -> ImputationVariance:
    """Implicit weights and BJS (2024, Theorem 3) conservative variance of every target.

    ``Y`` is the (N, T) outcome (zeros where unobserved), ``cohorts`` the (N,) cohort vector.
    """
    names = layout.names
    obs = layout.observed.astype(float)
    t = layout.times.astype(float)
    g1 = np.asarray(cohorts, dtype=float)
    g = g1[None, :, None]
    post = t[None, None, :] >= g
    W = obs[None] * (~post)  # (1, N, T)
    Tr = obs[None] * post
    event = t[None, None, :] - g
    K = layout.X.shape[2]
    k_pre = layout.pretrends
    W0, Tr0 = W[0], Tr[0]

    # effect targets: averaging weights on the treated cells, (N, T, J)
    masks = _effect_masks(layout, Tr, g, t, event)
    w = np.stack([m[0] / m[0].sum() for m in masks], axis=-1)
    J = w.shape[-1]

    # untreated-model fit (y, covariates and pre-trend indicators partialled out of the FE)
    cols = [Y[None, :, :, None]]
    if K:
        cols.append(layout.X[None])
    if k_pre:
        pre = np.stack([(event == -j) & (W > 0) for j in range(k_pre, 0, -1)], axis=-1)
        cols.append(pre.astype(float))
    Z = np.concatenate(cols, axis=-1)
    alpha, lam, _, n_time = _fe_fit(W, Z)
    resid = ((Z - alpha[:, :, None, :] - lam[:, None, :, :]) * W[..., None])[0]  # (N, T, m)
    yr = resid[..., 0]
    Xr = resid[..., 1 : 1 + K]

    # untreated weights: v0 = -Z0 b with Z0'Z0 b = Z1'w (Z = unit and period dummies and X),
    # solved by block elimination: FE part with _fe_solve, covariates by Frisch-Waugh.
    a_c, l_c, _, _ = _fe_solve(W, w.sum(axis=1)[None], w.sum(axis=0)[None])
    fitted = (a_c[0][:, None, :] + l_c[0][None, :, :]) * W0[..., None]  # (N, T, J)
    if K:
        Xm = Xr.reshape(-1, K)
        XtX = Xm.T @ Xm
        X0 = layout.X * W0[..., None]
        rhs = np.einsum("itk,itj->kj", layout.X * Tr0[..., None], w) - np.einsum(
            "itk,itj->kj", X0, fitted
        )
        b = np.linalg.solve(XtX, rhs)  # (K, J)
        v0 = -(fitted + np.einsum("itk,kj->itj", Xr, b))
        beta = np.linalg.solve(XtX, Xm.T @ yr.ravel())
        e0 = (yr - Xr @ beta) * W0
        xb = layout.X @ beta
        a_y = alpha[0, :, 0] - alpha[0, :, 1 : 1 + K] @ beta
        l_y = lam[0, :, 0] - lam[0, :, 1 : 1 + K] @ beta
    else:
        v0 = -fitted
        e0 = yr
        xb = np.zeros_like(Y)
        a_y, l_y = alpha[0, :, 0], lam[0, :, 0]
    v = w + v0 * W0[..., None]
    tau = (Y - a_y[:, None] - l_y[None, :] - xb) * Tr0

    # residuals: untreated-model residuals, and treated effects minus their group averages
    ii, tt, codes, n_groups = _group_codes(avg_effects_by, Tr0, g1, t)
    eps = np.broadcast_to(e0[..., None], (*e0.shape, J)).copy()
    required = np.arange(J) < 1 + len(layout.horizons)  # overall and horizons
    eps[ii, tt] = _treated_residuals(w, tau, ii, tt, codes, n_groups, leave_out, names, required)
    scores = (v * eps).sum(axis=1)  # (N, J)

    factor = float("nan")
    if k_pre:
        R = resid[..., 1:]  # (N, T, K + k_pre)
        Rm = R.reshape(-1, K + k_pre)
        RtR = Rm.T @ Rm
        kk = K + k_pre
        if np.linalg.matrix_rank(RtR) == kk:
            inv = np.linalg.inv(RtR)
            coef = inv @ (Rm.T @ yr.ravel())
            v_pre = (R @ inv)[..., K:]  # (N, T, k_pre)
            e_pre = (yr - R @ coef) * W0
            n0 = float(W0.sum())
            G0 = int((W0.sum(axis=1) > 0).sum())
            k = kk + int((n_time[0] > 0).sum())  # regressors + (periods - 1) + intercept
            factor = G0 / (G0 - 1) * (n0 - 1) / (n0 - k) if G0 > 1 and n0 > k else np.nan
            s_pre = np.sqrt(factor) * np.einsum("itj,it->ij", v_pre, e_pre)
            eps_pre = np.broadcast_to(e_pre[..., None], v_pre.shape)
        else:
            v_pre = np.full((*W0.shape, k_pre), np.nan)
            eps_pre = v_pre
            s_pre = np.full((W0.shape[0], k_pre), np.nan)
        v = np.concatenate([v, v_pre], axis=-1)
        eps = np.concatenate([eps, eps_pre], axis=-1)
        scores = np.concatenate([scores, s_pre], axis=-1)

    rows = (layout.unit_index, layout.time_index)
    return ImputationVariance(
        names=tuple(names),
        estimates=np.einsum("itj,it->j", v, Y),
        weights=v[rows],
        residuals=eps[rows],
        unit_scores=scores,
        se=np.sqrt((scores**2).sum(axis=0)),
        avg_effects_by=avg_effects_by,
        leave_out=leave_out,
        pretrend_factor=factor,
    )


def imputation_variance(
    panel: Panel,
    outcome: str,
    *,
    horizons: Sequence[int] | None = None,
    pretrends: int | None = None,
    avg_effects_by: str = "cohort_period",
    leave_out: bool = False,
) -> ImputationVariance:
    """Implicit weights and Borusyak-Jaravel-Spiess's conservative variance of every target.

    Each target of :func:`fit_imputation` is ``sum_it v_it Y_it``; BJS (2024, Theorem 3)
    estimate its variance, clustered by unit, as ``sum_i (sum_t v_it eps_tilde_it)^2`` with
    ``eps_tilde`` the untreated-model residuals on untreated cells and, on treated cells, the
    estimated effect minus its average over the cell's ``avg_effects_by`` group. The estimate
    is conservative: it is biased upwards by the within-group heterogeneity of effects that
    the averages do not remove. See ``docs/methods-imputation.md``.

    Parameters
    ----------
    panel, outcome, horizons, pretrends
        As :func:`fit_imputation`.
    avg_effects_by
        Partition of the treated cells for the averages: ``"cohort_period"`` (BJS's and Stata
        ``did_imputation``'s default, equivalently cohort x horizon), ``"cohort"``,
        ``"horizon"`` or ``"treated"`` (one group).
    leave_out
        Average each unit's effects over the *other* units of its group (Stata's
        ``leaveout``), which removes the downward bias from a unit's own noise entering its
        group average. Needs at least two treated units in every group.

    Returns
    -------
    ImputationVariance

    Examples
    --------
    >>> df = pd.DataFrame({"u": [1, 1, 2, 2], "t": [1, 2, 1, 2], "g": [2, 2, 0, 0],
    ...                    "y": [1.0, 4.0, 1.0, 2.0]})
    >>> p = Panel.from_frame(df, unit="u", time="t", cohort="g", outcomes="y")
    >>> iv = imputation_variance(p, "y")
    >>> iv.weights[:, 0].tolist()  # (y_12 - y_11) - (y_22 - y_21)
    [-1.0, 1.0, 1.0, -1.0]
    """
    if outcome not in panel.outcomes:
        raise ConfigError(f"outcome {outcome!r} is not in the panel; have {list(panel.outcomes)}")
    check_option("avg_effects_by", avg_effects_by, AVG_EFFECTS_BY)
    layout = _layout(panel, horizons, pretrends, cells=True)
    Y = layout.wide(panel.data[outcome].to_numpy(dtype=float))
    cohorts = panel.unit_cohorts.to_numpy(dtype=float)
    _check_identified(panel, layout, Y, cohorts)
    return _implicit_weights(layout, Y, cohorts, avg_effects_by, bool(leave_out))


# ---------------------------------------------------------------------------------- public
def fit_imputation(
    panel: Panel,
    outcome: str,
    *,
    horizons: Sequence[int] | None = None,
    pretrends: int | None = None,
    inference: str | None = None,
    settings: InferenceSettings | None = None,
    avg_effects_by: str = "cohort_period",
    leave_out: bool = False,
) -> DidResult:
    """Borusyak-Jaravel-Spiess (2024) imputation estimator (equal to Gardner's did2s).

    Parameters
    ----------
    panel
        The panel; covariates carried by the panel enter the untreated-outcome model.
    outcome
        Outcome column.
    horizons
        Post-treatment event times to report (default: all observed).
    pretrends
        Number of pre-periods for BJS's pre-trend test (default none); their coefficients are
        the negative event times of ``event_study`` and the joint test is in ``info``.
    inference
        ``"cr1"`` (BJS's analytic conservative variance, clustered by unit), ``"multiplier"``
        (multiplier bootstrap of the same unit scores, with sup-t bands), ``"cr3"`` (cluster
        jackknife) or ``"ri"`` (randomization inference); ``None`` uses
        :func:`evaluation.design.recommended_inference` (``"ri"`` with few pilots, otherwise
        ``"cr3"``).
    settings
        Inference settings (``rng`` is needed when ``ri`` samples rather than enumerates, and
        for ``multiplier``).
    avg_effects_by, leave_out
        For ``"cr1"`` and ``"multiplier"``: the partition of treated cells whose average effect
        is removed from the treated residuals, and the leave-out version (see
        :func:`imputation_variance`). Ignored by ``"cr3"`` and ``"ri"``.

    Returns
    -------
    DidResult
        ``method="imputation"``; ``overall`` the ATT over all treated observations,
        ``event_study`` by horizon, ``group_time`` by cohort and period.

    Raises
    ------
    EstimationError
        A treated observation cannot be imputed (no untreated observation of its unit, or of its
        period: e.g. periods after every unit has gone live), or covariates are collinear with
        the fixed effects.
    ConfigError
        Unsupported inference or invalid horizons.
    """
    if outcome not in panel.outcomes:
        raise ConfigError(f"outcome {outcome!r} is not in the panel; have {list(panel.outcomes)}")
    settings = settings or InferenceSettings()
    if inference is None:
        rec = recommended_inference(panel, "imputation")
        inference = rec if rec in IMPUTATION_INFERENCE else "cr3"
    check_option("inference", inference, IMPUTATION_INFERENCE)
    check_option("avg_effects_by", avg_effects_by, AVG_EFFECTS_BY)

    layout = _layout(panel, horizons, pretrends, cells=True)
    y = panel.data[outcome].to_numpy(dtype=float)
    Y = layout.wide(y)
    cohorts = panel.unit_cohorts.to_numpy(dtype=float)
    _check_covariates(panel)
    _check_identified(panel, layout, Y, cohorts)
    est, diag = _targets(layout, Y, cohorts[None, :])
    estimates = est[0]
    names = layout.names

    def statistic(yv: np.ndarray, coh: np.ndarray) -> np.ndarray:
        return _targets(layout, layout.wide(np.asarray(yv, dtype=float)), coh)[0]

    def refit(keep_units: np.ndarray) -> np.ndarray:
        keep = np.isin(panel.units, np.asarray(keep_units)).astype(float)
        kept = set(np.asarray(keep_units).tolist())
        left_out = [u for u in panel.units.tolist() if u not in kept]
        message = (
            f"the CR3 jackknife is undefined: without unit(s) {left_out} the untreated "
            "force-periods no longer link every treated observation's unit and period, so the "
            "imputation estimate is not identified with that unit left out. Use "
            "inference='cr1' (Borusyak-Jaravel-Spiess variance) or 'ri'"
        )
        if _disconnected(layout, cohorts, keep):
            raise EstimationError(message)
        try:
            return _targets(layout, Y, cohorts[None, :], keep=keep)[0][0]
        except np.linalg.LinAlgError as exc:
            raise EstimationError(message) from exc

    problems: list[InfluenceProblem | RefitProblem | PermutationProblem] = [
        RefitProblem(estimates=estimates, units=panel.units, refit=refit, names=names),
        PermutationProblem(
            statistic=statistic, y=y, treated=panel.treated, cohorts=cohorts, names=names
        ),
    ]
    extra: dict[str, object] = {}
    if inference in ("cr1", "multiplier"):
        var = _implicit_weights(layout, Y, cohorts, avg_effects_by, bool(leave_out))
        # influence[i, j] = n * sum_t v_it eps_it, so sqrt(sum psi^2) / n is BJS's variance
        influence = panel.n_units * var.unit_scores
        problems.insert(0, InfluenceProblem(estimates=estimates, influence=influence, names=names))
        extra = {
            "variance": "Borusyak-Jaravel-Spiess (2024) Theorem 3 conservative variance, "
            "clustered by unit",
            "avg_effects_by": avg_effects_by,
            "leave_out": bool(leave_out),
        }
        if layout.pretrends:
            extra["pretrend_cr1_factor"] = var.pretrend_factor
    method = get_method(inference)
    problem = pick_problem(method, problems, "imputation")
    if inference == "multiplier" and isinstance(problem, InfluenceProblem):
        outcome_inf = _infer_by_block(method, problem, settings, layout)
    else:
        outcome_inf = method.infer(problem, settings)
    return _result(panel, outcome, layout, estimates, outcome_inf, diag, settings, inference, extra)


def _infer_by_block(
    method: InferenceMethod,
    problem: InfluenceProblem,
    settings: InferenceSettings,
    layout: _Layout,
) -> InferenceOutcome:
    """Solve the overall, event-study (horizons and pre-trends) and group-time blocks apart.

    Pointwise results are the same as one joint call; the multiplier bootstrap's sup-t band
    then covers the event-study coefficients jointly (as for Callaway-Sant'Anna), not every
    reported target at once.
    """
    h, c, k = len(layout.horizons), len(layout.cells), layout.pretrends
    blocks = [
        np.array([0]),
        np.r_[np.arange(1, 1 + h), np.arange(1 + h + c, 1 + h + c + k)],
        np.arange(1 + h, 1 + h + c),
    ]
    n = len(problem.estimates)
    se, lo, hi, p, bl, bh = (np.full(n, np.nan) for _ in range(6))
    info: dict[str, object] = {}
    for name, idx in zip(("overall", "event_study", "group_time"), blocks, strict=True):
        if not len(idx):
            continue
        sub = InfluenceProblem(
            estimates=np.asarray(problem.estimates)[idx],
            influence=np.asarray(problem.influence)[:, idx],
            names=[problem.names[j] for j in idx],
            clusters=problem.clusters,
        )
        out = method.infer(sub, settings)
        se[idx], lo[idx], hi[idx], p[idx] = out.se, out.ci_low, out.ci_high, out.p_value
        if out.band_low is not None and out.band_high is not None:
            bl[idx], bh[idx] = out.band_low, out.band_high
        for key, value in out.info.items():
            if key == "band_critical_value":
                info[f"band_critical_value_{name}"] = value
            else:
                info.setdefault(key, value)
    return InferenceOutcome(method.name, se, lo, hi, p, bl, bh, info)


def _disconnected(layout: _Layout, cohorts: np.ndarray, keep: np.ndarray | None = None) -> bool:
    """Whether a treated cell's unit and period lie in different parts of the untreated cells.

    The unit and period effects are identified up to one constant per connected component of
    the bipartite graph whose edges are the fitting (untreated) cells; ``alpha_i + lambda_t``
    of a treated cell is identified only when unit ``i`` and period ``t`` are in the same
    component. Cells whose unit or period has no fitting cell at all are left to the ``bad``
    diagnostic of :func:`_targets`.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    obs = layout.observed if keep is None else layout.observed & (keep[:, None] > 0)
    post = layout.times[None, :].astype(float) >= cohorts[:, None]
    W, Tr = obs & ~post, obs & post
    N, T = W.shape
    i, t = np.nonzero(W)
    graph = coo_matrix((np.ones(len(i)), (i, N + t)), shape=(N + T, N + T))
    _, labels = connected_components(graph, directed=False)
    unit_fits = np.asarray(W.any(axis=1), dtype=bool)
    period_fits = np.asarray(W.any(axis=0), dtype=bool)
    ti, tt = np.nonzero(Tr & unit_fits[:, None] & period_fits[None, :])
    return bool(np.any(labels[ti] != labels[N + tt]))


def _check_covariates(panel: Panel) -> None:
    """Refuse covariates the fixed effects absorb on the untreated observations (up front)."""
    if not panel.covariates:
        return
    untreated = panel.treated == 0
    values = panel.data.loc[untreated, list(panel.covariates)].to_numpy(dtype=float)
    try:
        check_fe_covariates(
            values,
            panel.covariates,
            panel.unit_index[untreated],
            panel.time_index[untreated],
            estimator="imputation",
            sample="the untreated observations",
        )
    except EstimationError:  # disconnected untreated rows: _check_identified explains
        return


def _check_identified(panel: Panel, layout: _Layout, Y: np.ndarray, cohorts: np.ndarray) -> None:
    try:
        if _disconnected(layout, cohorts):
            raise np.linalg.LinAlgError("disconnected untreated cells")
        _check_identified_inner(panel, layout, Y, cohorts)
    except np.linalg.LinAlgError as exc:
        raise EstimationError(
            "the imputation estimator cannot identify the unit and period effects from the "
            "untreated force-periods (they do not connect every unit and period, e.g. a unit "
            "untreated only in periods when no other unit is untreated)"
        ) from exc


def _check_identified_inner(
    panel: Panel, layout: _Layout, Y: np.ndarray, cohorts: np.ndarray
) -> None:
    _, diag = _targets(
        _Layout(
            layout.unit_index,
            layout.time_index,
            layout.times,
            layout.observed,
            layout.X,
            (),
            (),
            0,
        ),
        Y,
        cohorts[None, :],
    )
    bad = diag["bad"][0]
    if bad.any():
        periods = sorted({panel.time_label(layout.times[j]) for j in np.flatnonzero(bad.any(0))})
        no_time = diag["n_time"][0] == 0
        why = (
            "no unit is untreated in period(s) "
            + ", ".join(str(panel.time_label(layout.times[j])) for j in np.flatnonzero(no_time))
            if no_time.any()
            else "some treated units have no untreated period"
        )
        raise EstimationError(
            f"the imputation estimator cannot impute untreated outcomes for treated periods "
            f"{periods[:10]}: {why}. Drop the periods after the last wave goes live or add "
            f"never-treated comparison units"
        )
    if layout.X.shape[2]:
        W = diag["W"][0]
        cols = [layout.X[..., k] for k in range(layout.X.shape[2])]
        Z = np.stack(cols, axis=-1)[None]
        alpha, lam, _, _ = _fe_fit(W[None], Z)
        R = ((Z - alpha[:, :, None, :] - lam[:, None, :, :]) * W[None, ..., None]).reshape(
            -1, len(cols)
        )
        if np.linalg.matrix_rank(R) < len(cols):
            raise EstimationError(
                "covariates are collinear with the unit and period fixed effects on the "
                f"untreated observations: {list(panel.covariates)}"
            )


def _result(
    panel: Panel,
    outcome: str,
    layout: _Layout,
    est: np.ndarray,
    inf: InferenceOutcome,
    diag: dict[str, np.ndarray],
    settings: InferenceSettings,
    inference: str,
    extra: dict[str, object],
) -> DidResult:
    h = len(layout.horizons)
    c = len(layout.cells)
    k = layout.pretrends

    def frame(sl: slice, bands: bool = False) -> pd.DataFrame:
        cols = {
            "estimate": est[sl],
            "se": inf.se[sl],
            "ci_low": inf.ci_low[sl],
            "ci_high": inf.ci_high[sl],
            "p_value": inf.p_value[sl],
        }
        if bands and inf.band_low is not None and inf.band_high is not None:
            cols["band_low"] = inf.band_low[sl]
            cols["band_high"] = inf.band_high[sl]
        return pd.DataFrame(cols)

    es = frame(slice(1, 1 + h), bands=True)
    es.insert(0, "event_time", list(layout.horizons))
    if k:
        pre = frame(slice(1 + h + c, 1 + h + c + k), bands=True)
        pre.insert(0, "event_time", list(range(-k, 0)))
        es = pd.concat([pre, es], ignore_index=True)
    gt = frame(slice(1 + h, 1 + h + c))
    gt.insert(0, "time", [panel.time_label(t) for _, t in layout.cells])
    gt.insert(0, "group", [panel.time_label(g) for g, _ in layout.cells])
    overall = Estimate.from_inference(est[0], inf, level=settings.level, inference=inference)
    info: dict[str, object] = {
        "estimator": "Borusyak, Jaravel and Spiess (2024) imputation (= Gardner did2s)",
        "n_treated_obs": int(diag["Tr"][0].sum()),
        "n_untreated_obs": int(diag["W"][0].sum()),
        **inf.info,
        **extra,
    }
    if layout.X.shape[2]:
        info["covariate_coefficients"] = dict(
            zip(panel.covariates, diag["beta"][0].tolist(), strict=True)
        )
    if k:
        info["pretrend_p_values"] = inf.p_value[1 + h + c :].tolist()
    info["reclassified_units"] = list(reclassified_units(panel))
    return DidResult(
        method="imputation",
        control="notyet",
        outcome=outcome,
        n_units=panel.n_units,
        n_periods=panel.n_periods,
        n_treated_units=n_effectively_treated(panel),
        overall=overall,
        group_time=gt,
        event_study=es,
        warnings=design_warnings(panel, inference, "imputation"),
        info=info,
    )
