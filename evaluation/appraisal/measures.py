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


def _year_codes(frame: pd.DataFrame, idx: pd.Index) -> np.ndarray:
    """Return each row's position in ``idx`` by its ``financial_year`` (-1 if not in it)."""
    position = {y: i for i, y in enumerate(idx)}
    years = frame["financial_year"].to_numpy(dtype=object)
    return np.fromiter((position.get(y, -1) for y in years), dtype=np.int64, count=len(years))


def _sum_by_year(codes: np.ndarray, values: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """Return the sum of ``values`` by year code over the rows in ``mask`` (missing values as 0)."""
    keep = mask & (codes >= 0)
    v = values[keep]
    return np.bincount(codes[keep], weights=np.where(np.isnan(v), 0.0, v), minlength=n)[:n]


def by_year_table(
    cost_lines: pd.DataFrame,
    benefit_lines: pd.DataFrame,
    params: ParameterSet,
    *,
    years: Sequence[str],
    base_year: str,
) -> pd.DataFrame:
    """Return the year-by-year table, discounted to ``base_year`` (see :data:`BY_YEAR_COLUMNS`).

    Lines in years outside ``years`` are left out; a year without lines has zero costs and
    benefits, and no nominal outturn (missing, not zero).
    """
    years = [str(y) for y in years]
    n = len(years)
    idx = pd.Index(years, dtype=object)
    cc = _year_codes(cost_lines, idx)
    bc = _year_codes(benefit_lines, idx)
    basis = cost_lines["basis"].to_numpy(dtype=object)
    not_res = basis != "residual"
    every_cost = np.ones(len(cc), dtype=bool)
    wider = benefit_lines["wider"].to_numpy(dtype=bool)
    cash = benefit_lines["cashable"].to_numpy(dtype=bool)
    value = benefit_lines["value_gbp"].to_numpy(dtype=float)

    def cost(column: str, mask: np.ndarray) -> np.ndarray:
        return _sum_by_year(cc, cost_lines[column].to_numpy(dtype=float), mask, n)

    nominal_v = cost_lines["nominal_gbp"].to_numpy(dtype=float)
    outturn = (basis == "outturn") & ~np.isnan(nominal_v)
    nominal = cost("nominal_gbp", outturn)
    has_nominal = np.bincount(cc[outturn & (cc >= 0)], minlength=n)[:n] > 0

    live = (benefit_lines["volume_force_years"].to_numpy(dtype=float) > 0) & (bc >= 0)
    forces = pd.factorize(benefit_lines["force"].to_numpy(dtype=object)[live])[0]
    known = forces >= 0  # a missing force is not counted
    k = int(forces.max()) + 1 if forces.size else 1
    pairs = np.unique(bc[live][known].astype(np.int64) * k + forces[known])
    forces_live = np.bincount(pairs // k, minlength=n)[:n]

    costs = cost("adjusted_gbp", every_cost)
    benefits = _sum_by_year(bc, value, ~wider, n)
    t = np.array([fy_start(y) - fy_start(base_year) for y in years], dtype=np.int64)
    df = np.asarray(discount_factors(t, params.discount_bands), dtype=float)
    net = benefits - costs
    with np.errstate(divide="ignore", invalid="ignore"):
        in_year_bcr = np.where(costs > 0, benefits / costs, np.nan)
    pv_costs, pv_benefits = costs * df, benefits * df
    pv_net = pv_benefits - pv_costs
    columns = {
        "financial_year": pd.Series(years, dtype=object),
        "year": np.arange(1, n + 1),
        "t": t,
        "forces_live": forces_live.astype(int),
        "costs_nominal_outturn_gbp": np.where(has_nominal, nominal, np.nan),
        "costs_base_real_gbp": cost("base_real_gbp", not_res),
        "ob_uplift_gbp": cost("ob_uplift_gbp", not_res),
        "residual_value_gbp": -cost("adjusted_gbp", ~not_res),
        "costs_gbp": costs,
        "benefits_cashable_gbp": _sum_by_year(bc, value, ~wider & cash, n),
        "benefits_noncashable_gbp": _sum_by_year(bc, value, ~wider & ~cash, n),
        "benefits_gbp": benefits,
        "benefits_wider_gbp": _sum_by_year(bc, value, wider, n),
        "net_gbp": net,
        "in_year_bcr": in_year_bcr,
        "discount_factor": df,
        "pv_costs_gbp": pv_costs,
        "pv_benefits_gbp": pv_benefits,
        "pv_net_gbp": pv_net,
        "cumulative_net_gbp": np.cumsum(net),
        "cumulative_pv_costs_gbp": np.cumsum(pv_costs),
        "cumulative_pv_benefits_gbp": np.cumsum(pv_benefits),
        "cumulative_pv_net_gbp": np.cumsum(pv_net),
    }
    return pd.DataFrame(columns, columns=list(BY_YEAR_COLUMNS))


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
    codes = _year_codes(benefit_lines, pd.Index([str(y) for y in years], dtype=object))
    inside = codes >= 0
    factor = table["discount_factor"].to_numpy(dtype=float)[codes[inside]]
    pv = benefit_lines["value_gbp"].to_numpy(dtype=float)[inside] * factor
    wider = benefit_lines["wider"].to_numpy(dtype=bool)[inside]
    cash = benefit_lines["cashable"].to_numpy(dtype=bool)[inside]
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
