"""The Dask runner: per-task seeds, identical results for any worker count, resumable chunks."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from evaluation.errors import ConfigError
from evaluation.estimation import estimate
from evaluation.pilot_design.runner import (
    DaskSettings,
    Progress,
    dask_client,
    run_tasks,
    task_seeds,
)
from evaluation.studies import arrays_to_frame, coverage_study, study_config
from evaluation.synth import simulate

CALLS: list[int] = []


def _draw(task: int, rng: np.random.Generator) -> tuple[int, float, float]:
    return task, float(rng.standard_normal()), float(rng.random())


def _counted(task: int, rng: np.random.Generator) -> tuple[int, float, float]:
    CALLS.append(task)
    return _draw(task, rng)


def _fails_at_five(task: int, rng: np.random.Generator) -> tuple[int, float, float]:
    if task == 5:
        raise RuntimeError("interrupted")
    return _draw(task, rng)


def test_task_seeds_are_the_spawned_streams() -> None:
    seeds = task_seeds(123, 4)
    mine = [np.random.Generator(np.random.PCG64(s)).random(3) for s in seeds]
    ref = [g.random(3) for g in np.random.default_rng(123).spawn(4)]
    for a, b in zip(mine, ref, strict=True):
        np.testing.assert_array_equal(a, b)
    # every task has its own stream
    assert len({tuple(m) for m in mine}) == 4


def test_results_identical_for_one_and_two_workers_and_any_chunk_size() -> None:
    serial = run_tasks(_draw, range(11), seed=9, settings=DaskSettings(workers=0))
    assert [r[0] for r in serial] == list(range(11))
    one = run_tasks(
        _draw, range(11), seed=9, settings=DaskSettings(workers=1, processes=False, chunk_size=4)
    )
    two = run_tasks(
        _draw, range(11), seed=9, settings=DaskSettings(workers=2, processes=False, chunk_size=3)
    )
    assert one == serial
    assert two == serial
    other = run_tasks(_draw, range(11), seed=10, settings=DaskSettings(workers=0))
    assert other != serial


def test_shared_client_runs_several_jobs() -> None:
    settings = DaskSettings(workers=2, processes=False, chunk_size=2)
    with dask_client(settings) as client:
        a = run_tasks(_draw, range(5), seed=1, settings=settings, client=client)
        b = run_tasks(_draw, range(5), seed=1, settings=settings, client=client)
    assert a == b == run_tasks(_draw, range(5), seed=1, settings=DaskSettings(workers=0))


def test_interrupted_run_resumes_from_finished_chunks(tmp_path: Path) -> None:
    settings = DaskSettings(workers=0, chunk_size=2, checkpoint_dir=tmp_path)
    with pytest.raises(RuntimeError, match="interrupted"):
        run_tasks(_fails_at_five, range(9), seed=4, settings=settings, key="demo")
    kept = sorted(p.name for p in tmp_path.glob("demo-*.pkl"))
    assert len(kept) == 2  # tasks 0-1 and 2-3 finished before task 5 failed
    assert not list(tmp_path.glob("*.tmp"))
    CALLS.clear()
    resumed = run_tasks(_counted, range(9), seed=4, settings=settings, key="demo")
    assert sorted(CALLS) == [4, 5, 6, 7, 8]  # only the unfinished chunks ran
    assert resumed == run_tasks(_draw, range(9), seed=4, settings=DaskSettings(workers=0))
    # another seed or key does not reuse these files
    CALLS.clear()
    run_tasks(_counted, range(9), seed=5, settings=settings, key="demo")
    assert sorted(CALLS) == list(range(9))


def test_progress_bar_only_when_enabled() -> None:
    out = io.StringIO()
    bar = Progress(4, "sim", True, out)
    bar.update(2)
    bar.update(2)
    text = out.getvalue()
    assert "2/4 tasks" in text and "4/4 tasks" in text and text.endswith("\n")
    quiet = io.StringIO()
    Progress(4, "sim", False, quiet).update(4)
    assert quiet.getvalue() == ""


def test_progress_callback_hears_every_chunk_in_order() -> None:
    seen: list[tuple[int, int]] = []
    settings = DaskSettings(
        workers=0, chunk_size=3, progress=False, on_progress=lambda d, t: seen.append((d, t))
    )
    out = run_tasks(_counted, range(8), seed=1, settings=settings, key="cb")
    assert len(out) == 8
    assert seen == [(0, 8), (3, 8), (6, 8), (8, 8)]


def test_settings_reject_bad_values() -> None:
    with pytest.raises(ConfigError, match="workers"):
        DaskSettings(workers=-1)
    with pytest.raises(ConfigError, match="chunk_size"):
        DaskSettings(chunk_size=0)


def test_unreachable_scheduler_is_a_clear_error() -> None:
    settings = DaskSettings(scheduler="tcp://127.0.0.1:9", connect_timeout=1.0)
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        run_tasks(_draw, range(2), seed=1, settings=settings)


def test_coverage_study_on_dask_keeps_the_serial_numbers() -> None:
    """The study on the runner draws the same streams as a plain loop over rng.spawn(reps)."""
    cfg = study_config(waves=(("2022-04", 6),))
    res = coverage_study(
        cfg,
        metric="cce_referrals",
        method="cs",
        reps=3,
        boot_reps=49,
        rng=np.random.default_rng(31),
        settings=DaskSettings(workers=2, processes=False, chunk_size=1),
    )
    expected = []
    for child in np.random.default_rng(31).spawn(3):
        sim_rng, est_rng = child.spawn(2)
        frame, truth = arrays_to_frame(simulate(cfg, sim_rng), "cce_referrals")
        o = estimate(
            frame, "y", unit="force", time="t", cohort="cohort", reps=49, rng=est_rng
        ).overall
        expected.append((truth, o.estimate, o.ci_low, o.ci_high))
    got = list(res.table[["truth", "estimate", "ci_low", "ci_high"]].itertuples(index=False))
    assert [tuple(g) for g in got] == expected
