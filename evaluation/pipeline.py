"""The main job: validated inputs -> estimated effects -> Green Book appraisal -> outputs.

The one place that composes the layers. :func:`run_pipeline` is what ``pathfinder run`` (and,
later, the report and dashboard) call; it returns everything a report needs in one frozen
object and writes the machine-readable outputs with a provenance manifest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from evaluation.appraisal import (
    Appraisal,
    ParameterSet,
    appraise,
    effects_from_frame,
    load_params,
)
from evaluation.errors import EstimationError
from evaluation.estimate import estimate
from evaluation.ingest import (
    bundled_data_dir,
    load_all,
    load_ledger,
    load_panel,
    load_register,
)
from evaluation.outcomes import natural_units
from evaluation.outputs import MANIFEST, atomic_output_dir
from evaluation.panel import Panel, attach_cohorts
from evaluation.provenance import manifest
from evaluation.results import DidResult
from evaluation.safety import neutralise_frame
from evaluation.schema import load_metrics
from evaluation.validation import validate_pilots

__all__ = ["PipelineInputs", "PipelineResult", "input_paths", "run_pipeline", "write_outputs"]

DEFAULT_SEED = 20260401


@dataclass(frozen=True)
class PipelineInputs:
    """Where the inputs are and how to run."""

    panel: Path
    register: Path
    ledger: Path
    params: Path | None = None
    metrics: Sequence[str] | None = None
    method: str = "cs"
    inference: str | None = None
    reps: int = 999
    seed: int = DEFAULT_SEED
    draws: int | None = None

    @classmethod
    def bundled(cls, **changes: Any) -> PipelineInputs:
        """Return inputs pointing at the bundled sample data set."""
        sample = bundled_data_dir() / "sample"
        return cls(
            panel=sample / "panel.csv",
            register=sample / "register.csv",
            ledger=sample / "costs.csv",
            **changes,
        )


@dataclass(frozen=True)
class PipelineResult:
    """Everything a report needs from one run."""

    inputs: PipelineInputs
    panel: pd.DataFrame
    register: pd.DataFrame
    results: dict[str, DidResult]
    effects: pd.DataFrame
    appraisal: Appraisal
    manifest: dict[str, Any] = field(default_factory=dict)


def _effects_row(
    res: DidResult, panel: Panel, metric: str, unit: str, aggregation: str
) -> dict[str, Any]:
    nat = natural_units(
        res, panel, metric=metric, scale="level", unit_name=unit, aggregation=aggregation
    )
    o = res.overall
    return {
        "metric": metric,
        "estimate": nat.estimate,
        "se": nat.se,
        "unit": unit,
        "per": nat.per,
        "basis": nat.basis,
        "att_per_period": o.estimate,
        "se_per_period": o.se,
        "ci_low_per_period": o.ci_low,
        "ci_high_per_period": o.ci_high,
        "p_value": o.p_value,
        "method": res.method,
        "inference": o.inference,
    }


def run_pipeline(inputs: PipelineInputs) -> PipelineResult:
    """Validate the inputs, estimate every metric's effect, and appraise.

    Raises
    ------
    DataError
        If any input breaks the data contract (all problems listed).
    """
    metrics_cfg = load_metrics()
    steps: list[tuple[str, Callable[[], object]]] = [
        (inputs.panel.name, lambda: load_panel(inputs.panel, metrics=metrics_cfg)),
        (inputs.register.name, lambda: load_register(inputs.register)),
        (inputs.ledger.name, lambda: load_ledger(inputs.ledger)),
        (
            "parameters" if inputs.params is None else inputs.params.name,
            lambda: load_params(inputs.params),
        ),
    ]
    loaded = load_all(steps)
    panel_df = cast(pd.DataFrame, loaded[0])
    register = cast(pd.DataFrame, loaded[1])
    ledger = cast(pd.DataFrame, loaded[2])
    params = cast(ParameterSet, loaded[3])
    pilots = validate_pilots(panel_df, register, source=inputs.register.name)
    pilots.raise_if_errors()
    late_forces = [
        str(register.loc[p.row - 2, "force"])
        for p in pilots.warnings
        if p.column == "go_live" and p.row is not None and p.row - 2 in register.index
    ]

    frame = attach_cohorts(panel_df, register)
    metric_names = list(inputs.metrics or [c for c in panel_df.columns if c in metrics_cfg])
    rng = np.random.default_rng(inputs.seed)
    results: dict[str, DidResult] = {}
    rows = []
    for metric, child in zip(metric_names, rng.spawn(len(metric_names)), strict=True):
        options: dict[str, Any] = {}
        if inputs.method == "cs":
            options["allow_unbalanced"] = True
        res = estimate(
            frame,
            metric,
            method=inputs.method,
            inference=inputs.inference,
            reps=inputs.reps,
            rng=child,
            source=inputs.panel.name,
            **options,
        )
        results[metric] = res
        panel = Panel.from_frame(
            frame, unit="force", time="period", cohort="cohort", outcomes=metric
        )
        spec = metrics_cfg.get(metric)
        rows.append(
            _effects_row(
                res,
                panel,
                metric,
                (spec.unit or "") if spec else "",
                spec.aggregation if spec else "flow",
            )
        )
    if not rows:
        raise EstimationError("no metrics to estimate")
    effects = pd.DataFrame(rows)
    go_live = dict(zip(register["force"], register["go_live"], strict=True))
    appraisal = appraise(
        ledger,
        effects_from_frame(effects[["metric", "estimate", "se", "unit", "per"]]),
        params,
        go_live=go_live,
        rng=np.random.default_rng(inputs.seed),
        seed=inputs.seed,
        draws=inputs.draws,
        source=inputs.ledger.name,
    )
    if late_forces:
        appraisal = replace(
            appraisal,
            notes=(
                *appraisal.notes,
                f"Pilot force(s) {', '.join(sorted(set(late_forces)))} go live after the panel's "
                "last period: they are comparison forces in the estimation, and the appraisal "
                "counts their ledger costs and their benefits from their go-live year at the "
                "effect estimated on the other pilots.",
            ),
        )
    files = {"panel": inputs.panel, "register": inputs.register, "ledger": inputs.ledger}
    if inputs.params is not None:
        files["params"] = inputs.params
    record = manifest(
        files,
        parameters={
            "method": inputs.method,
            "inference": inputs.inference or "recommended",
            "reps": inputs.reps,
            "metrics": metric_names,
            "params": "green_book_2022 (bundled)" if inputs.params is None else "user file",
            "monte_carlo_draws": inputs.draws,
        },
        seed=inputs.seed,
    )
    return PipelineResult(
        inputs=inputs,
        panel=panel_df,
        register=register,
        results=results,
        effects=effects,
        appraisal=appraisal,
        manifest=record,
    )


def input_paths(inputs: PipelineInputs) -> list[Path]:
    """Return the input files of a run (outputs may never replace them)."""
    return [p for p in (inputs.panel, inputs.register, inputs.ledger, inputs.params) if p]


def write_outputs(result: PipelineResult, out_dir: Path) -> dict[str, Path]:
    """Write effects, estimates, appraisal and the manifest as CSV/JSON into ``out_dir``.

    The set is written atomically (:func:`evaluation.outputs.atomic_output_dir`): into a
    temporary sibling folder, the manifest last, then moved into place; an interruption leaves
    the previous set untouched. ``out_dir`` may not hold an input.
    """
    out_dir = Path(out_dir)
    names = {
        "effects": "effects.csv",
        "estimates": "estimates.json",
        "appraisal": "appraisal.json",
        "manifest": MANIFEST,
    }
    with atomic_output_dir(out_dir, inputs=input_paths(result.inputs)) as tmp:
        neutralise_frame(result.effects).to_csv(
            tmp / names["effects"], index=False, float_format="%.6f"
        )
        (tmp / names["estimates"]).write_text(
            json.dumps({m: r.to_dict() for m, r in result.results.items()}, indent=2),
            encoding="utf-8",
        )
        (tmp / names["appraisal"]).write_text(
            json.dumps(result.appraisal.to_dict(), indent=2), "utf-8"
        )
        (tmp / names["manifest"]).write_text(json.dumps(result.manifest, indent=2), "utf-8")
    return {key: out_dir / name for key, name in names.items()}
