"""Every user mistake ends in exit code 2 with a located message; outputs are atomic.

Exit 1 is kept for internal errors; Ctrl-C is 130 without a traceback; a closed pipe is not an
error; output paths are checked before anything is computed; an interrupted write leaves the
previous complete set of outputs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evaluation.cli import main
from evaluation.errors import ConfigError
from evaluation.ingest import bundled_data_dir
from evaluation.outputs import atomic_output_dir, atomic_output_file, check_output_dir

SAMPLE = bundled_data_dir() / "sample"
CASES = (
    "force,received,completed,outsourced,cost_gbp\n"
    "Met,2022-04-03,2022-04-20,no,300\n"
    "Kent,2022-05-01,,,\n"
)


def _exit(argv: list[str]) -> int:
    """The exit code, whether main returns it or argparse exits with it."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    path = tmp_path / "cases.csv"
    path.write_text(CASES, encoding="utf-8")
    return path


# ------------------------------------------------------------------ option values
@pytest.mark.parametrize(
    "argv",
    [
        ["estimate", "--outcome", "backlog", "--seed", "-1"],
        ["run", "--seed", "-1"],
        ["appraise", "--seed", "-1"],
        ["synth", "--seed", "-1"],
        ["run", "--draws", "0"],
        ["appraise", "--draws", "0"],
        ["run", "--draws", "10000000000"],
        ["appraise", "--draws", "10000000000"],
        ["estimate", "--outcome", "backlog", "--reps", "0"],
        ["estimate", "--outcome", "backlog", "--reps", "10000000000"],
        ["run", "--reps", "many"],
    ],
)
def test_bad_option_values_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit(argv) == 2
    err = capsys.readouterr().err
    assert "must be a whole number" in err
    assert "Traceback" not in err


def test_unknown_unit_column_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit(["estimate", "--outcome", "backlog", "--unit", "nosuch", "--reps", "9"]) == 2
    assert "nosuch" in capsys.readouterr().err


@pytest.mark.parametrize("limit", ["lots", "1KB"])
def test_impossible_memory_limit_exits_2(cases: Path, tmp_path: Path, limit: str, capsys) -> None:
    assert _exit(["ingest", str(cases), "--out", str(tmp_path / "p.csv"), "--memory-limit", limit])
    err = capsys.readouterr().err
    assert "memory" in err.lower() and "internal error" not in err


# ------------------------------------------------------------------ files that cannot be read
def test_unreadable_file_is_refused_with_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    panel = tmp_path / "panel.csv"
    panel.write_bytes((SAMPLE / "panel.csv").read_bytes())
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if Path(p) == panel else real_access(p, mode)
    )
    assert _exit(["validate", str(panel)]) == 2
    assert "panel.csv" in capsys.readouterr().out
    assert _exit(["summary", "--panel", str(panel)]) == 2
    assert "permission denied" in capsys.readouterr().err


def test_os_error_anywhere_is_exit_2(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import evaluation.commands.summary as summary

    def denied(args: object) -> int:
        raise PermissionError(13, "Permission denied", "/somewhere/panel.csv")

    monkeypatch.setattr(summary, "run", denied)
    assert _exit(["summary"]) == 2
    err = capsys.readouterr().err
    assert "panel.csv: Permission denied" in err and "/somewhere" not in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_chmod_000_file_exits_2(tmp_path: Path, capsys) -> None:
    panel = tmp_path / "panel.csv"
    panel.write_bytes((SAMPLE / "panel.csv").read_bytes())
    panel.chmod(0)
    assert _exit(["summary", "--panel", str(panel)]) == 2


@pytest.mark.parametrize(("encoding", "expected"), [("latin-1", "not UTF-8"), ("utf-16", "UTF-16")])
@pytest.mark.parametrize("which", ["params", "effects"])
def test_non_utf8_params_and_effects_exit_2(
    tmp_path: Path, which: str, encoding: str, expected: str, capsys
) -> None:
    if which == "params":
        path = tmp_path / "params.toml"
        path.write_bytes("[meta]\nname = 'Café'\n".encode(encoding))
    else:
        path = tmp_path / "effects.csv"
        text = (SAMPLE / "effects.csv").read_text(encoding="utf-8") + "# café\n"
        path.write_bytes(text.encode(encoding))
    assert _exit(["appraise", f"--{which}", str(path), "--no-rollout", "--draws", "10"]) == 2
    err = capsys.readouterr().err
    assert path.name in err and expected in err and "internal error" not in err


def test_semicolon_panel_with_register_exits_2(tmp_path: Path, capsys) -> None:
    panel = tmp_path / "panel.csv"
    frame = pd.read_csv(SAMPLE / "panel.csv", dtype=str, keep_default_na=False)
    frame.to_csv(panel, sep=";", index=False)
    argv = ["estimate", str(panel), "--register", str(SAMPLE / "register.csv"),
            "--outcome", "backlog", "--reps", "9"]  # fmt: skip
    assert _exit(argv) == 2
    err = capsys.readouterr().err
    assert "panel.csv" in err and "semicolon" in err


def test_parquet_with_duplicate_columns_exits_2(tmp_path: Path, capsys) -> None:
    path = tmp_path / "panel.parquet"
    table = pa.table(
        [pa.array(["Kent"]), pa.array(["2022-04"]), pa.array([1.0]), pa.array([2.0])],
        names=["force", "period", "backlog", "backlog"],
    )
    pq.write_table(table, path)
    assert _exit(["validate", str(path)]) == 2
    assert "duplicate column name" in capsys.readouterr().out
    assert _exit(["ingest", str(path), "--out", str(tmp_path / "p.csv")]) == 2


def test_parquet_damaged_in_the_middle_exits_2(tmp_path: Path, capsys) -> None:
    n = 20_000
    frame = pd.DataFrame(
        {
            "force": ["Kent"] * n,
            "received": [f"2022-04-{1 + i % 28:02d}" for i in range(n)],
            "completed": [f"2022-05-{1 + i % 28:02d}" for i in range(n)],
            "outsourced": ["no"] * n,
            "cost_gbp": [float(i) for i in range(n)],
        }
    )
    path = tmp_path / "cases.parquet"
    frame.to_parquet(path, row_group_size=2_000, compression="snappy")
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = bytes(range(256)) * 16
    path.write_bytes(bytes(data))
    code = _exit(["ingest", str(path), "--out", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "cases.parquet" in err and "internal error" not in err


# ------------------------------------------------------------------ output paths, before computing
def test_run_out_is_a_file_refused_before_computing(tmp_path: Path, capsys) -> None:
    out = tmp_path / "report"
    out.write_text("not a folder")
    assert _exit(["run", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "is a file, not a folder" in captured.err
    assert "validating" not in captured.out  # refused before anything was read
    assert out.read_text() == "not a folder"


def test_run_out_holding_an_input_refused(tmp_path: Path, capsys) -> None:
    panel = tmp_path / "panel.csv"
    panel.write_bytes((SAMPLE / "panel.csv").read_bytes())
    assert _exit(["run", "--panel", str(panel), "--out", str(tmp_path)]) == 2
    assert "outputs never replace inputs" in capsys.readouterr().err
    assert panel.read_bytes() == (SAMPLE / "panel.csv").read_bytes()


def test_run_out_with_foreign_files_refused(tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert _exit(["run", "--out", str(tmp_path)]) == 2
    assert "not a Pathfinder output set" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_ingest_out_problems_refused(cases: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    folder = tmp_path / "panel.csv"
    folder.mkdir()
    assert _exit(["ingest", str(cases), "--out", str(folder)]) == 2
    assert "is a folder, not a file" in capsys.readouterr().err
    assert _exit(["ingest", str(cases), "--out", str(cases)]) == 2
    assert "is an input" in capsys.readouterr().err
    assert cases.read_text(encoding="utf-8") == CASES
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")
    assert _exit(["ingest", str(cases), "--out", str(link)]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert not (tmp_path / "elsewhere.csv").exists()
    read_only = tmp_path / "ro"
    read_only.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if Path(p) == read_only else real_access(p, mode)
    )
    assert _exit(["ingest", str(cases), "--out", str(read_only / "p.csv")]) == 2
    assert "cannot be written" in capsys.readouterr().err


def test_appraise_out_is_a_folder_refused(tmp_path: Path, capsys) -> None:
    assert _exit(["appraise", "--out", str(tmp_path), "--no-rollout", "--draws", "10"]) == 2
    assert "is a folder, not a file" in capsys.readouterr().err


# ------------------------------------------------------------------ pipes and Ctrl-C
class _ClosedPipe:
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_broken_pipe_is_quiet(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["summary"]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_keyboard_interrupt_is_130_without_traceback(monkeypatch, capsys) -> None:
    import evaluation.commands.summary as summary

    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(summary, "run", interrupted)
    assert main(["summary"]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err


# ------------------------------------------------------------------ atomic outputs
def _old_set(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "effects.csv").write_text("metric,estimate\nold,1\n")
    (folder / "manifest.json").write_text(json.dumps({"toolkit": "pathfinder", "run": "old"}))
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError, RuntimeError])
def test_interrupted_output_set_leaves_the_old_set(tmp_path: Path, error: type) -> None:
    out = tmp_path / "latest"
    before = _old_set(out)
    with pytest.raises(error), atomic_output_dir(out) as tmp:
        (tmp / "effects.csv").write_text("metric,estimate\nnew,2\n")
        raise error
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest"]  # no partial folder left


def test_completed_output_set_replaces_the_old_one(tmp_path: Path) -> None:
    out = tmp_path / "latest"
    _old_set(out)
    (out / "stale.json").write_text("{}")
    with atomic_output_dir(out) as tmp:
        (tmp / "effects.csv").write_text("new\n")
        (tmp / "manifest.json").write_text(json.dumps({"toolkit": "pathfinder"}))
    assert sorted(_snapshot(out)) == ["effects.csv", "manifest.json"]
    assert (out / "effects.csv").read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest"]


def test_output_checks(tmp_path: Path) -> None:
    target = tmp_path / "real"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(ConfigError, match="symbolic link"):
        check_output_dir(link)
    panel = tmp_path / "in.csv"
    panel.write_text("x")
    with pytest.raises(ConfigError, match="is an input"), atomic_output_file(panel, inputs=[panel]):
        pass
    assert panel.read_text() == "x"
    # a missing parent of an output folder is created when the set is written
    with atomic_output_dir(tmp_path / "a" / "b") as tmp:
        (tmp / "manifest.json").write_text("{}")
    assert (tmp_path / "a" / "b" / "manifest.json").exists()


def test_interrupted_file_write_leaves_the_old_file(tmp_path: Path) -> None:
    out = tmp_path / "panel.csv"
    out.write_text("old\n")
    with pytest.raises(KeyboardInterrupt), atomic_output_file(out) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["panel.csv"]


def test_sigint_during_run_exits_130_and_keeps_the_old_outputs(tmp_path: Path) -> None:
    out = tmp_path / "latest"
    before = _old_set(out)
    exe = Path(sys.executable).with_name("pathfinder")
    proc = subprocess.Popen(
        [str(exe), "run", "--out", str(out), "--reps", "49", "--draws", "200"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # "validating ...": main() is running
    assert "validating" in first
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (130, 0), err
    assert "Traceback" not in err
    if proc.returncode == 130:
        assert _snapshot(out) == before
    else:  # finished before the signal arrived: the new set is complete
        assert json.loads((out / "manifest.json").read_text())["toolkit"] == "pathfinder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest"]
