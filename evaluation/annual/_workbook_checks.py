"""The Sensitivity and Checks sheets of the finance workbook (private; see :mod:`.workbook`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from evaluation.annual.workbook import F, _Book, _name_ok, _Sheet

if TYPE_CHECKING:  # pragma: no cover
    from evaluation.annual.model import AnnualReport

__all__ = ["checks_sheet", "sensitivity_sheet"]


def sensitivity_sheet(book: _Book, report: AnnualReport) -> list[tuple[int, float, float]]:
    """Write the one-way sensitivities; return (row, toolkit low, toolkit high) of formula rows."""
    a = report.appraisal
    sens = a.uncertainty.sensitivity
    sheet = _Sheet(
        book,
        "Sensitivity",
        "One-way sensitivities of NPSV",
        "Each input moved alone to its low and high value. Linear inputs are live "
        "formulas; the others are the toolkit's re-appraisals [note 7].",
        [
            ("Input", "text"),
            ("Description", "text"),
            ("Central value", "num"),
            ("Low value", "num"),
            ("High value", "num"),
            ("NPSV at low (GBP, real)", "gbp"),
            ("NPSV at high (GBP, real)", "gbp"),
            ("How computed", "text"),
        ],
    )
    formula_rows: list[tuple[int, float, float]] = []
    max_t = int(a.by_year["t"].max()) if len(a.by_year) else 0
    for r in sens.to_dict("records"):
        inp = str(r["input"])
        lo_v, hi_v = r["low"], r["high"]
        row = sheet.next_row
        lo_ref, hi_ref = sheet.ref("Low value", row), sheet.ref("High value", row)
        formula = _sensitivity_formula(inp, max_t)
        n_lo, n_hi = float(r["npsv_at_low"]), float(r["npsv_at_high"])
        if formula is not None and _is_number(lo_v) and _is_number(hi_v):
            cells: list[Any] = [
                F(formula.format(x=lo_ref), n_lo),
                F(formula.format(x=hi_ref), n_hi),
            ]
            how = "formula"
            formula_rows.append((row, n_lo, n_hi))
        else:
            cells = [n_lo, n_hi]
            how = "toolkit re-appraisal"
        central = r["central"]
        sheet.add(
            [
                inp,
                r.get("description", inp),
                float(central) if _is_number(central) else str(central),
                float(lo_v) if _is_number(lo_v) else str(lo_v),
                float(hi_v) if _is_number(hi_v) else str(hi_v),
                *cells,
                how,
            ]
        )
    sheet.finish("sensitivity", [34, 44, 14, 14, 14, 20, 20, 22])
    return formula_rows


def _is_number(x: Any) -> bool:
    if isinstance(x, bool) or x is None:
        return False
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _sensitivity_formula(inp: str, max_t: int) -> str | None:
    """Return the NPSV formula (``{x}`` = the input's value) of a linear input, else ``None``."""
    kind, _, name = inp.partition(":")
    if kind == "effect":
        m = _name_ok(name)
        return f'npsv+({{x}}/effect_{m}-1)*SUMIFS(ben_pv,ben_metric,"{name}",ben_wider,"no")'
    if kind == "unit_value":
        u = _name_ok(name)
        return (
            f'npsv+({{x}}/unit_{u}-1)*SUMPRODUCT(ISNUMBER(FIND("/{name}/",ben_units))'
            '*(ben_wider="no")*ben_pv)'
        )
    if inp == "cost_scale":
        return 'npsv-({x}/cost_scale-1)*SUMIFS(cost_pv,cost_scaled,"yes")'
    if inp == "discount_rate" and max_t <= 30:
        return "SUMPRODUCT(year_net,POWER(1+{x},-year_t))"
    return None


def checks_sheet(book: _Book, report: AnnualReport, sens: list[tuple[int, float, float]]) -> None:
    a = report.appraisal
    s = a.summary
    sheet = _Sheet(
        book,
        "Checks",
        "Checks",
        "Totals reconcile and the workbook agrees with the toolkit [note 6].",
        [
            ("Check", "text"),
            ("Workbook value", "num"),
            ("Toolkit value", "num"),
            ("Difference", "num"),
            ("Tolerance", "num"),
            ("Result", "text"),
        ],
    )
    core = a.benefit_lines[~a.benefit_lines["wider"].astype(bool)]
    items: list[tuple[str, str, Any]] = [
        ("PV of costs", "pv_costs", s.pv_costs),
        ("PV of core benefits", "pv_benefits", s.pv_benefits),
        ("NPSV", "npsv", s.npsv),
        ("BCR", "bcr", s.bcr),
        ("Cashable BCR", "cashable_bcr", s.cashable_bcr),
        ("PV of wider benefits", "pv_wider", s.pv_benefits_wider),
        ("Value-for-money category", "vfm_category", s.vfm_category),
        ("Payback year", "payback_year", s.payback_year or "not within the period"),
        (
            "Cost lines add up to the yearly costs",
            "SUM(cost_adjusted)",
            float(a.by_year["costs_gbp"].sum()),
        ),
        (
            "Core benefit lines add up to the yearly benefits",
            'SUMIFS(ben_value,ben_wider,"no")',
            float(a.by_year["benefits_gbp"].sum()),
        ),
        (
            "PV of core benefit lines equals PV benefits",
            'SUMIFS(ben_pv,ben_wider,"no")',
            float(core["pv_gbp"].sum()),
        ),
    ]
    for row, lo, hi in sens:
        label = f"Sensitivity row {row}"
        items.append((f"{label}, NPSV at low", f"Sensitivity!F{row}", lo))
        items.append((f"{label}, NPSV at high", f"Sensitivity!G{row}", hi))
    for label, formula, toolkit in items:
        row = sheet.next_row
        b, c_, d, e = (
            sheet.ref(k, row)
            for k in ("Workbook value", "Toolkit value", "Difference", "Tolerance")
        )
        tol = 1e-6 * max(1.0, abs(toolkit)) if isinstance(toolkit, float) else 0
        sheet.add(
            [
                label,
                F(formula, toolkit),
                toolkit,
                F(f"IF(ISNUMBER({b}),{b}-{c_},IF({b}={c_},0,1))", 0.0),
                tol,
                F(f'IF(ABS({d})<={e},"pass","CHECK")', "pass"),
            ]
        )
    sheet.name_column("check_result", "Result")
    sheet.finish("checks", [50, 20, 20, 14, 14, 10])
