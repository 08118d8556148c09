"""``pathfinder design``: how many pilot forces, which ones and for how long.

For every design (pilot forces x waves x follow-up x free or stratified choice) and metric,
simulates placebo pilots on the panel's own history before the first go-live, with planted
effects, on a Dask cluster (local by default, ``--scheduler ADDRESS`` for a remote one), and
reports the MDE at 80% power, the size of the test, the analytic (BPW) MDE, and the power at the
appraisal's break-even effect. Defaults to the bundled sample data.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluation.commands._options import MAX_REPS, count, seed
from evaluation.errors import ConfigError
from evaluation.outputs import atomic_output_file, check_output_file
from evaluation.safety import json_text, neutralise_frame

__all__ = ["HELP", "add_arguments", "parse_int_list", "run"]

HELP = "pilot design: MDE and power at the break-even effect for numbers of pilot forces"


def parse_int_list(text: str, option: str) -> tuple[int, ...]:
    """Parse ``3,5,10`` into whole numbers >= 1 (a clear error otherwise).

    Examples
    --------
    >>> parse_int_list("3, 5,10", "--pilots")
    (3, 5, 10)
    """
    try:
        values = tuple(int(p) for p in str(text).split(",") if p.strip())
    except ValueError as exc:
        raise ConfigError(
            f"{option} must be whole numbers separated by commas, e.g. 3,5,10; got {text!r}"
        ) from exc
    if not values or any(v < 1 for v in values):
        raise ConfigError(f"{option} needs whole numbers >= 1; got {text!r}")
    return values


def _pairs(text: str) -> tuple[tuple[str, str | None], ...]:
    from evaluation.estimation import INFERENCE_NAMES, METHODS

    out: list[tuple[str, str | None]] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        method, _, inference = part.partition(":")
        if method not in METHODS:
            raise ConfigError(
                f"--pairs: unknown estimator {method!r}; choose from {', '.join(METHODS)}"
            )
        inf = inference or "recommended"
        if inf != "recommended" and inf not in INFERENCE_NAMES:
            raise ConfigError(
                f"--pairs: unknown inference {inf!r}; choose from recommended, "
                f"{', '.join(INFERENCE_NAMES)}"
            )
        out.append((method, None if inf == "recommended" else inf))
    if not out:
        raise ConfigError("--pairs needs at least one estimator:inference pair")
    return tuple(out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the options of ``pathfinder design``."""
    data = parser.add_argument_group("data (default: the bundled sample)")
    data.add_argument("--panel", type=Path, help="force panel (CSV/Excel)")
    data.add_argument("--register", type=Path, help="pilot register (first go-live ends history)")
    data.add_argument("--costs", type=Path, help="cost ledger (break-even and design cost)")
    data.add_argument("--effects", type=Path, help="effects table (break-even, current estimate)")
    data.add_argument("--params", type=Path, help="appraisal parameters (TOML)")
    d = parser.add_argument_group("designs")
    d.add_argument("--pilots", default="3,5,10,15", help="pilot forces to compare (3,5,10,15)")
    d.add_argument("--waves", default="1", help="numbers of go-live waves to compare (1)")
    d.add_argument("--wave-gap-months", type=int, default=12, help="months between waves (12)")
    d.add_argument(
        "--follow-up-years", default="2", help="years of follow-up from first go-live (2)"
    )
    d.add_argument(
        "--pre-months",
        type=int,
        default=None,
        help="months before go-live (default: up to 24, what the history leaves)",
    )
    d.add_argument(
        "--selection",
        default="free",
        help="free, stratified or free,stratified (pilots spread over force-size thirds)",
    )
    d.add_argument(
        "--metrics",
        default=None,
        help="metrics, comma-separated, or 'all' (default: those of the appraisal's core case)",
    )
    e = parser.add_argument_group("planted effect and tests")
    e.add_argument("--shape", choices=("constant", "linear", "step"), default="constant")
    e.add_argument("--ramp-months", type=int, default=12, help="ramp-up or delay months (12)")
    e.add_argument(
        "--effect-model",
        choices=("relative", "additive"),
        default="additive",
        help="additive: the same change in every pilot force (default; the analytic formula's "
        "homogeneous effect); relative: each pilot's change is proportional to its own level",
    )
    e.add_argument(
        "--pairs",
        default="cs:recommended,cs:cr1",
        help="estimator:inference pairs (default cs:recommended,cs:cr1)",
    )
    e.add_argument(
        "--reps",
        type=count(1, MAX_REPS, "--reps"),
        default=30,
        help="placebo replications per design (30)",
    )
    e.add_argument(
        "--boot-reps",
        type=count(1, MAX_REPS, "--boot-reps"),
        default=199,
        help="bootstrap draws per test (199)",
    )
    e.add_argument("--seed", type=seed, default=20261206, help="seed (20261206)")
    r = parser.add_argument_group("where to run")
    where = r.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, help="local Dask workers (cores)")
    where.add_argument("--scheduler", default=None, help="address of a Dask scheduler")
    r.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=None,
        help="keep finished chunks here; a rerun resumes (default: none)",
    )
    c = parser.add_argument_group("choosing pilots (instead of comparing designs)")
    c.add_argument(
        "--choose",
        type=int,
        default=None,
        metavar="K",
        help="propose K pilot forces balanced on pre-period levels and trends",
    )
    c.add_argument("--must-include", default="", help="forces that must be pilots (A,B)")
    c.add_argument("--must-exclude", default="", help="forces that must not be pilots")
    c.add_argument("--max-per-region", type=int, default=None, help="at most N pilots a region")
    c.add_argument("--proposals", type=int, default=3, help="pilot sets to propose (3)")
    o = parser.add_argument_group("output")
    o.add_argument("--json", action="store_true", help="print the results as JSON")
    o.add_argument("--out", type=Path, help="write design.json, design.csv and design.html here")


def _metric_info(args: argparse.Namespace, sample: Path, names: list[str]) -> dict[str, object]:
    """Direction, flow, break-even and current estimate of each metric; the design costs."""
    import pandas as pd

    from evaluation.appraisal import load_effects, load_params
    from evaluation.ingest import load_ledger, load_register
    from evaluation.pilot_design.breakeven import break_even_effects, ledger_unit_costs
    from evaluation.pilot_design.compare import MetricInfo
    from evaluation.schema import load_metrics

    params = load_params(args.params)
    effects = load_effects(args.effects or sample / "effects.csv")
    ledger = load_ledger(args.costs or sample / "costs.csv")
    register_path = args.register or sample / "register.csv"
    go_live = None
    if args.costs is None or args.register is not None:
        reg = load_register(register_path)
        go_live = dict(zip(reg["force"], reg["go_live"], strict=True))
    be = break_even_effects(ledger, effects, params, go_live=go_live).set_index("metric")
    cfg = load_metrics()
    signs = {b.metric: b.sign for b in params.enabled_benefits}
    info = {}
    for m in names:
        spec = cfg.get(m)
        direction = signs.get(m) or (1 if spec is not None and spec.better == "higher" else -1)
        flow = spec is None or spec.aggregation == "flow"
        est = effects.estimate(m) if m in effects.metrics else math.nan
        x = float(be["break_even"].get(m, math.nan))
        info[m] = MetricInfo(int(direction), flow, x, est)
    setup, running = ledger_unit_costs(pd.DataFrame(ledger))
    return {"info": info, "setup": setup, "running": running}


def _names(text: str) -> list[str]:
    from evaluation.schema import resolve_force

    out = []
    for name in (p.strip() for p in text.split(",") if p.strip()):
        force = resolve_force(name)
        if force is None:
            raise ConfigError(f"unknown force {name!r}")
        out.append(force)
    return out


def _choose(args: argparse.Namespace, histories: Mapping[str, Any]) -> int:
    """Propose balanced pilot sets and print them (or JSON)."""
    import numpy as np

    from evaluation.pilot_design.choose import choose_pilots

    if args.proposals < 1:
        raise ConfigError(f"--proposals must be at least 1; got {args.proposals}")
    props = choose_pilots(
        histories,
        args.choose,
        must_include=_names(args.must_include),
        must_exclude=_names(args.must_exclude),
        max_per_region=args.max_per_region,
        proposals=args.proposals,
        rng=np.random.default_rng(args.seed),
    )
    if args.json:
        sys.stdout.write(json_text({"proposals": [p.to_dict() for p in props]}) + "\n")
        return 0
    for i, p in enumerate(props, start=1):
        print(f"Proposal {i} (imbalance {p.imbalance:.3f}): {', '.join(p.pilots)}")
    print("\nBalance of proposal 1 (standardised means; |smd| < 0.1 is balanced):")
    print(props[0].balance.round(3).to_string(index=False))
    return 0


def run(args: argparse.Namespace) -> int:
    """Compare the designs and print the table (or JSON)."""
    import itertools

    import pandas as pd

    from evaluation.appraisal import load_params
    from evaluation.ingest import bundled_data_dir, load_panel, load_register
    from evaluation.pilot_design.chart import (
        comparison_figure,
        comparison_table,
        primary_rows,
        write_html,
    )
    from evaluation.pilot_design.compare import compare_designs
    from evaluation.pilot_design.designs import Design, history_from_panel
    from evaluation.pilot_design.runner import DaskSettings
    from evaluation.schema import load_metrics

    outputs = ("design.json", "design.csv", "design.html")
    if args.out:  # before the (long) simulation: a file, a link, read-only
        if args.out.exists() and not args.out.is_dir():
            raise ConfigError(f"--out {args.out} is a file, not a folder")
        for name in outputs:
            check_output_file(args.out / name, create_parents=True)

    sample = bundled_data_dir() / "sample"
    pilots = parse_int_list(args.pilots, "--pilots")
    waves = parse_int_list(args.waves, "--waves")
    years = parse_int_list(args.follow_up_years, "--follow-up-years")
    selections = tuple(s.strip() for s in args.selection.split(",") if s.strip())
    for s in selections:
        if s not in ("free", "stratified"):
            raise ConfigError(f"--selection must be free and/or stratified; got {s!r}")
    if args.reps < 2:
        raise ConfigError(f"--reps must be at least 2; got {args.reps}")
    if args.workers is not None and args.workers < 0:
        raise ConfigError(f"--workers must be 0 or more; got {args.workers}")
    pairs = _pairs(args.pairs)

    panel_path = args.panel or sample / "panel.csv"
    panel = load_panel(panel_path, metrics=load_metrics())
    register = load_register(args.register or sample / "register.csv")
    first = pd.Timestamp(register["go_live"].min())
    before = f"{first.year:04d}-{first.month:02d}"
    if args.metrics in (None, ""):
        params = load_params(args.params)
        names = list(dict.fromkeys(b.metric for b in params.enabled_benefits if not b.wider))
    elif args.metrics == "all":
        names = [c for c in panel.columns if c in load_metrics()]
    else:
        names = [m.strip() for m in args.metrics.split(",") if m.strip()]
    unknown = [m for m in names if m not in panel.columns]
    if unknown:
        raise ConfigError(f"--metrics: {', '.join(unknown)} not in {panel_path.name}")
    frame = pd.DataFrame(panel)
    frame["period"] = frame["period"].astype(str)
    histories = {
        m: history_from_panel(frame, m, before=before, source=panel_path.name) for m in names
    }
    if args.choose is not None:
        return _choose(args, histories)
    n_hist = len(next(iter(histories.values())).periods)
    designs = []
    for k, w, y, s in itertools.product(pilots, waves, years, selections):
        pre = args.pre_months if args.pre_months is not None else min(24, n_hist - 12 * y)
        if pre < 1:
            raise ConfigError(
                f"{y} years of follow-up need more than the {n_hist} months of history before "
                f"{before}; choose fewer --follow-up-years"
            )
        designs.append(
            Design(
                k,
                w,
                wave_gap_months=args.wave_gap_months,
                pre_months=pre,
                follow_up_months=12 * y,
                selection=s,
            )
        )
    meta = _metric_info(args, sample, names)
    costs = {
        d: d.pilots * (meta["setup"] + meta["running"] * d.follow_up_months / 12)  # type: ignore[operator]
        for d in designs
    }
    settings = DaskSettings(
        workers=args.workers, scheduler=args.scheduler, checkpoint_dir=args.checkpoint_dir
    )
    result = compare_designs(
        histories,
        designs,
        info=meta["info"],  # type: ignore[arg-type]
        pairs=pairs,
        shape=args.shape,
        ramp_months=args.ramp_months,
        reps=args.reps,
        boot_reps=args.boot_reps,
        seed=args.seed,
        settings=settings,
        design_costs=costs,
        effect_model=args.effect_model,
    )
    payload = result.to_dict()
    payload["history"] = {
        "first": histories[names[0]].periods[0],
        "last": histories[names[0]].periods[-1],
        "forces": len(histories[names[0]].forces),
    }
    if args.out:  # each file atomically; the CSV's text cells neutralised
        with atomic_output_file(args.out / "design.json", create_parents=True) as tmp:
            tmp.write_text(json_text(payload), encoding="utf-8")
        with atomic_output_file(args.out / "design.csv", create_parents=True) as tmp:
            neutralise_frame(result.table).to_csv(tmp, index=False)
        with atomic_output_file(args.out / "design.html", create_parents=True) as tmp:
            write_html(comparison_figure(result), tmp)
    if args.json:
        sys.stdout.write(json_text(payload) + "\n")
        return 0
    table = comparison_table(result)
    print(
        f"Pilot designs simulated on {payload['history']['forces']} forces' history "
        f"{payload['history']['first']} to {payload['history']['last']} "
        f"({args.reps} placebo pilots per design; Monte Carlo s.e. of a power p is "
        f"sqrt(p(1-p)/{args.reps}), at most {50 / math.sqrt(args.reps):.0f} points)"
    )
    print(table.to_string(index=False))
    naive = result.table.drop(primary_rows(result.table).index)
    if len(naive):
        print("\nSize of the other pairs (rejection rate with no effect; 5% is nominal):")
        print(naive[["pilots", "metric", "method", "inference", "size"]].to_string(index=False))
    return 0
