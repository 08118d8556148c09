"""The two dashboard charts that :mod:`evaluation.plots` does not draw.

Pilots by wave and the effect across estimators, in the library's template and palette; every
other chart comes from :mod:`evaluation.plots`.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

__all__ = ["estimators_forest", "pilot_waves"]


def _figure(title: str, alt: str) -> go.Figure:
    from evaluation.plots import template

    fig = go.Figure()
    fig.update_layout(template=template(), title={"text": title}, meta={"alt": alt}, height=380)
    return fig


def pilot_waves(waves: pd.DataFrame, n_comparison: int) -> go.Figure:
    """Return a bar chart of pilot forces by wave beside the comparison forces."""
    from evaluation.plots import PALETTE

    labels = [f"wave {w} (from {g})" for w, g in zip(waves["wave"], waves["go_live"], strict=True)]
    counts = [*waves["forces"].tolist(), n_comparison]
    alt = (
        "Bar chart of pilot forces by wave: "
        + "; ".join(f"{lab}: {n}" for lab, n in zip(labels, counts, strict=False))
        + f"; comparison forces: {n_comparison}."
    )
    fig = _figure("Pilot forces by wave and comparison forces", alt)
    fig.add_trace(
        go.Bar(
            x=[*labels, "comparison forces"],
            y=counts,
            marker={"color": [PALETTE["dark_blue"]] * len(waves) + [PALETTE["orange"]]},
            text=counts,
            textposition="outside",
        )
    )
    fig.update_layout(showlegend=False, yaxis_title="forces")
    return fig


def estimators_forest(table: pd.DataFrame, metric: str) -> go.Figure:
    """Return the overall effect by estimator with its confidence interval."""
    from evaluation.plots import PALETTE

    t = table.dropna(subset=["estimate"]) if "estimate" in table else table.iloc[0:0]
    alt = f"Chart of the effect on {metric} by estimator with 95% intervals: " + "; ".join(
        f"{r.estimator}: {r.estimate:,.2f} ({r.ci_low:,.2f} to {r.ci_high:,.2f})"
        for r in t.itertuples()
    )
    fig = _figure(f"Effect on {metric} by estimator", alt)
    fig.add_trace(
        go.Scatter(
            x=t["estimate"],
            y=t["estimator"],
            mode="markers",
            marker={"color": PALETTE["dark_blue"], "size": 10},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": t["ci_high"] - t["estimate"],
                "arrayminus": t["estimate"] - t["ci_low"],
                "color": PALETTE["dark_blue"],
            },
            name="estimate",
        )
    )
    fig.add_vline(x=0, line={"color": PALETTE["dark_grey"], "width": 1})
    fig.update_layout(height=300, showlegend=False, xaxis_title="effect per pilot force-period")
    return fig
