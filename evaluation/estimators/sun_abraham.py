"""Sun and Abraham (2021) interaction-weighted event study.

The dynamic TWFE event study pools cohorts: under staggered adoption with effects that differ
by cohort its coefficients mix other relative periods' effects (Sun and Abraham 2021, Prop. 3).
The interaction-weighted (IW) estimator avoids that in two steps:

1. one regression with unit and period effects and a dummy for every cohort x relative period
   ``1[G_i = g] 1[t - g = e]`` (never-treated units have none; the reference period, default
   ``e = -1``, is omitted for every cohort): the cohort-specific effects ``delta_{g,e}``;
2. for each relative period ``e`` the IW estimate ``theta_e = sum_g w_{g,e} delta_{g,e}`` with
   ``w_{g,e}`` the share of cohort ``g`` among the treated-cohort observations at relative period
   ``e`` (the sample shares of fixest's ``sunab`` and pyfixest's saturated event study).

The weights are treated as fixed, as fixest and pyfixest do, so every ``theta_e`` (and the
average of the post-period ones, ``overall``) is a fixed linear combination of the regression
coefficients: CR1 and CR3 covariances follow as ``W V W'``, and the wild cluster restricted
bootstrap tests each combination as one coefficient of a reparametrised regression. Relative
time is counted in the panel's own steps (:func:`~evaluation.estimators.event_study.relative_time`).
Units first treated after the last period are never treated in the data and serve as controls.
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
from evaluation.estimators._fe import linear_problem, ols, two_way_problem
from evaluation.estimators.event_study import _pretrend, relative_time
from evaluation.estimators.twfe import _check_outcome, _covariate_matrix, _run_inference
from evaluation.inference.base import InferenceOutcome, InferenceSettings, LinearProblem
from evaluation.panel import Panel
from evaluation.results import DidResult, Estimate

__all__ = ["fit_sun_abraham", "interaction_design"]

_SA_INFERENCE = ("cr1", "cr3", "wild")


def interaction_design(
    panel: Panel, reference: int = -1
) -> tuple[np.ndarray, list[tuple[float, int]], np.ndarray, list[int]]:
    """Cohort x relative-period dummies and the interaction weights.

    Returns
    -------
    dummies
        Rows x K: one column per (cohort, relative period) cell observed, the reference omitted.
    cells
        The K cells as ``(cohort code, relative period)``.
    weights
        E x K: row ``e`` holds ``w_{g,e}`` (share of cohort ``g``'s observations among all
        treated-cohort observations at relative period ``e``) on the cells of period ``e``.
    event_times
        The E relative periods (the reference omitted), ascending.
    """
    rel, _ = relative_time(panel)
    cohort = panel.data["cohort"].to_numpy(dtype=float)
    last = float(panel.times.max())
    treated = np.isfinite(rel) & (cohort <= last)  # cohorts after the panel: never treated here
    if not treated.any():
        raise EstimationError("no treated unit-periods")
    if not (~treated).any():
        raise EstimationError("the Sun-Abraham estimator needs never-treated comparison units")
    rows = np.flatnonzero(treated & (rel != reference))
    if not (treated & (rel == reference)).any():
        raise ConfigError(
            f"the reference relative period {reference} is not observed for any treated unit"
        )
    pairs = pd.DataFrame({"g": cohort[rows], "e": rel[rows].astype(np.int64)})
    cells_df = pairs.drop_duplicates().sort_values(["e", "g"]).reset_index(drop=True)
    cells = [(float(g), int(e)) for g, e in zip(cells_df["g"], cells_df["e"], strict=True)]
    index = {c: j for j, c in enumerate(cells)}
    cols = np.array(
        [index[(g, e)] for g, e in zip(pairs["g"], pairs["e"], strict=True)], dtype=np.int64
    )
    dummies = np.zeros((len(rel), len(cells)))
    dummies[rows, cols] = 1.0
    counts = np.bincount(cols, minlength=len(cells)).astype(float)
    event_times = sorted(set(cells_df["e"].tolist()))
    weights = np.zeros((len(event_times), len(cells)))
    e_of = np.array([e for _, e in cells])
    for i, e in enumerate(event_times):
        sel = e_of == e
        weights[i, sel] = counts[sel] / counts[sel].sum()
    return dummies, cells, weights, event_times


def _combination_problem(lp: LinearProblem, a: np.ndarray, name: str) -> LinearProblem:
    """Reparametrise so that ``a' beta`` (over the first ``len(a)`` columns) is column 0.

    With ``c0`` a column where ``a`` is non-zero, ``beta_c0 = (theta - sum_{c != c0} a_c
    beta_c) / a_c0``, so the design becomes ``[x_c0 / a_c0, x_c - x_c0 a_c / a_c0, ...]``: an
    invertible transformation (same fit, residuals and ``k``).
    """
    X = np.asarray(lp.X)
    k = len(a)
    c0 = int(np.flatnonzero(a)[0])
    rest = [c for c in range(k) if c != c0]
    x0 = X[:, c0] / a[c0]
    others = X[:, rest] - np.outer(X[:, c0], a[rest] / a[c0])
    return LinearProblem(
        y=lp.y,
        X=np.column_stack([x0, others, X[:, k:]]),
        clusters=lp.clusters,
        targets=(0,),
        names=(name,),
        df_absorbed=lp.df_absorbed,
        absorbed_nested=lp.absorbed_nested,
        df_extra=lp.df_extra,
    )


def _linear_outcome(
    name: str, est: np.ndarray, vcov: np.ndarray, g: int, level: float, info: dict[str, object]
) -> InferenceOutcome:
    from evaluation.inference.cluster import t_inference

    se = np.sqrt(np.maximum(np.diag(vcov), 0.0))
    lo, hi, p = t_inference(est, se, g - 1, level)
    return InferenceOutcome(name, se, lo, hi, p, info=dict(info))


def fit_sun_abraham(
    panel: Panel,
    outcome: str,
    *,
    reference: int = -1,
    covariates: Sequence[str] = (),
    inference: str | None = None,
    settings: InferenceSettings | None = None,
) -> DidResult:
    """Sun and Abraham (2021) interaction-weighted event study (fixest ``sunab``).

    Parameters
    ----------
    panel
        The panel; it must contain never-treated units (the comparison group).
    outcome
        Outcome column.
    reference
        Omitted relative period for every cohort (default -1, one step before go-live).
    covariates
        Time-varying covariates (absorbed ones are refused by name).
    inference, settings
        ``"cr1"``, ``"cr3"`` or ``"wild"`` (as the event study); ``None`` picks the recommended
        method (``"ri"`` is not offered and falls back to ``"wild"``).

    Returns
    -------
    DidResult
        ``method="sun_abraham"``; ``event_study`` the IW estimates by relative period (the
        reference row 0); ``group_time`` the cohort-specific coefficients ``delta_{g,e}`` with
        their weights; ``overall`` the average of the post-period IW estimates;
        ``info["pretrend"]`` the joint test that every cohort-specific lead is zero;
        ``info["event_study_vcov"]`` the covariance of the IW estimates (CR1, or CR3).
    """
    settings = settings or InferenceSettings()
    y = _check_outcome(panel, outcome)
    name = inference or recommended_inference(panel, "event_study")
    if name == "ri" and inference is None:
        name = "wild"
    if name not in _SA_INFERENCE:
        raise ConfigError(
            f"inference {name!r} is not available for method 'sun_abraham'; "
            f"use one of {', '.join(repr(a) for a in _SA_INFERENCE)}"
        )
    dummies, cells, W, event_times = interaction_design(panel, reference)
    covariates = tuple(covariates)
    w = _covariate_matrix(panel, covariates)
    unit, time = panel.unit_index, panel.time_index
    check_fe_covariates(w, covariates, unit, time, estimator="sun_abraham")
    X = np.column_stack([dummies, w])
    K, p = len(cells), w.shape[1]
    names = [f"g{g:g}:e{e}" for g, e in cells]
    post = [i for i, e in enumerate(event_times) if e >= 0]
    if not post:
        raise EstimationError("no post-treatment relative periods")
    a_overall = W[post].mean(axis=0)
    Wfull = np.hstack([W, np.zeros((len(event_times), p))])
    afull = np.r_[a_overall, np.zeros(p)]
    g_count = len(np.unique(unit))

    from evaluation.inference.cluster import cr1_vcov, cr3_vcov, jackknife_estimates

    if name == "cr1":
        lp = two_way_problem(y, X, unit, time, names=names, targets=range(K))
        ols(lp.y, lp.X)  # the clear singular-design error
        beta, V = cr1_vcov(lp)
    else:
        lp = linear_problem(y, X, unit, time, names=names, targets=range(K))
        ols(lp.y, lp.X)
        if name == "cr3":
            beta = ols(lp.y, lp.X)
            V = cr3_vcov(jackknife_estimates(lp))
        else:
            beta, V = cr1_vcov(lp)  # for the reported covariance; intervals by the bootstrap
    beta, V = beta[: K + p], V[: K + p, : K + p]  # drop explicit period effects, if any
    theta = Wfull @ beta
    overall_est = float(afull @ beta)
    V_theta = Wfull @ V @ Wfull.T
    info_inf: dict[str, object] = {"n_clusters": g_count, "df": g_count - 1}
    if name in ("cr1", "cr3"):
        out = _linear_outcome(name, theta, V_theta, g_count, settings.level, info_inf)
        overall_out = _linear_outcome(
            name,
            np.array([overall_est]),
            np.array([[float(afull @ V @ afull)]]),
            g_count,
            settings.level,
            info_inf,
        )
    else:
        parts = [
            _run_inference(
                "wild",
                [_combination_problem(lp, W[i], f"e{e}")],
                settings,
                "sun_abraham",
                _SA_INFERENCE,
            )
            for i, e in enumerate(event_times)
        ]
        out = InferenceOutcome(
            "wild",
            np.array([q.se[0] for q in parts]),
            np.array([q.ci_low[0] for q in parts]),
            np.array([q.ci_high[0] for q in parts]),
            np.array([q.p_value[0] for q in parts]),
            info=dict(parts[0].info),
        )
        overall_out = _run_inference(
            "wild",
            [_combination_problem(lp, a_overall, "post_average")],
            settings,
            "sun_abraham",
            _SA_INFERENCE,
        )

    es = pd.DataFrame(
        {
            "event_time": event_times,
            "estimate": theta,
            "se": out.se,
            "ci_low": out.ci_low,
            "ci_high": out.ci_high,
            "p_value": out.p_value,
        }
    )
    ref_row = pd.DataFrame(
        {"event_time": [reference], "estimate": [0.0], "se": [np.nan], "ci_low": [np.nan]}
    )
    es = pd.concat([es, ref_row.assign(ci_high=np.nan, p_value=np.nan)], ignore_index=True)
    es = es.sort_values("event_time").reset_index(drop=True)
    delta_se = np.sqrt(np.maximum(np.diag(V)[:K], 0.0))
    gt = pd.DataFrame(
        {
            "group": [panel.time_label(g) for g, _ in cells],
            "event_time": [e for _, e in cells],
            "estimate": beta[:K],
            "se": delta_se,
            "weight": [float(W[event_times.index(e), j]) for j, (_, e) in enumerate(cells)],
        }
    )
    leads_idx = [j for j, (_, e) in enumerate(cells) if e < 0]
    pretrend = _pretrend(lp, leads_idx, name, settings) if leads_idx else None
    warnings = list(design_warnings(panel, name, "event_study"))
    order = np.argsort(event_times)
    info: dict[str, object] = {
        "estimator": "Sun and Abraham (2021) interaction-weighted event study",
        "reference": reference,
        "time_step": relative_time(panel)[1],
        "overall": "average of the post-period interaction-weighted estimates",
        "pretrend": pretrend,
        "inference": dict(out.info),
        "event_study_vcov": {
            "event_time": [int(event_times[i]) for i in order],
            "vcov": V_theta[np.ix_(order, order)].tolist(),
            "source": "cr3" if name == "cr3" else "cr1",
        },
        "reclassified_units": list(reclassified_units(panel)),
    }
    return DidResult(
        method="sun_abraham",
        control="never",
        outcome=outcome,
        n_units=panel.n_units,
        n_periods=panel.n_periods,
        n_treated_units=n_effectively_treated(panel),
        overall=Estimate.from_inference(
            overall_est, overall_out, level=settings.level, inference=name
        ),
        group_time=gt,
        event_study=es,
        warnings=tuple(warnings),
        info=info,
    )
