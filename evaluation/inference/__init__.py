"""Inference strategies for few clusters, behind one interface (see :mod:`.base`).

CR1, CR3, the wild cluster restricted bootstrap, the multiplier bootstrap and randomization
inference.
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
