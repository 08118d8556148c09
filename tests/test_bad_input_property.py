"""The standing guard: generated bad files and options never crash a command.

Hypothesis damages small valid inputs (encodings, delimiters, headers, cells, truncation, junk
bytes, file types) and picks option values (good and bad); every loader and subcommand must end
with exit code 0 or 2, never 1, never print a traceback, and never change an input file.
The examples are few and small, so the guard runs in CI in a bounded time.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluation.cli import main
from evaluation.errors import UserError
from evaluation.ingest import check_table, load_ledger, load_panel, load_register

FORCES = ["Kent", "Essex", "Surrey", "Sussex", "Norfolk", "Suffolk"]
MONTHS = [f"2022-{m:02d}" for m in range(1, 9)]


def _panel_text() -> str:
    lines = ["force,period,backlog,outsourced_exams"]
    for i, force in enumerate(FORCES):
        for j, month in enumerate(MONTHS):
            lines.append(f"{force},{month},{100 + 7 * i + 3 * j},{10 + i + (j % 3)}")
    return "\n".join(lines) + "\n"


TEMPLATES = {
    "panel": _panel_text(),
    "register": "force,wave,go_live\nKent,1,2022-05-01\nEssex,1,2022-05-01\n",
    "ledger": (
        "force,date,financial_year,category,kind,amount_gbp,price_basis,description\n"
        "Kent,2022-05-01,2022-23,staff,recurrent,120000,nominal,team\n"
        "Essex,2022-05-01,2022-23,equipment,capital,50000,nominal,kit\n"
    ),
    "cases": (
        "force,received,completed,outsourced,cost_gbp\n"
        "Kent,2022-04-03,2022-04-20,no,300\n"
        "Essex,2022-05-01,,,\n"
        "Kent,2022-05-02,2022-06-01,yes,250.5\n"
    ),
    "params": "[unit_values.outsourced_exam]\nvalue = 500.0\nsource = 'test'\n",
}

MUTATIONS = [
    "none",
    "latin1",
    "utf16",
    "nul",
    "semicolon",
    "tab",
    "blank_line",
    "dup_header",
    "dup_header_case",
    "title_row",
    "extra_field",
    "truncate",
    "formula",
    "number_formula",
    "inf",
    "nan_text",
    "huge",
    "negative",
    "bad_date",
    "unknown_force",
    "empty",
    "header_only",
    "junk",
    "bom",
    "crlf",
    "welsh",
    "month_fy",
]


def _mutate(text: str, how: str, cell: int) -> bytes:
    lines = text.splitlines()
    header, rows = lines[0], lines[1:]
    row = cell % len(rows)
    fields = rows[row].split(",")
    col = cell % len(fields)
    if how == "latin1":
        return text.replace("Kent", "Ként", 1).encode("latin-1")
    if how == "utf16":
        return text.encode("utf-16")
    if how == "nul":
        return text.encode() + b"\x00\x00"
    if how == "semicolon":
        return text.replace(",", ";").encode()
    if how == "tab":
        return text.replace(",", "\t").encode()
    if how == "blank_line":
        rows.insert(row, "")
    elif how == "dup_header":
        first = header.split(",")[-1]
        header += "," + first
        rows = [r + ",x" for r in rows]
    elif how == "dup_header_case":
        first = header.split(",")[-1]
        header += "," + first.upper()
        rows = [r + ",x" for r in rows]
    elif how == "title_row":
        return ("Quarterly return\n" + text).encode()
    elif how == "extra_field":
        rows[row] += ",surplus"
    elif how == "truncate":
        return text.encode()[: max(1, len(text) // (2 + cell % 5))]
    elif how in ("formula", "number_formula", "inf", "nan_text", "huge", "negative", "bad_date"):
        value = {
            "formula": "=cmd|' /C calc'!A0",
            "number_formula": "-2+3+cmd|' /C calc'!A0",
            "inf": "inf",
            "nan_text": "nan",
            "huge": "1e308",
            "negative": "-5",
            "bad_date": "2022-02-30",
        }[how]
        fields[col] = value
        rows[row] = ",".join(fields)
    elif how == "unknown_force":
        rows[row] = "Narnia," + ",".join(fields[1:])
    elif how == "empty":
        return b""
    elif how == "header_only":
        return (header + "\n").encode()
    elif how == "junk":
        return bytes((cell * 37 + i * 11) % 256 for i in range(200))
    elif how == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    elif how == "crlf":
        return text.replace("\n", "\r\n").encode()
    elif how == "welsh":
        return text.replace("Kent", "Heddlu Gwent").encode()
    elif how == "month_fy":
        return text.replace("2022-", "2010-").encode()
    return ("\n".join([header, *rows]) + "\n").encode()


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def _call(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
    return code, err.getvalue()


def _write(folder: Path, kind: str, how: str, cell: int, suffix: str) -> Path:
    data = _mutate(TEMPLATES[kind], how, cell)
    name = {"params": "params.toml"}.get(kind, f"{kind}{suffix}")
    path = folder / name
    if suffix == ".parquet" and kind != "params" and how == "none":
        pd.read_csv(io.StringIO(TEMPLATES[kind]), dtype=str).to_parquet(path)
    else:
        path.write_bytes(data)
    return path


def _argv(kind: str, path: Path, folder: Path, option: list[str]) -> list[list[str]]:
    reg = folder / "register_ok.csv"
    reg.write_text(TEMPLATES["register"])
    if kind == "panel":
        return [
            ["validate", str(path)],
            ["validate", str(path), str(reg)],
            ["summary", "--panel", str(path), "--register", str(reg)],
            ["estimate", str(path), "--register", str(reg), "--outcome", "backlog",
             "--method", "twfe", "--reps", "9", *option],
        ]  # fmt: skip
    if kind == "register":
        panel = folder / "panel_ok.csv"
        panel.write_text(TEMPLATES["panel"])
        return [
            ["validate", str(panel), str(path)],
            ["summary", "--panel", str(panel), "--register", str(path)],
        ]
    if kind == "ledger":
        return [["validate", str(path)], ["validate", "--kind", "ledger", str(path)]]
    if kind == "cases":
        return [["ingest", str(path), "--out", str(folder / "out.csv"), *option]]
    raise AssertionError(kind)  # pragma: no cover


OPTIONS = [
    [],
    ["--seed", "-1"],
    ["--seed", "x"],
    ["--reps", "0"],
    ["--unit", "nosuch"],
    ["--time", "nosuch"],
    ["--memory-limit", "lots"],
    ["--threads", "0"],
    ["--freq", "fy"],
    ["--as-of", "2022-04-30"],
    ["--start", "2030-01"],
]

LOADERS = {"panel": load_panel, "register": load_register, "ledger": load_ledger}


@settings(
    max_examples=45,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    kind=st.sampled_from(["panel", "register", "ledger", "cases"]),
    how=st.sampled_from(MUTATIONS),
    cell=st.integers(0, 50),
    suffix=st.sampled_from([".csv", ".csv", ".parquet", ".txt", ".xlsx"]),
    option=st.sampled_from(OPTIONS),
)
def test_bad_files_and_options_never_crash(
    kind: str, how: str, cell: int, suffix: str, option: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = _write(folder, kind, how, cell, suffix)
        argvs = _argv(kind, path, folder, option)
        before = {k: v for k, v in _digest(folder).items() if k != "out.csv"}
        if kind in LOADERS:
            try:
                LOADERS[kind](path)
                check_table(path)
            except UserError:
                pass
        for argv in argvs:
            code, err = _call(argv)
            assert code in (0, 2), (argv, how, err)
            assert "Traceback" not in err and "internal error" not in err, (argv, how, err)
        after = {k: v for k, v in _digest(folder).items() if k in before}
        assert after == before, (how, argvs)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(how=st.sampled_from(MUTATIONS), cell=st.integers(0, 50))
def test_bad_parameter_files_never_crash(how: str, cell: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        text = (
            TEMPLATES["params"]
            + "[settings]\nappraisal_period_years = { value = 10, source = 's' }\n"
        )
        path = folder / "params.toml"
        path.write_bytes(_mutate(text, how, cell))
        before = _digest(folder)
        code, err = _call(["appraise", "--params", str(path), "--no-rollout", "--draws", "20"])
        assert code in (0, 2), (how, err)
        assert "Traceback" not in err and "internal error" not in err, (how, err)
        assert _digest(folder) == before
