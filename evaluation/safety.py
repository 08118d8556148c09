"""Untrusted text stays text: the one formula-injection neutraliser for every output.

A spreadsheet runs a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return) as a formula: ``=cmd|' /C calc'!A0``, and also the forms that begin like a
number, ``-2+3+cmd|' /C calc'!A0`` and ``+1+cmd|...``. Force names, metric names, descriptions
and problem values come from users' files, so every writer of CSV, of JSON meant for
spreadsheets and of workbooks passes its text cells through :func:`neutralise_cell`, which
prefixes any text starting with one of those characters with a single quote (``'``), the
convention spreadsheets show as text (OWASP). Numbers stored as numbers are left alone; so is
every other value that is not text.

Reading is more lenient: :func:`starts_like_formula`, the input check, lets a plain number
written as text (``-5``, ``+3.5``) and a lone ``-`` through, because they are values.

Examples
--------
>>> neutralise_cell("=cmd|' /C calc'!A0")
"'=cmd|' /C calc'!A0"
>>> neutralise_cell("-2+3+cmd|' /C calc'!A0"), neutralise_cell("+1+cmd|x")
("'-2+3+cmd|' /C calc'!A0", "'+1+cmd|x")
>>> neutralise_cell("-5"), neutralise_cell(-5.0), neutralise_cell("Kent")
("'-5", -5.0, 'Kent')
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # pragma: no cover - pandas is imported where a frame is neutralised
    import pandas as pd

__all__ = [
    "FORMULA_START",
    "PLAIN_NUMBER",
    "json_safe",
    "json_text",
    "neutralise_cell",
    "neutralise_frame",
    "neutralise_json",
    "starts_like_formula",
]

#: Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: A plain decimal number, optionally signed, as text (not a formula).
PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")

T = TypeVar("T")


def starts_like_formula(text: str) -> bool:
    r"""Return whether a spreadsheet could run ``text`` as a formula.

    Examples
    --------
    >>> starts_like_formula("@SUM(A1)"), starts_like_formula("-2+3"), starts_like_formula("-2")
    (True, True, False)
    >>> starts_like_formula("\t=1"), starts_like_formula("-"), starts_like_formula("")
    (True, False, False)
    """
    if not text or not text.startswith(FORMULA_START):
        return False
    return not (text == "-" or text == "+" or PLAIN_NUMBER.match(text))


def neutralise_cell(value: T) -> T:
    """Return ``value`` with text starting like a formula prefixed by ``'``; others unchanged.

    Text already starting with ``'`` is left as it is, so neutralising twice changes nothing.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # type: ignore[return-value]
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` with every text cell (and column name) neutralised."""
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            out[col] = s.map(neutralise_cell)
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out


def neutralise_json(obj: Any) -> Any:
    """Return a JSON-like structure with every string (keys included) neutralised."""
    if isinstance(obj, str):
        return neutralise_cell(obj)
    if isinstance(obj, Mapping):
        return {neutralise_json(k): neutralise_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [neutralise_json(v) for v in obj]
    return obj


def json_safe(obj: Any) -> Any:
    """Return a JSON-like structure with non-finite numbers (NaN, inf) as ``None``.

    JSON has no NaN: ``json.dumps`` would write a bare ``NaN`` that strict parsers (and
    spreadsheets importing JSON) reject. Missing values become ``null``.

    Examples
    --------
    >>> json_safe({"bcr": float("nan"), "x": [1.5, float("inf")], "n": 3})
    {'bcr': None, 'x': [1.5, None], 'n': 3}
    """
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        return json_safe(obj.item())  # a numpy scalar
    return obj


def json_text(obj: Any, *, indent: int | None = 2) -> str:
    """Return strict JSON text of ``obj`` (``null`` for NaN and inf; never a bare ``NaN``).

    Examples
    --------
    >>> json_text({"p": float("nan")}, indent=None)
    '{"p": null}'
    """
    return json.dumps(json_safe(obj), indent=indent, allow_nan=False, default=str)
