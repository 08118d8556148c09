"""``pathfinder appraise``: Green Book appraisal of the pilot digital teams, year by year.

Defaults to the bundled sample data (``data/sample/costs.csv``, ``effects.csv`` and
``register.csv``) and the bundled ``green_book_2022`` parameter set. ``--json`` prints the full
results as JSON; otherwise a text report is printed.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.appraisal import Appraisal, appraise, load_effects, load_params
from evaluation.appraisal.results import Summary, Uncertainty
from evaluation.commands._options import MAX_DRAWS, count, seed
from evaluation.errors import AppraisalError
from evaluation.outputs import atomic_output_file, check_output_file
from evaluation.safety import json_text

__all__ = ["add_arguments", "format_report", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``appraise`` arguments."""
    parser.add_argument("--costs", type=Path, help="cost ledger (default: bundled sample)")
    parser.add_argument("--effects", type=Path, help="effects table CSV (default: bundled sample)")
    parser.add_argument(
        "--params", type=Path, help="parameter file (TOML) overriding the green_book_2022 defaults"
    )
    parser.add_argument(
        "--register",
        type=Path,
        help="pilot register giving go-live dates (default: the bundled one with the bundled "
        "ledger; otherwise each force's first year with a recurrent cost)",
    )
    parser.add_argument("--seed", type=seed, default=20260401, help="Monte Carlo seed")
    parser.add_argument(
        "--draws",
        type=count(1, MAX_DRAWS, "--draws"),
        help="Monte Carlo draws (default from parameters)",
    )
    parser.add_argument("--no-rollout", action="store_true", help="skip the national rollout")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--out", type=Path, help="also write the JSON results to this file")


def _load_ledger(path: Path) -> pd.DataFrame:
    try:
        from evaluation.ingest import load_ledger
    except ImportError:  # pragma: no cover - the validating loader ships with the package
        return pd.read_csv(path)
    return load_ledger(path)


def _go_live(path: Path) -> dict[str, object]:
    from evaluation.ingest import load_register

    reg = load_register(path)
    return dict(zip(reg["force"], reg["go_live"], strict=True))


def run(args: argparse.Namespace) -> int:
    """Run the appraisal and print the report (or JSON)."""
    from evaluation.ingest import bundled_data_dir

    sample = bundled_data_dir() / "sample"
    costs = args.costs or sample / "costs.csv"
    effects_path = args.effects or sample / "effects.csv"
    register = args.register
    if register is None and args.costs is None and (sample / "register.csv").exists():
        register = sample / "register.csv"
    for label, p in (
        ("cost ledger", costs),
        ("effects table", effects_path),
        ("register", register),
    ):
        if p is not None and not Path(p).exists():
            raise AppraisalError(f"{label} {p} not found")
    if args.draws is not None and args.draws < 1:
        raise AppraisalError(f"--draws must be at least 1, got {args.draws}")
    inputs = [Path(p) for p in (costs, effects_path, register, args.params) if p is not None]
    if args.out is not None:  # before computing: a folder, a link, an input, read-only
        check_output_file(args.out, inputs=inputs, create_parents=True)
    params = load_params(args.params)
    ledger = _load_ledger(costs)
    effects = load_effects(effects_path)
    go_live = _go_live(register) if register is not None else None
    result = appraise(
        ledger,
        effects,
        params,
        go_live=go_live,
        rng=np.random.default_rng(args.seed),
        seed=args.seed,
        draws=args.draws,
        rollout=not args.no_rollout,
        source=Path(costs).name,
    )
    payload = result.to_dict()
    payload["inputs"] = {
        "costs": Path(costs).name,
        "effects": Path(effects_path).name,
        "register": None if register is None else Path(register).name,
        "go_live": "register" if register is not None else "inferred from the ledger",
        "params": "green_book_2022 (bundled)" if args.params is None else Path(args.params).name,
        "seed": args.seed,
    }
    if args.out is not None:
        with atomic_output_file(args.out, inputs=inputs, create_parents=True) as tmp:
            tmp.write_text(json_text(payload), encoding="utf-8")
    if args.json:
        print(json_text(payload))
    else:
        print(format_report(result, inputs=payload["inputs"]))
        if args.out is not None:
            print(f"\nJSON written to {args.out}")
    return 0


# ----------------------------------------------------------------------------------------------
# Text report
# ----------------------------------------------------------------------------------------------


def _m(x: float | None) -> str:
    """Format GBP as millions with two decimals."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x / 1e6:,.2f}m"


def _r(x: float | None, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}f}"


_SWITCHING_COLUMNS = {
    "input": "s",
    "central": "g",
    "switching_value": "g",
    "change_pct": "pct",
    "feasible": "s",
    "price_basis": "s",
}


def _switching_table(switching: pd.DataFrame) -> str:
    return _table(switching, _SWITCHING_COLUMNS)


def _table(frame: pd.DataFrame, formats: dict[str, str]) -> str:
    cols = list(formats)
    cells = [[str(c) for c in cols]]
    for rec in frame.to_dict("records"):
        row = []
        for c in cols:
            v, f = rec[c], formats[c]
            if f == "m":
                row.append(_m(v))
            elif f == "r":
                row.append(_r(v))
            elif f == "g":
                row.append("n/a" if v is None or pd.isna(v) else f"{v:,.6g}")
            elif f == "r4":
                row.append(_r(v, 4))
            elif f == "pct":
                row.append("n/a" if v is None or pd.isna(v) else f"{v:+.0f}%")
            else:
                row.append("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
        cells.append(row)
    widths = [max(len(r[i]) for r in cells) for i in range(len(cols))]
    lines = []
    for j, r in enumerate(cells):
        lines.append(
            "  ".join(
                (v.ljust(w) if formats[cols[i]] == "s" else v.rjust(w))
                for i, (v, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join("  " + line for line in lines)


def _headline(s: Summary) -> list[str]:
    pay = (
        f"{s.payback_year} (year {s.payback_years})" if s.payback_year else "not within the period"
    )
    return [
        f"  PV costs            {_m(s.pv_costs):>12}",
        f"  PV benefits (core)  {_m(s.pv_benefits):>12}   cashable {_m(s.pv_benefits_cashable)}, "
        f"non-cashable {_m(s.pv_benefits_noncashable)}",
        f"  NPSV                {_m(s.npsv):>12}",
        f"  BCR                 {_r(s.bcr):>12}   value for money: {s.vfm_category}",
        f"  Cashable BCR        {_r(s.cashable_bcr):>12}   cashable ROI {_r(s.cashable_roi)}   "
        f"BCR with cashable savings netted off costs {_r(s.bcr_cashable_netted)} (the BCR above "
        "counts them as benefits)",
        f"  Payback (discounted) {pay}",
        f"  With wider social values: NPSV {_m(s.npsv_with_wider)}, BCR {_r(s.bcr_with_wider)} "
        f"({s.vfm_category_with_wider})",
    ]


def _decision_uncertainty(unc: Uncertainty) -> list[str]:
    """Monte Carlo, scenarios and switching values of the go-forward (decision) view."""
    out: list[str] = []
    mc = unc.monte_carlo
    if mc is not None:
        out.append(
            f"  Monte Carlo ({mc.draws:,} draws, effects {mc.effect_distribution}): NPSV P10 "
            f"{_m(mc.p10)}, P50 {_m(mc.p50)}, P90 {_m(mc.p90)}; P(NPSV > 0) = "
            f"{mc.prob_positive:.3f}"
        )
    if len(unc.scenarios):
        out.append(
            "  Scenarios: "
            + "; ".join(
                f"{r['scenario']} NPSV {_m(r['npsv'])} (BCR {_r(r['bcr'])})"
                for r in unc.scenarios.to_dict("records")
            )
        )
    if len(unc.switching_values):
        out.append("  Switching values of the go-forward NPSV:")
        out.append(_switching_table(unc.switching_values))
    return out


def format_report(result: Appraisal, *, inputs: dict[str, object] | None = None) -> str:
    """Return the text report of an appraisal."""
    s = result.summary
    out: list[str] = []
    out.append("Green Book appraisal of the pilot digital forensics teams")
    out.append("=" * 58)
    if inputs:
        out.append(
            f"Inputs: costs {inputs['costs']}, effects {inputs['effects']}, register "
            f"{inputs['register'] or '(go-live inferred)'}, parameters {inputs['params']}, "
            f"seed {inputs['seed']}"
        )
    out.append(
        f"GBP, real {s.price_base_year} prices; discounted to {s.discount_base_year} at the "
        f"Green Book rate; appraisal period {s.first_year} to {s.last_year}."
    )
    out.append("")
    out.append(f"Ex-post view (all years, sunk costs included), {s.first_year} to {s.last_year}")
    out.extend(_headline(s))
    if result.realised_to_date is not None and result.projected is not None:
        rz, pj = result.realised_to_date, result.projected
        out.append(
            f"  of which realised to date ({rz.first_year} to {rz.last_year}): PV costs "
            f"{_m(rz.pv_costs)}, PV benefits {_m(rz.pv_benefits)}, NPSV {_m(rz.npsv)}; "
            f"projected ({pj.first_year} to {pj.last_year}): PV costs {_m(pj.pv_costs)}, "
            f"PV benefits {_m(pj.pv_benefits)}, NPSV {_m(pj.npsv)}"
        )
    if result.go_forward is not None:
        g = result.go_forward
        out.append("")
        out.append(
            f"Go-forward view from {g.first_year} (sunk costs and realised benefits excluded; "
            f"discounted to {g.discount_base_year})"
        )
        out.extend(_headline(g))
        gu = result.go_forward_uncertainty
        if gu is not None:
            out.extend(_decision_uncertainty(gu))
        nm = result.non_monetised
        if nm is not None and len(nm):
            out.append(
                "  Non-monetised impacts (estimate and 95% interval; value per pilot force-year "
                "each would need for the go-forward NPSV to reach zero, GBP real, discounted):"
            )
            out.append(
                _table(
                    nm,
                    {
                        "metric": "s",
                        "estimate": "g",
                        "ci_low": "g",
                        "ci_high": "g",
                        "better": "s",
                        "value_needed_per_force_year": "g",
                        "value_needed_per_unit": "g",
                    },
                )
            )
    out.append("")
    out.append(
        f"Year by year (GBP real; t = years from the discount base year {s.discount_base_year}, "
        "which is year 0)"
    )
    out.append(
        _table(
            result.by_year,
            {
                "financial_year": "s",
                "t": "s",
                "forces_live": "s",
                "costs_gbp": "m",
                "benefits_cashable_gbp": "m",
                "benefits_noncashable_gbp": "m",
                "net_gbp": "m",
                "in_year_bcr": "r",
                "discount_factor": "r4",
                "pv_net_gbp": "m",
                "cumulative_pv_net_gbp": "m",
            },
        )
    )
    out.append("")
    out.append("Costs by category and basis (real, undiscounted): base, optimism bias, adjusted")
    out.append(
        _table(
            result.costs_by_category,
            {
                "category": "s",
                "basis": "s",
                "base_real_gbp": "m",
                "ob_rate": "r",
                "ob_uplift_gbp": "m",
                "adjusted_gbp": "m",
                "pv_gbp": "m",
            },
        )
    )
    out.append("")
    out.append("Benefit lines (effect x volume x unit value)")
    out.append(
        _table(
            result.benefits_by_line,
            {
                "line": "s",
                "estimate": "r",
                "unit_value_real": "r",
                "volume_force_years": "r",
                "cashable": "s",
                "type": "s",
                "wider": "s",
                "pv_gbp": "m",
            },
        )
    )
    unc = result.uncertainty
    out.append("")
    out.append("Switching values (the input value at which NPSV = 0, others held central)")
    out.append(_switching_table(unc.switching_values))
    out.append("")
    out.append("One-way sensitivity (tornado, largest swing first)")
    out.append(
        _table(
            unc.sensitivity,
            {"input": "s", "low": "s", "high": "s", "npsv_at_low": "m", "npsv_at_high": "m"},
        )
    )
    out.append("")
    out.append("Scenarios")
    out.append(
        _table(
            unc.scenarios,
            {
                "scenario": "s",
                "pv_costs": "m",
                "pv_benefits": "m",
                "npsv": "m",
                "bcr": "r",
                "vfm_category": "s",
            },
        )
    )
    mc = unc.monte_carlo
    if mc is not None:
        out.append("")
        out.append(
            f"Monte Carlo ({mc.draws:,} draws, seed {mc.seed}, effects {mc.effect_distribution}): "
            f"NPSV P10 {_m(mc.p10)}, P50 {_m(mc.p50)}, P90 {_m(mc.p90)}; "
            f"P(NPSV > 0) = {mc.prob_positive:.3f} (MC s.e. {mc.prob_positive_se:.3f}); "
            f"BCR P10/P50/P90 {_r(mc.bcr_p10)}/{_r(mc.bcr_p50)}/{_r(mc.bcr_p90)}"
        )
        out.append(
            f"  Normal approximation, effects' sampling error only: P(NPSV > 0) = "
            f"{mc.analytic_prob_positive:.3f}"
        )
        if mc.effect_distribution_note:
            out.append(f"  {mc.effect_distribution_note}")
        out.append(
            "  P(paid back by the end of year): "
            + ", ".join(
                f"{y} {p:.2f}"
                for y, p in zip(
                    mc.by_year["financial_year"], mc.by_year["prob_paid_back"], strict=True
                )
            )
        )
    if result.options is not None and len(result.options):
        o0 = result.options.iloc[0]
        out.append("")
        out.append(
            f"Options shortlist, {o0['first_year']} to {o0['last_year']} (GBP real "
            f"{o0['price_base_year']} prices, discounted to {o0['discount_base_year']})"
        )
        out.append(
            _table(
                result.options,
                {
                    "option": "s",
                    "forces_funded": "s",
                    "new_units": "s",
                    "pv_costs": "m",
                    "pv_benefits": "m",
                    "npsv": "m",
                    "bcr": "r",
                    "npsv_vs_bau": "m",
                },
            )
        )
    roll = result.rollout
    if roll is not None:
        r = roll.summary
        out.append("")
        out.append(
            f"National rollout: {roll.n_forces} forces ({roll.cost_model} costs fitted to the "
            f"pilots, benefits scaled by {roll.driver} relative to the pilots' exposure-weighted "
            f"size {roll.pilot_size:,.0f}), phased from {r.first_year} (optimism bias at the "
            "rollout stage for new teams)"
        )
        out.extend(_headline(r))
        out.append(
            _table(
                roll.by_year,
                {
                    "financial_year": "s",
                    "forces_live": "s",
                    "costs_gbp": "m",
                    "benefits_gbp": "m",
                    "net_gbp": "m",
                    "in_year_bcr": "r",
                    "cumulative_pv_net_gbp": "m",
                },
            )
        )
        rmc = roll.uncertainty.monte_carlo
        if rmc is not None:
            out.append(
                f"  Monte Carlo: NPSV P10 {_m(rmc.p10)}, P50 {_m(rmc.p50)}, P90 {_m(rmc.p90)}; "
                f"P(NPSV > 0) = {rmc.prob_positive:.3f}"
            )
        out.append("  What must hold for national rollout to break even (one input at a time):")
        out.extend(f"  - {line}" for line in roll.break_even)
        if roll.optimism_bias is not None:
            out.append(
                "  Optimism bias on new teams: "
                + "; ".join(
                    f"{rec['stage']} NPSV {_m(rec['npsv'])} (BCR {_r(rec['bcr'])})"
                    for rec in roll.optimism_bias.to_dict("records")
                )
            )
        if roll.cost_fit is not None and len(roll.cost_fit):
            out.append(
                "  New-team costs fitted to the pilots' outturn (cost = fixed + per officer; "
                "proportional scaling and its R-squared beside it):"
            )
            out.append(
                _table(
                    roll.cost_fit,
                    {
                        "k": "s",
                        "kind": "s",
                        "category": "s",
                        "n_forces": "s",
                        "fixed_gbp": "g",
                        "per_officer_gbp": "g",
                        "r2": "r",
                        "proportional_gbp_per_officer": "g",
                        "r2_proportional": "r",
                    },
                )
            )
    out.append("")
    out.append("Notes")
    out.extend(f"  - {n}" for n in result.notes)
    return "\n".join(out)
