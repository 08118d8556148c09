"""The inputs as they stood at the end of a financial year.

An annual report answers the question with the data available when the year closed (31 March):

* the **panel** keeps the periods that ended by the year's end;
* the **register** keeps the pilots live by then (a force going live later is, on that day, a
  comparison force); an end date after the year's end is not yet known and is cleared;
* the **ledger** keeps the rows of financial years up to the year: the appraisal treats every
  ledger row as outturn and projects recurrent costs, refreshes and residual values after the
  ledger's last year (see :mod:`evaluation.appraisal.costs`), so cutting the ledger at the year
  makes it "outturn to that year, projections after". Rows of forces not yet live are set aside
  (named in :attr:`YearCut.notes`): they belong to a later year's appraisal.

The cut frames are written as Parquet (exact types, no spreadsheet formula risk) so the pipeline
runs on them unchanged and their hashes go into the report's QA log.

Examples
--------
>>> year_end("2024-25")
Timestamp('2025-03-31 00:00:00')
>>> import pandas as pd
>>> register = pd.DataFrame({"force": ["Kent"], "go_live": pd.to_datetime(["2022-06-01"])})
>>> panel = pd.DataFrame({"force": ["Kent"] * 2, "period": ["2023-03", "2024-04"]})
>>> report_years(panel, register)
['2022-23', '2023-24']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from evaluation.appraisal._years import fy_label, fy_start
from evaluation.errors import ConfigError
from evaluation.periods import detect_frequency, format_period, parse_period, period_of_date

__all__ = ["YearCut", "cut_inputs", "report_years", "write_cut", "year_end"]


def year_end(year: str) -> pd.Timestamp:
    """Return the last day (31 March) of financial year ``year`` (``YYYY-YY``)."""
    _check_year(year)
    return pd.Timestamp(fy_start(year) + 1, 3, 31)


def _check_year(year: str) -> None:
    if not isinstance(year, str) or detect_frequency(year.strip()) != "fy":
        raise ConfigError(f"year must be a financial year YYYY-YY such as 2025-26, got {year!r}")


def _period_end(labels: pd.Series) -> pd.Series:
    """Return the last day of each period label (month, quarter or financial year)."""
    uniques = pd.unique(labels.astype(str))
    ends = {u: parse_period(u).end_time.normalize() for u in uniques}
    return labels.astype(str).map(ends)


def report_years(panel: pd.DataFrame, register: pd.DataFrame) -> list[str]:
    """Return the financial years that can have a report.

    From the first go-live's year to the last year whose end the panel reaches (its last period
    ends on or after 31 March).

    Raises
    ------
    ConfigError
        If the register is empty or the panel ends before the first go-live year closes.
    """
    if register.empty:
        raise ConfigError("the register has no pilots: there is no year to report on")
    first = format_period(period_of_date(pd.Timestamp(register["go_live"].min()), "fy"))
    last_end = _period_end(panel["period"]).max()
    last = format_period(period_of_date(last_end, "fy"))
    if last_end < year_end(last):  # the last year is incomplete
        last = fy_label(fy_start(last) - 1)
    years = [fy_label(y) for y in range(fy_start(first), fy_start(last) + 1)]
    if not years:
        raise ConfigError(
            f"the panel ends {last_end.date()}, before the first go-live year {first} closes"
        )
    return years


@dataclass(frozen=True)
class YearCut:
    """The panel, register and ledger as at the end of financial year ``year``.

    Attributes
    ----------
    year, year_end
        The financial year and its last day.
    panel, register, ledger
        The cut frames (same columns as the loaded inputs).
    last_period
        The panel's last period in the cut.
    forces_live
        Pilot forces live by the year's end, sorted.
    forces_not_yet_live
        Register forces going live after the year's end (comparison forces in this cut).
    notes
        What the cut set aside, in plain words.
    """

    year: str
    year_end: pd.Timestamp
    panel: pd.DataFrame
    register: pd.DataFrame
    ledger: pd.DataFrame
    last_period: str
    forces_live: tuple[str, ...]
    forces_not_yet_live: tuple[str, ...]
    notes: tuple[str, ...]


def cut_inputs(
    panel: pd.DataFrame, register: pd.DataFrame, ledger: pd.DataFrame, year: str
) -> YearCut:
    """Cut loaded inputs to what was known at the end of financial year ``year``.

    Parameters
    ----------
    panel, register, ledger
        Frames from :func:`evaluation.load_panel`, :func:`evaluation.load_register` and
        :func:`evaluation.load_ledger`.
    year
        Financial year ``YYYY-YY``.

    Raises
    ------
    ConfigError
        If ``year`` is malformed, no pilot is live by its end, or the panel has no period
        ending by then.
    """
    end = year_end(year)
    go_live = pd.to_datetime(register["go_live"])
    live_mask = (go_live <= end).to_numpy()
    reg = register.loc[live_mask].copy()
    if reg.empty:
        first = go_live.min()
        raise ConfigError(
            f"no pilot is live by the end of {year} ({end.date()}); the first go-live is "
            f"{pd.Timestamp(first).date()}"
        )
    if "ended" in reg.columns:
        ended = pd.to_datetime(reg["ended"])
        reg["ended"] = ended.where(ended <= end)
    later = tuple(sorted(register.loc[~live_mask, "force"].astype(str)))

    pan = panel.loc[(_period_end(panel["period"]) <= end).to_numpy()].reset_index(drop=True)
    if pan.empty:
        raise ConfigError(f"the panel has no period ending by {end.date()} (end of {year})")
    last_period = max(pan["period"].astype(str), key=lambda p: parse_period(p).end_time)

    in_year = ledger["financial_year"].astype(str) <= year
    live_forces = set(reg["force"].astype(str))
    of_live = ledger["force"].astype(str).isin(live_forces)
    led = ledger.loc[(in_year & of_live).to_numpy()].reset_index(drop=True)
    notes = [
        f"Data as at {end.date()}: panel to {last_period}, ledger outturn to {year} "
        "(costs after it are projections), pilots live by then.",
    ]
    set_aside = ledger.loc[(in_year & ~of_live).to_numpy()]
    if len(set_aside):
        total = float(set_aside["amount_gbp"].sum())
        names = ", ".join(sorted(set_aside["force"].astype(str).unique()))
        notes.append(
            f"{len(set_aside)} ledger row(s) (GBP {total:,.0f} nominal) of forces not yet live "
            f"by {end.date()} ({names}) are left to the year they go live."
        )
    if later:
        notes.append(
            f"{len(later)} register force(s) go live after {end.date()} and count as comparison "
            f"forces in this year's data: {', '.join(later)}."
        )
    return YearCut(
        year=year,
        year_end=end,
        panel=pan,
        register=reg.reset_index(drop=True),
        ledger=led,
        last_period=last_period,
        forces_live=tuple(sorted(live_forces)),
        forces_not_yet_live=later,
        notes=tuple(notes),
    )


def write_cut(cut: YearCut, folder: str | Path) -> dict[str, Path]:
    """Write the cut frames as Parquet files in ``folder`` and return their paths by kind.

    The files (``panel.parquet``, ``register.parquet``, ``costs.parquet``) are what the
    pipeline reads for the year; their hashes go into the QA log.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "panel": out / "panel.parquet",
        "register": out / "register.parquet",
        "ledger": out / "costs.parquet",
    }
    register = cut.register.copy()
    for col in ("go_live", "ended"):
        if col in register.columns:
            register[col] = pd.to_datetime(register[col]).dt.strftime("%Y-%m-%d")
    ledger = cut.ledger.copy()
    if "date" in ledger.columns:
        ledger["date"] = pd.to_datetime(ledger["date"]).dt.strftime("%Y-%m-%d")
    for frame, path in ((cut.panel, paths["panel"]), (register, paths["register"])):
        _to_parquet(frame, path)
    _to_parquet(ledger, paths["ledger"])
    return paths


def _to_parquet(frame: pd.DataFrame, path: Path) -> None:
    text = frame.copy()
    for col in text.columns:
        if not pd.api.types.is_numeric_dtype(text[col]):
            text[col] = text[col].astype(object).where(text[col].notna(), None)
    text.to_parquet(path, index=False, compression="zstd")
