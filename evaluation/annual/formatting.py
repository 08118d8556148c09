"""Number formats shared by the report (text) and the workbook (Excel number formats).

One *kind* per column (``gbp_m``, ``gbp``, ``pct``, ``ratio``, ``p``, ``int``, ``num``,
``text``): :func:`format_value` gives the report's text and :data:`EXCEL_FORMATS` the workbook's
number format of the same kind, so a figure reads the same in both. Missing values are shown
with the Analysis Function shorthand ``[x]`` (not available).

Examples
--------
>>> gbp_m(-24_172_316.9)
'GBP -24.2m'
>>> percent(0.0171)
'1.7%'
>>> p_value(0.00002)
'<0.001'
>>> format_value(0.3982, "ratio")
'0.40'
>>> financial_year("2025-26")
'2025 to 2026'
"""

from __future__ import annotations

import math
from typing import Any, Literal

from evaluation.safety import FORMULA_START

__all__ = [
    "EXCEL_FORMATS",
    "KINDS",
    "MISSING",
    "Kind",
    "financial_year",
    "format_value",
    "gbp",
    "gbp_m",
    "is_formula_like",
    "p_value",
    "percent",
    "safe_csv_text",
]

Kind = Literal["gbp_m", "gbp", "pct", "ratio", "p", "int", "num", "num1", "factor", "text"]
KINDS: tuple[str, ...] = (
    "gbp_m",
    "gbp",
    "pct",
    "ratio",
    "p",
    "int",
    "num",
    "num1",
    "factor",
    "text",
)

#: Shorthand for a value that is not available (Analysis Function convention).
MISSING = "[x]"

#: Excel number format of each kind (the workbook stores GBP in pounds; ``gbp_m`` shows millions).
EXCEL_FORMATS: dict[str, str] = {
    "gbp_m": '"GBP "#,##0.0,,"m";"GBP -"#,##0.0,,"m"',
    "gbp": "#,##0;-#,##0",
    "pct": "0.0%",
    "ratio": "0.00",
    "p": "0.000",
    "int": "#,##0",
    "num": "#,##0.00",
    "num1": "#,##0.0",
    "factor": "0.000000",
    "text": "@",
}

_FORMULA_START = FORMULA_START  # the one rule of evaluation.safety


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(isinstance(x, float) and math.isnan(x)) or (x != x)
    except (TypeError, ValueError):
        return False


def gbp_m(x: Any, dp: int = 1) -> str:
    """Return pounds as ``GBP 1.2m`` (millions, ``dp`` decimals)."""
    if _missing(x):
        return MISSING
    return f"GBP {float(x) / 1e6:,.{dp}f}m"


def gbp(x: Any) -> str:
    """Return pounds as ``GBP 1,234``."""
    if _missing(x):
        return MISSING
    return f"GBP {float(x):,.0f}"


def percent(x: Any, dp: int = 1) -> str:
    """Return a share (0.17) as a percentage (``17.0%``)."""
    if _missing(x):
        return MISSING
    return f"{100 * float(x):.{dp}f}%"


def p_value(p: Any) -> str:
    """Return a p-value to three decimals, ``<0.001`` below that."""
    if _missing(p):
        return MISSING
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def financial_year(label: str) -> str:
    """Return a financial year label in words (``2025-26`` -> ``2025 to 2026``)."""
    s = str(label)
    return f"{s[:4]} to {int(s[:4]) + 1}" if len(s) == 7 and s[4] == "-" else s


def format_value(x: Any, kind: str) -> str:
    """Return ``x`` as report text for a column of ``kind`` (see :data:`KINDS`)."""
    if kind == "text":
        return MISSING if x is None else str(x)
    if _missing(x):
        return MISSING
    if isinstance(x, bool):
        return "yes" if x else "no"
    if kind == "gbp_m":
        return gbp_m(x)
    if kind == "gbp":
        return gbp(x)
    if kind == "pct":
        return percent(x)
    if kind == "ratio":
        return f"{float(x):.2f}"
    if kind == "p":
        return p_value(x)
    if kind == "int":
        return f"{float(x):,.0f}"
    if kind == "num":
        return f"{float(x):,.2f}"
    if kind == "num1":
        return f"{float(x):,.1f}"
    if kind == "factor":
        return f"{float(x):.6f}"
    raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")


def is_formula_like(text: Any) -> bool:
    """Return whether text would be read as a formula by a spreadsheet (``= + - @`` tab CR)."""
    return isinstance(text, str) and text.startswith(_FORMULA_START)


def safe_csv_text(value: Any) -> Any:
    """Return ``value`` with a leading ``'`` when it is text a spreadsheet would run."""
    from evaluation.safety import neutralise_cell  # the one rule for every output

    return neutralise_cell(value)
