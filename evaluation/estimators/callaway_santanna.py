"""Callaway and Sant'Anna (2021) group-time average treatment effects and their aggregations.

:func:`fit_cs` reproduces R ``did``'s ``att_gt`` (panel data) and ``aggte``:

* ATT(g,t) for every group ``g`` (units first treated in period g) and period ``t``, each a 2x2
  difference-in-differences of ``g`` against never-treated or not-yet-treated units, with the
  base period ``g - 1 - anticipation`` for post-treatment cells (and the previous period, or the
  same universal base period, for pre-treatment cells);
* estimators: ``"unconditional"`` (difference of four means, all cells at once), and with
  covariates R ``DRDID``'s ``reg_did_panel`` (``"reg"``), ``std_ipw_did_panel`` (``"ipw"``,
  normalised weights) and ``drdid_panel`` (``"dr"``, doubly robust, R ``did``'s default);
* aggregations as ``aggte``: ``simple`` (post-treatment cells weighted by group size),
  ``group``, ``calendar`` and ``dynamic`` (event study; ``balance_e``, ``min_e``, ``max_e``);
* every estimate carries its unit-level influence function (including the estimation of the
  group-size weights), so inference is pluggable: analytic (``"cr1"``: ``sqrt(sum psi^2)/n``, R's
  convention, no small-sample factor), multiplier bootstrap with sup-t bands
  (``"multiplier"``), cluster jackknife by refitting (``"cr3"``: (G-1)/G times the sum of squared
  deviations of the leave-one-unit-out estimates) and randomization inference (``"ri"``: the
  unconditional simple and event-study ATT evaluated for many reassignments of cohorts at once).

Units are the clusters (forces). The wild cluster bootstrap applies to regression estimators and
is not offered here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.design import (
    design_warnings,
    n_effectively_treated,
    reclassified_units,
    recommended_inference,
)
from evaluation.errors import ConfigError, EstimationError, check_option
from evaluation.estimators._covariates import check_cs_covariates
from evaluation.estimators._cs_aggregate import Aggregate, aggregate
from evaluation.estimators._cs_core import Cells, att_covariates, att_unconditional, build_cells
from evaluation.inference._dist import chi2_sf
from evaluation.inference.base import (
    INFERENCE_METHODS,
    InferenceOutcome,
    InferenceSettings,
    InfluenceProblem,
    PermutationProblem,
    RefitProblem,
    pick_problem,
)
from evaluation.inference.multiplier import analytic_from_influence
from evaluation.inference.randomization import unit_sum
from evaluation.panel import Panel
from evaluation.results import DidResult, Estimate

__all__ = ["AGGREGATIONS", "CONTROLS", "ESTIMATIONS", "INFERENCES", "cs_statistic", "fit_cs"]

CONTROLS = ("never", "notyet")
ESTIMATIONS = ("unconditional", "reg", "ipw", "dr")
AGGREGATIONS = ("simple", "group", "calendar", "dynamic")
BASE_PERIODS = ("varying", "universal")
INFERENCES = ("cr1", "cr3", "multiplier", "ri")
_FAMILIES = ("overall", "group_time", "dynamic", "group", "calendar")
_MODULE_OF = {
    "cr1": "cluster",
    "cr3": "cluster",
    "wild": "wild",
    "multiplier": "multiplier",
    "ri": "randomization",
}


@dataclass(frozen=True)
class _Options:
    control: str
    estimation: str
    anticipation: int
    base_period: str
    balance_e: int | None
    min_e: float
    max_e: float


@dataclass(frozen=True)
class _Fit:
    """Everything estimated on one sample (arrays over units of that sample)."""

    cells: Cells
    att: np.ndarray
    psi: np.ndarray
    groups: np.ndarray
    times: np.ndarray
    aggregates: dict[str, Aggregate]
    notes: tuple[str, ...] = ()

    def family(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keys, estimates and influence functions (n x m) of one family of targets."""
        if name == "group_time":
            keys = np.column_stack([self.cells.group, self.cells.time])
            return keys, self.att, self.psi
        if name == "overall":
            agg = [self.aggregates[a] for a in AGGREGATIONS]
            keys = np.arange(len(AGGREGATIONS), dtype=float)
            est = np.array([a.overall for a in agg])
            return keys, est, np.column_stack([a.overall_influence for a in agg])
        a = self.aggregates[name]
        return a.keys, a.estimates, a.influence


# --------------------------------------------------------------------------- estimation core
def _estimate(
    Y: np.ndarray,
    X: np.ndarray | None,
    cohort: np.ndarray,
    times: np.ndarray,
    opt: _Options,
    labels: Callable[[float], object] = lambda c: c,
) -> _Fit:
    """Fit ATT(g,t) and the four aggregations on arrays (units x periods)."""
    notes: list[str] = []
    cohort = cohort.astype(float).copy()
    late = np.isfinite(cohort) & (cohort > times.max() + opt.anticipation)
    if late.any():
        cohort[late] = np.inf
        notes.append(
            f"{int(late.sum())} unit(s) first treated after the last period are treated as "
            "never treated (as R did)"
        )
    always = np.isfinite(cohort) & (cohort <= times.min())
    if always.any():
        keep = ~always
        Y, cohort = Y[keep], cohort[keep]
        X = X[keep] if X is not None else None
        notes.append(
            f"{int(always.sum())} unit(s) treated in or before the first period were left out "
            "(no pre-treatment period; as R did)"
        )
    groups = np.unique(cohort[np.isfinite(cohort)])
    if len(groups) == 0:
        raise EstimationError("no treated units with a pre-treatment period")
    if not (~np.isfinite(cohort)).any():
        if opt.control == "never":
            raise EstimationError(
                "no never-treated units: use control='notyet' (the last group to be treated "
                "then serves only as a comparison group)"
            )
        last = groups.max()
        keep_t = times < last - opt.anticipation
        Y, times = Y[:, keep_t], times[keep_t]
        X = X[:, keep_t] if X is not None else None
        groups = groups[groups < last]
        notes.append(
            f"no never-treated units: periods from {labels(last - opt.anticipation)} on are "
            f"dropped and the last group ({labels(last)}) serves only as a comparison group "
            "(as R did)"
        )
        if len(groups) == 0:
            raise EstimationError("no never-treated units and only one treated group")
    cells, dropped = build_cells(
        times,
        groups,
        control=opt.control,
        anticipation=opt.anticipation,
        base_period=opt.base_period,
    )
    if dropped:
        notes.append(
            "group(s) with no pre-treatment period after anticipation are not estimated: "
            + ", ".join(str(labels(g)) for g in dropped)
        )
    if len(cells) == 0:
        raise EstimationError("no group-time cells can be estimated")
    no_overlap: list[str] = []
    if X is None:
        att, psi, _ = att_unconditional(Y, cohort, cells, opt.anticipation)
    else:
        names = [
            f"ATT({labels(g)}, {labels(t)})" for g, t in zip(cells.group, cells.time, strict=True)
        ]
        att, psi, _, no_overlap = att_covariates(
            Y, X, cohort, cells, opt.anticipation, opt.estimation, names
        )
        if no_overlap:
            notes.append(
                f"overlap condition violated (a preliminary propensity score of at least 0.999, "
                f"as R did): {len(no_overlap)} group-time cell(s) left missing and out of every "
                f"aggregate: {', '.join(no_overlap)}"
            )
    missing = ~np.isfinite(att)
    n_other = int(missing.sum()) - len(no_overlap)
    if n_other:
        notes.append(f"{n_other} group-time cell(s) have no comparison units and are left out")
    aggs = {
        kind: aggregate(
            kind,
            att,
            psi,
            cells.group,
            cells.time,
            cohort,
            groups,
            times,
            balance_e=opt.balance_e,
            min_e=opt.min_e,
            max_e=opt.max_e,
        )
        for kind in AGGREGATIONS
    }
    return _Fit(cells, att, psi, groups, times, aggs, tuple(notes))


def _pretrend(fit: _Fit) -> dict[str, float]:
    """Wald pre-test that all pre-treatment ATT(g,t) are zero (R att_gt; analytic covariance)."""
    pre = np.flatnonzero(~fit.cells.post & ~fit.cells.reference & np.isfinite(fit.att))
    if len(pre) == 0:
        return {}
    n = fit.psi.shape[0]
    if len(pre) >= n:  # the covariance of more estimates than units is singular
        return {}
    V = fit.psi[:, pre].T @ fit.psi[:, pre] / n**2
    eig = np.linalg.eigvalsh(V)
    if not np.isfinite(eig).all() or eig[0] <= np.finfo(float).eps * max(eig[-1], 0.0):
        return {}
    a = fit.att[pre]
    W = float(a @ np.linalg.solve(V, a))
    return {"pretrend_wald": W, "pretrend_df": len(pre), "pretrend_p": chi2_sf(W, len(pre))}


# --------------------------------------------------------------------------- RI statistic
def _ri_cohorts(panel: Panel, anticipation: int) -> np.ndarray:
    """Return unit cohorts for randomization, those after the last period coded never treated.

    Such units are never treated in the data (and in every estimate): recoding them keeps the
    assignments that are permuted equal to the ones the estimator sees.
    """
    cohorts = panel.unit_cohorts.to_numpy(dtype=float).copy()
    cohorts[np.isfinite(cohorts) & (cohorts > panel.times.max() + anticipation)] = np.inf
    return cohorts


def cs_statistic(
    panel: Panel,
    *,
    control: str = "never",
    anticipation: int = 0,
    base_period: str = "varying",
    dynamic: bool = True,
    balance_e: int | None = None,
    min_e: float = -np.inf,
    max_e: float = np.inf,
) -> tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], list[str]]:
    """Return the unconditional simple (and event-study) ATT as a vectorised, linear statistic.

    Returns ``statistic(y, cohorts)`` for randomization inference: ``y`` is an outcome in the
    panel's row order (balanced panel), ``cohorts`` is B x n_units (each row a reassignment of
    the unit cohorts: a permutation, so group sizes are kept). It gives B x k: the simple ATT,
    then (``dynamic=True``) the event-study ATT for each event time of the observed design.
    Each target is a sum over units of a piece that depends only on the unit and the cohort it
    is given, evaluated for all B assignments by
    :func:`evaluation.inference.randomization.unit_sum`: no refit per draw. The group-size
    weights are those of the observed assignment (permutations keep them), so the statistic is
    linear in ``y``.
    """
    if not panel.is_balanced:
        raise EstimationError("randomization inference for cs needs a balanced panel")
    times = panel.times.astype(float)
    observed = _ri_cohorts(panel, anticipation)
    opt = _Options(control, "unconditional", anticipation, base_period, balance_e, min_e, max_e)
    ui, ti = panel.unit_index, panel.time_index
    n, T = panel.n_units, panel.n_periods
    probe = np.zeros((n, T))
    fit = _estimate(probe, None, observed, times, opt)
    if any("first period" in note for note in fit.notes):
        raise EstimationError(
            "randomization inference for cs needs every treated unit to have a pre-treatment period"
        )
    cells = fit.cells
    times_used = fit.times
    t_pos = np.searchsorted(times, times_used)
    groups = fit.groups
    values = np.unique(observed)  # includes inf (never treated) if present
    counts = np.array([(observed == v).sum() for v in values], dtype=float)
    count_of = dict(zip(values.tolist(), counts.tolist(), strict=True))
    K = len(cells)
    # weights of cells in each target (simple, dynamic e ...)
    shares = np.array([count_of[g] for g in groups]) / n
    pg = shares[np.searchsorted(groups, cells.group)]
    e = cells.time - cells.group
    post = (cells.group <= cells.time) & (cells.time <= cells.group + max_e)
    rows = [np.where(post, pg, 0.0) / pg[post].sum()]
    names = ["simple"]
    if dynamic:
        dyn = fit.aggregates["dynamic"]
        include = np.ones(K, dtype=bool)
        if balance_e is not None:
            include = (times_used.max() - cells.group) >= balance_e
        for ev in dyn.keys:
            sel = include & (e == ev)
            rows.append(np.where(sel, pg, 0.0) / pg[sel].sum())
            names.append(f"e={int(ev)}")
    A = np.vstack(rows)  # k x K
    A[:, cells.reference] = 0.0
    # comparison set of each cell as a 0/1 vector over cohort values
    is_ctrl = np.zeros((K, len(values)))
    for j, v in enumerate(values):
        never = not np.isfinite(v)
        if control == "never":
            is_ctrl[:, j] = float(never)
        else:
            is_ctrl[:, j] = never | ((v > cells.threshold + anticipation) & (v != cells.group))
    g_col = np.searchsorted(values, cells.group)
    n_ctrl = is_ctrl @ counts
    cur, base = t_pos[cells.cur], t_pos[cells.base]

    # att_k(b) = sum_v (sum of dY_k over the units given cohort v) * W[v, k], so each target is
    # a sum over units of a piece that depends only on the unit and the cohort it is given
    own = (np.arange(len(values))[:, None] == g_col[None, :]) / counts[g_col][None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        W = own - is_ctrl.T / n_ctrl[None, :]  # V x K
    AW = W[:, None, :] * A[None, :, :]  # V x k x K

    def statistic(y: np.ndarray, cohorts: np.ndarray) -> np.ndarray:
        Yw = np.zeros((n, T))
        Yw[ui, ti] = np.asarray(y, dtype=float)
        dY = Yw[:, cur] - Yw[:, base]  # N x K
        table = np.einsum("ik,vjk->ivj", dY, AW)  # N x V x k
        codes = np.searchsorted(values, np.atleast_2d(np.asarray(cohorts, dtype=float)))
        if codes.shape[0] == 0:
            return np.zeros((0, A.shape[0]))
        return unit_sum(table, codes)

    return statistic, names


# --------------------------------------------------------------------------- inference
def _method(name: str) -> object:
    """Return the registered inference method ``name`` (importing only its module)."""
    importlib.import_module(f"evaluation.inference.{_MODULE_OF[name]}")
    if name not in INFERENCE_METHODS:
        raise ConfigError(f"inference {name!r} is not available (its module registers no method)")
    return INFERENCE_METHODS[name]()


def _empty_outcome(name: str, k: int, note: str) -> InferenceOutcome:
    nan = np.full(k, np.nan)
    return InferenceOutcome(name, nan, nan, nan, nan, info={"note": note})


def _split(outcome: InferenceOutcome, sizes: Sequence[int]) -> list[InferenceOutcome]:
    out, start = [], 0
    for k in sizes:
        sl = slice(start, start + k)
        out.append(
            InferenceOutcome(
                outcome.method,
                outcome.se[sl],
                outcome.ci_low[sl],
                outcome.ci_high[sl],
                outcome.p_value[sl],
                None if outcome.band_low is None else outcome.band_low[sl],
                None if outcome.band_high is None else outcome.band_high[sl],
                dict(outcome.info),
            )
        )
        start += k
    return out


@dataclass
class _Data:
    Y: np.ndarray
    X: np.ndarray | None
    cohort: np.ndarray
    times: np.ndarray
    units: np.ndarray
    opt: _Options
    labels: Callable[[float], object]
    extra: dict[str, object] = field(default_factory=dict)


def _align(fit: _Fit, reference: _Fit) -> np.ndarray:
    """Concatenate all families of ``fit`` on the keys of ``reference`` (NaN where absent)."""
    out = []
    for fam in _FAMILIES:
        ref_keys, _, _ = reference.family(fam)
        keys, est, _ = fit.family(fam)
        lookup = {tuple(np.atleast_1d(k).tolist()): v for k, v in zip(keys, est, strict=True)}
        out.append(
            np.array([lookup.get(tuple(np.atleast_1d(k).tolist()), np.nan) for k in ref_keys])
        )
    return np.concatenate(out) if out else np.empty(0)


def _infer(
    name: str, fit: _Fit, data: _Data, panel: Panel, settings: InferenceSettings
) -> dict[str, InferenceOutcome]:
    """Inference for every family of targets, by the chosen method."""
    fams = {f: fit.family(f) for f in _FAMILIES}
    if name in ("cr1", "multiplier"):
        out = {}
        for f, (keys, est, psi) in fams.items():
            problem = InfluenceProblem(est, psi, [str(k) for k in keys.tolist()])
            if name == "cr1":
                out[f] = analytic_from_influence(problem, settings, method="cr1")
            elif len(est) == 0:
                out[f] = _empty_outcome(name, 0, "no targets")
            else:
                method = _method(name)
                chosen = pick_problem(method, [problem], "cs")  # type: ignore[arg-type]
                out[f] = method.infer(chosen, settings)  # type: ignore[attr-defined]
        return out
    sizes = [len(fams[f][1]) for f in _FAMILIES]
    if name == "cr3":
        index = {u: i for i, u in enumerate(data.units)}

        def refit(keep: np.ndarray) -> np.ndarray:
            rows = np.array([index[u] for u in keep], dtype=np.int64)
            try:
                sub = _estimate(
                    data.Y[rows],
                    None if data.X is None else data.X[rows],
                    data.cohort[rows],
                    data.times,
                    data.opt,
                )
            except EstimationError:
                return np.full(sum(sizes), np.nan)
            return _align(sub, fit)

        refit_problem = RefitProblem(
            estimates=np.concatenate([fams[f][1] for f in _FAMILIES]),
            units=np.asarray(data.units),
            refit=refit,
            names=[f"{f}:{k}" for f in _FAMILIES for k in fams[f][0].tolist()],
        )
        method = _method("cr3")
        outcome = method.infer(pick_problem(method, [refit_problem], "cs"), settings)  # type: ignore[arg-type,attr-defined]
        return dict(zip(_FAMILIES, _split(outcome, sizes), strict=True))
    # randomization inference: the simple ATT and the event study
    if data.opt.estimation != "unconditional":
        raise ConfigError(
            "inference 'ri' for cs needs estimation='unconditional' (the randomization statistic "
            "is the difference-of-means ATT); use 'multiplier' or 'cr3' with covariates"
        )
    if data.opt.min_e != -np.inf or data.opt.max_e != np.inf:
        raise ConfigError("inference 'ri' for cs does not support min_e / max_e")
    statistic, names = cs_statistic(
        panel,
        control=data.opt.control,
        anticipation=data.opt.anticipation,
        base_period=data.opt.base_period,
        dynamic=True,
        balance_e=data.opt.balance_e,
    )
    problem_ri = PermutationProblem(
        statistic=statistic,
        y=panel.data[str(data.extra["outcome"])].to_numpy(dtype=float),
        treated=panel.treated,
        cohorts=_ri_cohorts(panel, data.opt.anticipation),
        names=names,
    )
    method = _method("ri")
    outcome = method.infer(pick_problem(method, [problem_ri], "cs"), settings)  # type: ignore[arg-type,attr-defined]
    simple, dyn = _split(outcome, [1, len(names) - 1])
    first = np.arange(len(AGGREGATIONS)) == 0  # the simple ATT; the others are not covered

    def simple_only(values: np.ndarray) -> np.ndarray:
        return np.where(first, values[0], np.nan)

    overall = InferenceOutcome(
        "ri",
        se=simple_only(simple.se),
        ci_low=simple_only(simple.ci_low),
        ci_high=simple_only(simple.ci_high),
        p_value=simple_only(simple.p_value),
        info=dict(outcome.info),
    )
    result = {"overall": overall, "dynamic": dyn}
    for f in ("group_time", "group", "calendar"):
        result[f] = _empty_outcome(
            "ri",
            sizes[_FAMILIES.index(f)],
            "randomization inference covers the simple ATT and event study",
        )
    return result


def _event_vcov(fit: _Fit) -> dict[str, object]:
    """Influence-function covariance ``psi' psi / n^2`` of the event-study estimates.

    As R ``honest_did``; used by :func:`evaluation.sensitivity.honest.honest_bounds`.
    """
    keys, _, psi = fit.family("dynamic")
    n = psi.shape[0]
    return {
        "event_time": [int(k) for k in keys],
        "vcov": (psi.T @ psi / n**2).tolist(),
        "source": "influence function",
    }


# --------------------------------------------------------------------------- tables
def _table(
    key_cols: dict[str, Sequence[object]], est: np.ndarray, out: InferenceOutcome
) -> pd.DataFrame:
    df = pd.DataFrame(key_cols)
    df["estimate"] = est
    df["se"] = out.se
    df["ci_low"] = out.ci_low
    df["ci_high"] = out.ci_high
    df["p_value"] = out.p_value
    if out.band_low is not None and out.band_high is not None:
        df["band_low"] = out.band_low
        df["band_high"] = out.band_high
    return df


def _wide_inputs(
    panel: Panel, outcome: str, covariates: Sequence[str], allow_unbalanced: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    Y = panel.wide(outcome).to_numpy(dtype=float)
    if not panel.is_balanced and not allow_unbalanced:
        absent = panel.n_units * panel.n_periods - len(panel.data)
        short = panel.data.groupby("unit", sort=False).size()
        units = short[short < panel.n_periods].index[:10].tolist()
        raise EstimationError(
            f"unbalanced panel: {absent} unit-period(s) absent (e.g. units {units}). R did "
            "(panel=TRUE) would silently drop every unit not observed in all periods; balance the "
            "panel explicitly, or pass allow_unbalanced=True to use, in each group-time cell, the "
            "units observed in both of its periods"
        )
    X = None
    if covariates:
        X = np.stack([panel.wide(c).to_numpy(dtype=float) for c in covariates], axis=2)
    return Y, X


def fit_cs(
    panel: Panel,
    outcome: str,
    *,
    control: str = "never",
    estimation: str = "unconditional",
    covariates: Sequence[str] | None = None,
    anticipation: int = 0,
    base_period: str = "varying",
    aggregation: str = "simple",
    balance_e: int | None = None,
    min_e: float = -np.inf,
    max_e: float = np.inf,
    allow_unbalanced: bool = False,
    inference: str | None = None,
    settings: InferenceSettings | None = None,
) -> DidResult:
    """Callaway and Sant'Anna (2021) ATT(g,t) and aggregations, as R ``did``.

    Parameters
    ----------
    panel
        The panel (units are the clusters).
    outcome
        Outcome column.
    control
        ``"never"`` (never-treated comparison units) or ``"notyet"`` (not yet treated, including
        never treated). Without never-treated units, ``"notyet"`` drops the periods from the last
        group's treatment on and uses that group only for comparison (as R).
    estimation
        ``"unconditional"`` (no covariates), ``"reg"``, ``"ipw"`` or ``"dr"`` (R ``DRDID``'s
        outcome-regression, normalised-IPW and doubly robust panel estimators).
    covariates
        Covariates for reg/ipw/dr (default: the panel's covariates). Each cell uses their values
        in the earlier of its two periods.
    anticipation
        Periods of anticipation: the base period of group g is ``g - 1 - anticipation``.
    base_period
        ``"varying"`` (pre-treatment cells compare consecutive periods) or ``"universal"`` (all
        cells compare with ``g - 1 - anticipation``; the reference cell is 0).
    aggregation
        Which aggregate is the headline ``overall``: ``"simple"``, ``"group"``, ``"calendar"``
        or ``"dynamic"`` (R ``aggte``'s overall). All four are computed.
    balance_e, min_e, max_e
        Event-study options of R ``aggte`` (``max_e`` also trims simple and group aggregates).
    allow_unbalanced
        Unbalanced panels raise :class:`EstimationError` unless True; then each cell uses the
        units observed in both of its periods (the group shares still use all units).
    inference
        ``"multiplier"`` (bootstrap, sup-t bands), ``"cr1"`` (analytic influence-function SE,
        ``sqrt(sum psi^2)/n`` as R, no small-sample factor), ``"cr3"`` (leave-one-unit-out
        jackknife by refitting: (G-1)/G x sum of squared deviations) or ``"ri"`` (randomization
        inference on the simple ATT and the event study; unconditional, balanced panels).
        ``None``: :func:`evaluation.design.recommended_inference`.
    settings
        Resampling settings (``reps``, ``level``, ``weights``, ``rng``). The multiplier bootstrap
        draws ``settings.weights``, Rademacher by default (as R ``did`` and ``csdid``).
        Resampling methods need ``settings.rng``.

    Returns
    -------
    DidResult
        ``overall`` (the chosen aggregation), ``group_time`` (ATT(g,t)), ``event_study`` (the
        dynamic aggregation), ``aggregations`` (``"overall"``, ``"group"``, ``"calendar"``,
        ``"dynamic"``), ``warnings`` and ``info`` (pre-trend Wald test, band critical values).

    Raises
    ------
    ConfigError
        An invalid option, or an inference method the estimator does not offer (``"wild"``).
    EstimationError
        Unbalanced panel without ``allow_unbalanced``, no comparison units, a singular design.

    Examples
    --------
    >>> df = pd.DataFrame({"u": [1, 1, 2, 2, 3, 3], "t": [1, 2] * 3, "g": [2, 2, 0, 0, 0, 0],
    ...                    "y": [1.0, 4.0, 1.0, 2.0, 2.0, 2.0]})
    >>> p = Panel.from_frame(df, unit="u", time="t", cohort="g", outcomes="y")
    >>> res = fit_cs(p, "y", inference="cr1")
    >>> float(res.overall.estimate)  # (4 - 1) - mean(2 - 1, 2 - 2)
    2.5
    """
    check_option("control", control, CONTROLS)
    check_option("estimation", estimation, ESTIMATIONS)
    check_option("base_period", base_period, BASE_PERIODS)
    check_option("aggregation", aggregation, AGGREGATIONS)
    if not isinstance(anticipation, int | np.integer) or anticipation < 0:
        raise ConfigError(f"anticipation must be a non-negative integer; got {anticipation!r}")
    if balance_e is not None and (not isinstance(balance_e, int | np.integer) or balance_e < 0):
        raise ConfigError(f"balance_e must be a non-negative integer or None; got {balance_e!r}")
    if outcome not in panel.outcomes:
        raise ConfigError(f"outcome must be one of {list(panel.outcomes)}; got {outcome!r}")
    if inference is None:
        inference = recommended_inference(panel, "cs")
    if inference == "wild":
        raise ConfigError(
            "inference 'wild' (wild cluster bootstrap) applies to regression estimators; for "
            "'cs' use 'multiplier', 'cr1', 'cr3' or 'ri'"
        )
    check_option("inference", inference, INFERENCES)
    if settings is None:
        settings = InferenceSettings()
    if estimation == "unconditional":
        if covariates:
            raise ConfigError(
                "covariates need estimation='reg', 'ipw' or 'dr' (unconditional uses none)"
            )
        covs: tuple[str, ...] = ()
    else:
        covs = tuple(panel.covariates if covariates is None else covariates)
        unknown = [c for c in covs if c not in panel.data.columns]
        if unknown:
            raise ConfigError(f"covariates not in the panel: {unknown}")

    opt = _Options(
        control, estimation, int(anticipation), base_period, balance_e, float(min_e), float(max_e)
    )
    Y, X = _wide_inputs(panel, outcome, covs, allow_unbalanced)
    if X is not None:
        check_cs_covariates(X, covs)
    if estimation != "unconditional" and X is None:
        X = np.zeros((Y.shape[0], Y.shape[1], 0))
    cohort = panel.unit_cohorts.to_numpy(dtype=float)
    times = panel.times.astype(float)
    fit = _estimate(Y, X, cohort, times, opt, panel.time_label)
    data = _Data(Y, X, cohort, times, panel.units, opt, panel.time_label, {"outcome": outcome})
    outcomes = _infer(inference, fit, data, panel, settings)

    lab = panel.time_label
    cells = fit.cells
    gt = _table(
        {"group": [lab(g) for g in cells.group], "time": [lab(t) for t in cells.time]},
        fit.att,
        outcomes["group_time"],
    )
    tables = {}
    for fam, col in (("group", "group"), ("calendar", "time"), ("dynamic", "event_time")):
        keys, est, _ = fit.family(fam)
        values = [int(k) for k in keys] if fam == "dynamic" else [lab(k) for k in keys]
        tables[fam] = _table({col: values}, est, outcomes[fam])
    _, overall_est, _ = fit.family("overall")
    tables["overall"] = _table(
        {"aggregation": list(AGGREGATIONS)}, overall_est, outcomes["overall"]
    )
    j = AGGREGATIONS.index(aggregation)
    ov = outcomes["overall"]
    overall = Estimate(
        estimate=float(overall_est[j]),
        se=float(ov.se[j]),
        ci_low=float(ov.ci_low[j]),
        ci_high=float(ov.ci_high[j]),
        p_value=float(ov.p_value[j]),
        inference=inference,
        level=settings.level,
    )
    warns = list(design_warnings(panel, inference, "cs")) + list(fit.notes)
    if allow_unbalanced and not panel.is_balanced:
        warns.append(
            "allow_unbalanced: each group-time cell uses the units observed in both of its "
            "periods (R did with panel=TRUE would instead drop incomplete units)"
        )
    info: dict[str, object] = {
        "control": control,
        "estimation": estimation,
        "covariates": list(covs),
        "anticipation": int(anticipation),
        "base_period": base_period,
        "aggregation": aggregation,
        "balance_e": balance_e,
        "n_cells": len(cells),
        **_pretrend(fit),
        "inference_info": {f: dict(o.info) for f, o in outcomes.items()},
        "event_study_vcov": _event_vcov(fit),
    }
    info["reclassified_units"] = list(reclassified_units(panel))
    return DidResult(
        method="cs",
        control=control,
        outcome=outcome,
        n_units=panel.n_units,
        n_periods=panel.n_periods,
        n_treated_units=n_effectively_treated(panel),
        overall=overall,
        group_time=gt,
        event_study=tables["dynamic"],
        aggregations=tables,
        warnings=tuple(warns),
        info=info,
    )
