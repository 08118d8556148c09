"""The sheets of the finance workbook (private; see :mod:`.workbook`).

Names used by the formulas, defined once here:

* Inputs: ``price_base_year``, ``discount_rate`` (years 1-30), ``ob_stage``, ``cost_scale``,
  ``effect_<metric>`` (with ``_se``, ``_ci_low``, ``_ci_high``), ``unit_<unit value>``;
* tables: ``deflator_year``, ``deflator_index``, ``discount_bands``, ``ob_category``,
  ``ob_rate``, ``vfm_table``; cost lines ``cost_*``, benefit lines ``ben_*``, years ``year_*``;
* results: ``pv_costs``, ``pv_benefits``, ``npsv``, ``bcr``, ``vfm_category``, ``pv_cashable``,
  ``cashable_bcr``, ``cashable_roi``, ``payback_year``, ``pv_wider``, ``npsv_with_wider``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Font

from evaluation.annual._workbook_checks import checks_sheet, sensitivity_sheet
from evaluation.annual.formatting import EXCEL_FORMATS
from evaluation.annual.workbook import HEADER_ROW, F, _Book, _name_ok, _put, _Sheet
from evaluation.appraisal.optimism import ob_rates

if TYPE_CHECKING:  # pragma: no cover
    from evaluation.annual.model import AnnualReport

__all__ = ["SHEETS", "build_sheets"]

#: Sheet name -> what it contains (the Contents sheet).
SHEETS: dict[str, str] = {
    "Cover": "Title, year, data cut-off, QA roles and how to use the workbook",
    "Contents": "This list",
    "Notes": "Notes referred to in the sheets as [note N]",
    "Inputs": "Named input cells: discount rate, optimism-bias stage, effects, unit values",
    "Deflator": "GDP deflator index by financial year",
    "Discount_bands": "The declining discount schedule (the first band is the discount_rate input)",
    "Optimism_bias": "Optimism-bias bounds by cost category and the rate applied",
    "VfM_thresholds": "Editable value-for-money categories by BCR",
    "Costs": "Cost lines: amount, deflation to real prices, optimism bias, adjusted cost",
    "Benefits": "Benefit lines: effect x force-years x unit value, and present value",
    "Appraisal": "By year: costs, benefits, discount factor, present values, payback",
    "Go_forward": "The decision view by year: from the decision year, sunk costs left out",
    "Rollout": "The national rollout by year: projected costs and benefits, discounted",
    "Chart": "Chart of the cumulative NPSV by year (drawn from the Appraisal sheet)",
    "Results": "NPSV, BCR, cashable BCR, value-for-money category, payback",
    "Sensitivity": "One-way sensitivities of NPSV",
    "Checks": "Totals reconcile; the workbook agrees with the toolkit",
    "Effects": "Estimated effects of the pilots (values)",
}


def _idx(name: str, key_ref: str) -> str:
    return f"INDEX({name}_index,MATCH({key_ref},{name}_year,0))"


def _deflate(price_year_ref: str) -> str:
    return f"{_idx('deflator', 'price_base_year')}/{_idx('deflator', price_year_ref)}"


def _f(x: Any) -> float:
    return math.nan if x is None else float(x)


def build_sheets(book: _Book, report: AnnualReport) -> None:
    """Write every sheet of the workbook into ``book``."""
    a, params = report.appraisal, report.params
    s = a.summary
    pb = s.price_base_year
    _cover(book, report)
    _simple(
        book,
        "Contents",
        "Contents",
        "The sheets of this workbook, in order.",
        [("Sheet", "text"), ("What it contains", "text")],
        [[k, v] for k, v in SHEETS.items()],
        "contents",
    )
    notes = [
        [
            "[note 1]",
            f"Money is in GBP, real {pb} prices (GDP deflator, vintage "
            f"{params.deflator_vintage}), unless a header says nominal.",
        ],
        [
            "[note 2]",
            f"Discounting: {s.discount_base_year} is year 0; the factor for year t is the "
            "product over s = 1..t of 1 / (1 + rate(s)), the rate being discount_rate for "
            "years 1 to 30 and the Discount_bands table after.",
        ],
        [
            "[note 3]",
            "Cost lines after the last outturn year (forecast, refresh, residual) are the "
            "toolkit's projections in real prices; they do not move with the deflator inputs.",
        ],
        ["[note 4]", "Benefit force-years (scale x ramp-up x persistence) come from the toolkit."],
        [
            "[note 5]",
            "The value-for-money category is a label on an editable scale, not a pass or fail.",
        ],
        [
            "[note 6]",
            "The Checks sheet compares with the toolkit run at the inputs as supplied: "
            "after an input is changed its comparisons are expected to differ.",
        ],
        [
            "[note 7]",
            "Non-linear sensitivities (optimism-bias stage, asset life, decay) are the "
            "toolkit's re-appraisals, entered as values.",
        ],
        ["[note 8]", "[x] not available; [z] not applicable."],
    ]
    notes += [[f"[note {9 + i}]", n] for i, n in enumerate(a.notes)]
    _simple(
        book,
        "Notes",
        "Notes",
        "Notes referred to in the other sheets.",
        [("Note number", "text"), ("Note text", "text")],
        notes,
        "notes",
        widths=[14, 110],
    )
    _inputs(book, report)
    _reference_tables(book, report)
    _costs(book, report)
    _benefits(book, report)
    _appraisal(book, report)
    _go_forward(book, report)
    _rollout(book, report)
    _chart(book, report)
    _results(book, report)
    sens = sensitivity_sheet(book, report)
    checks_sheet(book, report, sens)
    e = report.effects
    eff_rows = [
        [
            r["metric"],
            r["unit"],
            r["estimate"],
            r["se"],
            r["ci_low"],
            r["ci_high"],
            r["p_value"],
            r["method"],
            r["inference"],
        ]
        for r in e.to_dict("records")
    ]
    _simple(
        book,
        "Effects",
        "Estimated effects of the pilots",
        "Per pilot force-year in natural units (difference-in-differences).",
        [
            ("Metric", "text"),
            ("Unit", "text"),
            ("Effect per pilot force-year", "num"),
            ("Standard error", "num"),
            ("95% CI low", "num"),
            ("95% CI high", "num"),
            ("p-value", "p"),
            ("Estimator", "text"),
            ("Inference", "text"),
        ],
        eff_rows,
        "effects",
    )


def _simple(
    book: _Book,
    title: str,
    heading: str,
    description: str,
    columns: list[tuple[str, str]],
    rows: list[list[Any]],
    table: str,
    widths: list[float] | None = None,
) -> _Sheet:
    sheet = _Sheet(book, title, heading, description, columns)
    for r in rows:
        sheet.add(r)
    sheet.finish(table, widths)
    return sheet


def _cover(book: _Book, report: AnnualReport) -> None:
    ws = book.wb.create_sheet("Cover")
    lines: list[tuple[str, Any]] = [
        (report.title, None),
        (
            "Finance workbook: every figure on the calculation sheets is a formula traced to the "
            "named cells of the Inputs sheet. Change an input (for example discount_rate) and the "
            "NPSV and BCR on the Results sheet recompute.",
            None,
        ),
        ("", None),
    ]
    lines += [(f"{k}: ", v) for k, v in report.cover]
    lines += [(f"{role}: ", name) for role, name in report.qa.items()]
    lines += [
        ("Source: ", "Pathfinder toolkit (difference-in-differences and Green Book appraisal)"),
        ("Notes: ", "see the Notes sheet; [x] not available, [z] not applicable."),
    ]
    for i, (label, value) in enumerate(lines, start=1):
        cell = ws.cell(row=i, column=1)
        _put(cell, label if value is None else f"{label}{value}")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws["A1"].font = Font(bold=True, size=16)
    ws.column_dimensions["A"].width = 120


def _inputs(book: _Book, report: AnnualReport) -> None:
    a, params = report.appraisal, report.params
    sheet = _Sheet(
        book,
        "Inputs",
        "Inputs (named cells)",
        "Each value has a defined name (column Name) used by the formulas. Change a "
        "value to see the results recompute [note 6].",
        [
            ("Name", "text"),
            ("Value", "num"),
            ("Unit", "text"),
            ("Description", "text"),
            ("Source", "text"),
        ],
    )
    rate = params.discount_bands[0].rate

    def named(name: str, value: Any, unit: str, desc: str, source: str, kind: str) -> None:
        row = sheet.add([name, value, unit, desc, source])
        sheet.ws[sheet.ref("Value", row)].number_format = EXCEL_FORMATS[kind]
        book.define(name, sheet.qualified("Value", row))

    named(
        "price_base_year",
        a.summary.price_base_year,
        "financial year",
        "Price base year of real values",
        "parameters: settings.price_base_year",
        "text",
    )
    named(
        "discount_rate",
        rate,
        "rate, years 1-30",
        "Social time preference rate for years 1 to 30 [note 2]",
        "HM Treasury Green Book 2022",
        "pct",
    )
    named(
        "ob_stage",
        params.ob_pilot_stage,
        "lower, upper or none",
        "Optimism-bias bound applied to projected costs",
        "parameters: optimism_bias",
        "text",
    )
    named(
        "cost_scale",
        float(params.cost_scale.value),
        "multiplier",
        "Multiplier on all costs (sensitivity only; 1 = as appraised)",
        str(params.cost_scale.source),
        "num",
    )
    for r in report.effects.to_dict("records"):
        m = _name_ok(str(r["metric"]))
        unit = f"{r['unit']} per pilot force-year"
        named(
            f"effect_{m}",
            float(r["estimate"]),
            unit,
            f"Estimated effect on {r['metric']}",
            f"{r['method']}, {r['inference']} inference",
            "num",
        )
        named(
            f"effect_{m}_se",
            float(r["se"]),
            unit,
            f"Standard error of effect_{m}",
            "estimation",
            "num",
        )
        named(
            f"effect_{m}_ci_low", float(r["ci_low"]), unit, "95% interval, low", "estimation", "num"
        )
        named(
            f"effect_{m}_ci_high",
            float(r["ci_high"]),
            unit,
            "95% interval, high",
            "estimation",
            "num",
        )
    for name, p in params.unit_values.items():
        unit = str(p.unit or "")
        if p.price_base:
            unit = f"{unit} (GBP, {p.price_base} prices)".strip()
        named(
            f"unit_{_name_ok(name)}",
            float(p.value),
            unit,
            f"Unit value {name}",
            f"{p.source} ({p.vintage})" + (" UNVERIFIED" if p.unverified else ""),
            "num",
        )
    sheet.finish("inputs", [34, 16, 30, 50, 60])


def _reference_tables(book: _Book, report: AnnualReport) -> None:
    params = report.params
    defl = _Sheet(
        book,
        "Deflator",
        "GDP deflator",
        f"Index by financial year; vintage {params.deflator_vintage}.",
        [("Financial year", "text"), ("GDP deflator index", "num")],
    )
    for year, value in sorted(params.deflator.items()):
        defl.add([year, float(value)])
    defl.name_column("deflator_year", "Financial year")
    defl.name_column("deflator_index", "GDP deflator index")
    defl.finish("deflator", [18, 22])

    bands = _Sheet(
        book,
        "Discount_bands",
        "Discount schedule",
        "Rate by year band [note 2]; the first band's rate is the discount_rate input.",
        [("From year", "int"), ("To year", "text"), ("Rate (%)", "pct")],
    )
    for i, b in enumerate(params.discount_bands):
        rate: Any = F("discount_rate", b.rate) if i == 0 else b.rate
        bands.add([b.from_year, "[z]" if b.to_year is None else str(b.to_year), rate])
    book.define("discount_bands", f"'Discount_bands'!$A${HEADER_ROW + 1}:$C${bands.next_row - 1}")
    bands.finish("discount_bands", [12, 12, 12])

    ob = _Sheet(
        book,
        "Optimism_bias",
        "Optimism bias",
        "Lower and upper bounds by cost category (Mott MacDonald 2002) and the upper bound "
        "after recorded mitigation; the rate applied follows the ob_stage input.",
        [
            ("Cost category", "text"),
            ("Lower bound (%)", "pct"),
            ("Upper bound (%)", "pct"),
            ("Mitigated rate (%)", "pct"),
            ("Rate applied (%)", "pct"),
        ],
    )
    applied = ob_rates(params, params.ob_pilot_stage)
    for cat, (lo, hi) in params.ob_bounds.items():
        row = ob.next_row
        lo_ref, hi_ref = ob.ref("Lower bound (%)", row), ob.ref("Upper bound (%)", row)
        mit_ref = ob.ref("Mitigated rate (%)", row)
        ob.add(
            [
                cat,
                lo,
                hi,
                _mitigated(params, cat, hi),
                F(
                    f'IF(ob_stage="upper",{hi_ref},IF(ob_stage="lower",{lo_ref},'
                    f'IF(ob_stage="mitigated",{mit_ref},0)))',
                    applied[cat],
                ),
            ]
        )
    ob.name_column("ob_category", "Cost category")
    ob.name_column("ob_rate", "Rate applied (%)")
    ob.finish("optimism_bias", [18, 16, 16, 16, 16])

    vfm = _Sheet(
        book,
        "VfM_thresholds",
        "Value-for-money categories",
        "Edit 'BCR below' to change the scale; a BCR at or above a category's upper "
        "bound falls in the next [note 5].",
        [("BCR from", "ratio"), ("BCR below", "ratio"), ("Value-for-money category", "text")],
    )
    for i, (label, below) in enumerate(params.vfm):
        row = vfm.next_row
        start: Any = -1e9 if i == 0 else F(vfm.ref("BCR below", row - 1), params.vfm[i - 1][1])
        vfm.add([start, "[z]" if below is None else below, label])
    book.define("vfm_table", f"'VfM_thresholds'!$A${HEADER_ROW + 1}:$C${vfm.next_row - 1}")
    vfm.finish("vfm_thresholds", [12, 12, 26])


def _mitigated(params: Any, category: str, upper: float) -> float:
    """Return the category's mitigated optimism-bias rate (the upper bound if not modelled)."""
    try:
        from evaluation.appraisal.optimism import mitigated_rate
    except ImportError:  # a toolkit without mitigation steps
        return float(upper)
    return float(mitigated_rate(params, category))


def _fixed(cost_lines: Any) -> list[bool]:
    """Flag the cost lines the cost-scale range leaves alone (as the toolkit does)."""
    try:
        from evaluation.appraisal.uncertainty import fixed_costs
    except ImportError:  # a toolkit whose cost scale applies to every line
        return [False] * len(cost_lines)
    return [bool(x) for x in fixed_costs(cost_lines)]


def _costs(book: _Book, report: AnnualReport) -> _Sheet:
    a, params = report.appraisal, report.params
    pb = a.summary.price_base_year
    rates = ob_rates(params, params.ob_pilot_stage)
    sheet = _Sheet(
        book,
        "Costs",
        "Cost lines",
        "Outturn from the ledger and the toolkit's projections [note 3]; base cost = "
        "amount x deflator factor; adjusted = base x (1 + optimism-bias rate) [note 1].",
        [
            ("Force", "text"),
            ("Financial year", "text"),
            ("Category", "text"),
            ("Kind", "text"),
            ("Basis", "text"),
            ("Price year", "text"),
            ("Amount (GBP, prices of price year)", "gbp"),
            ("Deflator factor", "factor"),
            ("Base cost (GBP, real)", "gbp"),
            ("Optimism bias applies", "text"),
            ("Optimism-bias rate (%)", "pct"),
            ("Optimism-bias uplift (GBP, real)", "gbp"),
            ("Adjusted cost (GBP, real)", "gbp"),
            ("Sunk", "text"),
            ("Scaled by cost_scale", "text"),
            ("Present value (GBP, real)", "gbp"),
        ],
    )
    fixed = _fixed(a.cost_lines)
    for r, is_fixed in zip(a.cost_lines.to_dict("records"), fixed, strict=True):
        row = sheet.next_row
        basis = str(r["basis"])
        nominal = basis == "outturn" and str(r["price_basis"]) == "nominal"
        price_year = (
            str(r["financial_year"])
            if nominal
            else (str(r["price_basis"])[5:] if basis == "outturn" else pb)
        )
        amount = (
            float(r["nominal_gbp"])
            if nominal
            else float(r["base_real_gbp"]) / float(r["deflator_factor"])
        )
        if basis == "outturn":
            applies = params.ob_apply_to_outturn
        elif basis == "residual":
            applies = float(r["ob_rate"]) > 0 or rates.get(str(r["category"]), 0.0) == 0
        else:
            applies = True
        c = {k: sheet.ref(k, row) for k in sheet.columns}
        sheet.add(
            [
                r["force"],
                r["financial_year"],
                r["category"],
                r["kind"],
                basis,
                price_year,
                amount,
                F(_deflate(c["Price year"]), float(r["deflator_factor"])),
                F(
                    f"{c['Amount (GBP, prices of price year)']}*{c['Deflator factor']}",
                    float(r["base_real_gbp"]),
                ),
                "yes" if applies else "no",
                F(
                    f'IF({c["Optimism bias applies"]}="yes",INDEX(ob_rate,MATCH({c["Category"]},'
                    f"ob_category,0)),0)",
                    float(r["ob_rate"]),
                ),
                F(
                    f"{c['Base cost (GBP, real)']}*{c['Optimism-bias rate (%)']}",
                    float(r["ob_uplift_gbp"]),
                ),
                F(
                    f"{c['Base cost (GBP, real)']}+{c['Optimism-bias uplift (GBP, real)']}",
                    float(r["adjusted_gbp"]),
                ),
                bool(r["sunk"]),
                not is_fixed,
                F(
                    f"{c['Adjusted cost (GBP, real)']}*INDEX(year_discount_factor,MATCH("
                    f"{c['Financial year']},year_label,0))",
                    float(r["pv_gbp"]),
                ),
            ]
        )
    sheet.name_column("cost_year", "Financial year")
    sheet.name_column("cost_scaled", "Scaled by cost_scale")
    sheet.name_column("cost_pv", "Present value (GBP, real)")
    sheet.name_column("cost_adjusted", "Adjusted cost (GBP, real)")
    sheet.name_column("cost_base", "Base cost (GBP, real)")
    sheet.name_column("cost_sunk", "Sunk")
    sheet.finish("cost_lines")
    return sheet


def _benefits(book: _Book, report: AnnualReport) -> None:
    a, params = report.appraisal, report.params
    lines = {b.name: b for b in params.benefits}
    sheet = _Sheet(
        book,
        "Benefits",
        "Benefit lines",
        "Value = sign x effect x force-years x unit value product x deflator factor x "
        "real growth x (1 - shortfall) [note 4]; present value = value x the year's "
        "discount factor.",
        [
            ("Line", "text"),
            ("Metric", "text"),
            ("Force", "text"),
            ("Financial year", "text"),
            ("Sign", "int"),
            ("Force-years", "factor"),
            ("Effect per pilot force-year", "num"),
            ("Unit values", "text"),
            ("Unit value product", "num"),
            ("Unit value price base", "text"),
            ("Deflator factor", "factor"),
            ("Shortfall rate (%)", "pct"),
            ("Real growth factor", "factor"),
            ("Value (GBP, real)", "gbp"),
            ("Cashable", "text"),
            ("Wider", "text"),
            ("Present value (GBP, real)", "gbp"),
        ],
    )
    for r in a.benefit_lines.to_dict("records"):
        row = sheet.next_row
        c = {k: sheet.ref(k, row) for k in sheet.columns}
        names = lines[str(r["line"])].unit_value
        product = "*".join(f"unit_{_name_ok(n)}" for n in names) or "1"
        sheet.add(
            [
                r["line"],
                r["metric"],
                r["force"],
                r["financial_year"],
                int(r["sign"]),
                float(r["volume_force_years"]),
                F(f"effect_{_name_ok(str(r['metric']))}", float(r["estimate"])),
                "/" + "/".join(names) + "/",
                F(product, float(r["unit_value_base"])),
                str(r["unit_value_price_base"]),
                F(_deflate(c["Unit value price base"]), float(r["unit_value_deflator"])),
                float(r["shortfall_rate"]),
                float(r.get("real_growth_factor", 1.0)),
                F(
                    f"{c['Sign']}*{c['Effect per pilot force-year']}*{c['Force-years']}*"
                    f"{c['Unit value product']}*{c['Deflator factor']}"
                    f"*{c['Real growth factor']}*(1-{c['Shortfall rate (%)']})",
                    float(r["value_gbp"]),
                ),
                bool(r["cashable"]),
                bool(r["wider"]),
                F(
                    f"{c['Value (GBP, real)']}*INDEX(year_discount_factor,MATCH("
                    f"{c['Financial year']},year_label,0))",
                    float(r["pv_gbp"]),
                ),
            ]
        )
    for name, col in (
        ("ben_year", "Financial year"),
        ("ben_metric", "Metric"),
        ("ben_units", "Unit values"),
        ("ben_value", "Value (GBP, real)"),
        ("ben_cashable", "Cashable"),
        ("ben_wider", "Wider"),
        ("ben_pv", "Present value (GBP, real)"),
    ):
        sheet.name_column(name, col)
    sheet.finish("benefit_lines")


def _appraisal(book: _Book, report: AnnualReport) -> None:
    _by_year(
        book,
        report.appraisal.by_year,
        sheet_name="Appraisal",
        title="Appraisal by year",
        description="Sums of the cost and benefit lines by year, discounted [note 1] [note 2].",
        prefix="year",
        cost_filter="",
        table_name="appraisal_by_year",
        rate=report.params.discount_bands[0].rate,
    )


def _go_forward(book: _Book, report: AnnualReport) -> None:
    """Write the decision view: from the decision year on, sunk costs out, discounted to it."""
    a = report.appraisal
    if a.go_forward is None or a.go_forward_by_year is None:
        return
    _by_year(
        book,
        a.go_forward_by_year,
        sheet_name="Go_forward",
        title=f"Go-forward view by year (decision year {a.go_forward.first_year})",
        description=(
            f"From {a.go_forward.first_year} (year 0) on, without sunk costs: cost lines whose "
            "Sunk column is yes (spent before the decision year, and the residual value of "
            "assets bought then) are left out [note 1] [note 2]."
        ),
        prefix="gf_year",
        cost_filter=',cost_sunk,"no"',
        table_name="go_forward_by_year",
        rate=report.params.discount_bands[0].rate,
    )


def _rollout(book: _Book, report: AnnualReport) -> None:
    """Write the national rollout by year, discounted by live formulas from its first year.

    Its projected costs and benefits are the toolkit's values (the rollout's lines are not in
    this workbook).
    """
    r = report.appraisal.rollout
    if r is None:
        return
    rs = r.summary
    _by_year(
        book,
        r.by_year,
        sheet_name="Rollout",
        title=f"National rollout to {r.n_forces} forces by year, from {rs.first_year}",
        description=(
            f"The toolkit's projection of the rollout's real costs (optimism bias applied) and "
            f"benefits by year, entered as values; discounted from {rs.first_year} (year 0) by "
            "the discount_rate input [note 1] [note 2]."
        ),
        prefix="ro_year",
        cost_filter=None,
        table_name="rollout_by_year",
        rate=report.params.discount_bands[0].rate,
    )


def _by_year(
    book: _Book,
    t: Any,
    *,
    sheet_name: str,
    title: str,
    description: str,
    prefix: str,
    cost_filter: str | None,
    table_name: str,
    rate: float,
) -> None:
    """Write a by-year sheet: the lines summed by year, discounted from its first year.

    ``cost_filter`` narrows the cost lines (extra SUMIFS criteria); ``None`` writes the yearly
    costs and benefits as the toolkit's values (the rollout, whose lines are projections not in
    this workbook). The columns are named ``<prefix>_label``, ``<prefix>_costs``, ... for the
    results.
    """
    sheet = _Sheet(
        book,
        sheet_name,
        title,
        description,
        [
            ("Financial year", "text"),
            ("Year number", "int"),
            ("t", "int"),
            ("Costs (GBP, real)", "gbp"),
            ("Cashable benefits (GBP, real)", "gbp"),
            ("Non-cashable benefits (GBP, real)", "gbp"),
            ("Core benefits (GBP, real)", "gbp"),
            ("Wider benefits (GBP, real)", "gbp"),
            ("Net benefit (GBP, real)", "gbp"),
            ("Discount rate for year (%)", "pct"),
            ("Discount factor", "factor"),
            ("PV costs (GBP, real)", "gbp"),
            ("PV core benefits (GBP, real)", "gbp"),
            ("PV cashable benefits (GBP, real)", "gbp"),
            ("PV wider benefits (GBP, real)", "gbp"),
            ("PV net (GBP, real)", "gbp"),
            ("Cumulative PV net (GBP, real)", "gbp"),
            ("Paid back from this year", "int"),
        ],
    )
    n = len(t)
    last = HEADER_ROW + n
    recs = t.to_dict("records")
    cum = t["cumulative_pv_net_gbp"].to_numpy(dtype=float)
    for i, r in enumerate(recs):
        row = sheet.next_row
        c = {k: sheet.ref(k, row) for k in sheet.columns}
        y = c["Financial year"]
        tt = int(r["t"])
        rate_cached = rate if tt <= 30 else math.nan
        if i == 0:
            df = F(f"POWER(1+discount_rate,-{c['t']})", float(r["discount_factor"]))
        else:
            prev = sheet.ref("Discount factor", row - 1)
            df = F(
                f"IF({c['t']}<=0,POWER(1+discount_rate,-{c['t']}),"
                f"{prev}/(1+{c['Discount rate for year (%)']}))",
                float(r["discount_factor"]),
            )
        cum_ref = sheet.ref("Cumulative PV net (GBP, real)", row)
        col_cum = sheet.letter("Cumulative PV net (GBP, real)")
        paid = float(cum[i:].min()) >= 0
        sheet.add(
            [
                r["financial_year"],
                int(r["year"]),
                tt,
                *(
                    (
                        F(
                            f"SUMIFS(cost_adjusted,cost_year,{y}{cost_filter})",
                            float(r["costs_gbp"]),
                        ),
                        F(
                            f'SUMIFS(ben_value,ben_year,{y},ben_cashable,"yes",ben_wider,"no")',
                            float(r["benefits_cashable_gbp"]),
                        ),
                        F(
                            f'SUMIFS(ben_value,ben_year,{y},ben_cashable,"no",ben_wider,"no")',
                            float(r["benefits_noncashable_gbp"]),
                        ),
                    )
                    if cost_filter is not None
                    else (
                        float(r["costs_gbp"]),
                        float(r["benefits_cashable_gbp"]),
                        float(r["benefits_noncashable_gbp"]),
                    )
                ),
                F(
                    f"{c['Cashable benefits (GBP, real)']}"
                    f"+{c['Non-cashable benefits (GBP, real)']}",
                    float(r["benefits_gbp"]),
                ),
                F(
                    f'SUMIFS(ben_value,ben_year,{y},ben_wider,"yes")',
                    float(r["benefits_wider_gbp"]),
                )
                if cost_filter is not None
                else float(r["benefits_wider_gbp"]),
                F(
                    f"{c['Core benefits (GBP, real)']}-{c['Costs (GBP, real)']}",
                    float(r["net_gbp"]),
                ),
                F(
                    f"IF({c['t']}<=30,discount_rate,VLOOKUP({c['t']},discount_bands,3,TRUE))",
                    rate_cached,
                ),
                df,
                F(f"{c['Costs (GBP, real)']}*{c['Discount factor']}", float(r["pv_costs_gbp"])),
                F(
                    f"{c['Core benefits (GBP, real)']}*{c['Discount factor']}",
                    float(r["pv_benefits_gbp"]),
                ),
                F(
                    f"{c['Cashable benefits (GBP, real)']}*{c['Discount factor']}",
                    float(r["benefits_cashable_gbp"]) * float(r["discount_factor"]),
                ),
                F(
                    f"{c['Wider benefits (GBP, real)']}*{c['Discount factor']}",
                    float(r["benefits_wider_gbp"]) * float(r["discount_factor"]),
                ),
                F(
                    f"{c['PV core benefits (GBP, real)']}-{c['PV costs (GBP, real)']}",
                    float(r["pv_net_gbp"]),
                ),
                F(
                    c["PV net (GBP, real)"]
                    if i == 0
                    else f"{sheet.ref('Cumulative PV net (GBP, real)', row - 1)}"
                    f"+{c['PV net (GBP, real)']}",
                    float(r["cumulative_pv_net_gbp"]),
                ),
                F(f"IF(MIN({cum_ref}:${col_cum}${last})>=0,1,0)", 1 if paid else 0),
            ]
        )
    for name, col in (
        ("label", "Financial year"),
        ("t", "t"),
        ("costs", "Costs (GBP, real)"),
        ("benefits", "Core benefits (GBP, real)"),
        ("cashable", "Cashable benefits (GBP, real)"),
        ("wider", "Wider benefits (GBP, real)"),
        ("net", "Net benefit (GBP, real)"),
        ("discount_factor", "Discount factor"),
        ("paid_back", "Paid back from this year"),
    ):
        sheet.name_column(f"{prefix}_{name}", col)
    sheet.finish(table_name)


def _chart(book: _Book, report: AnnualReport) -> None:
    """Add a chart sheet drawn from the live Appraisal cells (it moves when an input changes)."""
    n = len(report.appraisal.by_year)
    ws = book.wb["Appraisal"]
    headers = [c.value for c in ws[HEADER_ROW]]

    def col(name: str) -> int:
        return headers.index(name) + 1

    chart = LineChart()
    chart.title = "Cumulative NPSV by year (GBP, real, discounted)"
    chart.y_axis.title = "GBP"
    chart.x_axis.title = "Financial year"
    chart.y_axis.number_format = EXCEL_FORMATS["gbp_m"]
    for name, colour, dash in (
        ("Cumulative PV net (GBP, real)", "12436D", "solid"),
        ("PV costs (GBP, real)", "F46A25", "dash"),
        ("PV core benefits (GBP, real)", "28A197", "sysDot"),
    ):
        c = col(name)
        data = Reference(ws, min_col=c, max_col=c, min_row=HEADER_ROW, max_row=HEADER_ROW + n)
        chart.add_data(data, titles_from_data=True)
        series = chart.series[-1]
        series.graphicalProperties.line.solidFill = colour
        series.graphicalProperties.line.dashStyle = dash
        series.graphicalProperties.line.width = 28575
    cats = Reference(ws, min_col=1, min_row=HEADER_ROW + 1, max_row=HEADER_ROW + n)
    chart.set_categories(cats)
    sheet = book.wb.create_chartsheet("Chart")
    sheet.add_chart(chart)


def _results(book: _Book, report: AnnualReport) -> None:
    s = report.appraisal.summary
    sheet = _Sheet(
        book,
        "Results",
        "Results (ex-post pilot view, then the go-forward view and the rollout)",
        f"{s.first_year} to {s.last_year}; each value is named (column Name); the go-forward "
        "view's names start gf_, the rollout's rollout_.",
        [
            ("Name", "text"),
            ("Measure", "text"),
            ("Value", "num"),
            ("Unit", "text"),
            ("Formula in words", "text"),
        ],
    )
    payback = s.payback_year or "not within the period"
    rows: list[tuple[str, str, F, str, str, str]] = [
        (
            "pv_costs",
            "PV of costs",
            F("SUMPRODUCT(year_costs,year_discount_factor)", s.pv_costs),
            "GBP, real",
            "sum of costs x discount factor",
            "gbp",
        ),
        (
            "pv_benefits",
            "PV of core benefits",
            F("SUMPRODUCT(year_benefits,year_discount_factor)", s.pv_benefits),
            "GBP, real",
            "sum of core benefits x discount factor",
            "gbp",
        ),
        (
            "npsv",
            "Net present social value",
            F("pv_benefits-pv_costs", s.npsv),
            "GBP, real",
            "PV benefits - PV costs",
            "gbp",
        ),
        (
            "bcr",
            "Benefit-cost ratio",
            F("IF(pv_costs>0,pv_benefits/pv_costs,NA())", s.bcr),
            "ratio",
            "PV benefits / PV costs",
            "ratio",
        ),
        (
            "vfm_category",
            "Value-for-money category",
            F("VLOOKUP(bcr,vfm_table,3,TRUE)", s.vfm_category),
            "label",
            "lookup of the BCR on VfM_thresholds [note 5]",
            "text",
        ),
        (
            "pv_cashable",
            "PV of cashable benefits",
            F("SUMPRODUCT(year_cashable,year_discount_factor)", s.pv_benefits_cashable),
            "GBP, real",
            "sum of cashable benefits x discount factor",
            "gbp",
        ),
        (
            "cashable_bcr",
            "Cashable benefit-cost ratio",
            F("IF(pv_costs>0,pv_cashable/pv_costs,NA())", s.cashable_bcr),
            "ratio",
            "PV cashable / PV costs",
            "ratio",
        ),
        (
            "cashable_roi",
            "Cashable return on investment",
            F("IF(pv_costs>0,(pv_cashable-pv_costs)/pv_costs,NA())", s.cashable_roi),
            "ratio",
            "(PV cashable - PV costs) / PV costs",
            "ratio",
        ),
        (
            "payback_year",
            "Payback year",
            F(
                'IFERROR(INDEX(year_label,MATCH(1,year_paid_back,0)),"not within the period")',
                payback,
            ),
            "financial year",
            "first year from which the cumulative PV net stays at or above zero",
            "text",
        ),
        (
            "pv_wider",
            "PV of wider social benefits",
            F("SUMPRODUCT(year_wider,year_discount_factor)", s.pv_benefits_wider),
            "GBP, real",
            "excluded from the core case",
            "gbp",
        ),
        (
            "npsv_with_wider",
            "NPSV with wider social benefits",
            F("npsv+pv_wider", s.npsv_with_wider),
            "GBP, real",
            "NPSV + PV wider",
            "gbp",
        ),
    ]
    g = report.appraisal.go_forward
    if g is not None and report.appraisal.go_forward_by_year is not None:
        rows += [
            (
                "gf_pv_costs",
                f"Go-forward PV of costs (from {g.first_year}, sunk costs out)",
                F("SUMPRODUCT(gf_year_costs,gf_year_discount_factor)", g.pv_costs),
                "GBP, real",
                "sum of go-forward costs x go-forward discount factor",
                "gbp",
            ),
            (
                "gf_pv_benefits",
                "Go-forward PV of core benefits",
                F("SUMPRODUCT(gf_year_benefits,gf_year_discount_factor)", g.pv_benefits),
                "GBP, real",
                "sum of go-forward core benefits x go-forward discount factor",
                "gbp",
            ),
            (
                "gf_npsv",
                "Go-forward net present social value",
                F("gf_pv_benefits-gf_pv_costs", g.npsv),
                "GBP, real",
                "go-forward PV benefits - PV costs",
                "gbp",
            ),
            (
                "gf_bcr",
                "Go-forward benefit-cost ratio",
                F("IF(gf_pv_costs>0,gf_pv_benefits/gf_pv_costs,NA())", g.bcr),
                "ratio",
                "go-forward PV benefits / PV costs",
                "ratio",
            ),
        ]
    ro = report.appraisal.rollout
    if ro is not None:
        rows += [
            (
                "rollout_pv_costs",
                f"Rollout PV of costs ({ro.n_forces} forces, from {ro.summary.first_year})",
                F("SUMPRODUCT(ro_year_costs,ro_year_discount_factor)", ro.summary.pv_costs),
                "GBP, real",
                "sum of rollout costs x rollout discount factor",
                "gbp",
            ),
            (
                "rollout_pv_benefits",
                "Rollout PV of core benefits",
                F(
                    "SUMPRODUCT(ro_year_benefits,ro_year_discount_factor)",
                    ro.summary.pv_benefits,
                ),
                "GBP, real",
                "sum of rollout core benefits x rollout discount factor",
                "gbp",
            ),
            (
                "rollout_npsv",
                "Rollout net present social value",
                F("rollout_pv_benefits-rollout_pv_costs", ro.summary.npsv),
                "GBP, real",
                "rollout PV benefits - PV costs",
                "gbp",
            ),
            (
                "rollout_bcr",
                "Rollout benefit-cost ratio",
                F(
                    "IF(rollout_pv_costs>0,rollout_pv_benefits/rollout_pv_costs,NA())",
                    ro.summary.bcr,
                ),
                "ratio",
                "rollout PV benefits / PV costs",
                "ratio",
            ),
        ]
    for name, measure, f, unit, words, kind in rows:
        row = sheet.add([name, measure, f, unit, words])
        sheet.ws[sheet.ref("Value", row)].number_format = EXCEL_FORMATS[kind]
        book.define(name, sheet.qualified("Value", row))
    sheet.finish("results", [18, 34, 20, 16, 60])
