"""The data contract: the registry of forces and the specification of the input tables.

The 43 territorial police forces of England and Wales are loaded once from the bundled
``evaluation/resources/forces.csv`` (a copy of ``data/forces.csv``). Names written by people vary
("Met", "GMP", "Avon & Somerset Constabulary"), so :func:`resolve_force` maps them to the
canonical spelling and :func:`suggest_force` proposes the nearest valid name for a typo.

Examples
--------
>>> len(FORCES)
43
>>> resolve_force("Avon & Somerset Constabulary")
'Avon and Somerset'
>>> resolve_force("the Met")
'Metropolitan Police Service'
>>> resolve_force("PSNI") is None
True
>>> suggest_force("Glouchestershire")
'Gloucestershire'
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

import pandas as pd

__all__ = [
    "FORCES",
    "FORCE_NAMES",
    "Force",
    "force_officers",
    "force_table",
    "normalise_force_name",
    "resolve_force",
    "suggest_force",
]


@dataclass(frozen=True)
class Force:
    """One territorial police force of England and Wales.

    Parameters
    ----------
    name
        Canonical name (as in ``forces.csv``).
    region
        ONS region (or ``Wales``).
    officers_fte
        Police officers, full-time equivalent (March 2025).
    fte_is_approximate
        ``True`` when ``officers_fte`` is an estimate rather than a published figure.
    """

    name: str
    region: str
    officers_fte: float
    fte_is_approximate: bool


def _read_forces_csv() -> str:
    return (
        resources.files("evaluation")
        .joinpath("resources", "forces.csv")
        .read_text(encoding="utf-8")
    )


@functools.cache
def _load_forces() -> Mapping[str, Force]:
    reader = csv.DictReader(io.StringIO(_read_forces_csv()))
    forces: dict[str, Force] = {}
    for rec in reader:
        forces[rec["force"]] = Force(
            name=rec["force"],
            region=rec["region"],
            officers_fte=float(rec["officers_fte"]),
            fte_is_approximate=rec["fte_is_approximate"].strip().lower() == "true",
        )
    return MappingProxyType(forces)


#: Canonical force name -> :class:`Force`, in the order of ``forces.csv`` (read-only).
FORCES: Mapping[str, Force] = _load_forces()
#: The 43 canonical force names, in the order of ``forces.csv``.
FORCE_NAMES: tuple[str, ...] = tuple(FORCES)

# Suffixes people attach to a force name; removed (repeatedly) before matching.
_SUFFIXES: tuple[str, ...] = (
    "police service",
    "police force",
    "constabulary",
    "police",
)

# Aliases and abbreviations, keyed by their normalised form (see normalise_force_name).
_ALIASES: dict[str, str] = {
    # London
    "met": "Metropolitan Police Service",
    "the met": "Metropolitan Police Service",
    "mps": "Metropolitan Police Service",
    "metropolitan": "Metropolitan Police Service",
    "met police": "Metropolitan Police Service",
    "metropolitan police service mps": "Metropolitan Police Service",
    "col": "City of London",
    "colp": "City of London",
    "london city": "City of London",
    # North West
    "gmp": "Greater Manchester",
    "manchester": "Greater Manchester",
    "lancs": "Lancashire",
    # Yorkshire and the North East
    "north yorks": "North Yorkshire",
    "n yorks": "North Yorkshire",
    "nyp": "North Yorkshire",
    "south yorks": "South Yorkshire",
    "s yorks": "South Yorkshire",
    "syp": "South Yorkshire",
    "west yorks": "West Yorkshire",
    "w yorks": "West Yorkshire",
    "wyp": "West Yorkshire",
    "humberside": "Humberside",
    # Midlands
    "west mids": "West Midlands",
    "w mids": "West Midlands",
    "wmp": "West Midlands",
    "notts": "Nottinghamshire",
    "leics": "Leicestershire",
    "lincs": "Lincolnshire",
    "northants": "Northamptonshire",
    "derbys": "Derbyshire",
    "staffs": "Staffordshire",
    "warks": "Warwickshire",
    # East and South East
    "herts": "Hertfordshire",
    "beds": "Bedfordshire",
    "cambs": "Cambridgeshire",
    "tvp": "Thames Valley",
    "hampshire": "Hampshire and Isle of Wight",
    "hants": "Hampshire and Isle of Wight",
    "hampshire iow": "Hampshire and Isle of Wight",
    "hampshire and iow": "Hampshire and Isle of Wight",
    "hampshire isle of wight": "Hampshire and Isle of Wight",
    # South West
    "avon somerset": "Avon and Somerset",
    "asc": "Avon and Somerset",
    "devon cornwall": "Devon and Cornwall",
    "glos": "Gloucestershire",
    "wilts": "Wiltshire",
    # Wales
    "dyfed powys": "Dyfed-Powys",
    "dpp": "Dyfed-Powys",
    "swp": "South Wales",
    "nwp": "North Wales",
}


def normalise_force_name(name: str) -> str:
    """Return the matching key of a force name.

    Lower case, accents and punctuation removed, ``&`` read as ``and``, a leading ``the`` and
    trailing ``Police``, ``Constabulary``, ``Police Service`` or ``Police Force`` dropped, runs
    of spaces collapsed.

    Examples
    --------
    >>> normalise_force_name("  Avon & Somerset Constabulary ")
    'avon and somerset'
    >>> normalise_force_name("Dyfed-Powys Police")
    'dyfed powys'
    """
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    if text.startswith("the "):
        text = text[4:]
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            if text.endswith(" " + suffix):
                text = text[: -len(suffix) - 1].strip()
                changed = True
    return text


@functools.cache
def _lookup() -> Mapping[str, str]:
    table: dict[str, str] = {}
    for canonical in FORCE_NAMES:
        table[normalise_force_name(canonical)] = canonical
        table[canonical.lower()] = canonical
    for alias, canonical in _ALIASES.items():
        if canonical not in FORCES:  # pragma: no cover - guards edits of _ALIASES
            raise RuntimeError(f"alias {alias!r} points to unknown force {canonical!r}")
        table.setdefault(alias, canonical)
        table.setdefault(normalise_force_name(alias), canonical)
    return MappingProxyType(table)


def resolve_force(name: object) -> str | None:
    """Return the canonical force name for ``name``, or ``None`` if it is not a force.

    Case, spacing and punctuation are ignored; common aliases and abbreviations ("Met",
    "GMP", "TVP", "West Mids", "Hampshire") and suffixes ("Police", "Constabulary",
    "Police Service") are accepted. Forces outside England and Wales (PSNI, Police Scotland)
    and non-territorial forces (British Transport Police) resolve to ``None``.

    Examples
    --------
    >>> resolve_force("GMP"), resolve_force("Thames Valley Police")
    ('Greater Manchester', 'Thames Valley')
    >>> resolve_force("Hampshire")
    'Hampshire and Isle of Wight'
    >>> resolve_force("Narnia") is None
    True
    """
    if not isinstance(name, str) or not name.strip():
        return None
    table = _lookup()
    key = normalise_force_name(name)
    if key in table:
        return table[key]
    return table.get(name.strip().lower())


def suggest_force(name: object) -> str | None:
    """Return the closest canonical force name to ``name`` (or ``None`` if nothing is close).

    A name that :func:`resolve_force` accepts is returned resolved.

    Examples
    --------
    >>> suggest_force("Northumbira")
    'Northumbria'
    >>> suggest_force("zzzz") is None
    True
    """
    if not isinstance(name, str) or not name.strip():
        return None
    resolved = resolve_force(name)
    if resolved is not None:
        return resolved
    table = _lookup()
    key = normalise_force_name(name)
    matches = difflib.get_close_matches(key, list(table), n=1, cutoff=0.75)
    if not matches:
        return None
    return table[matches[0]]


def force_table() -> pd.DataFrame:
    """Return the forces registry as a frame indexed by force name.

    Columns ``region``, ``officers_fte`` (float) and ``fte_is_approximate`` (bool).
    """
    frame = pd.DataFrame(
        {
            "region": [f.region for f in FORCES.values()],
            "officers_fte": [f.officers_fte for f in FORCES.values()],
            "fte_is_approximate": [f.fte_is_approximate for f in FORCES.values()],
        },
        index=pd.Index(FORCE_NAMES, name="force"),
    )
    return frame


def force_officers() -> pd.Series:
    """Return officers FTE by force (a float Series indexed by canonical force name).

    Examples
    --------
    >>> s = force_officers()
    >>> float(s["Metropolitan Police Service"])
    33293.0
    """
    return force_table()["officers_fte"].rename("officers_fte")
