"""Pilot design: how many forces, which ones and for how long (power, MDE, break-even).

Modules: :mod:`.runner` (simulation tasks on Dask).
"""

from __future__ import annotations

from evaluation.pilot_design.runner import DaskSettings, dask_client, run_tasks, task_seeds

__all__ = ["DaskSettings", "dask_client", "run_tasks", "task_seeds"]
