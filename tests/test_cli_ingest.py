"""``pathfinder ingest``: exit codes, output files and messages."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd
import pytest

from evaluation.cases import CASE_METRICS, aggregate_cases
from evaluation.cli import main
from evaluation.commands.ingest import TerminalProgress, parse_column_map
from evaluation.errors import ConfigError

ROWS = [
    "Force Name,Date In,completed,outsourced,cost_gbp,offence_type",
    "Met,2022-04-05,2022-04-15,no,100,Fraud",
    "Met,2022-04-20,2022-05-10,yes,300.5,Drugs",
    "GMP,2022-05-01,,,,Fraud",
    "Greater Manchester,2022-05-02,2022-06-30,Y,200,Fraud",
]
MAP = ["--map", "Force Name=force", "--map", "Date In=received"]


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    path = tmp_path / "cases.csv"
    path.write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_ingest_writes_panel(cases: Path, tmp_path: Path, capsys, suffix: str) -> None:
    out = tmp_path / f"panel{suffix}"
    code = main(["ingest", str(cases), "--freq", "month", "--out", str(out), *MAP])
    assert code == 0
    printed = capsys.readouterr().out
    assert "4 examinations (3 completed, 1 pending), 2 force(s), 2022-04 to 2022-06" in printed
    assert f"wrote 6 rows (2 forces x 3 periods) to {out}" in printed
    assert "'GMP' read as 'Greater Manchester'" in printed
    panel = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert list(panel.columns) == ["force", "period", *CASE_METRICS]
    # hand-worked: Met received 2 in April, 1 completed in April, 1 in May
    met = panel[panel["force"] == "Metropolitan Police Service"]
    assert met["period"].astype(str).tolist() == ["2022-04", "2022-05", "2022-06"]
    assert met["devices_received"].tolist() == [2, 0, 0]
    assert met["devices_examined"].tolist() == [1, 1, 0]
    assert met["backlog"].tolist() == [1, 0, 0]
    assert met["outsourced_spend_gbp"].tolist() == [0.0, 300.5, 0.0]
    gmp = panel[panel["force"] == "Greater Manchester"]
    assert gmp["backlog"].tolist() == [0, 2, 1]
    assert gmp["median_turnaround_days"].isna().tolist() == [True, True, False]
    assert gmp["median_turnaround_days"].iloc[2] == 59.0  # 2 May to 30 June
    # the file holds what the library returns
    expected, _ = aggregate_cases(cases, freq="month", columns=parse_column_map(MAP[1::2]))
    pd.testing.assert_frame_equal(
        panel.astype({"period": str, "force": str}), expected, check_dtype=False
    )


def test_ingest_quarter_with_as_of_and_limits(cases: Path, tmp_path: Path) -> None:
    out = tmp_path / "panel.csv"
    argv = ["ingest", str(cases), "--freq", "quarter", "--out", str(out), *MAP]
    argv += ["--as-of", "2022-07-31", "--memory-limit", "500MB", "--threads", "1"]
    argv += ["--spill-dir", str(tmp_path)]
    assert main(argv) == 0
    panel = pd.read_csv(out)
    assert panel["period"].tolist() == ["2022-Q2", "2022-Q2"]
    assert panel["devices_received"].tolist() == [2, 2]


def test_ingest_bad_rows_exit_2(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "force,received,completed,outsourced,cost_gbp\n"
        "Met,2022-04-01,2022-03-01,no,10\n"
        "Narnia,2022-04-01,,,\n",
        encoding="utf-8",
    )
    out = tmp_path / "panel.csv"
    assert main(["ingest", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "invalid input" in err
    assert "row 2, column 'completed': completed before received" in err
    assert "row 3, column 'force': unknown force (got 'Narnia'" in err
    assert "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--map", "nonsense"], "OLD=NEW"),
        (["--map", "Force Name=unit"], "not a case column"),
        (["--as-of", "yesterday"], "as_of"),
        (["--threads", "0"], "threads"),
        (["--start", "2022-Q1"], "start"),
        (["--spill-dir", "/no/such/folder"], "spill_dir"),
        (["--memory-limit", "lots"], "DuckDB"),
    ],
)
def test_ingest_bad_options_exit_2(cases: Path, tmp_path: Path, capsys, extra, message) -> None:
    out = tmp_path / "panel.csv"
    assert main(["ingest", str(cases), "--out", str(out), *extra]) == 2
    assert message in capsys.readouterr().err


def test_ingest_bad_output_exit_2(cases: Path, tmp_path: Path, capsys) -> None:
    assert main(["ingest", str(cases), "--out", str(tmp_path / "panel.xlsx"), *MAP]) == 2
    assert ".csv or .parquet" in capsys.readouterr().err
    missing_dir = tmp_path / "no" / "such" / "panel.csv"
    assert main(["ingest", str(cases), "--out", str(missing_dir), *MAP]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_ingest_missing_and_empty_files_exit_2(tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "panel.csv")
    assert main(["ingest", str(tmp_path / "nope.csv"), "--out", out]) == 2
    assert "file not found" in capsys.readouterr().err
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    assert main(["ingest", str(tmp_path / "empty.csv"), "--out", out]) == 2
    assert "empty" in capsys.readouterr().err


def test_ingest_missing_columns_exit_2(cases: Path, tmp_path: Path, capsys) -> None:
    assert main(["ingest", str(cases), "--out", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err
    assert "column 'force': required column missing" in err
    assert "column 'received': required column missing" in err


def test_parse_column_map() -> None:
    assert parse_column_map(["a=b", " Date In = received "]) == {"a": "b", "Date In": "received"}
    assert parse_column_map(["x=y=completed"]) == {"x=y": "completed"}
    with pytest.raises(ConfigError):
        parse_column_map(["=force"])
    with pytest.raises(ConfigError):
        parse_column_map(["a=force", "a=received"])


# ----------------------------------------------------------------------------- progress
class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_only(
    cases: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "panel.csv"
    argv = ["ingest", str(cases), "--out", str(out), *MAP]
    assert main(argv) == 0
    assert capsys.readouterr().err == ""  # not a terminal: quiet
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    assert main(argv) == 0
    drawn = tty.getvalue()
    assert "reading cases.csv [" in drawn and "100%" in drawn
    assert drawn.endswith("\r")  # the bar's line is cleared before the summary


def test_terminal_progress_draws_in_place() -> None:
    stream = io.StringIO()
    bar = TerminalProgress("big.csv", stream, width=4)
    for fraction in (0.0, 0.25, 0.25, 0.5, 1.0):
        bar(fraction)
    frames = stream.getvalue().split("\r")[1:]
    assert [f.split("]")[0] for f in frames] == [
        "reading big.csv [----",
        "reading big.csv [#---",
        "reading big.csv [##--",
        "reading big.csv [####",
    ]  # a repeated fraction is not redrawn
    bar.close()
    assert stream.getvalue().endswith("\r" + " " * len(frames[-1]) + "\r")


def test_library_reports_progress_up_to_one(cases: Path) -> None:
    seen: list[float] = []
    aggregate_cases(cases, columns=parse_column_map(MAP[1::2]), progress=seen.append)
    assert seen and seen[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in seen) and seen == sorted(seen)


def test_problem_totals_name_their_columns(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "force,received,completed,outsourced,cost_gbp\n"
        "Met,01/04/2022,,,\n"
        "Met,2022-04-01,02/04/2022,no,10\n"
        "Met,2022-04-01,03/04/2022,no,10\n",
        encoding="utf-8",
    )
    assert main(["ingest", str(path), "--out", str(tmp_path / "p.csv")]) == 2
    first = capsys.readouterr().err.splitlines()[1]
    assert first.endswith(
        "3 problem(s) in a file of 3 data rows (not a date (received): 1; "
        "not a date (completed): 2)"
    )
