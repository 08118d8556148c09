"""One entry point to every difference-in-differences estimator.

:func:`estimate` takes a long DataFrame with any column names (or a ready :class:`Panel`), puts
the outcome on the requested scale, picks the inference the design calls for unless told
otherwise, and dispatches to the estimator. Estimators are imported only when used.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from evaluation.design import recommended_inference
from evaluation.errors import ConfigError, check_option
from evaluation.inference.base import InferenceSettings
from evaluation.outcomes import SCALES, Scale, transform_outcome
from evaluation.panel import Panel, require_columns
from evaluation.results import DidResult

__all__ = ["CONTROLS", "INFERENCE_NAMES", "METHODS", "Method", "estimate", "estimator"]

Method = Literal["cs", "twfe", "did2x2", "event_study", "sun_abraham", "imputation", "sdid"]

#: method name -> (module, function, description)
METHODS: dict[str, tuple[str, str, str]] = {
    "cs": ("evaluation.estimators.callaway_santanna", "fit_cs", "Callaway-Sant'Anna (2021)"),
    "twfe": ("evaluation.estimators.twfe", "fit_twfe", "two-way fixed effects (diagnostic)"),
    "did2x2": ("evaluation.estimators.twfe", "fit_did2x2", "canonical 2x2"),
    "event_study": (
        "evaluation.estimators.event_study",
        "fit_event_study",
        "dynamic TWFE event study",
    ),
    "sun_abraham": (
        "evaluation.estimators.sun_abraham",
        "fit_sun_abraham",
        "Sun-Abraham interaction-weighted event study",
    ),
    "imputation": (
        "evaluation.estimators.imputation",
        "fit_imputation",
        "Borusyak-Jaravel-Spiess imputation",
    ),
    "sdid": ("evaluation.estimators.synthetic", "fit_sdid", "synthetic difference-in-differences"),
}
CONTROLS = ("never", "notyet")
INFERENCE_NAMES = ("cr1", "cr3", "wild", "ri", "multiplier")


def estimator(method: str) -> Callable[..., DidResult]:
    """Return the ``fit_*`` function of a method name."""
    check_option("method", method, tuple(METHODS))
    module, func, _ = METHODS[method]
    return getattr(importlib.import_module(module), func)


def estimate(
    data: pd.DataFrame | Panel,
    outcome: str,
    *,
    unit: str = "force",
    time: str = "period",
    cohort: str = "cohort",
    covariates: Sequence[str] = (),
    method: str = "cs",
    control: str = "never",
    inference: str | None = None,
    reps: int = 999,
    level: float = 0.95,
    weights: str = "rademacher",
    rng: np.random.Generator | int | None = None,
    scale: Scale = "level",
    source: str = "panel",
    **options: Any,
) -> DidResult:
    """Estimate the pilots' effect on one outcome.

    Parameters
    ----------
    data
        Long frame (one row per unit and period) or a :class:`Panel`.
    outcome
        Outcome column.
    unit, time, cohort
        Column names; ``cohort`` is the first treated period (0 or missing = never treated).
    covariates
        Pre-treatment covariates (used by estimators that take them).
    method
        One of :data:`METHODS` (default ``"cs"``, Callaway-Sant'Anna).
    control
        ``"never"`` or ``"notyet"`` treated comparison units (estimators that choose).
    inference
        ``"cr1"``, ``"cr3"``, ``"wild"``, ``"ri"`` or ``"multiplier"``; ``None`` picks the method
        recommended for the design (:func:`evaluation.design.recommended_inference`).
    reps, level, weights
        Resampling draws, confidence level, bootstrap weights.
    rng
        A :class:`numpy.random.Generator` or an integer seed (turned into one here).
    scale
        ``"level"``, ``"log"`` or ``"per_1000_officers"``.
    **options
        Passed to the estimator (e.g. ``estimation="dr"``, ``anticipation=1``); an option the
        estimator does not take is an error. With covariates, Callaway-Sant'Anna defaults to
        the doubly robust estimator, as R ``did``.

    Examples
    --------
    >>> import evaluation as ev  # doctest: +SKIP
    >>> res = ev.estimate(df, "outsourced_exams", method="cs", rng=1)  # doctest: +SKIP
    """
    check_option("method", method, tuple(METHODS))
    check_option("control", control, CONTROLS)
    check_option("scale", scale, SCALES)
    if inference is not None:
        check_option("inference", inference, INFERENCE_NAMES)
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    if isinstance(data, Panel):
        if scale != "level":
            raise ConfigError("scale applies to DataFrame input; transform before building a Panel")
        panel, y = data, outcome
    else:
        require_columns(data, [unit, time, cohort, outcome, *covariates], source)
        frame, y = transform_outcome(data, outcome, scale, unit=unit, source=source)
        panel = Panel.from_frame(
            frame,
            unit=unit,
            time=time,
            cohort=cohort,
            outcomes=y,
            covariates=covariates,
            source=source,
        )
    panel.check_finite([y, *covariates])  # the one non-finite check of every estimator
    chosen = inference or recommended_inference(panel, method)
    settings = InferenceSettings(reps=reps, level=level, weights=weights, rng=generator)  # type: ignore[arg-type]
    fit = estimator(method)
    params = inspect.signature(fit).parameters
    if "control" in params:
        options["control"] = control
    elif control != "never":
        raise ConfigError(f"method {method!r} does not take a control group option")
    if covariates:
        if "covariates" in params:
            options.setdefault("covariates", tuple(covariates))
            if method == "cs":
                # as R did: covariates without an explicit method mean doubly robust
                options.setdefault("estimation", "dr")
        elif method != "imputation":  # imputation reads the covariates the panel carries
            raise ConfigError(f"method {method!r} does not take covariates")
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = sorted(k for k in options if k not in params and not takes_any)
    if unknown:
        raise ConfigError(
            f"option(s) {unknown} do not apply to method {method!r}; it takes "
            f"{sorted(k for k in params if k not in ('panel', 'outcome', 'inference', 'settings'))}"
        )
    return fit(panel, y, inference=chosen, settings=settings, **options)
