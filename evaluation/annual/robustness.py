"""Robustness of the effects behind the benefits: estimators, placebo, leave-one-out, bounds.

For each metric that drives a core benefit line, the annual report shows the main estimate
beside the imputation estimator (Borusyak-Jaravel-Spiess) and two-way fixed effects (a
diagnostic under staggered adoption), a placebo with go-live moved a year earlier on
pre-go-live data only, how far the estimate moves when each pilot force is left out, and
Rambachan-Roth sensitivity bounds: how large a violation of parallel trends, relative to the
largest pre-go-live one, would be needed before the average effect in the year after go-live
could be zero. A check that cannot be computed on the data is reported as such, with the
reason, never dropped.

The bounds use the event study of one year either side of go-live (Callaway-Sant'Anna,
universal base period, multiplier-bootstrap covariance) and the closed-form "union" interval of
:mod:`evaluation.sensitivity.honest` (conservative; the dashboard's Effects page gives the
sharper conditional interval, which takes minutes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evaluation.errors import PathfinderError

if TYPE_CHECKING:  # pragma: no cover
    from evaluation.pipeline import PipelineResult

__all__ = ["Robustness", "robustness_checks"]

_SHIFT = {"month": 12, "quarter": 4, "fy": 1}
#: relative magnitudes of the bounds table (0: parallel trends hold exactly)
BOUNDS_MBAR = (0.0, 0.5, 1.0, 2.0)


@dataclass(frozen=True)
class Robustness:
    """Robustness tables (effects per force per period, the estimators' own scale).

    Attributes
    ----------
    estimators
        ``metric, estimator, estimate, ci_low, ci_high, p_value, inference, note``.
    placebo
        ``metric, shift, fake_go_live, estimate, ci_low, ci_high, p_value, verdict``.
    leave_one_out
        ``metric, estimate, min_estimate, max_estimate, max_change, force_at_max, verdict``.
    bounds
        ``metric, mbar, id_low, id_high, ci_low, ci_high, breakdown_mbar, verdict``: the
        average effect over the post-go-live year under relative-magnitude violations
        ``Mbar`` (0 = parallel trends), and the smallest ``Mbar`` at which its interval
        includes zero.
    """

    estimators: pd.DataFrame = field(repr=False)
    placebo: pd.DataFrame = field(repr=False)
    leave_one_out: pd.DataFrame = field(repr=False)
    bounds: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)


def _row(res: Any) -> dict[str, Any]:
    o = res.overall
    return {
        "estimate": float(o.estimate),
        "ci_low": float(o.ci_low),
        "ci_high": float(o.ci_high),
        "p_value": float(o.p_value),
        "inference": str(o.inference),
    }


_NAN_ROW = {"estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan}


def robustness_checks(
    result: PipelineResult, metrics: Sequence[str], *, seed: int | None = None
) -> Robustness:
    """Run the robustness checks of ``metrics`` on the pipeline's panel and register.

    Parameters
    ----------
    result
        The pipeline result (its panel, register and main fits).
    metrics
        The metrics to check (those behind the core benefit lines).
    seed
        Seed of any resampling (default: the pipeline's seed).
    """
    from evaluation.estimation import estimate
    from evaluation.estimators.callaway_santanna import fit_cs
    from evaluation.panel import Panel, attach_cohorts
    from evaluation.periods import detect_frequency
    from evaluation.sensitivity import fake_golive, leave_one_pilot_out

    seed = result.inputs.seed if seed is None else seed
    frame = attach_cohorts(result.panel, result.register)
    freq = detect_frequency(str(result.panel["period"].iloc[0])) or "month"
    shift = _SHIFT.get(freq, 1)
    est_rows: list[dict[str, Any]] = []
    placebo_rows: list[dict[str, Any]] = []
    loo_rows: list[dict[str, Any]] = []
    bound_rows: list[dict[str, Any]] = []
    for metric in metrics:
        main = result.results[metric]
        est_rows.append(
            {"metric": metric, "estimator": f"{main.method} (main)", **_row(main), "note": ""}
        )
        for method, options in (
            ("imputation", {"inference": None}),
            ("twfe", {"inference": "cr1", "bacon": False}),
        ):
            try:
                res = estimate(
                    frame, metric, method=method, rng=np.random.default_rng(seed), **options
                )
                note = "diagnostic under staggered adoption" if method == "twfe" else ""
                est_rows.append({"metric": metric, "estimator": method, **_row(res), "note": note})
            except PathfinderError as exc:
                est_rows.append(
                    {
                        "metric": metric,
                        "estimator": method,
                        **_NAN_ROW,
                        "inference": "",
                        "note": f"not computed: {exc}",
                    }
                )
        panel = Panel.from_frame(
            frame, unit="force", time="period", cohort="cohort", outcomes=metric
        )
        try:
            pl = fake_golive(
                panel, metric, fit_cs, shifts=(shift,), inference="cr1", allow_unbalanced=True
            )
            for rec in pl.table.to_dict("records"):
                p = float(rec["p_value"])
                placebo_rows.append(
                    {
                        "metric": metric,
                        "shift": int(rec["shift"]),
                        "fake_go_live": str(rec["fake_cohorts"]),
                        "estimate": float(rec["estimate"]),
                        "ci_low": float(rec["ci_low"]),
                        "ci_high": float(rec["ci_high"]),
                        "p_value": p,
                        "verdict": "placebo effect (p < 0.05): a warning sign"
                        if p < 0.05
                        else "no placebo effect",
                    }
                )
        except PathfinderError as exc:
            placebo_rows.append(
                {
                    "metric": metric,
                    "shift": shift,
                    "fake_go_live": "",
                    **_NAN_ROW,
                    "verdict": f"not computed: {exc}",
                }
            )
        try:
            lo = leave_one_pilot_out(panel, metric, fit_cs, inference="cr1", allow_unbalanced=True)
            t = lo.table
            worst = t.iloc[int(np.argmax(t["change"].abs().to_numpy()))]
            same_sign = bool(
                (np.sign(t["estimate"]) == np.sign(lo.actual)).all() and lo.actual != 0
            )
            loo_rows.append(
                {
                    "metric": metric,
                    "estimate": float(lo.actual),
                    "min_estimate": float(t["estimate"].min()),
                    "max_estimate": float(t["estimate"].max()),
                    "max_change": float(lo.max_change),
                    "force_at_max": str(worst["dropped"]),
                    "verdict": "same sign whichever pilot is left out"
                    if same_sign
                    else "sign depends on one pilot force",
                }
            )
        except PathfinderError as exc:
            loo_rows.append(
                {
                    "metric": metric,
                    "estimate": math.nan,
                    "min_estimate": math.nan,
                    "max_estimate": math.nan,
                    "max_change": math.nan,
                    "force_at_max": "",
                    "verdict": f"not computed: {exc}",
                }
            )
        bound_rows += _bounds(frame, metric, shift, result.inputs.reps, seed)
    return Robustness(
        estimators=pd.DataFrame(est_rows),
        placebo=pd.DataFrame(placebo_rows),
        leave_one_out=pd.DataFrame(loo_rows),
        bounds=pd.DataFrame(bound_rows, columns=list(_BOUND_COLUMNS)),
    )


_BOUND_COLUMNS = (
    "metric",
    "mbar",
    "id_low",
    "id_high",
    "ci_low",
    "ci_high",
    "breakdown_mbar",
    "verdict",
)


def _bounds(
    frame: pd.DataFrame, metric: str, window: int, reps: int, seed: int | None
) -> list[dict[str, Any]]:
    """Relative-magnitude bounds of one metric's post-go-live year (rows of :attr:`bounds`)."""
    from evaluation.estimation import estimate
    from evaluation.sensitivity.honest import breakdown_mbar, event_study_inputs, honest_bounds

    try:
        es = estimate(
            frame,
            metric,
            method="cs",
            base_period="universal",
            min_e=-window,
            max_e=window - 1,
            inference="multiplier",
            reps=reps,
            rng=np.random.default_rng(seed),
            allow_unbalanced=True,
        )
        table = honest_bounds(es, mbar=BOUNDS_MBAR, method="union")
        beta, sigma, n_pre, _ = event_study_inputs(es)
        breakdown = breakdown_mbar(beta, sigma, n_pre, method="union")
    except PathfinderError as exc:
        return [
            {
                "metric": metric,
                "mbar": math.nan,
                "id_low": math.nan,
                "id_high": math.nan,
                "ci_low": math.nan,
                "ci_high": math.nan,
                "breakdown_mbar": math.nan,
                "verdict": f"not computed: {exc}",
            }
        ]
    if breakdown == 0.0:
        verdict = "interval includes zero even under parallel trends"
    elif math.isinf(breakdown):
        verdict = "excludes zero for any violation tried"
    elif breakdown >= 1.0:
        verdict = (
            f"robust: zero only if violations reach {breakdown:.2f} times the largest "
            "pre-go-live one"
        )
    else:
        verdict = (
            f"fragile: a violation {breakdown:.2f} times the largest pre-go-live one "
            "would allow zero"
        )
    return [
        {
            "metric": metric,
            "mbar": float(r["mbar"]),
            "id_low": float(r["id_low"]),
            "id_high": float(r["id_high"]),
            "ci_low": float(r["ci_low"]),
            "ci_high": float(r["ci_high"]),
            "breakdown_mbar": float(breakdown),
            "verdict": verdict,
        }
        for r in table.to_dict("records")
    ]
