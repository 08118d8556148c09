"""National rollout: the pilots' costs and benefits scaled to every force by a size driver.

The pilots' outturn costs (real, before optimism bias) give a cost profile per unit of the size
driver (officers FTE by default): set-up capital and first-year recurrent cost in year 1, and
the steady-state recurrent cost from year 2 (see :func:`cost_profile`). Each rollout force gets
that profile times its driver, all going live in the rollout start year; recurrent costs then
continue at the steady level, equipment is refreshed and capital leaves a residual value,
exactly as for the pilot, with the rollout optimism-bias stage (upper bound by default: an
early-stage proposal). Benefits scale with the force's driver
relative to the average pilot force's. Break-even conditions are the rollout's switching values.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from evaluation.appraisal._years import fy_label, fy_start, fy_years
from evaluation.appraisal.benefits import benefit_lines
from evaluation.appraisal.costs import (
    aggregate_outturn,
    build_cost_lines,
    observed_refresh_ratios,
)
from evaluation.appraisal.effects import EffectsTable
from evaluation.appraisal.measures import summarise
from evaluation.appraisal.params import ParameterSet
from evaluation.appraisal.results import RolloutResult, Uncertainty
from evaluation.appraisal.uncertainty import LinearView, analyse, recompute_values
from evaluation.errors import AppraisalError

__all__ = ["cost_profile", "project_rollout", "rollout_drivers"]


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
) -> RolloutResult:
    """Project a national rollout from the pilot (see the module docstring).

    Parameters
    ----------
    ledger
        The checked pilot ledger (only used to name the pilot forces).
    effects, params
        Effects and parameters of the pilot appraisal.
    frame
        The pilot's :class:`~evaluation.appraisal.core.PilotFrame`.
    pilot_cost_lines
        The pilot's cost lines (outturn rows give the cost profile).
    drivers
        Size driver by force (default officers FTE).
    rng, draws, seed
        Monte Carlo inputs (no Monte Carlo when ``rng`` is ``None``).
    uncertainty
        Whether to compute switching values, sensitivity and scenarios (break-even needs them).
    """
    go_live: dict[str, str] = dict(frame.go_live)  # type: ignore[attr-defined]
    outturn_end: str = frame.outturn_end  # type: ignore[attr-defined]
    evidence_years: int = frame.evidence_years  # type: ignore[attr-defined]
    drv = rollout_drivers(params, drivers)
    missing = sorted(set(go_live) - set(drv.index))
    if missing:
        raise AppraisalError(
            f"rollout driver: no {params.rollout_driver} for pilot force(s) {missing}"
        )
    profile, n_template = cost_profile(pilot_cost_lines, go_live, outturn_end, drv)
    pilot_mean = float(drv.reindex(list(go_live)).mean())
    forces = list(drv.index)
    if params.rollout_forces == "non-pilot":
        forces = [f for f in forces if f not in go_live]
    if not forces:
        raise AppraisalError("rollout: no forces to roll out to")
    start = (
        fy_label(fy_start(outturn_end) + 1)
        if params.rollout_start_year == "after-ledger"
        else params.rollout_start_year
    )
    years = tuple(fy_years(start, params.rollout_period_years))
    n_tmpl = min(n_template, len(years))
    pb = params.price_base_year

    prof = profile[profile["k"] <= n_tmpl]
    dv = drv.reindex(forces).to_numpy(dtype=float)
    synth = pd.DataFrame(
        {
            "row": 0,
            "force": np.repeat(np.array(forces, dtype=object), len(prof)),
            "financial_year": np.tile(
                prof["k"].map(lambda kk: fy_label(fy_start(start) + kk - 1)).to_numpy(dtype=object),
                len(forces),
            ),
            "category": np.tile(prof["category"].to_numpy(dtype=object), len(forces)),
            "kind": np.tile(prof["kind"].to_numpy(dtype=object), len(forces)),
            "amount_gbp": np.repeat(dv, len(prof))
            * np.tile(prof["gbp_per_driver"].to_numpy(dtype=float), len(forces)),
            "price_basis": f"real {pb}",
            "price_year": pb,
        }
    )
    for col in ("force", "financial_year", "category", "kind", "price_basis", "price_year"):
        synth[col] = synth[col].astype(object)
    template_end = fy_label(fy_start(start) + n_tmpl - 1)
    scale = {f: float(drv[f]) / pilot_mean for f in forces}
    schedule = pd.DataFrame(
        {
            "force": np.repeat(np.array(forces, dtype=object), len(years)),
            "financial_year": np.tile(np.array(years, dtype=object), len(forces)),
            "years_live": np.tile(np.arange(1, len(years) + 1), len(forces)),
            "scale": np.repeat([scale[f] for f in forces], len(years)),
        }
    )

    outturn = aggregate_outturn(synth, params, basis="forecast")
    pilot_outturn = pilot_cost_lines[pilot_cost_lines["basis"] == "outturn"]
    ratios = observed_refresh_ratios(pilot_outturn)

    def lines(p: ParameterSet, e: EffectsTable) -> tuple[pd.DataFrame, pd.DataFrame]:
        c = build_cost_lines(
            synth,
            p,
            years=years,
            outturn_end=template_end,
            base_year=start,
            decision_year=start,
            ob_stage=p.ob_rollout_stage,
            ledger_basis="forecast",
            outturn=outturn,
            refresh_ratio=ratios,
        )
        b = benefit_lines(
            e, p, schedule, base_year=start, decision_year=start, evidence_years=evidence_years
        )
        return c, b

    costs, bens = lines(params, effects)
    summary, by_year = summarise(costs, bens, params, years=years, base_year=start, view="rollout")

    def recompute(p: ParameterSet, e: EffectsTable) -> tuple[float, float, float]:
        return recompute_values(*lines(p, e))

    view = LinearView.from_tables(costs, bens, params, years)
    if not uncertainty:
        unc = Uncertainty(pd.DataFrame(), _empty_switching(), pd.DataFrame(), None)
    else:
        unc = analyse(
            view,
            params,
            effects,
            recompute,
            rng=rng,
            draws=draws,
            seed=seed,
            ob_param="optimism_bias.rollout",
        )
    force_table = pd.DataFrame(
        {
            "force": pd.Series(forces, dtype=object),
            "driver": dv,
            "scale": [scale[f] for f in forces],
            "pilot": [f in go_live for f in forces],
        }
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
        break_even=_break_even(unc.switching_values, summary.npsv, pilot_mean, params),
        driver=params.rollout_driver,
        n_forces=len(forces),
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
                f"Effect on {metric}: NPSV reaches zero at {x:,.1f} per force-year for a force of "
                f"average pilot size ({per_k:,.2f} per 1,000 officers); the estimate is {c0:,.1f}."
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
                f"Costs: break-even when costs are {x:.2f} times the central estimate "
                f"({(x - 1) * 100:+.0f}%)."
            )
        elif inp == "discount_rate":
            out.append(f"Discount rate (years 1-30): break-even at {x:.2%}.")
    return tuple(out)
