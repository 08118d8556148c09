"""``pathfinder validate FILE...``: check input files against the data contract.

Exit code 0 when no file has an error (warnings allowed), 2 when any has. With a panel and a
register among the files, the cross-table checks (pilots present in the panel, go-live within
the panel's periods) run too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evaluation.errors import ConfigError, DataError
from evaluation.ingest import CheckedTable, check_table
from evaluation.readers import DEFAULT_MAX_BYTES
from evaluation.safety import json_text
from evaluation.schema import TABLE_KINDS
from evaluation.validation import ValidationReport, validate_pilots

__all__ = ["add_arguments", "parse_mapping", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``validate`` arguments."""
    parser.add_argument("files", nargs="+", metavar="FILE", help=".csv, .xlsx or .parquet file")
    parser.add_argument(
        "--kind", choices=TABLE_KINDS, help="table kind (default: detected from the columns)"
    )
    parser.add_argument("--sheet", help="Excel sheet name (default: the first sheet)")
    parser.add_argument(
        "--map",
        dest="mapping",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="read the file's column OLD as contract column NEW (repeatable)",
    )
    parser.add_argument("--metrics", type=Path, help="metrics configuration file (TOML)")
    parser.add_argument(
        "--max-size",
        type=float,
        default=DEFAULT_MAX_BYTES / (1024 * 1024),
        metavar="MB",
        help="largest file accepted, in MB (default %(default).0f)",
    )
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")


def parse_mapping(items: list[str]) -> dict[str, str]:
    """Parse ``OLD=NEW`` items into a column mapping (``ConfigError`` if malformed)."""
    mapping: dict[str, str] = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ConfigError(f"--map expects OLD=NEW, got {item!r}")
        mapping[old.strip()] = new.strip()
    return mapping


def _failure_report(path: Path, exc: DataError) -> ValidationReport:
    problems = exc.problems or ()
    if not problems:
        from evaluation.errors import Problem

        problems = (Problem(str(exc), file=path.name),)
    return ValidationReport(file=path.name, kind="unreadable", problems=tuple(problems))


def run(args: argparse.Namespace) -> int:
    """Validate each file; print the reports; return 0 (no errors) or 2."""
    mapping = parse_mapping(args.mapping)
    if args.max_size <= 0:
        raise ConfigError(f"--max-size must be positive, got {args.max_size}")
    max_bytes = int(args.max_size * 1024 * 1024)
    reports: list[ValidationReport] = []
    notes: dict[str, str] = {}
    checked: list[CheckedTable] = []
    for name in args.files:
        path = Path(name)
        try:
            table = check_table(
                path,
                kind=args.kind,
                columns=mapping or None,
                sheet=args.sheet,
                metrics=args.metrics,
                max_bytes=max_bytes,
            )
        except DataError as exc:
            reports.append(_failure_report(path, exc))
            continue
        checked.append(table)
        reports.append(table.report)
        notes[table.report.file] = table.kind_reason
    panels = [t for t in checked if t.kind == "panel" and t.report.ok]
    registers = [t for t in checked if t.kind == "register" and t.report.ok]
    if len(panels) == 1 and registers:
        for reg in registers:
            cross = validate_pilots(panels[0].frame, reg.frame, source=reg.report.file)
            reports.append(cross)
            notes[f"{reg.report.file} x {panels[0].report.file}"] = (
                f"cross-table checks of {reg.report.file} against {panels[0].report.file}"
            )
    if args.json:
        payload = [
            {
                "file": r.file,
                "kind": r.kind,
                "ok": r.ok,
                "rows": r.n_rows,
                "columns": r.n_columns,
                "counts": r.counts,
                "kind_detection": notes.get(r.file),
                "transformations": list(r.transformations),
                "problems": r.to_frame()
                .astype(object)
                .where(r.to_frame().notna(), None)
                .to_dict(orient="records"),
            }
            for r in reports
        ]
        print(json_text(payload))
    else:
        for r in reports:
            if r.kind != "pilots" and r.file in notes:
                print(f"{r.file}: kind {r.kind} ({notes[r.file]})")
            elif r.kind == "pilots":
                print("cross-table checks (pilot register against panel):")
            print(r.format())
            print()
    bad = [r for r in reports if not r.ok]
    if bad:
        print(
            f"pathfinder validate: {len(bad)} of {len(reports)} checks found errors",
            file=sys.stderr,
        )
        return 2
    return 0
