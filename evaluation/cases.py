"""Case-level device examinations aggregated to the force panel, with embedded DuckDB.

A force's digital forensic unit exports one row per device examination:

==============  ==========================================================================
column          meaning
==============  ==========================================================================
force           the force (canonical name, or an alias such as ``Met`` or ``GMP``)
received        date the device was received, ``YYYY-MM-DD``
completed       date the examination was completed, ``YYYY-MM-DD``; blank while pending
outsourced      examined by an external lab: yes/no (also y/n, true/false, 1/0, any case);
                may be blank only while the examination is pending
cost_gbp        cost of the examination in pounds, a plain number >= 0 (no ``£`` or
                thousands separators); may be blank only while pending
offence_type    free text (optional; not used by the aggregation)
==============  ==========================================================================

:func:`aggregate_cases` validates the file and aggregates it to one row per force and period
entirely inside DuckDB (``read_csv`` / ``read_parquet`` in SQL) in one streaming pass: the file
is never loaded into pandas, nor held whole by DuckDB, and memory stays within a budget set
from the machine (:func:`evaluation.machine.default_memory_limit`) whatever the file's size.
:func:`aggregate_cases_pandas` (:mod:`evaluation.cases_pandas`) is a plain pandas and numpy
implementation of the same aggregation, kept as the benchmark baseline and as an independent
cross-check.

Metrics (per force and period)
------------------------------
``devices_received``
    examinations received in the period.
``devices_examined``
    examinations completed in the period.
``backlog``
    examinations received on or before the period's last day and not completed by then
    (pending ones included); equal to cumulative received minus cumulative completed.
``median_turnaround_days``, ``p90_turnaround_days``
    the 0.5 and 0.9 quantiles of ``completed - received`` in days over the examinations
    completed in the period, by linear interpolation between order statistics (Hyndman and
    Fan type 7, numpy's default ``method="linear"``). Computed with numpy's own arithmetic
    (index ``h = (n - 1) q``, ``g = h - floor(h)``, ``a + (b - a) g`` if ``g < 0.5`` else
    ``b - (b - a)(1 - g)``), so the figures equal :func:`numpy.quantile` bit for bit. The
    order statistics ``a`` and ``b`` are read from each cell's histogram of turnarounds
    (whole days), so no per-cell list of values is ever held. Missing (``NaN``) where nothing
    was completed: never imputed, and counted in the report.
``outsourced_exams``
    outsourced examinations completed in the period.
``outsourced_spend_gbp``
    the sum of ``cost_gbp`` over those.

The panel has a row for every force present in the file and every period from the first
period with a received date to the last period with a received or completed date: an export
lists every examination, so a zero count is a fact about the unit, not a filled-in gap.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from evaluation.errors import ConfigError, DataError, Problem, check_option
from evaluation.machine import default_memory_limit
from evaluation.periods import FREQUENCIES, Frequency, format_period, parse_period
from evaluation.schema import resolve_force, suggest_force

__all__ = [
    "CASE_COLUMNS",
    "CASE_METRICS",
    "MAX_LISTED",
    "OUTSOURCED_FALSE",
    "OUTSOURCED_TRUE",
    "REQUIRED_CASE_COLUMNS",
    "CaseReport",
    "aggregate_cases",
]

#: Columns of a case-level export, in contract order.
CASE_COLUMNS: tuple[str, ...] = (
    "force",
    "received",
    "completed",
    "outsourced",
    "cost_gbp",
    "offence_type",
)
#: Columns that must be present (``offence_type`` is optional: the panel does not use it).
REQUIRED_CASE_COLUMNS: tuple[str, ...] = CASE_COLUMNS[:5]
#: Metric columns of the aggregated panel, in output order (after ``force`` and ``period``).
CASE_METRICS: tuple[str, ...] = (
    "devices_received",
    "devices_examined",
    "backlog",
    "median_turnaround_days",
    "p90_turnaround_days",
    "outsourced_exams",
    "outsourced_spend_gbp",
)
#: Accepted spellings of the ``outsourced`` flag (compared after trimming, case-insensitively).
OUTSOURCED_TRUE: tuple[str, ...] = ("yes", "y", "true", "1")
OUTSOURCED_FALSE: tuple[str, ...] = ("no", "n", "false", "0")
#: Default number of rows listed per validation rule (the total is always reported).
MAX_LISTED = 50

_DATE_FORMAT = "%Y-%m-%d"
_DATE_EXPECTED = "a date YYYY-MM-DD"
_FLAG_EXPECTED = "yes or no (also y/n, true/false, 1/0)"
_COST_EXPECTED = "a number of pounds >= 0, e.g. 350 or 350.50"
_COUNT_METRICS = ("devices_received", "devices_examined", "backlog", "outsourced_exams")


@dataclass(frozen=True)
class CaseReport:
    """What :func:`aggregate_cases` read and produced.

    Parameters
    ----------
    source
        The file read.
    freq
        The panel frequency.
    rows
        Data rows in the file (examinations).
    forces
        Canonical names of the forces in the panel.
    first_period, last_period
        The first and last period labels of the panel.
    completed, pending
        Examinations completed, and still pending (no completed date).
    periods_without_completions
        Force-periods with no completed examination, whose turnaround quantiles are missing.
    problems
        Non-blocking findings (``info``/``warning``): aliases read as canonical force names,
        missing quantiles, a last period cut short by the as-of date.
    column_map
        Contract column -> column name in the file.
    """

    source: str
    freq: Frequency
    rows: int
    forces: tuple[str, ...]
    first_period: str
    last_period: str
    completed: int
    pending: int
    periods_without_completions: int
    problems: tuple[Problem, ...] = ()
    column_map: Mapping[str, str] | None = None

    def summary(self) -> str:
        """Return a few lines describing the aggregation (for the command line)."""
        lines = [
            f"{self.source}: {self.rows:,} examinations ({self.completed:,} completed, "
            f"{self.pending:,} pending), {len(self.forces)} force(s), "
            f"{self.first_period} to {self.last_period} ({self.freq})",
        ]
        lines.extend(f"  {p.severity}: {p}" for p in self.problems)
        return "\n".join(lines)


# ----------------------------------------------------------------------------- file checks
def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _file_kind(path: Path, source: str) -> str:
    """Return ``"csv"`` or ``"parquet"``; raise :class:`DataError` for unusable files."""
    if not path.exists():
        raise DataError(
            f"{source}: file not found",
            [Problem("file not found", file=source, expected="an existing CSV or Parquet file")],
        )
    if not path.is_file():
        raise DataError(
            f"{source}: not a file",
            [Problem("not a file (a directory?)", file=source, expected="a CSV or Parquet file")],
        )
    with path.open("rb") as handle:
        head = handle.read(65536)
    if not head.strip():
        raise DataError(
            f"{source}: the file is empty",
            [Problem("the file is empty", file=source, expected="a header row and data rows")],
        )
    if head.startswith(b"PAR1"):
        return "parquet"
    if path.suffix.lower() in {".parquet", ".pq"}:
        raise DataError(
            f"{source}: not a Parquet file",
            [Problem("not a Parquet file", file=source, expected="a Parquet file (PAR1)")],
        )
    if b"\x00" in head:
        hint = " (it looks like an Excel workbook: save it as CSV)" if head[:2] == b"PK" else ""
        raise DataError(
            f"{source}: a binary file, not CSV text{hint}",
            [Problem(f"binary file{hint}", file=source, expected="CSV text or a Parquet file")],
        )
    return "csv"


def _scan(
    path: Path,
    kind: str,
    *,
    row_numbers: bool,
    rejects: bool = False,
    csv_types: Mapping[str, str] | None = None,
) -> str:
    """Return the SQL of the raw scan, with a spreadsheet row number ``_rn`` if asked.

    Row numbers (the header is row 1) serve only the listing of problems: CSV
    ``row_number() OVER ()`` over the scan in file order (the connection keeps
    ``preserve_insertion_order``; the window holds the whole scan, so it is never used on the
    fast path); Parquet: the reader's ``file_row_number``. ``csv_types`` (file column -> DuckDB
    type) has the CSV reader parse dates (``%Y-%m-%d``) and numbers itself, in parallel, and
    fail on the first value it cannot parse; without it every column is read as text.
    """
    lit = _sql_literal(str(path))
    if kind == "parquet":
        if not row_numbers:
            return f"SELECT * FROM read_parquet({lit})"
        return (
            f"SELECT file_row_number + 2 AS _rn, * FROM read_parquet({lit}, file_row_number=true)"
        )
    if csv_types is not None:
        struct = ", ".join(f"{_sql_literal(k)}: {_sql_literal(v)}" for k, v in csv_types.items())
        opts = f"header=true, types={{{struct}}}, dateformat={_sql_literal(_DATE_FORMAT)}"
    else:
        opts = "header=true, all_varchar=true"
    if rejects:
        opts += ", store_rejects=true"
    if not row_numbers:
        return f"SELECT * FROM read_csv({lit}, {opts})"
    return f"SELECT row_number() OVER () + 1 AS _rn, * FROM read_csv({lit}, {opts})"


# ----------------------------------------------------------------------------- columns
def _true_header(path: Path, kind: str, source: str) -> list[str]:
    """Return the header as written in the file (DuckDB renames duplicates to ``x_1``)."""
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            return [str(n) for n in pq.read_schema(path).names]
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise _read_error(exc, source) from None
    import csv

    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        line = handle.readline(1 << 20)
    try:
        return next(csv.reader([line]), [])
    except csv.Error:  # pragma: no cover - a single line always parses
        return []


def _check_header(header: Sequence[str], source: str) -> None:
    """Refuse duplicated column names, including ones differing only in case or spaces."""
    seen: dict[str, str] = {}
    problems: list[Problem] = []
    for name in header:
        key = name.strip().lower()
        if not key:
            continue
        if key in seen:
            problems.append(
                Problem(
                    f"duplicate column name (also {seen[key]!r}; names are compared ignoring "
                    "case and spaces)",
                    file=source,
                    row=1,
                    column=name,
                    value=name,
                    expected="unique column names",
                )
            )
        else:
            seen[key] = name
    if problems:
        raise DataError(f"{source}: duplicate column names in the header", problems)


def _resolve_columns(
    header: Sequence[str], columns: Mapping[str, str] | None, source: str
) -> dict[str, str]:
    """Return contract column -> file column; raise for missing or ambiguous columns."""
    columns = dict(columns or {})
    for old, new in columns.items():
        if new not in CASE_COLUMNS:
            raise ConfigError(
                f"column map {old}={new}: {new!r} is not a case column; "
                f"allowed: {', '.join(CASE_COLUMNS)}"
            )
    targets = list(columns.values())
    duplicated = sorted({t for t in targets if targets.count(t) > 1})
    if duplicated:
        raise ConfigError(f"column map gives more than one column for {duplicated}")
    problems: list[Problem] = []
    for old in columns:
        if old not in header:
            problems.append(
                Problem(
                    "mapped column not found in the header",
                    file=source,
                    row=1,
                    column=old,
                    expected=f"one of the columns {list(header)}",
                )
            )
    found: dict[str, str] = {}
    mapped_from = set(columns)
    for name in CASE_COLUMNS:
        explicit = [old for old, new in columns.items() if new == name]
        if explicit:
            if explicit[0] in header:
                found[name] = explicit[0]
            continue
        matches = [h for h in header if h not in mapped_from and h.strip().lower() == name.lower()]
        if len(matches) > 1:
            problems.append(
                Problem(
                    f"more than one column could be {name!r}: {matches}",
                    file=source,
                    row=1,
                    column=name,
                    expected="exactly one such column (or a --map entry)",
                )
            )
        elif matches:
            found[name] = matches[0]
        elif name in REQUIRED_CASE_COLUMNS:
            problems.append(
                Problem(
                    "required column missing",
                    file=source,
                    row=1,
                    column=name,
                    expected=f"a column {name!r} (found {list(header)}; use a column map "
                    "such as 'Date In=received' for other headers)",
                )
            )
    if problems:
        missing = [p.column for p in problems]
        raise DataError(f"{source}: columns missing or not recognised: {missing}", problems)
    return found


_NUMERIC_TYPES = frozenset(
    {"DOUBLE", "FLOAT", "REAL", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT",
     "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT"}
)  # fmt: skip


def _typed_view_sql(
    scan: str, cols: dict[str, str], types: Mapping[str, str], *, row_numbers: bool = True
) -> str:
    """Return SQL that parses the raw columns.

    For each column: ``<name>_given`` (a non-blank value is present), the typed value, and
    ``<name>_raw`` (the text, for messages; DuckDB computes it only where a query uses it).
    Columns already typed in a Parquet file (DATE, TIMESTAMP, BOOLEAN, numbers) are used as
    they are, without a round trip through text.
    """
    out = ["_rn"] if row_numbers else []
    for name in REQUIRED_CASE_COLUMNS:
        ident = _quote_ident(cols[name])
        kind = types[cols[name]].upper()
        is_text = kind == "VARCHAR"
        raw = f"nullif(trim(CAST({ident} AS VARCHAR)), '')"
        out.append(f"{raw} AS {name}_raw")
        if name == "force":  # as written: the streaming pass groups it, trimming each text once
            out.append(f"CAST({ident} AS VARCHAR) AS force_text")
        if name == "outsourced" and is_text:  # the usual spellings without trim and lower
            given = f"(CASE WHEN {ident} IN ('yes', 'no') THEN true ELSE {raw} IS NOT NULL END)"
        else:
            given = f"({raw if is_text else ident} IS NOT NULL)"
        out.append(f"{given} AS {name}_given")
        if name in ("received", "completed"):
            if kind == "DATE":
                value = ident
            elif kind.startswith("TIMESTAMP") and ("TIME ZONE" in kind or kind == "TIMESTAMPTZ"):
                # an instant: its date is the UK local date, whatever the machine's time zone
                value = f"CAST(timezone('Europe/London', {ident}) AS DATE)"
            elif kind.startswith("TIMESTAMP"):
                value = f"CAST({ident} AS DATE)"
            else:
                value = f"CAST(try_strptime({raw}, '{_DATE_FORMAT}') AS DATE)"
            out.append(f"{value} AS {name}")
        elif name == "outsourced":
            if kind == "BOOLEAN":
                value = ident
            else:
                yes = ", ".join(_sql_literal(v) for v in OUTSOURCED_TRUE)
                no = ", ".join(_sql_literal(v) for v in OUTSOURCED_FALSE)
                value = (
                    f"CASE {ident} WHEN 'yes' THEN true WHEN 'no' THEN false ELSE "
                    f"CASE WHEN lower({raw}) IN ({yes}) THEN true "
                    f"WHEN lower({raw}) IN ({no}) THEN false END END"
                )
            out.append(f"{value} AS outsourced")
        elif name == "cost_gbp":
            if kind in _NUMERIC_TYPES or kind.startswith("DECIMAL"):
                value = f"CAST({ident} AS DOUBLE)"
            else:
                value = f"try_cast({raw} AS DOUBLE)"
            out.append(f"{value} AS cost")
    return f"SELECT {', '.join(out)} FROM ({scan})"


# ----------------------------------------------------------------------------- validation
@dataclass(frozen=True)
class _Rule:
    key: str
    column: str
    condition: str
    value: str
    message: str
    expected: str


def _rules(as_of: date | None) -> list[_Rule]:
    rules = [
        _Rule(
            "received_missing",
            "received",
            "NOT received_given",
            "received_raw",
            "received date missing",
            _DATE_EXPECTED,
        ),
        _Rule(
            "received_bad",
            "received",
            "received_given AND received IS NULL",
            "received_raw",
            "not a date",
            _DATE_EXPECTED,
        ),
        _Rule(
            "completed_bad",
            "completed",
            "completed_given AND completed IS NULL",
            "completed_raw",
            "not a date",
            f"{_DATE_EXPECTED}, or blank while pending",
        ),
        _Rule(
            "completed_before_received",
            "completed",
            "completed < received",
            "completed_raw || ' (received ' || received_raw || ')'",
            "completed before received",
            "a completed date on or after the received date",
        ),
        _Rule(
            "outsourced_bad",
            "outsourced",
            "outsourced_given AND outsourced IS NULL",
            "outsourced_raw",
            "not a yes/no flag",
            _FLAG_EXPECTED,
        ),
        _Rule(
            "outsourced_missing",
            "outsourced",
            "NOT outsourced_given AND completed_given",
            "outsourced_raw",
            "outsourced flag missing for a completed examination",
            _FLAG_EXPECTED,
        ),
        _Rule(
            "cost_bad",
            "cost_gbp",
            "cost_gbp_given AND (cost IS NULL OR isnan(cost) OR isinf(cost))",
            "cost_gbp_raw",
            "not a number",
            _COST_EXPECTED,
        ),
        _Rule(
            "cost_negative",
            "cost_gbp",
            "cost < 0",
            "cost_gbp_raw",
            "negative cost",
            _COST_EXPECTED,
        ),
        _Rule(
            "cost_missing",
            "cost_gbp",
            "NOT cost_gbp_given AND completed_given",
            "cost_gbp_raw",
            "cost missing for a completed examination",
            f"{_COST_EXPECTED} (blank only while pending)",
        ),
    ]
    if as_of is not None:
        lit = f"DATE '{as_of.isoformat()}'"
        rules += [
            _Rule(
                "received_future",
                "received",
                f"received > {lit}",
                "received_raw",
                "received date after the as-of date",
                f"a date on or before {as_of.isoformat()}",
            ),
            _Rule(
                "completed_future",
                "completed",
                f"completed > {lit}",
                "completed_raw",
                "completed date after the as-of date",
                f"a date on or before {as_of.isoformat()}",
            ),
        ]
    return rules


def _capped(
    rule_message: str,
    column: str,
    expected: str,
    total: int,
    listed: Sequence[tuple[int, Any]],
    source: str,
) -> list[Problem]:
    problems = [
        Problem(
            rule_message,
            file=source,
            row=int(rn),
            column=column,
            value="" if value is None else str(value),
            expected=expected,
        )
        for rn, value in listed
    ]
    if total > len(listed):
        problems.append(
            Problem(
                f"{rule_message}: {total - len(listed):,} more row(s) not listed "
                f"({total:,} in all)",
                file=source,
                column=column,
                expected=expected,
            )
        )
    return problems


def _structural_problems(con: duckdb.DuckDBPyConnection, source: str, cap: int) -> list[Problem]:
    try:
        rows = con.execute(
            "SELECT line, string_agg(DISTINCT column_name, ', ' ORDER BY column_name), "
            "min(error_type), min(csv_line), min(error_message) FROM reject_errors "
            "GROUP BY line ORDER BY line"
        ).fetchall()
    except duckdb.CatalogException:  # no line was rejected
        return []
    problems = [
        Problem(
            f"unreadable CSV line ({str(kind).lower()}: {msg})",
            file=source,
            row=int(line),
            column=col,
            value=str(text),
            expected="one value per header column",
        )
        for line, col, kind, text, msg in rows[:cap]
    ]
    if len(rows) > cap:
        problems.append(
            Problem(
                f"{len(rows) - cap:,} more unreadable line(s) not listed ({len(rows):,} in all)",
                file=source,
            )
        )
    return problems


def _force_map(
    texts: Mapping[str | None, str | None], histogram: Mapping[str, int], source: str
) -> tuple[pa.Table, list[str], list[Problem]]:
    """Map each distinct force text to its canonical name; list unknowns and aliases.

    ``texts`` maps each text as written to its trimmed form (None when blank), ``histogram``
    counts the rows of each trimmed form. The table has columns ``text``, ``raw`` (trimmed)
    and ``canonical`` (None for unknown forces).
    """
    raws = sorted(histogram)
    canonical = [resolve_force(r) for r in raws]
    resolved = dict(zip(raws, canonical, strict=True))
    unknown = [r for r, c in zip(raws, canonical, strict=True) if c is None]
    infos = [
        Problem(
            f"force {r!r} read as {c!r} ({histogram[r]:,} row(s))",
            file=source,
            column="force",
            severity="info",
        )
        for r, c in zip(raws, canonical, strict=True)
        if c is not None and c != r
    ]
    written = list(texts)
    table = pa.table(
        {
            "text": pa.array(written, pa.string()),
            "raw": pa.array([texts[t] for t in written], pa.string()),
            "canonical": pa.array(
                [resolved.get(texts[t]) if texts[t] is not None else None for t in written],
                pa.string(),
            ),
        }
    )
    return table, unknown, infos


def _one_row(con: duckdb.DuckDBPyConnection, sql: str, source: str) -> dict[str, Any]:
    """Run an aggregate query and return its single row as a dict."""
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        fetched = cur.fetchall()
    except _READ_ERRORS as exc:
        raise _read_error(exc, source) from None
    if not fetched:  # pragma: no cover - an aggregate always returns one row
        raise RuntimeError("aggregate query returned no row")
    return dict(zip(names, fetched[0], strict=True))


def _with_suggestion(problem: Problem) -> Problem:
    """Add the nearest force name to an unknown-force problem."""
    if problem.row is None or problem.value is None:
        return problem
    hint = suggest_force(problem.value)
    if not hint:
        return problem
    return replace(problem, expected=f"{problem.expected} (did you mean {hint!r}?)")


def _as_date(value: date | str | None, name: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name} must be a date YYYY-MM-DD; got {value!r}") from None


def _period_sql(column: str, freq: Frequency) -> str:
    """Return SQL for the period ordinal of a date column (consecutive integers per period)."""
    if freq == "month":
        return f"(year({column}) * 12 + month({column}) - 1)"
    if freq == "quarter":
        return f"(year({column}) * 4 + quarter({column}) - 1)"
    return f"(year({column}) - CASE WHEN month({column}) < 4 THEN 1 ELSE 0 END)"


def _ordinal_start(ordinal: int, freq: Frequency) -> date:
    if freq == "month":
        return date(ordinal // 12, ordinal % 12 + 1, 1)
    if freq == "quarter":
        return date(ordinal // 4, 3 * (ordinal % 4) + 1, 1)
    return date(ordinal, 4, 1)


def _ordinal_of(d: date, freq: Frequency) -> int:
    if freq == "month":
        return d.year * 12 + d.month - 1
    if freq == "quarter":
        return d.year * 4 + (d.month - 1) // 3
    return d.year - (1 if d.month < 4 else 0)


def _label(ordinal: int, freq: Frequency) -> str:
    start = _ordinal_start(ordinal, freq)
    return format_period(pd.Timestamp(start).to_period({"month": "M", "quarter": "Q-DEC",
                                                        "fy": "Y-MAR"}[freq]))  # fmt: skip


def _bound_ordinal(label: str | None, freq: Frequency, name: str) -> int | None:
    if label is None:
        return None
    try:
        period = parse_period(label, freq)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    return _ordinal_of(period.start_time.date(), freq)


# The numpy 'linear' quantile step, in numpy's own floating-point operations (module docstring)
_MACROS = """
CREATE OR REPLACE TEMP MACRO _np_lerp(a, b, g) AS
    CASE WHEN g >= 0.5 THEN b - (b - a) * (1.0 - g) ELSE a + (b - a) * g END;
"""


def _connect(memory_limit: str | None, threads: int | None, tmp: str) -> duckdb.DuckDBPyConnection:
    config: dict[str, Any] = {
        "preserve_insertion_order": False,  # switched on only to number rows of problems
        "temp_directory": tmp,
        "memory_limit": default_memory_limit() if memory_limit is None else str(memory_limit),
    }
    if threads is not None:
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
            raise ConfigError(f"threads must be a whole number >= 1; got {threads!r}")
        config["threads"] = threads
    try:
        con = duckdb.connect(":memory:", config=config)
    except (duckdb.InvalidInputException, duckdb.Error) as exc:
        raise ConfigError(f"invalid DuckDB setting: {exc}") from None
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'Europe/London'")
    return con


#: A progress callback: called with the fraction of the file read so far (0 to 1).
Progress = Callable[[float], None]


def _execute(con: duckdb.DuckDBPyConnection, sql: str, progress: Progress | None) -> None:
    """Run ``sql``; with ``progress``, report DuckDB's query progress about 5 times a second.

    The query runs in a worker thread (DuckDB releases the GIL) while this thread polls
    ``query_progress``; errors are raised here as if the query had run in this thread.
    """
    if progress is None:
        con.execute(sql)
        return
    failure: list[BaseException] = []

    def work() -> None:
        try:
            con.execute(sql)
        except BaseException as exc:  # handed to the calling thread below
            failure.append(exc)

    worker = threading.Thread(target=work, name="pathfinder-duckdb", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
            done = con.query_progress()
            if done >= 0 and worker.is_alive():
                progress(min(done, 100.0) / 100.0)
    except BaseException:  # e.g. Ctrl-C: stop the query before leaving
        con.interrupt()
        worker.join()
        raise
    if failure:
        raise failure[0]
    progress(1.0)


# DuckDB errors that mean "this file cannot be read as a table" (others are internal errors)
_READ_ERRORS = (
    duckdb.IOException,
    duckdb.InvalidInputException,
    duckdb.ConversionException,
    duckdb.SerializationException,
)


def _read_error(exc: Exception, source: str) -> DataError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return DataError(
        f"{source}: the file could not be read: {text}",
        [
            Problem(
                f"unreadable file: {text}", file=source, expected="a CSV (UTF-8) or Parquet file"
            )
        ],
    )


# ----------------------------------------------------------------------------- public API
def aggregate_cases(
    path: str | os.PathLike[str],
    *,
    freq: Frequency = "month",
    columns: Mapping[str, str] | None = None,
    start: str | None = None,
    end: str | None = None,
    as_of: date | str | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    spill_dir: str | os.PathLike[str] | None = None,
    max_listed: int = MAX_LISTED,
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, CaseReport]:
    r"""Validate a case-level export and aggregate it to the force panel, in DuckDB.

    Parameters
    ----------
    path
        A CSV (UTF-8, header row) or Parquet file, one row per device examination.
    freq
        Panel frequency: ``"month"``, ``"quarter"`` or ``"fy"`` (UK financial year).
    columns
        Column map, header in the file -> contract column (e.g. ``{"Date In": "received"}``).
        Unmapped contract columns are matched by name, ignoring case and surrounding spaces.
    start, end
        Period labels of ``freq`` limiting the panel's periods (inclusive). Backlogs still
        count every examination received before ``start``.
    as_of
        The date the export was taken: a received or completed date after it is an error.
    memory_limit
        DuckDB memory limit such as ``"2GB"``; DuckDB spills to ``spill_dir`` beyond it.
        Default: :func:`evaluation.machine.default_memory_limit`, a quarter of the memory
        available now, between 256 MiB and 1 GiB.
    threads
        DuckDB worker threads (default: all cores).
    spill_dir
        Folder in which DuckDB's spill files go (in a temporary subfolder removed afterwards);
        default: the system's temporary folder.
    max_listed
        Rows listed per validation rule; the total count is always given.
    progress
        Called with the fraction of the file read (0 to 1) a few times a second during the
        long pass over the file, and with 1.0 when it ends.

    Returns
    -------
    panel : pandas.DataFrame
        Columns ``force``, ``period`` and :data:`CASE_METRICS`, sorted by force and period.
    report : CaseReport
        Counts and non-blocking findings.

    Raises
    ------
    DataError
        A missing, empty or binary file; missing columns; any row breaking a rule (all rules
        are checked in one pass and every problem is reported, up to ``max_listed`` rows per
        rule with the total): unreadable CSV lines, blank or unparseable dates, completed
        before received, unknown forces (with the nearest name), bad outsourced flags,
        missing, non-numeric or negative costs, dates after ``as_of``.
    ConfigError
        Bad options.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "c.csv").write_text(
    ...     "force,received,completed,outsourced,cost_gbp\n"
    ...     "Met,2022-04-03,2022-04-20,no,300\n"
    ...     "Met,2022-04-10,,,\n")
    >>> panel, report = aggregate_cases(d / "c.csv", freq="month")
    >>> panel[["period", "devices_received", "devices_examined", "backlog"]].values.tolist()
    [['2022-04', 2, 1, 1]]
    >>> report.pending
    1
    """
    check_option("freq", freq, FREQUENCIES)
    if not isinstance(max_listed, int) or max_listed < 1:
        raise ConfigError(f"max_listed must be a whole number >= 1; got {max_listed!r}")
    as_of_date = _as_date(as_of, "as_of")
    lo_bound = _bound_ordinal(start, freq, "start")
    hi_bound = _bound_ordinal(end, freq, "end")
    if lo_bound is not None and hi_bound is not None and lo_bound > hi_bound:
        raise ConfigError(f"start {start!r} is after end {end!r}")
    file = Path(os.fspath(path))
    source = os.fspath(path)
    kind = _file_kind(file, source)
    if spill_dir is not None and not Path(os.fspath(spill_dir)).is_dir():
        raise ConfigError(f"spill_dir {os.fspath(spill_dir)!r} is not an existing folder")
    spill_parent = None if spill_dir is None else os.fspath(spill_dir)
    with tempfile.TemporaryDirectory(prefix="pathfinder-duckdb-", dir=spill_parent) as tmp:
        con = _connect(memory_limit, threads, tmp)
        try:
            return _aggregate(
                con,
                file,
                kind,
                source,
                freq=freq,
                columns=columns,
                lo_bound=lo_bound,
                hi_bound=hi_bound,
                as_of=as_of_date,
                cap=max_listed,
                progress=progress,
            )
        except duckdb.OutOfMemoryException as exc:
            limit = f" of {memory_limit}" if memory_limit else ""
            raise ConfigError(
                f"{source}: DuckDB ran out of memory (memory limit{limit}); raise the limit "
                f"with --memory-limit (e.g. 2GB): {str(exc).splitlines()[0]}"
            ) from None
        except _READ_ERRORS as exc:  # a file damaged past its start fails only when scanned
            raise _read_error(exc, source) from None
        finally:
            con.close()


def _aggregate(
    con: duckdb.DuckDBPyConnection,
    file: Path,
    kind: str,
    source: str,
    *,
    freq: Frequency,
    columns: Mapping[str, str] | None,
    lo_bound: int | None,
    hi_bound: int | None,
    as_of: date | None,
    cap: int,
    progress: Progress | None,
) -> tuple[pd.DataFrame, CaseReport]:
    # 1. header and column types (reads only the start of the file)
    text_scan = _scan(file, kind, row_numbers=False, rejects=kind == "csv")
    try:
        described = con.execute(f"DESCRIBE {text_scan}").fetchall()
    except _READ_ERRORS as exc:
        raise _read_error(exc, source) from None
    types = {str(name): str(kind_) for name, kind_, *_ in described}
    _check_header(_true_header(file, kind, source), source)
    cols = _resolve_columns(list(types), columns, source)
    con.execute(_MACROS)
    rules = _rules(as_of)

    # 2. one streaming pass: rule violations counted, receipts and completions grouped
    stats = None
    if kind == "csv":  # the CSV reader parses dates and costs itself, in parallel
        stats = _typed_csv_pass(con, file, types, cols, rules, freq, progress)
    if stats is None:  # Parquet, or a CSV the typed reader refused: parse the text in SQL
        scan = _scan(file, kind, row_numbers=False, rejects=kind == "csv")
        view = _typed_view_sql(scan, cols, types, row_numbers=False)
        try:
            stats = _streaming_pass(con, view, rules, freq, progress)
        except _READ_ERRORS as exc:
            raise _read_error(exc, source) from None
        if kind == "csv":
            structural = _structural_problems(con, source, cap)
            if structural:
                raise DataError(
                    f"{source}: {len(structural)} line(s) could not be read as CSV rows; fix "
                    "these first (the other checks run once every line has one value per "
                    "column)",
                    structural,
                )
    if stats["n_rows"] == 0:
        raise DataError(
            f"{source}: no data rows (only a header)",
            [Problem("no data rows", file=source, expected="one row per device examination")],
        )

    histogram = stats["forces"]
    force_table, unknown, infos = _force_map(stats["texts"], histogram, source)
    con.register("force_map", force_table)
    if stats["n_bad"] or unknown or stats["n_force_missing"]:
        # error path only: a second pass numbers the rows and lists each failing rule's first
        # `cap` rows with their text as written
        _raise_row_problems(con, file, kind, source, cols, types, rules, cap)

    # 3. the panel, from the grouped counts (a few thousand cells)
    panel, n_empty = _panel(con, freq, lo_bound, hi_bound)
    if panel.empty:
        raise ConfigError(
            f"no periods of the data fall between start {lo_bound and _label(lo_bound, freq)!r} "
            f"and end {hi_bound and _label(hi_bound, freq)!r}"
        )
    infos = list(infos)
    if n_empty:
        infos.append(
            Problem(
                f"{n_empty} force-period(s) had no completed examination: their turnaround "
                "median and p90 are left missing (not imputed)",
                file=source,
                column="median_turnaround_days",
                severity="info",
            )
        )
    if as_of is not None and panel["period"].iloc[-1] == _label(_ordinal_of(as_of, freq), freq):
        end_day = _ordinal_start(_ordinal_of(as_of, freq) + 1, freq)
        if as_of.toordinal() + 1 < end_day.toordinal():
            infos.append(
                Problem(
                    f"the last period {panel['period'].iloc[-1]} ends after the as-of date "
                    f"{as_of.isoformat()}: its counts cover part of the period only",
                    file=source,
                    severity="warning",
                )
            )
    report = CaseReport(
        source=source,
        freq=freq,
        rows=int(stats["n_rows"]),
        forces=tuple(sorted(panel["force"].unique().tolist())),
        first_period=str(panel["period"].iloc[0]) if len(panel) else "",
        last_period=str(panel["period"].max()),
        completed=int(stats["n_completed"]),
        pending=int(stats["n_rows"]) - int(stats["n_completed"]),
        periods_without_completions=n_empty,
        problems=tuple(infos),
        column_map=dict(cols),
    )
    return panel, report


def _typed_csv_pass(
    con: duckdb.DuckDBPyConnection,
    file: Path,
    text_types: Mapping[str, str],
    cols: Mapping[str, str],
    rules: Sequence[_Rule],
    freq: Frequency,
    progress: Progress | None,
) -> dict[str, Any] | None:
    """Run the streaming pass with typed dates and costs from the CSV reader (None: refused).

    The reader parses ``received`` and ``completed`` as ``%Y-%m-%d`` dates and ``cost_gbp`` as
    a number, and stops at the first value it cannot parse. It never accepts a value that the
    text path (``try_strptime`` / ``try_cast`` after trimming) rejects, and gives the same
    value for those both accept (pinned by a test), so a refusal (a bad value, a ragged line,
    bytes that are not UTF-8, or a blank written as spaces) only sends the file down the text
    path, which reports or accepts it exactly as before.
    """
    typed = {name: "VARCHAR" for name in text_types}
    typed[cols["received"]] = typed[cols["completed"]] = "DATE"
    typed[cols["cost_gbp"]] = "DOUBLE"
    scan = _scan(file, "csv", row_numbers=False, csv_types=typed)
    try:
        described = con.execute(f"DESCRIBE {scan}").fetchall()
        if [str(d[0]) for d in described] != list(text_types):
            return None  # the typed sniff read another dialect: keep to the text path
        view = _typed_view_sql(scan, dict(cols), typed, row_numbers=False)
        return _streaming_pass(con, view, rules, freq, progress)
    except duckdb.InterruptException:
        raise
    except duckdb.Error:  # any refusal: the text path reads the file or says what is wrong
        con.execute("DROP TABLE IF EXISTS agg")
        return None


def _streaming_pass(
    con: duckdb.DuckDBPyConnection,
    view: str,
    rules: Sequence[_Rule],
    freq: Frequency,
    progress: Progress | None,
) -> dict[str, Any]:
    """Group the file once into the temporary table ``agg``; return the counts.

    Two grouping sets in one scan: receipts by (force text, received period), and completions
    by (force text, completed period, turnaround in days) with the outsourced count and spend.
    The second is a histogram of turnarounds per cell, from which the exact quantiles are read
    (:func:`_panel`): the memory it takes grows with the number of distinct (force, period,
    days) triples, not with the number of rows, and DuckDB spills it to disk beyond its memory
    limit. Rows breaking any rule have no received period (``pr`` NULL), which counts them.
    """
    bad = " OR ".join(f"({r.condition})" for r in rules)
    pr, pc = _period_sql("received", freq), _period_sql("completed", freq)
    sql = f"""
    CREATE OR REPLACE TEMP TABLE agg AS
    SELECT grouping(pr) AS g, force_text, pr, pc, days,
           count(*) AS n,
           count(*) FILTER (WHERE outsourced) AS n_out,
           sum(cost) FILTER (WHERE outsourced) AS spend
    FROM (
        SELECT force_text,
               CASE WHEN {bad} THEN NULL ELSE {pr} END AS pr,  -- NULL: a row breaking a rule
               {pc} AS pc,
               CAST(completed - received AS INTEGER) AS days,
               outsourced AND completed IS NOT NULL AS outsourced, cost
        FROM ({view})
    )
    GROUP BY GROUPING SETS ((force_text, pr), (force_text, pc, days))
    """
    _execute(con, sql, progress)
    totals = con.execute(
        "SELECT coalesce(sum(n) FILTER (WHERE g = 0), 0), "
        "coalesce(sum(n) FILTER (WHERE g = 1 AND pc IS NOT NULL), 0), "
        "coalesce(sum(n) FILTER (WHERE g = 0 AND pr IS NULL), 0) FROM agg"
    ).fetchone()
    assert totals is not None
    forces = con.execute(
        "SELECT force_text, nullif(trim(force_text), ''), sum(n) FROM agg WHERE g = 0 "
        "GROUP BY force_text"
    ).fetchall()
    histogram: dict[str, int] = {}
    for _, raw, n in forces:
        if raw is not None:
            histogram[raw] = histogram.get(raw, 0) + int(n)
    return {
        "n_rows": int(totals[0]),
        "n_completed": int(totals[1]),
        "n_bad": int(totals[2]),
        "forces": histogram,
        "texts": {text: raw for text, raw, _ in forces},
        "n_force_missing": sum(int(n) for _, raw, n in forces if raw is None),
    }


def _raise_row_problems(
    con: duckdb.DuckDBPyConnection,
    file: Path,
    kind: str,
    source: str,
    cols: Mapping[str, str],
    types: Mapping[str, str],
    rules: Sequence[_Rule],
    cap: int,
) -> None:
    """List the first ``cap`` numbered rows of every failing rule and raise a DataError."""
    con.execute("SET preserve_insertion_order = true")
    scan = _scan(file, kind, row_numbers=True, rejects=kind == "csv")
    con.execute(f"CREATE TEMP VIEW numbered AS {_typed_view_sql(scan, dict(cols), types)}")
    checks = [
        *rules,
        _Rule("force_missing", "force", "force_raw IS NULL", "NULL", "force missing",
              "a force name"),
        _Rule(
            "force_unknown",
            "force",
            "force_raw IN (SELECT raw FROM force_map WHERE canonical IS NULL "
            "AND raw IS NOT NULL)",
            "force_raw",
            "unknown force",
            "a territorial force of England and Wales",
        ),
    ]  # fmt: skip
    parts = [f"count(*) FILTER (WHERE {r.condition}) AS n_{r.key}" for r in checks]
    parts += [
        f"min_by({{'rn': _rn, 'v': {r.value}}}, _rn, {cap}) FILTER (WHERE {r.condition}) "
        f"AS ex_{r.key}"
        for r in checks
    ]
    listing = _one_row(con, f"SELECT {', '.join(parts)} FROM numbered", source)
    problems: list[Problem] = []
    counts: list[tuple[str, int]] = []
    for r in checks:
        total = int(listing[f"n_{r.key}"])
        if not total:
            continue
        listed = [(e["rn"], e["v"]) for e in listing[f"ex_{r.key}"] or []]
        found = _capped(r.message, cols[r.column], r.expected, total, listed, source)
        if r.key == "force_unknown":
            found = [_with_suggestion(p) for p in found]
        problems += found
        counts.append((f"{r.message} ({cols[r.column]})", total))
    if not problems:  # pragma: no cover - the streaming pass counted at least one
        raise RuntimeError("rows were counted as failing but none was found")
    summary = "; ".join(f"{msg}: {n:,}" for msg, n in counts)
    n_rows = _one_row(con, "SELECT count(*) AS n FROM numbered", source)["n"]
    raise DataError(
        f"{source}: {sum(n for _, n in counts):,} problem(s) in a file of "
        f"{n_rows:,} data rows ({summary})",
        problems,
    )


def _panel(
    con: duckdb.DuckDBPyConnection, freq: Frequency, lo_bound: int | None, hi_bound: int | None
) -> tuple[pd.DataFrame, int]:
    """Build the panel from ``agg`` and the force map.

    The quantiles come from each cell's turnaround histogram: with ``hi`` the running count
    up to and including a value, the order statistic ``x[k]`` (0-based) is the smallest value
    with ``hi > k``; numpy's ``h = (n - 1) q`` and interpolation step (``_np_lerp``) follow.
    """
    keep = []
    if lo_bound is not None:
        keep.append(f"p >= {int(lo_bound)}")
    if hi_bound is not None:
        keep.append(f"p <= {int(hi_bound)}")
    where = f"WHERE {' AND '.join(keep)}" if keep else ""
    sql = f"""
    WITH recv AS (
        SELECT m.canonical AS force, a.pr AS p, sum(a.n) AS n
        FROM agg a JOIN force_map m ON a.force_text = m.text
        WHERE a.g = 0 GROUP BY ALL
    ),
    hist AS (
        SELECT m.canonical AS force, a.pc AS p, a.days, sum(a.n) AS n,
               sum(a.n_out) AS n_out, sum(a.spend) AS spend
        FROM agg a JOIN force_map m ON a.force_text = m.text
        WHERE a.g = 1 AND a.pc IS NOT NULL GROUP BY ALL
    ),
    cum AS (
        SELECT *,
               sum(n) OVER (PARTITION BY force, p ORDER BY days
                            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS hi,
               sum(n) OVER (PARTITION BY force, p) AS total
        FROM hist
    ),
    pos AS (
        SELECT *, CAST(total - 1 AS DOUBLE) * CAST(0.5 AS DOUBLE) AS h5,
                  CAST(total - 1 AS DOUBLE) * CAST(0.9 AS DOUBLE) AS h9
        FROM cum
    ),
    done AS (
        SELECT force, p, any_value(total) AS n, sum(n_out) AS n_out, sum(spend) AS spend,
               any_value(h5) AS h5, any_value(h9) AS h9,
               min(days) FILTER (WHERE hi > floor(h5)) AS a5,
               min(days) FILTER (WHERE hi > least(floor(h5) + 1, total - 1)) AS b5,
               min(days) FILTER (WHERE hi > floor(h9)) AS a9,
               min(days) FILTER (WHERE hi > least(floor(h9) + 1, total - 1)) AS b9
        FROM pos GROUP BY force, p
    ),
    bounds AS (
        SELECT min(p) AS lo, max(p) AS hi
        FROM (SELECT p FROM recv UNION ALL SELECT p FROM done)
    ),
    grid AS (
        SELECT f.force, r.p
        FROM (SELECT DISTINCT force FROM recv) f,
             (SELECT unnest(range(lo, hi + 1)) AS p FROM bounds) r
    ),
    full_panel AS (
        SELECT g.force, g.p,
               coalesce(recv.n, 0) AS devices_received,
               coalesce(done.n, 0) AS devices_examined,
               sum(coalesce(recv.n, 0) - coalesce(done.n, 0))
                   OVER (PARTITION BY g.force ORDER BY g.p ROWS UNBOUNDED PRECEDING)
                   AS backlog,
               _np_lerp(CAST(done.a5 AS DOUBLE), CAST(done.b5 AS DOUBLE),
                        done.h5 - floor(done.h5)) AS median_turnaround_days,
               _np_lerp(CAST(done.a9 AS DOUBLE), CAST(done.b9 AS DOUBLE),
                        done.h9 - floor(done.h9)) AS p90_turnaround_days,
               coalesce(done.n_out, 0) AS outsourced_exams,
               coalesce(done.spend, 0.0) AS outsourced_spend_gbp
        FROM grid g
        LEFT JOIN recv ON recv.force = g.force AND recv.p = g.p
        LEFT JOIN done ON done.force = g.force AND done.p = g.p
    )
    SELECT * FROM full_panel {where} ORDER BY force, p
    """
    frame = con.execute(sql).df()
    ordinals = sorted(set(frame["p"].astype("int64").tolist()))
    labels = {o: _label(o, freq) for o in ordinals}
    panel = pd.DataFrame(
        {
            "force": frame["force"].astype(str),
            "period": frame["p"].map(labels).astype(str),
        }
    )
    for name in CASE_METRICS:
        if name in _COUNT_METRICS:
            panel[name] = frame[name].astype("int64")
        else:
            panel[name] = frame[name].astype("float64")
    panel = panel.reset_index(drop=True)
    n_empty = int(panel["median_turnaround_days"].isna().sum())
    return panel, n_empty


# ----------------------------------------------------------------------------- pandas baseline
def __getattr__(name: str) -> Any:
    """Keep ``aggregate_cases_pandas`` importable from here (it lives in ``cases_pandas``)."""
    if name == "aggregate_cases_pandas":
        from evaluation.cases_pandas import aggregate_cases_pandas

        return aggregate_cases_pandas
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
