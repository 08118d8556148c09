"""Hand-computed Green Book mechanics, to the penny (1e-2 GBP absolute).

Reference numbers were computed by hand with Python's ``**`` operator (independently of the
package's cumulative-product discounting), e.g. ``1e6 * 1.035**-30 / 1.03`` for DF(31) on
GBP 1m; each is written next to its formula.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest

from evaluation.appraisal import appraise, discount_factors, load_params, params_from_dict
from evaluation.appraisal.measures import payback_index, vfm_category

PENNY = 1e-2

# -- helpers ----------------------------------------------------------------------------------


def _params(period: int = 4, **sections: object):
    """Default parameters with one clean benefit line: outsourced exams x GBP 500 (2024-25)."""
    doc: dict[str, object] = {
        "settings": {"appraisal_period_years": {"value": period, "source": "test"}},
        "unit_values": {
            "outsourced_exam": {
                "value": 500.0,
                "price_base": "2024-25",
                "source": "test",
                "confidence": 1,
            }
        },
        "uncertainty": {"cost_scale": {"value": 1.0, "source": "test"}},
        "real_growth": {"wages": {"value": 0.0, "source": "test"}},
        "benefits": [
            {"name": "officer_hours_released", "enabled": False},
            {"name": "cce_referrals_social_value", "enabled": False},
        ],
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            merged = copy.deepcopy(doc[key])
            merged.update(value)  # type: ignore[union-attr]
            doc[key] = merged
        else:
            doc[key] = value
    return params_from_dict(doc)


def _effects(estimate: float = -200.0, se: float = 50.0) -> pd.DataFrame:
    return pd.DataFrame(
        {"metric": ["outsourced_exams"], "estimate": [estimate], "se": [se], "unit": ["exams"]}
    )


def _ledger(rows: list[tuple[str, str, str, str, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["force", "financial_year", "category", "kind", "amount_gbp", "price_basis"]
    )


# -- discounting ------------------------------------------------------------------------------


def test_discount_factors_across_the_30_year_step():
    p = load_params()
    df = discount_factors(np.arange(0, 80), p.discount_bands)
    for t in range(0, 31):
        assert 1e6 * df[t] == pytest.approx(1e6 * 1.035**-t, abs=PENNY)
    # hand: 1e6 * 1.035**-30 = 356,278.41; 1e6 * 1.035**-30 / 1.03 = 345,901.37
    assert 1e6 * df[30] == pytest.approx(356_278.41, abs=PENNY)
    assert 1e6 * df[31] == pytest.approx(345_901.37, abs=PENNY)
    assert df[31] == pytest.approx(1.035**-30 * 1.03**-1, rel=1e-14)
    assert df[75] == pytest.approx(1.035**-30 * 1.03**-45, rel=1e-14)
    # hand: 1e6 * 1.035**-30 * 1.03**-45 / 1.025 = 91,915.88
    assert 1e6 * df[76] == pytest.approx(91_915.88, abs=PENNY)
    assert df[0] == 1.0


def test_pv_of_a_32_year_appraisal_crosses_the_step():
    """Full pipeline: benefit GBP 100,000 a year for 32 years; PV by hand across year 30."""
    p = _params(period=32)
    ledger = _ledger([("Durham", "2022-23", "staff", "capital", 1_000.0, "real 2024-25")])
    a = appraise(ledger, _effects(-200.0), p, rollout=False, uncertainty=False)
    hand = sum(100_000 * 1.035**-t for t in range(31)) + 100_000 * 1.035**-30 / 1.03
    assert a.pv_benefits == pytest.approx(hand, abs=PENNY)
    assert a.pv_costs == pytest.approx(1_000.0, abs=PENNY)
    last = a.by_year.iloc[-1]
    assert last["t"] == 31
    assert last["discount_factor"] == pytest.approx(1.035**-30 / 1.03, rel=1e-14)


def test_a_new_discount_schedule_is_one_parameter_change():
    bands = [{"from_year": 1, "to_year": 30, "rate": 0.03}, {"from_year": 31, "rate": 0.025}]
    p = _params(discounting={"bands": bands})
    df = discount_factors([0, 1, 30, 31], p.discount_bands)
    assert df == pytest.approx([1.0, 1 / 1.03, 1.03**-30, 1.03**-30 / 1.025], rel=1e-14)


# -- deflation --------------------------------------------------------------------------------


def test_nominal_outturn_is_deflated_to_the_price_base_year():
    # defaults: index 2022-23 = 93.63, 2024-25 = 104.00; hand: 100,000 * 104 / 93.63 = 111,075.51
    p = _params()
    ledger = _ledger([("Durham", "2022-23", "staff", "recurrent", 100_000.0, "nominal")])
    a = appraise(ledger, _effects(), p, rollout=False, uncertainty=False)
    row = a.cost_lines[(a.cost_lines["basis"] == "outturn")].iloc[0]
    assert row["deflator_factor"] == pytest.approx(104.00 / 93.63, rel=1e-14)
    assert row["base_real_gbp"] == pytest.approx(111_075.51, abs=PENNY)
    assert row["nominal_gbp"] == pytest.approx(100_000.0, abs=PENNY)


def test_deflator_is_rebased_to_a_user_series_and_price_base():
    # hand: 100,000 * 104 / 95 = 109,473.68; 'real 2023-24' 50,000 * 104 / 100 = 52,000
    index = {"2022-23": 95.0, "2023-24": 100.0, "2024-25": 104.0, "2025-26": 106.0}
    p = _params(deflator={"index": index, "source": "test series", "vintage": "test"})
    ledger = _ledger(
        [
            ("Durham", "2022-23", "staff", "recurrent", 100_000.0, "nominal"),
            ("Durham", "2022-23", "training", "recurrent", 50_000.0, "real 2023-24"),
        ]
    )
    a = appraise(ledger, _effects(), p, rollout=False, uncertainty=False)
    out = a.cost_lines[a.cost_lines["basis"] == "outturn"].set_index("category")
    assert out.loc["staff", "base_real_gbp"] == pytest.approx(109_473.68, abs=PENNY)
    assert out.loc["training", "base_real_gbp"] == pytest.approx(52_000.00, abs=PENNY)


def test_unit_values_are_uprated_from_their_own_price_base():
    # officer hour 36.51 in 2014-15 prices (index 76.57) to 2024-25 (104.00), share valued 1
    p = load_params().updated("unit_values.hour_release_share", 1.0)
    effects = pd.DataFrame(
        {
            "metric": ["outsourced_exams", "officer_hours_digital"],
            "estimate": [-100.0, -1000.0],
            "se": [10.0, 100.0],
            "unit": ["exams", "hours"],
        }
    )
    ledger = _ledger([("Durham", "2022-23", "staff", "recurrent", 1.0, "real 2024-25")])
    a = appraise(ledger, effects, p, rollout=False, uncertainty=False)
    hours = a.benefit_lines[a.benefit_lines["line"] == "officer_hours_released"].iloc[0]
    assert hours["unit_value_real"] == pytest.approx(36.51 * 104.00 / 76.57, rel=1e-14)
    # hand: 1000 hours x 36.51 x 104 / 76.57 = 49,589.13 in the first year (DF 1)
    assert hours["value_gbp"] == pytest.approx(1000 * 36.51 * 104.00 / 76.57, abs=PENNY)
    assert hours["value_gbp"] == pytest.approx(49_589.13, abs=PENNY)


# -- optimism bias, projection, refresh, residual ---------------------------------------------


def test_optimism_bias_applies_to_forecasts_not_outturn():
    # staff 200,000 a year (real) in 2022-23 and 2023-24; 4-year period projects 2024-25 and
    # 2025-26 at 200,000 x (1 + 0.10) = 220,000.00 with a 10% lower bound for staff.
    ob = {
        "staff": {
            "lower": {"value": 0.10, "source": "test"},
            "upper": {"value": 0.5, "source": "t"},
        }
    }
    p = _params(optimism_bias={"categories": ob})
    ledger = _ledger(
        [
            ("Durham", "2022-23", "staff", "recurrent", 200_000.0, "real 2024-25"),
            ("Durham", "2023-24", "staff", "recurrent", 200_000.0, "real 2024-25"),
        ]
    )
    a = appraise(ledger, _effects(), p, rollout=False, uncertainty=False)
    cl = a.cost_lines.set_index("financial_year")
    assert list(cl["basis"]) == ["outturn", "outturn", "forecast", "forecast"]
    assert cl.loc["2022-23", "ob_uplift_gbp"] == 0.0
    assert cl.loc["2024-25", "base_real_gbp"] == pytest.approx(200_000.00, abs=PENNY)
    assert cl.loc["2024-25", "ob_uplift_gbp"] == pytest.approx(20_000.00, abs=PENNY)
    assert cl.loc["2025-26", "adjusted_gbp"] == pytest.approx(220_000.00, abs=PENNY)
    # PV costs by hand: 200,000 (1 + 1/1.035) + 220,000 (1.035**-2 + 1.035**-3)
    hand = 200_000 * (1 + 1 / 1.035) + 220_000 * (1.035**-2 + 1.035**-3)
    assert a.pv_costs == pytest.approx(hand, abs=PENNY)
    by_cat = a.costs_by_category.set_index(["category", "basis"])
    assert by_cat.loc[("staff", "forecast"), "ob_uplift_gbp"] == pytest.approx(40_000.0, abs=PENNY)


def test_upper_bound_stage_and_outturn_option():
    p = _params().updated("optimism_bias.pilot_forecast", "upper")
    p = p.updated("optimism_bias.apply_to_outturn", True)
    ledger = _ledger([("Durham", "2022-23", "equipment", "recurrent", 100_000.0, "real 2024-25")])
    a = appraise(ledger, _effects(), p, rollout=False, uncertainty=False)
    out = a.cost_lines[a.cost_lines["basis"] == "outturn"].iloc[0]
    # equipment upper bound 200%: 100,000 -> 300,000
    assert out["ob_uplift_gbp"] == pytest.approx(200_000.00, abs=PENNY)
    assert out["adjusted_gbp"] == pytest.approx(300_000.00, abs=PENNY)


def test_equipment_refresh_and_straight_line_residual_value():
    # 400,000 equipment in 2022-23 (life 4), 6-year period, outturn to 2022-23:
    # refresh in 2026-27 at 400,000 x 1.10 (lower bound) = 440,000; at the end of 2027-28 it
    # has used 2 of 4 years: residual 440,000 x 2/4 = 220,000 as a negative cost in 2027-28.
    p = _params(period=6, assets=_LIFE4)
    ledger = _ledger([("Durham", "2022-23", "equipment", "capital", 400_000.0, "real 2024-25")])
    a = appraise(ledger, _effects(), p, rollout=False, uncertainty=False)
    cl = a.cost_lines
    refresh = cl[cl["basis"] == "refresh"]
    assert list(refresh["financial_year"]) == ["2026-27"]
    assert refresh["adjusted_gbp"].iloc[0] == pytest.approx(440_000.00, abs=PENNY)
    residual = cl[cl["basis"] == "residual"]
    assert list(residual["financial_year"]) == ["2027-28"]
    assert residual["adjusted_gbp"].iloc[0] == pytest.approx(-220_000.00, abs=PENNY)
    hand = 400_000 + 440_000 * 1.035**-4 - 220_000 * 1.035**-5
    assert a.pv_costs == pytest.approx(hand, abs=PENNY)
    assert a.by_year.set_index("financial_year").loc["2027-28", "residual_value_gbp"] == (
        pytest.approx(220_000.00, abs=PENNY)
    )


# -- measures ---------------------------------------------------------------------------------


def _payback_case(**kw: object):
    # 300,000 one-off (staff capital, life 1: no refresh or residual) in 2022-23; benefit
    # 200 exams x 500 = 100,000 a year for 4 years.
    p = _params(period=4, **kw)
    ledger = _ledger([("Durham", "2022-23", "staff", "capital", 300_000.0, "real 2024-25")])
    return appraise(ledger, _effects(-200.0, 50.0), p, rollout=False, seed=3)


def test_npsv_bcr_payback_by_hand():
    a = _payback_case()
    s = a.summary
    pvb = sum(100_000 * 1.035**-t for t in range(4))  # 380,163.70
    assert s.pv_benefits == pytest.approx(380_163.70, abs=PENNY)
    assert s.pv_benefits == pytest.approx(pvb, abs=PENNY)
    assert s.pv_costs == pytest.approx(300_000.00, abs=PENNY)
    assert s.npsv == pytest.approx(80_163.70, abs=PENNY)
    assert s.bcr == pytest.approx(pvb / 300_000, rel=1e-12)
    assert s.cashable_bcr == pytest.approx(pvb / 300_000, rel=1e-12)
    assert s.cashable_roi == pytest.approx(pvb / 300_000 - 1, rel=1e-12)
    assert s.vfm_category == "low"  # 1.267 in [1.0, 1.5)
    # cumulative PV net by hand: -200,000.00, -103,381.64, -10,030.57, +80,163.70
    cum = a.by_year["cumulative_pv_net_gbp"].to_numpy()
    assert cum == pytest.approx([-200_000.00, -103_381.64, -10_030.57, 80_163.70], abs=PENNY)
    assert s.payback_year == "2025-26"
    assert s.payback_years == 4
    assert len(a.by_year) == 4
    assert a.by_year["year"].tolist() == [1, 2, 3, 4]


def test_switching_values_bring_npsv_to_zero():
    a = _payback_case()
    sw = a.switching_values.set_index("input")
    # hand: estimate* = -300,000 / (500 x sum DF(0..3)) = -157.826747...
    x = sw.loc["effect:outsourced_exams", "switching_value"]
    assert x == pytest.approx(-300_000 / (500 * sum(1.035**-t for t in range(4))), rel=1e-12)
    # unit price* = 300,000 / (200 x sum DF) = 394.566868...
    u = sw.loc["unit_value:outsourced_exam", "switching_value"]
    assert u == pytest.approx(300_000 / (200 * sum(1.035**-t for t in range(4))), rel=1e-12)
    # the only cost is outturn: the cost-scale range never scales it, so no switching value
    assert math.isnan(sw.loc["cost_scale", "switching_value"])
    assert "no projected costs" in sw.loc["cost_scale", "note"]
    for name, row in sw.iterrows():
        if not math.isnan(row["switching_value"]):
            assert abs(row["npsv_at_switch"]) < PENNY, name
    # independently: a fresh appraisal at the switching values has NPSV 0 to the penny
    ledger = _ledger([("Durham", "2022-23", "staff", "capital", 300_000.0, "real 2024-25")])
    again = appraise(ledger, _effects(x, 50.0), _params(), rollout=False, uncertainty=False)
    assert abs(again.npsv) < PENNY
    p2 = _params().updated("unit_values.outsourced_exam", u)
    again = appraise(ledger, _effects(-200.0), p2, rollout=False, uncertainty=False)
    assert abs(again.npsv) < PENNY


def test_discount_rate_switching_value_is_the_internal_rate():
    # costs 300,000 at t=0, benefits 100,000 a year t=0..3: NPSV(r) = 0 where
    # 100,000 (1 + v + v^2 + v^3) = 300,000 with v = 1/(1+r); solve by hand with bisection.
    a = _payback_case()
    r = a.switching_values.set_index("input").loc["discount_rate", "switching_value"]

    def f(rate: float) -> float:
        return sum(100_000 * (1 + rate) ** -t for t in range(4)) - 300_000

    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    assert r == pytest.approx(lo, abs=1e-9)


def test_vfm_thresholds_are_editable_labels():
    cats = [{"label": "below par", "below": 1.3}, {"label": "fine"}]
    a = _payback_case(vfm={"categories": cats, "source": "test"})
    assert a.summary.vfm_category == "below par"
    assert vfm_category(2.0, (("poor", 1.0), ("low", 1.5), ("medium", 2.0), ("high", None))) == (
        "high"
    )


def test_payback_index_stays_positive():
    assert payback_index([-1.0, 2.0, -0.5, 1.0]) == 3
    assert payback_index([1.0, 2.0]) == 0
    assert payback_index([-1.0, -0.5]) is None


def test_go_forward_view_excludes_sunk_costs():
    # ledger to 2023-24; decision year 2024-25: only 2024-25 and 2025-26, discounted to 2024-25
    p = _params()
    ledger = _ledger(
        [
            ("Durham", "2022-23", "staff", "capital", 300_000.0, "real 2024-25"),
            ("Durham", "2022-23", "staff", "recurrent", 50_000.0, "real 2024-25"),
            ("Durham", "2023-24", "staff", "recurrent", 50_000.0, "real 2024-25"),
        ]
    )
    a = appraise(ledger, _effects(), p, rollout=False, uncertainty=False)
    g = a.go_forward
    assert g is not None
    assert (g.first_year, g.last_year, g.discount_base_year) == ("2024-25", "2025-26", "2024-25")
    # costs: 50,000 forecast (no staff uplift at the lower bound 0%) in each of two years
    assert g.pv_costs == pytest.approx(50_000 + 50_000 / 1.035, abs=PENNY)
    assert g.pv_benefits == pytest.approx(100_000 + 100_000 / 1.035, abs=PENNY)
    assert a.summary.pv_costs == pytest.approx(
        350_000 + 50_000 / 1.035 + 50_000 * (1.035**-2 + 1.035**-3), abs=PENNY
    )


def test_ramp_up_decay_and_cashable_split():
    # ramp [0.5, 1.0]; decay 0.2 a year beyond the evidence window (2 years of outturn)
    benefits = [
        {
            "name": "outsourced_exams_avoided",
            "ramp_up": [0.5, 1.0],
            "decay": {"value": 0.2, "source": "t"},
        },
        {"name": "officer_hours_released", "enabled": True},
        {"name": "cce_referrals_social_value", "enabled": False},
    ]
    p = _params(benefits=benefits).updated("unit_values.hour_release_share", 1.0)
    effects = pd.DataFrame(
        {
            "metric": ["outsourced_exams", "officer_hours_digital"],
            "estimate": [-200.0, -1000.0],
            "se": [50.0, 100.0],
            "unit": ["exams", "hours"],
        }
    )
    ledger = _ledger(
        [
            ("Durham", "2022-23", "staff", "recurrent", 1.0, "real 2024-25"),
            ("Durham", "2023-24", "staff", "recurrent", 1.0, "real 2024-25"),
        ]
    )
    a = appraise(ledger, effects, p, rollout=False, uncertainty=False)
    by = a.by_year.set_index("financial_year")
    # cashable: 100,000 x [0.5, 1, 0.8, 0.64]
    assert by["benefits_cashable_gbp"].to_numpy() == pytest.approx(
        [50_000, 100_000, 80_000, 64_000], abs=PENNY
    )
    hour = 36.51 * 104.00 / 76.57 * 1000
    assert by["benefits_noncashable_gbp"].to_numpy() == pytest.approx([hour] * 4, abs=PENNY)
    assert a.summary.pv_benefits_cashable + a.summary.pv_benefits_noncashable == pytest.approx(
        a.summary.pv_benefits, abs=PENNY
    )
    types = a.by_type.set_index(["type", "cashable", "wider"])["pv_gbp"]
    assert types.sum() == pytest.approx(a.summary.pv_benefits, abs=PENNY)


def test_go_live_dates_count_the_first_year_pro_rata():
    p = _params()
    ledger = _ledger([("Durham", "2022-23", "staff", "recurrent", 1.0, "real 2024-25")])
    a = appraise(
        ledger, _effects(), p, go_live={"Durham": "2022-10-01"}, rollout=False, uncertainty=False
    )
    first = a.by_year.iloc[0]
    # October to March = 6 of 12 months: 100,000 x 0.5
    assert first["benefits_gbp"] == pytest.approx(50_000.00, abs=PENNY)


def test_discount_base_year_later_than_the_first_year_compounds_the_past():
    # discount base 2023-24: the 2022-23 cost is compounded forward one year at 3.5%
    p = _params(settings={"discount_base_year": {"value": "2023-24", "source": "test"}})
    ledger = _ledger([("Durham", "2022-23", "staff", "capital", 100_000.0, "real 2024-25")])
    a = appraise(ledger, _effects(), p, rollout=False, uncertainty=False)
    assert a.summary.discount_base_year == "2023-24"
    assert a.by_year["t"].tolist() == [-1, 0, 1, 2]
    # hand: 100,000 x 1.035 = 103,500.00
    assert a.pv_costs == pytest.approx(103_500.00, abs=PENNY)
    hand = 100_000 * (1.035 + 1 + 1.035**-1 + 1.035**-2)
    assert a.pv_benefits == pytest.approx(hand, abs=PENNY)


# -- asset chains: refresh from the latest purchase, residual value belongs to the asset -----

_LIFE4 = {"life_years": {"equipment": {"value": 4, "source": "test"}}}


def test_projected_refresh_continues_from_the_latest_actual_purchase():
    """Durham buys kit in 2022-23 (400,000) and refreshes it in 2025-26 (300,000, actual);
    Cumbria buys kit in 2023-24 (200,000) and has not refreshed it. Life 4, outturn to 2025-26,
    period to 2031-32, equipment optimism bias 10% (lower bound) on projections.

    Durham's chain continues from 2025-26 only: one projected refresh in 2029-30 at its observed
    refresh cost 300,000 (330,000 with the uplift), never from the replaced 2022-23 kit (which
    would add refreshes in 2026-27 and 2030-31 and a second residual value). Cumbria's chain is
    refreshed in 2027-28 and 2031-32, priced at its set-up cost times the observed refresh
    ratio 300,000 / 400,000 = 0.75: 150,000 (165,000 with the uplift).
    Residual values at the end of 2031-32: Durham's 2029-30 kit has used 3 of 4 years:
    330,000 x 1/4 = 82,500; Cumbria's 2031-32 kit 1 of 4: 165,000 x 3/4 = 123,750.
    """
    p = _params(period=10, assets=_LIFE4)
    rows = [
        ("Durham", "2022-23", "equipment", "capital", 400_000.0, "real 2024-25"),
        ("Durham", "2025-26", "equipment", "capital", 300_000.0, "real 2024-25"),
        ("Cumbria", "2023-24", "equipment", "capital", 200_000.0, "real 2024-25"),
    ]
    rows += [
        ("Durham", f"{y}-{y - 1999}", "staff", "recurrent", 1.0, "real 2024-25")
        for y in range(2022, 2026)
    ]
    rows += [
        ("Cumbria", f"{y}-{y - 1999}", "staff", "recurrent", 1.0, "real 2024-25")
        for y in range(2023, 2026)
    ]
    a = appraise(_ledger(rows), _effects(), p, rollout=False, uncertainty=False)
    cl = a.cost_lines
    eq = cl[cl["category"] == "equipment"]
    refresh = eq[eq["basis"] == "refresh"]
    assert sorted(zip(refresh["force"], refresh["financial_year"], strict=True)) == [
        ("Cumbria", "2027-28"),
        ("Cumbria", "2031-32"),
        ("Durham", "2029-30"),
    ]
    got = {(r.force, r.financial_year): r for r in refresh.itertuples()}
    assert got[("Durham", "2029-30")].base_real_gbp == pytest.approx(300_000.00, abs=PENNY)
    assert got[("Durham", "2029-30")].adjusted_gbp == pytest.approx(330_000.00, abs=PENNY)
    assert got[("Cumbria", "2027-28")].base_real_gbp == pytest.approx(150_000.00, abs=PENNY)
    assert got[("Cumbria", "2031-32")].adjusted_gbp == pytest.approx(165_000.00, abs=PENNY)
    residual = eq[eq["basis"] == "residual"].set_index("force")
    assert sorted(residual.index) == ["Cumbria", "Durham"]  # one residual per asset in service
    assert residual.loc["Durham", "adjusted_gbp"] == pytest.approx(-82_500.00, abs=PENNY)
    assert residual.loc["Cumbria", "adjusted_gbp"] == pytest.approx(-123_750.00, abs=PENNY)
    assert residual.loc["Durham", "asset_year"] == "2029-30"
    # PV of equipment by hand (discount base 2022-23)
    d = 1.035
    hand = (
        400_000
        + 200_000 * d**-1
        + 300_000 * d**-3
        + 165_000 * d**-5
        + 330_000 * d**-7
        + (165_000 - 82_500 - 123_750) * d**-9
    )
    assert eq["pv_gbp"].sum() == pytest.approx(hand, abs=PENNY)


def test_go_forward_view_drops_the_residual_value_of_sunk_assets():
    """Sunk asset, sunk residual. Ledger to 2023-24, decision year 2024-25, period to 2025-26.

    Accommodation fit-out 200,000 in 2022-23 (life 20): residual 200,000 x 16/20 = 160,000 in
    2025-26, counted ex-post but not go-forward (the fit-out's cost is sunk). Equipment 100,000
    in 2022-23 (life 3) is refreshed in 2025-26 at 110,000 (10% uplift), a go-forward purchase
    whose residual 110,000 x 2/3 = 73,333.33 stays in the go-forward view.
    """
    life = {"life_years": {"equipment": {"value": 3, "source": "test"}}}
    p = _params(period=4, assets=life)
    ledger = _ledger(
        [
            ("Durham", "2022-23", "accommodation", "capital", 200_000.0, "real 2024-25"),
            ("Durham", "2022-23", "equipment", "capital", 100_000.0, "real 2024-25"),
            ("Durham", "2022-23", "staff", "recurrent", 50_000.0, "real 2024-25"),
            ("Durham", "2023-24", "staff", "recurrent", 50_000.0, "real 2024-25"),
        ]
    )
    a = appraise(ledger, _effects(), p, rollout=False, uncertainty=False)
    res = a.cost_lines[a.cost_lines["basis"] == "residual"].set_index("category")
    assert res.loc["accommodation", "adjusted_gbp"] == pytest.approx(-160_000.00, abs=PENNY)
    assert bool(res.loc["accommodation", "sunk"]) and not bool(res.loc["equipment", "sunk"])
    assert res.loc["equipment", "adjusted_gbp"] == pytest.approx(-73_333.33, abs=PENNY)
    g = a.go_forward
    assert g is not None
    hand_gf = 50_000 + (50_000 + 110_000 - 73_333.333333) / 1.035
    assert g.pv_costs == pytest.approx(hand_gf, abs=PENNY)
    hand_ex = (
        350_000
        + 50_000 / 1.035
        + 50_000 * 1.035**-2
        + (50_000 + 110_000 - 73_333.333333 - 160_000) * 1.035**-3
    )
    assert a.pv_costs == pytest.approx(hand_ex, abs=PENNY)
    gf = a.go_forward_by_year.set_index("financial_year")
    assert gf.loc["2025-26", "residual_value_gbp"] == pytest.approx(73_333.33, abs=PENNY)


def test_rollout_set_up_cost_excludes_the_pilots_refresh_spending():
    """Pilots Durham (1,000 officers: kit 100,000 in 2022-23, refreshed for 80,000 in 2025-26)
    and Cumbria (500 officers: kit 60,000 in 2023-24). Set-up kit per officer =
    (100,000 + 60,000) / 1,500 = 106.67, not (100,000 + 80,000 + 60,000) / 1,500 = 160.
    With pure proportional scaling, one wave and no lead time, Dorset (2,000 officers; the
    pilots continue and are not bought again) buys kit for 106.67 x 2,000 = 213,333.33 in
    2026-27 (base, before optimism bias); its refreshes (2030-31 and 2034-35, life 4) cost that
    times the pilots' observed refresh ratio 80,000 / 100,000 = 0.8: 170,666.67 each.
    """
    rollout = {
        "cost_model": "per-officer",
        "waves": {"value": 1, "source": "test"},
        "lead_time_years": {"value": 0, "source": "test"},
    }
    p = _params(period=10, assets=_LIFE4, rollout=rollout)
    rows = [
        ("Durham", "2022-23", "equipment", "capital", 100_000.0, "real 2024-25"),
        ("Durham", "2025-26", "equipment", "capital", 80_000.0, "real 2024-25"),
        ("Cumbria", "2023-24", "equipment", "capital", 60_000.0, "real 2024-25"),
    ]
    rows += [
        ("Durham", f"{y}-{y - 1999}", "staff", "recurrent", 50_000.0, "real 2024-25")
        for y in range(2022, 2026)
    ]
    rows += [
        ("Cumbria", f"{y}-{y - 1999}", "staff", "recurrent", 30_000.0, "real 2024-25")
        for y in range(2023, 2026)
    ]
    drivers = pd.Series({"Durham": 1_000.0, "Cumbria": 500.0, "Dorset": 2_000.0})
    a = appraise(_ledger(rows), _effects(), p, drivers=drivers, uncertainty=False)
    roll = a.rollout
    assert roll is not None
    prof = roll.cost_profile
    kit = prof[(prof["k"] == 1) & (prof["category"] == "equipment")]
    assert kit["gbp_per_officers_fte"].iloc[0] == pytest.approx(160_000 / 1_500, rel=1e-12)
    cl = roll.cost_lines
    y1 = cl[(cl["financial_year"] == "2026-27") & (cl["category"] == "equipment")]
    assert y1["base_real_gbp"].sum() == pytest.approx(213_333.33, abs=PENNY)
    assert set(y1["force"]) == {"Dorset"}  # the pilots' kit is not bought again
    dorset = cl[(cl["force"] == "Dorset") & (cl["basis"] == "refresh")]
    assert list(dorset["financial_year"]) == ["2030-31", "2034-35"]
    assert dorset["base_real_gbp"].to_numpy() == pytest.approx([170_666.67] * 2, abs=PENNY)


def test_training_and_accreditation_are_renewed_at_their_renewal_share():
    """Training 100,000 (life 5) and accreditation 40,000 (life 4) bought in 2022-23, outturn to
    2022-23, period to 2031-32, no refresh in the ledger: renewed at the renewal share 0.5 of
    the purchase, no optimism bias at the lower bound for either. Training: 50,000 in 2027-28
    (used 5 of 5 years at the end: no residual). Accreditation: 20,000 in 2026-27 and 2030-31;
    the 2030-31 renewal has used 2 of 4 years: residual 20,000 x 2/4 = 10,000.
    """
    lives = {
        "life_years": {
            "training": {"value": 5, "source": "test"},
            "accreditation": {"value": 4, "source": "test"},
        },
        "renewal_share": {
            "training": {"value": 0.5, "source": "test"},
            "accreditation": {"value": 0.5, "source": "test"},
        },
    }
    p = _params(period=10, assets=lives)
    ledger = _ledger(
        [
            ("Durham", "2022-23", "training", "capital", 100_000.0, "real 2024-25"),
            ("Durham", "2022-23", "accreditation", "capital", 40_000.0, "real 2024-25"),
        ]
    )
    a = appraise(ledger, _effects(), p, rollout=False, uncertainty=False)
    cl = a.cost_lines
    renew = cl[cl["basis"] == "refresh"]
    got = sorted(
        zip(renew["category"], renew["financial_year"], renew["adjusted_gbp"], strict=True)
    )
    assert [g[:2] for g in got] == [
        ("accreditation", "2026-27"),
        ("accreditation", "2030-31"),
        ("training", "2027-28"),
    ]
    assert [g[2] for g in got] == pytest.approx([20_000, 20_000, 50_000], abs=PENNY)
    res = cl[cl["basis"] == "residual"].set_index("category")["adjusted_gbp"]
    assert res.to_dict() == pytest.approx({"accreditation": -10_000.0}, abs=PENNY)
