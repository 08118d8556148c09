"""The parts of the annual report, each built from the pipeline result (private helpers).

Every function here reads the :class:`Context` and returns model types from :mod:`.model`;
nothing renders. Sentences are short and plain; money is GBP in real prices of the price base
year unless a header says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evaluation import plots
from evaluation.annual.formatting import financial_year, gbp_m, percent
from evaluation.annual.model import (
    Chart,
    Column,
    Headline,
    Pillar,
    Section,
    Table,
)
from evaluation.appraisal import load_params
from evaluation.appraisal._years import fy_label, fy_start
from evaluation.periods import detect_frequency, format_period, parse_period, period_of_date
from evaluation.schema import load_metrics

if TYPE_CHECKING:  # pragma: no cover
    from evaluation.annual.cutoff import YearCut
    from evaluation.annual.robustness import Robustness
    from evaluation.appraisal import Appraisal, ParameterSet
    from evaluation.pipeline import PipelineResult

__all__ = [
    "PILLARS",
    "Context",
    "answer",
    "cover",
    "headline",
    "pillars",
    "programme",
    "summary",
]

#: Soteria-style pillars: key, title, question, metrics.
PILLARS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "capacity",
        "Capacity and timeliness of digital forensics",
        "Do pilot forces examine more devices, sooner, with a smaller backlog?",
        (
            "devices_received",
            "devices_examined",
            "backlog",
            "median_turnaround_days",
            "p90_turnaround_days",
        ),
    ),
    (
        "outsourcing",
        "Outsourcing",
        "Do pilot forces send fewer examinations to external providers, and spend less?",
        ("outsourced_exams", "outsourced_spend_gbp"),
    ),
    (
        "outcomes",
        "Investigative and exploitation outcomes",
        "Does faster digital evidence lead to more exploitation referrals and disruptions?",
        ("cce_referrals", "county_lines_disrupted"),
    ),
    (
        "people",
        "People",
        "Is officer time on digital evidence released for other work?",
        ("officer_hours_digital",),
    ),
)

_FREQ_WORD = {"month": "month", "quarter": "quarter", "fy": "year"}


@dataclass(frozen=True)
class Context:
    """What every part needs: the result, the year and derived facts."""

    result: PipelineResult
    year: str
    year_end: pd.Timestamp
    appraisal: Appraisal
    params: ParameterSet
    effects: pd.DataFrame
    metrics: Mapping[str, Any]
    pilots: tuple[str, ...]
    comparison: tuple[str, ...]
    last_period: str
    freq: str
    baseline_year: str
    cut_notes: tuple[str, ...]

    @classmethod
    def make(
        cls, result: PipelineResult, year: str, end: pd.Timestamp, *, cut: YearCut | None
    ) -> Context:
        """Derive the context from a pipeline result."""
        panel = result.panel
        pilots = tuple(sorted(result.register["force"].astype(str)))
        present = set(panel["force"].astype(str))
        comparison = tuple(sorted(present - set(pilots)))
        last = max(panel["period"].astype(str), key=lambda p: parse_period(p).end_time)
        freq = detect_frequency(last) or "month"
        first_live = pd.Timestamp(result.register["go_live"].min())
        baseline = fy_label(fy_start(format_period(period_of_date(first_live, "fy"))) - 1)
        params = load_params(result.inputs.params)
        return cls(
            result=result,
            year=year,
            year_end=end,
            appraisal=result.appraisal,
            params=params,
            effects=_effects_with_ci(result.effects),
            metrics=load_metrics(),
            pilots=pilots,
            comparison=comparison,
            last_period=cut.last_period if cut is not None else last,
            freq=freq,
            baseline_year=baseline,
            cut_notes=cut.notes if cut is not None else (),
        )

    def effect(self, metric: str) -> dict[str, Any]:
        """Return the effects-table row of ``metric`` as a dict (``KeyError`` if absent)."""
        rows = {str(r["metric"]): r for r in self.effects.to_dict("records")}
        return {str(k): v for k, v in rows[metric].items()}

    def unit_of(self, metric: str) -> str:
        """Return the metric's unit word."""
        spec = self.metrics.get(metric)
        return (spec.unit or "") if spec is not None else ""

    def describe(self, metric: str) -> str:
        """Return the metric's plain description (or its name)."""
        spec = self.metrics.get(metric)
        return spec.description if spec is not None and spec.description else metric

    def better(self, metric: str) -> str:
        """Return ``lower``, ``higher`` or ``none``."""
        spec = self.metrics.get(metric)
        return str(spec.better) if spec is not None else "none"

    def benefit_metrics(self, *, wider: bool = False) -> list[str]:
        """Return the metrics behind the enabled benefit lines (core only by default)."""
        out = [b.metric for b in self.params.enabled_benefits if wider or not b.wider]
        return [m for m in dict.fromkeys(out) if m in self.result.results]


def _effects_with_ci(effects: pd.DataFrame) -> pd.DataFrame:
    """Add the 95% interval in natural units per pilot force-year to the effects table."""
    out = effects.copy()
    se_p = out["se_per_period"].astype(float).to_numpy()
    att = out["att_per_period"].astype(float).to_numpy()
    est = out["estimate"].astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(
            se_p > 0, out["se"].astype(float).to_numpy() / se_p, np.where(att != 0, est / att, 1.0)
        )
    out["ci_low"] = out["ci_low_per_period"].astype(float).to_numpy() * factor
    out["ci_high"] = out["ci_high_per_period"].astype(float).to_numpy() * factor
    return out


def _table(
    key: str,
    caption: str,
    frame: pd.DataFrame,
    columns: Sequence[tuple[str, str, str]],
    note: str = "",
) -> Table:
    cols = tuple(Column(n, label, kind) for n, label, kind in columns)
    missing = [c.name for c in cols if c.name not in frame.columns]
    if missing:
        raise KeyError(f"table {key}: no column(s) {missing}")
    return Table(
        key=key, caption=caption, frame=frame.reset_index(drop=True), columns=cols, note=note
    )


def _chart(
    key: str, fig: Any, data: pd.DataFrame, columns: Sequence[tuple[str, str, str]], caption: str
) -> Chart:
    title = str(fig.layout.title.text or caption)
    return Chart(
        key=key,
        title=title,
        figure=fig,
        table=_table(f"{key}-data", caption, data, columns),
        alt=plots.alt_text(fig),
    )


# ---------------------------------------------------------------- evidence strength


def _pretrend_p(res: Any) -> float | None:
    info = res.info
    if "pretrend_p" in info:
        return float(info["pretrend_p"])
    pre = info.get("pretrend")
    if isinstance(pre, Mapping) and pre.get("p_value") is not None:
        return float(pre["p_value"])
    return None


def _evidence(ctx: Context, rob: Robustness | None) -> tuple[int, str, tuple[str, ...]]:
    """Return (Maryland SMS level, confidence rating, reasons)."""
    reasons: list[str] = []
    n = len(ctx.pilots)
    core = ctx.benefit_metrics()
    rejected = [
        m for m in core if (p := _pretrend_p(ctx.result.results[m])) is not None and p < 0.05
    ]
    unclear = [m for m in core if not float(ctx.effect(m)["p_value"]) < 0.05]
    reasons.append(
        f"Maryland Scientific Methods Scale level 3: {n} pilot forces compared with "
        f"{len(ctx.comparison)} comparison forces before and after go-live "
        "(difference-in-differences); allocation was not random, so level 4 or 5 is not claimed."
    )
    if n < 6:
        reasons.append(
            f"Only {n} pilot forces are live: inference with few treated forces is fragile."
        )
    if rejected:
        reasons.append(
            "The pre-trend test rejects parallel trends (p < 0.05) for " + ", ".join(rejected) + "."
        )
    else:
        reasons.append(
            "No pre-trend test of the metrics behind the benefits rejects parallel trends."
        )
    if unclear:
        reasons.append(
            "The effect is not distinguishable from zero (p >= 0.05) for "
            + ", ".join(unclear)
            + "."
        )
    placebo_hits: list[str] = []
    fragile: list[str] = []
    if rob is not None:
        pl = rob.placebo
        placebo_hits = sorted(set(pl.loc[pl["p_value"] < 0.05, "metric"])) if len(pl) else []
        lo = rob.leave_one_out
        fragile = sorted(set(lo.loc[lo["verdict"].str.startswith("sign"), "metric"]))
        if placebo_hits:
            reasons.append("A placebo go-live shows an effect for " + ", ".join(placebo_hits) + ".")
        else:
            reasons.append(
                "Placebo go-live dates show no effect for the metrics behind the benefits."
            )
        if fragile:
            reasons.append("The sign depends on one pilot force for " + ", ".join(fragile) + ".")
    if n < 6 or rejected or placebo_hits or fragile:
        rating = "low"
    elif not unclear and n >= 10:
        rating = "high"
    else:
        rating = "moderate"
    return 3, rating, tuple(reasons)


def headline(ctx: Context, rob: Robustness | None = None) -> Headline:
    """Return the year's headline numbers."""
    a = ctx.appraisal
    s = a.summary
    mc = a.monte_carlo
    gf = a.go_forward
    roll = a.rollout
    sms, rating, reasons = _evidence(ctx, rob)
    return Headline(
        first_year=s.first_year,
        last_year=s.last_year,
        price_base_year=s.price_base_year,
        discount_base_year=s.discount_base_year,
        pv_costs=s.pv_costs,
        pv_benefits=s.pv_benefits,
        npsv=s.npsv,
        bcr=s.bcr,
        vfm_category=s.vfm_category,
        pv_benefits_cashable=s.pv_benefits_cashable,
        cashable_bcr=s.cashable_bcr,
        payback_year=s.payback_year,
        prob_positive=None if mc is None else mc.prob_positive,
        npsv_p10=None if mc is None else mc.p10,
        npsv_p50=None if mc is None else mc.p50,
        npsv_p90=None if mc is None else mc.p90,
        go_forward_npsv=None if gf is None else gf.npsv,
        go_forward_bcr=None if gf is None else gf.bcr,
        rollout_npsv=None if roll is None else roll.summary.npsv,
        rollout_bcr=None if roll is None else roll.summary.bcr,
        rollout_vfm=None if roll is None else roll.summary.vfm_category,
        rollout_forces=None if roll is None else roll.n_forces,
        break_even=() if roll is None else tuple(roll.break_even),
        sms_level=sms,
        confidence=rating,
        confidence_reasons=reasons,
        pilots_live=len(ctx.pilots),
        comparison_forces=len(ctx.comparison),
    )


def answer(ctx: Context, h: Headline) -> str:
    """Return the yearly answer in one sentence."""
    verdict = (
        "pay for themselves"
        if h.npsv >= 0
        else "do not pay for themselves within the appraisal period"
    )
    chance = (
        ""
        if h.prob_positive is None
        else f", with a {percent(h.prob_positive, 0)} chance that the NPSV is above zero"
    )
    return (
        f"On the data to the end of {ctx.year}, the pilot digital teams {verdict}: over "
        f"{h.first_year} to {h.last_year} they cost {gbp_m(h.pv_costs)} and return "
        f"{gbp_m(h.pv_benefits)} in present value, a net present social value of {gbp_m(h.npsv)} "
        f"and a benefit-cost ratio of {h.bcr:.2f} ({h.vfm_category} value for money){chance}."
    )


def summary(
    ctx: Context, h: Headline, pillars: Sequence[Pillar], change: Section | None
) -> tuple[str, ...]:
    """Return the executive summary points."""
    out = [
        f"Net present social value {gbp_m(h.npsv)}, benefit-cost ratio {h.bcr:.2f}: "
        f"value-for-money category '{h.vfm_category}'. The category is a label, not a pass or "
        "fail; impacts not valued in money (victims' experience, case quality) could shift it.",
        f"Cashable savings (less outsourcing) are worth {gbp_m(h.pv_benefits_cashable)} in "
        f"present value, a cashable benefit-cost ratio of {h.cashable_bcr:.2f}; the rest is "
        "officer time released, which is redeployed, not banked.",
    ]
    if h.prob_positive is not None:
        out.append(
            f"Probability that the NPSV is above zero: {percent(h.prob_positive, 0)} (Monte Carlo; "
            f"P10 {gbp_m(h.npsv_p10)}, P50 {gbp_m(h.npsv_p50)}, P90 {gbp_m(h.npsv_p90)})."
        )
    out.append(
        f"Payback: {h.payback_year} (cumulative discounted net benefit stays above zero from then)."
        if h.payback_year
        else f"Payback: not reached by {h.last_year}, the end of the appraisal period."
    )
    if h.go_forward_npsv is not None:
        out.append(
            f"Going forward (sunk costs excluded), the NPSV is {gbp_m(h.go_forward_npsv)} and the "
            f"benefit-cost ratio {h.go_forward_bcr:.2f}."
        )
    if h.rollout_npsv is not None:
        conditions = [b.rstrip(".") for b in h.break_even if not b.startswith("At central")]
        cond = "; ".join(conditions[:3])
        out.append(
            f"National rollout to {h.rollout_forces} forces: NPSV {gbp_m(h.rollout_npsv)}, "
            f"benefit-cost ratio {h.rollout_bcr:.2f} ('{h.rollout_vfm}'). "
            + (
                "Funding every force is not supported on this evidence."
                if h.rollout_npsv < 0
                else "Funding every force is supported on this evidence."
            )
            + (f" For it to break even: {cond}." if cond else "")
        )
    out.append(
        f"Strength of evidence: Maryland Scientific Methods Scale level {h.sms_level}; "
        f"confidence {h.confidence}. " + " ".join(h.confidence_reasons[1:])
    )
    for p in pillars:
        out.append(f"{p.title}: {p.status}. {p.summary}")
    if change is not None and change.paragraphs:
        out.append(change.paragraphs[0])
    return tuple(out)


def cover(ctx: Context, h: Headline) -> tuple[tuple[str, str], ...]:
    """Return the cover fields."""
    manifest = ctx.result.manifest
    return (
        ("Programme year", f"{ctx.year} ({financial_year(ctx.year)})"),
        ("Data cut-off", f"{ctx.year_end.date()} (panel to {ctx.last_period})"),
        ("Pilot forces live", f"{len(ctx.pilots)}: {', '.join(ctx.pilots)}"),
        ("Comparison forces", f"{len(ctx.comparison)} forces without a digital team"),
        ("Appraisal period", f"{h.first_year} to {h.last_year}"),
        ("Price base year", f"{h.price_base_year} (real prices, GDP deflator)"),
        ("Discount base year", h.discount_base_year),
        (
            "Parameter vintage",
            f"{ctx.params.name} version {ctx.params.version} "
            f"(deflator {ctx.params.deflator_vintage})",
        ),
        ("Toolkit version", f"pathfinder {manifest.get('version', '')}"),
        ("Seed", str(manifest.get("seed", ""))),
    )


# ---------------------------------------------------------------- programme and theory of change


def programme(ctx: Context, h: Headline) -> Section:
    """Return the programme and its theory of change."""
    eff = ctx.effects.set_index("metric")

    def evidence(metrics: Sequence[str]) -> str:
        parts = []
        for m in metrics:
            if m in eff.index:
                row = ctx.effect(m)
                parts.append(f"{m} {float(row['estimate']):+,.1f} {row['unit']}")
        return "; ".join(parts) if parts else "not measured"

    cats = ", ".join(sorted(ctx.result.appraisal.costs_by_category["category"].unique()))
    rows = [
        (
            "Inputs",
            f"Funding for in-force digital teams ({cats}); PV of costs {gbp_m(h.pv_costs)}.",
            "cost ledger",
            "ledger outturn to " + ctx.year,
        ),
        (
            "Activities",
            "Dedicated teams examine devices in-house, triage and prioritise, and "
            "gain ISO/IEC 17025 accreditation.",
            "register (go-live dates)",
            f"{len(ctx.pilots)} pilot forces live",
        ),
        (
            "Outputs",
            "More devices examined, a smaller backlog, shorter turnaround.",
            "devices_examined, backlog, turnaround days",
            evidence(["devices_examined", "backlog", "median_turnaround_days"]),
        ),
        (
            "Outcomes",
            "Fewer examinations outsourced; officer time released; more exploitation referrals.",
            "outsourced_exams, officer_hours_digital, cce_referrals",
            evidence(["outsourced_exams", "officer_hours_digital", "cce_referrals"]),
        ),
        (
            "Impacts",
            "Cashable savings, faster investigations and charging, children protected "
            "from criminal exploitation.",
            "appraisal (NPSV, BCR)",
            f"NPSV {gbp_m(h.npsv)}, BCR {h.bcr:.2f}",
        ),
    ]
    frame = pd.DataFrame(rows, columns=["stage", "what", "measured_by", "evidence"])
    toc = _table(
        "theory-of-change",
        "Theory of change: from funding to impact, with this year's evidence",
        frame,
        [
            ("stage", "Stage", "text"),
            ("what", "What happens", "text"),
            ("measured_by", "Measured by", "text"),
            ("evidence", "Evidence this year (per pilot force-year)", "text"),
        ],
    )
    waves = ctx.result.register.assign(go_live=lambda d: pd.to_datetime(d["go_live"]))
    n_waves = waves["wave"].nunique()
    return Section(
        key="programme",
        title="The programme and its theory of change",
        paragraphs=(
            "Forces lack people who can exploit digital evidence: devices wait months for "
            "examination and much of the work is outsourced at high cost. The programme sets up "
            "dedicated digital teams in pilot forces, in waves, and judges each year whether the "
            "set-up and running costs are offset by efficiency and less outsourcing.",
            f"By the end of {ctx.year}, {len(ctx.pilots)} forces had a team, in {n_waves} "
            f"wave(s) from {waves['go_live'].min().date()}; {len(ctx.comparison)} forces without "
            "a team are the comparison group.",
        ),
        tables=(toc,),
    )


# ---------------------------------------------------------------- pillars


def _fy_of_labels(labels: pd.Series) -> pd.Series:
    uniq = pd.unique(labels.astype(str))
    fy = {u: format_period(period_of_date(parse_period(u).start_time, "fy")) for u in uniq}
    return labels.astype(str).map(fy)


def _status(ctx: Context, metric: str) -> str:
    eff = ctx.effects.set_index("metric")
    if metric not in eff.index:
        return "not estimated"
    better = ctx.better(metric)
    if better not in ("lower", "higher"):
        return "context only"
    row = ctx.effect(metric)
    est, p = float(row["estimate"]), float(row["p_value"])
    if not p < 0.05:
        return "no clear change"
    good = est < 0 if better == "lower" else est > 0
    return "improving" if good else "worsening"


def pillars(ctx: Context) -> tuple[Pillar, ...]:
    """Return the pillar pages (indicators, baseline, this year, trend, status)."""
    panel = ctx.result.panel
    fy = _fy_of_labels(panel["period"])
    is_pilot = panel["force"].astype(str).isin(ctx.pilots).to_numpy()
    known = {m for _, _, _, ms in PILLARS for m in ms}
    extra = tuple(m for m in ctx.result.results if m not in known)
    groups = list(PILLARS)
    if extra:
        groups.append(("other", "Other indicators", "What else changed?", extra))
    per = _FREQ_WORD.get(ctx.freq, "period")
    out = []
    for key, title, question, metrics in groups:
        present = [m for m in metrics if m in ctx.result.results]
        if not present:
            continue
        rows, charts = [], []
        for m in present:
            values = panel[m].astype(float)

            def mean(mask: np.ndarray, values: pd.Series = values) -> float:
                v = values[mask]
                return float(v.mean()) if len(v.dropna()) else math.nan

            eff = ctx.effect(m)
            rows.append(
                {
                    "metric": m,
                    "description": ctx.describe(m),
                    "unit": ctx.unit_of(m),
                    "better": ctx.better(m),
                    "baseline_pilots": mean(is_pilot & (fy == ctx.baseline_year).to_numpy()),
                    "year_pilots": mean(is_pilot & (fy == ctx.year).to_numpy()),
                    "baseline_comparison": mean(~is_pilot & (fy == ctx.baseline_year).to_numpy()),
                    "year_comparison": mean(~is_pilot & (fy == ctx.year).to_numpy()),
                    "effect": float(eff["estimate"]),
                    "ci_low": float(eff["ci_low"]),
                    "ci_high": float(eff["ci_high"]),
                    "p_value": float(eff["p_value"]),
                    "status": _status(ctx, m),
                }
            )
            data = plots.trends_data(panel, ctx.result.register, m, freq="financial_year")
            fig = plots.trends_chart(
                panel,
                ctx.result.register,
                m,
                freq="financial_year",
                unit=ctx.unit_of(m),
                title=f"{m}: pilot and comparison forces (mean per force per {per})",
            )
            charts.append(
                _chart(
                    f"trend-{m}",
                    fig,
                    data,
                    [
                        ("period", "Financial year", "text"),
                        ("group", "Group", "text"),
                        ("mean", f"Mean per force per {per} ({ctx.unit_of(m)})", "num1"),
                        ("forces", "Forces reporting", "int"),
                    ],
                    f"{m}: mean per force per {per}, pilot and comparison forces, "
                    "by financial year",
                )
            )
        frame = pd.DataFrame(rows)
        statuses = set(frame["status"])
        if "improving" in statuses and "worsening" in statuses:
            status = "mixed"
        elif "improving" in statuses:
            status = "improving"
        elif "worsening" in statuses:
            status = "worsening"
        else:
            status = "no clear change"
        moved = [
            f"{r['metric']} ({r['status']})"
            for r in rows
            if r["status"] in ("improving", "worsening")
        ]
        text = (
            ("Clear changes: " + ", ".join(moved) + ".")
            if moved
            else ("No indicator changed clearly relative to the comparison forces.")
        )
        table = _table(
            f"pillar-{key}",
            f"{title}: baseline ({ctx.baseline_year}), this year ({ctx.year}) and the estimated "
            f"effect per pilot force-year",
            frame,
            [
                ("metric", "Indicator", "text"),
                ("unit", "Unit", "text"),
                ("better", "Better if", "text"),
                ("baseline_pilots", f"Pilots, baseline (mean per force per {per})", "num1"),
                ("year_pilots", f"Pilots, this year (mean per force per {per})", "num1"),
                ("baseline_comparison", f"Comparison, baseline (mean per force per {per})", "num1"),
                ("year_comparison", f"Comparison, this year (mean per force per {per})", "num1"),
                ("effect", "Effect per pilot force-year", "num1"),
                ("ci_low", "95% CI low", "num1"),
                ("ci_high", "95% CI high", "num1"),
                ("p_value", "p-value", "p"),
                ("status", "Status", "text"),
            ],
            note="Status: improving or worsening when the effect is in or against the better "
            "direction with p < 0.05; otherwise no clear change. Shown in words, never by colour.",
        )
        out.append(Pillar(key, title, question, status, text, table, tuple(charts)))
    out.append(_data_quality(ctx, fy, is_pilot))
    return tuple(out)


def _data_quality(ctx: Context, fy: pd.Series, is_pilot: np.ndarray) -> Pillar:
    panel = ctx.result.panel
    periods = pd.unique(panel["period"].astype(str))
    year_periods = [p for p in periods if _fy_of_labels(pd.Series([p])).iloc[0] == ctx.year]
    rows = []
    for group, mask, forces in (
        ("pilot forces", is_pilot, ctx.pilots),
        ("comparison forces", ~is_pilot, ctx.comparison),
    ):
        expected = len(forces) * len(year_periods)
        present = int((mask & (fy == ctx.year).to_numpy()).sum())
        metric_cols = [m for m in ctx.result.results if m in panel.columns]
        sub = panel.loc[mask & (fy == ctx.year).to_numpy(), metric_cols]
        cells = int(sub.size)
        rows.append(
            {
                "group": group,
                "forces": len(forces),
                "expected": expected,
                "present": present,
                "complete": present / expected if expected else math.nan,
                "values_missing": int(sub.isna().sum().sum()) if cells else 0,
            }
        )
    frame = pd.DataFrame(rows)
    worst = float(frame["complete"].min())
    status = "good" if worst >= 0.98 else ("adequate" if worst >= 0.9 else "weak")
    table = _table(
        "pillar-data",
        f"Data quality: force-periods reported in {ctx.year}",
        frame,
        [
            ("group", "Group", "text"),
            ("forces", "Forces", "int"),
            ("expected", "Force-periods expected", "int"),
            ("present", "Force-periods reported", "int"),
            ("complete", "Share reported (%)", "pct"),
            ("values_missing", "Missing values", "int"),
        ],
        note="Missing force-periods are absent rows, never imputed; estimators use the units "
        "observed in both periods of each comparison.",
    )
    return Pillar(
        "data",
        "Data quality",
        "Are the data complete enough to trust the estimates?",
        status,
        f"The least complete group reported {percent(worst)} of its force-periods this year.",
        table,
        (),
    )
