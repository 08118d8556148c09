"""The dashboard's only door to the library and the report renderer: plain, typed functions.

Everything from :mod:`evaluation` and :mod:`reporting` is reached through here. One module per
job: :mod:`._data` (data sets and uploads), :mod:`._analysis` (the main analysis, cached),
:mod:`._effects`, :mod:`._vfm`, :mod:`._design` and :mod:`._reports` (one per page that computes).

Callbacks stay a few lines and call these; every number shown comes from :mod:`evaluation`
(validation, estimation, appraisal). Results are cached on disk by their inputs (the data set
token and the options), shared by every worker process.
"""

from __future__ import annotations

from dashboard.services._analysis import (
    AnalysisSettings,
    assumptions,
    cached_pipeline_result,
    pipeline_result,
)
from dashboard.services._constants import (
    BOUNDS_WINDOW,
    ESTIMATOR_LABELS,
    INFERENCE_LABELS,
    SCENARIOS,
)
from dashboard.services._data import (
    Frames,
    UploadOutcome,
    bundled_dataset,
    check_upload,
    load_frames,
    metric_names,
)
from dashboard.services._design import (
    DESIGN_MAX_REPS,
    DESIGN_SELECTIONS,
    DesignView,
    design_summary,
    pilot_design,
)
from dashboard.services._effects import EffectsView, effects_view
from dashboard.services._reports import (
    REPORT_FILES,
    annual_report,
    answer_history_view,
    report_folder,
    report_pdf,
    report_years,
)
from dashboard.services._vfm import VfmInputs, appraise_what_if, scenario_effects, vfm_defaults

__all__ = [
    "BOUNDS_WINDOW",
    "DESIGN_MAX_REPS",
    "DESIGN_SELECTIONS",
    "ESTIMATOR_LABELS",
    "INFERENCE_LABELS",
    "REPORT_FILES",
    "SCENARIOS",
    "AnalysisSettings",
    "DesignView",
    "EffectsView",
    "Frames",
    "UploadOutcome",
    "VfmInputs",
    "annual_report",
    "answer_history_view",
    "appraise_what_if",
    "assumptions",
    "bundled_dataset",
    "cached_pipeline_result",
    "check_upload",
    "design_summary",
    "effects_view",
    "load_frames",
    "metric_names",
    "pilot_design",
    "pipeline_result",
    "report_folder",
    "report_pdf",
    "report_years",
    "scenario_effects",
    "vfm_defaults",
]
