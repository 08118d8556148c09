"""The effects table: estimated pilot effects with their sampling uncertainty.

One row per metric: ``metric``, ``estimate``, ``se`` (standard error), ``unit`` and optional
``per`` (only ``force-year``: the average effect per pilot force per year). An optional
``draws`` column names a CSV file of bootstrap draws (a plain file name in the effects table's
own folder, nothing else), one column per metric and one row per draw; the Monte Carlo then
resamples whole rows, keeping the estimates' correlation. Lines starting with ``#`` are
comments.

Examples
--------
>>> import pandas as pd
>>> t = effects_from_frame(pd.DataFrame(
...     {"metric": ["outsourced_exams"], "estimate": [-180.0], "se": [45.0], "unit": ["exams"]}))
>>> t.estimate("outsourced_exams"), t.se("outsourced_exams")
(-180.0, 45.0)
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.errors import AppraisalError, DataError, Problem

__all__ = ["MAX_DRAWS_BYTES", "EffectsTable", "effects_from_frame", "load_effects"]

#: A metric name: lower-case letters, digits and underscores. Metrics are configuration: any
#: name is accepted here; the benefit lines of the parameter set say which ones are used.
_METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_REQUIRED = ("metric", "estimate", "se", "unit")
_PER = ("force-year",)


@dataclass(frozen=True)
class EffectsTable:
    """Validated effects: a frame indexed by metric, plus optional joint bootstrap draws."""

    table: pd.DataFrame
    draws: pd.DataFrame | None = field(default=None, repr=False)
    source: str = "effects"

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics with an estimate."""
        return tuple(self.table.index)

    def estimate(self, metric: str) -> float:
        """Return the point estimate of ``metric``."""
        return float(self._row(metric)["estimate"])

    def se(self, metric: str) -> float:
        """Return the standard error of ``metric``."""
        return float(self._row(metric)["se"])

    def _row(self, metric: str) -> pd.Series:
        if metric not in self.table.index:
            raise AppraisalError(
                f"{self.source}: no estimate for metric {metric!r} "
                f"(have: {', '.join(self.metrics) or 'none'})"
            )
        return self.table.loc[metric]  # type: ignore[return-value]

    def with_estimate(self, metric: str, value: float) -> EffectsTable:
        """Return a copy with the estimate of ``metric`` replaced (draws shifted with it)."""
        shift = value - self.estimate(metric)
        table = self.table.copy()
        table.loc[metric, "estimate"] = float(value)
        draws = None
        if self.draws is not None:
            draws = self.draws.copy()
            if metric in draws.columns:
                draws[metric] = draws[metric] + shift
        return EffectsTable(table, draws, self.source)


def effects_from_frame(
    frame: pd.DataFrame, *, draws: pd.DataFrame | None = None, source: str = "effects"
) -> EffectsTable:
    """Validate an effects frame (columns ``metric, estimate, se, unit[, per]``).

    Raises
    ------
    DataError
        Listing every problem: missing columns, unknown metrics, duplicate metrics, missing or
        negative standard errors, non-numeric estimates, unsupported ``per``.
    """
    problems: list[Problem] = []
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: the effects table needs columns {', '.join(_REQUIRED)}",
            [Problem(f"missing column '{c}'", file=source, column=c) for c in missing],
        )
    rows = []
    seen: set[str] = set()
    for i, rec in enumerate(frame.to_dict("records")):
        row = i + 2
        metric = rec["metric"]
        metric = str(metric).strip() if isinstance(metric, str) else metric
        if not isinstance(metric, str) or not _METRIC_NAME.match(metric):
            problems.append(
                Problem(
                    "not a metric name",
                    file=source,
                    row=row,
                    column="metric",
                    value=str(metric),
                    expected="lower-case letters, digits and underscores, e.g. outsourced_exams",
                )
            )
            continue
        if metric in seen:
            problems.append(
                Problem("duplicate metric", file=source, row=row, column="metric", value=metric)
            )
        seen.add(metric)
        est, se = _num(rec["estimate"]), _num(rec["se"])
        if est is None:
            problems.append(
                Problem(
                    f"estimate of {metric} is not a number",
                    file=source,
                    row=row,
                    column="estimate",
                    value=str(rec["estimate"]),
                )
            )
        if se is None:
            problems.append(
                Problem(
                    f"effect {metric} has no standard error: the appraisal needs each "
                    "estimate's sampling uncertainty",
                    file=source,
                    row=row,
                    column="se",
                    value=str(rec["se"]),
                    expected="a number >= 0",
                )
            )
        elif se < 0:
            problems.append(
                Problem(
                    f"standard error of {metric} is negative",
                    file=source,
                    row=row,
                    column="se",
                    value=str(rec["se"]),
                    expected="a number >= 0",
                )
            )
        per = rec.get("per", "force-year")
        per = "force-year" if per is None or (isinstance(per, float) and math.isnan(per)) else per
        if per not in _PER:
            problems.append(
                Problem(
                    f"unsupported 'per' for {metric}",
                    file=source,
                    row=row,
                    column="per",
                    value=str(per),
                    expected=", ".join(_PER),
                )
            )
        rows.append(
            {"metric": metric, "estimate": est, "se": se, "unit": str(rec["unit"]), "per": per}
        )
    if not rows and not problems:
        problems.append(Problem("the effects table has no rows", file=source))
    if draws is not None:
        for col in draws.columns:
            if col not in seen:
                problems.append(
                    Problem(
                        "bootstrap draws for a metric with no estimate",
                        file=source,
                        column=str(col),
                    )
                )
        if len(draws) < 2:
            problems.append(Problem("bootstrap draws need at least 2 rows", file=source))
        elif not np.isfinite(draws.to_numpy(dtype=float)).all():
            problems.append(
                Problem("bootstrap draws contain missing or non-finite values", file=source)
            )
    if problems:
        raise DataError(f"{source}: the effects table is not usable", problems)
    table = pd.DataFrame(rows).set_index("metric")
    table["unit"] = table["unit"].astype(object)
    table["per"] = table["per"].astype(object)
    return EffectsTable(table, None if draws is None else draws.astype(float), source)


#: Largest bootstrap-draws file accepted beside an effects table.
MAX_DRAWS_BYTES = 50 * 1024 * 1024


def _read_csv_text(p: Path, what: str, max_bytes: int) -> pd.DataFrame:
    from evaluation.readers import read_text_file

    try:
        text = read_text_file(p, what, max_bytes=max_bytes)
    except DataError as exc:
        raise AppraisalError(str(exc).splitlines()[0]) from exc
    try:
        return pd.read_csv(io.StringIO(text), comment="#", skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise AppraisalError(f"cannot read {what} {p.name}: {exc}") from exc


def _draws_path(table: Path, name: str) -> Path:
    """Return the draws file an effects table names: a plain file name beside the table only."""
    plain = Path(name).name == name and name not in (".", "..") and "\\" not in name
    if not plain:
        raise AppraisalError(
            f"{table.name}: column 'draws' must name a file in the same folder as the effects "
            f"table (a plain file name such as draws.csv); got {name!r}"
        )
    if Path(name).suffix.lower() != ".csv":
        raise AppraisalError(f"{table.name}: the draws file must be a .csv file; got {name!r}")
    dpath = table.parent / name
    if dpath.is_symlink() or not dpath.is_file():
        raise AppraisalError(
            f"{table.name}: the draws file {name!r} is not a regular file beside the effects table"
        )
    return dpath


def load_effects(path: str | Path) -> EffectsTable:
    """Read and validate an effects CSV (UTF-8; ``#`` lines are comments).

    An optional ``draws`` column names a CSV of bootstrap draws: only a plain file name in the
    effects table's own folder (no path, no link), of at most :data:`MAX_DRAWS_BYTES`, is read.
    """
    p = Path(path)
    frame = _read_csv_text(p, "effects table", 10 * 1024 * 1024)
    draws = None
    if "draws" in frame.columns:
        files = sorted({str(f).strip() for f in frame["draws"].dropna() if str(f).strip()})
        if len(files) > 1:
            raise AppraisalError(
                f"{p.name}: column 'draws' must name one file for all metrics, got {files}"
            )
        if files:
            draws = _read_csv_text(_draws_path(p, files[0]), "bootstrap draws", MAX_DRAWS_BYTES)
        frame = frame.drop(columns="draws")
    return effects_from_frame(frame, draws=draws, source=p.name)


def _num(x: object) -> float | None:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
