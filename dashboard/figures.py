"""Plotly figures of the dashboard, drawn from the library's tidy tables (nothing computed here).

Colours are the GOV.UK palette with enough contrast on white; every figure is paired on its page
with its numbers and a one-line summary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = [
    "BLUE",
    "ORANGE",
    "cumulative_net",
    "estimators_forest",
    "event_study",
    "monte_carlo",
    "pilot_waves",
    "tornado",
    "trends",
]

BLUE = "#1d70b8"
ORANGE = "#b35c00"
GREY = "#505a5f"
GREEN = "#0f7a52"
RED = "#ca3535"


def _layout(fig: go.Figure, title: str, x: str, y: str) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        font={"family": "Arial, sans-serif", "size": 14, "color": "#0b0c0c"},
        xaxis_title=x,
        yaxis_title=y,
        plot_bgcolor="white",
        paper_bgcolor="white",
        margin={"l": 70, "r": 20, "t": 50, "b": 60},
        legend={"orientation": "h", "y": -0.2},
        height=380,
    )
    fig.update_xaxes(showgrid=False, linecolor=GREY)
    fig.update_yaxes(gridcolor="#e5e5e5", zerolinecolor=GREY)
    return fig


def trends(table: pd.DataFrame, go_live: pd.DataFrame, metric: str) -> go.Figure:
    """Mean of ``metric`` for pilot and comparison forces by period, go-live dates marked."""
    fig = go.Figure()
    for group, colour, dash in (
        ("pilot forces", BLUE, "solid"),
        ("comparison forces", ORANGE, "dash"),
    ):
        part = table[table["group"] == group]
        fig.add_trace(
            go.Scatter(
                x=part["period"],
                y=part["mean"],
                name=group,
                mode="lines",
                line={"color": colour, "dash": dash, "width": 2},
            )
        )
    for _, row in go_live.iterrows():
        fig.add_vline(x=row["period"], line={"color": GREY, "dash": "dot", "width": 1})
        fig.add_annotation(
            x=row["period"],
            y=1,
            yref="paper",
            text=f"wave {row['wave']}",
            showarrow=False,
            yanchor="bottom",
            font={"size": 12, "color": GREY},
        )
    fig.update_xaxes(type="category", nticks=12)
    return _layout(fig, f"{metric}: pilot and comparison forces", "period", f"mean {metric}")


def event_study(table: pd.DataFrame, metric: str) -> go.Figure:
    """Effect by periods since go-live with its confidence interval (and band, if any)."""
    t = table.sort_values("event_time")
    lo, hi = (
        ("band_low", "band_high")
        if "band_low" in t and t["band_low"].notna().any()
        else (
            "ci_low",
            "ci_high",
        )
    )
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=np.concatenate([t["event_time"], t["event_time"][::-1]]),
            y=np.concatenate([t[hi], t[lo][::-1]]),
            fill="toself",
            fillcolor="rgba(29,112,184,0.18)",
            line={"width": 0},
            name="95% band" if lo == "band_low" else "95% interval",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=t["event_time"],
            y=t["estimate"],
            mode="lines+markers",
            name="estimate",
            line={"color": BLUE},
            marker={"size": 5},
        )
    )
    fig.add_hline(y=0, line={"color": GREY, "width": 1})
    fig.add_vline(x=-0.5, line={"color": GREY, "dash": "dot", "width": 1})
    fig.update_xaxes(dtick=6, tickformat="d")
    return _layout(fig, f"Event study: effect on {metric}", "periods since go-live", "effect")


def estimators_forest(table: pd.DataFrame, metric: str) -> go.Figure:
    """Overall effect by estimator with its confidence interval."""
    t = table.dropna(subset=["estimate"]) if "estimate" in table else table.iloc[0:0]
    fig = go.Figure(
        go.Scatter(
            x=t["estimate"],
            y=t["estimator"],
            mode="markers",
            marker={"color": BLUE, "size": 10},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": t["ci_high"] - t["estimate"],
                "arrayminus": t["estimate"] - t["ci_low"],
                "color": BLUE,
            },
            name="estimate",
        )
    )
    fig.add_vline(x=0, line={"color": GREY, "width": 1})
    fig = _layout(fig, f"Effect on {metric} by estimator", "effect per pilot force-period", "")
    fig.update_layout(height=300, margin={"l": 260})
    return fig


def pilot_waves(waves: pd.DataFrame, n_comparison: int) -> go.Figure:
    """Number of pilot forces by wave, beside the comparison forces."""
    labels = [f"wave {w} (from {g})" for w, g in zip(waves["wave"], waves["go_live"], strict=True)]
    fig = go.Figure(
        go.Bar(
            x=[*labels, "comparison forces"],
            y=[*waves["forces"].tolist(), n_comparison],
            marker={"color": [BLUE] * len(waves) + [ORANGE]},
            text=[*waves["forces"].tolist(), n_comparison],
            textposition="outside",
        )
    )
    fig = _layout(fig, "Pilot forces by wave and comparison forces", "", "forces")
    fig.update_layout(showlegend=False)
    return fig


def cumulative_net(by_year: pd.DataFrame, title: str) -> go.Figure:
    """Discounted costs and benefits by year and the cumulative net present value."""
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=by_year["financial_year"],
            y=by_year["pv_benefits_gbp"] / 1e6,
            name="benefits (PV)",
            marker={"color": GREEN},
        )
    )
    fig.add_trace(
        go.Bar(
            x=by_year["financial_year"],
            y=-by_year["pv_costs_gbp"] / 1e6,
            name="costs (PV)",
            marker={"color": RED},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=by_year["financial_year"],
            y=by_year["cumulative_pv_net_gbp"] / 1e6,
            name="cumulative net (PV)",
            mode="lines+markers",
            line={"color": "#0b0c0c"},
        )
    )
    fig.add_hline(y=0, line={"color": GREY, "width": 1})
    fig.update_layout(barmode="relative")
    return _layout(fig, title, "financial year", "£ million (present value)")


def tornado(sensitivity: pd.DataFrame, central: float) -> go.Figure:
    """One-way sensitivity of NPSV: each input at its low and high value."""
    t = sensitivity.sort_values("swing").tail(10)
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=t["input"],
            x=(t["npsv_at_low"] - central) / 1e6,
            base=central / 1e6,
            orientation="h",
            name="input at low value",
            marker={"color": ORANGE},
        )
    )
    fig.add_trace(
        go.Bar(
            y=t["input"],
            x=(t["npsv_at_high"] - central) / 1e6,
            base=central / 1e6,
            orientation="h",
            name="input at high value",
            marker={"color": BLUE},
        )
    )
    fig.add_vline(x=central / 1e6, line={"color": GREY, "width": 1})
    fig.update_layout(barmode="overlay")
    fig = _layout(fig, "What moves the NPSV most", "NPSV, £ million", "")
    fig.update_layout(margin={"l": 300}, height=420)
    return fig


def monte_carlo(draws: np.ndarray) -> go.Figure:
    """Distribution of the NPSV over the Monte Carlo draws."""
    fig = go.Figure(
        go.Histogram(x=np.asarray(draws) / 1e6, nbinsx=50, marker={"color": BLUE}, name="draws")
    )
    fig.add_vline(x=0, line={"color": RED, "width": 2})
    fig = _layout(fig, "Monte Carlo distribution of the NPSV", "NPSV, £ million", "draws")
    fig.update_layout(showlegend=False)
    return fig
