"""Data: upload a panel, pilot register or cost ledger; see the full validation report."""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import Input, Output, State, dcc, html, no_update

from dashboard import components as c
from dashboard import ids
from dashboard.auth import current_user
from dashboard.services import check_upload
from dashboard.store import KINDS

__all__ = ["PATH", "TITLE", "current_table", "layout", "register"]

PATH = "/data"
TITLE = "Data"

_KIND_LABELS = {
    "panel": "Force panel (one row per force and period)",
    "register": "Pilot register (force, wave, go-live date)",
    "ledger": "Cost ledger (the pilots' spending)",
}


def current_table(dataset: Any, default: Any) -> html.Table:
    """Return the table of the user's working files."""
    rows = []
    for kind in KINDS:
        ref = dataset.table(kind)
        rows.append(
            {
                "table": kind,
                "file": ref.name,
                "source": "bundled sample" if ref == default.table(kind) else "your upload",
                "sha256": ref.digest[:16] + "…",
            }
        )
    return c.data_table(pd.DataFrame(rows), "Your working data set", numeric=[])


def layout(ctx: Any, dataset: Any) -> Any:
    """Return the Data page."""
    limit_mb = ctx.config.max_upload_bytes / 1e6
    return html.Div(
        [
            c.heading("Data", 1, "xl"),
            html.P(
                "Load this year's returns from the forces. Each file is checked against the data "
                "contract; a file with any error changes nothing. A file that passes becomes "
                "your working data, used by every page (other users are not affected).",
                className="govuk-body-l",
            ),
            html.Div(current_table(dataset, ctx.default), id=ids.UPLOAD.CURRENT),
            html.Button(
                "Use the bundled sample data again",
                id=ids.UPLOAD.RESET,
                n_clicks=0,
                type="button",
                className="govuk-button govuk-button--secondary",
            ),
            c.heading("Upload a file", 2, "m"),
            c.select_field(
                ids.UPLOAD.KIND,
                "Which table is it?",
                [(k, _KIND_LABELS[k]) for k in KINDS],
                "panel",
            ),
            html.Div(
                [
                    html.Label(
                        "Choose a file",
                        htmlFor=ids.UPLOAD.FILE,
                        className="govuk-label",
                    ),
                    html.Div(
                        f"CSV, Excel (.xlsx) or Parquet, up to {limit_mb:.0f} MB.",
                        className="govuk-hint",
                    ),
                    dcc.Upload(
                        id=ids.UPLOAD.FILE,
                        children=html.Span("Choose a file to upload", className="govuk-body"),
                        multiple=False,
                        max_size=ctx.config.max_upload_bytes,
                        accept=".csv,.xlsx,.parquet",
                        className="pf-upload",
                    ),
                ],
                className="govuk-form-group",
            ),
            html.Div(id=ids.UPLOAD.STATUS, role="status", **c.aria(live="polite")),
            html.Div(id=ids.UPLOAD.REPORT),
        ]
    )


def _report(outcome: Any) -> Any:
    if outcome.problems.empty:
        return html.P(f"{outcome.name}: no problems found.", className="govuk-body")
    frame = outcome.problems.copy()
    frame["row"] = frame["row"].astype("object").where(frame["row"].notna(), "")
    return c.data_table(
        frame[["severity", "file", "row", "column", "value", "expected", "message"]],
        f"Validation report of {outcome.name}: every problem found",
        numeric=[],
        max_rows=2000,
    )


def register(app: Any, ctx: Any) -> None:
    """Register the Data page's callbacks."""

    @app.callback(
        Output(ids.UPLOAD.STATUS, "children"),
        Output(ids.UPLOAD.REPORT, "children"),
        Output(ids.UPLOAD.CURRENT, "children"),
        Output(ids.DATASET, "data", allow_duplicate=True),
        Input(ids.UPLOAD.FILE, "contents"),
        State(ids.UPLOAD.FILE, "filename"),
        State(ids.UPLOAD.KIND, "value"),
        prevent_initial_call=True,
    )
    def _upload(contents: str | None, filename: str | None, kind: str) -> tuple[Any, ...]:
        if not contents:
            return (no_update,) * 4
        user = current_user()
        if kind not in KINDS:
            return (
                c.error_summary("Choose a table", [f"unknown table {kind!r}"]),
                None,
                no_update,
                no_update,
            )
        outcome = check_upload(
            ctx.store,
            user,
            kind,
            filename or "upload",
            contents,
            ctx.dataset(user),
            max_bytes=ctx.config.max_upload_bytes,
        )
        dataset = ctx.dataset(user)
        if outcome.ok:
            status: Any = html.Div(
                html.P(outcome.message, className="govuk-notification-banner__heading"),
                className="govuk-notification-banner govuk-notification-banner--success pf-banner",
            )
        else:
            status = c.error_summary("The file was not loaded", [outcome.message])
        return status, _report(outcome), current_table(dataset, ctx.default), dataset.token

    @app.callback(
        Output(ids.UPLOAD.STATUS, "children", allow_duplicate=True),
        Output(ids.UPLOAD.CURRENT, "children", allow_duplicate=True),
        Output(ids.DATASET, "data", allow_duplicate=True),
        Input(ids.UPLOAD.RESET, "n_clicks"),
        prevent_initial_call=True,
    )
    def _reset(n: int | None) -> tuple[Any, ...]:
        if not n:
            return (no_update,) * 3
        user = current_user()
        ctx.store.reset(user)
        dataset = ctx.dataset(user)
        msg = html.P("You are using the bundled sample data again.", className="govuk-body")
        return msg, current_table(dataset, ctx.default), dataset.token
