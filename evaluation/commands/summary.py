"""``pathfinder summary``: summarise a force panel and pilot register.

Defaults to the bundled sample data (``data/sample/panel.csv`` and ``register.csv``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import cast

import pandas as pd

from evaluation.ingest import bundled_data_dir, load_all, load_panel, load_register
from evaluation.periods import column_frequency, format_period, frequency_of, parse_period
from evaluation.schema import FORCE, GO_LIVE, PERIOD, WAVE, Metric, load_metrics
from evaluation.validation import validate_pilots

__all__ = ["add_arguments", "run", "summarise"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``summary`` arguments."""
    parser.add_argument("--panel", type=Path, help="force panel (default: bundled sample)")
    parser.add_argument("--register", type=Path, help="pilot register (default: bundled sample)")
    parser.add_argument("--metrics", type=Path, help="metrics configuration file (TOML)")
    parser.add_argument("--sheet", help="Excel sheet name for both files")


def _wave_order(wave: str) -> tuple[int, float, str]:
    try:
        return (0, float(wave), wave)
    except ValueError:
        return (1, 0.0, wave)


def summarise(
    panel: pd.DataFrame,
    register: pd.DataFrame | None,
    metrics: Mapping[str, Metric],
) -> str:
    """Return a text summary of a typed panel (and register)."""
    lines: list[str] = []
    forces = sorted(panel[FORCE].unique())
    col_freq = column_frequency(panel[PERIOD].unique())
    periods = sorted(panel[PERIOD].unique(), key=lambda p: parse_period(p, col_freq).ordinal)
    first, last = parse_period(periods[0], col_freq), parse_period(periods[-1], col_freq)
    freq = frequency_of(first)
    n_span = last.ordinal - first.ordinal + 1
    lines.append(f"Forces: {len(forces)}")
    lines.append(
        f"Periods: {format_period(first)} to {format_period(last)} ({freq}, {n_span} periods)"
    )
    expected = len(forces) * n_span
    present = panel[[FORCE, PERIOD]].drop_duplicates().shape[0]
    counts = panel.groupby(FORCE)[PERIOD].nunique()
    gappy = sorted(counts[counts < n_span].index)
    lines.append(
        f"Coverage: {present} of {expected} force-periods present ({present / expected:.1%})"
    )
    if gappy:
        lines.append("  forces with missing periods: " + ", ".join(gappy))
    else:
        lines.append("  balanced: every force has every period")
    metric_cols = [c for c in panel.columns if c not in (FORCE, PERIOD)]
    lines.append(f"Metrics: {len(metric_cols)}")
    for m in metric_cols:
        spec = metrics.get(m)
        unit = spec.unit if spec is not None and spec.unit else "unknown unit"
        filled = int(panel[m].notna().sum())
        lines.append(f"  {m} ({unit}): {filled} of {len(panel)} values")
    if register is not None:
        lines.append(f"Pilots: {len(register)}")
        for wave in sorted(register[WAVE].unique(), key=_wave_order):
            sub = register[register[WAVE] == wave].sort_values([GO_LIVE, FORCE])
            lines.append(f"  wave {wave}: {len(sub)} forces")
            for _, rec in sub.iterrows():
                lines.append(f"    {rec[FORCE]}: go-live {pd.Timestamp(rec[GO_LIVE]).date()}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Load the panel and register (bundled sample by default) and print a summary."""
    sample = bundled_data_dir() / "sample"
    panel_path = args.panel or sample / "panel.csv"
    register_path = args.register or (sample / "register.csv" if args.panel is None else None)
    metrics = load_metrics(args.metrics)
    steps: list[tuple[str, Callable[[], object]]] = [
        (panel_path.name, lambda: load_panel(panel_path, sheet=args.sheet, metrics=metrics))
    ]
    if register_path is not None:
        steps.append((register_path.name, lambda: load_register(register_path, sheet=args.sheet)))
    loaded = load_all(steps)
    panel = cast(pd.DataFrame, loaded[0])
    register = cast(pd.DataFrame, loaded[1]) if register_path is not None else None
    if register is not None and register_path is not None:
        validate_pilots(panel, register, source=register_path.name).raise_if_errors()
    print(
        f"Panel: {panel_path.name}" + (f"; register: {register_path.name}" if register_path else "")
    )
    print(summarise(panel, register, metrics))
    return 0
