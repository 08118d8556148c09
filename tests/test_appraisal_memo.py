"""The memo of undiscounted cost lines: never stale, never shared, same numbers as a fresh build."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evaluation.appraisal import _memo, load_params
from evaluation.appraisal.costs import build_cost_lines, check_ledger
from evaluation.ingest import load_ledger

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
YEARS = tuple(f"{y}-{str(y + 1)[-2:]}" for y in range(2022, 2032))


def _lines(params):
    ledger = check_ledger(load_ledger(SAMPLE / "costs.csv"), params)
    return build_cost_lines(
        ledger,
        params,
        years=YEARS,
        outturn_end="2025-26",
        base_year="2022-23",
        decision_year="2026-27",
        ob_stage=params.ob_pilot_stage,
    )


CHANGES = [
    ("discounting.rate", 0.07),  # applied after the memo
    ("optimism_bias.pilot_forecast", "none"),
    ("assets.life_years.equipment", 2),
    ("unit_values.outsourced_exam", 900.0),  # cannot move costs
]


@pytest.mark.parametrize(("key", "value"), CHANGES, ids=[k for k, _ in CHANGES])
def test_a_warm_memo_gives_what_a_fresh_build_gives(key: str, value: object) -> None:
    base = load_params()
    changed = base.updated(key, value)
    _lines(base)  # warm
    warm = _lines(changed)
    _memo.clear()
    fresh = _lines(changed)
    pd.testing.assert_frame_equal(warm, fresh)


def test_changes_that_move_costs_are_not_served_from_the_memo() -> None:
    base = load_params()
    before = _lines(base)
    for key, value in CHANGES[:3]:
        after = _lines(base.updated(key, value))
        assert not after["pv_gbp"].equals(before["pv_gbp"]), key
    same = _lines(base.updated("unit_values.outsourced_exam", 900.0))
    pd.testing.assert_frame_equal(same, before)


def test_a_caller_changing_its_table_does_not_change_the_next_caller_s() -> None:
    p = load_params()
    first = _lines(p)
    expected = first.copy()
    first.loc[:, "adjusted_gbp"] = -1.0
    first.drop(first.index, inplace=True)
    pd.testing.assert_frame_equal(_lines(p), expected)


def test_digest_sees_every_value_of_a_frame() -> None:
    a = pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]})
    assert _memo.frame_digest(a) == _memo.frame_digest(a.copy())
    assert _memo.frame_digest(a) != _memo.frame_digest(a.assign(x=[1.0, 2.5]))
    assert _memo.frame_digest(a) != _memo.frame_digest(a.assign(y=["a", "c"]))
    assert _memo.frame_digest(a) != _memo.frame_digest(a.astype({"x": "float32"}))


def test_the_rollout_cost_fit_is_memoised_by_what_it_reads_only() -> None:
    """The fit reads undiscounted outturn: a new discount rate reuses it, new amounts do not."""
    from evaluation.appraisal.rollout import cost_profile, fit_costs, rollout_drivers

    base = load_params()
    go_live = {"Cheshire": "2023-24", "Wiltshire": "2023-24", "Kent": "2024-25"}
    drivers = rollout_drivers(base, None)
    lines = _lines(base)
    fit = fit_costs(lines, go_live, "2025-26", drivers)
    profile, n = cost_profile(lines, go_live, "2025-26", drivers)
    # another discount rate: the same lines apart from their discounting, the same fit
    cheaper = _lines(base.updated("discounting.rate", 0.07))
    assert not cheaper["pv_gbp"].equals(lines["pv_gbp"])
    pd.testing.assert_frame_equal(fit_costs(cheaper, go_live, "2025-26", drivers), fit)
    # the warm memo gives what a fresh fit gives
    _memo.clear()
    pd.testing.assert_frame_equal(fit_costs(lines, go_live, "2025-26", drivers), fit)
    assert cost_profile(lines, go_live, "2025-26", drivers)[1] == n == 2
    pd.testing.assert_frame_equal(cost_profile(lines, go_live, "2025-26", drivers)[0], profile)
    # dearer outturn, other go-live years or other drivers: a new fit
    dearer = lines.assign(base_real_gbp=lines["base_real_gbp"] * 2)
    assert not fit_costs(dearer, go_live, "2025-26", drivers).equals(fit)
    assert not cost_profile(dearer, go_live, "2025-26", drivers)[0].equals(profile)
    later = {**go_live, "Kent": "2025-26"}
    assert not fit_costs(lines, later, "2025-26", drivers).equals(fit)
    assert not fit_costs(lines, go_live, "2025-26", drivers * 2).equals(fit)
    # only pilots live for two years give the steady state
    assert cost_profile(lines, {"Kent": "2025-26"}, "2025-26", drivers)[1] == 1


def test_last_outturn_date_skips_rows_without_a_date() -> None:
    from evaluation.appraisal.costs import last_outturn_date

    dated = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", None, "2025-03-01"])})
    assert last_outturn_date(dated) == pd.Timestamp("2025-03-01")
    mixed = pd.DataFrame({"date": [pd.Timestamp("2024-01-01"), None, "x"]}, dtype=object)
    assert last_outturn_date(mixed) == pd.Timestamp("2024-01-01")
    assert last_outturn_date(pd.DataFrame({"date": pd.to_datetime([None, None])})) is None
    assert last_outturn_date(pd.DataFrame({"date": [None]}, dtype=object)) is None
    assert last_outturn_date(pd.DataFrame({"x": [1]})) is None


def test_the_checked_ledger_and_its_outturn_are_memoised_and_never_stale() -> None:
    from evaluation.appraisal.costs import aggregate_outturn
    from evaluation.errors import DataError

    params = load_params()
    raw = load_ledger(SAMPLE / "costs.csv")
    first = check_ledger(raw, params)
    _memo.clear()
    pd.testing.assert_frame_equal(check_ledger(raw, params), first)  # warm = fresh
    # a change of the ledger is a new check: a bad amount is found, every time
    bad = raw.copy()
    bad.loc[bad.index[2], "amount_gbp"] = -5.0
    for _ in range(2):
        with pytest.raises(DataError):
            check_ledger(bad, params)
    # a caller changing its copy does not change the next caller's
    first.loc[:, "amount_gbp"] = 0.0
    assert (check_ledger(raw, params)["amount_gbp"] > 0).any()
    # the outturn follows the deflator (a dearer price base year raises every real amount)
    out = aggregate_outturn(check_ledger(raw, params), params, basis="outturn")
    pb = params.price_base_year
    changed = params.updated(f"deflator.index.{pb}", params.deflator[pb] * 1.1)
    again = aggregate_outturn(check_ledger(raw, changed), changed, basis="outturn")
    assert (again["base_real_gbp"] > out["base_real_gbp"]).any()
    pd.testing.assert_frame_equal(
        aggregate_outturn(check_ledger(raw, params), params, basis="outturn"), out
    )


def test_a_ledger_pandas_cannot_hash_is_still_checked() -> None:
    from evaluation.errors import DataError

    raw = load_ledger(SAMPLE / "costs.csv").astype({"category": object})
    raw.loc[raw.index[0], "category"] = ["not", "a", "category"]  # a list in a cell
    with pytest.raises(DataError):
        check_ledger(raw, load_params())
