"""Two-way fixed effects DiD: the canonical 2x2 and the static TWFE regression.

``fit_twfe`` regresses the outcome on the treatment indicator ``D = 1[t >= cohort]`` with unit
and time effects, both partialled out exactly (the within transformation when the panel is
balanced, a direct solve otherwise) before a small least-squares solve; the tests check it
against linearmodels ``PanelOLS(entity_effects=True, time_effects=True)`` to 1e-8. Under
staggered adoption with effects that change over time this coefficient is not an average
treatment effect (Goodman-Bacon 2021): it is kept as a diagnostic, with the Goodman-Bacon
decomposition attached. ``fit_did2x2`` is the canonical two-group, two-period DiD.

Inference is posed, not computed here (see :mod:`evaluation.inference.base`):

* a :class:`LinearProblem` (unit effects partialled out, time effects as regressors) for
  ``"cr1"``, ``"cr3"`` and ``"wild"``;
* a :class:`PermutationProblem` whose statistic :func:`twfe_statistic` gives the TWFE coefficient
  for many reassigned cohort vectors at once, for ``"ri"``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

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
from evaluation.estimators._fe import (
    StaggeredTwfe,
    linear_problem,
    ols,
    two_way_demean,
    two_way_problem,
)
from evaluation.inference.base import (
    INFERENCE_METHODS,
    InferenceOutcome,
    InferenceSettings,
    PermutationProblem,
    Problem,
    RefitProblem,
    pick_problem,
)
from evaluation.panel import Panel
from evaluation.periods import parse_period
from evaluation.results import DidResult, Estimate

__all__ = ["STAGGERED_WARNING", "fit_did2x2", "fit_twfe", "twfe_statistic"]

#: Warning attached to TWFE results when adoption is staggered.
STAGGERED_WARNING = "TWFE is a diagnostic under staggered adoption; see Callaway-Sant'Anna"

_REGRESSION_INFERENCE = ("cr1", "cr3", "wild", "ri")
_MODULE_OF = {
    "cr1": "cluster",
    "cr3": "cluster",
    "wild": "wild",
    "ri": "randomization",
    "multiplier": "multiplier",
}


# ---------------------------------------------------------------------------- shared helpers
def _run_inference(
    name: str,
    problems: Sequence[Problem],
    settings: InferenceSettings,
    method: str,
    allowed: Sequence[str] = _REGRESSION_INFERENCE,
) -> InferenceOutcome:
    """Solve the first problem the named inference method accepts."""
    check_option("inference", name, tuple(_MODULE_OF))
    if name not in allowed:
        raise ConfigError(
            f"inference {name!r} is not available for method {method!r}; "
            f"use one of {', '.join(repr(a) for a in allowed)}"
        )
    importlib.import_module(f"evaluation.inference.{_MODULE_OF[name]}")
    solver = INFERENCE_METHODS[name]()
    return solver.infer(pick_problem(solver, problems, method), settings)


def _covariate_matrix(panel: Panel, covariates: Sequence[str]) -> np.ndarray:
    missing = [c for c in covariates if c not in panel.data.columns]
    if missing:
        raise ConfigError(
            f"covariate(s) {missing} not in the panel; available: {list(panel.covariates)}"
        )
    return panel.data[list(covariates)].to_numpy(dtype=float).reshape(len(panel.data), -1)


def _check_outcome(panel: Panel, outcome: str) -> np.ndarray:
    if outcome not in panel.data.columns:
        raise ConfigError(
            f"outcome {outcome!r} not in the panel; available: {list(panel.outcomes)}"
        )
    return panel.data[outcome].to_numpy(dtype=float)


def _refit_function(
    panel: Panel, y: np.ndarray, X: np.ndarray, targets: Sequence[int]
) -> Callable[[np.ndarray], np.ndarray]:
    """Return ``refit(units) -> estimates`` of the two-way FE regression on a subset of units."""
    unit_ids = panel.data["unit"].to_numpy()
    times = panel.time_index

    def refit(keep: np.ndarray) -> np.ndarray:
        rows = np.isin(unit_ids, keep)
        _, u = np.unique(unit_ids[rows], return_inverse=True)
        _, t = np.unique(times[rows], return_inverse=True)
        xd = two_way_demean(X[rows], u, t)
        keep_cols = np.abs(xd).max(axis=0) > 1e-12
        if not keep_cols[list(targets)].all():
            raise EstimationError(
                "CR3: leaving a unit out removes all variation in the treatment; use 'cr1', "
                "'wild' or 'ri'"
            )
        beta = ols(two_way_demean(y[rows], u, t), xd[:, keep_cols])
        full = np.full(X.shape[1], np.nan)
        full[keep_cols] = beta
        return full[list(targets)]

    return refit


def twfe_statistic(
    panel: Panel, covariates: Sequence[str] = ()
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Return the vectorised TWFE statistic for randomization inference.

    ``statistic(y, cohorts)`` with ``cohorts`` of shape (B, n_units) returns the (B, 1) TWFE
    coefficients ``<M D_b, y> / <M D_b, D_b>``, with ``D_b = 1[t >= cohort_b]`` and ``M`` the
    two-way annihilator (plus covariates, if any), which depends only on which unit-periods are
    present. The statistic is linear in ``y``. Each assignment costs O(N) after one table per
    call (:class:`~evaluation.estimators._fe.StaggeredTwfe`): no projection of the B columns
    ``D_b``, and no refit. The projection is factorised on first use.
    """
    unit, time = panel.unit_index, panel.time_index
    t_codes = panel.data["time"].to_numpy(dtype=float)
    n_u, n_t = panel.n_units, panel.n_periods
    cov = _covariate_matrix(panel, covariates)
    engine: list[StaggeredTwfe] = []

    def statistic(y: np.ndarray, cohorts: np.ndarray) -> np.ndarray:
        if not engine:
            engine.append(StaggeredTwfe.build(unit, time, t_codes, cov, n_u, n_t))
        return engine[0].coefficients(y, cohorts)[:, None]

    return statistic


def _estimate(beta: float, out: InferenceOutcome, level: float) -> Estimate:
    return Estimate.from_inference(beta, out, level=level)


# ---------------------------------------------------------------------------- TWFE
def fit_twfe(
    panel: Panel,
    outcome: str,
    *,
    covariates: Sequence[str] = (),
    inference: str | None = None,
    settings: InferenceSettings | None = None,
    bacon: bool = True,
) -> DidResult:
    """Two-way fixed effects regression of the outcome on ``D = 1[t >= cohort]``.

    Parameters
    ----------
    panel
        The panel.
    outcome
        Outcome column.
    covariates
        Time-varying covariates added to the regression.
    inference
        ``"cr1"``, ``"cr3"``, ``"wild"`` or ``"ri"``; ``None`` picks
        :func:`evaluation.design.recommended_inference`.
    settings
        Inference settings (replications, level, weights, rng).
    bacon
        Attach the Goodman-Bacon decomposition (balanced panels without covariates; otherwise
        a warning says why it is absent).

    Returns
    -------
    DidResult
        ``method="twfe"``; ``overall`` the TWFE coefficient; ``bacon`` the decomposition;
        ``info["inference"]`` the inference details.

    Notes
    -----
    Standard errors: CR1 as ``G/(G-1) (n-1)/(n-k)`` with ``k`` = 1 + covariates + (T-1) time
    effects (unit effects are nested in the clusters and not counted, as fixest and Stata); CR3
    is the leave-one-unit-out jackknife of the full two-way model; both with t(G-1) intervals.
    """
    settings = settings or InferenceSettings()
    y = _check_outcome(panel, outcome)
    covariates = tuple(covariates)
    d = panel.treated
    cov = _covariate_matrix(panel, covariates)
    unit, time = panel.unit_index, panel.time_index
    check_fe_covariates(cov, covariates, unit, time, estimator="twfe")
    X = np.column_stack([d, cov])
    # both sets of effects partialled out: the exact within transformation (balanced) or a
    # direct solve (unbalanced), then a k x k system
    compact = two_way_problem(y, X, unit, time, names=["D"], targets=[0])
    beta = float(ols(compact.y, compact.X)[0])
    name = inference or recommended_inference(panel, "twfe")
    problems: list[Problem]
    if name in ("cr3", "wild"):
        # CR3 of the full two-way model: the closed form on the LinearProblem is exact (unit
        # effects are nested in clusters, time effects are regressors); so is the wild bootstrap
        problems = [
            linear_problem(y, X, unit, time, names=["D"], targets=[0]),
            RefitProblem(
                estimates=np.array([beta]),
                units=panel.units,
                refit=_refit_function(panel, y, X, [0]),
                names=["D"],
            ),
        ]
    elif name == "ri":
        problems = [
            PermutationProblem(
                statistic=twfe_statistic(panel, covariates),
                y=y,
                treated=d,
                cohorts=panel.unit_cohorts.to_numpy(dtype=float),
                names=["D"],
            )
        ]
    else:  # CR1: by Frisch-Waugh-Lovell the compact problem gives the full model's covariance
        problems = [compact]
    out = _run_inference(name, problems, settings, "twfe")
    warnings = list(design_warnings(panel, name, "twfe"))
    if len(panel.cohorts) > 1:
        warnings.append(STAGGERED_WARNING)
    table = None
    info: dict[str, object] = {"inference": dict(out.info)}
    if bacon:
        from evaluation.estimators.bacon import bacon_summary, goodman_bacon

        if covariates:
            warnings.append("Goodman-Bacon decomposition not computed: it ignores covariates")
        elif not panel.is_balanced:
            warnings.append(
                "Goodman-Bacon decomposition not computed: it is exact only for balanced panels"
            )
        else:
            table = goodman_bacon(panel, outcome)
            info["bacon_summary"] = bacon_summary(table)
    info["reclassified_units"] = list(reclassified_units(panel))
    return DidResult(
        method="twfe",
        control=None,
        outcome=outcome,
        n_units=panel.n_units,
        n_periods=panel.n_periods,
        n_treated_units=n_effectively_treated(panel),
        overall=_estimate(beta, out, settings.level),
        bacon=table,
        warnings=tuple(warnings),
        info=info,
    )


# ---------------------------------------------------------------------------- 2x2
def _period_codes(panel: Panel, values: Sequence[object], arg: str) -> np.ndarray:
    codes = []
    for v in values:
        if isinstance(v, str) and panel.frequency is not None:
            try:
                codes.append(parse_period(v).ordinal)
            except ValueError as exc:
                raise ConfigError(f"{arg}: {v!r} is not a period label") from exc
        else:
            try:
                codes.append(int(v))  # type: ignore[call-overload]
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{arg}: {v!r} is not a period") from exc
    out = np.array(codes, dtype=np.int64)
    absent = [values[i] for i, c in enumerate(out) if c not in set(panel.times.tolist())]
    if absent:
        raise ConfigError(f"{arg}: period(s) {absent} not in the panel")
    return out


def fit_did2x2(
    panel: Panel,
    outcome: str,
    *,
    pre: Sequence[object] | None = None,
    post: Sequence[object] | None = None,
    inference: str | None = None,
    settings: InferenceSettings | None = None,
) -> DidResult:
    """Canonical 2x2 DiD: treated vs never-treated units, before vs after.

    Parameters
    ----------
    panel
        The panel. Without ``pre``/``post`` it must have exactly two periods, with every treated
        unit first treated in the second.
    outcome
        Outcome column.
    pre, post
        Optional periods (labels or time codes) to collapse: each unit's outcome is averaged
        over the ``pre`` periods and over the ``post`` periods; other periods are dropped.
        Treated units must start treatment after the last pre period and no later than the
        first post period; comparison units must be untreated through the last post period.
    inference, settings
        As for :func:`fit_twfe`.

    Returns
    -------
    DidResult
        ``overall`` equals ``(post - pre mean of treated) - (post - pre mean of comparison)``;
        ``info["means"]`` holds the four means.

    Raises
    ------
    EstimationError
        The panel (after the optional collapse) is not a 2x2 design; every reason is listed.
    """
    settings = settings or InferenceSettings()
    _check_outcome(panel, outcome)
    if (pre is None) != (post is None):
        raise ConfigError("give both pre= and post= (or neither)")
    if pre is None or post is None:
        if panel.n_periods != 2:
            raise EstimationError(
                f"a 2x2 DiD needs exactly two periods; the panel has {panel.n_periods} "
                "(pass pre= and post= to collapse periods)"
            )
        pre_c, post_c = panel.times[:1], panel.times[1:]
    else:
        pre_c = _period_codes(panel, list(pre), "pre")
        post_c = _period_codes(panel, list(post), "post")
        if not len(pre_c) or not len(post_c):
            raise ConfigError("pre= and post= must each name at least one period")
        if pre_c.max() >= post_c.min():
            raise ConfigError("every pre period must come before every post period")
    g = panel.unit_cohorts
    first_post, last_post, last_pre = post_c.min(), post_c.max(), pre_c.max()
    treated = (g > last_pre) & (g <= first_post)
    control = g > last_post
    problems = []
    early = g.index[g <= last_pre].tolist()
    if early:
        problems.append(f"unit(s) treated during the pre period: {early[:10]}")
    mid = g.index[(g > first_post) & (g <= last_post)].tolist()
    if mid:
        problems.append(f"unit(s) first treated inside the post period: {mid[:10]}")
    if not treated.any():
        problems.append("no treated units")
    if not control.any():
        problems.append("no comparison (untreated) units")
    data = panel.data
    t = data["time"].to_numpy()
    period = np.where(np.isin(t, pre_c), 1, np.where(np.isin(t, post_c), 2, 0))
    frame = pd.DataFrame({"unit": data["unit"].to_numpy(), "period": period, "y": data[outcome]})
    frame = frame[frame["period"] > 0]
    collapsed = frame.groupby(["unit", "period"], sort=True)["y"].mean().reset_index()
    counts = collapsed.groupby("unit")["period"].nunique()
    partial = counts.index[counts < 2].tolist()
    if partial:
        problems.append(f"unit(s) not observed both before and after: {partial[:10]}")
    if problems:
        raise EstimationError("the panel is not a 2x2 design: " + "; ".join(problems))
    collapsed["cohort"] = np.where(collapsed["unit"].map(treated).to_numpy(dtype=bool), 2.0, 0.0)
    two = Panel.from_frame(
        collapsed, unit="unit", time="period", cohort="cohort", outcomes="y", source=panel.source
    )
    wide = two.wide("y").to_numpy()
    is_t = np.isfinite(two.unit_cohorts.to_numpy())
    means = {
        "treated_pre": float(wide[is_t, 0].mean()),
        "treated_post": float(wide[is_t, 1].mean()),
        "control_pre": float(wide[~is_t, 0].mean()),
        "control_post": float(wide[~is_t, 1].mean()),
    }
    res = fit_twfe(two, "y", inference=inference, settings=settings, bacon=False)
    return res.replace(
        method="did2x2",
        outcome=outcome,
        warnings=tuple(design_warnings(panel, res.overall.inference, "did2x2")),
        info={**res.info, "means": means, "pre": pre_c.tolist(), "post": post_c.tolist()},
    )
