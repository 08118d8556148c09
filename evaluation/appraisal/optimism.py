"""Optimism bias: uplift forecast costs by category, keeping base, uplift and adjusted cost.

The rate for each ledger category is the lower or upper bound of the Green Book supplementary
guidance (Mott MacDonald 2002) chosen by the appraisal stage: projected costs of the running
pilot use ``optimism_bias.pilot_forecast`` (default the lower bound: its risks are largely
realised), a national rollout uses ``optimism_bias.rollout`` (default upper: early stage).
Outturn (actual spend) carries no uplift unless ``apply_to_outturn`` is set.

Examples
--------
>>> import pandas as pd
>>> lines = pd.DataFrame(
...     {"category": ["equipment"], "basis": ["forecast"], "base_real_gbp": [100.0]}
... )
>>> out = apply_optimism_bias(lines, {"equipment": 0.1}, apply_to_outturn=False)
>>> out[["ob_rate", "ob_uplift_gbp", "adjusted_gbp"]].iloc[0].tolist()
[0.1, 10.0, 110.0]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from evaluation.appraisal.params import ParameterSet
from evaluation.errors import AppraisalError, check_option

__all__ = ["apply_optimism_bias", "mitigated_rate", "ob_rates", "ob_rates_table"]


def ob_rates(params: ParameterSet, stage: str) -> dict[str, float]:
    """Return the optimism-bias rate by cost category for ``stage``.

    ``"lower"`` and ``"upper"`` are the guidance's bounds; ``"mitigated"`` starts from the
    upper bound and applies every recorded mitigation step of the category in turn
    (``rate = upper x product of (1 - reduction)``), never going below the lower bound;
    ``"none"`` is zero.
    """
    check_option("optimism bias stage", stage, ("lower", "upper", "mitigated", "none"))
    if stage == "none":
        return {cat: 0.0 for cat in params.ob_bounds}
    if stage == "mitigated":
        return {cat: mitigated_rate(params, cat) for cat in params.ob_bounds}
    i = 0 if stage == "lower" else 1
    return {cat: bounds[i] for cat, bounds in params.ob_bounds.items()}


def mitigated_rate(params: ParameterSet, category: str) -> float:
    """Return the upper bound of ``category`` reduced by its mitigation steps (floored)."""
    lower, upper = params.ob_bounds[category]
    rate = upper
    for step in params.ob_mitigation:
        if category in step.categories:
            rate *= 1.0 - float(step.reduction.value)
    return max(rate, lower)


def ob_rates_table(params: ParameterSet) -> pd.DataFrame:
    """Return lower, mitigated and upper rates by category with the steps that apply."""
    rows = []
    for cat, (lower, upper) in params.ob_bounds.items():
        steps = [s for s in params.ob_mitigation if cat in s.categories]
        rows.append(
            {
                "category": cat,
                "lower": lower,
                "upper": upper,
                "mitigated": mitigated_rate(params, cat),
                "mitigation_steps": "; ".join(
                    f"{s.name} -{float(s.reduction.value):.0%}" for s in steps
                ),
            }
        )
    return pd.DataFrame(rows)


def apply_optimism_bias(
    lines: pd.DataFrame, rates: Mapping[str, float], *, apply_to_outturn: bool
) -> pd.DataFrame:
    """Add ``ob_rate``, ``ob_uplift_gbp`` and ``adjusted_gbp`` to cost lines.

    Parameters
    ----------
    lines
        Cost lines with ``category``, ``basis`` (``outturn``, ``forecast``, ``refresh``) and
        ``base_real_gbp``.
    rates
        Optimism-bias rate by category.
    apply_to_outturn
        Whether outturn lines are uplifted too.
    """
    unknown = sorted(set(lines["category"]) - set(rates))
    if unknown:
        raise AppraisalError(
            f"no optimism-bias rate for cost categor{'y' if len(unknown) == 1 else 'ies'} "
            f"{', '.join(map(repr, unknown))}"
        )
    rate = lines["category"].map(lambda c: float(rates[c])).to_numpy(dtype=float)
    if not apply_to_outturn:
        rate = np.where(lines["basis"].to_numpy() == "outturn", 0.0, rate)
    base = lines["base_real_gbp"].to_numpy(dtype=float)
    out = lines.copy()
    out["ob_rate"] = rate
    out["ob_uplift_gbp"] = base * rate
    out["adjusted_gbp"] = base + base * rate
    return out
