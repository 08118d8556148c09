"""The annual report model: the evaluation as it stood at the end of each financial year.

Pure library code (no templates, no HTML): :mod:`.cutoff` cuts the inputs at a year's end,
:mod:`.model` builds the frozen :class:`AnnualReport` every rendering uses, :mod:`.workbook`
writes the finance workbook with live formulas and :mod:`.formatting` holds the number formats
the report and the workbook share.
"""

from __future__ import annotations

from evaluation.annual.cutoff import YearCut, cut_inputs, report_years, write_cut, year_end
from evaluation.annual.model import (
    AnnualReport,
    Chart,
    Column,
    Headline,
    Pillar,
    QaRoles,
    Section,
    Table,
    build_annual_report,
)

__all__ = [
    "AnnualReport",
    "Chart",
    "Column",
    "Headline",
    "Pillar",
    "QaRoles",
    "Section",
    "Table",
    "YearCut",
    "build_annual_report",
    "cut_inputs",
    "report_years",
    "write_cut",
    "year_end",
]
