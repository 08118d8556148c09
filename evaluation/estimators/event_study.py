"""Dynamic two-way fixed effects event study with a joint pre-trend test.

The outcome is regressed on relative-time dummies ``1[t - cohort = e]`` for treated units, with
unit and time effects; never-treated units are the comparison group (they have no dummies).
The reference period (default ``e = -1``) is omitted, so every coefficient is relative to it.
With ``bin_endpoints=True`` event times beyond the window are pooled into the end bins
(``e <= -leads`` and ``e >= lags``); otherwise treated unit-periods outside the window are
dropped from the sample.

Under staggered adoption with heterogeneous effects these coefficients can be contaminated by
other periods' effects (Sun and Abraham 2021); they are reported as a diagnostic beside the
heterogeneity-robust estimators.

``overall`` is the simple average of the post-treatment coefficients (``e = 0 .. lags``),
estimated as a single coefficient of a reparametrised regression so that every inference method
(including the wild bootstrap) applies to it directly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaluation.design import (
    design_warnings,
    n_effectively_treated,
    reclassified_units,
    recommended_inference,
)
from evaluation.errors import ConfigError, EstimationError
from evaluation.estimators._covariates import check_fe_covariates
from evaluation.estimators._fe import SINGULAR_MESSAGE, linear_problem, ols, two_way_problem
from evaluation.estimators.twfe import (
    STAGGERED_WARNING,
    _check_outcome,
    _covariate_matrix,
    _run_inference,
)
from evaluation.inference._dist import f_sf
from evaluation.inference.base import InferenceOutcome, InferenceSettings, LinearProblem
from evaluation.panel import Panel
from evaluation.results import DidResult, Estimate

__all__ = ["event_time_design", "fit_event_study", "relative_time"]

_ES_INFERENCE = ("cr1", "cr3", "wild")


def relative_time(panel: Panel) -> tuple[np.ndarray, int]:
    """Row-wise event time counted in the panel's own time steps, and the step.

    The step is the greatest common divisor of the gaps between the panel's periods (1 for
    monthly, quarterly or financial-year labels and for consecutive years; 5 for years in
    five-year steps), so event time -1 is the period one step before go-live. Never-treated
    rows get NaN.

    Raises
    ------
    ConfigError
        A cohort that does not fall on the panel's time grid (e.g. 2003 with periods every five
        years from 2000): its event times would not be whole steps.
    """
    times = panel.times.astype(np.int64)
    step = int(np.gcd.reduce(np.diff(times))) if len(times) > 1 else 1
    cohorts = panel.cohorts
    off = [c for c in cohorts if (int(c) - int(times[0])) % step]
    if off:
        raise ConfigError(
            f"cohort(s) {[panel.time_label(c) for c in off]} fall between the panel's periods, "
            f"which are {step} time units apart from {panel.time_label(times[0])}: event time is "
            "counted in the panel's steps, so every go-live must be one of the steps"
        )
    e = panel.event_time
    return np.where(np.isfinite(e), e / step, np.nan), step


def event_time_design(
    panel: Panel,
    *,
    leads: int | None = None,
    lags: int | None = None,
    reference: int = -1,
    bin_endpoints: bool = True,
) -> tuple[np.ndarray, list[int], np.ndarray]:
    """Return ``(dummies, event_times, keep)`` for the event-study regression.

    ``dummies`` has one column per event time in ``event_times`` (the reference omitted), rows
    for the kept unit-periods ``keep`` (a boolean mask over panel rows).
    """
    e, step = relative_time(panel)  # NaN for never treated
    treated_rows = np.isfinite(e)
    if not treated_rows.any():
        raise EstimationError("no treated unit-periods")
    e_min, e_max = int(np.nanmin(e)), int(np.nanmax(e))
    lo = e_min if leads is None else -int(leads)
    hi = e_max if lags is None else int(lags)
    if leads is not None and leads < 1:
        raise ConfigError(f"leads must be a positive integer; got {leads!r}")
    if lags is not None and lags < 0:
        raise ConfigError(f"lags must be a non-negative integer; got {lags!r}")
    if not lo <= reference <= hi:
        raise ConfigError(f"reference {reference} is outside the event window [{lo}, {hi}]")
    keep = np.ones(len(e), dtype=bool)
    ee = e.copy()
    if bin_endpoints:
        ee = np.where(treated_rows, np.clip(ee, lo, hi), np.nan)
    else:
        keep = ~treated_rows | ((e >= lo) & (e <= hi))
    times = [t for t in range(lo, hi + 1) if t != reference]
    present = set(np.unique(ee[keep & treated_rows]).astype(int).tolist())
    if reference not in present:
        raise ConfigError(
            f"the reference event time {reference} is not observed for any treated unit "
            f"(event times are counted in the panel's steps of {step} time unit(s); observed: "
            f"{sorted(present)[:12]}): choose an observed reference period"
        )
    times = [t for t in times if t in present]
    dummies = np.zeros((int(keep.sum()), len(times)))
    ek = ee[keep]
    column = {t: j for j, t in enumerate(times)}
    rows = np.flatnonzero(np.isfinite(ek))
    cols = np.array([column.get(int(v), -1) for v in ek[rows]], dtype=np.int64)
    dummies[rows[cols >= 0], cols[cols >= 0]] = 1.0
    return dummies, times, keep


def fit_event_study(
    panel: Panel,
    outcome: str,
    *,
    leads: int | None = None,
    lags: int | None = None,
    reference: int = -1,
    bin_endpoints: bool = True,
    covariates: Sequence[str] = (),
    inference: str | None = None,
    settings: InferenceSettings | None = None,
) -> DidResult:
    """Dynamic TWFE event study with never-treated units as controls.

    Parameters
    ----------
    panel
        The panel; it must contain never-treated units.
    outcome
        Outcome column.
    leads, lags
        Window ``[-leads, lags]`` of event times (periods relative to the first treated
        period, counted in the panel's own steps: see :func:`relative_time`); ``None`` uses the
        full observed range.
    reference
        Omitted event time (default -1, the period before treatment).
    bin_endpoints
        Pool event times beyond the window into the end bins (default) or drop those
        unit-periods.
    covariates
        Time-varying covariates.
    inference, settings
        ``"cr1"``, ``"cr3"`` or ``"wild"``; ``None`` picks the recommended method (``"ri"``
        is not offered for the event study and falls back to ``"wild"``).

    Returns
    -------
    DidResult
        ``event_study`` with rows for every event time (the reference row has estimate 0 and
        no standard error); ``overall`` the average post-treatment coefficient;
        ``info["pretrend"]`` the joint test that all lead coefficients are zero: ``statistic``
        (Wald, with the chosen cluster-robust covariance), ``df``, ``p_value``; for CR1/CR3 the
        p-value is from ``F(df, G-1)`` of ``statistic/df``; for the wild bootstrap it is a joint
        wild cluster restricted bootstrap Wald test.
    """
    settings = settings or InferenceSettings()
    y_all = _check_outcome(panel, outcome)
    if panel.n_never_treated == 0:
        raise EstimationError(
            "the event study uses never-treated units as controls and the panel has none"
        )
    dummies, times, keep = event_time_design(
        panel, leads=leads, lags=lags, reference=reference, bin_endpoints=bin_endpoints
    )
    covariates = tuple(covariates)
    w = _covariate_matrix(panel, covariates)[keep]
    y = y_all[keep]
    unit = np.unique(panel.unit_index[keep], return_inverse=True)[1]
    time = np.unique(panel.time_index[keep], return_inverse=True)[1]
    check_fe_covariates(w, covariates, unit, time, estimator="event_study")
    X = np.column_stack([dummies, w])
    k_e = len(times)
    names = [f"e{t}" for t in times]
    name = inference or recommended_inference(panel, "event_study")
    if name == "ri" and inference is None:
        name = "wild"
    post = [j for j, t in enumerate(times) if t >= 0]
    if not post:
        raise EstimationError("no post-treatment event times in the window")
    vcov: np.ndarray | None = None
    if name == "cr1":
        # both sets of effects partialled out (exact within transformation or direct solve):
        # one small solve and one covariance for the coefficients, their average, the pre-trend
        # test and the covariance handed to sensitivity analysis
        lp = two_way_problem(y, X, unit, time, names=names, targets=range(k_e))
        gram = _gram(np.asarray(lp.X), dummies, w)
        beta, out, overall_beta, overall_out, vcov = _cr1_all(lp, k_e, post, settings.level, gram)
    else:
        lp = linear_problem(y, X, unit, time, names=names, targets=range(k_e))
        beta = ols(lp.y, lp.X)[:k_e]
        out = _run_inference(name, [lp], settings, "event_study", _ES_INFERENCE)
        overall_lp = _average_problem(lp, post)
        overall_beta = float(ols(overall_lp.y, overall_lp.X)[0])
        overall_out = _run_inference(name, [overall_lp], settings, "event_study", _ES_INFERENCE)

    rows = pd.DataFrame(
        {
            "event_time": times,
            "estimate": beta,
            "se": out.se,
            "ci_low": out.ci_low,
            "ci_high": out.ci_high,
        }
    )
    ref = pd.DataFrame(
        {
            "event_time": [reference],
            "estimate": [0.0],
            "se": [np.nan],
            "ci_low": [np.nan],
            "ci_high": [np.nan],
        }
    )
    table = pd.concat([rows, ref]).sort_values("event_time").reset_index(drop=True)
    table["p_value"] = table["event_time"].map(dict(zip(times, out.p_value, strict=True)))

    leads_idx = [j for j, t in enumerate(times) if t < 0]
    pretrend = _pretrend(lp, leads_idx, name, settings, vcov, beta) if leads_idx else None
    warnings = list(design_warnings(panel, name, "event_study"))
    if len(panel.cohorts) > 1:
        warnings.append(STAGGERED_WARNING)
    info: dict[str, object] = {
        "pretrend": pretrend,
        "reference": reference,
        "window": [min(*times, reference), max(*times, reference)],
        "bin_endpoints": bin_endpoints,
        "time_step": relative_time(panel)[1],
        "overall": "average of post-treatment event-time coefficients",
        "inference": dict(out.info),
        "event_study_vcov": _event_vcov(lp, k_e, times, name, vcov),
    }
    info["reclassified_units"] = list(reclassified_units(panel))
    return DidResult(
        method="event_study",
        control="never",
        outcome=outcome,
        n_units=panel.n_units,
        n_periods=panel.n_periods,
        n_treated_units=n_effectively_treated(panel),
        overall=Estimate.from_inference(overall_beta, overall_out, level=settings.level),
        event_study=table,
        warnings=tuple(warnings),
        info=info,
    )


def _gram(Xd: np.ndarray, dummies: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``X'MX`` as ``X'(MX)`` with the raw, sparse event-time dummies: O(n k) not O(n k^2).

    ``Xd = M [dummies, w]`` (two-way demeaned); each row has at most one dummy equal to 1, so
    the dummy rows of the product are sums of rows of ``Xd`` by event time.
    """
    from evaluation.estimators._fe import group_sums

    k_e = dummies.shape[1]
    rows = np.flatnonzero(dummies.any(axis=1))
    codes = np.argmax(dummies[rows], axis=1)
    top = group_sums(Xd[rows], codes, k_e)
    gram = np.vstack([top, w.T @ Xd])
    return (gram + gram.T) / 2.0


def _cr1_all(
    lp: LinearProblem, k_e: int, post: list[int], level: float, gram: np.ndarray | None = None
) -> tuple[np.ndarray, InferenceOutcome, float, InferenceOutcome, np.ndarray]:
    """CR1 for the coefficients and for their post-period average, from one covariance.

    The average ``a'beta`` has CR1 variance ``a'Va``: the same as the coefficient of the
    reparametrised regression (:func:`_average_problem`), an invertible linear transformation
    of the regressors with the same residuals and ``k``.
    """
    from evaluation.inference.cluster import cr1_factor, cr1_vcov, is_singular, t_inference

    if gram is not None and gram.shape[0] and is_singular(gram):
        raise EstimationError(SINGULAR_MESSAGE)
    full, vcov = cr1_vcov(lp, gram)
    g = len(np.unique(lp.clusters))
    info = {"df": g - 1, "n_clusters": g, "ssc": cr1_factor(lp)}
    se = np.sqrt(np.diag(vcov)[:k_e])
    lo, hi, p = t_inference(full[:k_e], se, g - 1, level)
    out = InferenceOutcome("cr1", se, lo, hi, p, info=dict(info))
    a = np.zeros(len(full))
    a[post] = 1.0 / len(post)
    avg = float(a @ full)
    avg_se = np.array([np.sqrt(float(a @ vcov @ a))])
    lo1, hi1, p1 = t_inference(np.array([avg]), avg_se, g - 1, level)
    avg_out = InferenceOutcome("cr1", avg_se, lo1, hi1, p1, info=dict(info))
    return full[:k_e], out, avg, avg_out, vcov


def _event_vcov(
    lp: LinearProblem, k_e: int, times: list[int], name: str, vcov: np.ndarray | None = None
) -> dict[str, object]:
    """Covariance of the event-time coefficients: CR3 for ``"cr3"``, otherwise CR1.

    Used by sensitivity analysis (:func:`evaluation.sensitivity.honest.honest_bounds`).
    """
    from evaluation.inference.cluster import cr1_vcov, cr3_vcov, jackknife_estimates

    if vcov is not None:
        pass
    elif name == "cr3":
        vcov = cr3_vcov(jackknife_estimates(lp))
    else:
        vcov = cr1_vcov(lp)[1]
    return {
        "event_time": list(times),
        "vcov": vcov[:k_e, :k_e].tolist(),
        "source": "cr3" if name == "cr3" else "cr1",
    }


def _average_problem(lp: LinearProblem, cols: list[int]) -> LinearProblem:
    """Reparametrise so the mean of ``beta[cols]`` is the coefficient of column 0.

    With ``theta = mean(beta_c)``, ``beta_c0 = m theta - sum_{c != c0} beta_c``, so the design
    becomes ``[m x_c0, x_c - x_c0 (c != c0), other columns]``.
    """
    X = np.asarray(lp.X)
    c0, rest = cols[0], cols[1:]
    theta = len(cols) * X[:, c0]
    diffs = X[:, rest] - X[:, [c0]]
    others = np.delete(X, cols, axis=1)
    return LinearProblem(
        y=lp.y,
        X=np.column_stack([theta, diffs, others]),
        clusters=lp.clusters,
        targets=(0,),
        names=("post_average",),
        df_absorbed=lp.df_absorbed,
        absorbed_nested=lp.absorbed_nested,
    )


def _pretrend_not_computable(q: int, g: int, name: str) -> dict[str, object]:
    """Return the pre-trend test's record when the leads' covariance is singular."""
    return {
        "statistic": float("nan"),
        "df": q,
        "df_denom": g - 1,
        "p_value": float("nan"),
        "vcov": name,
        "test": "not computable: the covariance of the lead coefficients is singular",
    }


def _pretrend(
    lp: LinearProblem,
    leads_idx: list[int],
    name: str,
    settings: InferenceSettings,
    vcov_cr1: np.ndarray | None = None,
    beta_cr1: np.ndarray | None = None,
) -> dict[str, object]:
    """Joint Wald test that the lead coefficients are zero.

    ``vcov_cr1`` and ``beta_cr1``: the CR1 covariance and the coefficients, if already computed.
    """
    from evaluation.inference.cluster import cr1_vcov, cr3_vcov, jackknife_estimates

    g = len(np.unique(lp.clusters))
    q = len(leads_idx)
    if name == "wild":
        from evaluation.inference.wild import draw_wild_weights, wild_wald_test

        weights, _ = draw_wild_weights(
            settings.weights, g, settings.reps, settings.rng, settings.enumerate_max
        )
        try:
            res = wild_wald_test(lp, leads_idx, weights=weights)
        except np.linalg.LinAlgError:
            return _pretrend_not_computable(q, g, name)
        return {**res, "vcov": "cr1", "test": "wild cluster restricted bootstrap Wald"}
    if vcov_cr1 is not None and beta_cr1 is not None:
        beta, v1 = beta_cr1, vcov_cr1
    else:
        beta, v1 = cr1_vcov(lp)
    if name == "cr3":
        vcov = cr3_vcov(jackknife_estimates(lp))
    else:
        vcov = v1
    b = beta[leads_idx]
    try:
        stat = float(b @ np.linalg.solve(vcov[np.ix_(leads_idx, leads_idx)], b))
    except np.linalg.LinAlgError:
        return _pretrend_not_computable(q, g, name)
    p = f_sf(stat / q, q, g - 1)
    return {
        "statistic": stat,
        "df": q,
        "df_denom": g - 1,
        "p_value": p,
        "vcov": name,
        "test": "Wald, F(df, G-1) on statistic/df",
    }
