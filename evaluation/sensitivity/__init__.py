"""Sensitivity analysis: Rambachan-Roth relative-magnitude and smoothness bounds, placebo checks."""

from evaluation.sensitivity.honest import (
    breakdown_mbar,
    event_study_inputs,
    honest_bounds,
    relative_magnitudes,
    rm_confidence_interval,
    rm_identified_set,
)
from evaluation.sensitivity.placebo import PlaceboResult, fake_golive, leave_one_pilot_out
from evaluation.sensitivity.smoothness import (
    flci,
    honest_smoothness,
    sd_identified_set,
    smoothness_bounds,
)

__all__ = [
    "PlaceboResult",
    "breakdown_mbar",
    "event_study_inputs",
    "fake_golive",
    "flci",
    "honest_bounds",
    "honest_smoothness",
    "leave_one_pilot_out",
    "relative_magnitudes",
    "rm_confidence_interval",
    "rm_identified_set",
    "sd_identified_set",
    "smoothness_bounds",
]
