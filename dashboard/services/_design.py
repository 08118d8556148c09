"""Pilot design: how many forces, which ones and for how long (background job)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from dashboard.services._analysis import _cache
from dashboard.services._data import load_frames
from dashboard.store import UserStore

#: choices of the pilot-design page: value -> the selections compared
DESIGN_SELECTIONS: dict[str, tuple[Literal["free", "stratified"], ...]] = {
    "free": ("free",),
    "stratified": ("stratified",),
    "both": ("free", "stratified"),
}
#: most placebo replications the pilot-design page runs (the command line has no such limit)
DESIGN_MAX_REPS = 200


@dataclass(frozen=True)
class DesignView:
    """What the pilot-design page shows: the comparison, its readable table and a summary."""

    result: Any
    table: pd.DataFrame
    summary: str
    history: tuple[str, str, int]


def design_summary(table: pd.DataFrame) -> str:
    """Return one line: per metric, the fewest pilot forces with 80% power at break-even."""
    from evaluation.pilot_design.chart import primary_rows

    parts = []
    for metric, rows in primary_rows(table).groupby("metric", sort=False):
        name = str(metric).replace("_", " ")
        ok = rows[rows["power_at_break_even"] >= 0.8]
        if ok.empty:
            best = rows["power_at_break_even"].max()
            parts.append(
                f"{name}: no design reaches 80% power at the break-even effect"
                + ("" if pd.isna(best) else f" (best {best:.0%})")
            )
        else:
            top = ok.sort_values(["pilots", "power_at_break_even"], ascending=[True, False]).iloc[0]
            parts.append(
                f"{name}: {int(top['pilots'])} pilot forces ({top['selection']}) give "
                f"{top['power_at_break_even']:.0%} power at the break-even effect"
            )
    return "; ".join(parts) + "."


def pilot_design(
    store: UserStore,
    token: str,
    pilots: str,
    selection: str = "free",
    *,
    reps: int = 20,
    seed: int = 20261206,
    boot_reps: int = 199,
    progress: Callable[[int, int, str], None] | None = None,
) -> DesignView:
    """Compare pilot designs on the data set's history, as ``pathfinder design`` does.

    ``pilots`` is a list such as ``"3,5,10"``; ``selection`` a key of :data:`DESIGN_SELECTIONS`.
    The other settings are the command's defaults: one wave, two years of follow-up, the core
    case's metrics, the recommended inference beside CR1, the bundled effects table and
    parameters for the break-even effects (with this data set's cost ledger and register). Runs
    in this process (``workers=0``); results are cached on disk.
    """
    from evaluation.appraisal import load_effects, load_params
    from evaluation.commands.design import parse_int_list
    from evaluation.errors import ConfigError
    from evaluation.ingest import bundled_data_dir
    from evaluation.pilot_design.breakeven import break_even_effects, ledger_unit_costs
    from evaluation.pilot_design.chart import comparison_table
    from evaluation.pilot_design.compare import MetricInfo, compare_designs
    from evaluation.pilot_design.designs import Design, history_from_panel
    from evaluation.pilot_design.runner import DaskSettings
    from evaluation.schema import load_metrics

    counts = parse_int_list(pilots, "Pilot forces")
    if selection not in DESIGN_SELECTIONS:
        raise ConfigError(
            f"selection must be one of {', '.join(DESIGN_SELECTIONS)}; got {selection!r}"
        )
    if not isinstance(reps, int) or not 2 <= reps <= DESIGN_MAX_REPS:
        raise ConfigError(
            f"replications must be a whole number 2 to {DESIGN_MAX_REPS}; got {reps!r}"
        )
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a whole number >= 0; got {seed!r}")
    key = ("design", token, counts, selection, reps, seed, boot_reps)
    with _cache(store) as cache:
        hit = cache.get(key)
    if hit is not None:
        return hit
    frames = load_frames(store, token)
    params = load_params()
    names = list(dict.fromkeys(b.metric for b in params.enabled_benefits if not b.wider))
    missing = [m for m in names if m not in frames.panel.columns]
    if missing:
        raise ConfigError(f"the panel has no {', '.join(missing)} (a metric of the appraisal)")
    first = pd.Timestamp(frames.register["go_live"].min())
    before = f"{first.year:04d}-{first.month:02d}"
    panel = pd.DataFrame(frames.panel)
    panel["period"] = panel["period"].astype(str)
    hist = {m: history_from_panel(panel, m, before=before, source="panel") for m in names}
    n_hist = len(hist[names[0]].periods)
    pre = min(24, n_hist - 24)
    if pre < 1:
        raise ConfigError(f"two years of follow-up need more than {n_hist} months before {before}")
    designs = [
        Design(k, 1, pre_months=pre, follow_up_months=24, selection=s)
        for k in counts
        for s in DESIGN_SELECTIONS[selection]
    ]
    effects = load_effects(bundled_data_dir() / "sample" / "effects.csv")
    go_live = dict(zip(frames.register["force"], frames.register["go_live"], strict=True))
    be = break_even_effects(frames.ledger, effects, params, go_live=go_live).set_index("metric")
    specs, signs = load_metrics(), {b.metric: b.sign for b in params.enabled_benefits}
    info = {}
    for m in names:
        spec = specs.get(m)
        direction = signs.get(m) or (1 if spec is not None and spec.better == "higher" else -1)
        est = effects.estimate(m) if m in effects.metrics else math.nan
        flow = spec is None or spec.aggregation == "flow"
        info[m] = MetricInfo(int(direction), flow, float(be["break_even"].get(m, math.nan)), est)
    setup, running = ledger_unit_costs(pd.DataFrame(frames.ledger))
    costs = {d: d.pilots * (setup + running * d.follow_up_months / 12) for d in designs}
    note = progress or (lambda i, n, s: None)
    note(0, 1, f"simulating {len(designs)} designs x {len(names)} metrics, {reps} pilots each")

    # one run of ``reps`` simulations per (metric, design) study, one after the other
    all_runs = len(designs) * len(names) * reps
    finished = [0]

    def simulated(done: int, total: int) -> None:
        overall = finished[0] * total + done
        if done >= total:
            finished[0] += 1
        note(
            overall, all_runs + 1, f"simulating: {overall:,} of {all_runs:,} simulated pilots done"
        )

    result = compare_designs(
        hist,
        designs,
        info=info,
        pairs=(("cs", None), ("cs", "cr1")),
        reps=reps,
        boot_reps=boot_reps,
        seed=seed,
        settings=DaskSettings(workers=0, progress=False, on_progress=simulated),
        design_costs=costs,
        effect_model="additive",
    )
    h = hist[names[0]]
    view = DesignView(
        result,
        comparison_table(result),
        design_summary(result.table),
        (h.periods[0], h.periods[-1], len(h.forces)),
    )
    note(1, 1, "done")
    with _cache(store) as cache:
        cache.set(key, view)
    return view
