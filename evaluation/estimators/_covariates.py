"""Covariates the model cannot use, found before estimation, named, and refused the same way.

Every estimator that takes covariates calls :func:`check_covariates` before fitting:

* regressions with unit and period fixed effects (TWFE, the event studies, the imputation
  estimator's untreated-outcome model): a covariate that does not change within any unit
  (time-invariant), that changes only over periods, or that is any other combination of unit and
  period effects is absorbed by the fixed effects; so is one that is a linear combination of the
  other covariates after the effects are partialled out;
* Callaway-Sant'Anna (``reg``, ``ipw``, ``dr``): each cell regresses on an intercept and the
  covariates across units, so time-invariant covariates are the usual case and fine; a covariate
  without any variation, or one that is a linear combination of the others, is not.

In each case the estimator stops with a :class:`~evaluation.errors.ConfigError` (exit code 2 on
the command line) that names the covariate and says why; nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evaluation.errors import ConfigError

__all__: list[str] = []  # private module

_REL_TOL = 1e-9


def _rank_increases(basis: np.ndarray, column: np.ndarray) -> tuple[bool, np.ndarray]:
    """Whether ``column`` adds a direction to the orthonormal ``basis``; the updated basis."""
    scale = float(np.linalg.norm(column))
    if scale == 0.0:
        return False, basis
    v = column / scale
    if basis.shape[1]:
        v = v - basis @ (basis.T @ v)
        v = v - basis @ (basis.T @ v)  # second pass for accuracy
    norm = float(np.linalg.norm(v))
    if norm <= 1e-7:
        return False, basis
    return True, np.column_stack([basis, v / norm])


def _collinear(columns: np.ndarray, names: Sequence[str]) -> list[str]:
    """Names of columns that are linear combinations of the columns before them."""
    basis = np.zeros((columns.shape[0], 0))
    out = []
    for j, name in enumerate(names):
        grows, basis = _rank_increases(basis, columns[:, j])
        if not grows:
            out.append(name)
    return out


def check_fe_covariates(
    values: np.ndarray,
    names: Sequence[str],
    unit: np.ndarray,
    time: np.ndarray,
    *,
    estimator: str,
    sample: str = "the estimation sample",
) -> None:
    """Refuse covariates absorbed by unit and period fixed effects (or by the other covariates).

    Parameters
    ----------
    values
        Covariates, rows x k, on the rows the fixed-effects model is fitted on.
    names
        Covariate names (for the message).
    unit, time
        Unit and period code of each row.
    estimator
        Estimator name (for the message).
    sample
        Which rows the model is fitted on (for the message).

    Raises
    ------
    ConfigError
        Naming each covariate the fixed effects absorb, with the reason.
    """
    if not len(names):
        return
    from evaluation.estimators._fe import two_way_demean, unit_demean

    x = np.asarray(values, dtype=float).reshape(len(unit), -1)
    _, u = np.unique(unit, return_inverse=True)
    _, t = np.unique(time, return_inverse=True)
    centred = x - x.mean(axis=0)
    within_unit = unit_demean(x, u)
    within_time = unit_demean(x, t)
    resid = two_way_demean(x, u, t)
    problems = []
    kept = []
    for j, name in enumerate(names):
        size = float(np.linalg.norm(centred[:, j]))
        tol = _REL_TOL * max(size, float(np.abs(x[:, j]).max(initial=0.0)), 1e-300)
        if float(np.linalg.norm(resid[:, j])) > tol:
            kept.append(j)
            continue
        if size <= tol:
            why = "it has the same value in every row"
        elif float(np.linalg.norm(within_unit[:, j])) <= tol:
            why = "it does not change within any unit (time-invariant): the unit effects absorb it"
        elif float(np.linalg.norm(within_time[:, j])) <= tol:
            why = "it changes only from period to period: the period effects absorb it"
        else:
            why = "it is a sum of a unit and a period component: the fixed effects absorb it"
        problems.append(f"{name!r}: {why}")
    if kept:
        kept_names = [names[j] for j in kept]
        for name in _collinear(resid[:, kept], kept_names):
            problems.append(
                f"{name!r}: after the unit and period effects it is a linear combination of the "
                "covariates before it"
            )
    if problems:
        raise ConfigError(
            f"{estimator}: covariate(s) cannot be used with unit and period fixed effects on "
            f"{sample}: " + "; ".join(problems) + ". Remove them (a time-invariant "
            "characteristic is already accounted for by the unit effects)"
        )


def check_cs_covariates(values: np.ndarray, names: Sequence[str]) -> None:
    """Refuse covariates Callaway-Sant'Anna's cell regressions cannot use.

    ``values`` is units x periods x k. A covariate without variation across units in every
    period is collinear with the intercept; one that is a linear combination of the others (over
    all unit-periods, with an intercept) is redundant.

    Raises
    ------
    ConfigError
        Naming each such covariate.
    """
    if not len(names):
        return
    X = np.asarray(values, dtype=float)
    flat = X.reshape(-1, X.shape[2])
    flat = flat[np.isfinite(flat).all(axis=1)]
    problems = []
    kept = []
    for j, name in enumerate(names):
        spread = np.nanmax(X[:, :, j], axis=0) - np.nanmin(X[:, :, j], axis=0)
        scale = max(float(np.nanmax(np.abs(X[:, :, j]), initial=0.0)), 1e-300)
        if np.all(spread <= _REL_TOL * scale):
            problems.append(
                f"{name!r}: it has the same value for every unit in each period (collinear with "
                "the intercept of each group-time regression)"
            )
        else:
            kept.append(j)
    if kept:
        cols = np.column_stack([np.ones(len(flat)), flat[:, kept]])
        for name in _collinear(cols, ["(intercept)", *[names[j] for j in kept]]):
            problems.append(f"{name!r}: it is a linear combination of the covariates before it")
    if problems:
        raise ConfigError(
            "cs: covariate(s) cannot be used: " + "; ".join(problems) + ". Remove them"
        )
