"""Appraisal assumptions as data: a versioned, editable parameter set read from TOML.

Every numeric assumption is a table with its ``value`` and provenance (``source``, ``vintage``,
``price_base`` for money values, a GMCA-style ``confidence`` grade from 1 to 5, ``unverified``,
and an optional ``low``/``high`` range). The bundled default set is
``evaluation/resources/params/green_book_2022.toml``; a user's file overrides it key by key
(benefit lines are matched by ``name``; other arrays are replaced whole).

Examples
--------
>>> p = load_params()
>>> p.name, p.price_base_year, p.period_years
('green_book_2022', '2024-25', 10)
>>> p.unit_values["outsourced_exam"].value
450.0
>>> p.updated("unit_values.outsourced_exam", 500.0).unit_values["outsourced_exam"].value
500.0
"""

from __future__ import annotations

import copy
import difflib
import functools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from evaluation.errors import AppraisalError
from evaluation.periods import detect_frequency
from evaluation.schema import COST_CATEGORIES, COST_KINDS

__all__ = [
    "BENEFIT_TYPES",
    "COST_CATEGORIES",
    "COST_KINDS",
    "DISTRIBUTIONS",
    "OB_STAGES",
    "BenefitLine",
    "DiscountBand",
    "MitigationStep",
    "Parameter",
    "ParameterSet",
    "default_params_path",
    "load_params",
    "params_from_dict",
]

BENEFIT_TYPES: tuple[str, ...] = ("fiscal", "economic", "social")
OB_STAGES: tuple[str, ...] = ("lower", "upper", "mitigated", "none")
DISTRIBUTIONS: tuple[str, ...] = ("fixed", "triangular", "uniform")
_EFFECT_DISTRIBUTIONS = ("auto", "normal", "bootstrap")
_ROLLOUT_FORCES = ("all", "non-pilot")
_ROLLOUT_DRIVERS = ("officers_fte",)
_SECTIONS = (
    "meta",
    "settings",
    "discounting",
    "deflator",
    "optimism_bias",
    "assets",
    "unit_values",
    "benefits",
    "vfm",
    "rollout",
    "uncertainty",
    "confidence",
    "options",
    "real_growth",
)
_DEFAULT_NAME = "green_book_2022"


@dataclass(frozen=True)
class Parameter:
    """One assumption with its provenance.

    Parameters
    ----------
    key
        Dotted location in the parameter file, e.g. ``unit_values.outsourced_exam``.
    value
        The value used in the central case.
    unit, source, vintage
        What the value measures, where it comes from, and which edition or release.
    price_base
        Financial year of the prices of a money value (``None`` for non-money values).
    confidence
        GMCA-style confidence grade, 1 (best) to 5 (judgement), or ``None``.
    unverified
        ``True`` when the value has not been checked against its source.
    low, high
        Range for sensitivity, scenarios and Monte Carlo (``None`` when not given).
    distribution
        Monte Carlo distribution: ``"fixed"``, ``"triangular"`` or ``"uniform"``.
    """

    key: str
    value: Any
    unit: str = ""
    source: str = ""
    vintage: str = ""
    price_base: str | None = None
    confidence: int | None = None
    unverified: bool = False
    low: float | None = None
    high: float | None = None
    distribution: str = "fixed"

    @property
    def has_range(self) -> bool:
        """Whether both ``low`` and ``high`` are given."""
        return self.low is not None and self.high is not None


@dataclass(frozen=True)
class DiscountBand:
    """A discount rate applying to years ``from_year`` to ``to_year`` (inclusive; open if None)."""

    from_year: int
    to_year: int | None
    rate: float


@dataclass(frozen=True)
class BenefitLine:
    """A benefit line: sign x effect x forces live x profile x product of unit values.

    Parameters
    ----------
    name
        Identifier of the line.
    metric
        The effects-table metric whose estimate drives the line.
    sign
        ``-1`` when a fall in the metric is a benefit, ``+1`` when a rise is.
    unit_value
        Names of the unit values multiplied together (e.g. hourly cost x share released).
    cashable
        Cashable (a budget can be reduced) or non-cashable (resource released).
    type
        ``"fiscal"``, ``"economic"`` or ``"social"``.
    agency
        Who benefits.
    ramp_up
        Share of the full effect in years 1, 2, ... since go-live; the last value holds after.
    decay
        Annual decay of the effect beyond the evidence window (a :class:`Parameter`).
    wider
        ``True`` for wider social values excluded from the core case.
    group
        Lines in one group measure the same benefit: at most one may be enabled.
    enabled
        Whether the line is counted.
    description
        Plain words.
    wage_linked
        ``True`` when the unit value grows with real wages (``real_growth.wages``) after the
        price base year (the value of officer time).
    """

    name: str
    metric: str
    sign: int
    unit_value: tuple[str, ...]
    cashable: bool
    type: str
    agency: str
    ramp_up: tuple[float, ...]
    decay: Parameter
    wider: bool
    group: str
    enabled: bool
    description: str = ""
    wage_linked: bool = False


@dataclass(frozen=True)
class MitigationStep:
    """A recorded reduction of the optimism-bias upper bound (Green Book supplementary guidance).

    ``reduction`` (a :class:`Parameter` with its justification in ``source``) is the share of
    the remaining bound removed for the listed cost ``categories``.
    """

    name: str
    categories: tuple[str, ...]
    reduction: Parameter
    description: str = ""


@dataclass(frozen=True)
class ParameterSet:
    """A validated appraisal parameter set (build with :func:`load_params`).

    The merged TOML document is kept in ``raw`` (read-only) so :meth:`updated` can derive a new
    set with one value changed; every other attribute is parsed from it.
    """

    raw: Mapping[str, Any] = field(repr=False)
    name: str
    version: str
    edition: str
    price_base_year: str
    discount_base_year: str
    first_year: str
    period_years: int
    decision_year: str
    discount_bands: tuple[DiscountBand, ...]
    deflator: Mapping[str, float]
    deflator_source: str
    deflator_vintage: str
    ob_bounds: Mapping[str, tuple[float, float]]
    ob_pilot_stage: str
    ob_rollout_stage: str
    ob_apply_to_outturn: bool
    asset_life: Mapping[str, int]
    refresh: bool
    unit_values: Mapping[str, Parameter]
    benefits: tuple[BenefitLine, ...]
    vfm: tuple[tuple[str, float | None], ...]
    rollout_driver: str
    rollout_forces: str
    rollout_start_year: str
    rollout_period_years: int
    mc_draws: int
    effect_distribution: str
    sensitivity_effect_z: float
    scenario_effect_z: float
    cost_scale: Parameter
    discount_rate: Parameter
    shortfall_apply: bool
    shortfall_by_grade: Mapping[int, float]
    parameters: tuple[Parameter, ...] = field(repr=False)
    # options, phasing, cost model and renewals (see _parse_extensions; defaults reproduce
    # a parameter file that does not set them)
    refresh_categories: tuple[str, ...] = ("equipment", "licences")
    renewal_share: Mapping[str, float] = field(default_factory=dict)
    rollout_cost_model: str = "per-officer"
    rollout_waves: int = 1
    rollout_wave_interval: int = 1
    rollout_lead_time: int = 0
    rollout_ramp_up: tuple[float, ...] = (1.0,)
    hub_benefit_share: Parameter | None = None
    ob_mitigation: tuple[MitigationStep, ...] = ()
    wage_growth: Parameter | None = None
    non_monetised: tuple[str, ...] = ()
    _digests: dict[tuple[str, ...], str] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def digest_without(self, *sections: str) -> str:
        """Return a digest of the parameter document without the named top-level sections.

        The set is fully determined by ``raw``, so equal digests mean equal parameters apart
        from those sections (used to memoise tables that cannot depend on them).
        """
        from evaluation.appraisal._memo import sections_digest

        key = tuple(sorted(sections))
        digest = self._digests.get(key)
        if digest is None:
            digest = sections_digest(self.raw, frozenset(key))
            self._digests[key] = digest
        return digest

    @property
    def wage_growth_rate(self) -> float:
        """Real growth a year of staff costs and of the value of officer time (0 if unset)."""
        return 0.0 if self.wage_growth is None else float(self.wage_growth.value)

    @property
    def enabled_benefits(self) -> tuple[BenefitLine, ...]:
        """The benefit lines that are counted (core and wider)."""
        return tuple(b for b in self.benefits if b.enabled)

    def assumptions(self) -> pd.DataFrame:
        """Return the assumptions log: one row per parameter with its provenance."""
        rows = [
            {
                "key": p.key,
                "value": p.value if not isinstance(p.value, list) else str(p.value),
                "unit": p.unit,
                "price_base": p.price_base,
                "source": p.source,
                "vintage": p.vintage,
                "confidence": p.confidence,
                "unverified": p.unverified,
                "low": p.low,
                "high": p.high,
                "distribution": p.distribution,
            }
            for p in self.parameters
        ]
        frame = pd.DataFrame(rows)
        frame["value"] = frame["value"].astype(str)
        return frame

    def updated(self, key: str, value: Any) -> ParameterSet:
        """Return a new set with the ``value`` at dotted ``key`` replaced.

        ``benefits.<name>.<field>`` addresses a benefit line by name; ``discounting.rate``
        replaces the rate of the first discount band (years 1-30).
        """
        return self.updated_many({key: value})

    def updated_many(self, changes: Mapping[str, Any]) -> ParameterSet:
        """Return a new set with several dotted keys replaced at once (checked once).

        Equal to chaining :meth:`updated` over ``changes`` in order, in one validation.
        """
        doc = _thaw(self.raw)
        for key, value in changes.items():
            _set_path(doc, key, value)
        keys = ", ".join(changes)
        return params_from_dict(doc, merge_defaults=False, label=f"{self.name} ({keys} changed)")


# ----------------------------------------------------------------------------------------------
# Loading and merging
# ----------------------------------------------------------------------------------------------


def default_params_path(name: str = _DEFAULT_NAME) -> Path:
    """Return the path of a bundled parameter set (``green_book_2022``)."""
    return Path(str(resources.files("evaluation").joinpath("resources", "params", f"{name}.toml")))


def _read_toml(path: Path | str, label: str) -> dict[str, Any]:
    from evaluation.errors import DataError
    from evaluation.readers import read_text_file

    p = Path(path)
    try:
        text = read_text_file(p, "parameter file")
    except DataError as exc:  # missing, unreadable, binary, UTF-16, not UTF-8: one message
        raise AppraisalError(str(exc).splitlines()[0]) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AppraisalError(f"parameter file {label} is not valid TOML: {exc}") from exc


@functools.lru_cache(maxsize=1)
def _bundled_parsed() -> dict[str, Any]:
    return _read_toml(default_params_path(), f"{_DEFAULT_NAME}.toml (bundled)")


def _bundled_doc() -> dict[str, Any]:
    """Return a private copy of the bundled parameter file (read and parsed once per process)."""
    return copy.deepcopy(_bundled_parsed())


def load_params(path: str | Path | None = None, *, merge_defaults: bool = True) -> ParameterSet:
    """Load a parameter set: the bundled defaults, overridden by the user's TOML file.

    Parameters
    ----------
    path
        A user's TOML file, or ``None`` for the bundled ``green_book_2022`` set.
    merge_defaults
        With ``False`` the file must be complete on its own (no defaults are filled in).

    Raises
    ------
    AppraisalError
        Naming every missing or invalid parameter.
    """
    if path is None:
        return params_from_dict(
            _bundled_doc(), merge_defaults=False, label=f"{_DEFAULT_NAME} (bundled)"
        )
    return params_from_dict(
        _read_toml(path, Path(path).name), merge_defaults=merge_defaults, label=Path(path).name
    )


def params_from_dict(
    doc: Mapping[str, Any], *, merge_defaults: bool = True, label: str = "parameters"
) -> ParameterSet:
    """Build a :class:`ParameterSet` from a parsed TOML document (merged onto the defaults)."""
    user = _thaw(doc)
    from evaluation.appraisal._keys import unknown_keys

    if label != f"{_DEFAULT_NAME} (bundled)":  # a user's file: no key may be silently ignored
        bundled = _bundled_doc()
        misspelt = unknown_keys(
            {k: v for k, v in user.items() if k in _SECTIONS},
            {**{s: {} for s in _SECTIONS}, **bundled},
        )
        if misspelt:
            raise AppraisalError(
                f"parameter set {label} has keys the appraisal does not know (they would be "
                "ignored and the defaults used):\n" + "\n".join(f"  - {m}" for m in misspelt)
            )
    unknown = sorted(set(user) - set(_SECTIONS))
    if unknown:
        raise AppraisalError(
            f"{label}: unknown section(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(_SECTIONS)}"
            + "".join(
                f" (did you mean {m[0]!r} for {u!r}?)"
                for u in unknown
                if (m := difflib.get_close_matches(u, _SECTIONS, n=1))
            )
        )
    if merge_defaults:
        base = _bundled_doc()
        merged = _merge(base, user)
    else:
        merged = user
    return _parse(merged, label)


def _thaw(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {k: _thaw(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_thaw(v) for v in obj]
    return obj


def _freeze(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in obj.items()})
    if isinstance(obj, list | tuple):
        return tuple(_freeze(v) for v in obj)
    return obj


def _merge(base: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in user.items():
        if key == "benefits" and isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = _merge_benefits(out[key], value)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            if "value" in value and "value" in out[key]:
                # a user's parameter replaces the default's provenance too, unless it keeps it
                merged = {k: v for k, v in out[key].items() if k not in ("low", "high")}
                merged.update(value)
                if "source" not in value:
                    merged["source"] = f"{out[key].get('source', '')} [value overridden by user]"
                out[key] = merged
            else:
                out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _merge_benefits(base: list[Any], user: list[Any]) -> list[Any]:
    out = [copy.deepcopy(b) for b in base]
    names = [b.get("name") for b in out]
    for line in user:
        name = line.get("name") if isinstance(line, dict) else None
        if name in names:
            i = names.index(name)
            out[i] = _merge(out[i], line)
        else:
            out.append(copy.deepcopy(line))
            names.append(name)
    return out


def _set_path(doc: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    if key == "discounting.rate":
        bands = doc.get("discounting", {}).get("bands")
        if not bands:
            raise AppraisalError("discounting.bands is missing: cannot change discounting.rate")
        bands[0]["rate"] = value
        return
    node: Any = doc
    in_entry = False  # inside a named array entry (a benefit line): new keys may be set
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if last and in_entry and isinstance(node, dict) and part not in node:
            node[part] = value
            return
        in_entry = False
        if isinstance(node, list):
            matches = [b for b in node if isinstance(b, dict) and b.get("name") == part]
            if not matches:
                raise AppraisalError(f"no entry named {part!r} at {'.'.join(parts[:i])}")
            node = matches[0]
            if last:
                raise AppraisalError(f"cannot replace the whole entry {key!r}")
            in_entry = True
            continue
        if not isinstance(node, dict) or part not in node:
            raise AppraisalError(f"unknown parameter {key!r}")
        if last:
            if isinstance(node[part], dict) and "value" in node[part]:
                target = node[part]
                target["value"] = value
                lo, hi = target.get("low"), target.get("high")
                if _number(value) and _number(lo) and _number(hi) and not lo <= value <= hi:
                    target.pop("low")  # the range no longer brackets the value
                    target.pop("high")
                    target["distribution"] = "fixed"
            else:
                node[part] = value
        else:
            node = node[part]


# ----------------------------------------------------------------------------------------------
# Parsing and validation (collects every problem, then raises once)
# ----------------------------------------------------------------------------------------------


class _Collector:
    def __init__(self, label: str) -> None:
        self.label = label
        self.problems: list[str] = []
        self.parameters: list[Parameter] = []

    def add(self, message: str) -> None:
        self.problems.append(message)

    def raise_if_any(self) -> None:
        if self.problems:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            raise AppraisalError(f"parameter set {self.label} is not usable:\n{lines}")


def _get(doc: Mapping[str, Any], path: str, c: _Collector) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            c.add(f"missing parameter {path!r}")
            return None
        node = node[part]
    return node


def _as_float(x: Any) -> float | None:
    return float(x) if _number(x) else None


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _param(node: Any, key: str, c: _Collector, *, numeric: bool = True) -> Parameter | None:
    if node is None:
        return None
    if not isinstance(node, Mapping) or "value" not in node:
        if numeric and not _number(node):
            c.add(f"{key}: expected a table with 'value' and 'source', got {node!r}")
            return None
        p = Parameter(key=key, value=node)
        c.parameters.append(p)
        return p
    value = node["value"]
    if numeric and not _number(value):
        c.add(f"{key}.value must be a number, got {value!r}")
        return None
    if not node.get("source"):
        c.add(f"{key}: every value needs a 'source'")
    confidence = node.get("confidence")
    if confidence is not None and confidence not in (1, 2, 3, 4, 5):
        c.add(f"{key}.confidence must be a grade 1-5, got {confidence!r}")
    low, high = node.get("low"), node.get("high")
    for name, bound in (("low", low), ("high", high)):
        if bound is not None and not _number(bound):
            c.add(f"{key}.{name} must be a number, got {bound!r}")
    if _number(low) and _number(high) and numeric:
        if not low <= value <= high:
            c.add(f"{key}: value {value} must lie between low {low} and high {high}")
    dist = node.get(
        "distribution", "triangular" if low is not None and high is not None else "fixed"
    )
    if dist not in DISTRIBUTIONS:
        c.add(f"{key}.distribution must be one of {', '.join(DISTRIBUTIONS)}; got {dist!r}")
    price_base = node.get("price_base")
    if price_base is not None and detect_frequency(price_base) != "fy":
        c.add(f"{key}.price_base must be a financial year such as 2024-25, got {price_base!r}")
    p = Parameter(
        key=key,
        value=value,
        unit=str(node.get("unit", "")),
        source=str(node.get("source", "")),
        vintage=str(node.get("vintage", "")),
        price_base=price_base,
        confidence=confidence,
        unverified=bool(node.get("unverified", False)),
        low=_as_float(low),
        high=_as_float(high),
        distribution=dist,
    )
    c.parameters.append(p)
    return p


def _year_setting(
    doc: Mapping[str, Any], key: str, sentinels: tuple[str, ...], c: _Collector
) -> str:
    p = _param(_get(doc, key, c), key, c, numeric=False)
    if p is None:
        return ""
    v = p.value
    if v in sentinels or detect_frequency(v) == "fy":
        return str(v)
    allowed = " or ".join(repr(s) for s in sentinels)
    c.add(f"{key} must be a financial year such as 2022-23 or {allowed}; got {v!r}")
    return ""


def _option(doc: Mapping[str, Any], key: str, allowed: tuple[str, ...], c: _Collector) -> str:
    v = _get(doc, key, c)
    if v is None:
        return ""
    if v not in allowed:
        c.add(f"{key} must be one of {', '.join(map(repr, allowed))}; got {v!r}")
        return ""
    return str(v)


def _parse(doc: dict[str, Any], label: str) -> ParameterSet:
    c = _Collector(label)
    meta = doc.get("meta", {})
    if not isinstance(meta, Mapping) or not meta.get("name"):
        c.add("missing parameter 'meta.name'")
        meta = {}

    # settings
    price_base_year = ""
    pb = _param(
        _get(doc, "settings.price_base_year", c), "settings.price_base_year", c, numeric=False
    )
    if pb is not None:
        if detect_frequency(pb.value) != "fy":
            c.add(
                "settings.price_base_year must be a financial year such as 2024-25, "
                f"got {pb.value!r}"
            )
        else:
            price_base_year = str(pb.value)
    discount_base_year = _year_setting(doc, "settings.discount_base_year", ("first-year",), c)
    first_year = _year_setting(doc, "settings.first_year", ("ledger",), c)
    decision_year = _year_setting(doc, "settings.decision_year", ("after-ledger",), c)
    period = _param(
        _get(doc, "settings.appraisal_period_years", c), "settings.appraisal_period_years", c
    )
    period_years = 0
    if period is not None:
        if int(period.value) != period.value or period.value < 1:
            c.add(
                f"settings.appraisal_period_years must be a whole number >= 1, got {period.value!r}"
            )
        else:
            period_years = int(period.value)

    # discounting
    bands: list[DiscountBand] = []
    raw_bands = _get(doc, "discounting.bands", c)
    if raw_bands is not None:
        if not isinstance(raw_bands, list) or not raw_bands:
            c.add("discounting.bands must be a non-empty array of {from_year, to_year, rate}")
        else:
            expected_from = 1
            for i, b in enumerate(raw_bands):
                where = f"discounting.bands[{i}]"
                if not isinstance(b, Mapping):
                    c.add(f"{where} must be a table")
                    continue
                fy, ty, rate = b.get("from_year"), b.get("to_year"), b.get("rate")
                if fy != expected_from:
                    c.add(
                        f"{where}.from_year must be {expected_from} (bands must be contiguous "
                        f"from 1), got {fy!r}"
                    )
                rate_value = _as_float(rate)
                if rate_value is None or rate_value <= -1:
                    c.add(f"{where}.rate must be a number above -1, got {rate!r}")
                    rate_value = 0.0
                last = i == len(raw_bands) - 1
                if ty is None and not last:
                    c.add(f"{where}.to_year is required except in the last band")
                lowest = fy if isinstance(fy, int) else 1
                if ty is not None and (not isinstance(ty, int) or ty < lowest):
                    c.add(f"{where}.to_year must be a whole year >= from_year, got {ty!r}")
                bands.append(
                    DiscountBand(int(fy) if isinstance(fy, int) else expected_from, ty, rate_value)
                )
                expected_from = (ty + 1) if isinstance(ty, int) else expected_from
            dsrc = doc.get("discounting", {})
            c.parameters.append(
                Parameter(
                    key="discounting.bands",
                    value=[(b.from_year, b.to_year, b.rate) for b in bands],
                    unit="real discount rate by year",
                    source=str(dsrc.get("source", "")),
                    vintage=str(dsrc.get("vintage", "")),
                    confidence=dsrc.get("confidence"),
                )
            )

    # deflator
    deflator: dict[str, float] = {}
    dsec = _get(doc, "deflator", c) or {}
    index = dsec.get("index") if isinstance(dsec, Mapping) else None
    if not isinstance(index, Mapping) or not index:
        c.add("missing parameter 'deflator.index' (financial year -> GDP deflator index)")
    else:
        for year, v in index.items():
            if detect_frequency(year) != "fy":
                c.add(f"deflator.index: {year!r} is not a financial year such as 2022-23")
            elif not _number(v) or v <= 0:
                c.add(f"deflator.index[{year!r}] must be a positive number, got {v!r}")
            else:
                deflator[str(year)] = float(v)
        deflator = dict(sorted(deflator.items()))
        c.parameters.append(
            Parameter(
                key="deflator.index",
                value=str(deflator),
                unit="index",
                source=str(dsec.get("source", "")),
                vintage=str(dsec.get("vintage", "")),
                confidence=dsec.get("confidence"),
                unverified=bool(dsec.get("unverified", False)),
            )
        )
        if not dsec.get("source"):
            c.add("deflator: needs a 'source'")
    if price_base_year and deflator and price_base_year not in deflator:
        c.add(
            f"settings.price_base_year {price_base_year} is outside the deflator series "
            f"({min(deflator)} to {max(deflator)})"
        )

    # optimism bias
    ob_bounds: dict[str, tuple[float, float]] = {}
    cats = _get(doc, "optimism_bias.categories", c)
    if isinstance(cats, Mapping):
        unknown = sorted(set(cats) - set(COST_CATEGORIES))
        for u in unknown:
            c.add(
                f"optimism_bias.categories.{u}: unknown cost category; "
                f"allowed: {', '.join(COST_CATEGORIES)}"
            )
        for cat in COST_CATEGORIES:
            if cat not in cats:
                c.add(f"missing parameter 'optimism_bias.categories.{cat}'")
                continue
            lo = _param(
                _get(doc, f"optimism_bias.categories.{cat}.lower", c),
                f"optimism_bias.categories.{cat}.lower",
                c,
            )
            hi = _param(
                _get(doc, f"optimism_bias.categories.{cat}.upper", c),
                f"optimism_bias.categories.{cat}.upper",
                c,
            )
            if lo is not None and hi is not None:
                if not 0 <= lo.value <= hi.value:
                    c.add(
                        f"optimism_bias.categories.{cat}: need 0 <= lower <= upper, "
                        f"got {lo.value}, {hi.value}"
                    )
                ob_bounds[cat] = (float(lo.value), float(hi.value))
    ob_pilot = _option(doc, "optimism_bias.pilot_forecast", OB_STAGES, c)
    ob_roll = _option(doc, "optimism_bias.rollout", OB_STAGES, c)
    ob_outturn = _get(doc, "optimism_bias.apply_to_outturn", c)
    if ob_outturn is not None and not isinstance(ob_outturn, bool):
        c.add(f"optimism_bias.apply_to_outturn must be true or false, got {ob_outturn!r}")

    # assets
    asset_life: dict[str, int] = {}
    lives = _get(doc, "assets.life_years", c)
    if isinstance(lives, Mapping):
        for u in sorted(set(lives) - set(COST_CATEGORIES)):
            c.add(
                f"assets.life_years.{u}: unknown cost category; "
                f"allowed: {', '.join(COST_CATEGORIES)}"
            )
        for cat in COST_CATEGORIES:
            p = _param(_get(doc, f"assets.life_years.{cat}", c), f"assets.life_years.{cat}", c)
            if p is not None:
                if int(p.value) != p.value or p.value < 1:
                    c.add(
                        f"assets.life_years.{cat} must be a whole number of years >= 1, "
                        f"got {p.value!r}"
                    )
                else:
                    asset_life[cat] = int(p.value)
    refresh = _get(doc, "assets.refresh", c)
    if refresh is not None and not isinstance(refresh, bool):
        c.add(f"assets.refresh must be true or false, got {refresh!r}")
    _option(doc, "assets.residual_value", ("straight-line", "none"), c)

    # unit values
    unit_values: dict[str, Parameter] = {}
    uv = _get(doc, "unit_values", c)
    if isinstance(uv, Mapping):
        for name, node in uv.items():
            p = _param(node, f"unit_values.{name}", c)
            if p is not None:
                if p.price_base is not None and deflator and p.price_base not in deflator:
                    c.add(
                        f"unit_values.{name}.price_base {p.price_base} is outside the deflator "
                        f"series ({min(deflator)} to {max(deflator)})"
                    )
                unit_values[name] = p

    # benefit lines
    benefits: list[BenefitLine] = []
    raw_benefits = _get(doc, "benefits", c)
    if raw_benefits is not None:
        if not isinstance(raw_benefits, list):
            c.add("benefits must be an array of [[benefits]] tables")
            raw_benefits = []
        seen: set[str] = set()
        for i, b in enumerate(raw_benefits):
            line = _parse_benefit(b, i, unit_values, c)
            if line is None:
                continue
            if line.name in seen:
                c.add(f"benefits: duplicate line name {line.name!r}")
            seen.add(line.name)
            benefits.append(line)
        groups: dict[str, list[str]] = {}
        for line in benefits:
            if line.enabled:
                groups.setdefault(line.group, []).append(line.name)
        for group, names in groups.items():
            if len(names) > 1:
                c.add(
                    f"benefits: lines {', '.join(names)} are all enabled but measure the same "
                    f"benefit (group {group!r}): enable only one, to avoid double counting"
                )
        if not any(b.enabled and not b.wider for b in benefits):
            c.add("benefits: no enabled core (non-wider) benefit line")

    # value for money
    vfm: list[tuple[str, float | None]] = []
    cats_vfm = _get(doc, "vfm.categories", c)
    if cats_vfm is not None:
        if not isinstance(cats_vfm, list) or not cats_vfm:
            c.add("vfm.categories must be a non-empty array of {label, below}")
        else:
            prev = -math.inf
            for i, item in enumerate(cats_vfm):
                lab, below = item.get("label"), item.get("below")
                last = i == len(cats_vfm) - 1
                if not lab:
                    c.add(f"vfm.categories[{i}] needs a 'label'")
                if last and below is not None:
                    c.add(f"vfm.categories[{i}]: the last category must have no 'below' threshold")
                if not last:
                    if not _number(below) or below <= prev:
                        c.add(
                            f"vfm.categories[{i}].below must be a number above the previous "
                            f"threshold, got {below!r}"
                        )
                        below = prev
                    prev = below
                vfm.append((str(lab), None if last else float(below)))
            c.parameters.append(
                Parameter(
                    key="vfm.categories",
                    value=str(vfm),
                    unit="BCR thresholds",
                    source=str(doc.get("vfm", {}).get("source", "")),
                    vintage=str(doc.get("vfm", {}).get("vintage", "")),
                    confidence=doc.get("vfm", {}).get("confidence"),
                )
            )

    # rollout
    driver = _option(doc, "rollout.driver", _ROLLOUT_DRIVERS, c)
    rforces = _option(doc, "rollout.forces", _ROLLOUT_FORCES, c)
    rstart = _year_setting(doc, "rollout.start_year", ("after-ledger",), c)
    rperiod = _param(_get(doc, "rollout.period_years", c), "rollout.period_years", c)
    rollout_period = 0
    if rperiod is not None:
        if int(rperiod.value) != rperiod.value or rperiod.value < 1:
            c.add(f"rollout.period_years must be a whole number >= 1, got {rperiod.value!r}")
        else:
            rollout_period = int(rperiod.value)

    # uncertainty
    draws = _param(
        _get(doc, "uncertainty.monte_carlo_draws", c), "uncertainty.monte_carlo_draws", c
    )
    if draws is not None and (int(draws.value) != draws.value or draws.value < 1):
        c.add(f"uncertainty.monte_carlo_draws must be a whole number >= 1, got {draws.value!r}")
    edist = _option(doc, "uncertainty.effect_distribution", _EFFECT_DISTRIBUTIONS, c)
    sz = _param(
        _get(doc, "uncertainty.sensitivity_effect_z", c), "uncertainty.sensitivity_effect_z", c
    )
    scz = _param(_get(doc, "uncertainty.scenario_effect_z", c), "uncertainty.scenario_effect_z", c)
    cost_scale = _param(_get(doc, "uncertainty.cost_scale", c), "uncertainty.cost_scale", c)
    drate = _param(_get(doc, "uncertainty.discount_rate", c), "uncertainty.discount_rate", c)

    # confidence shortfall
    conf = _get(doc, "confidence", c) or {}
    shortfall: dict[int, float] = {}
    apply_shortfall = False
    if isinstance(conf, Mapping):
        apply_shortfall = conf.get("apply", False)
        if not isinstance(apply_shortfall, bool):
            c.add(f"confidence.apply must be true or false, got {apply_shortfall!r}")
            apply_shortfall = False
        table = conf.get("shortfall_by_grade", {})
        for g in ("1", "2", "3", "4", "5"):
            v = _as_float(table.get(g) if isinstance(table, Mapping) else None)
            if v is None or not 0 <= v < 1:
                c.add(f"confidence.shortfall_by_grade[{g!r}] must be a share in [0, 1), got {v!r}")
            else:
                shortfall[int(g)] = v

    ext = _parse_extensions(doc, c)
    c.raise_if_any()
    if period is None or draws is None or sz is None or scz is None:  # pragma: no cover
        raise AppraisalError(f"parameter set {label} is incomplete")
    if cost_scale is None or drate is None:  # pragma: no cover
        raise AppraisalError(f"parameter set {label} is incomplete")
    return ParameterSet(
        raw=_freeze(doc),
        name=str(meta.get("name")),
        version=str(meta.get("version", "")),
        edition=str(meta.get("edition", "")),
        price_base_year=price_base_year,
        discount_base_year=discount_base_year,
        first_year=first_year,
        period_years=period_years,
        decision_year=decision_year,
        discount_bands=tuple(bands),
        deflator=MappingProxyType(deflator),
        deflator_source=str(dsec.get("source", "")),
        deflator_vintage=str(dsec.get("vintage", "")),
        ob_bounds=MappingProxyType(ob_bounds),
        ob_pilot_stage=ob_pilot,
        ob_rollout_stage=ob_roll,
        ob_apply_to_outturn=bool(ob_outturn),
        asset_life=MappingProxyType(asset_life),
        refresh=bool(refresh),
        unit_values=MappingProxyType(unit_values),
        benefits=tuple(benefits),
        vfm=tuple(vfm),
        rollout_driver=driver,
        rollout_forces=rforces,
        rollout_start_year=rstart,
        rollout_period_years=rollout_period,
        mc_draws=int(draws.value),
        effect_distribution=edist,
        sensitivity_effect_z=float(sz.value),
        scenario_effect_z=float(scz.value),
        cost_scale=cost_scale,
        discount_rate=drate,
        shortfall_apply=apply_shortfall,
        shortfall_by_grade=MappingProxyType(shortfall),
        parameters=tuple(c.parameters),
        **ext,
    )


def _parse_benefit(
    b: Any, i: int, unit_values: Mapping[str, Parameter], c: _Collector
) -> BenefitLine | None:
    where = f"benefits[{i}]"
    if not isinstance(b, Mapping):
        c.add(f"{where} must be a table")
        return None
    name = b.get("name")
    if not name:
        c.add(f"{where} needs a 'name'")
        return None
    where = f"benefits.{name}"
    ok = True
    for key in ("metric", "sign", "unit_value", "cashable", "type", "agency"):
        if key not in b:
            c.add(f"missing parameter '{where}.{key}'")
            ok = False
    if not ok:
        return None
    if b["sign"] not in (-1, 1):
        c.add(f"{where}.sign must be -1 (a fall is a benefit) or 1 (a rise is), got {b['sign']!r}")
    uvs = b["unit_value"]
    if isinstance(uvs, str):
        uvs = [uvs]
    enabled = b.get("enabled", True)
    for u in uvs:
        if u not in unit_values:
            c.add(
                f"{where}.unit_value: unknown unit value {u!r}; defined: "
                f"{', '.join(sorted(unit_values)) or '(none)'}"
            )
    money = [u for u in uvs if u in unit_values and unit_values[u].price_base is not None]
    if enabled and len(money) != 1 and all(u in unit_values for u in uvs):
        c.add(
            f"{where}.unit_value: exactly one money value (with a price_base) is "
            f"needed, got {money}"
        )
    if b["type"] not in BENEFIT_TYPES:
        c.add(f"{where}.type must be one of {', '.join(BENEFIT_TYPES)}; got {b['type']!r}")
    ramp = b.get("ramp_up", [1.0])
    if (
        not isinstance(ramp, list)
        or not ramp
        or not all(_number(r) and 0 <= r <= 1.5 for r in ramp)
    ):
        c.add(f"{where}.ramp_up must be a list of shares (e.g. [0.5, 1.0]), got {ramp!r}")
        ramp = [1.0]
    decay_node = b.get("decay", 0.0)
    decay = _param(decay_node, f"{where}.decay", c)
    if decay is None:
        decay = Parameter(key=f"{where}.decay", value=0.0)
    elif not 0 <= decay.value < 1:
        c.add(f"{where}.decay must be a share in [0, 1), got {decay.value!r}")
    for flag in ("cashable", "wider", "enabled", "wage_linked"):
        if flag in b and not isinstance(b[flag], bool):
            c.add(f"{where}.{flag} must be true or false, got {b[flag]!r}")
    return BenefitLine(
        name=str(name),
        metric=str(b["metric"]),
        sign=int(b["sign"]) if b["sign"] in (-1, 1) else 1,
        unit_value=tuple(str(u) for u in uvs),
        cashable=bool(b["cashable"]),
        type=str(b["type"]),
        agency=str(b["agency"]),
        ramp_up=tuple(float(r) for r in ramp),
        decay=decay,
        wider=bool(b.get("wider", False)),
        group=str(b.get("group", name)),
        enabled=bool(enabled),
        description=str(b.get("description", "")),
        wage_linked=bool(b.get("wage_linked", False)),
    )


_COST_MODELS = ("fixed+per-officer", "per-officer")


def _maybe(doc: Mapping[str, Any], path: str) -> Any:
    """Return the node at ``path`` or ``None`` when absent (optional, newer settings)."""
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _whole(doc: Mapping[str, Any], key: str, c: _Collector, lowest: int) -> int | None:
    p = _param(_maybe(doc, key), key, c)
    if p is None:
        return None
    if int(p.value) != p.value or p.value < lowest:
        c.add(f"{key} must be a whole number >= {lowest}, got {p.value!r}")
        return None
    return int(p.value)


def _parse_extensions(doc: Mapping[str, Any], c: _Collector) -> dict[str, Any]:
    """Parse the optional settings for renewals, the rollout's phasing and cost model, options."""
    out: dict[str, Any] = {}
    cats = _maybe(doc, "assets.refresh_categories")
    if cats is not None:
        if not isinstance(cats, list) or any(x not in COST_CATEGORIES for x in cats):
            c.add(
                f"assets.refresh_categories must be a list of cost categories "
                f"({', '.join(COST_CATEGORIES)}), got {cats!r}"
            )
        else:
            out["refresh_categories"] = tuple(str(x) for x in cats)
    shares = _maybe(doc, "assets.renewal_share")
    if isinstance(shares, Mapping):
        parsed: dict[str, float] = {}
        for cat in shares:
            key = f"assets.renewal_share.{cat}"
            if cat not in COST_CATEGORIES:
                c.add(f"{key}: unknown cost category; allowed: {', '.join(COST_CATEGORIES)}")
                continue
            p = _param(shares[cat], key, c)
            if p is not None:
                if not 0 <= p.value <= 2:
                    c.add(f"{key} must be a share between 0 and 2, got {p.value!r}")
                parsed[cat] = float(p.value)
        out["renewal_share"] = MappingProxyType(parsed)
    model = _maybe(doc, "rollout.cost_model")
    if model is not None:
        out["rollout_cost_model"] = _option(doc, "rollout.cost_model", _COST_MODELS, c)
    for key, name, lowest in (
        ("rollout.waves", "rollout_waves", 1),
        ("rollout.wave_interval_years", "rollout_wave_interval", 1),
        ("rollout.lead_time_years", "rollout_lead_time", 0),
    ):
        v = _whole(doc, key, c, lowest)
        if v is not None:
            out[name] = v
    ramp_node = _maybe(doc, "rollout.ramp_up")
    if ramp_node is not None:
        rp = _param(ramp_node, "rollout.ramp_up", c, numeric=False)
        ramp = rp.value if rp is not None else None
        if (
            not isinstance(ramp, list | tuple)
            or not ramp
            or not all(_number(r) and 0 <= r <= 1.5 for r in ramp)
        ):
            c.add(f"rollout.ramp_up must be a list of shares (e.g. [0.5, 1.0]), got {ramp!r}")
        else:
            out["rollout_ramp_up"] = tuple(float(r) for r in ramp)
    steps = _maybe(doc, "optimism_bias.mitigation")
    if steps is not None:
        out["ob_mitigation"] = _parse_mitigation(steps, c)
    nm = _maybe(doc, "settings.non_monetised")
    if nm is not None:
        if not isinstance(nm, list) or not all(isinstance(x, str) for x in nm):
            c.add(f"settings.non_monetised must be a list of metric names, got {nm!r}")
        else:
            out["non_monetised"] = tuple(nm)
    wages = _maybe(doc, "real_growth.wages")
    if wages is not None:
        wp = _param(wages, "real_growth.wages", c)
        if wp is not None and not -0.5 < wp.value < 0.5:
            c.add(f"real_growth.wages must be a yearly rate in (-0.5, 0.5), got {wp.value!r}")
        out["wage_growth"] = wp
    hub = _maybe(doc, "options.hub_benefit_share")
    if hub is not None:
        hp = _param(hub, "options.hub_benefit_share", c)
        if hp is not None and not 0 <= hp.value <= 1:
            c.add(f"options.hub_benefit_share must be a share in [0, 1], got {hp.value!r}")
        out["hub_benefit_share"] = hp
    return out


def _parse_mitigation(steps: Any, c: _Collector) -> tuple[MitigationStep, ...]:
    if not isinstance(steps, list):
        c.add("optimism_bias.mitigation must be an array of [[optimism_bias.mitigation]] tables")
        return ()
    out = []
    for i, step in enumerate(steps):
        name = step.get("name") if isinstance(step, Mapping) else None
        if not name:
            c.add(f"optimism_bias.mitigation[{i}] needs a 'name'")
            continue
        where = f"optimism_bias.mitigation.{name}"
        cats = step.get("categories")
        if not isinstance(cats, list) or not cats or any(x not in COST_CATEGORIES for x in cats):
            c.add(
                f"{where}.categories must be a non-empty list of cost categories "
                f"({', '.join(COST_CATEGORIES)}), got {cats!r}"
            )
            continue
        p = _param(step.get("reduction"), f"{where}.reduction", c)
        if p is None:
            c.add(f"missing parameter '{where}.reduction'")
            continue
        if not 0 <= p.value <= 1:
            c.add(f"{where}.reduction must be a share in [0, 1], got {p.value!r}")
        out.append(
            MitigationStep(
                name=str(name),
                categories=tuple(str(x) for x in cats),
                reduction=p,
                description=str(step.get("description", "")),
            )
        )
    return tuple(out)
