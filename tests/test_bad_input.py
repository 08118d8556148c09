"""Bad input never loses data silently: each class of mistake is refused or reported.

Each test here failed on the code before the fix it guards (a silently dropped pilot, costs lost
while benefits stay, an infinite value dropped, duplicate headers read, a time-zone shift,
an ignored misspelt parameter, month labels read as financial years).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evaluation.appraisal import load_params
from evaluation.cases import aggregate_cases
from evaluation.cli import main
from evaluation.errors import AppraisalError, DataError
from evaluation.estimation import METHODS, estimate
from evaluation.ingest import bundled_data_dir, load_panel
from evaluation.panel import Panel
from evaluation.periods import column_frequency, parse_period

SAMPLE = bundled_data_dir() / "sample"


def _first_pilot() -> str:
    return str(pd.read_csv(SAMPLE / "register.csv", dtype=str)["force"].iloc[0])


@pytest.fixture(scope="module")
def panel_without_pilot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    panel = pd.read_csv(SAMPLE / "panel.csv", dtype=str, keep_default_na=False)
    out = tmp_path_factory.mktemp("p") / "panel.csv"
    panel[panel["force"] != _first_pilot()].to_csv(out, index=False)
    return out


# ------------------------------------------------------------------ a pilot missing from the panel
@pytest.mark.parametrize("command", ["estimate", "run", "summary"])
def test_pilot_without_panel_rows_is_refused(
    command: str, panel_without_pilot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    register = str(SAMPLE / "register.csv")
    argv = {
        "estimate": ["estimate", str(panel_without_pilot), "--register", register,
                     "--outcome", "backlog", "--reps", "9"],
        "run": ["run", "--panel", str(panel_without_pilot), "--out", str(tmp_path / "out")],
        "summary": ["summary", "--panel", str(panel_without_pilot), "--register", register],
    }[command]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert _first_pilot() in err
    assert "no rows in the panel" in err
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ a pilot missing from the ledger
def test_pilot_without_ledger_rows_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = pd.read_csv(SAMPLE / "costs.csv", dtype=str, keep_default_na=False)
    costs = tmp_path / "costs.csv"
    ledger[ledger["force"] != _first_pilot()].to_csv(costs, index=False)
    argv = ["appraise", "--costs", str(costs), "--register", str(SAMPLE / "register.csv"),
            "--no-rollout", "--draws", "50"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert _first_pilot() in err and "no rows in the cost ledger" in err


# ------------------------------------------------------------------ non-finite outcomes
def _small_panel(bad: float) -> pd.DataFrame:
    rows = []
    for u in range(6):
        for t in range(1, 7):
            g = 4 if u < 2 else (5 if u < 3 else 0)
            rows.append({"u": f"u{u}", "t": t, "g": g, "y": float(u + t + (t >= g > 0))})
    df = pd.DataFrame(rows)
    df.loc[7, "y"] = bad
    return df


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_outcome_is_an_error_in_every_estimator(method: str, bad: float) -> None:
    df = _small_panel(bad)
    with pytest.raises(DataError, match="not a finite number") as info:
        estimate(df, "y", unit="u", time="t", cohort="g", method=method, reps=9, rng=0)
    assert any(p.row == 9 and p.column == "y" for p in info.value.problems)


def test_infinite_outcome_in_a_ready_panel_is_an_error() -> None:
    panel = Panel.from_frame(_small_panel(1.0), unit="u", time="t", cohort="g", outcomes="y")
    broken = panel.with_outcome("y", np.where(np.arange(len(panel.data)) == 3, np.inf, 1.0))
    with pytest.raises(DataError, match="not a finite number"):
        estimate(broken, "y", method="twfe")


def test_estimate_command_refuses_inf_text(tmp_path: Path, capsys) -> None:
    df = _small_panel(1.0).astype(object)
    df.loc[7, "y"] = "inf"
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    for method in ("cs", "imputation"):
        code = main(["estimate", str(path), "--unit", "u", "--time", "t", "--cohort", "g",
                     "--outcome", "y", "--method", method, "--reps", "9"])  # fmt: skip
        assert code == 2
        assert "row 9" in capsys.readouterr().err


# ------------------------------------------------------------------ duplicate headers, case files
CASE_ROW = "Met,2022-04-03,2022-04-05,2022-04-20,no,300"


@pytest.mark.parametrize("second", ["received", "Received", " RECEIVED "])
def test_duplicate_case_headers_are_errors(tmp_path: Path, second: str) -> None:
    path = tmp_path / "cases.csv"
    path.write_text(f"force,received,{second},completed,outsourced,cost_gbp\n{CASE_ROW}\n")
    with pytest.raises(DataError, match="duplicate column") as info:
        aggregate_cases(path)
    assert info.value.problems[0].row == 1


def test_duplicate_parquet_case_headers_are_errors(tmp_path: Path) -> None:
    arrays = [pa.array([v]) for v in CASE_ROW.split(",")]
    names = ["force", "received", "received", "completed", "outsourced", "cost_gbp"]
    path = tmp_path / "cases.parquet"
    pq.write_table(pa.table(arrays, names=names), path)
    with pytest.raises(DataError, match="duplicate column"):
        aggregate_cases(path)


# ------------------------------------------------------------------ time-zone-aware timestamps
def test_tz_aware_parquet_dates_are_uk_local_dates(tmp_path: Path) -> None:
    # 23:30 UTC on 31 March 2022 is 00:30 on 1 April in London (BST): an April receipt
    received = pd.to_datetime(["2022-03-31 23:30", "2022-04-10 12:00"]).tz_localize("UTC")
    frame = pd.DataFrame(
        {
            "force": ["Kent", "Kent"],
            "received": received,
            "completed": pd.to_datetime(["2022-04-20", "2022-04-25"]).tz_localize("Asia/Tokyo"),
            "outsourced": ["no", "no"],
            "cost_gbp": [1.0, 2.0],
        }
    )
    path = tmp_path / "cases.parquet"
    frame.to_parquet(path)
    panel, _ = aggregate_cases(path)
    assert panel["period"].tolist() == ["2022-04"]
    assert panel["devices_received"].tolist() == [2]
    # completed 2022-04-20 00:00 Tokyo is 2022-04-19 16:00 London, 04-25 is 04-24: received
    # (London) 04-01 and 04-10, so turnarounds 18 and 14 days, median 16
    assert panel["median_turnaround_days"].tolist() == [16.0]


def test_tz_aware_parquet_cells_read_as_uk_local_time(tmp_path: Path) -> None:
    from evaluation.readers import read_table

    frame = pd.DataFrame(
        {"force": ["Kent"], "wave": ["1"], "go_live": pd.to_datetime(["2022-03-31 23:00"])}
    )
    frame["go_live"] = frame["go_live"].dt.tz_localize("UTC")
    path = tmp_path / "register.parquet"
    frame.to_parquet(path)
    assert read_table(path).frame["go_live"].tolist() == ["2022-04-01"]


# ------------------------------------------------------------------ misspelt parameter keys
@pytest.mark.parametrize(
    ("text", "where", "hint"),
    [
        ("[unit_values.outsourced_exam]\nvalu = 520.0\n", "outsourced_exam.valu", "'value'"),
        (
            "[settings]\nappraisal_period_year = { value = 12, source = 'x' }\n",
            "settings.appraisal_period_year",
            "'appraisal_period_years'",
        ),
        (
            "[[benefits]]\nname = 'outsourced_exams_avoided'\nenabeld = false\n",
            "enabeld",
            "'enabled'",
        ),
        ("[setings]\n", "setings", "'settings'"),
    ],
)
def test_misspelt_parameter_keys_are_errors(tmp_path: Path, text: str, where: str, hint: str):
    path = tmp_path / "params.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AppraisalError) as info:
        load_params(path)
    assert where in str(info.value) and f"did you mean {hint}" in str(info.value)


def test_correct_parameter_override_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "params.toml"
    path.write_text(
        "[unit_values.outsourced_exam]\nvalue = 520.0\nsource = 'procurement'\n"
        "[unit_values.my_new_value]\nvalue = 1.0\nsource = 'mine'\n",
        encoding="utf-8",
    )
    assert load_params(path).unit_values["outsourced_exam"].value == 520.0


# ------------------------------------------------------------------ month labels vs financial years
def _monthly(start: str, n: int) -> list[str]:
    first = pd.Period(start, freq="M")
    return [f"{(first + i).year:04d}-{(first + i).month:02d}" for i in range(n)]


@pytest.mark.parametrize("start", ["2006-04", "2009-10", "2010-11"])
def test_monthly_panel_with_fy_like_labels_loads_as_months(tmp_path: Path, start: str) -> None:
    labels = _monthly(start, 30)
    df = pd.DataFrame(
        {
            "force": ["Kent"] * 30 + ["Essex"] * 30,
            "period": labels * 2,
            "backlog": [float(i) for i in range(60)],
        }
    )
    path = tmp_path / "panel.csv"
    df.to_csv(path, index=False)
    panel = load_panel(path)
    assert panel["period"].tolist() == labels * 2
    assert column_frequency(panel["period"]) == "month"
    assert main(["validate", str(path)]) == 0


def test_ambiguous_only_column_reads_as_fy_unless_told() -> None:
    assert column_frequency(["2009-10", "2010-11", "2011-12"]) == "fy"
    assert column_frequency(["2009-10", "2010-11"], "month") == "month"
    assert parse_period("2010-11", "month") == pd.Period("2010-11", freq="M")


def test_ingest_then_validate_a_monthly_panel_from_2006(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = tmp_path / "cases.csv"
    lines = ["force,received,completed,outsourced,cost_gbp"]
    for m in _monthly("2006-01", 84):
        lines.append(f"Kent,{m}-05,{m}-20,no,10")
        lines.append(f"Essex,{m}-06,{m}-21,yes,12")
    cases.write_text("\n".join(lines) + "\n")
    out = tmp_path / "panel.csv"
    assert main(["ingest", str(cases), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["validate", str(out)]) == 0, capsys.readouterr().out


# ------------------------------------------------------------------ untrusted text stays text
def _effects_with_draws(folder: Path, name: str) -> Path:
    lines = [
        line
        for line in (SAMPLE / "effects.csv").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    header, *rows = lines
    path = folder / "effects.csv"
    path.write_text(
        "\n".join([header + ",draws", *(r + f",{name}" for r in rows)]) + "\n", encoding="utf-8"
    )
    return path


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/etc/passwd", "/dev/zero", "sub/draws.csv", "draws.txt", ".."]
)
def test_effects_draws_cannot_name_files_elsewhere(tmp_path: Path, name: str) -> None:
    from evaluation.appraisal import load_effects

    with pytest.raises(AppraisalError, match="draws"):
        load_effects(_effects_with_draws(tmp_path, name))


def test_effects_draws_link_and_oversized_refused(tmp_path: Path, monkeypatch) -> None:
    import evaluation.appraisal.effects as effects_module
    from evaluation.appraisal import load_effects

    (tmp_path / "secret.csv").write_text("x\n1\n2\n")
    (tmp_path / "draws.csv").symlink_to(tmp_path / "secret.csv")
    with pytest.raises(AppraisalError, match="not a regular file"):
        load_effects(_effects_with_draws(tmp_path, "draws.csv"))
    (tmp_path / "draws.csv").unlink()
    metrics = pd.read_csv(SAMPLE / "effects.csv", comment="#")["metric"].tolist()
    draws = pd.DataFrame({m: [0.0, 1.0, 2.0] for m in metrics})
    draws.to_csv(tmp_path / "draws.csv", index=False)
    table = load_effects(_effects_with_draws(tmp_path, "draws.csv"))
    assert table.draws is not None and len(table.draws) == 3
    monkeypatch.setattr(effects_module, "MAX_DRAWS_BYTES", 10)
    with pytest.raises(AppraisalError, match="limit"):
        load_effects(_effects_with_draws(tmp_path, "draws.csv"))


INJECTIONS = [
    "=cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_neutraliser_quotes_every_injection_form(text: str) -> None:
    from evaluation import neutralise_cell

    assert neutralise_cell(text) == "'" + text
    assert neutralise_cell(neutralise_cell(text)) == "'" + text  # idempotent


@pytest.mark.parametrize("value", ["1e-3", "Kent", "2022-23", "", -5.0, 3, None])
def test_neutraliser_leaves_values_alone(value: object) -> None:
    from evaluation import neutralise_cell

    assert neutralise_cell(value) == value


def test_input_check_lets_plain_numbers_through() -> None:
    from evaluation.readers import is_formula

    assert not any(is_formula(t) for t in ["-5", "+3.5", "-1e3", "-"])


@pytest.mark.parametrize("text", INJECTIONS[1:3])
def test_number_led_injections_are_input_errors(tmp_path: Path, text: str) -> None:
    from evaluation.readers import read_table

    path = tmp_path / "ledger.csv"
    pd.DataFrame({"force": ["Kent"], "description": [text]}).to_csv(path, index=False)
    problems = read_table(path).problems
    assert any(p.column == "description" and p.row == 2 for p in problems)


def test_csv_writers_neutralise_text(tmp_path: Path) -> None:
    from evaluation.commands.ingest import write_panel

    panel = pd.DataFrame({"force": INJECTIONS[:3], "period": ["2022-04"] * 3, "backlog": [1, 2, 3]})
    out = tmp_path / "panel.csv"
    write_panel(panel, out)
    back = pd.read_csv(out, dtype=str)
    assert back["force"].tolist() == ["'" + t for t in INJECTIONS[:3]]
    assert back["backlog"].tolist() == ["1", "2", "3"]
