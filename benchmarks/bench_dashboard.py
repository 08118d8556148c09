"""Dashboard responsiveness in the browser (headless system Chromium), on the bundled data.

* first page load: from navigation to the value-for-money page until its headline figures are
  drawn (targets: under 2 s);
* what-if: from changing a value-for-money input (the discount rate, then Enter) until the
  headline callback's answer has arrived and the browser has painted the next frame (target:
  95th percentile under 300 ms). Timing the answer, not a change of the displayed text, keeps
  small changes that round to the same figure from stalling the run.

The main analysis is computed once before timing (it is cached by the app, as after the first
visit of the day); the Monte Carlo runs in the background and is not part of the what-if time.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _headline_update(response: object) -> bool:
    """Whether ``response`` answers the what-if headline callback (not the background job)."""
    request = response.request  # type: ignore[attr-defined]
    return (
        "_dash-update-component" in request.url
        and "vfm-pilot-summary.children" in (request.post_data or "")
        and response.status == 200  # type: ignore[attr-defined]
    )


def main(quick: bool = False) -> None:
    """Serve the bundled data, warm the cache, and time page loads and what-if updates."""
    import shutil

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from dashboard.app import DashboardConfig, create_app
    from dashboard.auth import generated_credentials
    from dashboard.services import AnalysisSettings, bundled_dataset, pipeline_result
    from dashboard.store import UserStore

    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium is not installed (make setup installs it); skipped")
        return
    creds = generated_credentials()
    user, password = next(iter(creds.users)), str(creds.generated_password)
    settings = AnalysisSettings(reps=199 if quick else 999)
    with tempfile.TemporaryDirectory() as tmp:
        config = DashboardConfig(credentials=creds, data_dir=Path(tmp), analysis=settings)
        app = create_app(config)
        store = UserStore(Path(tmp))
        t0 = time.perf_counter()
        pipeline_result(store, bundled_dataset(store).token, settings)
        print(f"main analysis (cached afterwards): {time.perf_counter() - t0:.1f} s")
        srv = make_server("127.0.0.1", 0, app.server, threaded=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{srv.server_port}"
        loads: list[float] = []
        changes: list[float] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
            context = browser.new_context(
                http_credentials={"username": user, "password": password},
                viewport={"width": 1280, "height": 900},
            )
            page = context.new_page()
            for _ in range(2 if quick else 5):
                t = time.perf_counter()
                page.goto(base + "/value-for-money")
                page.wait_for_selector("#vfm-pilot-chart g.trace", timeout=120_000)
                loads.append(time.perf_counter() - t)
            rates = np.linspace(2.0, 6.0, 8 if quick else 40)
            for rate in rates:
                t = time.perf_counter()
                with page.expect_response(_headline_update, timeout=60_000):
                    page.fill("#vfm-discount-rate", f"{rate:.2f}")
                    page.press("#vfm-discount-rate", "Enter")
                # then until the browser has painted the new figures
                page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
                changes.append(time.perf_counter() - t)
                shown = page.locator("#vfm-headline").text_content() or ""
                if "Net present social value" not in shown:
                    raise RuntimeError(f"the headline did not redraw at rate {rate:.2f}")
            browser.close()
        srv.shutdown()
    first = loads[0]
    p95 = float(np.percentile(changes, 95))
    print(f"first page load (value for money, figures drawn): {first:.2f} s (target < 2 s)")
    print(f"later page loads: median {statistics.median(loads[1:] or loads):.2f} s")
    print(
        f"what-if update ({len(changes)} changes of the discount rate): median "
        f"{statistics.median(changes) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (target < 300 ms)"
    )
