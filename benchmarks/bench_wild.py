"""Wild cluster restricted bootstrap on a 43-force x 96-month panel: ours vs wildboottest.

The regression is the TWFE of the outcome on the treatment indicator with unit effects
partialled out and the time effects as 95 demeaned dummy columns (k = 96), clustered by force
(G = 43); B = 9,999 Rademacher draws. Both are timed in this process, the same way: the median
of several runs, ours and the peer's interleaved so that a busy machine slows both alike.

* ours, p-value only: draw the weights, :func:`~evaluation.inference.wild.wild_test` (fit and
  the fast algorithm's cluster-level pieces) and ``p_value(0)``;
* ours, p-value + 95% CI: the same plus the test-inversion interval ``confint(0.95)``;
* peer: ``wildboottest`` (p-value only; it has no interval), ``parallel=False``, including its
  own weight draws. Its numba functions are compiled by a warm-up call before timing, which is
  excluded (so is our warm-up, which only loads linear-algebra code).

Agreement: the p-values of independent draws agree within Monte Carlo error, and with the
peer's own draws (same seed, same ``rng.choice`` stream, transposed to our B x G layout) our
p-value equals the peer's exactly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pandas as pd

from evaluation.estimators._fe import linear_problem
from evaluation.inference.base import LinearProblem
from evaluation.inference.wild import draw_wild_weights, wild_test
from evaluation.panel import Panel, attach_cohorts


def _panel(rng: np.random.Generator) -> tuple[Panel, str]:
    """43 x 96 panel from evaluation.synth when available, else a numpy staggered panel."""
    try:
        from evaluation.synth import generate

        data = generate(rng=rng)
        frame = attach_cohorts(data.panel, data.register)
        frame = frame.assign(y=np.log1p(frame["devices_received"].astype(float)))
        panel = Panel.from_frame(frame, unit="force", time="period", cohort="cohort", outcomes="y")
        return panel, "evaluation.synth.generate (log1p devices_received)"
    except Exception:  # pragma: no cover - fallback before synth exists
        n, t = 43, 96
        g = np.where(np.arange(n) < 14, rng.choice([40.0, 52.0, 64.0], size=n), 0.0)
        u, s = np.repeat(np.arange(n), t), np.tile(np.arange(1, t + 1), n)
        y = (
            rng.normal(size=n)[u]
            + 0.01 * s
            + 0.1 * ((s >= g[u]) & (g[u] > 0))
            + rng.normal(size=n * t)
        )
        frame = pd.DataFrame({"u": u, "t": s, "g": g[u], "y": y})
        return Panel.from_frame(frame, unit="u", time="t", cohort="g", outcomes="y"), "numpy"


T = TypeVar("T")
Outcome = tuple[float, tuple[float, float], float]


def _timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _ours(problem: LinearProblem, g: int, reps: int, ci: bool) -> Callable[[], Outcome]:
    def run() -> Outcome:
        weights, _ = draw_wild_weights("rademacher", g, reps, np.random.default_rng(1), 0)
        test = wild_test(problem, 0, weights=weights)
        p = test.p_value(0.0)
        return (p, test.confint(0.95) if ci else (np.nan, np.nan), test.se)

    return run


def main(quick: bool = False) -> None:
    """Print our p-value and p-value + CI times beside wildboottest's, with the ratios."""
    reps = 999 if quick else 9_999
    repeats = 3 if quick else 9
    panel, source = _panel(np.random.default_rng(20240601))
    problem = linear_problem(
        panel.data["y"].to_numpy(),
        panel.treated,
        panel.unit_index,
        panel.time_index,
        names=["D"],
        targets=[0],
    )
    g = len(np.unique(problem.clusters))
    print(
        f"panel: {panel.n_units} units x {panel.n_periods} periods, {len(panel.data)} rows "
        f"({source}); k = {problem.X.shape[1]}, G = {g}; B = {reps} Rademacher draws"
    )
    _ours(problem, g, 99, ci=True)()  # warm-up: first-call library loading, not timed

    try:
        import statsmodels.api as sm
        from wildboottest.wildboottest import wildboottest
    except ImportError:
        peer = None
        print("wildboottest not installed (pip install '.[peers]'): ours only")
    else:
        X = pd.DataFrame(problem.X, columns=[f"x{i}" for i in range(problem.X.shape[1])])

        def peer_run(b: int = reps, seed: int = 2) -> object:
            return wildboottest(
                sm.OLS(problem.y, X),
                B=b,
                cluster=problem.clusters,
                param="x0",
                weights_type="rademacher",
                seed=seed,
                show=False,
                parallel=False,
            )

        peer_run(99)  # warm-up: numba JIT compilation, not timed
        peer = peer_run

    t_p, t_ci, t_peer = [], [], []
    for _ in range(repeats):
        dt, _ = _timed(_ours(problem, g, reps, ci=False))
        t_p.append(dt)
        dt, out_ci = _timed(_ours(problem, g, reps, ci=True))
        t_ci.append(dt)
        if peer is not None:
            dt, ref = _timed(peer)
            t_peer.append(dt)
    p_ours, (lo, hi), se = out_ci
    med_p, med_ci = float(np.median(t_p)), float(np.median(t_ci))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"median of {repeats} interleaved runs, seconds (1-min load average {load:.1f} on "
        f"{os.cpu_count()} CPUs); peer's numba JIT warm-up excluded"
    )
    header = f"{'':30s}{'ours':>10s}{'wildboottest':>14s}{'ratio':>8s}"
    print(header)
    print("-" * len(header))
    if peer is None:
        print(f"{'p-value (H0: effect = 0)':30s}{p_ours:10.4f}")
        print(f"{'seconds, p-value only':30s}{med_p:10.4f}")
        print(f"{'seconds, p-value + 95% CI':30s}{med_ci:10.4f}")
        return
    p_peer = float(ref["p-value"].iloc[0])  # type: ignore[index]
    med_peer = float(np.median(t_peer))
    print(f"{'p-value (H0: effect = 0)':30s}{p_ours:10.4f}{p_peer:14.4f}")
    print(f"{'seconds, p-value only':30s}{med_p:10.4f}{med_peer:14.4f}{med_peer / med_p:7.1f}x")
    print(
        f"{'seconds, p-value + 95% CI':30s}{med_ci:10.4f}{'(no CI)':>14s}{med_peer / med_ci:7.1f}x"
    )
    mc = np.sqrt(2 * max(p_peer * (1 - p_peer), 1e-4) / reps)
    print(
        f"ours: 95% test-inversion CI [{lo:.5f}, {hi:.5f}], CR1 se {se:.5f}; "
        f"|p_ours - p_peer| = {abs(p_ours - p_peer):.4f} (Monte Carlo sd of the difference "
        f"of two independent p-values about {mc:.4f})"
    )
    # the peer's own draws: rng.choice([-1, 1], G * B) reshaped G x B; ours takes B x G
    v = np.random.default_rng(2).choice([-1, 1], size=g * reps).reshape(g, reps).T
    p_same = wild_test(problem, 0, weights=v.astype(float)).p_value(0.0)
    print(f"same draws as the peer (seed 2): ours p = {p_same:.6f}, wildboottest p = {p_peer:.6f}")


if __name__ == "__main__":
    main()
