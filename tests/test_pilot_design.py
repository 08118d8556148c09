"""Pilot design: designs, placebo replications, the BPW analytic MDE, break-even, comparison."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from evaluation.errors import ConfigError
from evaluation.ingest import bundled_data_dir, load_ledger
from evaluation.pilot_design.analytic import (
    BPWComponents,
    analytic_mde,
    bpw_components,
    bpw_variance,
)
from evaluation.pilot_design.breakeven import (
    break_even_effects,
    ledger_unit_costs,
    per_force_year_factor,
)
from evaluation.pilot_design.compare import MetricInfo, compare_designs
from evaluation.pilot_design.designs import (
    Design,
    History,
    draw_pilots,
    history_from_panel,
    size_strata,
)
from evaluation.pilot_design.power import interpolate_mde, summarise_pair
from evaluation.pilot_design.runner import DaskSettings
from evaluation.pilot_design.simulate import PowerSpec, planted_paths, replicate


def _additive_history(n: int = 20, t: int = 24, noise: float = 0.0, seed: int = 0) -> History:
    """y = force level + month effect (+ noise): parallel trends hold exactly without noise."""
    rng = np.random.default_rng(seed)
    y = (
        50.0
        + rng.uniform(0, 40, n)[:, None]
        + 5 * np.sin(np.arange(t))[None, :]
        + noise * rng.standard_normal((n, t))
    )
    return History(
        "m",
        tuple(f"F{i:02d}" for i in range(n)),
        tuple(f"P{j:02d}" for j in range(t)),
        y,
        np.linspace(500, 5000, n),
        tuple("R" for _ in range(n)),
    )


# ----------------------------------------------------------------------------- designs
def test_design_validation_and_waves() -> None:
    d = Design(7, waves=3, wave_gap_months=6, pre_months=12, follow_up_months=24)
    assert d.wave_sizes() == (3, 2, 2)
    assert d.go_live_offsets() == (12, 18, 24)
    assert Design(14, 3, pre_months=48, follow_up_months=48, sizes=(3, 5, 6)).wave_sizes() == (
        3,
        5,
        6,
    )
    with pytest.raises(ConfigError, match="selection must be one of"):
        Design(3, selection="random")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="goes live after"):
        Design(3, waves=3, wave_gap_months=12, follow_up_months=24)
    with pytest.raises(ConfigError, match="summing to"):
        Design(5, waves=2, sizes=(1, 1))
    with pytest.raises(ConfigError, match="pilots must be"):
        Design(0)


def test_stratified_draw_spreads_pilots_over_size_thirds() -> None:
    fte = np.arange(1.0, 31.0)  # 30 forces, thirds of 10
    strata = size_strata(fte)
    assert np.bincount(strata).tolist() == [10, 10, 10]
    rng = np.random.default_rng(3)
    for k in (3, 6, 7):
        picks = draw_pilots(30, k, rng, selection="stratified", strata=strata)
        counts = np.bincount(strata[picks], minlength=3)
        assert counts.sum() == k and counts.max() - counts.min() <= 1
        assert len(set(picks.tolist())) == k
    free = draw_pilots(30, 5, rng)
    assert free.tolist() == sorted(set(free.tolist()))
    with pytest.raises(ConfigError, match="cannot draw"):
        draw_pilots(5, 5, rng)


def test_history_keeps_absent_months_absent_and_cuts_at_go_live() -> None:
    panel = pd.DataFrame(
        {
            "force": ["A", "A", "A", "B", "B"],
            "period": ["2020-01", "2020-02", "2020-03", "2020-01", "2020-03"],
            "y": [1.0, 2.0, 3.0, 4.0, 6.0],
        }
    )
    h = history_from_panel(panel, "y", before="2020-03")
    assert h.periods == ("2020-01", "2020-02")
    assert h.n_missing == 1 and np.isnan(h.y[1, 1])
    with pytest.raises(Exception, match="no periods before"):
        history_from_panel(panel, "y", before="2019-01")


# ----------------------------------------------------------------------------- replication
@pytest.mark.parametrize("model", ["relative", "additive"])
@pytest.mark.parametrize("shape", ["constant", "linear", "step"])
def test_planted_effect_is_recovered_exactly_without_noise(model: str, shape: str) -> None:
    """Parallel trends hold exactly: the CS estimate equals the planted mean effect."""
    h = _additive_history()
    design = Design(5, waves=2, wave_gap_months=4, pre_months=8, follow_up_months=12)
    spec = PowerSpec(
        h,
        design,
        (0.0, -0.1, 0.2),
        shape,  # type: ignore[arg-type]
        3,
        (("cs", "cr1"),),
        effect_model=model,  # type: ignore[arg-type]
    )
    rows = replicate(spec, np.random.default_rng(1))
    assert [r["effect"] for r in rows] == [0.0, -0.1, 0.2]
    assert rows[0]["truth"] == 0.0
    for r in rows:
        assert r["estimate"] == pytest.approx(r["truth"], abs=1e-9)
    # the planted truth is linear in the size
    assert rows[2]["truth"] == pytest.approx(-2 * rows[1]["truth"])


def test_planted_paths_follow_the_generator_shapes() -> None:
    d = Design(2, waves=2, wave_gap_months=2, pre_months=2, follow_up_months=6)
    lin = planted_paths(d, "linear", 4)
    assert lin[0].tolist() == [0, 0, 0.25, 0.5, 0.75, 1, 1, 1]
    assert lin[1].tolist() == [0, 0, 0, 0, 0.25, 0.5, 0.75, 1]
    assert planted_paths(d, "step", 1)[0].tolist() == [0, 0, 0, 1, 1, 1, 1, 1]


def test_power_summary_by_hand() -> None:
    rows = pd.DataFrame(
        {
            "method": ["cs"] * 6,
            "inference": [None] * 6,
            "inference_used": ["ri"] * 6,
            "effect": [0.0, -0.1, -0.2, 0.0, -0.1, -0.2],
            "truth": [0.0, -1.0, -2.0, 0.0, -3.0, -6.0],
            "reject": [False, True, True, False, False, True],
            "failed": [""] * 6,
        }
    )
    c = summarise_pair(rows, "cs", None, -1)
    assert c.effects == (0.0, -0.1, -0.2)
    assert c.power == (0.0, 0.5, 1.0)
    assert c.size == 0.0 and c.n_reps == 2
    assert c.mc_se[1] == pytest.approx(math.sqrt(0.25 / 2))
    # 80% between -0.1 (50%) and -0.2 (100%): -0.1 - 0.1 * 0.3 / 0.5
    assert c.mde == pytest.approx(-0.16)
    assert c.truth_per_unit_effect == pytest.approx(20.0)  # mean of 10, 10, 30, 30
    assert interpolate_mde([0.0, 0.1], [0.05, 0.9], direction=1) == pytest.approx(0.1 * 0.75 / 0.85)


# ----------------------------------------------------------------------------- analytic
def test_bpw_formula_by_hand() -> None:
    c = BPWComponents(4.0, 2.0, 1.0, 0.5, 0.25, m=2, r=4, n_units=10, n_windows=1)
    # [4/2 + 2/4 + (1/2) 1 + (3/4) 0.5 - 2 (0.25)] / (0.2 * 0.8 * 10)
    expected = (2.0 + 0.5 + 0.5 + 0.375 - 0.5) / 1.6
    assert bpw_variance(c, 10, 0.2) == pytest.approx(expected)
    # equal variances give BPW's (m + r) / (m r) sigma2
    same = BPWComponents(3.0, 3.0, 0.0, 0.0, 0.0, m=2, r=4, n_units=10, n_windows=1)
    assert bpw_variance(same, 10, 0.5) == pytest.approx(6 / 8 * 3.0 / 2.5)


def test_bpw_variance_is_the_variance_of_the_unit_differences() -> None:
    """With block averages of the sample covariance the formula is exact for the history."""
    rng = np.random.default_rng(2)
    n, m, r = 60, 3, 4
    z = rng.standard_normal((n, m + r)).cumsum(axis=1) * rng.uniform(0.5, 3, n)[:, None]
    y = z + rng.uniform(0, 100, n)[:, None]
    for base_only in (False, True):
        c = bpw_components(y, m, r, base_only=base_only)
        u = y - y.mean(axis=0)
        pre = u[:, m - 1 : m] if base_only else u[:, :m]
        d = u[:, m:].mean(axis=1) - pre.mean(axis=1)
        direct = d.var(ddof=1) / (0.25 * 0.75 * n)
        assert bpw_variance(c, n, 0.25) == pytest.approx(direct, rel=1e-10)


def test_bpw_matches_ar1_theory() -> None:
    """AR(1) errors with rho: components near sigma2, rho^|s-t| averages."""
    rng = np.random.default_rng(4)
    n, t, rho = 4000, 6, 0.5
    e = np.empty((n, t))
    e[:, 0] = rng.standard_normal(n)
    for j in range(1, t):
        e[:, j] = rho * e[:, j - 1] + math.sqrt(1 - rho**2) * rng.standard_normal(n)
    c = bpw_components(e, 3, 3)
    # a force's own level cancels: the same variance with large force effects added
    shifted = bpw_components(e + rng.normal(0, 5, n)[:, None], 3, 3)
    assert bpw_variance(shifted, n, 0.25) == pytest.approx(bpw_variance(c, n, 0.25), rel=1e-9)
    cov = rho ** np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
    assert c.sigma2 == pytest.approx(1.0, abs=0.05)
    assert c.psi_pre == pytest.approx((2 * rho + rho**2) / 3, abs=0.05)
    assert c.psi_cross == pytest.approx(cov[:3, 3:].mean(), abs=0.05)
    mde = analytic_mde(e, pre_months=3, post_months=3, pilots=1000, estimator="twfe")
    a = np.r_[-np.ones(3) / 3, np.ones(3) / 3]
    exact = 2.8015852 * math.sqrt(a @ cov @ a / (0.25 * 0.75 * n))
    assert mde == pytest.approx(exact, rel=0.05)


# ----------------------------------------------------------------------------- break-even
def test_break_even_effect_sets_npsv_to_zero() -> None:
    sample = bundled_data_dir() / "sample"
    ledger = load_ledger(sample / "costs.csv")
    effects = pd.read_csv(sample / "effects.csv", comment="#")
    be = break_even_effects(ledger, effects).set_index("metric")
    assert {"outsourced_exams", "officer_hours_digital"} <= set(be.index)
    for metric in ("outsourced_exams", "officer_hours_digital"):
        x = float(be.loc[metric, "break_even"])
        assert x < 0  # a fall is the benefit
        scale = abs(float(be.loc[metric, "central"])) * 1000
        assert abs(float(be.loc[metric, "npsv_at_break_even"])) < 1e-6 * scale
    setup, running = ledger_unit_costs(pd.DataFrame(ledger))
    assert setup > 0 and running > 0


def test_per_force_year_factor_by_hand() -> None:
    y = np.full((4, 10), 20.0)
    paths = np.array([[0, 0, 0, 0.5, 1, 1]], dtype=float)
    # months 3..5 live (go-live 3): mean path 2.5 / 3, level 20, x 12 for a flow
    f = per_force_year_factor(y, paths, (2,), (3,), flow=True)
    assert f == pytest.approx(20 * (2.5 / 3) * 12)
    assert per_force_year_factor(y, paths, (2,), (3,), flow=False) == pytest.approx(20 * 2.5 / 3)


# ----------------------------------------------------------------------------- comparison
def test_compare_designs_runs_and_serialises() -> None:
    h = _additive_history(n=16, t=20, noise=3.0)
    res = compare_designs(
        {"m": h},
        [Design(4, pre_months=8, follow_up_months=12)],
        info={"m": MetricInfo(direction=-1, flow=True, break_even=-150.0, estimate=-60.0)},
        pairs=(("cs", "cr1"),),
        reps=4,
        seed=3,
        settings=DaskSettings(workers=0),
    )
    row = res.table.iloc[0]
    assert row["pilots"] == 4 and row["metric"] == "m" and row["reps"] == 4
    curve = res.curves[0][2]
    # break-even and current estimate are planted points of the grid
    assert math.isfinite(row["power_at_break_even"]) and math.isfinite(row["power"])
    assert 0.0 in curve.effects and len(curve.effects) >= 4
    assert row["break_even_relative"] == pytest.approx(-150.0 / (curve_factor(h, 8, 12)))
    payload = json.loads(json.dumps(res.to_dict()))
    keys = {"pilots", "metric", "mde", "power", "power_at_break_even", "size"}
    assert keys <= set(payload["designs"][0])
    assert "break_even_effect" in payload["designs"][0]


def curve_factor(h: History, pre: int, post: int) -> float:
    d = Design(4, pre_months=pre, follow_up_months=post)
    return per_force_year_factor(
        h.y, planted_paths(d, "constant", 12), d.wave_sizes(), d.go_live_offsets()
    )


def test_chart_and_table_of_a_comparison() -> None:
    from evaluation.pilot_design.chart import comparison_figure, comparison_table
    from evaluation.pilot_design.compare import DesignComparison

    rows = []
    for sel in ("free", "stratified"):
        for k, p in ((3, 0.4), (10, 0.9)):
            rows.append(
                {
                    "pilots": k,
                    "waves": 1,
                    "follow_up_months": 24,
                    "selection": sel,
                    "metric": "m",
                    "inference": "recommended",
                    "inference_used": "ri",
                    "mde": -100.0 if k == 10 else math.nan,
                    "mde_relative": -0.1 if k == 10 else math.nan,
                    "analytic_mde_relative": -0.12,
                    "break_even_effect": -150.0,
                    "power_at_break_even": p,
                    "power": 0.5,
                    "size": 0.05,
                    "cost": 1e6 * k,
                }
            )
    res = DesignComparison(pd.DataFrame(rows), (), reps=10, seed=1)
    table = comparison_table(res)
    assert list(table["MDE (%)"].fillna(0)) == [0, -10.0, 0, -10.0]
    assert list(table["cost (GBP m)"]) == [3.0, 10.0, 3.0, 10.0]
    fig = comparison_figure(res)
    names = [tr.name for tr in fig.data]
    assert names == ["free, 24 months, 1 wave"] * 2 + ["stratified, 24 months, 1 wave"] * 2
    assert list(fig.data[2].y) == [0.4, 0.9]  # power at break-even
    assert list(fig.data[3].y)[1] == -100.0  # MDE per force-year
