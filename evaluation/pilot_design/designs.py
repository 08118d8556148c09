"""Pilot designs and the history they are simulated on.

A :class:`Design` says how many pilot forces go live, in how many waves, with how many months of
history before and follow-up after the first go-live, and whether pilots are drawn freely or
stratified by force size. A :class:`History` holds one metric of the user's own panel over the
months before any real pilot went live (no effect exists there), as a forces x months array.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from evaluation.errors import ConfigError, DataError, Problem, check_option
from evaluation.schema import force_table

__all__ = [
    "SELECTIONS",
    "Design",
    "History",
    "check_fits",
    "draw_pilots",
    "history_from_panel",
    "size_strata",
    "wave_sizes",
]

Selection = Literal["free", "stratified"]
SELECTIONS: tuple[str, ...] = ("free", "stratified")


@dataclass(frozen=True)
class Design:
    """A pilot design.

    Parameters
    ----------
    pilots
        Number of pilot forces.
    waves
        Number of go-live waves; pilots are split as evenly as possible (earlier waves take the
        extra ones).
    wave_gap_months
        Months between consecutive go-lives.
    pre_months
        Months of data before the first go-live.
    follow_up_months
        Months observed from the first go-live on (inclusive); later waves have less.
    selection
        ``"free"`` (any force equally likely) or ``"stratified"`` (pilots spread over force-size
        thirds in proportion to their numbers of forces).
    sizes
        Pilots per wave (``None``: as even as possible, earlier waves larger); must sum to
        ``pilots``.

    Examples
    --------
    >>> d = Design(pilots=5, waves=2, pre_months=12, follow_up_months=24)
    >>> d.window_months, d.go_live_offsets(), wave_sizes(5, 2)
    (36, (12, 24), (3, 2))
    """

    pilots: int
    waves: int = 1
    wave_gap_months: int = 12
    pre_months: int = 24
    follow_up_months: int = 24
    selection: Selection = "free"
    sizes: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        check_option("selection", self.selection, SELECTIONS)
        for name in ("pilots", "waves", "wave_gap_months", "pre_months", "follow_up_months"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 1:
                raise ConfigError(f"design {name} must be a whole number >= 1; got {value!r}")
        if self.pilots < self.waves:
            raise ConfigError(f"design with {self.pilots} pilot(s) cannot fill {self.waves} waves")
        if self.sizes is not None and (
            len(self.sizes) != self.waves or sum(self.sizes) != self.pilots or min(self.sizes) < 1
        ):
            raise ConfigError(
                f"wave sizes {self.sizes} must be {self.waves} whole numbers >= 1 summing to "
                f"{self.pilots}"
            )
        if (self.waves - 1) * self.wave_gap_months >= self.follow_up_months:
            raise ConfigError(
                f"the last of {self.waves} waves ({self.wave_gap_months} months apart) goes live "
                f"after the {self.follow_up_months} months of follow-up end"
            )

    @property
    def window_months(self) -> int:
        """Months of data the design needs."""
        return self.pre_months + self.follow_up_months

    def wave_sizes(self) -> tuple[int, ...]:
        """Return the pilots of each wave."""
        return self.sizes if self.sizes is not None else wave_sizes(self.pilots, self.waves)

    def go_live_offsets(self) -> tuple[int, ...]:
        """Return each wave's go-live as a 0-based month index in the window."""
        return tuple(self.pre_months + w * self.wave_gap_months for w in range(self.waves))

    def label(self) -> str:
        """Short description, e.g. ``5 pilots, 1 wave, 24+24 months, free``."""
        w = f"{self.waves} wave" + ("s" if self.waves > 1 else "")
        return (
            f"{self.pilots} pilots, {w}, {self.pre_months}+{self.follow_up_months} months, "
            f"{self.selection}"
        )


def wave_sizes(pilots: int, waves: int) -> tuple[int, ...]:
    """Split ``pilots`` over ``waves`` as evenly as possible, earlier waves larger."""
    base, extra = divmod(pilots, waves)
    return tuple(base + (1 if w < extra else 0) for w in range(waves))


def size_strata(fte: np.ndarray, n_strata: int = 3) -> np.ndarray:
    """Return the 0-based size stratum (thirds by officers FTE by default) of each force."""
    order = np.argsort(np.argsort(fte, kind="stable"), kind="stable")
    return (order * n_strata // len(fte)).astype(np.int64)


def draw_pilots(
    n_units: int,
    k: int,
    rng: np.random.Generator,
    *,
    selection: str = "free",
    strata: np.ndarray | None = None,
) -> np.ndarray:
    """Draw ``k`` distinct unit indices, freely or spread over ``strata`` (sorted).

    With ``"stratified"``, stratum ``s`` holding ``n_s`` of ``n`` units gets ``k n_s / n``
    pilots rounded by largest remainder, drawn uniformly within the stratum.
    """
    check_option("selection", selection, SELECTIONS)
    if not 0 < k < n_units:
        raise ConfigError(f"cannot draw {k} pilots from {n_units} forces (need comparisons)")
    if selection == "free" or strata is None:
        return np.sort(rng.choice(n_units, size=k, replace=False))
    labels, counts = np.unique(strata, return_counts=True)
    quota = k * counts / counts.sum()
    take = np.floor(quota).astype(int)
    rest = k - int(take.sum())
    if rest:
        order = np.argsort(-(quota - take), kind="stable")[:rest]
        take[order] += 1
    chosen = [
        rng.choice(np.flatnonzero(strata == lab), size=int(t), replace=False)
        for lab, t in zip(labels, take, strict=True)
        if t
    ]
    return np.sort(np.concatenate(chosen))


@dataclass(frozen=True)
class History:
    """One metric of the user's panel before any pilot went live.

    Attributes
    ----------
    metric
        Metric name.
    forces, periods
        Row and column labels.
    y
        ``(forces, periods)`` outcome; ``NaN`` marks an absent force-month (absent rows of the
        panel stay absent in every simulated panel: nothing is filled in).
    fte
        Officers FTE per force (for size strata).
    region
        Region per force.
    """

    metric: str
    forces: tuple[str, ...]
    periods: tuple[str, ...]
    y: np.ndarray
    fte: np.ndarray
    region: tuple[str, ...]

    @property
    def n_missing(self) -> int:
        """Absent force-months."""
        return int(np.isnan(self.y).sum())

    def window_starts(self, months: int) -> int:
        """Return the number of placebo windows of ``months`` months in the history."""
        return len(self.periods) - months + 1


def history_from_panel(
    panel: pd.DataFrame,
    metric: str,
    *,
    before: str | None = None,
    unit: str = "force",
    time: str = "period",
    source: str = "panel",
) -> History:
    """Return the history of ``metric``: every force and every period before ``before``.

    ``before`` is the first real go-live period (e.g. ``2022-04``); periods from it on are left
    out, so no real pilot effect is in the history. ``None`` keeps every period (a panel with no
    pilots yet).
    """
    missing_cols = [c for c in (unit, time, metric) if c not in panel.columns]
    if missing_cols:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing_cols)}",
            [Problem("missing column", file=source, column=c) for c in missing_cols],
        )
    frame = panel[[unit, time, metric]].copy()
    frame[time] = frame[time].astype(str)
    if before is not None:
        frame = frame[frame[time] < str(before)]
    if frame.empty:
        raise DataError(f"{source}: no periods before {before} to simulate pilots on")
    bad = frame[metric].isna()
    if bad.any():
        first = frame.index[bad.to_numpy()][0]
        row = int(first) + 2 if isinstance(first, int | np.integer) else None
        raise DataError(
            f"{source}: {metric} has {int(bad.sum())} missing value(s); absent months must be "
            "absent rows",
            [Problem("missing value", file=source, row=row, column=metric, value="")],
        )
    wide = frame.pivot(index=unit, columns=time, values=metric).sort_index(axis=1)
    forces = tuple(str(f) for f in wide.index)
    table = force_table()
    unknown = [f for f in forces if f not in table.index]
    if unknown:
        fte = np.ones(len(forces))
        region: tuple[str, ...] = tuple("unknown" for _ in forces)
    else:
        fte = table.loc[list(forces), "officers_fte"].to_numpy(dtype=float)
        region = tuple(str(r) for r in table.loc[list(forces), "region"])
    return History(
        metric=metric,
        forces=forces,
        periods=tuple(str(p) for p in wide.columns),
        y=wide.to_numpy(dtype=float),
        fte=fte,
        region=region,
    )


def check_fits(history: History, designs: Sequence[Design]) -> None:
    """Raise if a design needs more months or forces than the history has."""
    for d in designs:
        if d.window_months > len(history.periods):
            raise ConfigError(
                f"design '{d.label()}' needs {d.window_months} months of history; the panel "
                f"has {len(history.periods)} before the first go-live ({history.periods[0]} to "
                f"{history.periods[-1]}): shorten pre_months or follow_up_months"
            )
        if d.pilots >= len(history.forces) - 1:
            raise ConfigError(
                f"design '{d.label()}' needs fewer pilots than the {len(history.forces)} forces"
            )
