"""The decision (go-forward) view's uncertainty, the cost scale on projected costs only,
jointly unfavourable scenarios and the stated effect distribution, on small hand-made ledgers.

Hand figures use D(n) = sum of 1.035**-t for t = 0..n-1 (Green Book 3.5%).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evaluation.appraisal import appraise, effects_from_frame, params_from_dict
from evaluation.errors import AppraisalError

PENNY = 1e-2


def D(n: int) -> float:
    return sum(1.035**-t for t in range(n))


def _params(**extra: object):
    """Outsourced exams x GBP 500 only; no decay range; cost scale 0.9 to 1.2 (triangular)."""
    doc: dict[str, object] = {
        "settings": {"appraisal_period_years": {"value": 4, "source": "test"}},
        "unit_values": {
            "outsourced_exam": {"value": 500.0, "price_base": "2024-25", "source": "test"}
        },
        "uncertainty": {
            "cost_scale": {"value": 1.0, "low": 0.9, "high": 1.2, "source": "test"},
        },
        "real_growth": {"wages": {"value": 0.0, "source": "test"}},
        "benefits": [
            {"name": "outsourced_exams_avoided", "decay": {"value": 0.0, "source": "test"}},
            {"name": "officer_hours_released", "enabled": False},
            {"name": "cce_referrals_social_value", "enabled": False},
        ],
    }
    doc.update(extra)
    return params_from_dict(doc)


def _effects(estimate: float = -200.0, se: float = 0.0, draws: pd.DataFrame | None = None):
    frame = pd.DataFrame(
        {"metric": ["outsourced_exams"], "estimate": [estimate], "se": [se], "unit": ["exams"]}
    )
    return effects_from_frame(frame, draws=draws)


def _ledger() -> pd.DataFrame:
    """Sunk: staff capital 300,000 and a year of staff 50,000 in 2022-23 (outturn); projected:
    staff 50,000 a year from 2023-24 to 2025-26 (no optimism bias for staff at the lower bound).
    """
    return pd.DataFrame(
        [
            ("Durham", "2022-23", "staff", "capital", 300_000.0, "real 2024-25"),
            ("Durham", "2022-23", "staff", "recurrent", 50_000.0, "real 2024-25"),
        ],
        columns=["force", "financial_year", "category", "kind", "amount_gbp", "price_basis"],
    )


def test_cost_scale_never_scales_sunk_costs():
    """Ex-post: benefits 100,000 x D(4) = 380,163.70; fixed (outturn) costs 350,000; projected
    costs 50,000 x (D(4) - 1) = 140,081.85. The cost scale multiplies only the projected part:
    switching value (380,163.70 - 350,000) / 140,081.85 = 0.21533 (not 380,163.70 / 490,081.85
    = 0.7757 with the sunk costs scaled too), and every Monte Carlo draw is
    benefits - 350,000 - s x 140,081.85 with s in [0.9, 1.2].
    """
    a = appraise(_ledger(), _effects(), _params(), rollout=False, seed=4, draws=5_000)
    pvb, fixed, scalable = 100_000 * D(4), 350_000.0, 50_000 * (D(4) - 1)
    assert a.pv_benefits == pytest.approx(pvb, abs=PENNY)
    assert a.pv_costs == pytest.approx(fixed + scalable, abs=PENNY)
    sw = a.switching_values.set_index("input").loc["cost_scale"]
    assert sw["switching_value"] == pytest.approx((pvb - fixed) / scalable, rel=1e-10)
    assert sw["switching_value"] == pytest.approx(0.21533, abs=1e-5)
    assert abs(sw["npsv_at_switch"]) < PENNY
    mc = a.monte_carlo
    assert mc is not None
    s = (pvb - fixed - mc.npsv_draws) / scalable
    assert s.min() >= 0.9 - 1e-9 and s.max() <= 1.2 + 1e-9
    assert s.min() < 0.95 and s.max() > 1.15
    # low scenario: staff optimism bias at the upper bound (10%) and cost scale 1.2, both on the
    # projected costs only: 350,000 + 1.2 x 1.1 x 140,081.85 = 534,908.04
    low = a.uncertainty.scenarios.set_index("scenario").loc["low"]
    assert low["pv_costs"] == pytest.approx(350_000 + 1.2 * 1.1 * scalable, abs=PENNY)
    assert low["pv_costs"] == pytest.approx(534_908.04, abs=PENNY)
    assert "cost_scale=1.2 (projected costs only)" in low["settings"]


def test_go_forward_view_has_its_own_switching_values_and_monte_carlo():
    """Decision year 2023-24 (after the outturn): costs 50,000 and benefits 100,000 a year for
    three years, discounted to 2023-24. By hand the NPSV is zero when the effect halves (-100
    exams), the unit price halves (GBP 250) or the (all projected) costs double (scale 2.0).
    """
    a = appraise(_ledger(), _effects(se=40.0), _params(), rollout=False, seed=5, draws=4_000)
    g = a.go_forward
    assert g is not None and g.discount_base_year == "2023-24"
    assert g.pv_costs == pytest.approx(50_000 * D(3), abs=PENNY)
    assert g.npsv == pytest.approx(50_000 * D(3), abs=PENNY)
    gu = a.go_forward_uncertainty
    assert gu is not None and gu.monte_carlo is not None
    sw = gu.switching_values.set_index("input")
    assert sw.loc["effect:outsourced_exams", "switching_value"] == pytest.approx(-100.0, rel=1e-10)
    assert sw.loc["unit_value:outsourced_exam", "switching_value"] == pytest.approx(
        250.0, rel=1e-10
    )
    assert sw.loc["cost_scale", "switching_value"] == pytest.approx(2.0, rel=1e-10)
    assert (sw["npsv_at_switch"].dropna().abs() < PENNY).all()
    # a fresh appraisal at the effect's switching value has go-forward NPSV zero to the penny
    again = appraise(_ledger(), _effects(-100.0), _params(), rollout=False, uncertainty=False)
    assert again.go_forward is not None and abs(again.go_forward.npsv) < PENNY
    # the go-forward Monte Carlo is centred on the go-forward NPSV, not the ex-post one
    mc = gu.monte_carlo
    sd_hand = 40.0 * 500 * D(3)  # effect SE x unit price x discounted years
    assert mc.analytic_mean == pytest.approx(g.npsv, abs=PENNY)
    assert mc.analytic_sd == pytest.approx(sd_hand, rel=1e-10)
    d = a.to_dict()["go_forward"]
    assert {"monte_carlo", "switching_values", "scenarios", "sensitivity"} <= set(d)
    assert d["monte_carlo"]["draws"] == 4_000
    central = gu.scenarios.set_index("scenario").loc["central", "npsv"]
    assert central == pytest.approx(g.npsv, abs=PENNY)


def test_low_scenario_is_jointly_unfavourable_when_an_effect_changes_sign():
    """Officer hours: estimate -100 hours, SE 200: the low scenario moves it 1.2816 SE to
    +156.3 hours (more hours used, a negative benefit), where a HIGH hourly value and share are
    the unfavourable ends. Check those ends are chosen and that the scenario's NPSV equals a
    fresh appraisal at its settings, and is below the one with either unit value flipped.
    """
    benefits = [
        {"name": "outsourced_exams_avoided", "decay": {"value": 0.0, "source": "test"}},
        {"name": "officer_hours_released", "decay": {"value": 0.0, "source": "test"}},
        {"name": "cce_referrals_social_value", "enabled": False},
    ]
    p = _params(benefits=benefits)
    frame = pd.DataFrame(
        {
            "metric": ["outsourced_exams", "officer_hours_digital"],
            "estimate": [-200.0, -100.0],
            "se": [0.0, 200.0],
            "unit": ["exams", "hours"],
        }
    )
    eff = effects_from_frame(frame)
    a = appraise(_ledger(), eff, p, rollout=False, monte_carlo=False)
    low = a.go_forward_uncertainty.scenarios.set_index("scenario").loc["low"]
    hour, share = (
        p.unit_values["officer_hour_sergeant_and_below"],
        p.unit_values["hour_release_share"],
    )
    assert f"unit_value:officer_hour_sergeant_and_below={hour.high:g}" in low["settings"]
    assert f"unit_value:hour_release_share={share.high:g}" in low["settings"]
    shifted = eff.with_estimate("officer_hours_digital", -100.0 + 1.2816 * 200.0)

    def gf_npsv(hour_value: float, share_value: float) -> float:
        q = p.updated("unit_values.officer_hour_sergeant_and_below", hour_value)
        q = q.updated("unit_values.hour_release_share", share_value)
        q = q.updated("optimism_bias.pilot_forecast", "upper")
        r = appraise(_ledger(), shifted, q, rollout=False, uncertainty=False)
        g = r.go_forward
        return g.pv_benefits - 1.2 * g.pv_costs  # all go-forward costs are projected

    at_low = gf_npsv(hour.high, share.high)
    assert low["npsv"] == pytest.approx(at_low, abs=PENNY)
    assert at_low < gf_npsv(hour.low, share.high)
    assert at_low < gf_npsv(hour.high, share.low)


def test_effect_distribution_is_stated_never_a_silent_fallback():
    a = appraise(_ledger(), _effects(se=40.0), _params(), rollout=False, seed=1, draws=500)
    mc = a.monte_carlo
    assert mc is not None and mc.effect_distribution == "normal"
    assert "Normal(estimate, se)" in mc.effect_distribution_note
    assert "no bootstrap draws" in mc.effect_distribution_note
    assert a.to_dict()["monte_carlo"]["effect_distribution_note"] == mc.effect_distribution_note
    boot = _params(uncertainty={"effect_distribution": "bootstrap"})
    with pytest.raises(AppraisalError, match="no bootstrap draws for outsourced_exams"):
        appraise(_ledger(), _effects(se=40.0), boot, rollout=False, seed=1, draws=500)
    draws = pd.DataFrame({"outsourced_exams": -200 + 40 * np.random.default_rng(0).normal(size=50)})
    b = appraise(_ledger(), _effects(se=40.0, draws=draws), _params(), rollout=False, draws=500)
    assert b.monte_carlo is not None and b.monte_carlo.effect_distribution == "bootstrap"
    assert "joint bootstrap draws" in b.monte_carlo.effect_distribution_note
    assert math.isfinite(b.monte_carlo.p50)


def test_real_wage_growth_and_both_bcr_conventions():
    """Real wage growth 2% a year. Staff 100,000 a year (real) outturn in 2022-23 and
    2023-24, projected 102,000 in 2024-25 and 104,040 in 2025-26 (grown from the last outturn
    year). Officer hours: 1,000 a year released x 36.51 (2014-15 prices) x 104.00 / 76.57 x
    share 1 = V; wage-linked, so 2025-26 (one year after the 2024-25 price base) is worth
    1.02 V. Outsourced exams: 200 x GBP 500 = 100,000 a year, cashable.
    BCR conventions: counted as benefits, BCR = (cash + non-cash) / costs; netted off costs,
    BCR = non-cash / (costs - cash).
    """
    doc = {
        "settings": {"appraisal_period_years": {"value": 4, "source": "test"}},
        "unit_values": {
            "outsourced_exam": {"value": 500.0, "price_base": "2024-25", "source": "test"},
            "hour_release_share": {"value": 1.0, "source": "test"},
            "officer_hour_sergeant_and_below": {
                "value": 36.51,
                "price_base": "2014-15",
                "source": "test",
            },
        },
        "real_growth": {"wages": {"value": 0.02, "source": "test"}},
        "benefits": [
            {"name": "outsourced_exams_avoided", "decay": {"value": 0.0, "source": "test"}},
            {"name": "officer_hours_released", "decay": {"value": 0.0, "source": "test"}},
            {"name": "cce_referrals_social_value", "enabled": False},
        ],
    }
    p = params_from_dict(doc)
    ledger = pd.DataFrame(
        [
            ("Durham", "2022-23", "staff", "recurrent", 100_000.0, "real 2024-25"),
            ("Durham", "2023-24", "staff", "recurrent", 100_000.0, "real 2024-25"),
        ],
        columns=["force", "financial_year", "category", "kind", "amount_gbp", "price_basis"],
    )
    frame = pd.DataFrame(
        {
            "metric": ["outsourced_exams", "officer_hours_digital"],
            "estimate": [-200.0, -1000.0],
            "se": [10.0, 100.0],
            "unit": ["exams", "hours"],
        }
    )
    a = appraise(ledger, frame, p, rollout=False, uncertainty=False)
    staff = a.cost_lines[a.cost_lines["basis"] == "forecast"].set_index("financial_year")
    assert staff["base_real_gbp"].to_dict() == pytest.approx(
        {"2024-25": 102_000.0, "2025-26": 104_040.0}, abs=PENNY
    )
    v = 1000 * 36.51 * 104.00 / 76.57
    hours = a.benefit_lines[a.benefit_lines["line"] == "officer_hours_released"]
    assert hours["value_gbp"].to_numpy() == pytest.approx([v, v, v, 1.02 * v], abs=PENNY)
    d = [1.035**-t for t in range(4)]
    costs = 100_000 * (d[0] + d[1]) + 102_000 * d[2] + 104_040 * d[3]
    cash = 100_000 * sum(d)
    noncash = v * (d[0] + d[1] + d[2]) + 1.02 * v * d[3]
    s = a.summary
    assert s.pv_costs == pytest.approx(costs, abs=PENNY)
    assert s.bcr == pytest.approx((cash + noncash) / costs, rel=1e-12)
    assert s.bcr_cashable_netted == pytest.approx(noncash / (costs - cash), rel=1e-12)
    assert "netted" in s.bcr_convention


def test_ex_post_split_into_realised_to_date_and_projected():
    """Outturn to 2022-23: realised costs 350,000 and benefits 100,000 (year 0); projected
    costs 50,000 and benefits 100,000 a year for three more years, discounted to 2022-23."""
    a = appraise(_ledger(), _effects(), _params(), rollout=False, uncertainty=False)
    rz, pj = a.realised_to_date, a.projected
    assert rz is not None and pj is not None
    assert (rz.first_year, rz.last_year, pj.first_year, pj.last_year) == (
        "2022-23",
        "2022-23",
        "2023-24",
        "2025-26",
    )
    assert (rz.pv_costs, rz.pv_benefits) == pytest.approx((350_000, 100_000), abs=PENNY)
    future = D(4) - 1
    assert pj.pv_costs == pytest.approx(50_000 * future, abs=PENNY)
    assert pj.pv_benefits == pytest.approx(100_000 * future, abs=PENNY)
    assert rz.npsv + pj.npsv == pytest.approx(a.npsv, abs=PENNY)
    assert pj.discount_base_year == a.summary.discount_base_year
    d = a.to_dict()
    assert d["realised_to_date"]["npsv"] == pytest.approx(rz.npsv)


def test_non_monetised_impacts_and_the_value_they_would_need():
    """Go-forward (2023-24 to 2025-26): benefits 40 exams x 500 = 20,000 a year against costs
    50,000: NPSV = -30,000 x D(3). One pilot force-year a year, discounted: D(3). A backlog
    fall of 200 (SE 50) would need 30,000 per force-year, GBP 150 per case of backlog."""
    frame = pd.DataFrame(
        {
            "metric": ["outsourced_exams", "backlog", "median_turnaround_days"],
            "estimate": [-40.0, -200.0, 5.0],
            "se": [0.0, 50.0, 10.0],
            "unit": ["exams", "count", "days"],
        }
    )
    a = appraise(_ledger(), frame, _params(), rollout=False, uncertainty=False)
    assert a.go_forward.npsv == pytest.approx(-30_000 * D(3), abs=PENNY)
    nm = a.non_monetised.set_index("metric")
    assert list(nm.index) == ["median_turnaround_days", "backlog"]  # p90 has no estimate
    b = nm.loc["backlog"]
    assert (b["ci_low"], b["ci_high"]) == pytest.approx(
        (-200 - 1.96 * 50, -200 + 1.96 * 50), abs=0.01
    )
    assert bool(b["significant"]) and b["better"] == "lower" and bool(b["improves"])
    assert b["discounted_force_years"] == pytest.approx(D(3), rel=1e-12)
    assert b["value_needed_per_force_year"] == pytest.approx(30_000, rel=1e-10)
    assert b["value_needed_per_unit"] == pytest.approx(150, rel=1e-10)
    t = nm.loc["median_turnaround_days"]
    assert not bool(t["significant"]) and not bool(t["improves"])


def test_switching_values_state_their_prices_and_flag_infeasible_ones():
    """Only officer time, valued at 0.75 of the hourly cost: at -100 hours a year the benefit is
    far below the cost, so the share would have to exceed 1 (infeasible) to break even."""
    benefits = [
        {"name": "outsourced_exams_avoided", "enabled": False},
        {"name": "officer_hours_released", "decay": {"value": 0.0, "source": "test"}},
        {"name": "cce_referrals_social_value", "enabled": False},
    ]
    p = _params(benefits=benefits)
    frame = pd.DataFrame(
        {"metric": ["officer_hours_digital"], "estimate": [-100.0], "se": [50.0], "unit": ["hours"]}
    )
    a = appraise(_ledger(), frame, p, rollout=False, monte_carlo=False)
    sw = a.go_forward_uncertainty.switching_values.set_index("input")
    share = sw.loc["unit_value:hour_release_share"]
    assert share["switching_value"] > 1 and share["feasible"] is False
    assert "share cannot exceed" in share["infeasible_because"]
    hour = sw.loc["unit_value:officer_hour_sergeant_and_below"]
    assert hour["feasible"] is True and "GBP in 2014-15 prices" in hour["price_basis"]
    eff = sw.loc["effect:officer_hours_digital"]
    z = (eff["switching_value"] - eff["central"]) / 50.0
    assert eff["se_from_estimate"] == pytest.approx(z, rel=1e-12)
    from scipy import stats

    assert eff["prob_beyond"] == pytest.approx(stats.norm.sf(abs(z)), rel=1e-12)
    assert "real 2024-25 prices" in sw["npsv_price_basis"].iloc[0]


def test_cli_uses_the_register_given_with_costs(tmp_path, capsys):
    import json

    from evaluation.cli import main

    costs = tmp_path / "costs.csv"
    _ledger().to_csv(costs, index=False)
    reg = tmp_path / "reg.csv"
    reg.write_text("force,wave,go_live\nDurham,1,2022-10-01\n", encoding="utf-8")
    args = ["appraise", "--costs", str(costs), "--no-rollout", "--draws", "100", "--json"]
    assert main([*args, "--register", str(reg)]) == 0
    with_reg = json.loads(capsys.readouterr().out)
    assert with_reg["inputs"]["register"] == "reg.csv"
    assert with_reg["inputs"]["go_live"] == "register"
    assert main(args) == 0
    without = json.loads(capsys.readouterr().out)
    assert without["inputs"]["go_live"] == "inferred from the ledger"
    assert any("No pilot register was given" in n for n in without["notes"])
    # October go-live: half of the first year's benefit
    first = with_reg["by_year"][0]["benefits_gbp"], without["by_year"][0]["benefits_gbp"]
    assert first[0] == pytest.approx(first[1] / 2, rel=1e-12)
