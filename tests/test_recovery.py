"""Recovery: on the bundled data every planted effect lies inside its 95% interval.

The main job (``pathfinder run``: Callaway-Sant'Anna, never-treated comparison forces, the
recommended inference) is run on ``data/sample``; the truth is ``truth_summary.csv``, the mean
of Y(1) - Y(0) over the treated force-periods, computed by the generator from the potential
outcomes. See ``data/sample/README.md`` for how the seed was chosen.
"""

from __future__ import annotations

import pandas as pd
import pytest

from evaluation.ingest import bundled_data_dir
from evaluation.pipeline import PipelineInputs, run_pipeline


@pytest.fixture(scope="module")
def bundled():
    return run_pipeline(PipelineInputs.bundled(draws=1000))


def test_bundled_effects_table_is_what_the_main_job_estimates(bundled) -> None:
    shipped = pd.read_csv(bundled_data_dir() / "sample" / "effects.csv", comment="#")
    ours = bundled.effects.set_index("metric").loc[shipped["metric"]]
    # the shipped file is written to 4 decimals
    assert shipped["estimate"].to_numpy() == pytest.approx(ours["estimate"].to_numpy(), abs=1e-4)
    assert shipped["se"].to_numpy() == pytest.approx(ours["se"].to_numpy(), abs=1e-4)


def test_every_planted_effect_inside_its_interval(bundled) -> None:
    truth = pd.read_csv(bundled_data_dir() / "sample" / "truth_summary.csv").set_index("metric")
    outside = []
    for metric, res in bundled.results.items():
        o = res.overall
        true = truth.loc[metric, "att"]
        if not o.ci_low <= true <= o.ci_high:
            outside.append((metric, true, o.estimate, o.ci_low, o.ci_high))
    assert not outside, outside
    assert set(bundled.results) == set(truth.index)


def test_the_no_effect_metric_is_not_significant(bundled) -> None:
    truth = pd.read_csv(bundled_data_dir() / "sample" / "truth_summary.csv").set_index("metric")
    null = truth.index[truth["planted"] == "none"]
    assert "devices_received" in null
    assert bundled.results["devices_received"].overall.p_value > 0.05


def test_clear_planted_effects_are_detected(bundled) -> None:
    # the two largest planted effects (-19% and -29% of the untreated mean)
    for metric in ("outsourced_exams", "median_turnaround_days"):
        o = bundled.results[metric].overall
        assert o.ci_high < 0, (metric, o)


def test_effects_per_force_year_match_truth_units(bundled) -> None:
    truth = pd.read_csv(bundled_data_dir() / "sample" / "truth_summary.csv").set_index("metric")
    eff = bundled.effects.set_index("metric")
    m = "outsourced_exams"
    # both in examinations per pilot force-year: the estimate's interval covers the truth's
    lo = eff.loc[m, "estimate"] - 1.96 * eff.loc[m, "se"]
    hi = eff.loc[m, "estimate"] + 1.96 * eff.loc[m, "se"]
    assert lo <= truth.loc[m, "att_per_force_year"] <= hi
