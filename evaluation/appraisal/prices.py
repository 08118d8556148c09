"""Nominal to real prices with the GDP deflator, rebased to the price base year.

A value in the prices of year ``y`` is expressed in price-base-year prices by multiplying it by
``index[base] / index[y]`` (the *deflator factor*). Cash outturn (nominal) in year ``y`` is in
year-``y`` prices; a value stated as ``real 2023-24`` is in 2023-24 prices.

Examples
--------
>>> index = {"2022-23": 95.0, "2023-24": 100.0, "2024-25": 104.0}
>>> round(deflator_factor("2022-23", "2024-25", index), 6)
1.094737
>>> parse_price_basis("real 2023-24"), parse_price_basis("nominal")
('2023-24', None)
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from evaluation.errors import AppraisalError

__all__ = ["check_in_series", "deflator_factor", "deflator_factors", "parse_price_basis"]

_REAL = re.compile(r"^real\s+(\d{4})[-/](\d{2})$", re.IGNORECASE)


def parse_price_basis(text: object) -> str | None:
    """Return the price year of a ``price_basis`` label: ``None`` for ``"nominal"``.

    Raises
    ------
    ValueError
        If the label is neither ``"nominal"`` nor ``"real YYYY-YY"``.
    """
    if not isinstance(text, str):
        raise ValueError(f"price_basis must be 'nominal' or 'real YYYY-YY', got {text!r}")
    t = text.strip()
    if t.lower() == "nominal":
        return None
    m = _REAL.match(t)
    if m is None or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
        raise ValueError(f"price_basis must be 'nominal' or 'real YYYY-YY', got {text!r}")
    return f"{m.group(1)}-{m.group(2)}"


def check_in_series(year: str, index: Mapping[str, float], what: str) -> None:
    """Raise :class:`AppraisalError` naming ``what`` if ``year`` is not in the deflator series."""
    if year not in index:
        span = f"{min(index)} to {max(index)}" if index else "empty"
        raise AppraisalError(f"{what}: year {year} is outside the deflator series ({span})")


def deflator_factor(from_year: str, to_year: str, index: Mapping[str, float]) -> float:
    """Return the factor turning ``from_year`` prices into ``to_year`` prices."""
    check_in_series(from_year, index, "deflator")
    check_in_series(to_year, index, "deflator")
    return float(index[to_year]) / float(index[from_year])


def deflator_factors(years: pd.Series, to_year: str, index: Mapping[str, float]) -> np.ndarray:
    """Vectorised :func:`deflator_factor` for a Series of price years (all must be in series)."""
    check_in_series(to_year, index, "price base year")
    missing = sorted(set(years) - set(index))
    if missing:
        span = f"{min(index)} to {max(index)}"
        raise AppraisalError(
            f"price year(s) {', '.join(missing)} outside the deflator series ({span})"
        )
    values = years.map(lambda y: float(index[y])).to_numpy(dtype=float)
    return float(index[to_year]) / values
