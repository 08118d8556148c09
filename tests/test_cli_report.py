"""``pathfinder report``: one command writes each year's report set atomically."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from conftest import require_tool

from evaluation.cli import all_commands, main
from evaluation.pipeline import DEFAULT_SEED
from reporting import command
from reporting._atomic import atomic_output_dir


def test_report_is_a_registered_subcommand() -> None:
    assert all_commands()["report"][0] == "reporting.command"
    assert command.HELP
    assert command._DEFAULT_SEED == DEFAULT_SEED


def test_year_outside_the_data_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["report", "--year", "2019-20", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "2022-23, 2023-24, 2024-25, 2025-26" in err
    assert not any(tmp_path.iterdir())


def test_malformed_year_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--year", "2025", "--out", str(tmp_path)]) == 2
    assert "2025" in capsys.readouterr().err


def test_bad_panel_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "panel.csv"
    bad.write_text("force,period,devices_received\nKent,2022-04,12\nNarnia,2022-04,x\n")
    code = main(["report", "--panel", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "Narnia" in err and "row 3" in err


def test_atomic_folder_keeps_the_old_set_on_failure(tmp_path: Path) -> None:
    final = tmp_path / "2025-26"
    final.mkdir()
    (final / "report.html").write_text("old")
    with pytest.raises(RuntimeError), atomic_output_dir(final) as staging:
        (staging / "report.html").write_text("half")
        raise RuntimeError("boom")
    assert (final / "report.html").read_text() == "old"
    with atomic_output_dir(final) as staging:
        (staging / "report.html").write_text("new")
    assert (final / "report.html").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2025-26"]


@pytest.mark.slow
def test_report_command_writes_the_year(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_tool("chromium")
    code = main(
        [
            "report",
            "--year",
            "2025-26",
            "--out",
            str(tmp_path),
            "--reps",
            "19",
            "--draws",
            "500",
            "--no-pdf",
            "--analyst",
            "A. Analyst",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    folder = tmp_path / "2025-26"
    assert str(folder / "workbook.xlsx") in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2025-26"]  # the base year is not kept
    html = (folder / "report.html").read_text()
    assert "Change since 2024-25" in html and "A. Analyst" in html
    wb = openpyxl.load_workbook(folder / "workbook.xlsx", data_only=True)
    assert wb.sheetnames[0] == "Cover"
    assert sorted(p.name for p in (folder / "inputs").iterdir()) == [
        "costs.parquet",
        "panel.parquet",
        "register.parquet",
    ]
    assert not (folder / "report.pdf").exists()
