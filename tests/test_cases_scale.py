"""Case aggregation at scale: results unchanged by the streaming rewrite, memory, progress."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cases_data import cases_reference_frame

from evaluation.cases import aggregate_cases

REFERENCE = Path(__file__).resolve().parent / "reference" / "cases_panels.parquet"


@pytest.fixture(scope="module")
def reference_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    frame = cases_reference_frame()
    folder = tmp_path_factory.mktemp("reference_cases")
    files = {"csv": folder / "cases.csv", "parquet": folder / "cases.parquet"}
    frame.to_csv(files["csv"], index=False)
    frame.to_parquet(files["parquet"], index=False)
    return files


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("freq", ["month", "quarter", "fy"])
def test_panel_unchanged_from_list_based_implementation(
    reference_files: dict[str, Path], fmt: str, freq: str
) -> None:
    stored = pd.read_parquet(REFERENCE)
    want = stored[stored["freq"] == freq].drop(columns="freq").reset_index(drop=True)
    got, _ = aggregate_cases(reference_files[fmt], freq=freq)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(
        got.drop(columns="outsourced_spend_gbp"),
        want.drop(columns="outsourced_spend_gbp"),
        check_exact=True,
    )
    np.testing.assert_allclose(
        got["outsourced_spend_gbp"], want["outsourced_spend_gbp"], rtol=1e-12, atol=0
    )
