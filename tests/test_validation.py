"""One test (at least) per validation rule of the data contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.errors import ConfigError, DataError
from evaluation.schema import Metric
from evaluation.validation import (
    ValidationReport,
    prepare_ledger,
    prepare_panel,
    prepare_register,
    validate_ledger,
    validate_panel,
    validate_pilots,
    validate_register,
)


def _panel(**cols) -> pd.DataFrame:
    base = {
        "force": ["Kent", "Kent", "Surrey", "Surrey"],
        "period": ["2022-04", "2022-05", "2022-04", "2022-05"],
        "backlog": ["10", "12", "3", "0"],
    }
    base.update(cols)
    return pd.DataFrame(base, dtype=str)


def _errors(report: ValidationReport) -> list[tuple[int | None, str | None, str]]:
    return [(p.row, p.column, p.message) for p in report.errors]


def _find(report, text, severity=None):
    return [
        p
        for p in report.problems
        if text in p.message and (severity is None or p.severity == severity)
    ]


# ------------------------------------------------------------------------------------ panel


def test_clean_panel_types_and_values():
    frame, rep = prepare_panel(_panel(), "p.csv")
    assert rep.ok, rep.format()
    assert rep.warnings == ()
    assert frame["force"].tolist() == ["Kent", "Kent", "Surrey", "Surrey"]
    assert frame["period"].tolist() == ["2022-04", "2022-05", "2022-04", "2022-05"]
    assert frame["backlog"].dtype == np.float64
    assert frame["backlog"].tolist() == [10.0, 12.0, 3.0, 0.0]
    assert rep.n_rows == 4 and rep.n_columns == 3
    assert rep.transformations == ()


def test_missing_required_column():
    rep = validate_panel(_panel().drop(columns="period"), "p.csv")
    (err,) = rep.errors
    assert err.column == "period" and err.row == 1 and "missing" in err.message


def test_non_numeric_metric_values():
    rep = validate_panel(_panel(backlog=["10", "ten", "1,200", "£5"]), "p.csv")
    errs = {(p.row, p.value): p.expected for p in rep.errors}
    assert set(errs) == {(3, "ten"), (4, "1,200"), (5, "£5")}
    assert "thousands" in errs[(4, "1,200")]
    assert "currency" in errs[(5, "£5")]
    assert all(p.column == "backlog" and p.file == "p.csv" for p in rep.errors)


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "1e999", "TRUE", "1 2"])
def test_non_finite_and_odd_numbers_are_errors(bad):
    rep = validate_panel(_panel(backlog=["1", bad, "2", "3"]), "p.csv")
    assert [(p.row, p.column) for p in rep.errors] == [(3, "backlog")]


def test_blank_and_shorthand_kept_missing_and_noted():
    frame, rep = prepare_panel(_panel(backlog=["", "[x]", " ", "4"]), "p.csv")
    assert rep.ok
    assert frame["backlog"].isna().tolist() == [True, True, True, False]
    (note,) = _find(rep, "blank or unavailable", "info")
    assert note.column == "backlog" and "2, 3, 4" in note.message


def test_negative_value_where_nonnegative():
    rep = validate_panel(_panel(backlog=["1", "-2", "3", "4"]), "p.csv")
    (err,) = rep.errors
    assert (err.row, err.column, err.value) == (3, "backlog", "-2")


def test_allow_negative_is_reported():
    frame, rep = prepare_panel(
        _panel(backlog=["1", "-2", "3", "4"]), "p.csv", allow_negative=["backlog"]
    )
    assert rep.ok
    assert frame.loc[1, "backlog"] == -2.0
    assert any("allow_negative" in t and "row" in t for t in rep.transformations)


def test_negative_allowed_for_metric_not_marked_nonnegative():
    metrics = {"net_change": Metric("net_change", "count", nonnegative=False)}
    rep = validate_panel(
        _panel(backlog=None).drop(columns="backlog").assign(net_change=["-1", "2", "3", "-4"]),
        "p.csv",
        metrics=metrics,
    )
    assert rep.ok


def test_unknown_numeric_column_is_a_metric_info():
    frame, rep = prepare_panel(_panel(widgets=["1", "2", "", "4.5"]), "p.csv")
    assert rep.ok
    assert frame["widgets"].tolist()[:2] == [1.0, 2.0]
    assert _find(rep, "unknown numeric column 'widgets'", "info")


def test_unknown_text_column_is_an_error():
    rep = validate_panel(_panel(notes=["ok", "", "late", "x"]), "p.csv")
    (err,) = rep.errors
    assert err.column == "notes" and "not a metric" in err.message


def test_unknown_force_with_suggestion():
    rep = validate_panel(_panel(force=["Kent", "Kent", "Surey", "Narnia"]), "p.csv")
    errs = {p.row: p for p in rep.errors}
    assert "did you mean 'Surrey'?" in errs[4].message
    assert errs[5].value == "Narnia" and "did you mean" not in errs[5].message


def test_alias_accepted_and_reported():
    frame, rep = prepare_panel(_panel(force=["Kent", "Kent", "Met", "MPS"]), "p.csv")
    assert rep.ok
    assert frame["force"].tolist()[2:] == ["Metropolitan Police Service"] * 2
    infos = _find(rep, "read as 'Metropolitan Police Service'", "info")
    assert {p.row for p in infos} == {4, 5}
    assert len(rep.transformations) == 2


def test_psni_is_unknown():
    rep = validate_panel(_panel(force=["Kent", "Kent", "PSNI", "PSNI"]), "p.csv")
    assert {p.row for p in rep.errors} == {4, 5}


def test_duplicate_force_period_names_both_rows():
    rep = validate_panel(_panel(period=["2022-04", "2022-05", "2022-04", "2022-04"]), "p.csv")
    dup = [p for p in rep.errors if "more than once" in p.message]
    assert len(dup) == 1
    assert "rows 4, 5" in dup[0].message and dup[0].row == 5


@pytest.mark.parametrize(("policy", "kept"), [("first", 2), ("last", 3)])
def test_drop_duplicates_option(policy, kept):
    raw = _panel(period=["2022-04", "2022-05", "2022-04", "2022-04"], backlog=["1", "2", "3", "4"])
    frame, rep = prepare_panel(raw, "p.csv", drop_duplicates=policy)
    assert rep.ok
    assert len(frame) == 3
    assert kept in frame.index
    assert any(f"drop_duplicates='{policy}'" in t for t in rep.transformations)


def test_drop_duplicates_option_is_checked():
    with pytest.raises(ConfigError, match="drop_duplicates must be one of"):
        validate_panel(_panel(), "p.csv", drop_duplicates="any")


def test_mixed_frequency():
    rep = validate_panel(_panel(period=["2022-04", "2022-05", "2022-06", "2022-Q3"]), "p.csv")
    rows = {p.row for p in rep.errors if p.row is not None}
    assert rows == {5}
    assert _find(rep, "mixed frequency", "error")


def test_frequency_option():
    rep = validate_panel(
        _panel(period=["2022-Q1", "2022-Q2", "2022-Q1", "2022-Q2"]), "p.csv", frequency="month"
    )
    assert len(rep.errors) == 4


@pytest.mark.parametrize("bad", ["April 2022", "2022-13", "2022-04-01", "22-04", "2022-24x"])
def test_invalid_period(bad):
    rep = validate_panel(_panel(period=["2022-04", "2022-05", bad, "2022-05"]), "p.csv")
    (err,) = [p for p in rep.errors if p.row == 4]
    assert err.column == "period" and err.value == bad
    if bad == "2022-04-01":
        assert "looks like a date" in err.expected


def test_period_labels_normalised_and_reported():
    frame, rep = prepare_panel(_panel(period=["2022q1", "2022-Q2", "2022Q1", "2022-Q2"]), "p.csv")
    assert rep.ok
    assert frame["period"].tolist() == ["2022-Q1", "2022-Q2", "2022-Q1", "2022-Q2"]
    assert any("'2022q1' read as '2022-Q1'" in t for t in rep.transformations)


def test_financial_year_panel():
    frame, rep = prepare_panel(_panel(period=["2021-22", "2022-23", "2021-22", "2022-23"]), "p.csv")
    assert rep.ok
    assert frame["period"].tolist()[:2] == ["2021-22", "2022-23"]


def test_unbalanced_panel_warns_with_absent_periods():
    raw = pd.DataFrame(
        {
            "force": ["Kent", "Kent", "Kent", "Surrey"],
            "period": ["2022-04", "2022-05", "2022-06", "2022-05"],
            "backlog": ["1", "2", "3", "4"],
        }
    )
    frame, rep = prepare_panel(raw, "p.csv")
    assert rep.ok  # warnings allowed
    (warn,) = rep.warnings
    assert "'Surrey'" in warn.message and "2022-04, 2022-06" in warn.message
    assert "2 of 3" in warn.message
    assert len(frame) == 4  # nothing imputed


def test_blank_row_is_an_error_not_dropped():
    raw = _panel(
        force=["Kent", "", "Surrey", "Surrey"],
        period=["2022-04", "", "2022-04", "2022-05"],
        backlog=["1", "", "2", "3"],
    )
    frame, rep = prepare_panel(raw, "p.csv")
    (err,) = rep.errors
    assert err.row == 3 and "blank row" in err.message
    assert len(frame) == 4


def test_blank_force_and_period():
    rep = validate_panel(
        _panel(
            force=["Kent", " ", "Surrey", "Surrey"], period=["2022-04", "2022-05", "", "2022-05"]
        ),
        "p.csv",
    )
    assert {(p.row, p.column) for p in rep.errors} == {(3, "force"), (4, "period")}


def test_header_case_and_spacing_normalised():
    raw = _panel().rename(columns={"force": "Force", "backlog": " Backlog "})
    frame, rep = prepare_panel(raw, "p.csv")
    assert rep.ok
    assert list(frame.columns) == ["force", "period", "backlog"]
    assert any("'Force' read as 'force'" in t for t in rep.transformations)


def test_typed_input_frame_is_read_as_text():
    raw = pd.DataFrame({"force": ["Kent"], "period": ["2022-04"], "backlog": [3]})
    frame, rep = prepare_panel(raw, "df")
    assert rep.ok and frame["backlog"].tolist() == [3.0]


# ------------------------------------------------------------------------------------ report


def test_report_frame_format_and_raise():
    rep = validate_panel(_panel(force=["Kent", "Kent", "Met", "Narnia"]), "p.csv")
    df = rep.to_frame()
    assert list(df.columns) == ["severity", "file", "row", "column", "value", "expected", "message"]
    assert df["severity"].iloc[0] == "error"
    assert len(df) == len(rep.problems)
    text = rep.format()
    assert "INVALID" in text and "row 5, column 'force'" in text
    assert rep.counts["error"] == 1
    with pytest.raises(DataError) as e:
        rep.raise_if_errors()
    assert "row 5" in str(e.value)
    ok = validate_panel(_panel(), "p.csv")
    ok.raise_if_errors()
    assert "OK" in ok.format()


def test_report_is_frozen():
    rep = validate_panel(_panel(), "p.csv")
    with pytest.raises(AttributeError):
        rep.file = "x"  # type: ignore[misc]


# ------------------------------------------------------------------------------------ register


def _register(**cols) -> pd.DataFrame:
    base = {
        "force": ["Avon and Somerset", "South Wales"],
        "wave": ["1", "2"],
        "go_live": ["2021-07-01", "2022-Q4"],
    }
    base.update(cols)
    return pd.DataFrame(base, dtype=str)


def test_clean_register():
    frame, rep = prepare_register(_register(), "r.csv")
    assert rep.ok, rep.format()
    assert frame["go_live"].tolist() == [pd.Timestamp("2021-07-01"), pd.Timestamp("2022-10-01")]
    assert frame["ended"].isna().all()
    assert frame["wave"].tolist() == ["1", "2"]
    assert any("first day of the period" in t for t in rep.transformations)


def test_register_unknown_column_is_error():
    rep = validate_register(_register(golive_notes=["a", "b"]), "r.csv")
    (err,) = rep.errors
    assert err.column == "golive_notes"


def test_register_missing_columns():
    rep = validate_register(_register().drop(columns=["wave", "go_live"]), "r.csv")
    assert {p.column for p in rep.errors} == {"wave", "go_live"}


def test_pilot_listed_twice():
    rep = validate_register(_register(force=["Kent", "Kent Police"]), "r.csv")
    (err,) = rep.errors
    assert "rows 2, 3" in err.message


def test_ended_before_go_live():
    rep = validate_register(_register(ended=["2021-06-30", ""]), "r.csv")
    (err,) = rep.errors
    assert (err.row, err.column) == (2, "ended")


def test_ended_period_reads_as_last_day():
    frame, rep = prepare_register(_register(ended=["2023-24", ""]), "r.csv")
    assert rep.ok
    assert frame.loc[0, "ended"] == pd.Timestamp("2024-03-31")


@pytest.mark.parametrize("bad", ["01/07/2021", "2021-02-30", "soon", ""])
def test_bad_go_live(bad):
    rep = validate_register(_register(go_live=["2021-07-01", bad]), "r.csv")
    (err,) = rep.errors
    assert (err.row, err.column) == (3, "go_live")


def test_blank_wave():
    rep = validate_register(_register(wave=["1", " "]), "r.csv")
    assert [(p.row, p.column) for p in rep.errors] == [(3, "wave")]


# ------------------------------------------------------------------------------------ pilots


def _typed_panel():
    forces = ["Avon and Somerset", "South Wales", "Kent"]
    periods = ["2021-04", "2021-05", "2021-06", "2021-07", "2021-08"]
    raw = pd.DataFrame(
        [(f, p, "1") for f in forces for p in periods], columns=["force", "period", "backlog"]
    )
    frame, rep = prepare_panel(raw, "p.csv")
    assert rep.ok
    return frame


def test_pilots_clean():
    reg, _ = prepare_register(_register(go_live=["2021-06-15", "2021-08"]), "r.csv")
    rep = validate_pilots(_typed_panel(), reg, source="r.csv")
    assert rep.ok and not rep.warnings, rep.format()


def test_pilot_absent_from_panel():
    reg, _ = prepare_register(
        _register(force=["Avon and Somerset", "Durham"], go_live=["2021-06-01", "2021-06-01"]),
        "r.csv",
    )
    rep = validate_pilots(_typed_panel(), reg, source="r.csv")
    (err,) = rep.errors
    assert (err.file, err.row, err.column, err.value) == ("r.csv", 3, "force", "Durham")


def test_go_live_before_panel_is_error_after_is_warning():
    reg, _ = prepare_register(_register(go_live=["2021-03-31", "2021-09-01"]), "r.csv")
    rep = validate_pilots(_typed_panel(), reg, source="r.csv")
    (err,) = rep.errors
    (warn,) = rep.warnings
    assert (err.row, err.column) == (2, "go_live") and "before" in err.message
    assert (warn.row, warn.column) == (3, "go_live") and "after" in warn.message


# ------------------------------------------------------------------------------------ ledger


def _ledger(**cols) -> pd.DataFrame:
    base = {
        "force": ["Kent", "Kent", "Surrey"],
        "date": ["2022-05-03", "", "2023-03-31"],
        "financial_year": ["", "2023-24", "2022-23"],
        "category": ["equipment", "Training", "staff"],
        "kind": ["capital", "recurrent", "recurrent"],
        "amount_gbp": ["1000", "250.5", "0"],
        "price_basis": ["nominal", "real 2022-23", "Real 2022/23"],
        "description": ["kiosks", "", "analyst"],
    }
    base.update(cols)
    return pd.DataFrame(base, dtype=str)


def test_clean_ledger_and_normalisations():
    frame, rep = prepare_ledger(_ledger(), "c.csv")
    assert rep.ok, rep.format()
    assert frame["financial_year"].tolist() == ["2022-23", "2023-24", "2022-23"]
    assert frame["category"].tolist() == ["equipment", "training", "staff"]
    assert frame["price_basis"].tolist() == ["nominal", "real 2022-23", "real 2022-23"]
    assert frame["amount_gbp"].tolist() == [1000.0, 250.5, 0.0]
    assert pd.isna(frame.loc[1, "date"])
    t = " | ".join(rep.transformations)
    assert "financial_year derived from date" in t and "'Training' read as 'training'" in t


def test_ledger_unknown_category_kind_basis():
    rep = validate_ledger(
        _ledger(
            category=["equipmnt", "food", "staff"],
            kind=["capital", "revenue", "cap"],
            price_basis=["nominal", "real 2022", "real 2022-24"],
        ),
        "c.csv",
    )
    errs = {(p.row, p.column): p for p in rep.errors}
    assert "did you mean 'equipment'?" in errs[(2, "category")].message
    assert (3, "category") in errs
    assert (3, "kind") in errs and (4, "kind") in errs
    assert (3, "price_basis") in errs and (4, "price_basis") in errs
    assert len(rep.errors) == 6


def test_ledger_negative_amount_and_option():
    raw = _ledger(amount_gbp=["1000", "-5", "0"])
    rep = validate_ledger(raw, "c.csv")
    assert [(p.row, p.column) for p in rep.errors] == [(3, "amount_gbp")]
    frame, rep2 = prepare_ledger(raw, "c.csv", allow_negative=True)
    assert rep2.ok and frame.loc[1, "amount_gbp"] == -5.0
    assert any("allow_negative" in t for t in rep2.transformations)


def test_ledger_blank_amount_is_error():
    rep = validate_ledger(_ledger(amount_gbp=["1000", "", "0"]), "c.csv")
    assert [(p.row, p.column) for p in rep.errors] == [(3, "amount_gbp")]


def test_ledger_missing_date_and_financial_year():
    rep = validate_ledger(
        _ledger(date=["2022-05-03", "", ""], financial_year=["", "", ""]), "c.csv"
    )
    assert [(p.row, p.column) for p in rep.errors] == [(3, "date"), (4, "date")]


def test_ledger_without_either_column():
    rep = validate_ledger(_ledger().drop(columns=["date", "financial_year"]), "c.csv")
    assert [(p.row, p.column) for p in rep.errors] == [(1, "date")]


def test_ledger_date_outside_financial_year():
    rep = validate_ledger(_ledger(financial_year=["2021-22", "2023-24", "2022-23"]), "c.csv")
    (err,) = rep.errors
    assert (err.row, err.column) == (2, "financial_year") and "2022-23" in err.message


def test_ledger_unknown_column():
    rep = validate_ledger(_ledger(vat=["1", "2", "3"]), "c.csv")
    assert [(p.row, p.column) for p in rep.errors] == [(1, "vat")]


def test_ledger_only_financial_year_column():
    frame, rep = prepare_ledger(
        _ledger().drop(columns=["date"]).assign(financial_year=["2022-23", "2023-24", "2022-23"]),
        "c.csv",
    )
    assert rep.ok and frame["date"].isna().all()


def test_all_problems_reported_at_once():
    rep = validate_ledger(
        _ledger(
            force=["Kent", "Narnia", "Kent"],
            amount_gbp=["x", "-1", "1"],
            kind=["capital", "recurrent", "lease"],
        ),
        "c.csv",
    )
    assert {(p.row, p.column) for p in rep.errors} == {
        (3, "force"),
        (2, "amount_gbp"),
        (3, "amount_gbp"),
        (4, "kind"),
    }
