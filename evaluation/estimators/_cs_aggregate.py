"""Aggregations of ATT(g,t) with influence functions, as R ``did``'s ``aggte``.

Each aggregate is a weighted average of ATT(g,t) with weights proportional to group size
``pg = n_g / n``. Its influence function is the weighted average of the cells' influence
functions plus, where the weights are estimated shares of units (``simple``, ``calendar``,
``dynamic`` and the ``group`` overall), the influence function of the weights (R's ``wif``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__: list[str] = []  # private module: see callaway_santanna.py


@dataclass(frozen=True)
class Aggregate:
    """Estimates, keys and influence functions (n x m) of one family of aggregates."""

    keys: np.ndarray  # group, calendar time or event time of each estimate
    estimates: np.ndarray
    influence: np.ndarray
    overall: float
    overall_influence: np.ndarray


def _wif(
    onehot: np.ndarray, cell_group_idx: np.ndarray, pg: np.ndarray, att: np.ndarray
) -> np.ndarray:
    """Influence of estimated group-share weights on ``sum(pg att)/sum(pg)`` (R ``wif``)."""
    dev = onehot[:, cell_group_idx] - pg[None, :]  # n x k
    s = pg.sum()
    return dev @ att / s - dev.sum(axis=1) * (pg @ att) / s**2


def _combine(
    att: np.ndarray,
    psi: np.ndarray,
    idx: np.ndarray,
    weights: np.ndarray,
    onehot: np.ndarray | None,
    cell_group_idx: np.ndarray | None,
    pg: np.ndarray | None,
) -> tuple[float, np.ndarray]:
    est = float(weights @ att[idx])
    inf = psi[:, idx] @ weights
    if onehot is not None and cell_group_idx is not None and pg is not None:
        inf = inf + _wif(onehot, cell_group_idx[idx], pg[idx], att[idx])
    return est, inf


def aggregate(
    kind: str,
    att: np.ndarray,
    psi: np.ndarray,
    cell_group: np.ndarray,
    cell_time: np.ndarray,
    cohort: np.ndarray,
    groups: np.ndarray,
    times: np.ndarray,
    *,
    balance_e: int | None = None,
    min_e: float = -np.inf,
    max_e: float = np.inf,
) -> Aggregate:
    """Aggregate ATT(g,t) as R ``aggte(type=kind)``.

    Parameters
    ----------
    kind
        ``"simple"``, ``"group"``, ``"calendar"`` or ``"dynamic"``.
    att, psi
        ATT(g,t) (K,) and influence functions (n, K); cells with NaN ATT are left out.
    cell_group, cell_time
        Group and period code of each cell.
    cohort
        Cohort code per unit (``inf`` never treated), for the group shares.
    groups
        The groups whose ATT(g,t) were estimated.
    times
        All periods (for ``balance_e``).
    balance_e, min_e, max_e
        As in R: balance event time, event window (``max_e`` also trims simple and group).
    """
    n = psi.shape[0]
    ok = np.isfinite(att)
    onehot = (cohort[:, None] == groups[None, :]).astype(float)
    shares = onehot.mean(axis=0)
    gidx = np.searchsorted(groups, cell_group)
    pg = shares[gidx]
    e = cell_time - cell_group
    empty = np.zeros((n, 0))

    def family(keys: list[float], sets: list[np.ndarray], with_wif: bool) -> tuple[np.ndarray, ...]:
        est, infs = [], []
        for idx in sets:
            w = pg[idx] / pg[idx].sum()
            a, f = _combine(
                att, psi, idx, w, onehot if with_wif else None, gidx if with_wif else None, pg
            )
            est.append(a)
            infs.append(f)
        inf = np.column_stack(infs) if infs else empty
        return np.asarray(keys, dtype=float), np.asarray(est, dtype=float), inf

    if kind == "simple":
        keep = np.flatnonzero(ok & (cell_group <= cell_time) & (cell_time <= cell_group + max_e))
        if len(keep) == 0:
            return Aggregate(np.empty(0), np.empty(0), empty, np.nan, np.full(n, np.nan))
        w = pg[keep] / pg[keep].sum()
        value, value_inf = _combine(att, psi, keep, w, onehot, gidx, pg)
        return Aggregate(np.empty(0), np.empty(0), empty, value, value_inf)

    if kind == "group":
        keys, sets = [], []
        for g in groups:
            idx = np.flatnonzero(
                ok & (cell_group == g) & (g <= cell_time) & (cell_time <= cell_group + max_e)
            )
            if len(idx):
                keys.append(g)
                sets.append(idx)
        k, est, inf = family(keys, sets, with_wif=False)
        if len(k) == 0:
            return Aggregate(k, est, inf, np.nan, np.full(n, np.nan))
        gi = np.searchsorted(groups, k)
        pgg = shares[gi]
        w = pgg / pgg.sum()
        overall = float(w @ est)
        overall_inf = inf @ w + _wif(onehot, gi, pgg, est)
        return Aggregate(k, est, inf, overall, overall_inf)

    if kind == "calendar":
        keys, sets = [], []
        for t in times[times >= groups.min()]:
            idx = np.flatnonzero(ok & (cell_time == t) & (cell_group <= cell_time))
            if len(idx):
                keys.append(t)
                sets.append(idx)
        k, est, inf = family(keys, sets, with_wif=True)
        if len(k) == 0:
            return Aggregate(k, est, inf, np.nan, np.full(n, np.nan))
        return Aggregate(k, est, inf, float(est.mean()), inf.mean(axis=1))

    # dynamic (event study)
    include = ok.copy()
    eseq = np.unique(e[ok])
    if balance_e is not None:
        include &= (times.max() - cell_group) >= balance_e
        eseq = np.unique(e[include])
        eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - times.max() + times.min())]
    eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
    sets = [np.flatnonzero(include & (e == ev)) for ev in eseq]
    k, est, inf = family(list(eseq), sets, with_wif=True)
    pos = k >= 0
    if not pos.any():
        return Aggregate(k, est, inf, np.nan, np.full(n, np.nan))
    return Aggregate(k, est, inf, float(est[pos].mean()), inf[:, pos].mean(axis=1))
