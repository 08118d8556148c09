"""One year's report from the full inputs, and how the answer moved from year to year.

:func:`report_for_year` is the single way the command line and the dashboard turn the full
panel, register and ledger into a year's :class:`~evaluation.annual.AnnualReport`: cut the
inputs at the year's end, write the cut (the report's inputs, hashed in its manifest), run the
pipeline on it and build the report against last year's. :func:`answer_history` lays the
reports' headlines side by side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from evaluation.annual.cutoff import cut_inputs, write_cut
from evaluation.annual.model import AnnualReport, QaRoles, build_annual_report

__all__ = ["HISTORY_COLUMNS", "answer_history", "report_for_year"]


def report_for_year(
    panel: pd.DataFrame,
    register: pd.DataFrame,
    ledger: pd.DataFrame,
    year: str,
    folder: Path,
    previous: AnnualReport | None = None,
    *,
    qa: QaRoles | None = None,
    sources: Mapping[str, Mapping[str, str]] | None = None,
    robustness: bool = True,
    **options: Any,
) -> AnnualReport:
    """Return the report of ``year`` on the data as they stood at that year's end.

    Parameters
    ----------
    panel, register, ledger
        The full, checked inputs (as loaded by :mod:`evaluation.io`).
    year
        Financial year ``YYYY-YY`` (one of :func:`~evaluation.annual.report_years`).
    folder
        Where the cut inputs are written (they are the report's inputs).
    previous
        Last year's report, for the change since last year.
    qa, sources, robustness
        As :func:`~evaluation.annual.build_annual_report`.
    **options
        Fields of :class:`~evaluation.pipeline.PipelineInputs` other than the three files
        (``method``, ``inference``, ``reps``, ``seed``, ``draws``, ``params``...).
    """
    from evaluation.pipeline import PipelineInputs, run_pipeline

    cut = cut_inputs(panel, register, ledger, year)
    paths = write_cut(cut, folder)
    result = run_pipeline(
        PipelineInputs(
            panel=paths["panel"], register=paths["register"], ledger=paths["ledger"], **options
        )
    )
    return build_annual_report(
        result, year, previous, cut=cut, qa=qa, sources=sources, robustness=robustness
    )


HISTORY_COLUMNS = (
    "financial_year",
    "pilots_live",
    "npsv",
    "bcr",
    "vfm_category",
    "prob_positive",
    "payback_year",
    "go_forward_npsv",
    "rollout_npsv",
    "rollout_bcr",
    "confidence",
)
"""Columns of :func:`answer_history`, in order."""


def answer_history(reports: Sequence[AnnualReport]) -> pd.DataFrame:
    """Return each report's answer on one row, oldest first: how the answer moved.

    >>> answer_history([]).columns.tolist()[:4]
    ['financial_year', 'pilots_live', 'npsv', 'bcr']
    """
    rows = []
    for r in sorted(reports, key=lambda r: r.year):
        h = r.headline
        rows.append(
            {
                "financial_year": r.year,
                "pilots_live": h.pilots_live,
                "npsv": h.npsv,
                "bcr": h.bcr,
                "vfm_category": h.vfm_category,
                "prob_positive": h.prob_positive,
                "payback_year": h.payback_year,
                "go_forward_npsv": h.go_forward_npsv,
                "rollout_npsv": h.rollout_npsv,
                "rollout_bcr": h.rollout_bcr,
                "confidence": h.confidence,
            }
        )
    return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
