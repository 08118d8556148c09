"""Dashboard responsiveness in the browser (headless system Chromium), on the bundled data.

Both measures are taken by the page's own clock (``performance.now()``), so Playwright's round
trips to the browser are not counted:

* first page load: from navigation start to both headline charts of the value-for-money page
  drawn with their data (target: under 2 s);
* what-if: from the user's change of a value-for-money input (Enter in a number box, or a new
  choice in a list) to both headline charts redrawn with the new figures and the next frame
  painted (target: 95th percentile under 300 ms). The inputs changed in turn are the discount
  rate, the price of an outsourced examination, the officer hour's cost, the share of an hour
  valued and the effect scenario: each moves both the pilots' and the rollout's figures.

The main analysis is computed once before timing (it is cached by the app, as after the first
visit of the day). The uncertainty analysis (sensitivity and Monte Carlo) starts in the
background once the inputs have settled, as for a user, and is not part of the what-if time;
the pause before each change cycles through :data:`PAUSES`, so that changes come while that
job is waiting to start, starting, and running (it is ended by the change).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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

CHARTS = ("vfm-pilot-chart", "vfm-rollout-chart")

#: seconds between one change's redrawn figures and the next change (a user reading them)
PAUSES = (0.0, 0.3, 0.7, 1.2, 2.0)

#: the page's timer: the moment of the user's change, and each chart's next redraw after it
TIMER = """ids => {
  const t = window.__pf = {start: null, drawn: {}};
  for (const id of ids) {
    document.querySelector('#' + id + ' .js-plotly-plot').on('plotly_afterplot', () => {
      if (t.start !== null && !(id in t.drawn)) t.drawn[id] = performance.now();
    });
  }
  const begin = e => { t.start = e.timeStamp; t.drawn = {}; performance.clearResourceTimings(); };
  for (const el of document.querySelectorAll('#vfm-form input')) {
    el.addEventListener('keydown', e => { if (e.key === 'Enter') begin(e); }, true);
  }
  for (const el of document.querySelectorAll('#vfm-form select')) {
    el.addEventListener('change', begin, true);
  }
}"""

#: resolves once both charts have redrawn and a frame has been painted, with the what-if time
#: and its parts: until the headline request is sent, the request (server and transfer), and
#: from its answer to the painted frame (rendering)
REDRAWN = """n => new Promise(resolve => {
  const poll = () => {
    const t = window.__pf, drawn = Object.values(t.drawn);
    if (drawn.length < n) { requestAnimationFrame(poll); return; }
    requestAnimationFrame(() => {
      const end = performance.now();
      const calls = performance.getEntriesByType('resource').filter(
        e => e.name.includes('_dash-update-component') && e.startTime >= t.start
          && e.responseEnd <= end);
      const head = calls.reduce((a, e) => (a && a.duration >= e.duration ? a : e), null);
      resolve(head ? [end - t.start, head.startTime - t.start, head.duration,
                      end - head.responseEnd] : [end - t.start, NaN, NaN, NaN]);
    });
  };
  poll();
})"""

#: resolves with the time since navigation start once both headline charts show data
LOADED = """ids => ids.every(id => document.querySelector('#' + id + ' g.trace'))
  && performance.now()"""


def _changes(n: int) -> Iterator[tuple[str, str, str]]:
    """Yield ``n`` what-if changes ``(label, control id, value)``, each input in turn."""
    rates = iter(np.linspace(2.0, 6.0, n))
    prices = iter(np.linspace(350.0, 900.0, n))
    hours = iter(np.linspace(25.0, 60.0, n))
    shares = iter(np.linspace(0.2, 1.0, n))
    scenarios = ["low", "high", "central"]
    for i in range(n):
        kind = i % 5
        if kind == 0:
            yield "discount rate", "vfm-discount-rate", f"{next(rates):.2f}"
        elif kind == 1:
            yield "exam price", "vfm-exam-price", f"{next(prices):.0f}"
        elif kind == 2:
            yield "officer hour", "vfm-hour-cost", f"{next(hours):.2f}"
        elif kind == 3:
            yield "hour share", "vfm-hour-share", f"{next(shares):.3f}"
        else:
            yield "scenario", "vfm-scenario", scenarios[(i // 5) % 3]


def _apply(page: Any, control: str, value: str) -> None:
    if control == "vfm-scenario":
        page.select_option(f"#{control}", value)
    else:
        page.fill(f"#{control}", value)
        page.press(f"#{control}", "Enter")


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
        changes: dict[str, list[float]] = {}
        parts: list[list[float]] = []
        by_pause: dict[float, list[float]] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
            context = browser.new_context(
                http_credentials={"username": user, "password": password},
                viewport={"width": 1280, "height": 900},
            )
            page = context.new_page()
            for _ in range(2 if quick else 5):
                page.goto(base + "/value-for-money")
                ms = page.wait_for_function(LOADED, arg=list(CHARTS), timeout=120_000)
                loads.append(float(ms.json_value()) / 1000)
            page.evaluate(TIMER, list(CHARTS))
            for i, (label, control, value) in enumerate(_changes(10 if quick else 50)):
                time.sleep(PAUSES[(i // 5) % len(PAUSES)])  # every input meets every pause
                _apply(page, control, value)
                total, *split = page.evaluate(REDRAWN, len(CHARTS))
                changes.setdefault(label, []).append(float(total) / 1000)
                by_pause.setdefault(PAUSES[(i // 5) % len(PAUSES)], []).append(total / 1000)
                parts.append([float(x) for x in split])
                shown = page.locator("#vfm-headline").text_content() or ""
                if "Net present social value" not in shown:
                    raise RuntimeError(f"the headline did not redraw after {label} = {value}")
            browser.close()
        srv.shutdown()
    every = [x for xs in changes.values() for x in xs]
    p95 = float(np.percentile(every, 95))
    print(f"first page load (value for money, figures drawn): {loads[0]:.2f} s (target < 2 s)")
    print(f"later page loads: median {statistics.median(loads[1:] or loads):.2f} s")
    print(
        f"what-if update ({len(every)} changes of five inputs): median "
        f"{statistics.median(every) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (target < 300 ms)"
    )
    before, request, render = np.nanmedian(np.array(parts), axis=0)
    print(
        f"  where the time goes (medians): {before:.0f} ms until the request is sent, "
        f"{request:.0f} ms request (server and transfer), {render:.0f} ms drawing"
    )
    print(
        "  by pause before the change: "
        + ", ".join(
            f"{pause:.1f} s: median {statistics.median(xs) * 1000:.0f} ms, "
            f"max {max(xs) * 1000:.0f} ms"
            for pause, xs in sorted(by_pause.items())
        )
    )
    for label, xs in changes.items():
        print(
            f"  {label:<14} median {statistics.median(xs) * 1000:4.0f} ms, "
            f"max {max(xs) * 1000:4.0f} ms ({len(xs)} changes)"
        )
