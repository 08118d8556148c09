"""Benefit lines from evidence: effect x volume x unit value, with ramp-up and persistence.

For each enabled benefit line, force and year in which the force's team is live::

    value = sign x estimate x scale x ramp_up(k) x persistence(k) x unit value x growth
            x (1 - shortfall)

where ``estimate`` is the pilots' average effect per force-year (difference-in-differences, so
deadweight is already netted out), ``scale`` the force's size relative to the average pilot
force (1 for the pilots themselves) times the share of the go-live year it was live, ``k`` the
year since go-live, ``ramp_up(k)`` the line's ramp-up share,
``persistence(k) = (1 - decay) ** max(0, k - K)`` beyond the evidence window of ``K`` years,
and the unit value the product of the line's unit values, the money one uprated to the price
base year with the deflator; ``growth = (1 + real wage growth) ** (years after the price base
year)`` for wage-linked lines (the value of officer time), else 1.
``volume_force_years = scale x ramp x persistence``.

``pv_per_unit`` is the present value per unit of ``estimate x raw unit-value product``: the
uncertainty module multiplies it by drawn estimates and unit values, so every Monte Carlo draw
agrees with this table exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaluation.appraisal._years import fy_start
from evaluation.appraisal.discounting import discount_factors
from evaluation.appraisal.effects import EffectsTable
from evaluation.appraisal.params import BenefitLine, ParameterSet
from evaluation.errors import AppraisalError

__all__ = [
    "BENEFIT_LINE_COLUMNS",
    "benefit_lines",
    "check_lines_have_effects",
    "unit_value_terms",
]

BENEFIT_LINE_COLUMNS: tuple[str, ...] = (
    "line",
    "metric",
    "force",
    "financial_year",
    "t",
    "years_live",
    "estimate",
    "sign",
    "scale",
    "ramp_share",
    "persistence",
    "volume_force_years",
    "unit_value_base",
    "unit_value_price_base",
    "unit_value_deflator",
    "unit_value_real",
    "shortfall_rate",
    "value_gbp",
    "discount_factor",
    "pv_gbp",
    "pv_per_unit",
    "cashable",
    "type",
    "agency",
    "wider",
    "sunk",
    "real_growth_factor",
)


def check_lines_have_effects(params: ParameterSet, effects: EffectsTable) -> None:
    """Raise :class:`AppraisalError` naming each enabled core line whose metric has no estimate.

    Wider (optional) lines without an estimate are dropped by the caller, with a note.
    """
    missing = [
        b for b in params.enabled_benefits if b.metric not in effects.metrics and not b.wider
    ]
    if missing:
        items = "; ".join(f"line {b.name!r} needs metric {b.metric!r}" for b in missing)
        raise AppraisalError(
            f"{effects.source}: no estimate for enabled benefit line(s): {items} "
            f"(effects given: {', '.join(effects.metrics)}); add the estimate or set "
            "enabled = false for the line"
        )


def unit_value_terms(line: BenefitLine, params: ParameterSet) -> tuple[float, str, float, float]:
    """Return (raw product, price base year, deflator factor, shortfall rate) for a line."""
    product = 1.0
    price_base = params.price_base_year
    factor = 1.0
    grades = []
    for name in line.unit_value:
        p = params.unit_values[name]
        product *= float(p.value)
        if p.price_base is not None:
            price_base = p.price_base
            factor = params.deflator[params.price_base_year] / params.deflator[p.price_base]
        if p.confidence is not None:
            grades.append(p.confidence)
    shortfall = 0.0
    if params.shortfall_apply and grades:
        shortfall = params.shortfall_by_grade[max(grades)]
    return product, price_base, factor, shortfall


def benefit_lines(
    effects: EffectsTable,
    params: ParameterSet,
    schedule: pd.DataFrame,
    *,
    base_year: str,
    decision_year: str,
    evidence_years: int,
    lines: Sequence[BenefitLine] | None = None,
) -> pd.DataFrame:
    """Build the benefit lines table.

    Parameters
    ----------
    effects
        The estimated effects.
    params
        The parameter set.
    schedule
        One row per force and live year: ``force``, ``financial_year``, ``years_live`` (1 in
        the go-live year) and ``scale``.
    base_year
        Discount base year.
    decision_year
        First year of the go-forward view (earlier rows are flagged ``sunk``).
    evidence_years
        Longest exposure observed in the data (years since go-live), ``K``.
    lines
        Benefit lines (default: the enabled ones).
    """
    chosen = params.enabled_benefits if lines is None else tuple(lines)
    if not chosen:
        return pd.DataFrame({c: [] for c in BENEFIT_LINE_COLUMNS})
    n = len(schedule)
    k = schedule["years_live"].to_numpy(dtype=np.int64)
    fy = schedule["financial_year"].to_numpy(dtype=object)
    starts = np.fromiter((fy_start(y) for y in fy), dtype=np.int64, count=n)
    t = starts - fy_start(base_year)
    df = discount_factors(t, params.discount_bands)
    scale = schedule["scale"].to_numpy(dtype=float)
    force = schedule["force"].to_numpy(dtype=object)
    sunk = fy < decision_year
    columns: dict[str, list[np.ndarray]] = {c: [] for c in BENEFIT_LINE_COLUMNS}

    def same(value: object) -> np.ndarray:
        """``value`` for each row, typed as a DataFrame column of that scalar would be."""
        if value is None or isinstance(value, str):
            return np.full(n, value, dtype=object)
        return np.full(n, value)

    for line in chosen:
        estimate = effects.estimate(line.metric)
        ramp = np.asarray(line.ramp_up, dtype=float)
        ramp_share = ramp[np.clip(k, 1, len(ramp)) - 1]
        persistence = (1.0 - float(line.decay.value)) ** np.clip(k - evidence_years, 0, None)
        volume = scale * ramp_share * persistence
        raw, price_base, factor, shortfall = unit_value_terms(line, params)
        real = raw * factor
        growth: np.ndarray = np.ones(n)
        if line.wage_linked and params.wage_growth_rate:
            ahead = np.clip(starts - fy_start(params.price_base_year), 0, None)
            growth = (1.0 + params.wage_growth_rate) ** ahead
        value = line.sign * estimate * volume * real * growth * (1.0 - shortfall)
        per_line = {
            "line": same(line.name),
            "metric": same(line.metric),
            "force": force,
            "financial_year": fy,
            "t": t,
            "years_live": k,
            "estimate": same(estimate),
            "sign": same(line.sign),
            "scale": scale,
            "ramp_share": ramp_share,
            "persistence": persistence,
            "volume_force_years": volume,
            "unit_value_base": same(raw),
            "unit_value_price_base": same(price_base),
            "unit_value_deflator": same(factor),
            "unit_value_real": same(real),
            "shortfall_rate": same(shortfall),
            "value_gbp": value,
            "discount_factor": df,
            "pv_gbp": value * df,
            "pv_per_unit": line.sign * volume * factor * growth * (1.0 - shortfall) * df,
            "cashable": same(line.cashable),
            "type": same(line.type),
            "agency": same(line.agency),
            "wider": same(line.wider),
            "sunk": sunk,
            "real_growth_factor": growth,
        }
        for c in BENEFIT_LINE_COLUMNS:
            columns[c].append(np.asarray(per_line[c]))
    # one table built once from whole columns (a frame per line and a concat cost more than
    # the arithmetic)
    out = pd.DataFrame({c: np.concatenate(parts) for c, parts in columns.items()})
    for col in _TEXT_COLUMNS:  # plain Python objects, as the rest of the appraisal's tables
        out[col] = out[col].astype(object)
    return out


_TEXT_COLUMNS = (
    "line",
    "metric",
    "force",
    "financial_year",
    "unit_value_price_base",
    "type",
    "agency",
)
