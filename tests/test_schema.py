"""Tests of the forces registry and the table specifications in evaluation.schema."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from evaluation import schema
from evaluation.schema import FORCES, force_officers, resolve_force, suggest_force

ROOT = Path(__file__).resolve().parents[1]


def test_bundled_forces_csv_is_byte_identical_to_data_copy():
    bundled = ROOT / "evaluation" / "resources" / "forces.csv"
    data = ROOT / "data" / "forces.csv"
    assert bundled.read_bytes() == data.read_bytes()


def test_forces_registry_matches_csv():
    with open(ROOT / "data" / "forces.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 43
    assert list(FORCES) == [r["force"] for r in rows]
    for r in rows:
        f = FORCES[r["force"]]
        assert f.region == r["region"]
        assert f.officers_fte == float(r["officers_fte"])
        assert f.fte_is_approximate == (r["fte_is_approximate"] == "true")


def test_forces_registry_is_read_only():
    with pytest.raises(TypeError):
        FORCES["Narnia"] = FORCES["Kent"]  # type: ignore[index]


def test_force_officers_series():
    s = force_officers()
    assert isinstance(s, pd.Series)
    assert len(s) == 43
    assert s["Kent"] == 4100.0
    assert s["Metropolitan Police Service"] == 33293.0
    # published total is about 146,400 (data/forces.csv note)
    assert abs(s.sum() - 146_400) < 2_000


@pytest.mark.parametrize("name", list(FORCES))
def test_every_canonical_name_resolves_to_itself(name):
    assert resolve_force(name) == name
    assert resolve_force(name.upper()) == name
    assert resolve_force(f"  {name.lower()}  Police ") == name


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("Met", "Metropolitan Police Service"),
        ("MPS", "Metropolitan Police Service"),
        ("Metropolitan Police", "Metropolitan Police Service"),
        ("the Met", "Metropolitan Police Service"),
        ("GMP", "Greater Manchester"),
        ("Greater Manchester Police", "Greater Manchester"),
        ("Avon & Somerset", "Avon and Somerset"),
        ("Avon and Somerset Constabulary", "Avon and Somerset"),
        ("West Mids", "West Midlands"),
        ("WMP", "West Midlands"),
        ("West Midlands Police", "West Midlands"),
        ("Thames Valley Police", "Thames Valley"),
        ("TVP", "Thames Valley"),
        ("Dyfed Powys", "Dyfed-Powys"),
        ("Dyfed-Powys Police", "Dyfed-Powys"),
        ("Hampshire", "Hampshire and Isle of Wight"),
        ("Hampshire Constabulary", "Hampshire and Isle of Wight"),
        ("Hampshire & Isle of Wight Constabulary", "Hampshire and Isle of Wight"),
        ("City of London", "City of London"),
        ("City of London Police", "City of London"),
        ("Devon & Cornwall", "Devon and Cornwall"),
        ("Devon and Cornwall Police", "Devon and Cornwall"),
        ("North Yorks", "North Yorkshire"),
        ("South Yorks", "South Yorkshire"),
        ("West Yorks", "West Yorkshire"),
        ("South Wales Police", "South Wales"),
        ("Durham Constabulary", "Durham"),
        ("Notts", "Nottinghamshire"),
        ("Kent Police Service", "Kent"),
    ],
)
def test_aliases(alias, canonical):
    assert resolve_force(alias) == canonical


@pytest.mark.parametrize(
    "name",
    [
        "PSNI",
        "Police Service of Northern Ireland",
        "Police Scotland",
        "British Transport Police",
        "BTP",
        "",
        "   ",
        "Police",
        "Narnia",
    ],
)
def test_not_territorial_england_and_wales(name):
    assert resolve_force(name) is None


def test_resolve_non_string_is_none():
    assert resolve_force(None) is None
    assert resolve_force(3.0) is None


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        ("Glouchestershire", "Gloucestershire"),
        ("Northumbira", "Northumbria"),
        ("Leicestshire", "Leicestershire"),
        ("Lancashre Police", "Lancashire"),
        ("Greater Manchster", "Greater Manchester"),
        ("GMP", "Greater Manchester"),
    ],
)
def test_suggest_force(typo, expected):
    assert suggest_force(typo) == expected


def test_suggest_force_nothing_close():
    assert suggest_force("zzzz") is None
    assert suggest_force("") is None


def test_normalise_force_name():
    assert schema.normalise_force_name("Avon & Somerset Constabulary") == "avon and somerset"
    assert schema.normalise_force_name("Dyfed–Powys") == "dyfed powys"
