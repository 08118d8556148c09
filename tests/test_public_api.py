"""The public API is pinned: adding or removing a name is a deliberate change."""

from __future__ import annotations

import subprocess
import sys

import evaluation

PINNED = {
    "AppraisalError",
    "Appraisal",
    "CaseReport",
    "ConfigError",
    "CoverageResult",
    "DaskSettings",
    "Design",
    "DesignComparison",
    "DataError",
    "DidResult",
    "EffectSpec",
    "Estimate",
    "EstimationError",
    "FORCES",
    "INFERENCE_METHODS",
    "InferenceSettings",
    "LEDGER",
    "METHODS",
    "Metric",
    "NEVER",
    "NaturalEffect",
    "PANEL",
    "Panel",
    "ParameterSet",
    "PathfinderError",
    "PlaceboResult",
    "Problem",
    "REGISTER",
    "RawTable",
    "SynthConfig",
    "SynthData",
    "TableSchema",
    "UserError",
    "ValidationReport",
    "__version__",
    "aggregate_cases",
    "analytic_mde",
    "atomic_output_dir",
    "atomic_output_file",
    "check_output_dir",
    "check_output_file",
    "column_frequency",
    "neutralise_cell",
    "neutralise_frame",
    "appraise",
    "attach_cohorts",
    "break_even_effects",
    "breakdown_mbar",
    "bundled_data_dir",
    "check_table",
    "choose_pilots",
    "compare_designs",
    "coverage_study",
    "design_warnings",
    "detect_frequency",
    "effects_from_frame",
    "estimate",
    "fake_golive",
    "file_sha256",
    "fit_cs",
    "fit_did2x2",
    "fit_event_study",
    "fit_imputation",
    "fit_sdid",
    "fit_sun_abraham",
    "fit_twfe",
    "force_officers",
    "format_period",
    "generate",
    "get_method",
    "goodman_bacon",
    "history_from_panel",
    "honest_bounds",
    "honest_smoothness",
    "imputation_variance",
    "leave_one_pilot_out",
    "load_effects",
    "load_ledger",
    "load_metrics",
    "load_panel",
    "load_params",
    "load_register",
    "manifest",
    "natural_units",
    "parse_period",
    "period_range",
    "read_table",
    "recommended_inference",
    "relative_magnitudes",
    "resolve_force",
    "run_tasks",
    "simulate",
    "suggest_force",
    "transform_outcome",
    "validate_ledger",
    "validate_panel",
    "validate_pilots",
    "validate_register",
}


def test_public_names_are_pinned() -> None:
    assert set(evaluation.__all__) == PINNED


def test_every_public_name_resolves() -> None:
    for name in evaluation.__all__:
        assert getattr(evaluation, name) is not None, name


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        evaluation.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_is_light() -> None:
    code = (
        "import sys, evaluation; print('statsmodels' in sys.modules, 'linearmodels' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
