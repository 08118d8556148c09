"""Green Book appraisal: do the digital teams' costs pay back, year by year and nationally.

Public API: :func:`appraise` (the whole appraisal), :func:`load_params` (the parameter set),
:func:`load_effects` / :func:`effects_from_frame` (the effects table) and the frozen results
:class:`Appraisal`, :class:`Summary`, :class:`MonteCarloSummary`, :class:`RolloutResult`.
"""

from __future__ import annotations

from evaluation.appraisal.core import appraise
from evaluation.appraisal.discounting import discount_factors
from evaluation.appraisal.effects import (
    EffectsTable,
    effects_from_frame,
    load_effects,
)
from evaluation.appraisal.params import (
    BenefitLine,
    DiscountBand,
    Parameter,
    ParameterSet,
    default_params_path,
    load_params,
    params_from_dict,
)
from evaluation.appraisal.prices import deflator_factor
from evaluation.appraisal.results import (
    Appraisal,
    MonteCarloSummary,
    RolloutResult,
    Summary,
    Uncertainty,
)

__all__ = [
    "Appraisal",
    "BenefitLine",
    "DiscountBand",
    "EffectsTable",
    "MonteCarloSummary",
    "Parameter",
    "ParameterSet",
    "RolloutResult",
    "Summary",
    "Uncertainty",
    "appraise",
    "default_params_path",
    "deflator_factor",
    "discount_factors",
    "effects_from_frame",
    "load_effects",
    "load_params",
    "params_from_dict",
]
