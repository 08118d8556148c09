"""``pathfinder synth``: generate the synthetic pilot data set with known effects.

Writes ``panel.csv``, ``register.csv``, ``costs.csv``, ``truth.csv``, ``truth_summary.csv``,
``README.md`` and ``manifest.json`` (SHA-256 of each file, seed, generator version, config) to
``--out`` (default: ``data/sample`` of the repository). The same seed and options give
byte-identical files.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from evaluation.commands._options import seed
from evaluation.errors import ConfigError
from evaluation.periods import format_period, parse_period
from evaluation.synth import DEFAULT_SEED, SAMPLE_FILES, SynthConfig, generate, write_synth

__all__ = ["DEFAULT_OUT", "add_arguments", "config_from_args", "run"]

#: ``data/sample`` of the repository (computed from this file's location).
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "data" / "sample"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the options of ``pathfinder synth``."""
    parser.add_argument(
        "--seed", type=seed, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output directory (default: data/sample)"
    )
    parser.add_argument(
        "--freq", choices=("month", "quarter"), default="month", help="period of the panel"
    )
    parser.add_argument(
        "--pilots-per-wave",
        default=None,
        metavar="N,N,...",
        help="pilot forces per wave, e.g. 3,5,6 (waves go live each April from the first "
        "default wave, 2022-04)",
    )
    parser.add_argument("--start", default=None, metavar="YYYY-MM", help="first month (2018-04)")
    parser.add_argument("--end", default=None, metavar="YYYY-MM", help="last month (2026-03)")


def _parse_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(
            f"--pilots-per-wave must be whole numbers separated by commas, e.g. 3,5,6; got {text!r}"
        ) from exc
    if not counts or any(c < 0 for c in counts):
        raise ConfigError(f"--pilots-per-wave needs at least one count >= 0; got {text!r}")
    return counts


def config_from_args(args: argparse.Namespace) -> SynthConfig:
    """Return the :class:`SynthConfig` the command-line options describe."""
    config = SynthConfig()
    changes: dict[str, object] = {"freq": args.freq}
    if args.start is not None:
        changes["start"] = args.start
    if args.end is not None:
        changes["end"] = args.end
    if args.pilots_per_wave is not None:
        counts = _parse_counts(args.pilots_per_wave)
        first = parse_period(config.waves[0][0], "month")
        waves = tuple((format_period(first + 12 * i), count) for i, count in enumerate(counts))
        changes["waves"] = waves
        labels = {label for label, count in waves if count > 0}
        changes["fixed_pilots"] = tuple(
            (force, label) for force, label in config.fixed_pilots if label in labels
        )
    return replace(config, **changes)  # type: ignore[arg-type]


def run(args: argparse.Namespace) -> int:
    """Generate and write the data set; print what was written."""
    config = config_from_args(args)
    out = DEFAULT_OUT if args.out is None else Path(args.out)
    data = generate(config, np.random.default_rng(args.seed))
    # The recorded command leaves out --out: where files go does not change their contents.
    parts = [f"pathfinder synth --seed {args.seed}"]
    if args.freq != "month":
        parts.append(f"--freq {args.freq}")
    if args.pilots_per_wave is not None:
        parts.append(f"--pilots-per-wave {args.pilots_per_wave}")
    if args.start is not None:
        parts.append(f"--start {args.start}")
    if args.end is not None:
        parts.append(f"--end {args.end}")
    paths = write_synth(data, out, seed=args.seed, command=" ".join(parts))
    pilots = len(data.register)
    print(
        f"synthetic data (seed {args.seed}): {len(data.panel)} panel rows, {pilots} pilot forces, "
        f"{len(data.missing)} absent force-periods, {len(data.ledger)} ledger lines"
    )
    for name in (*SAMPLE_FILES, "manifest.json"):
        print(f"  wrote {paths[name]}")
    return 0
