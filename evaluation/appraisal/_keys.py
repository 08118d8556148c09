"""Checks of a user's parameter file: misspelt keys (errors) and implausible values (notes).

A key the appraisal does not know would otherwise be ignored and its default used without a
word (``valu = 520`` under ``[unit_values.outsourced_exam]`` leaves the price at 450). The
bundled ``green_book_2022.toml`` is the schema: every key of the user's file must exist at
the same place in it, except where new entries are expected (a new unit value, a deflator
year, metadata). Unknown keys are errors with the nearest known key suggested.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from evaluation.appraisal.params import ParameterSet

__all__ = ["PLAUSIBLE", "implausible_parameters", "unknown_keys"]

#: Keys a parameter table may hold (those the parser reads), beyond the ones the defaults use.
_PARAMETER_KEYS = frozenset(
    {"value", "unit", "source", "vintage", "price_base", "confidence", "unverified", "low",
     "high", "distribution"}
)  # fmt: skip
#: Tables whose entries the user may add to (new names are allowed there).
_OPEN_TABLES = frozenset(
    {"meta", "deflator.index", "unit_values", "optimism_bias.categories", "assets.life_years"}
)


def _parameter_keys(doc: Any, found: set[str] | None = None) -> set[str]:
    """Every key used inside a parameter table (one with a ``value``) of the defaults."""
    found = set(_PARAMETER_KEYS) if found is None else found
    if isinstance(doc, Mapping):
        if "value" in doc:
            found.update(str(k) for k in doc)
        for v in doc.values():
            _parameter_keys(v, found)
    elif isinstance(doc, list):
        for v in doc:
            _parameter_keys(v, found)
    return found


def _suggest(key: str, candidates: set[str] | list[str]) -> str:
    hint = difflib.get_close_matches(key, sorted(candidates), n=1, cutoff=0.6)
    return f"; did you mean {hint[0]!r}?" if hint else ""


def _walk(user: Any, base: Any, path: str, param_keys: set[str], out: list[str]) -> None:
    if isinstance(base, Mapping) and "value" in base:
        if isinstance(user, Mapping):
            for key in user:
                if key not in param_keys:
                    out.append(
                        f"unknown key {path + '.' + str(key)!r}{_suggest(str(key), param_keys)} "
                        f"(a parameter takes {', '.join(sorted(param_keys))})"
                    )
        return
    if isinstance(base, Mapping) and isinstance(user, Mapping):
        for key, value in user.items():
            where = f"{path}.{key}" if path else str(key)
            if key in base:
                _walk(value, base[key], where, param_keys, out)
            elif path in _OPEN_TABLES:
                if isinstance(value, Mapping) and "value" in value:
                    _walk(value, {"value": None}, where, param_keys, out)
            else:
                out.append(f"unknown key {where!r}{_suggest(str(key), [str(k) for k in base])}")
        return
    if isinstance(base, list) and isinstance(user, list):
        entries = [b for b in base if isinstance(b, Mapping)]
        if not entries:
            return
        allowed: dict[str, Any] = {}
        for entry in entries:
            for k, v in entry.items():
                allowed.setdefault(str(k), v)
        for i, entry in enumerate(user):
            if not isinstance(entry, Mapping):
                continue
            label = f"{path}[{entry.get('name', i)!s}]" if "name" in allowed else f"{path}[{i}]"
            for key, value in entry.items():
                if key in allowed:
                    _walk(value, allowed[key], f"{label}.{key}", param_keys, out)
                else:
                    out.append(
                        f"unknown key {label + '.' + str(key)!r}{_suggest(str(key), set(allowed))}"
                    )


def unknown_keys(user: Mapping[str, Any], defaults: Mapping[str, Any]) -> list[str]:
    """Return one message per key of ``user`` that the parameter set does not know.

    Examples
    --------
    >>> base = {"settings": {"appraisal_period_years": {"value": 10, "source": "x"}}}
    >>> unknown_keys({"settings": {"appraisal_period_year": {"value": 12}}}, base)
    ["unknown key 'settings.appraisal_period_year'; did you mean 'appraisal_period_years'?"]
    >>> unknown_keys({"settings": {"appraisal_period_years": {"valu": 12}}}, base)[0][:60]
    "unknown key 'settings.appraisal_period_years.valu'; did you "
    """
    out: list[str] = []
    _walk(user, defaults, "", _parameter_keys(defaults), out)
    return out


#: Plausible ranges: a value outside is reported (never changed). Rates are fractions.
PLAUSIBLE: Mapping[str, tuple[float, float]] = {
    "discount rate": (0.0, 0.15),
    "optimism bias": (0.0, 3.0),
    "appraisal period (years)": (1.0, 60.0),
    "unit value": (0.0, 1e7),
    "cost scale": (0.1, 10.0),
}


def implausible_parameters(params: ParameterSet) -> list[str]:
    """Return a warning for each parameter outside :data:`PLAUSIBLE` (e.g. a rate of 100).

    A discount rate of 100 (meant as 100%, or 3.5 meant as 3.5%) or an optimism bias of
    1,200% is almost surely a typing slip; the appraisal runs, and says so in its notes.
    """
    out: list[str] = []

    def check(what: str, key: str, value: float) -> None:
        lo, hi = PLAUSIBLE[what]
        if not lo <= value <= hi:
            hint = " (rates are fractions: 0.035 for 3.5%)" if "rate" in what else ""
            out.append(
                f"IMPLAUSIBLE PARAMETER: {key} = {value:g} is outside the plausible {what} "
                f"range {lo:g} to {hi:g}{hint}; check the parameter file"
            )

    for band in params.discount_bands:
        check("discount rate", f"discounting.bands (from year {band.from_year}).rate", band.rate)
    for category, bounds in params.ob_bounds.items():
        for name, value in zip(("lower", "upper"), bounds, strict=True):
            check("optimism bias", f"optimism_bias.categories.{category}.{name}", value)
    check("appraisal period (years)", "settings.appraisal_period_years", params.period_years)
    for name, param in params.unit_values.items():
        if isinstance(param.value, int | float):
            check("unit value", f"unit_values.{name}", float(param.value))
    if isinstance(params.cost_scale.value, int | float):
        check("cost scale", "uncertainty.cost_scale", float(params.cost_scale.value))
    return out
