"""Value for money: the what-if appraisal of the data set's estimated effects."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dashboard.services._analysis import AnalysisSettings, _cache, pipeline_result
from dashboard.services._constants import SCENARIOS
from dashboard.services._data import load_frames
from dashboard.store import UserStore


@dataclass(frozen=True)
class VfmInputs:
    """The what-if inputs of the value-for-money page (defaults from the parameter set)."""

    discount_rate: float
    ob_pilot: str
    ob_rollout: str
    exam_price: float
    hour_cost: float
    hour_share: float
    period_years: int
    scenario: str = "central"
    rollout_forces: str = "all"
    rollout_start: str = "after-ledger"

    #: parameter key of each input
    KEYS = {  # noqa: RUF012 - class constant
        "discount_rate": "discounting.rate",
        "ob_pilot": "optimism_bias.pilot_forecast",
        "ob_rollout": "optimism_bias.rollout",
        "exam_price": "unit_values.outsourced_exam",
        "hour_cost": "unit_values.officer_hour_sergeant_and_below",
        "hour_share": "unit_values.hour_release_share",
        "period_years": "settings.appraisal_period_years",
        "rollout_forces": "rollout.forces",
        "rollout_start": "rollout.start_year",
    }


def vfm_defaults() -> VfmInputs:
    """Return the what-if inputs at the bundled parameter set's values."""
    from evaluation.appraisal import load_params

    p = load_params()
    return VfmInputs(
        discount_rate=float(p.discount_bands[0].rate),
        ob_pilot=p.ob_pilot_stage,
        ob_rollout=p.ob_rollout_stage,
        exam_price=float(p.unit_values["outsourced_exam"].value),
        hour_cost=float(p.unit_values["officer_hour_sergeant_and_below"].value),
        hour_share=float(p.unit_values["hour_release_share"].value),
        period_years=int(p.period_years),
        rollout_forces=p.rollout_forces,
        rollout_start=p.rollout_start_year,
    )


@functools.lru_cache(maxsize=64)
def _params(inputs: VfmInputs) -> Any:
    """Return the bundled parameter set with the what-if inputs.

    Parameter sets are immutable, so one is shared by every request with the same inputs.
    """
    return _bundled_params().updated_many(
        {key: getattr(inputs, name) for name, key in VfmInputs.KEYS.items()}
    )


@functools.lru_cache(maxsize=1)
def _bundled_params() -> Any:
    from evaluation.appraisal import load_params

    return load_params()


def scenario_effects(effects: pd.DataFrame, params: Any, scenario: str) -> pd.DataFrame:
    """Shift each effect that drives an enabled benefit line by the scenario's z standard errors.

    ``"low"`` moves every such estimate ``z = params.scenario_effect_z`` standard errors towards
    less benefit, ``"high"`` towards more; ``"central"`` returns the estimates unchanged.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    out = effects.copy()
    if scenario == "central":
        return out
    direction = 1.0 if scenario == "high" else -1.0
    z = float(params.scenario_effect_z)
    signs = {b.metric: b.sign for b in params.enabled_benefits}
    for i, row in out.iterrows():
        sign = signs.get(row["metric"])
        if sign is not None:
            out.at[i, "estimate"] = row["estimate"] + direction * z * row["se"] * sign
    return out


def appraise_what_if(
    store: UserStore,
    token: str,
    settings: AnalysisSettings,
    inputs: VfmInputs,
    *,
    uncertainty: bool = False,
    draws: int | None = None,
) -> Any:
    """Appraise the data set's estimated effects under the what-if inputs.

    With ``uncertainty=False`` only the central appraisal and the rollout projection are run
    (fast, for interactive use); with ``True`` also sensitivity, scenarios and the Monte Carlo.
    """
    from evaluation.appraisal import appraise

    key = ("appraise", token, settings, inputs, uncertainty, draws)
    if uncertainty:
        with _cache(store) as cache:
            hit = cache.get(key)
        if hit is not None:
            return hit
    result = pipeline_result(store, token, settings)
    frames = load_frames(store, token)
    params = _params(inputs)
    effects = scenario_effects(
        result.effects[["metric", "estimate", "se", "unit", "per"]], params, inputs.scenario
    )
    go_live = dict(zip(frames.register["force"], frames.register["go_live"], strict=True))
    out = appraise(
        frames.ledger,
        effects,
        params,
        go_live=go_live,
        seed=settings.seed,
        draws=draws,
        uncertainty=uncertainty,
        monte_carlo=uncertainty,
        options=False,
        ob_bounds=uncertainty,
        breakdowns=uncertainty,
        source=frames.paths[2].name,
    )
    if uncertainty:
        with _cache(store) as cache:
            cache.set(key, out)
    return out
