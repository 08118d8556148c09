"""The case aggregation in polars (lazy, streaming engine): a benchmark peer.

Written as a polars user would: ``scan_csv`` with the column types given (dates parsed by
the reader) or ``scan_parquet``, one lazy plan grouping receipts by (force, received period)
and completions by (force, completed period) with polars' own ``quantile(q, "linear")``,
collected together with the streaming engine; the small grouped results are laid on the
force x period grid with pandas. Force names are mapped with a table of the canonical names
and listed aliases (after trimming, in any case); the rules that guard the arithmetic are
counted and any violation raises ``ValueError``. Polars interpolates quantiles with its own
floating-point formula, so its quantiles may differ from numpy's in the last bit.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from evaluation.cases import CASE_METRICS, OUTSOURCED_TRUE
from evaluation.cases_pandas import _label
from evaluation.periods import Frequency
from evaluation.schema import _ALIASES, FORCE_NAMES

__all__ = ["aggregate_cases_polars"]


def _ordinal(col: pl.Expr, freq: Frequency) -> pl.Expr:
    months = col.dt.year().cast(pl.Int64) * 12 + col.dt.month().cast(pl.Int64) - 1
    if freq == "month":
        return months
    if freq == "quarter":
        return months // 3
    return (months - 3) // 12


def aggregate_cases_polars(path: str | os.PathLike[str], freq: Frequency = "month") -> pd.DataFrame:
    """Aggregate a valid case file with polars; the panel of ``aggregate_cases``."""
    file = Path(os.fspath(path))
    with file.open("rb") as handle:
        parquet = handle.read(4) == b"PAR1"
    if parquet:
        lf = pl.scan_parquet(file)
        schema = lf.collect_schema()
        blank = {c: pl.col(c).str.strip_chars().replace("", None) for c in schema}
        lf = lf.with_columns(
            [blank[c].str.to_date("%Y-%m-%d") for c in ("received", "completed")
             if schema[c] == pl.String]
            + ([blank["cost_gbp"].cast(pl.Float64)] if schema["cost_gbp"] == pl.String else [])
        )  # fmt: skip
    else:
        lf = pl.scan_csv(
            file,
            schema_overrides={
                "force": pl.String,
                "received": pl.Date,
                "completed": pl.Date,
                "outsourced": pl.String,
                "cost_gbp": pl.Float64,
            },
        )
    names = {n.lower(): n for n in FORCE_NAMES} | {a.lower(): n for a, n in _ALIASES.items()}
    base = lf.select(
        force=pl.col("force")
        .str.strip_chars()
        .str.to_lowercase()
        .replace_strict(names, default=None, return_dtype=pl.String),
        pr=_ordinal(pl.col("received"), freq),
        pc=_ordinal(pl.col("completed"), freq),
        days=(pl.col("completed") - pl.col("received")).dt.total_days(),
        out=pl.col("outsourced").str.strip_chars().str.to_lowercase().is_in(OUTSOURCED_TRUE)
        & pl.col("completed").is_not_null(),
        cost=pl.col("cost_gbp").cast(pl.Float64),
    )
    recv = base.group_by("force", "pr").agg(n=pl.len())
    done = (
        base.filter(pl.col("pc").is_not_null())
        .group_by("force", "pc")
        .agg(
            n=pl.len(),
            median=pl.col("days").quantile(0.5, "linear"),
            p90=pl.col("days").quantile(0.9, "linear"),
            n_out=pl.col("out").sum(),
            spend=pl.col("cost").filter(pl.col("out")).sum(),
            negative=(pl.col("days") < 0).sum(),
        )
    )
    r, d = (f.to_pandas() for f in pl.collect_all([recv, done], engine="streaming"))
    if r["force"].isna().any() or r["pr"].isna().any():
        raise ValueError("blank or unknown forces, or blank received dates")
    if d["negative"].sum():
        raise ValueError("completed dates before received")
    forces = sorted(r["force"].unique())
    lo = int(r["pr"].min())
    hi = int(max(r["pr"].max(), d["pc"].max() if len(d) else lo))
    grid = pd.MultiIndex.from_product([forces, range(lo, hi + 1)], names=["force", "p"])
    r = r.set_index(["force", "pr"]).rename_axis(["force", "p"])
    d = d.set_index(["force", "pc"]).rename_axis(["force", "p"])
    panel = pd.DataFrame(index=grid)
    panel["devices_received"] = r["n"].reindex(grid, fill_value=0).astype(np.int64)
    panel["devices_examined"] = d["n"].reindex(grid, fill_value=0).astype(np.int64)
    panel["backlog"] = (
        (panel["devices_received"] - panel["devices_examined"]).groupby(level="force").cumsum()
    )
    panel["median_turnaround_days"] = d["median"].reindex(grid).astype(np.float64)
    panel["p90_turnaround_days"] = d["p90"].reindex(grid).astype(np.float64)
    panel["outsourced_exams"] = d["n_out"].reindex(grid, fill_value=0).astype(np.int64)
    panel["outsourced_spend_gbp"] = d["spend"].reindex(grid).fillna(0.0).astype(np.float64)
    panel = panel.reset_index()
    labels = {p: _label(p, freq) for p in range(lo, hi + 1)}
    panel["period"] = panel["p"].map(labels).astype(str)
    panel["force"] = panel["force"].astype(str)
    return panel[["force", "period", *CASE_METRICS]]
