"""Pilot-design simulations on Dask: speed-up from one to two workers, cost per simulated panel.

Runs the same placebo power study (bundled panel history, outsourced examinations, 10 pilots,
Callaway-Sant'Anna with the multiplier bootstrap at three planted effects) on a local Dask
cluster of one worker process and of two, checks that both give identical results, and prints
the wall time of each, the speed-up, the cluster start-up time and the cost per simulated panel
(one placebo replication: a pilot draw, a panel with three planted effects and three fits). The
"peer" is the same tasks run in this process without Dask.
"""

from __future__ import annotations

import time

import pandas as pd

from evaluation.ingest import bundled_data_dir
from evaluation.pilot_design.designs import Design, history_from_panel
from evaluation.pilot_design.runner import DaskSettings, dask_client, run_tasks
from evaluation.pilot_design.simulate import PowerSpec, replicate


def _spec() -> PowerSpec:
    panel = pd.read_csv(bundled_data_dir() / "sample" / "panel.csv")
    history = history_from_panel(panel, "outsourced_exams", before="2022-04")
    return PowerSpec(
        history, Design(10), (0.0, -0.1, -0.2), pairs=(("cs", "multiplier"),), boot_reps=199
    )


def _timed(spec: PowerSpec, reps: int, settings: DaskSettings) -> tuple[float, float, list]:
    start = time.perf_counter()
    with dask_client(settings) as client:
        ready = time.perf_counter()
        out = run_tasks(replicate, [spec] * reps, seed=7, settings=settings, client=client)
        done = time.perf_counter()
    return ready - start, done - ready, out


def main(quick: bool = False) -> None:
    reps = 16 if quick else 80
    spec = _spec()
    run_tasks(replicate, [spec] * 2, seed=1, settings=DaskSettings(workers=0))  # warm-up
    _, serial, ref = _timed(spec, reps, DaskSettings(workers=0))
    up1, one, out1 = _timed(spec, reps, DaskSettings(workers=1, chunk_size=4))
    up2, two, out2 = _timed(spec, reps, DaskSettings(workers=2, chunk_size=4))
    assert out1 == out2 == ref, "results differ between worker counts"
    print(f"{reps} placebo replications (3 planted effects, 3 CS fits each), identical results")
    print(f"{'run':34s} {'start-up s':>11s} {'wall s':>8s} {'ms/panel':>9s} {'speed-up':>9s}")
    print(
        f"{'in process, no Dask (peer)':34s} {0.0:11.2f} {serial:8.2f} "
        f"{serial / reps * 1e3:9.1f} {1.0:9.2f}"
    )
    print(
        f"{'Dask local cluster, 1 worker':34s} {up1:11.2f} {one:8.2f} "
        f"{one / reps * 1e3:9.1f} {serial / one:9.2f}"
    )
    print(
        f"{'Dask local cluster, 2 workers':34s} {up2:11.2f} {two:8.2f} "
        f"{two / reps * 1e3:9.1f} {serial / two:9.2f}"
    )
    print(f"speed-up from 1 to 2 workers: {one / two:.2f}x")


if __name__ == "__main__":
    main()
