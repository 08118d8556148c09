"""Choose pilot forces that balance pilots and comparisons on pre-period levels and trends.

Each force is described, for each metric, by its pre-period level (log of the mean) and trend
(least-squares slope per year relative to its mean); each feature is standardised across
forces. A pilot set's imbalance is the root mean square of the standardised mean differences
between pilots and comparison forces over all features (0 = perfect balance; 0.1 is the usual
rule of thumb for "balanced", 0.25 for "badly unbalanced", Stuart 2010). Proposals come from many
random feasible sets (constraints: must include, must exclude, at most N per region), each
improved by swapping one pilot for one comparison while that lowers the imbalance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.errors import ConfigError
from evaluation.pilot_design.designs import History

__all__ = ["PilotProposal", "balance_features", "balance_table", "choose_pilots", "imbalance"]


@dataclass(frozen=True)
class PilotProposal:
    """One proposed pilot set and its balance.

    Attributes
    ----------
    pilots
        Pilot forces, sorted.
    imbalance
        Root mean square standardised mean difference over the features.
    balance
        Per feature: ``metric``, ``feature`` (``level`` or ``trend``), ``pilots`` and
        ``comparisons`` (means of the standardised feature) and ``smd`` (their difference).
    """

    pilots: tuple[str, ...]
    imbalance: float
    balance: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly dict."""
        return {
            "pilots": list(self.pilots),
            "imbalance": self.imbalance,
            "balance": self.balance.to_dict("records"),
        }


def balance_features(histories: Mapping[str, History]) -> pd.DataFrame:
    """Return standardised level and trend features, one row per force.

    Columns ``(metric, "level")`` and ``(metric, "trend")``: log of the pre-period mean, and the
    least-squares slope per year divided by the mean, each standardised to mean 0, s.d. 1
    (a constant feature is left at 0).
    """
    cols: dict[tuple[str, str], np.ndarray] = {}
    forces: tuple[str, ...] | None = None
    for metric, h in histories.items():
        if forces is not None and h.forces != forces:
            raise ConfigError("histories must cover the same forces in the same order")
        forces = h.forces
        y = h.y
        t = np.arange(y.shape[1], dtype=float) / 12.0
        mean = np.nanmean(y, axis=1)
        mask = ~np.isnan(y)
        tc = np.where(mask, t[None, :] - np.nanmean(np.where(mask, t, np.nan), axis=1)[:, None], 0)
        yc = np.where(mask, y - mean[:, None], 0.0)
        slope = (tc * yc).sum(axis=1) / np.maximum((tc * tc).sum(axis=1), 1e-12)
        level = np.log(np.maximum(mean, 0) + 1.0)
        trend = slope / np.where(np.abs(mean) > 0, np.abs(mean), 1.0)
        for name, v in (("level", level), ("trend", trend)):
            sd = float(np.std(v))
            cols[(metric, name)] = (v - v.mean()) / sd if sd > 0 else np.zeros_like(v)
    if forces is None:
        raise ConfigError("no metrics to balance")
    frame = pd.DataFrame(cols, index=pd.Index(forces, name="force"))
    frame.columns = pd.MultiIndex.from_tuples(list(cols), names=["metric", "feature"])
    return frame


def imbalance(features: np.ndarray, chosen: np.ndarray) -> float:
    """Root mean square difference of feature means, pilots (``chosen``) minus the rest."""
    pick = np.zeros(features.shape[0], dtype=bool)
    pick[chosen] = True
    d = features[pick].mean(axis=0) - features[~pick].mean(axis=0)
    return float(np.sqrt(np.mean(d * d)))


def balance_table(features: pd.DataFrame, pilots: Sequence[str]) -> pd.DataFrame:
    """Return the per-feature means of pilots and comparisons and their difference."""
    pick = features.index.isin(list(pilots))
    rows = []
    for col in features.columns:
        metric, feature = str(col[0]), str(col[1])
        v = features[col].to_numpy()
        a, b = float(v[pick].mean()), float(v[~pick].mean())
        rows.append(
            {"metric": metric, "feature": feature, "pilots": a, "comparisons": b, "smd": a - b}
        )
    return pd.DataFrame(rows)


def _feasible(
    k: int,
    region: np.ndarray,
    must: np.ndarray,
    allowed: np.ndarray,
    cap: int | None,
    rng: np.random.Generator,
) -> np.ndarray | None:
    """Draw one set of ``k`` forces meeting the constraints (``None`` if this draw fails)."""
    chosen = [int(i) for i in np.flatnonzero(must)]
    counts: dict[str, int] = {}
    for i in chosen:
        counts[region[i]] = counts.get(region[i], 0) + 1
    for i in rng.permutation(np.flatnonzero(allowed & ~must)):
        if len(chosen) >= k:
            break
        if cap is not None and counts.get(region[i], 0) >= cap:
            continue
        chosen.append(int(i))
        counts[region[i]] = counts.get(region[i], 0) + 1
    return np.sort(np.asarray(chosen)) if len(chosen) == k else None


def _improve(
    x: np.ndarray,
    chosen: np.ndarray,
    region: np.ndarray,
    must: np.ndarray,
    allowed: np.ndarray,
    cap: int | None,
) -> tuple[np.ndarray, float]:
    """Make the best single swap (pilot out, comparison in) while the imbalance falls."""
    n, k = x.shape[0], len(chosen)
    total = x.sum(axis=0)
    best = imbalance(x, chosen)
    while True:
        pick = np.zeros(n, dtype=bool)
        pick[chosen] = True
        s_p = x[pick].sum(axis=0)
        ins = np.flatnonzero(allowed & ~pick)
        move: tuple[int, int] | None = None
        for o in chosen:
            if must[o]:
                continue
            counts = pd.Series(region[pick & (np.arange(n) != o)]).value_counts()
            ok = ins
            if cap is not None:
                ok = np.array([i for i in ins if counts.get(region[i], 0) < cap], dtype=int)
            if not len(ok):
                continue
            sp = s_p - x[o] + x[ok]  # (candidates, features)
            d = sp / k - (total - sp) / (n - k)
            score = np.sqrt(np.mean(d * d, axis=1))
            j = int(np.argmin(score))
            if score[j] < best - 1e-12:
                best, move = float(score[j]), (int(o), int(ok[j]))
        if move is None:
            return chosen, best
        chosen = np.sort(np.append(chosen[chosen != move[0]], move[1]))


def choose_pilots(
    histories: Mapping[str, History],
    k: int,
    *,
    must_include: Sequence[str] = (),
    must_exclude: Sequence[str] = (),
    max_per_region: int | None = None,
    proposals: int = 3,
    starts: int = 200,
    rng: np.random.Generator,
) -> tuple[PilotProposal, ...]:
    """Propose up to ``proposals`` distinct pilot sets of ``k`` forces, best balanced first.

    Parameters
    ----------
    histories
        Metric -> :class:`History` over the same forces (the pre-period).
    k
        Pilot forces to choose.
    must_include, must_exclude
        Forces that must be, or must not be, pilots.
    max_per_region
        At most this many pilots in one region (``None``: no limit).
    proposals
        Number of distinct sets to return.
    starts
        Random feasible starting sets, each improved by swaps.
    rng
        Random generator.

    Raises
    ------
    ConfigError
        Unknown forces, contradictory constraints, or no feasible set.
    """
    x_frame = balance_features(histories)
    forces = tuple(x_frame.index)
    h0 = next(iter(histories.values()))
    region = np.asarray(h0.region, dtype=object)
    index = {f: i for i, f in enumerate(forces)}
    unknown = sorted((set(must_include) | set(must_exclude)) - set(index))
    if unknown:
        raise ConfigError(f"unknown force(s): {', '.join(unknown)}")
    both = sorted(set(must_include) & set(must_exclude))
    if both:
        raise ConfigError(f"force(s) both included and excluded: {', '.join(both)}")
    if not 0 < k < len(forces) - 1:
        raise ConfigError(f"choose between 1 and {len(forces) - 2} pilots; got {k}")
    if len(set(must_include)) > k:
        raise ConfigError(f"{len(set(must_include))} forces must be included but k is {k}")
    if max_per_region is not None and max_per_region < 1:
        raise ConfigError(f"max_per_region must be at least 1; got {max_per_region}")
    must = np.zeros(len(forces), dtype=bool)
    must[[index[f] for f in must_include]] = True
    allowed = np.ones(len(forces), dtype=bool)
    allowed[[index[f] for f in must_exclude]] = False
    if max_per_region is not None:
        over = pd.Series(region[must]).value_counts()
        if (over > max_per_region).any():
            raise ConfigError(
                f"the forces that must be included exceed {max_per_region} in region(s) "
                f"{', '.join(over[over > max_per_region].index)}"
            )
    x = x_frame.to_numpy()
    found: dict[tuple[int, ...], float] = {}
    for _ in range(starts):
        start = _feasible(k, region, must, allowed, max_per_region, rng)
        if start is None:
            continue
        chosen, score = _improve(x, start, region, must, allowed, max_per_region)
        found[tuple(int(i) for i in chosen)] = score
    if not found:
        raise ConfigError(
            f"no set of {k} pilots meets the constraints (must include {len(must_include)}, "
            f"exclude {len(must_exclude)}, at most {max_per_region} per region)"
        )
    best = sorted(found.items(), key=lambda kv: (kv[1], kv[0]))[:proposals]
    out = []
    for idx, score in best:
        names = tuple(sorted(forces[i] for i in idx))
        out.append(PilotProposal(names, score, balance_table(x_frame, names)))
    return tuple(out)
