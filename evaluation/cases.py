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
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from evaluation._cases_checks import (
    CASE_COLUMNS,
    OUTSOURCED_FALSE,
    OUTSOURCED_TRUE,
    READ_ERRORS,
    REQUIRED_CASE_COLUMNS,
    _as_date,
    _capped,
    _check_header,
    _file_kind,
    _force_map,
    _one_row,
    _read_error,
    _resolve_columns,
    _Rule,
    _rules,
    _scan,
    _structural_problems,
    _true_header,
    _typed_view_sql,
    _with_suggestion,
)
from evaluation.errors import ConfigError, DataError, Problem, check_option
from evaluation.machine import default_memory_limit
from evaluation.periods import FREQUENCIES, Frequency, format_period, parse_period

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
#: Default number of rows listed per validation rule (the total is always reported).
MAX_LISTED = 50
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
        except READ_ERRORS as exc:  # a file damaged past its start fails only when scanned
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
    except READ_ERRORS as exc:
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
        except READ_ERRORS as exc:
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

    The histogram groups are keyed by a 64-bit hash of the force text (``fk``), much cheaper
    to group by than text; the text itself keys the receipts, so every text's hash is known
    and checked: should two texts share a hash, the pass is run again keyed by the text.
    """
    stats = _grouping_pass(con, view, rules, freq, progress, _FORCE_KEY)
    if stats is None:  # two force texts with one hash: key by the text itself
        stats = _grouping_pass(con, view, rules, freq, progress, "force_text")
        assert stats is not None
    return stats


#: SQL of the histogram groups' force key (a hash of the force text as written).
_FORCE_KEY = "hash(force_text)"


def _grouping_pass(
    con: duckdb.DuckDBPyConnection,
    view: str,
    rules: Sequence[_Rule],
    freq: Frequency,
    progress: Progress | None,
    key: str,
) -> dict[str, Any] | None:
    """Run the grouping of :func:`_streaming_pass` with force key ``key``; None on collision."""
    bad = " OR ".join(f"({r.condition})" for r in rules)
    pr, pc = _period_sql("received", freq), _period_sql("completed", freq)
    sql = f"""
    CREATE OR REPLACE TEMP TABLE agg AS
    SELECT grouping(pr) AS g, force_text, fk, pr, pc, days,
           count(*) AS n,
           count(*) FILTER (WHERE outsourced) AS n_out,
           sum(cost) FILTER (WHERE outsourced) AS spend
    FROM (
        SELECT force_text, {key} AS fk,
               CASE WHEN {bad} THEN NULL ELSE {pr} END AS pr,  -- NULL: a row breaking a rule
               {pc} AS pc,
               CAST(completed - received AS INTEGER) AS days,
               outsourced AND completed IS NOT NULL AS outsourced, cost
        FROM ({view})
    )
    GROUP BY GROUPING SETS ((force_text, pr), (fk, pc, days))
    """
    _execute(con, sql, progress)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE force_keys AS "
        f"SELECT DISTINCT force_text AS text, {key} AS fk FROM agg WHERE g = 0"
    )
    distinct = con.execute(
        "SELECT count(DISTINCT text), count(DISTINCT fk) FROM force_keys"
    ).fetchone()
    if distinct is None or distinct[0] != distinct[1]:
        return None
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
        FROM agg a JOIN force_keys k ON a.fk = k.fk JOIN force_map m ON k.text = m.text
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
