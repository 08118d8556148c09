"""Annual reports of the bundled data, computed once per test session (small reps and draws)."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import evaluation as ev
from evaluation.annual import (
    AnnualReport,
    YearCut,
    build_annual_report,
    cut_inputs,
    write_cut,
)
from evaluation.pipeline import PipelineInputs, PipelineResult, run_pipeline
from evaluation.provenance import file_sha256

REPS = 49
DRAWS = 1000
YEARS = ("2024-25", "2025-26")


@dataclass(frozen=True)
class Year:
    cut: YearCut
    paths: dict[str, Path]
    result: PipelineResult
    report: AnnualReport


def sample_dir() -> Path:
    return ev.bundled_data_dir() / "sample"


def loaded():
    s = sample_dir()
    return (
        ev.load_panel(s / "panel.csv"),
        ev.load_register(s / "register.csv"),
        ev.load_ledger(s / "costs.csv"),
    )


def sources() -> dict[str, dict[str, str]]:
    s = sample_dir()
    files = {"panel": "panel.csv", "register": "register.csv", "ledger": "costs.csv"}
    return {k: {"file": f, "sha256": file_sha256(s / f)} for k, f in files.items()}


FEW_METRICS = ("outsourced_exams", "officer_hours_digital", "cce_referrals")


def run_year(
    year: str,
    folder: Path,
    previous: AnnualReport | None = None,
    metrics: tuple[str, ...] | None = None,
    robustness: bool | None = None,
) -> Year:
    panel, register, ledger = loaded()
    cut = cut_inputs(panel, register, ledger, year)
    paths = write_cut(cut, folder / year)
    result = run_pipeline(
        PipelineInputs(
            panel=paths["panel"],
            register=paths["register"],
            ledger=paths["ledger"],
            reps=REPS,
            draws=DRAWS,
            metrics=metrics,
        )
    )
    if robustness is None:
        robustness = metrics is None  # the quick runs skip the robustness refits
    report = build_annual_report(
        result, year, previous, cut=cut, sources=sources(), robustness=robustness
    )
    return Year(cut, paths, result, report)


@functools.cache
def annual_years() -> dict[str, Year]:
    """Return the 2024-25 and 2025-26 reports (the second with the first as previous)."""
    folder = Path(tempfile.mkdtemp(prefix="pathfinder-annual-"))
    atexit.register(shutil.rmtree, folder, True)
    out: dict[str, Year] = {}
    previous = None
    for year in YEARS:
        out[year] = run_year(year, folder, previous)
        previous = out[year].report
    return out
