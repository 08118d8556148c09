"""Accessible building blocks in the GOV.UK Design System's markup (native HTML controls).

Dash 4's own dropdown and radio components fail axe-core; these use ``<select>`` (through
``dash-bootstrap-components``' native ``Select``, without its theme) and ``<input>`` with a
``<label for>``, and tables with captions and column headers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

__all__ = [
    "ChartParts",
    "chart",
    "chart_frame",
    "chart_parts",
    "data_table",
    "error_summary",
    "fmt_gbp",
    "fmt_num",
    "fmt_p",
    "fmt_pct",
    "heading",
    "inset",
    "number_field",
    "progress_panel",
    "scroll_region",
    "select_field",
    "summary_list",
    "warning_text",
]

Formatter = Callable[[Any], str]


def _missing(x: Any) -> bool:
    try:
        return x is None or (isinstance(x, float) and math.isnan(x)) or bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def fmt_num(x: Any, digits: int = 2) -> str:
    """Return ``x`` with thousands separators (``-`` for missing)."""
    if _missing(x):
        return "–"
    if isinstance(x, int | float):
        return f"{x:,.{digits}f}"
    return str(x)


def fmt_gbp(x: Any) -> str:
    """Return a money amount as ``£12.3m`` (or ``-£1.2m``)."""
    if _missing(x):
        return "–"
    v = float(x)
    sign = "-" if v < 0 else ""
    v = abs(v)
    if v >= 1e6:
        return f"{sign}£{v / 1e6:,.1f}m"
    if v >= 1e3:
        return f"{sign}£{v / 1e3:,.0f}k"
    return f"{sign}£{v:,.0f}"


def fmt_pct(x: Any, digits: int = 0) -> str:
    """Return a share as a percentage."""
    return "–" if _missing(x) else f"{100 * float(x):.{digits}f}%"


def fmt_p(x: Any) -> str:
    """Return a p-value (``< 0.001`` below that)."""
    if _missing(x):
        return "–"
    return "< 0.001" if float(x) < 0.001 else f"{float(x):.3f}"


def aria(**attrs: str) -> dict[str, Any]:
    """Return ``aria-*`` attributes for a component (``aria(live="polite")``).

    >>> aria(live="polite", label="Pages")
    {'aria-live': 'polite', 'aria-label': 'Pages'}
    """
    return {f"aria-{k.replace('_', '-')}": v for k, v in attrs.items()}


def heading(text: str, level: int = 2, size: str = "l") -> Any:
    """Return a GOV.UK heading."""
    tag = {1: html.H1, 2: html.H2, 3: html.H3}[level]
    return tag(text, className=f"govuk-heading-{size}")


def inset(text: Any) -> html.Div:
    """Return GOV.UK inset text (a one-line summary beside a chart)."""
    return html.Div(text, className="govuk-inset-text")


def warning_text(text: str) -> html.Div:
    """Return GOV.UK warning text."""
    return html.Div(
        [
            html.Span("!", className="govuk-warning-text__icon", **aria(hidden="true")),
            html.Strong(
                [html.Span("Warning", className="govuk-visually-hidden"), " ", text],
                className="govuk-warning-text__text",
            ),
        ],
        className="govuk-warning-text",
    )


def error_summary(title: str, items: Sequence[str], *, id: str | None = None) -> html.Div:
    """Return a GOV.UK error summary (announced by screen readers)."""
    return html.Div(
        html.Div(
            [
                html.H2(title, className="govuk-error-summary__title"),
                html.Div(
                    html.Ul(
                        [html.Li(i) for i in items],
                        className="govuk-list govuk-error-summary__list",
                    ),
                    className="govuk-error-summary__body",
                ),
            ],
            role="alert",
        ),
        className="govuk-error-summary",
        id=id or "",
    )


def summary_list(rows: Sequence[tuple[str, Any]]) -> html.Dl:
    """Return a GOV.UK summary list of ``(key, value)`` rows."""
    return html.Dl(
        [
            html.Div(
                [
                    html.Dt(k, className="govuk-summary-list__key"),
                    html.Dd(v, className="govuk-summary-list__value"),
                ],
                className="govuk-summary-list__row",
            )
            for k, v in rows
        ],
        className="govuk-summary-list",
    )


def data_table(
    frame: pd.DataFrame,
    caption: str,
    *,
    formats: Mapping[str, Formatter] | None = None,
    labels: Mapping[str, str] | None = None,
    numeric: Sequence[str] | None = None,
    max_rows: int = 500,
) -> html.Table:
    """Return ``frame`` as a GOV.UK table with a caption and column headers."""
    formats = dict(formats or {})
    labels = dict(labels or {})
    cols = list(frame.columns)
    num = set(numeric if numeric is not None else frame.select_dtypes("number").columns)
    head = html.Thead(
        html.Tr(
            [
                html.Th(
                    labels.get(c, str(c).replace("_", " ")),
                    scope="col",
                    className="govuk-table__header"
                    + (" govuk-table__header--numeric" if c in num else ""),
                )
                for c in cols
            ],
            className="govuk-table__row",
        ),
        className="govuk-table__head",
    )
    body_rows = []
    for _, rec in frame.head(max_rows).iterrows():
        cells = []
        for c in cols:
            v = rec[c]
            text = formats[c](v) if c in formats else (fmt_num(v) if c in num else _text(v))
            cells.append(
                html.Td(
                    text,
                    className="govuk-table__cell"
                    + (" govuk-table__cell--numeric" if c in num else ""),
                )
            )
        body_rows.append(html.Tr(cells, className="govuk-table__row"))
    more = len(frame) - max_rows
    cap = caption + (f" (first {max_rows} of {len(frame)} rows)" if more > 0 else "")
    return html.Table(
        [
            html.Caption(cap, className="govuk-table__caption govuk-table__caption--s"),
            head,
            html.Tbody(body_rows, className="govuk-table__body"),
        ],
        className="govuk-table",
    )


def _text(v: Any) -> str:
    return "" if _missing(v) else str(v)


@dataclass(frozen=True)
class ChartParts:
    """What a chart frame shows: the figure, its one-line summary and alternative, its numbers.

    A page whose chart changes with its inputs keeps the frame (:func:`chart_frame`) and updates
    these parts (:meth:`outputs` names them), so the browser redraws the figure in place rather
    than building a new chart.
    """

    figure: Any
    summary: str
    label: str
    numbers: Any

    @staticmethod
    def outputs(id: str) -> list[tuple[str, str]]:
        """Return the ``(component id, property)`` of each part of the frame ``id``, in order."""
        return [
            (id, "figure"),
            (f"{id}-summary", "children"),
            (f"{id}-img", "aria-label"),
            (f"{id}-numbers", "children"),
        ]

    def values(self) -> tuple[Any, ...]:
        """Return the parts in the order of :meth:`outputs`."""
        return (self.figure, self.summary, self.label, self.numbers)


def chart_parts(
    figure: Any, *, summary: str, table: html.Table, download: Any = None
) -> ChartParts:
    """Return the parts of a chart: ``figure`` sized to its frame, ``summary`` and its numbers.

    The figure's description (``layout.meta["alt"]``, set by :mod:`evaluation.plots`) names the
    chart for assistive technology; the numbers drawn are in ``table`` (and ``download``).
    """
    from evaluation.plots import alt_text

    figure.update_layout(width=None, autosize=True)
    numbers = [table, download] if download is not None else table
    return ChartParts(figure=figure, summary=summary, label=alt_text(figure), numbers=numbers)


def chart_frame(id: str, parts: ChartParts | None = None) -> html.Figure:
    """Return a chart with its one-line summary, its text alternative and its numbers.

    The parts have the ids of :meth:`ChartParts.outputs`; without ``parts`` the frame is empty,
    for a callback to fill.
    """
    figure, summary, label, numbers = parts.values() if parts else ({}, "", "Chart", None)
    details = html.Details(
        [
            html.Summary(
                html.Span("Numbers behind this chart", className="govuk-details__summary-text"),
                className="govuk-details__summary",
            ),
            html.Div(
                numbers,
                id=f"{id}-numbers",
                className="govuk-details__text pf-scroll",
                tabIndex="0",
                role="region",
                **aria(labelledby=f"{id}-summary"),
            ),
        ],
        className="govuk-details",
    )
    return html.Figure(
        [
            html.Figcaption(
                summary, id=f"{id}-summary", className="govuk-body govuk-!-font-weight-bold"
            ),
            html.Div(
                dcc.Graph(
                    id=id,
                    figure=figure,
                    config={"displayModeBar": False, "responsive": True},
                    className="pf-graph",
                ),
                id=f"{id}-img",
                role="img",
                **aria(label=label),
            ),
            details,
        ],
        className="pf-figure",
    )


def chart(
    figure: Any,
    *,
    id: str,
    summary: str,
    table: html.Table,
    download: Any = None,
) -> html.Figure:
    """Return a chart with its one-line summary, its text alternative and its numbers."""
    return chart_frame(id, chart_parts(figure, summary=summary, table=table, download=download))


def scroll_region(children: Any, label: str) -> html.Div:
    """Return a region that scrolls sideways and can be reached and scrolled by keyboard."""
    return html.Div(
        children,
        className="govuk-details__text pf-scroll",
        tabIndex="0",
        role="region",
        **aria(label=label),
    )


def select_field(
    id: str,
    label: str,
    options: Sequence[tuple[str, str]] | Mapping[str, str],
    value: str,
    *,
    hint: str | None = None,
) -> html.Div:
    """Return a labelled native ``<select>``; ``options`` are ``(value, label)`` pairs."""
    pairs = list(options.items()) if isinstance(options, Mapping) else list(options)
    children: list[Any] = [html.Label(label, htmlFor=id, className="govuk-label")]
    extra: dict[str, str] = {}
    if hint:
        children.append(html.Div(hint, id=f"{id}-hint", className="govuk-hint"))
    children.append(
        dbc.Select(
            id=id,
            options=[{"label": lab, "value": val} for val, lab in pairs],
            value=value,
            className="govuk-select",
            **extra,
        )
    )
    return html.Div(children, className="govuk-form-group")


def number_field(
    id: str,
    label: str,
    value: float,
    *,
    step: float | str = "any",
    min: float | None = None,
    max: float | None = None,
    hint: str | None = None,
    width: int = 10,
) -> html.Div:
    """Return a labelled native number ``<input>``.

    The value is sent when the user leaves the field or presses Enter.
    """
    children: list[Any] = [html.Label(label, htmlFor=id, className="govuk-label")]
    if hint:
        children.append(html.Div(hint, id=f"{id}-hint", className="govuk-hint"))
    children.append(
        dcc.Input(
            id=id,
            type="number",
            value=value,
            step=step,
            min=min,
            max=max,
            debounce=True,
            className=f"govuk-input govuk-input--width-{width}",
            inputMode="decimal",  # type: ignore[arg-type]  # valid HTML, not in the stub
        )
    )
    return html.Div(children, className="govuk-form-group")


def progress_panel(progress_id: str, status_id: str, cancel_id: str, label: str) -> html.Div:
    """Return a progress bar with a status line and a cancel button for background work."""
    return html.Div(
        [
            html.Label(label, htmlFor=progress_id, className="govuk-label"),
            html.Progress(id=progress_id, value="0", max="1", className="pf-progress"),
            html.P(id=status_id, className="govuk-body", role="status"),
            html.Button(
                "Cancel",
                id=cancel_id,
                n_clicks=0,
                className="govuk-button govuk-button--secondary",
                type="button",
            ),
        ],
        className="pf-progress-panel",
    )
