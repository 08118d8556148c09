"""Value for money: what if the discount rate, a unit value or the rollout were different."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
from dash import ClientsideFunction, Input, Output, State, dcc, html, no_update

from dashboard import components as c
from dashboard import ids
from dashboard.services import (
    SCENARIOS,
    VfmInputs,
    appraise_what_if,
    load_frames,
    vfm_defaults,
)

__all__ = [
    "PATH",
    "TITLE",
    "headline",
    "layout",
    "parse_inputs",
    "register",
    "switching_table",
    "uncertainty",
]

PATH = "/value-for-money"
TITLE = "Value for money"

_CONTROLS = (
    ids.VFM.DISCOUNT,
    ids.VFM.OB_PILOT,
    ids.VFM.OB_ROLLOUT,
    ids.VFM.EXAM_PRICE,
    ids.VFM.HOUR_COST,
    ids.VFM.HOUR_SHARE,
    ids.VFM.PERIOD,
    ids.VFM.SCENARIO,
    ids.VFM.ROLLOUT_FORCES,
    ids.VFM.ROLLOUT_START,
)
_OB_LABELS = {
    "lower": "Lower bound",
    "upper": "Upper bound",
    "mitigated": "Upper bound reduced by mitigation",
    "none": "None",
}


def _ob_stages() -> tuple[str, ...]:
    from evaluation.appraisal.params import OB_STAGES

    return tuple(OB_STAGES)


def _ob_options() -> list[tuple[str, str]]:
    return [(k, _OB_LABELS.get(k, k)) for k in _ob_stages()]


def _next_years(last: str, n: int = 4) -> list[str]:
    start = int(str(last)[:4])
    return [f"{y}-{str(y + 1)[-2:]}" for y in range(start + 1, start + 1 + n)]


def layout(ctx: Any, dataset: Any) -> Any:
    """Return the value-for-money page with the parameter set's values in the controls."""
    d = vfm_defaults()
    ledger = load_frames(ctx.store, dataset.token).ledger
    years = _next_years(str(ledger["financial_year"].max()))
    starts = [("after-ledger", f"The year after the last outturn ({years[0]})")] + [
        (y, y) for y in years[1:]
    ]
    controls = html.Div(
        [
            html.Div(
                [
                    c.number_field(
                        ids.VFM.DISCOUNT,
                        "Discount rate, years 1 to 30 (%)",
                        round(100 * d.discount_rate, 4),
                        min=0,
                        max=20,
                        hint="Green Book: 3.5%",
                    ),
                    c.select_field(
                        ids.VFM.OB_PILOT,
                        "Optimism bias on the pilots' forecast costs",
                        _ob_options(),
                        d.ob_pilot,
                    ),
                    c.select_field(
                        ids.VFM.OB_ROLLOUT,
                        "Optimism bias on the national rollout",
                        _ob_options(),
                        d.ob_rollout,
                    ),
                    c.number_field(
                        ids.VFM.PERIOD,
                        "Appraisal period (years)",
                        d.period_years,
                        step=1,
                        min=1,
                        max=60,
                        width=4,
                    ),
                    c.select_field(
                        ids.VFM.SCENARIO,
                        "Effect scenario",
                        [
                            ("central", "Central estimates"),
                            ("low", "Low: effects 1.28 standard errors less beneficial"),
                            ("high", "High: effects 1.28 standard errors more beneficial"),
                        ],
                        d.scenario,
                    ),
                ],
                className="govuk-grid-column-one-half",
            ),
            html.Div(
                [
                    c.number_field(
                        ids.VFM.EXAM_PRICE,
                        "Price of an outsourced examination (£, 2024-25 prices)",
                        d.exam_price,
                        min=0,
                    ),
                    c.number_field(
                        ids.VFM.HOUR_COST,
                        "Officer hour, sergeant and below (£, 2014-15 prices)",
                        d.hour_cost,
                        min=0,
                    ),
                    c.number_field(
                        ids.VFM.HOUR_SHARE,
                        "Share of an hour's cost valued when released (0 to 1)",
                        d.hour_share,
                        min=0,
                        max=1,
                    ),
                    c.select_field(
                        ids.VFM.ROLLOUT_FORCES,
                        "Rollout to",
                        [
                            ("all", "All 43 forces"),
                            ("non-pilot", "The forces without a pilot team"),
                        ],
                        d.rollout_forces,
                    ),
                    c.select_field(
                        ids.VFM.ROLLOUT_START, "Rollout starts in", starts, d.rollout_start
                    ),
                ],
                className="govuk-grid-column-one-half",
            ),
        ],
        className="govuk-grid-row",
    )
    return html.Div(
        [
            c.heading("Value for money", 1, "xl"),
            html.P(
                "Change an assumption and the appraisal is recomputed with the Green Book rules "
                "of the library. The headline and the year-by-year figures update at once; the "
                "sensitivity and Monte Carlo analysis follow in the background.",
                className="govuk-body-l",
            ),
            html.Form(
                controls,
                id=ids.VFM.FORM,
                className="pf-form",
                **c.aria(label="What-if assumptions"),
            ),
            html.Div(id=ids.VFM.ERROR),
            dcc.Store(id=ids.VFM.APPLIED),
            dcc.Store(id=ids.VFM.SETTLED),
            dcc.Store(id=ids.VFM.SETTLE_DELAY, data=UNCERTAINTY_DELAY_MS),
            headline_frame(),
            c.heading("Uncertainty", 2, "l"),
            c.progress_panel(
                ids.VFM.PROGRESS,
                ids.VFM.STATUS,
                ids.VFM.CANCEL_MC,
                "Progress of the uncertainty analysis",
            ),
            html.Div(id=ids.VFM.UNCERTAINTY),
        ]
    )


def parse_inputs(values: tuple[Any, ...]) -> tuple[VfmInputs | None, list[str]]:
    """Turn the controls' values into :class:`VfmInputs`, or return what is wrong."""
    d = vfm_defaults()
    (rate, ob_p, ob_r, price, hour, share, period, scenario, forces, start) = values
    errors = []

    def num(v: Any, label: str, lo: float, hi: float | None = None) -> float:
        try:
            x = float(v)
        except (TypeError, ValueError):
            errors.append(f"{label}: enter a number")
            return float("nan")
        if x < lo or (hi is not None and x > hi):
            errors.append(
                f"{label}: enter a number from {lo:g}"
                + (f" to {hi:g}" if hi is not None else " up")
            )
        return x

    r = num(rate, "Discount rate", 0, 20)
    pr = num(price, "Price of an outsourced examination", 0)
    hc = num(hour, "Officer hour", 0)
    sh = num(share, "Share of an hour's cost", 0, 1)
    pe = num(period, "Appraisal period", 1, 60)
    if pe == pe and pe != int(pe):
        errors.append("Appraisal period: enter a whole number of years")
    for label, v, allowed in (
        ("Optimism bias (pilots)", ob_p, _ob_stages()),
        ("Optimism bias (rollout)", ob_r, _ob_stages()),
        ("Effect scenario", scenario, SCENARIOS),
        ("Rollout to", forces, ("all", "non-pilot")),
    ):
        if v not in allowed:
            errors.append(f"{label}: choose one of {', '.join(allowed)}")
    if not (start == "after-ledger" or (isinstance(start, str) and len(start) == 7)):
        errors.append("Rollout starts in: choose a financial year")
    if errors:
        return None, errors
    return (
        replace(
            d,
            discount_rate=r / 100,
            ob_pilot=ob_p,
            ob_rollout=ob_r,
            exam_price=pr,
            hour_cost=hc,
            hour_share=sh,
            period_years=int(pe),
            scenario=scenario,
            rollout_forces=forces,
            rollout_start=start,
        ),
        [],
    )


def _gbp_table(frame: pd.DataFrame, caption: str) -> Any:
    return c.data_table(
        frame, caption, formats={k: c.fmt_gbp for k in frame.columns if k.endswith("_gbp")}
    )


UNCERTAINTY_DELAY_MS = 600
"""How long the inputs must stay unchanged before the uncertainty job starts (milliseconds):
several changes in quick succession (typing values in turn) run it once, for the last, and
leave the processors to the headline meanwhile."""

STATUS_PENDING = "Sensitivity and Monte Carlo for these assumptions start in a moment…"
"""What the uncertainty panel says between a change and its job's start (never "Up to date."
over the previous assumptions' results)."""

HEADLINE_OUTPUTS: tuple[tuple[str, str], ...] = (
    (ids.VFM.PILOT_SUMMARY, "children"),
    *c.ChartParts.outputs(ids.VFM.PILOT_CHART),
    (ids.VFM.ROLLOUT, "hidden"),
    (ids.VFM.ROLLOUT_SUMMARY, "children"),
    *c.ChartParts.outputs(ids.VFM.ROLLOUT_CHART),
)
"""What the what-if callback updates, in the order :func:`headline` returns it.

The charts stay on the page and only their parts change, so the browser redraws each figure in
place (``Plotly.react``) instead of building a new chart for every change of an input.
"""


def headline_frame() -> Any:
    """Return the empty headline: the pilots' and the rollout's measures and charts."""
    return html.Div(
        [
            c.heading("The pilots", 2, "l"),
            html.Div(id=ids.VFM.PILOT_SUMMARY),
            c.chart_frame(ids.VFM.PILOT_CHART),
            html.Div(
                [
                    c.heading("National rollout", 2, "l"),
                    html.Div(id=ids.VFM.ROLLOUT_SUMMARY),
                    c.chart_frame(ids.VFM.ROLLOUT_CHART),
                ],
                id=ids.VFM.ROLLOUT,
                hidden=True,
            ),
        ],
        id=ids.VFM.HEADLINE,
        **c.aria(live="polite"),
    )


def headline(a: Any) -> tuple[Any, ...]:
    """Return the headline measures and year-by-year charts of an appraisal.

    The values are those of :data:`HEADLINE_OUTPUTS`, in order; without a rollout its section is
    hidden and its parts are empty.
    """
    from evaluation.plots import (
        cumulative_npsv_chart,
        cumulative_npsv_data,
        rollout_chart,
        rollout_data,
    )

    s = a.summary
    payback = (
        f"{s.payback_year} (year {s.payback_years})" if s.payback_year else "Not within the period"
    )
    rows = [
        ("Net present social value (NPSV)", c.fmt_gbp(s.npsv)),
        ("Benefit-cost ratio", f"{s.bcr:.2f}: {s.vfm_category} value for money"),
        ("Payback", payback),
        ("Present value of costs", c.fmt_gbp(s.pv_costs)),
        (
            "Present value of benefits",
            f"{c.fmt_gbp(s.pv_benefits)} ({c.fmt_gbp(s.pv_benefits_cashable)} cashable)",
        ),
        ("Appraisal period", f"{s.first_year} to {s.last_year}, prices of {s.price_base_year}"),
    ]
    if a.go_forward is not None:
        rows.append(
            (
                "Go-forward view (sunk costs excluded)",
                f"NPSV {c.fmt_gbp(a.go_forward.npsv)}, BCR {a.go_forward.bcr:.2f}",
            )
        )
    pilots = c.chart_parts(
        cumulative_npsv_chart(a),
        summary=(
            f"Over {s.first_year} to {s.last_year} the pilots' benefits are worth "
            f"{c.fmt_gbp(s.pv_benefits)} against costs of {c.fmt_gbp(s.pv_costs)}: "
            f"NPSV {c.fmt_gbp(s.npsv)}."
        ),
        table=_gbp_table(cumulative_npsv_data(a), "Pilots' discounted costs and benefits by year"),
    )
    r = a.rollout
    if r is None:
        return (c.summary_list(rows), *pilots.values(), True, None, {}, "", "Chart", None)
    rs = r.summary
    verdict = "pays for itself" if rs.npsv >= 0 else "does not pay for itself"
    rollout_rows = [
        ("Rollout NPSV", c.fmt_gbp(rs.npsv)),
        ("Rollout benefit-cost ratio", f"{rs.bcr:.2f}: {rs.vfm_category} value for money"),
        ("Forces", f"{r.n_forces}, from {rs.first_year} to {rs.last_year}"),
        ("Verdict", f"On these assumptions a national rollout {verdict}."),
    ]
    rollout = c.chart_parts(
        rollout_chart(r),
        summary=(
            f"Rolled out to {r.n_forces} forces from {rs.first_year}, NPSV "
            f"{c.fmt_gbp(rs.npsv)} and BCR {rs.bcr:.2f}."
        ),
        table=_gbp_table(rollout_data(r), "Rollout costs and benefits by financial year"),
    )
    return (
        c.summary_list(rows),
        *pilots.values(),
        False,
        c.summary_list(rollout_rows),
        *rollout.values(),
    )


def _sig(v: Any) -> str:
    return "–" if v is None or v != v else f"{float(v):,.4g}"


def _input_label(key: str, description: str) -> str:
    kind, _, name = str(key).partition(":")
    if kind == "effect":
        return f"Effect on {name.replace('_', ' ')} ({description})"
    return str(description)


def switching_table(switching: pd.DataFrame) -> pd.DataFrame:
    """Return the switching values in words: input, central and switching value, change needed.

    ``possible`` says whether the switching value could happen, and why not or what it means.
    """

    def possible(row: Any) -> str:
        if row["feasible"] is None or row["switching_value"] != row["switching_value"]:
            return str(row["note"])
        if not row["feasible"]:
            return f"No: {row['infeasible_because']}"
        return f"Yes ({row['note']})" if row["note"] else "Yes"

    return pd.DataFrame(
        {
            "input": [
                _input_label(k, d)
                for k, d in zip(switching["input"], switching["description"], strict=True)
            ],
            "central": switching["central"].astype(float).to_numpy(),
            "switching_value": switching["switching_value"].astype(float).to_numpy(),
            "change_pct": switching["change_pct"].astype(float).to_numpy(),
            "possible": [possible(r) for _, r in switching.iterrows()],
        }
    )


def uncertainty(a: Any) -> Any:
    """Return the tornado, the Monte Carlo distribution and the scenarios of an appraisal."""
    from evaluation.plots import monte_carlo_chart, monte_carlo_data, tornado_chart, tornado_data

    u = a.uncertainty
    out: list[Any] = []
    sens = u.sensitivity
    if not sens.empty:
        data = tornado_data(sens)
        top = data.iloc[0]
        out.append(
            c.chart(
                tornado_chart(sens),
                id="vfm-tornado",
                summary=(
                    f"The NPSV is most sensitive to {top['input']}: it swings by "
                    f"{c.fmt_gbp(top['swing_gbp'])} across that input's range."
                ),
                table=_gbp_table(data, "One-way sensitivity of the NPSV"),
            )
        )
    mc = u.monte_carlo
    if mc is not None:
        out.append(
            c.chart(
                monte_carlo_chart(mc),
                id="vfm-monte-carlo",
                summary=(
                    f"In {mc.draws:,} Monte Carlo draws the NPSV is positive with probability "
                    f"{c.fmt_pct(mc.prob_positive, 1)} (P10 {c.fmt_gbp(mc.p10)}, median "
                    f"{c.fmt_gbp(mc.p50)}, P90 {c.fmt_gbp(mc.p90)})."
                ),
                table=c.data_table(
                    monte_carlo_data(mc),
                    "Monte Carlo draws of the NPSV by bin",
                    formats={
                        "bin_low_gbp": c.fmt_gbp,
                        "bin_high_gbp": c.fmt_gbp,
                        "share": lambda v: c.fmt_pct(v, 1),
                    },
                ),
            )
        )
    if not u.scenarios.empty:
        out.append(
            c.data_table(
                u.scenarios[
                    [
                        "scenario",
                        "description",
                        "pv_costs",
                        "pv_benefits",
                        "npsv",
                        "bcr",
                        "vfm_category",
                    ]
                ],
                "Scenarios",
                formats={k: c.fmt_gbp for k in ("pv_costs", "pv_benefits", "npsv")},
            )
        )
    if not u.switching_values.empty:
        out.append(
            c.data_table(
                switching_table(u.switching_values),
                "Switching values: what would make the NPSV zero",
                formats={
                    "central": _sig,
                    "switching_value": _sig,
                    "change_pct": lambda v: "–" if v != v else f"{v:+,.0f}%",
                },
                labels={
                    "input": "Input",
                    "central": "Central value",
                    "switching_value": "Value at which the NPSV is zero",
                    "change_pct": "Change needed",
                    "possible": "Possible?",
                },
                numeric=["central", "switching_value", "change_pct"],
            )
        )
    return html.Div(out)


def register(app: Any, ctx: Any) -> None:
    """Register the value-for-money callbacks: the headline first, then the uncertainty.

    A change of an input ends the running uncertainty job at once and recomputes the headline;
    the inputs the headline answered start the new uncertainty job once they have stayed
    unchanged for :data:`UNCERTAINTY_DELAY_MS`, so the interactive answer never shares the
    processors with a job whose inputs are stale or about to be.
    """
    inputs = [Input(i, "value") for i in _CONTROLS]

    @app.callback(
        Output(ids.VFM.ERROR, "children"),
        Output(ids.VFM.APPLIED, "data"),
        Output(ids.VFM.STATUS, "children", allow_duplicate=True),
        *(Output(i, prop) for i, prop in HEADLINE_OUTPUTS),
        *inputs,
        State(ids.DATASET, "data"),
        prevent_initial_call="initial_duplicate",
    )
    def _headline(*values: Any) -> tuple[Any, ...]:
        *controls, token = values
        parsed, errors = parse_inputs(tuple(controls))
        if parsed is None or not token:
            error = c.error_summary("Check the assumptions", errors) if errors else None
            # the uncertainty is cleared rather than left showing other inputs' results
            return (error, None, "", *(no_update for _ in HEADLINE_OUTPUTS))
        a = appraise_what_if(ctx.store, token, ctx.config.analysis, parsed)
        return (None, list(controls), STATUS_PENDING, *headline(a))

    store, settings, draws = ctx.store, ctx.config.analysis, ctx.config.mc_draws

    # the inputs the headline answered, passed on once they have settled (assets/pathfinder.js)
    app.clientside_callback(
        ClientsideFunction("pathfinder", "settle"),
        Output(ids.VFM.SETTLED, "id"),
        Input(ids.VFM.APPLIED, "data"),
        State(ids.VFM.SETTLED, "id"),
        State(ids.VFM.SETTLE_DELAY, "data"),
    )

    @app.callback(
        Output(ids.VFM.UNCERTAINTY, "children"),
        Input(ids.VFM.SETTLED, "data"),
        State(ids.DATASET, "data"),
        background=True,
        manager=ctx.manager,
        progress=[Output(ids.VFM.PROGRESS, "value"), Output(ids.VFM.PROGRESS, "max")],
        running=[
            (
                Output(ids.VFM.STATUS, "children"),
                "Running sensitivity and Monte Carlo…",
                "Up to date.",
            ),
            (Output(ids.VFM.CANCEL_MC, "disabled"), False, True),
        ],
        cancel=[Input(ids.VFM.CANCEL_MC, "n_clicks"), *inputs],
    )
    def _uncertainty(set_progress: Any, controls: Any, token: Any) -> Any:
        if not controls:
            return None
        parsed, _ = parse_inputs(tuple(controls))
        if parsed is None or not token:
            return None
        set_progress(("0", "1"))
        a = appraise_what_if(store, token, settings, parsed, uncertainty=True, draws=draws)
        set_progress(("1", "1"))
        return uncertainty(a)
