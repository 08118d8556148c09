"""Dashboard services and page logic without a browser: uploads, per-user data, what-if."""

from __future__ import annotations

import base64
import io
import zipfile
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from dashboard.pages.value_for_money import parse_inputs
from dashboard.security import UploadRejected, check_xlsx_archive, neutralise_formulas, safe_csv
from dashboard.services import (
    AnalysisSettings,
    appraise_what_if,
    bundled_dataset,
    check_upload,
    load_frames,
    pipeline_result,
    scenario_effects,
    vfm_defaults,
)
from dashboard.store import UserStore, parse_token

SETTINGS = AnalysisSettings(reps=49, draws=200)
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def _b64(data: bytes, mime: str = "text/csv") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> UserStore:
    return UserStore(tmp_path_factory.mktemp("store"))


def test_bad_upload_changes_nothing_and_reports_every_problem(store: UserStore) -> None:
    default = bundled_dataset(store)
    text = (SAMPLE / "register.csv").read_text(encoding="utf-8")
    bad = text.replace("Cheshire,2,2023-04-01", "Atlantis,2,2023-04-01").replace(
        "Wiltshire,2,2023-04-01", "Wiltshire,2,not a date"
    )
    out = check_upload(
        store, "amy", "register", "reg.csv", _b64(bad.encode()), default, max_bytes=10**6
    )
    assert not out.ok
    assert "Nothing already loaded has changed" in out.message
    errors = out.problems[out.problems["severity"] == "error"]
    atlantis = errors[errors["value"] == "Atlantis"]
    assert len(atlantis) == 1
    assert atlantis.iloc[0]["file"] == "reg.csv"
    assert atlantis.iloc[0]["column"] == "force"
    assert int(atlantis.iloc[0]["row"]) == 5  # header is row 1; Cheshire was the 4th pilot
    date = errors[errors["value"] == "not a date"]
    assert len(date) == 1 and date.iloc[0]["column"] == "go_live"
    assert store.dataset("amy", default) == default


def test_good_upload_becomes_that_users_data_only(store: UserStore) -> None:
    default = bundled_dataset(store)
    lines = (SAMPLE / "register.csv").read_text(encoding="utf-8").splitlines()
    good = "\n".join(lines[:-1]) + "\n"  # one pilot fewer
    out = check_upload(
        store, "bob", "register", "fewer.csv", _b64(good.encode()), default, max_bytes=10**6
    )
    assert out.ok, out.problems
    mine = store.dataset("bob", default)
    assert mine.register.name == "fewer.csv" and mine.panel == default.panel
    assert store.dataset("carol", default) == default  # other users keep their data
    frames = load_frames(store, mine.token)
    assert len(frames.register) == len(lines) - 2
    store.reset("bob")
    assert store.dataset("bob", default) == default


def test_unreadable_and_oversized_uploads_are_refused(store: UserStore) -> None:
    default = bundled_dataset(store)
    out = check_upload(store, "amy", "panel", "p.txt", _b64(b"a,b\n1,2\n"), default, max_bytes=100)
    assert not out.ok and "unsupported file type" in out.message
    out = check_upload(store, "amy", "panel", "p.csv", _b64(b"x" * 500), default, max_bytes=100)
    assert not out.ok and "over 0.0 MB" in out.message
    out = check_upload(
        store, "amy", "panel", "p.csv", "data:text/csv;base64,@@@", default, max_bytes=100
    )
    assert not out.ok and "base64" in out.message


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_xlsx_zip_bomb_is_refused_before_parsing(store: UserStore) -> None:
    bomb = _zip({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"0" * 5_000_000})
    assert len(bomb) < 50_000
    with pytest.raises(UploadRejected, match="would expand to 5 MB"):
        check_xlsx_archive(bomb, max_uncompressed=1_000_000, name="bomb.xlsx")
    with pytest.raises(UploadRejected, match="compressed more than 100:1"):
        check_xlsx_archive(bomb, max_uncompressed=10**9, name="bomb.xlsx")
    with pytest.raises(UploadRejected, match="not an Excel workbook"):
        check_xlsx_archive(_zip({"a.txt": b"hi"}), max_uncompressed=10**6)
    with pytest.raises(UploadRejected, match=r"not a valid \.xlsx"):
        check_xlsx_archive(b"PK not really", max_uncompressed=10**6)
    default = bundled_dataset(store)
    out = check_upload(store, "amy", "ledger", "bomb.xlsx", _b64(bomb), default, max_bytes=200_000)
    assert not out.ok and "zip bomb" in out.message


def test_tokens_cannot_name_other_files() -> None:
    good = ",".join(["a" * 64 + ".csv"] * 3)
    assert parse_token(good) == ("a" * 64 + ".csv",) * 3
    for bad in (
        "../../etc/passwd,x,y",
        good + ",x",
        "A" * 64 + ".csv," * 2 + "b" * 64 + ".csv",
        ",".join(["a" * 64 + ".py"] * 3),
    ):
        with pytest.raises(ValueError):
            parse_token(bad)


def test_formula_injection_is_neutralised() -> None:
    frame = pd.DataFrame(
        {
            "=cmd": ['=HYPERLINK("x")', "+1+cmd|x", "@SUM(A1)", "Kent", "-2+3+cmd|x"],
            "n": [-1.5, 2.0, 3.0, 4.0, 5.0],
        }
    )
    lines = safe_csv(frame).splitlines()
    assert lines[0] == "'=cmd,n"
    assert lines[1].startswith("\"'=HYPERLINK")
    assert lines[2].startswith("'+1+cmd") and lines[3].startswith("'@SUM")
    assert lines[4] == "Kent,4.0" and lines[5] == "'-2+3+cmd|x,5.0"
    assert lines[1].endswith(",-1.5")  # numbers untouched
    assert neutralise_formulas("=1") == "'=1" and neutralise_formulas(-3) == -3


def test_scenario_effects_move_by_z_standard_errors_towards_less_or_more_benefit() -> None:
    from evaluation.appraisal import load_params

    params = load_params()
    eff = pd.DataFrame(
        {
            "metric": ["outsourced_exams", "cce_referrals", "backlog"],
            "estimate": [-100.0, 4.0, -7.0],
            "se": [10.0, 2.0, 1.0],
            "unit": ["count"] * 3,
            "per": ["force-year"] * 3,
        }
    )
    z = params.scenario_effect_z
    low = scenario_effects(eff, params, "low")
    high = scenario_effects(eff, params, "high")
    # fewer outsourced exams is a benefit (sign -1): low = less of a fall
    assert low.loc[0, "estimate"] == pytest.approx(-100.0 + z * 10.0)
    assert high.loc[0, "estimate"] == pytest.approx(-100.0 - z * 10.0)
    # more referrals is a benefit (sign +1)
    assert low.loc[1, "estimate"] == pytest.approx(4.0 - z * 2.0)
    # a metric without a benefit line is left alone
    assert low.loc[2, "estimate"] == high.loc[2, "estimate"] == -7.0
    assert scenario_effects(eff, params, "central").equals(eff)
    with pytest.raises(ValueError, match="scenario must be one of low, central, high"):
        scenario_effects(eff, params, "best")


def test_what_if_at_defaults_reproduces_the_main_run_and_responds_to_inputs(
    store: UserStore,
) -> None:
    from evaluation.appraisal import appraise, load_params

    token = bundled_dataset(store).token
    result = pipeline_result(store, token, SETTINGS)
    d = vfm_defaults()
    a = appraise_what_if(store, token, SETTINGS, d)
    assert a.summary.npsv == pytest.approx(result.appraisal.summary.npsv, rel=1e-12)
    assert a.rollout.summary.npsv == pytest.approx(result.appraisal.rollout.summary.npsv, rel=1e-12)
    # a higher discount rate: recompute independently with the library's own parameter update
    frames = load_frames(store, token)
    go_live = dict(zip(frames.register["force"], frames.register["go_live"], strict=True))
    params = load_params().updated("discounting.rate", 0.07)
    direct = appraise(
        frames.ledger,
        result.effects[["metric", "estimate", "se", "unit", "per"]],
        params,
        go_live=go_live,
        uncertainty=False,
        monte_carlo=False,
    )
    changed = appraise_what_if(store, token, SETTINGS, replace(d, discount_rate=0.07))
    assert changed.summary.npsv == pytest.approx(direct.summary.npsv, rel=1e-12)
    assert changed.summary.npsv != pytest.approx(a.summary.npsv, rel=1e-6)
    # a dearer outsourced exam makes avoiding them worth more
    dear = appraise_what_if(store, token, SETTINGS, replace(d, exam_price=900.0))
    assert dear.summary.pv_benefits > a.summary.pv_benefits


def test_headline_fills_each_part_of_the_frame_and_hides_a_missing_rollout(
    store: UserStore,
) -> None:
    from dataclasses import replace as dc_replace

    from dashboard.components import fmt_gbp
    from dashboard.pages.value_for_money import HEADLINE_OUTPUTS, headline

    token = bundled_dataset(store).token
    a = appraise_what_if(store, token, SETTINGS, vfm_defaults())
    values = dict(zip(HEADLINE_OUTPUTS, headline(a), strict=True))
    assert fmt_gbp(a.summary.npsv) in str(values[("vfm-pilot-summary", "children")])
    figure = values[("vfm-pilot-chart", "figure")]
    assert figure.layout.autosize and figure.layout.width is None  # sized by its frame
    assert "cumulative net present social value" in values[("vfm-pilot-chart-img", "aria-label")]
    assert fmt_gbp(a.summary.npsv) in values[("vfm-pilot-chart-summary", "children")]
    assert values[("vfm-rollout", "hidden")] is False
    assert fmt_gbp(a.rollout.summary.npsv) in str(values[("vfm-rollout-summary", "children")])
    assert values[("vfm-rollout-chart", "figure")].data  # the rollout is drawn
    # without a rollout its section is hidden and emptied
    values = dict(zip(HEADLINE_OUTPUTS, headline(dc_replace(a, rollout=None)), strict=True))
    assert values[("vfm-rollout", "hidden")] is True
    assert values[("vfm-rollout-summary", "children")] is None
    assert values[("vfm-rollout-chart", "figure")] == {}


def test_a_recent_result_is_served_from_memory_and_only_for_its_own_store(
    store: UserStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard.services import _analysis

    token = bundled_dataset(store).token
    first = pipeline_result(store, token, SETTINGS)

    def no_disk(_store: UserStore) -> None:
        raise AssertionError("read from disk")

    monkeypatch.setattr(_analysis, "_cache", no_disk)
    assert pipeline_result(store, token, SETTINGS) is first
    other = UserStore(tmp_path / "other")
    with pytest.raises(AssertionError, match="read from disk"):  # another store: not shared
        pipeline_result(other, bundled_dataset(other).token, SETTINGS)
    with pytest.raises(AssertionError, match="read from disk"):  # other settings: not shared
        pipeline_result(store, token, AnalysisSettings(reps=48, draws=200))


def test_parse_inputs_reports_each_bad_value() -> None:
    d = vfm_defaults()
    ok, errors = parse_inputs(
        (
            100 * d.discount_rate,
            d.ob_pilot,
            d.ob_rollout,
            d.exam_price,
            d.hour_cost,
            d.hour_share,
            d.period_years,
            "central",
            d.rollout_forces,
            d.rollout_start,
        )
    )
    assert errors == [] and ok is not None
    assert ok.discount_rate == pytest.approx(0.035) and ok == replace(
        d, discount_rate=ok.discount_rate
    )
    bad, errors = parse_inputs(
        (None, "lower", "maybe", -1, 36.51, 2, 2.5, "central", "all", "after-ledger")
    )
    assert bad is None
    text = " | ".join(errors)
    assert "Discount rate: enter a number" in text
    assert "Optimism bias (rollout): choose one of lower, upper, mitigated, none" in text
    assert "Price of an outsourced examination: enter a number from 0 up" in text
    assert "Share of an hour's cost: enter a number from 0 to 1" in text
    assert "Appraisal period: enter a whole number of years" in text


def test_a_job_forked_while_another_thread_holds_the_cache_lock_still_runs(tmp_path: Path) -> None:
    """Background jobs are forked from a threaded server; the child must not inherit a held lock.

    Reproduces the hang seen in the browser tests: a request thread was inside ``open_cache``
    when another request forked the Monte Carlo job, which then waited for the lock for ever.
    """
    import multiprocess

    from dashboard import store as store_module

    def child(directory: str) -> None:
        store_module.open_cache(Path(directory)).set("ok", 1)

    with store_module._HANDLES_LOCK:  # as a request thread would be at the moment of the fork
        proc = multiprocess.get_context("fork").Process(target=child, args=(str(tmp_path),))
        proc.start()
        proc.join(timeout=60)
    if proc.is_alive():
        proc.kill()
        proc.join()
        pytest.fail("the forked job waited for a lock its parent held")
    assert proc.exitcode == 0
    assert store_module.open_cache(tmp_path).get("ok") == 1


def _write_parent(path: str) -> None:
    import os

    Path(path + ".part").write_text(f"{os.getppid()} {os.nice(0)}")
    os.replace(path + ".part", path)  # whole or absent, never half written


def test_background_jobs_start_from_the_fork_server_not_the_web_server(tmp_path: Path) -> None:
    """A job must not be a fork of the threaded server (locks and SQLite state would come along)."""
    import os
    import time

    import diskcache

    from dashboard.jobs import JOB_NICENESS, JobManager

    manager = JobManager(diskcache.Cache(str(tmp_path / "jobs")))
    out = tmp_path / "parent.txt"
    pid = manager.call_job_fn("k", lambda *a: _write_parent(str(out)), (), {})
    deadline = time.monotonic() + 120
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out.exists(), "the job never ran"
    parent, niceness = (int(x) for x in out.read_text().split())
    assert pid != os.getpid()
    assert parent != os.getpid()
    # and at a lower priority than the server, so that the pages' own callbacks answer first
    assert niceness == min(os.nice(0) + JOB_NICENESS, 19)


def _sleep(*args: object) -> None:
    import time

    time.sleep(60)


def test_a_job_is_ended_while_running_and_a_finished_one_is_not_an_error(tmp_path: Path) -> None:
    """Dash ends the previous job when its inputs change; the fork server may have reaped it."""
    import os
    import subprocess
    import time

    import diskcache
    import psutil

    from dashboard.jobs import JobManager

    manager = JobManager(diskcache.Cache(str(tmp_path / "jobs")))
    pid = manager.call_job_fn("k", _sleep, (), {})
    assert manager.job_running(pid)
    manager.terminate_job(pid)
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not manager.job_running(pid)
    # ending a job that has already ended (and been reaped) is not an error
    manager.terminate_job(pid)
    manager.terminate_job(None)
    # a process that is not one of its jobs is never touched, even given its id
    other = subprocess.Popen(["sleep", "30"])
    try:
        assert not manager.job_running(other.pid)
        manager.terminate_job(other.pid)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
    assert not manager.job_running(os.getpid())


def test_history_has_one_row_per_report_year_equal_to_that_year_s_report(
    store: UserStore, tmp_path: Path
) -> None:
    from dashboard.pages.overview import history
    from dashboard.services import answer_history_view, report_years
    from evaluation.annual import report_for_year

    token = bundled_dataset(store).token
    steps: list[tuple[int, int]] = []
    table = answer_history_view(
        store, token, SETTINGS, progress=lambda i, n, s: steps.append((i, n))
    )
    years = report_years(store, token)
    assert table["financial_year"].tolist() == years and len(years) >= 2
    assert steps[0] == (0, len(years)) and steps[-1] == (len(years), len(years))
    # the first year's row is that year's report, made independently
    frames = load_frames(store, token)
    first = report_for_year(
        frames.panel,
        frames.register,
        frames.ledger,
        years[0],
        tmp_path,
        robustness=False,
        **SETTINGS.pipeline_options(),
    ).headline
    row = table.iloc[0]
    assert (row["npsv"], row["bcr"], row["rollout_npsv"]) == (
        first.npsv,
        first.bcr,
        first.rollout_npsv,
    )
    # cached: the second call computes nothing
    again: list[tuple[int, int]] = []
    same = answer_history_view(
        store, token, SETTINGS, progress=lambda i, n, s: again.append((i, n))
    )
    pd.testing.assert_frame_equal(same, table)
    assert again == []
    # drawn with its numbers: one table row per year, and a summary naming both ends
    html_text = str(history(table))
    assert html_text.count("govuk-table__row") == len(years) + 1
    assert years[0] in html_text and years[-1] in html_text


def test_what_if_without_the_options_list_gives_the_same_answer() -> None:
    """The fast what-if skips the options list and the rollout's bias bounds; nothing else moves."""
    import evaluation as ev
    from evaluation.appraisal import appraise, load_effects, load_params

    ledger = ev.load_ledger(SAMPLE / "costs.csv")
    reg = ev.load_register(SAMPLE / "register.csv")
    go_live = dict(zip(reg["force"], reg["go_live"], strict=True))
    effects = load_effects(SAMPLE / "effects.csv")
    params = load_params()
    full = appraise(ledger, effects, params, go_live=go_live, uncertainty=False)
    fast = appraise(
        ledger, effects, params, go_live=go_live, uncertainty=False, options=False, ob_bounds=False
    )
    assert fast.options is None and full.options is not None
    ob_full = full.rollout.optimism_bias.set_index("stage")
    ob_fast = fast.rollout.optimism_bias.set_index("stage")
    assert list(ob_fast.index) == [params.ob_rollout_stage] and len(ob_full) >= 2
    pd.testing.assert_series_equal(
        ob_fast.loc[params.ob_rollout_stage], ob_full.loc[params.ob_rollout_stage]
    )
    assert fast.summary == full.summary
    assert fast.rollout is not None and full.rollout is not None
    assert fast.rollout.summary == full.rollout.summary
    pd.testing.assert_frame_equal(fast.by_year, full.by_year)


def test_switching_values_are_shown_in_words_with_every_row_kept() -> None:
    from dashboard.pages.value_for_money import switching_table

    raw = pd.DataFrame(
        {
            "input": ["effect:outsourced_exams", "cost_scale", "discount_rate"],
            "description": ["effect estimate per force-year", "multiplier on costs", "rate"],
            "central": [-170.6, 1.0, 0.035],
            "switching_value": [-740.5, -0.108, float("nan")],
            "change_pct": [334.0, -110.8, float("nan")],
            "note": ["in units of the metric", "", "NPSV keeps its sign for rates 0% to 100%"],
            "feasible": [True, False, None],
            "infeasible_because": ["", "negative: costs cannot fall below zero", ""],
        }
    )
    t = switching_table(raw)
    assert t.columns.tolist() == ["input", "central", "switching_value", "change_pct", "possible"]
    assert t["input"].tolist() == [
        "Effect on outsourced exams (effect estimate per force-year)",
        "multiplier on costs",
        "rate",
    ]
    assert t["possible"].tolist() == [
        "Yes (in units of the metric)",
        "No: negative: costs cannot fall below zero",
        "NPSV keeps its sign for rates 0% to 100%",
    ]
    assert t["switching_value"].iloc[0] == -740.5 and t["change_pct"].iloc[1] == -110.8
