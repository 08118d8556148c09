"""Property tests: malformed tables load with every row, or fail with located problems only.

Arbitrary strings, numbers and blanks are injected into random cells of a valid table, and
columns are dropped or renamed at random. Whatever happens, loading must either return a frame
with one row per data row written, or raise DataError whose problems all name the file and a
row or a column. Any other exception is a bug.
"""

from __future__ import annotations

import csv
import os
import string
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluation.errors import DataError
from evaluation.ingest import load_ledger, load_panel, load_register

PANEL = pd.DataFrame(
    {
        "force": ["Kent", "Kent", "Surrey", "Surrey", "Met", "Met"],
        "period": ["2022-04", "2022-05"] * 3,
        "backlog": ["10", "12", "3", "0", "7", "8"],
        "median_turnaround_days": ["30.5", "28", "1e2", "", "9", "10"],
    }
)
REGISTER = pd.DataFrame(
    {
        "force": ["Kent", "Surrey", "GMP"],
        "wave": ["1", "2", "2"],
        "go_live": ["2022-05-01", "2022-Q3", "2023-24"],
    }
)
LEDGER = pd.DataFrame(
    {
        "force": ["Kent", "Surrey", "Kent"],
        "date": ["2022-05-03", "", "2023-01-01"],
        "financial_year": ["", "2022-23", "2022-23"],
        "category": ["equipment", "staff", "training"],
        "kind": ["capital", "recurrent", "recurrent"],
        "amount_gbp": ["100", "2.5", "0"],
        "price_basis": ["nominal", "real 2022-23", "nominal"],
    }
)

# text without NUL or surrogates (those make the whole file unreadable: tested elsewhere)
_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
)
_VALUES = st.one_of(
    _TEXT,
    st.sampled_from(
        [
            "",
            " ",
            "-5",
            "-x",
            "=1+1",
            "@A1",
            "+",
            "nan",
            "inf",
            "1,000",
            "2022-Q2",
            "2022-23",
            "2022-04-01",
            "Met",
            "PSNI",
            "Narnia",
            "\n",
            "a\nb",
            '"',
            "[x]",
            "real 2022-23",
            "capital",
            "0",
            "1e309",
        ]
    ),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@st.composite
def _mutated(draw, base: pd.DataFrame) -> pd.DataFrame:
    df = base.copy()
    n_cells = draw(st.integers(0, 6))
    for _ in range(n_cells):
        i = draw(st.integers(0, len(df) - 1))
        j = draw(st.integers(0, df.shape[1] - 1))
        df.iat[i, j] = draw(_VALUES)
    if draw(st.booleans()) and df.shape[1] > 1:
        drop = draw(st.sampled_from(list(df.columns)))
        if draw(st.booleans()):
            df = df.drop(columns=drop)
        else:
            new = draw(st.one_of(st.text(string.ascii_letters + " _", max_size=8), _TEXT))
            df = df.rename(columns={drop: new})
    return df


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([str(c) for c in df.columns])
        w.writerows(df.astype(str).to_numpy().tolist())


def _n_data_rows(df: pd.DataFrame) -> int:
    """Rows up to the last row with any non-blank cell (trailing blank rows are not data)."""
    blank = [all(str(v).strip() == "" for v in row) for row in df.astype(str).to_numpy()]
    n = len(blank)
    while n and blank[n - 1]:
        n -= 1
    return n


def _check(df: pd.DataFrame, loader) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "t.csv"
        _write_csv(df, path)
        try:
            out = loader(path)
        except DataError as exc:
            assert exc.problems, "DataError without problems"
            for p in exc.problems:
                assert p.file == "t.csv", p
                assert p.row is not None or p.column is not None, p
            return
    assert len(out) == _n_data_rows(df)


_SETTINGS = settings(
    max_examples=int(os.environ.get("PATHFINDER_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@_SETTINGS
@given(_mutated(PANEL))
def test_panel_mutations(df):
    _check(df, load_panel)


@_SETTINGS
@given(_mutated(REGISTER))
def test_register_mutations(df):
    _check(df, load_register)


@_SETTINGS
@given(_mutated(LEDGER))
def test_ledger_mutations(df):
    _check(df, load_ledger)


def test_unmutated_tables_load():
    for base, loader in ((PANEL, load_panel), (REGISTER, load_register), (LEDGER, load_ledger)):
        _check(base, loader)
