"""``pathfinder ingest``: aggregate a case-level device export to a force panel (DuckDB).

Example::

    pathfinder ingest cases.csv --freq month --out panel.parquet --map "Date In=received"
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from evaluation.cases import CASE_COLUMNS, aggregate_cases
from evaluation.errors import ConfigError
from evaluation.periods import FREQUENCIES

__all__ = ["add_arguments", "parse_column_map", "run", "write_panel"]

_CSV = (".csv",)
_PARQUET = (".parquet", ".pq")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``ingest`` options."""
    parser.add_argument("cases", metavar="CASES", help="case-level file (.csv or .parquet)")
    parser.add_argument(
        "--freq", default="month", choices=FREQUENCIES, help="panel frequency [month]"
    )
    parser.add_argument(
        "--out", required=True, metavar="PANEL", help="output panel (.csv or .parquet)"
    )
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help=f"read file column OLD as NEW (one of {', '.join(CASE_COLUMNS)}); repeatable",
    )
    parser.add_argument(
        "--as-of", metavar="DATE", help="date of the export: later dates are errors"
    )
    parser.add_argument("--start", metavar="PERIOD", help="first period of the panel")
    parser.add_argument("--end", metavar="PERIOD", help="last period of the panel")
    parser.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="memory budget, e.g. 2GB; DuckDB spills to disk beyond it "
        "[a quarter of the available memory, 256 MiB to 1 GiB]",
    )
    parser.add_argument(
        "--spill-dir",
        metavar="DIR",
        help="folder for spill files beyond the memory budget [the system's temporary folder]",
    )
    parser.add_argument("--threads", type=int, metavar="N", help="DuckDB threads [all cores]")


def parse_column_map(items: list[str]) -> dict[str, str]:
    """Turn ``["Date In=received", ...]`` into ``{"Date In": "received", ...}``.

    Examples
    --------
    >>> parse_column_map(["Date In=received", "Force Name = force"])
    {'Date In': 'received', 'Force Name': 'force'}
    """
    mapping: dict[str, str] = {}
    for item in items:
        old, sep, new = item.rpartition("=")
        old, new = old.strip(), new.strip()
        if not sep or not old or not new:
            raise ConfigError(f"--map must look like OLD=NEW; got {item!r}")
        if old in mapping:
            raise ConfigError(f"--map gives column {old!r} twice")
        mapping[old] = new
    return mapping


def write_panel(panel: pd.DataFrame, out: Path) -> None:
    """Write the panel as CSV or Parquet, chosen by the extension of ``out``."""
    suffix = out.suffix.lower()
    if suffix not in _CSV + _PARQUET:
        raise ConfigError(f"--out must end in .csv or .parquet; got {str(out)!r}")
    if not out.parent.exists():
        raise ConfigError(f"the output folder {str(out.parent)!r} does not exist")
    if suffix in _CSV:
        panel.to_csv(out, index=False, na_rep="")
    else:
        panel.to_parquet(out, index=False)


def run(args: argparse.Namespace) -> int:
    """Validate and aggregate the case file, write the panel, print a summary."""
    out = Path(args.out)
    if out.suffix.lower() not in _CSV + _PARQUET:  # fail before the (long) aggregation
        raise ConfigError(f"--out must end in .csv or .parquet; got {args.out!r}")
    panel, report = aggregate_cases(
        args.cases,
        freq=args.freq,
        columns=parse_column_map(args.map),
        start=args.start,
        end=args.end,
        as_of=args.as_of,
        memory_limit=args.memory_limit,
        threads=args.threads,
        spill_dir=args.spill_dir,
    )
    write_panel(panel, out)
    print(report.summary())
    n_forces = len(report.forces)
    print(
        f"wrote {len(panel):,} rows ({n_forces} forces x {len(panel) // max(n_forces, 1)} "
        f"periods) to {out}"
    )
    return 0
