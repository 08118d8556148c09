"""Validate raw tables against the data contract and produce typed frames.

Each ``validate_*`` function takes a raw table (a :class:`~evaluation.readers.RawTable`, or a
frame of text cells plus a source name) and returns a frozen :class:`ValidationReport` listing
every problem found, each located by file, row (as a spreadsheet user sees it: header row 1)
and column. The matching ``prepare_*`` function returns the typed frame as well.

Nothing is dropped, coerced or imputed silently. Blank cells stay missing. Only explicit options
change data (``drop_duplicates="first"``, ``allow_negative=[...]``), and the report lists each
application among its :attr:`~ValidationReport.transformations`, together with every harmless
normalisation (a force alias read as its canonical name, ``2022q2`` read as ``2022-Q2``, a header
``Go Live`` read as ``go_live``).

Typed frames keep the index of the raw rows, so the spreadsheet row of a record is its index
plus 2.

Severity: ``error`` blocks use of the data; ``warning`` is reported only (an unbalanced panel, a
pilot going live after the panel ends); ``info`` notes what was understood (aliases, unknown
metrics, blank metric cells).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from evaluation.errors import DataError, Problem, capped_lines, check_option
from evaluation.periods import (
    EXPECTED as PERIOD_EXPECTED,
)
from evaluation.periods import (
    FREQUENCIES,
    Frequency,
    column_frequency,
    detect_frequency,
    format_period,
    frequency_of,
    label_frequencies,
    parse_period,
    period_of_date,
)
from evaluation.readers import RawTable, cell_text
from evaluation.schema import (
    AMOUNT_GBP,
    CATEGORY,
    DATE,
    DESCRIPTION,
    ENDED,
    FINANCIAL_YEAR,
    FORCE,
    GO_LIVE,
    KIND,
    LEDGER,
    PANEL,
    PERIOD,
    PRICE_BASIS,
    PRICE_BASIS_PATTERN,
    REGISTER,
    WAVE,
    Metric,
    TableSchema,
    load_metrics,
    resolve_force,
    suggest_force,
)

__all__ = [
    "MISSING_MARKERS",
    "DuplicatePolicy",
    "ValidationReport",
    "metric_specs",
    "prepare_ledger",
    "prepare_panel",
    "prepare_register",
    "validate_ledger",
    "validate_panel",
    "validate_pilots",
    "validate_register",
]

DuplicatePolicy = Literal["error", "first", "last"]
_DUPLICATE_POLICIES: tuple[DuplicatePolicy, ...] = ("error", "first", "last")

#: Cell texts read as a missing value (blank, and the GSS shorthand for unavailable values).
MISSING_MARKERS: frozenset[str] = frozenset({"", "[c]", "[x]", "[z]"})

_NUMBER_RE = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_MAX_LISTED = 12


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating one table (or a cross-table check).

    Parameters
    ----------
    file
        The file (or table) checked.
    kind
        ``"panel"``, ``"register"``, ``"ledger"`` or ``"pilots"`` (cross-table).
    problems
        Every problem found, errors first.
    n_rows
        Data rows read.
    n_columns
        Columns read.
    transformations
        Every explicit change made to the data (options applied, aliases canonicalised, labels
        normalised), in plain words.
    """

    file: str
    kind: str
    problems: tuple[Problem, ...] = ()
    n_rows: int = 0
    n_columns: int = 0
    transformations: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """``True`` when there is no error (warnings and notes allowed)."""
        return not self.errors

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems of severity ``error``."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The problems of severity ``warning``."""
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def infos(self) -> tuple[Problem, ...]:
        """The problems of severity ``info``."""
        return tuple(p for p in self.problems if p.severity == "info")

    @property
    def counts(self) -> dict[str, int]:
        """Number of problems by severity."""
        return {
            "error": len(self.errors),
            "warning": len(self.warnings),
            "info": len(self.infos),
        }

    def to_frame(self) -> pd.DataFrame:
        """Return the problems as a frame (one row each).

        Columns ``severity``, ``file``, ``row`` (nullable integer), ``column``, ``value``,
        ``expected``, ``message``.
        """
        return pd.DataFrame(
            {
                "severity": [p.severity for p in self.problems],
                "file": [p.file for p in self.problems],
                "row": pd.array([p.row for p in self.problems], dtype="Int64"),
                "column": [p.column for p in self.problems],
                "value": [p.value for p in self.problems],
                "expected": [p.expected for p in self.problems],
                "message": [p.message for p in self.problems],
            },
            columns=["severity", "file", "row", "column", "value", "expected", "message"],
        )

    def format(self, *, max_lines: int = 200) -> str:
        """Return the report as text for a terminal."""
        c = self.counts
        tables = ("panel", "register", "ledger")
        what = f"{self.n_rows} rows, {self.n_columns} columns" if self.kind in tables else ""
        head = f"{self.file} ({self.kind})" + (f": {what}" if what else "")
        status = "OK" if self.ok else "INVALID"
        lines = [
            f"{head} -- {status}: {c['error']} errors, {c['warning']} warnings, {c['info']} notes"
        ]
        for severity in ("error", "warning", "info"):
            these = [p for p in self.problems if p.severity == severity]
            tag = f"  {severity.upper():<8}"
            lines.extend(capped_lines(these, limit=max_lines, prefix=tag))
        if self.transformations:
            lines.append("  transformations applied:")
            lines.extend(f"    - {t}" for t in self.transformations)
        return "\n".join(lines)

    def raise_if_errors(self) -> None:
        """Raise :class:`~evaluation.errors.DataError` listing all problems if any is an error."""
        if not self.ok:
            n = len(self.errors)
            raise DataError(
                f"{self.file} ({self.kind}) breaks the data contract: {n} "
                f"error{'s' if n != 1 else ''}",
                self.problems,
            )


# --------------------------------------------------------------------------------------------
# Collecting problems
# --------------------------------------------------------------------------------------------


@dataclass
class _Collector:
    """Mutable scratchpad of one validation run (private; the result is frozen)."""

    source: str
    problems: list[Problem] = field(default_factory=list)
    transformations: list[str] = field(default_factory=list)
    skip: set[tuple[int, str]] = field(default_factory=set)

    def add(
        self,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        expected: str | None = None,
        severity: Literal["error", "warning", "info"] = "error",
    ) -> None:
        self.problems.append(
            Problem(
                message,
                file=self.source,
                row=row,
                column=column,
                value=None if value is None else str(value),
                expected=expected,
                severity=severity,
            )
        )

    def transformed(self, text: str, *, column: str | None = None, row: int | None = None) -> None:
        self.transformations.append(text)
        self.add(text, column=column, row=row, severity="info")

    def report(self, kind: str, n_rows: int, n_columns: int) -> ValidationReport:
        ordered = sorted(
            self.problems,
            key=lambda p: (
                _SEVERITY_ORDER[p.severity],
                p.row if p.row is not None else -1,
                p.column or "",
            ),
        )
        return ValidationReport(
            file=self.source,
            kind=kind,
            problems=tuple(ordered),
            n_rows=n_rows,
            n_columns=n_columns,
            transformations=tuple(self.transformations),
        )


def _rows_text(rows: Sequence[int]) -> str:
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:_MAX_LISTED])
    more = f" and {len(rows) - _MAX_LISTED} more" if len(rows) > _MAX_LISTED else ""
    return shown + more


def _as_text_frame(raw: RawTable | pd.DataFrame, source: str | None) -> tuple[pd.DataFrame, str]:
    if isinstance(raw, RawTable):
        return raw.frame, source or raw.source
    if not isinstance(raw, pd.DataFrame):
        raise TypeError(f"expected a RawTable or a DataFrame, got {type(raw).__name__}")
    frame = raw.reset_index(drop=True)
    frame = pd.DataFrame(
        {str(c): [cell_text(v) for v in frame[c].tolist()] for c in frame.columns},
        columns=[str(c) for c in frame.columns],
        dtype=str,
    )
    return frame, source or "table"


def _start(raw: RawTable | pd.DataFrame, source: str | None) -> tuple[pd.DataFrame, _Collector]:
    frame, src = _as_text_frame(raw, source)
    col = _Collector(src)
    if isinstance(raw, RawTable):
        for p in raw.problems:
            col.problems.append(p)
            if p.row is not None and p.column is not None and p.severity == "error":
                col.skip.add((p.row, p.column))
    return frame, col


def _header_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _normalise_headers(frame: pd.DataFrame, known: Iterable[str], col: _Collector) -> pd.DataFrame:
    """Read headers that differ from a contract name only in case, spaces or punctuation."""
    known = list(known)
    by_key = {_header_key(k): k for k in known}
    present = [str(c) for c in frame.columns]
    renamed = []
    for name in present:
        target = name
        if name not in known:
            cand = by_key.get(_header_key(name))
            if cand is not None and cand not in present:
                target = cand
        renamed.append(target)
    if renamed == present or len(set(renamed)) != len(renamed):
        return frame
    for old, new in zip(present, renamed, strict=True):
        if old != new:
            col.transformed(f"header {old!r} read as {new!r}", column=new, row=1)
    out = frame.copy()
    out.columns = pd.Index(renamed, dtype=object)
    return out


def _blank_rows(frame: pd.DataFrame, col: _Collector) -> np.ndarray:
    """Flag rows whose cells are all blank (an error); return the mask."""
    if frame.shape[1] == 0:
        return np.zeros(len(frame), dtype=bool)
    stripped = frame.apply(lambda s: s.str.strip())
    mask = (stripped == "").all(axis=1).to_numpy()
    for i in np.flatnonzero(mask):
        col.add(
            "blank row inside the table (delete it)",
            row=int(i) + 2,
            column=str(frame.columns[0]),
            expected="a data row",
        )
    return mask


def _missing_columns(frame: pd.DataFrame, schema: TableSchema, col: _Collector) -> set[str]:
    present = {str(c) for c in frame.columns}
    missing = {c for c in schema.required if c not in present}
    for name in schema.required:
        if name in missing:
            col.add(
                f"required column {name!r} is missing",
                row=1,
                column=name,
                expected="columns "
                + ", ".join(schema.required)
                + f"; found {', '.join(sorted(present)) or 'none'}",
            )
    for group in schema.at_least_one_of:
        if not any(g in present for g in group):
            col.add(
                "needs at least one of the columns " + " or ".join(repr(g) for g in group),
                row=1,
                column=group[0],
                expected=" or ".join(group),
            )
    return missing


def _forces(frame: pd.DataFrame, col: _Collector, skip_rows: np.ndarray) -> list[str | None]:
    """Resolve the force column; report blanks, unknown names and aliases."""
    values = frame[FORCE].tolist()
    out: list[str | None] = [None] * len(values)
    cache: dict[str, str | None] = {}
    aliases: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, raw in enumerate(values):
        row = i + 2
        if skip_rows[i] or (row, FORCE) in col.skip:
            continue
        text = raw.strip()
        if not text:
            col.add("force is blank", row=row, column=FORCE, expected="a force name")
            continue
        if text not in cache:
            cache[text] = resolve_force(text)
        name = cache[text]
        if name is None:
            hint = suggest_force(text)
            msg = "unknown force" + (f"; did you mean {hint!r}?" if hint else "")
            col.add(
                msg,
                row=row,
                column=FORCE,
                value=raw,
                expected="one of the 43 territorial forces of England and Wales",
            )
            continue
        if name != raw:
            aliases[(raw, name)].append(row)
        out[i] = name
    for (alias, name), rows in aliases.items():
        col.transformed(
            f"force {alias!r} read as {name!r} (rows {_rows_text(rows)})", column=FORCE, row=rows[0]
        )
    return out


def _parse_numbers(
    frame: pd.DataFrame,
    column: str,
    col: _Collector,
    skip_rows: np.ndarray,
    *,
    nonnegative: bool,
    allow_negative: bool,
    required: bool = False,
) -> np.ndarray:
    """Parse a column of numbers (blank/GSS shorthand as NaN); report bad and negative ones."""
    s = frame[column].str.strip()
    missing = s.str.lower().isin(MISSING_MARKERS).to_numpy()
    is_num = s.str.fullmatch(_NUMBER_RE).fillna(False).to_numpy(dtype=bool)
    values = np.full(len(s), np.nan)
    if is_num.any():
        with np.errstate(over="ignore"):
            values[is_num] = np.array([float(v) for v in s[is_num].tolist()], dtype=float)
    overflow = is_num & ~np.isfinite(values)
    bad = ~missing & (~is_num | overflow) & ~skip_rows
    raw_values = frame[column].tolist()
    for i in np.flatnonzero(bad):
        row = int(i) + 2
        if (row, column) in col.skip:
            continue
        text = raw_values[i]
        hint = "a number"
        if re.fullmatch(r"[+-]?\d+,(\d{1,2}|\d{4,})", text.strip()):
            hint = "a number with a decimal point (1.5, not 1,5)"
        elif re.fullmatch(r"[+-]?[\d,]+(\.\d*)?", text.strip()):
            hint = "a number without thousands separators"
        elif text.strip().startswith(("£", "$", "€")):
            hint = "a number without a currency sign"
        col.add("not a number", row=row, column=column, value=text, expected=hint)
    values[bad | overflow] = np.nan
    if required:
        for i in np.flatnonzero(missing & ~skip_rows):
            col.add(f"{column} is blank", row=int(i) + 2, column=column, expected="a number")
    n_missing = int((missing & ~skip_rows).sum())
    if n_missing and not required:
        rows = [int(i) + 2 for i in np.flatnonzero(missing & ~skip_rows)]
        col.add(
            f"{n_missing} blank or unavailable values, kept as missing (rows {_rows_text(rows)})",
            column=column,
            severity="info",
        )
    negative = np.isfinite(values) & (values < 0)
    if nonnegative and negative.any():
        rows = [int(i) + 2 for i in np.flatnonzero(negative)]
        if allow_negative:
            col.transformed(
                f"allow_negative: {len(rows)} negative values accepted in {column!r} "
                f"(rows {_rows_text(rows)})",
                column=column,
                row=rows[0],
            )
        else:
            for i in np.flatnonzero(negative):
                col.add(
                    "negative value",
                    row=int(i) + 2,
                    column=column,
                    value=raw_values[i],
                    expected="a value >= 0 (or pass allow_negative for this column)",
                )
    return values


#: A value this many times (the column's median absolute value + 1) is implausible (warned).
EXTREME_FACTOR = 1000.0
#: A ledger line above this amount is implausible for one force's digital team (warned).
EXTREME_AMOUNT_GBP = 1e9


def _extreme_values(
    values: np.ndarray, column: str, raw: Sequence[str], col: _Collector, *, limit: float = 0.0
) -> None:
    """Warn about implausibly large values (a 1e15 typed for 15): reported, never changed."""
    finite = np.isfinite(values)
    if not finite.any():
        return
    typical = float(np.median(np.abs(values[finite])))
    threshold = limit or EXTREME_FACTOR * (typical + 1.0)
    for i in np.flatnonzero(finite & (np.abs(np.nan_to_num(values)) > threshold)):
        col.add(
            f"implausibly large value: more than {threshold:,.0f}"
            + ("" if limit else f" ({EXTREME_FACTOR:,.0f} x the column's typical size)")
            + "; check it (a slip of the keyboard or of units?)",
            row=int(i) + 2,
            column=column,
            value=raw[int(i)],
            expected=f"a value of the order of {typical:,.6g}" if not limit else None,
            severity="warning",
        )


def _parse_date(text: str) -> pd.Timestamp | None:
    m = _DATE_RE.match(text)
    if not m:
        return None
    try:
        return pd.Timestamp(_dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
    except ValueError:
        return None


def _period_hint(text: str) -> str:
    if _DATE_RE.match(text.strip()):
        return (
            PERIOD_EXPECTED + " (this looks like a date: did a spreadsheet turn the label into "
            "a date? format the column as text)"
        )
    return PERIOD_EXPECTED


# --------------------------------------------------------------------------------------------
# Panel
# --------------------------------------------------------------------------------------------


def metric_specs(metrics: Mapping[str, Metric] | str | Path | None) -> Mapping[str, Metric]:
    """Return the metrics configuration: a mapping as given, a file loaded, or the bundled one."""
    if metrics is None or isinstance(metrics, str | Path):
        return load_metrics(metrics)
    return metrics


def prepare_panel(
    raw: RawTable | pd.DataFrame,
    source: str | None = None,
    *,
    metrics: Mapping[str, Metric] | str | Path | None = None,
    frequency: Frequency | None = None,
    allow_negative: Iterable[str] = (),
    drop_duplicates: DuplicatePolicy = "error",
) -> tuple[pd.DataFrame, ValidationReport]:
    """Validate a force panel and return the typed frame with the report.

    Parameters
    ----------
    raw
        The raw table (cells as text).
    source
        File name used in messages (default: the RawTable's, or ``"table"``).
    metrics
        Metrics configuration (mapping, TOML path, or ``None`` for the bundled list).
    frequency
        Required period frequency (``"month"``, ``"quarter"`` or ``"fy"``); by default the
        frequency of most rows, with rows of any other frequency reported as errors.
    allow_negative
        Metrics whose negative values are accepted (each application is reported).
    drop_duplicates
        ``"error"`` (default) reports duplicated force-periods; ``"first"`` / ``"last"`` keep
        one row of each and report the rows dropped.

    Returns
    -------
    (frame, report)
        ``frame`` has ``force`` (canonical name), ``period`` (label, e.g. ``2022-04``) and one
        float column per metric, indexed by raw row (spreadsheet row = index + 2). Cells with
        errors are missing in it; use it only when ``report.ok``.
    """
    check_option("frequency", frequency, (None, *FREQUENCIES))
    check_option("drop_duplicates", drop_duplicates, _DUPLICATE_POLICIES)
    specs = metric_specs(metrics)
    allow_neg = set(allow_negative)
    frame, col = _start(raw, source)
    n_rows, n_cols = frame.shape
    frame = _normalise_headers(frame, [*PANEL.names, *specs], col)
    blank = _blank_rows(frame, col)
    missing = _missing_columns(frame, PANEL, col)

    # metric columns: configured ones, and unknown numeric ones
    metric_cols: list[str] = []
    for name in (str(c) for c in frame.columns):
        if name in PANEL:
            continue
        if name in specs:
            metric_cols.append(name)
            continue
        s = frame[name].str.strip()
        filled = ~s.str.lower().isin(MISSING_MARKERS).to_numpy() & ~blank
        nonnum = filled & ~s.str.fullmatch(_NUMBER_RE).fillna(False).to_numpy(dtype=bool)
        nonnum &= np.array([(i + 2, name) not in col.skip for i in range(len(s))], dtype=bool)
        if nonnum.any():
            i = int(np.flatnonzero(nonnum)[0])
            col.add(
                f"unknown column {name!r} has text (e.g. row {i + 2}), so it is not a metric; "
                "remove it, rename it with a column mapping, or list it in the metrics file",
                column=name,
                value=frame[name].iloc[i],
                expected="a known column: " + ", ".join([*PANEL.names, *specs]),
            )
        else:
            metric_cols.append(name)
            col.add(
                f"unknown numeric column {name!r} accepted as a metric (unit unknown)",
                column=name,
                severity="info",
            )
    absent = [name for name in specs if name not in frame.columns]
    if absent:
        col.add(
            f"{len(absent)} configured metrics are not in the file: " + ", ".join(absent),
            row=1,
            severity="info",
        )

    out = pd.DataFrame(index=frame.index)
    forces: list[str | None] = [None] * len(frame)
    if FORCE not in missing:
        forces = _forces(frame, col, blank)
    out[FORCE] = pd.array(forces, dtype="str")

    labels: list[str | None] = [None] * len(frame)
    freq_used: Frequency | None = frequency
    if PERIOD not in missing:
        labels, freq_used = _panel_periods(frame, col, blank, frequency)
    out[PERIOD] = pd.array(labels, dtype="str")

    for name in metric_cols:
        spec = specs.get(name)
        out[name] = _parse_numbers(
            frame,
            name,
            col,
            blank,
            nonnegative=bool(spec and spec.nonnegative),
            allow_negative=name in allow_neg,
        )
    for name in metric_cols:
        _extreme_values(out[name].to_numpy(dtype=float), name, frame[name].tolist(), col)
    unused = allow_neg - set(metric_cols)
    for name in sorted(unused):
        col.add(
            f"allow_negative names {name!r}, which is not a metric column of the file",
            column=name,
            severity="warning",
        )

    out = _panel_duplicates(out, col, drop_duplicates)
    if freq_used is not None:
        _panel_balance(out, col, freq_used)
    return out, col.report("panel", n_rows, n_cols)


def _panel_periods(
    frame: pd.DataFrame, col: _Collector, blank: np.ndarray, frequency: Frequency | None
) -> tuple[list[str | None], Frequency | None]:
    values = frame[PERIOD].tolist()
    labels: list[str | None] = [None] * len(values)
    options: list[tuple[Frequency, ...]] = [()] * len(values)
    for i, raw in enumerate(values):
        row = i + 2
        if blank[i] or (row, PERIOD) in col.skip:
            continue
        text = raw.strip()
        if not text:
            col.add("period is blank", row=row, column=PERIOD, expected=PERIOD_EXPECTED)
            continue
        found = label_frequencies(text)
        if not found:
            col.add(
                "not a period label", row=row, column=PERIOD, value=raw, expected=_period_hint(text)
            )
            continue
        options[i] = found
    readable = [v.strip() for v, o in zip(values, options, strict=True) if o]
    if not readable:
        return labels, frequency
    given = frequency
    frequency = column_frequency(readable, frequency)
    assert frequency is not None  # at least one readable label
    counts = {f: sum(1 for o in options if o and o[0] == f) for f in FREQUENCIES}
    counts = {f: n for f, n in counts.items() if n}
    others = [i for i, o in enumerate(options) if o and frequency not in o]
    if given is None and others:
        summary = ", ".join(f"{n} {f}" for f, n in counts.items())
        col.add(
            f"periods of mixed frequency ({summary}); one frequency per file",
            column=PERIOD,
            expected=f"{frequency} periods throughout",
        )
    ambiguous = [i + 2 for i, o in enumerate(options) if len(o) > 1]
    if ambiguous and given is None:
        other = "month" if frequency == "fy" else "fy"
        col.add(
            f"{len(ambiguous)} labels such as {values[ambiguous[0] - 2].strip()!r} could be a "
            f"month or a financial year; read as {frequency} periods, the frequency that "
            f"reads the whole column (give the frequency, e.g. --freq {other}, to change it)",
            column=PERIOD,
            row=ambiguous[0],
            severity="info",
        )
    renamed: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, o in enumerate(options):
        if not o:
            continue
        if frequency not in o:
            col.add(
                f"a {o[0]} period in a {frequency} panel (one frequency per file)",
                row=i + 2,
                column=PERIOD,
                value=values[i],
                expected=f"a {frequency} period",
            )
            continue
        label = format_period(parse_period(values[i].strip(), frequency))
        if label != values[i]:
            renamed[(values[i], label)].append(i + 2)
        labels[i] = label
    for (old, new), rows in renamed.items():
        col.transformed(
            f"period {old!r} read as {new!r} (rows {_rows_text(rows)})", column=PERIOD, row=rows[0]
        )
    return labels, frequency


def _panel_duplicates(out: pd.DataFrame, col: _Collector, policy: DuplicatePolicy) -> pd.DataFrame:
    valid = out[FORCE].notna() & out[PERIOD].notna()
    keyed = out.loc[valid, [FORCE, PERIOD]]
    dup = keyed.duplicated(keep=False)
    if not dup.any():
        return out
    drop: list[int] = []
    for (force, period), grp in keyed[dup].groupby([FORCE, PERIOD], sort=False):
        rows = [int(i) + 2 for i in grp.index]
        if policy == "error":
            col.add(
                f"force {force!r} period {period} appears more than once: rows "
                f"{', '.join(map(str, rows))}",
                row=rows[1],
                column=PERIOD,
                value=f"{force} {period}",
                expected="one row per force and period (or drop_duplicates='first'/'last')",
            )
        else:
            keep = grp.index[0] if policy == "first" else grp.index[-1]
            dropped = [int(i) for i in grp.index if i != keep]
            drop.extend(dropped)
            col.transformed(
                f"drop_duplicates={policy!r}: force {force!r} period {period}: kept row "
                f"{int(keep) + 2}, dropped rows {', '.join(str(i + 2) for i in dropped)}",
                column=PERIOD,
                row=int(keep) + 2,
            )
    return out.drop(index=drop) if drop else out


def _panel_balance(out: pd.DataFrame, col: _Collector, freq: Frequency) -> None:
    """Warn about force-periods absent between the panel's first and last period."""
    valid = out[FORCE].notna() & out[PERIOD].notna()
    if not valid.any():
        return
    periods = {p: parse_period(p, freq) for p in out.loc[valid, PERIOD].unique()}
    lo = min(periods.values(), key=lambda v: v.ordinal)
    hi = max(periods.values(), key=lambda v: v.ordinal)
    full = [format_period(lo + k) for k in range(hi.ordinal - lo.ordinal + 1)]
    have = out.loc[valid].groupby(FORCE, sort=False)[PERIOD].agg(set)
    for force, present in have.items():
        absent = [p for p in full if p not in present]
        if absent:
            shown = ", ".join(absent[:_MAX_LISTED])
            more = f" and {len(absent) - _MAX_LISTED} more" if len(absent) > _MAX_LISTED else ""
            col.add(
                f"unbalanced panel: force {force!r} has no row for {len(absent)} of "
                f"{len(full)} periods ({shown}{more})",
                column=PERIOD,
                value=str(force),
                expected=f"every {freq} from {full[0]} to {full[-1]}",
                severity="warning",
            )


def validate_panel(
    raw: RawTable | pd.DataFrame,
    source: str | None = None,
    *,
    metrics: Mapping[str, Metric] | str | Path | None = None,
    frequency: Frequency | None = None,
    allow_negative: Iterable[str] = (),
    drop_duplicates: DuplicatePolicy = "error",
) -> ValidationReport:
    """Validate a force panel; see :func:`prepare_panel` for the parameters.

    Examples
    --------
    >>> raw = pd.DataFrame({"force": ["Kent", "Met"], "period": ["2022-04", "2022-04"],
    ...                     "backlog": ["10", "-3"]})
    >>> report = validate_panel(raw, "p.csv")
    >>> report.ok
    False
    >>> print(report.errors[0])
    p.csv, row 3, column 'backlog': negative value (got '-3'; expected a value >= 0 (or pass allow_negative for this column))
    """  # noqa: E501
    return prepare_panel(
        raw,
        source,
        metrics=metrics,
        frequency=frequency,
        allow_negative=allow_negative,
        drop_duplicates=drop_duplicates,
    )[1]


# --------------------------------------------------------------------------------------------
# Pilot register
# --------------------------------------------------------------------------------------------


def _unknown_columns(frame: pd.DataFrame, schema: TableSchema, col: _Collector) -> None:
    for name in (str(c) for c in frame.columns):
        if name not in schema:
            hint = difflib.get_close_matches(name, schema.names, n=1)
            col.add(
                f"unknown column {name!r}"
                + (f"; did you mean {hint[0]!r}?" if hint else "")
                + " (rename it with a column mapping, or remove it)",
                row=1,
                column=name,
                expected="columns " + ", ".join(schema.names),
            )


def _dates(
    frame: pd.DataFrame,
    column: str,
    col: _Collector,
    blank: np.ndarray,
    *,
    allow_period: bool,
    required: bool,
    period_end: bool = False,
) -> list[pd.Timestamp | None]:
    values = frame[column].tolist()
    out: list[pd.Timestamp | None] = [None] * len(values)
    read_as: list[str] = []
    expected = "a date YYYY-MM-DD" + (
        " or a period label (2022-04, 2022-Q2, 2022-23)" if allow_period else ""
    )
    for i, raw in enumerate(values):
        row = i + 2
        if blank[i] or (row, column) in col.skip:
            continue
        text = raw.strip()
        if not text:
            if required:
                col.add(f"{column} is blank", row=row, column=column, expected=expected)
            continue
        d = _parse_date(text)
        if d is None and allow_period and detect_frequency(text) is not None:
            per = parse_period(text)
            d = per.end_time.normalize() if period_end else per.start_time
            read_as.append(f"{text} -> {d.date().isoformat()} (row {row})")
        if d is None:
            col.add("not a valid date", row=row, column=column, value=raw, expected=expected)
            continue
        out[i] = d
    if read_as:
        which = "last" if period_end else "first"
        shown = "; ".join(read_as[:_MAX_LISTED])
        more = f"; and {len(read_as) - _MAX_LISTED} more" if len(read_as) > _MAX_LISTED else ""
        col.transformed(
            f"{column} period labels read as the {which} day of the period: {shown}{more}",
            column=column,
        )
    return out


def _datetime_array(values: Sequence[pd.Timestamp | None]) -> pd.Series:
    return pd.Series([pd.NaT if v is None else v for v in values], dtype="datetime64[ns]")


def _key_duplicates(keys: Sequence[str | None], col: _Collector, column: str, what: str) -> None:
    rows_by_key: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        if k is not None:
            rows_by_key[k].append(i + 2)
    for k, rows in rows_by_key.items():
        if len(rows) > 1:
            col.add(
                f"{what} {k!r} is listed more than once: rows {', '.join(map(str, rows))}",
                row=rows[1],
                column=column,
                value=k,
                expected=f"one row per {what}",
            )


def prepare_register(
    raw: RawTable | pd.DataFrame, source: str | None = None
) -> tuple[pd.DataFrame, ValidationReport]:
    """Validate a pilot register and return the typed frame with the report.

    Returns
    -------
    (frame, report)
        ``frame`` has ``force`` (canonical), ``wave`` (text label, e.g. ``"1"``), ``go_live``
        and ``ended`` (``datetime64[ns]``; a period label is read as its first day for
        ``go_live`` and its last day for ``ended``; ``ended`` is ``NaT`` when absent).
    """
    frame, col = _start(raw, source)
    n_rows, n_cols = frame.shape
    frame = _normalise_headers(frame, REGISTER.names, col)
    blank = _blank_rows(frame, col)
    missing = _missing_columns(frame, REGISTER, col)
    _unknown_columns(frame, REGISTER, col)
    out = pd.DataFrame(index=frame.index)
    forces: list[str | None] = [None] * len(frame)
    if FORCE not in missing:
        forces = _forces(frame, col, blank)
        _key_duplicates(forces, col, FORCE, "pilot force")
    out[FORCE] = pd.array(forces, dtype="str")
    waves: list[str | None] = [None] * len(frame)
    if WAVE not in missing:
        for i, raw_wave in enumerate(frame[WAVE].tolist()):
            if blank[i] or (i + 2, WAVE) in col.skip:
                continue
            if not raw_wave.strip():
                col.add("wave is blank", row=i + 2, column=WAVE, expected="a wave number or label")
            else:
                waves[i] = raw_wave.strip()
    out[WAVE] = pd.array(waves, dtype="str")
    go: list[pd.Timestamp | None] = [None] * len(frame)
    if GO_LIVE not in missing:
        go = _dates(frame, GO_LIVE, col, blank, allow_period=True, required=True)
    ended: list[pd.Timestamp | None] = [None] * len(frame)
    if ENDED in frame.columns:
        ended = _dates(frame, ENDED, col, blank, allow_period=True, required=False, period_end=True)
    for i, (g, e) in enumerate(zip(go, ended, strict=True)):
        if g is not None and e is not None and e < g:
            col.add(
                f"the pilot ended ({e.date()}) before it went live ({g.date()})",
                row=i + 2,
                column=ENDED,
                value=frame[ENDED].iloc[i],
                expected=f"a date on or after {g.date()}",
            )
    out[GO_LIVE] = _datetime_array(go).to_numpy()
    out[ENDED] = _datetime_array(ended).to_numpy()
    return out, col.report("register", n_rows, n_cols)


def validate_register(raw: RawTable | pd.DataFrame, source: str | None = None) -> ValidationReport:
    """Validate a pilot register; see :func:`prepare_register`."""
    return prepare_register(raw, source)[1]


# --------------------------------------------------------------------------------------------
# Cost ledger
# --------------------------------------------------------------------------------------------


def _choices(
    frame: pd.DataFrame, column: str, allowed: Sequence[str], col: _Collector, blank: np.ndarray
) -> list[str | None]:
    out: list[str | None] = [None] * len(frame)
    recased: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, raw in enumerate(frame[column].tolist()):
        row = i + 2
        if blank[i] or (row, column) in col.skip:
            continue
        text = " ".join(raw.split()).lower()
        if text in allowed:
            if text != raw:
                recased[(raw, text)].append(row)
            out[i] = text
            continue
        hint = difflib.get_close_matches(text, allowed, n=1, cutoff=0.6)
        col.add(
            f"{column} is blank"
            if not text
            else f"unknown {column}" + (f"; did you mean {hint[0]!r}?" if hint else ""),
            row=row,
            column=column,
            value=None if not text else raw,
            expected="one of " + ", ".join(allowed),
        )
    for (old, new), rows in recased.items():
        col.transformed(
            f"{column} {old!r} read as {new!r} (rows {_rows_text(rows)})",
            column=column,
            row=rows[0],
        )
    return out


def _price_basis(frame: pd.DataFrame, col: _Collector, blank: np.ndarray) -> list[str | None]:
    out: list[str | None] = [None] * len(frame)
    recased: dict[tuple[str, str], list[int]] = defaultdict(list)
    expected = "'nominal' or 'real YYYY-YY' (real prices of that base financial year)"
    for i, raw in enumerate(frame[PRICE_BASIS].tolist()):
        row = i + 2
        if blank[i] or (row, PRICE_BASIS) in col.skip:
            continue
        text = " ".join(raw.split()).lower().replace("/", "-")
        m = PRICE_BASIS_PATTERN.match(text)
        if m and m.group(2) and (int(m.group(2)) + 1) % 100 != int(m.group(3)):
            m = None
        if not m:
            col.add(
                "price_basis is blank" if not text else "unknown price basis",
                row=row,
                column=PRICE_BASIS,
                value=raw if text else None,
                expected=expected,
            )
            continue
        if text != raw:
            recased[(raw, text)].append(row)
        out[i] = text
    for (old, new), rows in recased.items():
        col.transformed(
            f"price_basis {old!r} read as {new!r} (rows {_rows_text(rows)})",
            column=PRICE_BASIS,
            row=rows[0],
        )
    return out


def prepare_ledger(
    raw: RawTable | pd.DataFrame,
    source: str | None = None,
    *,
    allow_negative: bool = False,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Validate a cost ledger and return the typed frame with the report.

    Parameters
    ----------
    raw, source
        The raw table and its name.
    allow_negative
        Accept negative amounts (refunds, credits); each application is reported.

    Returns
    -------
    (frame, report)
        ``frame`` has ``force``, ``date`` (``datetime64[ns]``, ``NaT`` when not given),
        ``financial_year`` (label; derived from ``date`` when blank, reported),
        ``category``, ``kind``, ``amount_gbp`` (float), ``price_basis`` (``nominal`` or
        ``real YYYY-YY``) and ``description`` (text, ``""`` when absent).
    """
    frame, col = _start(raw, source)
    n_rows, n_cols = frame.shape
    frame = _normalise_headers(frame, LEDGER.names, col)
    blank = _blank_rows(frame, col)
    missing = _missing_columns(frame, LEDGER, col)
    _unknown_columns(frame, LEDGER, col)
    out = pd.DataFrame(index=frame.index)
    n = len(frame)
    forces: list[str | None] = [None] * n
    if FORCE not in missing:
        forces = _forces(frame, col, blank)
    out[FORCE] = pd.array(forces, dtype="str")

    dates: list[pd.Timestamp | None] = [None] * n
    if DATE in frame.columns:
        dates = _dates(frame, DATE, col, blank, allow_period=False, required=False)
    fys: list[str | None] = [None] * n
    fy_raw = frame[FINANCIAL_YEAR].tolist() if FINANCIAL_YEAR in frame.columns else [""] * n
    date_raw = frame[DATE].tolist() if DATE in frame.columns else [""] * n
    derived: list[int] = []
    has_date_cols = DATE in frame.columns or FINANCIAL_YEAR in frame.columns
    for i in range(n):
        row = i + 2
        if blank[i] or not has_date_cols:
            continue
        fy_text = fy_raw[i].strip()
        if fy_text and (row, FINANCIAL_YEAR) not in col.skip:
            if detect_frequency(fy_text) != "fy":
                col.add(
                    "not a financial year",
                    row=row,
                    column=FINANCIAL_YEAR,
                    value=fy_raw[i],
                    expected="a UK financial year such as 2022-23",
                )
                continue
            fys[i] = format_period(parse_period(fy_text))
            day = dates[i]
            if day is not None:
                in_fy = format_period(period_of_date(day, "fy"))
                if in_fy != fys[i]:
                    col.add(
                        f"date {day.date()} is in financial year {in_fy}, not {fys[i]}",
                        row=row,
                        column=FINANCIAL_YEAR,
                        value=fy_raw[i],
                        expected=in_fy,
                    )
        elif (day := dates[i]) is not None:
            fys[i] = format_period(period_of_date(day, "fy"))
            derived.append(row)
        elif not date_raw[i].strip() and not fy_text:
            col.add(
                "neither date nor financial_year is given",
                row=row,
                column=DATE if DATE in frame.columns else FINANCIAL_YEAR,
                expected="a date YYYY-MM-DD or a financial year YYYY-YY",
            )
    if derived:
        col.transformed(
            f"financial_year derived from date in {len(derived)} rows (rows {_rows_text(derived)})",
            column=FINANCIAL_YEAR,
            row=derived[0],
        )
    out[DATE] = _datetime_array(dates).to_numpy()
    out[FINANCIAL_YEAR] = pd.array(fys, dtype="str")

    for name, allowed in (
        (CATEGORY, LEDGER.column(CATEGORY).allowed),
        (KIND, LEDGER.column(KIND).allowed),
    ):
        vals: list[str | None] = [None] * n
        if name not in missing and allowed is not None:
            vals = _choices(frame, name, allowed, col, blank)
        out[name] = pd.array(vals, dtype="str")
    amounts = np.full(n, np.nan)
    if AMOUNT_GBP not in missing:
        amounts = _parse_numbers(
            frame,
            AMOUNT_GBP,
            col,
            blank,
            nonnegative=True,
            allow_negative=allow_negative,
            required=True,
        )
    out[AMOUNT_GBP] = amounts
    if AMOUNT_GBP not in missing:
        _extreme_values(
            amounts, AMOUNT_GBP, frame[AMOUNT_GBP].tolist(), col, limit=EXTREME_AMOUNT_GBP
        )
    basis: list[str | None] = [None] * n
    if PRICE_BASIS not in missing:
        basis = _price_basis(frame, col, blank)
    out[PRICE_BASIS] = pd.array(basis, dtype="str")
    desc = frame[DESCRIPTION].tolist() if DESCRIPTION in frame.columns else [""] * n
    out[DESCRIPTION] = pd.array(desc, dtype="str")
    return out, col.report("ledger", n_rows, n_cols)


def validate_ledger(
    raw: RawTable | pd.DataFrame, source: str | None = None, *, allow_negative: bool = False
) -> ValidationReport:
    """Validate a cost ledger; see :func:`prepare_ledger`."""
    return prepare_ledger(raw, source, allow_negative=allow_negative)[1]


# --------------------------------------------------------------------------------------------
# Cross-table checks
# --------------------------------------------------------------------------------------------


def validate_pilots(
    panel: pd.DataFrame,
    register: pd.DataFrame,
    *,
    source: str = "register",
) -> ValidationReport:
    """Check a typed pilot register against a typed panel.

    Errors: a pilot force absent from the panel; a go-live before the panel's first period (no
    pre-pilot data). Warning: a go-live after the panel's last period (the force is then not
    yet treated within the panel). Rows refer to the register (index + 2).

    Parameters
    ----------
    panel, register
        Frames from :func:`prepare_panel` / :func:`prepare_register` (or the loaders).
    source
        The register's file name, used in messages.
    """
    col = _Collector(source)
    panel_forces = set(panel[FORCE].dropna())
    labels = [p for p in panel[PERIOD].dropna().unique()]
    freq = column_frequency(labels)
    periods = [parse_period(p, freq) for p in labels] if freq is not None else []
    freqs = {frequency_of(p) for p in periods}
    first = min(periods, key=lambda v: v.ordinal) if len(freqs) == 1 else None
    last = max(periods, key=lambda v: v.ordinal) if len(freqs) == 1 else None
    for idx, rec in register.iterrows():
        row = int(idx) + 2 if isinstance(idx, int | np.integer) else None
        force = rec[FORCE]
        if isinstance(force, str) and force not in panel_forces:
            col.add(
                f"pilot force {force!r} has no rows in the panel",
                row=row,
                column=FORCE,
                value=force,
                expected="a force present in the panel",
            )
        go = rec[GO_LIVE]
        if first is None or last is None or pd.isna(go):
            continue
        per = period_of_date(go, frequency_of(first))
        if per.ordinal <= first.ordinal:
            where = "in" if per.ordinal == first.ordinal else "before"
            col.add(
                f"go-live {pd.Timestamp(go).date()} ({format_period(per)}) is {where} the "
                f"panel's first period {format_period(first)}: no pre-pilot data (a "
                "difference-in-differences needs at least one period before go-live)",
                row=row,
                column=GO_LIVE,
                value=str(pd.Timestamp(go).date()),
                expected=f"a date from {format_period(first + 1)} to {format_period(last)}",
            )
        elif per.ordinal > last.ordinal:
            col.add(
                f"go-live {pd.Timestamp(go).date()} ({format_period(per)}) is after the panel's "
                f"last period {format_period(last)}: the force is not yet treated in the panel",
                row=row,
                column=GO_LIVE,
                value=str(pd.Timestamp(go).date()),
                expected=f"a date from {format_period(first)} to {format_period(last)}",
                severity="warning",
            )
    present = [f for f in register[FORCE].dropna() if f in panel_forces]
    if len(present) == 1:
        col.add(
            f"only one pilot force ({present[0]}): the effect's standard error cannot be "
            "estimated across pilots, so `pathfinder run` cannot appraise it; `pathfinder "
            "estimate --inference` with a method for one treated unit may still work",
            column=FORCE,
            value=str(present[0]),
            expected="two or more pilot forces",
            severity="warning",
        )
    return col.report("pilots", len(register), register.shape[1])
