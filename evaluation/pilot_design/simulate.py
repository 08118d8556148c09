"""Power by simulation on the user's own history: placebo pilots with planted effects.

One replication (:func:`replicate`) draws a placebo window of the design's length from the
history (months before any real pilot went live, so no effect exists there), draws the pilot
forces (freely or stratified by size) and their waves, plants a relative effect of each size in
the grid on the pilots' post-go-live months (``y1 = y0 (1 + size path(e))``, with ``path`` a
step at go-live, a ramp-up or a delayed step: :func:`evaluation.synth.effect_path`), and
estimates it with each estimator/inference pair of the toolkit. The same placebo draw and the
same bootstrap seed serve every effect size (common random numbers), so power curves are smooth.
Absent force-months of the history stay absent: the estimator sees the panel as the real
evaluation would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from evaluation.errors import EstimationError, check_option
from evaluation.estimation import estimate
from evaluation.panel import Panel
from evaluation.pilot_design.designs import Design, History, draw_pilots, size_strata
from evaluation.synth import EffectSpec, Shape, effect_path

__all__ = ["DEFAULT_PAIRS", "EFFECT_MODELS", "PowerSpec", "planted_paths", "replicate"]

EffectModel = Literal["relative", "additive"]
EFFECT_MODELS: tuple[str, ...] = ("relative", "additive")

#: (estimator, inference) pairs simulated by default: the recommended inference of
#: Callaway-Sant'Anna for the design, and naive cluster-robust (CR1) standard errors.
DEFAULT_PAIRS: tuple[tuple[str, str | None], ...] = (("cs", None), ("cs", "cr1"))


@dataclass(frozen=True)
class PowerSpec:
    """Everything one replication needs (sent to the Dask workers).

    Attributes
    ----------
    history
        The metric's history (:class:`History`).
    design
        The pilot design.
    effects
        Relative effect sizes to plant (``0.0`` gives the size of the test).
    shape, ramp_months
        Shape of the effect's path (``"constant"``: a step at go-live; ``"linear"``: ramp-up to
        the full size over ``ramp_months``; ``"step"``: full size after ``ramp_months``).
    pairs
        (estimator, inference) pairs; inference ``None`` is the toolkit's recommendation.
    alpha
        Two-sided size of the tests.
    boot_reps
        Bootstrap draws or permutations per test.
    effect_model
        ``"relative"``: each pilot's change is ``size`` times its own level (forces of very
        different sizes then get very different changes, which widens the interval);
        ``"additive"``: every pilot gets ``size`` times the average force's level (the
        homogeneous effect of the analytic formula).
    """

    history: History
    design: Design
    effects: tuple[float, ...]
    shape: Shape = "constant"
    ramp_months: int = 12
    pairs: tuple[tuple[str, str | None], ...] = DEFAULT_PAIRS
    alpha: float = 0.05
    boot_reps: int = 199
    effect_model: EffectModel = "relative"

    def __post_init__(self) -> None:
        check_option("effect_model", self.effect_model, EFFECT_MODELS)


def planted_paths(design: Design, shape: Shape, ramp_months: int) -> np.ndarray:
    """Return ``(waves, window months)``: the effect path of a unit effect for each wave."""
    spec = EffectSpec("planted", shape, 1.0, ramp_months=ramp_months)
    t = np.arange(design.window_months)
    return np.stack([effect_path(spec, t - g, 0) for g in design.go_live_offsets()])


def _assign(spec: PowerSpec, rng: np.random.Generator) -> tuple[int, np.ndarray, np.ndarray]:
    """Draw the window start, the pilots and their waves; return (start, pilots, wave)."""
    h, d = spec.history, spec.design
    start = int(rng.integers(h.window_starts(d.window_months)))
    strata = size_strata(h.fte) if d.selection == "stratified" else None
    pilots = draw_pilots(len(h.forces), d.pilots, rng, selection=d.selection, strata=strata)
    order = rng.permutation(pilots)  # which pilot goes live in which wave
    sizes = np.cumsum((0, *d.wave_sizes()))
    wave = np.full(len(h.forces), -1, dtype=np.int64)
    for w in range(d.waves):
        wave[order[sizes[w] : sizes[w + 1]]] = w
    return start, pilots, wave


def replicate(spec: PowerSpec, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Run one placebo replication; one row per (pair, effect size).

    Row keys: ``rep_start`` (window start), ``method``, ``inference`` (requested, ``None`` for
    the recommendation), ``inference_used``, ``effect`` (relative size), ``truth`` (mean planted
    effect per treated force-month, levels), ``estimate``, ``se``, ``p_value``, ``reject``
    (``p < alpha``), ``failed`` (the estimator raised :class:`EstimationError`).
    """
    sel_rng, est_root = rng.spawn(2)
    h, d = spec.history, spec.design
    start, _, wave = _assign(spec, sel_rng)
    y0 = h.y[:, start : start + d.window_months]
    paths = planted_paths(d, spec.shape, spec.ramp_months)
    offsets = np.asarray(d.go_live_offsets())
    treated = wave >= 0
    path = np.zeros_like(y0)
    path[treated] = paths[wave[treated]]
    present = ~np.isnan(y0)
    units, times = np.nonzero(present)
    cohort = np.where(treated, offsets[np.maximum(wave, 0)] + 1, 0)
    base = y0[units, times]
    if spec.effect_model == "additive":  # the same level change in every pilot force
        level = np.nanmean(y0, axis=0)[times]
    else:  # relative: the change is proportional to each force's own level
        level = base
    lift = level * path[units, times]
    columns = {f"y{j}": base + size * lift for j, size in enumerate(spec.effects)}
    frame = pd.DataFrame(
        {
            "force": np.asarray(h.forces, dtype=object)[units],
            "t": times + 1,
            "cohort": cohort[units],
            **columns,
        }
    )
    panel = Panel.from_frame(
        frame, unit="force", time="t", cohort="cohort", outcomes=list(columns), source="history"
    )
    post = (frame["cohort"].to_numpy() > 0) & (frame["t"].to_numpy() >= frame["cohort"].to_numpy())
    balanced = bool(present.all())
    rows: list[dict[str, Any]] = []
    seeds = est_root.bit_generator.seed_seq.spawn(len(spec.pairs))  # type: ignore[attr-defined]
    for (method, inference), seed in zip(spec.pairs, seeds, strict=True):
        options: dict[str, Any] = {}
        if method == "twfe":
            options["bacon"] = False
        if method == "cs" and not balanced:
            options["allow_unbalanced"] = True
        for j, size in enumerate(spec.effects):
            row: dict[str, Any] = {
                "rep_start": start,
                "method": method,
                "inference": inference,
                "effect": float(size),
                "truth": float(size * lift[post].mean()),
            }
            try:
                res = estimate(
                    panel,
                    f"y{j}",
                    method=method,
                    inference=inference,
                    reps=spec.boot_reps,
                    level=1 - spec.alpha,
                    rng=np.random.Generator(np.random.PCG64(seed)),  # same draws at every size
                    **options,
                )
            except EstimationError as exc:
                row.update(
                    inference_used=inference or "",
                    estimate=np.nan,
                    se=np.nan,
                    p_value=np.nan,
                    reject=False,
                    failed=str(exc)[:200],
                )
            else:
                o = res.overall
                row.update(
                    inference_used=o.inference,
                    estimate=float(o.estimate),
                    se=float(o.se),
                    p_value=float(o.p_value),
                    reject=bool(o.p_value < spec.alpha),
                    failed="",
                )
            rows.append(row)
    return rows
