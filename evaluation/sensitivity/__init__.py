"""Sensitivity analysis: Rambachan-Roth relative-magnitudes bounds and placebo checks."""

from evaluation.sensitivity.honest import (
    breakdown_mbar,
    event_study_inputs,
    honest_bounds,
    relative_magnitudes,
    rm_confidence_interval,
    rm_identified_set,
)
from evaluation.sensitivity.placebo import PlaceboResult, fake_golive, leave_one_pilot_out

__all__ = [
    "PlaceboResult",
    "breakdown_mbar",
    "event_study_inputs",
    "fake_golive",
    "honest_bounds",
    "leave_one_pilot_out",
    "relative_magnitudes",
    "rm_confidence_interval",
    "rm_identified_set",
]
