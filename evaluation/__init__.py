"""Pathfinder: evaluate whether police digital teams pay for themselves.

This file is the whole public API. Names are imported from small private modules on first use
(so ``import evaluation`` and ``pathfinder --help`` stay fast); ``evaluation.NAME`` and
``from evaluation import NAME`` work as usual. Layers point one way:
schema/ingest -> panel -> estimators and inference -> appraisal -> report -> dashboard.

Examples
--------
>>> import evaluation as ev
>>> ev.resolve_force("GMP")
'Greater Manchester'
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("pathfinder-evaluation")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "PathfinderError": "evaluation.errors",
    "UserError": "evaluation.errors",
    "DataError": "evaluation.errors",
    "ConfigError": "evaluation.errors",
    "EstimationError": "evaluation.errors",
    "AppraisalError": "evaluation.errors",
    "Problem": "evaluation.errors",
    # periods and the data contract
    "parse_period": "evaluation.periods",
    "format_period": "evaluation.periods",
    "detect_frequency": "evaluation.periods",
    "period_range": "evaluation.periods",
    "FORCES": "evaluation.schema",
    "resolve_force": "evaluation.schema",
    "suggest_force": "evaluation.schema",
    "force_officers": "evaluation.schema",
    "load_metrics": "evaluation.schema",
    "Metric": "evaluation.schema",
    "TableSchema": "evaluation.schema",
    "PANEL": "evaluation.schema",
    "REGISTER": "evaluation.schema",
    "LEDGER": "evaluation.schema",
    # reading and validating inputs
    "read_table": "evaluation.readers",
    "RawTable": "evaluation.readers",
    "ValidationReport": "evaluation.validation",
    "validate_panel": "evaluation.validation",
    "validate_register": "evaluation.validation",
    "validate_ledger": "evaluation.validation",
    "validate_pilots": "evaluation.validation",
    "load_panel": "evaluation.ingest",
    "load_register": "evaluation.ingest",
    "load_ledger": "evaluation.ingest",
    "check_table": "evaluation.ingest",
    "bundled_data_dir": "evaluation.ingest",
    "aggregate_cases": "evaluation.cases",
    "CaseReport": "evaluation.cases",
    # synthetic data and simulation studies
    "SynthConfig": "evaluation.synth",
    "EffectSpec": "evaluation.synth",
    "SynthData": "evaluation.synth",
    "generate": "evaluation.synth",
    "simulate": "evaluation.synth",
    "coverage_study": "evaluation.studies",
    "CoverageResult": "evaluation.studies",
    # pilot design (power, MDE, break-even; simulations on Dask)
    "DaskSettings": "evaluation.pilot_design.runner",
    "run_tasks": "evaluation.pilot_design.runner",
    "Design": "evaluation.pilot_design.designs",
    "history_from_panel": "evaluation.pilot_design.designs",
    "compare_designs": "evaluation.pilot_design.compare",
    "DesignComparison": "evaluation.pilot_design.compare",
    "choose_pilots": "evaluation.pilot_design.choose",
    "analytic_mde": "evaluation.pilot_design.analytic",
    "break_even_effects": "evaluation.pilot_design.breakeven",
    # panel, estimation and inference
    "Panel": "evaluation.panel",
    "NEVER": "evaluation.panel",
    "attach_cohorts": "evaluation.panel",
    "transform_outcome": "evaluation.outcomes",
    "natural_units": "evaluation.outcomes",
    "NaturalEffect": "evaluation.outcomes",
    "estimate": "evaluation.estimation",
    "METHODS": "evaluation.estimation",
    "Estimate": "evaluation.results",
    "DidResult": "evaluation.results",
    "fit_cs": "evaluation.estimators.callaway_santanna",
    "fit_twfe": "evaluation.estimators.twfe",
    "fit_did2x2": "evaluation.estimators.twfe",
    "fit_event_study": "evaluation.estimators.event_study",
    "fit_imputation": "evaluation.estimators.imputation",
    "fit_sun_abraham": "evaluation.estimators.sun_abraham",
    "imputation_variance": "evaluation.estimators.imputation",
    "fit_sdid": "evaluation.estimators.synthetic",
    "goodman_bacon": "evaluation.estimators.bacon",
    "InferenceSettings": "evaluation.inference.base",
    "INFERENCE_METHODS": "evaluation.inference.base",
    "get_method": "evaluation.inference.base",
    "recommended_inference": "evaluation.design",
    "design_warnings": "evaluation.design",
    # sensitivity
    "relative_magnitudes": "evaluation.sensitivity",
    "honest_bounds": "evaluation.sensitivity",
    "honest_smoothness": "evaluation.sensitivity",
    "breakdown_mbar": "evaluation.sensitivity",
    "fake_golive": "evaluation.sensitivity",
    "leave_one_pilot_out": "evaluation.sensitivity",
    "PlaceboResult": "evaluation.sensitivity",
    # appraisal
    "appraise": "evaluation.appraisal",
    "load_params": "evaluation.appraisal",
    "load_effects": "evaluation.appraisal",
    "effects_from_frame": "evaluation.appraisal",
    "Appraisal": "evaluation.appraisal",
    "ParameterSet": "evaluation.appraisal",
    # provenance
    "manifest": "evaluation.provenance",
    "file_sha256": "evaluation.provenance",
    # safe outputs: atomic writes, untrusted text kept as text
    "atomic_output_dir": "evaluation.outputs",
    "atomic_output_file": "evaluation.outputs",
    "check_output_dir": "evaluation.outputs",
    "check_output_file": "evaluation.outputs",
    "neutralise_cell": "evaluation.safety",
    "neutralise_frame": "evaluation.safety",
    "column_frequency": "evaluation.periods",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evaluation' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from evaluation.appraisal import (
        Appraisal,
        ParameterSet,
        appraise,
        effects_from_frame,
        load_effects,
        load_params,
    )
    from evaluation.cases import CaseReport, aggregate_cases
    from evaluation.design import design_warnings, recommended_inference
    from evaluation.errors import (
        AppraisalError,
        ConfigError,
        DataError,
        EstimationError,
        PathfinderError,
        Problem,
        UserError,
    )
    from evaluation.estimation import METHODS, estimate
    from evaluation.estimators.bacon import goodman_bacon
    from evaluation.estimators.callaway_santanna import fit_cs
    from evaluation.estimators.event_study import fit_event_study
    from evaluation.estimators.imputation import fit_imputation, imputation_variance
    from evaluation.estimators.sun_abraham import fit_sun_abraham
    from evaluation.estimators.synthetic import fit_sdid
    from evaluation.estimators.twfe import fit_did2x2, fit_twfe
    from evaluation.inference.base import INFERENCE_METHODS, InferenceSettings, get_method
    from evaluation.ingest import (
        bundled_data_dir,
        check_table,
        load_ledger,
        load_panel,
        load_register,
    )
    from evaluation.outcomes import NaturalEffect, natural_units, transform_outcome
    from evaluation.outputs import (
        atomic_output_dir,
        atomic_output_file,
        check_output_dir,
        check_output_file,
    )
    from evaluation.panel import NEVER, Panel, attach_cohorts
    from evaluation.periods import (
        column_frequency,
        detect_frequency,
        format_period,
        parse_period,
        period_range,
    )
    from evaluation.pilot_design.analytic import analytic_mde
    from evaluation.pilot_design.breakeven import break_even_effects
    from evaluation.pilot_design.choose import choose_pilots
    from evaluation.pilot_design.compare import DesignComparison, compare_designs
    from evaluation.pilot_design.designs import Design, history_from_panel
    from evaluation.pilot_design.runner import DaskSettings, run_tasks
    from evaluation.provenance import file_sha256, manifest
    from evaluation.readers import RawTable, read_table
    from evaluation.results import DidResult, Estimate
    from evaluation.safety import neutralise_cell, neutralise_frame
    from evaluation.schema import (
        FORCES,
        LEDGER,
        PANEL,
        REGISTER,
        Metric,
        TableSchema,
        force_officers,
        load_metrics,
        resolve_force,
        suggest_force,
    )
    from evaluation.sensitivity import (
        PlaceboResult,
        breakdown_mbar,
        fake_golive,
        honest_bounds,
        honest_smoothness,
        leave_one_pilot_out,
        relative_magnitudes,
    )
    from evaluation.studies import CoverageResult, coverage_study
    from evaluation.synth import EffectSpec, SynthConfig, SynthData, generate, simulate
    from evaluation.validation import (
        ValidationReport,
        validate_ledger,
        validate_panel,
        validate_pilots,
        validate_register,
    )
