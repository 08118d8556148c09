"""Uncertainty: Monte Carlo reproducibility and its agreement with the normal approximation,
sensitivity, switching values and scenarios on the bundled data, and the national rollout."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluation.appraisal import (
    appraise,
    effects_from_frame,
    load_effects,
    load_params,
    params_from_dict,
)
from evaluation.ingest import load_ledger, load_register

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
PENNY = 1e-2


@pytest.fixture(scope="module")
def bundled():
    ledger = load_ledger(SAMPLE / "costs.csv")
    reg = load_register(SAMPLE / "register.csv")
    go_live = dict(zip(reg["force"], reg["go_live"], strict=True))
    effects = load_effects(SAMPLE / "effects.csv")
    return ledger, effects, go_live


@pytest.fixture(scope="module")
def bundled_result(bundled):
    ledger, effects, go_live = bundled
    return appraise(ledger, effects, go_live=go_live, seed=11)


def test_monte_carlo_reproducible_by_seed(bundled, bundled_result):
    ledger, effects, go_live = bundled
    again = appraise(ledger, effects, go_live=go_live, seed=11, rollout=False)
    a, b = bundled_result.monte_carlo, again.monte_carlo
    assert a is not None and b is not None
    assert a.draws == 10_000
    np.testing.assert_array_equal(a.npsv_draws, b.npsv_draws)
    assert (a.p10, a.p50, a.p90, a.prob_positive) == (b.p10, b.p50, b.p90, b.prob_positive)
    other = appraise(
        ledger, effects, go_live=go_live, rng=np.random.default_rng(12), rollout=False
    ).monte_carlo
    assert other is not None and other.p50 != a.p50
    assert a.p10 < a.p50 < a.p90


def test_switching_values_on_bundled_data_bring_npsv_to_zero(bundled_result):
    for view in (bundled_result.uncertainty, bundled_result.rollout.uncertainty):
        sw = view.switching_values
        assert len(sw) >= 5
        found = sw.dropna(subset=["switching_value"])
        assert len(found) >= 5
        assert (found["npsv_at_switch"].abs() < PENNY).all(), found


def test_scenarios_are_ordered_and_central_matches(bundled_result):
    sc = bundled_result.uncertainty.scenarios.set_index("scenario")
    assert sc.loc["low", "npsv"] < sc.loc["central", "npsv"] < sc.loc["high", "npsv"]
    assert sc.loc["central", "npsv"] == pytest.approx(bundled_result.npsv, abs=PENNY)


def test_tornado_rows_agree_with_fresh_appraisals(bundled, bundled_result):
    ledger, effects, go_live = bundled
    sens = bundled_result.uncertainty.sensitivity.set_index("input")
    expected = {
        "effect:outsourced_exams",
        "effect:officer_hours_digital",
        "unit_value:outsourced_exam",
        "cost_scale",
        "discount_rate",
        "optimism_bias",
        "asset_life:equipment",
    }
    assert expected <= set(sens.index)
    row = sens.loc["effect:outsourced_exams"]
    fresh = appraise(
        ledger,
        effects.with_estimate("outsourced_exams", float(row["low"])),
        go_live=go_live,
        rollout=False,
        uncertainty=False,
    )
    assert fresh.npsv == pytest.approx(row["npsv_at_low"], abs=PENNY)
    assert list(sens["swing"]) == sorted(sens["swing"], reverse=True)


def _linear_params():
    """Only the effects are uncertain: fixed unit values and cost scale, normal effects."""
    return params_from_dict(
        {
            "unit_values": {
                "outsourced_exam": {"value": 450.0, "price_base": "2024-25", "source": "t"},
                "officer_hour_sergeant_and_below": {
                    "value": 36.51,
                    "price_base": "2014-15",
                    "source": "t",
                },
                "hour_release_share": {"value": 1.0, "source": "t"},
            },
            "uncertainty": {
                "cost_scale": {"value": 1.0, "source": "t"},
                "effect_distribution": "normal",
            },
        }
    )


def test_probability_positive_matches_normal_approximation(bundled):
    """Linear case: NPSV = a + sum b_m e_m with e_m ~ N(est, se): P(NPSV > 0) = Phi(mu / sd).

    Effects are shifted so that P is near 0.5 (largest Monte Carlo variance); tolerance is four
    Monte Carlo standard errors, sqrt(p (1 - p) / n).
    """
    ledger, effects, go_live = bundled
    params = _linear_params()
    base = appraise(ledger, effects, params, go_live=go_live, rollout=False, uncertainty=False)
    # move the hours effect so the central NPSV is slightly positive
    hours = effects.estimate("officer_hours_digital")
    k_hours = (
        base.benefits_by_line.set_index("line").loc["officer_hours_released", "pv_gbp"] / hours
    )
    shifted = effects.with_estimate("officer_hours_digital", hours + (-base.npsv + 2e6) / k_hours)
    n = 40_000
    a = appraise(ledger, shifted, params, go_live=go_live, rollout=False, seed=5, draws=n)
    mc = a.monte_carlo
    assert mc is not None and mc.uncertain_inputs == (
        "effect:outsourced_exams",
        "effect:officer_hours_digital",
    )
    # independent analytic calculation from the benefit lines (PV per unit of each effect)
    by_line = a.benefits_by_line.set_index("line")
    b_exams = by_line.loc["outsourced_exams_avoided", "pv_gbp"] / shifted.estimate(
        "outsourced_exams"
    )
    b_hours = by_line.loc["officer_hours_released", "pv_gbp"] / shifted.estimate(
        "officer_hours_digital"
    )
    mu = a.npsv
    sd = math.hypot(
        b_exams * shifted.se("outsourced_exams"), b_hours * shifted.se("officer_hours_digital")
    )
    p = stats.norm.sf(0, loc=mu, scale=sd)
    assert 0.3 < p < 0.9
    assert mc.analytic_prob_positive == pytest.approx(p, abs=1e-10)
    tol = 4 * math.sqrt(p * (1 - p) / n)
    assert mc.prob_positive == pytest.approx(p, abs=tol)
    assert mc.mean == pytest.approx(mu, abs=4 * sd / math.sqrt(n))
    assert mc.sd == pytest.approx(sd, rel=0.02)


def test_bootstrap_draws_are_resampled_jointly():
    rng = np.random.default_rng(0)
    draws = pd.DataFrame({"outsourced_exams": -200 + 30 * rng.standard_normal(500)})
    frame = pd.DataFrame(
        {"metric": ["outsourced_exams"], "estimate": [-200.0], "se": [30.0], "unit": ["exams"]}
    )
    effects = effects_from_frame(frame, draws=draws)
    params = params_from_dict(
        {
            "settings": {"appraisal_period_years": {"value": 4, "source": "t"}},
            "unit_values": {
                "outsourced_exam": {"value": 500.0, "price_base": "2024-25", "source": "t"}
            },
            "uncertainty": {"cost_scale": {"value": 1.0, "source": "t"}},
            "benefits": [
                {"name": "officer_hours_released", "enabled": False},
                {"name": "cce_referrals_social_value", "enabled": False},
            ],
        }
    )
    ledger = pd.DataFrame(
        [("Durham", "2022-23", "staff", "capital", 300_000.0, "real 2024-25")],
        columns=["force", "financial_year", "category", "kind", "amount_gbp", "price_basis"],
    )
    a = appraise(ledger, effects, params, rollout=False, seed=2, draws=20_000)
    mc = a.monte_carlo
    assert mc is not None and mc.effect_distribution == "bootstrap"
    # every draw is one of the 500 bootstrap values mapped through NPSV = -500 K e - 300,000
    k = sum(1.035**-t for t in range(4))
    support = 500 * k * -draws["outsourced_exams"].to_numpy() - 300_000
    nearest = np.abs(support[None, :] - mc.npsv_draws[:2000, None]).min(axis=1)
    assert nearest.max() < 1e-6
    assert mc.mean == pytest.approx(np.mean(support), abs=4 * np.std(support) / math.sqrt(20_000))


def test_rollout_scales_by_officers(bundled, bundled_result):
    _, effects, go_live = bundled
    roll = bundled_result.rollout
    assert roll is not None and roll.n_forces == 43
    forces = roll.forces.set_index("force")
    pilots = list(go_live)
    officers = forces["driver"]
    # the pilots' size behind the estimate: officers weighted by years live to 2025-26
    years_live = pd.Series({f: 2026 - pd.Timestamp(g).year for f, g in go_live.items()})
    assert sorted(set(years_live)) == [2, 3, 4]
    size = (officers.reindex(pilots) * years_live.reindex(pilots)).sum() / years_live.sum()
    assert roll.pilot_size == pytest.approx(size, rel=1e-12)
    assert forces.loc["Durham", "scale"] == pytest.approx(officers["Durham"] / size)
    # a new team's first-year outsourcing benefit by hand: exams avoided x GBP 450 x scale
    avoided = -effects.estimate("outsourced_exams")
    new = [f for f in forces.index if f not in go_live]
    y1 = roll.benefit_lines[
        (roll.benefit_lines["line"] == "outsourced_exams_avoided")
        & (roll.benefit_lines["years_live"] == 1)
    ]
    assert set(y1["force"]) == set(new)  # the pilots are not new
    assert y1["value_gbp"].sum() == pytest.approx(
        avoided * 450 * officers.reindex(new).sum() / size, abs=PENNY
    )
    # the pilots' set-up is not bought again: their rollout capital is refresh only
    cl = roll.cost_lines
    pilot_cap = cl[cl["force"].isin(pilots) & (cl["kind"] == "capital")]
    assert set(pilot_cap["basis"]) <= {"refresh", "residual"}
    # the cost profile divides the pilots' set-up capital (not their later refresh spending)
    # by the same pilots' officers; set-up rows named independently from the ledger's text
    prof = roll.cost_profile
    cap = prof[(prof["k"] == 1) & (prof["kind"] == "capital")].set_index("category")
    raw = pd.read_csv(SAMPLE / "costs.csv")
    index = load_params().deflator
    raw["real"] = raw["amount_gbp"] * index["2024-25"] / raw["financial_year"].map(index)
    setup = raw[
        (raw["kind"] == "capital") & ~raw["description"].str.contains("(refresh)", regex=False)
    ]
    assert raw["description"].str.contains("(refresh)", regex=False).sum() == 3
    pilot_officers = officers.reindex(pilots).sum()
    assert cap["gbp_per_officers_fte"].sum() * pilot_officers == pytest.approx(
        setup["real"].sum(), rel=1e-12
    )
    equipment = setup.loc[setup["category"] == "equipment", "real"].sum() / pilot_officers
    assert cap.loc["equipment", "gbp_per_officers_fte"] == pytest.approx(equipment, rel=1e-12)
    assert round(equipment, 2) == 111.67  # not 133.79 with the refresh rows pooled in
    # phased: the 14 pilots in 2026-27, the new teams in three waves after a year's lead time
    live = roll.by_year["forces_live"].tolist()
    assert len(live) == 10 and live[0] == 14 and live[3:] == [43] * 7
    assert live == sorted(live) and len(set(live[:4])) == 4
    assert roll.break_even and "break even" in roll.break_even[0]


def test_rollout_to_non_pilot_forces_only(bundled):
    ledger, effects, go_live = bundled
    params = params_from_dict({"rollout": {"forces": "non-pilot"}})
    a = appraise(ledger, effects, params, go_live=go_live, uncertainty=False)
    assert a.rollout is not None and a.rollout.n_forces == 43 - len(go_live)
    assert not a.rollout.forces["pilot"].any()


def test_bundled_year_by_year_reconciles(bundled_result):
    by = bundled_result.by_year
    assert len(by) == 10
    assert by["pv_costs_gbp"].sum() == pytest.approx(bundled_result.pv_costs, abs=PENNY)
    assert by["pv_benefits_gbp"].sum() == pytest.approx(bundled_result.pv_benefits, abs=PENNY)
    assert by["cumulative_pv_net_gbp"].iloc[-1] == pytest.approx(bundled_result.npsv, abs=PENNY)
    lines = bundled_result.cost_lines
    assert lines["pv_gbp"].sum() == pytest.approx(bundled_result.pv_costs, abs=PENNY)
    # outturn years: nominal costs equal the ledger's total cash by year
    ledger = load_ledger(SAMPLE / "costs.csv")
    cash = ledger.groupby("financial_year")["amount_gbp"].sum()
    got = by.set_index("financial_year")["costs_nominal_outturn_gbp"].dropna()
    assert got.to_numpy() == pytest.approx(cash.reindex(got.index).to_numpy(), abs=PENNY)
    d = bundled_result.to_dict()
    assert len(d["by_year"]) == 10 and d["rollout"]["n_forces"] == 43


def test_monte_carlo_by_year_matches_the_npsv_draws(bundled_result):
    mc = bundled_result.monte_carlo
    by = mc.by_year
    assert list(by["financial_year"]) == list(bundled_result.by_year["financial_year"])
    last = by.iloc[-1]
    # the final cumulative discounted net is the NPSV of each draw
    assert last["cumulative_pv_net_p50"] == pytest.approx(mc.p50, abs=PENNY)
    assert last["cumulative_pv_net_p10"] == pytest.approx(mc.p10, abs=PENNY)
    assert last["prob_paid_back"] == pytest.approx(np.mean(mc.npsv_draws >= 0), abs=1e-12)
    assert (np.diff(by["prob_paid_back"]) >= 0).all()
    assert (by["prob_paid_back"] <= by["prob_cumulative_positive"] + 1e-12).all()
