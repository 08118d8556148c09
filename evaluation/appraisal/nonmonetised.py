"""Non-monetised impacts beside the NPSV: estimates, intervals and the value they would need.

Turnaround (median and p90 days) and the backlog are estimated but carry no unit value. The
Green Book asks for them to be shown beside the NPSV, with enough to judge whether they could
change the answer: for each, the estimate with its 95% interval, and the value per pilot
force-year (and per unit of the change) it would need for the go-forward NPSV to reach zero.

Examples
--------
>>> import pandas as pd
>>> from evaluation.appraisal.effects import effects_from_frame
>>> eff = effects_from_frame(pd.DataFrame({"metric": ["backlog"], "estimate": [-200.0],
...     "se": [50.0], "unit": ["count"]}))
>>> t = non_monetised_table(eff, ("backlog",), npsv=-1_000_000.0, force_years=10.0)
>>> float(t.loc[0, "value_needed_per_force_year"]), float(t.loc[0, "value_needed_per_unit"])
(100000.0, 500.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from evaluation.appraisal.effects import EffectsTable

__all__ = ["NON_MONETISED_COLUMNS", "discounted_force_years", "non_monetised_table"]

NON_MONETISED_COLUMNS: tuple[str, ...] = (
    "metric",
    "unit",
    "better",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "significant",
    "improves",
    "discounted_force_years",
    "value_needed_per_force_year",
    "value_needed_per_unit",
    "note",
)


def discounted_force_years(benefit_lines: pd.DataFrame) -> float:
    """Return the pilot force-years live in a view, each weighted by its discount factor."""
    if benefit_lines.empty:
        return 0.0
    rows = benefit_lines.drop_duplicates(["force", "financial_year"])
    return float((rows["scale"] * rows["discount_factor"]).sum())


def non_monetised_table(
    effects: EffectsTable,
    metrics: Sequence[str],
    *,
    npsv: float,
    force_years: float,
    z: float = 1.959963984540054,
) -> pd.DataFrame:
    """Return one row per non-monetised metric with an estimate (see the module docstring).

    Parameters
    ----------
    effects
        The effects table; metrics without an estimate are skipped.
    metrics
        The non-monetised metrics to show (``settings.non_monetised``).
    npsv
        The go-forward NPSV the impacts would have to offset (GBP, real, discounted).
    force_years
        The go-forward view's pilot force-years, discounted (:func:`discounted_force_years`).
    z
        Normal quantile of the interval (1.96: 95%).
    """
    from evaluation.schema import load_metrics

    config = load_metrics()
    rows = []
    gap = max(-npsv, 0.0)
    for m in metrics:
        if m not in effects.metrics:
            continue
        est, se = effects.estimate(m), effects.se(m)
        better = config[m].better if m in config else "none"
        lo, hi = est - z * se, est + z * se
        per_fy = gap / force_years if force_years > 0 else math.nan
        per_unit = per_fy / abs(est) if est != 0 else math.nan
        improves = {"lower": est < 0, "higher": est > 0}.get(better)
        if gap == 0:
            note = "the go-forward NPSV is already non-negative: no value is needed"
        else:
            note = (
                "value per pilot force-year (GBP, real, discounted like the NPSV) the impact "
                "would need for the go-forward NPSV to reach zero on its own"
            )
        rows.append(
            {
                "metric": m,
                "unit": str(effects.table.loc[m, "unit"]),
                "better": better,
                "estimate": est,
                "se": se,
                "ci_low": lo,
                "ci_high": hi,
                "significant": bool(lo > 0 or hi < 0),
                "improves": improves,
                "discounted_force_years": force_years,
                "value_needed_per_force_year": per_fy,
                "value_needed_per_unit": per_unit,
                "note": note,
            }
        )
    return pd.DataFrame(rows, columns=list(NON_MONETISED_COLUMNS))
