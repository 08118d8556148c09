"""Case-level aggregation: pathfinder beside fair pandas and polars versions, in one run.

Engines: ``evaluation.cases.aggregate_cases`` (DuckDB, with the full per-row validation),
``evaluation.cases_pandas.aggregate_cases_pandas`` (pandas' pyarrow CSV reader, factorized
text, numpy quantiles from one sort) and ``benchmarks.cases_polars.aggregate_cases_polars``
(polars lazy plan, streaming engine). Each peer's panel is compared with pathfinder's.

Generates synthetic device examinations with DuckDB itself (10 million rows; 200,000 with
``--quick``; 30 and 100 million more with ``PATHFINDER_BENCH_LARGE=1``): 43 forces weighted
by officer numbers, received dates uniform over April 2018 to March 2026, exponential
turnarounds (mean 90 days), examinations not finished by 31 March 2026 pending plus 3%
stalled, 20% outsourced at higher cost. Files go to ``benchmarks/_work/`` (git-ignored,
reused by later runs), as Parquet and as CSV. Each aggregation runs in its own subprocess, so
its peak resident memory (``ru_maxrss`` of that child, from ``os.wait4``) is its own;
"aggregation s" is timed around the call inside the child, "whole s" is the child from start
to exit (interpreter and imports included), "CPU s" its user + system time.

Run: ``python -m benchmarks cases`` (``--quick`` for a smoke run; ``PATHFINDER_BENCH_LARGE=1``
for 30M and 100M rows, which needs about 10 GB of disk and, for pandas at 100M rows, about
20 GB of memory; ``PATHFINDER_BENCH_REPEAT=3`` for medians of three runs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

WORK = Path(__file__).resolve().parent / "_work"
ROOT = Path(__file__).resolve().parent.parent
FULL_ROWS = 10_000_000
QUICK_ROWS = 200_000
FREQ = "month"


def _uniform(i: str, salt: str) -> str:
    """SQL for a reproducible uniform(0, 1) draw from a row index and a salt."""
    return f"((hash({i}, '{salt}') % 1000000007) / 1000000007.0)"


def generate(n: int, parquet: Path | str, csv: Path | str | None) -> None:
    """Write ``n`` synthetic examinations as Parquet (and CSV when ``csv`` is given)."""
    from evaluation.schema import force_officers

    officers = force_officers()
    share = officers / officers.sum()
    upper = share.cumsum().to_numpy().copy()
    upper[-1] = 1.0 + 1e-9
    forces = pd.DataFrame(
        {"name": officers.index.astype(str), "lo": upper - share.to_numpy(), "hi": upper}
    )
    days_span = (pd.Timestamp("2026-03-31") - pd.Timestamp("2018-04-01")).days + 1
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    # bounded, so that generating 100 million rows does not take the machine's memory
    con.execute("SET memory_limit = '2GB'")
    con.execute(f"SET temp_directory = '{WORK / 'duckdb_tmp'}'")
    con.register("forces", forces)
    con.execute(
        f"""
        CREATE TEMP TABLE cases AS
        WITH draws AS (
            SELECT i,
                   {_uniform("i", "force")} AS u_force,
                   DATE '2018-04-01' + CAST(floor({_uniform("i", "recv")} * {days_span})
                                            AS INTEGER) AS received,
                   CAST(floor(-ln(1 - {_uniform("i", "days")}) * 90) AS INTEGER) AS days,
                   {_uniform("i", "stall")} < 0.03 AS stalled,
                   {_uniform("i", "out")} < 0.20 AS outsourced,
                   {_uniform("i", "cost")} AS u_cost
            FROM range({n}) r(i)
        ),
        joined AS (
            SELECT d.*, f.name AS force,
                   CASE WHEN d.stalled OR d.received + d.days > DATE '2026-03-31' THEN NULL
                        ELSE d.received + d.days END AS completed
            FROM draws d JOIN forces f ON d.u_force >= f.lo AND d.u_force < f.hi
        )
        SELECT force, received, completed,
               CASE WHEN completed IS NULL THEN NULL
                    WHEN outsourced THEN 'yes' ELSE 'no' END AS outsourced,
               CASE WHEN completed IS NULL THEN NULL
                    WHEN outsourced THEN round(300 + 600 * u_cost, 2)
                    ELSE round(80 + 250 * u_cost, 2) END AS cost_gbp,
               CASE i % 5 WHEN 0 THEN 'Fraud' WHEN 1 THEN 'Drugs' WHEN 2 THEN 'Rape'
                          WHEN 3 THEN 'Child sexual abuse images' ELSE 'Murder' END
                   AS offence_type
        FROM joined ORDER BY i
        """
    )
    con.execute(f"COPY cases TO '{parquet}' (FORMAT parquet)")
    if csv is not None:
        con.execute(f"COPY cases TO '{csv}' (HEADER, DATEFORMAT '%Y-%m-%d')")
    con.close()


ENGINES = ("pathfinder", "pandas", "polars")
#: Environment variable that adds the large sizes (30 million rows, CSV and Parquet; 100 million
#: rows, Parquet for every engine and CSV for pathfinder alone).
LARGE_ENV = "PATHFINDER_BENCH_LARGE"
#: Environment variable: runs per engine and input (the median is reported) [1].
REPEAT_ENV = "PATHFINDER_BENCH_REPEAT"


def _worker(engine: str, path: str, out: str) -> None:
    """Child process: run one aggregation, save the panel, print the wall time as JSON."""
    start = time.perf_counter()
    if engine == "imports":  # the floor: interpreter and every engine's libraries loaded
        import evaluation.cases
        import evaluation.cases_pandas  # noqa: F401

        try:
            import benchmarks.cases_polars  # noqa: F401
        except ImportError:
            pass
        print(json.dumps({"seconds": time.perf_counter() - start}))
        return
    if engine == "pathfinder":
        from evaluation.cases import aggregate_cases

        begin = time.perf_counter()
        panel, _ = aggregate_cases(path, freq=FREQ)
    elif engine == "pandas":
        from evaluation.cases_pandas import aggregate_cases_pandas

        begin = time.perf_counter()
        panel = aggregate_cases_pandas(path, FREQ)
    else:
        from benchmarks.cases_polars import aggregate_cases_polars

        begin = time.perf_counter()
        panel = aggregate_cases_polars(path, FREQ)
    seconds = time.perf_counter() - begin
    panel.to_parquet(out, index=False)
    print(json.dumps({"seconds": seconds, "imports": begin - start}))


def _run_child(engine: str, path: Path, out: Path) -> dict[str, float]:
    """Run one aggregation in a fresh process: its times and peak resident memory."""
    call = f"_worker({engine!r}, {str(path)!r}, {str(out)!r})"
    code = f"from benchmarks.bench_cases import _worker; {call}"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    stdout = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    whole = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} on {path.name} failed (exit {proc.returncode})")
    result = json.loads(stdout.strip().splitlines()[-1])
    return {
        "seconds": float(result["seconds"]),
        "whole": whole,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": usage.ru_maxrss / 1024.0,  # ru_maxrss is in KiB on Linux
    }


def _median_run(engine: str, path: Path, out: Path, repeat: int) -> dict[str, float]:
    runs = [_run_child(engine, path, out) for _ in range(repeat)]
    return {k: float(np.median([r[k] for r in runs])) for k in runs[0]}


def _compare(ours: Path, theirs: Path) -> str:
    """Say how a peer's panel compares with pathfinder's."""
    x, y = pd.read_parquet(ours), pd.read_parquet(theirs)
    if list(x.columns) != list(y.columns) or len(x) != len(y):
        return "DIFFERENT SHAPE"
    keys = ["force", "period"]
    counts = ["devices_received", "devices_examined", "backlog", "outsourced_exams"]
    quantiles = ["median_turnaround_days", "p90_turnaround_days"]
    if not x[keys].astype(str).equals(y[keys].astype(str)):
        return "DIFFERENT force/period grid"
    same_counts = all(np.array_equal(x[c].to_numpy(), y[c].to_numpy()) for c in counts)
    same_missing = all(x[c].isna().equals(y[c].isna()) for c in quantiles)
    differ = sum(
        int((x[c].notna() & (x[c].to_numpy() != y[c].to_numpy())).sum()) for c in quantiles
    )
    worst = max(float(np.nanmax(np.abs(x[c] - y[c]), initial=0.0)) for c in quantiles)
    spend = float(
        np.max(
            np.abs(x["outsourced_spend_gbp"] - y["outsourced_spend_gbp"])
            / np.maximum(1.0, np.abs(x["outsourced_spend_gbp"]))
        )
    )
    if not (same_counts and same_missing):
        return "DIFFERENT counts, backlog or missing quantiles"
    quant = (
        "quantiles identical"
        if differ == 0
        else f"quantiles differ in {differ} cell(s) by up to {worst:.1e} days"
    )
    return f"same counts and backlog; {quant}; spend max rel diff {spend:.1e}"


def _files(n: int) -> tuple[Path, Path]:
    """Generate (or reuse) the Parquet and CSV files of ``n`` examinations."""
    parquet, csv = WORK / f"cases_{n}.parquet", WORK / f"cases_{n}.csv"
    if parquet.exists() and csv.exists():
        print(f"reusing {parquet.name} and {csv.name}")
        return parquet, csv
    start = time.perf_counter()
    # generated in a child too, so this process stays small: a child's ru_maxrss starts from
    # the resident size of the process it was forked from
    call = f"generate({n}, {str(parquet)!r}, {str(csv)!r})"
    code = f"from benchmarks.bench_cases import generate; {call}"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    print(
        f"generated {n:,} examinations in {time.perf_counter() - start:.1f} s: "
        f"{parquet.stat().st_size / 2**20:,.0f} MB Parquet, "
        f"{csv.stat().st_size / 2**20:,.0f} MB CSV"
    )
    return parquet, csv


def _machine() -> str:
    from evaluation.machine import available_memory, default_memory_limit

    try:
        import polars

        polars_version = polars.__version__
    except ImportError:
        polars_version = "not installed"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    free = available_memory()
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, "
        f"{(free or 0) / 2**30:.1f} GiB available, load average {load}; Python "
        f"{sys.version.split()[0]}, DuckDB {duckdb.__version__}, pandas {pd.__version__}, "
        f"numpy {np.__version__}, polars {polars_version}; pathfinder's default memory "
        f"limit {default_memory_limit()}"
    )


def _plan(quick: bool) -> list[tuple[int, str, tuple[str, ...]]]:
    """(rows, input kind, engines) to run."""
    if quick:
        return [(QUICK_ROWS, k, ENGINES) for k in ("parquet", "csv")]
    plan = [(FULL_ROWS, k, ENGINES) for k in ("parquet", "csv")]
    if os.environ.get(LARGE_ENV) == "1":
        plan += [(30_000_000, k, ENGINES) for k in ("parquet", "csv")]
        plan += [(100_000_000, "parquet", ENGINES), (100_000_000, "csv", ("pathfinder",))]
    return plan


def main(quick: bool = False) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    repeat = int(os.environ.get(REPEAT_ENV, "1"))
    try:
        import polars  # noqa: F401

        engines_available = ENGINES
    except ImportError:
        engines_available = ("pathfinder", "pandas")
        print("polars is not installed (pip install -e '.[peers]'): its rows are skipped")
    print(f"machine: {_machine()}")
    print(f"monthly panel; median of {repeat} run(s) per row ({REPEAT_ENV}); sizes above 10M "
          f"rows with {LARGE_ENV}=1")  # fmt: skip
    floor = _run_child("imports", WORK / "none", WORK / "none.parquet")
    print(
        f"a child that only imports the libraries: {floor['rss']:.0f} MB, {floor['seconds']:.2f} s"
    )
    plan = _plan(quick)
    files = {n: _files(n) for n in dict.fromkeys(n for n, _, _ in plan)}
    header = (
        f"| {'rows':>11} | {'input':<7} | {'engine':<10} | {'aggregation s':>13} | "
        f"{'whole s':>7} | {'CPU s':>6} | {'peak RSS MB':>11} | check against pathfinder |"
    )
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for n, kind, engines in plan:
        path = files[n][0] if kind == "parquet" else files[n][1]
        outs = {e: WORK / f"panel_{n}_{kind}_{e}.parquet" for e in engines}
        for engine in engines:
            if engine not in engines_available:
                continue
            r = _median_run(engine, path, outs[engine], repeat)
            check = "" if engine == "pathfinder" else _compare(outs["pathfinder"], outs[engine])
            print(
                f"| {n:>11,} | {kind:<7} | {engine:<10} | {r['seconds']:>13.2f} | "
                f"{r['whole']:>7.2f} | {r['cpu']:>6.1f} | {r['rss']:>11,.0f} | {check} |",
                flush=True,
            )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at the end: {load}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
