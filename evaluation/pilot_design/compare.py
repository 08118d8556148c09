"""Compare pilot designs: MDE, size and power at the break-even effect, per metric and design.

:func:`compare_designs` runs, for each metric, design and estimator/inference pair, the placebo
replications of :mod:`.simulate` on Dask (:func:`evaluation.pilot_design.runner.run_tasks`) and
puts beside them the analytic BPW approximation (:mod:`.analytic`) and the appraisal's
break-even effect (:mod:`.breakeven`). The grid of planted effects holds zero (the size), the
analytic MDE times ``GRID_MULTIPLES``, the break-even effect and the current estimate, each in
the metric's favourable direction.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation.errors import ConfigError
from evaluation.pilot_design.analytic import analytic_mde
from evaluation.pilot_design.breakeven import per_force_year_factor
from evaluation.pilot_design.designs import Design, History, check_fits
from evaluation.pilot_design.power import PowerCurve, summarise_pair
from evaluation.pilot_design.runner import DaskSettings, dask_client, run_tasks
from evaluation.pilot_design.simulate import (
    DEFAULT_PAIRS,
    EffectModel,
    PowerSpec,
    planted_paths,
    replicate,
)
from evaluation.synth import Shape

__all__ = ["GRID_MULTIPLES", "MAX_FALL", "DesignComparison", "MetricInfo", "compare_designs"]

#: Multiples of the analytic MDE planted to trace each power curve.
GRID_MULTIPLES: tuple[float, ...] = (0.5, 1.0, 2.0)
#: Largest relative fall that can be planted (a metric cannot fall by 100% or more).
MAX_FALL = 0.95


@dataclass(frozen=True)
class MetricInfo:
    """What the comparison needs to know about a metric besides its history.

    Attributes
    ----------
    direction
        ``-1`` when a fall is the benefit (e.g. outsourced examinations), ``+1`` for a rise.
    flow
        Flows are summed over a year (effects per force-year are 12 monthly effects); levels
        (days, backlog) are not.
    break_even
        The appraisal's break-even effect per pilot force-year (``nan``: none; the metric has
        no core benefit line).
    estimate
        The current estimate per pilot force-year (``nan``: none).
    """

    direction: int = -1
    flow: bool = True
    break_even: float = math.nan
    estimate: float = math.nan


@dataclass(frozen=True)
class DesignComparison:
    """Results of :func:`compare_designs`.

    Attributes
    ----------
    table
        One row per design, metric and estimator/inference pair (see :meth:`to_dict`).
    curves
        ``(design label, metric) -> PowerCurve`` per pair, in table order.
    reps, seed
        Replications per design and metric, and the seed.
    """

    table: pd.DataFrame
    curves: tuple[tuple[str, str, PowerCurve], ...] = field(repr=False)
    reps: int = 0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """``{"designs": [row, ...], "reps": R, "seed": S}`` with ``None`` for missing."""
        rows = []
        for rec in self.table.to_dict("records"):
            rows.append(
                {
                    k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in rec.items()
                }
            )
        return {"designs": rows, "reps": self.reps, "seed": self.seed}


def _key(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _grid(
    analytic_rel: float, break_even_rel: float, estimate_rel: float, direction: int
) -> tuple[float, ...]:
    """Planted effects: zero, multiples of the analytic MDE, break-even and estimate."""
    points = [0.0]
    if math.isfinite(analytic_rel) and analytic_rel > 0:
        points += [direction * analytic_rel * m for m in GRID_MULTIPLES]
    for extra in (break_even_rel, estimate_rel):
        if math.isfinite(extra) and extra != 0:
            points.append(extra)
    out: list[float] = []
    for p in points:
        p = max(p, -MAX_FALL)
        if not any(math.isclose(p, q, rel_tol=1e-9, abs_tol=1e-12) for q in out):
            out.append(p + 0.0)
    return tuple(out)


def _analytic(history: History, design: Design, method: str) -> float:
    """BPW MDE in levels per force-month (single-wave designs; ``nan`` for staggered ones)."""
    if design.waves != 1:
        return math.nan
    return analytic_mde(
        history.y,
        pre_months=design.pre_months,
        post_months=design.follow_up_months,
        pilots=design.pilots,
        estimator=method,
    )


def compare_designs(
    histories: Mapping[str, History],
    designs: Sequence[Design],
    *,
    info: Mapping[str, MetricInfo] | None = None,
    pairs: Sequence[tuple[str, str | None]] = DEFAULT_PAIRS,
    shape: Shape = "constant",
    ramp_months: int = 12,
    reps: int = 100,
    boot_reps: int = 199,
    alpha: float = 0.05,
    seed: int = 0,
    settings: DaskSettings | None = None,
    design_costs: Mapping[Design, float] | None = None,
    effect_model: EffectModel = "relative",
) -> DesignComparison:
    """Simulate every design for every metric and pair; return the comparison table.

    Parameters
    ----------
    histories
        Metric -> :class:`History` (the panel before any real go-live).
    designs
        Designs to compare.
    info
        Metric -> :class:`MetricInfo` (direction, flow, break-even, estimate).
    pairs
        (estimator, inference) pairs; inference ``None`` is the toolkit's recommendation.
    shape, ramp_months
        Shape of the planted effects.
    reps
        Placebo replications per design and metric (Monte Carlo error of a power ``p`` is
        ``sqrt(p (1 - p) / reps)``).
    boot_reps
        Bootstrap draws or permutations per test.
    seed
        Seed: study ``j`` (metric x design, in order) uses child ``j`` of
        ``SeedSequence(seed).spawn``, and replication ``i`` child ``i`` of that.
    settings
        Where to run (:class:`DaskSettings`).
    design_costs
        Optional indicative cost of each design (added as column ``cost``).
    effect_model
        ``"relative"`` or ``"additive"`` planted effects (:class:`PowerSpec`).
    """
    if reps < 2:
        raise ConfigError(f"reps must be at least 2; got {reps}")
    info = dict(info or {})
    settings = settings or DaskSettings()
    for h in histories.values():
        check_fits(h, designs)
    studies = [(m, d) for m in histories for d in designs]
    study_seeds = np.random.SeedSequence(seed).spawn(len(studies))
    rows: list[dict[str, Any]] = []
    curves: list[tuple[str, str, PowerCurve]] = []
    with dask_client(settings) as client:
        for (metric, design), study_seed in zip(studies, study_seeds, strict=True):
            h = histories[metric]
            mi = info.get(metric, MetricInfo())
            paths = planted_paths(design, shape, ramp_months)
            sizes = design.wave_sizes()
            factor_year = per_force_year_factor(
                h.y, paths, sizes, design.go_live_offsets(), flow=mi.flow
            )
            per_year = 12.0 if mi.flow else 1.0
            factor_month = factor_year / per_year
            be_rel = mi.break_even / factor_year if math.isfinite(mi.break_even) else math.nan
            est_rel = mi.estimate / factor_year if math.isfinite(mi.estimate) else math.nan
            analytic = {p[0]: _analytic(h, design, p[0]) for p in pairs}
            guess = next(iter(analytic.values()))
            if not math.isfinite(guess):  # staggered: the single-wave analogue sizes the grid
                single = Design(
                    design.pilots,
                    1,
                    pre_months=design.pre_months,
                    follow_up_months=design.follow_up_months,
                )
                guess = _analytic(h, single, pairs[0][0]) * 1.3
            grid = _grid(guess / factor_month, be_rel, est_rel, mi.direction)
            spec = PowerSpec(
                h, design, grid, shape, ramp_months, tuple(pairs), alpha, boot_reps, effect_model
            )
            out = run_tasks(
                replicate,
                [spec] * reps,
                seed=study_seed,
                settings=settings,
                client=client,
                key="power-"
                + _key(
                    h.metric,
                    h.periods,
                    h.y.tobytes(),
                    spec.design,
                    grid,
                    shape,
                    ramp_months,
                    tuple(pairs),
                    alpha,
                    boot_reps,
                    effect_model,
                    seed,
                ),
                label=f"{metric}, {design.label()}",
            )
            frame = pd.DataFrame([r for rep in out for r in rep])
            for method, inference in pairs:
                curve = summarise_pair(frame, method, inference, mi.direction)
                curves.append((design.label(), metric, curve))
                a_level = analytic[method]
                be_power = (
                    curve.power_at_effect(max(be_rel, -MAX_FALL))
                    if math.isfinite(be_rel)
                    else math.nan
                )
                rows.append(
                    {
                        "design": design.label(),
                        "pilots": design.pilots,
                        "waves": design.waves,
                        "pre_months": design.pre_months,
                        "follow_up_months": design.follow_up_months,
                        "selection": design.selection,
                        "metric": metric,
                        "method": method,
                        "inference": curve.inference,
                        "inference_used": curve.inference_used,
                        "mde": curve.mde * curve.truth_per_unit_effect * per_year,
                        "mde_relative": curve.mde,
                        "analytic_mde": mi.direction * a_level * per_year,
                        "analytic_mde_relative": mi.direction * a_level / factor_month,
                        "effect_estimate": mi.estimate,
                        "power": curve.power_at_effect(max(est_rel, -MAX_FALL))
                        if math.isfinite(est_rel)
                        else math.nan,
                        "break_even_effect": mi.break_even,
                        "break_even_relative": be_rel,
                        "break_even_reachable": bool(math.isfinite(be_rel) and be_rel > -MAX_FALL),
                        "power_at_break_even": be_power,
                        "size": curve.size,
                        "size_mc_se": curve.size_mc_se,
                        "reps": curve.n_reps,
                        "failed": curve.n_failed,
                        "cost": (design_costs or {}).get(design, math.nan),
                    }
                )
    return DesignComparison(pd.DataFrame(rows), tuple(curves), reps, seed)
