"""Callaway-Sant'Anna with a 999-draw multiplier bootstrap: Pathfinder vs csdid and differences.

Same panel, same estimator (unconditional ATT(g,t), never-treated comparison units, varying base
period), same number of bootstrap draws; the figure is the wall-clock time of fitting ATT(g,t)
and bootstrapping them (plus, for Pathfinder, all four aggregations with their own bootstraps,
which the peers' timings do not include). Panels:

(a) 43 forces x 96 months, three go-live waves (``evaluation.synth.generate`` with no missing
    rows when available, otherwise an equivalent numpy panel);
(b) 3,000 units x 40 periods, eight cohorts and never-treated units (numpy).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from evaluation.estimators.callaway_santanna import fit_cs
from evaluation.inference.base import InferenceSettings
from evaluation.panel import Panel

REPS = 999


def _numpy_panel(n: int, T: int, cohorts: list[int], share_never: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_never = round(n * share_never)
    g = np.concatenate([np.zeros(n_never), rng.choice(cohorts, size=n - n_never)])
    unit_fe = rng.normal(size=n)
    time_fe = np.cumsum(rng.normal(scale=0.1, size=T))
    t = np.arange(1, T + 1)
    e = t[None, :] - g[:, None]
    effect = np.where((g[:, None] > 0) & (e >= 0), 0.1 + 0.02 * e, 0.0)
    y = unit_fe[:, None] + time_fe[None, :] + effect + rng.normal(scale=0.5, size=(n, T))
    return pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n), T),
            "time": np.tile(t, n),
            "g": np.repeat(g, T).astype(int),
            "y": y.ravel(),
        }
    )


def _forces_panel(quick: bool) -> tuple[pd.DataFrame, str]:
    try:
        from evaluation.synth import SynthConfig, generate
    except ImportError:
        return _numpy_panel(43, 96, [49, 61, 73], 0.7, 1), "numpy (synth not available)"
    cfg = SynthConfig(missing_share=0.0, late_reporting_force=None)
    data = generate(cfg, np.random.default_rng(1))
    panel = data.panel.copy()
    periods = sorted(panel["period"].unique())
    code = {p: i + 1 for i, p in enumerate(periods)}
    golive = {
        f: code.get(str(pd.Period(pd.Timestamp(d), freq="M")), 0)
        for f, d in zip(data.register["force"], data.register["go_live"], strict=True)
    }
    ids = {f: i for i, f in enumerate(sorted(panel["force"].unique()))}
    df = pd.DataFrame(
        {
            "unit": panel["force"].map(ids).to_numpy(),
            "time": panel["period"].map(code).to_numpy(),
            "g": panel["force"].map(golive).fillna(0).astype(int).to_numpy(),
            "y": np.log1p(panel["devices_examined"].to_numpy(dtype=float)),
        }
    )
    return df, "evaluation.synth.generate (log devices examined)"


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _ours(df: pd.DataFrame) -> Callable[[], object]:
    def run() -> object:
        panel = Panel.from_frame(df, unit="unit", time="time", cohort="g", outcomes="y")
        s = InferenceSettings(reps=REPS, weights="rademacher", rng=np.random.default_rng(0))
        return fit_cs(panel, "y", inference="multiplier", settings=s)

    return run


def _csdid(df: pd.DataFrame) -> Callable[[], object]:
    from csdid.att_gt import ATTgt

    def run() -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = ATTgt(
                yname="y",
                gname="g",
                idname="unit",
                tname="time",
                data=df.copy(),
                control_group="nevertreated",
                biters=REPS,
            )
            return m.fit(est_method="dr", bstrap=True)

    return run


def _differences(df: pd.DataFrame) -> Callable[[], object]:
    from differences import ATTgt

    data = df.assign(g=df["g"].replace(0, np.nan)).set_index(["unit", "time"])

    def run() -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            att = ATTgt(data=data, cohort_column="g")
            return att.fit(
                formula="y",
                control_group="never_treated",
                boot_iterations=REPS,
                random_state=0,
                n_jobs=1,
                progress_bar=False,
            )

    return run


def main(quick: bool = False) -> None:
    """Print our time beside each peer's, with the ratio, for both panels."""
    forces, source = _forces_panel(quick)
    big = _numpy_panel(600 if quick else 3000, 40, [8, 12, 16, 20, 24, 28, 32, 36], 0.3, 2)
    repeat = 1 if quick else 3
    print(f"multiplier bootstrap, {REPS} draws; best of {repeat} run(s); seconds")
    print(f"(a) forces panel from {source}")
    header = f"{'panel':<24}{'pathfinder':>12}{'peer':>14}{'peer time':>12}{'ratio':>9}"
    print(header)
    print("-" * len(header))
    for label, df in (
        (f"(a) {df_shape(forces)}", forces),
        (f"(b) {df_shape(big)}", big),
    ):
        ours = _best(_ours(df), repeat)
        for name, make in (("csdid", _csdid), ("differences", _differences)):
            try:
                peer = _best(make(df), repeat)
            except ImportError:
                print(f"{label:<24}{ours:>12.3f}{name:>14}{'n/a':>12}{'':>9}")
                continue
            print(f"{label:<24}{ours:>12.3f}{name:>14}{peer:>12.3f}{peer / ours:>8.1f}x")


def df_shape(df: pd.DataFrame) -> str:
    """Return 'units x periods' of a long frame."""
    return f"{df['unit'].nunique()} x {df['time'].nunique()}"


if __name__ == "__main__":
    main()
