"""The validate and summary commands through evaluation.cli.main: exit codes and messages."""

from __future__ import annotations

import json
import zipfile

import openpyxl
import pytest

from evaluation.cli import main
from evaluation.ingest import bundled_data_dir

PANEL = (
    "force,period,backlog,devices_received\n"
    "Kent,2022-04,10,100\nKent,2022-05,12,110\nKent,2022-06,9,90\n"
    "Surrey,2022-04,3,30\nSurrey,2022-05,4,35\nSurrey,2022-06,2,31\n"
)
REGISTER = "force,wave,go_live\nKent,1,2022-05-01\n"
LEDGER = (
    "force,date,category,kind,amount_gbp,price_basis\n"
    "Kent,2022-05-03,equipment,capital,1000,nominal\n"
)


def _w(tmp_path, name, text):
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return str(p)


def _run(capsys, *argv):
    code = main(["validate", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


def test_clean_files_exit_0_and_kinds_detected(tmp_path, capsys):
    code, out = _run(
        capsys,
        _w(tmp_path, "panel.csv", PANEL),
        _w(tmp_path, "register.csv", REGISTER),
        _w(tmp_path, "costs.csv", LEDGER),
    )
    assert code == 0, out
    assert "kind panel (detected from columns" in out
    assert "kind register (detected" in out and "kind ledger (detected" in out
    assert "cross-table checks" in out


def test_warnings_still_exit_0(tmp_path, capsys):
    code, out = _run(capsys, _w(tmp_path, "p.csv", PANEL.replace("Surrey,2022-05,4,35\n", "")))
    assert code == 0
    assert "WARNING" in out and "unbalanced" in out


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("empty.csv", b"", "empty"),
        ("header.csv", "force,period,backlog\n", "no data rows"),
        ("binary.csv", b"\x00\x01\x02PK\x03\x04" * 50, "binary"),
        ("fake.xlsx", "force,period\nKent,2022-04\n", "not a valid .xlsx"),
        ("old.xls", "whatever", "unsupported file type"),
    ],
)
def test_unreadable_files_exit_2(tmp_path, capsys, name, content, needle):
    code, out = _run(capsys, _w(tmp_path, name, content))
    assert code == 2
    assert name in out and needle in out


def test_oversized_file_exit_2(tmp_path, capsys):
    p = _w(tmp_path, "big.csv", PANEL * 200)
    code, out = _run(capsys, p, "--max-size", "0.01")
    assert code == 2 and "over the size limit" in out


def test_zip_bomb_exit_2(tmp_path, capsys):
    p = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b" " * (4 * 1024 * 1024))
    code, out = _run(capsys, str(p))
    assert code == 2 and "zip bomb" in out


def test_missing_sheet_lists_sheets(tmp_path, capsys):
    p = tmp_path / "w.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Panel"
    wb.active.append(["force", "period"])
    wb.save(p)
    code, out = _run(capsys, str(p), "--sheet", "Data")
    assert code == 2 and "'Panel'" in out


def test_formula_strings_exit_2_with_row_and_column(tmp_path, capsys):
    text = PANEL.replace("Kent,2022-05,12,110", "Kent,2022-05,\"=cmd|' /C calc'!A0\",110")
    code, out = _run(capsys, _w(tmp_path, "f.csv", text))
    assert code == 2
    assert "row 3, column 'backlog'" in out and "formula" in out


def test_excel_formula_exit_2(tmp_path, capsys):
    p = tmp_path / "f.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["force", "period", "backlog"])
    ws.append(["Kent", "2022-04", "=1+1"])
    wb.save(p)
    code, out = _run(capsys, str(p))
    assert code == 2 and "row 2, column 'backlog'" in out


def test_unknown_force_exit_2_with_suggestion(tmp_path, capsys):
    code, out = _run(
        capsys, _w(tmp_path, "p.csv", PANEL.replace("Surrey,2022-05", "Surey,2022-05"))
    )
    assert code == 2
    assert "row 6, column 'force'" in out and "did you mean 'Surrey'?" in out


def test_duplicate_rows_exit_2_naming_both(tmp_path, capsys):
    code, out = _run(capsys, _w(tmp_path, "p.csv", PANEL + "Kent,2022-04,1,1\n"))
    assert code == 2 and "rows 2, 8" in out


def test_negative_value_exit_2(tmp_path, capsys):
    code, out = _run(
        capsys, _w(tmp_path, "p.csv", PANEL.replace("Kent,2022-06,9", "Kent,2022-06,-9"))
    )
    assert code == 2 and "row 4, column 'backlog'" in out and "negative" in out


def test_column_mapping_and_kind(tmp_path, capsys):
    text = PANEL.replace("force,period", "Force area,Month")
    p = _w(tmp_path, "p.csv", text)
    code, out = _run(capsys, p, "--kind", "panel")
    assert code == 2 and "missing" in out
    code, out = _run(capsys, p, "--map", "Force area=force", "--map", "Month=period")
    assert code == 0, out


def test_bad_map_argument_exit_2(tmp_path, capsys):
    code, out = _run(capsys, _w(tmp_path, "p.csv", PANEL), "--map", "nonsense")
    assert code == 2 and "OLD=NEW" in out


def test_undetectable_kind_exit_2(tmp_path, capsys):
    code, out = _run(capsys, _w(tmp_path, "x.csv", "force,notes\nKent,hi\n"))
    assert code == 2 and "--kind" in out and "row 1" in out


def test_metrics_file_option(tmp_path, capsys):
    metrics = tmp_path / "m.toml"
    metrics.write_text('[metrics.backlog]\nunit = "count"\nnonnegative = false\n', encoding="utf-8")
    p = _w(tmp_path, "p.csv", PANEL.replace("Kent,2022-06,9", "Kent,2022-06,-9"))
    code, out = _run(capsys, p, "--metrics", str(metrics))
    assert code == 0, out
    bad = tmp_path / "bad.toml"
    bad.write_text('[metrics.backlog]\nunit = "furlongs"\n', encoding="utf-8")
    code, out = _run(capsys, p, "--metrics", str(bad))
    assert code == 2 and "unit must be one of" in out


def test_cross_table_errors(tmp_path, capsys):
    code, out = _run(
        capsys,
        _w(tmp_path, "p.csv", PANEL),
        _w(tmp_path, "r.csv", "force,wave,go_live\nKent,1,2022-05-01\nDurham,1,2022-05-01\n"),
    )
    assert code == 2
    assert "r.csv, row 3, column 'force'" in out and "no rows in the panel" in out


def test_json_output(tmp_path, capsys):
    code = main(
        ["validate", _w(tmp_path, "p.csv", PANEL.replace("Kent,2022-06", "Knet,2022-06")), "--json"]
    )
    out, _ = capsys.readouterr()
    data = json.loads(out)
    assert code == 2
    (rep,) = data
    assert rep["ok"] is False and rep["kind"] == "panel"
    errs = [p for p in rep["problems"] if p["severity"] == "error"]
    assert errs[0]["row"] == 4 and errs[0]["column"] == "force"


def test_summary_on_given_files(tmp_path, capsys):
    code = main(
        [
            "summary",
            "--panel",
            _w(tmp_path, "p.csv", PANEL.replace("Surrey,2022-05,4,35\n", "")),
            "--register",
            _w(tmp_path, "r.csv", REGISTER),
        ]
    )
    out, _ = capsys.readouterr()
    assert code == 0
    assert "Forces: 2" in out
    assert "2022-04 to 2022-06 (month, 3 periods)" in out
    assert "5 of 6 force-periods present (83.3%)" in out
    assert "forces with missing periods: Surrey" in out
    assert "backlog (count)" in out
    assert "wave 1: 1 forces" in out and "Kent: go-live 2022-05-01" in out


def test_summary_bad_panel_exit_2(tmp_path, capsys):
    code = main(["summary", "--panel", _w(tmp_path, "p.csv", b"")])
    _, err = capsys.readouterr()
    assert code == 2 and "empty" in err


SAMPLE = bundled_data_dir() / "sample"


def test_bundled_sample_validates_and_summarises(capsys):
    files = [str(SAMPLE / n) for n in ("panel.csv", "register.csv", "costs.csv")]
    code, out = _run(capsys, *files)
    assert code == 0, out
    assert "cross-table checks" in out
    assert main(["summary"]) == 0
    out, _ = capsys.readouterr()
    assert "Forces: 43" in out and "Pilots:" in out


def test_bundled_data_dir_is_repo_data():
    assert (bundled_data_dir() / "forces.csv").exists()
