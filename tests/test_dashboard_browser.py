"""The dashboard end to end in real headless Chromium (the system's ``chromium``).

One app and one browser per module; small bootstrap and Monte Carlo sizes keep it bounded. Each
test signs in, works a page as a person would, and checks that the browser logged no error,
that no request left 127.0.0.1, and that axe-core (bundled with ``axe-playwright-python``, no
download) finds no serious or critical WCAG 2.2 AA violation, as loaded and after interaction.
Screenshots of every page are taken; ``make screenshots`` writes them to ``docs/img/``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import require_tool

from benchmarks.bench_dashboard import ARGS  # the benchmark's Chromium flags: one list for both

pytestmark = pytest.mark.browser

USER, PASSWORD = "analyst", "a long test password"
ROOT = Path(__file__).resolve().parent.parent
# Screenshots go to docs/img/ for the README only when asked (make screenshots), so that a test
# run leaves the working tree as it found it.
_SHOTS_ENV = os.environ.get("PATHFINDER_SCREENSHOTS")
SHOTS = Path(_SHOTS_ENV) if _SHOTS_ENV else None
SAMPLE = ROOT / "data" / "sample"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SLOW = 240_000  # ms: background jobs on a busy machine


@dataclass
class Session:
    base: str
    page: Any
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def check_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.outside == [], self.outside


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from werkzeug.serving import make_server

    from dashboard.app import DashboardConfig, create_app
    from dashboard.auth import Credentials, hash_password
    from dashboard.services import AnalysisSettings

    config = DashboardConfig(
        credentials=Credentials({USER: hash_password(PASSWORD)}, "test"),
        data_dir=tmp_path_factory.mktemp("dashboard"),
        analysis=AnalysisSettings(reps=49, draws=200),
        mc_draws=200,
        effects_reps=19,
    )
    app = create_app(config)
    srv = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    _stop_jobs()
    srv.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def session(browser: Any, server: str) -> Iterator[Session]:
    context = browser.new_context(
        http_credentials={"username": USER, "password": PASSWORD},
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )
    context.set_default_timeout(SLOW)
    page = context.new_page()
    s = Session(server, page)
    page.on("console", lambda m: s.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: s.errors.append(str(e)))

    def _request(r: Any) -> None:
        if not (r.url.startswith(server) or r.url.startswith(("data:", "blob:"))):
            s.outside.append(r.url)

    page.on("request", _request)
    yield s
    context.close()


def _stop_jobs() -> None:
    """End the background jobs this test process started (left running by earlier pages)."""
    import multiprocess  # Dash's background callback manager starts its jobs with it

    for child in multiprocess.active_children():
        child.terminate()
        child.join(timeout=10)


@pytest.fixture(autouse=True)
def _fresh_logs(request: pytest.FixtureRequest) -> None:
    """Each test answers only for the errors and requests of its own steps, on an idle app."""
    s = request.getfixturevalue("session") if "session" in request.fixturenames else None
    if s is not None:
        s.page.goto("about:blank")  # stop polling the previous page's jobs first
    _stop_jobs()
    if s is not None:
        s.errors.clear()
        s.outside.clear()


def _axe(page: Any) -> list[tuple[str, str, int]]:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    return [
        (v["id"], v["impact"], len(v["nodes"]))
        for v in result.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _charts_drawn(page: Any, n: int) -> None:
    """Wait until ``n`` charts have data drawn (an empty frame waiting for its figure is not)."""
    page.wait_for_function(
        "n => Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".filter(p => p.querySelector('g.trace')).length >= n",
        arg=n,
        timeout=SLOW,
    )


PAGES = [
    ("overview", "/", "#overview-history-chart", 3),
    ("effects", "/effects", "#effects-event-study", 3),
    ("value-for-money", "/value-for-money", "#vfm-monte-carlo", 4),
    ("reports", "/reports", "iframe.pf-report-frame", 0),
    ("pilot-design", "/pilot-design", "#design-run", 0),
    ("data", "/data", "#upload-current", 0),
    ("method", "/method", "h1", 0),
]


def test_a_browser_without_credentials_is_refused(browser: Any, server: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    with pytest.raises(Exception, match="ERR_INVALID_AUTH_CREDENTIALS"):
        page.goto(server + "/")  # Chromium gives up at the 401 challenge
    for path in ("/", "/assets/govuk-frontend.min.css", "/_dash-layout"):
        response = context.request.get(server + path)
        assert response.status == 401, path
        assert "Sign in" in response.text()
    context.close()


@pytest.mark.parametrize(("name", "path", "ready", "charts"), PAGES, ids=[p[0] for p in PAGES])
def test_page_loads_passes_axe_and_is_captured(
    session: Session, name: str, path: str, ready: str, charts: int, tmp_path: Path
) -> None:
    page = session.page
    page.goto(session.base + path)
    page.wait_for_selector(ready, timeout=SLOW)
    if charts:
        _charts_drawn(page, charts)
    assert page.evaluate("document.documentElement.lang") == "en-GB"
    assert page.locator("main#main-content h1").count() == 1
    assert page.locator("a.govuk-skip-link[href='#main-content']").count() == 1
    assert page.locator("nav [aria-current='page']").count() == 1
    assert _axe(page) == []
    shots = SHOTS or tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"dashboard-{name}.png"), full_page=True)
    assert (shots / f"dashboard-{name}.png").stat().st_size > 10_000
    session.check_clean()


def test_pilot_design_runs_in_the_background_and_reports_bad_input(session: Session) -> None:
    page = session.page
    page.goto(session.base + "/pilot-design")
    page.fill("#design-pilots", "10")
    page.fill("#design-reps", "2")  # the smallest study: a few seconds
    page.press("#design-reps", "Tab")
    page.click("#design-run")
    page.wait_for_selector("#design-chart .main-svg", timeout=SLOW)
    assert page.locator("#design-status").text_content() == "Done."
    summary = str(page.locator("#design-result .govuk-inset-text").text_content())
    assert "10 pilot forces" in summary or "no design reaches 80% power" in summary
    assert page.locator("#design-result table").first.locator("tbody tr").count() == 2
    assert _axe(page) == []
    page.fill("#design-pilots", "3,x")
    page.click("#design-run")
    page.wait_for_selector("#design-result .govuk-error-summary", timeout=SLOW)
    assert "whole numbers separated by commas" in str(page.locator("#design-result").text_content())
    session.check_clean()


def _npsv(page: Any) -> str:
    row = page.locator("#vfm-headline .govuk-summary-list__row").first
    return str(row.locator("dd").text_content())


def test_value_for_money_updates_when_an_input_changes(session: Session) -> None:
    page = session.page
    page.goto(session.base + "/value-for-money")
    page.wait_for_selector("#vfm-pilot-summary dd", timeout=SLOW)
    before = _npsv(page)
    page.fill("#vfm-discount-rate", "7")
    page.press("#vfm-discount-rate", "Enter")
    page.wait_for_function(
        "t => document.querySelector('#vfm-headline dd').textContent !== t", arg=before
    )
    assert _npsv(page) != before
    page.select_option("#vfm-rollout-forces", "non-pilot")
    page.wait_for_function(
        "() => /\\b29,|29 forces|to 29/.test(document.querySelector('#vfm-headline').textContent)"
    )
    _charts_drawn(page, 4)
    assert _axe(page) == []
    session.check_clean()


def test_changes_in_quick_succession_start_the_uncertainty_job_once(session: Session) -> None:
    """The headline answers every change; the uncertainty job starts only for the settled one."""
    from dashboard.pages.value_for_money import STATUS_PENDING

    page = session.page
    page.goto(session.base + "/value-for-money")
    page.wait_for_selector("#vfm-monte-carlo", timeout=SLOW)  # the first job is done
    starts: list[str] = []

    def _job_start(request: Any) -> None:
        body = request.post_data or ""
        if "_dash-update-component" in request.url and "vfm-uncertainty.children" in body:
            if "job=" not in request.url:  # a new job, not a poll of a running one
                starts.append(body)

    page.on("request", _job_start)
    answered = 0
    for rate in ("4", "4.5", "5"):
        with page.expect_response(
            lambda r: "vfm-pilot-summary.children" in (r.request.post_data or "")
        ):
            page.fill("#vfm-discount-rate", rate)
            page.press("#vfm-discount-rate", "Enter")
        answered += 1
    # between the change and its job, the panel never says "Up to date." over the old results
    page.wait_for_function(
        "() => document.querySelector('#vfm-status').textContent !== 'Up to date.'",
        timeout=5_000,
    )
    assert page.locator("#vfm-status").text_content() in (
        STATUS_PENDING,
        "Running sensitivity and Monte Carlo…",
    )
    page.wait_for_function(
        "() => document.querySelector('#vfm-status').textContent === 'Up to date.'"
        " && document.querySelector('#vfm-monte-carlo')",
        timeout=SLOW,
    )
    page.wait_for_timeout(1500)  # any late start would have come by now
    page.remove_listener("request", _job_start)
    assert answered == 3
    assert len(starts) == 1, f"{len(starts)} uncertainty jobs started for 3 quick changes"
    (settled,) = [i for i in json.loads(starts[0])["inputs"] if i["id"] == "vfm-settled"]
    assert float(settled["value"][0]) == 5.0  # the last value typed, not an earlier one
    session.check_clean()


def test_effects_follow_the_chosen_metric(session: Session) -> None:
    page = session.page
    page.goto(session.base + "/effects")
    page.wait_for_selector("#effects-trends-chart .main-svg", timeout=SLOW)
    page.select_option("#effects-metric", "backlog")
    page.wait_for_function(
        "() => /backlog/.test(document.querySelector('#effects-trends-chart .gtitle')"
        "?.textContent || '')"
    )
    page.wait_for_function(
        "() => /backlog/.test(document.querySelector('#effects-event-study .gtitle')"
        "?.textContent || '')",
        timeout=SLOW,
    )
    page.keyboard.press("Tab")  # focus stays visible and reachable
    assert _axe(page) == []
    session.check_clean()


def test_bad_upload_changes_nothing_and_a_good_one_is_used(session: Session) -> None:
    page = session.page
    page.goto(session.base + "/data")
    page.wait_for_selector("#upload-current")
    before = str(page.locator("#upload-current").text_content())
    register = (SAMPLE / "register.csv").read_text(encoding="utf-8")
    bad = register.replace("Cheshire,2,2023-04-01", "Atlantis,2,2023-04-01")
    page.select_option("#upload-kind", "register")
    file_input = page.locator("#upload-file input[type=file]")
    file_input.set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": bad.encode()}]
    )
    page.wait_for_selector(".govuk-error-summary")
    report = str(page.locator("#upload-report").text_content())
    assert "Atlantis" in report and "bad.csv" in report and "force" in report
    assert page.locator("#upload-current").text_content() == before
    assert _axe(page) == []

    # a good register must agree with the ledger (every ledger force is a pilot), so the good
    # file is the full register under another name; the pages then run on the uploaded set
    good = register
    file_input.set_input_files(
        files=[{"name": "good.csv", "mimeType": "text/csv", "buffer": good.encode()}]
    )
    page.wait_for_selector(".pf-banner")
    assert "good.csv" in str(page.locator("#upload-current").text_content())
    assert _axe(page) == []
    page.goto(session.base + "/")
    page.wait_for_selector("#overview-waves", timeout=SLOW)
    n = len([line for line in register.splitlines()[1:] if line.strip()])
    assert f"{n} pilot forces" in str(page.locator("#overview-result").text_content())
    page.goto(session.base + "/data")
    page.click("#upload-reset")
    page.wait_for_function(
        "() => /bundled sample/.test(document.querySelector('#upload-current').textContent)"
        " && !/good.csv/.test(document.querySelector('#upload-current').textContent)"
    )
    session.check_clean()


def test_results_download(session: Session) -> None:
    page = session.page
    page.goto(session.base + "/")
    page.wait_for_selector("#overview-waves", timeout=SLOW)
    with page.expect_download() as info:
        page.click("#overview-download-button")
    path = info.value.path()
    text = Path(path).read_text(encoding="utf-8")
    assert text.startswith("# Estimated effects\nmetric,estimate,se")
    assert "# Appraisal by financial year" in text
    assert "outsourced_exams" in text
    session.check_clean()
