"""Case-level aggregation (evaluation.cases).

Reference numbers for the hand-built file ``HAND_ROWS`` were worked out by hand from the rows
below (comments give each examination's turnaround in days); the interpolated quantiles are
also checked against ``numpy.quantile`` on the same hand-listed turnarounds.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evaluation.cases import (
    CASE_METRICS,
    OUTSOURCED_FALSE,
    OUTSOURCED_TRUE,
    CaseReport,
    aggregate_cases,
    aggregate_cases_pandas,
)
from evaluation.errors import ConfigError, DataError, Problem
from evaluation.schema import FORCE_NAMES

HEADER = ["force", "received", "completed", "outsourced", "cost_gbp", "offence_type"]
A, M = "Avon and Somerset", "Metropolitan Police Service"
# fmt: off
HAND_ROWS = [
    # force,  received,     completed,    outsourced, cost,    offence       days
    ["Avon and Somerset", "2022-04-05", "2022-04-15", "no",  "100",   "Fraud"],   # 10
    ["Avon and Somerset", "2022-04-20", "2022-05-10", "yes", "300.5", "Drugs"],   # 20
    ["Avon and Somerset", "2022-04-30", "",           "",    "",      "Fraud"],   # pending
    ["Avon and Somerset", "2022-05-31", "2022-06-01", "Y",   "200",   "Rape"],    # 1
    ["Avon and Somerset", "2022-06-30", "2022-06-30", "no",  "50",    "Fraud"],   # 0
    ["Avon and Somerset", "2022-06-10", "2022-07-02", "TRUE", "120",  "Fraud"],   # 22
    ["Met",               "2022-05-01", "2022-05-31", "0",   "80",    "Drugs"],   # 30
    ["Met",               "2022-05-02", "2022-05-12", "1",   "400",   "Drugs"],   # 10
    ["Met",               "2022-05-03", "2022-05-07", "n",   "60",    "Fraud"],   # 4
    ["Met",               "2023-03-31", "2023-04-01", "yes", "500",   "Fraud"],   # 1
]
# fmt: on
NAN = float("nan")


def q(values: list[int], p: float) -> float:
    return float(np.quantile(np.array(values), p))


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    lines = [",".join(header)] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def panel_rows(panel: pd.DataFrame, force: str) -> list[tuple]:
    sub = panel[panel["force"] == force]
    return [tuple(r) for r in sub[["period", *CASE_METRICS]].itertuples(index=False)]


def assert_rows(got: list[tuple], want: list[tuple]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g[:4] == w[:4], (g, w)  # period and counts: exact
        for a, b in zip(g[4:], w[4:], strict=True):
            if isinstance(b, float) and np.isnan(b):
                assert np.isnan(a), (g, w)
            else:
                assert a == pytest.approx(b, rel=1e-12, abs=1e-12), (g, w)


@pytest.fixture
def hand_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "cases.csv", HAND_ROWS)


@pytest.fixture
def hand_parquet(tmp_path: Path) -> Path:
    """The hand file as typed Parquet: DATE, BOOLEAN and DOUBLE columns with nulls."""
    df = pd.DataFrame(HAND_ROWS, columns=HEADER)

    def dates(col: pd.Series) -> pa.Array:
        return pa.array([date.fromisoformat(v) if v else None for v in col], type=pa.date32())

    flags = [None if v == "" else v.lower() in OUTSOURCED_TRUE for v in df["outsourced"]]
    table = pa.table(
        {
            "force": pa.array(df["force"].tolist()),
            "received": dates(df["received"]),
            "completed": dates(df["completed"]),
            "outsourced": pa.array(flags, type=pa.bool_()),
            "cost_gbp": pa.array([float(v) if v else None for v in df["cost_gbp"]]),
            "offence_type": pa.array(df["offence_type"].tolist()),
        }
    )
    path = tmp_path / "cases.parquet"
    pq.write_table(table, path, row_group_size=3)  # several row groups
    return path


# ----------------------------------------------------------------------------- known answers
MONTHLY_A = [
    # period, received, examined, backlog, median, p90, outsourced, spend
    ("2022-04", 3, 1, 2, 10.0, 10.0, 0, 0.0),
    ("2022-05", 1, 1, 2, 20.0, 20.0, 1, 300.5),
    ("2022-06", 2, 2, 2, 0.5, 0.9, 1, 200.0),  # days [0, 1]
    ("2022-07", 0, 1, 1, 22.0, 22.0, 1, 120.0),  # completed in a later month
    *[(p, 0, 0, 1, NAN, NAN, 0, 0.0) for p in
      ["2022-08", "2022-09", "2022-10", "2022-11", "2022-12", "2023-01", "2023-02",
       "2023-03", "2023-04"]],
]  # fmt: skip
MONTHLY_M = [
    ("2022-04", 0, 0, 0, NAN, NAN, 0, 0.0),
    ("2022-05", 3, 3, 0, 10.0, 26.0, 1, 400.0),  # days [4, 10, 30]: 10 + 0.8 * 20
    *[(p, 0, 0, 0, NAN, NAN, 0, 0.0) for p in
      ["2022-06", "2022-07", "2022-08", "2022-09", "2022-10", "2022-11", "2022-12",
       "2023-01", "2023-02"]],
    ("2023-03", 1, 0, 1, NAN, NAN, 0, 0.0),
    ("2023-04", 0, 1, 0, 1.0, 1.0, 1, 500.0),
]  # fmt: skip
QUARTERLY_A = [
    ("2022-Q2", 6, 4, 2, 5.5, 17.0, 2, 500.5),  # days [0, 1, 10, 20]
    ("2022-Q3", 0, 1, 1, 22.0, 22.0, 1, 120.0),
    ("2022-Q4", 0, 0, 1, NAN, NAN, 0, 0.0),
    ("2023-Q1", 0, 0, 1, NAN, NAN, 0, 0.0),
    ("2023-Q2", 0, 0, 1, NAN, NAN, 0, 0.0),
]
QUARTERLY_M = [
    ("2022-Q2", 3, 3, 0, 10.0, 26.0, 1, 400.0),
    ("2022-Q3", 0, 0, 0, NAN, NAN, 0, 0.0),
    ("2022-Q4", 0, 0, 0, NAN, NAN, 0, 0.0),
    ("2023-Q1", 1, 0, 1, NAN, NAN, 0, 0.0),  # received 31 March, pending at quarter end
    ("2023-Q2", 0, 1, 0, 1.0, 1.0, 1, 500.0),
]
FY_A = [
    ("2022-23", 6, 5, 1, 10.0, 21.2, 3, 620.5),  # days [0, 1, 10, 20, 22]: 20 + 0.6 * 2
    ("2023-24", 0, 0, 1, NAN, NAN, 0, 0.0),
]
FY_M = [
    ("2022-23", 4, 3, 1, 10.0, 26.0, 1, 400.0),
    ("2023-24", 0, 1, 0, 1.0, 1.0, 1, 500.0),
]


def test_hand_quantiles_are_numpys() -> None:
    # the hand-worked interpolations above equal numpy's linear method
    assert q([0, 1], 0.9) == pytest.approx(0.9, rel=1e-15)
    assert q([4, 10, 30], 0.9) == pytest.approx(26.0, rel=1e-15)
    assert q([0, 1, 10, 20], 0.5) == 5.5
    assert q([0, 1, 10, 20], 0.9) == pytest.approx(17.0, rel=1e-15)
    assert q([0, 1, 10, 20, 22], 0.9) == pytest.approx(21.2, rel=1e-15)


@pytest.mark.parametrize("fixture", ["hand_csv", "hand_parquet"])
@pytest.mark.parametrize(
    ("freq", "want_a", "want_m"),
    [("month", MONTHLY_A, MONTHLY_M), ("quarter", QUARTERLY_A, QUARTERLY_M),
     ("fy", FY_A, FY_M)],
)  # fmt: skip
def test_hand_file_known_answers(request, fixture, freq, want_a, want_m) -> None:
    path = request.getfixturevalue(fixture)
    panel, report = aggregate_cases(path, freq=freq)
    assert list(panel.columns) == ["force", "period", *CASE_METRICS]
    assert sorted(panel["force"].unique()) == [A, M]
    assert_rows(panel_rows(panel, A), want_a)
    assert_rows(panel_rows(panel, M), want_m)
    assert isinstance(report, CaseReport)
    assert (report.rows, report.completed, report.pending) == (10, 9, 1)
    assert report.forces == (A, M)
    n_empty = sum(np.isnan(r[4]) for r in want_a + want_m)
    assert report.periods_without_completions == n_empty
    assert any("not imputed" in p.message for p in report.problems)
    # the alias is canonicalised and reported as info
    alias = [p for p in report.problems if "'Met'" in p.message]
    assert len(alias) == 1 and alias[0].severity == "info" and "4 row" in alias[0].message


def test_quantiles_bitwise_equal_numpy(hand_csv: Path) -> None:
    panel, _ = aggregate_cases(hand_csv, freq="quarter")
    row = panel[(panel["force"] == A) & (panel["period"] == "2022-Q2")].iloc[0]
    assert row["median_turnaround_days"] == q([10, 20, 1, 0], 0.5)
    assert row["p90_turnaround_days"] == q([10, 20, 1, 0], 0.9)


def test_dtypes_and_sorting(hand_csv: Path) -> None:
    panel, _ = aggregate_cases(hand_csv, freq="month")
    for name in ("devices_received", "devices_examined", "backlog", "outsourced_exams"):
        assert panel[name].dtype == np.int64
    for name in ("median_turnaround_days", "p90_turnaround_days", "outsourced_spend_gbp"):
        assert panel[name].dtype == np.float64
    assert panel.equals(panel.sort_values(["force", "period"]).reset_index(drop=True))


def test_backlog_equals_definition(hand_csv: Path) -> None:
    """Backlog counted directly from its definition, row by row, for every month."""
    panel, _ = aggregate_cases(hand_csv, freq="month")
    df = pd.DataFrame(HAND_ROWS, columns=HEADER)
    df["force"] = df["force"].replace({"Met": M})
    rec = pd.to_datetime(df["received"])
    comp = pd.to_datetime(df["completed"].replace("", None))
    for row in panel.itertuples(index=False):
        end = pd.Period(row.period, "M").end_time.normalize()
        mine = df["force"] == row.force
        open_ = mine & (rec <= end) & (comp.isna() | (comp > end))
        assert row.backlog == int(open_.sum()), row


def test_start_end_keep_earlier_backlog(hand_csv: Path) -> None:
    panel, _ = aggregate_cases(hand_csv, freq="month", start="2022-06", end="2022-08")
    assert sorted(panel["period"].unique()) == ["2022-06", "2022-07", "2022-08"]
    assert_rows(panel_rows(panel, A), MONTHLY_A[2:5])
    assert_rows(panel_rows(panel, M), MONTHLY_M[2:5])


def test_options_are_checked(hand_csv: Path) -> None:
    with pytest.raises(ConfigError, match="freq"):
        aggregate_cases(hand_csv, freq="week")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="start"):
        aggregate_cases(hand_csv, freq="month", start="2022-Q2")
    with pytest.raises(ConfigError, match="after end"):
        aggregate_cases(hand_csv, freq="month", start="2022-08", end="2022-06")
    with pytest.raises(ConfigError, match="no periods"):
        aggregate_cases(hand_csv, freq="month", start="2030-01")
    with pytest.raises(ConfigError, match="threads"):
        aggregate_cases(hand_csv, threads=0)
    with pytest.raises(ConfigError, match="DuckDB"):
        aggregate_cases(hand_csv, memory_limit="lots")
    with pytest.raises(ConfigError, match="as_of"):
        aggregate_cases(hand_csv, as_of="31/03/2023")
    with pytest.raises(ConfigError, match="not a case column"):
        aggregate_cases(hand_csv, columns={"force": "unit"})


def test_memory_limit_and_threads_accepted(hand_csv: Path) -> None:
    a, _ = aggregate_cases(hand_csv, memory_limit="256MB", threads=1)
    b, _ = aggregate_cases(hand_csv)
    pd.testing.assert_frame_equal(a, b)


# ----------------------------------------------------------------------------- columns
def test_column_map_and_case_insensitive_headers(tmp_path: Path) -> None:
    header = ["Force Name", " Received ", "Date Out", "External", "COST_GBP"]
    rows = [r[:5] for r in HAND_ROWS]
    path = write_csv(tmp_path / "mapped.csv", rows, header)
    panel, report = aggregate_cases(
        path,
        freq="fy",
        columns={"Force Name": "force", "Date Out": "completed", "External": "outsourced"},
    )
    assert_rows(panel_rows(panel, A), FY_A)
    assert report.column_map is not None and report.column_map["received"].strip() == "Received"


def test_missing_columns_listed(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [["Met", "2022-01-01"]], ["force", "received"])
    with pytest.raises(DataError) as info:
        aggregate_cases(path)
    missing = {p.column for p in info.value.problems}
    assert missing == {"completed", "outsourced", "cost_gbp"}
    assert all(p.row == 1 for p in info.value.problems)


def test_mapped_column_not_in_file(hand_csv: Path) -> None:
    with pytest.raises(DataError) as info:
        aggregate_cases(hand_csv, columns={"Date In": "received"})
    assert [p.column for p in info.value.problems] == ["Date In"]


# ----------------------------------------------------------------------------- validation
BAD_ROWS = [
    ["Met", "2022-04-01", "2022-04-10", "no", "100", "x"],  # row 2: fine
    ["Met", "01/04/2022", "", "", "", "x"],  # row 3: received not YYYY-MM-DD
    ["Met", "", "", "", "", "x"],  # row 4: received missing
    ["Met", "2022-04-01", "2022-02-30", "no", "1", "x"],  # row 5: completed not a date
    ["Met", "2022-04-10", "2022-04-01", "no", "1", "x"],  # row 6: completed before received
    ["Met", "2022-04-01", "2022-04-02", "maybe", "1", "x"],  # row 7: bad flag
    ["Met", "2022-04-01", "2022-04-02", "", "1", "x"],  # row 8: flag missing, completed
    ["Met", "2022-04-01", "2022-04-02", "yes", "£120", "x"],  # row 9: cost not a number
    ["Met", "2022-04-01", "2022-04-02", "yes", "-5", "x"],  # row 10: negative cost
    ["Met", "2022-04-01", "2022-04-02", "yes", "", "x"],  # row 11: cost missing, completed
    ["Glouchestershire", "2022-04-01", "", "", "", "x"],  # row 12: unknown force
    ["", "2022-04-01", "", "", "", "x"],  # row 13: force missing
    ["Met", "2022-04-01", "", "", "", "x"],  # row 14: pending, blanks allowed
    ["Met", "2022-04-01", "2022-04-05", "no", "nan", "x"],  # row 15: NaN is not a cost
]


def problems_by_row(exc: DataError) -> dict[int | None, list[Problem]]:
    out: dict[int | None, list[Problem]] = {}
    for p in exc.problems:
        out.setdefault(p.row, []).append(p)
    return out


def test_every_rule_reported_at_once(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", BAD_ROWS)
    with pytest.raises(DataError) as info:
        aggregate_cases(path)
    rows = problems_by_row(info.value)
    want = {
        3: ("received", "01/04/2022", "not a date"),
        4: ("received", "", "received date missing"),
        5: ("completed", "2022-02-30", "not a date"),
        6: ("completed", "2022-04-01 (received 2022-04-10)", "completed before received"),
        7: ("outsourced", "maybe", "not a yes/no flag"),
        8: ("outsourced", "", "outsourced flag missing"),
        9: ("cost_gbp", "£120", "not a number"),
        10: ("cost_gbp", "-5", "negative cost"),
        11: ("cost_gbp", "", "cost missing"),
        12: ("force", "Glouchestershire", "unknown force"),
        13: ("force", "", "force missing"),
        15: ("cost_gbp", "nan", "not a number"),
    }
    assert set(rows) == set(want)
    for row, (column, value, message) in want.items():
        (p,) = rows[row]
        assert (p.column, p.value, p.severity) == (column, value, "error"), p
        assert p.message.startswith(message), p
        assert p.file == str(path)
    assert "Gloucestershire" in (rows[12][0].expected or "")  # the suggestion
    assert str(info.value).startswith(f"{path}: 12 problem(s)")


def test_as_of_rejects_future_dates_and_warns_partial_period(tmp_path: Path) -> None:
    rows = [
        ["Met", "2022-04-01", "2022-04-10", "no", "1", "x"],
        ["Met", "2022-05-20", "", "", "", "x"],  # row 3: received after as-of
        ["Met", "2022-04-11", "2022-05-16", "no", "1", "x"],  # row 4: completed after
    ]
    path = write_csv(tmp_path / "c.csv", rows)
    with pytest.raises(DataError) as info:
        aggregate_cases(path, as_of="2022-05-15")
    got = {(p.row, p.column, p.value) for p in info.value.problems}
    assert got == {(3, "received", "2022-05-20"), (4, "completed", "2022-05-16")}
    _, report = aggregate_cases(path, as_of=date(2022, 5, 20))
    warnings = [p for p in report.problems if p.severity == "warning"]
    assert len(warnings) == 1 and "2022-05" in warnings[0].message
    _, report = aggregate_cases(path, as_of="2022-05-31")  # last day: a whole period
    assert not [p for p in report.problems if p.severity == "warning"]


def test_problems_capped_per_rule_with_total(tmp_path: Path) -> None:
    rows = [["Met", "2022-04-01", "", "", "", "x"]] * 10
    rows += [["Met", f"bad{i}", "", "", "", "x"] for i in range(120)]
    rows += [["Met", "2022-04-01", "", "", "-1", "x"]] * 3
    path = write_csv(tmp_path / "c.csv", rows)
    with pytest.raises(DataError) as info:
        aggregate_cases(path, max_listed=50)
    dates = [p for p in info.value.problems if p.column == "received"]
    listed = [p for p in dates if p.row is not None]
    assert [p.row for p in listed] == list(range(12, 62))  # file order, first 50
    assert [p.value for p in listed[:2]] == ["bad0", "bad1"]
    (more,) = [p for p in dates if p.row is None]
    assert "70 more" in more.message and "120 in all" in more.message
    first_line = str(info.value).splitlines()[0]
    assert first_line.endswith("(not a date (received): 120; negative cost (cost_gbp): 3)")


def test_row_numbers_count_records_not_lines(tmp_path: Path) -> None:
    text = (
        "force,received,completed,outsourced,cost_gbp,offence_type\n"
        'Met,2022-04-01,,,,"two\nlines"\n'
        "Met,2022-04-0x,,,,y\n"
    )
    path = tmp_path / "c.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as info:
        aggregate_cases(path)
    assert [(p.row, p.value) for p in info.value.problems] == [(3, "2022-04-0x")]


def test_row_numbers_follow_file_order_in_a_parallel_scan(tmp_path: Path) -> None:
    """A CSV bigger than DuckDB's read buffers (several parallel chunks), two threads."""
    path = tmp_path / "big.csv"
    n, step = 4_000_000, 999_983
    duckdb.sql(
        f"""COPY (SELECT 'Met' AS force,
                   CASE WHEN i % {step} = 7 THEN 'bad' || i ELSE '2022-04-01' END AS received,
                   NULL AS completed, NULL AS outsourced, NULL AS cost_gbp, 'x' AS offence_type
                  FROM range({n}) r(i)) TO '{path}' (HEADER)"""
    )
    assert path.stat().st_size > 64 * 2**20
    with pytest.raises(DataError) as info:
        aggregate_cases(path, threads=2)
    bad = [i for i in range(n) if i % step == 7]
    got = [(p.row, p.value) for p in info.value.problems]
    assert got == [(i + 2, f"bad{i}") for i in bad]


def test_parquet_row_numbers(tmp_path: Path) -> None:
    n = 10_000
    received = ["2022-04-01"] * n
    for i in (3, 4_321, 9_999):
        received[i] = f"x{i}"
    table = pa.table(
        {
            "force": ["Met"] * n,
            "received": received,
            "completed": pa.nulls(n, pa.string()),
            "outsourced": pa.nulls(n, pa.string()),
            "cost_gbp": pa.nulls(n, pa.float64()),
        }
    )
    path = tmp_path / "c.parquet"
    pq.write_table(table, path, row_group_size=1000)
    with pytest.raises(DataError) as info:
        aggregate_cases(path)
    assert [(p.row, p.value) for p in info.value.problems] == [
        (5, "x3"),
        (4_323, "x4321"),
        (10_001, "x9999"),
    ]


def test_ragged_csv_line_reported_with_its_line(tmp_path: Path) -> None:
    text = (
        "force,received,completed,outsourced,cost_gbp\n"
        "Met,2022-04-01,,,\n"
        "Met,2022-04-01,2022-04-02,no,10,surplus\n"
        "Met,2022-04-01\n"
    )
    path = tmp_path / "c.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as info:
        aggregate_cases(path)
    assert [p.row for p in info.value.problems] == [3, 4]
    assert info.value.problems[1].column == "completed, cost_gbp, outsourced"
    assert "surplus" in (info.value.problems[0].value or "")


@pytest.mark.parametrize("flag", [*OUTSOURCED_TRUE, *OUTSOURCED_FALSE, "YES", " No ", "True"])
def test_outsourced_spellings(tmp_path: Path, flag: str) -> None:
    rows = [["Met", "2022-04-01", "2022-04-03", flag, "10", "x"]]
    panel, _ = aggregate_cases(write_csv(tmp_path / "c.csv", rows))
    expected = 1 if flag.strip().lower() in OUTSOURCED_TRUE else 0
    assert panel["outsourced_exams"].tolist() == [expected]
    assert panel["outsourced_spend_gbp"].tolist() == [10.0 * expected]


# ----------------------------------------------------------------------------- unusable files
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        aggregate_cases(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="not a file"):
        aggregate_cases(tmp_path)


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        aggregate_cases(tmp_path / "empty.csv")
    (tmp_path / "blank.csv").write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        aggregate_cases(tmp_path / "blank.csv")
    write_csv(tmp_path / "header.csv", [])
    with pytest.raises(DataError, match="no data rows"):
        aggregate_cases(tmp_path / "header.csv")


def test_binary_files(tmp_path: Path) -> None:
    (tmp_path / "cases.csv").write_bytes(bytes(range(256)) * 10)
    with pytest.raises(DataError, match="binary"):
        aggregate_cases(tmp_path / "cases.csv")
    (tmp_path / "cases.xlsx").write_bytes(b"PK\x03\x04\x14\x00\x00\x00" + b"\x00" * 100)
    with pytest.raises(DataError, match="Excel"):
        aggregate_cases(tmp_path / "cases.xlsx")
    (tmp_path / "fake.parquet").write_text("force,received\n", encoding="utf-8")
    with pytest.raises(DataError, match="not a Parquet file"):
        aggregate_cases(tmp_path / "fake.parquet")


def test_not_utf8_is_a_data_error(tmp_path: Path) -> None:
    text = "force,received,completed,outsourced,cost_gbp,offence_type\n"
    text += "Met,2022-04-01,,,,x\nYnys M\xf4n,2022-04-01,,,,x\n"  # Latin-1, not UTF-8
    (tmp_path / "c.csv").write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError) as info:
        aggregate_cases(tmp_path / "c.csv")
    (p,) = info.value.problems
    assert (p.row, p.column) == (3, "force") and "encoding" in p.message


# ----------------------------------------------------------------------------- vs pandas
def random_cases(rng: np.random.Generator, n: int, *, whole_pounds: bool) -> pd.DataFrame:
    forces = [*FORCE_NAMES[:12], "Met", "GMP", "thames valley police"]
    received = pd.Timestamp("2018-04-01") + pd.to_timedelta(rng.integers(0, 2900, n), "D")
    days = rng.geometric(1 / 60, n) - 1
    completed = received + pd.to_timedelta(days, "D")
    pending = rng.random(n) < 0.12
    outsourced = rng.random(n) < 0.25
    cost = rng.gamma(2.0, 180.0, n)
    cost = np.round(cost) if whole_pounds else np.round(cost, 2)
    return pd.DataFrame(
        {
            "force": rng.choice(forces, n),
            "received": received.strftime("%Y-%m-%d"),
            "completed": np.where(pending, "", completed.strftime("%Y-%m-%d")),
            "outsourced": np.where(outsourced, rng.choice(["yes", "Y", "TRUE", "1"], n), "no"),
            "cost_gbp": np.where(pending, "", pd.Series(cost).map(repr)),
            "offence_type": rng.choice(["Fraud", "Drugs", "Rape, serious sexual"], n),
        }
    )


@pytest.mark.parametrize("freq", ["month", "quarter", "fy"])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_duckdb_agrees_with_pandas(tmp_path: Path, freq: str, fmt: str) -> None:
    df = random_cases(np.random.default_rng(20260401), 30_000, whole_pounds=False)
    path = tmp_path / f"cases.{fmt}"
    if fmt == "csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    fast, _ = aggregate_cases(path, freq=freq)
    slow = aggregate_cases_pandas(path, freq)
    # counts, backlog and quantiles: identical, bit for bit
    pd.testing.assert_frame_equal(
        fast.drop(columns="outsourced_spend_gbp"),
        slow.drop(columns="outsourced_spend_gbp"),
        check_exact=True,
    )
    # spend: sums of pence-valued doubles in a different order; agree to 1e-12 relative
    np.testing.assert_allclose(
        fast["outsourced_spend_gbp"], slow["outsourced_spend_gbp"], rtol=1e-12, atol=1e-9
    )
    # missing exactly where nothing was completed
    assert fast["median_turnaround_days"].isna().equals(fast["devices_examined"] == 0)


def test_duckdb_agrees_with_pandas_exactly_for_whole_pounds(tmp_path: Path) -> None:
    df = random_cases(np.random.default_rng(7), 20_000, whole_pounds=True)
    path = tmp_path / "cases.csv"
    df.to_csv(path, index=False)
    fast, _ = aggregate_cases(path, freq="month")
    slow = aggregate_cases_pandas(path, "month")
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)


def test_quantiles_match_numpy_per_group(tmp_path: Path) -> None:
    """Independent of the pandas baseline: numpy on each group of a random file."""
    df = random_cases(np.random.default_rng(11), 5_000, whole_pounds=True)
    path = tmp_path / "cases.csv"
    df.to_csv(path, index=False)
    panel, _ = aggregate_cases(path, freq="quarter")
    done = df[df["completed"] != ""].copy()
    done["force"] = done["force"].map(
        {f: f for f in FORCE_NAMES}
        | {"Met": M, "GMP": "Greater Manchester", "thames valley police": "Thames Valley"}
    )
    comp = pd.to_datetime(done["completed"])
    done["days"] = (comp - pd.to_datetime(done["received"])).dt.days
    done["period"] = [f"{d.year}-Q{d.quarter}" for d in comp]
    checked = 0
    for (force, period), days in done.groupby(["force", "period"])["days"]:
        row = panel[(panel["force"] == force) & (panel["period"] == period)].iloc[0]
        assert row["median_turnaround_days"] == np.quantile(days.to_numpy(), 0.5)
        assert row["p90_turnaround_days"] == np.quantile(days.to_numpy(), 0.9)
        checked += 1
    assert checked == (panel["devices_examined"] > 0).sum()


def test_corrupt_parquet_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "c.parquet").write_bytes(b"PAR1" + b"garbage" * 20)
    with pytest.raises(DataError, match="could not be read"):
        aggregate_cases(tmp_path / "c.parquet")
