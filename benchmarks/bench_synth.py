"""Speed of the synthetic data generator (the engine of power and coverage simulations).

Times one 43-force x 96-month draw through the array fast path (``simulate``), the full data
set with frames and ledger (``generate``) and the quarterly variant. The only "peer" is the
explicit Python loop over months for the backlog recursion that ``lindley_backlog`` replaces.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from evaluation.synth import SynthConfig, generate, lindley_backlog, simulate


def _time(fn: Callable[[int], object], reps: int) -> float:
    fn(0)  # warm-up (imports, caches)
    start = time.perf_counter()
    for i in range(reps):
        fn(i)
    return (time.perf_counter() - start) / reps * 1e3


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _loop_backlog(initial: np.ndarray, inflow: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    out = np.empty_like(inflow)
    for f in range(inflow.shape[0]):
        prev = float(initial[f])
        for t in range(inflow.shape[1]):
            prev = max(0.0, prev + inflow[f, t] - capacity[f, t])
            out[f, t] = prev
    return out


def main(quick: bool = False) -> None:
    reps = 20 if quick else 200
    cfg = SynthConfig()
    quarterly = replace(cfg, freq="quarter")
    rows = [
        ("simulate, 43 x 96 months", _time(lambda s: simulate(cfg, _rng(s)), reps)),
        ("simulate, 43 x 32 quarters", _time(lambda s: simulate(quarterly, _rng(s)), reps)),
        ("generate (frames, ledger, truth)", _time(lambda s: generate(cfg, _rng(s)), reps // 10)),
    ]
    print(f"{'task':40s} {'ms per draw':>12s}")
    for name, ms in rows:
        print(f"{name:40s} {ms:12.2f}")

    rng = np.random.default_rng(0)
    inflow = rng.poisson(300, (43, 96)).astype(float)
    capacity = rng.poisson(300, (43, 96)).astype(float)
    initial = np.full(43, 700.0)
    np.testing.assert_allclose(
        lindley_backlog(initial, inflow, capacity), _loop_backlog(initial, inflow, capacity)
    )
    ours = _time(lambda _: lindley_backlog(initial, inflow, capacity), reps * 5)
    peer = _time(lambda _: _loop_backlog(initial, inflow, capacity), reps // 4)
    print()
    print(f"{'backlog recursion, 43 x 96':40s} {'ours ms':>10s} {'loop ms':>10s} {'ratio':>8s}")
    print(f"{'closed form vs Python loop':40s} {ours:10.3f} {peer:10.3f} {peer / ours:8.0f}x")


if __name__ == "__main__":
    main()
