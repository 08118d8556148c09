"""The command line: help on every subcommand, exit codes 0 / 2 / 1, no tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from evaluation import cli
from evaluation.cli import COMMANDS, main


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: pathfinder {command}")


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2


def test_internal_error_exits_1_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import evaluation.commands.summary as summary

    def boom(args: object) -> int:
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(summary, "run", boom)
    assert cli.main(["summary"]) == 1
    err = capsys.readouterr().err
    assert "internal error" in err and "simulated failure" in err
    assert "Traceback" not in err


def test_console_script_and_module_entry_point() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "evaluation", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert out.stdout.startswith("pathfinder ")


def test_missing_file_is_bad_input_not_a_crash(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "no-such-file.csv"]) == 2
    err = capsys.readouterr().err + capsys.readouterr().out
    assert "Traceback" not in err
