"""``pathfinder estimate``: difference-in-differences on any panel, with any column names."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

from evaluation.commands._options import MAX_REPS, count, seed
from evaluation.errors import ConfigError, DataError
from evaluation.estimation import CONTROLS, INFERENCE_NAMES, METHODS, estimate
from evaluation.outcomes import SCALES
from evaluation.panel import attach_cohorts, require_columns
from evaluation.readers import read_table
from evaluation.results import DidResult
from evaluation.safety import json_text

__all__ = ["add_arguments", "format_result", "run"]

_INT = re.compile(r"^-?\d+$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``estimate`` options."""
    parser.add_argument(
        "panel",
        nargs="?",
        help="long panel file (.csv, .xlsx, .parquet); default: the bundled data/sample/panel.csv",
    )
    parser.add_argument(
        "--register",
        help="pilot register: cohorts come from its go_live dates (default with the bundled panel)",
    )
    parser.add_argument("--unit", default="force", help="unit (cluster) column [force]")
    parser.add_argument("--time", default="period", help="time column [period]")
    parser.add_argument(
        "--cohort",
        default="cohort",
        help="first-treated-period column; 0 or blank = never treated [cohort]",
    )
    parser.add_argument("--outcome", required=True, help="outcome column")
    parser.add_argument("--covariates", default="", help="comma-separated covariate columns")
    parser.add_argument("--method", default="cs", choices=tuple(METHODS), help="estimator [cs]")
    parser.add_argument("--control", default="never", choices=CONTROLS, help="comparison units")
    parser.add_argument(
        "--inference",
        choices=INFERENCE_NAMES,
        help="inference method; default: the one recommended for the design",
    )
    parser.add_argument(
        "--reps",
        type=count(1, MAX_REPS, "--reps"),
        default=999,
        help="bootstrap or permutation draws",
    )
    parser.add_argument("--seed", type=seed, default=20260401, help="random seed")
    parser.add_argument("--level", type=float, default=0.95, help="confidence level")
    parser.add_argument("--scale", default="level", choices=SCALES, help="outcome scale")
    parser.add_argument(
        "--estimation",
        choices=("unconditional", "reg", "ipw", "dr"),
        help="Callaway-Sant'Anna estimation with covariates",
    )
    parser.add_argument(
        "--allow-unbalanced",
        action="store_true",
        help="Callaway-Sant'Anna on an unbalanced panel: each cell uses the units observed in "
        "both of its periods (otherwise an unbalanced panel is an error); the regression "
        "estimators take unbalanced panels as they are",
    )
    parser.add_argument("--sheet", help="worksheet (Excel input)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _integers_if_possible(series: pd.Series) -> pd.Series:
    text = series.astype(str).str.strip()
    filled = text[(text != "") & (text.str.lower() != "nan")]
    if len(filled) and filled.map(lambda v: bool(_INT.match(v))).all():
        return pd.to_numeric(
            text.where((text != "") & (text.str.lower() != "nan")), errors="coerce"
        )
    return series


def _load(args: argparse.Namespace) -> tuple[pd.DataFrame, str]:
    from evaluation.ingest import bundled_data_dir

    panel_path = args.panel
    register = args.register
    if panel_path is None:
        sample = bundled_data_dir() / "sample"
        panel_path = str(sample / "panel.csv")
        register = register or str(sample / "register.csv")
    raw = read_table(panel_path, sheet=args.sheet)
    errors = [p for p in raw.problems if p.severity == "error"]
    if errors:
        raise DataError(f"{raw.source}: cannot be used as it is", errors)
    df = raw.frame.copy()
    for col in (args.time, args.cohort):
        if col in df.columns:
            df[col] = _integers_if_possible(df[col])
    if register is not None:
        from evaluation.ingest import load_register

        reg = load_register(register)
        if args.cohort in df.columns:
            raise ConfigError(
                f"the panel already has a {args.cohort!r} column; give --register or the column"
            )
        require_columns(df, [args.unit, args.time], raw.source)
        df = attach_cohorts(df, reg, force=args.unit, period=args.time, out=args.cohort)
    return df, raw.source


def format_result(result: DidResult) -> str:
    """Plain-text table of a result."""
    o = result.overall
    lines = [
        f"method: {result.method}   control: {result.control}   outcome: {result.outcome}",
        f"units: {result.n_units} ({result.n_treated_units} treated)   periods: {result.n_periods}",
        "",
        f"overall effect  {o.estimate:12.4f}   se {o.se:10.4f}   "
        f"{o.level:.0%} CI [{o.ci_low:.4f}, {o.ci_high:.4f}]   p = {o.p_value:.4f}   "
        f"({o.inference})",
    ]
    if result.event_study is not None and len(result.event_study):
        lines += [
            "",
            "event study:",
            result.event_study.to_string(index=False, float_format="%.4f"),
        ]
    if result.bacon is not None and len(result.bacon):
        lines += ["", "Goodman-Bacon decomposition:", result.bacon.to_string(index=False)]
    if result.warnings:
        lines += ["", "warnings:", *(f"  - {w}" for w in result.warnings)]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the estimate command."""
    df, source = _load(args)
    covariates = tuple(c for c in args.covariates.split(",") if c.strip())
    options = {}
    if args.estimation:
        options["estimation"] = args.estimation
    if args.allow_unbalanced and args.method == "cs":
        options["allow_unbalanced"] = True
    result = estimate(
        df,
        args.outcome,
        unit=args.unit,
        time=args.time,
        cohort=args.cohort,
        covariates=covariates,
        method=args.method,
        control=args.control,
        inference=args.inference,
        reps=args.reps,
        level=args.level,
        rng=args.seed,
        scale=args.scale,
        source=Path(source).name,
        **options,
    )
    natural = _natural_units(result, df, args, covariates)
    if args.json:
        doc = result.to_dict()
        if natural is not None:
            doc["natural_units"] = natural
        print(json_text(doc))
    else:
        print(format_result(result))
        if natural is not None:
            print(
                f"\nper treated force-year ({natural['basis']}): "
                f"{natural['estimate']:,.2f} {natural['unit']} (se {natural['se']:,.2f})"
            )
    return 0


def _natural_units(
    result: DidResult, df: pd.DataFrame, args: argparse.Namespace, covariates: tuple[str, ...]
) -> dict[str, object] | None:
    """Return the overall effect per treated force-year, when time is in period labels."""
    from evaluation.outcomes import natural_units, transform_outcome
    from evaluation.panel import Panel
    from evaluation.schema import load_metrics

    frame, y = transform_outcome(df, args.outcome, args.scale, unit=args.unit)
    panel = Panel.from_frame(
        frame, unit=args.unit, time=args.time, cohort=args.cohort, outcomes=y, covariates=covariates
    )
    if panel.frequency is None:
        return None
    spec = load_metrics().get(args.outcome)
    nat = natural_units(
        result,
        panel,
        metric=args.outcome,
        scale=args.scale,
        unit_name=(spec.unit or "") if spec else "",
        aggregation=spec.aggregation if spec else "flow",
        outcome_column=y,
    )
    return nat.to_dict()
