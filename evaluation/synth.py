"""Synthetic pilot data with known, planted effects.

The generator builds a force-by-month panel of the ten digital forensics metrics for the 43
territorial forces, a pilot register (forces going live in waves, Soteria-style), a nominal cost
ledger for the pilots and the *true* treatment effects. It draws the untreated potential outcome
``Y(0)`` and the treated potential outcome ``Y(1)`` of every force-month from the same random
numbers, so the true average treatment effect on the treated (ATT) of every cohort and period is
known exactly: it is the mean of ``Y(1) - Y(0)`` over the cohort's forces, computed on the values
that are written out (after rounding).

It is vectorised (no Python loop over force-months): one 43 x 96 panel takes a few
milliseconds in :func:`simulate` (arrays only) and a few tens of milliseconds in :func:`generate`
(frames, ledger, truth), so power analyses and coverage studies can call it many times
(``python -m benchmarks synth``).

Structural model (per force ``f`` and month ``t``; ``size`` is officers FTE / 1000)
-----------------------------------------------------------------------------------
* ``devices_received`` = expected intake x intake seasonality x noise, where the expected intake
  is ``devices_per_1000_officers * size`` x a force level x a force-specific linear trend.
* examination *capacity* = expected intake x (1 - force capacity gap) x capacity seasonality x
  noise. The ``backlog`` follows ``B[t] = max(0, B[t-1] + received - capacity)`` (Lindley's
  recursion, computed in closed form) and ``devices_examined = B[t-1] + received - B[t]``, so
  examinations never exceed what is waiting.
* turnaround: waiting time ``30.44 * B[t-1] / capacity`` days plus a force processing time;
  ``median = processing + 0.8 wait`` and ``p90 = 2.5 processing + 1.6 wait`` (factors are
  parameters), so p90 >= median.
* ``outsourced_exams`` = outsourced share x ``devices_examined``; ``outsourced_spend_gbp`` =
  outsourced exams x a nominal unit price (a few hundred GBP, rising with inflation).
* ``officer_hours_digital`` = hours per examination x ``devices_examined``.
* ``cce_referrals`` and ``county_lines_disrupted``: counts scaled by force size with their own
  level, trend, seasonality and noise.

Noise is multiplicative (log-normal) with AR(1) serial correlation within force. Each
:class:`EffectSpec` multiplies one *driver* of the model (see :data:`EFFECT_TARGETS`): for
example the outsourced share, not the outsourced count directly. Effects then propagate: a rise in
capacity lowers the backlog and the turnaround, and raises the exams on which outsourcing and
officer hours depend. ``truth`` reports the realised effect on every metric in levels.

Random numbers come from independent child streams of the generator passed in (pilot selection,
outcomes, missing rows, costs), so with the same seed the outcome noise is the same whatever the
effect sizes or the waves: convenient for power curves (common random numbers).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from evaluation.errors import ConfigError, check_option
from evaluation.periods import format_period, parse_period
from evaluation.schema import (
    AMOUNT_GBP,
    CATEGORY,
    DATE,
    DESCRIPTION,
    FINANCIAL_YEAR,
    FORCE,
    FORCES,
    GO_LIVE,
    KIND,
    PERIOD,
    PRICE_BASIS,
    WAVE,
    suggest_force,
)

__all__ = [
    "DEFAULT_SEED",
    "EFFECT_TARGETS",
    "GENERATOR_VERSION",
    "METRICS",
    "SAMPLE_FILES",
    "Baselines",
    "CostSpec",
    "EffectSpec",
    "SynthArrays",
    "SynthConfig",
    "SynthData",
    "default_effects",
    "effect_path",
    "generate",
    "lindley_backlog",
    "render_readme",
    "simulate",
    "simulate_outcome",
    "summarise_truth",
    "write_synth",
]

#: Version of the generator's output. Bump it whenever the same seed and config would give
#: different files (it is written to the manifest).
GENERATOR_VERSION = "1.1.0"
#: The seed of the bundled data set in ``data/sample``.
DEFAULT_SEED = 20260403

#: The ten panel metrics, in column order.
METRICS: tuple[str, ...] = (
    "devices_received",
    "devices_examined",
    "backlog",
    "median_turnaround_days",
    "p90_turnaround_days",
    "outsourced_exams",
    "outsourced_spend_gbp",
    "officer_hours_digital",
    "cce_referrals",
    "county_lines_disrupted",
)

#: Metric an :class:`EffectSpec` may name -> the model driver its effect multiplies.
#: ``backlog`` and ``p90_turnaround_days`` are derived and take no effect of their own.
EFFECT_TARGETS: Mapping[str, str] = MappingProxyType(
    {
        "devices_received": "devices received (intake)",
        "devices_examined": "examination capacity",
        "median_turnaround_days": "processing time (median and p90 turnaround)",
        "outsourced_exams": "outsourced share of examinations",
        "outsourced_spend_gbp": "unit price of an outsourced examination",
        "officer_hours_digital": "officer hours per examination",
        "cce_referrals": "child criminal exploitation referrals",
        "county_lines_disrupted": "county lines disrupted",
    }
)


#: Files written by :func:`write_synth` (besides ``manifest.json``), in order.
SAMPLE_FILES: tuple[str, ...] = (
    "panel.csv",
    "register.csv",
    "costs.csv",
    "truth.csv",
    "truth_summary.csv",
    "README.md",
)

# Metrics that are flows (summed over months into quarters; a force-year effect is 12 months of
# them); the others are a stock (backlog, end of period) or levels (turnaround days).
_FLOWS = frozenset(METRICS) - {"backlog", "median_turnaround_days", "p90_turnaround_days"}
_INTEGER = (
    "devices_received",
    "devices_examined",
    "backlog",
    "outsourced_exams",
    "officer_hours_digital",
    "cce_referrals",
    "county_lines_disrupted",
)
_DECIMALS = {"median_turnaround_days": 1, "p90_turnaround_days": 1, "outsourced_spend_gbp": 2}
_UNITS = {
    "devices_received": "devices",
    "devices_examined": "examinations",
    "backlog": "devices waiting",
    "median_turnaround_days": "days",
    "p90_turnaround_days": "days",
    "outsourced_exams": "outsourced examinations",
    "outsourced_spend_gbp": "GBP (nominal)",
    "officer_hours_digital": "officer hours",
    "cce_referrals": "referrals",
    "county_lines_disrupted": "county lines",
}
_DAYS_PER_MONTH = 365.25 / 12
_LEDGER_COLUMNS = (
    FORCE,
    DATE,
    FINANCIAL_YEAR,
    CATEGORY,
    KIND,
    AMOUNT_GBP,
    PRICE_BASIS,
    DESCRIPTION,
)
_TRUTH_DECIMALS = 6

Shape = Literal["constant", "linear", "step"]
_SHAPES: tuple[str, ...] = ("constant", "linear", "step")
Freq = Literal["month", "quarter"]
PilotSelection = Literal["uniform", "size"]
_LATE_POOLS = ("pilot", "comparison", "any")


# ----------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class EffectSpec:
    """A planted effect on one metric's driver, as a relative change.

    The treated driver is the untreated one times ``1 + size * m_w * path(e)``, where ``e`` is
    months since go-live (0 in the go-live month), ``m_w`` the multiplier of the force's wave and
    ``path`` the shape:

    * ``"constant"``: 1 from the go-live month on;
    * ``"linear"``: ``min((e + 1) / ramp_months, 1)``: grows by ``1 / ramp_months`` a month and
      reaches the full ``size`` (the cap) in month ``ramp_months`` of operation;
    * ``"step"``: 0 for the first ``ramp_months`` months (a delay), then 1.

    Parameters
    ----------
    metric
        A key of :data:`EFFECT_TARGETS`.
    shape
        ``"constant"``, ``"linear"`` or ``"step"``.
    size
        Relative change at full effect, e.g. ``-0.4`` for a 40% fall; must exceed -1.
    ramp_months
        Months to full effect (``"linear"``) or delay (``"step"``); ignored for ``"constant"``.
    wave_multipliers
        Multiplier of ``size`` per wave, in wave order; waves beyond the tuple use its last value.

    Examples
    --------
    >>> spec = EffectSpec("outsourced_exams", "linear", -0.4, ramp_months=4)
    >>> effect_path(spec, np.array([-1, 0, 1, 3, 10]), 0).tolist()
    [0.0, -0.1, -0.2, -0.4, -0.4]
    """

    metric: str
    shape: Shape = "linear"
    size: float = 0.0
    ramp_months: int = 12
    wave_multipliers: tuple[float, ...] = (1.0,)

    def multiplier(self, wave: int) -> float:
        """Return the multiplier of wave ``wave`` (0-based)."""
        mults = self.wave_multipliers or (1.0,)
        return float(mults[min(wave, len(mults) - 1)])

    def describe(self) -> str:
        """Return a one-line description, e.g. ``linear -40% over 18 months``."""
        pct = f"{self.size * 100:+.0f}%"
        if self.shape == "linear":
            text = f"linear to {pct} over {self.ramp_months} months"
        elif self.shape == "step":
            text = f"step {pct} after {self.ramp_months} months"
        else:
            text = f"constant {pct}"
        mults = tuple(self.wave_multipliers) or (1.0,)
        if any(m != 1.0 for m in mults):
            text += "; wave multipliers " + "/".join(f"{m:g}" for m in mults)
        return text


def default_effects() -> tuple[EffectSpec, ...]:
    """Return the planted effects of the bundled data set.

    ``devices_received`` has no effect: the teams should not change how many devices come in.
    """
    return (
        EffectSpec("devices_examined", "linear", 0.06, ramp_months=12),
        EffectSpec("median_turnaround_days", "constant", -0.25),
        EffectSpec(
            "outsourced_exams", "linear", -0.30, ramp_months=18, wave_multipliers=(1.2, 1.0, 0.8)
        ),
        EffectSpec("officer_hours_digital", "linear", -0.15, ramp_months=12),
        EffectSpec("cce_referrals", "linear", 0.12, ramp_months=12),
        EffectSpec("county_lines_disrupted", "step", 0.15, ramp_months=6),
    )


@dataclass(frozen=True)
class Baselines:
    """Levels, heterogeneity and noise of the untreated outcomes (a parameter table).

    Rates are per 1,000 officers FTE per month; ``*_sd`` between forces are log-scale standard
    deviations (multiplied by :attr:`SynthConfig.heterogeneity`); ``noise_*`` are log-scale
    within-force standard deviations (multiplied by :attr:`SynthConfig.noise_scale`). Growth and
    trends are proportional changes per year, applied linearly.
    """

    devices_per_1000_officers: float = 95.0
    intake_sd: float = 0.2
    intake_growth: float = 0.04
    noise_intake: float = 0.06
    capacity_gap_mean: float = 0.0
    capacity_gap_sd: float = 0.01
    noise_capacity: float = 0.05
    backlog_months: float = 2.5
    backlog_months_sd: float = 0.5
    processing_days: float = 12.0
    processing_sd: float = 0.3
    noise_processing: float = 0.1
    median_wait_factor: float = 0.8
    p90_processing_factor: float = 2.5
    p90_wait_factor: float = 1.6
    noise_p90: float = 0.05
    outsourced_share: float = 0.2
    outsourced_share_sd: float = 0.35
    noise_outsourced_share: float = 0.12
    exam_price_gbp: float = 350.0
    exam_price_sd: float = 0.1
    exam_price_inflation: float = 0.03
    noise_exam_price: float = 0.04
    hours_per_exam: float = 7.5
    hours_per_exam_sd: float = 0.15
    noise_hours_per_exam: float = 0.06
    cce_per_1000_officers: float = 2.0
    cce_sd: float = 0.3
    cce_growth: float = 0.03
    noise_cce: float = 0.2
    county_lines_per_1000_officers: float = 0.5
    county_lines_sd: float = 0.35
    county_lines_growth: float = 0.0
    noise_county_lines: float = 0.25


@dataclass(frozen=True)
class CostSpec:
    """Unit costs and size drivers of the pilot cost ledger.

    Amounts are in prices of financial year ``price_year`` and are inflated by
    ``inflation`` a year to nominal (cash) prices of the year they fall in. ``*_fixed`` is per
    pilot force, ``*_per_1000`` per 1,000 officers FTE. Recurrent amounts are annual and are
    pro-rated by the months of the financial year the team is live within the window. All
    figures are illustrative assumptions, not published unit costs.
    """

    price_year: str = "2022-23"
    inflation: float = 0.03
    equipment_fixed: float = 180_000.0
    equipment_per_1000: float = 30_000.0
    training_fixed: float = 25_000.0
    training_per_1000: float = 12_000.0
    accommodation_fixed: float = 60_000.0
    accreditation_initial: float = 40_000.0
    staff_fte_fixed: float = 2.0
    staff_fte_per_1000: float = 0.6
    staff_cost_per_fte: float = 55_000.0
    licences_fixed: float = 35_000.0
    licences_per_1000: float = 6_000.0
    accreditation_annual: float = 15_000.0
    equipment_life_years: int = 3
    refresh_share: float = 0.8
    noise_sd: float = 0.05


@dataclass(frozen=True)
class SynthConfig:
    """Everything that defines a synthetic data set (the defaults make the bundled one).

    Parameters
    ----------
    start, end
        First and last month (``YYYY-MM``), inclusive.
    freq
        ``"month"`` or ``"quarter"`` (months are generated, then summed into calendar quarters;
        the window must then start and end on quarter boundaries).
    waves
        ``(go-live month, number of pilot forces)`` per wave, in order.
    pilot_selection
        ``"uniform"`` (every force equally likely) or ``"size"`` (probability proportional to
        officers FTE), applied to the places not taken by ``fixed_pilots``.
    fixed_pilots
        ``(force, go-live month)`` pairs placed before the random draw (e.g. Avon and Somerset in
        the first wave, as in Operation Soteria).
    effects
        The planted effects (:class:`EffectSpec`), at most one per metric.
    noise_scale, heterogeneity, trend_sd, seasonality, ar1
        Multiplier of all within-force noise; multiplier of all between-force level differences;
        standard deviation of force-specific linear trends (proportion a year); amplitude of the
        monthly seasonal cycles; AR(1) coefficient of the noise. ``noise_scale=0``,
        ``trend_sd=0`` and ``seasonality=0`` give a deterministic panel.
    missing_share
        Share of force-periods removed at random (absent rows), spread over all forces and
        periods.
    late_reporting_force
        A force name, ``"pilot"``, ``"comparison"`` or ``"any"`` (one drawn at random from that
        pool) or ``None``: its last ``n_late_months`` months are absent.
    round_values
        Round counts to whole numbers, days to 0.1 and GBP to pence (``False`` keeps exact
        floats, for tests of the planted effects).
    """

    start: str = "2018-04"
    end: str = "2026-03"
    freq: Freq = "month"
    waves: tuple[tuple[str, int], ...] = (("2022-04", 3), ("2023-04", 5), ("2024-04", 6))
    pilot_selection: PilotSelection = "uniform"
    fixed_pilots: tuple[tuple[str, str], ...] = (("Avon and Somerset", "2022-04"),)
    effects: tuple[EffectSpec, ...] = field(default_factory=default_effects)
    noise_scale: float = 1.0
    heterogeneity: float = 1.0
    trend_sd: float = 0.015
    seasonality: float = 0.06
    ar1: float = 0.4
    missing_share: float = 0.01
    late_reporting_force: str | None = "pilot"
    n_late_months: int = 3
    round_values: bool = True
    baselines: Baselines = field(default_factory=Baselines)
    costs: CostSpec = field(default_factory=CostSpec)

    def effect(self, metric: str) -> EffectSpec | None:
        """Return the effect planted on ``metric``, or ``None``."""
        for spec in self.effects:
            if spec.metric == metric:
                return spec
        return None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict of every parameter (the ``config`` of the manifest)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> SynthConfig:
        """Rebuild a config from :meth:`to_dict` output (e.g. a manifest's ``config``).

        Examples
        --------
        >>> cfg = SynthConfig(freq="quarter", noise_scale=0.5)
        >>> SynthConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
        True
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown synth config parameter(s): {', '.join(unknown)}")
        out: dict[str, Any] = dict(values)
        if "waves" in out:
            out["waves"] = tuple((str(g), int(n)) for g, n in out["waves"])
        if "fixed_pilots" in out:
            out["fixed_pilots"] = tuple((str(f), str(g)) for f, g in out["fixed_pilots"])
        if "effects" in out:
            out["effects"] = tuple(
                EffectSpec(**{**e, "wave_multipliers": tuple(e.get("wave_multipliers", (1.0,)))})
                for e in out["effects"]
            )
        if "baselines" in out:
            out["baselines"] = Baselines(**out["baselines"])
        if "costs" in out:
            out["costs"] = CostSpec(**out["costs"])
        return cls(**out)


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class SynthArrays:
    """Potential outcomes as arrays: the fast path for simulations.

    Attributes
    ----------
    forces
        Force names (rows), in ``forces.csv`` order.
    periods
        Period labels (columns).
    cohort
        Per force, the column index of its first treated period; ``-1`` for comparison forces.
    wave
        Per force, its 0-based wave; ``-1`` for comparison forces.
    y0, y1
        Metric -> ``(n_forces, n_periods)`` read-only array of untreated and treated potential
        outcomes (complete: no rows removed). The observed outcome is ``y1`` (equal to ``y0``
        for comparison forces and before go-live).
    """

    forces: tuple[str, ...]
    periods: tuple[str, ...]
    cohort: np.ndarray
    wave: np.ndarray
    y0: Mapping[str, np.ndarray]
    y1: Mapping[str, np.ndarray]

    @property
    def treated(self) -> np.ndarray:
        """Boolean ``(n_forces, n_periods)``: force is live in the period."""
        t = np.arange(len(self.periods))
        return (self.cohort[:, None] >= 0) & (t[None, :] >= self.cohort[:, None])


@dataclass(frozen=True)
class SynthData:
    """A generated data set.

    Attributes
    ----------
    panel
        ``force, period`` and the ten metrics, sorted by force and period; missing force-periods
        are absent rows (never NaN values).
    register
        The pilot register: ``force, wave, go_live`` (``YYYY-MM-DD``, first of the month), one
        row per pilot force; the other forces are comparison forces (never treated).
    ledger
        Pilot costs: ``force, date, financial_year, category, kind, amount_gbp, price_basis,
        description`` (nominal GBP).
    truth
        True effects per metric, cohort and period: ``metric, cohort, period, event_time,
        n_forces, y0_mean, y1_mean, att`` (``att = y1_mean - y0_mean``, levels), for every
        period (``att`` is exactly 0 before go-live).
    truth_summary
        Per metric: the simple ATT over all treated force-periods and its force-year equivalent
        (:func:`summarise_truth`).
    missing
        The removed force-periods: ``force, period, reason`` (``random`` or ``late``).
    config
        The :class:`SynthConfig` used.
    arrays
        The :class:`SynthArrays` behind the frames.
    """

    panel: pd.DataFrame
    register: pd.DataFrame
    ledger: pd.DataFrame
    truth: pd.DataFrame
    truth_summary: pd.DataFrame
    missing: pd.DataFrame
    config: SynthConfig
    arrays: SynthArrays


# ----------------------------------------------------------------------------- validation
def _forces() -> tuple[tuple[str, ...], np.ndarray]:
    """Return force names and officers FTE from the forces registry (``forces.csv`` order)."""
    names = tuple(FORCES)
    return names, np.array([FORCES[n].officers_fte for n in names], dtype=float)


def _month(label: str, what: str) -> pd.Period:
    try:
        return parse_period(label, "month")
    except ValueError as exc:
        raise ConfigError(f"{what} must be a month such as 2022-04; got {label!r}") from exc


def _validate(config: SynthConfig, names: Sequence[str]) -> None:
    check_option("freq", config.freq, ("month", "quarter"))
    check_option("pilot_selection", config.pilot_selection, ("uniform", "size"))
    start, end = _month(config.start, "start"), _month(config.end, "end")
    if end.ordinal <= start.ordinal:
        raise ConfigError(f"end ({config.end}) must be after start ({config.start})")
    if config.freq == "quarter" and (start.month % 3 != 1 or end.month % 3 != 0):
        raise ConfigError(
            "with freq='quarter' the window must start in Jan/Apr/Jul/Oct and end in "
            f"Mar/Jun/Sep/Dec; got {config.start} to {config.end}"
        )
    if not config.waves:
        raise ConfigError("waves must hold at least one (go-live month, count) pair")
    seen: set[str] = set()
    total = 0
    for label, count in config.waves:
        g = _month(label, "a wave's go-live")
        if not start.ordinal < g.ordinal <= end.ordinal:
            raise ConfigError(
                f"go-live {label} must be after start ({config.start}) and not after end "
                f"({config.end})"
            )
        if config.freq == "quarter" and g.month % 3 != 1:
            raise ConfigError(
                f"with freq='quarter' go-live {label} must be a quarter's first month"
            )
        if label in seen:
            raise ConfigError(f"go-live {label} appears in more than one wave")
        if not isinstance(count, int | np.integer) or count < 0:
            raise ConfigError(f"the number of pilots in wave {label} must be >= 0; got {count!r}")
        seen.add(label)
        total += int(count)
    if total < 1:
        raise ConfigError("the waves hold no pilot forces")
    if total > len(names) - 1:
        raise ConfigError(
            f"{total} pilot forces leave no comparison force (there are {len(names)} forces)"
        )
    per_wave = dict(config.waves)
    fixed_count: dict[str, int] = {}
    fixed_names: set[str] = set()
    for force, label in config.fixed_pilots:
        if force not in names:
            hint = suggest_force(force)
            extra = f" (did you mean {hint!r}?)" if hint else ""
            raise ConfigError(f"fixed pilot {force!r} is not a force{extra}")
        if label not in per_wave:
            raise ConfigError(f"fixed pilot {force!r} goes live in {label}, which is not a wave")
        if force in fixed_names:
            raise ConfigError(f"fixed pilot {force!r} is listed twice")
        fixed_names.add(force)
        fixed_count[label] = fixed_count.get(label, 0) + 1
        if fixed_count[label] > per_wave[label]:
            raise ConfigError(
                f"wave {label} has {per_wave[label]} place(s) but more fixed pilots than that"
            )
    metrics_seen: set[str] = set()
    for spec in config.effects:
        check_option("effect metric", spec.metric, tuple(EFFECT_TARGETS))
        check_option("effect shape", spec.shape, _SHAPES)
        if spec.metric in metrics_seen:
            raise ConfigError(f"more than one effect on {spec.metric!r}")
        metrics_seen.add(spec.metric)
        sizes = [spec.size * m for m in (spec.wave_multipliers or (1.0,))]
        if not all(math.isfinite(s) and s > -1 for s in sizes):
            raise ConfigError(
                f"effect on {spec.metric!r}: size x wave multiplier must be finite and > -1"
            )
        if spec.shape != "constant" and spec.ramp_months < (1 if spec.shape == "linear" else 0):
            raise ConfigError(f"effect on {spec.metric!r}: ramp_months must be >= 1 (linear)")
    for name in ("noise_scale", "heterogeneity", "trend_sd", "seasonality"):
        value = getattr(config, name)
        if not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"{name} must be a finite number >= 0; got {value!r}")
    if not -1 < config.ar1 < 1:
        raise ConfigError(f"ar1 must lie strictly between -1 and 1; got {config.ar1!r}")
    if not 0 <= config.missing_share < 0.5:
        raise ConfigError(f"missing_share must be in [0, 0.5); got {config.missing_share!r}")
    late = config.late_reporting_force
    if late is not None and late not in _LATE_POOLS and late not in names:
        raise ConfigError(
            f"late_reporting_force must be a force name, one of {_LATE_POOLS} or None; got {late!r}"
        )
    if config.n_late_months < 0:
        raise ConfigError(f"n_late_months must be >= 0; got {config.n_late_months!r}")


# ----------------------------------------------------------------------------- building blocks
def effect_path(spec: EffectSpec, event_months: np.ndarray, wave: int | np.ndarray) -> np.ndarray:
    """Return the relative effect ``size * m_w * path(e)`` at event times ``event_months``.

    ``event_months`` are months since go-live (negative before it: effect 0). ``wave`` is the
    0-based wave (a scalar, or an array broadcasting against ``event_months``).

    Examples
    --------
    >>> effect_path(EffectSpec("cce_referrals", "step", 0.1, ramp_months=2), np.arange(-1, 4), 0)
    array([0. , 0. , 0. , 0.1, 0.1])
    """
    e = np.asarray(event_months, dtype=float)
    if spec.shape == "constant":
        path = (e >= 0).astype(float)
    elif spec.shape == "linear":
        path = np.clip((e + 1.0) / spec.ramp_months, 0.0, 1.0) * (e >= 0)
    elif spec.shape == "step":
        path = ((e >= spec.ramp_months) & (e >= 0)).astype(float)
    else:  # pragma: no cover - validated
        check_option("shape", spec.shape, _SHAPES)
    mults = np.asarray(spec.wave_multipliers or (1.0,), dtype=float)
    w = np.clip(np.asarray(wave), 0, len(mults) - 1)
    return spec.size * mults[w] * path + 0.0  # + 0.0: no negative zeros


def lindley_backlog(initial: np.ndarray, inflow: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Return the backlog ``B[t] = max(0, B[t-1] + inflow[t] - capacity[t])`` along axis 1.

    Vectorised closed form of Lindley's recursion: with ``S`` the running sum of
    ``inflow - capacity``, ``B[t] = S[t] + max(B[-1], -min(S[1..t]))``.

    Examples
    --------
    >>> lindley_backlog(np.array([2.0]), np.array([[1.0, 0, 5]]), np.array([[0.0, 4, 1]]))
    array([[3., 0., 4.]])
    """
    s = np.cumsum(inflow - capacity, axis=1)
    floor = -np.minimum.accumulate(s, axis=1)
    return s + np.maximum(np.asarray(initial, dtype=float)[:, None], floor)


def _ar1(z: np.ndarray, rho: float) -> np.ndarray:
    """Stationary AR(1) with unit variance from i.i.d. normals along the last axis."""
    if rho == 0:
        return z
    from scipy.signal import lfilter

    x = z * math.sqrt(1.0 - rho * rho)
    x[..., 0] = z[..., 0]
    return lfilter([1.0], [1.0, -rho], x, axis=-1)


def _linear_trend(rate: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Return ``max(0.2, 1 + rate * years)`` as (forces, periods)."""
    return np.maximum(0.2, 1.0 + rate[:, None] * years[None, :])


def _season(month_of_year: np.ndarray, amplitude: float, peak: int) -> np.ndarray:
    return 1.0 + amplitude * np.cos(2.0 * np.pi * (month_of_year - peak) / 12.0)


# Rows of the force-level and noise draws (fixed, so a config change never shifts the stream).
_FORCE_DRAWS = (
    "intake", "intake_trend", "capacity_gap", "backlog_months", "processing",
    "share", "share_trend", "price", "hours", "hours_trend", "cce", "cce_trend",
    "county", "county_trend",
)  # fmt: skip
_NOISE_DRAWS = (
    "intake", "capacity", "processing", "p90", "share", "price", "hours", "cce", "county",
)  # fmt: skip


def _draw_outcome_noise(
    rng: np.random.Generator, n_forces: int, n_months: int, ar1: float
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    zf = rng.standard_normal((len(_FORCE_DRAWS), n_forces))
    zt = _ar1(rng.standard_normal((len(_NOISE_DRAWS), n_forces, n_months)), ar1)
    return dict(zip(_FORCE_DRAWS, zf, strict=True)), dict(zip(_NOISE_DRAWS, zt, strict=True))


def _months(config: SynthConfig) -> tuple[pd.Period, int]:
    start = _month(config.start, "start")
    end = _month(config.end, "end")
    return start, end.ordinal - start.ordinal + 1


def _select_pilots(
    config: SynthConfig, names: Sequence[str], fte: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return per force the go-live month index (-1 never) and the 0-based wave (-1 never)."""
    start, _ = _months(config)
    n = len(names)
    cohort = np.full(n, -1, dtype=np.int64)
    wave = np.full(n, -1, dtype=np.int64)
    index = {name: i for i, name in enumerate(names)}
    wave_of = {label: w for w, (label, _) in enumerate(config.waves)}
    for force, label in config.fixed_pilots:
        i = index[force]
        wave[i] = wave_of[label]
        cohort[i] = _month(label, "go-live").ordinal - start.ordinal
    for w, (label, count) in enumerate(config.waves):
        k = int(count) - int(np.sum(wave == w))
        if k <= 0:
            continue
        pool = np.flatnonzero(wave < 0)
        p = None
        if config.pilot_selection == "size":
            p = fte[pool] / fte[pool].sum()
        chosen = np.sort(rng.choice(pool, size=k, replace=False, p=p))
        wave[chosen] = w
        cohort[chosen] = _month(label, "go-live").ordinal - start.ordinal
    return cohort, wave


def _monthly_outcomes(
    config: SynthConfig,
    size: np.ndarray,
    zf: Mapping[str, np.ndarray],
    zt: Mapping[str, np.ndarray],
    start: pd.Period,
    mult: Mapping[str, np.ndarray | float],
) -> dict[str, np.ndarray]:
    """Compute the ten metrics (forces x months) given the treatment multipliers of drivers."""
    b = config.baselines
    het, ns, tsd, amp = (
        config.heterogeneity,
        config.noise_scale,
        config.trend_sd,
        config.seasonality,
    )
    n_months = zt["intake"].shape[1]
    t = np.arange(n_months)
    years = t / 12.0
    moy = (start.month - 1 + t) % 12 + 1
    rnd = config.round_values

    def _r(x: np.ndarray) -> np.ndarray:
        return np.round(x) if rnd else x

    def _m(name: str) -> np.ndarray | float:
        return mult.get(name, 1.0)

    # Intake and capacity
    expected = (
        b.devices_per_1000_officers
        * size[:, None]
        * np.exp(het * b.intake_sd * zf["intake"])[:, None]
        * _linear_trend(b.intake_growth + tsd * zf["intake_trend"], years)
    )
    received = _r(
        expected
        * _season(moy, amp, 1)[None, :]
        * np.exp(ns * b.noise_intake * zt["intake"])
        * _m("devices_received")
    )
    gap = b.capacity_gap_mean + het * b.capacity_gap_sd * zf["capacity_gap"]
    capacity = _r(
        expected
        * (1.0 - gap)[:, None]
        * _season(moy, amp * 0.5, 3)[None, :]
        * np.exp(ns * b.noise_capacity * zt["capacity"])
        * _m("devices_examined")
    )
    initial = _r(
        expected[:, 0] * b.backlog_months * np.exp(het * b.backlog_months_sd * zf["backlog_months"])
    )
    backlog = lindley_backlog(initial, received, capacity)
    before = np.concatenate([initial[:, None], backlog[:, :-1]], axis=1)
    examined = before + received - backlog

    # Turnaround: processing time plus the wait implied by the backlog ahead
    processing = (
        b.processing_days
        * np.exp(het * b.processing_sd * zf["processing"])[:, None]
        * np.exp(ns * b.noise_processing * zt["processing"])
        * _m("median_turnaround_days")
    )
    wait = _DAYS_PER_MONTH * before / np.maximum(capacity, 1.0)
    median = processing + b.median_wait_factor * wait
    p90 = (b.p90_processing_factor * processing + b.p90_wait_factor * wait) * np.exp(
        ns * b.noise_p90 * np.abs(zt["p90"])
    )

    # Outsourcing
    share = np.clip(
        b.outsourced_share
        * np.exp(het * b.outsourced_share_sd * zf["share"])[:, None]
        * _linear_trend(tsd * zf["share_trend"], years)
        * np.exp(ns * b.noise_outsourced_share * zt["share"]),
        0.0,
        0.95,
    )
    share = np.clip(share * _m("outsourced_exams"), 0.0, 0.95)
    outsourced = _r(share * examined)
    price = (
        b.exam_price_gbp
        * (1.0 + b.exam_price_inflation) ** years[None, :]
        * np.exp(het * b.exam_price_sd * zf["price"])[:, None]
        * np.exp(ns * b.noise_exam_price * zt["price"])
        * _m("outsourced_spend_gbp")
    )
    spend = outsourced * price

    # Officer hours
    per_exam = (
        b.hours_per_exam
        * np.exp(het * b.hours_per_exam_sd * zf["hours"])[:, None]
        * _linear_trend(tsd * zf["hours_trend"], years)
        * np.exp(ns * b.noise_hours_per_exam * zt["hours"])
        * _m("officer_hours_digital")
    )
    hours = _r(per_exam * examined)

    # Exploitation outcomes
    cce = _r(
        b.cce_per_1000_officers
        * size[:, None]
        * np.exp(het * b.cce_sd * zf["cce"])[:, None]
        * _linear_trend(b.cce_growth + tsd * zf["cce_trend"], years)
        * _season(moy, amp, 7)[None, :]
        * np.exp(ns * b.noise_cce * zt["cce"])
        * _m("cce_referrals")
    )
    county = _r(
        b.county_lines_per_1000_officers
        * size[:, None]
        * np.exp(het * b.county_lines_sd * zf["county"])[:, None]
        * _linear_trend(b.county_lines_growth + tsd * zf["county_trend"], years)
        * _season(moy, amp, 10)[None, :]
        * np.exp(ns * b.noise_county_lines * zt["county"])
        * _m("county_lines_disrupted")
    )
    return {
        "devices_received": received,
        "devices_examined": examined,
        "backlog": backlog,
        "median_turnaround_days": median,
        "p90_turnaround_days": p90,
        "outsourced_exams": outsourced,
        "outsourced_spend_gbp": spend,
        "officer_hours_digital": hours,
        "cce_referrals": cce,
        "county_lines_disrupted": county,
    }


def _to_quarters(y: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Sum flows, take the last month of stocks and the examined-weighted mean of days."""
    n_forces, n_months = y["devices_received"].shape
    shape = (n_forces, n_months // 3, 3)
    weights = y["devices_examined"].reshape(shape)
    wsum = weights.sum(axis=2)
    out: dict[str, np.ndarray] = {}
    for metric, values in y.items():
        v = values.reshape(shape)
        if metric in _FLOWS:
            out[metric] = v.sum(axis=2)
        elif metric == "backlog":
            out[metric] = v[:, :, -1].copy()
        else:
            weighted = (v * weights).sum(axis=2) / np.where(wsum > 0, wsum, 1.0)
            out[metric] = np.where(wsum > 0, weighted, v.mean(axis=2))
    return out


def _finish(y: Mapping[str, np.ndarray], rounding: bool) -> dict[str, np.ndarray]:
    """Round to the written precision (so truth is computed on what is written); freeze."""
    out = {}
    for metric in METRICS:
        v = np.asarray(y[metric], dtype=float)
        if rounding:
            v = np.round(v, _DECIMALS.get(metric, 0))
        v = v + 0.0  # no negative zeros
        v.flags.writeable = False
        out[metric] = v
    return out


@functools.lru_cache(maxsize=32)
def _period_labels(start: str, n_months: int, freq: str) -> tuple[str, ...]:
    first = parse_period(start, "month")
    if freq == "quarter":
        return tuple(format_period((first + i).asfreq("Q-DEC")) for i in range(0, n_months, 3))
    return tuple(format_period(first + i) for i in range(n_months))


def _child_rngs(rng: np.random.Generator) -> list[np.random.Generator]:
    """Independent streams: pilot selection, outcomes, missing rows, costs."""
    if not isinstance(rng, np.random.Generator):
        raise ConfigError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    return list(rng.spawn(4))


def _simulate(config: SynthConfig, streams: Sequence[np.random.Generator]) -> SynthArrays:
    names, fte = _forces()
    _validate(config, names)
    start, n_months = _months(config)
    cohort, wave = _select_pilots(config, names, fte, streams[0])
    zf, zt = _draw_outcome_noise(streams[1], len(names), n_months, config.ar1)
    size = fte / 1000.0

    event = np.arange(n_months)[None, :] - cohort[:, None]
    event = np.where(cohort[:, None] >= 0, event, -1)
    mult: dict[str, np.ndarray | float] = {
        spec.metric: 1.0 + effect_path(spec, event, wave[:, None]) for spec in config.effects
    }
    y0 = _monthly_outcomes(config, size, zf, zt, start, {})
    y1 = _monthly_outcomes(config, size, zf, zt, start, mult)
    periods = _period_labels(config.start, n_months, config.freq)
    if config.freq == "quarter":
        y0, y1 = _to_quarters(y0), _to_quarters(y1)
        cohort = np.where(cohort >= 0, cohort // 3, -1)
    cohort.flags.writeable = False
    wave.flags.writeable = False
    return SynthArrays(
        forces=names,
        periods=periods,
        cohort=cohort,
        wave=wave,
        y0=MappingProxyType(_finish(y0, config.round_values)),
        y1=MappingProxyType(_finish(y1, config.round_values)),
    )


def simulate(config: SynthConfig, rng: np.random.Generator) -> SynthArrays:
    """Draw the potential outcomes of every force and period as arrays (no frames).

    The fast path for power analysis and coverage simulations; :func:`generate` calls it and
    then builds the frames, removes the missing rows and adds the cost ledger. For the same
    ``rng`` state, ``simulate(config, rng)`` and ``generate(config, rng).arrays`` are equal.

    Examples
    --------
    >>> arrays = simulate(SynthConfig(), np.random.default_rng(1))
    >>> arrays.y0["backlog"].shape
    (43, 96)
    >>> int((arrays.cohort >= 0).sum())
    14
    """
    return _simulate(config, _child_rngs(rng))


def simulate_outcome(
    config: SynthConfig, metric: str, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return the observed outcome ``Y`` (forces x periods) of one metric and the cohorts.

    ``cohort`` holds per force the column index of its first treated period (``-1`` never).

    Examples
    --------
    >>> y, cohort = simulate_outcome(SynthConfig(), "cce_referrals", np.random.default_rng(1))
    >>> y.shape, cohort.shape
    ((43, 96), (43,))
    """
    check_option("metric", metric, METRICS)
    arrays = simulate(config, rng)
    return arrays.y1[metric], arrays.cohort


# ----------------------------------------------------------------------------- frames
def _truth(arrays: SynthArrays) -> pd.DataFrame:
    cohorts = np.array(sorted(set(arrays.cohort[arrays.cohort >= 0].tolist())), dtype=np.int64)
    n_periods, n_cohorts = len(arrays.periods), len(cohorts)
    # (cohorts, forces) averaging matrix: row g holds 1/n_g on the cohort's forces
    member = (arrays.cohort[None, :] == cohorts[:, None]).astype(float)
    n_forces = member.sum(axis=1)
    avg = member / n_forces[:, None]
    y0 = np.stack([arrays.y0[m] for m in METRICS])  # (metrics, forces, periods)
    y1 = np.stack([arrays.y1[m] for m in METRICS])
    m0 = np.einsum("gf,mft->mgt", avg, y0)
    m1 = np.einsum("gf,mft->mgt", avg, y1)
    att = np.einsum("gf,mft->mgt", avg, y1 - y0)
    shape = (len(METRICS), n_cohorts, n_periods)
    idx_m, idx_g, idx_t = (a.ravel() for a in np.indices(shape))
    periods = np.asarray(arrays.periods, dtype=object)

    def _r(x: np.ndarray) -> np.ndarray:
        return np.round(x.ravel(), _TRUTH_DECIMALS) + 0.0

    frame = pd.DataFrame(
        {
            "metric": np.asarray(METRICS, dtype=object)[idx_m],
            "cohort": periods[cohorts[idx_g]],
            "period": periods[idx_t],
            "event_time": idx_t - cohorts[idx_g],
            "n_forces": n_forces[idx_g].astype(np.int64),
            "y0_mean": _r(m0),
            "y1_mean": _r(m1),
            "att": _r(att),
        }
    )
    return frame.astype({"metric": "str", "cohort": "str", "period": "str"})


def summarise_truth(truth: pd.DataFrame, config: SynthConfig) -> pd.DataFrame:
    """Summarise ``truth`` per metric over all treated force-periods.

    ``att`` is the simple aggregate of Callaway and Sant'Anna (2021): the mean of
    ``Y(1) - Y(0)`` over every treated force-period in the window, i.e. the ATT(g, t) of the
    post-periods weighted by cohort size. ``att_relative`` is ``att / y0_mean``.
    ``att_per_force_year`` converts it to natural units: for flows, the change per pilot force
    per year (x 12 months or x 4 quarters); for the backlog and turnaround, the average change
    in the level.
    """
    per_year = 12 if config.freq == "month" else 4
    post = truth[truth["event_time"] >= 0]
    rows = []
    for metric in METRICS:
        part = post[post["metric"] == metric]
        w = part["n_forces"].to_numpy(dtype=float)
        n = float(w.sum())
        att = float((part["att"].to_numpy() * w).sum() / n) if n else 0.0
        y0 = float((part["y0_mean"].to_numpy() * w).sum() / n) if n else 0.0
        flow = metric in _FLOWS
        spec = config.effect(metric)
        rows.append(
            {
                "metric": metric,
                "planted": spec.describe() if spec else "none",
                "driver": EFFECT_TARGETS.get(metric, "derived"),
                "n_treated_force_periods": int(n),
                "y0_mean": round(y0, _TRUTH_DECIMALS) + 0.0,
                "att": round(att, _TRUTH_DECIMALS) + 0.0,
                "att_relative": round(att / y0, _TRUTH_DECIMALS) + 0.0 if y0 else 0.0,
                "att_per_force_year": round(att * per_year if flow else att, _TRUTH_DECIMALS) + 0.0,
                "per_force_year_unit": (
                    f"{_UNITS[metric]} per pilot force per year"
                    if flow
                    else f"{_UNITS[metric]} (average change in level)"
                ),
            }
        )
    return pd.DataFrame(rows)


def _missing_cells(
    config: SynthConfig, arrays: SynthArrays, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Return boolean masks (random, late) over forces x periods and the late force."""
    n_forces, n_periods = len(arrays.forces), len(arrays.periods)
    late_mask = np.zeros((n_forces, n_periods), dtype=bool)
    late = config.late_reporting_force
    late_force: str | None = None
    if late is not None and config.n_late_months > 0:
        if late in _LATE_POOLS:
            is_pilot = arrays.cohort >= 0
            pool = {
                "pilot": np.flatnonzero(is_pilot),
                "comparison": np.flatnonzero(~is_pilot),
                "any": np.arange(n_forces),
            }[late]
            i = int(rng.choice(pool))
        else:
            i = arrays.forces.index(late)
        late_force = arrays.forces[i]
        per = 1 if config.freq == "month" else 3
        k = min(-(-config.n_late_months // per), n_periods - 1)
        late_mask[i, n_periods - k :] = True
    random_mask = np.zeros_like(late_mask)
    eligible = np.flatnonzero(~late_mask.ravel())
    k = round(config.missing_share * n_forces * n_periods)
    if k:
        random_mask.ravel()[rng.choice(eligible, size=k, replace=False)] = True
    return random_mask, late_mask, late_force


def _panel(arrays: SynthArrays, keep: np.ndarray, rounding: bool) -> pd.DataFrame:
    f_idx, t_idx = np.nonzero(keep)  # row-major: sorted by force then period
    cols: dict[str, Any] = {
        FORCE: np.asarray(arrays.forces, dtype=object)[f_idx],
        PERIOD: np.asarray(arrays.periods, dtype=object)[t_idx],
    }
    for metric in METRICS:
        values = arrays.y1[metric][f_idx, t_idx]
        cols[metric] = values.astype(np.int64) if rounding and metric in _INTEGER else values
    frame = pd.DataFrame(cols)
    return frame.astype({FORCE: "str", PERIOD: "str"})


def _register(config: SynthConfig, arrays: SynthArrays) -> pd.DataFrame:
    """Return the pilot register of the contract: one row per pilot force (wave, go-live)."""
    pilots = np.flatnonzero(arrays.wave >= 0)
    go_live = [
        _month(config.waves[int(arrays.wave[i])][0], "go-live").start_time.strftime("%Y-%m-%d")
        for i in pilots
    ]
    frame = pd.DataFrame(
        {
            FORCE: pd.array([arrays.forces[i] for i in pilots], dtype="str"),
            WAVE: arrays.wave[pilots].astype(np.int64) + 1,
            GO_LIVE: pd.array(go_live, dtype="str"),
        }
    )
    return frame.sort_values([GO_LIVE, FORCE], kind="stable").reset_index(drop=True)


def _fy_label(fy_start_year: int) -> str:
    return f"{fy_start_year:04d}-{(fy_start_year + 1) % 100:02d}"


def _fy_of(period: pd.Period) -> int:
    """Start year of the UK financial year containing a month."""
    return period.year if period.month >= 4 else period.year - 1


def _ledger_items(
    c: CostSpec, go: pd.Period, end: pd.Period, thousand: float
) -> list[tuple[pd.Period, str, str, float, str]]:
    """Cost lines of one pilot (date, category, kind, amount in base prices, description)."""
    equipment = c.equipment_fixed + c.equipment_per_1000 * thousand
    training = c.training_fixed + c.training_per_1000 * thousand
    kit = "Extraction kit, workstations and storage"
    items = [
        (go, "equipment", "capital", equipment, f"{kit} (set-up)"),
        (go, "training", "capital", training, "Examiner and investigator training (set-up)"),
        (go, "accommodation", "capital", c.accommodation_fixed, "Laboratory fit-out (set-up)"),
        (go, "accreditation", "capital", c.accreditation_initial, "ISO/IEC 17025 accreditation"),
    ]
    life = 12 * c.equipment_life_years
    refresh = go + life
    while life > 0 and refresh.ordinal <= end.ordinal:
        refresh_cost = equipment * c.refresh_share
        items.append((refresh, "equipment", "capital", refresh_cost, f"{kit} (refresh)"))
        refresh = refresh + life
    staff_fte = c.staff_fte_fixed + c.staff_fte_per_1000 * thousand
    licences = c.licences_fixed + c.licences_per_1000 * thousand
    annual = (
        ("staff", staff_fte * c.staff_cost_per_fte, f"Digital forensics team, {staff_fte:.1f} FTE"),
        ("licences", licences, "Software licences and support"),
        ("accreditation", c.accreditation_annual, "ISO/IEC 17025 accreditation upkeep"),
    )
    for fy in range(_fy_of(go), _fy_of(end) + 1):
        fy_start = pd.Period(year=fy, month=4, freq="M")
        first = max(fy_start.ordinal, go.ordinal)
        last = min(fy_start.ordinal + 11, end.ordinal)
        months = last - first + 1
        if months <= 0:
            continue
        # recurrent costs are booked at the end of the last month they cover
        when = fy_start + (last - fy_start.ordinal)
        for category, amount, text in annual:
            prorated = amount * months / 12.0
            items.append((when, category, "recurrent", prorated, f"{text} ({months} months)"))
    return items


def _ledger(config: SynthConfig, arrays: SynthArrays, rng: np.random.Generator) -> pd.DataFrame:
    c = config.costs
    names, fte = _forces()
    start, n_months = _months(config)
    end = start + (n_months - 1)
    base_fy = int(parse_period(c.price_year, "fy").year) - 1
    records: list[dict[str, Any]] = []
    for i in np.flatnonzero(arrays.wave >= 0):
        go = _month(config.waves[int(arrays.wave[i])][0], "go-live")
        for when, category, kind, amount, text in _ledger_items(c, go, end, fte[i] / 1000.0):
            fy = _fy_of(when)
            records.append(
                {
                    FORCE: names[i],
                    DATE: (when.end_time if kind == "recurrent" else when.start_time).strftime(
                        "%Y-%m-%d"
                    ),
                    FINANCIAL_YEAR: _fy_label(fy),
                    CATEGORY: category,
                    KIND: kind,
                    AMOUNT_GBP: amount * (1.0 + c.inflation) ** (fy - base_fy),
                    PRICE_BASIS: "nominal",
                    DESCRIPTION: text,
                }
            )
    frame = pd.DataFrame.from_records(records, columns=list(_LEDGER_COLUMNS))
    noise = np.exp(c.noise_sd * rng.standard_normal(len(frame)))
    frame[AMOUNT_GBP] = np.round(frame[AMOUNT_GBP].to_numpy(dtype=float) * noise).astype(np.int64)
    frame = frame.sort_values([FORCE, DATE, KIND, CATEGORY], kind="stable")
    text_columns = [col for col in _LEDGER_COLUMNS if col != AMOUNT_GBP]
    return frame.reset_index(drop=True).astype(dict.fromkeys(text_columns, "str"))


def generate(
    config: SynthConfig | None = None, rng: np.random.Generator | None = None
) -> SynthData:
    """Generate a synthetic data set with known effects.

    Parameters
    ----------
    config
        The parameters (default: those of the bundled data set).
    rng
        The random generator; required (pass ``numpy.random.default_rng(seed)``).

    Returns
    -------
    SynthData
        Frozen frames: panel, register, ledger, truth, truth summary, missing rows.

    Raises
    ------
    ConfigError
        An invalid parameter (the message lists the allowed values).

    Examples
    --------
    >>> data = generate(SynthConfig(), np.random.default_rng(7))
    >>> data.truth_summary.set_index("metric").loc["devices_received", "att"]
    np.float64(0.0)
    >>> data.register.groupby("wave").size().tolist()
    [3, 5, 6]
    """
    config = SynthConfig() if config is None else config
    if rng is None:
        raise ConfigError("generate needs rng=numpy.random.default_rng(seed)")
    streams = _child_rngs(rng)
    arrays = _simulate(config, streams)
    random_mask, late_mask, _ = _missing_cells(config, arrays, streams[2])
    keep = ~(random_mask | late_mask)
    missing = []
    for reason, mask in (("random", random_mask), ("late", late_mask)):
        f_idx, t_idx = np.nonzero(mask)
        missing.append(
            pd.DataFrame(
                {
                    FORCE: np.asarray(arrays.forces, dtype=object)[f_idx],
                    PERIOD: np.asarray(arrays.periods, dtype=object)[t_idx],
                    "reason": reason,
                }
            )
        )
    missing_frame = (
        pd.concat(missing, ignore_index=True)
        .astype({FORCE: "str", PERIOD: "str", "reason": "str"})
        .sort_values([FORCE, PERIOD], kind="stable")
        .reset_index(drop=True)
    )
    truth = _truth(arrays)
    return SynthData(
        panel=_panel(arrays, keep, config.round_values),
        register=_register(config, arrays),
        ledger=_ledger(config, arrays, streams[3]),
        truth=truth,
        truth_summary=summarise_truth(truth, config),
        missing=missing_frame,
        config=config,
        arrays=arrays,
    )


# ----------------------------------------------------------------------------- writing
def _csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_synth(
    data: SynthData, out_dir: str | Path, *, seed: int | None, command: str | None = None
) -> dict[str, Path]:
    r"""Write the data set to ``out_dir``: five CSVs, ``README.md`` and ``manifest.json``.

    The bytes depend only on the data (fixed row order, rounding, ``\\n`` line ends, no
    time stamps), so the same seed and config give identical files.

    Returns
    -------
    dict
        File name -> path written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if command is None:
        command = f"pathfinder synth --seed {seed}" if seed is not None else None
    contents: dict[str, bytes] = {
        "panel.csv": _csv_bytes(data.panel),
        "register.csv": _csv_bytes(data.register),
        "costs.csv": _csv_bytes(data.ledger),
        "truth.csv": _csv_bytes(data.truth),
        "truth_summary.csv": _csv_bytes(data.truth_summary),
        "README.md": render_readme(data, seed=seed, command=command).encode("utf-8"),
    }
    manifest = {
        "generator": "evaluation.synth",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "command": command,
        "files": {
            name: {
                "sha256": _sha256(blob),
                "bytes": len(blob),
                **({"rows": blob.count(b"\n") - 1} if name.endswith(".csv") else {}),
            }
            for name, blob in contents.items()
        },
        "config": data.config.to_dict(),
    }
    contents["manifest.json"] = (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
    paths = {}
    for name, blob in contents.items():
        path = out / name
        path.write_bytes(blob)
        paths[name] = path
    return paths


def _md_table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def _fmt(x: float) -> str:
    return f"{x:,.2f}" if abs(x) < 100 else f"{x:,.0f}"


def _readme_tables(data: SynthData) -> dict[str, str]:
    """Markdown tables of the README: waves, effects, truth, missing rows, costs."""
    cfg = data.config
    pilots = data.register
    waves = pd.DataFrame(
        {
            "wave": [w + 1 for w in range(len(cfg.waves))],
            "go-live": [_month(g, "go-live").start_time.strftime("%Y-%m-%d") for g, _ in cfg.waves],
            "forces": [
                ", ".join(pilots.loc[pilots[WAVE] == w + 1, FORCE]) or "(none)"
                for w in range(len(cfg.waves))
            ],
        }
    )
    rows = []
    for metric in METRICS:
        spec = cfg.effect(metric)
        ramp = spec.ramp_months if spec and spec.shape != "constant" else "-"
        rows.append(
            {
                "metric": metric,
                "driver the effect multiplies": EFFECT_TARGETS.get(metric, "(derived)"),
                "shape": spec.shape if spec else "-",
                "size (cap)": f"{spec.size * 100:+.0f}%" if spec else "**none**",
                "ramp / delay (months)": ramp,
                "wave multipliers": (
                    "/".join(f"{m:g}" for m in spec.wave_multipliers) if spec else "-"
                ),
            }
        )
    summ = data.truth_summary
    truth = pd.DataFrame(
        {
            "metric": summ["metric"],
            "true simple ATT": [_fmt(v) for v in summ["att"]],
            "relative": [f"{v * 100:+.1f}%" for v in summ["att_relative"]],
            "per pilot force-year": [_fmt(v) for v in summ["att_per_force_year"]],
            "unit": summ["per_force_year_unit"],
        }
    )
    rnd = data.missing[data.missing["reason"] == "random"]
    by_force = rnd.groupby(FORCE, sort=True)[PERIOD].agg(", ".join)
    missing = pd.DataFrame({"force": by_force.index, "absent periods": by_force.to_numpy()})
    costs = data.ledger.groupby(["kind", "category"], sort=True)["amount_gbp"].sum()
    costs_frame = costs.reset_index()
    costs_frame["amount_gbp"] = [f"{v:,}" for v in costs_frame["amount_gbp"]]
    return {
        "waves": _md_table(waves),
        "effects": _md_table(pd.DataFrame(rows)),
        "truth": _md_table(truth),
        "missing": _md_table(missing) if len(rnd) else "(none)",
        "costs": _md_table(costs_frame),
    }


_SEED_NOTE = """\
Why this seed: the bundled data set is a demonstration, and a demonstration should show the
estimators recovering the planted effects. Seed 20260403 is the first seed from 20260401 up for
which every planted effect lies inside its 95% Callaway-Sant'Anna interval (8 of the 12 seeds
20260401-20260412 have that property; per-metric coverage across many seeds is about 95%, see
`docs/calibration.md`). Other seeds are equally valid data; the choice is stated, not hidden.

"""

_README = """\
# Synthetic pilot data set

Synthetic data only: no force supplied these numbers. Made by `evaluation.synth` (generator
version {version}) with seed **{seed}**:

```
{command}
```

or, in Python, `evaluation.synth.generate(SynthConfig(), numpy.random.default_rng({seed}))`
with the configuration in `manifest.json` (`SynthConfig.from_dict`).

{seed_note}`manifest.json` holds the SHA-256 of every file, the seed, the generator version and the
full configuration. Running the command again gives byte-identical files; `tests/test_synth.py`
checks that the bundled files equal what `evaluation.synth.generate` produces for this seed.

## Files

- `panel.csv`: {n_rows} rows, one per force and {freq} from {start} to {end}: `force`,
  `period` and the ten metrics. Missing force-periods are **absent rows**, never blank or NaN
  values.
- `register.csv`: the pilot register, one row per pilot force: `force`, `wave` (1, 2, ...) and
  `go_live` (`YYYY-MM-DD`, the first of the month). Forces not in the register are comparison
  forces, never treated.
- `costs.csv`: the pilots' cost ledger: `force, date, financial_year, category, kind,
  amount_gbp, price_basis, description`, in nominal (cash) GBP.
- `truth.csv`: the true effects, per metric, cohort (go-live period) and period: `event_time`,
  `n_forces` in the cohort, the cohort means of the untreated and treated potential outcomes
  `y0_mean` and `y1_mean`, and `att` (the mean of Y(1) - Y(0), in levels). Every period is
  listed; `att` is exactly 0 before go-live.
- `truth_summary.csv`: per metric, the simple ATT (the mean of Y(1) - Y(0) over all treated
  force-periods: Callaway and Sant'Anna's "simple" aggregate), relative to the untreated mean,
  and in natural units per pilot force-year.
- `manifest.json`: SHA-256, bytes and rows of each file; seed; generator version;
  configuration.

The truth is computed on the complete potential outcomes of every cohort force, before rows are
removed, and on the rounded values that are written: it is the estimand, not an estimate.

## Pilot waves

Pilot forces go live in waves, as in Operation Soteria Bluestone (which began in Avon and
Somerset). Places fixed in advance:
{fixed}.
The other places are drawn at random (`pilot_selection = "{selection}"`); the remaining forces
are comparison forces, never treated.

{waves}

## Planted effects

Each effect multiplies one driver of the model by `1 + size x wave multiplier x path(e)`, where
`e` is months since go-live (0 in the go-live month). Shapes: `constant` from go-live; `linear`
grows by size/ramp a month and reaches the cap `size` in month `ramp` of operation; `step` is 0
for the first `ramp` months (a delay), then `size`. Wave multipliers make effects differ by
cohort (which biases two-way fixed effects regressions).

{effects}

**`devices_received` has no effect**: the teams should not change intake, and its `att` is
exactly 0 in every row of `truth.csv`. Effects spread through the model: more examination
capacity lowers the backlog and the wait (so turnaround falls by more than the processing-time
effect) and raises examinations until a force's backlog is cleared (after which examinations can
only match intake); outsourcing and officer hours scale with examinations. The realised effects
on every metric are in `truth.csv`; their simple averages:

{truth}

Levels are dominated by the largest forces (the Metropolitan Police Service has about fifteen
times the officers of a median force): rates per 1,000 officers or logs give estimators more power.

## Messiness

- {missing_pct}% of force-periods ({n_random} rows) are absent at random, spread over all
  forces and periods (pre and post, pilot and comparison):

{missing}

- {late}

## Model (untreated levels)

Sizes scale with officers FTE (`data/forces.csv`). Per 1,000 officers a month: {intake:g}
devices received (growing {growth:g}% a year), {cce:g} CCE referrals and {county:g} county lines
disrupted. Force levels differ (log-normal), each force has its own linear trends (sd
{trend_sd:g} a year), months have seasonal cycles (amplitude {seasonality:g}) and the noise is
log-normal with AR(1) coefficient {ar1:g}. The backlog starts near {backlog:g} months of intake
and follows `B[t] = max(0, B[t-1] + received - capacity)`; examinations are
`B[t-1] + received - B[t]`. Turnaround is processing time (about {proc:g} days) plus the wait
implied by the backlog. About {share:g}% of examinations are outsourced, at about GBP {price:g}
each in {start} (nominal, rising {price_infl:g}% a year); officer hours are about {hpe:g} per
examination. Counts are whole numbers, days have one decimal, GBP two.{quarterly}

## Cost ledger assumptions

Illustrative unit costs (not published figures) in {price_year} prices, inflated by
{inflation:g}% a year to the nominal prices of the financial year they fall in, with
log-normal noise (sd {cost_noise:g}) on each line, in whole pounds. The size driver is officers
FTE ("per 1,000" below).

- At go-live (`capital`, one-off set-up): equipment GBP {eq_fixed:,.0f} + {eq_per:,.0f} per
  1,000; training GBP {tr_fixed:,.0f} + {tr_per:,.0f} per 1,000; laboratory fit-out
  (accommodation) GBP {acc_fixed:,.0f}; ISO/IEC 17025 initial accreditation GBP
  {accr_init:,.0f}.
- Equipment refresh every {life} years at {refresh:g}% of the set-up equipment cost, when it
  falls within the window.
- Each financial year (`recurrent`; dated the last day of the last month it covers, when the
  year's costs are complete; pro-rated by the months live within the window): staff
  {staff_fixed:g} FTE + {staff_per:g} FTE per 1,000 at GBP {staff_cost:,.0f} per FTE; licences
  GBP {lic_fixed:,.0f} + {lic_per:,.0f} per 1,000; accreditation upkeep GBP {accr_annual:,.0f}.
- No `outsourcing` lines: savings on outsourcing show in the panel (`outsourced_spend_gbp`).

Totals by kind and category (nominal GBP, all pilots):

{costs}
"""


def render_readme(data: SynthData, *, seed: int | None, command: str | None) -> str:
    """Return the ``README.md`` describing a generated data set (written by :func:`write_synth`)."""
    cfg, b, c = data.config, data.config.baselines, data.config.costs
    tables = _readme_tables(data)
    late = data.missing[data.missing["reason"] == "late"]
    if len(late):
        force = late[FORCE].iloc[0]
        role = "pilot" if force in set(data.register[FORCE]) else "comparison"
        late_text = (
            f"**{force}** (a {role} force) reports late: its last {len(late)} period(s) "
            f"({', '.join(late[PERIOD])}) are absent."
        )
    else:
        late_text = "No force reports late."
    fixed = ", ".join(f"{f} in the {g} wave" for f, g in cfg.fixed_pilots) or "none"
    quarterly = (
        " Quarters sum the months (backlog: end of quarter; turnaround: the examination-weighted "
        "mean of the months)."
        if cfg.freq == "quarter"
        else ""
    )
    return (
        _README.format(
            version=GENERATOR_VERSION,
            seed=seed,
            seed_note=_SEED_NOTE if seed == DEFAULT_SEED else "",
            command=command or "(generated in Python)",
            n_rows=len(data.panel),
            freq=cfg.freq,
            start=cfg.start,
            end=cfg.end,
            fixed=fixed,
            selection=cfg.pilot_selection,
            missing_pct=f"{cfg.missing_share * 100:g}",
            n_random=int((data.missing["reason"] == "random").sum()),
            late=late_text,
            intake=b.devices_per_1000_officers,
            growth=b.intake_growth * 100,
            cce=b.cce_per_1000_officers,
            county=b.county_lines_per_1000_officers,
            trend_sd=cfg.trend_sd,
            seasonality=cfg.seasonality,
            ar1=cfg.ar1,
            backlog=b.backlog_months,
            proc=b.processing_days,
            share=b.outsourced_share * 100,
            price=b.exam_price_gbp,
            price_infl=b.exam_price_inflation * 100,
            hpe=b.hours_per_exam,
            quarterly=quarterly,
            price_year=c.price_year,
            inflation=c.inflation * 100,
            cost_noise=c.noise_sd,
            eq_fixed=c.equipment_fixed,
            eq_per=c.equipment_per_1000,
            tr_fixed=c.training_fixed,
            tr_per=c.training_per_1000,
            acc_fixed=c.accommodation_fixed,
            accr_init=c.accreditation_initial,
            life=c.equipment_life_years,
            refresh=c.refresh_share * 100,
            staff_fixed=c.staff_fte_fixed,
            staff_per=c.staff_fte_per_1000,
            staff_cost=c.staff_cost_per_fte,
            lic_fixed=c.licences_fixed,
            lic_per=c.licences_per_1000,
            accr_annual=c.accreditation_annual,
            **tables,
        ).rstrip()
        + "\n"
    )
