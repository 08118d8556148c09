"""Load input files as typed, validated frames (the public entry points of ingestion).

Each loader reads a file (:func:`evaluation.readers.read_table`), validates it
(:mod:`evaluation.validation`) and returns the typed frame, or raises
:class:`~evaluation.errors.DataError` listing every problem, each with file, row, column, value
and what was expected.

Examples
--------
>>> panel = load_panel(bundled_data_dir() / "sample" / "panel.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from evaluation.errors import ConfigError, DataError, Problem, UserError, check_option
from evaluation.periods import Frequency
from evaluation.readers import DEFAULT_MAX_BYTES, RawTable, read_table
from evaluation.schema import (
    AMOUNT_GBP,
    CATEGORY,
    GO_LIVE,
    PERIOD,
    PRICE_BASIS,
    TABLE_KINDS,
    WAVE,
    Metric,
    TableKind,
)
from evaluation.validation import (
    DuplicatePolicy,
    ValidationReport,
    prepare_ledger,
    prepare_panel,
    prepare_register,
)

__all__ = [
    "CheckedTable",
    "bundled_data_dir",
    "check_table",
    "detect_kind",
    "load_all",
    "load_ledger",
    "load_panel",
    "load_register",
]

# Column that marks each table kind (after header normalisation).
_MARKERS: dict[TableKind, tuple[str, ...]] = {
    "panel": (PERIOD,),
    "register": (GO_LIVE, WAVE),
    "ledger": (AMOUNT_GBP, CATEGORY, PRICE_BASIS),
}


def bundled_data_dir() -> Path:
    """Return the repository's ``data`` directory (bundled sample data), found from this file.

    Examples
    --------
    >>> bundled_data_dir().name
    'data'
    """
    return Path(__file__).resolve().parent.parent / "data"


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def detect_kind(columns: Iterable[str]) -> tuple[TableKind | None, str]:
    """Guess the table kind from its column names; return ``(kind, reason)``.

    ``kind`` is ``None`` when no kind, or more than one, fits; ``reason`` says why.

    Examples
    --------
    >>> detect_kind(["force", "period", "backlog"])
    ('panel', "column 'period' found")
    >>> detect_kind(["force", "wave", "go_live"])[0]
    'register'
    >>> detect_kind(["force", "notes"])[0] is None
    True
    """
    keys = {_key(c) for c in columns}
    hits = {kind: [m for m in marks if m in keys] for kind, marks in _MARKERS.items()}
    found = [k for k, m in hits.items() if m]
    if len(found) == 1:
        kind = found[0]
        cols = ", ".join(repr(m) for m in hits[kind])
        return kind, f"column{'s' if len(hits[kind]) > 1 else ''} {cols} found"
    if not found:
        return None, (
            "no column marks it as a panel ('period'), register ('go_live', 'wave') or "
            "ledger ('amount_gbp', 'category', 'price_basis')"
        )
    return None, "its columns fit more than one kind: " + ", ".join(found)


@dataclass(frozen=True)
class CheckedTable:
    """A file read and validated: the typed frame (usable when ``report.ok``) and the report."""

    kind: TableKind
    frame: pd.DataFrame
    report: ValidationReport
    raw: RawTable
    kind_reason: str = "given"


def check_table(
    path: str | Path,
    *,
    kind: TableKind | None = None,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
    metrics: Mapping[str, Metric] | str | Path | None = None,
    frequency: Frequency | None = None,
    allow_negative: Iterable[str] = (),
    drop_duplicates: DuplicatePolicy = "error",
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> CheckedTable:
    """Read and validate a file of any kind without raising for contract problems.

    The kind is detected from the columns when not given. Unreadable files (empty, binary,
    corrupt, too large ...) still raise :class:`DataError`; a kind that cannot be detected
    raises :class:`DataError` naming the columns found.
    """
    check_option("kind", kind, (None, *TABLE_KINDS))
    raw = read_table(path, sheet=sheet, columns=columns, max_bytes=max_bytes)
    reason = "given"
    if kind is None:
        kind, reason = detect_kind(raw.frame.columns)
        if kind is None:
            found = ", ".join(repr(str(c)) for c in raw.frame.columns)
            raise DataError(
                f"cannot tell which table {raw.source} is: {reason}; pass --kind",
                [
                    Problem(
                        f"cannot tell the table kind: {reason} (columns: {found})",
                        file=raw.source,
                        row=1,
                        expected="--kind panel, register or ledger",
                    )
                ],
            )
        reason = f"detected from columns: {reason}"
    if kind == "panel":
        frame, report = prepare_panel(
            raw,
            metrics=metrics,
            frequency=frequency,
            allow_negative=allow_negative,
            drop_duplicates=drop_duplicates,
        )
    elif kind == "register":
        frame, report = prepare_register(raw)
    else:
        negatives = list(allow_negative)
        unknown = [n for n in negatives if n != AMOUNT_GBP]
        if unknown:
            raise ConfigError(f"allow_negative for a ledger may only name {AMOUNT_GBP!r}")
        frame, report = prepare_ledger(raw, allow_negative=bool(negatives))
    return CheckedTable(kind=kind, frame=frame, report=report, raw=raw, kind_reason=reason)


def load_panel(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
    metrics: Mapping[str, Metric] | str | Path | None = None,
    frequency: Frequency | None = None,
    allow_negative: Iterable[str] = (),
    drop_duplicates: DuplicatePolicy = "error",
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> pd.DataFrame:
    """Load a force panel (one row per force and period) as a typed, validated frame.

    Parameters
    ----------
    path
        A .csv, .xlsx or .parquet file.
    columns
        Header mapping ``{"their header": "contract column"}``.
    sheet
        Excel sheet name (default: the first sheet).
    metrics
        Metrics configuration: a mapping, a TOML file, or ``None`` for the bundled list.
    frequency
        Required period frequency; default: that of most rows.
    allow_negative
        Metrics whose negative values are accepted (reported).
    drop_duplicates
        ``"error"``, ``"first"`` or ``"last"`` (applications reported).
    max_bytes
        Largest file accepted.

    Returns
    -------
    pandas.DataFrame
        ``force`` (canonical name), ``period`` (label) and one float column per metric; the
        index is the raw row index (spreadsheet row = index + 2).

    Raises
    ------
    DataError
        Listing every problem, if the file is unreadable or breaks the contract.
    """
    checked = check_table(
        path,
        kind="panel",
        columns=columns,
        sheet=sheet,
        metrics=metrics,
        frequency=frequency,
        allow_negative=allow_negative,
        drop_duplicates=drop_duplicates,
        max_bytes=max_bytes,
    )
    checked.report.raise_if_errors()
    return checked.frame


def load_register(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> pd.DataFrame:
    """Load a pilot register (``force``, ``wave``, ``go_live``, optional ``ended``).

    Returns ``force``, ``wave`` (text), ``go_live`` and ``ended`` (``datetime64[ns]``); raises
    :class:`DataError` listing every problem. See :func:`load_panel` for the parameters.
    """
    checked = check_table(path, kind="register", columns=columns, sheet=sheet, max_bytes=max_bytes)
    checked.report.raise_if_errors()
    return checked.frame


def load_ledger(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
    allow_negative: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> pd.DataFrame:
    """Load a cost ledger as a typed, validated frame.

    Returns ``force``, ``date``, ``financial_year``, ``category``, ``kind``, ``amount_gbp``,
    ``price_basis`` and ``description``; raises :class:`DataError` listing every problem.
    ``allow_negative=True`` accepts negative amounts (refunds), reported.
    """
    checked = check_table(
        path,
        kind="ledger",
        columns=columns,
        sheet=sheet,
        allow_negative=[AMOUNT_GBP] if allow_negative else [],
        max_bytes=max_bytes,
    )
    checked.report.raise_if_errors()
    return checked.frame


def load_all(steps: Sequence[tuple[str, Callable[[], object]]]) -> list[object]:
    """Run several loaders and report the problems of every file at once.

    Parameters
    ----------
    steps
        ``(file name, loader)`` pairs; each loader takes no argument.

    Returns
    -------
    list
        What each loader returned, in order, when none failed.

    Raises
    ------
    DataError
        When any loader raised a user error: one error listing the problems of every file
        (a file that could not be read at all appears with its own message).

    Examples
    --------
    >>> load_all([("a", lambda: 1), ("b", lambda: 2)])
    [1, 2]
    """
    results: list[object] = []
    problems: list[Problem] = []
    failed: list[str] = []
    for name, loader in steps:
        try:
            results.append(loader())
        except DataError as exc:
            failed.append(name)
            errors = [p for p in exc.problems if p.severity == "error"]
            problems.extend(errors or [Problem(str(exc), file=name)])
        except UserError as exc:
            failed.append(name)
            problems.append(Problem(str(exc), file=name))
    if failed:
        raise DataError(
            f"{len(failed)} of {len(steps)} input files cannot be used ({', '.join(failed)})",
            problems,
        )
    return results
