"""Design diagnostics: how many clusters and treated units, and which inference to trust.

Cluster-robust standard errors over-reject when few clusters are treated (Cameron, Gelbach and
Miller 2008; MacKinnon and Webb 2017, 2018). The wild cluster restricted bootstrap repairs much
of that with a moderate number of treated clusters, but with very few treated clusters only
randomization inference (MacKinnon and Webb 2020) keeps its size. These rules pick the default.
"""

from __future__ import annotations

from evaluation.panel import Panel

__all__ = [
    "FEW_CLUSTERS",
    "FEW_TREATED",
    "REGRESSION_METHODS",
    "design_warnings",
    "recommended_inference",
]

#: Below this many treated units, cluster-robust and bootstrap inference are unreliable.
FEW_TREATED = 6
#: Below this many clusters, cluster-robust (CR1) standard errors are unreliable.
FEW_CLUSTERS = 30
#: Estimators that are regressions (wild cluster bootstrap applies).
REGRESSION_METHODS = ("twfe", "event_study", "twoway", "did2x2")


def recommended_inference(panel: Panel, method: str) -> str:
    """Return the inference method the toolkit recommends for this design and estimator.

    * synthetic control / synthetic DiD: ``"ri"`` (placebo inference over comparison units);
    * fewer than :data:`FEW_TREATED` treated units: ``"ri"`` (randomization inference), except
      where the estimator cannot offer it: the event study (``"wild"``) and Callaway-Sant'Anna on
      an unbalanced panel (``"cr3"``); :func:`design_warnings` then says what to do instead;
    * regression estimators otherwise: ``"wild"`` (wild cluster restricted bootstrap);
    * the imputation estimator otherwise: ``"cr3"`` (the cluster jackknife);
    * Callaway-Sant'Anna otherwise: ``"multiplier"`` (multiplier bootstrap of influence functions).
    """
    if method in ("sdid", "synth", "synthetic"):
        return "ri"
    if panel.n_treated_units < FEW_TREATED:
        if method == "event_study":
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
    n_t, g = panel.n_treated_units, panel.n_units
    trust = recommended_inference(panel, method)
    if n_t < FEW_TREATED and inference in ("cr1", "cr3", "wild", "multiplier"):
        text = (
            f"only {n_t} treated unit(s) of {g}: {inference} inference is unreliable with so few "
            f"treated clusters (it tends to over- or under-reject); trust randomization inference "
            f"('ri') instead"
        )
        if method == "event_study":
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
    if panel.n_never_treated == 0:
        out.append("no never-treated units: comparisons rely on not-yet-treated units only")
    if not panel.is_balanced:
        missing = panel.n_units * panel.n_periods - len(panel.data)
        out.append(f"unbalanced panel: {missing} unit-period(s) absent")
    return tuple(out)
