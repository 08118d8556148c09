"""Charts of the evaluation: plotly figures with the GOV.UK analysis palette and their numbers.

One convention for every chart: ``<chart>_data(...)`` returns the tidy DataFrame of exactly the
numbers drawn (with units in the column names), and ``<chart>_chart(...)`` builds the figure
*from that frame* and nothing else, so a chart and the data table printed beside it can never
disagree. Every figure carries a plain-words description in ``fig.layout.meta["alt"]`` (read it
with :func:`alt_text`) for the text alternative a chart needs.

Colours follow the Government Analysis Function palette (dark blue and orange when two series
are compared, the best-contrasting pair); series also differ by line dash or marker, so no
meaning is carried by colour alone. Text is Arial, at least 12 px, on a white background.

Examples
--------
>>> import pandas as pd
>>> sens = pd.DataFrame({"input": ["a", "b"], "description": ["A", "B"],
...     "npsv_at_low": [-3e6, -1e6], "npsv_at_high": [1e6, 0.5e6], "npsv_central": [-1e6] * 2})
>>> tornado_data(sens)["input"].tolist()
['A', 'B']
>>> fig = tornado_chart(sens)
>>> alt_text(fig).startswith("Tornado chart")
True
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from evaluation.errors import check_option
from evaluation.periods import format_period, parse_period, period_of_date

if TYPE_CHECKING:  # pragma: no cover
    from evaluation.appraisal.results import Appraisal, MonteCarloSummary, RolloutResult
    from evaluation.results import DidResult

__all__ = [
    "FONT",
    "PALETTE",
    "alt_text",
    "answer_history_chart",
    "answer_history_data",
    "cumulative_npsv_chart",
    "cumulative_npsv_data",
    "event_study_chart",
    "event_study_data",
    "monte_carlo_chart",
    "monte_carlo_data",
    "rollout_chart",
    "rollout_data",
    "template",
    "tornado_chart",
    "tornado_data",
    "trends_chart",
    "trends_data",
]

#: Government Analysis Function colours (categorical, then focus and sequential tints).
PALETTE: Mapping[str, str] = {
    "dark_blue": "#12436D",
    "turquoise": "#28A197",
    "dark_pink": "#801650",
    "orange": "#F46A25",
    "dark_grey": "#3D3D3D",
    "light_purple": "#A285D1",
    "mid_blue": "#2073BC",
    "light_blue": "#6BACE6",
    "focus_grey": "#BFBFBF",
}
FONT = "Arial, Helvetica, sans-serif"

_BLUE, _ORANGE, _GREY = PALETTE["dark_blue"], PALETTE["orange"], PALETTE["dark_grey"]
_BAND = "rgba(107, 172, 230, 0.35)"  # light blue, translucent


def template() -> go.layout.Template:
    """Return the plotly template every chart uses (fonts, colours, axes, white background)."""
    axis = {
        "showline": True,
        "linecolor": _GREY,
        "ticks": "outside",
        "tickcolor": _GREY,
        "gridcolor": "#E5E5E5",
        "zeroline": False,
        "title": {"standoff": 8},
        "automargin": True,
    }
    return go.layout.Template(
        layout={
            "font": {"family": FONT, "size": 14, "color": "#0B0C0C"},
            "title": {"font": {"size": 18}, "x": 0, "xanchor": "left"},
            "colorway": [PALETTE[k] for k in ("dark_blue", "orange", "turquoise", "dark_pink")],
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
            "xaxis": axis,
            "yaxis": axis,
            "legend": {"orientation": "h", "y": -0.2, "x": 0, "font": {"size": 13}},
            "margin": {"l": 70, "r": 20, "t": 60, "b": 70},
            "hoverlabel": {"font": {"family": FONT}},
        }
    )


@functools.lru_cache(maxsize=1)
def _template_json() -> dict[str, Any]:
    """Return the house template as plain data (built and validated once per process)."""
    spec: dict[str, Any] = template().to_plotly_json()
    return spec


def _figure(title: str, alt: str, **layout: Any) -> go.Figure:
    # a copy of the template's data: building a Template object for each figure costs more
    # than the rest of a small chart
    fig = go.Figure(
        layout={
            "template": copy.deepcopy(_template_json()),
            "title": {"text": title},
            "meta": {"alt": alt},
            "width": 900,
            "height": 480,
        }
    )
    if layout:
        fig.update_layout(**layout)
    return fig


def alt_text(fig: go.Figure) -> str:
    """Return the plain-words description of a chart made by this module."""
    meta = fig.layout.meta
    if isinstance(meta, Mapping) and "alt" in meta:
        return str(meta["alt"])
    return str(fig.layout.title.text or "Chart")


def _millions(x: float) -> str:
    return f"GBP {x / 1e6:,.1f}m"


# ---------------------------------------------------------------- event study


def event_study_data(
    result: DidResult, *, window: tuple[int | None, int | None] | None = None
) -> pd.DataFrame:
    """Return the event-study estimates of a fit: one row per period relative to go-live.

    ``window`` keeps event times from ``window[0]`` to ``window[1]`` inclusive (``None``: no
    limit on that side), e.g. ``(-12, None)`` for the last year before go-live onwards.

    Columns: ``event_time`` (periods since go-live; -1 is the reference), ``estimate``,
    ``ci_low``, ``ci_high`` (pointwise 95% interval) and ``band_low``, ``band_high``
    (simultaneous band, ``nan`` when the method gives none), ``phase`` (``before``/``after``).

    Raises
    ------
    ValueError
        If the result has no event-study table (e.g. a canonical 2x2 fit).
    """
    es = result.event_study
    if es is None or es.empty:
        raise ValueError(
            f"the {result.method} fit of {result.outcome} has no event-study table: "
            "fit with method='cs', 'event_study' or 'imputation'"
        )
    out = pd.DataFrame(
        {
            "event_time": es["event_time"].astype(int).to_numpy(),
            "estimate": es["estimate"].astype(float).to_numpy(),
            "ci_low": es["ci_low"].astype(float).to_numpy(),
            "ci_high": es["ci_high"].astype(float).to_numpy(),
        }
    )
    for col in ("band_low", "band_high"):
        out[col] = es[col].astype(float).to_numpy() if col in es.columns else np.nan
    out["phase"] = np.where(out["event_time"] < 0, "before", "after")
    if window is not None:
        lo, hi = window
        keep = np.ones(len(out), dtype=bool)
        if lo is not None:
            keep &= out["event_time"].to_numpy() >= lo
        if hi is not None:
            keep &= out["event_time"].to_numpy() <= hi
        out = out.loc[keep]
    return out.sort_values("event_time", kind="stable").reset_index(drop=True)


def event_study_chart(
    result: DidResult,
    *,
    title: str | None = None,
    unit: str = "",
    period_name: str = "periods",
    window: tuple[int | None, int | None] | None = None,
) -> go.Figure:
    """Plot an event study: estimates with 95% intervals and, where computed, sup-t bands.

    Parameters
    ----------
    result
        A fit with an event-study table (``res.plot()`` calls this).
    title
        Chart title (default names the outcome and method).
    unit
        Unit of the outcome for the y-axis title.
    period_name
        What one step of event time is (``"months"``, ``"quarters"``, ...).
    window
        Event times to show (see :func:`event_study_data`).
    """
    data = event_study_data(result, window=window)
    n_pre = int((data["event_time"] < 0).sum())
    has_band = bool(data["band_low"].notna().any())
    alt = (
        f"Event-study chart of the effect on {result.outcome} by {period_name} since go-live "
        f"({result.method}, {result.overall.inference} inference): {n_pre} estimates before "
        f"go-live, {len(data) - n_pre} after, with 95% intervals"
        + (" and simultaneous bands" if has_band else "")
        + ". The values are in the table that follows."
    )
    fig = _figure(
        title or f"Effect on {result.outcome} by {period_name} since go-live",
        alt,
        xaxis_title=f"{period_name.capitalize()} since go-live (-1 = reference)",
        yaxis_title=f"Effect ({unit})" if unit else "Effect",
    )
    x = data["event_time"].to_numpy()
    if has_band:
        fig.add_trace(
            go.Scatter(
                x=np.concatenate([x, x[::-1]]),
                y=np.concatenate([data["band_high"], data["band_low"][::-1]]),
                fill="toself",
                fillcolor=_BAND,
                line={"width": 0},
                name="95% simultaneous band",
                hoverinfo="skip",
            )
        )
    for phase, colour, symbol in (("before", _GREY, "circle-open"), ("after", _BLUE, "circle")):
        part = data[data["phase"] == phase]
        fig.add_trace(
            go.Scatter(
                x=part["event_time"],
                y=part["estimate"],
                mode="markers",
                marker={"color": colour, "symbol": symbol, "size": 8, "line": {"width": 2}},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": part["ci_high"] - part["estimate"],
                    "arrayminus": part["estimate"] - part["ci_low"],
                    "color": colour,
                    "thickness": 1.5,
                    "width": 0,
                },
                name=f"{phase} go-live (95% interval)",
            )
        )
    fig.add_hline(y=0, line={"color": _GREY, "width": 1})
    fig.add_vline(x=-0.5, line={"color": _GREY, "width": 1.5, "dash": "dash"})
    fig.add_annotation(
        x=-0.5, y=1, yref="paper", text="go-live", showarrow=False, xanchor="left", yanchor="top"
    )
    return fig


# ---------------------------------------------------------------- pilots vs comparison trends


def trends_data(
    panel: pd.DataFrame,
    register: pd.DataFrame,
    metric: str,
    *,
    freq: Literal["period", "financial_year"] = "period",
) -> pd.DataFrame:
    """Return the mean of ``metric`` per force for pilot and comparison forces over time.

    Parameters
    ----------
    panel
        The force panel (``force``, ``period`` and the metric).
    register
        The pilot register (``force``; forces not in it are comparison forces).
    metric
        The metric column.
    freq
        ``"period"`` (the panel's own periods) or ``"financial_year"`` (each force's yearly
        mean of the period values, then the mean over forces).

    Returns
    -------
    DataFrame
        Columns ``period``, ``group`` (``pilot forces`` / ``comparison forces``), ``mean``
        and ``forces`` (how many forces report), sorted by period then group.
    """
    check_option("freq", freq, ("period", "financial_year"))
    if metric not in panel.columns:
        raise ValueError(f"metric {metric!r} is not a panel column")
    pilots = set(register["force"])
    frame = pd.DataFrame(
        {
            "force": panel["force"].astype(str).to_numpy(),
            "period": panel["period"].astype(str).to_numpy(),
            "value": panel[metric].astype(float).to_numpy(),
        }
    ).dropna(subset=["value"])
    if freq == "financial_year":
        frame["period"] = frame["period"].map(_financial_year_of)
        frame = frame.groupby(["force", "period"], sort=True)["value"].mean().reset_index()
    frame["group"] = np.where(frame["force"].isin(pilots), "pilot forces", "comparison forces")
    out = (
        frame.groupby(["period", "group"], sort=True)
        .agg(mean=("value", "mean"), forces=("force", "nunique"))
        .reset_index()
    )
    out["forces"] = out["forces"].astype(int)
    return out


def _financial_year_of(label: str) -> str:
    """Return the financial year (``2022-23``) containing a period label (month, quarter, FY)."""
    period = parse_period(label)
    return format_period(period_of_date(period.start_time, "fy"))


def trends_chart(
    panel: pd.DataFrame,
    register: pd.DataFrame,
    metric: str,
    *,
    freq: Literal["period", "financial_year"] = "period",
    title: str | None = None,
    unit: str = "",
) -> go.Figure:
    """Plot pilot forces against comparison forces over time, each wave's go-live marked."""
    data = trends_data(panel, register, metric, freq=freq)
    waves = _go_live_marks(register, freq)
    alt = (
        f"Line chart of the mean {metric} per force, pilot forces against comparison forces, "
        f"from {data['period'].min()} to {data['period'].max()}; go-live marked at "
        f"{', '.join(waves)}. The values are in the table that follows."
    )
    fig = _figure(
        title or f"{metric}: pilot and comparison forces",
        alt,
        xaxis_title="Financial year" if freq == "financial_year" else "Period",
        yaxis_title=f"Mean per force ({unit})" if unit else "Mean per force",
    )
    styles = {
        "pilot forces": {"color": _BLUE, "width": 2.5},
        "comparison forces": {"color": _ORANGE, "width": 2.5, "dash": "dash"},
    }
    for group, line in styles.items():
        part = data[data["group"] == group]
        if len(part):
            fig.add_trace(
                go.Scatter(x=part["period"], y=part["mean"], mode="lines", name=group, line=line)
            )
    for mark in waves:
        if mark in set(data["period"]):
            fig.add_vline(x=mark, line={"color": _GREY, "width": 1, "dash": "dot"})
            fig.add_annotation(
                x=mark,
                y=1,
                yref="paper",
                text=f"go-live {mark}",
                showarrow=False,
                xanchor="left",
                yanchor="top",
                font={"size": 12},
            )
    fig.update_xaxes(type="category", nticks=12)
    return fig


def _go_live_marks(register: pd.DataFrame, freq: str) -> list[str]:
    dates = pd.to_datetime(register["go_live"]).sort_values().unique()
    labels = [pd.Timestamp(d).strftime("%Y-%m") for d in dates]
    if freq == "financial_year":
        labels = [_financial_year_of(x) for x in labels]
    return list(dict.fromkeys(labels))


# ---------------------------------------------------------------- cumulative NPSV


def cumulative_npsv_data(appraisal: Appraisal, *, view: str = "ex-post") -> pd.DataFrame:
    """Return discounted costs, benefits and cumulative NPSV by financial year.

    Columns: ``financial_year``, ``pv_costs_gbp``, ``pv_benefits_gbp``,
    ``cumulative_npsv_gbp`` and, when the appraisal has a Monte Carlo, ``cumulative_npsv_p10_gbp``
    and ``cumulative_npsv_p90_gbp`` (ex-post view only). ``view`` is ``"ex-post"``,
    ``"go-forward"`` or ``"rollout"``.
    """
    check_option("view", view, ("ex-post", "go-forward", "rollout"))
    table: pd.DataFrame | None
    if view == "ex-post":
        table = appraisal.by_year
    elif view == "go-forward":
        table = appraisal.go_forward_by_year
    else:
        table = None if appraisal.rollout is None else appraisal.rollout.by_year
    if table is None:
        raise ValueError(f"the appraisal has no {view} view")
    out = pd.DataFrame(
        {
            "financial_year": table["financial_year"].astype(str).to_numpy(),
            "pv_costs_gbp": table["pv_costs_gbp"].astype(float).to_numpy(),
            "pv_benefits_gbp": table["pv_benefits_gbp"].astype(float).to_numpy(),
            "cumulative_npsv_gbp": table["cumulative_pv_net_gbp"].astype(float).to_numpy(),
        }
    )
    mc = appraisal.monte_carlo if view == "ex-post" else None
    if mc is not None and mc.by_year is not None and len(mc.by_year):
        by = mc.by_year.set_index(mc.by_year["financial_year"].astype(str))
        p10 = _first_column(by, ("cumulative_pv_net_p10", "p10"))
        p90 = _first_column(by, ("cumulative_pv_net_p90", "p90"))
        if p10 is not None and p90 is not None:
            out["cumulative_npsv_p10_gbp"] = out["financial_year"].map(p10).astype(float)
            out["cumulative_npsv_p90_gbp"] = out["financial_year"].map(p90).astype(float)
    return out


def _first_column(frame: pd.DataFrame, names: Sequence[str]) -> pd.Series | None:
    for name in names:
        if name in frame.columns:
            return frame[name]
    return None


def cumulative_npsv_chart(
    appraisal: Appraisal, *, view: str = "ex-post", title: str | None = None
) -> go.Figure:
    """Plot the cumulative NPSV by year with its Monte Carlo P10-P90 range and payback marked."""
    data = cumulative_npsv_data(appraisal, view=view)
    last = float(data["cumulative_npsv_gbp"].iloc[-1])
    alt = (
        f"Chart of the cumulative net present social value by financial year ({view} view), "
        f"from {data['financial_year'].iloc[0]} to {data['financial_year'].iloc[-1]}, ending at "
        f"{_millions(last)}"
        + (
            ", with the Monte Carlo 10th to 90th percentile range"
            if "cumulative_npsv_p10_gbp" in data
            else ""
        )
        + ". The values are in the table that follows."
    )
    fig = _figure(
        title or f"Cumulative NPSV by year ({view})",
        alt,
        xaxis_title="Financial year",
        yaxis_title="GBP million, real, discounted",
    )
    x = data["financial_year"]
    if "cumulative_npsv_p10_gbp" in data:
        fig.add_trace(
            go.Scatter(
                x=pd.concat([x, x[::-1]]),
                y=pd.concat(
                    [data["cumulative_npsv_p90_gbp"], data["cumulative_npsv_p10_gbp"][::-1]]
                )
                / 1e6,
                fill="toself",
                fillcolor=_BAND,
                line={"width": 0},
                name="P10 to P90 (Monte Carlo)",
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Bar(x=x, y=data["pv_benefits_gbp"] / 1e6, name="PV benefits in year", marker_color=_BLUE)
    )
    fig.add_trace(
        go.Bar(
            x=x,
            y=-data["pv_costs_gbp"] / 1e6,
            name="PV costs in year (negative)",
            marker={"color": _ORANGE, "pattern": {"shape": "/"}},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=data["cumulative_npsv_gbp"] / 1e6,
            mode="lines+markers",
            name="cumulative NPSV",
            line={"color": PALETTE["dark_grey"], "width": 3},
            marker={"symbol": "diamond", "size": 8},
        )
    )
    fig.add_hline(y=0, line={"color": _GREY, "width": 1})
    fig.update_layout(barmode="relative")
    fig.update_xaxes(type="category")
    return fig


# ---------------------------------------------------------------- tornado


def tornado_data(sensitivity: pd.DataFrame, *, top: int | None = None) -> pd.DataFrame:
    """Return one-way sensitivity results ordered by swing (largest first).

    ``sensitivity`` is ``appraisal.uncertainty.sensitivity`` (``input``, ``description``,
    ``npsv_at_low``, ``npsv_at_high``, ``npsv_central``). Columns: ``input`` (the description),
    ``npsv_at_low_gbp``, ``npsv_at_high_gbp``, ``npsv_central_gbp``, ``swing_gbp``.
    """
    if sensitivity.empty:
        return pd.DataFrame(
            columns=[
                "input",
                "npsv_at_low_gbp",
                "npsv_at_high_gbp",
                "npsv_central_gbp",
                "swing_gbp",
            ]
        )
    label = sensitivity["description"] if "description" in sensitivity else sensitivity["input"]
    lo = sensitivity["npsv_at_low"].astype(float).to_numpy()
    hi = sensitivity["npsv_at_high"].astype(float).to_numpy()
    out = pd.DataFrame(
        {
            "input": label.astype(str).to_numpy(),
            "npsv_at_low_gbp": lo,
            "npsv_at_high_gbp": hi,
            "npsv_central_gbp": sensitivity["npsv_central"].astype(float).to_numpy(),
            "swing_gbp": np.abs(hi - lo),
        }
    )
    out = out.sort_values("swing_gbp", ascending=False, kind="stable").reset_index(drop=True)
    return out.head(top) if top is not None else out


def tornado_chart(
    sensitivity: pd.DataFrame, *, top: int | None = 10, title: str | None = None
) -> go.Figure:
    """Plot a tornado chart: NPSV at each input's low and high value around the central NPSV."""
    data = tornado_data(sensitivity, top=top)
    central = float(data["npsv_central_gbp"].iloc[0]) if len(data) else 0.0
    alt = (
        f"Tornado chart of NPSV when each of {len(data)} inputs moves to its low and high value, "
        f"around the central NPSV of {_millions(central)}"
        + (f"; the largest swing comes from {data['input'].iloc[0]}" if len(data) else "")
        + ". The values are in the table that follows."
    )
    fig = _figure(
        title or "What moves the NPSV most (one-way sensitivity)",
        alt,
        xaxis_title="NPSV, GBP million",
        height=max(320, 60 + 38 * len(data)),
        barmode="overlay",
    )
    y = data["input"][::-1]
    for col, name, colour, pattern in (
        ("npsv_at_low_gbp", "input at low value", _ORANGE, "/"),
        ("npsv_at_high_gbp", "input at high value", _BLUE, ""),
    ):
        fig.add_trace(
            go.Bar(
                y=y,
                x=(data[col][::-1] - central) / 1e6,
                base=central / 1e6,
                orientation="h",
                name=name,
                marker={"color": colour, "pattern": {"shape": pattern}},
            )
        )
    fig.add_vline(x=central / 1e6, line={"color": _GREY, "width": 1.5})
    fig.add_vline(x=0, line={"color": _GREY, "width": 1, "dash": "dot"})
    fig.update_yaxes(automargin=True)
    return fig


# ---------------------------------------------------------------- Monte Carlo


def monte_carlo_data(mc: MonteCarloSummary, *, bins: int = 40) -> pd.DataFrame:
    """Return the histogram of the Monte Carlo NPSV draws.

    Columns: ``bin_low_gbp``, ``bin_high_gbp``, ``draws`` (count) and ``share`` (of all
    draws); equal-width bins over the range of the draws.
    """
    draws = np.asarray(mc.npsv_draws, dtype=float)
    if draws.size == 0:
        raise ValueError("the Monte Carlo has no draws")
    counts, edges = np.histogram(draws, bins=bins)
    return pd.DataFrame(
        {
            "bin_low_gbp": edges[:-1],
            "bin_high_gbp": edges[1:],
            "draws": counts.astype(int),
            "share": counts / draws.size,
        }
    )


def monte_carlo_chart(
    mc: MonteCarloSummary, *, bins: int = 40, title: str | None = None
) -> go.Figure:
    """Plot the Monte Carlo distribution of NPSV with P10, P50, P90 and zero marked."""
    data = monte_carlo_data(mc, bins=bins)
    alt = (
        f"Histogram of NPSV over {mc.draws:,} Monte Carlo draws: P10 {_millions(mc.p10)}, "
        f"P50 {_millions(mc.p50)}, P90 {_millions(mc.p90)}; probability that NPSV is above "
        f"zero {mc.prob_positive:.0%}. The values are in the table that follows."
    )
    fig = _figure(
        title or "Distribution of NPSV (Monte Carlo)",
        alt,
        xaxis_title="NPSV, GBP million",
        yaxis_title="Share of draws",
        bargap=0.02,
    )
    mid = (data["bin_low_gbp"] + data["bin_high_gbp"]) / 2e6
    width = (data["bin_high_gbp"] - data["bin_low_gbp"]) / 1e6
    fig.add_trace(
        go.Bar(x=mid, y=data["share"], width=width, name="draws", marker_color=PALETTE["mid_blue"])
    )
    for value, label, dash in (
        (mc.p10, "P10", "dot"),
        (mc.p50, "P50", "dash"),
        (mc.p90, "P90", "dot"),
    ):
        fig.add_vline(x=value / 1e6, line={"color": _BLUE, "width": 1.5, "dash": dash})
        fig.add_annotation(
            x=value / 1e6, y=1, yref="paper", text=label, showarrow=False, yanchor="bottom"
        )
    fig.add_vline(x=0, line={"color": _ORANGE, "width": 2})
    fig.add_annotation(
        x=0,
        y=0.9,
        yref="paper",
        text="NPSV = 0",
        showarrow=False,
        xanchor="left",
        font={"color": PALETTE["dark_grey"]},
    )
    fig.update_yaxes(tickformat=".0%")
    return fig


# ---------------------------------------------------------------- national rollout


def rollout_data(rollout: RolloutResult) -> pd.DataFrame:
    """Return the national rollout projection by year (undiscounted and cumulative PV).

    Columns: ``financial_year``, ``forces_live``, ``costs_gbp``, ``benefits_gbp``,
    ``net_gbp``, ``cumulative_npsv_gbp``.
    """
    t = rollout.by_year
    return pd.DataFrame(
        {
            "financial_year": t["financial_year"].astype(str).to_numpy(),
            "forces_live": t["forces_live"].astype(int).to_numpy(),
            "costs_gbp": t["costs_gbp"].astype(float).to_numpy(),
            "benefits_gbp": t["benefits_gbp"].astype(float).to_numpy(),
            "net_gbp": t["net_gbp"].astype(float).to_numpy(),
            "cumulative_npsv_gbp": t["cumulative_pv_net_gbp"].astype(float).to_numpy(),
        }
    )


def rollout_chart(rollout: RolloutResult, *, title: str | None = None) -> go.Figure:
    """Plot the national rollout: costs and benefits by year and the cumulative NPSV."""
    data = rollout_data(rollout)
    alt = (
        f"Chart of the national rollout to {rollout.n_forces} forces from "
        f"{data['financial_year'].iloc[0]} to {data['financial_year'].iloc[-1]}: real costs and "
        f"benefits by year and the cumulative NPSV, ending at "
        f"{_millions(float(data['cumulative_npsv_gbp'].iloc[-1]))}. "
        "The values are in the table that follows."
    )
    fig = _figure(
        title or f"National rollout to {rollout.n_forces} forces",
        alt,
        xaxis_title="Financial year",
        yaxis_title="GBP million, real",
        barmode="group",
    )
    x = data["financial_year"]
    fig.add_trace(go.Bar(x=x, y=data["costs_gbp"] / 1e6, name="costs", marker_color=_ORANGE))
    fig.add_trace(
        go.Bar(
            x=x,
            y=data["benefits_gbp"] / 1e6,
            name="benefits",
            marker={"color": _BLUE, "pattern": {"shape": "x"}},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=data["cumulative_npsv_gbp"] / 1e6,
            mode="lines+markers",
            name="cumulative NPSV (discounted)",
            line={"color": PALETTE["dark_grey"], "width": 3, "dash": "dash"},
            marker={"symbol": "diamond", "size": 8},
        )
    )
    fig.add_hline(y=0, line={"color": _GREY, "width": 1})
    fig.update_xaxes(type="category")
    return fig


# ---------------------------------------------------------------- how the answer moved


def answer_history_data(history: pd.DataFrame) -> pd.DataFrame:
    """Return the pilots' NPSV and BCR as each year's report gave them.

    ``history`` is :func:`evaluation.annual.answer_history`. Columns: ``report_year``,
    ``npsv_gbp``, ``bcr``, ``vfm_category``, ``prob_positive``, ``rollout_npsv_gbp``.
    """
    h = history.sort_values("financial_year")
    return pd.DataFrame(
        {
            "report_year": h["financial_year"].astype(str).to_numpy(),
            "npsv_gbp": h["npsv"].astype(float).to_numpy(),
            "bcr": h["bcr"].astype(float).to_numpy(),
            "vfm_category": h["vfm_category"].astype(str).to_numpy(),
            "prob_positive": h["prob_positive"].astype(float).to_numpy(),
            "rollout_npsv_gbp": h["rollout_npsv"].astype(float).to_numpy(),
        }
    )


def answer_history_chart(history: pd.DataFrame) -> go.Figure:
    """Plot how the answer moved: each report year's pilot NPSV (bars, labelled with the BCR).

    >>> h = pd.DataFrame({"financial_year": ["2023-24", "2024-25"], "npsv": [-2e6, 1e6],
    ...     "bcr": [0.6, 1.2], "vfm_category": ["Poor", "Low"], "prob_positive": [0.1, 0.7],
    ...     "rollout_npsv": [-5e6, 4e6]})
    >>> print(alt_text(answer_history_chart(h)).split(":")[0])
    Chart of the pilots' NPSV as each annual report gave it, 2023-24 to 2024-25
    """
    data = answer_history_data(history)
    first, last = data["report_year"].iloc[0], data["report_year"].iloc[-1]
    alt = (
        f"Chart of the pilots' NPSV as each annual report gave it, {first} to {last}: "
        + "; ".join(
            f"{y} {_millions(v)} (BCR {b:.2f})"
            for y, v, b in zip(data["report_year"], data["npsv_gbp"], data["bcr"], strict=True)
        )
        + ". The values are in the table that follows."
    )
    fig = _figure(
        "How the answer moved: the pilots' NPSV in each year's report",
        alt,
        xaxis_title="Annual report for financial year",
        yaxis_title="NPSV, GBP million (real)",
    )
    y = data["npsv_gbp"] / 1e6
    fig.add_trace(
        go.Bar(
            x=data["report_year"],
            y=y,
            name="pilots' NPSV",
            marker_color=[_BLUE if v >= 0 else _ORANGE for v in y],
            text=[f"BCR {b:.2f}" for b in data["bcr"]],
            textposition="outside",
        )
    )
    fig.add_hline(y=0, line={"color": _GREY, "width": 1})
    fig.update_xaxes(type="category")
    return fig
