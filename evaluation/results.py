"""Frozen result objects shared by every estimator.

A different inference choice gives a new object, never a mutated one. Tables are tidy
:class:`pandas.DataFrame` objects with documented columns; :meth:`DidResult.to_dict` gives the
JSON shape used by ``pathfinder estimate --json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DidResult", "Estimate"]


def _num(x: Any) -> Any:
    """Turn numpy scalars and non-finite floats into JSON-friendly values."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    if df is None:
        return []
    return [{str(k): _num(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


@dataclass(frozen=True)
class Estimate:
    """One estimated effect with its inference.

    Attributes
    ----------
    estimate, se
        Point estimate and standard error (``nan`` when the inference method gives none, e.g.
        randomization inference).
    ci_low, ci_high
        Confidence interval at ``level``.
    p_value
        Two-sided p-value of the null of no effect.
    inference
        Name of the inference method that produced ``se``, the interval and the p-value.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    inference: str
    level: float = 0.95

    @classmethod
    def from_inference(
        cls, estimate: float, out: Any, *, level: float, inference: str | None = None, i: int = 0
    ) -> Estimate:
        """Return ``estimate`` with row ``i`` of an inference outcome as its inference.

        ``out`` has ``se``, ``ci_low``, ``ci_high`` and ``p_value`` arrays and a ``method``;
        ``inference`` names the method when it differs from ``out.method``.
        """
        return cls(
            estimate=float(estimate),
            se=float(out.se[i]),
            ci_low=float(out.ci_low[i]),
            ci_high=float(out.ci_high[i]),
            p_value=float(out.p_value[i]),
            inference=out.method if inference is None else inference,
            level=level,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict."""
        return {
            "estimate": _num(float(self.estimate)),
            "se": _num(float(self.se)),
            "ci_low": _num(float(self.ci_low)),
            "ci_high": _num(float(self.ci_high)),
            "p_value": _num(float(self.p_value)),
            "inference": self.inference,
            "level": self.level,
        }


@dataclass(frozen=True)
class DidResult:
    """The result of a difference-in-differences fit.

    Attributes
    ----------
    method
        Estimator name (``"twfe"``, ``"cs"``, ``"event_study"``, ...).
    control
        Comparison group (``"never"`` or ``"notyet"``), or ``None`` where not applicable.
    outcome
        Outcome column (with its scale, e.g. ``"log(outsourced_exams)"``).
    overall
        The headline effect (for staggered designs: the simple aggregated ATT).
    group_time
        Columns ``group, time, estimate, se, ci_low, ci_high`` (Callaway-Sant'Anna ATT(g,t)).
    event_study
        Columns ``event_time, estimate, se, ci_low, ci_high`` and, where computed,
        ``band_low, band_high`` (simultaneous bands).
    bacon
        Columns ``comparison, treated, control, weight, estimate`` (Goodman-Bacon).
    aggregations
        Extra tables by name (``"group"``, ``"calendar"``, ``"dynamic"``).
    warnings
        Design warnings (few treated clusters, unbalanced panel ...) carried into reports.
    info
        Read-only extras (pre-trend test, bootstrap settings, seed, convergence ...).
    """

    method: str
    control: str | None
    outcome: str
    n_units: int
    n_periods: int
    n_treated_units: int
    overall: Estimate
    group_time: pd.DataFrame | None = None
    event_study: pd.DataFrame | None = None
    bacon: pd.DataFrame | None = None
    aggregations: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "aggregations", MappingProxyType(dict(self.aggregations)))
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))

    def replace(self, **changes: Any) -> DidResult:
        """Return a copy with some fields changed (the original is untouched)."""
        return replace(self, **changes)

    def plot(self, **options: Any) -> Any:
        """Return the event-study chart of this fit as a plotly figure.

        Delegates to :func:`evaluation.plots.event_study_chart` (keyword options pass
        through: ``title``, ``unit``, ``period_name``); the numbers drawn are
        :func:`evaluation.plots.event_study_data`.
        """
        from evaluation.plots import event_study_chart

        return event_study_chart(self, **options)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape of ``pathfinder estimate --json``."""
        out: dict[str, Any] = {
            "method": self.method,
            "control": self.control,
            "outcome": self.outcome,
            "n_units": self.n_units,
            "n_periods": self.n_periods,
            "n_treated_units": self.n_treated_units,
            "warnings": list(self.warnings),
            "overall": self.overall.to_dict(),
            "group_time": _records(self.group_time),
            "event_study": _records(self.event_study),
        }
        if self.bacon is not None:
            out["bacon"] = _records(self.bacon)
        if self.aggregations:
            out["aggregations"] = {k: _records(v) for k, v in self.aggregations.items()}
        if self.info:
            out["info"] = {k: _jsonable(v) for k, v in self.info.items()}
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        return _records(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_num(v) for v in value.tolist()]
    return _num(value)
