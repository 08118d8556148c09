"""Read CSV, Excel (.xlsx) and Parquet files to frames of raw text, safely.

Nothing is coerced here: every cell comes back as text exactly as a spreadsheet user would see
it (blank cells as ``""``), so validation can report each problem with its row and column. The
reader refuses, with a :class:`~evaluation.errors.DataError` naming the file:

* empty files (0 bytes, or a header without data rows) and unsupported extensions;
* files over a size limit (``max_bytes``, default 200 MB);
* binary files renamed ``.csv`` (NUL bytes) and text that is not UTF-8;
* malformed workbooks (not a zip, corrupt, missing sheet: the sheets are listed) and zip bombs
  (uncompressed size or compression ratio checked before anything is decompressed);
* corrupt Parquet files and Parquet files that would decompress past the limit.

Formula cells (Excel formulas, and text starting with ``=``, ``+``, ``-`` or ``@`` that a
spreadsheet would run as a formula, e.g. ``=cmd|' /C calc'!A0`` or ``-2+3+cmd|' /C calc'!A0``)
are never evaluated: each is reported in :attr:`RawTable.problems` with its row and column, and
the loaders raise them. ``-5`` and ``+5`` (plain numbers) are not formulas; the rule is
:func:`evaluation.safety.starts_like_formula`, the one the output neutraliser uses.

Row numbers are those a spreadsheet user sees: the header is row 1 and the first data row is
row 2. Parquet files have no visible rows; their row number is also the 0-based record index
plus 2, so messages read the same for every format.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from evaluation.errors import DataError, Problem

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMULA_PATTERN",
    "MAX_COMPRESSION_RATIO",
    "MAX_XLSX_UNCOMPRESSED",
    "SUPPORTED_EXTENSIONS",
    "FileFormat",
    "RawTable",
    "cell_text",
    "is_formula",
    "read_table",
    "read_text_file",
]

FileFormat = Literal["csv", "xlsx", "parquet"]
SUPPORTED_EXTENSIONS: Mapping[str, FileFormat] = {
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
}
#: Default largest file accepted (bytes): 200 MB.
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
#: Largest compression ratio of one member of an .xlsx (zip) archive larger than 1 MB.
MAX_COMPRESSION_RATIO = 100.0
#: A workbook may expand to at most this many bytes (512 MB): XML cells take several times
#: their size in memory once parsed, so a larger sheet belongs in CSV or Parquet.
MAX_XLSX_UNCOMPRESSED = 512 * 1024 * 1024
#: An uncompressed workbook or Parquet file may be at most this many times ``max_bytes``.
_UNCOMPRESSED_FACTOR = 10
_RATIO_MIN_BYTES = 1024 * 1024
_SNIFF_BYTES = 1024 * 1024

#: Text a spreadsheet would treat as a formula: ``=`` or ``@`` first, or ``+``/``-`` followed by
#: something other than a digit or a decimal point (``-5`` and ``+.5`` are numbers); a leading
#: tab or carriage return before one of those counts too. A lone ``-`` (a common "nil") is text.
FORMULA_PATTERN = re.compile(r"^[\t\r]*(?:[=@]|[+\-](?![0-9.]|$))", re.DOTALL)

_HINTS = {
    ".xls": "save it as .xlsx (Excel Workbook) or CSV UTF-8",
    ".xlsm": "save it as .xlsx without macros, or as CSV UTF-8",
    ".xlsb": "save it as .xlsx or CSV UTF-8",
    ".ods": "save it as .xlsx or CSV UTF-8",
    ".tsv": "save it as CSV (comma separated)",
    ".txt": "save it as CSV (comma separated) with a .csv extension",
}


@dataclass(frozen=True)
class RawTable:
    """A table as read from a file: every cell as text, nothing coerced.

    Parameters
    ----------
    frame
        One column per header (renamed by the column mapping), one row per data row, values as
        ``str`` (blank cells ``""``), index ``0..n-1``. Row ``i`` is spreadsheet row ``i + 2``.
    source
        The file name (used as the location of every problem).
    format
        ``"csv"``, ``"xlsx"`` or ``"parquet"``.
    sheet
        The worksheet read (Excel only).
    problems
        Problems found while reading that do not stop it (formula cells, renamed headers).
    """

    frame: pd.DataFrame
    source: str
    format: FileFormat
    sheet: str | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def n_rows(self) -> int:
        """Number of data rows."""
        return len(self.frame)


def is_formula(text: str) -> bool:
    """Return whether a cell's text would run as a spreadsheet formula.

    Examples
    --------
    >>> is_formula("=cmd|' /C calc'!A0"), is_formula("@SUM(A1)"), is_formula("-2+3+cmd|x")
    (True, True, True)
    >>> is_formula("-5"), is_formula("+.5"), is_formula("-x"), is_formula("Kent")
    (False, False, True, False)
    """
    if FORMULA_PATTERN.match(text):
        return True
    from evaluation.safety import starts_like_formula  # the one rule shared with the outputs

    return starts_like_formula(text.lstrip("\t\r"))


def read_table(
    path: str | Path,
    *,
    sheet: str | None = None,
    columns: Mapping[str, str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> RawTable:
    """Read a CSV, Excel (.xlsx) or Parquet file (chosen by extension) as raw text.

    Parameters
    ----------
    path
        The file.
    sheet
        Worksheet name (Excel only; default the first sheet).
    columns
        Mapping ``{"their header": "contract column"}`` for files whose headers differ.
    max_bytes
        Largest file size accepted, in bytes.

    Returns
    -------
    RawTable
        The raw cells and the problems found while reading (formula cells).

    Raises
    ------
    DataError
        If the file cannot be read safely (see the module docstring); the message names it.
    """
    p = Path(path)
    source = p.name
    ext = p.suffix.lower()
    fmt = SUPPORTED_EXTENSIONS.get(ext)
    if fmt is None:
        hint = _HINTS.get(ext, "use .csv, .xlsx or .parquet")
        raise _fail(
            source,
            f"unsupported file type {ext or '(no extension)'!r}: {hint}",
            expected="a .csv, .xlsx or .parquet file",
        )
    if not p.exists():
        raise _fail(source, f"file not found: {p}")
    if not p.is_file():
        raise _fail(source, "not a file (a folder?)", expected="a .csv, .xlsx or .parquet file")
    if not os.access(p, os.R_OK):
        raise _fail(source, "the file cannot be read (permission denied)")
    size = p.stat().st_size
    if size == 0:
        raise _fail(source, "the file is empty (0 bytes)", expected="a header row and data rows")
    if size > max_bytes:
        raise _fail(
            source,
            f"the file is {size / 1e6:.1f} MB, over the size limit of {max_bytes / 1e6:.1f} MB "
            "(raise it with --max-size)",
        )
    if sheet is not None and fmt != "xlsx":
        raise _fail(source, f"a sheet ({sheet!r}) was given but {source} is not an Excel file")

    formula_cells: list[tuple[int, int, str]] = []
    sheet_used: str | None = None
    if fmt == "csv":
        frame, trailing = _read_csv(p, source)
    elif fmt == "xlsx":
        frame, trailing, sheet_used, formula_cells = _read_xlsx(p, source, sheet, max_bytes)
    else:
        frame, trailing = _read_parquet(p, source, max_bytes)

    if len(frame) == 0:
        message = "the file has a header row but no data rows"
        raise DataError(
            f"cannot read {source}: {message}",
            [Problem(message, file=source, row=2, expected="at least one data row")],
        )
    frame = _apply_mapping(frame, source, columns)
    problems = _formula_cells(frame, source, formula_cells)
    if trailing:
        first = len(frame) + 2
        problems.append(
            Problem(
                f"{trailing} blank rows after the last data row (rows {first} to "
                f"{first + trailing - 1}) are not data; ignored",
                file=source,
                row=first,
                severity="info",
            )
        )
    problems.extend(_formula_strings(frame, source, exclude=problems))
    return RawTable(
        frame=frame, source=source, format=fmt, sheet=sheet_used, problems=tuple(problems)
    )


def read_text_file(path: str | Path, what: str, *, max_bytes: int = 10 * 1024 * 1024) -> str:
    """Read a small UTF-8 text file (a parameter file, an effects table), refusing bad ones.

    Refused with a :class:`~evaluation.errors.DataError` naming the file (and, for bad bytes,
    the line): a missing file, a folder, a file that cannot be read (permissions), one over
    ``max_bytes``, binary content (NUL bytes), UTF-16 text and text that is not UTF-8. A UTF-8
    byte-order mark is accepted and removed.

    Parameters
    ----------
    path
        The file.
    what
        What the file is, for messages (``"parameter file"``).
    max_bytes
        Largest size accepted (default 10 MB).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "p.toml"
    >>> _ = p.write_bytes("name = 'caf\u00e9'".encode("latin-1"))
    >>> try:
    ...     read_text_file(p, "parameter file")
    ... except DataError as exc:
    ...     print(exc.problems[0])
    p.toml, row 1: not UTF-8 text (byte 12); save it as UTF-8 (got 'byte 0xe9'; expected UTF-8 text)
    """
    p = Path(path)
    source = p.name
    if not p.exists():
        raise _fail(source, f"{what} not found: {p}")
    if not p.is_file():
        raise _fail(source, f"the {what} is not a file (a folder?)")
    if not os.access(p, os.R_OK):
        raise _fail(source, f"the {what} cannot be read (permission denied)")
    size = p.stat().st_size
    if size > max_bytes:
        raise _fail(
            source,
            f"the {what} is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit",
        )
    with p.open("rb") as fh:
        data = fh.read(max_bytes + 1)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(source, f"the {what} is UTF-16 text; save it as UTF-8", expected="UTF-8 text")
    if b"\x00" in data:
        raise _fail(source, f"the {what} is a binary file (it contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            f"cannot read {source}: the {what} is not UTF-8 text (line {line}, byte "
            f"{exc.start + 1}); save it as UTF-8",
            [
                Problem(
                    f"not UTF-8 text (byte {exc.start + 1}); save it as UTF-8",
                    file=source,
                    row=line,
                    value=f"byte 0x{data[exc.start]:02x}",
                    expected="UTF-8 text",
                )
            ],
        ) from None


# --------------------------------------------------------------------------------------------


def _fail(source: str, message: str, *, expected: str | None = None) -> DataError:
    return DataError(
        f"cannot read {source}: {message}",
        [Problem(message, file=source, expected=expected)],
    )


def _check_text_file(p: Path, source: str) -> None:
    """Refuse binary content (NUL bytes) before parsing; the parser catches bad UTF-8."""
    with p.open("rb") as fh:
        first = True
        while chunk := fh.read(_SNIFF_BYTES):
            if first and chunk.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise _fail(
                    source,
                    "the file is UTF-16 text; save it as 'CSV UTF-8'",
                    expected="CSV text in UTF-8",
                )
            first = False
            if b"\x00" in chunk:
                raise _fail(
                    source,
                    "this is a binary file, not CSV text (it contains NUL bytes); "
                    "was another file renamed .csv?",
                    expected="CSV text in UTF-8",
                )


def _check_delimiter(p: Path, source: str) -> None:
    """Refuse semicolon- or tab-separated files (with the fix) before they are misread."""
    with p.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    first = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    for sep, name in ((";", "semicolons"), ("\t", "tabs")):
        if first.count(sep) >= 1 and first.count(sep) > first.count(","):
            hint = (
                " (a semicolon file usually has decimal commas too: 1,5 for 1.5)"
                if sep == ";"
                else ""
            )
            raise DataError(
                f"cannot read {source}: its columns are separated by {name}, not commas{hint}; "
                "save it as 'CSV UTF-8 (Comma delimited)', with decimal points",
                [
                    Problem(
                        f"the header row is separated by {name}, not commas{hint}",
                        file=source,
                        row=1,
                        value=first[:80],
                        expected="comma-separated columns (CSV UTF-8, Comma delimited)",
                    )
                ],
            )


def _read_csv(p: Path, source: str) -> tuple[pd.DataFrame, int]:
    _check_text_file(p, source)
    _check_delimiter(p, source)
    try:
        data = pd.read_csv(
            p,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
            engine="c",
        )
    except UnicodeDecodeError as exc:
        raise _fail(
            source,
            f"the file is not UTF-8 text (invalid byte at position {exc.start}); "
            "is it a binary file, or saved in another encoding? Save it as 'CSV UTF-8'",
            expected="CSV text in UTF-8",
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise _fail(source, "the file is empty (no header row)") from exc
    except pd.errors.ParserError as exc:
        msg = str(exc).strip()
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            line = int(m.group(2))
            title = (
                "; is row 1 a title above the header? Delete any rows above the header"
                if int(m.group(1)) == 1 and int(m.group(3)) > 1
                else ""
            )
            raise DataError(
                f"cannot read {source}: row {line} has {m.group(3)} fields, the header "
                f"has {m.group(1)}{title}",
                [
                    Problem(
                        f"row has {m.group(3)} fields, the header has {m.group(1)}{title}",
                        file=source,
                        row=line,
                        value=m.group(3),
                        expected=f"{m.group(1)} fields",
                    )
                ],
            ) from exc
        raise _fail(source, f"malformed CSV: {msg}") from exc
    data = data.fillna("")
    frame, trailing = _frame_from_rows(
        [list(map(str, data.iloc[0]))],
        data.iloc[1:].astype(str).to_numpy().tolist(),
        source,
    )
    return frame, trailing


def _frame_from_rows(
    header_rows: list[list[str]], rows: list[list[Any]], source: str
) -> tuple[pd.DataFrame, int]:
    """Make a text frame from a header and rows; trailing blank rows and columns are dropped.

    Blank columns with no header at the right-hand edge, and blank rows after the last data
    row, are spreadsheet formatting rather than data. Anything else blank is kept so that
    validation can report it. Returns the frame and the number of trailing blank rows dropped.
    """
    header = [str(h).strip() for h in header_rows[0]]
    longest = max((len(r) for r in rows), default=0)
    header += [""] * (longest - len(header))
    width = len(header)
    rows = [list(r) + [""] * (width - len(r)) for r in rows]
    # drop unnamed, empty columns on the right
    while width and header[width - 1] == "" and all(r[width - 1] == "" for r in rows):
        width -= 1
    header = header[:width]
    rows = [r[:width] for r in rows]
    n_data = len(rows)
    while rows and all(str(v).strip() == "" for v in rows[-1]):
        rows.pop()
    trailing = n_data - len(rows)
    if width == 0:
        raise _fail(source, "the file has no header row", expected="a header row of column names")
    problems = []
    named = [h for h in header if h]
    if len(named) == 1 and width > 2 and header[0]:
        problems.append(
            Problem(
                f"row 1 has one filled cell ({header[0]!r}) and {width - 1} blank ones: is it a "
                "title above the header? Delete any rows above the header row",
                file=source,
                row=1,
                value=header[0],
                expected="the header row (column names) as row 1",
            )
        )
    for j, h in enumerate(header):
        if h == "":
            problems.append(
                Problem(
                    "a column has data but no header",
                    file=source,
                    row=1,
                    column=_excel_column(j),
                    expected="a column name in the header row",
                )
            )
    seen: dict[str, int] = {}
    for j, h in enumerate(header):
        if h and h in seen:
            problems.append(
                Problem(
                    f"duplicate column name (also column {_excel_column(seen[h])})",
                    file=source,
                    row=1,
                    column=h,
                    expected="unique column names",
                )
            )
        seen.setdefault(h, j)
    if problems:
        raise DataError(f"cannot read {source}: bad header row", problems)
    columns = pd.Index(header, dtype=object)
    if not rows:
        return pd.DataFrame(columns=columns, dtype=str), trailing
    frame = pd.DataFrame(rows, columns=columns, dtype=str)
    frame.index = pd.RangeIndex(len(frame))
    return frame, trailing


def _excel_column(j: int) -> str:
    """Return the spreadsheet letter of 0-based column ``j`` (``0 -> "A"``, ``26 -> "AA"``)."""
    letters = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def cell_text(value: object) -> str:
    """Return a cell value as the text a spreadsheet user would see (blank as ``""``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, pd.Timestamp | _dt.datetime):
        if pd.isna(value):
            return ""
        if value.tzinfo is not None:  # an instant: shown as UK local time, never machine time
            value = pd.Timestamp(value).tz_convert("Europe/London").tz_localize(None)
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.strftime("%Y-%m-%d")
        return value.isoformat(sep=" ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return ""
    return str(value)


def _read_xlsx(
    p: Path, source: str, sheet: str | None, max_bytes: int
) -> tuple[pd.DataFrame, int, str, list[tuple[int, int, str]]]:
    """Read one worksheet; return the frame, the sheet name and the formula cells.

    Formula cells are returned as ``(spreadsheet row, 0-based column, formula text)``. The
    archive is checked first (zip bombs). A workbook without any formula is read with the fast
    Rust reader ``python-calamine`` when it is installed; one with formulas (reported cell by
    cell) or without calamine is read with ``openpyxl``. Both give the same cells.
    """
    _check_zip(p, source, max_bytes)
    if not _has_formulas(p, source):
        try:
            import python_calamine  # noqa: F401  (optional, fast)
        except ImportError:  # pragma: no cover - the default install has it
            pass
        else:
            frame, trailing, sheet_used = _read_xlsx_calamine(p, source, sheet)
            return frame, trailing, sheet_used, []
    return _read_xlsx_openpyxl(p, source, sheet)


_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")


def _has_formulas(p: Path, source: str) -> bool:
    """Return whether any worksheet of the workbook holds a formula (``<f>`` element)."""
    try:
        with zipfile.ZipFile(p) as zf:
            for info in zf.infolist():
                if not info.filename.startswith("xl/worksheets/") or not info.filename.endswith(
                    ".xml"
                ):
                    continue
                with zf.open(info) as fh:
                    tail = b""
                    while chunk := fh.read(_SNIFF_BYTES):
                        if _FORMULA_TAG.search(tail + chunk):
                            return True
                        tail = chunk[-32:]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _fail(source, f"the .xlsx archive is corrupt ({exc})") from exc
    return False


def _sheet_choice(names: list[str], sheet: str | None, source: str) -> str:
    if not names:
        raise _fail(source, "the workbook has no worksheets")
    if sheet is None:
        return names[0]
    if sheet in names:
        return sheet
    listed = ", ".join(repr(n) for n in names)
    raise DataError(
        f"cannot read {source}: no sheet named {sheet!r}; its sheets are {listed}",
        [
            Problem(
                f"no sheet named {sheet!r}; its sheets are {listed}",
                file=source,
                value=sheet,
                expected=f"one of {listed}",
            )
        ],
    )


def _read_xlsx_calamine(p: Path, source: str, sheet: str | None) -> tuple[pd.DataFrame, int, str]:
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    try:
        wb = CalamineWorkbook.from_path(str(p))
    except Exception as exc:  # calamine raises its own types for corrupt files
        raise _fail(
            source,
            f"the Excel file is corrupt or not a workbook ({type(exc).__name__}: {exc})",
            expected="an .xlsx workbook saved by Excel or LibreOffice",
        ) from exc
    try:
        names = list(wb.sheet_names)
        sheet_used = _sheet_choice(names, sheet, source)
        meta = {m.name: m for m in wb.sheets_metadata}
        if sheet_used in meta and meta[sheet_used].typ != SheetTypeEnum.WorkSheet:
            raise _fail(source, f"sheet {sheet_used!r} is a chart sheet, not a table")
        try:
            cells = wb.get_sheet_by_name(sheet_used).to_python()
        except Exception as exc:
            raise _fail(source, f"the Excel file is corrupt ({type(exc).__name__}: {exc})") from exc
    finally:
        wb.close()
    rows = [[cell_text(v) for v in row] for row in cells]
    if not rows or not any(h.strip() for h in rows[0]):
        raise _fail(
            source,
            f"sheet {sheet_used!r} is empty (or its first row, the header, is blank)",
            expected="a header row and data rows",
        )
    frame, trailing = _frame_from_rows([rows[0]], rows[1:], source)
    return frame, trailing, sheet_used


def _read_xlsx_openpyxl(
    p: Path, source: str, sheet: str | None
) -> tuple[pd.DataFrame, int, str, list[tuple[int, int, str]]]:
    import openpyxl  # imported lazily: only Excel users pay for it

    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for corrupt files
        raise _fail(
            source,
            f"the Excel file is corrupt or not a workbook ({type(exc).__name__}: {exc})",
            expected="an .xlsx workbook saved by Excel or LibreOffice",
        ) from exc
    try:
        sheet_used = _sheet_choice(list(wb.sheetnames), sheet, source)
        ws = wb[sheet_used]
        if not hasattr(ws, "iter_rows"):
            raise _fail(source, f"sheet {sheet_used!r} is a chart sheet, not a table")
        formulas: list[tuple[int, int, str]] = []
        rows: list[list[str]] = []
        try:
            for i, row in enumerate(ws.iter_rows()):
                values: list[str] = []
                for j, cell in enumerate(row):
                    text = cell_text(cell.value)
                    if getattr(cell, "data_type", None) == "f":
                        formulas.append((i + 1, j, text))
                    values.append(text)
                rows.append(values)
        except Exception as exc:
            raise _fail(source, f"the Excel file is corrupt ({type(exc).__name__}: {exc})") from exc
    finally:
        wb.close()
    if not rows or not any(h.strip() for h in rows[0]):
        raise _fail(
            source,
            f"sheet {sheet_used!r} is empty (or its first row, the header, is blank)",
            expected="a header row and data rows",
        )
    frame, trailing = _frame_from_rows([rows[0]], rows[1:], source)
    return frame, trailing, sheet_used, formulas


def _formula_cells(
    frame: pd.DataFrame, source: str, cells: list[tuple[int, int, str]]
) -> list[Problem]:
    names = [str(c) for c in frame.columns]
    return [
        Problem(
            "an Excel formula cell: formulas are not evaluated; paste the values instead",
            file=source,
            row=row,
            column=names[j] if j < len(names) and row > 1 else _excel_column(j),
            value=text,
            expected="a value, not a formula",
        )
        for row, j, text in cells
    ]


def _check_zip(p: Path, source: str, max_bytes: int) -> None:
    """Refuse non-zip files, corrupt archives and zip bombs before decompressing anything."""
    if not zipfile.is_zipfile(p):
        raise _fail(
            source,
            "the file is not a valid .xlsx workbook (not a zip archive); "
            "is it an old .xls file or a CSV renamed .xlsx?",
            expected="an .xlsx workbook",
        )
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _fail(source, f"the .xlsx archive is corrupt ({exc})") from exc
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise _fail(
            source,
            "the zip archive is not an Excel workbook (no xl/workbook.xml)",
            expected="an .xlsx workbook",
        )
    total = sum(i.file_size for i in infos)
    limit = min(_UNCOMPRESSED_FACTOR * max_bytes, MAX_XLSX_UNCOMPRESSED)
    if total > limit:
        raise _fail(
            source,
            f"the workbook would expand to {total / 1e6:.0f} MB, over the limit of "
            f"{limit / 1e6:.0f} MB (a zip bomb? a sheet this large belongs in CSV or Parquet); "
            "not opened",
        )
    for info in infos:
        if info.file_size > _RATIO_MIN_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > MAX_COMPRESSION_RATIO:
                raise _fail(
                    source,
                    f"member {info.filename} is compressed {ratio:.0f}:1, more than the "
                    f"{MAX_COMPRESSION_RATIO:.0f}:1 allowed (a zip bomb?); not opened",
                )


def _read_parquet(p: Path, source: str, max_bytes: int) -> tuple[pd.DataFrame, int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(p)
        meta = pf.metadata
        uncompressed = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        limit = _UNCOMPRESSED_FACTOR * max_bytes
        cells = meta.num_rows * max(meta.num_columns, 1)
        if cells > max_bytes // 2:
            raise _fail(
                source,
                f"the Parquet file would expand to {cells:,} cells, more than the "
                f"{max_bytes // 2:,} allowed for a {max_bytes / 1e6:.1f} MB size limit; not read",
            )
        if uncompressed > limit:
            raise _fail(
                source,
                f"the Parquet file would expand to {uncompressed / 1e6:.0f} MB, over the limit "
                f"of {limit / 1e6:.0f} MB; not read",
            )
        table = pf.read()
    except DataError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _fail(
            source,
            f"the Parquet file is corrupt or not Parquet ({type(exc).__name__}: {exc})",
            expected="a Parquet file",
        ) from exc
    keep = [i for i, n in enumerate(table.column_names) if not str(n).startswith("__index_level_")]
    table = table.select(keep)
    bad_types = [
        f.name
        for f in table.schema
        if pa.types.is_nested(f.type)
        or pa.types.is_binary(f.type)
        or pa.types.is_large_binary(f.type)
    ]
    if bad_types:
        raise DataError(
            f"cannot read {source}: columns of nested or binary type",
            [
                Problem(
                    "nested or binary column",
                    file=source,
                    column=str(name),
                    expected="text, number or date values",
                )
                for name in bad_types
            ],
        )
    header = [str(n) for n in table.column_names]
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    rows = [[cell_text(col[r]) for col in columns] for r in range(table.num_rows)]
    return _frame_from_rows([header], rows, source)


def _apply_mapping(
    frame: pd.DataFrame, source: str, columns: Mapping[str, str] | None
) -> pd.DataFrame:
    if not columns:
        return frame
    present = [str(c) for c in frame.columns]
    problems = []
    for old in columns:
        if old not in present:
            problems.append(
                Problem(
                    f"the column mapping names {old!r}, which is not a column of the file",
                    file=source,
                    row=1,
                    column=old,
                    expected="one of " + ", ".join(repr(c) for c in present),
                )
            )
    renamed = [columns.get(c, c) for c in present]
    dupes = sorted({c for c in renamed if renamed.count(c) > 1})
    for d in dupes:
        problems.append(
            Problem(
                f"after the column mapping, two columns are called {d!r}",
                file=source,
                row=1,
                column=d,
                expected="unique column names",
            )
        )
    if problems:
        raise DataError(f"cannot apply the column mapping to {source}", problems)
    out = frame.copy()
    out.columns = pd.Index(renamed, dtype=object)
    return out


def _formula_strings(
    frame: pd.DataFrame, source: str, *, exclude: Iterable[Problem] = ()
) -> list[Problem]:
    """Report text cells that a spreadsheet would run as formulas."""
    seen = {(p.row, p.column) for p in exclude}
    problems = []
    for col in frame.columns:
        values = frame[col].to_numpy()
        for i, v in enumerate(values):
            if isinstance(v, str) and v and is_formula(v):
                row = i + 2
                if (row, str(col)) in seen:
                    continue
                problems.append(
                    Problem(
                        "text that a spreadsheet would run as a formula (formula injection); "
                        "it is not evaluated",
                        file=source,
                        row=row,
                        column=str(col),
                        value=v,
                        expected="a plain value (not starting with =, +, - or @)",
                    )
                )
    return problems
