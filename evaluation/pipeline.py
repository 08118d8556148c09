"""The main job: validated inputs -> estimated effects -> Green Book appraisal -> outputs.

The one place that composes the layers. :func:`run_pipeline` is what ``pathfinder run`` (and,
later, the report and dashboard) call; it returns everything a report needs in one frozen
object and writes the machine-readable outputs with a provenance manifest.
"""

from __future__ import annotations

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
from evaluation.estimation import estimate
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
from evaluation.safety import json_text, neutralise_frame
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
    notes: tuple[str, ...] = ()


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


class _NoResult:
    warnings: tuple[str, ...] = ()


_NO_RESULT = _NoResult()


def _usable_effects(
    effects: pd.DataFrame, params: ParameterSet, results: dict[str, DidResult] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Return the effects the appraisal can use, and notes on those left out.

    A metric no benefit line uses whose effect has no finite estimate or standard error (a
    constant metric) is left out, with a note. A metric a benefit line uses must have both:
    otherwise the run stops naming it.
    """
    used = {b.metric for b in params.enabled_benefits}
    finite = np.isfinite(effects["estimate"].to_numpy(dtype=float)) & np.isfinite(
        effects["se"].to_numpy(dtype=float)
    )
    bad = effects.loc[~finite, "metric"].tolist()
    needed = [m for m in bad if m in used]
    if needed:
        why = sorted({w for m in needed for w in (results or {}).get(m, _NO_RESULT).warnings})
        raise EstimationError(
            "no usable effect (a finite estimate and standard error) for "
            + ", ".join(repr(m) for m in needed)
            + ", which the appraisal's benefit lines use. Common causes: a single pilot force "
            "(no standard error across pilots), or a metric constant or blank in the pilots' "
            "periods." + ("".join(f"\n  - {w}" for w in why[:5]) if why else "")
        )
    notes = [
        f"Metric {m!r} has no finite effect or standard error (constant or too sparse) and no "
        "benefit line uses it: left out of the appraisal (its estimate is in estimates.json)."
        for m in bad
    ]
    return effects[finite].reset_index(drop=True), notes


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
    notes: list[str] = []
    for metric, child in zip(metric_names, rng.spawn(len(metric_names)), strict=True):
        options: dict[str, Any] = {}
        if inputs.method == "cs":
            options["allow_unbalanced"] = True
        blank = frame[metric].isna().to_numpy()
        rows_used = frame
        if blank.any():  # validate accepts blank cells (kept missing): say what is left out
            rows_used = frame[~blank]
            listed = ", ".join(str(int(i) + 2) for i in frame.index[blank][:12])
            more = " ..." if blank.sum() > 12 else ""
            notes.append(
                f"{metric}: {int(blank.sum())} blank cell(s) (rows {listed}{more}) left out of "
                "its estimation, never filled in"
            )
        res = estimate(
            rows_used,
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
            rows_used, unit="force", time="period", cohort="cohort", outcomes=metric
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
    usable, unused_notes = _usable_effects(effects, params, results)
    go_live = dict(zip(register["force"], register["go_live"], strict=True))
    appraisal = appraise(
        ledger,
        effects_from_frame(usable[["metric", "estimate", "se", "unit", "per"]]),
        params,
        go_live=go_live,
        rng=np.random.default_rng(inputs.seed),
        seed=inputs.seed,
        draws=inputs.draws,
        source=inputs.ledger.name,
    )
    if unused_notes:
        appraisal = replace(appraisal, notes=(*appraisal.notes, *unused_notes))
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
        notes=tuple(notes),
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
            json_text({m: r.to_dict() for m, r in result.results.items()}), encoding="utf-8"
        )
        (tmp / names["appraisal"]).write_text(json_text(result.appraisal.to_dict()), "utf-8")
        (tmp / names["manifest"]).write_text(json_text(result.manifest), "utf-8")
    return {key: out_dir / name for key, name in names.items()}
