"""The main job on the bundled data: end to end, reproducible, with provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from evaluation.cli import main
from evaluation.pipeline import PipelineInputs, run_pipeline, write_outputs
from evaluation.provenance import file_sha256


@pytest.fixture(scope="module")
def result():
    return run_pipeline(PipelineInputs.bundled(reps=199, draws=2000))


def test_every_metric_estimated_and_appraised(result) -> None:
    assert len(result.results) == 10
    assert set(result.effects["metric"]) == set(result.results)
    assert result.effects["se"].gt(0).all()
    d = result.appraisal.to_dict()
    for key in ("pv_costs", "pv_benefits", "npsv", "bcr", "vfm_category", "by_year", "monte_carlo"):
        assert key in d


def test_effects_are_per_force_year(result) -> None:
    # monthly panel: flows per force-year = 12 x per force-month; levels are average changes
    eff = result.effects.set_index("metric")
    flows = [
        "devices_received",
        "outsourced_exams",
        "outsourced_spend_gbp",
        "officer_hours_digital",
    ]
    levels = ["backlog", "median_turnaround_days", "p90_turnaround_days"]
    assert eff.loc[flows, "estimate"].to_numpy() == pytest.approx(
        12 * eff.loc[flows, "att_per_period"].to_numpy()
    )
    assert eff.loc[levels, "estimate"].to_numpy() == pytest.approx(
        eff.loc[levels, "att_per_period"].to_numpy()
    )


def test_same_seed_same_figures(result) -> None:
    again = run_pipeline(PipelineInputs.bundled(reps=199, draws=2000))
    pd.testing.assert_frame_equal(result.effects, again.effects)
    assert result.appraisal.to_dict() == again.appraisal.to_dict()


def test_manifest_records_hashes_seed_and_version(result, tmp_path: Path) -> None:
    paths = write_outputs(result, tmp_path)
    man = json.loads(paths["manifest"].read_text())
    assert man["seed"] == result.inputs.seed
    assert man["inputs"]["panel"]["sha256"] == file_sha256(result.inputs.panel)
    assert man["inputs"]["ledger"]["file"] == "costs.csv"
    assert man["version"]
    assert "/" not in man["inputs"]["panel"]["file"]


def test_run_command_writes_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--out", str(tmp_path), "--reps", "99", "--draws", "1000"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Green Book appraisal" in out
    assert (tmp_path / "effects.csv").exists() and (tmp_path / "appraisal.json").exists()


def test_run_with_a_bad_panel_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "panel.csv"
    bad.write_text("force,period,devices_received\nKent,2022-04,12\nNarnia,2022-04,x\n")
    code = main(["run", "--panel", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "Narnia" in err and "row 3" in err
