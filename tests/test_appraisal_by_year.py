"""The year-by-year table (numpy) against a plain pandas group-by of the same lines.

``_reference`` is the table as first written with pandas group-bys (kept here as the oracle):
the fast version must give the same numbers, on the bundled appraisal's views and on edge cases
(years without lines, lines outside the period, missing nominal outturn, several forces a year).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.appraisal import appraise, load_params
from evaluation.appraisal._years import fy_start
from evaluation.appraisal.discounting import discount_factors
from evaluation.appraisal.measures import BY_YEAR_COLUMNS, by_year_table, summarise
from evaluation.appraisal.params import ParameterSet
from evaluation.ingest import load_ledger

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def _reference(
    cost_lines: pd.DataFrame,
    benefit_lines: pd.DataFrame,
    params: ParameterSet,
    *,
    years: Sequence[str],
    base_year: str,
) -> pd.DataFrame:
    idx = pd.Index(list(years), name="financial_year")
    c = cost_lines[cost_lines["financial_year"].isin(idx)]
    b = benefit_lines[benefit_lines["financial_year"].isin(idx)]
    not_res = c["basis"] != "residual"

    def total(frame: pd.DataFrame, column: str) -> pd.Series:
        return frame.groupby("financial_year")[column].sum().reindex(idx, fill_value=0.0)

    core = b[~b["wider"].astype(bool)]
    cash = core["cashable"].astype(bool)
    out = pd.DataFrame(index=idx)
    t = np.array([fy_start(y) - fy_start(base_year) for y in years], dtype=np.int64)
    out["year"] = np.arange(1, len(years) + 1)
    out["t"] = t
    live = b[b["volume_force_years"] > 0].groupby("financial_year")["force"].nunique()
    out["forces_live"] = live.reindex(idx, fill_value=0).astype(int)
    nominal = c[c["basis"] == "outturn"].groupby("financial_year")["nominal_gbp"].sum(min_count=1)
    out["costs_nominal_outturn_gbp"] = nominal.reindex(idx)
    out["costs_base_real_gbp"] = total(c[not_res], "base_real_gbp")
    out["ob_uplift_gbp"] = total(c[not_res], "ob_uplift_gbp")
    out["residual_value_gbp"] = -total(c[~not_res], "adjusted_gbp")
    out["costs_gbp"] = total(c, "adjusted_gbp")
    out["benefits_cashable_gbp"] = total(core[cash], "value_gbp")
    out["benefits_noncashable_gbp"] = total(core[~cash], "value_gbp")
    out["benefits_gbp"] = total(core, "value_gbp")
    out["benefits_wider_gbp"] = total(b[b["wider"].astype(bool)], "value_gbp")
    out["net_gbp"] = out["benefits_gbp"] - out["costs_gbp"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = out["benefits_gbp"].to_numpy() / out["costs_gbp"].to_numpy()
    out["in_year_bcr"] = np.where(out["costs_gbp"].to_numpy() > 0, ratio, np.nan)
    out["discount_factor"] = discount_factors(t, params.discount_bands)
    out["pv_costs_gbp"] = out["costs_gbp"] * out["discount_factor"]
    out["pv_benefits_gbp"] = out["benefits_gbp"] * out["discount_factor"]
    out["pv_net_gbp"] = out["pv_benefits_gbp"] - out["pv_costs_gbp"]
    out["cumulative_net_gbp"] = out["net_gbp"].cumsum()
    out["cumulative_pv_costs_gbp"] = out["pv_costs_gbp"].cumsum()
    out["cumulative_pv_benefits_gbp"] = out["pv_benefits_gbp"].cumsum()
    out["cumulative_pv_net_gbp"] = out["pv_net_gbp"].cumsum()
    out = out.reset_index()
    out["financial_year"] = out["financial_year"].astype(object)
    return out[list(BY_YEAR_COLUMNS)]


@pytest.fixture(scope="module")
def bundled():
    effects = pd.read_csv(SAMPLE / "effects.csv", comment="#")
    return appraise(
        load_ledger(SAMPLE / "costs.csv"),
        effects,
        load_params(),
        uncertainty=False,
        monte_carlo=False,
    )


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert got["financial_year"].tolist() == want["financial_year"].tolist()
    for column in BY_YEAR_COLUMNS[1:]:
        g, w = got[column].to_numpy(dtype=float), want[column].to_numpy(dtype=float)
        scale = max(1.0, float(np.nanmax(np.abs(w))) if np.isfinite(w).any() else 1.0)
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-9 * scale, err_msg=column)
        assert np.array_equal(np.isnan(g), np.isnan(w)), column


YEAR_SETS: dict[str, slice | str | None] = {
    "the period": None,
    "a sub-period": slice(2, 6),
    "years beyond the lines": "beyond",
}


@pytest.mark.parametrize("which", YEAR_SETS)
def test_the_table_is_the_pandas_group_by_of_the_same_lines(bundled, which: str) -> None:
    years = list(bundled.by_year["financial_year"])
    chosen = YEAR_SETS[which]
    if chosen == "beyond":
        years = [*years[-3:], "2040-41", "2041-42"]
    elif isinstance(chosen, slice):
        years = years[chosen]
    params = load_params()
    for base in (years[0], "2022-23"):
        kwargs = {"years": years, "base_year": base}
        got = by_year_table(bundled.cost_lines, bundled.benefit_lines, params, **kwargs)
        _same(got, _reference(bundled.cost_lines, bundled.benefit_lines, params, **kwargs))


def test_missing_outturn_several_forces_and_wider_lines_as_the_group_by(bundled) -> None:
    c = bundled.cost_lines.copy()
    b = bundled.benefit_lines.copy()
    c.loc[c.index[:3], "nominal_gbp"] = np.nan  # missing nominal amounts are skipped
    b["wider"] = np.arange(len(b)) % 3 == 0
    b["cashable"] = np.arange(len(b)) % 2 == 0
    b.loc[b.index[::4], "volume_force_years"] = 0.0  # not live in those rows
    years = list(bundled.by_year["financial_year"])
    params = load_params().updated("discounting.rate", 0.07)
    kwargs = {"years": years, "base_year": years[0]}
    got = by_year_table(c, b, params, **kwargs)
    want = _reference(c, b, params, **kwargs)
    _same(got, want)
    assert got["forces_live"].dtype.kind == "i"
    assert (got["forces_live"] > 0).any() and got["forces_live"].tolist() == want[
        "forces_live"
    ].tolist()


def test_no_lines_gives_zeros_and_no_nominal_outturn(bundled) -> None:
    years = ["2022-23", "2023-24"]
    c = bundled.cost_lines.iloc[0:0]
    b = bundled.benefit_lines.iloc[0:0]
    got = by_year_table(c, b, load_params(), years=years, base_year=years[0])
    _same(got, _reference(c, b, load_params(), years=years, base_year=years[0]))
    assert got["costs_gbp"].tolist() == [0.0, 0.0]
    assert got["costs_nominal_outturn_gbp"].isna().all()


def test_summary_present_values_add_up_the_table(bundled) -> None:
    years = list(bundled.by_year["financial_year"])
    params = load_params()
    s, table = summarise(
        bundled.cost_lines,
        bundled.benefit_lines,
        params,
        years=years,
        base_year=years[0],
        view="ex-post",
    )
    assert s.pv_costs == pytest.approx(table["pv_costs_gbp"].sum(), rel=1e-12)
    assert s.pv_benefits == pytest.approx(table["pv_benefits_gbp"].sum(), rel=1e-12)
    assert s.pv_benefits_wider == pytest.approx(
        float((table["benefits_wider_gbp"] * table["discount_factor"]).sum()), rel=1e-12
    )


def test_without_breakdowns_the_headline_is_the_same_and_the_breakdowns_are_empty(
    bundled,
) -> None:
    a = appraise(
        load_ledger(SAMPLE / "costs.csv"),
        pd.read_csv(SAMPLE / "effects.csv", comment="#"),
        load_params(),
        uncertainty=False,
        monte_carlo=False,
        breakdowns=False,
    )
    assert a.summary == bundled.summary and a.go_forward == bundled.go_forward
    assert a.rollout is not None and bundled.rollout is not None
    assert a.rollout.summary == bundled.rollout.summary
    pd.testing.assert_frame_equal(a.by_year, bundled.by_year)
    for name in ("costs_by_category", "benefits_by_line", "by_type", "by_agency"):
        empty, full = getattr(a, name), getattr(bundled, name)
        assert empty.empty and not full.empty, name
        assert list(empty.columns) == list(full.columns), name
    assert a.non_monetised is None and bundled.non_monetised is not None
