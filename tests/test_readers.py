"""Tests of evaluation.readers: safe reading of CSV, xlsx and Parquet as raw text."""

from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl
import pandas as pd
import pandas.testing as pdt
import pytest

from evaluation.errors import DataError
from evaluation.ingest import load_ledger, load_panel, load_register
from evaluation.readers import is_formula, read_table


def _write(path, text: str | bytes):
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def _xlsx(path, rows, sheet="Sheet1"):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def _error(exc_info) -> str:
    return str(exc_info.value)


# ---------------------------------------------------------------------------- CSV


def test_csv_reads_text_without_coercion(tmp_path):
    p = _write(tmp_path / "p.csv", "force,period,backlog\nKent,2022-04,007\nMet,2022-05,\n")
    t = read_table(p)
    assert t.source == "p.csv"
    assert t.format == "csv"
    assert list(t.frame.columns) == ["force", "period", "backlog"]
    assert t.frame["backlog"].tolist() == ["007", ""]  # leading zeros kept, blank is ""
    assert t.problems == ()


def test_csv_with_bom_and_trailing_blank_rows(tmp_path):
    p = _write(tmp_path / "p.csv", "\ufeffforce,period\nKent,2022-04\n,\n\n")
    t = read_table(p)
    assert list(t.frame.columns) == ["force", "period"]
    assert len(t.frame) == 1


def test_empty_file(tmp_path):
    p = _write(tmp_path / "empty.csv", b"")
    with pytest.raises(DataError, match=r"empty\.csv.*empty \(0 bytes\)"):
        read_table(p)


def test_header_only(tmp_path):
    p = _write(tmp_path / "h.csv", "force,period,backlog\n")
    with pytest.raises(DataError, match="header row but no data rows"):
        read_table(p)


def test_binary_file_renamed_csv(tmp_path):
    p = _write(tmp_path / "photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(DataError) as e:
        read_table(p)
    assert "photo.csv" in _error(e)
    assert "binary" in _error(e) and "NUL" in _error(e)


def test_non_utf8_csv(tmp_path):
    p = _write(tmp_path / "latin.csv", "force,amount\nKent,£5\n".encode("cp1252"))
    with pytest.raises(DataError, match="not UTF-8"):
        read_table(p)


def test_utf16_csv(tmp_path):
    p = _write(tmp_path / "u16.csv", "force,period\nKent,2022-04\n".encode("utf-16"))
    with pytest.raises(DataError, match="UTF-16"):
        read_table(p)


def test_ragged_csv_names_row(tmp_path):
    p = _write(tmp_path / "r.csv", "force,period\nKent,2022-04\nKent,2022-05,9\n")
    with pytest.raises(DataError) as e:
        read_table(p)
    (prob,) = e.value.problems
    assert prob.row == 3  # 3rd line of the file = spreadsheet row 3
    assert prob.file == "r.csv"


def test_duplicate_and_blank_headers(tmp_path):
    p = _write(tmp_path / "d.csv", "force,period,force,\nKent,2022-04,Kent,x\n")
    with pytest.raises(DataError) as e:
        read_table(p)
    msgs = [str(x) for x in e.value.problems]
    assert any("duplicate column name" in m and "'force'" in m for m in msgs)
    assert any("no header" in m and "column 'D'" in m for m in msgs)


def test_empty_unnamed_trailing_columns_are_dropped(tmp_path):
    p = _write(tmp_path / "t.csv", "force,period,,\nKent,2022-04,,\n")
    assert list(read_table(p).frame.columns) == ["force", "period"]


def test_oversized_file(tmp_path):
    p = _write(tmp_path / "big.csv", "force,period\n" + "Kent,2022-04\n" * 2000)
    with pytest.raises(DataError, match="over the size limit"):
        read_table(p, max_bytes=10_000)
    assert len(read_table(p, max_bytes=100_000).frame) == 2000


@pytest.mark.parametrize(
    ("name", "hint"),
    [("x.xls", "save it as .xlsx"), ("x.txt", "CSV"), ("x", "no extension"), ("x.json", "use")],
)
def test_unsupported_extension(tmp_path, name, hint):
    p = _write(tmp_path / name, "force\nKent\n")
    with pytest.raises(DataError) as e:
        read_table(p)
    assert "unsupported file type" in _error(e) and hint in _error(e)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_table(tmp_path / "nope.csv")


def test_sheet_for_csv_is_an_error(tmp_path):
    p = _write(tmp_path / "p.csv", "force\nKent\n")
    with pytest.raises(DataError, match="not an Excel file"):
        read_table(p, sheet="Data")


# ---------------------------------------------------------------------------- formulas


@pytest.mark.parametrize(
    "text",
    ["=cmd|' /C calc'!A0", "=1+2", "@SUM(A1)", "+foo", "-x", "-=1", "\t=1", "+ 1", "-A1+2"],
)
def test_formula_strings_detected(text):
    assert is_formula(text)


@pytest.mark.parametrize("text", ["-5", "+5", "-0.5", "-.5", "+.5", "Kent", "2022-04", "", "-"])
def test_numbers_and_plain_text_are_not_formulas(text):
    assert not is_formula(text)


def test_csv_formula_injection_reported_with_row_and_column(tmp_path):
    p = _write(
        tmp_path / "f.csv",
        "force,period,backlog\nKent,2022-04,-5\nKent,2022-05,\"=cmd|' /C calc'!A0\"\n"
        "@SUM(1),2022-06,3\n",
    )
    t = read_table(p)
    locs = {(x.row, x.column, x.value) for x in t.problems}
    assert locs == {(3, "backlog", "=cmd|' /C calc'!A0"), (4, "force", "@SUM(1)")}
    assert all(x.severity == "error" for x in t.problems)
    # the text is kept as is, never evaluated
    assert t.frame.loc[1, "backlog"] == "=cmd|' /C calc'!A0"


def test_excel_formula_cells_reported_not_evaluated(tmp_path):
    p = _xlsx(
        tmp_path / "f.xlsx",
        [["force", "period", "backlog"], ["Kent", "2022-04", 5], ["Kent", "2022-05", "=SUM(1,2)"]],
    )
    t = read_table(p)
    (prob,) = t.problems
    assert (prob.row, prob.column, prob.value) == (3, "backlog", "=SUM(1,2)")
    assert "formula" in prob.message


# ---------------------------------------------------------------------------- Excel


def test_xlsx_named_sheet_and_default_first(tmp_path):
    p = tmp_path / "w.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Notes"
    ws.append(["about", "this"])
    ws.append(["x", "y"])
    ws2 = wb.create_sheet("Data")
    ws2.append(["force", "period", "backlog"])
    ws2.append(["Kent", "2022-04", 1.5])
    ws2.append(["Kent", "2022-05", 2])
    wb.save(p)
    assert read_table(p).sheet == "Notes"
    t = read_table(p, sheet="Data")
    assert t.frame["backlog"].tolist() == ["1.5", "2"]


def test_xlsx_missing_sheet_lists_sheets(tmp_path):
    p = _xlsx(tmp_path / "w.xlsx", [["force"], ["Kent"]], sheet="Panel")
    with pytest.raises(DataError) as e:
        read_table(p, sheet="Data")
    assert "no sheet named 'Data'" in _error(e) and "'Panel'" in _error(e)


def test_xlsx_dates_as_iso_text(tmp_path):
    p = _xlsx(
        tmp_path / "r.xlsx",
        [["force", "wave", "go_live"], ["Kent", 1, dt.datetime(2022, 10, 1)]],
    )
    assert read_table(p).frame.loc[0, "go_live"] == "2022-10-01"


def test_text_renamed_xlsx(tmp_path):
    p = _write(tmp_path / "fake.xlsx", "force,period\nKent,2022-04\n")
    with pytest.raises(DataError, match=r"fake\.xlsx.*not a valid \.xlsx"):
        read_table(p)


def test_zip_that_is_not_a_workbook(tmp_path):
    p = tmp_path / "z.xlsx"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(DataError, match="not an Excel workbook"):
        read_table(p)


def test_truncated_xlsx(tmp_path):
    good = _xlsx(tmp_path / "g.xlsx", [["force", "period"], ["Kent", "2022-04"]])
    data = good.read_bytes()
    p = _write(tmp_path / "t.xlsx", data[: len(data) // 2])
    with pytest.raises(DataError) as e:
        read_table(p)
    assert "t.xlsx" in _error(e)


def test_corrupt_member_xlsx(tmp_path):
    p = tmp_path / "c.xlsx"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("[Content_Types].xml", "<not xml")
        zf.writestr("xl/workbook.xml", "<<<garbage")
    with pytest.raises(DataError, match=r"c\.xlsx.*corrupt"):
        read_table(p)


def test_xlsx_zip_bomb_refused_before_decompression(tmp_path):
    p = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\x00" * (8 * 1024 * 1024))
    assert p.stat().st_size < 100_000
    with pytest.raises(DataError, match="zip bomb"):
        read_table(p)
    # the total-size rule too: a small limit refuses the expanded size
    with pytest.raises(DataError, match=r"zip bomb|expand"):
        read_table(p, max_bytes=200_000)


# ---------------------------------------------------------------------------- Parquet


def test_parquet_values_as_text(tmp_path):
    p = tmp_path / "p.parquet"
    pd.DataFrame(
        {"force": ["Kent", None], "period": ["2022-04", "2022-05"], "backlog": [1.5, float("nan")]}
    ).to_parquet(p, index=False)
    t = read_table(p)
    assert t.frame["backlog"].tolist() == ["1.5", ""]
    assert t.frame["force"].tolist() == ["Kent", ""]


def test_corrupt_parquet(tmp_path):
    p = _write(tmp_path / "bad.parquet", b"PAR1 this is not parquet PAR1")
    with pytest.raises(DataError, match=r"bad\.parquet.*corrupt or not Parquet"):
        read_table(p)


def test_parquet_formula_row_numbers(tmp_path):
    p = tmp_path / "f.parquet"
    pd.DataFrame({"force": ["Kent", "Kent", "=HYPERLINK(1)"]}).to_parquet(p, index=False)
    (prob,) = read_table(p).problems
    assert (prob.row, prob.column) == (4, "force")  # index 2 -> row 4


def test_parquet_that_would_expand_past_limit(tmp_path):
    p = tmp_path / "z.parquet"
    pd.DataFrame({"x": ["a"] * 200_000}).to_parquet(p, index=False)
    size = p.stat().st_size
    assert size < 100_000  # small on disk (dictionary encoded and compressed)
    with pytest.raises(DataError, match="expand"):
        read_table(p, max_bytes=100_000)


# ---------------------------------------------------------------------------- mapping


def test_column_mapping(tmp_path):
    p = _write(tmp_path / "m.csv", "Force name,Month,Backlog\nKent,2022-04,1\n")
    t = read_table(p, columns={"Force name": "force", "Month": "period"})
    assert list(t.frame.columns) == ["force", "period", "Backlog"]


def test_column_mapping_unknown_and_clashing(tmp_path):
    p = _write(tmp_path / "m.csv", "a,b\n1,2\n")
    with pytest.raises(DataError) as e:
        read_table(p, columns={"zzz": "force", "a": "b"})
    msgs = " ".join(str(x) for x in e.value.problems)
    assert "'zzz'" in msgs and "two columns are called 'b'" in msgs


# ---------------------------------------------------------------------------- round trips


def _panel_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "force": ["Kent", "Kent", "Surrey", "Surrey"],
            "period": ["2022-04", "2022-05", "2022-04", "2022-05"],
            "backlog": [10, 12, 3, 0],
            "median_turnaround_days": [30.5, 0.1, 28.25, 1e-3],
            "devices_received": [100, 120, None, 7],
        }
    )


def _write_three(df: pd.DataFrame, tmp_path, stem: str):
    csv = tmp_path / f"{stem}.csv"
    df.to_csv(csv, index=False)
    xlsx = tmp_path / f"{stem}.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(df.columns))
    for rec in df.itertuples(index=False):
        ws.append([None if (isinstance(v, float) and pd.isna(v)) else v for v in rec])
    wb.save(xlsx)
    pq = tmp_path / f"{stem}.parquet"
    df.to_parquet(pq, index=False)
    return csv, xlsx, pq


def test_panel_round_trip_csv_xlsx_parquet(tmp_path):
    csv, xlsx, pq = _write_three(_panel_frame(), tmp_path, "panel")
    a, b, c = load_panel(csv), load_panel(xlsx), load_panel(pq)
    pdt.assert_frame_equal(a, b)
    pdt.assert_frame_equal(a, c)
    assert a["median_turnaround_days"].tolist() == [30.5, 0.1, 28.25, 1e-3]
    assert pd.isna(a.loc[2, "devices_received"])


def test_register_round_trip_with_date_cells(tmp_path):
    df = pd.DataFrame(
        {
            "force": ["Avon and Somerset", "South Wales"],
            "wave": [1, 2],
            "go_live": [dt.date(2021, 7, 1), dt.date(2022, 10, 1)],
        }
    )
    csv, xlsx, pq = _write_three(df, tmp_path, "register")
    a, b, c = load_register(csv), load_register(xlsx), load_register(pq)
    pdt.assert_frame_equal(a, b)
    pdt.assert_frame_equal(a, c)
    assert a["go_live"].tolist() == [pd.Timestamp("2021-07-01"), pd.Timestamp("2022-10-01")]
    assert a["wave"].tolist() == ["1", "2"]


def test_ledger_round_trip(tmp_path):
    df = pd.DataFrame(
        {
            "force": ["Kent", "Kent"],
            "date": ["2022-05-03", "2023-01-10"],
            "category": ["equipment", "training"],
            "kind": ["capital", "recurrent"],
            "amount_gbp": [125000.0, 3999.99],
            "price_basis": ["nominal", "real 2022-23"],
        }
    )
    csv, xlsx, pq = _write_three(df, tmp_path, "ledger")
    a, b, c = load_ledger(csv), load_ledger(xlsx), load_ledger(pq)
    pdt.assert_frame_equal(a, b)
    pdt.assert_frame_equal(a, c)
    assert a["financial_year"].tolist() == ["2022-23", "2022-23"]
