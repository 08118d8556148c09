"""Normal, t, chi-squared and F tail functions from :mod:`scipy.special`.

The same functions :mod:`scipy.stats` calls for these distributions (``ndtri``, ``ndtr``,
``stdtrit``, ``stdtr``, ``chdtrc``, ``fdtrc``), so the numbers are identical, without importing
:mod:`scipy.stats` (about a second) when an estimator module is loaded.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["chi2_sf", "f_sf", "norm_ppf", "norm_sf", "t_ppf", "t_sf"]


def norm_ppf(q: float | np.ndarray) -> np.ndarray:
    """Return the standard normal quantile function at ``q``."""
    return np.asarray(special.ndtri(q))


def norm_sf(x: float | np.ndarray) -> np.ndarray:
    """Return the standard normal survival function ``P(Z > x)``."""
    return np.asarray(special.ndtr(-np.asarray(x, dtype=float)))


def t_ppf(q: float | np.ndarray, df: float) -> np.ndarray:
    """Return the quantile function of Student's t with ``df`` degrees of freedom."""
    return np.asarray(special.stdtrit(df, q))


def t_sf(x: float | np.ndarray, df: float) -> np.ndarray:
    """Return the survival function of Student's t with ``df`` degrees of freedom."""
    return np.asarray(special.stdtr(df, -np.asarray(x, dtype=float)))


def chi2_sf(x: float, df: float) -> float:
    """Return the survival function of the chi-squared distribution."""
    return float(special.chdtrc(df, x))


def f_sf(x: float, dfn: float, dfd: float) -> float:
    """Return the survival function of the F distribution."""
    return float(special.fdtrc(dfn, dfd, x))
