"""Design diagnostics: how many clusters and treated units, and which inference to trust.

Cluster-robust standard errors over-reject when few clusters are treated (Cameron, Gelbach and
Miller 2008; MacKinnon and Webb 2017, 2018). The wild cluster restricted bootstrap repairs much
of that with a moderate number of treated clusters, but with very few treated clusters only
randomization inference (MacKinnon and Webb 2020) keeps its size. These rules pick the default.
"""

from __future__ import annotations

import numpy as np

from evaluation.panel import Panel

__all__ = [
    "FEW_CLUSTERS",
    "FEW_TREATED",
    "REGRESSION_METHODS",
    "design_warnings",
    "effectively_treated",
    "n_effectively_treated",
    "reclassified_units",
    "recommended_inference",
]

#: Below this many treated units, cluster-robust and bootstrap inference are unreliable.
FEW_TREATED = 6
#: Below this many clusters, cluster-robust (CR1) standard errors are unreliable.
FEW_CLUSTERS = 30
#: Estimators that are regressions (wild cluster bootstrap applies).
REGRESSION_METHODS = ("twfe", "event_study", "sun_abraham", "twoway", "did2x2")


def _first_last(panel: Panel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cohort, first and last observed period per unit (panel order)."""
    unit = panel.unit_index
    t = panel.data["time"].to_numpy(dtype=float)
    n = panel.n_units
    first = np.full(n, np.inf)
    last = np.full(n, -np.inf)
    np.minimum.at(first, unit, t)
    np.maximum.at(last, unit, t)
    return panel.unit_cohorts.to_numpy(dtype=float), first, last


def effectively_treated(panel: Panel) -> np.ndarray:
    """Whether each unit (panel order) is effectively treated.

    A unit is effectively treated when it has a cohort, an observed period before it and an
    observed period from it on. Units first treated after their last observed period are
    untreated throughout the data (they serve as never treated); units treated from their first
    observed period on have no pre-treatment period (left out, or refused by
    :meth:`Panel.from_frame`). Neither counts as treated in any diagnostic.
    """
    cohort, first, last = _first_last(panel)
    finite = np.isfinite(cohort)
    return finite & (first < cohort) & (last >= cohort)


def n_effectively_treated(panel: Panel) -> int:
    """Return the number of effectively treated units (see :func:`effectively_treated`)."""
    return int(effectively_treated(panel).sum())


def reclassified_units(panel: Panel) -> tuple[dict[str, object], ...]:
    """Units with a cohort that are not effectively treated, with the reason and what is done.

    Each entry has ``unit``, ``cohort`` (the user's label) and ``reason``.
    """
    cohort, first, last = _first_last(panel)
    out: list[dict[str, object]] = []
    for u, g, f, la in zip(panel.units.tolist(), cohort, first, last, strict=True):
        if not np.isfinite(g):
            continue
        if la < g:
            reason = (
                "first treated after its last observed period: no post-treatment period, "
                "used as never treated"
            )
        elif f >= g:
            reason = (
                "treated from its first observed period on: no pre-treatment period, "
                "not counted as treated (Callaway-Sant'Anna leaves it out)"
            )
        else:
            continue
        out.append({"unit": u, "cohort": panel.time_label(float(g)), "reason": reason})
    return tuple(out)


def _reclassified_warning(panel: Panel) -> str | None:
    moved = reclassified_units(panel)
    if not moved:
        return None
    late = [str(m["unit"]) for m in moved if "after its last" in str(m["reason"])]
    early = [str(m["unit"]) for m in moved if "first observed" in str(m["reason"])]
    parts = []
    if late:
        parts.append(
            f"{len(late)} unit(s) first treated after the last observed period have no "
            f"post-treatment period and are used as never treated: {', '.join(late[:20])}"
        )
    if early:
        parts.append(
            f"{len(early)} unit(s) treated from their first observed period have no "
            f"pre-treatment period and are not counted as treated: {', '.join(early[:20])}"
        )
    return (
        f"{n_effectively_treated(panel)} effectively treated unit(s) (with periods before and "
        "after go-live); " + "; ".join(parts)
    )


def recommended_inference(panel: Panel, method: str) -> str:
    """Return the inference method the toolkit recommends for this design and estimator.

    * synthetic control / synthetic DiD: ``"ri"`` (placebo inference over comparison units);
    * fewer than :data:`FEW_TREATED` effectively treated units (:func:`effectively_treated`):
      ``"ri"`` (randomization inference), except
      where the estimator cannot offer it: the event study (``"wild"``) and Callaway-Sant'Anna on
      an unbalanced panel (``"cr3"``); :func:`design_warnings` then says what to do instead;
    * regression estimators otherwise: ``"wild"`` (wild cluster restricted bootstrap);
    * the imputation estimator otherwise: ``"cr3"`` (the cluster jackknife);
    * Callaway-Sant'Anna otherwise: ``"multiplier"`` (multiplier bootstrap of influence functions).
    """
    if method in ("sdid", "synth", "synthetic"):
        return "ri"
    if n_effectively_treated(panel) < FEW_TREATED:
        if method in ("event_study", "sun_abraham"):
            return "wild"
        if method == "cs" and not panel.is_balanced:
            return "cr3"
        return "ri"
    if method in REGRESSION_METHODS:
        return "wild"
    if method == "imputation":
        return "cr3"
    return "multiplier"


def design_warnings(panel: Panel, inference: str, method: str = "") -> tuple[str, ...]:
    """Return plain-language warnings about the design and the chosen inference."""
    out: list[str] = []
    n_t, g = n_effectively_treated(panel), panel.n_units
    trust = recommended_inference(panel, method)
    if n_t < FEW_TREATED and inference in ("cr1", "cr3", "wild", "multiplier"):
        text = (
            f"only {n_t} treated unit(s) of {g}: {inference} inference is unreliable "
            f"with so few treated clusters (it tends to over- or under-reject); trust "
            f"randomization inference ('ri') instead"
        )
        if method in ("event_study", "sun_abraham"):
            text += (
                " (not offered for event studies: estimate the overall effect with method 'cs' "
                "or 'twfe' and inference 'ri')"
            )
        elif method == "cs" and not panel.is_balanced:
            text += " (for Callaway-Sant'Anna it needs a balanced panel)"
        out.append(text)
    if g < FEW_CLUSTERS and inference in ("cr1", "multiplier"):
        out.append(
            f"only {g} clusters: {inference} standard errors may be too small; trust "
            f"{'wild' if trust == 'wild' else trust!r} inference instead"
        )
    cohort, _, last = _first_last(panel)
    if not (~np.isfinite(cohort) | (last < cohort)).any():
        out.append("no never-treated units: comparisons rely on not-yet-treated units only")
    if not panel.is_balanced:
        missing = panel.n_units * panel.n_periods - len(panel.data)
        out.append(f"unbalanced panel: {missing} unit-period(s) absent")
    moved = _reclassified_warning(panel)
    if moved:
        out.append(moved)
    return tuple(out)
