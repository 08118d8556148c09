"""The annual report model: one frozen object every rendering reads.

:func:`build_annual_report` turns a :class:`~evaluation.pipeline.PipelineResult` (run on the data
as at the end of a financial year, see :mod:`.cutoff`) into an :class:`AnnualReport`: every
number, every table as a tidy DataFrame with typed columns, every chart as a plotly figure with
its data table, and the plain-language sentences. The HTML and PDF report, the workbook and the
dashboard render it; none of them computes anything again, so they cannot disagree.

The content of each part is built in :mod:`._sections`; this module holds the types and the
composition.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from evaluation.annual.formatting import format_value, safe_csv_text

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

    from evaluation.annual.cutoff import YearCut
    from evaluation.appraisal import Appraisal, ParameterSet
    from evaluation.pipeline import PipelineResult

__all__ = [
    "AnnualReport",
    "Chart",
    "Column",
    "Headline",
    "Pillar",
    "QaRoles",
    "Section",
    "Table",
    "build_annual_report",
]


@dataclass(frozen=True)
class Column:
    """A table column: its key in the frame, its header (with units) and its format kind."""

    name: str
    label: str
    kind: str = "text"


@dataclass(frozen=True)
class Table:
    """A captioned table: a tidy frame and how to show each column.

    ``frame`` holds raw values (pounds, shares, p-values); :meth:`rows` gives report text with
    the shared formats of :mod:`.formatting`, the workbook uses the same kinds as Excel number
    formats.
    """

    key: str
    caption: str
    frame: pd.DataFrame = field(compare=False, repr=False)
    columns: tuple[Column, ...]
    note: str = ""

    def headers(self) -> list[str]:
        """Return the column headers (with units)."""
        return [c.label for c in self.columns]

    def rows(self) -> list[list[str]]:
        """Return every row as formatted text, in column order."""
        cols = [(c.name, c.kind) for c in self.columns]
        return [
            [format_value(rec[name], kind) for name, kind in cols]
            for rec in self.frame.to_dict("records")
        ]

    def values(self) -> pd.DataFrame:
        """Return the raw values in column order, headed by the labels."""
        out = self.frame[[c.name for c in self.columns]].copy()
        out.columns = self.headers()
        return out

    def to_csv(self, path: str | Path) -> Path:
        """Write the raw values as CSV (UTF-8); text a spreadsheet would run gets a ``'``."""
        out = self.values()
        for col in out.columns:
            if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
                out[col] = out[col].map(safe_csv_text)
        target = Path(path)
        out.to_csv(target, index=False, encoding="utf-8")
        return target


@dataclass(frozen=True)
class Chart:
    """A chart with its data table (the numbers drawn) and its text alternative."""

    key: str
    title: str
    figure: go.Figure = field(compare=False, repr=False)
    table: Table
    alt: str


@dataclass(frozen=True)
class Section:
    """A titled part of the report: paragraphs, bullet points, tables and charts, in order."""

    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    bullets: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = ()
    subsections: tuple[Section, ...] = ()


@dataclass(frozen=True)
class Pillar:
    """A group of indicators (Soteria-style pillar) with its baseline, this year and trend."""

    key: str
    title: str
    question: str
    status: str
    summary: str
    table: Table
    charts: tuple[Chart, ...]


@dataclass(frozen=True)
class QaRoles:
    """Who commissioned, produced, assured and approved the analysis (Aqua Book QA roles)."""

    commissioner: str = "not recorded"
    analyst: str = "not recorded"
    assurer: str = "not recorded"
    approver: str = "not recorded"

    def items(self) -> list[tuple[str, str]]:
        """Return (role, name) pairs in Aqua Book order."""
        return [
            ("Commissioner", self.commissioner),
            ("Analyst", self.analyst),
            ("Assurer", self.assurer),
            ("Approver", self.approver),
        ]


@dataclass(frozen=True)
class Headline:
    """The year's answer in numbers (ex-post pilot view unless named otherwise; GBP real)."""

    first_year: str
    last_year: str
    price_base_year: str
    discount_base_year: str
    pv_costs: float
    pv_benefits: float
    npsv: float
    bcr: float
    vfm_category: str
    pv_benefits_cashable: float
    cashable_bcr: float
    payback_year: str | None
    prob_positive: float | None
    npsv_p10: float | None
    npsv_p50: float | None
    npsv_p90: float | None
    go_forward_npsv: float | None
    go_forward_bcr: float | None
    rollout_npsv: float | None
    rollout_bcr: float | None
    rollout_vfm: str | None
    rollout_forces: int | None
    break_even: tuple[str, ...]
    sms_level: int
    confidence: str
    confidence_reasons: tuple[str, ...]
    pilots_live: int
    comparison_forces: int

    def to_dict(self) -> dict[str, Any]:
        """Return the headline as a plain dict."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class AnnualReport:
    """Everything the annual report, the workbook and the dashboard show for one year.

    Attributes
    ----------
    year, year_end, last_period
        The financial year, its last day and the panel's last period in the data.
    title
        The report's title.
    cover
        Cover fields as (label, value) pairs, in order.
    qa
        QA roles.
    headline
        The year's answer in numbers.
    answer
        The yearly answer in one sentence.
    summary
        Executive summary points.
    sections
        Programme and theory of change, impact evaluation, costs, benefits, value for money,
        uncertainty and rollout, in order.
    pillars
        Soteria-style indicator pages.
    change
        The change since last year (``None`` for the first year or without a previous report).
    annexes
        Data dictionary, assumptions log, QA log and notes.
    warnings
        Every warning the estimators and the appraisal raised, in plain words.
    effects
        The effects table of the year (per metric, natural units per pilot force-year).
    appraisal, params
        The appraisal and parameter set behind the numbers (used by the workbook).
    manifest
        Provenance: input hashes, parameters, seed, version.
    """

    year: str
    year_end: str
    last_period: str
    title: str
    cover: tuple[tuple[str, str], ...]
    qa: QaRoles
    headline: Headline
    answer: str
    summary: tuple[str, ...]
    sections: tuple[Section, ...]
    pillars: tuple[Pillar, ...]
    change: Section | None
    annexes: tuple[Section, ...]
    warnings: tuple[str, ...]
    effects: pd.DataFrame = field(compare=False, repr=False)
    appraisal: Appraisal = field(compare=False, repr=False)
    params: ParameterSet = field(compare=False, repr=False)
    manifest: Mapping[str, Any] = field(compare=False, repr=False, default_factory=dict)
    metrics: Mapping[str, Any] = field(compare=False, repr=False, default_factory=dict)
    forces_live: tuple[str, ...] = ()
    version: str = ""
    seed: int | None = None

    def all_sections(self) -> Iterator[Section]:
        """Yield every section, subsection, the change section and the annexes."""

        def walk(s: Section) -> Iterator[Section]:
            yield s
            for sub in s.subsections:
                yield from walk(sub)

        for s in self.sections:
            yield from walk(s)
        if self.change is not None:
            yield from walk(self.change)
        for s in self.annexes:
            yield from walk(s)

    def charts(self) -> list[Chart]:
        """Return every chart of the report, in reading order."""
        out: list[Chart] = []
        sections = list(self.all_sections())
        # pillar pages come after the theory of change (the first section)
        out.extend(c for s in sections[:1] for c in s.charts)
        for p in self.pillars:
            out.extend(p.charts)
        out.extend(c for s in sections[1:] for c in s.charts)
        return out

    def tables(self) -> list[Table]:
        """Return every table (including charts' data tables), in reading order."""
        out: list[Table] = []
        for s in self.all_sections():
            out.extend(s.tables)
            out.extend(c.table for c in s.charts)
        for p in self.pillars:
            out.append(p.table)
            out.extend(c.table for c in p.charts)
        return out


def build_annual_report(
    result: PipelineResult,
    year: str,
    previous: AnnualReport | None = None,
    *,
    cut: YearCut | None = None,
    qa: QaRoles | None = None,
    sources: Mapping[str, Mapping[str, str]] | None = None,
    robustness: bool = True,
) -> AnnualReport:
    """Build the annual report model of financial year ``year``.

    Parameters
    ----------
    result
        The pipeline run on the data as at the end of ``year`` (:func:`.cutoff.cut_inputs`).
    year
        Financial year ``YYYY-YY``.
    previous
        Last year's report, for the change-since-last-year section.
    cut
        The cut behind ``result`` (its notes and last period); derived from ``result`` if
        ``None``.
    qa
        QA roles for the cover and the QA log.
    sources
        The original input files (``{"panel": {"file": ..., "sha256": ...}, ...}``) before the
        cut, for the QA log.
    robustness
        Whether to run the robustness checks of the metrics behind the core benefits (other
        estimators, placebo go-live, leave one pilot out; a few seconds per metric).

    Returns
    -------
    AnnualReport
        The frozen model.
    """
    from evaluation.annual import _impact as I
    from evaluation.annual import _money as M
    from evaluation.annual import _sections as S
    from evaluation.annual.cutoff import _check_year, year_end

    _check_year(year)
    end = year_end(year)
    from evaluation.annual.robustness import robustness_checks

    ctx = S.Context.make(result, year, end, cut=cut)
    qa = qa or QaRoles()
    rob = robustness_checks(result, ctx.benefit_metrics()) if robustness else None
    headline = S.headline(ctx, rob)
    warnings = I.all_warnings(ctx)
    pillars = S.pillars(ctx)
    sections = (
        S.programme(ctx, headline),
        I.impact(ctx, warnings, rob),
        M.costs(ctx),
        M.benefits(ctx),
        M.value_for_money(ctx, headline),
        M.uncertainty(ctx, headline),
        M.rollout(ctx, headline),
    )
    change = None
    if previous is not None:
        change = M.change_since(ctx, headline, previous)
    annexes = M.annexes(ctx, qa, sources or {})
    return AnnualReport(
        year=year,
        year_end=str(end.date()),
        last_period=ctx.last_period,
        title=f"Digital forensics pilots: annual cost-benefit report {year}",
        cover=S.cover(ctx, headline),
        qa=qa,
        headline=headline,
        answer=S.answer(ctx, headline),
        summary=S.summary(ctx, headline, pillars, change),
        sections=sections,
        pillars=pillars,
        change=change,
        annexes=annexes,
        warnings=warnings,
        effects=ctx.effects,
        appraisal=ctx.appraisal,
        params=ctx.params,
        manifest=dict(result.manifest),
        metrics=dict(ctx.metrics),
        forces_live=ctx.pilots,
        version=str(result.manifest.get("version", "")),
        seed=result.inputs.seed,
    )
