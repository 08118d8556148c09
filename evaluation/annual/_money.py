"""The money parts of the annual report (private helpers).

Costs, benefits, value for money, uncertainty, rollout, the change since last year and the
annexes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from evaluation import plots
from evaluation.annual._sections import Context, _chart, _table
from evaluation.annual.formatting import format_value, gbp_m, percent
from evaluation.annual.model import Headline, QaRoles, Section, Table

if TYPE_CHECKING:  # pragma: no cover
    from evaluation.annual.model import AnnualReport

__all__ = [
    "annexes",
    "benefits",
    "change_since",
    "costs",
    "rollout",
    "uncertainty",
    "value_for_money",
]


def _gbp_cols(*pairs: tuple[str, str]) -> list[tuple[str, str, str]]:
    return [(name, f"{label} (GBP, real)", "gbp") for name, label in pairs]


def costs(ctx: Context) -> Section:
    """Return the costs: by category and basis, by year (nominal to real, optimism bias)."""
    a = ctx.appraisal
    by_cat = a.costs_by_category.copy()
    by_year = a.by_year.copy()
    views = [("ex-post (all years, sunk costs included)", a.summary)]
    if a.go_forward is not None:
        views.append(
            (f"go-forward from {a.go_forward.first_year} (sunk costs excluded)", a.go_forward)
        )
    sunk = pd.DataFrame(
        [
            {
                "view": v,
                "first_year": s.first_year,
                "last_year": s.last_year,
                "pv_costs": s.pv_costs,
            }
            for v, s in views
        ]
    )
    pb = a.summary.price_base_year
    return Section(
        key="costs",
        title="Costs",
        paragraphs=(
            f"Cash outturn from the ledger is nominal; it is turned into real {pb} prices with "
            f"the GDP deflator ({ctx.params.deflator_vintage}). After the last outturn year "
            f"({ctx.year}) recurrent costs continue at each force's last real level, equipment is "
            "refreshed at the end of its life and capital still in use at the end of the period "
            "leaves a residual value (a negative cost).",
            "Optimism bias uplifts projected costs, not outturn: base, uplift and adjusted cost "
            "are shown separately. Sunk costs count in the ex-post evaluation and are excluded "
            "from the go-forward decision.",
        ),
        tables=(
            _table(
                "costs-by-category",
                f"Costs by category and basis (GBP, real {pb} prices)",
                by_cat,
                [
                    ("category", "Category", "text"),
                    ("basis", "Basis", "text"),
                    *_gbp_cols(
                        ("base_real_gbp", "Base cost"), ("ob_uplift_gbp", "Optimism-bias uplift")
                    ),
                    ("ob_rate", "Uplift rate (%)", "pct"),
                    *_gbp_cols(("adjusted_gbp", "Adjusted cost"), ("pv_gbp", "Present value")),
                ],
            ),
            _table(
                "costs-by-year",
                f"Costs by year: nominal outturn, real, optimism bias, "
                f"residual value (GBP, real {pb} prices unless nominal)",
                by_year,
                [
                    ("financial_year", "Financial year", "text"),
                    ("costs_nominal_outturn_gbp", "Outturn (GBP, nominal)", "gbp"),
                    *_gbp_cols(
                        ("costs_base_real_gbp", "Base cost"),
                        ("ob_uplift_gbp", "Optimism-bias uplift"),
                        ("residual_value_gbp", "Residual value"),
                        ("costs_gbp", "Adjusted cost"),
                    ),
                    ("discount_factor", "Discount factor", "num"),
                    ("pv_costs_gbp", "Present value (GBP, real)", "gbp"),
                ],
            ),
            _table(
                "costs-sunk",
                "Ex-post and go-forward costs (present value)",
                sunk,
                [
                    ("view", "View", "text"),
                    ("first_year", "From", "text"),
                    ("last_year", "To", "text"),
                    ("pv_costs", "PV costs (GBP, real)", "gbp"),
                ],
            ),
        ),
    )


def benefits(ctx: Context) -> Section:
    """Return the benefits: by line (effect x volume x unit value), by year, type and agency."""
    a = ctx.appraisal
    pb = a.summary.price_base_year
    lines = a.benefits_by_line.copy()
    lines["class"] = [
        "wider" if w else ("cashable" if c else "non-cashable")
        for c, w in zip(lines["cashable"], lines["wider"], strict=True)
    ]
    by_year = a.by_year
    agency = a.by_agency.copy()
    agency["scope"] = ["wider" if w else "core" for w in agency["wider"]]
    return Section(
        key="benefits",
        title="Benefits",
        paragraphs=(
            "Each benefit line is the estimated effect per pilot force-year times the force-years "
            "live times a unit value. Deadweight is what the comparison forces already capture in "
            "the estimate, so it is not subtracted again.",
            "Cashable benefits (outsourcing avoided) could reduce a budget; non-cashable benefits "
            "(officer time released) are redeployed. Wider social values are shown apart from the "
            "core case.",
        ),
        tables=(
            _table(
                "benefits-by-line",
                f"Benefits by line (GBP, real {pb} prices)",
                lines,
                [
                    ("line", "Line", "text"),
                    ("metric", "Metric", "text"),
                    ("class", "Class", "text"),
                    ("type", "Type", "text"),
                    ("agency", "Who benefits", "text"),
                    ("estimate", "Effect per pilot force-year", "num1"),
                    ("unit_value_real", "Unit value (GBP, real)", "num"),
                    ("volume_force_years", "Force-years", "num1"),
                    *_gbp_cols(("value_gbp", "Value, undiscounted"), ("pv_gbp", "Present value")),
                ],
            ),
            _table(
                "benefits-by-year",
                f"Benefits by year (GBP, real {pb} prices, undiscounted)",
                by_year,
                [
                    ("financial_year", "Financial year", "text"),
                    ("forces_live", "Forces live", "int"),
                    *_gbp_cols(
                        ("benefits_cashable_gbp", "Cashable"),
                        ("benefits_noncashable_gbp", "Non-cashable"),
                        ("benefits_gbp", "Core benefits"),
                        ("benefits_wider_gbp", "Wider benefits"),
                    ),
                    ("pv_benefits_gbp", "Present value of core (GBP, real)", "gbp"),
                ],
            ),
            _table(
                "benefits-by-agency",
                "Present value of benefits by who benefits",
                agency,
                [
                    ("agency", "Who benefits", "text"),
                    ("scope", "Core or wider", "text"),
                    ("pv_gbp", "Present value (GBP, real)", "gbp"),
                ],
            ),
        ),
    )


def _views(a: Any) -> pd.DataFrame:
    rows = []
    s = a.summary
    named = [("ex-post pilots", s)]
    for attr, label in (("realised_to_date", "realised to date"), ("projected", "projected")):
        part = getattr(a, attr, None)  # newer toolkits split the ex-post view
        if part is not None:
            named.append((f"ex-post pilots, {label}", part))
    if a.go_forward is not None:
        named.append(("go-forward pilots", a.go_forward))
    if a.rollout is not None:
        named.append((f"national rollout ({a.rollout.n_forces} forces)", a.rollout.summary))
    for name, v in named:
        rows.append(
            {
                "view": name,
                "years": f"{v.first_year} to {v.last_year}",
                "pv_costs": v.pv_costs,
                "pv_benefits": v.pv_benefits,
                "npsv": v.npsv,
                "bcr": v.bcr,
                "vfm": v.vfm_category,
                "cashable_bcr": v.cashable_bcr,
                "payback": v.payback_year or "not within the period",
            }
        )
    rows.append(
        {
            "view": "ex-post pilots with wider social values",
            "years": f"{s.first_year} to {s.last_year}",
            "pv_costs": s.pv_costs,
            "pv_benefits": s.pv_benefits + s.pv_benefits_wider,
            "npsv": s.npsv_with_wider,
            "bcr": s.bcr_with_wider,
            "vfm": s.vfm_category_with_wider,
            "cashable_bcr": s.cashable_bcr,
            "payback": "[z]",
        }
    )
    return pd.DataFrame(rows)


def _options_table(a: Any) -> Table | None:
    """Show appraisal options when the appraisal carries them (a newer toolkit)."""
    return _frame_table(getattr(a, "options", None), "options", "Options appraised")


def _frame_table(options: Any, key: str, caption: str) -> Table | None:
    """Show a frame (or list of records) the appraisal may carry, every scalar column."""
    if options is None:
        return None
    frame = options if isinstance(options, pd.DataFrame) else None
    if frame is None:
        try:
            frame = pd.DataFrame(
                [o.to_dict() if hasattr(o, "to_dict") else dict(o) for o in options]
            )
        except (TypeError, ValueError):
            return None
    if frame.empty:
        return None
    frame = frame.copy()
    cols = []
    kinds = {"npsv": "gbp", "pv_costs": "gbp", "pv_benefits": "gbp", "bcr": "ratio"}
    for c in frame.columns:
        if isinstance(frame[c].iloc[0], dict | list):
            continue
        name = str(c)
        label = name.replace("_", " ")
        if name.endswith("_gbp"):
            kind, label = "gbp", f"{name[:-4].replace('_', ' ')} (GBP)"
        else:
            numeric = pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(
                frame[c]
            )
            kind = kinds.get(name, "num" if numeric else "text")
        if kind == "text":
            frame[c] = [
                ("yes" if v else "no") if isinstance(v, bool) else ("" if v is None else str(v))
                for v in frame[c]
            ]
        cols.append((name, label, kind))
    return _table(key, caption, frame, cols)


def value_for_money(ctx: Context, h: Headline) -> Section:
    """Return value for money: the views, the thresholds and the cumulative NPSV chart."""
    a = ctx.appraisal
    thresholds = pd.DataFrame(
        [
            {"label": label, "below": math.nan if below is None else below}
            for label, below in ctx.params.vfm
        ]
    )
    data = plots.cumulative_npsv_data(a)
    cols = [
        ("financial_year", "Financial year", "text"),
        ("pv_costs_gbp", "PV costs in year (GBP, real)", "gbp"),
        ("pv_benefits_gbp", "PV benefits in year (GBP, real)", "gbp"),
        ("cumulative_npsv_gbp", "Cumulative NPSV (GBP, real)", "gbp"),
    ]
    if "cumulative_npsv_p10_gbp" in data:
        cols += [
            ("cumulative_npsv_p10_gbp", "Cumulative NPSV P10 (GBP, real)", "gbp"),
            ("cumulative_npsv_p90_gbp", "Cumulative NPSV P90 (GBP, real)", "gbp"),
        ]
    chart = _chart(
        "cumulative-npsv",
        plots.cumulative_npsv_chart(a),
        data,
        cols,
        "Present values by year and the cumulative NPSV, ex-post view",
    )
    tables = [
        _table(
            "vfm-views",
            "Value for money by view (GBP, real)",
            _views(a),
            [
                ("view", "View", "text"),
                ("years", "Years", "text"),
                ("pv_costs", "PV costs (GBP)", "gbp"),
                ("pv_benefits", "PV benefits (GBP)", "gbp"),
                ("npsv", "NPSV (GBP)", "gbp"),
                ("bcr", "BCR", "ratio"),
                ("vfm", "Value-for-money category", "text"),
                ("cashable_bcr", "Cashable BCR", "ratio"),
                ("payback", "Payback year", "text"),
            ],
        ),
        _table(
            "vfm-thresholds",
            "Value-for-money categories (editable thresholds)",
            thresholds,
            [("label", "Category", "text"), ("below", "BCR below", "ratio")],
            note="[x] in 'BCR below': the top category has no upper bound.",
        ),
    ]
    for extra in (
        _options_table(a),
        _frame_table(
            getattr(a, "non_monetised", None),
            "non-monetised",
            "Impacts not valued in money, and the value they would need",
        ),
    ):
        if extra is not None:
            tables.append(extra)
    return Section(
        key="value-for-money",
        title="Value for money",
        paragraphs=(
            f"NPSV {gbp_m(h.npsv)} and BCR {h.bcr:.2f} give the category '{h.vfm_category}'. "
            "The category is a label on an editable scale, not a pass or fail; a BCR below 1 is "
            "not automatically poor value when important impacts are not valued in money.",
        ),
        tables=tuple(tables),
        charts=(chart,),
    )


def uncertainty(ctx: Context, h: Headline) -> Section:
    """Return uncertainty: tornado, switching values, scenarios and the Monte Carlo."""
    a = ctx.appraisal
    u = a.uncertainty
    charts = []
    tables = []
    if not u.sensitivity.empty:
        data = plots.tornado_data(u.sensitivity)
        charts.append(
            _chart(
                "tornado",
                plots.tornado_chart(u.sensitivity, top=None),
                data,
                [
                    ("input", "Input", "text"),
                    ("npsv_at_low_gbp", "NPSV at low (GBP)", "gbp"),
                    ("npsv_at_high_gbp", "NPSV at high (GBP)", "gbp"),
                    ("swing_gbp", "Swing (GBP)", "gbp"),
                ],
                "One-way sensitivity of the NPSV (tornado data)",
            )
        )
    if not u.switching_values.empty:
        sv = u.switching_values.copy()
        sv["central"] = sv["central"].astype(str)
        tables.append(
            _table(
                "switching-values",
                "Switching values: the value at which NPSV becomes zero",
                sv,
                [
                    ("description", "Input", "text"),
                    ("central", "Central value", "text"),
                    ("switching_value", "Switching value", "num"),
                    ("change_pct", "Change needed (%)", "num1"),
                    ("note", "Note", "text"),
                ],
            )
        )
    if not u.scenarios.empty:
        tables.append(
            _table(
                "scenarios",
                "Scenarios (GBP, real)",
                u.scenarios,
                [
                    ("scenario", "Scenario", "text"),
                    ("description", "What changes", "text"),
                    ("pv_costs", "PV costs (GBP)", "gbp"),
                    ("pv_benefits", "PV benefits (GBP)", "gbp"),
                    ("npsv", "NPSV (GBP)", "gbp"),
                    ("bcr", "BCR", "ratio"),
                    ("vfm_category", "Category", "text"),
                ],
            )
        )
    mc = a.monte_carlo
    paragraphs = [
        "The tornado chart moves one input at a time to its low and high value; switching values "
        "say how far an input must move for the NPSV to reach zero.",
    ]
    if mc is not None:
        data = plots.monte_carlo_data(mc)
        charts.append(
            _chart(
                "monte-carlo",
                plots.monte_carlo_chart(mc),
                data,
                [
                    ("bin_low_gbp", "NPSV from (GBP)", "gbp"),
                    ("bin_high_gbp", "NPSV to (GBP)", "gbp"),
                    ("draws", "Draws", "int"),
                    ("share", "Share of draws (%)", "pct"),
                ],
                "Monte Carlo distribution of the NPSV",
            )
        )
        paragraphs.append(
            f"Monte Carlo ({mc.draws:,} draws, seed {mc.seed}): P10 {gbp_m(mc.p10)}, P50 "
            f"{gbp_m(mc.p50)}, P90 {gbp_m(mc.p90)}; probability that the NPSV is above zero "
            f"{percent(mc.prob_positive)} (Monte Carlo standard error "
            f"{percent(mc.prob_positive_se, 2)}). Uncertain inputs: "
            f"{', '.join(mc.uncertain_inputs)}."
        )
    return Section(
        key="uncertainty",
        title="Uncertainty",
        paragraphs=tuple(paragraphs),
        tables=tuple(tables),
        charts=tuple(charts),
    )


def rollout(ctx: Context, h: Headline) -> Section:
    """Return the national rollout projection and what must hold for it to break even."""
    roll = ctx.appraisal.rollout
    if roll is None:
        return Section(
            key="rollout",
            title="National rollout",
            paragraphs=("No national rollout was projected.",),
        )
    data = plots.rollout_data(roll)
    chart = _chart(
        "rollout",
        plots.rollout_chart(roll),
        data,
        [
            ("financial_year", "Financial year", "text"),
            ("forces_live", "Forces live", "int"),
            ("costs_gbp", "Costs (GBP, real)", "gbp"),
            ("benefits_gbp", "Benefits (GBP, real)", "gbp"),
            ("net_gbp", "Net (GBP, real)", "gbp"),
            ("cumulative_npsv_gbp", "Cumulative NPSV (GBP, real)", "gbp"),
        ],
        "National rollout by year",
    )
    s = roll.summary
    verdict = (
        "The evidence supports funding teams in every force."
        if s.npsv >= 0
        else "The evidence does not yet support funding teams in every force."
    )
    return Section(
        key="rollout",
        title="National rollout",
        paragraphs=(
            f"Scaling the pilots' costs and effects to {roll.n_forces} forces by "
            f"{roll.driver} from {s.first_year}: PV costs {gbp_m(s.pv_costs)}, PV benefits "
            f"{gbp_m(s.pv_benefits)}, NPSV {gbp_m(s.npsv)}, BCR {s.bcr:.2f} ('{s.vfm_category}'). "
            + verdict,
            "What must hold for the rollout to break even (each on its own):",
        ),
        bullets=tuple(roll.break_even) or ("No switching value could be computed.",),
        charts=(chart,),
    )


# ---------------------------------------------------------------- change since last year


def change_since(ctx: Context, h: Headline, previous: AnnualReport) -> Section:
    """Return how the estimates and the appraisal moved since ``previous``, and why."""
    p = previous.headline
    rows = [
        ("NPSV (GBP, real)", p.npsv, h.npsv, "gbp"),
        ("PV costs (GBP, real)", p.pv_costs, h.pv_costs, "gbp"),
        ("PV benefits (GBP, real)", p.pv_benefits, h.pv_benefits, "gbp"),
        ("BCR", p.bcr, h.bcr, "ratio"),
        ("Cashable BCR", p.cashable_bcr, h.cashable_bcr, "ratio"),
        ("P(NPSV > 0)", p.prob_positive, h.prob_positive, "pct"),
        ("Pilot forces live", p.pilots_live, h.pilots_live, "int"),
    ]
    frame = pd.DataFrame(
        [
            {
                "measure": m,
                "last_year": _num(a),
                "this_year": _num(b),
                "change": _num(b) - _num(a),
                "kind": k,
            }
            for m, a, b, k in rows
        ]
    )
    text = pd.DataFrame(
        [
            {
                "measure": "Value-for-money category",
                "last_year": p.vfm_category,
                "this_year": h.vfm_category,
            },
            {
                "measure": "Payback year",
                "last_year": p.payback_year or "not within the period",
                "this_year": h.payback_year or "not within the period",
            },
            {"measure": "Confidence", "last_year": p.confidence, "this_year": h.confidence},
        ]
    )
    for col in ("last_year", "this_year", "change"):
        frame[f"{col}_text"] = [
            format_value(v, "gbp" if k == "gbp" else k)
            for v, k in zip(frame[col], frame["kind"], strict=True)
        ]
    prev_eff = previous.effects.set_index("metric")
    eff_rows = []
    for rec in ctx.effects.to_dict("records"):
        m = rec["metric"]
        before = prev_eff.loc[m] if m in prev_eff.index else None
        eff_rows.append(
            {
                "metric": m,
                "unit": rec["unit"],
                "last_year": math.nan if before is None else float(before["estimate"]),
                "last_ci": "[x]"
                if before is None
                else f"{float(before['ci_low']):,.1f} to {float(before['ci_high']):,.1f}",
                "this_year": float(rec["estimate"]),
                "this_ci": f"{float(rec['ci_low']):,.1f} to {float(rec['ci_high']):,.1f}",
            }
        )
    reasons = _reasons(ctx, h, previous)
    direction = "rose" if h.npsv > p.npsv else "fell"
    lead = (
        f"Since {previous.year}, the NPSV {direction} from {gbp_m(p.npsv)} to {gbp_m(h.npsv)} "
        f"and the BCR moved from {p.bcr:.2f} to {h.bcr:.2f}"
        + (
            f"; P(NPSV > 0) moved from {percent(p.prob_positive, 0)} to "
            f"{percent(h.prob_positive, 0)}"
            if p.prob_positive is not None and h.prob_positive is not None
            else ""
        )
        + "."
    )
    return Section(
        key="change",
        title=f"Change since {previous.year}",
        paragraphs=(lead, "Why the figures moved:"),
        bullets=reasons,
        tables=(
            _table(
                "change-measures",
                f"Headline measures, {previous.year} and {ctx.year}",
                frame,
                [
                    ("measure", "Measure", "text"),
                    ("last_year_text", previous.year, "text"),
                    ("this_year_text", ctx.year, "text"),
                    ("change_text", "Change", "text"),
                ],
                note="Money in GBP, real prices; the frame keeps the unrounded numbers.",
            ),
            _table(
                "change-labels",
                f"Labels, {previous.year} and {ctx.year}",
                text,
                [
                    ("measure", "Measure", "text"),
                    ("last_year", previous.year, "text"),
                    ("this_year", ctx.year, "text"),
                ],
            ),
            _table(
                "change-effects",
                f"Effects per pilot force-year, {previous.year} and {ctx.year}",
                pd.DataFrame(eff_rows),
                [
                    ("metric", "Metric", "text"),
                    ("unit", "Unit", "text"),
                    ("last_year", f"{previous.year} estimate", "num1"),
                    ("last_ci", f"{previous.year} 95% CI", "text"),
                    ("this_year", f"{ctx.year} estimate", "num1"),
                    ("this_ci", f"{ctx.year} 95% CI", "text"),
                ],
            ),
        ),
    )


def _num(x: Any) -> float:
    return math.nan if x is None else float(x)


def _reasons(ctx: Context, h: Headline, previous: AnnualReport) -> tuple[str, ...]:
    p = previous.headline
    out = []
    new = sorted(set(ctx.pilots) - set(previous.forces_live))
    if new:
        out.append(f"New forces live: {len(new)} ({', '.join(new)}).")
    else:
        out.append("No new forces went live.")
    out.append(
        f"Costs: PV costs moved by {gbp_m(h.pv_costs - p.pv_costs)}, as outturn replaced "
        "projection and new forces' costs were added."
    )
    out.append(
        f"Benefits: PV benefits moved by {gbp_m(h.pv_benefits - p.pv_benefits)}, as the effects "
        "were re-estimated on a longer panel (see the effects table) and more force-years are live."
    )
    out.append(
        f"New data: the panel now runs to {ctx.last_period} (last year: {previous.last_period}) "
        f"and the ledger's outturn to {ctx.year} (last year: {previous.year}); costs after the "
        "outturn are projections, so a year of outturn replaces a year of projection."
    )
    pv_old, pv_new = previous.params, ctx.params
    if (pv_old.name, pv_old.version) != (pv_new.name, pv_new.version) or dict(pv_old.raw) != dict(
        pv_new.raw
    ):
        out.append(
            f"New parameters: {pv_old.name} {pv_old.version} replaced by "
            f"{pv_new.name} {pv_new.version}."
        )
    else:
        out.append(f"Parameters unchanged ({pv_new.name} version {pv_new.version}).")
    old_m = previous.manifest.get("parameters", {})
    new_m = ctx.result.manifest.get("parameters", {})
    changed = [
        k
        for k in ("method", "inference", "reps", "monte_carlo_draws")
        if old_m.get(k) != new_m.get(k)
    ]
    if changed:
        out.append("Method settings changed: " + ", ".join(changed) + ".")
    return tuple(out)


# ---------------------------------------------------------------- annexes


def annexes(
    ctx: Context, qa: QaRoles, sources: Mapping[str, Mapping[str, str]]
) -> tuple[Section, ...]:
    """Return the annexes: data dictionary, assumptions log, QA log and notes."""
    metrics = [
        {
            "name": m,
            "description": ctx.describe(m),
            "unit": ctx.unit_of(m),
            "better": ctx.better(m),
            "aggregation": str(getattr(ctx.metrics.get(m), "aggregation", "")),
        }
        for m in ctx.result.results
    ]
    dictionary = _table(
        "data-dictionary",
        "Data dictionary: the panel's metrics",
        pd.DataFrame(metrics),
        [
            ("name", "Metric", "text"),
            ("description", "Description", "text"),
            ("unit", "Unit", "text"),
            ("better", "Better if", "text"),
            ("aggregation", "Aggregation over a year", "text"),
        ],
    )
    inputs_dd = pd.DataFrame(
        [
            ("panel", "force, period and one column per metric: one row per force and period"),
            ("register", "force, wave, go_live (and optional ended): one row per pilot force"),
            (
                "ledger",
                "force, date, financial_year, category, kind, amount_gbp, price_basis, "
                "description: cash outturn of the pilots",
            ),
            ("parameters", "Green Book parameters with source, vintage and confidence (TOML)"),
        ],
        columns=["file", "columns"],
    )
    files_table = _table(
        "input-files",
        "Input files and their columns",
        inputs_dd,
        [("file", "Input", "text"), ("columns", "Columns", "text")],
    )
    log = ctx.appraisal.assumptions.copy()
    log["value"] = log["value"].astype(str)
    log["flag"] = ["UNVERIFIED" if u else "" for u in log["unverified"]]
    for col in ("unit", "price_base", "source", "vintage"):
        log[col] = log[col].where(log[col].notna(), "").astype(str)
    log["confidence"] = pd.to_numeric(log["confidence"], errors="coerce")
    n_unverified = int(log["unverified"].astype(bool).sum())
    assumptions = _table(
        "assumptions",
        "Assumptions log: every parameter with its source, vintage and confidence",
        log,
        [
            ("key", "Parameter", "text"),
            ("value", "Value", "text"),
            ("unit", "Unit", "text"),
            ("price_base", "Price base", "text"),
            ("source", "Source", "text"),
            ("vintage", "Vintage", "text"),
            ("confidence", "Confidence (1 best to 5)", "int"),
            ("flag", "Unverified", "text"),
        ],
        note="Values marked UNVERIFIED have not been checked against their source.",
    )
    man = ctx.result.manifest
    files = [
        {"input": f"{k} (as supplied)", "file": v.get("file", ""), "sha256": v.get("sha256", "")}
        for k, v in sources.items()
    ] + [
        {"input": f"{k} (as at {ctx.year_end.date()})", "file": v["file"], "sha256": v["sha256"]}
        for k, v in man.get("inputs", {}).items()
    ]
    hashes = _table(
        "qa-inputs",
        "QA log: input files and their SHA-256 hashes",
        pd.DataFrame(files, columns=["input", "file", "sha256"]),
        [("input", "Input", "text"), ("file", "File", "text"), ("sha256", "SHA-256", "text")],
    )
    settings = [(k, _text(v)) for k, v in man.get("parameters", {}).items()]
    settings += [
        ("seed", _text(man.get("seed"))),
        ("toolkit version", _text(man.get("version"))),
        ("python", _text(man.get("python"))),
        ("parameter set", f"{ctx.params.name} {ctx.params.version}"),
        *[(role.lower(), name) for role, name in qa.items()],
    ]
    run = _table(
        "qa-run",
        "QA log: run settings, seed, version and QA roles",
        pd.DataFrame(settings, columns=["setting", "value"]),
        [("setting", "Setting", "text"), ("value", "Value", "text")],
    )
    notes = tuple(ctx.cut_notes) + tuple(ctx.appraisal.notes)
    return (
        Section(
            key="annex-data", title="Annex A: data dictionary", tables=(dictionary, files_table)
        ),
        Section(
            key="annex-assumptions",
            title="Annex B: assumptions log",
            paragraphs=(f"{n_unverified} parameter(s) are flagged as unverified.",),
            tables=(assumptions,),
        ),
        Section(
            key="annex-qa",
            title="Annex C: quality assurance log",
            paragraphs=(
                "Rerunning with the same input files (same SHA-256), parameters, "
                "seed and version gives the same figures.",
            ),
            tables=(hashes, run),
        ),
        Section(key="annex-notes", title="Annex D: notes and caveats", bullets=notes),
    )


def _text(v: Any) -> str:
    if isinstance(v, list | tuple):
        return ", ".join(map(str, v))
    return "" if v is None else str(v)
