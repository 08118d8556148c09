"""``pathfinder ingest``: aggregate a case-level device export to a force panel (DuckDB).

Example::

    pathfinder ingest cases.csv --freq month --out panel.parquet --map "Date In=received"
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import pandas as pd

from evaluation.cases import CASE_COLUMNS, aggregate_cases
from evaluation.errors import ConfigError
from evaluation.outputs import atomic_output_file, check_output_file
from evaluation.periods import FREQUENCIES
from evaluation.safety import neutralise_frame

__all__ = ["TerminalProgress", "add_arguments", "parse_column_map", "run", "write_panel"]

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
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="DuckDB threads [all cores]",
    )


class TerminalProgress:
    """A one-line progress bar for a terminal: ``reading cases.csv [#####-----]  50%  3 s``.

    Redrawn in place (carriage return) at most every 0.2 s and when the percentage changes;
    :meth:`close` clears the line, so the summary that follows starts on a clean line.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> bar = TerminalProgress("cases.csv", out, width=10)
    >>> bar(0.5)
    >>> "[#####-----]  50%" in out.getvalue()
    True
    """

    def __init__(self, label: str, stream: TextIO, *, width: int = 30) -> None:
        self.label = label
        self.stream = stream
        self.width = width
        self.start = time.monotonic()
        self._shown = -1
        self._drawn = 0

    def __call__(self, fraction: float) -> None:
        """Show ``fraction`` (0 to 1) of the file read."""
        percent = int(max(0.0, min(1.0, fraction)) * 100)
        if percent == self._shown:
            return
        self._shown = percent
        filled = percent * self.width // 100
        elapsed = time.monotonic() - self.start
        line = (
            f"reading {self.label} [{'#' * filled}{'-' * (self.width - filled)}] "
            f"{percent:3d}%  {elapsed:.0f} s"
        )
        self.stream.write("\r" + line.ljust(self._drawn))
        self.stream.flush()
        self._drawn = len(line)

    def close(self) -> None:
        """Clear the bar's line."""
        if self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self.stream.flush()
            self._drawn = 0


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


def write_panel(panel: pd.DataFrame, out: Path, *, inputs: Sequence[Path] = ()) -> None:
    """Write the panel as CSV or Parquet, chosen by the extension of ``out``, atomically.

    The file is written beside ``out`` and renamed over it when complete, so an interrupted
    write never leaves half a panel; ``out`` may not be one of ``inputs``.
    """
    with atomic_output_file(out, inputs=inputs, suffixes=_CSV + _PARQUET) as tmp:
        if out.suffix.lower() in _CSV:
            neutralise_frame(panel).to_csv(tmp, index=False, na_rep="")
        else:
            panel.to_parquet(tmp, index=False)


def run(args: argparse.Namespace) -> int:
    """Validate and aggregate the case file, write the panel, print a summary."""
    out = Path(args.out)
    # fail before the (long) aggregation: extension, folder, permissions, not the input
    check_output_file(out, inputs=[Path(args.cases)], suffixes=_CSV + _PARQUET)
    # a progress bar only where someone watches: never in pipes, files or CI logs
    bar = TerminalProgress(Path(args.cases).name, sys.stderr) if sys.stderr.isatty() else None
    try:
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
            progress=bar,
        )
    finally:
        if bar is not None:
            bar.close()
    write_panel(panel, out, inputs=[Path(args.cases)])
    print(report.summary())
    n_forces = len(report.forces)
    print(
        f"wrote {len(panel):,} rows ({n_forces} forces x {len(panel) // max(n_forces, 1)} "
        f"periods) to {out}"
    )
    return 0
