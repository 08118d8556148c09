"""Labels and choices shared by the dashboard's pages and services."""

from __future__ import annotations

from typing import Literal

ESTIMATOR_LABELS: dict[str, str] = {
    "cs": "Callaway-Sant'Anna",
    "imputation": "Imputation (Borusyak-Jaravel-Spiess)",
    "twfe": "Two-way fixed effects (diagnostic)",
    "event_study": "Event study (dynamic TWFE)",
}
INFERENCE_LABELS: dict[str, str] = {
    "": "Recommended for the design",
    "multiplier": "Multiplier bootstrap",
    "cr1": "Cluster-robust (CR1)",
    "cr3": "Cluster jackknife (CR3)",
    "wild": "Wild cluster bootstrap",
    "ri": "Randomization inference",
}
SCENARIOS = ("low", "central", "high")
#: event times either side of go-live used by the sensitivity bounds
BOUNDS_WINDOW = 12
Scenario = Literal["low", "central", "high"]
