"""Power curves, size and the minimum detectable effect from simulated replications."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PowerCurve", "interpolate_mde", "power_at", "summarise_pair"]


@dataclass(frozen=True)
class PowerCurve:
    """Simulated power of one estimator/inference pair for one metric and design.

    Effects are relative (``-0.1`` = a 10% fall in the metric on the pilots' live months).

    Attributes
    ----------
    method, inference
        Estimator and the requested inference (``"recommended"``: the toolkit's choice).
    inference_used
        The inference actually run (most frequent over replications).
    effects, power, mc_se
        The grid of planted effects, the share of replications rejecting at each, and its
        Monte Carlo standard error ``sqrt(p (1 - p) / R)``.
    size, size_mc_se
        Rejection rate with no planted effect and its Monte Carlo error.
    mde
        Relative effect (in the direction of the grid) with 80% power, interpolated linearly
        between grid points; ``nan`` when no grid point reaches 80%.
    n_reps, n_failed
        Replications and estimator failures (failures count as non-rejections).
    truth_per_unit_effect
        Mean planted effect per treated force-month, in levels, for a relative effect of 1
        (over the replications): converts relative effects to levels.
    """

    method: str
    inference: str
    inference_used: str
    effects: tuple[float, ...]
    power: tuple[float, ...]
    mc_se: tuple[float, ...]
    size: float
    size_mc_se: float
    mde: float
    n_reps: int
    n_failed: int
    truth_per_unit_effect: float
    target_power: float = 0.8

    def power_at_effect(self, effect: float) -> float:
        """Return the simulated power at a grid effect (``nan`` if it is not on the grid)."""
        return power_at(self.effects, self.power, effect)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "method": self.method,
            "inference": self.inference,
            "inference_used": self.inference_used,
            "effects": list(self.effects),
            "power": list(self.power),
            "mc_se": list(self.mc_se),
            "size": self.size,
            "size_mc_se": self.size_mc_se,
            "mde_relative": None if math.isnan(self.mde) else self.mde,
            "n_reps": self.n_reps,
            "n_failed": self.n_failed,
        }


def power_at(effects: Sequence[float], power: Sequence[float], effect: float) -> float:
    """Return the power at grid effect ``effect`` (``nan`` if absent)."""
    for e, p in zip(effects, power, strict=True):
        if math.isclose(e, effect, rel_tol=1e-9, abs_tol=1e-12):
            return float(p)
    return math.nan


def interpolate_mde(
    effects: Sequence[float], power: Sequence[float], target: float = 0.8, direction: int = -1
) -> float:
    """Smallest effect (in ``direction``) reaching ``target`` power, linearly interpolated.

    Grid points on the other side of zero are ignored; the curve starts at zero effect.

    Examples
    --------
    >>> interpolate_mde([0.0, -0.1, -0.2, -0.3], [0.05, 0.4, 0.7, 0.9])
    -0.25
    >>> import math; math.isnan(interpolate_mde([0.0, -0.1], [0.05, 0.5]))
    True
    """
    pts = sorted((abs(e), p) for e, p in zip(effects, power, strict=True) if e * direction >= 0)
    prev_e, prev_p = None, None
    for e, p in pts:
        if p >= target:
            if prev_e is None or prev_p is None or p == prev_p:
                return direction * e + 0.0
            x = prev_e + (target - prev_p) * (e - prev_e) / (p - prev_p)
            return direction * round(x, 12) + 0.0
        prev_e, prev_p = e, p
    return math.nan


def summarise_pair(
    rows: pd.DataFrame, method: str, inference: str | None, direction: int, target: float = 0.8
) -> PowerCurve:
    """Summarise the replications of one pair into a :class:`PowerCurve`."""
    part = rows[(rows["method"] == method) & (rows["inference"].fillna("") == (inference or ""))]
    rejects = part.groupby("effect", sort=False)["reject"]
    effects = tuple(float(e) for e in rejects.mean().index)
    n = int(rejects.size().iloc[0]) if len(part) else 0
    power = tuple(float(p) for p in rejects.mean().to_numpy())
    mc = tuple(math.sqrt(p * (1 - p) / n) if n else math.nan for p in power)
    nonzero = part[part["effect"] != 0]
    unit = float((nonzero["truth"] / nonzero["effect"]).mean()) if len(nonzero) else math.nan
    used = part["inference_used"].replace("", np.nan).dropna()
    size = power_at(effects, power, 0.0)
    return PowerCurve(
        method=method,
        inference=inference or "recommended",
        inference_used=str(used.mode().iloc[0]) if len(used) else "",
        effects=effects,
        power=power,
        mc_se=mc,
        size=size,
        size_mc_se=math.sqrt(size * (1 - size) / n) if n and not math.isnan(size) else math.nan,
        mde=interpolate_mde(effects, power, target, direction),
        n_reps=n,
        n_failed=int((part["failed"] != "").sum()),
        truth_per_unit_effect=unit,
        target_power=target,
    )
