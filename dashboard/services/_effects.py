"""The Effects page's estimates: one metric, every estimator, bounds and warnings."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dashboard.services._analysis import _cache
from dashboard.services._constants import BOUNDS_WINDOW, ESTIMATOR_LABELS
from dashboard.services._data import Frames, load_frames, metric_names
from dashboard.store import UserStore


@dataclass(frozen=True)
class EffectsView:
    """Everything the Effects page shows for one metric and set of options."""

    metric: str
    method: str
    control: str
    inference: str
    overall: dict[str, float]
    event_result: Any
    estimators: pd.DataFrame
    pretrend: dict[str, float] | None
    bounds: pd.DataFrame
    warnings: tuple[str, ...]
    n_treated: int
    n_units: int


def _frame_with_cohorts(frames: Frames) -> pd.DataFrame:
    from evaluation.panel import attach_cohorts

    return attach_cohorts(frames.panel, frames.register)


def _fit(
    frame: pd.DataFrame,
    metric: str,
    method: str,
    control: str,
    inference: str | None,
    reps: int,
    seed: int,
    **options: Any,
) -> Any:
    from evaluation.estimation import estimate

    if method == "cs":
        options.setdefault("allow_unbalanced", True)
    kwargs: dict[str, Any] = {"control": control} if method in ("cs", "imputation") else {}
    return estimate(
        frame,
        metric,
        method=method,
        inference=inference,
        reps=reps,
        rng=np.random.default_rng(seed),
        **kwargs,
        **options,
    )


def _row(label: str, res: Any) -> dict[str, Any]:
    o = res.overall
    return {
        "estimator": label,
        "estimate": o.estimate,
        "se": o.se,
        "ci_low": o.ci_low,
        "ci_high": o.ci_high,
        "p_value": o.p_value,
        "inference": o.inference,
    }


def effects_view(
    store: UserStore,
    token: str,
    metric: str,
    *,
    method: str = "cs",
    control: str = "never",
    inference: str | None = None,
    reps: int = 199,
    seed: int = 20260401,
    bounds: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> EffectsView:
    """Estimate ``metric``'s effect with the chosen options and the views around it.

    Also the other estimators, the event study, the pre-trend test and (with ``bounds``)
    relative-magnitude sensitivity bounds.

    The bounds (Rambachan-Roth, conditional test) use the Callaway-Sant'Anna event study within
    :data:`BOUNDS_WINDOW` periods of go-live; they take minutes. Results are cached on disk.
    """
    key = ("effects", token, metric, method, control, inference, reps, seed, bounds)
    with _cache(store) as cache:
        hit = cache.get(key)
    if hit is not None:
        return hit
    from evaluation.errors import PathfinderError
    from evaluation.sensitivity import honest_bounds

    frames = load_frames(store, token)
    if metric not in metric_names(frames):
        raise ValueError(f"metric must be one of {', '.join(metric_names(frames))}")
    frame = _frame_with_cohorts(frames)
    others = [m for m in ("cs", "imputation", "twfe") if m != method]
    steps = 3 + len(others)
    note = progress or (lambda i, n, s: None)
    note(0, steps, f"estimating with {ESTIMATOR_LABELS.get(method, method)}")
    main = _fit(frame, metric, method, control, inference, reps, seed)
    note(1, steps, "event study")
    if method == "cs":
        es_res = _fit(frame, metric, "cs", control, inference, reps, seed, base_period="universal")
    else:
        es_res = _fit(frame, metric, "event_study", "never", None, reps, seed)
    pretrend = None
    info = dict(es_res.info)
    if "pretrend_p" in info:
        pretrend = {
            "statistic": float(info["pretrend_wald"]),
            "df": float(info["pretrend_df"]),
            "p_value": float(info["pretrend_p"]),
        }
    elif isinstance(info.get("pretrend"), Mapping) and "p_value" in info["pretrend"]:
        pt = info["pretrend"]
        pretrend = {
            "statistic": float(pt.get("statistic", math.nan)),
            "df": float(pt.get("df", math.nan)),
            "p_value": float(pt["p_value"]),
        }
    note(2, steps, "sensitivity bounds" if bounds else "event study done")
    bounds_table = pd.DataFrame()
    if bounds:
        try:
            window = _fit(
                frame,
                metric,
                "cs",
                control,
                inference,
                reps,
                seed,
                base_period="universal",
                min_e=-BOUNDS_WINDOW,
                max_e=BOUNDS_WINDOW,
            )
            bounds_table = honest_bounds(
                window,
                mbar=(0.0, 0.5, 1.0),
                method="Conditional",
                rng=np.random.default_rng(seed),
            )
        except PathfinderError as exc:
            bounds_table = pd.DataFrame({"note": [f"not computable: {exc}"]})
    rows = [_row(ESTIMATOR_LABELS.get(method, method) + " (chosen)", main)]
    for i, m in enumerate(others):
        note(3 + i, steps, f"comparing with {ESTIMATOR_LABELS[m]}")
        try:
            rows.append(
                _row(ESTIMATOR_LABELS[m], _fit(frame, metric, m, "never", None, reps, seed))
            )
        except PathfinderError as exc:
            rows.append({"estimator": ESTIMATOR_LABELS[m], "inference": f"not estimable: {exc}"})
    o = main.overall
    view = EffectsView(
        metric=metric,
        method=method,
        control=control,
        inference=o.inference,
        overall={
            "estimate": o.estimate,
            "se": o.se,
            "ci_low": o.ci_low,
            "ci_high": o.ci_high,
            "p_value": o.p_value,
        },
        event_result=es_res,
        estimators=pd.DataFrame(rows),
        pretrend=pretrend,
        bounds=bounds_table,
        warnings=tuple(main.warnings),
        n_treated=int(main.n_treated_units),
        n_units=int(main.n_units),
    )
    note(steps, steps, "done")
    with _cache(store) as cache:
        cache.set(key, view)
    return view
