"""Charts of a design comparison (plotly figures; offline HTML with the library inlined)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from evaluation.pilot_design.compare import DesignComparison

__all__ = ["comparison_figure", "comparison_table", "primary_rows", "write_html"]


def primary_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of the recommended inference (or of the first pair when it was not simulated)."""
    if table.empty:
        return table
    first = (
        "recommended" if (table["inference"] == "recommended").any() else table["inference"].iloc[0]
    )
    return table[table["inference"] == first]


def comparison_table(result: DesignComparison, *, recommended_only: bool = True) -> pd.DataFrame:
    """Return a readable table: one row per design and metric (recommended inference).

    Columns: pilots, waves, follow-up, selection, metric, inference, MDE (per force-year and
    relative), analytic MDE, break-even, power at break-even, size, cost.
    """
    t = primary_rows(result.table) if recommended_only else result.table
    out = pd.DataFrame(
        {
            "pilots": t["pilots"],
            "waves": t["waves"],
            "follow-up (months)": t["follow_up_months"],
            "selection": t["selection"],
            "metric": t["metric"],
            "inference": t["inference_used"],
            "MDE per force-year": t["mde"].round(1),
            "MDE (%)": (100 * t["mde_relative"]).round(1),
            "analytic MDE (%)": (100 * t["analytic_mde_relative"]).round(1),
            "break-even per force-year": t["break_even_effect"].round(1),
            "power at break-even": t["power_at_break_even"].round(2),
            "power at current estimate": t["power"].round(2),
            "size": t["size"].round(3),
            "cost (GBP m)": (t["cost"] / 1e6).round(2),
        }
    )
    return out.reset_index(drop=True)


def comparison_figure(result: DesignComparison) -> Any:
    """Return a plotly figure: power at the break-even effect and MDE against pilots.

    One column per metric; top row the power at the break-even effect (dashed: 80%), bottom row
    the MDE per pilot force-year (dashed: the break-even effect). One line per selection,
    follow-up and waves combination (the recommended inference); the hover shows the MDE, size
    and cost.
    """
    import plotly.graph_objects as go
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    t = primary_rows(result.table)
    metrics = list(dict.fromkeys(t["metric"]))
    fig = make_subplots(
        rows=2,
        cols=max(len(metrics), 1),
        subplot_titles=[m.replace("_", " ") for m in metrics],
        vertical_spacing=0.12,
    )
    groups = t.groupby(["selection", "follow_up_months", "waves"], sort=False)
    palette = qualitative.Plotly
    for i, metric in enumerate(metrics, start=1):
        for g, (keys, part) in enumerate(groups):
            selection, follow, waves = (str(k) for k in keys)
            part = part[part["metric"] == metric].sort_values("pilots")
            if part.empty:
                continue
            name = f"{selection}, {follow} months, {waves} wave{'' if waves == '1' else 's'}"
            hover = [
                f"{p} pilots<br>MDE {m:.3g} per force-year ({r:.0%})<br>size {s:.1%}"
                f"<br>cost £{c / 1e6:.1f}m"
                if math.isfinite(m)
                else f"{p} pilots<br>MDE beyond the grid<br>size {s:.1%}"
                for p, m, r, s, c in zip(
                    part["pilots"],
                    part["mde"],
                    part["mde_relative"],
                    part["size"],
                    part["cost"],
                    strict=True,
                )
            ]
            for row, column in ((1, "power_at_break_even"), (2, "mde")):
                fig.add_trace(
                    go.Scatter(
                        x=part["pilots"],
                        y=part[column],
                        mode="lines+markers",
                        name=name,
                        legendgroup=name,
                        line={"color": palette[g % len(palette)]},
                        marker={"color": palette[g % len(palette)]},
                        showlegend=i == 1 and row == 1,
                        hovertext=hover,
                        hoverinfo="text",
                    ),
                    row=row,
                    col=i,
                )
        fig.add_hline(y=0.8, line_dash="dash", line_color="grey", row=1, col=i)
        be = t.loc[t["metric"] == metric, "break_even_effect"].dropna()
        if len(be):
            fig.add_hline(y=float(be.iloc[0]), line_dash="dash", line_color="grey", row=2, col=i)
        fig.update_yaxes(range=[0, 1.05], row=1, col=i)
        fig.update_xaxes(title_text="pilot forces", row=2, col=i)
    fig.update_yaxes(title_text="power at break-even", row=1, col=1)
    fig.update_yaxes(title_text="MDE per force-year", row=2, col=1)
    fig.update_layout(
        title=f"Power at the break-even effect and MDE ({result.reps} placebo pilots a design)",
        template="plotly_white",
        height=640,
        width=max(520, 430 * len(metrics)),
        legend={"orientation": "h", "y": -0.12},
    )
    return fig


def write_html(fig: Any, path: str | Path) -> Path:
    """Write the figure as a self-contained HTML file (plotly.js inlined: works offline)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(out, include_plotlyjs=True, full_html=True, config={"displayModeBar": False})
    return out
