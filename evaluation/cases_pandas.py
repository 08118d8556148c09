"""The case aggregation in plain pandas and numpy: the benchmark baseline and a cross-check.

:func:`aggregate_cases_pandas` is written as a careful pandas user would write it, so that
the benchmark compares against a fair baseline: the CSV is read by pandas' multi-threaded
pyarrow engine with the column types given (dates parsed by the reader), only the columns used
are read, text columns are factorized once and their few distinct values resolved (force
names, outsourced flags), cells are integer codes, counts are ``numpy.bincount`` and the
turnaround quantiles are computed for every cell at once from one sort (numpy's
``linear`` method, in numpy's own floating-point steps, so they equal
:func:`numpy.quantile` bit for bit). It checks the rules that guard the arithmetic (dates
parsed, completed on or after received, flags and costs readable, forces known) and raises
``ValueError`` with counts, without listing rows: use :func:`evaluation.cases.aggregate_cases`
for untrusted files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.cases import (
    CASE_METRICS,
    OUTSOURCED_FALSE,
    OUTSOURCED_TRUE,
    REQUIRED_CASE_COLUMNS,
    _file_kind,
)
from evaluation.errors import check_option
from evaluation.periods import FREQUENCIES, Frequency, format_period
from evaluation.schema import resolve_force

__all__ = ["aggregate_cases_pandas", "cell_quantiles"]

_PANDAS_FREQ = {"month": "M", "quarter": "Q-DEC", "fy": "Y-MAR"}


def cell_quantiles(cell: np.ndarray, values: np.ndarray, n_cells: int, q: float) -> np.ndarray:
    """Return numpy's linear quantile ``q`` of ``values`` within each cell, NaN where empty.

    One stable sort by (cell, value); for a cell of ``n`` values starting at ``s`` in sorted
    order, ``h = (n - 1) q``, ``a = x[s + floor(h)]``, ``b = x[s + min(floor(h) + 1, n - 1)]``
    and ``g = h - floor(h)``; the result is ``a + (b - a) g`` if ``g < 0.5``, else
    ``b - (b - a)(1 - g)`` (numpy's ``_lerp``).

    Examples
    --------
    >>> cell_quantiles(np.array([0, 0, 0, 2]), np.array([30, 4, 10, 7]), 3, 0.9)
    array([26., nan,  7.])
    """
    order = np.lexsort((values, cell))
    ordered = values[order].astype(np.float64)
    n = np.bincount(cell, minlength=n_cells)
    start = np.cumsum(n) - n
    has = n > 0
    out = np.full(n_cells, np.nan)
    nn = n[has]
    h = (nn - 1).astype(np.float64) * q
    lo = np.floor(h)
    lo_i = lo.astype(np.int64)
    hi_i = np.minimum(lo_i + 1, nn - 1)
    a = ordered[start[has] + lo_i]
    b = ordered[start[has] + hi_i]
    g = h - lo
    diff = b - a
    result = a + diff * g
    upper = g >= 0.5
    result[upper] = (b - diff * (1 - g))[upper]
    out[has] = result
    return out


def _read(path: Path, kind: str, rename: Mapping[str, str]) -> pd.DataFrame:
    wanted = list(REQUIRED_CASE_COLUMNS)
    reverse = {new: old for old, new in rename.items()}
    names = [reverse.get(c, c) for c in wanted]
    if kind == "parquet":  # only the columns used; dates as datetime64, not Python objects
        df = pd.read_parquet(
            path, engine="pyarrow", columns=names, to_pandas_kwargs={"date_as_object": False}
        )
        return df.rename(columns=dict(rename))[wanted]
    types = {reverse.get(c, c): "string[pyarrow]" for c in ("force", "outsourced")}
    types |= {reverse.get(c, c): "datetime64[s]" for c in ("received", "completed")}
    types[reverse.get("cost_gbp", "cost_gbp")] = "float64"
    df = pd.read_csv(path, engine="pyarrow", usecols=names, dtype=types)
    return df.rename(columns=dict(rename))[wanted]


def _dates(col: pd.Series, name: str) -> np.ndarray:
    """Return days since 1970-01-01 as float (NaN where blank); raise for unreadable text."""
    if pd.api.types.is_string_dtype(col.dtype) or col.dtype == object:
        parsed = pd.to_datetime(col, format="%Y-%m-%d", errors="coerce")
        bad = parsed.isna() & col.notna() & (col.astype(str).str.strip() != "")
        if bad.any():
            raise ValueError(f"{name}: {int(bad.sum()):,} value(s) not a date YYYY-MM-DD")
        col = parsed
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        col = col.dt.tz_convert("Europe/London").dt.tz_localize(None)
    values = pd.to_datetime(col).to_numpy(dtype="datetime64[D]")
    days = values.astype("int64").astype(np.float64)
    days[np.isnat(values)] = np.nan
    return days


def _ordinals(days: np.ndarray, freq: Frequency) -> np.ndarray:
    """Period ordinals (as in the DuckDB path) of day numbers; -1 where NaN."""
    finite = np.isfinite(days)
    d = np.where(finite, days, 0).astype("int64").astype("datetime64[D]")
    months = d.astype("datetime64[M]").astype("int64") + 1970 * 12  # year * 12 + month - 1
    if freq == "month":
        out = months
    elif freq == "quarter":
        out = months // 3
    else:
        out = (months - 3) // 12
    return np.where(finite, out, -1)


def _label(ordinal: int, freq: Frequency) -> str:
    if freq == "month":
        period = pd.Period(year=ordinal // 12, month=ordinal % 12 + 1, freq="M")
    elif freq == "quarter":
        period = pd.Period(year=ordinal // 4, quarter=ordinal % 4 + 1, freq="Q-DEC")
    else:
        period = pd.Period(year=ordinal + 1, month=3, freq="Y-MAR")  # FY ending March
    return format_period(period)


def aggregate_cases_pandas(
    path: str | os.PathLike[str],
    freq: Frequency = "month",
    *,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Aggregate a *valid* case file with pandas and numpy (benchmark baseline, cross-check).

    Parameters
    ----------
    path
        CSV or Parquet file of examinations.
    freq
        ``"month"``, ``"quarter"`` or ``"fy"``.
    columns
        Column map, header in the file -> contract column.

    Returns
    -------
    pandas.DataFrame
        Columns ``force``, ``period`` and :data:`~evaluation.cases.CASE_METRICS`, the same
        panel as :func:`evaluation.cases.aggregate_cases`.

    Raises
    ------
    ValueError
        A rule broken (counts only, no rows listed).
    """
    check_option("freq", freq, FREQUENCIES)
    file = Path(os.fspath(path))
    df = _read(file, _file_kind(file, os.fspath(path)), dict(columns or {}))

    # text columns: factorize once, resolve the few distinct values
    codes, uniques = pd.factorize(df["force"], use_na_sentinel=True)
    resolved = [resolve_force(u) for u in uniques]
    names = [n for n in resolved if n is not None]
    if (codes < 0).any() or len(names) < len(resolved):
        raise ValueError("force: blank or unknown force names")
    forces = sorted(set(names))
    force = np.array([forces.index(n) for n in names], dtype=np.int64)[codes]
    flag_codes, flag_uniques = pd.factorize(df["outsourced"], use_na_sentinel=True)
    spelled = [str(u).strip().lower() for u in flag_uniques]
    if any(s not in (*OUTSOURCED_TRUE, *OUTSOURCED_FALSE, "") for s in spelled):
        raise ValueError("outsourced: values other than yes/no")
    is_true = np.array([s in OUTSOURCED_TRUE for s in spelled] + [False])
    is_given = np.array([s != "" for s in spelled] + [False])
    flagged = is_given[flag_codes]

    received = _dates(df["received"], "received")
    completed = _dates(df["completed"], "completed")
    cost_col = df["cost_gbp"]
    if pd.api.types.is_string_dtype(cost_col.dtype) or cost_col.dtype == object:
        text = cost_col.astype("string").str.strip()
        cost_col = text.where(text != "")
    cost = pd.to_numeric(cost_col, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    done = np.isfinite(completed)
    if np.isnan(received).any():
        raise ValueError("received: blank dates")
    if (completed[done] < received[done]).any():
        raise ValueError("completed: dates before received")
    if (done & ~flagged).any() or (done & np.isnan(cost)).any():
        raise ValueError("outsourced or cost_gbp: blank for completed examinations")
    given = ~np.isnan(cost)
    if (np.isinf(cost[given]) | (cost[given] < 0)).any():
        raise ValueError("cost_gbp: infinite or negative costs")

    pr = _ordinals(received, freq)
    pc = _ordinals(completed, freq)
    lo = int(pr.min())
    hi = int(max(pr.max(), pc[done].max() if done.any() else lo))
    n_periods = hi - lo + 1
    n_cells = len(forces) * n_periods
    cell_r = force * n_periods + (pr - lo)
    cell_c = (force * n_periods + (pc - lo))[done]
    days = (completed - received)[done].astype(np.int64)
    out = is_true[flag_codes][done]

    received_n = np.bincount(cell_r, minlength=n_cells)
    examined_n = np.bincount(cell_c, minlength=n_cells)
    backlog = np.cumsum((received_n - examined_n).reshape(len(forces), n_periods), axis=1)
    spend = np.bincount(cell_c[out], weights=cost[done][out], minlength=n_cells)
    labels = [_label(lo + i, freq) for i in range(n_periods)]
    panel = pd.DataFrame(
        {
            "force": np.repeat(np.array(forces, dtype=object), n_periods),
            "period": labels * len(forces),
            "devices_received": received_n.astype(np.int64),
            "devices_examined": examined_n.astype(np.int64),
            "backlog": backlog.ravel().astype(np.int64),
            "median_turnaround_days": cell_quantiles(cell_c, days, n_cells, 0.5),
            "p90_turnaround_days": cell_quantiles(cell_c, days, n_cells, 0.9),
            "outsourced_exams": np.bincount(cell_c[out], minlength=n_cells).astype(np.int64),
            "outsourced_spend_gbp": spend,
        }
    )
    panel["force"] = panel["force"].astype(str)
    panel["period"] = panel["period"].astype(str)
    return panel[["force", "period", *CASE_METRICS]]
