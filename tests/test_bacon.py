"""Goodman-Bacon decomposition: hand-computed example, four-means check, sum equals TWFE."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.errors import EstimationError
from evaluation.estimators._fe import ols, two_way_demean
from evaluation.estimators.bacon import COMPARISONS, bacon_summary, goodman_bacon
from evaluation.estimators.twfe import fit_twfe
from evaluation.panel import Panel

HERE = Path(__file__).resolve().parent
MPDTA = HERE / "data" / "mpdta.csv"
CASTLE = HERE / "reference" / "castle.csv"


def _twfe(panel: Panel, outcome: str) -> float:
    u, t = panel.unit_index, panel.time_index
    y = two_way_demean(panel.data[outcome].to_numpy(), u, t)
    d = two_way_demean(panel.treated, u, t)
    return float(ols(y, d[:, None])[0])


def _hand_panel() -> Panel:
    # tests/reference/README.md, "Goodman-Bacon hand example": k treated at 2, l at 4, U never.
    y = {"k": [1, 4, 6, 7], "l": [2, 3, 5, 9], "U": [1, 2, 2, 3]}
    cohort = {"k": 2, "l": 4, "U": 0}
    rows = [
        {"unit": u, "t": t + 1, "g": cohort[u], "y": float(v)}
        for u, vals in y.items()
        for t, v in enumerate(vals)
    ]
    return Panel.from_frame(pd.DataFrame(rows), unit="unit", time="t", cohort="g", outcomes="y")


def test_hand_computed_three_group_example():
    panel = _hand_panel()
    table = goodman_bacon(panel, "y").set_index(["comparison", "treated", "control"])
    expected = {
        (COMPARISONS[2], 2, "never"): (3 / 10, 10 / 3),
        (COMPARISONS[2], 4, "never"): (3 / 10, 13 / 3),
        (COMPARISONS[0], 2, 4): (1 / 5, 2.0),
        (COMPARISONS[1], 4, 2): (1 / 5, 3.0),
    }
    assert len(table) == 4
    for key, (w, est) in expected.items():
        assert table.loc[key, "weight"] == pytest.approx(w, abs=1e-12)
        assert table.loc[key, "estimate"] == pytest.approx(est, abs=1e-12)
    # TWFE by hand: 0.3*10/3 + 0.3*13/3 + 0.2*2 + 0.2*3 = 3.3
    assert _twfe(panel, "y") == pytest.approx(3.3, abs=1e-12)
    # Theorem 1: V^D (variance of two-way demeaned D) equals the sum of weight numerators, 5/72
    dd = two_way_demean(panel.treated, panel.unit_index, panel.time_index)
    assert np.mean(dd**2) == pytest.approx(5 / 72, abs=1e-12)


@pytest.mark.parametrize("source", ["mpdta", "castle", "generated"])
def test_weighted_sum_equals_twfe(source):
    if source == "mpdta":
        df = pd.read_csv(MPDTA)
        panel = Panel.from_frame(
            df, unit="countyreal", time="year", cohort="first.treat", outcomes="lemp"
        )
        y = "lemp"
    elif source == "castle":
        df = pd.read_csv(CASTLE)
        panel = Panel.from_frame(
            df, unit="sid", time="year", cohort="effyear", outcomes="l_homicide"
        )
        y = "l_homicide"
    else:
        rng = np.random.default_rng(7)
        n, t = 40, 12
        g = rng.choice([3.0, 5.0, 8.0, 10.0, 0.0], size=n)
        rows = []
        for i in range(n):
            for s in range(1, t + 1):
                eff = (s - g[i] + 1) * 0.5 if g[i] and s >= g[i] else 0.0
                rows.append({"u": i, "t": s, "g": g[i], "y": rng.normal() + 0.1 * s + i % 3 + eff})
        panel = Panel.from_frame(pd.DataFrame(rows), unit="u", time="t", cohort="g", outcomes="y")
        y = "y"
    table = goodman_bacon(panel, y)
    assert table["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert (table["weight"] >= 0).all()
    assert float(table["weight"] @ table["estimate"]) == pytest.approx(_twfe(panel, y), abs=1e-10)
    summary = bacon_summary(table)
    assert summary["weight"].sum() == pytest.approx(1.0, abs=1e-12)


def test_two_by_two_is_difference_of_four_means_mpdta():
    df = pd.read_csv(MPDTA)
    panel = Panel.from_frame(
        df, unit="countyreal", time="year", cohort="first.treat", outcomes="lemp"
    )
    table = goodman_bacon(panel, "lemp").set_index(["comparison", "treated", "control"])

    def mean(cohort, years):
        rows = df[(df["first.treat"] == cohort) & df["year"].isin(years)]
        return rows["lemp"].mean()

    # 2006 vs never: pre 2003-2005, post 2006-2007
    pre, post = [2003, 2004, 2005], [2006, 2007]
    expected = (mean(2006, post) - mean(2006, pre)) - (mean(0, post) - mean(0, pre))
    assert table.loc[(COMPARISONS[2], 2006, "never"), "estimate"] == pytest.approx(
        expected, abs=1e-12
    )
    # 2004 (earlier) vs 2007 (later, not yet treated): window 2003-2006
    pre, mid = [2003], [2004, 2005, 2006]
    expected = (mean(2004, mid) - mean(2004, pre)) - (mean(2007, mid) - mean(2007, pre))
    assert table.loc[(COMPARISONS[0], 2004, 2007), "estimate"] == pytest.approx(expected, abs=1e-12)
    # 2007 (later) vs 2004 (already treated): window 2004-2007
    mid, post = [2004, 2005, 2006], [2007]
    expected = (mean(2007, post) - mean(2007, mid)) - (mean(2004, post) - mean(2004, mid))
    assert table.loc[(COMPARISONS[1], 2007, 2004), "estimate"] == pytest.approx(expected, abs=1e-12)


def test_unbalanced_panel_is_refused():
    df = pd.read_csv(MPDTA).iloc[1:]
    panel = Panel.from_frame(
        df, unit="countyreal", time="year", cohort="first.treat", outcomes="lemp"
    )
    with pytest.raises(EstimationError, match="balanced"):
        goodman_bacon(panel, "lemp")


def test_castle_doctrine_matches_the_published_bacondecomp_table():
    """R ``bacondecomp`` README: ``bacon(l_homicide ~ post, data = castle, id_var = "state",
    time_var = "year")`` prints TWFE 0.08181 and, by comparison type, weight / avg_est:
    Earlier vs Later Treated 0.05976 / -0.00554, Later vs Earlier Treated 0.03190 / 0.07032,
    Treated vs Untreated 0.90834 / 0.08796. The R package's ``post`` switches on one year before
    the ``effyear`` of the Cheng-Hoekstra file stored here (tests/reference/README.md), so the
    cohort is ``effyear - 1``. Tolerance: the printed rounding (5 decimals)."""
    d = pd.read_csv(Path(__file__).parent / "reference" / "castle.csv")
    d["cohort"] = np.where(d["effyear"] > 0, d["effyear"] - 1, 0)
    panel = Panel.from_frame(d, unit="sid", time="year", cohort="cohort", outcomes="l_homicide")
    res = fit_twfe(panel, "l_homicide", inference="cr1")
    assert res.overall.estimate == pytest.approx(0.08181, abs=5e-6)
    table = res.bacon.assign(we=res.bacon["weight"] * res.bacon["estimate"])
    by = table.groupby("comparison").agg(weight=("weight", "sum"), we=("we", "sum"))
    by["avg_est"] = by["we"] / by["weight"]
    published = {
        "Earlier vs Later Treated": (0.05976, -0.00554),
        "Later vs Earlier Treated": (0.03190, 0.07032),
        "Treated vs Never Treated": (0.90834, 0.08796),
    }
    for comparison, (weight, avg_est) in published.items():
        assert by.loc[comparison, "weight"] == pytest.approx(weight, abs=5e-6)
        assert by.loc[comparison, "avg_est"] == pytest.approx(avg_est, abs=5e-6)
