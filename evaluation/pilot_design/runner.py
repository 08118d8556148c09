"""Run simulation tasks on Dask: a local cluster by default, or a given scheduler.

Every simulation study of the toolkit (the coverage study of ``make calibration``, the power
analysis of ``pathfinder design``) is a list of independent tasks, each needing its own random
numbers. :func:`run_tasks` maps them over a :mod:`dask.distributed` cluster:

* **seeds**: task ``i`` gets child ``i`` of ``numpy.random.SeedSequence(seed).spawn(n_tasks)``
  (the same streams as ``numpy.random.default_rng(seed).spawn(n_tasks)``), whatever worker runs
  it, so results are identical for 1, 2 or N workers and for any chunk size;
* **chunks**: tasks are sent in chunks of ``chunk_size`` (one Dask task per chunk), so the
  scheduler's overhead (a few milliseconds a task) stays small next to the work;
* **checkpoints**: with ``checkpoint_dir``, each finished chunk is written to its own file named by
  the job key, the seed and the chunk's task range; a rerun after an interruption loads the
  finished chunks and computes only the rest;
* **progress**: a progress bar on standard error when it is a terminal, nothing otherwise.

``workers=0`` runs the tasks in this process without Dask (same seeds, same results): for
debugging and for jobs too small to pay for starting a cluster.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np

from evaluation.errors import ConfigError

__all__ = ["DaskSettings", "Progress", "chunk_path", "dask_client", "run_tasks", "task_seeds"]

T = TypeVar("T")
R = TypeVar("R")

#: A task function: ``func(task, rng) -> result`` (module level, so that Dask can pickle it).
TaskFunc = Callable[[Any, np.random.Generator], Any]


@dataclass(frozen=True)
class DaskSettings:
    """Where and how to run simulation tasks.

    Parameters
    ----------
    workers
        Worker processes of the local cluster (``None``: one per CPU core; ``0``: no Dask, run
        in this process). Ignored with ``scheduler``.
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``): use its workers instead of a
        local cluster.
    processes
        Local cluster of processes (``True``) or of threads in this process (``False``: starts
        faster; the simulations hold the GIL much of the time, so use it for tests only).
    chunk_size
        Tasks per Dask task (``None``: about four chunks per worker, at most 50 tasks each).
    checkpoint_dir
        Folder for the per-chunk result files (``None``: keep results in memory only).
    progress
        Show a progress bar (``None``: only when standard error is a terminal).
    on_progress
        Called as ``on_progress(done, total)`` with the number of tasks finished, each time a
        chunk finishes (and once at the start), e.g. to drive a progress bar in a web page.
    connect_timeout
        Seconds to wait for the scheduler at ``scheduler``.
    """

    workers: int | None = None
    scheduler: str | None = None
    processes: bool = True
    chunk_size: int | None = None
    checkpoint_dir: Path | None = None
    progress: bool | None = None
    connect_timeout: float = 20.0
    on_progress: Callable[[int, int], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 0):
            raise ConfigError(f"workers must be a whole number >= 0; got {self.workers!r}")
        if self.chunk_size is not None and (
            not isinstance(self.chunk_size, int) or self.chunk_size < 1
        ):
            raise ConfigError(f"chunk_size must be a whole number >= 1; got {self.chunk_size!r}")
        if self.scheduler is not None and not str(self.scheduler).strip():
            raise ConfigError("scheduler must be an address such as tcp://10.0.0.5:8786")

    @property
    def n_workers(self) -> int:
        """Local worker processes to start (at least 1)."""
        if self.workers is None:
            return max(1, os.cpu_count() or 1)
        return max(1, self.workers)


def task_seeds(seed: int | np.random.SeedSequence, n_tasks: int) -> list[np.random.SeedSequence]:
    """Return one independent :class:`numpy.random.SeedSequence` per task.

    ``Generator(PCG64(task_seeds(s, n)[i]))`` draws the same numbers as
    ``numpy.random.default_rng(s).spawn(n)[i]``.

    Examples
    --------
    >>> a = np.random.Generator(np.random.PCG64(task_seeds(7, 3)[2])).random()
    >>> b = np.random.default_rng(7).spawn(3)[2].random()
    >>> a == b
    True
    """
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return list(seq.spawn(n_tasks))


def _seed_label(seed: int | np.random.SeedSequence) -> str:
    if isinstance(seed, np.random.SeedSequence):
        key = (seed.entropy, tuple(seed.spawn_key), seed.n_children_spawned)
        return hashlib.sha256(repr(key).encode()).hexdigest()[:12]
    return str(int(seed))


def chunk_path(directory: Path, key: str, seed_label: str, first: int, last: int) -> Path:
    """Return the checkpoint file of tasks ``first..last`` (inclusive) of a job."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key) or "job"
    return Path(directory) / f"{safe}-seed{seed_label}-tasks{first:06d}-{last:06d}.pkl"


def _run_chunk(
    func: TaskFunc, tasks: Sequence[Any], seeds: Sequence[np.random.SeedSequence]
) -> list[Any]:
    """Run one chunk of tasks, each with the generator of its own seed."""
    return [
        func(task, np.random.Generator(np.random.PCG64(s)))
        for task, s in zip(tasks, seeds, strict=True)
    ]


class Progress:
    """A one-line progress bar on a stream (silent when disabled)."""

    def __init__(
        self,
        total: int,
        label: str,
        enabled: bool,
        stream: IO[str] | None = None,
        callback: Callable[[int, int], None] | None = None,
    ):
        self.total, self.label, self.enabled = total, label, enabled
        self.stream = stream or sys.stderr
        self.callback = callback
        self.done = 0
        self.start = time.perf_counter()

    def update(self, n: int) -> None:
        """Advance by ``n`` tasks, tell the callback and redraw."""
        self.done += n
        if self.callback is not None:
            self.callback(self.done, self.total)
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        secs = time.perf_counter() - self.start
        eta = secs / self.done * (self.total - self.done) if self.done else 0.0
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
            f"{self.done}/{self.total} tasks, {secs:.0f} s elapsed, ~{eta:.0f} s left"
        )
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


@contextmanager
def dask_client(settings: DaskSettings) -> Iterator[Any]:
    """Yield a Dask client on the given scheduler or on a new local cluster (closed after).

    Open one around several :func:`run_tasks` calls (pass it as ``client``) to start the
    cluster once. With ``workers=0`` and no scheduler it yields ``None`` (run in process).
    """
    if settings.workers == 0 and not settings.scheduler:
        yield None
        return
    import logging

    from distributed import Client, LocalCluster

    if settings.scheduler:
        try:
            client = Client(settings.scheduler, timeout=f"{settings.connect_timeout}s")
        except OSError as exc:
            raise ConfigError(
                f"cannot reach the Dask scheduler at {settings.scheduler!r}: {exc}"
            ) from exc
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=settings.n_workers,
        threads_per_worker=1,
        processes=settings.processes,
        dashboard_address=None,
        # no dashboard, and the scheduler's health/metrics server on a free port: another
        # cluster (a notebook's, a parallel job's) may hold Dask's default 8787
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def run_tasks(
    func: TaskFunc,
    tasks: Sequence[Any],
    *,
    seed: int | np.random.SeedSequence,
    settings: DaskSettings | None = None,
    key: str = "job",
    label: str = "simulating",
    client: Any = None,
) -> list[Any]:
    """Map ``func(task, rng)`` over ``tasks`` on Dask and return the results in task order.

    Parameters
    ----------
    func
        Module-level function of one task and a :class:`numpy.random.Generator`.
    tasks
        Picklable task descriptions.
    seed
        Integer seed or :class:`numpy.random.SeedSequence`; task ``i`` draws from child ``i`` of
        its ``spawn(len(tasks))`` (:func:`task_seeds`).
    settings
        Cluster, chunking, checkpoints and progress (:class:`DaskSettings`).
    key
        Name of the job in checkpoint file names: change it whenever the tasks change (it should
        describe the design, e.g. a hash of the study's parameters).
    label
        Text before the progress bar.
    client
        An open Dask client (:func:`dask_client`) to use instead of starting a cluster.

    Returns
    -------
    list
        ``func``'s results, in the order of ``tasks``.
    """
    settings = settings or DaskSettings()
    tasks = list(tasks)
    n = len(tasks)
    if n == 0:
        return []
    seed_label = _seed_label(seed)
    seeds = task_seeds(seed, n)
    size = settings.chunk_size
    if size is None:
        n_workers = 4 if settings.scheduler else settings.n_workers
        size = max(1, min(50, -(-n // (4 * n_workers))))
    bounds = [(i, min(i + size, n)) for i in range(0, n, size)]
    results: dict[int, list[Any]] = {}
    directory = settings.checkpoint_dir
    if directory is not None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for first, stop in bounds:
            path = chunk_path(directory, key, seed_label, first, stop - 1)
            if path.exists():
                with path.open("rb") as fh:
                    results[first] = pickle.load(fh)
    todo = [(first, stop) for first, stop in bounds if first not in results]
    enabled = sys.stderr.isatty() if settings.progress is None else settings.progress
    bar = Progress(n, label, enabled and bool(todo), callback=settings.on_progress)
    bar.update(sum(len(r) for r in results.values()))

    def keep(first: int, stop: int, chunk: list[Any]) -> None:
        results[first] = chunk
        if directory is not None:
            path = chunk_path(directory, key, seed_label, first, stop - 1)
            tmp = path.with_suffix(".tmp")
            with tmp.open("wb") as fh:
                pickle.dump(chunk, fh)
            tmp.replace(path)  # atomic: an interrupted write leaves no half file
        bar.update(stop - first)

    in_process = client is None and settings.workers == 0 and not settings.scheduler
    if todo and in_process:
        for first, stop in todo:
            keep(first, stop, _run_chunk(func, tasks[first:stop], seeds[first:stop]))
    elif todo:
        with ExitStack() as stack:
            if client is None:
                client = stack.enter_context(dask_client(settings))
            _map_on(client, func, tasks, seeds, todo, key, seed_label, keep)
    return [r for first, _ in bounds for r in results[first]]


def _map_on(
    client: Any,
    func: TaskFunc,
    tasks: Sequence[Any],
    seeds: Sequence[np.random.SeedSequence],
    todo: Sequence[tuple[int, int]],
    key: str,
    seed_label: str,
    keep: Callable[[int, int, list[Any]], None],
) -> None:
    """Submit the chunks to the client and keep each result as it completes."""
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]  # Dask keys must be unique on a shared scheduler
    futures = {
        client.submit(
            _run_chunk,
            func,
            tasks[first:stop],
            seeds[first:stop],
            key=f"{key}-{seed_label}-{first}-{stop}-{token}",
            pure=False,
        ): (first, stop)
        for first, stop in todo
    }
    for future in as_completed(futures):
        first, stop = futures[future]
        keep(first, stop, future.result())
        future.release()
