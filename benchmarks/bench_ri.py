"""Randomization inference with 10,000 reassignments: TWFE and aggregated Callaway-Sant'Anna.

Ours: :func:`~evaluation.inference.randomization.randomization_test` (p-values and the exact
test-inversion intervals) with the vectorised statistics, on 43-force x 96-month panels:

* TWFE: :func:`evaluation.estimators.twfe.twfe_statistic` (O(N) per reassignment from per-unit,
  per-cohort tables; exact for the unbalanced panel used here, 4,084 of 4,128 force-months);
* CS: :func:`evaluation.estimators.callaway_santanna.cs_statistic`, the simple ATT and every
  event-time ATT (as ``fit_cs(..., inference="ri")`` poses it), on the balanced version of the
  panel (the CS statistic needs one).

Peers: loops that refit for each reassignment (linearmodels ``PanelOLS`` for TWFE; csdid
``ATTgt`` + ``aggte("simple")`` for CS), timed on a few draws and extrapolated to 10,000; their
estimates are checked against ours on those draws. For TWFE the previous implementation (the B
treatment columns projected explicitly, O(N T) each) is timed as well, on 1,000 draws and
extrapolated. Our figures are medians of several runs.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from benchmarks.bench_wild import _panel
from evaluation.estimators._fe import two_way_demean
from evaluation.estimators.twfe import _linearmodels_fit, twfe_statistic
from evaluation.inference.base import InferenceSettings, PermutationProblem
from evaluation.inference.randomization import draw_assignments, randomization_test
from evaluation.panel import Panel, attach_cohorts


def _median(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _balanced_panel() -> tuple[Panel, str]:
    from evaluation.synth import SynthConfig, generate

    cfg = SynthConfig(missing_share=0.0, late_reporting_force=None)
    data = generate(cfg, rng=np.random.default_rng(20240601))
    frame = attach_cohorts(data.panel, data.register)
    frame = frame.assign(y=np.log1p(frame["devices_received"].astype(float)))
    panel = Panel.from_frame(frame, unit="force", time="period", cohort="cohort", outcomes="y")
    return panel, "evaluation.synth.generate, no missing months (log1p devices_received)"


def _dense_twfe(panel: Panel) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The previous statistic: project the B treatment columns explicitly (O(N T) each)."""
    unit, time_ = panel.unit_index, panel.time_index
    t_codes = panel.data["time"].to_numpy(dtype=float)

    def statistic(y: np.ndarray, cohorts: np.ndarray) -> np.ndarray:
        d = (t_codes[:, None] >= np.atleast_2d(cohorts)[:, unit].T).astype(float)
        md = two_way_demean(d, unit, time_, panel.n_units, panel.n_periods)
        return ((md.T @ y) / np.einsum("nb,nb->b", md, d))[:, None]

    return statistic


def _row(label: str, seconds: float, peer: float) -> None:
    print(f"{label:58s}{seconds:10.3f}{peer / seconds:10.1f}x")


def _twfe(reps: int, loop_reps: int, repeats: int) -> dict[str, float]:
    panel, source = _panel(np.random.default_rng(20240601))
    y = panel.data["y"].to_numpy()
    cohorts = panel.unit_cohorts.to_numpy(dtype=float)
    stat = twfe_statistic(panel)
    problem = PermutationProblem(
        statistic=stat, y=y, treated=panel.treated, cohorts=cohorts, names=["D"]
    )
    settings = InferenceSettings(reps=reps, rng=np.random.default_rng(3), enumerate_max=0)
    out = randomization_test(problem, settings)  # warm-up and the reported figures
    t_ri = _median(
        lambda: randomization_test(
            problem, InferenceSettings(reps=reps, rng=np.random.default_rng(3), enumerate_max=0)
        ),
        repeats,
    )
    draws = draw_assignments(cohorts, reps, np.random.default_rng(4))
    t_stat = _median(lambda: stat(y, draws), repeats)
    dense_n = min(reps, 1_000)
    dense = _dense_twfe(panel)
    start = time.perf_counter()
    dense_values = dense(y, draws[:dense_n])
    t_dense = (time.perf_counter() - start) / dense_n * reps
    check_dense = float(np.max(np.abs(dense_values - stat(y, draws[:dense_n]))))

    sub = draws[:loop_reps]
    start = time.perf_counter()
    loop = []
    for b in range(loop_reps):
        moved = panel.with_cohorts(dict(zip(panel.units, sub[b], strict=True)))
        loop.append(_linearmodels_fit(moved, y, moved.treated[:, None], ["D"])["coef"])
    t_loop = (time.perf_counter() - start) / loop_reps * reps
    check = float(np.max(np.abs(np.array(loop) - stat(y, sub)[:, 0])))

    print(f"TWFE: {panel.n_units} x {panel.n_periods}, {len(panel.data)} rows ({source})")
    print(f"{'':58s}{'seconds':>10s}{'vs refit':>11s}")
    _row(f"randomization_test, {reps:,} draws, p-value + CI, ours", t_ri, t_loop)
    _row(f"statistic alone, {reps:,} draws, ours", t_stat, t_loop)
    _row(f"explicit projection of D_b (previous; from {dense_n:,})", t_dense, t_loop)
    _row(f"PanelOLS refit loop (peer; extrapolated from {loop_reps})", t_loop, t_loop)
    print(
        f"p-value {float(out.p_value[0]):.4f}; CI [{float(out.ci_low[0]):.5f}, "
        f"{float(out.ci_high[0]):.5f}]; max |ours - refit| on {loop_reps} draws {check:.1e}; "
        f"max |ours - previous| on {dense_n:,} draws {check_dense:.1e}"
    )
    return {"ri": t_ri, "stat": t_stat, "previous": t_dense, "peer": t_loop}


def _csdid_simple(panel: Panel, y: np.ndarray, cohorts: np.ndarray) -> float:
    """Simple ATT from csdid (never-treated comparison units, unconditional)."""
    from csdid.att_gt import ATTgt

    g = np.where(np.isfinite(cohorts), cohorts, 0.0)[panel.unit_index].astype(int)
    df = pd.DataFrame(
        {"unit": panel.unit_index, "time": panel.data["time"].to_numpy(), "g": g, "y": y}
    )
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        m = ATTgt(
            yname="y", gname="g", idname="unit", tname="time", data=df, control_group="nevertreated"
        )
        m.fit(est_method="reg", bstrap=False)
        m.aggte(typec="simple", bstrap=False)
    return float(m.atte["overall_att"])


def _cs(reps: int, loop_reps: int, repeats: int) -> dict[str, float]:
    from evaluation.estimators.callaway_santanna import cs_statistic

    panel, source = _balanced_panel()
    y = panel.data["y"].to_numpy()
    cohorts = panel.unit_cohorts.to_numpy(dtype=float)
    stat, names = cs_statistic(panel)  # simple ATT + event study, as fit_cs poses it
    problem = PermutationProblem(
        statistic=stat, y=y, treated=panel.treated, cohorts=cohorts, names=names
    )
    out = randomization_test(
        problem, InferenceSettings(reps=reps, rng=np.random.default_rng(3), enumerate_max=0)
    )
    t_ri = _median(
        lambda: randomization_test(
            problem, InferenceSettings(reps=reps, rng=np.random.default_rng(3), enumerate_max=0)
        ),
        repeats,
    )
    draws = draw_assignments(cohorts, reps, np.random.default_rng(4))
    t_stat = _median(lambda: stat(y, draws), repeats)

    print(f"CS: {panel.n_units} x {panel.n_periods}, {len(panel.data)} rows ({source})")
    print(f"{'':58s}{'seconds':>10s}{'vs refit':>11s}")
    try:
        _csdid_simple(panel, y, cohorts)  # warm-up (imports)
    except ImportError:
        print(f"randomization_test, {reps:,} draws, {len(names)} targets, ours: {t_ri:.3f} s")
        print("csdid not installed (pip install '.[peers]'): no peer")
        return {"ri": t_ri, "stat": t_stat}
    sub = draws[:loop_reps]
    start = time.perf_counter()
    loop = [_csdid_simple(panel, y, sub[b]) for b in range(loop_reps)]
    t_loop = (time.perf_counter() - start) / loop_reps * reps
    check = float(np.max(np.abs(np.array(loop) - stat(y, sub)[:, 0])))
    _row(f"randomization_test, {reps:,} draws, {len(names)} ATTs, p + CI, ours", t_ri, t_loop)
    _row(f"statistic alone, {reps:,} draws, ours", t_stat, t_loop)
    _row(f"csdid ATTgt + aggte refit loop (peer; from {loop_reps})", t_loop, t_loop)
    print(
        f"simple ATT: p-value {float(out.p_value[0]):.4f}; CI [{float(out.ci_low[0]):.5f}, "
        f"{float(out.ci_high[0]):.5f}]; max |ours - csdid| (simple ATT) on {loop_reps} draws "
        f"{check:.1e}"
    )
    return {"ri": t_ri, "stat": t_stat, "peer": t_loop}


def main(quick: bool = False) -> None:
    """Print our randomization-inference times beside refit loops, with the ratios."""
    reps = 1_000 if quick else 10_000
    repeats = 2 if quick else 5
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"medians of {repeats} runs; 1-min load average {load:.1f} on {os.cpu_count()} CPUs; "
        "peers extrapolated from a few refits"
    )
    _twfe(reps, 5 if quick else 20, repeats)
    print()
    _cs(reps, 2 if quick else 5, repeats)


if __name__ == "__main__":
    main()
