"""Seeded synthetic case files shared by the case-aggregation tests and the reference script."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.schema import FORCE_NAMES

__all__ = ["REFERENCE_ROWS", "REFERENCE_SEED", "cases_reference_frame"]

REFERENCE_SEED = 20261206
REFERENCE_ROWS = 60_000


def cases_reference_frame(seed: int = REFERENCE_SEED, n: int = REFERENCE_ROWS) -> pd.DataFrame:
    """Return ``n`` valid examinations as text columns (a CSV export), from ``seed``.

    Every force (canonical names and a few aliases), received dates over April 2015 to March
    2026, a mixture of turnarounds (same-day, short, long-tailed and up to four years, so that
    cells hold from one to hundreds of completions and tied values), 10% pending, 25%
    outsourced with pence-valued costs.
    """
    rng = np.random.default_rng(seed)
    forces = [*FORCE_NAMES, "Met", "GMP", "thames valley police", " Kent "]
    received = pd.Timestamp("2015-04-01") + pd.to_timedelta(rng.integers(0, 4018, n), "D")
    kind = rng.random(n)
    days = np.where(
        kind < 0.05,
        0,
        np.where(
            kind < 0.35,
            rng.geometric(1 / 20, n) - 1,
            np.where(kind < 0.85, rng.geometric(1 / 90, n) - 1, rng.integers(0, 1500, n)),
        ),
    )
    completed = received + pd.to_timedelta(days, "D")
    pending = (rng.random(n) < 0.10) | (completed > pd.Timestamp("2026-03-31"))
    outsourced = rng.random(n) < 0.25
    cost = np.round(rng.gamma(2.0, 180.0, n), 2)
    # skewed force shares, so cells range from empty to busy
    weights = rng.pareto(1.5, len(forces)) + 0.05
    return pd.DataFrame(
        {
            "force": rng.choice(forces, n, p=weights / weights.sum()),
            "received": received.strftime("%Y-%m-%d"),
            "completed": np.where(pending, "", completed.strftime("%Y-%m-%d")),
            "outsourced": np.where(pending, "", np.where(outsourced, "yes", "no")),
            "cost_gbp": np.where(pending, "", pd.Series(cost).map(repr)),
            "offence_type": rng.choice(["Fraud", "Drugs", "Rape, serious sexual"], n),
        }
    )
