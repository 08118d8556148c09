"""The dashboard's pilot-design study: the same numbers as ``pathfinder design``, bad input."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from dashboard.pages.pilot_design import render_view
from dashboard.services import bundled_dataset, design_summary, pilot_design
from dashboard.store import UserStore
from evaluation.cli import main
from evaluation.errors import ConfigError


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> UserStore:
    return UserStore(tmp_path_factory.mktemp("store"))


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


@pytest.mark.slow  # two tiny studies (2 placebo pilots each): about 10 s of CPU
def test_table_equals_the_design_command_with_the_same_seed(
    store: UserStore, capsys: pytest.CaptureFixture[str]
) -> None:
    token = bundled_dataset(store).token
    steps: list[tuple[int, int, str]] = []
    view = pilot_design(
        store,
        token,
        "4,10",
        "free",
        reps=2,
        seed=5,
        boot_reps=9,
        progress=lambda i, n, s: steps.append((i, n, s)),
    )
    # the page's bar moves with the simulations, not only at the start and the end
    assert len(steps) >= 4 and steps[-1][0] == steps[-1][1]
    assert [i / n for i, n, _ in steps] == sorted(i / n for i, n, _ in steps)
    assert any("simulated pilots done" in s for _, _, s in steps)
    argv = ["--pilots", "4,10", "--reps", "2", "--boot-reps", "9", "--seed", "5"]
    code = main(["design", *argv, "--selection", "free", "--workers", "0", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    expected = json.loads(out.out)["designs"]
    got = view.result.to_dict()["designs"]
    assert len(got) == len(expected) == 2 * 2 * 2  # pilots x metrics x pairs
    for g, e in zip(got, expected, strict=True):
        assert g.keys() == e.keys()
        diff = [k for k in g if not _same(g[k], e[k])]
        assert diff == [], (g["design"], g["metric"], diff)
    assert sorted(view.table["pilots"]) == [4, 4, 10, 10]  # recommended rows, 2 metrics
    assert {"MDE per force-year", "power at break-even", "size"} <= set(view.table.columns)
    # the page renders the table, chart and summary; a second call comes from the cache
    assert "Designs compared" in str(render_view(view))
    again = pilot_design(store, token, "4,10", "free", reps=2, seed=5, boot_reps=9)
    pd.testing.assert_frame_equal(again.result.table, view.result.table)


def test_summary_names_the_fewest_pilots_with_80_percent_power() -> None:
    table = pd.DataFrame(
        {
            "pilots": [3, 5, 10, 3, 5, 10],
            "selection": ["free"] * 6,
            "metric": ["a"] * 3 + ["b"] * 3,
            "inference": ["recommended"] * 6,
            "power_at_break_even": [0.5, 0.85, 0.95, 0.1, 0.2, 0.3],
        }
    )
    assert design_summary(table) == (
        "a: 5 pilot forces (free) give 85% power at the break-even effect; "
        "b: no design reaches 80% power at the break-even effect (best 30%)."
    )


@pytest.mark.parametrize(
    ("pilots", "selection", "reps", "seed", "message"),
    [
        ("3,x", "free", 20, 1, "whole numbers separated by commas"),
        ("3", "random", 20, 1, "selection must be one of free, stratified, both"),
        ("3", "free", 1, 1, "replications must be a whole number 2 to 200"),
        ("3", "free", 201, 1, "replications must be a whole number 2 to 200"),
        ("3", "free", 20, -1, "seed must be a whole number >= 0"),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(
    store: UserStore, pilots: str, selection: str, reps: int, seed: int, message: str
) -> None:
    token = bundled_dataset(store).token
    with pytest.raises(ConfigError, match=message):
        pilot_design(store, token, pilots, selection, reps=reps, seed=seed)
