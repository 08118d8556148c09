"""Method and QA: how the numbers are made, the assumptions log and the QA log of the screen."""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import html

from dashboard import components as c
from dashboard.services import ESTIMATOR_LABELS, assumptions, cached_pipeline_result

__all__ = ["PATH", "TITLE", "layout", "qa_log", "register"]

PATH = "/method"
TITLE = "Method and QA"

_METHODS = [
    (
        "Data",
        "Each file is validated against the data contract (forces, periods, units); every "
        "problem is reported with file, row, column and value, and nothing is silently dropped, "
        "coerced or imputed.",
    ),
    (
        "Effects",
        "Difference-in-differences: pilot forces are compared with forces without a "
        "team before and after go-live. The default estimator is Callaway and Sant'Anna (2021), "
        "robust to staggered go-live; imputation (Borusyak, Jaravel and Spiess) and two-way fixed "
        "effects are shown for comparison. Inference follows the design: with few treated forces, "
        "randomization inference; otherwise bootstrap or jackknife.",
    ),
    (
        "Parallel trends",
        "The event study shows effects by periods since go-live; estimates "
        "before go-live test whether pilot and comparison forces moved together. Rambachan-Roth "
        "relative-magnitude bounds show how far the conclusion survives departures from it.",
    ),
    (
        "Value for money",
        "HM Treasury Green Book (2022): real prices, discounting at the social "
        "time preference rate, optimism bias on forecast costs, NPSV and benefit-cost ratio "
        "with the "
        "DfT value-for-money categories as labels, not pass/fail; sensitivity, switching values, "
        "scenarios and Monte Carlo; a national rollout scaled by officer numbers.",
    ),
]


def qa_log(ctx: Any, dataset: Any) -> pd.DataFrame:
    """Return what produced the figures on screen: files with digests and the settings."""
    rows = [
        {
            "item": f"{k} file",
            "value": dataset.table(k).name,
            "detail": f"sha256 {dataset.table(k).digest}",
        }
        for k in ("panel", "register", "ledger")
    ]
    s = ctx.config.analysis
    rows += [
        {
            "item": "estimator (overview, value for money)",
            "value": ESTIMATOR_LABELS.get(s.method, s.method),
            "detail": "",
        },
        {"item": "inference", "value": s.inference or "recommended for the design", "detail": ""},
        {
            "item": "bootstrap or permutation draws",
            "value": str(s.reps),
            "detail": f"effects page: {ctx.config.effects_reps}",
        },
        {
            "item": "Monte Carlo draws",
            "value": str(ctx.config.mc_draws or "parameter set default"),
            "detail": "",
        },
        {"item": "seed", "value": str(s.seed), "detail": "results are reproducible"},
    ]
    result = cached_pipeline_result(ctx.store, dataset.token, s)
    if result is not None:
        m = result.manifest
        for key in ("created", "version", "python"):
            if key in m:
                rows.append(
                    {"item": key.replace("_", " "), "value": str(m[key]), "detail": "run manifest"}
                )
    return pd.DataFrame(rows, columns=["item", "value", "detail"])


def layout(ctx: Any, dataset: Any) -> Any:
    """Return the Method and QA page."""
    log = assumptions()
    cols = [
        k
        for k in ("key", "value", "unit", "source", "vintage", "confidence", "unverified")
        if k in log
    ]
    return html.Div(
        [
            c.heading("Method and QA", 1, "xl"),
            c.summary_list([(k, v) for k, v in _METHODS]),
            c.heading("QA log of what is on screen", 2, "l"),
            c.data_table(
                qa_log(ctx, dataset), "Inputs and settings behind the figures", numeric=[]
            ),
            c.heading("Assumptions log", 2, "l"),
            html.P(
                f"{len(log)} appraisal parameters of the bundled Green Book set, each with its "
                "source; "
                f"{int(log['unverified'].sum()) if 'unverified' in log else 0} are marked "
                "unverified.",
                className="govuk-body",
            ),
            c.scroll_region(
                c.data_table(log[cols], "Assumptions log", numeric=[]), "Assumptions log"
            ),
        ]
    )


def register(app: Any, ctx: Any) -> None:
    """Register nothing: the page has no callbacks."""
