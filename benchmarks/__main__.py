"""Run each ``benchmarks/bench_*.py`` module's ``main()`` in turn (``make bench``).

``python -m benchmarks NAME ...`` runs only the named modules (e.g. ``cases``); ``--quick`` asks
each benchmark for a reduced size, for a smoke run.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time

import benchmarks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", help="benchmark modules to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="reduced sizes, for a smoke run")
    args = parser.parse_args(argv)
    found = sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules(benchmarks.__path__)
        if m.name.startswith("bench_")
    )
    names = args.names or found
    unknown = sorted(set(names) - set(found))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {found}", file=sys.stderr)
        return 2
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"\n=== benchmark: {name} ===", flush=True)
        start = time.perf_counter()
        module.main(quick=args.quick)
        print(f"--- {name} done in {time.perf_counter() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
