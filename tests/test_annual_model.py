"""The annual report model: inputs cut at a year's end, numbers equal to the toolkit's."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _annual import FEW_METRICS, annual_years, loaded, run_year

from evaluation.annual import cut_inputs, report_years, year_end
from evaluation.annual.formatting import format_value, gbp_m, safe_csv_text
from evaluation.errors import ConfigError
from evaluation.provenance import file_sha256


@pytest.fixture(scope="module")
def years():
    return annual_years()


def test_report_years_of_bundled_data() -> None:
    panel, register, _ = loaded()
    assert report_years(panel, register) == ["2022-23", "2023-24", "2024-25", "2025-26"]


def test_cut_keeps_what_was_known_at_year_end() -> None:
    panel, register, ledger = loaded()
    cut = cut_inputs(panel, register, ledger, "2023-24")
    assert cut.last_period == "2024-03"
    assert cut.panel["period"].max() == "2024-03"
    assert len(cut.panel) == (panel["period"] <= "2024-03").sum()
    assert (pd.to_datetime(cut.register["go_live"]) <= year_end("2023-24")).all()
    assert len(cut.register) == 8  # waves 1 and 2
    assert cut.ledger["financial_year"].max() == "2023-24"
    assert cut.ledger["amount_gbp"].sum() == pytest.approx(
        ledger.loc[ledger["financial_year"] <= "2023-24", "amount_gbp"].sum()
    )
    assert len(cut.forces_not_yet_live) == 6
    assert any("comparison forces" in n for n in cut.notes)


def test_cut_sets_aside_costs_of_forces_not_yet_live() -> None:
    panel, register, ledger = loaded()
    early = ledger.iloc[[0]].assign(
        force="Humberside", financial_year="2023-24", date=pd.Timestamp("2024-02-01")
    )
    cut = cut_inputs(panel, register, pd.concat([ledger, early]), "2023-24")
    assert "Humberside" not in set(cut.ledger["force"])
    note = next(n for n in cut.notes if "left to the year they go live" in n)
    assert "Humberside" in note and f"{float(early['amount_gbp'].iloc[0]):,.0f}" in note


def test_cut_errors_are_clear() -> None:
    panel, register, ledger = loaded()
    with pytest.raises(ConfigError, match="YYYY-YY"):
        cut_inputs(panel, register, ledger, "2025")
    with pytest.raises(ConfigError, match="no pilot is live"):
        cut_inputs(panel, register, ledger, "2020-21")


def test_headline_is_the_appraisal(years) -> None:
    y = years["2025-26"]
    a, h = y.result.appraisal, y.report.headline
    assert (h.npsv, h.bcr, h.pv_costs, h.pv_benefits) == (a.npsv, a.bcr, a.pv_costs, a.pv_benefits)
    assert h.vfm_category == a.summary.vfm_category
    assert h.prob_positive == a.monte_carlo.prob_positive
    assert h.rollout_npsv == a.rollout.summary.npsv
    assert h.pilots_live == 14 and h.comparison_forces == 43 - 14
    assert gbp_m(a.npsv) in y.report.answer and f"{a.bcr:.2f}" in y.report.answer
    assert h.sms_level == 3 and h.confidence in ("low", "moderate", "high")


def test_pillar_baseline_and_this_year_by_hand(years) -> None:
    y = years["2025-26"]
    panel = y.result.panel
    pilots = set(y.result.register["force"])
    pillar = next(p for p in y.report.pillars if p.key == "outsourcing")
    row = pillar.table.frame.set_index("metric").loc["outsourced_exams"]
    base = panel[panel["period"].between("2021-04", "2022-03") & panel["force"].isin(pilots)]
    this = panel[panel["period"].between("2025-04", "2026-03") & ~panel["force"].isin(pilots)]
    assert row["baseline_pilots"] == pytest.approx(base["outsourced_exams"].mean())
    assert row["year_comparison"] == pytest.approx(this["outsourced_exams"].mean())
    eff = y.result.effects.set_index("metric").loc["outsourced_exams"]
    assert row["effect"] == eff["estimate"]
    # status in words, derived from the direction and the p-value
    expected = "improving" if eff["p_value"] < 0.05 and eff["estimate"] < 0 else "no clear change"
    assert row["status"] == expected


def test_effect_intervals_in_natural_units(years) -> None:
    e = years["2025-26"].report.effects.set_index("metric")
    flow = e.loc["outsourced_exams"]  # monthly flow: per force-year = 12 x per force-month
    assert flow["ci_low"] == pytest.approx(12 * flow["ci_low_per_period"])
    level = e.loc["backlog"]
    assert level["ci_high"] == pytest.approx(level["ci_high_per_period"])


def test_change_since_last_year(years) -> None:
    last, this = years["2024-25"].report, years["2025-26"].report
    assert years["2024-25"].report.change is None
    change = this.change
    assert change is not None and change.title == "Change since 2024-25"
    m = change.tables[0].frame.set_index("measure")
    assert m.loc["NPSV (GBP, real)", "last_year"] == last.headline.npsv
    assert m.loc["NPSV (GBP, real)", "this_year"] == this.headline.npsv
    assert m.loc["BCR", "change"] == pytest.approx(this.headline.bcr - last.headline.bcr)
    shown = {r[0]: r for r in change.tables[0].rows()}
    assert shown["P(NPSV > 0)"][2].endswith("%") and shown["Pilot forces live"][2] == "14"
    assert shown["NPSV (GBP, real)"][2] == f"GBP {this.headline.npsv:,.0f}"
    eff = change.tables[2].frame.set_index("metric")
    assert (
        eff.loc["outsourced_exams", "last_year"]
        == last.effects.set_index("metric").loc["outsourced_exams", "estimate"]
    )
    text = " ".join(change.bullets)
    assert "2026-03" in text and "2025-03" in text and "Parameters unchanged" in text


def test_change_names_new_forces() -> None:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        first = run_year("2023-24", Path(tmp), metrics=FEW_METRICS)
        second = run_year("2024-25", Path(tmp), first.report, metrics=FEW_METRICS)
    bullets = " ".join(second.report.change.bullets)
    assert "New forces live: 6" in bullets and "Humberside" in bullets


def test_every_chart_has_its_data_table(years) -> None:
    rep = years["2025-26"].report
    charts = rep.charts()
    keys = {c.key for c in charts}
    assert {"cumulative-npsv", "tornado", "monte-carlo", "rollout"} <= keys
    assert "event-study-outsourced_exams" in keys and "trend-backlog" in keys
    for c in charts:
        assert len(c.table.frame) > 0 and c.alt
        assert len(c.table.rows()) == len(c.table.frame)


def test_qa_log_hashes_and_assumptions(years) -> None:
    y = years["2025-26"]
    qa = next(s for s in y.report.annexes if s.key == "annex-qa")
    hashes = qa.tables[0].frame
    assert file_sha256(y.paths["panel"]) in set(hashes["sha256"])
    assert len(hashes) == 6  # three supplied, three cut
    run = qa.tables[1].frame.set_index("setting")["value"]
    assert run["seed"] == str(y.result.inputs.seed)
    log = next(s for s in y.report.annexes if s.key == "annex-assumptions").tables[0].frame
    assert (log["flag"] == "UNVERIFIED").sum() == y.result.appraisal.assumptions["unverified"].sum()


def test_same_inputs_same_report(years) -> None:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        first = run_year("2024-25", Path(tmp), metrics=FEW_METRICS).report
        again = run_year("2024-25", Path(tmp) / "again", metrics=FEW_METRICS).report
    assert again.headline == first.headline
    assert [c.figure.to_json() for c in again.charts()] == [
        c.figure.to_json() for c in first.charts()
    ]
    for a, b in zip(again.tables(), first.tables(), strict=True):
        assert a.rows() == b.rows()


def test_formats() -> None:
    assert format_value(math.nan, "gbp") == "[x]"
    assert format_value(1234567.0, "gbp_m") == "GBP 1.2m"
    assert format_value(0.0123, "pct") == "1.2%"
    assert safe_csv_text("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert safe_csv_text("-2") == "'-2" and safe_csv_text(-2) == -2
    assert safe_csv_text("Kent") == "Kent"
    with pytest.raises(ValueError, match="kind must be one of"):
        format_value(1.0, "euros")
    assert np.isnan(float("nan"))


def test_robustness_checks_of_the_benefit_metrics(years) -> None:
    import numpy as np

    from evaluation.estimation import estimate
    from evaluation.panel import attach_cohorts

    y = years["2025-26"]
    impact = next(s for s in y.report.sections if s.key == "impact")
    tables = {t.key: t.frame for t in impact.tables}
    est = tables["robust-estimators"]
    assert set(est["metric"]) == {"outsourced_exams", "officer_hours_digital"}
    frame = attach_cohorts(y.result.panel, y.result.register)
    again = estimate(frame, "outsourced_exams", method="imputation", rng=np.random.default_rng(0))
    row = est[(est["metric"] == "outsourced_exams") & (est["estimator"] == "imputation")]
    assert row["estimate"].item() == pytest.approx(again.overall.estimate, rel=1e-12)
    main = est[(est["metric"] == "outsourced_exams") & (est["estimator"] == "cs (main)")]
    assert main["estimate"].item() == y.result.results["outsourced_exams"].overall.estimate
    placebo = tables["robust-placebo"].set_index("metric")
    assert placebo.loc["outsourced_exams", "shift"] == 12
    assert placebo.loc["outsourced_exams", "fake_go_live"].startswith("2021-04")
    loo = tables["robust-loo"].set_index("metric").loc["outsourced_exams"]
    assert loo["min_estimate"] <= loo["estimate"] <= loo["max_estimate"]
    assert loo["force_at_max"] in set(y.result.register["force"])
    # the rating reads the checks
    assert any("Placebo" in r or "placebo" in r for r in y.report.headline.confidence_reasons)


def test_sensitivity_bounds_of_the_benefit_metrics_by_hand(years) -> None:
    """At Mbar = 0 the bounds are the ordinary interval of the first post-go-live year's mean."""
    import numpy as np
    from scipy.stats import norm

    from evaluation.estimation import estimate
    from evaluation.panel import attach_cohorts

    y = years["2025-26"]
    impact = next(s for s in y.report.sections if s.key == "impact")
    bounds = {t.key: t.frame for t in impact.tables}["robust-bounds"]
    assert set(bounds["metric"]) == {"outsourced_exams", "officer_hours_digital"}
    b = bounds[bounds["metric"] == "outsourced_exams"].set_index("mbar")
    assert list(b.index) == [0.0, 0.5, 1.0, 2.0]
    # by hand: the mean of event times 0..11 and its standard error from the event-study vcov
    frame = attach_cohorts(y.result.panel, y.result.register)
    es = estimate(
        frame,
        "outsourced_exams",
        method="cs",
        base_period="universal",
        min_e=-12,
        max_e=11,
        inference="multiplier",
        reps=y.result.inputs.reps,
        rng=np.random.default_rng(y.result.inputs.seed),
        allow_unbalanced=True,
    )
    v = es.info["event_study_vcov"]
    times = np.array(v["event_time"])
    post = times >= 0
    table = es.event_study.set_index("event_time")
    mean = float(table.loc[times[post], "estimate"].mean())
    cov = np.asarray(v["vcov"])[np.ix_(post, post)]
    se = float(np.sqrt(cov.sum()) / post.sum())
    assert b.loc[0.0, "id_low"] == pytest.approx(mean, rel=1e-9)
    assert b.loc[0.0, "id_high"] == pytest.approx(mean, rel=1e-9)
    z = norm.ppf(0.975)
    assert b.loc[0.0, "ci_low"] == pytest.approx(mean - z * se, rel=1e-6)
    assert b.loc[0.0, "ci_high"] == pytest.approx(mean + z * se, rel=1e-6)
    # wider as Mbar grows; zero inside from the breakdown value on, outside before it
    assert (b["ci_high"] - b["ci_low"]).is_monotonic_increasing
    k = b["breakdown_mbar"].iloc[0]
    for mbar, row in b.iterrows():
        inside = row["ci_low"] <= 0 <= row["ci_high"]
        assert inside == (mbar >= k), (mbar, k)
    assert b["verdict"].nunique() == 1 and b["verdict"].iloc[0]


def test_table_csv_never_carries_a_formula(years, tmp_path) -> None:
    import dataclasses

    t = years["2025-26"].report.tables()[0]
    frame = t.frame.copy()
    first = t.columns[0].name
    frame.loc[0, first] = "=HYPERLINK(1)"
    frame.loc[1, first] = "@cmd"
    path = dataclasses.replace(t, frame=frame).to_csv(tmp_path / "t.csv")
    back = pd.read_csv(path)
    assert back.iloc[0, 0] == "'=HYPERLINK(1)" and back.iloc[1, 0] == "'@cmd"
    assert list(back.columns) == t.headers()


def test_chance_in_words() -> None:
    from evaluation.annual._sections import _chance

    assert _chance(0.0) == _chance(0.004) == "less than a 1%"
    assert _chance(0.126) == "a 13%" and _chance(0.999) == "more than a 99%"


def test_report_for_year_is_the_report_command_s_year(years, tmp_path) -> None:
    """The one shared path (CLI and dashboard) gives the same report as cut + run + build."""
    from _annual import DRAWS, REPS, sources

    from evaluation.annual import answer_history, report_for_year

    panel, register, ledger = loaded()
    previous = years["2024-25"].report
    report = report_for_year(
        panel,
        register,
        ledger,
        "2025-26",
        tmp_path / "cut",
        previous,
        sources=sources(),
        reps=REPS,
        draws=DRAWS,
    )
    assert report.headline == years["2025-26"].report.headline
    assert report.answer == years["2025-26"].report.answer
    assert sorted(p.name for p in (tmp_path / "cut").iterdir()) == sorted(
        p.name for p in years["2025-26"].paths.values()
    )

    table = answer_history([report, previous])  # any order in, oldest first out
    assert table["financial_year"].tolist() == ["2024-25", "2025-26"]
    for row, r in zip(table.itertuples(index=False), (previous, report), strict=True):
        h = r.headline
        assert (row.npsv, row.bcr, row.vfm_category, row.prob_positive) == (
            h.npsv,
            h.bcr,
            h.vfm_category,
            h.prob_positive,
        )
        assert (row.rollout_npsv, row.pilots_live, row.payback_year) == (
            h.rollout_npsv,
            h.pilots_live,
            h.payback_year,
        )
