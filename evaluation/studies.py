"""Simulation studies on the synthetic generator: coverage (calibration) and power.

Each replication draws a fresh panel from :func:`evaluation.synth.simulate` with known potential
outcomes, estimates the pilots' effect and records whether the interval covers the truth: the
average of ``Y(1) - Y(0)`` over the treated force-periods, which is the estimand of the simple
aggregated Callaway-Sant'Anna ATT and of TWFE under homogeneous effects. Replications run as
tasks on Dask (:func:`evaluation.pilot_design.run_tasks`), each with its own spawned seed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from evaluation.errors import ConfigError
from evaluation.estimation import estimate
from evaluation.pilot_design.runner import DaskSettings, run_tasks
from evaluation.synth import SynthArrays, SynthConfig, simulate

__all__ = ["CoverageResult", "arrays_to_frame", "coverage_study", "study_config"]


@dataclass(frozen=True)
class CoverageResult:
    """Outcome of a coverage study.

    Attributes
    ----------
    coverage
        Share of replications whose interval covers the truth.
    mc_se
        Monte Carlo standard error of ``coverage``.
    bias, rmse, mean_width
        Mean of estimate minus truth, root mean squared error, mean interval width.
    table
        One row per replication: ``truth, estimate, ci_low, ci_high, covered``.
    """

    method: str
    inference: str
    metric: str
    level: float
    n_reps: int
    n_treated: int
    coverage: float
    mc_se: float
    bias: float
    rmse: float
    mean_width: float
    table: pd.DataFrame
    weights: str = "rademacher"

    @property
    def _weights_note(self) -> str:
        return f" ({self.weights} weights)" if self.inference in ("multiplier", "wild") else ""

    def summary(self) -> str:
        """One line for reports."""
        return (
            f"{self.method}/{self.inference}{self._weights_note} on {self.metric} "
            f"({self.n_treated} treated forces): "
            f"{self.level:.0%} intervals covered the truth in {self.coverage:.1%} of "
            f"{self.n_reps} replications (MC s.e. {self.mc_se:.1%}); bias {self.bias:.3g}, "
            f"mean width {self.mean_width:.3g}"
        )


def study_config(
    waves: tuple[tuple[str, int], ...] | None = None, **changes: object
) -> SynthConfig:
    """Return the bundled generator's design, balanced (no missing rows), for studies."""
    cfg = SynthConfig(missing_share=0.0, late_reporting_force=None, round_values=False)
    if waves is not None:
        kept = {g for g, _ in waves}
        fixed = tuple((f, g) for f, g in cfg.fixed_pilots if g in kept)
        cfg = replace(cfg, waves=waves, fixed_pilots=fixed)
    return replace(cfg, **changes)  # type: ignore[arg-type]


def arrays_to_frame(arrays: SynthArrays, metric: str) -> tuple[pd.DataFrame, float]:
    """Long frame (``force, t, cohort, y``) of one metric and the true simple ATT.

    Time is coded 1..T and cohorts on the same scale (0 = never treated).
    """
    y1 = np.asarray(arrays.y1[metric], dtype=float)
    y0 = np.asarray(arrays.y0[metric], dtype=float)
    n, t = y1.shape
    cohort = np.where(arrays.cohort >= 0, arrays.cohort + 1, 0)
    frame = pd.DataFrame(
        {
            "force": np.repeat(np.asarray(arrays.forces), t),
            "t": np.tile(np.arange(1, t + 1), n),
            "cohort": np.repeat(cohort, t),
            "y": y1.ravel(),
        }
    )
    treated = arrays.treated
    truth = float((y1 - y0)[treated].mean())
    return frame, truth


def _study_key(*parts: object) -> str:
    """Short hash of a study's parameters (names its checkpoint files)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _coverage_replication(
    task: tuple[SynthConfig, str, str, str | None, int, float, str], rng: np.random.Generator
) -> tuple[dict[str, Any], str, int]:
    """One replication: draw a panel, estimate, and record the interval against the truth."""
    config, metric, method, inference, boot_reps, level, weights = task
    options: dict[str, Any] = {"bacon": False} if method == "twfe" else {}
    sim_rng, est_rng = rng.spawn(2)
    arrays = simulate(config, sim_rng)
    frame, truth = arrays_to_frame(arrays, metric)
    res = estimate(
        frame,
        "y",
        unit="force",
        time="t",
        cohort="cohort",
        method=method,
        inference=inference,
        reps=boot_reps,
        level=level,
        weights=weights,
        rng=est_rng,
        **options,
    )
    o = res.overall
    row = {
        "truth": truth,
        "estimate": o.estimate,
        "ci_low": o.ci_low,
        "ci_high": o.ci_high,
        "covered": bool(o.ci_low <= truth <= o.ci_high),
    }
    return row, o.inference, res.n_treated_units


def coverage_study(
    config: SynthConfig,
    *,
    metric: str,
    method: str = "cs",
    inference: str | None = None,
    reps: int = 500,
    boot_reps: int = 499,
    level: float = 0.95,
    weights: str = "rademacher",
    rng: np.random.Generator | int,
    settings: DaskSettings | None = None,
    client: Any = None,
) -> CoverageResult:
    """Run ``reps`` replications on Dask and report interval coverage of the true simple ATT.

    Parameters
    ----------
    config
        Generator design (see :func:`study_config`).
    metric
        Outcome metric of the generator.
    method, inference
        Estimator and inference method (``None``: the recommended one for the design).
    reps
        Number of simulated panels.
    boot_reps
        Bootstrap draws or permutations inside each replication.
    weights
        Bootstrap weights of the multiplier and wild bootstraps (``"rademacher"``, the default
        everywhere, ``"mammen"``, ``"webb"`` or ``"normal"``).
    rng
        Source of randomness: a generator or an integer seed. Replication ``i`` draws from
        child ``i`` of its seed sequence (``rng.spawn(reps)``), so the results do not depend on
        the number of workers.
    settings, client
        Where to run (:class:`evaluation.pilot_design.DaskSettings`; default a local Dask
        cluster with one worker per core), or an open Dask client.
    """
    if reps < 2:
        raise ConfigError(f"reps must be at least 2; got {reps}")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    seq = generator.bit_generator.seed_seq
    if not isinstance(seq, np.random.SeedSequence):  # pragma: no cover - exotic bit generator
        raise ConfigError("rng must be seeded from a numpy.random.SeedSequence")
    task = (config, metric, method, inference, boot_reps, level, weights)
    out = run_tasks(
        _coverage_replication,
        [task] * reps,
        seed=seq,
        settings=settings,
        key="coverage-" + _study_key(config.to_dict(), *task[1:]),
        label=f"coverage {metric} {method}/{inference or 'recommended'}",
        client=client,
    )
    table = pd.DataFrame([row for row, _, _ in out])
    chosen = out[-1][1]
    n_treated = out[-1][2]
    cov = float(table["covered"].mean())
    err = table["estimate"] - table["truth"]
    return CoverageResult(
        method=method,
        inference=chosen,
        metric=metric,
        level=level,
        n_reps=reps,
        n_treated=n_treated,
        coverage=cov,
        mc_se=float(np.sqrt(cov * (1 - cov) / reps)),
        bias=float(err.mean()),
        rmse=float(np.sqrt((err**2).mean())),
        mean_width=float((table["ci_high"] - table["ci_low"]).mean()),
        table=table,
        weights=weights,
    )
