"""Parameter sets and bad input: every error names the item at fault."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from evaluation.appraisal import (
    appraise,
    default_params_path,
    effects_from_frame,
    load_effects,
    load_params,
    params_from_dict,
)
from evaluation.cli import main
from evaluation.errors import AppraisalError, DataError

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"


def _ledger(**overrides: object) -> pd.DataFrame:
    row = {
        "force": "Durham",
        "financial_year": "2022-23",
        "category": "staff",
        "kind": "recurrent",
        "amount_gbp": 1000.0,
        "price_basis": "nominal",
    }
    row.update(overrides)
    return pd.DataFrame([row])


def _effects() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "metric": ["outsourced_exams", "officer_hours_digital"],
            "estimate": [-100.0, -1000.0],
            "se": [10.0, 100.0],
            "unit": ["exams", "hours"],
        }
    )


# -- the parameter set ------------------------------------------------------------------------


def test_default_parameters_carry_provenance():
    p = load_params()
    log = p.assumptions()
    assert (log["source"].str.len() > 0).all(), log[log["source"] == ""]["key"].tolist()
    assert p.discount_bands[0].rate == 0.035
    assert p.discount_bands[1].from_year == 31 and p.discount_bands[1].rate == 0.03
    assert p.ob_bounds["equipment"] == (0.10, 2.00)
    assert p.ob_bounds["outsourcing"][1] == 0.41
    uv = p.unit_values["officer_hour_sergeant_and_below"]
    assert (uv.value, uv.price_base, uv.confidence) == (36.51, "2014-15", 2)
    assert p.unit_values["outsourced_exam"].unverified
    assert p.mc_draws >= 10_000
    # outsourced_spend and outsourced_exams x price are the same benefit: only one is enabled
    enabled = {b.metric for b in p.enabled_benefits}
    assert "outsourced_exams" in enabled and "outsourced_spend_gbp" not in enabled
    assert [b.name for b in p.enabled_benefits if b.wider] == ["cce_referrals_social_value"]


def test_user_file_overrides_key_by_key(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text(
        "[unit_values.outsourced_exam]\nvalue = 520.0\nsource = 'Force contract 2024-25'\n"
        "[[benefits]]\nname = 'outsourced_exams_avoided'\nramp_up = [0.5, 1.0]\n",
        encoding="utf-8",
    )
    p = load_params(f)
    assert p.unit_values["outsourced_exam"].value == 520.0
    assert p.unit_values["outsourced_exam"].source == "Force contract 2024-25"
    assert p.unit_values["outsourced_exam"].price_base == "2024-25"  # kept from the default
    line = next(b for b in p.benefits if b.name == "outsourced_exams_avoided")
    assert line.ramp_up == (0.5, 1.0) and line.cashable  # other fields kept
    assert p.unit_values["officer_hour_pcso"].value == 28.90


def test_missing_parameters_are_named():
    doc = tomllib.loads(default_params_path().read_text(encoding="utf-8"))
    del doc["settings"]["appraisal_period_years"]
    del doc["unit_values"]["outsourced_exam"]["source"]
    with pytest.raises(AppraisalError) as err:
        params_from_dict(doc, merge_defaults=False)
    text = str(err.value)
    assert "settings.appraisal_period_years" in text
    assert "unit_values.outsourced_exam: every value needs a 'source'" in text


def test_price_base_year_outside_deflator_series():
    with pytest.raises(AppraisalError, match=r"price_base_year 2040-41 is outside the deflator"):
        params_from_dict({"settings": {"price_base_year": {"value": "2040-41", "source": "x"}}})


def test_unknown_category_and_section_are_named():
    bad = {"optimism_bias": {"categories": {"drones": {"lower": 0.1, "upper": 0.2}}}}
    with pytest.raises(AppraisalError, match=r"optimism_bias.categories.drones: unknown cost"):
        params_from_dict(bad)
    with pytest.raises(AppraisalError, match=r"unknown section\(s\) 'unit_value'"):
        params_from_dict({"unit_value": {}})


def test_double_counting_is_refused():
    doc = {"benefits": [{"name": "outsourced_spend_avoided", "enabled": True}]}
    with pytest.raises(AppraisalError, match=r"same\s+benefit \(group 'outsourcing'\)"):
        params_from_dict(doc)


def test_bad_benefit_line_is_named():
    doc = {"benefits": [{"name": "officer_hours_released", "unit_value": ["no_such_value"]}]}
    with pytest.raises(
        AppraisalError, match=r"benefits.officer_hours_released.unit_value: unknown"
    ):
        params_from_dict(doc)


# -- the ledger -------------------------------------------------------------------------------


def test_negative_cost_names_the_row():
    ledger = pd.concat([_ledger(), _ledger(amount_gbp=-5.0), _ledger(category="drones")])
    with pytest.raises(DataError) as err:
        appraise(ledger, _effects(), rollout=False, uncertainty=False)
    problems = err.value.problems
    assert {(p.row, p.column) for p in problems} == {(3, "amount_gbp"), (4, "category")}
    text = str(err.value)
    assert "row 3, column 'amount_gbp': negative cost" in text
    assert "row 4, column 'category': unknown cost category" in text
    assert "drones" in text


def test_price_year_outside_deflator_names_the_row():
    ledger = pd.concat([_ledger(), _ledger(price_basis="real 2040-41")])
    with pytest.raises(DataError, match=r"row 3.*2040-41 is outside the deflator"):
        appraise(ledger, _effects(), rollout=False, uncertainty=False)


def test_bad_kind_force_and_basis_are_all_reported():
    ledger = pd.concat(
        [_ledger(kind="opex"), _ledger(force="Atlantis"), _ledger(price_basis="real money")]
    )
    with pytest.raises(DataError) as err:
        appraise(ledger, _effects(), rollout=False, uncertainty=False)
    cols = sorted(p.column for p in err.value.problems)
    assert cols == ["force", "kind", "price_basis"]


def test_date_and_financial_year_must_agree():
    ledger = _ledger(date="2023-05-01")
    with pytest.raises(DataError, match=r"2023-24, not 2022-23"):
        appraise(ledger, _effects(), rollout=False, uncertainty=False)


def test_missing_ledger_columns():
    with pytest.raises(DataError, match="missing required columns"):
        appraise(_ledger().drop(columns="kind"), _effects(), rollout=False, uncertainty=False)


# -- the effects table ------------------------------------------------------------------------


def test_effects_without_standard_errors_name_the_metric():
    frame = _effects()
    frame.loc[1, "se"] = float("nan")
    with pytest.raises(DataError) as err:
        effects_from_frame(frame)
    assert "effect officer_hours_digital has no standard error" in str(err.value)
    with pytest.raises(DataError, match="missing column 'se'"):
        effects_from_frame(_effects().drop(columns="se"))


def test_bad_metric_name_and_negative_se():
    frame = pd.DataFrame(
        {"metric": ["Arrests!", "backlog"], "estimate": [1.0, 2.0], "se": [1.0, -1.0], "unit": "x"}
    )
    with pytest.raises(DataError) as err:
        effects_from_frame(frame)
    text = str(err.value)
    assert "row 2, column 'metric': not a metric name" in text
    assert "standard error of backlog is negative" in text


def test_metrics_are_configuration_not_a_fixed_list():
    # a later pilot's metric (e.g. extraction reports triaged) is accepted as it is
    frame = pd.DataFrame(
        {"metric": ["reports_triaged"], "estimate": [120.0], "se": [30.0], "unit": "reports"}
    )
    assert effects_from_frame(frame).estimate("reports_triaged") == 120.0


def test_missing_effect_for_a_core_line_names_the_line():
    frame = _effects().iloc[:1]
    with pytest.raises(AppraisalError, match=r"line 'officer_hours_released' needs metric"):
        appraise(_ledger(), frame, rollout=False, uncertainty=False)


def test_bundled_effects_load_and_state_their_provenance():
    e = load_effects(SAMPLE / "effects.csv")
    assert e.estimate("outsourced_exams") < 0 and e.se("outsourced_exams") > 0
    # the file says how it was made; tests/test_recovery.py checks it equals the estimates
    assert "estimated on the bundled data by `pathfinder run`" in (
        SAMPLE / "effects.csv"
    ).read_text(encoding="utf-8")


def test_bootstrap_draws_file(tmp_path):
    (tmp_path / "draws.csv").write_text("outsourced_exams\n-90\n-110\n-100\n", encoding="utf-8")
    (tmp_path / "eff.csv").write_text(
        "metric,estimate,se,unit,draws\noutsourced_exams,-100,10,exams,draws.csv\n",
        encoding="utf-8",
    )
    e = load_effects(tmp_path / "eff.csv")
    assert e.draws is not None and list(e.draws["outsourced_exams"]) == [-90.0, -110.0, -100.0]


# -- the command line -------------------------------------------------------------------------


def test_cli_json_has_the_contract_keys(capsys):
    code = main(["appraise", "--json", "--draws", "10000", "--seed", "7"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    for key in (
        "pv_costs",
        "pv_benefits",
        "npsv",
        "bcr",
        "vfm_category",
        "payback_year",
        "cashable_bcr",
        "by_year",
        "monte_carlo",
        "switching_values",
        "rollout",
        "go_forward",
    ):
        assert key in out, key
    assert {"p10", "p50", "p90", "prob_positive"} <= set(out["monte_carlo"])
    assert out["monte_carlo"]["draws"] == 10_000
    first = out["by_year"][0]
    assert {"financial_year", "costs_gbp", "benefits_gbp", "discount_factor"} <= set(first)
    assert "cumulative_pv_net_gbp" in first
    assert out["npsv"] == pytest.approx(out["pv_benefits"] - out["pv_costs"], abs=1e-6)
    assert out["rollout"]["n_forces"] == 43
    gf = out["go_forward"]
    assert {"monte_carlo", "switching_values", "scenarios"} <= set(gf)
    assert gf["monte_carlo"]["draws"] == 10_000
    assert out["monte_carlo"]["effect_distribution"] == "normal"
    assert "normal approximation" in out["monte_carlo"]["effect_distribution_note"]


def test_cli_text_report(capsys):
    assert main(["appraise", "--draws", "2000", "--no-rollout"]) == 0
    text = capsys.readouterr().out
    assert "Year by year" in text and "Switching values" in text and "Monte Carlo" in text


def test_cli_bad_ledger_exits_2_naming_the_row(tmp_path, capsys):
    bad = tmp_path / "costs.csv"
    bad.write_text(
        "force,financial_year,category,kind,amount_gbp,price_basis\n"
        "Durham,2022-23,staff,recurrent,1000,nominal\n"
        "Durham,2022-23,drones,recurrent,1000,nominal\n",
        encoding="utf-8",
    )
    assert main(["appraise", "--costs", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "row 3" in err and "drones" in err and "Traceback" not in err


def test_cli_bad_params_exits_2(tmp_path, capsys):
    f = tmp_path / "p.toml"
    f.write_text("[settings.price_base_year]\nvalue = '2040-41'\nsource = 'x'\n", encoding="utf-8")
    assert main(["appraise", "--params", str(f)]) == 2
    assert "2040-41" in capsys.readouterr().err


def test_partial_last_year_is_flagged():
    ledger = pd.concat(
        [
            _ledger(date="2022-04-01"),
            _ledger(financial_year="2023-24", date="2023-09-30"),
        ]
    )
    a = appraise(ledger, _effects(), rollout=False, uncertainty=False)
    assert any("only to 2023-09-30" in n for n in a.notes)


def test_wider_line_without_an_estimate_is_left_out_with_a_note():
    line = {
        "name": "county_lines_value",
        "metric": "county_lines_disrupted",
        "sign": 1,
        "unit_value": ["gbp"],
        "cashable": False,
        "type": "social",
        "agency": "society",
        "wider": True,
    }
    p = params_from_dict({"benefits": [line]})
    a = appraise(_ledger(), _effects(), p, rollout=False, uncertainty=False)
    assert set(a.benefit_lines["line"]) == {"outsourced_exams_avoided", "officer_hours_released"}
    assert any("county_lines_value" in n and "left out" in n for n in a.notes)


def test_public_api_is_pinned():
    import evaluation.appraisal as ap

    assert sorted(ap.__all__) == sorted(
        [
            "Appraisal",
            "BenefitLine",
            "DiscountBand",
            "EffectsTable",
            "MonteCarloSummary",
            "Parameter",
            "ParameterSet",
            "RolloutResult",
            "Summary",
            "Uncertainty",
            "appraise",
            "default_params_path",
            "deflator_factor",
            "discount_factors",
            "effects_from_frame",
            "load_effects",
            "load_params",
            "params_from_dict",
        ]
    )
    for name in ap.__all__:
        assert getattr(ap, name) is not None


def test_updating_several_parameters_at_once_equals_updating_them_in_turn() -> None:
    from evaluation.appraisal import load_params

    p = load_params()
    changes = {
        "discounting.rate": 0.05,
        "optimism_bias.rollout": "upper",
        "settings.appraisal_period_years": 12,
    }
    chained = p
    for k, v in changes.items():
        chained = chained.updated(k, v)
    many = p.updated_many(changes)
    assert many.raw == chained.raw
    assert many.discount_bands[0].rate == 0.05 and many.ob_rollout_stage == "upper"
    assert many.period_years == 12
    # a bad value is refused, naming the key, as a single update would be
    with pytest.raises(AppraisalError, match="appraisal_period_years"):
        p.updated_many({"discounting.rate": 0.05, "settings.appraisal_period_years": -3})
