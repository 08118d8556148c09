"""Wild cluster restricted bootstrap on a 43-force x 96-month panel: ours vs wildboottest.

Ours: TWFE coefficient, WCR with B = 9,999 Rademacher draws, p-value AND the test-inversion
95% interval (the fast algorithm: cost per replicate depends on G, not n). Peer: the
``wildboottest`` package, p-value alone, on the same regression (unit effects partialled out,
time effects as 95 dummy columns). Printed side by side with the speed ratio; times are the
best of several runs (after a warm-up of each), since the machine may be shared.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from evaluation.estimators._fe import linear_problem
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


def main(quick: bool = False) -> None:
    reps = 999 if quick else 9_999
    rng = np.random.default_rng(20240601)
    panel, source = _panel(rng)
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
        f"({source}); k = {problem.X.shape[1]}; B = {reps}"
    )

    # warm up linear algebra (first-call library loading) before timing anything
    warm, _ = draw_wild_weights("rademacher", g, 9, np.random.default_rng(0), 0)
    wild_test(problem, 0, weights=warm).confint(0.95)

    repeats = 2 if quick else 5
    t_p = t_ours = np.inf
    for _ in range(repeats):  # best of several runs: the machine may be shared
        start = time.perf_counter()
        weights, _ = draw_wild_weights("rademacher", g, reps, np.random.default_rng(1), 0)
        test = wild_test(problem, 0, weights=weights)
        p_ours = test.p_value(0.0)
        t_p = min(t_p, time.perf_counter() - start)
        lo, hi = test.confint(0.95)
        t_ours = min(t_ours, time.perf_counter() - start)

    try:
        import statsmodels.api as sm
        from wildboottest.wildboottest import wildboottest
    except ImportError:
        print("wildboottest not installed (pip install '.[peers]'): ours only")
        print(f"ours: p = {p_ours:.4f}, CI [{lo:.5f}, {hi:.5f}] in {t_ours:.2f} s")
        return
    X = pd.DataFrame(problem.X, columns=[f"x{i}" for i in range(problem.X.shape[1])])
    wildboottest(  # warm-up, as for ours
        sm.OLS(problem.y, X),
        B=9,
        cluster=problem.clusters,
        param="x0",
        weights_type="rademacher",
        seed=2,
        show=False,
        parallel=False,
    )
    t_peer = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        ref = wildboottest(
            sm.OLS(problem.y, X),
            B=reps,
            cluster=problem.clusters,
            param="x0",
            weights_type="rademacher",
            seed=2,
            show=False,
            parallel=False,
        )
        t_peer = min(t_peer, time.perf_counter() - start)
    p_peer = float(ref["p-value"].iloc[0])
    print(f"{'':34s}{'ours':>12s}{'wildboottest':>14s}{'ratio':>8s}")
    print(f"{'p-value (H0: effect = 0)':34s}{p_ours:12.4f}{p_peer:14.4f}")
    print(f"{'seconds, p-value only':34s}{t_p:12.3f}{t_peer:14.3f}{t_peer / t_p:8.1f}")
    print(f"{'seconds, p-value + 95% CI':34s}{t_ours:12.3f}{'(no CI)':>14s}{t_peer / t_ours:8.1f}")
    print(
        f"ours: 95% test-inversion CI [{lo:.5f}, {hi:.5f}], CR1 se {test.se:.5f}; "
        f"Monte Carlo sd of p about {np.sqrt(max(p_ours * (1 - p_ours), 1e-4) / reps):.4f}"
    )


if __name__ == "__main__":
    main()
