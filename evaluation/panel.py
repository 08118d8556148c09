"""The one panel abstraction every estimator works on.

A :class:`Panel` is built once from a long DataFrame (one row per unit and period) and a column
naming each unit's *first treated period* (its cohort). It validates the design, codes time as
integers and exposes what estimators need: unit and time codes, cohorts, event time, balance.

Coding conventions
------------------
* ``time`` is held as an integer: numeric time columns (e.g. years) keep their values; period
  labels (``2022-04``, ``2022-Q2``, ``2022-23``) become their :class:`pandas.Period` ordinal, so
  consecutive periods differ by one. :meth:`Panel.time_label` maps codes back to labels.
* ``cohort`` is the first treated period on the same scale. Never-treated units are coded
  explicitly: ``0`` or missing in the input, and ``numpy.inf`` inside the panel
  (:data:`NEVER`), so ``time >= cohort`` is the treatment indicator for every unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from evaluation.errors import DataError, EstimationError, Problem
from evaluation.periods import (
    column_frequency,
    detect_frequency,
    format_period,
    label_frequencies,
    parse_period,
)

__all__ = ["NEVER", "Panel", "attach_cohorts", "require_columns"]

#: Cohort code of never-treated units inside a :class:`Panel`.
NEVER = np.inf

_UNIT, _TIME, _COHORT = "unit", "time", "cohort"


def require_columns(df: pd.DataFrame, columns: Sequence[str], source: str) -> None:
    """Raise a :class:`DataError` naming every column of ``columns`` that ``df`` lacks."""
    missing = [c for c in dict.fromkeys(columns) if c not in df.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {missing}",
            [
                Problem(
                    "column not found",
                    file=source,
                    column=c,
                    expected=f"one of the columns {list(map(str, df.columns))}",
                )
                for c in missing
            ],
        )


def _row_problems(
    message: str,
    values: pd.Series,
    positions: np.ndarray,
    source: str,
    expected: str,
    *,
    with_value: bool = True,
    limit: int = 20,
) -> list[Problem]:
    """Located problems for the first ``limit`` rows (0-based positions) of a column."""
    return [
        Problem(
            message,
            file=source,
            row=int(r) + 2,
            column=str(values.name),
            value=str(values.iloc[r]) if with_value else None,
            expected=expected,
        )
        for r in positions[:limit]
    ]


def _code_time(values: pd.Series, column: str, source: str) -> tuple[np.ndarray, str | None]:
    """Return integer time codes and the period frequency (``None`` for numeric time)."""
    if pd.api.types.is_numeric_dtype(values):
        v = values.to_numpy(dtype=float)
        bad = ~np.isfinite(v) | (v != np.round(v))
        if bad.any():
            raise DataError(
                f"{column!r} must hold whole-number periods",
                _row_problems(
                    "time is not a whole number",
                    values,
                    np.flatnonzero(bad),
                    source,
                    "an integer period (e.g. a year) or a period label",
                ),
            )
        return v.astype(np.int64), None
    labels = values.astype(str)
    uniq = pd.unique(labels)
    options = {u: label_frequencies(u) for u in uniq}
    problems = [
        Problem(
            "not a period label",
            file=source,
            row=int(np.flatnonzero(labels.to_numpy() == u)[0]) + 2,
            column=column,
            value=str(u),
            expected="2022-04 (month), 2022-Q2 (quarter) or 2022-23 (financial year)",
        )
        for u, f in options.items()
        if not f
    ]
    freq = column_frequency([u for u, f in options.items() if f])
    other = sorted({f[0] for f in options.values() if f and freq not in f})
    if other:
        problems.append(
            Problem(
                f"periods of mixed frequency: {sorted({freq or '', *other})}",
                file=source,
                column=column,
                expected="one frequency per panel",
            )
        )
    if problems:
        raise DataError(f"column {column!r} does not hold valid periods", problems)
    ordinal = {u: parse_period(u, freq).ordinal for u in uniq}
    return labels.map(ordinal).to_numpy(dtype=np.int64), freq


@dataclass(frozen=True)
class Panel:
    """A validated unit-by-period panel with cohorts (first treated periods).

    Build it with :meth:`Panel.from_frame`; do not call the constructor directly.

    Attributes
    ----------
    data
        Long frame sorted by unit and time with columns ``unit``, ``time`` (int), ``cohort``
        (float; :data:`NEVER` for never-treated) and the outcome and covariate columns.
    outcomes, covariates
        Names of the numeric columns carried.
    frequency
        ``"month"``, ``"quarter"``, ``"fy"`` or ``None`` when time was numeric.
    names
        The user's column names for unit, time and cohort (for messages and output).
    """

    data: pd.DataFrame
    outcomes: tuple[str, ...]
    covariates: tuple[str, ...]
    frequency: str | None
    names: dict[str, str] = field(default_factory=dict)
    source: str = "panel"

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        unit: str,
        time: str,
        cohort: str,
        outcomes: str | Sequence[str],
        covariates: Sequence[str] = (),
        source: str = "panel",
        require_pre_period: bool = True,
    ) -> Panel:
        """Validate a long frame and build a :class:`Panel`.

        Parameters
        ----------
        df
            One row per unit and period.
        unit, time, cohort
            Column names. ``cohort`` holds each unit's first treated period on the time scale
            (a number or a period label); ``0``, blank or missing means never treated.
        outcomes
            Outcome column(s); must be numeric with no missing values in the rows used.
        covariates
            Optional numeric covariates (pre-treatment characteristics).
        source
            A name for messages (e.g. the file name).
        require_pre_period
            Raise if a treated unit has no observed period before its cohort.

        Raises
        ------
        DataError
            Missing columns, non-numeric or missing outcomes, duplicated unit-periods, a cohort
            that is not constant within a unit.
        EstimationError
            No treated units, no comparison units, or a treated unit with no pre-period.

        Examples
        --------
        >>> df = pd.DataFrame({"force": list("aabb"), "year": [1, 2, 1, 2],
        ...                    "first": [2, 2, 0, 0], "y": [1.0, 3.0, 1.0, 1.5]})
        >>> p = Panel.from_frame(df, unit="force", time="year", cohort="first", outcomes="y")
        >>> p.n_units, p.n_periods, p.n_treated_units
        (2, 2, 1)
        """
        outcomes = (outcomes,) if isinstance(outcomes, str) else tuple(outcomes)
        covariates = tuple(covariates)
        require_columns(df, [unit, time, cohort, *outcomes, *covariates], source)
        problems: list[Problem] = []
        for c in (*outcomes, *covariates):
            col = df[c]
            if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
                num = pd.to_numeric(col, errors="coerce")
                bad = np.flatnonzero(num.isna().to_numpy() & col.notna().to_numpy())
                problems += _row_problems("not a number", col, bad, source, "a number")
            values = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
            missing = np.flatnonzero(~np.isfinite(values) & df[c].isna().to_numpy())
            problems += _row_problems(
                "missing value",
                col,
                missing,
                source,
                "a number (drop or fill the row explicitly before estimating)",
                with_value=False,
            )
            infinite = np.flatnonzero(np.isinf(values))
            problems += _row_problems(
                "not a finite number (infinite values cannot be estimated; never dropped)",
                col,
                infinite,
                source,
                "a finite number",
            )
        if problems:
            raise DataError(f"{source}: outcome or covariate columns are not usable", problems)

        unit_values = df[unit]
        if unit_values.isna().any():
            r = int(np.flatnonzero(unit_values.isna().to_numpy())[0])
            raise DataError(
                f"{source}: unit id missing",
                [Problem("unit id missing", file=source, row=r + 2, column=unit)],
            )
        t_codes, freq = _code_time(df[time], time, source)
        g_codes = _code_cohorts(df[cohort], cohort, freq, source)

        data = pd.DataFrame(
            {
                _UNIT: unit_values.to_numpy(),
                _TIME: t_codes,
                _COHORT: g_codes,
            }
        )
        for c in dict.fromkeys((*outcomes, *covariates)):
            data[c] = pd.to_numeric(df[c]).to_numpy(dtype=float)
        data["_row"] = np.arange(len(df)) + 2

        dup = data.duplicated([_UNIT, _TIME], keep=False)
        if dup.any():
            rows = data.loc[dup, ["_row", _UNIT, _TIME]].head(20)
            raise DataError(
                f"{source}: duplicated {unit}-{time} rows",
                [
                    Problem(
                        "duplicated unit-period",
                        file=source,
                        row=int(row),
                        column=time,
                        value=f"{u} / {df[time].iloc[int(row) - 2]}",
                        expected="one row per unit and period",
                    )
                    for row, u in zip(rows["_row"], rows[_UNIT], strict=True)
                ],
            )
        per_unit = data.groupby(_UNIT, sort=False)[_COHORT].nunique(dropna=False)
        varying = per_unit[per_unit > 1]
        if len(varying):
            raise DataError(
                f"{source}: the cohort column {cohort!r} must be constant within each unit",
                [
                    Problem(
                        "cohort varies within unit",
                        file=source,
                        column=cohort,
                        value=str(u),
                        expected="one first-treated period per unit",
                    )
                    for u in varying.index[:20]
                ],
            )
        data = data.sort_values([_UNIT, _TIME], kind="stable").reset_index(drop=True)
        panel = cls(
            data=data,
            outcomes=outcomes,
            covariates=covariates,
            frequency=freq,
            names={"unit": unit, "time": time, "cohort": cohort},
            source=source,
        )
        panel._check_design(require_pre_period)
        return panel

    def check_finite(self, columns: Sequence[str] | None = None) -> None:
        """Raise :class:`DataError` if an outcome or covariate holds a non-finite value.

        The one check every estimator relies on: ``inf`` or ``NaN`` in the rows used is an
        error naming the rows, never a cell dropped (or an all-``NaN`` result).
        """
        names = list(dict.fromkeys(columns or (*self.outcomes, *self.covariates)))
        problems: list[Problem] = []
        for c in names:
            if c not in self.data.columns:
                continue
            v = self.data[c].to_numpy(dtype=float)
            bad = np.flatnonzero(~np.isfinite(v))
            rows = self.data["_row"].to_numpy() if "_row" in self.data.columns else None
            for r in bad[:20]:
                problems.append(
                    Problem(
                        "not a finite number (missing or infinite values cannot be estimated)",
                        file=self.source,
                        row=int(rows[r]) if rows is not None else None,
                        column=str(c),
                        value=str(v[r]),
                        expected="a finite number",
                    )
                )
            if len(bad) > 20:
                problems.append(
                    Problem(f"{len(bad) - 20} more non-finite values", file=self.source, column=c)
                )
        if problems:
            raise DataError(f"{self.source}: outcome or covariate values are not finite", problems)

    def _check_design(self, require_pre_period: bool) -> None:
        g = self.unit_cohorts
        if not np.isfinite(g).any():
            raise EstimationError(
                f"{self.source}: no treated units (every cohort is never-treated)"
            )
        first = self.data.groupby(_UNIT, sort=False)[_TIME].min()
        first = first.reindex(g.index)
        if not (~np.isfinite(g.to_numpy())).any() and len(np.unique(g.to_numpy())) == 1:
            raise EstimationError(
                f"{self.source}: no comparison units: every unit is treated in the same period, "
                "so nothing shows what would have happened without treatment"
            )
        if require_pre_period:
            no_pre = g.index[np.isfinite(g.to_numpy()) & (first.to_numpy() >= g.to_numpy())]
            if len(no_pre):
                raise EstimationError(
                    f"{self.source}: treated unit(s) with no period before treatment starts: "
                    f"{', '.join(map(str, no_pre[:10]))}"
                    + (" ..." if len(no_pre) > 10 else "")
                    + "; a DiD needs at least one pre-period per treated unit"
                )

    # ------------------------------------------------------------------ derived views
    @cached_property
    def unit_cohorts(self) -> pd.Series:
        """Cohort (first treated period; ``inf`` = never) per unit, indexed by unit."""
        return self.data.groupby(_UNIT, sort=False)[_COHORT].first()

    @cached_property
    def units(self) -> np.ndarray:
        """Unit ids in panel order."""
        return self.unit_cohorts.index.to_numpy()

    @cached_property
    def times(self) -> np.ndarray:
        """Sorted distinct time codes."""
        return np.sort(self.data[_TIME].unique())

    @cached_property
    def cohorts(self) -> np.ndarray:
        """Sorted distinct finite cohorts (treatment groups)."""
        g = self.unit_cohorts.to_numpy()
        return np.sort(np.unique(g[np.isfinite(g)]))

    @property
    def n_units(self) -> int:
        """Number of units (clusters)."""
        return len(self.unit_cohorts)

    @property
    def n_periods(self) -> int:
        """Number of distinct periods."""
        return len(self.times)

    @property
    def n_treated_units(self) -> int:
        """Number of units that are ever treated."""
        return int(np.isfinite(self.unit_cohorts.to_numpy()).sum())

    @property
    def n_never_treated(self) -> int:
        """Number of never-treated units."""
        return self.n_units - self.n_treated_units

    @cached_property
    def is_balanced(self) -> bool:
        """Whether every unit is observed in every period."""
        return len(self.data) == self.n_units * self.n_periods

    @cached_property
    def unit_index(self) -> np.ndarray:
        """Integer code (0..N-1, panel order) of each row's unit."""
        codes = pd.Index(self.units).get_indexer(self.data[_UNIT])
        return codes.astype(np.int64)

    @cached_property
    def time_index(self) -> np.ndarray:
        """Integer code (0..T-1) of each row's period."""
        return np.searchsorted(self.times, self.data[_TIME].to_numpy()).astype(np.int64)

    @property
    def treated(self) -> np.ndarray:
        """Row-wise treatment indicator ``time >= cohort``."""
        return (self.data[_TIME].to_numpy() >= self.data[_COHORT].to_numpy()).astype(float)

    @property
    def event_time(self) -> np.ndarray:
        """Row-wise event time ``time - cohort`` (NaN for never-treated units)."""
        e = self.data[_TIME].to_numpy() - self.data[_COHORT].to_numpy()
        return np.where(np.isfinite(e), e, np.nan)

    def wide(self, column: str) -> pd.DataFrame:
        """Return ``column`` as a units-by-periods frame (NaN where a row is absent)."""
        return self.data.pivot(index=_UNIT, columns=_TIME, values=column).reindex(
            index=self.units, columns=self.times
        )

    def time_label(self, code: float) -> str | float:
        """Map a time (or cohort) code back to the user's label."""
        if not np.isfinite(code):
            return 0
        if self.frequency is None:
            return int(code) if float(code).is_integer() else code
        freq = {"month": "M", "quarter": "Q-DEC", "fy": "Y-MAR"}[self.frequency]
        return format_period(pd.Period(ordinal=int(code), freq=freq))

    # ------------------------------------------------------------------ pure transforms
    def with_cohorts(self, cohorts: pd.Series | dict[object, float]) -> Panel:
        """Return a new panel with unit cohorts replaced (for placebo and permutation work).

        ``cohorts`` maps unit id to cohort code (``numpy.inf`` for never treated).
        """
        mapping = pd.Series(cohorts, dtype=float)
        data = self.data.copy()
        data[_COHORT] = data[_UNIT].map(mapping).to_numpy(dtype=float)
        if np.isnan(data[_COHORT].to_numpy()).any():
            raise EstimationError("with_cohorts: a cohort is needed for every unit")
        return Panel(
            data=data,
            outcomes=self.outcomes,
            covariates=self.covariates,
            frequency=self.frequency,
            names=self.names,
            source=self.source,
        )

    def subset_units(self, keep: Sequence[object]) -> Panel:
        """Return a new panel with only the given units (e.g. leave-one-pilot-out)."""
        data = self.data[self.data[_UNIT].isin(list(keep))].reset_index(drop=True)
        return Panel(
            data=data,
            outcomes=self.outcomes,
            covariates=self.covariates,
            frequency=self.frequency,
            names=self.names,
            source=self.source,
        )

    def with_outcome(self, name: str, values: np.ndarray) -> Panel:
        """Return a new panel with an extra (or replaced) outcome column in row order."""
        data = self.data.copy()
        data[name] = np.asarray(values, dtype=float)
        outcomes = self.outcomes if name in self.outcomes else (*self.outcomes, name)
        return Panel(
            data=data,
            outcomes=outcomes,
            covariates=self.covariates,
            frequency=self.frequency,
            names=self.names,
            source=self.source,
        )


def _code_cohorts(values: pd.Series, column: str, freq: str | None, source: str) -> np.ndarray:
    """Code cohorts on the time scale; 0 / blank / missing mean never treated."""
    out = np.full(len(values), NEVER, dtype=float)
    problems: list[Problem] = []
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        v = values.to_numpy(dtype=float)
        treated = np.isfinite(v) & (v != 0)
        if freq is not None and treated.any():
            problems.append(
                Problem(
                    "cohorts are numbers but time holds period labels",
                    file=source,
                    column=column,
                    value=str(values[treated].iloc[0]),
                    expected="the first treated period as a label such as 2022-04",
                )
            )
        out[treated] = v[treated]
    else:
        text = values.astype("string").str.strip()
        never = text.isna() | text.isin(["", "0", "never", "nan", "NaN", "None"])
        for label in pd.unique(text[~never]):
            mask = (text == label).to_numpy(dtype=bool)
            try:
                if freq is None:
                    code = float(label)
                else:
                    code = float(parse_period(label, freq).ordinal)  # type: ignore[arg-type]
                out[mask] = code
            except ValueError:
                problems.append(
                    Problem(
                        "not a valid first-treated period",
                        file=source,
                        row=int(np.flatnonzero(mask)[0]) + 2,
                        column=column,
                        value=str(label),
                        expected=f"a {freq or 'numeric'} period, or 0/blank for never treated",
                    )
                )
    if problems:
        raise DataError(f"{source}: invalid cohorts in {column!r}", problems)
    return out


def _force_key(name: str) -> str:
    """Canonical force name when ``name`` is one (or an alias), else the text itself."""
    from evaluation.schema import resolve_force

    return resolve_force(name) or name.strip()


def attach_cohorts(
    panel: pd.DataFrame,
    register: pd.DataFrame,
    *,
    force: str = "force",
    period: str = "period",
    go_live: str = "go_live",
    out: str = "cohort",
) -> pd.DataFrame:
    """Return ``panel`` with a cohort column derived from a pilot register.

    The cohort is the panel period containing each pilot's go-live date (or the go-live period
    label itself); forces absent from the register get ``0`` (never treated).

    Examples
    --------
    >>> panel = pd.DataFrame({"force": ["A", "A", "B", "B"],
    ...                       "period": ["2022-03", "2022-04"] * 2})
    >>> reg = pd.DataFrame({"force": ["A"], "go_live": ["2022-04-01"]})
    >>> attach_cohorts(panel, reg)["cohort"].tolist()
    ['2022-04', '2022-04', '0', '0']
    """
    require_columns(panel, [force, period], "panel")
    require_columns(register, [force, go_live], "register")
    labels = panel[period].astype(str)
    freq = column_frequency(pd.unique(labels))
    if freq is None:
        raise DataError(f"column {period!r} does not hold period labels")
    present = {_force_key(f) for f in pd.unique(panel[force].astype(str))}
    absent = [
        (i, str(f))
        for i, f in enumerate(register[force].tolist())
        if _force_key(str(f)) not in present
    ]
    if absent:
        index = list(register.index)
        raise DataError(
            f"{len(absent)} pilot force(s) of the register have no rows in the panel: "
            + ", ".join(f for _, f in absent)
            + "; refusing to estimate on the remaining pilots",
            [
                Problem(
                    f"pilot force {f!r} has no rows in the panel",
                    file="register",
                    row=int(index[i]) + 2 if isinstance(index[i], int | np.integer) else None,
                    column=force,
                    value=f,
                    expected="a force present in the panel",
                )
                for i, f in absent
            ],
        )
    mapping: dict[str, str] = {}
    pandas_freq = {"month": "M", "quarter": "Q-DEC", "fy": "Y-MAR"}[freq]
    bad: list[Problem] = []
    for i, (f, g) in enumerate(zip(register[force], register[go_live], strict=True)):
        text = str(g).strip()
        try:
            if freq in label_frequencies(text):
                mapping[_force_key(str(f))] = format_period(parse_period(text, freq))
                continue
            start = (
                parse_period(text).start_time
                if detect_frequency(text) is not None
                else pd.Timestamp(text)
            )
            if pd.isna(start):
                raise ValueError(text)
            mapping[_force_key(str(f))] = format_period(start.to_period(pandas_freq))
        except (ValueError, TypeError, OverflowError):
            bad.append(
                Problem(
                    "not a go-live date or period",
                    file="register",
                    row=i + 2,
                    column=go_live,
                    value=text,
                    expected="a date YYYY-MM-DD or a period label",
                )
            )
    if bad:
        raise DataError("register: go-live dates that cannot be read", bad)
    result = panel.copy()
    keys = panel[force].astype(str)
    by_text = {t: _force_key(t) for t in pd.unique(keys)}
    result[out] = keys.map(by_text).map(mapping).fillna("0").astype(str)
    return result
