"""Frozen results of an appraisal, with tidy tables and ``to_dict()`` for JSON.

Every table keeps its intermediates (deflator factor, optimism-bias uplift, discount factor, PV
per line) so a workbook with live formulas or a report can be built from it without recomputing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Appraisal",
    "MonteCarloSummary",
    "RolloutResult",
    "Summary",
    "Uncertainty",
    "jsonable",
]


def jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars, NaN and frames to plain JSON-ready Python objects."""
    if isinstance(obj, pd.DataFrame):
        return [jsonable(r) for r in obj.to_dict("records")]
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        v = float(obj)
        return None if math.isnan(v) or math.isinf(v) else v
    if obj is None or obj is pd.NA:
        return None
    if isinstance(obj, int | str):
        return obj
    return str(obj)


@dataclass(frozen=True)
class Summary:
    """Headline measures of one view of the appraisal (GBP, real, price base year prices).

    ``payback_year`` is the first financial year from which the cumulative discounted net
    benefit stays at or above zero to the end of the period (``None`` if it never does);
    ``payback_years`` counts years from the first year of the view (1 = first year).
    ``bcr`` counts the forces' own cashable savings as benefits (Green Book convention for
    social value); ``bcr_cashable_netted`` nets them off costs instead (the net cost to the
    public purse), shown beside it because the two conventions rank options differently.
    """

    view: str
    first_year: str
    last_year: str
    price_base_year: str
    discount_base_year: str
    pv_costs: float
    pv_benefits: float
    npsv: float
    bcr: float
    vfm_category: str
    payback_year: str | None
    payback_years: int | None
    pv_benefits_cashable: float
    pv_benefits_noncashable: float
    cashable_bcr: float
    cashable_roi: float
    pv_benefits_wider: float
    npsv_with_wider: float
    bcr_with_wider: float
    vfm_category_with_wider: str
    bcr_cashable_netted: float = math.nan
    bcr_convention: str = (
        "bcr counts forces' cashable savings as benefits; bcr_cashable_netted nets them off "
        "costs (PV non-cashable benefits / (PV costs - PV cashable benefits))"
    )

    def to_dict(self) -> dict[str, Any]:
        """Return the measures as a JSON-ready dict."""
        return jsonable({f.name: getattr(self, f.name) for f in fields(self)})


@dataclass(frozen=True)
class MonteCarloSummary:
    """Monte Carlo distribution of NPSV (and BCR) over ``draws`` draws.

    ``analytic_*`` is the normal approximation from the effects' standard errors alone (unit
    values and cost scale at central values): equal to the simulation, within Monte Carlo error,
    when only the effects are uncertain and the effects are normal. ``effect_distribution`` is
    the distribution the effects were drawn from (``bootstrap``, ``normal`` or
    ``bootstrap+normal``) and ``effect_distribution_note`` says why. ``by_year`` gives, for each
    financial year, P10/P50/P90 of the cumulative discounted net benefit, the probability that
    it is positive and the probability that the appraisal has paid back by then (cumulative net
    non-negative from that year to the end).
    """

    draws: int
    seed: int | None
    effect_distribution: str
    p10: float
    p50: float
    p90: float
    mean: float
    sd: float
    prob_positive: float
    prob_positive_se: float
    bcr_p10: float
    bcr_p50: float
    bcr_p90: float
    analytic_mean: float
    analytic_sd: float
    analytic_prob_positive: float
    uncertain_inputs: tuple[str, ...]
    by_year: pd.DataFrame = field(repr=False, compare=False)
    npsv_draws: np.ndarray = field(repr=False, compare=False)
    effect_distribution_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the summary (without the draws) as a JSON-ready dict."""
        return jsonable(
            {f.name: getattr(self, f.name) for f in fields(self) if f.name != "npsv_draws"}
        )


@dataclass(frozen=True)
class Uncertainty:
    """Sensitivity (tornado data), switching values, scenarios and Monte Carlo of one view."""

    sensitivity: pd.DataFrame
    switching_values: pd.DataFrame
    scenarios: pd.DataFrame
    monte_carlo: MonteCarloSummary | None

    def to_dict(self) -> dict[str, Any]:
        """Return the tables as JSON-ready records."""
        return {
            "sensitivity": jsonable(self.sensitivity),
            "switching_values": jsonable(self.switching_values),
            "scenarios": jsonable(self.scenarios),
            "monte_carlo": None if self.monte_carlo is None else self.monte_carlo.to_dict(),
        }


@dataclass(frozen=True)
class RolloutResult:
    """National rollout projection: pilot costs and benefits scaled to each force by a driver."""

    summary: Summary
    by_year: pd.DataFrame
    cost_lines: pd.DataFrame = field(repr=False)
    benefit_lines: pd.DataFrame = field(repr=False)
    forces: pd.DataFrame = field(repr=False)
    cost_profile: pd.DataFrame = field(repr=False)
    uncertainty: Uncertainty = field(repr=False)
    break_even: tuple[str, ...]
    driver: str
    n_forces: int
    cost_fit: pd.DataFrame | None = field(default=None, repr=False)
    pilot_size: float = math.nan
    cost_model: str = "per-officer"
    optimism_bias: pd.DataFrame | None = field(default=None, repr=False)
    optimism_bias_rates: pd.DataFrame | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the projection as a JSON-ready dict."""
        return {
            **self.summary.to_dict(),
            "driver": self.driver,
            "n_forces": self.n_forces,
            "by_year": jsonable(self.by_year),
            "switching_values": jsonable(self.uncertainty.switching_values),
            "scenarios": jsonable(self.uncertainty.scenarios),
            "monte_carlo": None
            if self.uncertainty.monte_carlo is None
            else self.uncertainty.monte_carlo.to_dict(),
            "break_even": list(self.break_even),
            "cost_profile_per_officer": jsonable(self.cost_profile),
            "cost_model": self.cost_model,
            "cost_fit": None if self.cost_fit is None else jsonable(self.cost_fit),
            "pilot_size_exposure_weighted": jsonable(self.pilot_size),
            "forces": jsonable(self.forces),
            "optimism_bias": None if self.optimism_bias is None else jsonable(self.optimism_bias),
            "optimism_bias_rates": None
            if self.optimism_bias_rates is None
            else jsonable(self.optimism_bias_rates),
        }


@dataclass(frozen=True)
class Appraisal:
    """A Green Book appraisal of the pilot (ex-post), its go-forward view and national rollout.

    Attributes
    ----------
    summary
        Ex-post headline measures (all years, sunk costs included).
    go_forward
        Go-forward view from the decision year (sunk costs and realised benefits excluded),
        or ``None`` when the period has no year after the outturn.
    by_year, go_forward_by_year
        One row per financial year: costs (base, uplift, residual, adjusted), benefits
        (cashable, non-cashable, wider), discount factor, PVs, cumulative net.
    cost_lines, benefit_lines
        Every line with its intermediates.
    costs_by_category
        Base, uplift and adjusted cost (real, undiscounted and PV) by category and basis.
    benefits_by_line, by_type, by_agency
        PV of benefits by line; by fiscal / economic / social and cashable; by agency.
    uncertainty
        Sensitivity, switching values, scenarios, Monte Carlo of the ex-post NPSV.
    go_forward_uncertainty
        The same for the go-forward NPSV (the view a funding decision uses), or ``None``.
    rollout
        National rollout projection, or ``None``.
    options
        The shortlist (business as usual, do-minimum, full rollout, non-pilot forces only,
        regional hubs) with PVs, NPSV, BCR and the difference from business as usual, or
        ``None`` without a rollout.
    realised_to_date, projected
        The ex-post view split at the end of the outturn: costs and benefits realised to date,
        and those projected after; both discounted to the ex-post base, so they add up to it.
    non_monetised
        Non-monetised impacts (turnaround, backlog) with estimates, 95% intervals and the value
        per pilot force-year they would need for the go-forward NPSV to reach zero.
    assumptions
        The assumptions log (every parameter with its provenance).
    notes
        Caveats a reader needs (unverified values, exclusions, non-monetised impacts).
    """

    summary: Summary
    go_forward: Summary | None
    by_year: pd.DataFrame
    go_forward_by_year: pd.DataFrame | None = field(repr=False)
    cost_lines: pd.DataFrame = field(repr=False)
    benefit_lines: pd.DataFrame = field(repr=False)
    costs_by_category: pd.DataFrame = field(repr=False)
    benefits_by_line: pd.DataFrame = field(repr=False)
    by_type: pd.DataFrame = field(repr=False)
    by_agency: pd.DataFrame = field(repr=False)
    uncertainty: Uncertainty = field(repr=False)
    rollout: RolloutResult | None = field(repr=False)
    assumptions: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()
    params_name: str = ""
    params_version: str = ""
    go_forward_uncertainty: Uncertainty | None = field(default=None, repr=False)
    options: pd.DataFrame | None = field(default=None, repr=False)
    realised_to_date: Summary | None = field(default=None, repr=False)
    projected: Summary | None = field(default=None, repr=False)
    non_monetised: pd.DataFrame | None = field(default=None, repr=False)

    # headline shortcuts
    @property
    def pv_costs(self) -> float:
        """PV of costs (ex-post)."""
        return self.summary.pv_costs

    @property
    def pv_benefits(self) -> float:
        """PV of core benefits (ex-post)."""
        return self.summary.pv_benefits

    @property
    def npsv(self) -> float:
        """Net present social value (ex-post, core benefits)."""
        return self.summary.npsv

    @property
    def bcr(self) -> float:
        """Benefit-cost ratio (ex-post, core benefits)."""
        return self.summary.bcr

    @property
    def switching_values(self) -> pd.DataFrame:
        """Switching values of the ex-post NPSV."""
        return self.uncertainty.switching_values

    @property
    def monte_carlo(self) -> MonteCarloSummary | None:
        """Monte Carlo summary of the ex-post NPSV."""
        return self.uncertainty.monte_carlo

    def to_dict(self) -> dict[str, Any]:
        """Return the whole appraisal as a JSON-ready dict (headline keys at the top level)."""
        mc = self.uncertainty.monte_carlo
        return {
            **self.summary.to_dict(),
            "parameters": {"name": self.params_name, "version": self.params_version},
            "by_year": jsonable(self.by_year),
            "monte_carlo": None if mc is None else mc.to_dict(),
            "switching_values": jsonable(self.uncertainty.switching_values),
            "sensitivity": jsonable(self.uncertainty.sensitivity),
            "scenarios": jsonable(self.uncertainty.scenarios),
            "go_forward": None
            if self.go_forward is None
            else {
                **self.go_forward.to_dict(),
                "by_year": jsonable(self.go_forward_by_year),
                **(
                    {}
                    if self.go_forward_uncertainty is None
                    else self.go_forward_uncertainty.to_dict()
                ),
            },
            "costs_by_category": jsonable(self.costs_by_category),
            "benefits_by_line": jsonable(self.benefits_by_line),
            "by_type": jsonable(self.by_type),
            "by_agency": jsonable(self.by_agency),
            "rollout": None if self.rollout is None else self.rollout.to_dict(),
            "options": None if self.options is None else jsonable(self.options),
            "realised_to_date": None
            if self.realised_to_date is None
            else self.realised_to_date.to_dict(),
            "projected": None if self.projected is None else self.projected.to_dict(),
            "non_monetised": None if self.non_monetised is None else jsonable(self.non_monetised),
            "assumptions": jsonable(self.assumptions),
            "notes": list(self.notes),
        }
