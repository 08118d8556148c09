"""``pathfinder design``: JSON output, identical results for 1 and 2 Dask workers, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.cli import main

BASE = [
    "design",
    "--pilots",
    "10",
    "--metrics",
    "outsourced_exams",
    "--reps",
    "3",
    "--boot-reps",
    "49",
    "--pairs",
    "cs:cr1",
    "--seed",
    "5",
    "--json",
]
KEYS = {"pilots", "metric", "mde", "power", "power_at_break_even", "size", "break_even_effect"}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_same_results_with_one_and_two_workers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code1, out1, err1 = _run([*BASE, "--workers", "1"], capsys)
    assert code1 == 0, err1
    code2, out2, err2 = _run([*BASE, "--workers", "2", "--out", str(tmp_path)], capsys)
    assert code2 == 0, err2
    code0, out0, err0 = _run([*BASE, "--workers", "0"], capsys)  # in process, no Dask
    assert code0 == 0, err0
    one, two = json.loads(out1), json.loads(out2)
    assert one == two == json.loads(out0)
    rows = one["designs"]
    assert len(rows) == 1 and KEYS <= set(rows[0])
    row = rows[0]
    assert row["pilots"] == 10 and row["metric"] == "outsourced_exams"
    assert row["break_even_effect"] < 0 and 0 <= row["power_at_break_even"] <= 1
    assert 0 <= row["size"] <= 1
    assert {p.name for p in tmp_path.iterdir()} == {"design.json", "design.csv", "design.html"}
    assert "plotly" in (tmp_path / "design.html").read_text(encoding="utf-8")[:100_000].lower()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--pilots", "3,x"], "--pilots must be whole numbers"),
        (["--metrics", "nope"], "nope not in"),
        (["--follow-up-years", "5"], "years of follow-up need more"),
        (["--selection", "random"], "--selection must be free and/or stratified"),
        (["--pairs", "cs:magic"], "unknown inference 'magic'"),
        (["--reps", "1"], "--reps must be at least 2"),
    ],
)
def test_bad_options_exit_2(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run([*BASE, "--workers", "0", *extra], capsys)
    assert code == 2
    assert message in err


def test_choose_prints_balanced_proposals(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(
        [
            "design",
            "--choose",
            "4",
            "--must-include",
            "Avon and Somerset",
            "--max-per-region",
            "1",
            "--proposals",
            "2",
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    props = json.loads(out)["proposals"]
    assert 1 <= len(props) <= 2
    assert all("Avon and Somerset" in p["pilots"] and len(p["pilots"]) == 4 for p in props)
    code, _, err = _run(["design", "--choose", "4", "--must-include", "Atlantis"], capsys)
    assert code == 2 and "unknown force 'Atlantis'" in err
