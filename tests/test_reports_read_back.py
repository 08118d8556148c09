"""What a person reads: the text reports and files of ``run``, ``estimate`` and ``appraise``.

Each command is run through :func:`evaluation.cli.main`; its printed report and the files it
writes are read back and every figure is compared with the value the library computes for the
same inputs (never with a hard-coded number). A printed figure is compared to half a unit of its
last printed digit, so a figure printed in the wrong place, with the wrong sign, or swapped with
another fails.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluation.appraisal import Appraisal, Summary, appraise, load_effects, load_params
from evaluation.cli import main
from evaluation.estimation import estimate
from evaluation.ingest import load_ledger, load_register
from evaluation.pipeline import PipelineInputs, PipelineResult, run_pipeline, write_outputs
from evaluation.provenance import file_sha256

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
SEED = 7
DRAWS = 1000


def _run_cli(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    assert code == 0, out.getvalue()[-2000:]
    return out.getvalue()


# ------------------------------------------------------------------------ reading a text table
_NUMBER = re.compile(r"([+-]?[\d,]*\.?\d+)(m|%)?")


def _matches(cell: str, value: Any) -> bool:
    """Whether a printed cell shows ``value`` (to half a unit of its last printed digit)."""
    if cell in ("n/a", "NaN", "nan", ""):
        return value is None or (isinstance(value, float) and math.isnan(value))
    number = _NUMBER.fullmatch(cell)
    if number is not None and not isinstance(value, str | bool | np.bool_):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        text, suffix = number.groups()
        decimals = len(text.split(".")[1]) if "." in text else 0
        shown = float(text.replace(",", ""))
        v = float(value) / 1e6 if suffix == "m" else float(value)
        return abs(shown - v) <= 0.5 * 10.0**-decimals * (1 + 1e-9) + 1e-12 * abs(v)
    return cell == str(value)


def _table_at(
    lines: list[str], start: int, first_column: str | None = None
) -> tuple[list[str], int, list[tuple[int, int]]]:
    """The header, first row index and column spans of the first dashed table after ``start``
    (whose first column is ``first_column``, when given)."""
    for i in range(start, len(lines)):
        if re.fullmatch(r"\s*-+(\s+-+)*\s*", lines[i]) and lines[i].strip():
            spans = [m.span() for m in re.finditer(r"-+", lines[i])]
            header = [lines[i - 1][a:b].strip() for a, b in spans]
            if first_column is None or header[0] == first_column:
                return header, i + 1, spans
    raise AssertionError(f"no table after line {start}")


def _line_index(lines: list[str], prefix: str, start: int = 0) -> int:
    for i in range(start, len(lines)):
        if lines[i].startswith(prefix):
            return i
    raise AssertionError(f"no line starting {prefix!r} in the report")


def _assert_table(
    lines: list[str],
    title: str,
    frame: pd.DataFrame,
    start: int = 0,
    first_column: str | None = None,
) -> int:
    """Compare the dashed table after the line ``title`` with ``frame``, row by row."""
    header, first, spans = _table_at(lines, _line_index(lines, title, start), first_column)
    assert len(header) >= 4 and set(header) <= set(frame.columns), header
    records = frame.to_dict("records")
    for k, rec in enumerate(records):
        row = lines[first + k]
        for col, (a, b) in zip(header, spans, strict=True):
            cell = row[a:b].strip() if b < len(row) or col != header[-1] else row[a:].strip()
            assert _matches(cell, rec[col]), (title, k, col, cell, rec[col])
    after = lines[first + len(records)] if first + len(records) < len(lines) else ""
    assert not after.strip() or not re.match(r"\s+\S+\s{2,}", after) or "Monte" in after, after
    return first + len(records)


def _money(text: str) -> float:
    return math.nan if text == "n/a" else float(text.rstrip("m").replace(",", "")) * 1e6


def _close(shown: float, value: float, unit: float) -> bool:
    if math.isnan(value):
        return math.isnan(shown)
    return abs(shown - value) <= 0.5 * unit * (1 + 1e-9)


def _assert_headline(lines: list[str], start: int, s: Summary) -> None:
    """The seven headline lines of one view (the line at ``start`` is the view's title)."""
    block = "\n".join(lines[start + 1 : start + 8])
    m = re.search(r"PV costs\s+(\S+)", block)
    assert m and _close(_money(m[1]), s.pv_costs, 1e4), (m and m[1], s.pv_costs)
    m = re.search(r"PV benefits \(core\)\s+(\S+)\s+cashable (\S+), non-cashable (\S+)", block)
    assert m is not None
    for shown, value in zip(
        m.groups(), (s.pv_benefits, s.pv_benefits_cashable, s.pv_benefits_noncashable), strict=True
    ):
        assert _close(_money(shown), value, 1e4), (shown, value)
    m = re.search(r"\n\s*NPSV\s+(\S+)", "\n" + block)
    assert m and _close(_money(m[1]), s.npsv, 1e4), (m and m[1], s.npsv)
    m = re.search(r"\n\s*BCR\s+(\S+)\s+value for money: (.+)", "\n" + block)
    assert m and _matches(m[1], s.bcr) and m[2].strip() == s.vfm_category, (m and m.groups(), s)
    m = re.search(r"Cashable BCR\s+(\S+)\s+cashable ROI (\S+)", block)
    assert m and _matches(m[1], s.cashable_bcr) and _matches(m[2], s.cashable_roi)
    m = re.search(r"Payback \(discounted\) (.+)", block)
    expected = (
        f"{s.payback_year} (year {s.payback_years})" if s.payback_year else "not within the period"
    )
    assert m and m[1].strip() == expected
    m = re.search(r"With wider social values: NPSV (\S+), BCR (\S+) \((.+)\)", block)
    assert m is not None
    assert _close(_money(m[1]), s.npsv_with_wider, 1e4), (m[1], s.npsv_with_wider)
    assert _matches(m[2], s.bcr_with_wider) and m[3] == s.vfm_category_with_wider


def _assert_json_frame(records: list[dict[str, Any]], frame: pd.DataFrame) -> None:
    assert len(records) == len(frame)
    for rec, lib in zip(records, frame.to_dict("records"), strict=True):
        assert set(rec) == {str(k) for k in lib}
        for key, value in lib.items():
            _assert_json_value(rec[str(key)], value, key)


def _assert_json_value(got: Any, value: Any, key: object) -> None:
    if isinstance(value, float | np.floating) and (math.isnan(value) or math.isinf(value)):
        assert got is None, key
    elif isinstance(value, bool | np.bool_):
        assert got is bool(value), key
    elif isinstance(value, int | float | np.integer | np.floating):
        assert got == pytest.approx(float(value), rel=1e-12, abs=1e-12), key
    else:
        assert got == (None if value is None else str(value) if not isinstance(got, str) else value)


def _assert_summary_json(doc: dict[str, Any], s: Summary) -> None:
    for key, value in s.__dict__.items():
        _assert_json_value(doc[key], value, key)
    # and the figures agree with each other, as a reader would check them
    assert doc["npsv"] == pytest.approx(doc["pv_benefits"] - doc["pv_costs"], abs=1e-6)
    assert doc["npsv_with_wider"] == pytest.approx(
        doc["pv_benefits"] + doc["pv_benefits_wider"] - doc["pv_costs"], abs=1e-6
    )
    assert doc["bcr_with_wider"] == pytest.approx(
        (doc["pv_benefits"] + doc["pv_benefits_wider"]) / doc["pv_costs"], rel=1e-12
    )


def _assert_appraisal_json(doc: dict[str, Any], a: Appraisal) -> None:
    _assert_summary_json(doc, a.summary)
    _assert_json_frame(doc["by_year"], a.by_year)
    _assert_json_frame(doc["switching_values"], a.uncertainty.switching_values)
    _assert_json_frame(doc["sensitivity"], a.uncertainty.sensitivity)
    _assert_json_frame(doc["scenarios"], a.uncertainty.scenarios)
    _assert_json_frame(doc["costs_by_category"], a.costs_by_category)
    _assert_json_frame(doc["benefits_by_line"], a.benefits_by_line)
    mc = a.monte_carlo
    assert mc is not None
    for key in ("draws", "p10", "p50", "p90", "mean", "sd", "prob_positive", "bcr_p50"):
        _assert_json_value(doc["monte_carlo"][key], getattr(mc, key), key)
    assert a.go_forward is not None and a.rollout is not None
    _assert_summary_json(doc["go_forward"], a.go_forward)
    _assert_summary_json(doc["rollout"], a.rollout.summary)
    _assert_json_frame(doc["rollout"]["by_year"], a.rollout.by_year)
    _assert_json_frame(doc["rollout"]["switching_values"], a.rollout.uncertainty.switching_values)


def _assert_appraisal_report(text: str, a: Appraisal) -> None:
    lines = text.splitlines()
    _assert_headline(lines, _line_index(lines, "Ex-post view"), a.summary)
    assert a.go_forward is not None and a.rollout is not None
    _assert_headline(lines, _line_index(lines, "Go-forward view"), a.go_forward)
    _assert_table(lines, "Year by year", a.by_year)
    _assert_table(lines, "Costs by category", a.costs_by_category)
    _assert_table(lines, "Benefit lines", a.benefits_by_line)
    _assert_table(lines, "Switching values", a.uncertainty.switching_values)
    _assert_table(lines, "One-way sensitivity", a.uncertainty.sensitivity)
    _assert_table(lines, "Scenarios", a.uncertainty.scenarios)
    mc = a.monte_carlo
    assert mc is not None
    i = _line_index(lines, "Monte Carlo (")
    m = re.search(
        r"NPSV P10 (\S+), P50 (\S+), P90 (\S+); P\(NPSV > 0\) = (\S+) \(MC s\.e\. (\S+)\); "
        r"BCR P10/P50/P90 (\S+)/(\S+)/(\S+)",
        lines[i],
    )
    assert m is not None, lines[i]
    for shown, value in zip(m.groups()[:3], (mc.p10, mc.p50, mc.p90), strict=True):
        assert _close(_money(shown), value, 1e4), (shown, value)
    values = (mc.prob_positive, mc.prob_positive_se, mc.bcr_p10, mc.bcr_p50, mc.bcr_p90)
    for shown, value in zip(m.groups()[3:], values, strict=True):
        assert _matches(shown, value), (shown, value)
    assert f"{mc.draws:,} draws" in lines[i]
    m = re.search(r"P\(NPSV > 0\) = (\S+)$", lines[i + 1])
    assert m and _matches(m[1], mc.analytic_prob_positive)
    k = _line_index(lines, "  P(paid back by the end of year)", start=i)
    paid = re.findall(r"(\d{4}-\d{2}) (\S+?)(?:,|$)", lines[k].split(":", 1)[1])
    assert [y for y, _ in paid] == list(mc.by_year["financial_year"])
    for (_, shown), value in zip(paid, mc.by_year["prob_paid_back"], strict=True):
        assert _matches(shown, value)
    r = _line_index(lines, "National rollout")
    assert f"{a.rollout.n_forces} forces" in lines[r]
    _assert_headline(lines, r, a.rollout.summary)
    _assert_table(lines, "National rollout", a.rollout.by_year, r, first_column="financial_year")
    rmc = a.rollout.uncertainty.monte_carlo
    assert rmc is not None
    m = re.search(
        r"NPSV P10 (\S+), P50 (\S+), P90 (\S+); P\(NPSV > 0\) = (\S+)",
        text[text.index("National rollout") :],
    )
    assert m is not None
    for shown, value in zip(m.groups()[:3], (rmc.p10, rmc.p50, rmc.p90), strict=True):
        assert _close(_money(shown), value, 1e4)
    assert _matches(m[4], rmc.prob_positive)
    for line in a.rollout.break_even:
        assert f"  - {line}" in text


# ----------------------------------------------------------------------------------- appraise
@pytest.fixture(scope="module")
def appraisal() -> Appraisal:
    """The library's appraisal of the bundled inputs, as ``pathfinder appraise`` makes it."""
    reg = load_register(SAMPLE / "register.csv")
    return appraise(
        load_ledger(SAMPLE / "costs.csv"),
        load_effects(SAMPLE / "effects.csv"),
        load_params(),
        go_live=dict(zip(reg["force"], reg["go_live"], strict=True)),
        rng=np.random.default_rng(SEED),
        seed=SEED,
        draws=DRAWS,
        source="costs.csv",
    )


@pytest.fixture(scope="module")
def appraise_cli(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("appraise") / "appraisal.json"
    text = _run_cli("appraise", "--seed", str(SEED), "--draws", str(DRAWS), "--out", str(out))
    return text, json.loads(out.read_text(encoding="utf-8"))


def test_appraise_text_report_shows_the_library_figures(appraise_cli, appraisal) -> None:
    text, _ = appraise_cli
    _assert_appraisal_report(text, appraisal)
    assert f"seed {SEED}" in text


def test_appraise_json_file_holds_the_library_figures(appraise_cli, appraisal) -> None:
    _, doc = appraise_cli
    _assert_appraisal_json(doc, appraisal)
    assert doc["inputs"]["seed"] == SEED and doc["inputs"]["costs"] == "costs.csv"


def test_appraise_json_on_stdout_equals_the_file(appraise_cli) -> None:
    _, doc = appraise_cli
    printed = json.loads(_run_cli("appraise", "--seed", str(SEED), "--draws", str(DRAWS), "--json"))
    assert printed == doc


# ----------------------------------------------------------------------------------- estimate
def _bundled_frame() -> pd.DataFrame:
    from evaluation.panel import attach_cohorts
    from evaluation.readers import read_table

    return attach_cohorts(
        read_table(SAMPLE / "panel.csv").frame, read_table(SAMPLE / "register.csv").frame
    )


_OVERALL = re.compile(
    r"overall effect\s+(\S+)\s+se\s+(\S+)\s+(\d+)% CI \[(\S+), (\S+)\]\s+p = (\S+)\s+\((\S+)\)"
)


@pytest.mark.parametrize(
    ("outcome", "method", "inference"),
    [("backlog", "imputation", "cr1"), ("median_turnaround_days", "twfe", "cr3")],
)
def test_estimate_text_output_shows_the_library_figures(
    outcome: str, method: str, inference: str
) -> None:
    argv = ["--outcome", outcome, "--method", method, "--inference", inference]
    text = _run_cli("estimate", *argv, "--seed", "3")
    res = estimate(
        _bundled_frame(), outcome, method=method, inference=inference, rng=3, source="panel.csv"
    )
    o = res.overall
    m = _OVERALL.search(text)
    assert m is not None, text[:500]
    est, se, level, lo, hi, p, name = m.groups()
    assert _matches(est, o.estimate) and _matches(se, o.se)
    assert int(level) == round(100 * o.level) and name == o.inference == inference
    assert _matches(lo, o.ci_low) and _matches(hi, o.ci_high)  # in this order, lower first
    assert float(lo) < float(est) < float(hi)
    assert _matches(p, o.p_value)
    # the library's own figures agree with their definition (t with G-1 df, or normal)
    df = res.n_units - 1 if inference == "cr3" else None
    dist = stats.t(df) if df else stats.norm()
    assert o.p_value == pytest.approx(2 * dist.sf(abs(o.estimate / o.se)), rel=1e-9)
    q = dist.ppf(0.5 + o.level / 2)
    assert (o.ci_low, o.ci_high) == pytest.approx((o.estimate - q * o.se, o.estimate + q * o.se))
    # the event-study table, row by row
    lines = text.splitlines()
    es = res.event_study
    if es is None or not len(es):
        assert "event study:" not in text
    else:
        i = _line_index(lines, "event study:")
        header = lines[i + 1].split()
        assert header == [str(c) for c in es.columns]
        for k, rec in enumerate(es.to_dict("records")):
            cells = lines[i + 2 + k].split()
            for col, cell in zip(header, cells, strict=True):
                assert _matches(cell, rec[col]), (k, col, cell, rec[col])
    # the warnings, every one under its heading
    assert res.warnings
    i = lines.index("warnings:")
    assert lines[i + 1 : i + 1 + len(res.warnings)] == [f"  - {w}" for w in res.warnings]
    # the natural-units line
    m2 = re.search(r"per treated force-year \((.+)\): (\S+) (\S*) ?\(se (\S+)\)", text)
    assert m2 is not None
    doc = json.loads(_run_cli("estimate", *argv, "--seed", "3", "--json"))
    nat = doc["natural_units"]
    assert m2[1] == nat["basis"] and _matches(m2[2], nat["estimate"]) and _matches(m2[4], nat["se"])
    assert doc["overall"]["estimate"] == pytest.approx(o.estimate, rel=1e-12)
    assert doc["overall"]["ci_low"] == pytest.approx(o.ci_low, rel=1e-12)
    assert doc["overall"]["p_value"] == pytest.approx(o.p_value, rel=1e-12)


def test_estimate_text_output_of_a_moderate_p_value(tmp_path: Path) -> None:
    # a design with p far from 0 and 1, so 1 - p or a swapped interval cannot pass unnoticed;
    # balanced and staggered, so the Goodman-Bacon table is printed too
    rng = np.random.default_rng(6)
    rows = [(u, t, 3 if u < 2 else 4 if u < 4 else 0) for u in range(9) for t in range(1, 6)]
    df = pd.DataFrame(rows, columns=["id", "t", "g"])
    df["y"] = rng.normal(size=len(df)) + 0.4 * ((df["g"] > 0) & (df["t"] >= df["g"]))
    path = tmp_path / "panel.csv"
    df.to_csv(path, index=False)
    text = _run_cli(
        "estimate", str(path), "--unit", "id", "--time", "t", "--cohort", "g", "--outcome", "y",
        "--method", "twfe", "--inference", "cr1",
    )  # fmt: skip
    res = estimate(df, "y", unit="id", time="t", cohort="g", method="twfe", inference="cr1")
    o = res.overall
    assert 0.1 < o.p_value < 0.9
    m = _OVERALL.search(text)
    assert m is not None
    est, se, _, lo, hi, p, _ = m.groups()
    assert _matches(est, o.estimate) and _matches(se, o.se) and _matches(p, o.p_value)
    assert _matches(lo, o.ci_low) and _matches(hi, o.ci_high)
    # the Goodman-Bacon decomposition, row by row: comparison, treated, control, weight, estimate
    lines = text.splitlines()
    i = lines.index("Goodman-Bacon decomposition:")
    bacon = res.bacon
    assert bacon is not None and len(bacon) == 4
    assert lines[i + 1].split() == ["comparison", "treated", "control", "weight", "estimate"]
    for k, rec in enumerate(bacon.to_dict("records")):
        comparison, treated, control, weight, value = lines[i + 2 + k].strip().rsplit(maxsplit=4)
        assert comparison == rec["comparison"]
        assert (treated, control) == (str(rec["treated"]), str(rec["control"]))
        assert _matches(weight, rec["weight"]) and _matches(value, rec["estimate"])
    assert sum(bacon["weight"] * bacon["estimate"]) == pytest.approx(o.estimate, rel=1e-9)


# ---------------------------------------------------------------------------------------- run
@pytest.fixture(scope="module")
def pipeline() -> PipelineResult:
    return run_pipeline(PipelineInputs.bundled(reps=99, draws=DRAWS, seed=SEED))


@pytest.fixture(scope="module")
def run_cli(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("run")
    text = _run_cli(
        "run", "--out", str(out), "--reps", "99", "--draws", str(DRAWS), "--seed", str(SEED)
    )
    return text, out


def test_run_writes_the_library_effects_csv(run_cli, pipeline) -> None:
    _, out = run_cli
    written = pd.read_csv(out / "effects.csv")
    lib = pipeline.effects
    assert list(written.columns) == list(lib.columns)
    assert list(written["metric"]) == list(lib["metric"])
    for col in lib.columns:
        if pd.api.types.is_numeric_dtype(lib[col]):
            np.testing.assert_allclose(written[col], lib[col], rtol=1e-9, atol=5e-7, err_msg=col)
        else:
            assert list(written[col].fillna("")) == list(lib[col].fillna("")), col


def test_run_writes_the_library_estimates_json(run_cli, pipeline) -> None:
    _, out = run_cli
    doc = json.loads((out / "estimates.json").read_text(encoding="utf-8"))
    assert set(doc) == set(pipeline.results)
    for metric, res in pipeline.results.items():
        o = doc[metric]["overall"]
        for key in ("estimate", "se", "ci_low", "ci_high", "p_value"):
            _assert_json_value(o[key], getattr(res.overall, key), (metric, key))
        assert o["ci_low"] < o["estimate"] < o["ci_high"]
        _assert_json_frame(doc[metric]["event_study"], res.event_study)


def test_run_writes_the_library_appraisal_json(run_cli, pipeline) -> None:
    _, out = run_cli
    doc = json.loads((out / "appraisal.json").read_text(encoding="utf-8"))
    a = pipeline.appraisal
    assert doc["npsv"] == pytest.approx(a.npsv, rel=1e-12) and a.npsv != 0
    _assert_appraisal_json(doc, a)
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["seed"] == SEED
    assert man["inputs"]["panel"]["sha256"] == file_sha256(SAMPLE / "panel.csv")


def test_write_outputs_makes_missing_folders_and_writes_the_library_figures(
    pipeline, tmp_path: Path
) -> None:
    out = tmp_path / "reports" / "2026-04"  # neither folder exists yet
    paths = write_outputs(pipeline, out)
    names = {"effects.csv", "estimates.json", "appraisal.json", "manifest.json"}
    assert {p.name for p in paths.values()} == names == {p.name for p in out.iterdir()}
    assert all(p.parent == out and p.is_file() for p in paths.values())
    _assert_appraisal_json(
        json.loads((out / "appraisal.json").read_text("utf-8")), pipeline.appraisal
    )
    written = pd.read_csv(out / "effects.csv")
    np.testing.assert_allclose(written["estimate"], pipeline.effects["estimate"], atol=5e-7)
    estimates = json.loads((out / "estimates.json").read_text("utf-8"))
    for metric, res in pipeline.results.items():
        _assert_json_value(estimates[metric]["overall"]["estimate"], res.overall.estimate, metric)
    assert json.loads((out / "manifest.json").read_text("utf-8")) == pipeline.manifest


def test_run_prints_the_library_effects_and_appraisal(run_cli, pipeline) -> None:
    text, _ = run_cli
    lines = text.splitlines()
    i = _line_index(lines, "== Estimated effects")
    header = lines[i + 1].split()
    assert header == ["metric", "estimate", "se", "unit", "p_value", "inference"]
    for k, rec in enumerate(pipeline.effects.to_dict("records")):
        cells = lines[i + 2 + k].split()
        assert len(cells) == len(header), cells
        for col, cell in zip(header, cells, strict=True):
            assert _matches(cell, rec[col]), (rec["metric"], col, cell, rec[col])
    report = text[text.index("== Green Book appraisal ==") :]
    _assert_appraisal_report(report, pipeline.appraisal)
