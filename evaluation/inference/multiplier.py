"""Multiplier bootstrap and analytic inference from influence functions.

For an estimator with unit-level influence functions ``psi`` (n units x k estimates, scaled so
that ``estimate - truth ~ psi.mean(axis=0)``), a multiplier-bootstrap draw is
``psi.T @ v / n`` with ``v`` i.i.d. weights of mean 0 and variance 1, one per unit (or per
cluster, applied to cluster sums of ``psi``). This is R ``did``'s ``mboot``:

* standard error: the interquartile range of the draws over that of the standard normal,
  ``(q75 - q25) / (qnorm(0.75) - qnorm(0.25))`` (type-1 quantiles, as R), robust to heavy tails;
* pointwise intervals ``estimate +/- z * se`` and p-values from the normal distribution;
* simultaneous (sup-t) bands ``estimate +/- c * se`` where ``c`` is the ``level`` quantile over
  draws of ``max_j |draw_j| / se_j``: they cover all k estimates jointly (event studies,
  group-time effects).

Weights are Rademacher (+/-1, the default everywhere: what R ``did`` draws in
``BMisc::multiplier_bootstrap`` and what ``csdid`` draws), Mammen's two-point distribution,
Webb's six-point or standard normal, from ``InferenceSettings.weights``. Draws are computed as a
(B x n) weight matrix times the (n x k) influence matrix, in chunks of bounded memory.

:func:`analytic_from_influence` gives the analytic counterpart: ``se = sqrt(sum psi^2) / n``
(R ``did``'s convention, no small-sample factor), with cluster sums of ``psi`` when clusters are
coarser than units.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from evaluation.errors import ConfigError
from evaluation.inference._dist import norm_ppf, norm_sf
from evaluation.inference.base import (
    InferenceOutcome,
    InferenceSettings,
    InfluenceProblem,
    register,
)

__all__ = [
    "MultiplierBootstrap",
    "analytic_from_influence",
    "bootstrap_draws",
    "iqr_se",
    "multiplier_weights",
]

_IQR_NORMAL = float(norm_ppf(0.75) - norm_ppf(0.25))
_DEGENERATE = math.sqrt(np.finfo(float).eps) * 10  # R did: se below this is reported as NA
_CHUNK_BYTES = 64 * 2**20


def multiplier_weights(kind: str, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Draw bootstrap multiplier weights of mean 0 and variance 1.

    Parameters
    ----------
    kind
        ``"mammen"`` (values ``(1 - sqrt 5)/2`` and ``(1 + sqrt 5)/2`` with probabilities
        ``(sqrt 5 + 1)/(2 sqrt 5)`` and the rest), ``"rademacher"`` (+/-1), ``"webb"``
        (+/-sqrt(1/2), +/-1, +/-sqrt(3/2), equally likely) or ``"normal"``.
    size
        Shape of the draw, e.g. ``(B, n)``.
    rng
        Source of randomness.

    Examples
    --------
    >>> v = multiplier_weights("mammen", (200_000, 1), np.random.default_rng(0))
    >>> bool(abs(v.mean()) < 0.01 and abs(v.var() - 1) < 0.02)
    True
    """
    if kind == "mammen":
        s5 = math.sqrt(5.0)
        low, high = (1.0 - s5) / 2.0, (1.0 + s5) / 2.0
        p_low = (s5 + 1.0) / (2.0 * s5)
        return np.where(rng.random(size) < p_low, low, high)
    if kind == "rademacher":
        return rng.integers(0, 2, size=size).astype(float) * 2.0 - 1.0
    if kind == "webb":
        values = np.array(
            [-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)]
        )
        return values[rng.integers(0, 6, size=size)]
    if kind == "normal":
        return rng.standard_normal(size)
    raise ConfigError(
        f"weights must be one of 'mammen', 'rademacher', 'webb', 'normal'; got {kind!r}"
    )


def _cluster_sums(influence: np.ndarray, clusters: np.ndarray | None) -> np.ndarray:
    """Sum influence functions within clusters (rows of the result are clusters)."""
    if clusters is None:
        return influence
    codes, inverse = np.unique(np.asarray(clusters), return_inverse=True)
    out = np.zeros((len(codes), influence.shape[1]))
    np.add.at(out, inverse, influence)
    return out


def bootstrap_draws(
    influence: np.ndarray,
    reps: int,
    rng: np.random.Generator,
    *,
    weights: str = "rademacher",
    clusters: np.ndarray | None = None,
) -> np.ndarray:
    """Return multiplier-bootstrap draws of ``estimate* - estimate``, shape (reps, k).

    Draw b is ``v_b @ S / n`` with ``S`` the (cluster sums of the) n x k influence matrix and
    ``v_b`` one weight per unit (or cluster). Computed in chunks of draws to bound memory.
    """
    psi = np.asarray(influence, dtype=float)
    if psi.ndim == 1:
        psi = psi[:, None]
    n = psi.shape[0]
    S = _cluster_sums(np.nan_to_num(psi), clusters)
    m = S.shape[0]
    out = np.empty((reps, S.shape[1]))
    chunk = max(1, min(reps, _CHUNK_BYTES // (8 * max(m, 1))))
    for start in range(0, reps, chunk):
        stop = min(reps, start + chunk)
        v = multiplier_weights(weights, (stop - start, m), rng)
        out[start:stop] = v @ S
    out /= n
    return out


def iqr_se(draws: np.ndarray) -> np.ndarray:
    """Bootstrap standard errors from the interquartile range (R ``did``; type-1 quantiles)."""
    q75 = np.quantile(draws, 0.75, axis=0, method="inverted_cdf")
    q25 = np.quantile(draws, 0.25, axis=0, method="inverted_cdf")
    return (q75 - q25) / _IQR_NORMAL


def _normal_outcome(
    name: str,
    estimates: np.ndarray,
    se: np.ndarray,
    level: float,
    info: dict[str, object],
    band_crit: float | None = None,
) -> InferenceOutcome:
    z = float(norm_ppf(0.5 + level / 2.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2.0 * norm_sf(np.abs(estimates / se))
    band_low = band_high = None
    if band_crit is not None:
        band_low, band_high = estimates - band_crit * se, estimates + band_crit * se
    return InferenceOutcome(
        method=name,
        se=se,
        ci_low=estimates - z * se,
        ci_high=estimates + z * se,
        p_value=p,
        band_low=band_low,
        band_high=band_high,
        info=info,
    )


def analytic_from_influence(
    problem: InfluenceProblem, settings: InferenceSettings, *, method: str = "cr1"
) -> InferenceOutcome:
    """Analytic standard errors ``sqrt(sum psi^2) / n`` with normal intervals and p-values.

    The convention of R ``did`` (no small-sample factor). With ``problem.clusters`` the sum runs
    over cluster sums of ``psi``. Standard errors below ``10 * sqrt(machine epsilon)`` (e.g. a
    reference cell fixed at 0) are reported as NaN, as R does.

    Examples
    --------
    >>> psi = np.array([[1.0], [-1.0], [2.0], [-2.0]])
    >>> out = analytic_from_influence(
    ...     InfluenceProblem(np.array([0.5]), psi, ["a"]), InferenceSettings())
    >>> float(out.se[0])  # sqrt(1 + 1 + 4 + 4) / 4
    0.7905694150420949
    """
    psi = np.asarray(problem.influence, dtype=float)
    if psi.ndim == 1:
        psi = psi[:, None]
    n = psi.shape[0]
    S = _cluster_sums(psi, problem.clusters)
    se = np.sqrt((S**2).sum(axis=0)) / n
    se = np.where(se > _DEGENERATE, se, np.nan)
    est = np.asarray(problem.estimates, dtype=float)
    info: dict[str, object] = {
        "se_note": "analytic influence-function standard error sqrt(sum psi^2)/n (R did)",
        "n_clusters": int(S.shape[0]),
    }
    return _normal_outcome(method, est, se, settings.level, info)


@register
class MultiplierBootstrap:
    """Multiplier bootstrap (``"multiplier"``) on influence functions, with sup-t bands."""

    name: ClassVar[str] = "multiplier"
    accepts: ClassVar[tuple[type, ...]] = (InfluenceProblem,)

    def infer(self, problem: object, settings: InferenceSettings) -> InferenceOutcome:
        """Bootstrap standard errors, pointwise intervals and a simultaneous band.

        The band's critical value is the ``settings.level`` quantile over draws of
        ``max_j |draw_j / se_j|`` over the targets with a non-degenerate standard error.
        """
        if not isinstance(problem, InfluenceProblem):
            raise ConfigError("the multiplier bootstrap needs an InfluenceProblem")
        rng = settings.generator()
        est = np.asarray(problem.estimates, dtype=float)
        draws = bootstrap_draws(
            problem.influence,
            settings.reps,
            rng,
            weights=settings.weights,
            clusters=problem.clusters,
        )
        se = iqr_se(draws)
        good = np.isfinite(se) & (se > _DEGENERATE) & np.isfinite(est)
        se = np.where(good, se, np.nan)
        crit = float("nan")
        if good.any():
            t_max = np.max(np.abs(draws[:, good]) / se[good], axis=1)
            crit = float(np.quantile(t_max, settings.level, method="inverted_cdf"))
        if problem.clusters is None:
            n_clusters = np.asarray(problem.influence).shape[0]
        else:
            n_clusters = len(np.unique(np.asarray(problem.clusters)))
        info: dict[str, object] = {
            "bootstrap_reps": settings.reps,
            "bootstrap_weights": settings.weights,
            "band_critical_value": crit,
            "n_clusters": int(n_clusters),
            "se_note": "multiplier bootstrap, IQR-based standard error (R did)",
        }
        return _normal_outcome(self.name, est, se, settings.level, info, band_crit=crit)
