"""The finance workbook: live formulas recalculated by LibreOffice equal the toolkit's figures."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from _annual import annual_years
from conftest import require_tool

from evaluation.annual.workbook import HEADER_ROW, WORKBOOK_NAMES, write_workbook
from evaluation.appraisal import appraise, effects_from_frame


@pytest.fixture(scope="module")
def year():
    return annual_years()["2025-26"]


@pytest.fixture(scope="module")
def book(year, tmp_path_factory) -> Path:
    return write_workbook(year.report, tmp_path_factory.mktemp("wb") / "workbook.xlsx")


def _strip_cached(src: Path, dst: Path, **inputs: float) -> Path:
    """Save a copy without cached values (openpyxl keeps formulas only), inputs changed."""
    wb = openpyxl.load_workbook(src)
    for name, value in inputs.items():
        sheet, cell = next(iter(wb.defined_names[name].destinations))
        wb[sheet][cell.replace("$", "")].value = value
    wb.save(dst)
    return dst


def _recalculate(src: Path, tmp: Path) -> openpyxl.Workbook:
    soffice = require_tool("soffice")
    out = tmp / "out"
    out.mkdir(exist_ok=True)
    profile = tmp / "profile"
    subprocess.run(
        [soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{profile}",
         "--convert-to", "xlsx", "--outdir", str(out), str(src)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    return openpyxl.load_workbook(out / src.name, data_only=True)


def _named(wb: openpyxl.Workbook, name: str):
    sheet, cell = next(iter(wb.defined_names[name].destinations))
    return wb[sheet][cell.replace("$", "")].value


def test_cached_values_are_in_the_file(book, year) -> None:
    wb = openpyxl.load_workbook(book, data_only=True)
    s = year.result.appraisal.summary
    assert _named(wb, "npsv") == pytest.approx(s.npsv, rel=1e-12)
    assert _named(wb, "bcr") == pytest.approx(s.bcr, rel=1e-12)
    formulas = openpyxl.load_workbook(book)
    assert str(_named(formulas, "npsv")).startswith("=")
    assert _named(formulas, "pv_costs") == "=SUMPRODUCT(year_costs,year_discount_factor)"
    # the go-forward (decision) view, live too
    g = year.result.appraisal.go_forward
    assert g is not None
    assert _named(wb, "gf_npsv") == pytest.approx(g.npsv, rel=1e-12)
    assert _named(wb, "gf_bcr") == pytest.approx(g.bcr, rel=1e-12)
    assert _named(formulas, "gf_pv_costs") == ("=SUMPRODUCT(gf_year_costs,gf_year_discount_factor)")
    r = year.result.appraisal.rollout
    assert r is not None
    assert _named(wb, "rollout_npsv") == pytest.approx(r.summary.npsv, rel=1e-12)
    assert _named(formulas, "rollout_npsv") == "=rollout_pv_benefits-rollout_pv_costs"


@pytest.mark.slow
def test_libreoffice_recalculation_equals_the_toolkit(book, year, tmp_path) -> None:
    wb = _recalculate(_strip_cached(book, tmp_path / "book.xlsx"), tmp_path)
    s = year.result.appraisal.summary
    assert _named(wb, "pv_costs") == pytest.approx(s.pv_costs, rel=1e-9)
    assert _named(wb, "pv_benefits") == pytest.approx(s.pv_benefits, rel=1e-9)
    assert _named(wb, "npsv") == pytest.approx(s.npsv, rel=1e-9)
    assert _named(wb, "bcr") == pytest.approx(s.bcr, rel=1e-9)
    assert _named(wb, "cashable_bcr") == pytest.approx(s.cashable_bcr, rel=1e-9)
    assert _named(wb, "vfm_category") == s.vfm_category
    assert _named(wb, "payback_year") == (s.payback_year or "not within the period")
    g = year.result.appraisal.go_forward
    for name, want in (
        ("gf_pv_costs", g.pv_costs),
        ("gf_pv_benefits", g.pv_benefits),
        ("gf_npsv", g.npsv),
        ("gf_bcr", g.bcr),
        ("rollout_pv_costs", year.result.appraisal.rollout.summary.pv_costs),
        ("rollout_pv_benefits", year.result.appraisal.rollout.summary.pv_benefits),
        ("rollout_npsv", year.result.appraisal.rollout.summary.npsv),
        ("rollout_bcr", year.result.appraisal.rollout.summary.bcr),
    ):
        assert _named(wb, name) == pytest.approx(want, rel=1e-9), name
    results = [r[5] for r in wb["Checks"].iter_rows(min_row=HEADER_ROW + 1, values_only=True)]
    assert results and set(results) == {"pass"}


@pytest.mark.slow
@pytest.mark.parametrize("rate", [0.05, 0.015])
def test_what_if_discount_rate_equals_toolkit_appraisal(book, year, tmp_path, rate) -> None:
    wb = _recalculate(_strip_cached(book, tmp_path / "book.xlsx", discount_rate=rate), tmp_path)
    params = year.report.params.updated("discounting.rate", rate)
    reg = year.cut.register
    again = appraise(
        year.cut.ledger,
        effects_from_frame(year.result.effects[["metric", "estimate", "se", "unit", "per"]]),
        params,
        go_live=dict(zip(reg["force"], reg["go_live"], strict=True)),
        uncertainty=False,
        options=False,
    )
    assert again.npsv != pytest.approx(year.result.appraisal.npsv, rel=1e-3)  # it moved
    assert _named(wb, "npsv") == pytest.approx(again.npsv, rel=1e-9)
    assert _named(wb, "bcr") == pytest.approx(again.bcr, rel=1e-9)
    assert _named(wb, "pv_costs") == pytest.approx(again.pv_costs, rel=1e-9)
    g = again.go_forward
    assert g is not None and g.npsv != pytest.approx(year.result.appraisal.go_forward.npsv)
    assert _named(wb, "gf_npsv") == pytest.approx(g.npsv, rel=1e-9)
    assert _named(wb, "gf_bcr") == pytest.approx(g.bcr, rel=1e-9)
    # the rollout's projection does not move with the rate; its discounting does, as the toolkit's
    r = again.rollout
    assert r is not None
    assert r.summary.npsv != pytest.approx(year.result.appraisal.rollout.summary.npsv, rel=1e-3)
    assert _named(wb, "rollout_npsv") == pytest.approx(r.summary.npsv, rel=1e-9)
    assert _named(wb, "rollout_bcr") == pytest.approx(r.summary.bcr, rel=1e-9)


@pytest.mark.slow
def test_what_if_payback(book, year, tmp_path) -> None:
    # a large effect on outsourcing makes the pilots pay back; the workbook finds the same year
    eff = year.result.effects.copy()
    eff.loc[eff["metric"] == "outsourced_exams", "estimate"] *= 12
    new = float(eff.loc[eff["metric"] == "outsourced_exams", "estimate"].iloc[0])
    wb = _recalculate(
        _strip_cached(book, tmp_path / "book.xlsx", effect_outsourced_exams=new), tmp_path
    )
    reg = year.cut.register
    again = appraise(
        year.cut.ledger,
        effects_from_frame(eff[["metric", "estimate", "se", "unit", "per"]]),
        year.report.params,
        go_live=dict(zip(reg["force"], reg["go_live"], strict=True)),
        uncertainty=False,
        rollout=False,
    )
    assert again.summary.payback_year is not None
    assert _named(wb, "payback_year") == again.summary.payback_year
    assert _named(wb, "npsv") == pytest.approx(again.npsv, rel=1e-9)


def test_workbook_lint(book) -> None:
    wb = openpyxl.load_workbook(book)
    names = set(wb.defined_names)
    assert set(WORKBOOK_NAMES) <= names
    assert wb.sheetnames[:3] == ["Cover", "Contents", "Notes"]
    table_names = set()
    for ws in wb.worksheets:
        assert not ws.merged_cells.ranges, ws.title
        if ws.title == "Cover":
            assert not ws.tables
            continue
        assert len(ws.tables) == 1, ws.title
        table = next(iter(ws.tables.values()))
        table_names.add(table.displayName)
        first, last = table.ref.split(":")
        assert first == f"A{HEADER_ROW}", ws.title
        header = [c.value for c in ws[HEADER_ROW] if c.value is not None]
        assert len(header) == len(set(header)) == len(table.tableColumns), ws.title
        assert all(isinstance(h, str) and h for h in header)
        assert [c.name for c in table.tableColumns] == header
        # no blank rows inside the table, and nothing below it
        last_row = int("".join(ch for ch in last if ch.isdigit()))
        for row in ws.iter_rows(min_row=HEADER_ROW + 1, max_row=last_row, values_only=True):
            assert any(v not in (None, "") for v in row), ws.title
        assert ws.max_row == last_row, ws.title
        # money columns say so in their header (or the table has a Unit column)
        for j, h in enumerate(header if "Unit" not in header else [], start=1):
            fmt = ws.cell(row=HEADER_ROW + 1, column=j).number_format
            if "#,##0;" in fmt:
                assert "GBP" in h, (ws.title, h)
            if fmt == "0.0%":
                assert "%" in h, (ws.title, h)
    assert len(table_names) == len(wb.worksheets) - 1
    # every sheet is on the Contents sheet; the chart sheet reads the live Appraisal cells
    listed = [r[0] for r in wb["Contents"].iter_rows(min_row=HEADER_ROW + 1, values_only=True)]
    assert listed == wb.sheetnames
    assert [c.title for c in wb.chartsheets] == ["Chart"]


def test_text_from_data_is_never_a_formula(year, tmp_path) -> None:
    eff = year.report.effects.copy()
    eff.loc[0, "unit"] = '=HYPERLINK("http://example.org","x")'
    eff.loc[1, "method"] = "+1+2"
    eff.loc[2, "inference"] = "@SUM(A1)"
    eff.loc[3, "unit"] = "-3+4"
    eff.loc[4, "unit"] = "\tTAB"
    report = dataclasses.replace(year.report, effects=eff)
    path = write_workbook(report, tmp_path / "book.xlsx")
    wb = openpyxl.load_workbook(path)
    values = [c for row in wb["Effects"].iter_rows() for c in row]
    bad = {'=HYPERLINK("http://example.org","x")', "+1+2", "@SUM(A1)", "-3+4", "\tTAB"}
    found = [c for c in values if c.value in bad]
    assert len(found) == len(bad)
    assert all(c.data_type == "s" for c in found)
    index = wb.worksheets.index(wb["Effects"]) + 1
    xml = zipfile.ZipFile(path).read(f"xl/worksheets/sheet{index}.xml")
    assert b"<f>HYPERLINK" not in xml and b"<f>1+2" not in xml


def test_same_report_same_bytes(year, tmp_path) -> None:
    one = write_workbook(year.report, tmp_path / "one.xlsx").read_bytes()
    two = write_workbook(year.report, tmp_path / "two.xlsx").read_bytes()
    assert hashlib.sha256(one).hexdigest() == hashlib.sha256(two).hexdigest()


def test_same_inputs_same_workbook_values(tmp_path) -> None:
    import tempfile

    from _annual import FEW_METRICS, run_year

    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        one = run_year("2024-25", Path(a), metrics=FEW_METRICS).report
        two = run_year("2024-25", Path(b), metrics=FEW_METRICS).report
    p1 = write_workbook(one, tmp_path / "one.xlsx")
    p2 = write_workbook(two, tmp_path / "two.xlsx")
    w1 = openpyxl.load_workbook(p1, data_only=True)
    w2 = openpyxl.load_workbook(p2, data_only=True)
    for s1, s2 in zip(w1.worksheets, w2.worksheets, strict=True):
        assert list(s1.values) == list(s2.values), s1.title
    shutil.rmtree(tmp_path, ignore_errors=True)
