"""Effects: did the pilots work? Trends, event study, estimators, pre-trends, sensitivity."""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import Input, Output, State, html, no_update

from dashboard import components as c
from dashboard import figures, ids
from dashboard.services import (
    ESTIMATOR_LABELS,
    INFERENCE_LABELS,
    effects_view,
    load_frames,
    metric_names,
)

__all__ = ["PATH", "TITLE", "layout", "register", "render_trends", "render_view"]

PATH = "/effects"
TITLE = "Effects"
_CONTROLS = (
    ids.EFFECTS.METRIC,
    ids.EFFECTS.METHOD,
    ids.EFFECTS.CONTROL,
    ids.EFFECTS.INFERENCE,
    ids.EFFECTS.BOUNDS,
)


def layout(ctx: Any, dataset: Any) -> Any:
    """Return the Effects page."""
    frames = load_frames(ctx.store, dataset.token)
    metrics = metric_names(frames)
    first = "outsourced_exams" if "outsourced_exams" in metrics else metrics[0]
    return html.Div(
        [
            c.heading("Effects", 1, "xl"),
            html.P(
                "Did the pilots work? Compare pilot forces with forces without a team, before "
                "and after go-live, with the estimator and inference of your choice.",
                className="govuk-body-l",
            ),
            html.Form(
                html.Div(
                    [
                        html.Div(
                            [
                                c.select_field(
                                    ids.EFFECTS.METRIC,
                                    "Metric",
                                    [(m, m.replace("_", " ")) for m in metrics],
                                    first,
                                ),
                                c.select_field(
                                    ids.EFFECTS.METHOD,
                                    "Estimator",
                                    [
                                        (k, v)
                                        for k, v in ESTIMATOR_LABELS.items()
                                        if k != "event_study"
                                    ],
                                    "cs",
                                ),
                            ],
                            className="govuk-grid-column-one-half",
                        ),
                        html.Div(
                            [
                                c.select_field(
                                    ids.EFFECTS.CONTROL,
                                    "Comparison group",
                                    [
                                        ("never", "Forces never in a pilot"),
                                        ("notyet", "Forces not yet live (and never)"),
                                    ],
                                    "never",
                                ),
                                c.select_field(
                                    ids.EFFECTS.INFERENCE,
                                    "Inference",
                                    list(INFERENCE_LABELS.items()),
                                    "",
                                ),
                                c.select_field(
                                    ids.EFFECTS.BOUNDS,
                                    "Sensitivity bounds for parallel trends",
                                    [("no", "Not computed"), ("yes", "Computed (takes minutes)")],
                                    "no",
                                ),
                            ],
                            className="govuk-grid-column-one-half",
                        ),
                    ],
                    className="govuk-grid-row",
                ),
                className="pf-form",
                **c.aria(label="Estimation options"),
            ),
            html.Div(id=ids.EFFECTS.TRENDS),
            c.progress_panel(
                ids.EFFECTS.PROGRESS,
                ids.EFFECTS.STATUS,
                ids.EFFECTS.CANCEL,
                "Progress of the estimation",
            ),
            html.Div(id=ids.EFFECTS.RESULT, **c.aria(live="polite")),
        ]
    )


def render_trends(frames: Any, metric: str) -> Any:
    """Return the pilots-versus-comparison trends chart with its numbers."""
    from evaluation.plots import trends_chart, trends_data

    table = trends_data(frames.panel, frames.register, metric)
    fig = trends_chart(frames.panel, frames.register, metric)
    last = table.iloc[-1]
    cols = [col for col in table.columns if col != "period"]
    summary = f"Mean {metric.replace('_', ' ')} per force by period, pilot and comparison forces"
    numbers = ", ".join(f"{col.replace('_', ' ')} {c.fmt_num(last[col], 1)}" for col in cols[:2])
    summary += f" (latest, {last.iloc[0]}: {numbers}); go-live dates are marked."
    return c.chart(
        fig,
        id="effects-trends-chart",
        summary=summary,
        table=c.data_table(table, f"Mean {metric} per force by period"),
    )


def _event_study_table(result: Any) -> pd.DataFrame | None:
    from evaluation.plots import event_study_data

    try:
        return event_study_data(result)
    except ValueError:
        return None


def render_view(v: Any) -> Any:
    """Return the estimation results of an :class:`~dashboard.services.EffectsView`."""
    o = v.overall
    sig = (
        "statistically significant at 5%"
        if o["p_value"] < 0.05
        else "not statistically significant at 5%"
    )
    out: list[Any] = [
        c.heading("Estimated effect", 2, "l"),
        c.summary_list(
            [
                ("Effect per pilot force-period", c.fmt_num(o["estimate"])),
                (
                    "95% confidence interval",
                    f"{c.fmt_num(o['ci_low'])} to {c.fmt_num(o['ci_high'])}",
                ),
                ("p-value", f"{c.fmt_p(o['p_value'])} ({sig})"),
                ("Estimator", ESTIMATOR_LABELS.get(v.method, v.method)),
                ("Inference", INFERENCE_LABELS.get(v.inference, v.inference)),
                ("Design", f"{v.n_treated} pilot forces of {v.n_units}"),
            ]
        ),
    ]
    if v.warnings:
        out.append(c.heading("Design warnings", 3, "m"))
        out += [c.warning_text(w) for w in v.warnings]
    es = _event_study_table(v.event_result)
    if es is not None:
        from evaluation.plots import event_study_chart

        post = es[es["event_time"] >= 0]
        out.append(
            c.chart(
                event_study_chart(v.event_result),
                id="effects-event-study",
                summary=(
                    f"Before go-live the estimates should hover around zero; after go-live the "
                    f"average effect is {c.fmt_num(post['estimate'].mean())} per period."
                ),
                table=c.data_table(es, f"Event study of {v.metric}"),
            )
        )
    if v.pretrend is not None:
        pt = v.pretrend
        verdict = (
            "no evidence against parallel pre-trends"
            if pt["p_value"] >= 0.05
            else "evidence of differing pre-trends: treat the estimates with caution"
        )
        out.append(
            html.P(
                f"Pre-trend test: statistic {pt['statistic']:.2f} on {pt['df']:.0f} degrees "
                f"of freedom, p = {c.fmt_p(pt['p_value'])}: {verdict}.",
                className="govuk-body",
            )
        )
    est = v.estimators
    if "estimate" in est:
        out.append(
            c.chart(
                figures.estimators_forest(est, v.metric),
                id="effects-estimators",
                summary=(
                    "The same effect estimated by each estimator, with 95% intervals: "
                    "agreement is reassuring."
                ),
                table=c.data_table(
                    est, "Effects table across estimators", formats={"p_value": c.fmt_p}
                ),
            )
        )
    if not v.bounds.empty:
        out.append(c.heading("Sensitivity to violations of parallel trends", 3, "m"))
        out.append(
            c.data_table(
                v.bounds,
                "Relative-magnitude bounds (Rambachan and Roth): the effect's interval if "
                "post-period trend differences were up to Mbar times the largest pre-period one",
            )
        )
    return html.Div(out)


def register(app: Any, ctx: Any) -> None:
    """Register the Effects callbacks: trends at once, the estimation in the background."""

    @app.callback(
        Output(ids.EFFECTS.TRENDS, "children"),
        Input(ids.EFFECTS.METRIC, "value"),
        State(ids.DATASET, "data"),
    )
    def _trends(metric: str, token: str | None) -> Any:
        if not token or not metric:
            return no_update
        frames = load_frames(ctx.store, token)
        if metric not in metric_names(frames):
            return c.error_summary("Choose a metric", [f"unknown metric {metric!r}"])
        return render_trends(frames, metric)

    store, reps, seed = ctx.store, ctx.config.effects_reps, ctx.config.analysis.seed

    @app.callback(
        Output(ids.EFFECTS.RESULT, "children"),
        *[Input(i, "value") for i in _CONTROLS],
        State(ids.DATASET, "data"),
        background=True,
        manager=ctx.manager,
        progress=[
            Output(ids.EFFECTS.PROGRESS, "value"),
            Output(ids.EFFECTS.PROGRESS, "max"),
            Output(ids.EFFECTS.STATUS, "children"),
        ],
        running=[(Output(ids.EFFECTS.CANCEL, "disabled"), False, True)],
        cancel=[Input(ids.EFFECTS.CANCEL, "n_clicks")],
    )
    def _estimate(
        set_progress: Any,
        metric: str,
        method: str,
        control: str,
        inference: str,
        bounds: str,
        token: str | None,
    ) -> Any:
        from evaluation.errors import PathfinderError

        if not token or method not in ESTIMATOR_LABELS or inference not in INFERENCE_LABELS:
            return None

        def progress(i: int, n: int, text: str) -> None:
            set_progress((str(i), str(n), f"Step {min(i + 1, n)} of {n}: {text}"))

        try:
            view = effects_view(
                store,
                token,
                metric,
                method=method,
                control=control,
                inference=inference or None,
                reps=reps,
                seed=seed,
                bounds=bounds == "yes",
                progress=progress,
            )
        except (PathfinderError, ValueError) as exc:
            set_progress(("0", "1", "Stopped."))
            return c.error_summary("These options cannot be estimated", [str(exc)])
        set_progress(("1", "1", "Done."))
        return render_view(view)
