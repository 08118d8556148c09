"""What ``validate`` accepts, ``run`` accepts; messages help the user fix the file.

Hints for semicolon, decimal-comma and title-row files; Welsh force names; capped lists that
still show every rule; strict JSON; warnings for implausible values and parameters.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from evaluation.appraisal import appraise, load_effects, load_params
from evaluation.cli import main
from evaluation.errors import DataError, EstimationError, Problem
from evaluation.ingest import bundled_data_dir, load_ledger, load_panel
from evaluation.pipeline import PipelineInputs, run_pipeline
from evaluation.readers import read_table
from evaluation.safety import json_text
from evaluation.schema import resolve_force

SAMPLE = bundled_data_dir() / "sample"
USED = ["outsourced_exams", "officer_hours_digital"]  # metrics the core benefit lines use


def _panel() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "panel.csv", dtype=str, keep_default_na=False)


def _run(tmp_path: Path, panel: pd.DataFrame, metrics: list[str], **files: Path):
    path = tmp_path / "panel.csv"
    panel.to_csv(path, index=False)
    assert main(["validate", str(path)]) == 0  # validate accepts it ...
    inputs = replace(PipelineInputs.bundled(metrics=metrics, reps=19, draws=100), panel=path)
    return run_pipeline(replace(inputs, **files))  # ... and so does run


# ------------------------------------------------------------------ validate and run agree
@pytest.mark.slow
def test_run_accepts_a_blank_cell_and_says_so(tmp_path: Path, capsys) -> None:
    panel = _panel()
    panel.loc[5, "outsourced_exams"] = ""
    result = _run(tmp_path, panel, USED)
    assert any("1 blank cell(s) (rows 7)" in n for n in result.notes)
    assert result.results["outsourced_exams"].n_units == panel["force"].nunique()


@pytest.mark.slow
def test_run_accepts_a_constant_metric_no_benefit_uses(tmp_path: Path) -> None:
    panel = _panel()
    panel["county_lines_disrupted"] = "0"
    result = _run(tmp_path, panel, [*USED, "county_lines_disrupted"])
    assert "county_lines_disrupted" in result.results
    assert any("county_lines_disrupted" in n for n in result.appraisal.notes)


def test_go_live_in_the_first_period_is_a_validate_error(tmp_path: Path, capsys) -> None:
    reg = pd.read_csv(SAMPLE / "register.csv", dtype=str)
    reg.loc[0, "go_live"] = "2018-04-01"  # the sample panel starts in 2018-04
    path = tmp_path / "register.csv"
    reg.to_csv(path, index=False)
    assert main(["validate", str(SAMPLE / "panel.csv"), str(path)]) == 2
    assert "is in the panel's first period" in capsys.readouterr().out


def test_one_pilot_is_a_validate_warning_and_a_clear_run_error(tmp_path: Path, capsys) -> None:
    reg = pd.read_csv(SAMPLE / "register.csv", dtype=str).iloc[:1]
    costs = pd.read_csv(SAMPLE / "costs.csv", dtype=str, keep_default_na=False)
    reg.to_csv(tmp_path / "register.csv", index=False)
    costs[costs["force"] == reg["force"].iloc[0]].to_csv(tmp_path / "costs.csv", index=False)
    assert main(["validate", str(SAMPLE / "panel.csv"), str(tmp_path / "register.csv")]) == 0
    assert "only one pilot force" in capsys.readouterr().out
    inputs = replace(
        PipelineInputs.bundled(metrics=USED, reps=19, draws=100),
        register=tmp_path / "register.csv",
        ledger=tmp_path / "costs.csv",
    )
    with pytest.raises(EstimationError, match="single pilot force"):
        run_pipeline(inputs)


# ------------------------------------------------------------------ hints
def test_decimal_comma_hint(tmp_path: Path) -> None:
    path = tmp_path / "panel.csv"
    path.write_text('force,period,backlog\nKent,2022-04,"12,5"\n', encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_panel(path)
    assert any("decimal point" in (p.expected or "") for p in info.value.problems)


def test_title_row_hint(tmp_path: Path) -> None:
    path = tmp_path / "panel.csv"
    path.write_text("Digital forensics panel,,\nforce,period,backlog\nKent,2022-04,1\n")
    with pytest.raises(DataError, match="title above the header"):
        read_table(path)
    path.write_text("Digital forensics panel\nforce,period,backlog\nKent,2022-04,1\n")
    with pytest.raises(DataError, match="title above the header"):
        read_table(path)


@pytest.mark.parametrize(
    ("welsh", "force"),
    [
        ("Heddlu Gwent", "Gwent"),
        ("Heddlu Dyfed-Powys", "Dyfed-Powys"),
        ("Heddlu Gogledd Cymru", "North Wales"),
        ("Heddlu De Cymru", "South Wales"),
    ],
)
def test_welsh_force_names(welsh: str, force: str) -> None:
    assert resolve_force(welsh) == force


def test_long_lists_show_every_rule() -> None:
    problems = [
        Problem("not a date", file="c.csv", row=r, column="received") for r in range(2, 5000)
    ]
    problems.append(Problem("unknown force", file="c.csv", row=77, column="force", value="Narnia"))
    text = str(DataError("bad", problems))
    assert "unknown force" in text and "Narnia" in text
    assert "more 'not a date'" in text
    assert len(text.splitlines()) < 260


# ------------------------------------------------------------------ strict JSON
def _strict(text: str) -> object:
    def refuse(name: str) -> object:
        raise ValueError(f"bare {name} in JSON")

    return json.loads(text, parse_constant=refuse)


def test_json_text_has_no_bare_nan() -> None:
    doc = _strict(json_text({"bcr": float("nan"), "rows": [float("inf"), 1.0]}))
    assert doc == {"bcr": None, "rows": [None, 1.0]}


def test_appraise_json_is_strict_json(capsys) -> None:
    assert main(["appraise", "--json", "--no-rollout", "--draws", "50"]) == 0
    doc = _strict(capsys.readouterr().out)
    assert isinstance(doc, dict) and "npsv" in json.dumps(doc)


# ------------------------------------------------------------------ plausibility
def test_extreme_value_is_a_warning(tmp_path: Path, capsys) -> None:
    panel = _panel()
    panel.loc[10, "outsourced_spend_gbp"] = "1e15"
    path = tmp_path / "panel.csv"
    panel.to_csv(path, index=False)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "row 12, column 'outsourced_spend_gbp': implausibly large value" in out


def test_extreme_ledger_amount_is_a_warning(tmp_path: Path, capsys) -> None:
    costs = pd.read_csv(SAMPLE / "costs.csv", dtype=str, keep_default_na=False)
    costs.loc[0, "amount_gbp"] = "5e12"
    path = tmp_path / "costs.csv"
    costs.to_csv(path, index=False)
    assert main(["validate", str(path)]) == 0
    assert "row 2, column 'amount_gbp': implausibly large value" in capsys.readouterr().out


def test_implausible_parameters_are_noted(tmp_path: Path) -> None:
    params = tmp_path / "params.toml"
    params.write_text(
        "[[discounting.bands]]\nfrom_year = 1\nrate = 100.0\n"
        "[optimism_bias.categories.equipment]\n"
        "upper = { value = 12.0, source = 'typed 1200%' }\n",
        encoding="utf-8",
    )
    result = appraise(
        load_ledger(SAMPLE / "costs.csv"),
        load_effects(SAMPLE / "effects.csv"),
        load_params(params),
        draws=50,
        rollout=False,
        seed=1,
    )
    notes = "\n".join(result.notes)
    assert "discounting.bands (from year 1).rate = 100" in notes
    assert "optimism_bias.categories.equipment.upper = 12" in notes


def test_workbook_expansion_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import evaluation.readers as readers

    path = tmp_path / "panel.xlsx"
    pd.DataFrame({"force": ["Kent"] * 50, "period": ["2022-04"] * 50}).to_excel(path, index=False)
    monkeypatch.setattr(readers, "MAX_XLSX_UNCOMPRESSED", 1000)
    with pytest.raises(DataError, match="would expand to"):
        read_table(path)


@pytest.mark.slow
def test_go_live_after_the_panel_is_stated_in_the_appraisal(tmp_path: Path) -> None:
    reg = pd.read_csv(SAMPLE / "register.csv", dtype=str)
    late = reg.loc[0, "force"]
    reg.loc[0, "go_live"] = "2030-01-01"  # the sample panel ends in 2026-03
    reg.to_csv(tmp_path / "register.csv", index=False)
    inputs = replace(
        PipelineInputs.bundled(metrics=USED, reps=19, draws=100),
        register=tmp_path / "register.csv",
    )
    result = run_pipeline(inputs)
    notes = "\n".join(result.appraisal.notes)
    assert f"Pilot force(s) {late} go live after the panel's last period" in notes


# ------------------------------------------------------------------ the fast workbook reader
def test_fast_workbook_reader_gives_the_same_cells(tmp_path: Path) -> None:
    import datetime as dt

    import openpyxl

    from evaluation.readers import _read_xlsx_calamine, _read_xlsx_openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["force", "period", "backlog", "go_live", "flag", "note"])
    ws.append(["Kent", "2022-04", 12, dt.datetime(2022, 4, 1), True, "[c]"])
    ws.append(["Essex", "2022-05", 3.25, dt.datetime(2022, 4, 1, 9, 30), False, ""])
    ws.append(["Met", "2022-06", None, dt.date(2023, 1, 31), None, "-"])
    ws.append([None] * 6)
    wb.create_sheet("Second").append(["force", "wave"])
    path = tmp_path / "book.xlsx"
    wb.save(path)
    for sheet in (None, "Data"):
        fast = _read_xlsx_calamine(path, path.name, sheet)
        slow = _read_xlsx_openpyxl(path, path.name, sheet)
        pd.testing.assert_frame_equal(fast[0], slow[0])
        assert fast[2] == slow[2]  # the sheet read (the trailing-blank-row note may differ)
    assert read_table(path).frame.loc[1, "go_live"] == "2022-04-01 09:30:00"


def test_workbook_with_formulas_still_reports_each_formula_cell(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["force", "period", "backlog"])
    ws.append(["Kent", "2022-04", "=1+1"])
    path = tmp_path / "book.xlsx"
    wb.save(path)
    problems = read_table(path).problems
    assert [(p.row, p.column) for p in problems if "formula" in p.message] == [(2, "backlog")]
