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
from evaluation.annual.yearly import HISTORY_COLUMNS, answer_history, report_for_year

__all__ = [
    "HISTORY_COLUMNS",
    "AnnualReport",
    "Chart",
    "Column",
    "Headline",
    "Pillar",
    "QaRoles",
    "Section",
    "Table",
    "YearCut",
    "answer_history",
    "build_annual_report",
    "cut_inputs",
    "report_for_year",
    "report_years",
    "write_cut",
    "year_end",
]
