"""Uncertainty: one-way sensitivity (tornado data), switching values, scenarios, Monte Carlo.

The NPSV of a view is linear in each effect estimate, each unit value and a cost scale::

    NPSV = sum over core lines l of estimate[m(l)] x prod(unit values of l) x K[l] - s x PV(costs)

where ``K[l]`` is the sum of the line's ``pv_per_unit`` column (see :mod:`.benefits`). The
:class:`LinearView` holds these coefficients, so switching values of linear inputs are exact in
closed form and the Monte Carlo evaluates all draws with array arithmetic (no loop per draw).
Inputs that enter non-linearly (discount rate, optimism-bias stage, asset life, decay) are
re-appraised in full through a ``recompute`` callable; switching values there use Brent's root
finder. Every switching value is checked by a full re-appraisal (``npsv_at_switch``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from evaluation.appraisal.effects import EffectsTable
from evaluation.appraisal.measures import vfm_category
from evaluation.appraisal.params import Parameter, ParameterSet
from evaluation.appraisal.results import MonteCarloSummary, Uncertainty

__all__ = [
    "LinearView",
    "Recompute",
    "analyse",
    "effect_distribution",
    "fixed_costs",
    "monte_carlo",
    "recompute_values",
]

#: Full re-appraisal: (params, effects) -> (PV costs, PV core benefits, PV of fixed costs),
#: where fixed costs are those the cost-scale range never scales (outturn and sunk lines).
Recompute = Callable[[ParameterSet, EffectsTable], tuple[float, float, float]]


def fixed_costs(cost_lines: pd.DataFrame) -> np.ndarray:
    """Flag cost lines the cost-scale range must not scale: outturn and sunk lines.

    The cost scale stands for residual risk in *projected* costs; spend already incurred
    (outturn) and lines sunk at the decision point (including the residual value of a sunk
    asset) are known and never scaled.
    """
    sunk = cost_lines["sunk"].to_numpy(dtype=bool)
    return sunk | (cost_lines["basis"].to_numpy() == "outturn")


def recompute_values(
    cost_lines: pd.DataFrame, benefit_lines: pd.DataFrame
) -> tuple[float, float, float]:
    """Return (PV costs, PV core benefits, PV of fixed costs) of a view's lines."""
    core = ~benefit_lines["wider"].to_numpy(dtype=bool)
    pv = cost_lines["pv_gbp"].to_numpy(dtype=float)
    return (
        float(pv.sum()),
        float(benefit_lines["pv_gbp"].to_numpy(dtype=float)[core].sum()),
        float(pv[fixed_costs(cost_lines)].sum()),
    )


@dataclass(frozen=True)
class LinearView:
    """Linear decomposition of a view's PVs (see the module docstring)."""

    lines: tuple[str, ...]
    metrics: tuple[str, ...]
    unit_values: tuple[tuple[str, ...], ...]
    wider: np.ndarray
    k: np.ndarray
    k_by_year: np.ndarray
    pv_costs: float
    pv_costs_by_year: np.ndarray
    years: tuple[str, ...]
    pv_costs_fixed: float = 0.0
    pv_costs_fixed_by_year: np.ndarray | None = None

    @classmethod
    def from_tables(
        cls,
        cost_lines: pd.DataFrame,
        benefit_lines: pd.DataFrame,
        params: ParameterSet,
        years: Sequence[str],
    ) -> LinearView:
        """Build the decomposition from a view's cost and benefit lines."""
        lines = [b for b in params.enabled_benefits if b.name in set(benefit_lines["line"])]
        yidx = pd.Index(list(years))
        k_by_year = np.zeros((len(lines), len(years)))
        for i, line in enumerate(lines):
            rows = benefit_lines[benefit_lines["line"] == line.name]
            k_by_year[i] = (
                rows.groupby("financial_year")["pv_per_unit"].sum().reindex(yidx, fill_value=0.0)
            )
        pv_by_year = (
            cost_lines.groupby("financial_year")["pv_gbp"].sum().reindex(yidx, fill_value=0.0)
        ).to_numpy(dtype=float)
        fixed = cost_lines[fixed_costs(cost_lines)]
        fixed_by_year = (
            fixed.groupby("financial_year")["pv_gbp"].sum().reindex(yidx, fill_value=0.0)
        ).to_numpy(dtype=float)
        return cls(
            lines=tuple(b.name for b in lines),
            metrics=tuple(b.metric for b in lines),
            unit_values=tuple(b.unit_value for b in lines),
            wider=np.array([b.wider for b in lines], dtype=bool),
            k=k_by_year.sum(axis=1),
            k_by_year=k_by_year,
            pv_costs=float(pv_by_year.sum()),
            pv_costs_by_year=pv_by_year,
            years=tuple(years),
            pv_costs_fixed=float(fixed_by_year.sum()),
            pv_costs_fixed_by_year=fixed_by_year,
        )

    @property
    def pv_costs_scalable(self) -> float:
        """PV of the costs the cost-scale range applies to (projected, not outturn or sunk)."""
        return self.pv_costs - self.pv_costs_fixed

    def costs(self, cost_scale: float | np.ndarray = 1.0) -> float | np.ndarray:
        """PV of costs with the projected part scaled by ``cost_scale`` (sunk costs never)."""
        return self.pv_costs_fixed + np.asarray(cost_scale) * self.pv_costs_scalable

    def core_metrics(self) -> tuple[str, ...]:
        """Return the metrics of the core (non-wider) lines, in first-seen order."""
        return tuple(
            dict.fromkeys(m for m, w in zip(self.metrics, self.wider, strict=True) if not w)
        )

    def core_unit_values(self) -> tuple[str, ...]:
        """Return the unit values of the core lines, in first-seen order."""
        names = (
            u for uvs, w in zip(self.unit_values, self.wider, strict=True) if not w for u in uvs
        )
        return tuple(dict.fromkeys(names))

    def pv_benefits(
        self,
        estimates: Mapping[str, float],
        unit_values: Mapping[str, float],
        *,
        wider: bool = False,
    ) -> float:
        """PV of benefits (core, or wider lines only with ``wider=True``)."""
        total = 0.0
        for i, metric in enumerate(self.metrics):
            if bool(self.wider[i]) != wider:
                continue
            total += (
                estimates[metric]
                * math.prod(unit_values[u] for u in self.unit_values[i])
                * self.k[i]
            )
        return total

    def npsv(
        self,
        estimates: Mapping[str, float],
        unit_values: Mapping[str, float],
        cost_scale: float = 1.0,
    ) -> float:
        """NPSV of the core case at the given inputs (the cost scale leaves sunk costs alone)."""
        return self.pv_benefits(estimates, unit_values) - float(self.costs(cost_scale))


def _central(
    effects: EffectsTable, params: ParameterSet, view: LinearView
) -> tuple[dict[str, float], dict[str, float]]:
    est = {m: effects.estimate(m) for m in set(view.metrics)}
    uv = {u: float(params.unit_values[u].value) for uvs in view.unit_values for u in uvs}
    return est, uv


# ----------------------------------------------------------------------------------------------
# Sensitivity, switching values, scenarios
# ----------------------------------------------------------------------------------------------


def analyse(
    view: LinearView,
    params: ParameterSet,
    effects: EffectsTable,
    recompute: Recompute,
    *,
    rng: np.random.Generator | None,
    draws: int | None,
    seed: int | None = None,
    ob_param: str = "optimism_bias.pilot_forecast",
    full: bool = True,
) -> Uncertainty:
    """Run sensitivity, switching values, scenarios and (if ``rng``) Monte Carlo for a view.

    Parameters
    ----------
    view
        The view's linear decomposition.
    params, effects
        The central inputs.
    recompute
        Full re-appraisal of the view for non-linear inputs and for checking switching values.
    rng, draws, seed
        Monte Carlo generator, number of draws (default from the parameters) and the seed used
        to make ``rng`` (reported only). No Monte Carlo when ``rng`` is ``None``.
    ob_param
        Which optimism-bias stage setting the view uses.
    full
        With ``False`` only the linear inputs are analysed (fast; used by the rollout's
        break-even analysis where non-linear inputs are covered by the pilot view).
    """
    sens = _sensitivity(view, params, effects, recompute, ob_param=ob_param, full=full)
    switching = _switching_values(view, params, effects, recompute, full=full)
    scenarios = _scenarios(view, params, effects, recompute, ob_param=ob_param, sensitivity=sens)
    mc = None
    if rng is not None:
        mc = monte_carlo(view, params, effects, rng, draws=draws, seed=seed)
    return Uncertainty(sens, switching, scenarios, mc)


def _slope_effect(view: LinearView, metric: str, uv: Mapping[str, float]) -> float:
    return sum(
        math.prod(uv[u] for u in view.unit_values[i]) * view.k[i]
        for i, m in enumerate(view.metrics)
        if m == metric and not view.wider[i]
    )


def _sensitivity(
    view: LinearView,
    params: ParameterSet,
    effects: EffectsTable,
    recompute: Recompute,
    *,
    ob_param: str,
    full: bool,
) -> pd.DataFrame:
    est, uv = _central(effects, params, view)
    base = view.npsv(est, uv)
    rows: list[dict[str, object]] = []

    def add(
        inp: str, desc: str, central: object, lo: object, hi: object, n_lo: float, n_hi: float
    ) -> None:
        rows.append(
            {
                "input": inp,
                "description": desc,
                "central": central,
                "low": lo,
                "high": hi,
                "npsv_at_low": n_lo,
                "npsv_at_high": n_hi,
                "swing": abs(n_hi - n_lo),
                "npsv_central": base,
            }
        )

    z = params.sensitivity_effect_z
    for metric in view.core_metrics():
        e0, se = effects.estimate(metric), effects.se(metric)
        lo, hi = e0 - z * se, e0 + z * se
        add(
            f"effect:{metric}",
            f"effect estimate +/- {z:g} standard errors",
            e0,
            lo,
            hi,
            view.npsv({**est, metric: lo}, uv),
            view.npsv({**est, metric: hi}, uv),
        )
    for name in view.core_unit_values():
        p = params.unit_values[name]
        if p.has_range:
            add(
                f"unit_value:{name}",
                p.unit,
                p.value,
                p.low,
                p.high,
                view.npsv(est, {**uv, name: float(p.low or 0.0)}),
                view.npsv(est, {**uv, name: float(p.high or 0.0)}),
            )
    cs = params.cost_scale
    if cs.has_range:
        add(
            "cost_scale",
            cs.unit,
            cs.value,
            cs.low,
            cs.high,
            view.npsv(est, uv, float(cs.low or 0.0)),
            view.npsv(est, uv, float(cs.high or 0.0)),
        )
    if full:

        def npsv_of(p: ParameterSet) -> float:
            c, b, _ = recompute(p, effects)
            return b - c

        dr = params.discount_rate
        if dr.has_range:
            add(
                "discount_rate",
                "first discount band rate (years 1-30)",
                params.discount_bands[0].rate,
                dr.low,
                dr.high,
                npsv_of(params.updated("discounting.rate", dr.low)),
                npsv_of(params.updated("discounting.rate", dr.high)),
            )
        central_stage = _get_raw(params, ob_param)
        add(
            "optimism_bias",
            "optimism-bias bound applied to forecast costs",
            central_stage,
            "lower",
            "upper",
            npsv_of(params.updated(ob_param, "lower")),
            npsv_of(params.updated(ob_param, "upper")),
        )
        for cat in ("equipment",):
            life = _life_param(params, cat)
            if life is not None and life.has_range:
                add(
                    f"asset_life:{cat}",
                    "asset life (years) before refresh",
                    life.value,
                    life.low,
                    life.high,
                    npsv_of(params.updated(f"assets.life_years.{cat}", int(life.low or 1))),
                    npsv_of(params.updated(f"assets.life_years.{cat}", int(life.high or 1))),
                )
        wg = params.wage_growth
        if wg is not None and wg.has_range:
            add(
                "real_wage_growth",
                "real growth a year of staff costs and of the value of officer time",
                wg.value,
                wg.low,
                wg.high,
                npsv_of(params.updated("real_growth.wages", wg.low)),
                npsv_of(params.updated("real_growth.wages", wg.high)),
            )
        for line in params.enabled_benefits:
            if line.wider or not line.decay.has_range or line.name not in view.lines:
                continue
            add(
                f"decay:{line.name}",
                "annual decay of the effect beyond the evidence window",
                line.decay.value,
                line.decay.low,
                line.decay.high,
                npsv_of(params.updated(f"benefits.{line.name}.decay", line.decay.low)),
                npsv_of(params.updated(f"benefits.{line.name}.decay", line.decay.high)),
            )
    frame = pd.DataFrame(rows)
    if len(frame):
        frame = frame.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
        for col in ("central", "low", "high"):
            frame[col] = frame[col].astype(object)
    return frame


def _get_raw(params: ParameterSet, key: str) -> object:
    node: object = params.raw
    for part in key.split("."):
        node = node[part]  # type: ignore[index]
    return node


def _life_param(params: ParameterSet, cat: str) -> Parameter | None:
    for p in params.parameters:
        if p.key == f"assets.life_years.{cat}":
            return p
    return None


def _switching_values(
    view: LinearView,
    params: ParameterSet,
    effects: EffectsTable,
    recompute: Recompute,
    *,
    full: bool,
) -> pd.DataFrame:
    est, uv = _central(effects, params, view)
    base = view.npsv(est, uv)
    rows: list[dict[str, object]] = []

    def add(
        inp: str,
        desc: str,
        central: float,
        switch: float | None,
        check: float | None,
        note: str = "",
    ) -> None:
        change = (
            (switch - central) / abs(central) if switch is not None and central != 0 else math.nan
        )
        rows.append(
            {
                "input": inp,
                "description": desc,
                "central": central,
                "switching_value": math.nan if switch is None else switch,
                "change_pct": 100 * change if switch is not None else math.nan,
                "npsv_central": base,
                "npsv_at_switch": math.nan if check is None else check,
                "note": note,
            }
        )

    def npsv_full(p: ParameterSet, e: EffectsTable) -> float:
        c, b, _ = recompute(p, e)
        return b - c

    for metric in view.core_metrics():
        slope = _slope_effect(view, metric, uv)
        e0 = est[metric]
        if slope == 0:
            add(
                f"effect:{metric}",
                "effect estimate per force-year",
                e0,
                None,
                None,
                "NPSV does not depend on this input",
            )
            continue
        x = e0 - base / slope
        check = (
            npsv_full(params, effects.with_estimate(metric, x))
            if full
            else view.npsv({**est, metric: x}, uv)
        )
        add(
            f"effect:{metric}",
            "effect estimate per force-year",
            e0,
            x,
            check,
            "in units of the metric; a benefit needs the sign the line expects",
        )
    for name in view.core_unit_values():
        u0 = uv[name]
        slope = view.pv_benefits(est, {**uv, name: u0 + 1.0}) - view.pv_benefits(est, uv)
        if slope == 0:
            add(
                f"unit_value:{name}",
                params.unit_values[name].unit,
                u0,
                None,
                None,
                "NPSV does not depend on this input",
            )
            continue
        x = u0 - base / slope
        check = (
            npsv_full(params.updated(f"unit_values.{name}", x), effects)
            if full
            else view.npsv(est, {**uv, name: x})
        )
        note = "" if x >= 0 else "negative: no positive value of this input breaks even"
        par = params.unit_values[name]
        if x >= 0 and par.has_range and not (par.low or 0.0) <= x <= (par.high or 0.0):
            note = f"outside the parameter's range {par.low:g} to {par.high:g}"
        add(f"unit_value:{name}", params.unit_values[name].unit, u0, x, check, note)
    pvb = view.pv_benefits(est, uv)
    if view.pv_costs_scalable > 0:
        x = (pvb - view.pv_costs_fixed) / view.pv_costs_scalable
        if x < 0:
            note = (
                "infeasible: benefits do not cover the sunk and outturn costs even if projected "
                "costs were zero"
            )
        elif x >= 1:
            note = "projected costs may rise by this factor before NPSV reaches zero"
        else:
            note = "projected costs must fall to this share of the central estimate to break even"
        add(
            "cost_scale",
            "multiplier on projected costs (outturn and sunk costs are never scaled)",
            1.0,
            x,
            pvb - float(view.costs(x)),
            note,
        )
    elif view.pv_costs > 0:
        add(
            "cost_scale",
            "multiplier on projected costs (outturn and sunk costs are never scaled)",
            1.0,
            None,
            None,
            "no projected costs: every cost is outturn or sunk, so the cost scale does not apply",
        )
    if full:
        r0 = params.discount_bands[0].rate

        def f(rate: float) -> float:
            return npsv_full(params.updated("discounting.rate", rate), effects)

        lo, hi = -0.02, 1.0
        try:
            f_lo, f_hi = f(lo), f(hi)
            if f_lo * f_hi < 0:
                x = optimize.brentq(f, lo, hi, xtol=1e-12)
                add("discount_rate", "first discount band rate (years 1-30)", r0, x, f(x))
            else:
                add(
                    "discount_rate",
                    "first discount band rate (years 1-30)",
                    r0,
                    None,
                    None,
                    f"NPSV keeps its sign for rates from {lo:.0%} to {hi:.0%}",
                )
        except ValueError:  # pragma: no cover - brentq on a bracketed root does not fail
            add("discount_rate", "first discount band rate", r0, None, None, "no root found")
    return _annotate_switching(pd.DataFrame(rows), params, effects)


def _annotate_switching(
    frame: pd.DataFrame, params: ParameterSet, effects: EffectsTable
) -> pd.DataFrame:
    """Add the prices each switching value is stated in and flag the infeasible ones.

    ``price_basis`` says what a value is measured in (a unit value in the prices of its own
    ``price_base``, uprated to the appraisal's price base by the GDP deflator; NPSV always in
    real price-base-year prices). ``feasible`` is ``False`` where no real value could take it
    (a negative price or multiplier, a share above 1); for effects ``se_from_estimate`` and
    ``prob_beyond`` (normal approximation) say how far the estimate would have to move.
    """
    if frame.empty:
        return frame
    pb = params.price_base_year
    basis, feasible, why, dist, prob = [], [], [], [], []
    for rec in frame.to_dict("records"):
        inp, x = str(rec["input"]), rec["switching_value"]
        kind, _, what = inp.partition(":")
        missing = x is None or (isinstance(x, float) and math.isnan(x))
        ok: bool | None = None if missing else True
        reason = ""
        d = p_beyond = math.nan
        if kind == "effect":
            unit = str(effects.table.loc[what, "unit"]) if what in effects.metrics else ""
            basis.append(f"{unit} per pilot force-year (natural units, not money)")
            se = effects.se(what)
            if not missing and se > 0:
                d = (float(x) - float(rec["central"])) / se
                p_beyond = float(stats.norm.sf(abs(d)))
        elif kind == "unit_value":
            par = params.unit_values[what]
            if par.price_base is not None:
                basis.append(
                    f"GBP in {par.price_base} prices ({par.unit}); uprated to {pb} prices "
                    "with the GDP deflator"
                )
            else:
                basis.append(f"{par.unit} (a ratio, no price base)")
            if not missing and float(x) < 0:
                ok, reason = False, "negative: no real price or share can be below zero"
            elif not missing and "share" in par.unit and float(x) > 1:
                ok, reason = False, "above 1: a share cannot exceed the whole"
        elif kind == "cost_scale":
            basis.append(f"multiplier on projected costs in real {pb} prices")
            if not missing and float(x) < 0:
                ok, reason = False, "negative: costs cannot fall below zero"
        elif kind == "discount_rate":
            basis.append("real discount rate, years 1-30")
        else:
            basis.append("")
        feasible.append(ok)
        why.append(reason)
        dist.append(d)
        prob.append(p_beyond)
    out = frame.copy()
    out["price_basis"] = basis
    out["npsv_price_basis"] = f"GBP, real {pb} prices, discounted to the view's base year"
    out["feasible"] = pd.Series(feasible, dtype=object)
    out["infeasible_because"] = why
    out["se_from_estimate"] = dist
    out["prob_beyond"] = prob
    return out


def _scenarios(
    view: LinearView,
    params: ParameterSet,
    effects: EffectsTable,
    recompute: Recompute,
    *,
    ob_param: str,
    sensitivity: pd.DataFrame,
) -> pd.DataFrame:
    """Low / central / high scenarios: every uncertain input jointly at one end of its range.

    Effects move ``scenario_effect_z`` standard errors towards less (low) or more (high)
    benefit. Then every other uncertain input is set to the end of its range that lowers (low)
    or raises (high) the NPSV *given the inputs already set*, so the low scenario is jointly
    unfavourable even where a direction depends on another input (an effect that changes sign
    turns a high unit value from favourable to unfavourable): unit values (exact, from the
    linear decomposition), then the optimism-bias bound, asset lives and decay (each end
    re-appraised in full), then the cost scale on projected costs. The discount rate is a Green
    Book convention, not an uncertainty: it stays central (its sensitivity and switching value
    are reported).
    """
    est, uv = _central(effects, params, view)
    z = params.scenario_effect_z
    rows = []
    nonlinear = [
        r
        for r in (sensitivity.to_dict("records") if len(sensitivity) else [])
        if str(r["input"]).partition(":")[0]
        in ("optimism_bias", "asset_life", "decay", "real_wage_growth")
    ]

    def set_input(p: ParameterSet, inp: str, value: object) -> ParameterSet:
        kind, _, what = inp.partition(":")
        if kind == "optimism_bias":
            return p.updated(ob_param, value)
        if kind == "asset_life":
            return p.updated(f"assets.life_years.{what}", int(value))  # type: ignore[call-overload]
        if kind == "real_wage_growth":
            return p.updated("real_growth.wages", value)
        return p.updated(f"benefits.{what}.decay", value)

    for name, direction in (("low", -1), ("central", 0), ("high", 1)):
        p = params
        e = effects
        scale = float(params.cost_scale.value)
        settings: list[str] = []
        if direction:
            for metric in view.core_metrics():
                slope = _slope_effect(view, metric, uv)
                step = direction * z * effects.se(metric) * (1 if slope >= 0 else -1)
                e = e.with_estimate(metric, est[metric] + step)
                settings.append(f"effect:{metric}={est[metric] + step:.6g}")
            est_s = {m: e.estimate(m) for m in est}
            uv_s = dict(uv)
            for u in view.core_unit_values():
                par = params.unit_values[u]
                if not par.has_range:
                    continue
                lo, hi = float(par.low or 0.0), float(par.high or 0.0)
                n_lo = view.npsv(est_s, {**uv_s, u: lo})
                n_hi = view.npsv(est_s, {**uv_s, u: hi})
                value = hi if (n_hi > n_lo) == (direction > 0) else lo
                uv_s[u] = value
                p = p.updated(f"unit_values.{u}", value)
                settings.append(f"unit_value:{u}={value:g}")
            for rec in nonlinear:
                inp = str(rec["input"])
                p_lo, p_hi = set_input(p, inp, rec["low"]), set_input(p, inp, rec["high"])
                c_lo, b_lo, _ = recompute(p_lo, e)
                c_hi, b_hi, _ = recompute(p_hi, e)
                pick_hi = (b_hi - c_hi > b_lo - c_lo) == (direction > 0)
                p = p_hi if pick_hi else p_lo
                settings.append(f"{inp}={rec['high'] if pick_hi else rec['low']}")
        c, b, fixed = recompute(p, e)
        cs = params.cost_scale
        if direction and cs.has_range and c != fixed:
            worse = float(cs.high or 0.0) if c - fixed > 0 else float(cs.low or 0.0)
            better = float(cs.low or 0.0) if c - fixed > 0 else float(cs.high or 0.0)
            scale = worse if direction < 0 else better
            settings.append(f"cost_scale={scale:g} (projected costs only)")
        c = fixed + scale * (c - fixed)
        bcr = b / c if c > 0 else math.nan
        rows.append(
            {
                "scenario": name,
                "description": {
                    "low": f"jointly unfavourable: effects {z:g} SE towards less benefit and every "
                    "other uncertain input at the end of its range that lowers NPSV",
                    "central": "central values",
                    "high": f"jointly favourable: effects {z:g} SE towards more benefit and every "
                    "other uncertain input at the end of its range that raises NPSV",
                }[name],
                "settings": "; ".join(settings),
                "pv_costs": c,
                "pv_benefits": b,
                "npsv": b - c,
                "bcr": bcr,
                "vfm_category": vfm_category(bcr, params.vfm),
            }
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# Monte Carlo
# ----------------------------------------------------------------------------------------------


def _draw_param(p: Parameter, rng: np.random.Generator, n: int) -> np.ndarray | float:
    if not p.has_range or p.distribution == "fixed" or p.low == p.high:
        return float(p.value)
    lo, hi = float(p.low or 0.0), float(p.high or 0.0)
    if p.distribution == "uniform":
        return rng.uniform(lo, hi, n)
    return rng.triangular(lo, float(p.value), hi, n)


def monte_carlo(
    view: LinearView,
    params: ParameterSet,
    effects: EffectsTable,
    rng: np.random.Generator,
    *,
    draws: int | None = None,
    seed: int | None = None,
) -> MonteCarloSummary:
    """Simulate the NPSV distribution: effects' sampling uncertainty plus parameter ranges.

    Effects are drawn from their bootstrap draws (rows resampled jointly, when given and
    ``uncertainty.effect_distribution = "bootstrap"``) or from ``Normal(estimate, se)``;
    unit values and the cost scale from their ranges. All draws are evaluated at once.
    """
    n = int(draws if draws is not None else params.mc_draws)
    metrics = view.core_metrics()
    uvs = view.core_unit_values()
    e_draws: dict[str, np.ndarray] = {}
    used, note = effect_distribution(params, effects, metrics)
    boot = effects.draws if used != "normal" else None
    boot_cols = [m for m in metrics if boot is not None and m in boot.columns]
    if boot is not None and boot_cols:
        idx = rng.integers(0, len(boot), size=n)
        for m in boot_cols:
            e_draws[m] = boot[m].to_numpy(dtype=float)[idx]
    for m in metrics:
        if m not in e_draws:
            e_draws[m] = effects.estimate(m) + effects.se(m) * rng.standard_normal(n)
    u_draws = {u: _draw_param(params.unit_values[u], rng, n) for u in uvs}
    cost_scale = _draw_param(params.cost_scale, rng, n)

    core = [i for i in range(len(view.lines)) if not view.wider[i]]
    coef = np.zeros((n, len(core)))
    for j, i in enumerate(core):
        col = e_draws[view.metrics[i]].copy()
        for u in view.unit_values[i]:
            col = col * u_draws[u]
        coef[:, j] = col
    pvb = coef @ view.k[core]
    pvc = np.asarray(view.costs(cost_scale), dtype=float)
    npsv = pvb - pvc
    with np.errstate(divide="ignore", invalid="ignore"):
        bcr = pvb / pvc
    p10, p50, p90 = np.percentile(npsv, [10, 50, 90])
    b10, b50, b90 = np.percentile(bcr, [10, 50, 90]) if view.pv_costs > 0 else (math.nan,) * 3
    prob = float(np.mean(npsv > 0))

    # year by year: cumulative discounted net per draw (draws x years), then its quantiles
    # laid out years x draws, so each year's draws are contiguous for the quantiles
    cum_b = np.cumsum(view.k_by_year[core].T @ coef.T, axis=0)
    fixed_by_year = (
        np.zeros(len(view.years))
        if view.pv_costs_fixed_by_year is None
        else view.pv_costs_fixed_by_year
    )
    cum_fixed = np.cumsum(fixed_by_year)
    cum_scaled = np.cumsum(view.pv_costs_by_year - fixed_by_year)
    scales = np.broadcast_to(np.asarray(cost_scale, dtype=float), (n,))
    cum_net = cum_b - cum_fixed[:, None] - np.multiply.outer(cum_scaled, scales)
    q = np.percentile(cum_net, [10, 50, 90], axis=1)
    # paid back by year y: cumulative net >= 0 in y and every later year
    stays = np.flip(np.minimum.accumulate(np.flip(cum_net, axis=0), axis=0), axis=0) >= 0
    by_year = pd.DataFrame(
        {
            "financial_year": pd.Series(view.years, dtype=object),
            "cumulative_pv_net_p10": q[0],
            "cumulative_pv_net_p50": q[1],
            "cumulative_pv_net_p90": q[2],
            "prob_cumulative_positive": (cum_net >= 0).mean(axis=1),
            "prob_paid_back": stays.mean(axis=1),
        }
    )

    # analytic normal approximation from the effects alone (unit values, cost scale central)
    est, uv = _central(effects, params, view)
    mean = view.npsv(est, uv, float(params.cost_scale.value))
    var = sum((effects.se(m) * _slope_effect(view, m, uv)) ** 2 for m in metrics)
    sd = math.sqrt(var)
    analytic = float(stats.norm.sf(0.0, loc=mean, scale=sd)) if sd > 0 else float(mean > 0)

    uncertain = [f"effect:{m}" for m in metrics]
    uncertain += [f"unit_value:{u}" for u in uvs if not isinstance(u_draws[u], float)]
    if not isinstance(cost_scale, float):
        uncertain.append("cost_scale")
    return MonteCarloSummary(
        draws=n,
        seed=seed,
        effect_distribution=used,
        p10=float(p10),
        p50=float(p50),
        p90=float(p90),
        mean=float(npsv.mean()),
        sd=float(npsv.std(ddof=1)) if n > 1 else 0.0,
        prob_positive=prob,
        prob_positive_se=math.sqrt(prob * (1 - prob) / n),
        bcr_p10=float(b10),
        bcr_p50=float(b50),
        bcr_p90=float(b90),
        analytic_mean=mean,
        analytic_sd=sd,
        analytic_prob_positive=analytic,
        uncertain_inputs=tuple(uncertain),
        by_year=by_year,
        npsv_draws=npsv,
        effect_distribution_note=note,
    )


def effect_distribution(
    params: ParameterSet, effects: EffectsTable, metrics: Sequence[str]
) -> tuple[str, str]:
    """Return the effect distribution the Monte Carlo uses and a sentence saying why.

    ``"bootstrap"`` resamples the joint draws supplied with the effects table (whole rows, so
    the correlation between effects carries through); it is an error when they are missing.
    ``"normal"`` draws each effect independently from ``Normal(estimate, se)``. ``"auto"`` uses
    the draws where the effects table supplies them and the normal approximation otherwise,
    and says so: never a silent fallback.

    Returns
    -------
    (used, note)
        ``used`` is ``"bootstrap"``, ``"normal"`` or ``"bootstrap+normal"``.
    """
    from evaluation.errors import AppraisalError

    choice = params.effect_distribution
    draws = effects.draws
    have = [m for m in metrics if draws is not None and m in draws.columns]
    lack = [m for m in metrics if m not in have]
    normal = (
        "each effect drawn independently from Normal(estimate, se), the normal approximation "
        "to its sampling distribution; correlation between effects is not carried through"
    )
    if choice == "bootstrap" and lack:
        raise AppraisalError(
            f"uncertainty.effect_distribution = 'bootstrap', but {effects.source} supplies no "
            f"bootstrap draws for {', '.join(lack)}: add a 'draws' file to the effects table or "
            "set effect_distribution to 'normal' (or 'auto', which states what it used)"
        )
    if choice == "normal" or not have:
        why = (
            "effect_distribution = 'normal'"
            if choice == "normal"
            else f"no bootstrap draws were supplied with {effects.source}"
        )
        return "normal", f"Effects: {normal} ({why})."
    n = 0 if draws is None else len(draws)
    if not lack:
        return "bootstrap", (
            f"Effects: {n:,} joint bootstrap draws from the estimation, resampled whole rows "
            "so that the correlation between effects carries through."
        )
    return "bootstrap+normal", (
        f"Effects: joint bootstrap draws for {', '.join(have)}; for {', '.join(lack)}, which "
        f"have none, {normal}."
    )
