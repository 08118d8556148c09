"""Break-even effects: the appraisal's switching value of each metric's effect (NPSV = 0).

The appraisal's NPSV is linear in each effect estimate, so the effect at which the net present
social value is zero (other inputs at their central values) is exact
(:mod:`evaluation.appraisal.uncertainty`). Here it is read from the appraisal and turned into
the relative-effect scale of the power simulations: a relative effect ``d`` planted on the
pilots' live months is, on average, ``d x c`` per pilot force-year, where ``c`` is the planted
level per unit relative effect (``x 12`` months for flows).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from evaluation.appraisal import EffectsTable, ParameterSet, appraise

__all__ = ["break_even_effects", "ledger_unit_costs", "per_force_year_factor"]


def break_even_effects(
    ledger: pd.DataFrame,
    effects: EffectsTable | pd.DataFrame,
    params: ParameterSet | None = None,
    *,
    go_live: Mapping[str, object] | None = None,
    source: str = "ledger",
) -> pd.DataFrame:
    """Return each core metric's break-even effect per pilot force-year.

    Columns: ``metric``, ``central`` (the estimate in the effects table), ``break_even`` (the
    effect at which NPSV = 0, others central; ``nan`` where NPSV does not depend on it),
    ``npsv_at_break_even`` (full re-appraisal there: zero up to rounding) and ``note``.
    """
    result = appraise(
        ledger,
        effects,
        params,
        go_live=go_live,
        rollout=False,
        monte_carlo=False,
        source=source,
    )
    sw = result.uncertainty.switching_values
    part = sw[sw["input"].str.startswith("effect:")]
    return pd.DataFrame(
        {
            "metric": part["input"].str.removeprefix("effect:").to_numpy(),
            "central": part["central"].to_numpy(dtype=float),
            "break_even": part["switching_value"].to_numpy(dtype=float),
            "npsv_at_break_even": part["npsv_at_switch"].to_numpy(dtype=float),
            "note": part["note"].to_numpy(),
        }
    )


def per_force_year_factor(
    y: np.ndarray,
    paths: np.ndarray,
    wave_sizes: tuple[int, ...],
    go_live: tuple[int, ...],
    *,
    flow: bool = True,
) -> float:
    """Return the expected planted level per pilot force-year for a relative effect of 1.

    ``y`` is the ``(forces, periods)`` history, ``paths`` the ``(waves, window)`` effect paths
    of :func:`evaluation.pilot_design.simulate.planted_paths`, ``go_live`` each wave's go-live
    month in the window. Averaged over every placebo
    window and over forces (each force equally likely to be a pilot), weighting waves by size
    and months by their number of live pilot-months, as the simple ATT does.
    """
    window = paths.shape[1]
    total, weight = 0.0, 0.0
    for s in range(y.shape[1] - window + 1):
        win = y[:, s : s + window]
        level = np.nanmean(win, axis=0)  # mean over forces, each month
        for w, n_w in enumerate(wave_sizes):
            post = np.arange(go_live[w], window)
            total += n_w * float(np.nansum(level[post] * paths[w][post]))
            weight += n_w * len(post)
    if weight == 0:
        return math.nan
    per_month = total / weight
    return per_month * (12.0 if flow else 1.0)


def ledger_unit_costs(ledger: pd.DataFrame) -> tuple[float, float]:
    """Return (set-up cost per pilot force, running cost per pilot force-year) from a ledger.

    Averages of the ledger's nominal amounts: capital over the forces with any cost, recurrent
    over the force-financial-years with a recurrent cost. A design of ``k`` pilots followed for
    ``T`` years then costs about ``k (setup + T running)``: an indicative figure that ignores
    force size and prices.

    Examples
    --------
    >>> ledger = pd.DataFrame({"force": ["A", "A", "A", "B"],
    ...     "financial_year": ["2022-23", "2022-23", "2023-24", "2023-24"],
    ...     "kind": ["capital", "recurrent", "recurrent", "recurrent"],
    ...     "amount_gbp": [100.0, 40.0, 60.0, 50.0]})
    >>> ledger_unit_costs(ledger)
    (50.0, 50.0)
    """
    forces = ledger["force"].nunique()
    capital = float(ledger.loc[ledger["kind"] == "capital", "amount_gbp"].sum())
    rec = ledger[ledger["kind"] == "recurrent"]
    force_years = rec.groupby(["force", "financial_year"]).ngroups
    running = float(rec["amount_gbp"].sum()) / force_years if force_years else math.nan
    return (capital / forces if forces else math.nan), running
