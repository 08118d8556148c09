"""Case-level aggregation: DuckDB (evaluation.cases.aggregate_cases) beside a pandas baseline.

Generates synthetic device examinations with DuckDB itself (10 million rows; 200,000 with
``--quick``): 43 forces weighted by officer numbers, received dates uniform over April 2018 to
March 2026, exponential turnarounds (mean 90 days), examinations not finished by 31 March 2026
pending plus 3% stalled, 20% outsourced at higher cost. Files go to ``benchmarks/_work/``
(git-ignored), as Parquet and as CSV. Each aggregation runs in its own subprocess, so its peak
resident memory (``ru_maxrss`` of that child, from ``os.wait4``) is its own; wall time is measured
around the aggregation call inside the child (imports excluded). The two panels are compared.

Run: ``python -m benchmarks cases`` (add ``--quick`` for a smoke run).
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


def _worker(engine: str, path: str, out: str) -> None:
    """Child process: run one aggregation, save the panel, print the wall time as JSON."""
    from evaluation.cases import aggregate_cases, aggregate_cases_pandas

    start = time.perf_counter()
    if engine == "imports":  # the floor: interpreter, pandas, pyarrow and duckdb loaded
        print(json.dumps({"seconds": 0.0}))
        return
    if engine == "duckdb":
        panel, _ = aggregate_cases(path, freq=FREQ)
    else:
        panel = aggregate_cases_pandas(path, FREQ)
    seconds = time.perf_counter() - start
    panel.to_parquet(out, index=False)
    print(json.dumps({"seconds": seconds}))


def _run_child(engine: str, path: Path, out: Path) -> tuple[float, float]:
    """Return (wall seconds, peak RSS in MB) of one aggregation in a fresh process."""
    call = f"_worker({engine!r}, {str(path)!r}, {str(out)!r})"
    code = f"from benchmarks.bench_cases import _worker; {call}"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    stdout = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} on {path.name} failed (exit {proc.returncode})")
    seconds = json.loads(stdout.strip().splitlines()[-1])["seconds"]
    return seconds, usage.ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux


def _compare(a: Path, b: Path) -> str:
    x, y = pd.read_parquet(a), pd.read_parquet(b)
    if list(x.columns) != list(y.columns) or len(x) != len(y):
        return "DIFFERENT SHAPE"
    exact = [c for c in x.columns if c != "outsourced_spend_gbp"]
    same = x[exact].astype(str).equals(y[exact].astype(str)) and all(
        np.array_equal(x[c].to_numpy(), y[c].to_numpy(), equal_nan=True)
        for c in exact
        if c not in ("force", "period")
    )
    spend = np.max(
        np.abs(x["outsourced_spend_gbp"] - y["outsourced_spend_gbp"])
        / np.maximum(1.0, np.abs(y["outsourced_spend_gbp"]))
    )
    verdict = "identical" if same else "DIFFERENT"
    return f"{verdict} counts/backlog/quantiles; spend max rel diff {spend:.1e}"


def main(quick: bool = False) -> None:
    n = QUICK_ROWS if quick else FULL_ROWS
    WORK.mkdir(parents=True, exist_ok=True)
    tag = "quick" if quick else "full"
    parquet, csv = WORK / f"cases_{tag}.parquet", WORK / f"cases_{tag}.csv"
    start = time.perf_counter()
    # generated in a child too, so this process stays small: a child's ru_maxrss starts from
    # the resident size of the process it was forked from
    call = f"generate({n}, {str(parquet)!r}, {str(csv)!r})"
    code = f"from benchmarks.bench_cases import generate; {call}"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    print(
        f"generated {n:,} examinations in {time.perf_counter() - start:.1f} s: "
        f"{parquet.stat().st_size / 2**20:.0f} MB Parquet, {csv.stat().st_size / 2**20:.0f} MB CSV"
    )
    print(
        f"freq={FREQ}; DuckDB {duckdb.__version__}, pandas {pd.__version__}, {os.cpu_count()} cores"
    )
    _, floor = _run_child("imports", parquet, WORK / "unused.parquet")
    print(f"peak RSS of a child that only imports the libraries: {floor:.0f} MB")
    header = (
        f"{'input':<8} {'engine':<8} {'wall s':>8} {'peak RSS MB':>12}   ratio (pandas / duckdb)"
    )
    print(header)
    print("-" * len(header))
    for path in (parquet, csv):
        kind = path.suffix.lstrip(".")
        outs = {e: WORK / f"panel_{tag}_{kind}_{e}.parquet" for e in ("duckdb", "pandas")}
        results = {e: _run_child(e, path, outs[e]) for e in ("duckdb", "pandas")}
        (dt, dm), (pt, pm) = results["duckdb"], results["pandas"]
        print(f"{kind:<8} {'duckdb':<8} {dt:>8.2f} {dm:>12.0f}")
        print(
            f"{kind:<8} {'pandas':<8} {pt:>8.2f} {pm:>12.0f}   "
            f"time x{pt / dt:.1f}, memory x{pm / dm:.1f}"
        )
        print(f"{'':<8} check: {_compare(outs['duckdb'], outs['pandas'])}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
