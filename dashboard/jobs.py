"""Background jobs started from a clean fork server, never forked from the threaded web server.

Dash's :class:`~dash.DiskcacheManager` forks each job from the web server process. The server is
threaded: a fork taken while another request thread holds a lock, or has an SQLite transaction
open on the result cache, leaves the child waiting for ever (SQLite's own documentation forbids
carrying a connection across ``fork``). Jobs here are started by a ``forkserver``: a
single-threaded process that imported the analysis code once and forks a fresh child per job, so
a job starts in well under a second and inherits no lock.
"""

from __future__ import annotations

import threading
from typing import Any

from dash import DiskcacheManager

__all__ = ["JOB_NICENESS", "PRELOAD", "JobManager", "start_fork_server"]

PRELOAD = (
    "pandas",
    "numpy",
    "diskcache",
    "dash",
    "evaluation.pipeline",
    "dashboard.services",
    "dashboard.pages",
)
"""Modules the fork server imports once, so that each job starts without importing them."""

_CONTEXT: Any = None
_CONTEXT_LOCK = threading.Lock()


def _context() -> Any:
    """Return the ``forkserver`` context of :mod:`multiprocess` (Dash's process library)."""
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            import multiprocess

            ctx = multiprocess.get_context("forkserver")
            ctx.set_forkserver_preload(list(PRELOAD))
            _CONTEXT = ctx
        return _CONTEXT


def start_fork_server() -> None:
    """Start the fork server now (it loads :data:`PRELOAD` in the background), not on first job.

    Called when the app is built, so that the first page's job does not wait for it.
    """
    from multiprocess import forkserver

    _context()
    forkserver.ensure_running()


def _job_process(job: Any) -> Any:
    """Return the :class:`psutil.Process` of a job started here, or ``None`` if it has ended.

    A job's parent is the fork server, which reaps it as soon as it ends; its process id can then
    be given to another process, so a process whose parent is not the fork server is not ours.
    """
    import psutil
    from multiprocess import forkserver

    if job is None or not int(job):
        return None
    server = getattr(forkserver._forkserver, "_forkserver_pid", None)
    try:
        process = psutil.Process(int(job))
        if server is None or process.ppid() != server:
            return None
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
    except psutil.NoSuchProcess:
        return None
    return process


JOB_NICENESS = 10
"""How much lower a job's CPU priority is than the web server's (``nice``): the pages' own
callbacks answer first, and a job uses whatever processor time is left."""


def _run_job(job_fn: Any, *args: Any) -> None:
    """Run ``job_fn`` at a lower priority (in the job's own process)."""
    import os

    os.nice(JOB_NICENESS)
    job_fn(*args)


class JobManager(DiskcacheManager):
    """A :class:`dash.DiskcacheManager` whose jobs start from a fork server.

    Dash's own manager expects each job to be a child of the web server that stays until reaped;
    here a job can end (and be reaped by the fork server) between any two steps, so ending and
    checking a job tolerate its having gone, and never touch a process that is not a job.
    """

    def terminate_job(self, job: Any) -> None:
        """End the job ``job`` (a process id) and its children, if it is still running."""
        import psutil

        process = _job_process(job)
        if process is None:
            return
        try:
            children = process.children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        for proc in [*children, process]:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        try:
            process.wait(1)
        except (psutil.TimeoutExpired, psutil.NoSuchProcess):
            pass

    def job_running(self, job: Any) -> bool:
        """Return whether the job ``job`` (a process id) is still running."""
        return _job_process(job) is not None

    def call_job_fn(self, key: Any, job_fn: Any, args: Any, context: Any) -> int:
        """Start ``job_fn`` in a fresh process and return its process id."""
        process = _context().Process(
            target=_run_job,
            args=(job_fn, key, self._make_progress_key(key), args, context),
            daemon=False,
        )
        process.start()
        return int(process.pid)
