"""Pilot design: how many forces, which ones and for how long (power, MDE, break-even).

Modules:

* :mod:`.runner`: simulation tasks on Dask (a local cluster or a given scheduler), seeded per
  task from ``numpy.random.SeedSequence.spawn``, resumable chunks, progress bar;
* :mod:`.designs`: :class:`Design` (pilots, waves, pre and follow-up months, free or stratified
  choice) and the :class:`History` of a metric before any real go-live;
* :mod:`.simulate`: one placebo replication with planted effects;
* :mod:`.power`: power curves, size and the MDE at 80% power;
* :mod:`.analytic`: the Burlig-Preonas-Woerman (2020) MDE with serial correlation;
* :mod:`.breakeven`: the appraisal's break-even effects and design costs;
* :mod:`.compare`: :func:`compare_designs`, the table behind ``pathfinder design``;
* :mod:`.choose`: :func:`choose_pilots`, balanced pilot sets under constraints;
* :mod:`.chart`: the plotly chart and the readable table.

Names are imported from their module on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "DaskSettings": "evaluation.pilot_design.runner",
    "dask_client": "evaluation.pilot_design.runner",
    "run_tasks": "evaluation.pilot_design.runner",
    "task_seeds": "evaluation.pilot_design.runner",
    "Design": "evaluation.pilot_design.designs",
    "History": "evaluation.pilot_design.designs",
    "history_from_panel": "evaluation.pilot_design.designs",
    "PowerSpec": "evaluation.pilot_design.simulate",
    "replicate": "evaluation.pilot_design.simulate",
    "PowerCurve": "evaluation.pilot_design.power",
    "analytic_mde": "evaluation.pilot_design.analytic",
    "bpw_components": "evaluation.pilot_design.analytic",
    "break_even_effects": "evaluation.pilot_design.breakeven",
    "DesignComparison": "evaluation.pilot_design.compare",
    "MetricInfo": "evaluation.pilot_design.compare",
    "compare_designs": "evaluation.pilot_design.compare",
    "PilotProposal": "evaluation.pilot_design.choose",
    "choose_pilots": "evaluation.pilot_design.choose",
    "comparison_figure": "evaluation.pilot_design.chart",
    "comparison_table": "evaluation.pilot_design.chart",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evaluation.pilot_design' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
