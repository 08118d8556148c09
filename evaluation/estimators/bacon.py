"""Goodman-Bacon (2021) decomposition of the two-way fixed effects DiD coefficient.

With staggered adoption the TWFE coefficient is a weighted average of every 2x2 DiD between
timing groups (Goodman-Bacon 2021, Theorem 1):

* **Treated vs Never Treated**: timing group k against the never-treated U, over all periods;
* **Earlier vs Later Treated**: early group k against later group l before l is treated
  (periods ``t < g_l``), a clean comparison;
* **Later vs Earlier Treated**: later group l against the already treated k (periods
  ``t >= g_k``), the "forbidden" comparison that biases TWFE when effects grow over time.

Each 2x2 is a difference of four means; the weights follow eq. (10e)-(10g) of the paper
(sample shares ``n``, treated-period shares ``D_bar``), normalised to sum to one (the paper's
``V^D`` is their sum). For a balanced panel without covariates the weighted sum equals the TWFE
coefficient exactly. Unbalanced panels and covariate-adjusted decompositions are not supported
(an :class:`~evaluation.errors.EstimationError` says so); units whose cohort lies beyond the last
period are never treated in the sample and join U.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.errors import EstimationError
from evaluation.panel import Panel

__all__ = ["COMPARISONS", "bacon_summary", "goodman_bacon"]

#: Comparison types, in table order.
COMPARISONS = ("Earlier vs Later Treated", "Later vs Earlier Treated", "Treated vs Never Treated")


def goodman_bacon(panel: Panel, outcome: str) -> pd.DataFrame:
    """Return the 2x2 DiDs and weights that make up the TWFE coefficient.

    Parameters
    ----------
    panel
        A balanced panel with binary absorbing treatment ``time >= cohort``.
    outcome
        Outcome column.

    Returns
    -------
    pandas.DataFrame
        Columns ``comparison, treated, control, weight, estimate``; ``treated``/``control`` are
        cohort labels (``"never"`` for never-treated units); weights sum to one.

    Raises
    ------
    EstimationError
        Unbalanced panel, or units treated in every period (always treated).
    """
    if not panel.is_balanced:
        raise EstimationError(
            "the Goodman-Bacon decomposition needs a balanced panel (its weights are exact only "
            "then); balance the panel or read the TWFE coefficient without it"
        )
    times = panel.times.astype(float)
    y = panel.wide(outcome).to_numpy(dtype=float)  # (N, T)
    g = panel.unit_cohorts.to_numpy(dtype=float)
    if (g <= times[0]).any():
        raise EstimationError(
            "the Goodman-Bacon decomposition does not handle units treated in every period"
        )
    never = ~(g <= times[-1])
    n = len(g)
    groups = np.unique(g[~never])
    share = {k: float(np.mean(g == k)) for k in groups}
    dbar = {k: float(np.mean(times >= k)) for k in groups}
    ybar = {k: y[g == k].mean(axis=0) for k in groups}
    rows: list[tuple[str, float, float, float, float]] = []

    def diff(k: float, a: np.ndarray, b: np.ndarray) -> float:
        return float(ybar[k][b].mean() - ybar[k][a].mean())

    if never.any():
        n_u = float(never.sum()) / n
        y_u = y[never].mean(axis=0)
        for k in groups:
            pre, post = times < k, times >= k
            est = diff(k, pre, post) - float(y_u[post].mean() - y_u[pre].mean())
            nku = share[k] / (share[k] + n_u)
            w = (share[k] + n_u) ** 2 * nku * (1 - nku) * dbar[k] * (1 - dbar[k])
            rows.append((COMPARISONS[2], k, np.inf, w, est))
    for i, k in enumerate(groups):
        for lgrp in groups[i + 1 :]:
            nk, nl, dk, dl = share[k], share[lgrp], dbar[k], dbar[lgrp]
            nkl = nk / (nk + nl)
            pre, mid, post = times < k, (times >= k) & (times < lgrp), times >= lgrp
            est_k = diff(k, pre, mid) - diff(lgrp, pre, mid)
            w_k = ((nk + nl) * (1 - dl)) ** 2 * nkl * (1 - nkl) * (dk - dl) / (1 - dl)
            w_k *= (1 - dk) / (1 - dl)
            rows.append((COMPARISONS[0], k, lgrp, w_k, est_k))
            est_l = diff(lgrp, mid, post) - diff(k, mid, post)
            w_l = ((nk + nl) * dk) ** 2 * nkl * (1 - nkl) * (dl / dk) * (dk - dl) / dk
            rows.append((COMPARISONS[1], lgrp, k, w_l, est_l))
    if not rows:
        raise EstimationError("no 2x2 comparisons: one timing group and no never-treated units")
    weights = np.array([r[3] for r in rows])
    weights = weights / weights.sum()
    return pd.DataFrame(
        {
            "comparison": [r[0] for r in rows],
            "treated": [_label(panel, r[1]) for r in rows],
            "control": [_label(panel, r[2]) for r in rows],
            "weight": weights,
            "estimate": [r[4] for r in rows],
        }
    )


def _label(panel: Panel, code: float) -> object:
    return "never" if not np.isfinite(code) else panel.time_label(code)


def bacon_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Return total weight and weighted-average estimate by comparison type.

    Examples
    --------
    >>> t = pd.DataFrame({"comparison": ["a", "a", "b"], "weight": [0.25, 0.25, 0.5],
    ...                   "estimate": [1.0, 3.0, 0.0]})
    >>> bacon_summary(t)["estimate"].tolist()
    [2.0, 0.0]
    """
    rows = []
    for comp, part in table.groupby("comparison", sort=False):
        w = part["weight"].to_numpy(dtype=float)
        e = part["estimate"].to_numpy(dtype=float)
        rows.append(
            {
                "comparison": comp,
                "weight": float(w.sum()),
                "estimate": float(w @ e / w.sum()) if w.sum() > 0 else float("nan"),
            }
        )
    return pd.DataFrame(rows)
