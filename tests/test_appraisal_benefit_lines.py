"""Benefit lines (one table built from whole columns) against the first, frame-per-line version.

``_reference`` is the original construction, kept as the oracle: the table must be the same,
values and dtypes, for the bundled parameters and for variants that exercise every branch
(wage growth, optimism of the evidence grade, a line disabled, no lines at all).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.appraisal import load_params
from evaluation.appraisal._years import fy_start
from evaluation.appraisal.benefits import BENEFIT_LINE_COLUMNS, benefit_lines, unit_value_terms
from evaluation.appraisal.discounting import discount_factors
from evaluation.appraisal.effects import effects_from_frame

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def _reference(effects, params, schedule, *, base_year, decision_year, evidence_years, lines=None):  # type: ignore[no-untyped-def]
    chosen = params.enabled_benefits if lines is None else tuple(lines)
    frames = []
    k = schedule["years_live"].to_numpy(dtype=np.int64)
    t = schedule["financial_year"].map(fy_start).to_numpy(dtype=np.int64) - fy_start(base_year)
    df = discount_factors(t, params.discount_bands)
    scale = schedule["scale"].to_numpy(dtype=float)
    for line in chosen:
        estimate = effects.estimate(line.metric)
        ramp = np.asarray(line.ramp_up, dtype=float)
        ramp_share = ramp[np.clip(k, 1, len(ramp)) - 1]
        persistence = (1.0 - float(line.decay.value)) ** np.clip(k - evidence_years, 0, None)
        volume = scale * ramp_share * persistence
        raw, price_base, factor, shortfall = unit_value_terms(line, params)
        real = raw * factor
        growth = np.ones(len(schedule))
        if line.wage_linked and params.wage_growth_rate:
            ahead = schedule["financial_year"].map(fy_start).to_numpy(dtype=np.int64)
            ahead = np.clip(ahead - fy_start(params.price_base_year), 0, None)
            growth = (1.0 + params.wage_growth_rate) ** ahead
        value = line.sign * estimate * volume * real * growth * (1.0 - shortfall)
        frames.append(
            pd.DataFrame(
                {
                    "line": line.name,
                    "metric": line.metric,
                    "force": schedule["force"].to_numpy(dtype=object),
                    "financial_year": schedule["financial_year"].to_numpy(dtype=object),
                    "t": t,
                    "years_live": k,
                    "estimate": estimate,
                    "sign": line.sign,
                    "scale": scale,
                    "ramp_share": ramp_share,
                    "persistence": persistence,
                    "volume_force_years": volume,
                    "unit_value_base": raw,
                    "unit_value_price_base": price_base,
                    "unit_value_deflator": factor,
                    "unit_value_real": real,
                    "shortfall_rate": shortfall,
                    "value_gbp": value,
                    "discount_factor": df,
                    "pv_gbp": value * df,
                    "pv_per_unit": line.sign * volume * factor * growth * (1.0 - shortfall) * df,
                    "cashable": line.cashable,
                    "type": line.type,
                    "agency": line.agency,
                    "wider": line.wider,
                    "sunk": schedule["financial_year"].to_numpy(dtype=object) < decision_year,
                    "real_growth_factor": growth,
                }
            )
        )
    if not frames:
        return pd.DataFrame({c: [] for c in BENEFIT_LINE_COLUMNS})
    out = pd.concat(frames, ignore_index=True)
    for col in (
        "line",
        "metric",
        "force",
        "financial_year",
        "unit_value_price_base",
        "type",
        "agency",
    ):
        out[col] = out[col].astype(object)
    return out[list(BENEFIT_LINE_COLUMNS)]


def _schedule() -> pd.DataFrame:
    rows = []
    for i, force in enumerate(["Cheshire", "Kent", "Wiltshire"]):
        for j, year in enumerate(["2023-24", "2024-25", "2025-26", "2026-27", "2027-28"][i:]):
            rows.append(
                {"force": force, "financial_year": year, "years_live": j + 1, "scale": 0.7 + i}
            )
    out = pd.DataFrame(rows)
    out["force"] = out["force"].astype(object)
    out["financial_year"] = out["financial_year"].astype(object)
    return out


VARIANTS = {
    "bundled": {},
    "wage growth": {"real_growth.wages": 0.02},
    "a line off": "first-off",
    "no lines": "none",
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_benefit_lines_are_the_frame_per_line_table(variant: str) -> None:
    params = load_params()
    effects = effects_from_frame(pd.read_csv(SAMPLE / "effects.csv", comment="#"))
    change = VARIANTS[variant]
    lines = None
    if isinstance(change, dict):
        for key, value in change.items():
            params = params.updated(key, value)
    elif change == "first-off":
        lines = params.enabled_benefits[1:]
    else:
        lines = ()
    kwargs = {"base_year": "2022-23", "decision_year": "2025-26", "evidence_years": 2}
    got = benefit_lines(effects, params, _schedule(), lines=lines, **kwargs)
    want = _reference(effects, params, _schedule(), lines=lines, **kwargs)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    if variant != "no lines":
        assert len(got) > 0 and got["sunk"].any() and not got["sunk"].all()
