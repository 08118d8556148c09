"""The data contract: the registry of forces, the input tables and the metrics.

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

Column names live here only: one frozen :class:`TableSchema` per input table (:data:`PANEL`,
:data:`REGISTER`, :data:`LEDGER`), looked up by kind in :data:`TABLES`. Metrics are
configuration (:func:`load_metrics`, bundled ``evaluation/resources/metrics.toml``).

>>> PANEL.required
('force', 'period')
>>> LEDGER.column("kind").allowed
('capital', 'recurrent')
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Literal, get_args

import pandas as pd

from evaluation.errors import ConfigError

__all__ = [
    "AMOUNT_GBP",
    "BETTER",
    "CATEGORY",
    "COST_CATEGORIES",
    "COST_KINDS",
    "DATE",
    "DESCRIPTION",
    "ENDED",
    "FINANCIAL_YEAR",
    "FORCE",
    "FORCES",
    "FORCE_NAMES",
    "GO_LIVE",
    "KIND",
    "LEDGER",
    "PANEL",
    "PERIOD",
    "PRICE_BASIS",
    "PRICE_BASIS_PATTERN",
    "REGISTER",
    "TABLES",
    "TABLE_KINDS",
    "UNITS",
    "WAVE",
    "Better",
    "Column",
    "ColumnType",
    "Force",
    "Metric",
    "TableKind",
    "TableSchema",
    "Unit",
    "default_metrics_path",
    "force_officers",
    "force_table",
    "load_metrics",
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
    # Welsh names (the leading "Heddlu", police, is dropped before lookup)
    "gogledd cymru": "North Wales",
    "de cymru": "South Wales",
    "heddlu gogledd cymru": "North Wales",
    "heddlu de cymru": "South Wales",
    "dpp": "Dyfed-Powys",
    "swp": "South Wales",
    "nwp": "North Wales",
}


def normalise_force_name(name: str) -> str:
    """Return the matching key of a force name.

    Lower case, accents and punctuation removed, ``&`` read as ``and``, a leading ``the`` and
    trailing ``Police``, ``Constabulary``, ``Police Service`` or ``Police Force`` dropped (and
    the Welsh leading ``Heddlu``), runs of spaces collapsed.

    Examples
    --------
    >>> normalise_force_name("  Avon & Somerset Constabulary ")
    'avon and somerset'
    >>> normalise_force_name("Dyfed-Powys Police")
    'dyfed powys'
    >>> normalise_force_name("Heddlu Gogledd Cymru")
    'gogledd cymru'
    """
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    if text.startswith("the "):
        text = text[4:]
    if text.startswith("heddlu "):  # Welsh: "Heddlu Gwent" is Gwent Police
        text = text[len("heddlu ") :].strip()
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


# --------------------------------------------------------------------------------------------
# Table specifications
# --------------------------------------------------------------------------------------------

TableKind = Literal["panel", "register", "ledger"]
TABLE_KINDS: tuple[TableKind, ...] = get_args(TableKind)

ColumnType = Literal[
    "force",  # a force name (canonicalised with resolve_force)
    "period",  # a period label: 2022-04, 2022-Q2 or 2022-23
    "number",  # a finite decimal number
    "label",  # free text that must not be blank (e.g. wave: 1, 2 or "pathfinder")
    "date_or_period",  # YYYY-MM-DD or a period label
    "date",  # YYYY-MM-DD
    "financial_year",  # YYYY-YY
    "choice",  # one of Column.allowed (case-insensitive)
    "price_basis",  # "nominal" or "real YYYY-YY"
    "text",  # free text, may be blank
]

#: Column names of the contract (use these, never string literals elsewhere).
FORCE = "force"
PERIOD = "period"
WAVE = "wave"
GO_LIVE = "go_live"
ENDED = "ended"
DATE = "date"
FINANCIAL_YEAR = "financial_year"
CATEGORY = "category"
KIND = "kind"
AMOUNT_GBP = "amount_gbp"
PRICE_BASIS = "price_basis"
DESCRIPTION = "description"

COST_CATEGORIES: tuple[str, ...] = (
    "equipment",
    "training",
    "staff",
    "licences",
    "accreditation",
    "accommodation",
    "outsourcing",
    "other",
)
COST_KINDS: tuple[str, ...] = ("capital", "recurrent")
#: ``nominal`` or ``real YYYY-YY`` (real prices of that base financial year).
PRICE_BASIS_PATTERN = re.compile(r"^(nominal|real (\d{4})-(\d{2}))$")


@dataclass(frozen=True)
class Column:
    """One column of an input table.

    Parameters
    ----------
    name
        The contract name (lower case, as in the files).
    type
        How values are read and checked (see :data:`ColumnType`).
    required
        Whether the column must be present.
    allowed
        For ``type == "choice"``: the allowed values (lower case).
    nonnegative
        For ``type == "number"``: whether negative values are errors.
    description
        Plain-words meaning, used in docs and messages.
    """

    name: str
    type: ColumnType
    required: bool = True
    allowed: tuple[str, ...] | None = None
    nonnegative: bool = False
    description: str = ""


@dataclass(frozen=True)
class TableSchema:
    """The specification of one input table.

    Parameters
    ----------
    kind
        ``"panel"``, ``"register"`` or ``"ledger"``.
    columns
        The fixed columns, in their conventional order.
    key
        Columns whose combination must be unique (one row per key).
    at_least_one_of
        Groups of optional columns of which at least one must be present and filled in each row.
    extra_columns
        ``"metrics"``: other numeric columns are metrics (panel); ``"error"``: other columns are
        errors.
    description
        One line on what a row means.
    """

    kind: TableKind
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    at_least_one_of: tuple[tuple[str, ...], ...] = ()
    extra_columns: Literal["metrics", "error"] = "error"
    description: str = ""
    _by_name: Mapping[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", MappingProxyType({c.name: c for c in self.columns}))

    @property
    def names(self) -> tuple[str, ...]:
        """All fixed column names."""
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the required columns."""
        return tuple(c.name for c in self.columns if c.required)

    @property
    def optional(self) -> tuple[str, ...]:
        """Names of the optional columns."""
        return tuple(c.name for c in self.columns if not c.required)

    def column(self, name: str) -> Column:
        """Return the column called ``name`` (``KeyError`` if it is not in the table)."""
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name


PANEL = TableSchema(
    kind="panel",
    columns=(
        Column(FORCE, "force", description="territorial police force"),
        Column(PERIOD, "period", description="month, quarter or financial year label"),
    ),
    key=(FORCE, PERIOD),
    extra_columns="metrics",
    description="one row per force and period; other columns are numeric metrics",
)

REGISTER = TableSchema(
    kind="register",
    columns=(
        Column(FORCE, "force", description="pilot force"),
        Column(WAVE, "label", description="pilot wave: an integer or a label"),
        Column(GO_LIVE, "date_or_period", description="go-live date (YYYY-MM-DD) or period"),
        Column(ENDED, "date_or_period", required=False, description="end of the pilot, if any"),
    ),
    key=(FORCE,),
    description="one row per pilot force",
)

LEDGER = TableSchema(
    kind="ledger",
    columns=(
        Column(FORCE, "force", description="force that bore the cost"),
        Column(DATE, "date", required=False, description="date of the cost (YYYY-MM-DD)"),
        Column(
            FINANCIAL_YEAR,
            "financial_year",
            required=False,
            description="UK financial year of the cost (YYYY-YY)",
        ),
        Column(CATEGORY, "choice", allowed=COST_CATEGORIES, description="cost category"),
        Column(KIND, "choice", allowed=COST_KINDS, description="capital or recurrent"),
        Column(AMOUNT_GBP, "number", nonnegative=True, description="amount in GBP"),
        Column(
            PRICE_BASIS,
            "price_basis",
            description="'nominal' (cash) or 'real YYYY-YY' (prices of that base year)",
        ),
        Column(DESCRIPTION, "text", required=False, description="free text"),
    ),
    key=(),
    at_least_one_of=((DATE, FINANCIAL_YEAR),),
    description="one row per cost item",
)

#: Table kind -> schema.
TABLES: Mapping[str, TableSchema] = MappingProxyType(
    {"panel": PANEL, "register": REGISTER, "ledger": LEDGER}
)


# --------------------------------------------------------------------------------------------
# Metrics (configuration)
# --------------------------------------------------------------------------------------------

Unit = Literal["count", "gbp", "hours", "days", "rate"]
UNITS: tuple[Unit, ...] = get_args(Unit)
Better = Literal["lower", "higher", "none"]
BETTER: tuple[Better, ...] = get_args(Better)
Aggregation = Literal["flow", "level"]
AGGREGATIONS: tuple[Aggregation, ...] = get_args(Aggregation)


@dataclass(frozen=True)
class Metric:
    """A panel metric.

    Parameters
    ----------
    name
        Column name in the panel.
    unit
        ``count``, ``gbp``, ``hours``, ``days`` or ``rate``; ``None`` for a metric found in a
        file but not in the metrics configuration.
    description
        Plain-words meaning.
    nonnegative
        Whether negative values are errors.
    better
        ``"lower"``, ``"higher"`` or ``"none"``: the direction of improvement.
    aggregation
        ``"flow"`` (a quantity per period that adds up over a year: devices, GBP, hours) or
        ``"level"`` (a stock or a typical value that is averaged over a year: backlog, days,
        rates). Default: ``"level"`` for days and rates, ``"flow"`` otherwise.
    """

    name: str
    unit: Unit | None
    description: str = ""
    nonnegative: bool = False
    better: Better = "none"
    aggregation: Aggregation = "flow"


def default_metrics_path() -> Path:
    """Return the path of the bundled ``metrics.toml``."""
    return Path(str(resources.files("evaluation").joinpath("resources", "metrics.toml")))


@functools.cache
def _load_default_metrics() -> Mapping[str, Metric]:
    text = resources.files("evaluation").joinpath("resources", "metrics.toml").read_text("utf-8")
    return _parse_metrics(text, "metrics.toml (bundled)")


def load_metrics(path: str | Path | None = None) -> Mapping[str, Metric]:
    """Load a metrics configuration file (TOML); the bundled one when ``path`` is ``None``.

    A user file replaces the bundled list. Each ``[metrics.<name>]`` table needs ``unit``
    (one of :data:`UNITS`); ``description``, ``nonnegative`` (default ``true``) and ``better``
    (one of :data:`BETTER`, default ``"none"``) are optional.

    Raises
    ------
    ConfigError
        If the file cannot be read or breaks the layout.

    Examples
    --------
    >>> m = load_metrics()
    >>> m["backlog"].unit, m["backlog"].better
    ('count', 'lower')
    """
    if path is None:
        return _load_default_metrics()
    from evaluation.errors import DataError
    from evaluation.readers import read_text_file

    p = Path(path)
    try:
        text = read_text_file(p, "metrics file")
    except DataError as exc:
        raise ConfigError(str(exc).splitlines()[0]) from exc
    return _parse_metrics(text, p.name)


_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _parse_metrics(text: str, source: str) -> Mapping[str, Metric]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"metrics file {source} is not valid TOML: {exc}") from exc
    table = data.get("metrics")
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"metrics file {source} has no [metrics.<name>] tables")
    reserved = set(PANEL.names)
    out: dict[str, Metric] = {}
    for name, spec in table.items():
        where = f"metrics file {source}, metric {name!r}"
        if not _NAME_RE.match(name) or name in reserved:
            raise ConfigError(
                f"{where}: a metric name must be lower case letters, digits and underscores, "
                f"and not one of {sorted(reserved)}"
            )
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected a table of settings")
        unknown = set(spec) - {"unit", "description", "nonnegative", "better", "aggregation"}
        if unknown:
            raise ConfigError(f"{where}: unknown settings {sorted(unknown)}")
        unit = spec.get("unit")
        if unit not in UNITS:
            raise ConfigError(f"{where}: unit must be one of {', '.join(UNITS)}; got {unit!r}")
        better = spec.get("better", "none")
        if better not in BETTER:
            raise ConfigError(f"{where}: better must be one of {', '.join(BETTER)}; got {better!r}")
        nonneg = spec.get("nonnegative", True)
        if not isinstance(nonneg, bool):
            raise ConfigError(f"{where}: nonnegative must be true or false; got {nonneg!r}")
        desc = spec.get("description", "")
        if not isinstance(desc, str):
            raise ConfigError(f"{where}: description must be text")
        aggregation = spec.get("aggregation", "level" if unit in ("days", "rate") else "flow")
        if aggregation not in AGGREGATIONS:
            raise ConfigError(
                f"{where}: aggregation must be one of {', '.join(AGGREGATIONS)}; "
                f"got {aggregation!r}"
            )
        out[name] = Metric(
            name=name,
            unit=unit,
            description=desc,
            nonnegative=nonneg,
            better=better,
            aggregation=aggregation,
        )
    return MappingProxyType(out)
