"""The finance workbook: every figure a live formula traced to a named input.

:func:`write_workbook` writes an ``.xlsx`` following the Government Analysis Function guidance
for spreadsheets: a cover, contents and notes sheet; one named Excel table per sheet with a
single header row, no merged cells and units in the headers. The Inputs sheet holds named cells
(discount rate, optimism bias switch, effects with their intervals, unit values); the calculation
sheets deflate, uplift, discount and sum with formulas built from defined names
(``=SUMPRODUCT(year_costs, year_discount_factor)``), so a finance team can change an input and
watch NPSV and BCR recompute. Every formula cell also carries its value (the toolkit's), for
viewers that do not recalculate. A Checks sheet compares the workbook with the toolkit.

What is a value rather than a formula, and why: cost lines projected by the toolkit after the
outturn (recurrent costs carried forward, refreshes, residual values) enter as real amounts;
benefit force-years (ramp-up x persistence x scale) enter as numbers; non-linear sensitivities
(optimism-bias stage, asset life, decay) are the toolkit's re-appraisals. The Notes sheet says so.

Text that comes from input data and starts with ``=``, ``+``, ``-``, ``@``, tab or carriage
return is stored as text, never as a formula.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.table import Table as XlTable
from openpyxl.worksheet.table import TableStyleInfo

from evaluation.annual.formatting import EXCEL_FORMATS, is_formula_like

if TYPE_CHECKING:  # pragma: no cover
    from evaluation.annual.model import AnnualReport

__all__ = ["HEADER_ROW", "WORKBOOK_NAMES", "F", "write_workbook"]

#: Row of every table's header (a title and a description sit above it).
HEADER_ROW = 4
#: Defined names every workbook has (the ex-post pilot headline and the first discount band).
WORKBOOK_NAMES: tuple[str, ...] = ("discount_rate", "pv_costs", "pv_benefits", "npsv", "bcr")
_FIXED_TIME = datetime(2000, 1, 1)
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)


@dataclass(frozen=True)
class F:
    """A formula (without the leading ``=``) and the value it computes (cached in the file)."""

    formula: str
    cached: Any


class _Sheet:
    """One worksheet: a title, a description and one named table from ``HEADER_ROW``."""

    def __init__(
        self,
        book: _Book,
        title: str,
        heading: str,
        description: str,
        columns: Sequence[tuple[str, str]],
    ) -> None:
        self.book = book
        self.ws = book.wb.create_sheet(title)
        self.title = title
        self.columns = [c for c, _ in columns]
        self.kinds = [k for _, k in columns]
        if len(set(self.columns)) != len(self.columns):
            raise ValueError(f"{title}: duplicate column headers")
        self.ws["A1"] = heading
        self.ws["A1"].font = _TITLE
        self.ws["A2"] = description
        self.ws["A3"] = "This worksheet contains one table."
        for j, name in enumerate(self.columns, start=1):
            cell = self.ws.cell(row=HEADER_ROW, column=j, value=name)
            cell.font = _BOLD
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        self.n = 0

    def letter(self, column: str) -> str:
        """Return the column letter of a header."""
        return get_column_letter(self.columns.index(column) + 1)

    def ref(self, column: str, row: int, *, absolute: bool = False) -> str:
        """Return the A1 reference of ``column`` on sheet row ``row``."""
        col = self.letter(column)
        return f"${col}${row}" if absolute else f"{col}{row}"

    def qualified(self, column: str, row: int) -> str:
        """Return ``'Sheet'!$C$5``."""
        return f"{quote_sheetname(self.title)}!{self.ref(column, row, absolute=True)}"

    @property
    def next_row(self) -> int:
        """Return the sheet row the next :meth:`add` writes to."""
        return HEADER_ROW + 1 + self.n

    def add(self, values: Sequence[Any]) -> int:
        """Append a row (plain values or :class:`F`) and return its sheet row."""
        if len(values) != len(self.columns):
            raise ValueError(
                f"{self.title}: row of {len(values)} values, {len(self.columns)} columns"
            )
        row = self.next_row
        for j, (value, kind) in enumerate(zip(values, self.kinds, strict=True), start=1):
            cell = self.ws.cell(row=row, column=j)
            if isinstance(value, F):
                cell.value = "=" + value.formula
                self.book.cached[(self.title, cell.coordinate)] = value.cached
            else:
                _put(cell, value)
            if kind != "text":
                cell.number_format = EXCEL_FORMATS[kind]
            else:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        self.n += 1
        return row

    def column_range(self, column: str) -> str:
        """Return the absolute, sheet-qualified range of a column's data rows."""
        col = self.letter(column)
        last = HEADER_ROW + max(self.n, 1)
        return f"{quote_sheetname(self.title)}!${col}${HEADER_ROW + 1}:${col}${last}"

    def name_column(self, name: str, column: str) -> None:
        """Define ``name`` as the data range of ``column``."""
        self.book.define(name, self.column_range(column))

    def finish(self, table_name: str, widths: Sequence[float] | None = None) -> None:
        """Make the Excel table ``<table_name>_table`` and set column widths."""
        last_col = get_column_letter(len(self.columns))
        last_row = HEADER_ROW + max(self.n, 1)
        if self.n == 0:  # a table needs a data row: mark it not applicable
            for j in range(1, len(self.columns) + 1):
                self.ws.cell(row=HEADER_ROW + 1, column=j, value="[z]")
        table = XlTable(
            displayName=f"{table_name}_table", ref=f"A{HEADER_ROW}:{last_col}{last_row}"
        )
        table.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=True)
        self.ws.add_table(table)
        lines = 1
        for j, name in enumerate(self.columns, start=1):
            auto = min(max(len(name) * 0.9, 12), 40)
            width = widths[j - 1] if widths and j <= len(widths) else auto
            self.ws.column_dimensions[get_column_letter(j)].width = width
            lines = max(lines, math.ceil(len(name) * 1.1 / max(width - 1, 1)))
        # tall enough for the wrapped headers: spreadsheets do not size a row on opening
        self.ws.row_dimensions[HEADER_ROW].height = 15 * lines + 3
        self.ws.freeze_panes = f"A{HEADER_ROW + 1}"


class _Book:
    def __init__(self) -> None:
        self.wb = Workbook()
        self.wb.remove(self.wb.active)
        self.cached: dict[tuple[str, str], Any] = {}

    def define(self, name: str, target: str) -> None:
        self.wb.defined_names[name] = DefinedName(name, attr_text=target)


def _put(cell: Any, value: Any) -> None:
    """Write a plain value; text a spreadsheet would run is stored as text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        cell.value = "[x]"
        return
    if isinstance(value, bool):
        cell.value = "yes" if value else "no"
        return
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    cell.value = value
    if isinstance(value, str) and is_formula_like(value):
        cell.data_type = "s"


def _name_ok(name: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return clean if re.match(r"^[A-Za-z_]", clean) else f"_{clean}"


def write_workbook(report: AnnualReport, path: str | Path) -> Path:
    """Write the finance workbook of ``report`` to ``path`` (``.xlsx``) and return the path.

    The same report gives a byte-identical file (fixed document times and zip entry times).
    """
    book = _Book()
    _build(book, report)
    buffer = io.BytesIO()
    book.wb.properties.created = _FIXED_TIME
    book.wb.properties.modified = _FIXED_TIME
    book.wb.properties.creator = "pathfinder"
    book.wb.calculation.fullCalcOnLoad = True
    book.wb.save(buffer)
    data = _with_cached_values(buffer.getvalue(), book)
    out = Path(path)
    out.write_bytes(data)
    return out


# ---------------------------------------------------------------- cached values and determinism

_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*)><f>(.*?)</f><v\s*(?:/>|></v>)</c>', re.S)


def _xml_value(value: Any) -> tuple[bytes, bytes]:
    """Return (type attribute, <v> content) of a cached value."""
    if isinstance(value, str):
        text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return b' t="str"', text.encode("utf-8")
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return b' t="e"', b"#N/A"
    return b"", repr(float(value)).encode("ascii")


def _with_cached_values(data: bytes, book: _Book) -> bytes:
    sheets = {ws.title: i + 1 for i, ws in enumerate(book.wb.worksheets)}
    by_file: dict[str, dict[bytes, Any]] = {}
    for (title, coord), value in book.cached.items():
        by_file.setdefault(f"xl/worksheets/sheet{sheets[title]}.xml", {})[coord.encode()] = value
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            cells = by_file.get(info.filename)
            if cells:

                def patch(m: re.Match[bytes], cells: dict[bytes, Any] = cells) -> bytes:
                    coord, attrs, formula = m.group(1), m.group(2), m.group(3)
                    if coord not in cells:
                        return m.group(0)
                    kind, v = _xml_value(cells[coord])
                    attrs = re.sub(rb'\st="[^"]*"', b"", attrs)
                    return b'<c r="%s"%s%s><f>%s</f><v>%s</v></c>' % (
                        coord,
                        attrs,
                        kind,
                        formula,
                        v,
                    )

                content = _CELL.sub(patch, content)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + _FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>",
                    content,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, content)
    return out.getvalue()


# ---------------------------------------------------------------- the sheets


def _build(book: _Book, report: AnnualReport) -> None:
    from evaluation.annual._workbook_sheets import build_sheets

    build_sheets(book, report)
