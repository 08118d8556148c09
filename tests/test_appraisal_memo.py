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
