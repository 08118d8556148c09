"""The appraisal: compose costs, benefits, measures, uncertainty and the national rollout.

Examples
--------
>>> import pandas as pd
>>> ledger = pd.DataFrame({
...     "force": ["Durham"] * 2, "financial_year": ["2022-23", "2023-24"],
...     "category": ["equipment", "staff"], "kind": ["capital", "recurrent"],
...     "amount_gbp": [100_000.0, 200_000.0], "price_basis": ["real 2024-25"] * 2})
>>> effects = pd.DataFrame({"metric": ["outsourced_exams", "officer_hours_digital"],
...     "estimate": [-200.0, -3000.0], "se": [50.0, 800.0], "unit": ["exams", "hours"]})
>>> a = appraise(ledger, effects, seed=1, rollout=False)
>>> a.summary.first_year, a.summary.last_year
('2022-23', '2031-32')
>>> a.summary.vfm_category in ("poor", "low", "medium", "high", "very high")
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from evaluation.appraisal._keys import implausible_parameters
from evaluation.appraisal._years import fy_label, fy_start, fy_years
from evaluation.appraisal.benefits import benefit_lines, check_lines_have_effects
from evaluation.appraisal.costs import (
    aggregate_outturn,
    build_cost_lines,
    check_ledger,
    last_outturn_date,
)
from evaluation.appraisal.effects import EffectsTable, effects_from_frame
from evaluation.appraisal.measures import summarise
from evaluation.appraisal.nonmonetised import discounted_force_years, non_monetised_table
from evaluation.appraisal.params import ParameterSet, load_params
from evaluation.appraisal.results import Appraisal, Uncertainty
from evaluation.appraisal.uncertainty import LinearView, analyse, recompute_values
from evaluation.errors import AppraisalError
from evaluation.periods import detect_frequency, format_period, period_of_date
from evaluation.schema import resolve_force

__all__ = ["PilotFrame", "appraise", "pilot_frame", "pilot_lines"]


@dataclass(frozen=True)
class PilotFrame:
    """The time frame of the pilot appraisal, derived from the ledger and the parameters."""

    years: tuple[str, ...]
    base_year: str
    decision_year: str
    outturn_end: str
    evidence_years: int
    go_live: Mapping[str, str]
    live_share: Mapping[str, float]


def pilot_frame(
    ledger: pd.DataFrame, params: ParameterSet, go_live: Mapping[str, object] | None = None
) -> PilotFrame:
    """Derive the appraisal years, discount base, decision year, go-live years and evidence.

    ``go_live`` maps force to a financial year (``2022-23``) or a go-live date; a date after
    April counts the go-live year's benefits pro rata (months live / 12). Go-live defaults to
    each force's first financial year with a recurrent cost (a running team pays salaries;
    set-up capital may come earlier).
    """
    first = min(ledger["financial_year"]) if params.first_year == "ledger" else params.first_year
    years = tuple(fy_years(first, params.period_years))
    outturn_end = max(ledger["financial_year"])
    base = years[0] if params.discount_base_year == "first-year" else params.discount_base_year
    after = fy_label(fy_start(outturn_end) + 1)
    decision = after if params.decision_year == "after-ledger" else params.decision_year
    shares: dict[str, float] = {}
    if go_live is None:
        rec = ledger[ledger["kind"] == "recurrent"]
        src = rec if len(rec) else ledger
        live = {str(f): str(y) for f, y in src.groupby("force")["financial_year"].min().items()}
        for f in set(ledger["force"]) - set(live):  # forces with capital only
            live[str(f)] = str(ledger.loc[ledger["force"] == f, "financial_year"].min())
    else:
        live = {}
        for name, when in go_live.items():
            force = resolve_force(name)
            if force is None:
                raise AppraisalError(f"go_live: unknown force {name!r}")
            live[force], shares[force] = _go_live_year(name, when)
        missing = sorted(set(ledger["force"]) - set(live))
        if missing:
            raise AppraisalError(
                f"go_live: no go-live year for ledger force(s) {', '.join(missing)}"
            )
        uncosted = sorted(set(live) - set(ledger["force"]))
        if uncosted:  # benefits are never counted without the costs that bought them
            raise AppraisalError(
                f"pilot force(s) {', '.join(uncosted)} have a go-live date but no rows in the "
                "cost ledger: their benefits would be counted without their costs; add their "
                "costs to the ledger or remove them from the register"
            )
    evidence = max(fy_start(outturn_end) - fy_start(g) + 1 for g in live.values())
    return PilotFrame(
        years,
        base,
        decision,
        outturn_end,
        max(evidence, 1),
        dict(sorted(live.items())),
        {f: shares.get(f, 1.0) for f in sorted(live)},
    )


def _go_live_year(name: str, when: object) -> tuple[str, float]:
    """Return (financial year, share of that year live) of a go-live label or date."""
    if isinstance(when, str) and detect_frequency(when.strip()) == "fy":
        return when.strip(), 1.0
    try:
        ts = pd.Timestamp(when)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise AppraisalError(
            f"go_live[{name!r}]: {when!r} is neither a financial year (YYYY-YY) nor a date"
        ) from exc
    if pd.isna(ts):
        raise AppraisalError(f"go_live[{name!r}]: missing go-live date")
    fy = format_period(period_of_date(ts, "fy"))
    months_live = (fy_start(fy) + 1 - ts.year) * 12 + 3 - ts.month + 1  # to March inclusive
    return fy, months_live / 12.0


def _schedule(frame: PilotFrame) -> pd.DataFrame:
    rows = []
    for force, g in frame.go_live.items():
        for y in frame.years:
            k = fy_start(y) - fy_start(g) + 1
            if k >= 1:
                share = frame.live_share[force] if k == 1 else 1.0
                rows.append({"force": force, "financial_year": y, "years_live": k, "scale": share})
    out = pd.DataFrame(rows, columns=["force", "financial_year", "years_live", "scale"])
    out["force"] = out["force"].astype(object)
    out["financial_year"] = out["financial_year"].astype(object)
    return out


def pilot_lines(
    ledger: pd.DataFrame,
    effects: EffectsTable,
    params: ParameterSet,
    frame: PilotFrame,
    *,
    outturn: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the pilot's cost lines and benefit lines (ex-post view, discounted to year 0)."""
    costs = build_cost_lines(
        ledger,
        params,
        years=frame.years,
        outturn_end=frame.outturn_end,
        base_year=frame.base_year,
        decision_year=frame.decision_year,
        ob_stage=params.ob_pilot_stage,
        outturn=outturn,
    )
    schedule = _schedule(frame)
    benefits = benefit_lines(
        effects,
        params,
        schedule,
        base_year=frame.base_year,
        decision_year=frame.decision_year,
        evidence_years=frame.evidence_years,
    )
    return costs, benefits


def _as_effects(effects: EffectsTable | pd.DataFrame) -> EffectsTable:
    if isinstance(effects, EffectsTable):
        return effects
    if isinstance(effects, pd.DataFrame):
        return effects_from_frame(effects)
    raise AppraisalError(
        f"effects must be an EffectsTable or a DataFrame, got {type(effects).__name__}"
    )


def appraise(
    ledger: pd.DataFrame,
    effects: EffectsTable | pd.DataFrame,
    params: ParameterSet | None = None,
    *,
    go_live: Mapping[str, object] | None = None,
    rng: np.random.Generator | None = None,
    seed: int | None = 0,
    draws: int | None = None,
    rollout: bool = True,
    drivers: pd.Series | None = None,
    monte_carlo: bool = True,
    uncertainty: bool = True,
    options: bool = True,
    ob_bounds: bool = True,
    breakdowns: bool = True,
    source: str = "ledger",
) -> Appraisal:
    """Appraise the pilot digital teams by Green Book rules.

    Parameters
    ----------
    ledger
        Cost ledger (columns ``force``, ``date`` and/or ``financial_year``, ``category``,
        ``kind``, ``amount_gbp``, ``price_basis``).
    effects
        Effects table (``metric``, ``estimate``, ``se``, ``unit``) or an :class:`EffectsTable`.
    params
        Parameter set (default: the bundled ``green_book_2022``).
    go_live
        Financial year each pilot force went live (default: first year with recurrent cost).
    rng
        Random generator for the Monte Carlo; made from ``seed`` when ``None``.
    seed
        Seed used when ``rng`` is not given (reported in the results).
    draws
        Monte Carlo draws (default ``uncertainty.monte_carlo_draws``, 10,000).
    rollout
        Whether to project a national rollout.
    drivers
        Size driver by force for the rollout (default officers FTE from the forces registry).
    monte_carlo
        Whether to run the Monte Carlo.
    uncertainty
        Whether to run sensitivity, switching values and scenarios (and the Monte Carlo);
        ``False`` gives the central appraisal only, with empty uncertainty tables.
    options
        Whether to appraise the options list (needs ``rollout``); ``False`` leaves
        ``Appraisal.options`` as ``None`` (the dashboard's interactive what-if, which does not
        show it, skips about half the work).
    ob_bounds
        Whether to appraise the rollout at the optimism-bias bounds too (``rollout.optimism_bias``;
        ``False`` keeps only its central row).
    breakdowns
        Whether to tabulate costs by category, benefits by line, type and agency, and the
        non-monetised benefits; ``False`` leaves those tables empty and ``non_monetised``
        ``None`` (the dashboard's what-if, which shows the headline only).
    source
        Name of the ledger in messages.

    Returns
    -------
    Appraisal
        Frozen results with tidy tables and ``to_dict()``.
    """
    params = load_params() if params is None else params
    eff = _as_effects(effects)
    check_lines_have_effects(params, eff)
    dropped = [b.name for b in params.enabled_benefits if b.wider and b.metric not in eff.metrics]
    for name in dropped:
        params = params.updated(f"benefits.{name}.enabled", False)
    checked = check_ledger(ledger, params, source=source)
    frame = pilot_frame(checked, params, go_live)
    cost_lines, ben_lines = pilot_lines(checked, eff, params, frame)
    summary, by_year = summarise(
        cost_lines, ben_lines, params, years=frame.years, base_year=frame.base_year, view="ex-post"
    )

    # the ex-post view split: realised to date (outturn years) and projected (after), both
    # discounted to the ex-post base so that they add up to it
    realised = projected = None
    done = tuple(y for y in frame.years if y <= frame.outturn_end)
    ahead = tuple(y for y in frame.years if y > frame.outturn_end)
    if done and ahead:
        c_in = cost_lines["financial_year"].isin(done)
        b_in = ben_lines["financial_year"].isin(done)
        realised, _ = summarise(
            cost_lines[c_in],
            ben_lines[b_in],
            params,
            years=done,
            base_year=frame.base_year,
            view="ex-post, realised to date",
        )
        projected, _ = summarise(
            cost_lines[~c_in],
            ben_lines[~b_in],
            params,
            years=ahead,
            base_year=frame.base_year,
            view="ex-post, projected",
        )

    go_forward = go_forward_by_year = None
    gf_years = tuple(y for y in frame.years if y >= frame.decision_year)
    if gf_years:
        go_forward, go_forward_by_year = summarise(
            cost_lines[~cost_lines["sunk"]],
            ben_lines[~ben_lines["sunk"]],
            params,
            years=gf_years,
            base_year=frame.decision_year,
            view="go-forward",
        )

    outturn = aggregate_outturn(checked, params, basis="outturn")
    prices = (params.price_base_year, dict(params.deflator))

    gf_frame = replace(frame, base_year=frame.decision_year)

    def view_lines(
        p: ParameterSet, e: EffectsTable, fr: PilotFrame
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        same = (p.price_base_year, dict(p.deflator)) == prices
        c, b = pilot_lines(checked, e, p, fr, outturn=outturn if same else None)
        if fr is gf_frame:  # the decision view: sunk lines (and sunk assets' residuals) out
            c, b = c[~c["sunk"]], b[~b["sunk"]]
        return c, b

    def recompute(p: ParameterSet, e: EffectsTable) -> tuple[float, float, float]:
        return recompute_values(*view_lines(p, e, frame))

    def recompute_gf(p: ParameterSet, e: EffectsTable) -> tuple[float, float, float]:
        return recompute_values(*view_lines(p, e, gf_frame))

    monte_carlo = monte_carlo and uncertainty
    if rng is None and monte_carlo:
        rng = np.random.default_rng(seed)
    gf_unc = None
    if uncertainty:
        view = LinearView.from_tables(cost_lines, ben_lines, params, frame.years)
        unc = analyse(
            view, params, eff, recompute, rng=rng if monte_carlo else None, draws=draws, seed=seed
        )
        if gf_years:
            gc, gb = view_lines(params, eff, gf_frame)
            gf_view = LinearView.from_tables(gc, gb, params, gf_years)
            gf_unc = analyse(
                gf_view,
                params,
                eff,
                recompute_gf,
                rng=rng if monte_carlo else None,
                draws=draws,
                seed=seed,
            )
    else:
        unc = Uncertainty(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), None)

    non_monetised = None
    if breakdowns and go_forward is not None and params.non_monetised:
        gf_b = view_lines(params, eff, gf_frame)[1]
        non_monetised = non_monetised_table(
            eff,
            params.non_monetised,
            npsv=go_forward.npsv,
            force_years=discounted_force_years(gf_b),
        )

    roll = None
    option_table = None
    if rollout:
        from evaluation.appraisal.options import appraise_options
        from evaluation.appraisal.rollout import RolloutModel, project_rollout

        model = RolloutModel.build(checked, params, frame, cost_lines, drivers)
        roll = project_rollout(
            checked,
            eff,
            params,
            frame,
            cost_lines,
            drivers=drivers,
            rng=rng if monte_carlo else None,
            draws=draws,
            seed=seed,
            uncertainty=uncertainty,
            model=model,
            ob_bounds=ob_bounds,
        )
        if options:
            option_table = appraise_options(model, params, eff)

    return Appraisal(
        summary=summary,
        go_forward=go_forward,
        by_year=by_year,
        go_forward_by_year=go_forward_by_year,
        cost_lines=cost_lines,
        benefit_lines=ben_lines,
        **(
            _breakdowns(cost_lines, ben_lines)
            if breakdowns
            else _empty_breakdowns(cost_lines, ben_lines)
        ),
        uncertainty=unc,
        rollout=roll,
        assumptions=params.assumptions(),
        notes=(
            *_notes(params, frame, eff, dropped, checked, inferred=go_live is None),
            *implausible_parameters(params),
        ),
        params_name=params.name,
        params_version=params.version,
        go_forward_uncertainty=gf_unc,
        options=option_table,
        realised_to_date=realised,
        projected=projected,
        non_monetised=non_monetised,
    )


def _breakdowns(cost_lines: pd.DataFrame, ben: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Return the costs by category and the benefits by line, type and agency."""
    return {
        "costs_by_category": _costs_by_category(cost_lines),
        "benefits_by_line": _benefits_by_line(ben),
        "by_type": _split(ben, ["type", "cashable", "wider"]),
        "by_agency": _split(ben, ["agency", "wider"]),
    }


_EMPTY: dict[tuple[object, ...], dict[str, pd.DataFrame]] = {}


def _empty_breakdowns(cost_lines: pd.DataFrame, ben: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Return the breakdown tables with their columns and no rows (made once per line layout)."""
    key = (tuple(cost_lines.dtypes.items()), tuple(ben.dtypes.items()))
    if key not in _EMPTY:
        _EMPTY[key] = _breakdowns(cost_lines.iloc[:0], ben.iloc[:0])
    return {name: frame.copy() for name, frame in _EMPTY[key].items()}


def _costs_by_category(cost_lines: pd.DataFrame) -> pd.DataFrame:
    g = cost_lines.groupby(["category", "basis"], sort=True)
    out = g.agg(
        base_real_gbp=("base_real_gbp", "sum"),
        ob_uplift_gbp=("ob_uplift_gbp", "sum"),
        adjusted_gbp=("adjusted_gbp", "sum"),
        pv_gbp=("pv_gbp", "sum"),
    ).reset_index()
    base = out["base_real_gbp"].to_numpy(dtype=float)
    safe = np.where(base != 0, base, 1.0)
    out["ob_rate"] = np.where(base != 0, out["ob_uplift_gbp"].to_numpy(dtype=float) / safe, 0.0)
    out["ob_rate"] = out["ob_rate"] + 0.0  # no negative zero for residual lines
    return out


def _benefits_by_line(ben: pd.DataFrame) -> pd.DataFrame:
    g = ben.groupby(["line", "metric", "cashable", "type", "agency", "wider"], sort=False)
    return g.agg(
        estimate=("estimate", "first"),
        unit_value_real=("unit_value_real", "first"),
        volume_force_years=("volume_force_years", "sum"),
        value_gbp=("value_gbp", "sum"),
        pv_gbp=("pv_gbp", "sum"),
    ).reset_index()


def _split(ben: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return ben.groupby(keys, sort=True).agg(pv_gbp=("pv_gbp", "sum")).reset_index()


def _notes(
    params: ParameterSet,
    frame: PilotFrame,
    effects: EffectsTable,
    dropped: list[str],
    ledger: pd.DataFrame,
    *,
    inferred: bool = False,
) -> tuple[str, ...]:
    notes = [
        f"Real prices of {params.price_base_year} (GDP deflator, vintage: "
        f"{params.deflator_vintage}); "
        f"discount base year {frame.base_year}; outturn to {frame.outturn_end}, projected after.",
        "Benefits come from difference-in-differences estimates: deadweight is already netted out "
        "by the comparison forces and is not subtracted again. Displacement of work to "
        "neighbouring forces is not measured and is a risk to the estimates.",
        "Cashable benefits are shown separately and are never added to budget savings: "
        "non-cashable benefits (officer time released) are redeployed, not banked.",
        "The value-for-money category is a label, not a pass/fail; non-monetised impacts "
        "(victims' experience, case quality, faster charging) could shift it.",
    ]
    if inferred:
        notes.append(
            "No pilot register was given: each force's go-live is taken as its first financial "
            "year with a recurrent cost (a whole year live). Give the register for go-live "
            "dates (pro rata first-year benefits)."
        )
    wider = [b.name for b in params.enabled_benefits if b.wider]
    if wider:
        notes.append(
            f"Wider social values ({', '.join(wider)}) are excluded from the core case "
            "and shown separately (npsv_with_wider)."
        )
    last = last_outturn_date(ledger)
    if last is not None and last.month != 3:
        notes.append(
            f"The ledger's last year {frame.outturn_end} has costs only to {last.date()}: "
            "recurrent costs projected from its level understate a full year; supply a complete "
            "year or set settings.first_year and the ledger accordingly."
        )
    if dropped:
        notes.append(
            f"Wider line(s) {', '.join(dropped)} left out: no estimate in {effects.source}."
        )
    unverified = [p.key for p in params.parameters if p.unverified]
    if unverified:
        notes.append(
            f"{len(unverified)} parameter(s) are marked unverified, including: "
            + ", ".join(unverified[:6])
            + ("..." if len(unverified) > 6 else "")
        )
    return tuple(notes)
