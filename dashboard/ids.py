"""Component ids of the dashboard, in one place (no magic strings in pages or callbacks)."""

from __future__ import annotations

__all__ = [
    "DATASET",
    "DESIGN",
    "EFFECTS",
    "LOCATION",
    "MAIN",
    "NAV",
    "OVERVIEW",
    "PAGE",
    "REPORTS",
    "TITLE_SINK",
    "UPLOAD",
    "VFM",
]

# shell
LOCATION = "url"
PAGE = "page-content"
MAIN = "main-content"
NAV = "primary-navigation"
TITLE_SINK = "title-sink"
#: the user's working data set token (content hashes of the three tables), set per user
DATASET = "dataset-token"


class OVERVIEW:
    """Overview page."""

    RUN = "overview-run"
    CANCEL = "overview-cancel"
    PROGRESS = "overview-progress"
    STATUS = "overview-status"
    RESULT = "overview-result"
    DOWNLOAD = "overview-download"
    DOWNLOAD_BUTTON = "overview-download-button"
    HISTORY = "overview-history"
    HISTORY_PROGRESS = "overview-history-progress"
    HISTORY_STATUS = "overview-history-status"
    HISTORY_CANCEL = "overview-history-cancel"


class REPORTS:
    """Annual reports page."""

    YEAR = "reports-year"
    PROGRESS = "reports-progress"
    STATUS = "reports-status"
    CANCEL = "reports-cancel"
    RESULT = "reports-result"


class UPLOAD:
    """Data page."""

    KIND = "upload-kind"
    FILE = "upload-file"
    REPORT = "upload-report"
    STATUS = "upload-status"
    CURRENT = "upload-current"
    RESET = "upload-reset"


class EFFECTS:
    """Effects page."""

    METRIC = "effects-metric"
    METHOD = "effects-method"
    CONTROL = "effects-control"
    INFERENCE = "effects-inference"
    BOUNDS = "effects-bounds"
    REPS = "effects-reps"
    RUN = "effects-run"
    CANCEL = "effects-cancel"
    PROGRESS = "effects-progress"
    STATUS = "effects-status"
    RESULT = "effects-result"
    TRENDS = "effects-trends"


class DESIGN:
    """Pilot design page."""

    PILOTS = "design-pilots"
    SELECTION = "design-selection"
    REPS = "design-reps"
    SEED = "design-seed"
    RUN = "design-run"
    CANCEL = "design-cancel"
    PROGRESS = "design-progress"
    STATUS = "design-status"
    RESULT = "design-result"


class VFM:
    """Value-for-money page."""

    DISCOUNT = "vfm-discount-rate"
    OB_PILOT = "vfm-ob-pilot"
    OB_ROLLOUT = "vfm-ob-rollout"
    EXAM_PRICE = "vfm-exam-price"
    HOUR_COST = "vfm-hour-cost"
    HOUR_SHARE = "vfm-hour-share"
    PERIOD = "vfm-period"
    SCENARIO = "vfm-scenario"
    ROLLOUT_FORCES = "vfm-rollout-forces"
    ROLLOUT_START = "vfm-rollout-start"
    FORM = "vfm-form"
    APPLIED = "vfm-applied"
    SETTLED = "vfm-settled"
    SETTLE_DELAY = "vfm-settle-delay"
    HEADLINE = "vfm-headline"
    PILOT_SUMMARY = "vfm-pilot-summary"
    PILOT_CHART = "vfm-pilot-chart"
    ROLLOUT = "vfm-rollout"
    ROLLOUT_SUMMARY = "vfm-rollout-summary"
    ROLLOUT_CHART = "vfm-rollout-chart"
    ERROR = "vfm-error"
    UNCERTAINTY = "vfm-uncertainty"
    DRAWS = "vfm-draws"
    RUN_MC = "vfm-run-mc"
    CANCEL_MC = "vfm-cancel-mc"
    PROGRESS = "vfm-progress"
    STATUS = "vfm-status"
