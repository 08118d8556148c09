"""Monte Carlo of a 10-year, 43-force appraisal: vectorised draws beside a per-draw loop.

The national rollout of the bundled data (43 forces x 10 financial years x benefit lines) is
appraised once; the benchmark then times :func:`evaluation.appraisal.uncertainty.monte_carlo`
for 100,000 draws (10,000 with ``--quick``), including building the linear decomposition from
the 43 x 10 force-year benefit and cost lines. The peer is a straightforward per-draw loop
that, for each draw, revalues every force-year benefit row and sums the discounted net: it runs
on 2,000 draws (500 with ``--quick``) and its time is scaled to the same number of draws. Both
use the same drawn inputs, and their NPSVs are compared.

Run: ``python -m benchmarks appraisal`` (add ``--quick`` for a smoke run).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"


def _setup():
    from evaluation.appraisal import appraise, load_effects, load_params
    from evaluation.ingest import load_ledger, load_register

    ledger = load_ledger(SAMPLE / "costs.csv")
    reg = load_register(SAMPLE / "register.csv")
    effects = load_effects(SAMPLE / "effects.csv")
    params = load_params()
    go_live = dict(zip(reg["force"], reg["go_live"], strict=True))
    result = appraise(ledger, effects, params, go_live=go_live, uncertainty=False)
    return result.rollout, params, effects


def _peer_loop(
    benefit_lines: pd.DataFrame,
    pv_costs: float,
    estimates: dict[str, np.ndarray],
    unit_values: dict[str, np.ndarray | float],
    cost_scale: np.ndarray | float,
    lines: dict[str, tuple[str, tuple[str, ...]]],
    n: int,
) -> np.ndarray:
    """NPSV per draw, one Python iteration per draw over the force-year rows."""
    core = benefit_lines[~benefit_lines["wider"].astype(bool)]
    rows = list(
        zip(
            core["line"],
            core["sign"],
            core["volume_force_years"],
            core["unit_value_deflator"],
            core["shortfall_rate"],
            core["discount_factor"],
            core["real_growth_factor"],
            strict=True,
        )
    )
    out = np.empty(n)
    for d in range(n):
        total = 0.0
        for line, sign, volume, deflator, shortfall, df, growth in rows:
            metric, uvs = lines[line]
            value = sign * estimates[metric][d] * volume * deflator * growth * (1 - shortfall)
            for u in uvs:
                x = unit_values[u]
                value *= x[d] if isinstance(x, np.ndarray) else x
            total += value * df
        scale = cost_scale[d] if isinstance(cost_scale, np.ndarray) else cost_scale
        out[d] = total - scale * pv_costs
    return out


def main(quick: bool = False) -> None:
    from evaluation.appraisal.uncertainty import LinearView, monte_carlo

    n = 10_000 if quick else 100_000
    n_peer = 500 if quick else 2_000
    roll, params, effects = _setup()
    years = tuple(roll.by_year["financial_year"])
    forces = roll.benefit_lines["force"].nunique()
    print(
        f"rollout appraisal: {forces} forces x {len(years)} years, "
        f"{len(roll.benefit_lines):,} benefit rows, {len(roll.cost_lines):,} cost rows"
    )

    times = []
    for rep in range(5):
        start = time.perf_counter()
        view = LinearView.from_tables(roll.cost_lines, roll.benefit_lines, params, years)
        mc = monte_carlo(view, params, effects, np.random.default_rng(rep), draws=n)
        times.append(time.perf_counter() - start)
    ours = statistics.median(times)

    # the same draws, evaluated by the per-draw loop (independent of the decomposition)
    mc = monte_carlo(view, params, effects, np.random.default_rng(0), draws=n_peer)
    rng = np.random.default_rng(0)  # replay the generator exactly as monte_carlo does
    metrics = view.core_metrics()
    est = {m: effects.estimate(m) + effects.se(m) * rng.standard_normal(n_peer) for m in metrics}
    uv: dict[str, np.ndarray | float] = {}
    for u in view.core_unit_values():
        p = params.unit_values[u]
        if p.has_range and p.distribution != "fixed" and p.low != p.high:
            if p.distribution == "uniform":
                uv[u] = rng.uniform(p.low, p.high, n_peer)
            else:
                uv[u] = rng.triangular(p.low, p.value, p.high, n_peer)
        else:
            uv[u] = float(p.value)
    cs = params.cost_scale
    scale = rng.triangular(cs.low, cs.value, cs.high, n_peer) if cs.has_range else 1.0
    lines = {b.name: (b.metric, b.unit_value) for b in params.enabled_benefits}
    start = time.perf_counter()
    peer = _peer_loop(roll.benefit_lines, view.pv_costs, est, uv, scale, lines, n_peer)
    peer_time = (time.perf_counter() - start) * n / n_peer
    diff = float(np.max(np.abs(peer - mc.npsv_draws)))

    print()
    print(f"{'quantity':<44}{'ours (vectorised)':>20}{'per-draw loop':>16}{'ratio':>10}")
    print("-" * 90)
    print(
        f"{f'time for {n:,} draws (s, median of 5)':<44}{ours:>20.4f}{peer_time:>16.2f}"
        f"{peer_time / ours:>10.0f}"
    )
    print(f"{'draws per second':<44}{n / ours:>20,.0f}{n / peer_time:>16,.0f}")
    print(f"{'max |NPSV difference| on shared draws (GBP)':<44}{diff:>20.2e}")
    print(
        f"(peer timed on {n_peer:,} draws and scaled to {n:,}; P(NPSV > 0) = "
        f"{mc.prob_positive:.4f} on the shared draws)"
    )


if __name__ == "__main__":  # pragma: no cover
    main()
