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
* ``"cr3"``: the cluster (unit) jackknife, refitting the whole estimator with each unit left out
  (:class:`~evaluation.inference.base.RefitProblem`); CR3 = (G-1)/G * sum of squared deviations of
  the leave-one-out estimates.
* ``"ri"``: randomization inference reassigning the unit cohort vector. The estimator is linear
  in the outcome, and the fixed-effects fit on the untreated cells of every assignment is solved
  *exactly and at once* for all B assignments: the unit effects are eliminated and the period
  effects solve a batched T x T system (see :func:`_fe_fit`). Covariates and pre-trend indicators
  are partialled out the same way (Frisch-Waugh-Lovell), so no refit loop is needed.
* ``"cr1"``, ``"wild"``, ``"multiplier"``: not available for this estimator (BJS's conservative
  analytic variance is not implemented); a :class:`~evaluation.errors.ConfigError` says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.design import design_warnings, recommended_inference
from evaluation.errors import ConfigError, EstimationError, check_option
from evaluation.inference.base import (
    InferenceOutcome,
    InferenceSettings,
    PermutationProblem,
    RefitProblem,
    get_method,
    pick_problem,
)
from evaluation.panel import Panel
from evaluation.results import DidResult, Estimate

__all__ = ["IMPUTATION_INFERENCE", "fit_imputation", "imputation_statistic"]

#: Inference methods this estimator poses problems for.
IMPUTATION_INFERENCE = ("cr3", "ri")


# ---------------------------------------------------------------------------------- the core
def _fe_fit(W: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares unit + period effects on the cells where ``W`` is 1, batched.

    Minimises ``sum_it W_bit (Z_bitm - a_bim - l_btm)^2`` separately for every batch ``b`` and
    column ``m``. Unit effects are eliminated (``a_i = mean_t W (Z - l)``), leaving the batched
    ``T x T`` system ``(diag(D) - W' diag(1/n) W) l = r``; its one-dimensional null space (a
    constant shift between unit and period effects) is removed by adding ``u u'`` with ``u`` the
    indicator of periods with untreated cells, which pins ``u'l = 0`` without changing fits.

    Parameters
    ----------
    W
        Mask of fitting cells, shape (B, N, T), 0/1 floats.
    Z
        Values, shape (B or 1, N, T, m); entries outside ``W`` are ignored.

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
    WZ = W[..., None] * Z
    ra = WZ.sum(axis=2)  # (B, N, m)
    rl = WZ.sum(axis=1)  # (B, T, m)
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

    est = [mean_over(Tr)]
    for h in layout.horizons:
        est.append(mean_over(Tr * (event == h)))
    for gc, tc in layout.cells:
        est.append(mean_over(Tr * ((g == gc) & (t[None, None, :] == tc))))
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


# ---------------------------------------------------------------------------------- public
def fit_imputation(
    panel: Panel,
    outcome: str,
    *,
    horizons: Sequence[int] | None = None,
    pretrends: int | None = None,
    inference: str | None = None,
    settings: InferenceSettings | None = None,
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
        ``"cr3"`` (cluster jackknife) or ``"ri"`` (randomization inference); ``None`` uses
        :func:`evaluation.design.recommended_inference` (``"ri"`` with few pilots; with six or
        more, where ``"multiplier"`` would be recommended, ``"cr3"``).
    settings
        Inference settings (``rng`` is needed when ``ri`` samples rather than enumerates).

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

    layout = _layout(panel, horizons, pretrends, cells=True)
    y = panel.data[outcome].to_numpy(dtype=float)
    Y = layout.wide(y)
    cohorts = panel.unit_cohorts.to_numpy(dtype=float)
    _check_identified(panel, layout, Y, cohorts)
    est, diag = _targets(layout, Y, cohorts[None, :])
    estimates = est[0]
    names = layout.names

    def statistic(yv: np.ndarray, coh: np.ndarray) -> np.ndarray:
        return _targets(layout, layout.wide(np.asarray(yv, dtype=float)), coh)[0]

    def refit(keep_units: np.ndarray) -> np.ndarray:
        keep = np.isin(panel.units, np.asarray(keep_units)).astype(float)
        return _targets(layout, Y, cohorts[None, :], keep=keep)[0][0]

    problems: list[RefitProblem | PermutationProblem] = [
        RefitProblem(estimates=estimates, units=panel.units, refit=refit, names=names),
        PermutationProblem(
            statistic=statistic, y=y, treated=panel.treated, cohorts=cohorts, names=names
        ),
    ]
    method = get_method(inference)
    problem = pick_problem(method, problems, "imputation")
    outcome_inf = method.infer(problem, settings)
    return _result(panel, outcome, layout, estimates, outcome_inf, diag, settings, inference)


def _check_identified(panel: Panel, layout: _Layout, Y: np.ndarray, cohorts: np.ndarray) -> None:
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
) -> DidResult:
    h = len(layout.horizons)
    c = len(layout.cells)
    k = layout.pretrends

    def frame(sl: slice) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "estimate": est[sl],
                "se": inf.se[sl],
                "ci_low": inf.ci_low[sl],
                "ci_high": inf.ci_high[sl],
                "p_value": inf.p_value[sl],
            }
        )

    es = frame(slice(1, 1 + h))
    es.insert(0, "event_time", list(layout.horizons))
    if k:
        pre = frame(slice(1 + h + c, 1 + h + c + k))
        pre.insert(0, "event_time", list(range(-k, 0)))
        es = pd.concat([pre, es], ignore_index=True)
    gt = frame(slice(1 + h, 1 + h + c))
    gt.insert(0, "time", [panel.time_label(t) for _, t in layout.cells])
    gt.insert(0, "group", [panel.time_label(g) for g, _ in layout.cells])
    overall = Estimate(
        estimate=float(est[0]),
        se=float(inf.se[0]),
        ci_low=float(inf.ci_low[0]),
        ci_high=float(inf.ci_high[0]),
        p_value=float(inf.p_value[0]),
        inference=inference,
        level=settings.level,
    )
    info: dict[str, object] = {
        "estimator": "Borusyak, Jaravel and Spiess (2024) imputation (= Gardner did2s)",
        "n_treated_obs": int(diag["Tr"][0].sum()),
        "n_untreated_obs": int(diag["W"][0].sum()),
        **inf.info,
    }
    if layout.X.shape[2]:
        info["covariate_coefficients"] = dict(
            zip(panel.covariates, diag["beta"][0].tolist(), strict=True)
        )
    if k:
        info["pretrend_p_values"] = inf.p_value[1 + h + c :].tolist()
    return DidResult(
        method="imputation",
        control="notyet",
        outcome=outcome,
        n_units=panel.n_units,
        n_periods=panel.n_periods,
        n_treated_units=panel.n_treated_units,
        overall=overall,
        group_time=gt,
        event_study=es,
        warnings=design_warnings(panel, inference, "imputation"),
        info=info,
    )
