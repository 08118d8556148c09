"""Charts: every figure is drawn from its companion data frame, in the Analysis Function palette."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from evaluation import plots
from evaluation.pipeline import PipelineInputs, run_pipeline


@pytest.fixture(scope="module")
def result():
    return run_pipeline(
        PipelineInputs.bundled(
            reps=49, draws=500, metrics=["outsourced_exams", "officer_hours_digital"]
        )
    )


def _colours(fig: go.Figure) -> set[str]:
    found: set[str] = set()
    for tr in fig.data:
        for attr in ("marker", "line"):
            obj = getattr(tr, attr, None)
            colour = getattr(obj, "color", None) if obj is not None else None
            if isinstance(colour, str):
                found.add(colour.upper())
    return found


def test_event_study_data_is_the_fit_table(result) -> None:
    res = result.results["outsourced_exams"]
    data = plots.event_study_data(res)
    es = res.event_study.sort_values("event_time")
    np.testing.assert_array_equal(data["estimate"], es["estimate"])
    np.testing.assert_array_equal(data["ci_low"], es["ci_low"])
    np.testing.assert_array_equal(data["band_high"], es["band_high"])
    assert set(data["phase"]) == {"before", "after"}
    assert (data.loc[data["event_time"] < 0, "phase"] == "before").all()


def test_event_study_chart_draws_the_data(result) -> None:
    res = result.results["outsourced_exams"]
    data = plots.event_study_data(res)
    fig = res.plot(unit="exams", period_name="months")
    assert isinstance(fig, go.Figure)
    after = next(t for t in fig.data if t.name.startswith("after"))
    post = data[data["phase"] == "after"]
    np.testing.assert_allclose(after.y, post["estimate"])
    np.testing.assert_allclose(after.error_y.array, post["ci_high"] - post["estimate"])
    band = next(t for t in fig.data if "band" in t.name)
    assert max(band.y) == pytest.approx(data["band_high"].max())
    assert "months since go-live" in plots.alt_text(fig)
    assert _colours(fig) <= {c.upper() for c in plots.PALETTE.values()}


def test_event_study_without_table_is_a_clear_error(result) -> None:
    res = result.results["outsourced_exams"].replace(event_study=None)
    with pytest.raises(ValueError, match="no event-study table"):
        plots.event_study_data(res)


def test_trends_data_means_by_group(result) -> None:
    panel, register = result.panel, result.register
    data = plots.trends_data(panel, register, "outsourced_exams")
    pilots = set(register["force"])
    month = panel[panel["period"] == "2023-06"]
    hand = month.loc[month["force"].isin(pilots), "outsourced_exams"].mean()
    row = data[(data["period"] == "2023-06") & (data["group"] == "pilot forces")]
    assert row["mean"].item() == pytest.approx(hand)
    assert row["forces"].item() == month["force"].isin(pilots).sum()
    fy = plots.trends_data(panel, register, "outsourced_exams", freq="financial_year")
    assert "2022-23" in set(fy["period"]) and "2018-19" in set(fy["period"])
    one = panel[(panel["force"] == "Kent") & panel["period"].between("2022-04", "2023-03")]
    kent_mean = one["outsourced_exams"].mean()
    comp = panel[~panel["force"].isin(pilots)]
    comp = comp[comp["period"].between("2022-04", "2023-03")]
    by_force = comp.groupby("force")["outsourced_exams"].mean()
    assert by_force["Kent"] == pytest.approx(kent_mean)
    got = fy[(fy["period"] == "2022-23") & (fy["group"] == "comparison forces")]["mean"].item()
    assert got == pytest.approx(by_force.mean())


def test_trends_chart_marks_every_wave(result) -> None:
    fig = plots.trends_chart(result.panel, result.register, "outsourced_exams", unit="exams")
    marks = {a.text for a in fig.layout.annotations}
    assert marks == {"go-live 2022-04", "go-live 2023-04", "go-live 2024-04"}
    names = [t.name for t in fig.data]
    assert names == ["pilot forces", "comparison forces"]
    assert fig.data[1].line.dash == "dash"  # not colour alone


def test_trends_bad_option_lists_allowed(result) -> None:
    with pytest.raises(Exception, match="period"):
        plots.trends_data(result.panel, result.register, "backlog", freq="week")  # type: ignore[arg-type]


def test_cumulative_npsv_data_matches_appraisal(result) -> None:
    a = result.appraisal
    data = plots.cumulative_npsv_data(a)
    assert data["cumulative_npsv_gbp"].iloc[-1] == pytest.approx(a.npsv)
    assert data["pv_costs_gbp"].sum() == pytest.approx(a.pv_costs)
    assert (data["cumulative_npsv_p10_gbp"] <= data["cumulative_npsv_p90_gbp"]).all()
    fig = plots.cumulative_npsv_chart(a)
    line = next(t for t in fig.data if t.name == "cumulative NPSV")
    np.testing.assert_allclose(np.asarray(line.y) * 1e6, data["cumulative_npsv_gbp"])
    gf = plots.cumulative_npsv_data(a, view="go-forward")
    assert gf["cumulative_npsv_gbp"].iloc[-1] == pytest.approx(a.go_forward.npsv)


def test_tornado_orders_by_swing(result) -> None:
    sens = result.appraisal.uncertainty.sensitivity
    data = plots.tornado_data(sens)
    assert data["swing_gbp"].is_monotonic_decreasing
    assert len(data) == len(sens)
    top = sens.loc[(sens["npsv_at_high"] - sens["npsv_at_low"]).abs().idxmax()]
    assert data["input"].iloc[0] == top["description"]
    fig = plots.tornado_chart(sens, top=5)
    assert len(fig.data[0].y) == 5
    # bars start at the central NPSV and end at the NPSV at the input's value
    ends = np.asarray(fig.data[1].x) + fig.data[1].base
    np.testing.assert_allclose(ends[::-1] * 1e6, data["npsv_at_high_gbp"].head(5))


def test_monte_carlo_histogram_counts_every_draw(result) -> None:
    mc = result.appraisal.monte_carlo
    data = plots.monte_carlo_data(mc, bins=25)
    assert data["draws"].sum() == mc.draws == len(mc.npsv_draws)
    assert data["share"].sum() == pytest.approx(1.0)
    assert data["bin_low_gbp"].iloc[0] == pytest.approx(np.min(mc.npsv_draws))
    inside = (mc.npsv_draws >= data["bin_low_gbp"][3]) & (mc.npsv_draws < data["bin_high_gbp"][3])
    assert data["draws"][3] == inside.sum()
    fig = plots.monte_carlo_chart(mc, bins=25)
    assert "P10" in plots.alt_text(fig) and f"{mc.prob_positive:.0%}" in plots.alt_text(fig)


def test_rollout_data(result) -> None:
    roll = result.appraisal.rollout
    data = plots.rollout_data(roll)
    assert data["cumulative_npsv_gbp"].iloc[-1] == pytest.approx(roll.summary.npsv)
    np.testing.assert_allclose(data["net_gbp"], data["benefits_gbp"] - data["costs_gbp"])
    fig = plots.rollout_chart(roll)
    assert str(roll.n_forces) in fig.layout.title.text


def test_same_inputs_same_figures(result) -> None:
    a = result.appraisal
    one = plots.cumulative_npsv_chart(a).to_json()
    two = plots.cumulative_npsv_chart(a).to_json()
    assert one == two
    fig = plots.tornado_chart(a.uncertainty.sensitivity)
    assert fig.layout.template.layout.font.family.startswith("Arial")


def test_empty_tornado_is_an_empty_frame() -> None:
    data = plots.tornado_data(pd.DataFrame())
    assert data.empty and "swing_gbp" in data.columns


def test_event_study_window(result) -> None:
    res = result.results["outsourced_exams"]
    data = plots.event_study_data(res, window=(-12, 6))
    assert data["event_time"].min() == -12 and data["event_time"].max() == 6
    fig = plots.event_study_chart(res, window=(-12, 6))
    xs = np.concatenate([np.asarray(t.x) for t in fig.data if "interval" in t.name])
    assert xs.min() == -12 and xs.max() == 6
