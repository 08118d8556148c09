"""Inference as pluggable strategies: the problems estimators pose and the registry of methods.

An estimator does not compute its own standard errors. It describes what it can offer as one or
more *problems*:

* :class:`LinearProblem`: an OLS coefficient (after fixed effects are partialled out) with cluster
  ids, for cluster-robust (CR1, CR3) and wild cluster bootstrap inference;
* :class:`InfluenceProblem`: estimates with their unit-level influence functions, for analytic
  and multiplier-bootstrap inference;
* :class:`PermutationProblem`: a vectorised statistic of the treatment assignment, for
  randomization inference;
* :class:`RefitProblem`: a function that refits on a subset of units, for the cluster jackknife.

Each inference method is a small class with a ``name`` and ``infer(problem, settings)``, listed in
one registry (:data:`INFERENCE_METHODS`). Adding a method is one class and one entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Protocol

import numpy as np

from evaluation.errors import ConfigError, check_option

__all__ = [
    "INFERENCE_METHODS",
    "InferenceMethod",
    "InferenceOutcome",
    "InferenceSettings",
    "InfluenceProblem",
    "LinearProblem",
    "PermutationProblem",
    "Problem",
    "RefitProblem",
    "get_method",
    "register",
]

InferenceName = Literal["cr1", "cr3", "wild", "ri", "multiplier"]
BootWeights = Literal["rademacher", "webb", "mammen", "normal"]


@dataclass(frozen=True)
class InferenceSettings:
    """Options shared by inference methods.

    Attributes
    ----------
    reps
        Bootstrap replications or permutation draws.
    level
        Confidence level of intervals (and simultaneous bands).
    weights
        Bootstrap weight distribution (wild and multiplier bootstraps).
    rng
        Source of randomness; required by resampling methods.
    enumerate_max
        Wild bootstrap: enumerate all 2^G Rademacher draws when 2^G <= this number.
    """

    reps: int = 999
    level: float = 0.95
    weights: BootWeights = "rademacher"
    rng: np.random.Generator | None = None
    enumerate_max: int = 100_000

    def __post_init__(self) -> None:
        check_option("weights", self.weights, ("rademacher", "webb", "mammen", "normal"))
        if not 0 < self.level < 1:
            raise ConfigError(f"level must be between 0 and 1; got {self.level!r}")
        if self.reps < 1:
            raise ConfigError(f"reps must be a positive integer; got {self.reps!r}")

    def generator(self) -> np.random.Generator:
        """Return the rng, or raise a clear error when a resampling method has none."""
        if self.rng is None:
            raise ConfigError(
                "this inference method resamples: pass rng=numpy.random.default_rng(seed)"
            )
        return self.rng


@dataclass(frozen=True)
class InferenceOutcome:
    """What an inference method returns for ``k`` target parameters (arrays of length k)."""

    method: str
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_value: np.ndarray
    band_low: np.ndarray | None = None  # simultaneous band, where computed
    band_high: np.ndarray | None = None
    info: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class LinearProblem:
    """OLS coefficients with fixed effects already partialled out (Frisch-Waugh-Lovell).

    Attributes
    ----------
    y
        Outcome after partialling out absorbed fixed effects, shape (n,).
    X
        Regressors after partialling out, shape (n, k_all).
    clusters
        Integer cluster code per row, shape (n,).
    targets
        Column indices of ``X`` whose coefficients are the parameters of interest.
    names
        Labels of the targets.
    df_absorbed
        Number of absorbed fixed-effect parameters (for the small-sample factor).
    absorbed_nested
        Whether the absorbed effects are nested in clusters (unit effects with clustering by
        unit): then, as in Stata and fixest, they are not counted in the CR1 factor.
    df_extra
        Further absorbed parameters that are *not* nested in the clusters (e.g. the ``T - 1``
        period effects when ``X`` and ``y`` are two-way demeaned): always counted in ``k``.
        By Frisch-Waugh-Lovell, the CR1 covariance of the remaining coefficients is then the
        same as with those effects as explicit regressors.
    """

    y: np.ndarray
    X: np.ndarray
    clusters: np.ndarray
    targets: Sequence[int]
    names: Sequence[str]
    df_absorbed: int = 0
    absorbed_nested: bool = True
    df_extra: int = 0


@dataclass(frozen=True)
class InfluenceProblem:
    """Estimates with unit-level influence functions.

    ``influence[i, j]`` is unit i's influence on estimate j, scaled so that
    ``estimates ~ truth + influence.mean(axis=0)`` and the analytic standard error is
    ``sqrt((influence**2).sum(axis=0)) / n`` with n the number of units (the R ``did`` convention).
    """

    estimates: np.ndarray
    influence: np.ndarray
    names: Sequence[str]
    clusters: np.ndarray | None = None  # cluster code per unit when clusters are coarser


@dataclass(frozen=True)
class PermutationProblem:
    """A statistic that is linear in the outcome, vectorised over treatment assignments.

    Attributes
    ----------
    statistic
        ``statistic(y, cohorts)`` with ``y`` of shape (n_rows,) and ``cohorts`` of shape
        (B, n_units) (cohort code per unit, ``inf`` never treated) returns shape (B, k).
    y
        Observed outcome (rows in panel order).
    treated
        Observed treatment indicator per row: under the sharp null of a constant effect ``tau``
        the untreated outcome is ``y - tau * treated``.
    cohorts
        Observed cohort per unit, shape (n_units,).
    names
        Labels of the k statistics.
    """

    statistic: Callable[[np.ndarray, np.ndarray], np.ndarray]
    y: np.ndarray
    treated: np.ndarray
    cohorts: np.ndarray
    names: Sequence[str]


@dataclass(frozen=True)
class RefitProblem:
    """Estimates and a refit on a subset of units (for the cluster jackknife, CR3)."""

    estimates: np.ndarray
    units: np.ndarray
    refit: Callable[[np.ndarray], np.ndarray]  # units to keep -> estimates
    names: Sequence[str]


Problem = LinearProblem | InfluenceProblem | PermutationProblem | RefitProblem


class InferenceMethod(Protocol):
    """An inference strategy."""

    name: ClassVar[str]
    accepts: ClassVar[tuple[type, ...]]

    def infer(self, problem: Problem, settings: InferenceSettings) -> InferenceOutcome:
        """Compute standard errors, intervals and p-values for the problem's targets."""
        ...


INFERENCE_METHODS: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator adding an inference method to :data:`INFERENCE_METHODS`."""
    INFERENCE_METHODS[cls.name] = cls  # type: ignore[attr-defined]
    return cls


_METHOD_MODULES = ("cluster", "wild", "multiplier", "randomization")


def _load_methods() -> None:
    import importlib

    for module in _METHOD_MODULES:
        importlib.import_module(f"evaluation.inference.{module}")


def get_method(name: str) -> InferenceMethod:
    """Return an instance of the inference method called ``name`` (clear error if unknown)."""
    _load_methods()
    check_option("inference", name, sorted(INFERENCE_METHODS))
    return INFERENCE_METHODS[name]()


def pick_problem(method: InferenceMethod, problems: Sequence[Problem], estimator: str) -> Problem:
    """Return the first problem the method accepts, or raise a clear ``ConfigError``."""
    for p in problems:
        if isinstance(p, method.accepts):
            return p
    raise ConfigError(
        f"inference {method.name!r} is not available for method {estimator!r}; "
        f"it needs one of {[t.__name__ for t in method.accepts]}"
    )
