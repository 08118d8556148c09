"""Green Book discounting: the stepwise declining schedule and discount factors.

The rate for year ``s`` is the rate of the band containing ``s`` (3.5% for years 1-30, 3.0% for
31-75, ...). The factor for year ``t`` is the product over ``s = 1..t`` of ``1 / (1 + rate(s))``,
so ``DF(31) = 1.035**-30 * 1.03**-1``. Year 0 is undiscounted. A negative ``t`` (a year before
the discount base year, in an ex-post view) is compounded forward at the first band's rate.

Examples
--------
>>> from evaluation.appraisal.params import DiscountBand
>>> bands = (DiscountBand(1, 30, 0.035), DiscountBand(31, None, 0.03))
>>> float(discount_factors([0], bands)[0])
1.0
>>> bool(abs(discount_factors([31], bands)[0] - 1.035**-30 / 1.03) < 1e-15)
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from evaluation.appraisal.params import DiscountBand

__all__ = ["discount_factors", "rate_for_year"]


def rate_for_year(s: int, bands: Sequence[DiscountBand]) -> float:
    """Return the discount rate that applies to year ``s`` (``s >= 1``)."""
    for band in bands:
        if band.from_year <= s and (band.to_year is None or s <= band.to_year):
            return band.rate
    return bands[-1].rate


def discount_factors(t: ArrayLike, bands: Sequence[DiscountBand]) -> np.ndarray:
    """Return discount factors for whole years ``t`` since the discount base year.

    Parameters
    ----------
    t
        Integer years (array-like); 0 is the base year.
    bands
        The schedule, contiguous from year 1.
    """
    years = np.asarray(t, dtype=np.int64)
    out = np.ones(years.shape, dtype=float)
    if years.size == 0:
        return out
    top = int(max(years.max(), 0))
    rates = np.array([rate_for_year(s, bands) for s in range(1, top + 1)], dtype=float)
    cumulative = np.concatenate([[1.0], np.cumprod(1.0 / (1.0 + rates))])
    pos = years >= 0
    out[pos] = cumulative[years[pos]]
    neg = ~pos
    if neg.any():
        out[neg] = (1.0 + bands[0].rate) ** (-years[neg].astype(float))
    return out
