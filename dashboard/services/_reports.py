"""Annual reports: the same model, templates and workbook as ``pathfinder report``."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from dashboard.services._analysis import AnalysisSettings, _cache
from dashboard.services._data import load_frames
from dashboard.store import KINDS, UserStore

REPORT_FILES = ("report.html", "report.pdf", "workbook.xlsx")


def report_years(store: UserStore, token: str) -> list[str]:
    """Return the financial years a report can be made for on this data set."""
    from evaluation.annual import report_years as years

    frames = load_frames(store, token)
    return list(years(frames.panel, frames.register))


def report_folder(store: UserStore, token: str, settings: AnalysisSettings, year: str) -> Path:
    """Return the folder of a data set's report for ``year`` (named by a digest of the inputs)."""
    import hashlib

    if year not in report_years(store, token):
        raise ValueError(f"no report can be made for {year!r}")
    key = hashlib.sha256(repr((token, year, settings)).encode()).hexdigest()[:32]
    return store.root / "reports" / key


def annual_report(
    store: UserStore,
    token: str,
    settings: AnalysisSettings,
    year: str,
    *,
    progress: Callable[[int, int, str], None] | None = None,
) -> Path:
    """Write (once) the year's report HTML and workbook as ``pathfinder report`` does.

    The report is built from the data as at the year's end, with last year's report as the
    comparison, by :func:`evaluation.annual.build_annual_report`, rendered by
    :func:`reporting.render.render_html` and :func:`evaluation.annual.workbook.write_workbook`.
    Returns the folder; the PDF is made on first download (:func:`report_pdf`).
    """
    import os
    import shutil

    from evaluation.annual import report_for_year
    from evaluation.annual.workbook import write_workbook
    from evaluation.provenance import file_sha256
    from reporting.render import chart_svgs, render_html

    folder = report_folder(store, token, settings, year)
    if (folder / "report.html").exists():
        return folder
    note = progress or (lambda i, n, s: None)
    frames = load_frames(store, token)
    years = report_years(store, token)
    todo = years[max(years.index(year) - 1, 0) : years.index(year) + 1]
    sources: dict[str, dict[str, str]] = {
        k: {"file": p.name, "sha256": file_sha256(p)}
        for k, p in zip(KINDS, frames.paths, strict=True)
    }
    staging = Path(tempfile.mkdtemp(dir=store.root, prefix="report-"))
    previous = None
    steps = len(todo) + 2
    report = None
    for i, y in enumerate(todo):
        note(i, steps, f"analysing the data as at the end of {y}")
        report = report_for_year(
            frames.panel,
            frames.register,
            frames.ledger,
            y,
            staging / f"inputs-{y}",
            previous,
            sources=sources,
            **settings.pipeline_options(),
        )
        previous = report
    assert report is not None
    note(len(todo), steps, "drawing the charts and writing the report")
    html = render_html(report, svgs=chart_svgs(report.charts()))
    (staging / "report.html").write_text(html, encoding="utf-8")
    note(len(todo) + 1, steps, "writing the workbook")
    try:
        write_workbook(report, staging / "workbook.xlsx")
    except Exception as exc:  # a library fault must not hide the report itself
        (staging / "workbook-error.txt").write_text(
            f"{type(exc).__name__}: {exc}", encoding="utf-8"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists():  # another worker finished first
        shutil.rmtree(staging, ignore_errors=True)
    else:
        os.replace(staging, folder)
    note(steps, steps, "done")
    return folder


def report_pdf(folder: Path) -> Path:
    """Return the report's PDF, rendering it from its HTML on first use (WeasyPrint)."""
    from reporting.render import render_pdf

    pdf = folder / "report.pdf"
    if not pdf.exists():
        render_pdf((folder / "report.html").read_text(encoding="utf-8"), pdf)
    return pdf


def answer_history_view(
    store: UserStore,
    token: str,
    settings: AnalysisSettings,
    *,
    progress: Callable[[int, int, str], None] | None = None,
) -> pd.DataFrame:
    """Return how the answer moved: each year's headline on the data as at that year's end.

    One row per report year (:func:`evaluation.annual.answer_history`), each year analysed as
    ``pathfinder report`` does, without the robustness studies; cached on disk by data set and
    settings.
    """
    import shutil

    from evaluation.annual import answer_history, report_for_year

    key = ("history", token, settings)
    with _cache(store) as cache:
        hit = cache.get(key)
    if hit is not None:
        return hit
    note = progress or (lambda i, n, s: None)
    frames = load_frames(store, token)
    years = report_years(store, token)
    work = Path(tempfile.mkdtemp(dir=store.root, prefix="history-"))
    reports = []
    previous = None
    try:
        for i, year in enumerate(years):
            note(i, len(years), f"analysing the data as at the end of {year}")
            previous = report_for_year(
                frames.panel,
                frames.register,
                frames.ledger,
                year,
                work / year,
                previous,
                robustness=False,
                **settings.pipeline_options(),
            )
            reports.append(previous)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    note(len(years), len(years), "done")
    table = answer_history(reports)
    with _cache(store) as cache:
        cache.set(key, table)
    return table
