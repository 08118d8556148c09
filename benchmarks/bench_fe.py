"""TWFE and the dynamic event study beside pyfixest, in the same process.

Two panels:

* (a) 43 forces x 96 months from ``evaluation.synth.generate`` (unbalanced: 4,084 rows), outcome
  log(1 + devices received);
* (b) pyfixest's own ``df_het`` (1,500 units x 31 years, balanced, 46,500 rows), outcome
  ``dep_var``.

Tasks, each with CR1 standard errors clustered by unit:

* TWFE: ours ``fit_twfe(..., inference="cr1", bacon=False)`` (coefficient, SE, interval, design
  diagnostics) against ``pyfixest.feols("y ~ D | unit + time", vcov={"CRV1": "unit"})``;
* event study, full window, reference -1: ours ``fit_event_study(..., inference="cr1")``
  (coefficients, SEs, their average with its SE, the pre-trend Wald test and the covariance for
  sensitivity analysis) against ``feols("y ~ i(rel, ref=-1) | unit + time")`` (coefficients and
  SEs only).

Timing: best of several runs after a warm-up, ours and the peer's interleaved so a busy machine
slows both alike. Agreement: coefficients to 1e-8, SEs to 1e-6 (relative), checked on every run.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

REPEAT = 7


def _bundled() -> pd.DataFrame:
    from evaluation.panel import attach_cohorts
    from evaluation.synth import generate

    data = generate(rng=np.random.default_rng(0))
    frame = attach_cohorts(data.panel, data.register)
    frame = frame.assign(y=np.log1p(frame["devices_received"].astype(float)))
    return frame[["force", "period", "cohort", "y"]]


def _df_het() -> pd.DataFrame:
    import pyfixest

    path = os.path.join(os.path.dirname(pyfixest.__file__), "did", "data", "df_het.csv")
    d = pd.read_csv(path)
    return pd.DataFrame(
        {"force": d["unit"], "period": d["year"], "cohort": d["g"], "y": d["dep_var"]}
    )


def _peer_frame(panel: object) -> pd.DataFrame:
    from evaluation.estimators.event_study import relative_time
    from evaluation.panel import Panel

    assert isinstance(panel, Panel)
    rel, _ = relative_time(panel)
    return panel.data.assign(
        D=panel.treated, rel=np.where(np.isfinite(rel), rel, -1000.0).astype(int)
    )


def _best(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def run(frame: pd.DataFrame, label: str, repeat: int) -> list[dict[str, object]]:
    """Time both tasks on one panel; return one row per task."""
    import pyfixest as pf

    from evaluation.estimators.event_study import fit_event_study
    from evaluation.estimators.twfe import fit_twfe
    from evaluation.panel import Panel

    panel = Panel.from_frame(frame, unit="force", time="period", cohort="cohort", outcomes="y")
    d = _peer_frame(panel)

    def twfe_ours() -> object:
        return fit_twfe(panel, "y", inference="cr1", bacon=False)

    def twfe_peer() -> object:
        return pf.feols("y ~ D | unit + time", data=d, vcov={"CRV1": "unit"}).tidy()

    def es_ours() -> object:
        return fit_event_study(panel, "y", inference="cr1")

    def es_peer() -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = pf.feols("y ~ i(rel, ref=-1) | unit + time", data=d, vcov={"CRV1": "unit"})
        return fit.tidy()

    # agreement
    ours, peer = twfe_ours(), twfe_peer()
    assert abs(ours.overall.estimate - peer["Estimate"].iloc[0]) < 1e-8  # type: ignore[attr-defined,index]
    assert abs(ours.overall.se / peer["Std. Error"].iloc[0] - 1) < 1e-6  # type: ignore[attr-defined,index]
    es, es_pf = es_ours(), es_peer()
    table = es.event_study.dropna(subset=["se"]).set_index("event_time")  # type: ignore[attr-defined]
    coef = {
        int(float(str(k).split("::")[1].rstrip("]"))): (v, s)
        for k, v, s in zip(es_pf.index, es_pf["Estimate"], es_pf["Std. Error"], strict=True)  # type: ignore[index,attr-defined]
        if "::-1000" not in str(k)
    }
    diffs = [abs(table.loc[e, "estimate"] - coef[e][0]) for e in table.index]
    rel_se = [abs(table.loc[e, "se"] / coef[e][1] - 1) for e in table.index]
    assert max(diffs) < 1e-8 and max(rel_se) < 1e-6, (max(diffs), max(rel_se))

    times = _best(
        {"twfe": twfe_ours, "twfe_pf": twfe_peer, "es": es_ours, "es_pf": es_peer}, repeat
    )
    rows = []
    for task, key in (("TWFE", "twfe"), (f"event study ({len(table)} event times)", "es")):
        rows.append(
            {
                "panel": label,
                "task": task,
                "ours_s": times[key],
                "pyfixest_s": times[f"{key}_pf"],
                "ratio": times[f"{key}_pf"] / times[key],
            }
        )
    return rows


def main(quick: bool = False) -> None:
    """Print both panels' timings beside pyfixest (the peer's version in the header)."""
    import pyfixest

    repeat = 3 if quick else REPEAT
    print(f"pyfixest {pyfixest.__version__}; best of {repeat} runs, seconds, in process")
    rows = run(_bundled(), "(a) 43 x 96 bundled (unbalanced)", repeat)
    rows += run(_df_het(), "(b) 1,500 x 31 df_het (balanced)", repeat)
    print(f"{'panel':36} {'task':28} {'ours':>8} {'pyfixest':>9} {'ratio':>7}")
    for r in rows:
        print(
            f"{r['panel']:36} {r['task']:28} {r['ours_s']:8.4f} {r['pyfixest_s']:9.4f} "
            f"{r['ratio']:6.1f}x"
        )


if __name__ == "__main__":
    main()
