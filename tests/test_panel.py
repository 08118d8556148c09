"""The Panel abstraction: coding, validation and pure transforms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.errors import DataError, EstimationError
from evaluation.outcomes import transform_outcome
from evaluation.panel import NEVER, Panel, attach_cohorts

MPDTA = Path(__file__).parent / "data" / "mpdta.csv"


def _toy(**changes: object) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "force": ["Kent"] * 3 + ["Essex"] * 3 + ["Surrey"] * 3,
            "period": ["2022-03", "2022-04", "2022-05"] * 3,
            "cohort": ["2022-04"] * 3 + ["0"] * 3 + [""] * 3,
            "y": [1.0, 2.0, 3.0, 1.0, 1.5, 2.0, 0.5, 0.6, 0.7],
        }
    )
    for k, v in changes.items():
        df[k] = v
    return df


def test_mpdta_panel_counts() -> None:
    df = pd.read_csv(MPDTA)
    p = Panel.from_frame(
        df,
        unit="countyreal",
        time="year",
        cohort="first.treat",
        outcomes="lemp",
        covariates=["lpop"],
    )
    assert (p.n_units, p.n_periods, p.n_treated_units) == (500, 5, 191)
    assert p.cohorts.tolist() == [2004.0, 2006.0, 2007.0]
    assert p.is_balanced
    assert p.frequency is None
    assert p.wide("lemp").shape == (500, 5)


def test_period_labels_coded_as_ordinals_and_never_treated_explicit() -> None:
    p = Panel.from_frame(_toy(), unit="force", time="period", cohort="cohort", outcomes="y")
    assert p.frequency == "month"
    assert np.diff(p.times).tolist() == [1, 1]
    g = p.unit_cohorts
    assert g["Essex"] == NEVER and g["Surrey"] == NEVER
    assert p.time_label(g["Kent"]) == "2022-04"
    assert p.n_treated_units == 1
    # treatment indicator and event time
    kent = p.data["unit"].to_numpy() == "Kent"
    assert p.treated[kent].tolist() == [0.0, 1.0, 1.0]
    assert p.event_time[kent].tolist() == [-1.0, 0.0, 1.0]
    assert np.isnan(p.event_time[~kent]).all()


def test_string_and_integer_unit_ids_alike() -> None:
    df = _toy()
    df["force"] = df["force"].map({"Kent": 7, "Essex": 8, "Surrey": 9})
    p = Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")
    assert sorted(p.units.tolist()) == [7, 8, 9]


def test_cohort_varying_within_unit_is_an_error() -> None:
    df = _toy(cohort=["2022-04", "2022-05", "2022-04"] + ["0"] * 6)
    with pytest.raises(DataError, match="constant within each unit"):
        Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")


def test_treated_unit_without_pre_period_is_an_error() -> None:
    df = _toy(cohort=["2022-03"] * 3 + ["0"] * 6)
    with pytest.raises(EstimationError, match="no period before treatment"):
        Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")


def test_no_comparison_units_is_an_error() -> None:
    df = _toy(cohort=["2022-04"] * 9)
    with pytest.raises(EstimationError, match="no comparison units"):
        Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")


def test_no_treated_units_is_an_error() -> None:
    df = _toy(cohort=["0"] * 9)
    with pytest.raises(EstimationError, match="no treated units"):
        Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")


def test_bad_outcome_values_are_located() -> None:
    df = _toy()
    df["y"] = df["y"].astype(object)
    df.loc[4, "y"] = "n/a"
    with pytest.raises(DataError) as err:
        Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")
    (problem,) = err.value.problems
    assert (problem.row, problem.column, problem.value) == (6, "y", "n/a")


def test_duplicates_and_missing_columns_are_located() -> None:
    df = pd.concat([_toy(), _toy().iloc[[1]]], ignore_index=True)
    with pytest.raises(DataError, match="duplicated") as err:
        Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")
    assert {p.row for p in err.value.problems} == {3, 11}
    with pytest.raises(DataError, match="missing column"):
        Panel.from_frame(_toy(), unit="force", time="period", cohort="first", outcomes="y")


def test_mixed_frequency_is_an_error() -> None:
    df = _toy(period=["2022-03", "2022-Q2", "2022-05"] * 3)
    with pytest.raises(DataError, match="mixed frequency"):
        Panel.from_frame(df, unit="force", time="period", cohort="cohort", outcomes="y")


def test_with_cohorts_and_subset_are_pure() -> None:
    p = Panel.from_frame(_toy(), unit="force", time="period", cohort="cohort", outcomes="y")
    q = p.with_cohorts({"Kent": NEVER, "Essex": p.unit_cohorts["Kent"], "Surrey": NEVER})
    assert q.unit_cohorts["Essex"] == p.unit_cohorts["Kent"]
    assert p.unit_cohorts["Essex"] == NEVER  # original untouched
    r = p.subset_units(["Kent", "Essex"])
    assert r.n_units == 2 and p.n_units == 3


def test_attach_cohorts_from_register_dates_and_periods() -> None:
    panel = _toy().drop(columns="cohort")
    reg = pd.DataFrame({"force": ["Kent", "Essex"], "go_live": ["2022-04-15", "2022-05"]})
    out = attach_cohorts(panel, reg)
    assert out.groupby("force")["cohort"].first().to_dict() == {
        "Essex": "2022-05",
        "Kent": "2022-04",
        "Surrey": "0",
    }


def test_log_transform_rejects_zeros_with_rows() -> None:
    df = _toy()
    df.loc[[2, 5], "y"] = 0.0
    with pytest.raises(DataError) as err:
        transform_outcome(df, "y", "log", unit="force")
    assert [p.row for p in err.value.problems] == [4, 7]
