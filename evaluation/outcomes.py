"""Outcome scales and natural units.

Evaluators need effects on three scales: levels, logs (percent effects) and rates per 1,000
officers. The appraisal needs every effect in natural units per force-year (examinations, GBP,
hours). These are pure functions over DataFrames and results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from evaluation.errors import DataError, Problem, check_option
from evaluation.panel import Panel
from evaluation.results import DidResult

__all__ = [
    "PERIODS_PER_YEAR",
    "SCALES",
    "NaturalEffect",
    "Scale",
    "natural_units",
    "scale_label",
    "transform_outcome",
]

Scale = Literal["level", "log", "per_1000_officers"]
SCALES: tuple[Scale, ...] = ("level", "log", "per_1000_officers")
PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "fy": 1}


def scale_label(outcome: str, scale: Scale) -> str:
    """Name of a transformed outcome (``log(y)``, ``y per 1,000 officers``)."""
    return {"level": outcome, "log": f"log({outcome})", "per_1000_officers": f"{outcome}_per_1000"}[
        scale
    ]


def transform_outcome(
    df: pd.DataFrame,
    outcome: str,
    scale: Scale,
    *,
    officers: str | pd.Series | None = None,
    unit: str = "force",
    source: str = "panel",
) -> tuple[pd.DataFrame, str]:
    """Return a copy of ``df`` with the outcome on the requested scale, and its column name.

    Parameters
    ----------
    df
        Long panel.
    outcome
        Outcome column.
    scale
        ``"level"`` (unchanged), ``"log"`` (natural log; every value must be positive) or
        ``"per_1000_officers"`` (outcome / officers x 1,000).
    officers
        For rates: a column of ``df`` with officer numbers, or a Series of officers by unit
        (default: the 43 forces' officer FTE from :func:`evaluation.schema.force_officers`).
    unit
        Unit column (to look officers up by force).

    Raises
    ------
    DataError
        Non-positive values under ``"log"`` (each row named), units without officer numbers.

    Examples
    --------
    >>> df = pd.DataFrame({"force": ["a", "b"], "y": [1.0, np.e]})
    >>> transform_outcome(df, "y", "log")[0]["log(y)"].round(6).tolist()
    [0.0, 1.0]
    """
    check_option("scale", scale, SCALES)
    name = scale_label(outcome, scale)
    out = df.copy()
    y = pd.to_numeric(df[outcome], errors="coerce").to_numpy(dtype=float)
    if scale == "level":
        return out, name
    if scale == "log":
        bad = np.flatnonzero(~(y > 0))
        if len(bad):
            raise DataError(
                f"{source}: log scale needs positive values of {outcome!r}; "
                f"{len(bad)} row(s) are zero, negative or missing (use levels or rates instead)",
                [
                    Problem(
                        "not positive",
                        file=source,
                        row=int(r) + 2,
                        column=outcome,
                        value=str(df[outcome].iloc[r]),
                        expected="a positive number for the log scale",
                    )
                    for r in bad[:50]
                ],
            )
        out[name] = np.log(y)
        return out, name
    if isinstance(officers, str):
        staff = pd.to_numeric(df[officers], errors="coerce").to_numpy(dtype=float)
    else:
        if officers is None:
            from evaluation.schema import force_officers

            officers = force_officers()
        staff = df[unit].map(officers).to_numpy(dtype=float)
    bad = np.flatnonzero(~(staff > 0))
    if len(bad):
        raise DataError(
            f"{source}: officer numbers missing for some units",
            [
                Problem(
                    "no officer numbers for this unit",
                    file=source,
                    row=int(r) + 2,
                    column=unit,
                    value=str(df[unit].iloc[r]),
                    expected="a unit with a positive officer count",
                )
                for r in bad[:50]
            ],
        )
    out[name] = y / staff * 1000.0
    return out, name


@dataclass(frozen=True)
class NaturalEffect:
    """An effect in natural units per treated force-year (what the appraisal consumes)."""

    metric: str
    estimate: float
    se: float
    unit: str
    per: str = "force-year"
    basis: str = ""

    def to_dict(self) -> dict[str, object]:
        """Return the effects-table row."""
        return {
            "metric": self.metric,
            "estimate": self.estimate,
            "se": self.se,
            "unit": self.unit,
            "per": self.per,
            "basis": self.basis,
        }


def natural_units(
    result: DidResult,
    panel: Panel,
    *,
    metric: str,
    scale: Scale,
    unit_name: str = "",
    aggregation: str = "flow",
    outcome_column: str | None = None,
    officers: pd.Series | None = None,
) -> NaturalEffect:
    """Express a result's overall effect per treated force-year in natural units.

    Flows (devices, GBP, hours in a period) add up over the year: the per-period effect is
    multiplied by the periods in a year. Levels (a backlog, turnaround days, rates) are averaged
    over the year: the per-period effect is the average change in the level.

    * level scale: effect per force-period (x periods per year for flows);
    * log: ``exp(b) - 1`` times the treated units' mean pre-period level per force-period,
      x periods per year (SE by the delta method);
    * per 1,000 officers: effect x treated units' mean officers / 1,000 x periods per year.
    """
    check_option("scale", scale, SCALES)
    check_option("aggregation", aggregation, ("flow", "level"))
    ppy = PERIODS_PER_YEAR.get(panel.frequency or "fy", 1) if aggregation == "flow" else 1
    b, se = result.overall.estimate, result.overall.se
    if scale == "level":
        basis = "effect per period x periods a year" if aggregation == "flow" else "average change"
        return NaturalEffect(metric, b * ppy, se * ppy, unit_name, basis=basis)
    data = panel.data
    treated_units = panel.unit_cohorts.index[np.isfinite(panel.unit_cohorts.to_numpy())]
    if scale == "log":
        col = outcome_column or metric
        pre = data[(data["unit"].isin(treated_units)) & (data["time"] < data["cohort"])]
        base = float(np.exp(pre[col]).mean()) if col.startswith("log(") else float(pre[col].mean())
        pct = np.expm1(b)
        return NaturalEffect(
            metric,
            pct * base * ppy,
            np.exp(b) * se * base * ppy,
            unit_name,
            basis="percent effect x treated pre-period mean",
        )
    if officers is None:
        from evaluation.schema import force_officers

        officers = force_officers()
    mean_staff = float(pd.Series(treated_units).map(officers).mean())
    factor = mean_staff / 1000.0 * ppy
    return NaturalEffect(
        metric, b * factor, se * factor, unit_name, basis="rate effect x treated officers"
    )
