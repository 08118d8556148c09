"""``pathfinder estimate``: JSON shape, any column names, clear errors for bad designs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from evaluation.cli import main

MPDTA = Path(__file__).parent / "data" / "mpdta.csv"
MPDTA_ARGS = ["--unit", "countyreal", "--time", "year", "--cohort", "first.treat"]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["estimate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, str(MPDTA), *MPDTA_ARGS, "--outcome", "lemp", "--inference", "cr1", "--json"
    )
    assert code == 0
    doc = json.loads(out)
    for key in (
        "method",
        "control",
        "outcome",
        "n_units",
        "n_periods",
        "n_treated_units",
        "warnings",
        "overall",
        "group_time",
        "event_study",
    ):
        assert key in doc
    assert set(doc["overall"]) >= {"estimate", "se", "ci_low", "ci_high", "p_value", "inference"}
    assert (doc["n_units"], doc["n_periods"], doc["n_treated_units"]) == (500, 5, 191)
    assert {"group", "time", "estimate", "se"} <= set(doc["group_time"][0])
    assert {"event_time", "estimate", "se", "ci_low", "ci_high"} <= set(doc["event_study"][0])
    # published simple ATT of the R did package for mpdta (unconditional, never treated): -0.0400
    assert doc["overall"]["estimate"] == pytest.approx(-0.0400, abs=1e-4)


def test_twfe_json_has_bacon(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys,
        str(MPDTA),
        *MPDTA_ARGS,
        "--outcome",
        "lemp",
        "--method",
        "twfe",
        "--inference",
        "cr1",
        "--json",
    )
    assert code == 0
    doc = json.loads(out)
    weights = [b["weight"] for b in doc["bacon"]]
    assert sum(weights) == pytest.approx(1.0, abs=1e-10)
    assert {"comparison", "weight", "estimate"} <= set(doc["bacon"][0])


def test_default_inference_is_the_recommended_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(MPDTA), *MPDTA_ARGS, "--outcome", "lemp", "--json")
    assert code == 0
    assert json.loads(out)["overall"]["inference"] == "multiplier"


def _write(tmp_path: Path, df: pd.DataFrame) -> str:
    path = tmp_path / "panel.csv"
    df.to_csv(path, index=False)
    return str(path)


@pytest.fixture
def small(tmp_path: Path) -> pd.DataFrame:
    rows = []
    for u, g in [("a", 3), ("b", 3), ("c", 0), ("d", 0), ("e", 4)]:
        for t in range(1, 6):
            rows.append({"id": u, "t": t, "g": g, "y": t + (2.0 if g and t >= g else 0.0)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.assign(g=[3, 4, 3, 3, 3] + [3] * 5 + [0] * 15), "constant within each unit"),
        (lambda d: d.assign(g=[1] * 10 + [0] * 10 + [4] * 5), "no period before treatment"),
        (lambda d: d.assign(g=[3] * 25), "no comparison units"),
        (lambda d: d.drop(columns="y"), "missing column"),
    ],
)
def test_bad_designs_exit_2_with_a_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small: pd.DataFrame, mutate, message
) -> None:
    path = _write(tmp_path, mutate(small))
    code, _out, err = _run(
        capsys, path, "--unit", "id", "--time", "t", "--cohort", "g", "--outcome", "y"
    )
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_integer_and_string_unit_ids_give_the_same_answer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small: pd.DataFrame
) -> None:
    args = ["--unit", "id", "--time", "t", "--cohort", "g", "--outcome", "y", "--json"]
    args += ["--inference", "cr1"]
    _, out_s, _ = _run(capsys, _write(tmp_path, small), *args)
    numeric = small.assign(id=small["id"].map({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}))
    _, out_i, _ = _run(capsys, _write(tmp_path, numeric), *args)
    s, i = json.loads(out_s), json.loads(out_i)
    assert s["overall"]["estimate"] == pytest.approx(2.0, abs=1e-12)
    assert s["overall"] == i["overall"]


def test_never_treated_as_blank_or_zero(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small: pd.DataFrame
) -> None:
    args = ["--unit", "id", "--time", "t", "--cohort", "g", "--outcome", "y", "--json"]
    args += ["--inference", "cr1"]
    _, out0, _ = _run(capsys, _write(tmp_path, small), *args)
    blank = small.assign(g=small["g"].astype(object).where(small["g"] != 0, ""))
    _, outb, _ = _run(capsys, _write(tmp_path, blank), *args)
    assert json.loads(out0)["overall"] == json.loads(outb)["overall"]


def test_unknown_option_value_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["estimate", str(MPDTA), *MPDTA_ARGS, "--outcome", "lemp", "--method", "ols"])
    assert exc.value.code == 2


def test_covariates_mean_doubly_robust_for_cs(capsys: pytest.CaptureFixture[str]) -> None:
    args = [str(MPDTA), *MPDTA_ARGS, "--outcome", "lemp", "--inference", "cr1", "--json"]
    code, out_default, _ = _run(capsys, *args, "--covariates", "lpop")
    assert code == 0
    _, out_dr, _ = _run(capsys, *args, "--covariates", "lpop", "--estimation", "dr")
    assert json.loads(out_default)["overall"] == json.loads(out_dr)["overall"]
    _, out_none, _ = _run(capsys, *args)
    assert (
        json.loads(out_default)["overall"]["estimate"]
        != json.loads(out_none)["overall"]["estimate"]
    )


def test_options_that_do_not_apply_are_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(
        capsys,
        str(MPDTA),
        *MPDTA_ARGS,
        "--outcome",
        "lemp",
        "--covariates",
        "lpop",
        "--method",
        "sdid",
    )
    assert code == 2 and "does not take covariates" in err
    from evaluation.errors import ConfigError
    from evaluation.estimation import estimate

    df = pd.read_csv(MPDTA)
    with pytest.raises(ConfigError, match="do not apply"):
        estimate(
            df,
            "lemp",
            unit="countyreal",
            time="year",
            cohort="first.treat",
            method="twfe",
            inference="cr1",
            anticipation=1,
        )


def test_natural_units_on_the_bundled_panel(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--allow-unbalanced", "--inference", "cr1", "--json"]
    _, out, _ = _run(capsys, "--outcome", "outsourced_exams", *base)
    doc = json.loads(out)
    # a flow: per force-month x 12
    assert doc["natural_units"]["estimate"] == pytest.approx(12 * doc["overall"]["estimate"])
    assert doc["natural_units"]["per"] == "force-year"
    _, out, _ = _run(capsys, "--outcome", "backlog", *base)
    doc = json.loads(out)
    # a level: the average change
    assert doc["natural_units"]["estimate"] == pytest.approx(doc["overall"]["estimate"])


def test_generic_time_has_no_natural_units(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(
        capsys, str(MPDTA), *MPDTA_ARGS, "--outcome", "lemp", "--inference", "cr1", "--json"
    )
    assert "natural_units" not in json.loads(out)
