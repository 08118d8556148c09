"""Placebo checks that work with every estimator: fake go-live dates and leave-one-pilot-out.

Both take the estimator as a parameter (any ``fit_*(panel, outcome, **options) -> DidResult``),
so the same checks run for Callaway-Sant'Anna, imputation, SDID and the rest.

* :func:`fake_golive`: every cohort is moved back ``k`` periods and only data from before the
  first real go-live are kept, so no real effect is in the sample; a sound design gives placebo
  effects near zero. Cohorts whose fake date still falls after the kept window become comparison
  units (they are untreated throughout it).
* :func:`leave_one_pilot_out`: refit with each pilot left out in turn; a large change means one
  force drives the result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evaluation.errors import ConfigError, EstimationError
from evaluation.panel import NEVER, Panel
from evaluation.results import DidResult

__all__ = ["PlaceboResult", "fake_golive", "leave_one_pilot_out"]

Fit = Callable[..., DidResult]
_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "p_value"]


@dataclass(frozen=True)
class PlaceboResult:
    """Placebo estimates and their summary.

    Attributes
    ----------
    table
        One row per placebo (``shift`` or ``dropped`` unit) with ``estimate, se, ci_low,
        ci_high, p_value`` from the estimator's own inference.
    actual
        The estimate on the real data (``nan`` if not supplied).
    p_value
        Fake go-live: the rank p-value of the actual estimate among the placebo estimates,
        ``(1 + #{|placebo| >= |actual|}) / (n + 1)``. Leave-one-out: ``nan``.
    max_change
        Leave-one-out: the largest absolute change from the full-sample estimate.
    """

    table: pd.DataFrame
    actual: float = float("nan")
    p_value: float = float("nan")
    max_change: float = float("nan")


def _row(res: DidResult) -> list[float]:
    o = res.overall
    return [o.estimate, o.se, o.ci_low, o.ci_high, o.p_value]


def _shifted(panel: Panel, k: int) -> Panel:
    cohorts = panel.unit_cohorts
    first = float(np.min(panel.cohorts))
    data = panel.data[panel.data["time"] < first].reset_index(drop=True)
    window = Panel(
        data=data,
        outcomes=panel.outcomes,
        covariates=panel.covariates,
        frequency=panel.frequency,
        names=panel.names,
        source=panel.source,
    )
    times = np.sort(data["time"].unique())
    if len(times) == 0:
        raise EstimationError("fake go-live: no period before the first real go-live")
    fake = {}
    for u, g in cohorts.items():
        if not np.isfinite(g):
            fake[u] = NEVER
            continue
        # move back k periods on the panel's period grid
        pos = int(np.searchsorted(panel.times, g)) - k
        fg = float(panel.times[pos]) if 0 <= pos < len(panel.times) else np.nan
        fake[u] = fg if np.isfinite(fg) and fg <= times[-1] else NEVER
    if not any(np.isfinite(v) for v in fake.values()):
        raise EstimationError(f"fake go-live shifted by {k}: no placebo cohort inside the window")
    if any(np.isfinite(v) and v <= times[0] for v in fake.values()):
        raise EstimationError(
            f"fake go-live shifted by {k} leaves a placebo cohort with no earlier period"
        )
    return window.with_cohorts(fake)


def fake_golive(
    panel: Panel,
    outcome: str,
    fit: Fit,
    *,
    shifts: Sequence[int] = (1, 2, 3),
    actual: DidResult | None = None,
    **options: Any,
) -> PlaceboResult:
    """Placebo go-live dates: shift every cohort back by ``k`` periods, pre-treatment data only.

    Parameters
    ----------
    panel, outcome
        The real panel and outcome.
    fit
        Estimator function, called as ``fit(placebo_panel, outcome, **options)``.
    shifts
        Numbers of periods to move go-live back.
    actual
        The real-data result, for the rank p-value of the actual estimate among the placebos.
    **options
        Passed to ``fit`` (e.g. ``inference="ri"``, ``settings=...``).

    Returns
    -------
    PlaceboResult
        ``table`` with columns ``shift, fake_cohorts, estimate, se, ci_low, ci_high, p_value``.
    """
    if not shifts or any(int(k) < 1 for k in shifts):
        raise ConfigError(f"shifts must be positive numbers of periods; got {list(shifts)}")
    rows = []
    for k in shifts:
        placebo = _shifted(panel, int(k))
        res = fit(placebo, outcome, **options)
        fake = sorted({placebo.time_label(g) for g in placebo.cohorts}, key=str)
        rows.append([int(k), ", ".join(map(str, fake)), *_row(res)])
    table = pd.DataFrame(rows, columns=["shift", "fake_cohorts", *_COLUMNS])
    est = float(actual.overall.estimate) if actual is not None else float("nan")
    p = float("nan")
    if actual is not None:
        hits = int((table["estimate"].abs() >= abs(est)).sum())
        p = (1 + hits) / (len(table) + 1)
    return PlaceboResult(table=table, actual=est, p_value=p)


def leave_one_pilot_out(panel: Panel, outcome: str, fit: Fit, **options: Any) -> PlaceboResult:
    """Refit with each effectively treated unit dropped in turn.

    Units whose cohort falls after the panel (never treated in the data) or that have no
    pre-treatment period are not pilots here (:func:`evaluation.design.effectively_treated`).

    Returns
    -------
    PlaceboResult
        ``table`` with columns ``dropped, cohort, estimate, se, ci_low, ci_high, p_value,
        change`` (change from the full-sample estimate); ``max_change`` the largest absolute
        change; ``actual`` the full-sample estimate.
    """
    from evaluation.design import effectively_treated

    pilots = effectively_treated(panel)
    if pilots.sum() < 2:
        raise EstimationError(
            "leave-one-pilot-out needs at least two pilot (effectively treated) units"
        )
    full = fit(panel, outcome, **options)
    base = float(full.overall.estimate)
    g = panel.unit_cohorts
    rows = []
    for u in panel.units[pilots]:
        keep = [v for v in panel.units if v != u]
        res = fit(panel.subset_units(keep), outcome, **options)
        r = _row(res)
        rows.append([u, panel.time_label(g[u]), *r, r[0] - base])
    table = pd.DataFrame(rows, columns=["dropped", "cohort", *_COLUMNS, "change"])
    return PlaceboResult(table=table, actual=base, max_change=float(table["change"].abs().max()))
