"""Every appraisal figure a person reads, checked by a route that does not share its algebra.

* Wider-benefit figures (``npsv_with_wider``, ``bcr_with_wider``): recomputed from the benefit
  lines, and by a fresh appraisal in which the wider line counts as a core benefit.
* Tornado rows: each end of every row is a fresh :func:`appraise` call with that one input
  moved (the cost scale by scaling the ledger itself); low and high are not swapped and every
  swing is non-zero.
* Switching values: a fresh :func:`appraise` call at the switching value has NPSV ~ 0 (for the
  ex-post view and the national rollout), not the linear algebra that found the value.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.appraisal import Appraisal, appraise, load_effects, load_params
from evaluation.appraisal.effects import EffectsTable
from evaluation.appraisal.params import ParameterSet
from evaluation.ingest import load_ledger, load_register

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
PENNY = 1e-2


@pytest.fixture(scope="module")
def inputs() -> tuple[pd.DataFrame, EffectsTable, dict[str, object], ParameterSet]:
    ledger = load_ledger(SAMPLE / "costs.csv")
    reg = load_register(SAMPLE / "register.csv")
    go_live = dict(zip(reg["force"], reg["go_live"], strict=True))
    return ledger, load_effects(SAMPLE / "effects.csv"), go_live, load_params()


@pytest.fixture(scope="module")
def result(inputs) -> Appraisal:
    ledger, effects, go_live, params = inputs
    return appraise(ledger, effects, params, go_live=go_live, seed=3, draws=2000)


def _fresh(inputs, *, ledger=None, effects=None, params=None, rollout=False) -> Appraisal:
    led, eff, go_live, par = inputs
    return appraise(
        led if ledger is None else ledger,
        eff if effects is None else effects,
        par if params is None else params,
        go_live=go_live,
        rollout=rollout,
        uncertainty=False,
    )


def _scaled_ledger(ledger: pd.DataFrame, factor: float) -> pd.DataFrame:
    out = ledger.copy()
    out["amount_gbp"] = out["amount_gbp"] * factor
    return out


def _moved(inputs, name: str, value: object, *, ob_param: str) -> dict[str, object]:
    """The keyword arguments of a fresh appraisal with input ``name`` set to ``value``."""
    ledger, effects, _, params = inputs
    kind, _, key = name.partition(":")
    if kind == "effect":
        return {"effects": effects.with_estimate(key, float(value))}
    if kind == "unit_value":
        return {"params": params.updated(f"unit_values.{key}", float(value))}
    if kind == "cost_scale":  # every cost line is linear in the ledger's amounts
        return {"ledger": _scaled_ledger(ledger, float(value))}
    if kind == "discount_rate":
        return {"params": params.updated("discounting.rate", float(value))}
    if kind == "optimism_bias":
        return {"params": params.updated(ob_param, value)}
    if kind == "asset_life":
        return {"params": params.updated(f"assets.life_years.{key}", int(value))}
    if kind == "decay":
        return {"params": params.updated(f"benefits.{key}.decay", float(value))}
    if kind == "real_wage_growth":
        return {"params": params.updated("real_growth.wages", float(value))}
    raise AssertionError(f"no fresh appraisal for tornado input {name!r}")


# ------------------------------------------------------------------------------- wider benefits
def test_wider_benefit_figures_recomputed_from_the_lines(result) -> None:
    s = result.summary
    lines = result.benefits_by_line
    wider = lines["wider"].astype(bool)
    pv_wider = float(lines.loc[wider, "pv_gbp"].sum())
    pv_core = float(lines.loc[~wider, "pv_gbp"].sum())
    assert pv_wider > 0 and s.pv_benefits_wider == pytest.approx(pv_wider, abs=PENNY)
    assert s.pv_benefits == pytest.approx(pv_core, abs=PENNY)
    pv_costs = float(result.cost_lines["pv_gbp"].sum())
    assert s.npsv_with_wider == pytest.approx(pv_core + pv_wider - pv_costs, abs=PENNY)
    assert s.bcr_with_wider == pytest.approx((pv_core + pv_wider) / pv_costs, rel=1e-12)
    assert s.npsv_with_wider - s.npsv == pytest.approx(pv_wider, abs=PENNY)
    assert s.bcr_with_wider > s.bcr


def test_wider_benefit_figures_equal_a_fresh_appraisal_counting_them_as_core(
    inputs, result
) -> None:
    _, _, _, params = inputs
    wider = [b.name for b in params.enabled_benefits if b.wider]
    assert wider == ["cce_referrals_social_value"]
    as_core = params.updated(f"benefits.{wider[0]}.wider", False)
    fresh = _fresh(inputs, params=as_core).summary
    s = result.summary
    assert fresh.pv_benefits_wider == 0
    assert fresh.npsv == pytest.approx(s.npsv_with_wider, abs=PENNY)
    assert fresh.bcr == pytest.approx(s.bcr_with_wider, rel=1e-12)
    assert fresh.vfm_category == s.vfm_category_with_wider
    gf, gf_fresh = result.go_forward, _fresh(inputs, params=as_core).go_forward
    assert gf is not None and gf_fresh is not None
    assert gf_fresh.npsv == pytest.approx(gf.npsv_with_wider, abs=PENNY)
    assert gf_fresh.bcr == pytest.approx(gf.bcr_with_wider, rel=1e-12)


# ------------------------------------------------------------------------------------- tornado
def test_every_tornado_row_at_both_ends_is_a_fresh_appraisal(inputs, result) -> None:
    _, effects, _, params = inputs
    sens = result.uncertainty.sensitivity
    assert len(sens) >= 7
    z = params.sensitivity_effect_z
    for row in sens.to_dict("records"):
        name = row["input"]
        if name.startswith("effect:"):
            metric = name.split(":", 1)[1]
            e0, se = effects.estimate(metric), effects.se(metric)
            assert (row["low"], row["high"]) == pytest.approx((e0 - z * se, e0 + z * se)), name
        elif name == "optimism_bias":
            assert (row["low"], row["high"]) == ("lower", "upper")
        else:
            assert float(row["low"]) < float(row["high"]), name  # not swapped
        for end in ("low", "high"):
            if name == "cost_scale":
                # the range scales projected costs only (outturn and sunk costs are known):
                # checked against the cost lines, and a fresh appraisal of a scaled ledger
                # confirms that every cost line is linear in the ledger's amounts
                lines = result.cost_lines
                projected = (lines["basis"] != "outturn") & ~lines["sunk"].astype(bool)
                pv_projected = float(lines.loc[projected, "pv_gbp"].sum())
                scale = float(row[end])
                expected = result.npsv - (scale - 1.0) * pv_projected
                assert row[f"npsv_at_{end}"] == pytest.approx(expected, abs=PENNY), (name, end)
                moved = _moved(inputs, name, scale, ob_param="optimism_bias.pilot_forecast")
                fresh = _fresh(inputs, **moved)
                assert fresh.pv_costs == pytest.approx(scale * result.pv_costs, rel=1e-12)
                continue
            moved = _moved(inputs, name, row[end], ob_param="optimism_bias.pilot_forecast")
            fresh = _fresh(inputs, **moved).npsv
            assert row[f"npsv_at_{end}"] == pytest.approx(fresh, abs=PENNY), (name, end)
        assert row["swing"] == pytest.approx(abs(row["npsv_at_high"] - row["npsv_at_low"]))
        assert row["swing"] > 1.0, name  # every listed input moves the NPSV
        assert row["npsv_central"] == pytest.approx(result.npsv, abs=PENNY)
    assert list(sens["swing"]) == sorted(sens["swing"], reverse=True)


def test_tornado_ends_move_the_npsv_the_way_the_input_pushes(result) -> None:
    sens = result.uncertainty.sensitivity.set_index("input")
    # more costs, a higher discount rate on a back-loaded stream, the upper optimism-bias bound:
    # lower NPSV at the high end; a larger fall in outsourced exams (more negative) is a benefit
    assert sens.loc["cost_scale", "npsv_at_high"] < sens.loc["cost_scale", "npsv_at_low"]
    assert sens.loc["optimism_bias", "npsv_at_high"] < sens.loc["optimism_bias", "npsv_at_low"]
    exams = sens.loc["effect:outsourced_exams"]
    assert exams["npsv_at_low"] > exams["npsv_at_high"]
    uv = sens.loc["unit_value:outsourced_exam"]
    assert uv["npsv_at_high"] > uv["npsv_at_low"]


# ---------------------------------------------------------------------------- switching values
def _npsv(inputs, name: str, value: float, *, rollout: bool) -> tuple[float, float]:
    """(NPSV, PV costs) of a fresh appraisal (or rollout) with ``name`` set to ``value``."""
    fresh = _fresh(inputs, rollout=rollout, **_moved(inputs, name, value, ob_param="unused"))
    view = fresh.rollout.summary if rollout else fresh.summary  # type: ignore[union-attr]
    return view.npsv, view.pv_costs


def _projected_pv(a: Appraisal) -> tuple[float, float]:
    """(PV of outturn and sunk costs, PV of projected costs) from the cost lines."""
    lines = a.cost_lines
    projected = (lines["basis"] != "outturn") & ~lines["sunk"].astype(bool)
    return float(lines.loc[~projected, "pv_gbp"].sum()), float(lines.loc[projected, "pv_gbp"].sum())


def _switching_checked(
    inputs,
    frame: pd.DataFrame,
    *,
    rollout: bool,
    only: set[str] | None = None,
    appraisal: Appraisal | None = None,
) -> int:
    checked = 0
    for row in frame.dropna(subset=["switching_value"]).to_dict("records"):
        name, x = row["input"], float(row["switching_value"])
        if only is not None and name not in only:
            continue
        if name == "cost_scale" and not rollout:
            # the range scales projected costs only; outturn and sunk costs are known, so a
            # scaled ledger (which scales them too) is no check: use the cost lines
            assert appraisal is not None
            fixed, projected = _projected_pv(appraisal)
            npsv = appraisal.pv_benefits - fixed - x * projected
            assert abs(npsv) < 1e-9 * appraisal.pv_costs + PENNY, (name, x, npsv)
            checked += 1
            continue
        npsv, pv_costs = _npsv(inputs, name, x, rollout=rollout)
        assert abs(npsv) < 1e-9 * pv_costs + PENNY, (name, x, npsv)
        if not rollout:  # a crossing: the NPSV has the other sign just beyond the value
            beyond, _ = _npsv(inputs, name, x + 0.05 * (x - row["central"]), rollout=False)
            assert np.sign(beyond) == -np.sign(row["npsv_central"]), (name, beyond)
        checked += 1
    return checked


def test_switching_values_are_zeros_of_fresh_appraisals(inputs, result) -> None:
    sw = result.switching_values
    assert {"effect:outsourced_exams", "cost_scale", "discount_rate"} <= set(sw["input"])
    assert _switching_checked(inputs, sw, rollout=False, appraisal=result) >= 5


def test_rollout_switching_values_are_zeros_of_fresh_rollouts(inputs, result) -> None:
    assert result.rollout is not None
    sw = result.rollout.uncertainty.switching_values
    assert _switching_checked(inputs, sw, rollout=True) >= 4


def test_switching_values_of_a_positive_appraisal_with_a_discount_rate_root(inputs) -> None:
    # three times the bundled effects: NPSV > 0 at 3.5% and < 0 at 100%, so the discount rate has
    # a switching value (the internal rate of return) to check by a fresh appraisal too
    ledger, effects, go_live, params = inputs
    big = effects
    for metric in effects.metrics:
        big = big.with_estimate(metric, 3 * effects.estimate(metric))
    a = appraise(ledger, big, params, go_live=go_live, rollout=False, monte_carlo=False)
    assert a.npsv > 0
    sw = a.switching_values
    rate = sw.set_index("input").loc["discount_rate", "switching_value"]
    assert 0.035 < rate < 1.0  # NPSV > 0 at the 3.5% schedule and < 0 at 100%
    bigger = (ledger, big, go_live, params)
    checked = _switching_checked(
        bigger, sw, rollout=False, only={"discount_rate", "cost_scale"}, appraisal=a
    )
    assert checked == 2


def test_switching_value_change_pct_is_relative_to_the_central_value(result) -> None:
    sw = result.switching_values.dropna(subset=["switching_value"])
    for row in sw.to_dict("records"):
        if row["central"] != 0:
            expected = 100 * (row["switching_value"] - row["central"]) / abs(row["central"])
            assert row["change_pct"] == pytest.approx(expected), row["input"]
    fixed, projected = _projected_pv(result)
    assert math.isclose(
        float(sw.set_index("input").loc["cost_scale", "switching_value"]),
        (result.pv_benefits - fixed) / projected,
        rel_tol=1e-12,
    )
