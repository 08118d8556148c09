"""Inference strategies for few clusters: CR1, CR3, wild cluster bootstrap, multiplier
bootstrap and randomization inference, behind one interface (see :mod:`.base`).
"""

from evaluation.inference.base import (
    INFERENCE_METHODS,
    InferenceOutcome,
    InferenceSettings,
    InfluenceProblem,
    LinearProblem,
    PermutationProblem,
    RefitProblem,
    get_method,
)

__all__ = [
    "INFERENCE_METHODS",
    "InferenceOutcome",
    "InferenceSettings",
    "InfluenceProblem",
    "LinearProblem",
    "PermutationProblem",
    "RefitProblem",
    "get_method",
]
