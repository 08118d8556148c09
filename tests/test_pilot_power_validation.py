"""Simulated power on the panel's own history agrees with the truth over fresh data sets.

On the bundled generator (its design: 14 pilots in waves of 3, 5 and 6 a year apart, 48 months
before the first go-live and 48 after; its planted effect on outsourced examinations: a linear
ramp to -30% over 18 months), the share of significant results over independently generated data
sets is the true power. The placebo simulation sees only one history per run (the generator's
untreated outcomes, no effect anywhere), draws pilots at random and plants the same effect: its
power must agree within Monte Carlo error, and its size with no effect must be within Monte
Carlo error of 5%. Bounded by default; PATHFINDER_FULL=1 runs the full size.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from evaluation.estimation import estimate
from evaluation.pilot_design.designs import Design, History
from evaluation.pilot_design.runner import DaskSettings, run_tasks
from evaluation.pilot_design.simulate import PowerSpec, replicate
from evaluation.schema import force_table
from evaluation.studies import arrays_to_frame, study_config
from evaluation.synth import EffectSpec, SynthArrays, simulate

FULL = os.environ.get("PATHFINDER_FULL") == "1"
METRIC = "outsourced_exams"
EFFECT = EffectSpec(METRIC, "linear", -0.30, ramp_months=18)
DESIGN = Design(
    14, waves=3, wave_gap_months=12, pre_months=48, follow_up_months=48, sizes=(3, 5, 6)
)
BOOT = 199


def _fresh_dataset(_: int, rng: np.random.Generator) -> tuple[bool, bool]:
    """One independent data set: reject with the planted effect, and with none (same draw)."""
    cfg = study_config(fixed_pilots=(), effects=(EFFECT,))
    sim_rng, est_rng = rng.spawn(2)
    arrays = simulate(cfg, sim_rng)
    out = []
    for observed in (arrays.y1, arrays.y0):
        data = SynthArrays(
            arrays.forces, arrays.periods, arrays.cohort, arrays.wave, observed, observed
        )
        frame, _ = arrays_to_frame(data, METRIC)
        o = estimate(
            frame, "y", unit="force", time="t", cohort="cohort", reps=BOOT, rng=est_rng
        ).overall
        out.append(bool(o.p_value < 0.05))
    return out[0], out[1]


def _history(seed: int) -> History:
    cfg = study_config(fixed_pilots=(), effects=())
    arrays = simulate(cfg, np.random.default_rng(seed))
    table = force_table()
    return History(
        METRIC,
        arrays.forces,
        arrays.periods,
        np.asarray(arrays.y0[METRIC], dtype=float),
        table.loc[list(arrays.forces), "officers_fte"].to_numpy(dtype=float),
        tuple(table.loc[list(arrays.forces), "region"]),
    )


@pytest.mark.slow
def test_placebo_power_and_size_match_independent_data_sets() -> None:
    n_true = 400 if FULL else 60
    n_hist, n_placebo = (4, 100) if FULL else (2, 30)
    settings = DaskSettings(workers=0)
    truth = run_tasks(_fresh_dataset, range(n_true), seed=2026, settings=settings)
    power_true = float(np.mean([t[0] for t in truth]))
    size_true = float(np.mean([t[1] for t in truth]))

    rejects = {0.0: [], EFFECT.size: []}
    for h in range(n_hist):
        spec = PowerSpec(
            _history(100 + h),
            DESIGN,
            (0.0, EFFECT.size),
            "linear",
            EFFECT.ramp_months,
            (("cs", None),),
            boot_reps=BOOT,
            effect_model="relative",
        )
        for rows in run_tasks(replicate, [spec] * n_placebo, seed=h, settings=settings):
            assert rows[0]["inference_used"] == "multiplier"  # the recommendation for 14 pilots
            for r in rows:
                rejects[r["effect"]].append(r["reject"])
    n_sim = n_hist * n_placebo
    power_sim = float(np.mean(rejects[EFFECT.size]))
    size_sim = float(np.mean(rejects[0.0]))

    se_diff = math.sqrt(
        power_true * (1 - power_true) / n_true + power_sim * (1 - power_sim) / n_sim
    )
    assert 0.2 < power_true < 0.95  # an informative point of the power curve
    assert abs(power_sim - power_true) <= 3 * max(se_diff, 0.02), (power_sim, power_true)
    for size, n in ((size_sim, n_sim), (size_true, n_true)):
        assert abs(size - 0.05) <= 3 * math.sqrt(0.05 * 0.95 / n) + 1e-9, (size, n)
