"""Annual reports: pick a financial year; the report renders in the page; download it."""

from __future__ import annotations

import re
from typing import Any

import flask
from dash import Input, Output, State, html

from dashboard import components as c
from dashboard import ids
from dashboard.auth import current_user
from dashboard.services import (
    REPORT_FILES,
    annual_report,
    report_folder,
    report_pdf,
    report_years,
)

__all__ = ["PATH", "TITLE", "layout", "register"]

PATH = "/reports"
TITLE = "Annual reports"
_YEAR = re.compile(r"^\d{4}-\d{2}$")
_TYPES = {
    "report.html": "text/html",
    "report.pdf": "application/pdf",
    "workbook.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def layout(ctx: Any, dataset: Any) -> Any:
    """Return the Annual reports page."""
    years = report_years(ctx.store, dataset.token)
    return html.Div(
        [
            c.heading("Annual reports", 1, "xl"),
            html.P(
                "The annual cost-benefit report of a financial year, from the data as they stood "
                "at its end, exactly as the report command writes it: the page shows the HTML "
                "report; download it, its PDF and its workbook.",
                className="govuk-body-l",
            ),
            c.select_field(
                ids.REPORTS.YEAR, "Financial year", [(y, y) for y in reversed(years)], years[-1]
            ),
            c.progress_panel(
                ids.REPORTS.PROGRESS,
                ids.REPORTS.STATUS,
                ids.REPORTS.CANCEL,
                "Progress of the report",
            ),
            html.Div(id=ids.REPORTS.RESULT, **c.aria(live="polite")),
        ]
    )


def _links(year: str, folder: Any) -> Any:
    labels = {
        "report.html": "Download the report (HTML)",
        "report.pdf": "Download the report (PDF)",
        "workbook.xlsx": "Download the workbook (Excel)",
    }
    return html.Ul(
        [
            html.Li(
                html.A(labels[n], href=f"/reports/{year}/{n}?download=1", className="govuk-link")
            )
            for n in REPORT_FILES
            if n != "workbook.xlsx" or (folder / n).exists()
        ]
        + [
            html.Li(
                "The workbook could not be written: "
                + (folder / "workbook-error.txt").read_text(encoding="utf-8"),
                className="govuk-error-message",
            )
            for _ in [1]
            if (folder / "workbook-error.txt").exists()
        ],
        className="govuk-list",
    )


def register(app: Any, ctx: Any) -> None:
    """Register the report's background job and the authenticated route serving its files."""
    store, settings = ctx.store, ctx.config.analysis

    def _serve(year: str, name: str) -> flask.Response:
        if not _YEAR.match(year) or name not in REPORT_FILES:
            flask.abort(404)
        token = ctx.dataset(current_user()).token
        try:
            folder = report_folder(store, token, settings, year)
        except ValueError:
            flask.abort(404)
        if not (folder / "report.html").exists():
            return flask.Response(
                "Prepare this report on the Annual reports page first.\n",
                404,
                mimetype="text/plain",
            )
        path = report_pdf(folder) if name == "report.pdf" else folder / name
        if not path.exists():
            flask.abort(404)
        download = flask.request.args.get("download") == "1"
        return flask.send_file(
            path,
            mimetype=_TYPES[name],
            as_attachment=download,
            download_name=f"pathfinder-{year}-{name}",
        )

    app.server.add_url_rule("/reports/<year>/<name>", "pathfinder_report_file", _serve)

    @app.callback(
        Output(ids.REPORTS.RESULT, "children"),
        Input(ids.REPORTS.YEAR, "value"),
        State(ids.DATASET, "data"),
        background=True,
        manager=ctx.manager,
        progress=[
            Output(ids.REPORTS.PROGRESS, "value"),
            Output(ids.REPORTS.PROGRESS, "max"),
            Output(ids.REPORTS.STATUS, "children"),
        ],
        running=[(Output(ids.REPORTS.CANCEL, "disabled"), False, True)],
        cancel=[Input(ids.REPORTS.CANCEL, "n_clicks")],
    )
    def _prepare(set_progress: Any, year: str, token: str | None) -> Any:
        from evaluation.errors import PathfinderError

        if not token or not isinstance(year, str) or not _YEAR.match(year):
            return None

        def progress(i: int, n: int, text: str) -> None:
            set_progress((str(i), str(n), f"Step {min(i + 1, n)} of {n}: {text}"))

        try:
            folder = annual_report(store, token, settings, year, progress=progress)
        except (PathfinderError, ValueError) as exc:
            set_progress(("0", "1", "Stopped."))
            return c.error_summary("The report could not be made", [str(exc)])
        set_progress(("1", "1", "Done."))
        return html.Div(
            [
                _links(year, folder),
                html.Iframe(
                    src=f"/reports/{year}/report.html",
                    title=f"Annual cost-benefit report {year}",
                    className="pf-report-frame",
                ),
            ]
        )
