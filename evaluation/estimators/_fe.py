"""Partialling out unit and time fixed effects (Frisch-Waugh-Lovell), shared by the regressions.

Two tools:

* :func:`two_way_demean` applies the exact two-way annihilator ``M = I - F (F'F)^+ F'`` (``F`` the
  unit and time dummies) to many columns at once. Balanced panels use the closed form
  ``x_it - x_i. - x_.t + x_..``; unbalanced panels use a direct solve of the normal equations
  by block elimination (a ``T x T`` Schur complement), exact to rounding, not an iteration.
* :func:`linear_problem` builds the :class:`~evaluation.inference.base.LinearProblem` that
  cluster-robust and wild bootstrap inference work on. Unit effects, which are nested in the
  unit clusters, are partialled out by within-unit demeaning; time effects, which are not
  nested, are kept as explicit (demeaned) dummy columns. Then the closed-form leave-one-cluster-out
  jackknife equals a refit of the full two-way model without that unit, the wild bootstrap
  is the bootstrap of the full model (as pyfixest's ``wildboottest``, which one-hot encodes the
  fixed effects), and ``k`` in the CR1 factor counts the time effects and one intercept but not the
  nested unit effects (fixest's ``fixef.K = "nested"``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evaluation.errors import EstimationError
from evaluation.inference.base import LinearProblem

__all__ = ["linear_problem", "ols", "two_way_demean", "unit_demean"]


def unit_demean(values: np.ndarray, unit: np.ndarray, n_units: int | None = None) -> np.ndarray:
    """Subtract unit means from each column (the one-way within transformation).

    Parameters
    ----------
    values
        Array of shape (n,) or (n, m).
    unit
        Integer unit code per row (0..N-1).
    n_units
        Number of units (default ``unit.max() + 1``).

    Examples
    --------
    >>> unit_demean(np.array([1.0, 3.0, 5.0]), np.array([0, 0, 1])).tolist()
    [-1.0, 1.0, 0.0]
    """
    x = np.asarray(values, dtype=float)
    flat = x.ndim == 1
    x2 = x[:, None] if flat else x
    n = int(unit.max()) + 1 if n_units is None else n_units
    counts = np.bincount(unit, minlength=n).astype(float)
    sums = np.zeros((n, x2.shape[1]))
    np.add.at(sums, unit, x2)
    out = x2 - (sums / np.maximum(counts, 1.0)[:, None])[unit]
    return out[:, 0] if flat else out


def two_way_demean(
    values: np.ndarray,
    unit: np.ndarray,
    time: np.ndarray,
    n_units: int | None = None,
    n_periods: int | None = None,
) -> np.ndarray:
    """Apply the exact two-way (unit and time) annihilator to one or many columns.

    Parameters
    ----------
    values
        Array of shape (n,) or (n, m); rows are unit-periods.
    unit, time
        Integer codes per row (0..N-1 and 0..T-1); each unit-period at most once.
    n_units, n_periods
        Numbers of units and periods (default: from the codes).

    Returns
    -------
    numpy.ndarray
        Residuals of the least-squares projection of each column on unit and time dummies.

    Raises
    ------
    EstimationError
        When units and periods do not form one connected set (the effects are not identified).

    Notes
    -----
    Unbalanced panels: with ``n_i`` and ``n_t`` the row counts per unit and period and
    ``A`` the ``N x T`` presence matrix, the normal equations for unit effects ``a`` and time
    effects ``b`` are ``n_i a + A b = U'x`` and ``A'a + n_t b = T'x``. Eliminating ``a`` leaves the
    Schur system ``(diag(n_t) - A' diag(1/n_i) A) b = T'x - A' (U'x / n_i)``, singular by one
    (only ``a + b`` is identified), solved with ``b_0 = 0``. The fitted values are unique.

    Examples
    --------
    >>> u = np.array([0, 0, 1, 1]); t = np.array([0, 1, 0, 1])
    >>> two_way_demean(np.array([1.0, 2.0, 3.0, 6.0]), u, t).round(6).tolist()
    [0.5, -0.5, -0.5, 0.5]
    """
    x = np.asarray(values, dtype=float)
    flat = x.ndim == 1
    x2 = x[:, None] if flat else x
    n_u = int(unit.max()) + 1 if n_units is None else n_units
    n_t = int(time.max()) + 1 if n_periods is None else n_periods
    if len(x2) == n_u * n_t:
        # balanced: exact closed form
        grid = np.zeros((n_u, n_t, x2.shape[1]))
        grid[unit, time] = x2
        out = (
            grid
            - grid.mean(axis=1, keepdims=True)
            - grid.mean(axis=0, keepdims=True)
            + grid.mean(axis=(0, 1), keepdims=True)
        )[unit, time]
        return out[:, 0] if flat else out
    cu = np.bincount(unit, minlength=n_u).astype(float)
    ct = np.bincount(time, minlength=n_t).astype(float)
    presence = np.zeros((n_u, n_t))
    presence[unit, time] = 1.0
    rows = np.arange(len(unit))
    hu = np.zeros((n_u, len(unit)))
    hu[unit, rows] = 1.0
    ht = np.zeros((n_t, len(time)))
    ht[time, rows] = 1.0
    su = hu @ x2
    st = ht @ x2
    schur = np.diag(ct) - presence.T @ (presence / cu[:, None])
    rhs = st - presence.T @ (su / cu[:, None])
    b = np.zeros((n_t, x2.shape[1]))
    sub = schur[1:, 1:]
    if n_t > 1:
        if np.linalg.matrix_rank(sub) < n_t - 1:
            raise EstimationError(
                "unit and time effects are not identified: the panel splits into groups of "
                "units observed in disjoint periods"
            )
        b[1:] = np.linalg.solve(sub, rhs[1:])
    a = (su - presence @ b) / cu[:, None]
    out = x2 - a[unit] - b[time]
    return out[:, 0] if flat else out


def ols(y: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Return least-squares coefficients, raising a clear error for a singular design."""
    X = np.asarray(X, dtype=float)
    xtx = X.T @ X
    if X.shape[1] == 0:
        return np.zeros(0)
    scale = np.sqrt(np.maximum(np.diag(xtx), 1e-300))
    try:
        pivots = np.diag(np.linalg.cholesky(xtx / np.outer(scale, scale)))
        singular = bool(np.min(pivots) ** 2 < 1e-11)
    except np.linalg.LinAlgError:
        singular = True
    if singular:
        raise EstimationError(
            "the regression is singular: the treatment (or a covariate) is collinear with the "
            "fixed effects or other regressors, e.g. no variation in treatment timing left"
        )
    return np.linalg.solve(xtx, X.T @ np.asarray(y, dtype=float))


def linear_problem(
    y: np.ndarray,
    X: np.ndarray,
    unit: np.ndarray,
    time: np.ndarray,
    *,
    names: Sequence[str],
    targets: Sequence[int],
) -> LinearProblem:
    """Build the :class:`LinearProblem` for a regression with unit and time effects.

    Parameters
    ----------
    y
        Outcome per row.
    X
        Regressors per row (treatment indicators, covariates), shape (n, k).
    unit, time
        Integer codes per row; clusters are units.
    names
        Labels of the target columns.
    targets
        Column indices of ``X`` that are parameters of interest.

    Returns
    -------
    LinearProblem
        ``X`` holds the within-unit demeaned regressors followed by within-unit demeaned
        dummies for periods 1..T-1 (period 0 omitted); ``y`` is within-unit demeaned;
        ``df_absorbed`` is the number of unit effects, nested in the clusters
        (``absorbed_nested=True``), so they enter ``k`` in the CR1 factor only as one intercept,
        while the time dummies, being columns of ``X``, do.
    """
    X = np.asarray(X, dtype=float)
    X = X[:, None] if X.ndim == 1 else X
    n_u = int(unit.max()) + 1
    n_t = int(time.max()) + 1
    dummies = np.zeros((len(time), max(n_t - 1, 0)))
    if n_t > 1:
        rows = np.flatnonzero(time > 0)
        dummies[rows, time[rows] - 1] = 1.0
    full = np.column_stack([X, dummies])
    return LinearProblem(
        y=unit_demean(np.asarray(y, dtype=float), unit, n_u),
        X=unit_demean(full, unit, n_u),
        clusters=np.asarray(unit, dtype=np.int64),
        targets=tuple(int(t) for t in targets),
        names=tuple(names),
        df_absorbed=n_u,
        absorbed_nested=True,
    )
