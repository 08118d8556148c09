"""Period labels of the data contract: months, quarters and UK financial years.

=========  ===========  =====================================================
frequency  label        meaning
=========  ===========  =====================================================
month      ``2022-04``  April 2022
quarter    ``2022-Q2``  April to June 2022 (calendar quarters)
fy         ``2022-23``  UK financial year 1 April 2022 to 31 March 2023
=========  ===========  =====================================================

Periods are held as :class:`pandas.Period` (frequencies ``M``, ``Q-DEC`` and ``Y-MAR``), whose
``ordinal`` gives consecutive integers for consecutive periods of one frequency.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Literal

import pandas as pd

__all__ = [
    "EXPECTED",
    "FREQUENCIES",
    "Frequency",
    "column_frequency",
    "detect_frequency",
    "format_period",
    "frequency_of",
    "label_frequencies",
    "parse_period",
    "period_of_date",
    "period_range",
]

Frequency = Literal["month", "quarter", "fy"]
FREQUENCIES: tuple[Frequency, ...] = ("month", "quarter", "fy")

_PANDAS_FREQ: dict[Frequency, str] = {"month": "M", "quarter": "Q-DEC", "fy": "Y-MAR"}
_PATTERNS: dict[Frequency, re.Pattern[str]] = {
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
    "quarter": re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE),
    "fy": re.compile(r"^(\d{4})[-/](\d{2})$"),
}
EXPECTED = "a period such as 2022-04 (month), 2022-Q2 (quarter) or 2022-23 (financial year)"


def detect_frequency(label: object) -> Frequency | None:
    """Return the frequency of a period label, or ``None`` if it is not one.

    A label ``YYYY-NN`` is a month when ``NN`` is 01-12 and a financial year when ``NN`` is the
    last two digits of the following year (``2022-23``). ``2012-13`` is therefore a financial
    year, never a month: months only go to 12, and financial years are checked first when the
    two digits follow on from the year.

    Examples
    --------
    >>> detect_frequency("2022-04"), detect_frequency("2022-Q2"), detect_frequency("2022-23")
    ('month', 'quarter', 'fy')
    >>> detect_frequency("April 2022") is None
    True
    """
    if not isinstance(label, str):
        return None
    text = label.strip()
    m = _PATTERNS["fy"].match(text)
    if m and (int(m.group(1)) + 1) % 100 == int(m.group(2)):
        return "fy"
    m = _PATTERNS["month"].match(text)
    if m and 1 <= int(m.group(2)) <= 12:
        return "month"
    if _PATTERNS["quarter"].match(text):
        return "quarter"
    return None


def label_frequencies(label: object) -> tuple[Frequency, ...]:
    """Return every frequency a label could be read as (two for ``2010-11``, else one or none).

    ``YYYY-NN`` is both a month and a financial year when ``NN`` is 01-12 and the last two
    digits of the following year: ``2000-01`` to ``2011-12`` (and ``1900-01`` to ``1911-12``).

    Examples
    --------
    >>> label_frequencies("2010-11"), label_frequencies("2022-04"), label_frequencies("x")
    (('month', 'fy'), ('month',), ())
    """
    if not isinstance(label, str):
        return ()
    text = label.strip()
    found: list[Frequency] = []
    m = _PATTERNS["month"].match(text)
    if m and 1 <= int(m.group(2)) <= 12:
        found.append("month")
    m = _PATTERNS["fy"].match(text)
    if m and (int(m.group(1)) + 1) % 100 == int(m.group(2)):
        found.append("fy")
    if _PATTERNS["quarter"].match(text):
        found.append("quarter")
    return tuple(found)


def column_frequency(
    labels: Iterable[object], frequency: Frequency | None = None
) -> Frequency | None:
    """Decide the frequency of a whole column of period labels.

    The rule of the data contract: an explicit ``frequency`` wins. Otherwise each frequency
    scores the labels it can read; the frequency that reads the most labels is the column's.
    A label such as ``2010-11`` (November 2010, or the financial year 2010-11) counts for both,
    so a monthly column with any month-only label (``2010-01``, ``2010-04`` ...) is monthly.
    When months and financial years tie (every label could be either), the column is read as
    financial years; pass the frequency explicitly (``--freq month``) for such a short monthly
    panel. Returns ``None`` when no label is a period.

    Examples
    --------
    >>> column_frequency(["2009-10", "2009-11", "2009-12", "2010-01"])
    'month'
    >>> column_frequency(["2009-10", "2010-11"]), column_frequency(["2009-10"], "month")
    ('fy', 'month')
    """
    if frequency is not None:
        return frequency
    counts: dict[Frequency, int] = {f: 0 for f in FREQUENCIES}
    for label in labels:
        for f in label_frequencies(label):
            counts[f] += 1
    best = max(FREQUENCIES, key=lambda f: (counts[f], f == "fy"))
    return best if counts[best] else None


def parse_period(label: object, freq: Frequency | None = None) -> pd.Period:
    """Parse a period label to a :class:`pandas.Period`.

    Parameters
    ----------
    label
        ``YYYY-MM``, ``YYYY-Qn`` or ``YYYY-YY``.
    freq
        If given, the label must be of this frequency.

    Raises
    ------
    ValueError
        If the label is not a period (of ``freq``, when given).

    Examples
    --------
    >>> parse_period("2022-23")
    Period('2023', 'Y-MAR')
    >>> format_period(parse_period("2022-Q2"))
    '2022-Q2'
    """
    found = detect_frequency(label)
    if freq is not None and found is not None and freq in label_frequencies(label):
        found = freq  # an ambiguous label (2010-11) read at the column's frequency
    if found is None or (freq is not None and found != freq):
        want = EXPECTED if freq is None else f"a {freq} period"
        raise ValueError(f"{label!r} is not {want}")
    text = str(label).strip()
    m = _PATTERNS[found].match(text)
    if m is None:  # pragma: no cover - detect_frequency guarantees a match
        raise ValueError(f"{label!r} is not {EXPECTED}")
    year = int(m.group(1))
    if found == "month":
        return pd.Period(year=year, month=int(m.group(2)), freq="M")
    if found == "quarter":
        return pd.Period(year=year, quarter=int(m.group(2)), freq="Q-DEC")
    return pd.Period(year=year + 1, freq="Y-MAR")


def frequency_of(period: pd.Period) -> Frequency:
    """Return the contract frequency of a :class:`pandas.Period`."""
    code = period.freqstr
    if code.startswith("M"):
        return "month"
    if code.startswith("Q"):
        return "quarter"
    if code.startswith(("Y-MAR", "A-MAR")):
        return "fy"
    raise ValueError(f"unsupported period frequency {code!r}")


def format_period(period: pd.Period) -> str:
    """Format a period as its contract label (``2022-04``, ``2022-Q2``, ``2022-23``)."""
    freq = frequency_of(period)
    if freq == "month":
        return f"{period.year:04d}-{period.month:02d}"
    if freq == "quarter":
        return f"{period.year:04d}-Q{period.quarter}"
    start = period.year - 1
    return f"{start:04d}-{period.year % 100:02d}"


def period_of_date(value: date | datetime | pd.Timestamp | str, freq: Frequency) -> pd.Period:
    """Return the period of ``freq`` that contains a date.

    Examples
    --------
    >>> format_period(period_of_date("2023-03-31", "fy"))
    '2022-23'
    """
    return pd.Timestamp(value).to_period(_PANDAS_FREQ[freq])


def period_range(start: str, end: str) -> list[str]:
    """Return the labels from ``start`` to ``end`` inclusive (same frequency).

    Examples
    --------
    >>> period_range("2022-11", "2023-02")
    ['2022-11', '2022-12', '2023-01', '2023-02']
    """
    a, b = parse_period(start), parse_period(end)
    if frequency_of(a) != frequency_of(b):
        raise ValueError(f"{start!r} and {end!r} are of different frequencies")
    return [format_period(a + i) for i in range(b.ordinal - a.ordinal + 1)]
