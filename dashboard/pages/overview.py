"""Overview: the answer for the working data set, the pilots by wave and the data coverage."""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import Input, Output, State, dcc, html, no_update

from dashboard import components as c
from dashboard import figures, ids
from dashboard.security import safe_csv
from dashboard.services import (
    answer_history_view,
    cached_pipeline_result,
    load_frames,
    metric_names,
    pipeline_result,
)

__all__ = ["PATH", "TITLE", "coverage", "history", "layout", "register", "render", "waves"]

PATH = "/"
TITLE = "Overview"


def layout(ctx: Any, dataset: Any) -> Any:
    """Return the Overview page (its results arrive from a background job)."""
    return html.Div(
        [
            c.heading("Do the digital forensics pilots pay for themselves?", 1, "xl"),
            html.P(
                "The answer for your working data set: estimated effects of the pilot teams and "
                "their Green Book appraisal, as the annual run computes them.",
                className="govuk-body-l",
            ),
            dcc.Store(id=ids.OVERVIEW.RUN, data=dataset.token),
            c.progress_panel(
                ids.OVERVIEW.PROGRESS,
                ids.OVERVIEW.STATUS,
                ids.OVERVIEW.CANCEL,
                "Progress of the analysis",
            ),
            html.Div(id=ids.OVERVIEW.RESULT, **c.aria(live="polite")),
            html.Button(
                "Download the effects and appraisal by year (CSV)",
                id=ids.OVERVIEW.DOWNLOAD_BUTTON,
                n_clicks=0,
                type="button",
                className="govuk-button govuk-button--secondary",
            ),
            dcc.Download(id=ids.OVERVIEW.DOWNLOAD),
            c.heading("How the answer moved year by year", 2, "l"),
            html.P(
                "Each year's answer on the data as they stood at that year's end, as the annual "
                "reports give it.",
                className="govuk-body",
            ),
            c.progress_panel(
                ids.OVERVIEW.HISTORY_PROGRESS,
                ids.OVERVIEW.HISTORY_STATUS,
                ids.OVERVIEW.HISTORY_CANCEL,
                "Progress of the year-by-year analysis",
            ),
            html.Div(id=ids.OVERVIEW.HISTORY, **c.aria(live="polite")),
        ]
    )


def waves(register: pd.DataFrame) -> pd.DataFrame:
    """Return pilot forces by wave: ``wave``, ``go_live`` (first date), ``forces``, ``names``."""
    g = register.groupby("wave", sort=True)
    return pd.DataFrame(
        {
            "wave": list(g.groups),
            "go_live": [pd.Timestamp(x).date().isoformat() for x in g["go_live"].min()],
            "forces": g["force"].count().to_list(),
            "names": [", ".join(sorted(v)) for v in g["force"].apply(list)],
        }
    )


def coverage(frames: Any) -> list[tuple[str, str]]:
    """Return what the working data cover, as summary rows."""
    p, r, led = frames.panel, frames.register, frames.ledger
    periods = sorted(p["period"].unique())
    metrics = metric_names(frames)
    cells = p["force"].nunique() * len(periods) * len(metrics)
    missing = int(p[metrics].isna().sum().sum()) + (cells - len(p) * len(metrics))
    return [
        (
            "Force panel",
            f"{p['force'].nunique()} forces, {len(periods)} periods ({periods[0]} to "
            f"{periods[-1]}), {len(metrics)} metrics",
        ),
        ("Missing values", f"{missing:,} of {cells:,} force-period-metric cells"),
        ("Pilot register", f"{len(r)} pilot forces in {r['wave'].nunique()} waves"),
        (
            "Cost ledger",
            f"{len(led)} lines, {led['financial_year'].min()} to "
            f"{led['financial_year'].max()}, {c.fmt_gbp(led['amount_gbp'].sum())} in cash terms",
        ),
    ]


def render(result: Any, frames: Any) -> Any:
    """Return the Overview's results for a pipeline result."""
    from evaluation.plots import cumulative_npsv_chart, cumulative_npsv_data

    a = result.appraisal
    s = a.summary
    mc = a.monte_carlo
    roll = a.rollout
    head = [
        ("Net present social value", c.fmt_gbp(s.npsv)),
        ("Benefit-cost ratio", f"{s.bcr:.2f}: {s.vfm_category} value for money"),
        (
            "Chance the NPSV is positive",
            c.fmt_pct(mc.prob_positive, 1) if mc is not None else "not run",
        ),
        ("Payback", s.payback_year or "not within the appraisal period"),
    ]
    if roll is not None:
        verdict = "would pay for itself" if roll.summary.npsv >= 0 else "would not pay for itself"
        head.append(
            (
                "National rollout",
                f"{verdict}: NPSV {c.fmt_gbp(roll.summary.npsv)}, "
                f"BCR {roll.summary.bcr:.2f} ({roll.summary.vfm_category})",
            )
        )
    w = waves(frames.register)
    n_comp = frames.panel["force"].nunique() - len(frames.register)
    eff = result.effects[["metric", "estimate", "se", "unit", "per", "p_value", "inference"]]
    out = [
        c.heading(f"The answer, {s.first_year} to {s.last_year}", 2, "l"),
        c.summary_list(head),
        c.heading("Pilots and comparison forces", 2, "l"),
        c.chart(
            figures.pilot_waves(w, n_comp),
            id="overview-waves",
            summary=(
                f"{len(frames.register)} pilot forces went live in {len(w)} waves; "
                f"{n_comp} forces without a team are the comparison."
            ),
            table=c.data_table(w, "Pilot forces by wave", numeric=["forces"]),
        ),
        c.heading("Estimated effects of the pilots", 2, "l"),
        c.data_table(
            eff, "Effect per pilot force and year, by metric", formats={"p_value": c.fmt_p}
        ),
        c.heading("Year by year", 2, "l"),
        c.chart(
            cumulative_npsv_chart(a),
            id="overview-by-year",
            summary=(
                f"The cumulative discounted net benefit reaches {c.fmt_gbp(s.npsv)} "
                f"by {s.last_year}."
            ),
            table=c.data_table(
                cumulative_npsv_data(a),
                "Present values by financial year",
                formats={k: c.fmt_gbp for k in cumulative_npsv_data(a).columns if "gbp" in k},
            ),
        ),
        c.heading("Data coverage", 2, "l"),
        c.summary_list(coverage(frames)),
    ]
    warnings = sorted({w for r in result.results.values() for w in r.warnings})
    if warnings:
        out.append(c.heading("Caveats", 2, "m"))
        out.append(
            html.Ul([html.Li(x) for x in warnings], className="govuk-list govuk-list--bullet")
        )
    return html.Div(out)


_HISTORY_SHOWN = (
    "financial_year",
    "pilots_live",
    "npsv",
    "bcr",
    "vfm_category",
    "prob_positive",
    "payback_year",
    "rollout_npsv",
    "confidence",
)


def history(table: pd.DataFrame) -> Any:
    """Return the year-by-year answer: chart, one-line summary and the numbers."""
    from evaluation.plots import answer_history_chart, answer_history_data

    if table.empty:
        return html.P("No annual report can be made on this data yet.", className="govuk-body")
    data = answer_history_data(table)
    first, last = data.iloc[0], data.iloc[-1]
    if len(data) == 1:
        summary = (
            f"The {last['report_year']} report is the first: NPSV {c.fmt_gbp(last['npsv_gbp'])}, "
            f"BCR {last['bcr']:.2f}."
        )
    else:
        summary = (
            f"From the {first['report_year']} report to the {last['report_year']} report the "
            f"pilots' NPSV moved from {c.fmt_gbp(first['npsv_gbp'])} to "
            f"{c.fmt_gbp(last['npsv_gbp'])} and the BCR from {first['bcr']:.2f} to "
            f"{last['bcr']:.2f} ({last['vfm_category']} value for money)."
        )
    shown = table[list(_HISTORY_SHOWN)]
    return c.chart(
        answer_history_chart(table),
        id="overview-history-chart",
        summary=summary,
        table=c.data_table(
            shown,
            "The answer in each year's report",
            formats={
                "npsv": c.fmt_gbp,
                "rollout_npsv": c.fmt_gbp,
                "bcr": lambda v: c.fmt_num(v, 2),
                "prob_positive": lambda v: c.fmt_pct(v, 0),
            },
            labels={
                "financial_year": "Report year",
                "pilots_live": "Pilots live",
                "npsv": "NPSV",
                "bcr": "BCR",
                "vfm_category": "Value for money",
                "prob_positive": "P(NPSV > 0)",
                "payback_year": "Payback",
                "rollout_npsv": "Rollout NPSV",
                "confidence": "Confidence",
            },
            numeric=["pilots_live", "npsv", "bcr", "prob_positive", "rollout_npsv"],
        ),
    )


def download_text(result: Any) -> str:
    """Return the effects table and the appraisal by year as one CSV text (formulas made inert)."""
    effects = safe_csv(result.effects, float_format="%.6g")
    by_year = safe_csv(result.appraisal.by_year, float_format="%.6g")
    return f"# Estimated effects\n{effects}\n# Appraisal by financial year\n{by_year}"


def register(app: Any, ctx: Any) -> None:
    """Register the Overview's background analysis and its download."""
    store, settings = ctx.store, ctx.config.analysis

    @app.callback(
        Output(ids.OVERVIEW.DOWNLOAD, "data"),
        Input(ids.OVERVIEW.DOWNLOAD_BUTTON, "n_clicks"),
        State(ids.DATASET, "data"),
        prevent_initial_call=True,
    )
    def _download(n: int | None, token: str | None) -> Any:
        result = cached_pipeline_result(store, token, settings) if n and token else None
        if result is None:
            return no_update
        return {"content": download_text(result), "filename": "pathfinder-results.csv"}

    @app.callback(
        Output(ids.OVERVIEW.RESULT, "children"),
        Input(ids.OVERVIEW.RUN, "data"),
        background=True,
        manager=ctx.manager,
        progress=[
            Output(ids.OVERVIEW.PROGRESS, "value"),
            Output(ids.OVERVIEW.PROGRESS, "max"),
            Output(ids.OVERVIEW.STATUS, "children"),
        ],
        running=[(Output(ids.OVERVIEW.CANCEL, "disabled"), False, True)],
        cancel=[Input(ids.OVERVIEW.CANCEL, "n_clicks")],
    )
    def _analyse(set_progress: Any, token: str | None) -> Any:
        from evaluation.errors import PathfinderError

        if not token:
            return None
        set_progress(("0", "2", "Step 1 of 2: estimating every metric's effect and appraising"))
        try:
            result = pipeline_result(store, token, settings)
        except PathfinderError as exc:
            set_progress(("0", "2", "Stopped."))
            return c.error_summary("The analysis could not run on this data", [str(exc)])
        set_progress(("1", "2", "Step 2 of 2: drawing the results"))
        out = render(result, load_frames(store, token))
        set_progress(("2", "2", "Done."))
        return out

    @app.callback(
        Output(ids.OVERVIEW.HISTORY, "children"),
        Input(ids.OVERVIEW.RESULT, "children"),
        State(ids.DATASET, "data"),
        background=True,
        manager=ctx.manager,
        progress=[
            Output(ids.OVERVIEW.HISTORY_PROGRESS, "value"),
            Output(ids.OVERVIEW.HISTORY_PROGRESS, "max"),
            Output(ids.OVERVIEW.HISTORY_STATUS, "children"),
        ],
        running=[(Output(ids.OVERVIEW.HISTORY_CANCEL, "disabled"), False, True)],
        cancel=[Input(ids.OVERVIEW.HISTORY_CANCEL, "n_clicks")],
    )
    def _history(set_progress: Any, result: Any, token: str | None) -> Any:
        """After the main answer is drawn, analyse each report year in turn."""
        from evaluation.errors import PathfinderError

        if not result or not token:
            return None

        def progress(i: int, n: int, text: str) -> None:
            set_progress((str(i), str(n), f"Year {min(i + 1, n)} of {n}: {text}"))

        try:
            table = answer_history_view(store, token, settings, progress=progress)
        except PathfinderError as exc:
            set_progress(("0", "1", "Stopped."))
            return c.error_summary("The year-by-year analysis could not run", [str(exc)])
        set_progress(("1", "1", "Done."))
        return history(table)
