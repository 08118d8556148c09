"""``pathfinder run``: the main job on the bundled (or given) data."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from evaluation.commands._options import MAX_DRAWS, MAX_REPS, count, seed
from evaluation.outputs import check_output_dir
from evaluation.pipeline import (
    DEFAULT_SEED,
    PipelineInputs,
    input_paths,
    run_pipeline,
    write_outputs,
)

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``run`` options."""
    parser.add_argument("--panel", type=Path, help="force panel (default: bundled sample)")
    parser.add_argument("--register", type=Path, help="pilot register (default: bundled sample)")
    parser.add_argument("--ledger", type=Path, help="cost ledger (default: bundled sample)")
    parser.add_argument("--params", type=Path, help="appraisal parameter file (TOML)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("reports") / "latest",
        help="output folder [reports/latest]",
    )
    parser.add_argument("--method", default="cs", help="estimator [cs]")
    parser.add_argument("--inference", help="inference method (default: recommended)")
    parser.add_argument(
        "--reps", type=count(1, MAX_REPS, "--reps"), default=999, help="bootstrap draws [999]"
    )
    parser.add_argument(
        "--draws",
        type=count(1, MAX_DRAWS, "--draws"),
        help="Monte Carlo draws (default from params)",
    )
    parser.add_argument("--seed", type=seed, default=DEFAULT_SEED, help=f"seed [{DEFAULT_SEED}]")


def run(args: argparse.Namespace) -> int:
    """Validate, estimate, appraise, write outputs and print the headline."""
    bundled = PipelineInputs.bundled()
    inputs = PipelineInputs(
        panel=args.panel or bundled.panel,
        register=args.register or bundled.register,
        ledger=args.ledger or bundled.ledger,
        params=args.params,
        method=args.method,
        inference=args.inference,
        reps=args.reps,
        seed=args.seed,
        draws=args.draws,
    )
    check_output_dir(args.out, inputs=input_paths(inputs))  # before the (long) computation
    print(
        f"Pathfinder: validating {inputs.panel.name}, {inputs.register.name}, {inputs.ledger.name}"
    )
    result = run_pipeline(inputs)
    from evaluation.commands.appraise import format_report
    from evaluation.commands.summary import summarise
    from evaluation.schema import load_metrics

    print("\n== Panel ==")
    print(summarise(result.panel, result.register, load_metrics()))
    print("\n== Estimated effects of the pilots (per pilot force-year) ==")
    table = result.effects[["metric", "estimate", "se", "unit", "p_value", "inference"]]
    with pd.option_context("display.width", 120, "display.max_columns", 10):
        print(table.to_string(index=False, float_format=lambda x: f"{x:,.2f}"))
    warnings = sorted({w for r in result.results.values() for w in r.warnings})
    warnings = [*result.notes, *warnings]
    if warnings:
        print("\nwarnings:")
        for w in warnings:
            print(f"  - {w}")
    print("\n== Green Book appraisal ==")
    print(format_report(result.appraisal))
    paths = write_outputs(result, args.out)
    print(f"\nOutputs written to {args.out}/: " + ", ".join(p.name for p in paths.values()))
    return 0
