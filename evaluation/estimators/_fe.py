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
from dataclasses import dataclass, field

import numpy as np

from evaluation.errors import EstimationError
from evaluation.inference.base import LinearProblem
from evaluation.inference.randomization import cohort_codes, unit_sum

__all__ = [
    "SINGULAR_MESSAGE",
    "StaggeredTwfe",
    "TwoWayProjector",
    "group_sums",
    "linear_problem",
    "ols",
    "two_way_demean",
    "two_way_problem",
    "unit_demean",
]


def group_sums(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Column sums of ``values`` (rows x m) within groups ``codes`` (0..n_groups-1).

    One ``numpy.bincount`` per column: O(rows x m), much faster than ``numpy.add.at``.
    """
    x = np.asarray(values, dtype=float)
    codes = np.asarray(codes)
    if len(codes) and bool(np.all(codes[1:] >= codes[:-1])):
        present = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        if len(present) == n_groups:  # rows grouped by code, every group present
            return np.add.reduceat(x, present, axis=0)
    out = np.empty((n_groups, x.shape[1]))
    for j in range(x.shape[1]):
        out[:, j] = np.bincount(codes, weights=x[:, j], minlength=n_groups)
    return out


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
    sums = group_sums(x2, unit, n)
    out = x2 - (sums / np.maximum(counts, 1.0)[:, None])[unit]
    return out[:, 0] if flat else out


@dataclass(frozen=True)
class TwoWayProjector:
    """The exact two-way (unit and time) annihilator ``M`` of a fixed set of unit-periods.

    Built once per panel layout (:meth:`build`); :meth:`annihilate` then applies ``M`` to any
    columns in O(n) plus a ``T x T`` triangular solve, and :meth:`whiten` gives the pieces of
    quadratic forms in ``M``. With ``n_i``, ``n_t`` the row counts per unit and period and ``A``
    the ``N x T`` presence matrix, eliminating the unit effects leaves the Schur complement
    ``S = diag(n_t) - A' diag(1/n_i) A`` for the time effects; ``S`` is singular by one (only
    ``a_i + b_t`` is identified), so period 0's effect is fixed at zero and ``S`` without period 0
    is factorised once, ``S_1 = L L'``, and ``L^-1`` is kept (a (T-1) x (T-1) matrix): applying
    it by matrix products is far faster than repeated triangular solves.

    For any ``x``: ``x'Mx = x'M_U x - r' S_1^-1 r = x'M_U x - ||L^-1 r||^2`` with ``M_U`` the
    within-unit demeaning and ``r`` the period sums of ``M_U x`` without period 0 (the period
    sums of ``M_U x`` add to zero, so dropping one loses nothing).
    """

    unit: np.ndarray
    time: np.ndarray
    n_units: int
    n_periods: int
    unit_counts: np.ndarray  # (N,) rows per unit
    presence: np.ndarray  # (N, T) 1.0 where the unit-period is present
    chol: np.ndarray  # (T-1, T-1) lower Cholesky factor of S without period 0
    chol_inv: np.ndarray  # (T-1, T-1) its inverse (applied by matrix products)

    @classmethod
    def build(
        cls,
        unit: np.ndarray,
        time: np.ndarray,
        n_units: int | None = None,
        n_periods: int | None = None,
    ) -> TwoWayProjector:
        """Factorise the two-way projection of the unit-periods ``(unit[r], time[r])``.

        Raises
        ------
        EstimationError
            When units and periods do not form one connected set.
        """
        unit = np.asarray(unit, dtype=np.int64)
        time = np.asarray(time, dtype=np.int64)
        n_u = int(unit.max()) + 1 if n_units is None else n_units
        n_t = int(time.max()) + 1 if n_periods is None else n_periods
        cu = np.bincount(unit, minlength=n_u).astype(float)
        ct = np.bincount(time, minlength=n_t).astype(float)
        presence = np.zeros((n_u, n_t))
        presence[unit, time] = 1.0
        sub = (np.diag(ct) - presence.T @ (presence / cu[:, None]))[1:, 1:]
        chol = np.zeros((0, 0))
        if n_t > 1:
            # a Cholesky factor with healthy pivots proves full rank; only a doubtful one pays
            # for the rank-revealing decomposition
            try:
                chol = np.linalg.cholesky(sub)
                scale = np.sqrt(np.diag(sub))
                healthy = bool(np.min(np.diag(chol) / scale) ** 2 > 1e-10)
            except np.linalg.LinAlgError:
                healthy = False
            if not healthy and np.linalg.matrix_rank(sub) < n_t - 1:
                raise EstimationError(
                    "unit and time effects are not identified: the panel splits into groups of "
                    "units observed in disjoint periods"
                )
        chol_inv = np.linalg.inv(chol) if chol.size else chol
        return cls(unit, time, n_u, n_t, cu, presence, chol, chol_inv)

    def _time_solve(self, rhs: np.ndarray) -> np.ndarray:
        """Solve ``S_1 b = rhs`` (rhs of shape (T-1, m)) with the Cholesky factor."""
        return np.asarray(self.chol_inv.T @ (self.chol_inv @ rhs))

    def annihilate(self, values: np.ndarray) -> np.ndarray:
        """Return ``M values``: residuals of the projection on unit and time dummies."""
        x = np.asarray(values, dtype=float)
        flat = x.ndim == 1
        x2 = x[:, None] if flat else x
        m = x2.shape[1]
        su = group_sums(x2, self.unit, self.n_units)
        st = group_sums(x2, self.time, self.n_periods)
        b = np.zeros((self.n_periods, m))
        if self.n_periods > 1:
            rhs = st - self.presence.T @ (su / self.unit_counts[:, None])
            b[1:] = self._time_solve(rhs[1:])
        a = (su - self.presence @ b) / self.unit_counts[:, None]
        out = x2 - a[self.unit] - b[self.time]
        return out[:, 0] if flat else out

    def whiten(self, period_sums: np.ndarray) -> np.ndarray:
        """Return ``L^-1 r`` for period-sum vectors ``r`` (rows of shape (..., T)).

        Period 0 is dropped; ``||whiten(r)||^2 = r' S^+ r`` for ``r`` summing to zero.
        """
        r = np.asarray(period_sums, dtype=float)
        lead = r.shape[:-1]
        flat = r.reshape(-1, r.shape[-1])[:, 1:]
        if flat.shape[1] == 0:
            return np.zeros((*lead, 0))
        z = flat @ self.chol_inv.T
        return np.asarray(z).reshape(*lead, flat.shape[1])


@dataclass(frozen=True)
class StaggeredTwfe:
    """The TWFE coefficient of ``D = 1[t >= cohort]`` for many cohort assignments at once.

    For an assignment ``b`` of cohorts to units the coefficient is
    ``<M D_b, y> / <M D_b, D_b>`` with ``M`` the two-way annihilator (less the projection on the
    two-way demeaned covariates, if any), which depends only on which unit-periods are present,
    not on the assignment. Both terms are sums over units of pieces that depend only on the unit
    and the cohort it is given:

    * ``<M D_b, y> = <D_b, M y>``: for each unit, the sum of ``M y`` over its periods from its
      go-live on;
    * ``<M D_b, D_b> = D_b' M_U D_b - ||L^-1 r_b||^2`` (see :class:`TwoWayProjector`), where
      ``D_b' M_U D_b = sum_i m_i (1 - m_i / n_i)`` (``m_i`` treated periods of unit ``i``) and the
      period sums ``r_b = sum_i r_i(cohort_i)`` add up per unit;
    * with covariates, an orthonormal basis ``Q`` of their demeaned span contributes
      ``-||Q' D_b||^2`` and ``-(Q' D_b)'(Q' y)``, with ``Q' D_b`` again a sum over units.

    So one table of ``N x C`` rows (C distinct cohort values) is built per call and each
    assignment's terms are one row of a ``B x (N C)`` one-hot matrix times that table: O(N)
    per assignment instead of O(N T). The algebra is exact; the results equal the explicit
    projection of ``D_b`` to rounding.
    """

    projector: TwoWayProjector
    t_codes: np.ndarray  # (n,) time value of each row, compared with the cohorts
    basis: np.ndarray  # (n, p) orthonormal basis of the two-way demeaned covariates
    _cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def build(
        cls,
        unit: np.ndarray,
        time: np.ndarray,
        t_codes: np.ndarray,
        covariates: np.ndarray | None = None,
        n_units: int | None = None,
        n_periods: int | None = None,
    ) -> StaggeredTwfe:
        """Factorise the projection once for a panel layout (rows ``unit``, ``time``)."""
        projector = TwoWayProjector.build(unit, time, n_units, n_periods)
        n = len(projector.unit)
        basis = np.zeros((n, 0))
        if covariates is not None and np.asarray(covariates).size:
            w = projector.annihilate(np.asarray(covariates, dtype=float).reshape(n, -1))
            u, s, _ = np.linalg.svd(w, full_matrices=False)
            # the rank cut-off of numpy.linalg.pinv, whose projector w pinv(w) this spans
            cutoff = max(w.shape) * np.finfo(float).eps * (s.max() if s.size else 0.0)
            basis = u[:, s > cutoff]
        return cls(projector, np.asarray(t_codes, dtype=float), basis)

    def _design(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Treatment grid (N, T, C) and the assignment-free table (N, C, 1 + (T-1) + p).

        The table holds, per unit and cohort value, ``D'M_U D``, ``L^-1 r`` and ``Q'D``. Cached
        for the last cohort values seen (the statistic is called for ``y`` and for the
        treatment indicator, in chunks, with the same values).
        """
        key = values.tobytes()
        if key in self._cache:
            return self._cache[key]
        proj = self.projector
        n_u, n_t, n_c = proj.n_units, proj.n_periods, len(values)
        treated = (self.t_codes[:, None] >= values[None, :]).astype(float)  # (n, C)
        grid = np.zeros((n_u, n_t, n_c))
        grid[proj.unit, proj.time] = treated
        m = grid.sum(axis=1)  # (N, C) treated periods of unit i given cohort value c
        share = m / proj.unit_counts[:, None]
        within = m - m * share  # D'M_U D per unit
        r = grid - proj.presence[:, :, None] * share[:, None, :]  # period sums of M_U D
        white = proj.whiten(r.transpose(0, 2, 1))  # (N, C, T-1)
        bgrid = np.zeros((n_u, n_t, self.basis.shape[1]))
        bgrid[proj.unit, proj.time] = self.basis
        qd = np.einsum("itc,itp->icp", grid, bgrid)  # (N, C, p)
        table = np.concatenate([within[:, :, None], white, qd], axis=2)
        self._cache.clear()
        self._cache[key] = (grid, table)
        return grid, table

    def coefficients(self, y: np.ndarray, cohorts: np.ndarray) -> np.ndarray:
        """Return the B TWFE coefficients of ``y`` for the rows of ``cohorts`` (B x N)."""
        proj = self.projector
        c = np.atleast_2d(np.asarray(cohorts, dtype=float))
        values, codes = cohort_codes(c)
        n_u, n_t = proj.n_units, proj.n_periods
        grid, static = self._design(values)
        y = np.asarray(y, dtype=float)
        ygrid = np.zeros((n_u, n_t))
        ygrid[proj.unit, proj.time] = proj.annihilate(y)
        num = np.einsum("itc,it->ic", grid, ygrid)  # sums of M y from go-live on
        table = np.concatenate([num[:, :, None], static], axis=2)  # (N, C, 2 + (T-1) + p)
        qy = self.basis.T @ y
        k_w = n_t - 1 if n_t > 1 else 0
        sums = unit_sum(table, codes)
        quad_w = sums[:, 2 : 2 + k_w]
        quad_q = sums[:, 2 + k_w :]
        den = sums[:, 1] - np.einsum("bj,bj->b", quad_w, quad_w)
        den -= np.einsum("bj,bj->b", quad_q, quad_q)
        nume = sums[:, 0] - quad_q @ qy
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(nume / den)


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
    (only ``a + b`` is identified), solved with ``b_0 = 0`` (see :class:`TwoWayProjector`). The
    fitted values are unique.

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
    out = TwoWayProjector.build(unit, time, n_u, n_t).annihilate(x2)
    return out[:, 0] if flat else out


SINGULAR_MESSAGE = (
    "the regression is singular: the treatment (or a covariate) is collinear with the "
    "fixed effects or other regressors, e.g. no variation in treatment timing left"
)


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
        raise EstimationError(SINGULAR_MESSAGE)
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


def two_way_problem(
    y: np.ndarray,
    X: np.ndarray,
    unit: np.ndarray,
    time: np.ndarray,
    *,
    names: Sequence[str],
    targets: Sequence[int],
) -> LinearProblem:
    """Build the compact :class:`LinearProblem` with both sets of effects partialled out.

    ``y`` and ``X`` are two-way demeaned (:func:`two_way_demean`: the exact within
    transformation when balanced, a direct solve otherwise), so ``X`` keeps only the regressors:
    ``k`` columns instead of ``k + T - 1``. By Frisch-Waugh-Lovell its coefficients, residuals
    and CR1 covariance equal those of :func:`linear_problem` (the ``T - 1`` period effects are
    counted in the CR1 factor through ``df_extra``, the nested unit effects as one intercept).
    The closed-form jackknife and the wild bootstrap need the period effects as regressors:
    use :func:`linear_problem` for those.
    """
    X = np.asarray(X, dtype=float)
    X = X[:, None] if X.ndim == 1 else X
    n_u = int(unit.max()) + 1
    n_t = int(time.max()) + 1
    both = two_way_demean(np.column_stack([np.asarray(y, dtype=float), X]), unit, time, n_u, n_t)
    return LinearProblem(
        y=both[:, 0],
        X=both[:, 1:],
        clusters=np.asarray(unit, dtype=np.int64),
        targets=tuple(int(t) for t in targets),
        names=tuple(names),
        df_absorbed=n_u,
        absorbed_nested=True,
        df_extra=max(n_t - 1, 0),
    )
