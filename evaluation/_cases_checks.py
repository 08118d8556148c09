"""File, column and row checks of case-level exports (used by :mod:`evaluation.cases`).

The contract's column names and accepted spellings, the checks of the file and its header,
the SQL that reads and parses the raw columns, the validation rules (each a SQL condition over
the parsed columns) and the located problems built from them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from evaluation.errors import ConfigError, DataError, Problem
from evaluation.schema import resolve_force, suggest_force

__all__ = [
    "CASE_COLUMNS",
    "OUTSOURCED_FALSE",
    "OUTSOURCED_TRUE",
    "READ_ERRORS",
    "REQUIRED_CASE_COLUMNS",
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
#: Accepted spellings of the ``outsourced`` flag (compared after trimming, case-insensitively).
OUTSOURCED_TRUE: tuple[str, ...] = ("yes", "y", "true", "1")
OUTSOURCED_FALSE: tuple[str, ...] = ("no", "n", "false", "0")

_DATE_FORMAT = "%Y-%m-%d"
_DATE_EXPECTED = "a date YYYY-MM-DD"
_FLAG_EXPECTED = "yes or no (also y/n, true/false, 1/0)"
_COST_EXPECTED = "a number of pounds >= 0, e.g. 350 or 350.50"


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
                [_resolved_text(resolved, texts[t]) for t in written],
                pa.string(),
            ),
        }
    )
    return table, unknown, infos


def _resolved_text(resolved: Mapping[str, str | None], raw: str | None) -> str | None:
    return None if raw is None else resolved.get(raw)


def _one_row(con: duckdb.DuckDBPyConnection, sql: str, source: str) -> dict[str, Any]:
    """Run an aggregate query and return its single row as a dict."""
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        fetched = cur.fetchall()
    except READ_ERRORS as exc:
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


# DuckDB errors that mean "this file cannot be read as a table" (others are internal errors)
READ_ERRORS = (
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
