"""National rollout: new teams for the forces without one, costed and phased from the pilots.

The 14 pilot teams are already live: a rollout does not buy their set-up again and does not
count their benefits as new. It is *continuing pilots* (their go-forward costs and benefits,
projected from the ledger exactly as in the go-forward view, over the rollout period) plus
*new teams* for the other forces.

New teams are costed from the pilots' outturn: for each cost component (set-up capital by
category; first-year recurrent cost; steady recurrent cost from year 2) a line
``cost = fixed + per_officer x officers`` is fitted to the pilot forces by non-negative least
squares (:func:`fit_costs`; ``rollout.cost_model = "per-officer"`` gives the pooled ratio
instead, :func:`cost_profile`). Each new team is a *unit*: one force, or a regional hub shared
by a region's forces (one fixed cost, officers summed, benefits times
``options.hub_benefit_share``). Units go live in ``rollout.waves`` waves
``rollout.wave_interval_years`` apart, balanced by officers; set-up capital is spent
``rollout.lead_time_years`` before go-live (recruitment and ISO/IEC 17025 accreditation), and
benefits follow ``rollout.ramp_up`` by year since go-live. Equipment (and any renewal
category) is bought again every asset life, priced with the pilots' observed refresh ratio;
capital in service at the end leaves a residual value; the rollout optimism-bias stage
applies to new teams. Benefits of a force scale with its officers relative to the pilots'
exposure-weighted mean size (the pilot force-years behind the estimate,
:func:`exposure_weighted_size`). Break-even conditions are the rollout's switching values.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from evaluation.appraisal._memo import frame_digest, memoised
from evaluation.appraisal._years import fy_label, fy_start, fy_years
from evaluation.appraisal.benefits import benefit_lines
from evaluation.appraisal.costs import (
    WAGE_CATEGORIES,
    build_cost_lines,
    observed_refresh_ratios,
)
from evaluation.appraisal.effects import EffectsTable
from evaluation.appraisal.measures import summarise
from evaluation.appraisal.optimism import ob_rates_table
from evaluation.appraisal.params import ParameterSet
from evaluation.appraisal.results import RolloutResult, Uncertainty
from evaluation.appraisal.uncertainty import LinearView, analyse, recompute_values
from evaluation.errors import AppraisalError

__all__ = [
    "RolloutModel",
    "Unit",
    "cost_profile",
    "exposure_weighted_size",
    "fit_costs",
    "plan_units",
    "project_rollout",
    "rollout_drivers",
]


def rollout_drivers(params: ParameterSet, drivers: pd.Series | None = None) -> pd.Series:
    """Return the size driver by force (officers FTE from the forces registry by default)."""
    if drivers is None:
        from evaluation.schema import force_officers

        drivers = force_officers()
    s = pd.Series(drivers, dtype=float)
    bad = s[~np.isfinite(s.to_numpy()) | (s.to_numpy() <= 0)]
    if len(bad):
        raise AppraisalError(
            f"rollout driver {params.rollout_driver}: must be positive for every force; "
            f"got {bad.to_dict()}"
        )
    return s


_FIT_COLUMNS = ["basis", "force", "financial_year", "kind", "category", "base_real_gbp"]


def _fit_key(
    name: str,
    pilot_cost_lines: pd.DataFrame,
    go_live: Mapping[str, str],
    outturn_end: str,
    drivers: pd.Series,
) -> tuple[object, ...]:
    """Memo key of a cost fit: the columns of the pilots' lines it reads, and its other inputs.

    The fit reads only undiscounted outturn amounts, so a change of the discount rate, a unit
    value or an effect reuses it.
    """
    return (
        name,
        frame_digest(pilot_cost_lines[_FIT_COLUMNS]),
        tuple(sorted(go_live.items())),
        outturn_end,
        frame_digest(drivers.to_frame()),
    )


def cost_profile(
    pilot_cost_lines: pd.DataFrame, go_live: dict[str, str], outturn_end: str, drivers: pd.Series
) -> tuple[pd.DataFrame, int]:
    """Return the pilots' outturn cost per unit of driver for rollout years 1 and 2 on.

    Each ratio pools the same pilot forces in numerator and denominator, so a change in which
    forces are observed cannot masquerade as a change in cost (composition bias):

    * year 1, capital: the pilots' set-up capital (booked up to and including each force's
      go-live year) over all their drivers; later capital outturn is refresh spending, which
      the rollout projects itself from the asset lives, so pooling it here would count it twice;
    * year 1, recurrent: the pilots' recurrent cost in their go-live year over all drivers;
    * year 2 on, recurrent: recurrent cost in the last outturn year of the pilots live for at
      least two years there, over their drivers (the steady state, continued by projection).

    Returns the profile (``k``, ``category``, ``kind``, ``gbp_per_driver``,
    ``pilot_forces_observed``) and its number of years (1 or 2).
    """
    key = _fit_key("cost-profile", pilot_cost_lines, go_live, outturn_end, drivers)
    frame = memoised(key, lambda: _cost_profile(pilot_cost_lines, go_live, outturn_end, drivers)[0])
    end = fy_start(outturn_end)
    steady = any(end - fy_start(g) + 1 >= 2 for g in go_live.values() if fy_start(g) <= end)
    return frame, 2 if steady else 1


def _cost_profile(
    pilot_cost_lines: pd.DataFrame, go_live: dict[str, str], outturn_end: str, drivers: pd.Series
) -> tuple[pd.DataFrame, int]:
    out = pilot_cost_lines[pilot_cost_lines["basis"] == "outturn"]
    end = fy_start(outturn_end)
    live = {f: fy_start(g) for f, g in go_live.items() if fy_start(g) <= end}
    if not live:
        raise AppraisalError("rollout: no pilot force went live within the outturn")
    out = out[out["force"].isin(list(live))]
    k = out["financial_year"].map(fy_start).to_numpy() - out["force"].map(live).to_numpy() + 1
    out = out.assign(k=k)
    rows = []

    def add(kk: int, part: pd.DataFrame, forces: list[str]) -> None:
        denom = float(drivers.reindex(forces).sum())
        sums: dict[tuple[str, str], float] = (
            part.groupby(["category", "kind"])["base_real_gbp"].sum().to_dict()  # type: ignore[assignment]
        )
        for (cat, kind), v in sums.items():
            rows.append(
                {
                    "k": kk,
                    "category": cat,
                    "kind": kind,
                    "gbp_per_driver": v / denom,
                    "pilot_forces_observed": len(forces),
                }
            )

    everyone = sorted(live)
    add(1, out[(out["kind"] == "capital") & (out["k"] <= 1)], everyone)
    add(1, out[(out["kind"] == "recurrent") & (out["k"] <= 1)], everyone)
    steady = sorted(f for f, g in live.items() if end - g + 1 >= 2)
    n_years = 1
    if steady:
        last = out[(out["kind"] == "recurrent") & (out["k"] >= 2)]
        last = last[(last["financial_year"] == outturn_end) & last["force"].isin(steady)]
        add(2, last, steady)
        n_years = 2
    frame = pd.DataFrame(
        rows, columns=["k", "category", "kind", "gbp_per_driver", "pilot_forces_observed"]
    )
    for col in ("category", "kind"):
        frame[col] = frame[col].astype(object)
    return frame, n_years


def fit_costs(
    pilot_cost_lines: pd.DataFrame, go_live: dict[str, str], outturn_end: str, drivers: pd.Series
) -> pd.DataFrame:
    """Fit ``cost = fixed + per_officer x officers`` to each pilot cost component.

    Components, per category: ``k = 1`` capital (set-up, booked up to the go-live year),
    ``k = 1`` recurrent (the go-live year) and ``k = 2`` recurrent (the last outturn year of
    pilots live at least two years: the steady state). Each pilot force is one observation
    (zero where it booked nothing in the category); the line is fitted by non-negative least
    squares, so neither the fixed cost nor the cost per officer can be negative.

    Returns one row per component: ``k``, ``category``, ``kind``, ``n_forces``,
    ``fixed_gbp``, ``per_officer_gbp``, ``r2`` (of the fitted line), ``proportional_gbp_per_
    officer`` (the pooled ratio of pure proportional scaling) and ``r2_proportional``.
    """
    key = _fit_key("cost-fit", pilot_cost_lines, go_live, outturn_end, drivers)
    return memoised(key, lambda: _fit_costs(pilot_cost_lines, go_live, outturn_end, drivers))


def _fit_costs(
    pilot_cost_lines: pd.DataFrame, go_live: dict[str, str], outturn_end: str, drivers: pd.Series
) -> pd.DataFrame:
    out = pilot_cost_lines[pilot_cost_lines["basis"] == "outturn"]
    end = fy_start(outturn_end)
    live = {f: fy_start(g) for f, g in go_live.items() if fy_start(g) <= end}
    if not live:
        raise AppraisalError("rollout: no pilot force went live within the outturn")
    out = out[out["force"].isin(list(live))]
    k = out["financial_year"].map(fy_start).to_numpy() - out["force"].map(live).to_numpy() + 1
    out = out.assign(k=k)
    steady = sorted(f for f, g in live.items() if end - g + 1 >= 2)
    parts = [
        (1, "capital", out[(out["kind"] == "capital") & (out["k"] <= 1)], sorted(live)),
        (1, "recurrent", out[(out["kind"] == "recurrent") & (out["k"] == 1)], sorted(live)),
        (
            2,
            "recurrent",
            out[
                (out["kind"] == "recurrent")
                & (out["k"] >= 2)
                & (out["financial_year"] == outturn_end)
            ],
            steady,
        ),
    ]
    rows = []
    for kk, kind, part, forces in parts:
        if not forces:
            continue
        x = drivers.reindex(forces).to_numpy(dtype=float)
        for cat in sorted(set(part["category"])):
            y = (
                part[part["category"] == cat]
                .groupby("force")["base_real_gbp"]
                .sum()
                .reindex(forces, fill_value=0.0)
                .to_numpy(dtype=float)
            )
            design = np.column_stack([np.ones_like(x), x])
            (fixed, slope), _ = optimize.nnls(design, y)
            ratio = float(y.sum() / x.sum())
            rows.append(
                {
                    "k": kk,
                    "category": cat,
                    "kind": kind,
                    "n_forces": len(forces),
                    "fixed_gbp": float(fixed),
                    "per_officer_gbp": float(slope),
                    "r2": _r2(y, fixed + slope * x),
                    "proportional_gbp_per_officer": ratio,
                    "r2_proportional": _r2(y, ratio * x),
                }
            )
    frame = pd.DataFrame(rows)
    for col in ("category", "kind"):
        frame[col] = frame[col].astype(object)
    return frame


def _r2(y: np.ndarray, fitted: np.ndarray) -> float:
    ss_tot = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - fitted) ** 2).sum()) / ss_tot if ss_tot > 0 else math.nan


def exposure_weighted_size(frame: object, drivers: pd.Series) -> tuple[float, pd.Series]:
    """Return the pilots' exposure-weighted mean size and the weights (pilot force-years).

    The effect estimate averages over the pilots' treated force-years, so a pilot live for four
    years weighs four times one live for one: the size of "the average pilot force" behind the
    estimate is the mean of the pilots' officers weighted by their years live to the end of the
    outturn (the go-live year counted pro rata). The simple mean would let short-exposure
    pilots move the benefit scaling as much as long ones.
    """
    go_live: dict[str, str] = dict(frame.go_live)  # type: ignore[attr-defined]
    share: dict[str, float] = dict(frame.live_share)  # type: ignore[attr-defined]
    end = fy_start(frame.outturn_end)  # type: ignore[attr-defined]
    weights = pd.Series(
        {f: max(end - fy_start(g), 0) + share.get(f, 1.0) for f, g in go_live.items()},
        dtype=float,
    )
    weights = weights[weights > 0]
    size = float((drivers.reindex(weights.index) * weights).sum() / weights.sum())
    return size, weights


@dataclass(frozen=True)
class Unit:
    """A new team: one force's, or a regional hub shared by several forces."""

    name: str
    forces: tuple[str, ...]
    officers: float
    wave: int
    setup_year: str
    go_live: str
    hub: bool


def plan_units(
    forces: Sequence[str],
    drivers: pd.Series,
    params: ParameterSet,
    start: str,
    *,
    hubs: bool = False,
    regions: pd.Series | None = None,
) -> tuple[Unit, ...]:
    """Group forces into units (one per force, or one hub per region) and phase them in waves.

    Units are assigned to ``rollout.waves`` waves balanced by officers (largest unit first, each
    to the wave with fewest officers so far; ties to the earlier wave). Wave ``w`` (0-based)
    spends its set-up capital in ``start + w x interval`` and goes live ``lead_time`` years
    later.
    """
    groups: dict[str, list[str]] = {}
    if hubs:
        if regions is None:
            from evaluation.schema import force_table

            regions = force_table()["region"]
        for f in forces:
            region = regions.get(f)
            key = f"{region} hub" if isinstance(region, str) else f"{f} hub"
            groups.setdefault(key, []).append(f)
    else:
        groups = {f: [f] for f in forces}
    known = {str(k): float(v) for k, v in drivers.items() if v == v}  # a missing size counts 0
    sizes = {name: float(np.sum([known.get(f, 0.0) for f in fs])) for name, fs in groups.items()}
    n_waves = max(1, params.rollout_waves)
    load = [0.0] * n_waves
    wave_of: dict[str, int] = {}
    for name in sorted(groups, key=lambda g: (-sizes[g], g)):
        w = min(range(n_waves), key=lambda i: (load[i], i))
        wave_of[name] = w
        load[w] += sizes[name]
    s0 = fy_start(start)
    units = []
    for name in sorted(groups, key=lambda g: (wave_of[g], g)):
        setup = s0 + wave_of[name] * params.rollout_wave_interval
        units.append(
            Unit(
                name=name,
                forces=tuple(groups[name]),
                officers=sizes[name],
                wave=wave_of[name] + 1,
                setup_year=fy_label(setup),
                go_live=fy_label(setup + params.rollout_lead_time),
                hub=hubs,
            )
        )
    return tuple(units)


@dataclass(frozen=True)
class RolloutModel:
    """Everything a rollout option needs, built once from the pilot appraisal."""

    ledger: pd.DataFrame
    frame: object
    years: tuple[str, ...]
    start: str
    drivers: pd.Series
    pilot_size: float
    fit: pd.DataFrame
    ratios: dict[str, float]
    pilots: tuple[str, ...]
    others: tuple[str, ...]

    @classmethod
    def build(
        cls,
        ledger: pd.DataFrame,
        params: ParameterSet,
        frame: object,
        pilot_cost_lines: pd.DataFrame,
        drivers: pd.Series | None = None,
    ) -> RolloutModel:
        """Fit the cost model and fix the rollout's years from the pilot appraisal."""
        go_live: dict[str, str] = dict(frame.go_live)  # type: ignore[attr-defined]
        outturn_end: str = frame.outturn_end  # type: ignore[attr-defined]
        drv = rollout_drivers(params, drivers)
        missing = sorted(set(go_live) - set(drv.index))
        if missing:
            raise AppraisalError(
                f"rollout driver: no {params.rollout_driver} for pilot force(s) {missing}"
            )
        start = (
            fy_label(fy_start(outturn_end) + 1)
            if params.rollout_start_year == "after-ledger"
            else params.rollout_start_year
        )
        size, _ = exposure_weighted_size(frame, drv)
        pilot_outturn = pilot_cost_lines[pilot_cost_lines["basis"] == "outturn"]
        return cls(
            ledger=ledger,
            frame=frame,
            years=tuple(fy_years(start, params.rollout_period_years)),
            start=start,
            drivers=drv,
            pilot_size=size,
            fit=fit_costs(pilot_cost_lines, go_live, outturn_end, drv),
            ratios=observed_refresh_ratios(pilot_outturn, params.refresh_categories),
            pilots=tuple(sorted(go_live)),
            others=tuple(f for f in drv.index if f not in go_live),
        )

    def units(self, params: ParameterSet, *, hubs: bool = False) -> tuple[Unit, ...]:
        """New-team units for the forces without a pilot."""
        if not self.others:
            return ()
        return plan_units(self.others, self.drivers, params, self.start, hubs=hubs)

    def continuing(
        self, params: ParameterSet, effects: EffectsTable
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Return the pilots' go-forward lines over the rollout years, discounted to its start.

        Their set-up is already bought: only running costs, refreshes and residual value.
        """
        from evaluation.appraisal.core import pilot_lines

        first = self.frame.years[0]  # type: ignore[attr-defined]
        n = fy_start(self.years[-1]) - fy_start(first) + 1
        ext = replace(
            self.frame,  # type: ignore[type-var]
            years=tuple(fy_years(first, n)),
            base_year=self.start,
            decision_year=self.start,
        )
        c, b = pilot_lines(self.ledger, effects, params, ext)  # type: ignore[arg-type]
        c = c[~c["sunk"].to_numpy(dtype=bool) & c["financial_year"].isin(self.years)]
        b = b[~b["sunk"].to_numpy(dtype=bool) & b["financial_year"].isin(self.years)]
        return c.reset_index(drop=True), b.reset_index(drop=True)

    def new_teams(
        self, params: ParameterSet, effects: EffectsTable, units: Sequence[Unit]
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Cost and benefit lines of new teams (see the module docstring)."""
        if not units:
            return _empty_costs(), benefit_lines(
                effects,
                params,
                _schedule_frame([]),
                base_year=self.start,
                decision_year=self.start,
                evidence_years=1,
            )
        synth, setup_year = self._ledger(params, units)
        c = build_cost_lines(
            synth,
            params,
            years=self.years,
            outturn_end=self.years[-1],
            base_year=self.start,
            decision_year=self.start,
            ob_stage=params.ob_rollout_stage,
            ledger_basis="forecast",
            refresh_ratio=self.ratios,
        )
        later = c["financial_year"].to_numpy() != c["force"].map(setup_year).to_numpy()
        is_refresh = (c["kind"] == "capital").to_numpy() & (c["basis"] == "forecast").to_numpy()
        c.loc[is_refresh & later, "basis"] = "refresh"
        b = benefit_lines(
            effects,
            params,
            self._schedule(params, units),
            base_year=self.start,
            decision_year=self.start,
            evidence_years=self.frame.evidence_years,  # type: ignore[attr-defined]
        )
        return c, b

    def _amount(self, row: Mapping[Hashable, Any], officers: float, model: str) -> float:
        if model == "per-officer":
            return float(row["proportional_gbp_per_officer"]) * officers
        return float(row["fixed_gbp"]) + float(row["per_officer_gbp"]) * officers

    def _ledger(
        self, params: ParameterSet, units: Sequence[Unit]
    ) -> tuple[pd.DataFrame, dict[str, str]]:
        pb = params.price_base_year
        last = fy_start(self.years[-1])
        rows: list[dict[str, object]] = []
        model = params.rollout_cost_model
        renew = {**params.renewal_share, **self.ratios}

        wage = params.wage_growth_rate
        s_out = fy_start(self.frame.outturn_end)  # type: ignore[attr-defined]

        def add(unit: Unit, year: int, cat: str, kind: str, amount: float) -> None:
            if kind == "recurrent" and cat in WAGE_CATEGORIES:
                amount *= (1.0 + wage) ** max(year - s_out, 0)
            if year <= last and amount > 0:
                rows.append(
                    {
                        "row": 0,
                        "force": unit.name,
                        "financial_year": fy_label(year),
                        "category": cat,
                        "kind": kind,
                        "amount_gbp": amount,
                        "price_basis": f"real {pb}",
                        "price_year": pb,
                    }
                )

        fit = self.fit.to_dict("records")
        for u in units:
            s_setup, s_live = fy_start(u.setup_year), fy_start(u.go_live)
            for r in fit:
                amount = self._amount(r, u.officers, model)
                cat, kind = str(r["category"]), str(r["kind"])
                if kind == "capital":
                    add(u, s_setup, cat, kind, amount)
                    if params.refresh and cat in params.refresh_categories:
                        life = params.asset_life[cat]
                        y = s_setup + life
                        while y <= last:
                            add(u, y, cat, kind, amount * renew.get(cat, 1.0))
                            y += life
                elif int(r["k"]) == 1:
                    add(u, s_live, cat, kind, amount)
                else:
                    for y in range(s_live + 1, last + 1):
                        add(u, y, cat, kind, amount)
        synth = pd.DataFrame(
            rows,
            columns=[
                "row",
                "force",
                "financial_year",
                "category",
                "kind",
                "amount_gbp",
                "price_basis",
                "price_year",
            ],
        )
        for col in ("force", "financial_year", "category", "kind", "price_basis", "price_year"):
            synth[col] = synth[col].astype(object)
        return synth, {u.name: u.setup_year for u in units}

    def _schedule(self, params: ParameterSet, units: Sequence[Unit]) -> pd.DataFrame:
        ramp = np.asarray(params.rollout_ramp_up, dtype=float)
        share = 1.0
        if params.hub_benefit_share is not None:
            share = float(params.hub_benefit_share.value)
        rows = []
        s_end = fy_start(self.years[-1])
        for u in units:
            for f in u.forces:
                base = float(self.drivers[f]) / self.pilot_size * (share if u.hub else 1.0)
                for y in range(fy_start(u.go_live), s_end + 1):
                    k = y - fy_start(u.go_live) + 1
                    rows.append(
                        {
                            "force": f,
                            "financial_year": fy_label(y),
                            "years_live": k,
                            "scale": base * float(ramp[min(k, len(ramp)) - 1]),
                        }
                    )
        return _schedule_frame(rows)


def _schedule_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=["force", "financial_year", "years_live", "scale"])
    out["force"] = out["force"].astype(object)
    out["financial_year"] = out["financial_year"].astype(object)
    out["years_live"] = out["years_live"].astype(np.int64)
    out["scale"] = out["scale"].astype(float)
    return out


def _empty_costs() -> pd.DataFrame:
    from evaluation.appraisal.costs import COST_LINE_COLUMNS

    return pd.DataFrame({c: [] for c in COST_LINE_COLUMNS})


def combine(*parts: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Concatenate the cost and benefit lines of several components of an option."""
    costs = [c for c, _ in parts if len(c)]
    bens = [b for _, b in parts if len(b)]
    c = pd.concat(costs, ignore_index=True) if costs else _empty_costs()
    b = pd.concat(bens, ignore_index=True) if bens else parts[0][1].iloc[0:0]
    return c, b


def project_rollout(
    ledger: pd.DataFrame,
    effects: EffectsTable,
    params: ParameterSet,
    frame: object,
    pilot_cost_lines: pd.DataFrame,
    *,
    drivers: pd.Series | None = None,
    rng: np.random.Generator | None = None,
    draws: int | None = None,
    seed: int | None = None,
    uncertainty: bool = True,
    model: RolloutModel | None = None,
    ob_bounds: bool = True,
) -> RolloutResult:
    """Project the national rollout (see the module docstring).

    ``rollout.forces = "all"`` (default): the pilots continue and every other force gets a new
    team (the full rollout: all 43 forces funded); ``"non-pilot"``: the new teams only.

    Parameters
    ----------
    ledger
        The checked pilot ledger.
    effects, params
        Effects and parameters of the pilot appraisal.
    frame
        The pilot's :class:`~evaluation.appraisal.core.PilotFrame`.
    pilot_cost_lines
        The pilot's cost lines (outturn rows give the cost model).
    drivers
        Size driver by force (default officers FTE).
    rng, draws, seed
        Monte Carlo inputs (no Monte Carlo when ``rng`` is ``None``).
    uncertainty
        Whether to compute switching values, sensitivity and scenarios (break-even needs them).
    model
        A :class:`RolloutModel` already built (saves refitting).
    ob_bounds
        Whether to appraise the rollout at the optimism-bias bounds as well (the
        ``optimism_bias`` table; ``False`` leaves only the central row, saving two appraisals).
    """
    m = model or RolloutModel.build(ledger, params, frame, pilot_cost_lines, drivers)
    with_pilots = params.rollout_forces == "all"
    if not m.others and not with_pilots:
        raise AppraisalError("rollout: no forces to roll out to")

    def lines(p: ParameterSet, e: EffectsTable) -> tuple[pd.DataFrame, pd.DataFrame]:
        new = m.new_teams(p, e, m.units(p))
        return combine(m.continuing(p, e), new) if with_pilots else new

    costs, bens = lines(params, effects)
    years = m.years
    summary, by_year = summarise(
        costs, bens, params, years=years, base_year=m.start, view="rollout"
    )

    def recompute(p: ParameterSet, e: EffectsTable) -> tuple[float, float, float]:
        return recompute_values(*lines(p, e))

    if not uncertainty:
        unc = Uncertainty(pd.DataFrame(), _empty_switching(), pd.DataFrame(), None)
    else:
        unc = analyse(
            LinearView.from_tables(costs, bens, params, years),
            params,
            effects,
            recompute,
            rng=rng,
            draws=draws,
            seed=seed,
            ob_param="optimism_bias.rollout",
        )
    ob_rows = []
    stages = ("lower", params.ob_rollout_stage, "upper") if ob_bounds else ()
    for stage in dict.fromkeys((*stages, params.ob_rollout_stage)):
        c_s, b_s, _ = (
            (summary.pv_costs, summary.pv_benefits, 0.0)
            if stage == params.ob_rollout_stage
            else recompute(params.updated("optimism_bias.rollout", stage), effects)
        )
        ob_rows.append(
            {
                "stage": stage,
                "central": stage == params.ob_rollout_stage,
                "pv_costs": c_s,
                "pv_benefits": b_s,
                "npsv": b_s - c_s,
                "bcr": b_s / c_s if c_s > 0 else math.nan,
            }
        )
    units = m.units(params)
    wave = {f: u for u in units for f in u.forces}
    forces = (list(m.pilots) if with_pilots else []) + list(m.others)
    force_table = pd.DataFrame(
        {
            "force": pd.Series(forces, dtype=object),
            "driver": m.drivers.reindex(forces).to_numpy(dtype=float),
            "scale": [float(m.drivers[f]) / m.pilot_size for f in forces],
            "pilot": [f in m.pilots for f in forces],
            "wave": [wave[f].wave if f in wave else 0 for f in forces],
            "setup_year": [wave[f].setup_year if f in wave else None for f in forces],
            "go_live": [
                wave[f].go_live if f in wave else dict(m.frame.go_live)[f]  # type: ignore[attr-defined]
                for f in forces
            ],
        }
    )
    profile, _ = cost_profile(
        pilot_cost_lines,
        dict(m.frame.go_live),  # type: ignore[attr-defined]
        m.frame.outturn_end,  # type: ignore[attr-defined]
        m.drivers,
    )
    profile = profile.rename(columns={"gbp_per_driver": f"gbp_per_{params.rollout_driver}"})
    return RolloutResult(
        summary=summary,
        by_year=by_year,
        cost_lines=costs,
        benefit_lines=bens,
        forces=force_table,
        cost_profile=profile,
        uncertainty=unc,
        break_even=_break_even(unc.switching_values, summary.npsv, m.pilot_size, params),
        driver=params.rollout_driver,
        n_forces=len(forces),
        cost_fit=m.fit,
        pilot_size=m.pilot_size,
        cost_model=params.rollout_cost_model,
        optimism_bias=pd.DataFrame(ob_rows),
        optimism_bias_rates=ob_rates_table(params),
    )


def _empty_switching() -> pd.DataFrame:
    return pd.DataFrame(columns=["input", "central", "switching_value"])


def _break_even(
    switch: pd.DataFrame, npsv: float, pilot_mean: float, params: ParameterSet
) -> tuple[str, ...]:
    out = []
    state = "breaks even" if npsv >= 0 else "does not break even"
    out.append(f"At central values the national rollout {state} (NPSV GBP {npsv:,.0f}).")
    for rec in switch.to_dict("records"):
        x, c0 = rec["switching_value"], rec["central"]
        if x is None or (isinstance(x, float) and math.isnan(x)):
            continue
        inp = str(rec["input"])
        if inp.startswith("effect:"):
            metric = inp.split(":", 1)[1]
            per_k = x / pilot_mean * 1000
            out.append(
                f"Effect on {metric}: NPSV reaches zero at {x:,.1f} per force-year for a force "
                f"of the pilots' exposure-weighted size ({per_k:,.2f} per 1,000 officers); the "
                f"estimate is {c0:,.1f}."
            )
        elif inp.startswith("unit_value:"):
            name = inp.split(":", 1)[1]
            note = f"; {rec['note']}" if rec.get("note") else ""
            out.append(
                f"Unit value {name}: break-even at {x:,.2f} against {c0:,.2f} "
                f"({params.unit_values[name].unit}{note})."
            )
        elif inp == "cost_scale":
            out.append(
                f"Costs: break-even when projected costs are {x:.2f} times the central estimate "
                f"({(x - 1) * 100:+.0f}%)."
            )
        elif inp == "discount_rate":
            out.append(f"Discount rate (years 1-30): break-even at {x:.2%}.")
    return tuple(out)
