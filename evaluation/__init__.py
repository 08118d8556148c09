"""Pathfinder: evaluate whether police digital teams pay for themselves.

The public API, re-exported from small private modules. Layers point one way:
schema/ingest -> panel -> estimators and inference -> appraisal -> report -> dashboard.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pathfinder-evaluation")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

from evaluation.errors import (
    AppraisalError,
    ConfigError,
    DataError,
    EstimationError,
    PathfinderError,
    Problem,
    UserError,
)

__all__ = [
    "AppraisalError",
    "ConfigError",
    "DataError",
    "EstimationError",
    "PathfinderError",
    "Problem",
    "UserError",
    "__version__",
]
