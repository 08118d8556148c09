"""The Green Book shortlist of options, each appraised over the same years from the decision.

The options are business as usual, do-minimum, full rollout, non-pilot forces only and
regional hubs.

Every option is measured against the world the effects were estimated against (forces
outsourcing their examinations), over the rollout period, in the same prices and discounted to
the same year (the rollout's first year, the decision year by default), so their NPSVs are
comparable and ``npsv_vs_bau`` is the difference from business as usual. New teams carry the
rollout's optimism-bias rate (mitigated by default); ``npsv_ob_lower`` and ``npsv_ob_upper``
show each option at the guidance's lower and upper bounds side by side. The pilots are
already live: where an option keeps them, it keeps their running costs, refreshes and
benefits from the decision year (their set-up is sunk and is not bought again, and their
benefits are counted once, as continuing, never as a new team's).

Examples
--------
>>> from evaluation.appraisal.options import OPTIONS
>>> [name for name, _ in OPTIONS]  # doctest: +NORMALIZE_WHITESPACE
['business as usual', 'do-minimum', 'full rollout', 'non-pilot forces only',
 'regional hubs']
"""

from __future__ import annotations

import math

import pandas as pd

from evaluation.appraisal.effects import EffectsTable
from evaluation.appraisal.measures import summarise
from evaluation.appraisal.params import ParameterSet
from evaluation.appraisal.rollout import RolloutModel, combine

__all__ = ["OPTIONS", "OPTION_COLUMNS", "appraise_options"]

#: The shortlist, in order, with what each option does.
OPTIONS: tuple[tuple[str, str], ...] = (
    (
        "business as usual",
        "outsourcing as now: pilot funding ends at the decision year and every force outsources "
        "its examinations (the comparison the effects were estimated against)",
    ),
    ("do-minimum", "the pilot teams continue; no new teams"),
    (
        "full rollout",
        "the pilot teams continue and every other force gets its own team, phased in waves",
    ),
    (
        "non-pilot forces only",
        "new teams for the forces without a pilot, phased in waves; pilot funding ends",
    ),
    (
        "regional hubs",
        "the pilot teams continue; the other forces share one hub per region (one fixed cost, "
        "benefits times options.hub_benefit_share), phased in waves",
    ),
)

OPTION_COLUMNS: tuple[str, ...] = (
    "option",
    "description",
    "forces_funded",
    "new_units",
    "pv_costs",
    "pv_benefits",
    "pv_benefits_cashable",
    "npsv",
    "bcr",
    "bcr_cashable_netted",
    "vfm_category",
    "npsv_vs_bau",
    "npsv_vs_do_minimum",
    "npsv_ob_lower",
    "npsv_ob_upper",
    "bcr_ob_lower",
    "bcr_ob_upper",
    "first_year",
    "last_year",
    "discount_base_year",
    "price_base_year",
)


def appraise_options(
    model: RolloutModel, params: ParameterSet, effects: EffectsTable
) -> pd.DataFrame:
    """Appraise the shortlist (see the module docstring); one row per option."""
    out = _appraise(model, params, effects, model.continuing(params, effects))
    keep = model.continuing(params, effects)
    for stage in ("lower", "upper"):
        at = _appraise(model, params.updated("optimism_bias.rollout", stage), effects, keep)
        out[f"npsv_ob_{stage}"] = at["npsv"].to_numpy()
        out[f"bcr_ob_{stage}"] = at["bcr"].to_numpy()
    return out[list(OPTION_COLUMNS)]


def _appraise(
    model: RolloutModel,
    params: ParameterSet,
    effects: EffectsTable,
    keep: tuple[pd.DataFrame, pd.DataFrame],
) -> pd.DataFrame:
    team_units = model.units(params)
    hub_units = model.units(params, hubs=True)
    teams = model.new_teams(params, effects, team_units)
    hubs = model.new_teams(params, effects, hub_units)
    empty = (teams[0].iloc[0:0], teams[1].iloc[0:0])
    n_pilots, n_others = len(model.pilots), len(model.others)
    parts = {
        "business as usual": ([empty], 0, 0),
        "do-minimum": ([keep], n_pilots, 0),
        "full rollout": ([keep, teams], n_pilots + n_others, len(team_units)),
        "non-pilot forces only": ([teams], n_others, len(team_units)),
        "regional hubs": ([keep, hubs], n_pilots + n_others, len(hub_units)),
    }
    rows = []
    for name, description in OPTIONS:
        components, funded, new_units = parts[name]
        c, b = combine(*components)
        s, _ = summarise(c, b, params, years=model.years, base_year=model.start, view=name)
        rows.append(
            {
                "option": name,
                "description": description,
                "forces_funded": funded,
                "new_units": new_units,
                "pv_costs": s.pv_costs,
                "pv_benefits": s.pv_benefits,
                "pv_benefits_cashable": s.pv_benefits_cashable,
                "npsv": s.npsv,
                "bcr": s.bcr,
                "bcr_cashable_netted": s.bcr_cashable_netted,
                "vfm_category": s.vfm_category if not math.isnan(s.bcr) else "n/a (no costs)",
                "first_year": s.first_year,
                "last_year": s.last_year,
                "discount_base_year": s.discount_base_year,
                "price_base_year": s.price_base_year,
            }
        )
    out = pd.DataFrame(rows)
    bau = float(out.loc[out["option"] == "business as usual", "npsv"].iloc[0])
    dmin = float(out.loc[out["option"] == "do-minimum", "npsv"].iloc[0])
    out["npsv_vs_bau"] = out["npsv"] - bau
    out["npsv_vs_do_minimum"] = out["npsv"] - dmin
    for col in ("option", "description", "vfm_category"):
        out[col] = out[col].astype(object)
    return out
