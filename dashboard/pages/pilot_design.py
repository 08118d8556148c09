"""Pilot design: how many pilot forces would show the effect, and power at break-even."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, dcc, html

from dashboard import components as c
from dashboard import ids
from dashboard.services import DESIGN_MAX_REPS, DesignView, pilot_design

__all__ = ["PATH", "TITLE", "layout", "register", "render_view"]

PATH = "/pilot-design"
TITLE = "Pilot design"
_CONTROLS = (ids.DESIGN.PILOTS, ids.DESIGN.SELECTION, ids.DESIGN.REPS, ids.DESIGN.SEED)


def _text_field(id: str, label: str, value: str, hint: str) -> html.Div:
    return html.Div(
        [
            html.Label(label, htmlFor=id, className="govuk-label"),
            html.Div(hint, id=f"{id}-hint", className="govuk-hint"),
            dcc.Input(
                id=id,
                type="text",
                value=value,
                className="govuk-input govuk-input--width-10",
            ),
        ],
        className="govuk-form-group",
    )


def _whole(x: Any) -> str:
    return c.fmt_num(x, 0)


def layout(ctx: Any, dataset: Any) -> Any:
    """Return the Pilot design page."""
    return html.Div(
        [
            c.heading("Pilot design", 1, "xl"),
            html.P(
                "How many pilot forces would a new pilot need to show its effect? Placebo pilots "
                "are drawn from your data's history before the first go-live, with effects "
                "planted, to find the smallest detectable effect (MDE) and the power to detect "
                "the break-even effect, at which the investment just pays for itself.",
                className="govuk-body-l",
            ),
            html.Form(
                html.Div(
                    [
                        html.Div(
                            [
                                _text_field(
                                    ids.DESIGN.PILOTS,
                                    "Numbers of pilot forces",
                                    "3,5,10",
                                    "Separated by commas, for example 3,5,10",
                                ),
                                c.select_field(
                                    ids.DESIGN.SELECTION,
                                    "Choice of pilot forces",
                                    [
                                        ("free", "Free"),
                                        ("stratified", "Stratified by force size"),
                                        ("both", "Both, side by side"),
                                    ],
                                    "free",
                                ),
                            ],
                            className="govuk-grid-column-one-half",
                        ),
                        html.Div(
                            [
                                c.number_field(
                                    ids.DESIGN.REPS,
                                    "Placebo pilots per design",
                                    20,
                                    step=1,
                                    min=2,
                                    max=DESIGN_MAX_REPS,
                                    hint=f"2 to {DESIGN_MAX_REPS}; more is slower and more precise",
                                ),
                                c.number_field(ids.DESIGN.SEED, "Seed", 20261206, step=1, min=0),
                            ],
                            className="govuk-grid-column-one-half",
                        ),
                    ],
                    className="govuk-grid-row",
                ),
                className="pf-form",
                **c.aria(label="Pilot design options"),
            ),
            html.Button(
                "Run the study",
                id=ids.DESIGN.RUN,
                n_clicks=0,
                className="govuk-button",
                type="button",
            ),
            c.progress_panel(
                ids.DESIGN.PROGRESS,
                ids.DESIGN.STATUS,
                ids.DESIGN.CANCEL,
                "Progress of the pilot-design study",
            ),
            html.Div(id=ids.DESIGN.RESULT, **c.aria(live="polite")),
        ]
    )


def render_view(v: DesignView) -> Any:
    """Return the table, chart and summary of a :class:`~dashboard.services.DesignView`."""
    from evaluation.pilot_design.chart import comparison_figure

    first, last, forces = v.history
    whole = {k: _whole for k in ("pilots", "waves", "follow-up (months)")}
    return html.Div(
        [
            c.heading("Designs compared", 2, "l"),
            c.inset(v.summary),
            html.P(
                f"Simulated on {forces} forces' history {first} to {last}, "
                f"{v.result.reps} placebo pilots a design (seed {v.result.seed}); break-even "
                "effects use your cost ledger with the bundled effects and parameters.",
                className="govuk-body",
            ),
            c.scroll_region(
                c.data_table(v.table, "MDE, power and size per design and metric", formats=whole),
                "Design comparison table",
            ),
            c.chart(
                comparison_figure(v.result),
                id="design-chart",
                summary=(
                    "Power at the break-even effect (top) and MDE per force-year (bottom) "
                    "against the number of pilot forces; dashed: 80% power and the break-even "
                    "effect."
                ),
                table=c.data_table(v.table, "Numbers behind the design chart", formats=whole),
            ),
        ]
    )


def register(app: Any, ctx: Any) -> None:
    """Register the study as a background callback with a progress bar and a cancel button."""
    store = ctx.store

    @app.callback(
        Output(ids.DESIGN.RESULT, "children"),
        Input(ids.DESIGN.RUN, "n_clicks"),
        *[State(i, "value") for i in _CONTROLS],
        State(ids.DATASET, "data"),
        background=True,
        manager=ctx.manager,
        progress=[
            Output(ids.DESIGN.PROGRESS, "value"),
            Output(ids.DESIGN.PROGRESS, "max"),
            Output(ids.DESIGN.STATUS, "children"),
        ],
        running=[
            (Output(ids.DESIGN.CANCEL, "disabled"), False, True),
            (Output(ids.DESIGN.RUN, "disabled"), True, False),
        ],
        cancel=[Input(ids.DESIGN.CANCEL, "n_clicks")],
        prevent_initial_call=True,
    )
    def _study(
        set_progress: Any,
        n_clicks: int,
        pilots: str,
        selection: str,
        reps: Any,
        seed: Any,
        token: str | None,
    ) -> Any:
        from evaluation.errors import PathfinderError

        if not n_clicks or not token:
            return None

        def progress(i: int, n: int, text: str) -> None:
            set_progress((str(i), str(n), text[:1].upper() + text[1:] + "."))

        try:
            view = pilot_design(
                store,
                token,
                pilots or "",
                selection,
                reps=int(reps) if isinstance(reps, int | float) and reps == int(reps) else reps,
                seed=int(seed) if isinstance(seed, int | float) and seed == int(seed) else seed,
                progress=progress,
            )
        except (PathfinderError, ValueError) as exc:
            set_progress(("0", "1", "Stopped."))
            return c.error_summary("These designs cannot be simulated", [str(exc)])
        set_progress(("1", "1", "Done."))
        return render_view(view)
