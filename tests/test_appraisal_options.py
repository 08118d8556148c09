"""The options shortlist, the fixed + per-officer cost fit and phased go-live, by hand.

Pilots Durham (1,000 officers, live 2022-23) and Cumbria (500, live 2023-24) with costs that
are exactly linear in officers: kit 50,000 + 20 x officers, staff 100,000 + 100 x officers a
year. Forces without a pilot: Dorset (2,000) and Wiltshire (1,000), both in the South West
(one regional hub of 3,000 officers). Rollout 2026-27 to 2029-30, discounted to 2026-27;
D(4) = sum of 1.035**-t for t = 0..3. Benefit: 200 exams x GBP 500 = 100,000 per force-year
of pilot size; the pilots' exposure-weighted size is (4 x 1,000 + 3 x 500) / 7 = 785.71.
"""

from __future__ import annotations

import pandas as pd
import pytest

from evaluation.appraisal import appraise, params_from_dict

PENNY = 1e-2
DRIVERS = pd.Series({"Durham": 1_000.0, "Cumbria": 500.0, "Dorset": 2_000.0, "Wiltshire": 1_000.0})
SIZE = (4 * 1_000 + 3 * 500) / 7


def D(n: int) -> float:
    return sum(1.035**-t for t in range(n))


def _ledger() -> pd.DataFrame:
    rows = [
        ("Durham", "2022-23", "equipment", "capital", 70_000.0),
        ("Cumbria", "2023-24", "equipment", "capital", 60_000.0),
    ]
    rows += [
        ("Durham", f"{y}-{y - 1999}", "staff", "recurrent", 200_000.0) for y in range(2022, 2026)
    ]
    rows += [
        ("Cumbria", f"{y}-{y - 1999}", "staff", "recurrent", 150_000.0) for y in range(2023, 2026)
    ]
    frame = pd.DataFrame(
        rows, columns=["force", "financial_year", "category", "kind", "amount_gbp"]
    )
    frame["price_basis"] = "real 2024-25"
    return frame


def _params(waves: int = 1, lead: int = 0, ramp: list[float] | None = None):
    return params_from_dict(
        {
            "assets": {"life_years": {"equipment": {"value": 4, "source": "test"}}},
            "unit_values": {
                "outsourced_exam": {"value": 500.0, "price_base": "2024-25", "source": "test"}
            },
            "benefits": [
                {"name": "outsourced_exams_avoided", "decay": {"value": 0.0, "source": "test"}},
                {"name": "officer_hours_released", "enabled": False},
                {"name": "cce_referrals_social_value", "enabled": False},
            ],
            "optimism_bias": {"rollout": "none"},
            "real_growth": {"wages": {"value": 0.0, "source": "test"}},
            "rollout": {
                "period_years": {"value": 4, "source": "test"},
                "waves": {"value": waves, "source": "test"},
                "lead_time_years": {"value": lead, "source": "test"},
                "ramp_up": {"value": ramp or [1.0], "source": "test"},
            },
            "options": {"hub_benefit_share": {"value": 0.85, "source": "test"}},
        }
    )


def _effects() -> pd.DataFrame:
    return pd.DataFrame(
        {"metric": ["outsourced_exams"], "estimate": [-200.0], "se": [20.0], "unit": ["exams"]}
    )


def test_cost_fit_recovers_fixed_and_per_officer_costs():
    a = appraise(_ledger(), _effects(), _params(), drivers=DRIVERS, uncertainty=False)
    fit = a.rollout.cost_fit.set_index(["k", "kind", "category"])
    kit = fit.loc[(1, "capital", "equipment")]
    assert (kit["fixed_gbp"], kit["per_officer_gbp"]) == pytest.approx((50_000, 20), rel=1e-9)
    assert kit["r2"] == pytest.approx(1.0, abs=1e-12)
    # proportional scaling would charge (70,000 + 60,000) / 1,500 = 86.67 per officer instead
    assert kit["proportional_gbp_per_officer"] == pytest.approx(130_000 / 1_500, rel=1e-12)
    staff = fit.loc[(2, "recurrent", "staff")]
    assert (staff["fixed_gbp"], staff["per_officer_gbp"]) == pytest.approx((1e5, 100), rel=1e-9)
    assert a.rollout.pilot_size == pytest.approx(SIZE, rel=1e-12)


def test_options_by_hand():
    a = appraise(_ledger(), _effects(), _params(), drivers=DRIVERS, uncertainty=False)
    opts = a.options.set_index("option")
    assert list(opts.index) == [
        "business as usual",
        "do-minimum",
        "full rollout",
        "non-pilot forces only",
        "regional hubs",
    ]
    assert (opts.loc["business as usual", ["pv_costs", "pv_benefits", "npsv"]] == 0).all()
    # do-minimum: the pilots continue. Staff 350,000 a year; kit refreshed from each pilot's
    # latest purchase at 110% (pilot optimism bias, lower bound): Durham 77,000 in 2026-27,
    # Cumbria 66,000 in 2027-28, which has used 3 of 4 years at the end: residual 16,500.
    dmin_c = 350_000 * D(4) + 77_000 + 66_000 / 1.035 - 16_500 * 1.035**-3
    dmin_b = 2 * 100_000 * D(4)
    assert opts.loc["do-minimum", "pv_costs"] == pytest.approx(dmin_c, abs=PENNY)
    assert opts.loc["do-minimum", "pv_benefits"] == pytest.approx(dmin_b, abs=PENNY)
    # new teams: Dorset kit 90,000 and staff 300,000 a year; Wiltshire 70,000 and 200,000
    new_c = 160_000 + 500_000 * D(4)
    new_b = 100_000 * 3_000 / SIZE * D(4)
    row = opts.loc["non-pilot forces only"]
    assert (row["pv_costs"], row["pv_benefits"]) == pytest.approx((new_c, new_b), abs=PENNY)
    assert row["forces_funded"] == 2 and row["new_units"] == 2
    row = opts.loc["full rollout"]
    assert row["pv_costs"] == pytest.approx(dmin_c + new_c, abs=PENNY)
    assert row["pv_benefits"] == pytest.approx(dmin_b + new_b, abs=PENNY)
    # one South West hub of 3,000 officers pays one fixed cost: kit 110,000, staff 400,000
    hub_c = 110_000 + 400_000 * D(4)
    row = opts.loc["regional hubs"]
    assert row["new_units"] == 1
    assert row["pv_costs"] == pytest.approx(dmin_c + hub_c, abs=PENNY)
    assert row["pv_benefits"] == pytest.approx(dmin_b + 0.85 * new_b, abs=PENNY)
    assert (opts["npsv"] == opts["pv_benefits"] - opts["pv_costs"]).all()
    assert opts["npsv_vs_bau"].to_numpy() == pytest.approx(opts["npsv"].to_numpy(), abs=PENNY)
    full = opts.loc["full rollout"]
    assert full["npsv_vs_do_minimum"] == pytest.approx(new_b - new_c, abs=PENNY)
    # the rollout result is the full rollout option
    assert a.rollout.summary.npsv == pytest.approx(full["npsv"], abs=PENNY)
    d = a.to_dict()["options"]
    assert {"option", "pv_costs", "pv_benefits", "npsv", "bcr", "npsv_vs_bau"} <= set(d[0])


def test_phased_go_live_with_lead_time_and_ramp_up():
    """Two waves a year apart, one year's lead time, benefits ramping 50% then 100%: Dorset
    (the larger) spends set-up in 2026-27 and goes live in 2027-28; Wiltshire a year later."""
    a = appraise(
        _ledger(),
        _effects(),
        _params(waves=2, lead=1, ramp=[0.5, 1.0]),
        drivers=DRIVERS,
        uncertainty=False,
    )
    f = a.rollout.forces.set_index("force")
    assert (f.loc["Dorset", "setup_year"], f.loc["Dorset", "go_live"]) == ("2026-27", "2027-28")
    assert (f.loc["Wiltshire", "wave"], f.loc["Wiltshire", "go_live"]) == (2, "2028-29")
    cl = a.rollout.cost_lines
    dorset = cl[cl["force"] == "Dorset"].groupby("financial_year")["base_real_gbp"].sum()
    assert dorset.to_dict() == pytest.approx(
        {"2026-27": 90_000, "2027-28": 300_000, "2028-29": 300_000, "2029-30": 300_000}
    )
    bl = a.rollout.benefit_lines
    dorset_b = bl[bl["force"] == "Dorset"].set_index("financial_year")["value_gbp"]
    per_year = 100_000 * 2_000 / SIZE
    assert dorset_b.to_dict() == pytest.approx(
        {"2027-28": 0.5 * per_year, "2028-29": per_year, "2029-30": per_year}
    )
    wilts = bl[bl["force"] == "Wiltshire"]
    assert list(wilts["financial_year"]) == ["2028-29", "2029-30"]


def test_optimism_bias_follows_recorded_mitigation_with_bounds_side_by_side():
    """Equipment: upper bound 200%, lower 10%. Steps removing 60% then 50% of the remaining
    bound give 2.00 x 0.4 x 0.5 = 40%; staff (upper 10%, lower 0%) only the 50% step: 5%. A
    step that would cut below the lower bound stops at it (accommodation: 24% x 0.05 = 1.2%,
    floored at the 2% lower bound)."""
    from evaluation.appraisal.optimism import ob_rates, ob_rates_table

    steps = [
        {
            "name": "kit",
            "categories": ["equipment"],
            "reduction": {"value": 0.6, "source": "test"},
        },
        {
            "name": "outturn",
            "categories": ["equipment", "staff"],
            "reduction": {"value": 0.5, "source": "test"},
        },
        {
            "name": "deep",
            "categories": ["accommodation"],
            "reduction": {"value": 0.95, "source": "test"},
        },
    ]
    p = _params().updated("optimism_bias.rollout", "mitigated")
    doc = {k: v for k, v in p.raw.items()}
    p = params_from_dict({**doc, "optimism_bias": {**doc["optimism_bias"], "mitigation": steps}})
    rates = ob_rates(p, "mitigated")
    assert rates["equipment"] == pytest.approx(0.40, abs=1e-12)
    assert rates["staff"] == pytest.approx(0.05, abs=1e-12)
    assert rates["accommodation"] == pytest.approx(0.02, abs=1e-12)
    assert rates["training"] == pytest.approx(0.10, abs=1e-12)  # no step: the upper bound
    table = ob_rates_table(p).set_index("category")
    assert table.loc["equipment", "mitigation_steps"] == "kit -60%; outturn -50%"
    a = appraise(_ledger(), _effects(), p, drivers=DRIVERS, uncertainty=False)
    cl = a.rollout.cost_lines
    dorset_kit = cl[(cl["force"] == "Dorset") & (cl["category"] == "equipment")].iloc[0]
    assert dorset_kit["adjusted_gbp"] == pytest.approx(90_000 * 1.40, abs=PENNY)
    dorset_staff = cl[(cl["force"] == "Dorset") & (cl["category"] == "staff")].iloc[0]
    assert dorset_staff["adjusted_gbp"] == pytest.approx(300_000 * 1.05, abs=PENNY)
    # lower and upper bounds side by side, each equal to a fresh appraisal at that bound
    ob = a.rollout.optimism_bias.set_index("stage")
    assert list(ob.index) == ["lower", "mitigated", "upper"]
    opts = a.options.set_index("option")
    for stage in ("lower", "upper"):
        fresh = appraise(
            _ledger(),
            _effects(),
            p.updated("optimism_bias.rollout", stage),
            drivers=DRIVERS,
            uncertainty=False,
        )
        assert ob.loc[stage, "npsv"] == pytest.approx(fresh.rollout.summary.npsv, abs=PENNY)
        f_opts = fresh.options.set_index("option")
        assert opts[f"npsv_ob_{stage}"].to_numpy() == pytest.approx(
            f_opts["npsv"].to_numpy(), abs=PENNY
        )
    assert ob.loc["lower", "npsv"] > ob.loc["mitigated", "npsv"] > ob.loc["upper", "npsv"]


def test_new_parameters_carry_provenance():
    from evaluation.appraisal import load_params

    p = load_params()
    log = p.assumptions().set_index("key")
    keys = [
        "rollout.waves",
        "rollout.wave_interval_years",
        "rollout.lead_time_years",
        "rollout.ramp_up",
        "options.hub_benefit_share",
        "real_growth.wages",
        "assets.renewal_share.equipment",
        "assets.renewal_share.training",
        "assets.renewal_share.accreditation",
        "optimism_bias.mitigation.proven_off_the_shelf_kit.reduction",
        "optimism_bias.mitigation.costs_from_pilot_outturn.reduction",
        "unit_values.hour_release_share",
        "assets.life_years.equipment",
    ]
    for key in keys:
        row = log.loc[key]
        assert row["source"] and row["vintage"], key
        assert row["confidence"] in (1, 2, 3, 4, 5), key
    share = p.unit_values["hour_release_share"]
    assert share.low < share.value < share.high  # not at the top of its range
    assert p.asset_life["equipment"] == 3  # the ledger's refresh cycle
    assert set(p.refresh_categories) == {"equipment", "licences", "training", "accreditation"}
