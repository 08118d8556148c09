"""Green Book measures: PVs, NPSV, BCR, cashable BCR and ROI, VfM label, payback, by year.

Examples
--------
>>> vfm_category(1.7, (("poor", 1.0), ("low", 1.5), ("medium", 2.0), ("high", None)))
'medium'
>>> payback_index([-10.0, -4.0, 1.0, 3.0])
2
>>> payback_index([-10.0, 1.0, -1.0]) is None
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaluation.appraisal._years import fy_start
from evaluation.appraisal.discounting import discount_factors
from evaluation.appraisal.params import ParameterSet
from evaluation.appraisal.results import Summary

__all__ = [
    "BY_YEAR_COLUMNS",
    "by_year_table",
    "payback_index",
    "present_values",
    "summarise",
    "vfm_category",
]

BY_YEAR_COLUMNS: tuple[str, ...] = (
    "financial_year",
    "year",
    "t",
    "forces_live",
    "costs_nominal_outturn_gbp",
    "costs_base_real_gbp",
    "ob_uplift_gbp",
    "residual_value_gbp",
    "costs_gbp",
    "benefits_cashable_gbp",
    "benefits_noncashable_gbp",
    "benefits_gbp",
    "benefits_wider_gbp",
    "net_gbp",
    "in_year_bcr",
    "discount_factor",
    "pv_costs_gbp",
    "pv_benefits_gbp",
    "pv_net_gbp",
    "cumulative_net_gbp",
    "cumulative_pv_costs_gbp",
    "cumulative_pv_benefits_gbp",
    "cumulative_pv_net_gbp",
)


def vfm_category(bcr: float, thresholds: Sequence[tuple[str, float | None]]) -> str:
    """Return the value-for-money label of a BCR (a label, never a pass/fail)."""
    if bcr is None or math.isnan(bcr):
        return "undefined (no net costs)"
    for label, below in thresholds:
        if below is None or bcr < below:
            return label
    return thresholds[-1][0]


def payback_index(cumulative: Sequence[float]) -> int | None:
    """Return the first index from which ``cumulative`` stays >= 0 (``None`` if none)."""
    values = np.asarray(cumulative, dtype=float)
    if values.size == 0 or values[-1] < 0:
        return None
    negative = np.flatnonzero(values < 0)
    return 0 if negative.size == 0 else int(negative[-1]) + 1


def present_values(cost_lines: pd.DataFrame, benefit_lines: pd.DataFrame) -> tuple[float, float]:
    """Return (PV of costs, PV of core benefits) from lines already discounted to one base."""
    core = ~benefit_lines["wider"].to_numpy(dtype=bool)
    pv_costs = float(cost_lines["pv_gbp"].to_numpy(dtype=float).sum())
    return pv_costs, float(benefit_lines["pv_gbp"].to_numpy(dtype=float)[core].sum())


def by_year_table(
    cost_lines: pd.DataFrame,
    benefit_lines: pd.DataFrame,
    params: ParameterSet,
    *,
    years: Sequence[str],
    base_year: str,
) -> pd.DataFrame:
    """Return the year-by-year table, discounted to ``base_year`` (see :data:`BY_YEAR_COLUMNS`)."""
    idx = pd.Index(list(years), name="financial_year")
    c = cost_lines[cost_lines["financial_year"].isin(idx)]
    b = benefit_lines[benefit_lines["financial_year"].isin(idx)]
    not_res = c["basis"] != "residual"

    def total(frame: pd.DataFrame, column: str) -> pd.Series:
        return frame.groupby("financial_year")[column].sum().reindex(idx, fill_value=0.0)

    core = b[~b["wider"].astype(bool)]
    cash = core["cashable"].astype(bool)
    out = pd.DataFrame(index=idx)
    t = np.array([fy_start(y) - fy_start(base_year) for y in years], dtype=np.int64)
    out["year"] = np.arange(1, len(years) + 1)
    out["t"] = t
    live = b[b["volume_force_years"] > 0].groupby("financial_year")["force"].nunique()
    out["forces_live"] = live.reindex(idx, fill_value=0).astype(int)
    nominal = c[c["basis"] == "outturn"].groupby("financial_year")["nominal_gbp"].sum(min_count=1)
    out["costs_nominal_outturn_gbp"] = nominal.reindex(idx)
    out["costs_base_real_gbp"] = total(c[not_res], "base_real_gbp")
    out["ob_uplift_gbp"] = total(c[not_res], "ob_uplift_gbp")
    out["residual_value_gbp"] = -total(c[~not_res], "adjusted_gbp")
    out["costs_gbp"] = total(c, "adjusted_gbp")
    out["benefits_cashable_gbp"] = total(core[cash], "value_gbp")
    out["benefits_noncashable_gbp"] = total(core[~cash], "value_gbp")
    out["benefits_gbp"] = total(core, "value_gbp")
    out["benefits_wider_gbp"] = total(b[b["wider"].astype(bool)], "value_gbp")
    out["net_gbp"] = out["benefits_gbp"] - out["costs_gbp"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = out["benefits_gbp"].to_numpy() / out["costs_gbp"].to_numpy()
    out["in_year_bcr"] = np.where(out["costs_gbp"].to_numpy() > 0, ratio, np.nan)
    out["discount_factor"] = discount_factors(t, params.discount_bands)
    out["pv_costs_gbp"] = out["costs_gbp"] * out["discount_factor"]
    out["pv_benefits_gbp"] = out["benefits_gbp"] * out["discount_factor"]
    out["pv_net_gbp"] = out["pv_benefits_gbp"] - out["pv_costs_gbp"]
    out["cumulative_net_gbp"] = out["net_gbp"].cumsum()
    out["cumulative_pv_costs_gbp"] = out["pv_costs_gbp"].cumsum()
    out["cumulative_pv_benefits_gbp"] = out["pv_benefits_gbp"].cumsum()
    out["cumulative_pv_net_gbp"] = out["pv_net_gbp"].cumsum()
    out = out.reset_index()
    out["financial_year"] = out["financial_year"].astype(object)
    return out[list(BY_YEAR_COLUMNS)]


def summarise(
    cost_lines: pd.DataFrame,
    benefit_lines: pd.DataFrame,
    params: ParameterSet,
    *,
    years: Sequence[str],
    base_year: str,
    view: str,
) -> tuple[Summary, pd.DataFrame]:
    """Return the headline :class:`Summary` and the by-year table of one view."""
    table = by_year_table(cost_lines, benefit_lines, params, years=years, base_year=base_year)
    df = table.set_index("financial_year")["discount_factor"]
    b = benefit_lines[benefit_lines["financial_year"].isin(df.index)]
    pv = b["value_gbp"].to_numpy() * b["financial_year"].map(df).to_numpy(dtype=float)
    wider = b["wider"].to_numpy(dtype=bool)
    cash = b["cashable"].to_numpy(dtype=bool)
    pv_costs = float(table["pv_costs_gbp"].sum())
    pv_benefits = float(pv[~wider].sum())
    pv_cash = float(pv[~wider & cash].sum())
    pv_wider = float(pv[wider].sum())
    bcr = pv_benefits / pv_costs if pv_costs > 0 else math.nan
    bcr_w = (pv_benefits + pv_wider) / pv_costs if pv_costs > 0 else math.nan
    i = payback_index(table["cumulative_pv_net_gbp"].to_numpy(dtype=float).tolist())
    summary = Summary(
        view=view,
        first_year=years[0],
        last_year=years[-1],
        price_base_year=params.price_base_year,
        discount_base_year=base_year,
        pv_costs=pv_costs,
        pv_benefits=pv_benefits,
        npsv=pv_benefits - pv_costs,
        bcr=bcr,
        vfm_category=vfm_category(bcr, params.vfm),
        payback_year=None if i is None else str(years[i]),
        payback_years=None if i is None else i + 1,
        pv_benefits_cashable=pv_cash,
        pv_benefits_noncashable=pv_benefits - pv_cash,
        cashable_bcr=pv_cash / pv_costs if pv_costs > 0 else math.nan,
        cashable_roi=(pv_cash - pv_costs) / pv_costs if pv_costs > 0 else math.nan,
        pv_benefits_wider=pv_wider,
        npsv_with_wider=pv_benefits + pv_wider - pv_costs,
        bcr_with_wider=bcr_w,
        vfm_category_with_wider=vfm_category(bcr_w, params.vfm),
        bcr_cashable_netted=(pv_benefits - pv_cash) / (pv_costs - pv_cash)
        if pv_costs - pv_cash > 0
        else math.nan,
    )
    return summary, table
