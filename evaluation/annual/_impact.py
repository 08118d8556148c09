"""The impact evaluation part of the annual report (private helpers).

Design, forces, effects, pre-trend tests, event studies, robustness checks and every warning
the estimators raised, in plain words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from evaluation import plots
from evaluation.annual._sections import _FREQ_WORD, Context, _chart, _pretrend_p, _table
from evaluation.annual.model import Section, Table

if TYPE_CHECKING:  # pragma: no cover
    from evaluation.annual.robustness import Robustness

__all__ = ["all_warnings", "impact"]


# ---------------------------------------------------------------- impact evaluation


def all_warnings(ctx: Context) -> tuple[str, ...]:
    """Return every estimator warning in plain words, each once with the metrics it concerns."""
    by_text: dict[str, list[str]] = {}
    for metric, res in ctx.result.results.items():
        for w in res.warnings:
            by_text.setdefault(str(w), []).append(metric)
    n = len(ctx.result.results)
    out = []
    for text, metrics in by_text.items():
        who = "every metric" if len(metrics) == n else ", ".join(metrics)
        out.append(f"{text[0].upper()}{text[1:]} ({who}).")
    return tuple(out)


def impact(ctx: Context, warnings: Sequence[str], rob: Robustness | None = None) -> Section:
    """Return the impact evaluation: design, forces, effects, pre-trends, event studies."""
    res0 = next(iter(ctx.result.results.values()))
    reg = ctx.result.register
    forces = pd.DataFrame(
        [
            {"force": f, "role": "pilot", "wave": str(w), "go_live": str(pd.Timestamp(g).date())}
            for f, w, g in zip(reg["force"], reg["wave"], reg["go_live"], strict=True)
        ]
        + [
            {"force": f, "role": "comparison", "wave": "[z]", "go_live": "[z]"}
            for f in ctx.comparison
        ]
    )
    e = ctx.effects
    effects = pd.DataFrame(
        {
            "metric": e["metric"],
            "unit": e["unit"],
            "estimate": e["estimate"],
            "ci_low": e["ci_low"],
            "ci_high": e["ci_high"],
            "att_per_period": e["att_per_period"],
            "p_value": e["p_value"],
            "method": e["method"],
            "inference": e["inference"],
        }
    )
    pre_rows = []
    for metric, res in ctx.result.results.items():
        info = res.info
        p = _pretrend_p(res)
        pre_rows.append(
            {
                "metric": metric,
                "statistic": float(info.get("pretrend_wald", math.nan)),
                "df": float(info.get("pretrend_df", math.nan)),
                "p_value": math.nan if p is None else p,
                "verdict": "not computed"
                if p is None
                else ("parallel trends rejected (p < 0.05)" if p < 0.05 else "not rejected"),
            }
        )
    per = _FREQ_WORD.get(ctx.freq, "period")
    window = {"month": (-12, None), "quarter": (-8, None), "fy": (-4, None)}.get(ctx.freq)
    charts = []
    for m in ctx.benefit_metrics(wider=True):
        res = ctx.result.results[m]
        if res.event_study is None or res.event_study.empty:
            continue
        data = plots.event_study_data(res, window=window)
        fig = plots.event_study_chart(
            res, unit=f"{ctx.unit_of(m)} per force per {per}", period_name=f"{per}s", window=window
        )
        charts.append(
            _chart(
                f"event-study-{m}",
                fig,
                data,
                [
                    ("event_time", f"{per.capitalize()}s since go-live", "int"),
                    ("estimate", "Effect", "num"),
                    ("ci_low", "95% CI low", "num"),
                    ("ci_high", "95% CI high", "num"),
                    ("band_low", "Band low", "num"),
                    ("band_high", "Band high", "num"),
                    ("phase", "Before or after", "text"),
                ],
                f"Event study of {m}: effect per force per {per} by {per}s since go-live",
            )
        )
    tables = [
        _table(
            "forces",
            "Pilot and comparison forces",
            forces,
            [
                ("force", "Force", "text"),
                ("role", "Role", "text"),
                ("wave", "Wave", "text"),
                ("go_live", "Go-live date", "text"),
            ],
        ),
        _table(
            "effects",
            "Estimated effects of the pilots per metric",
            effects,
            [
                ("metric", "Metric", "text"),
                ("unit", "Unit", "text"),
                ("estimate", "Effect per pilot force-year", "num1"),
                ("ci_low", "95% CI low", "num1"),
                ("ci_high", "95% CI high", "num1"),
                ("att_per_period", f"Effect per force per {per}", "num"),
                ("p_value", "p-value", "p"),
                ("method", "Estimator", "text"),
                ("inference", "Inference", "text"),
            ],
        ),
        _table(
            "pretrends",
            "Pre-trend tests (joint test that effects before go-live are zero)",
            pd.DataFrame(pre_rows),
            [
                ("metric", "Metric", "text"),
                ("statistic", "Wald statistic", "num"),
                ("df", "Degrees of freedom", "int"),
                ("p_value", "p-value", "p"),
                ("verdict", "Verdict", "text"),
            ],
        ),
    ]
    if rob is not None:
        tables += _robustness_tables(rob, per)
    return Section(
        key="impact",
        title="Impact evaluation",
        paragraphs=(
            f"Design: staggered difference-in-differences ({res0.method}, comparison: "
            f"{res0.control or 'not applicable'} treated forces), {len(ctx.pilots)} pilot forces "
            f"against {len(ctx.comparison)} comparison forces, {res0.n_periods} {per}s of data to "
            f"{ctx.last_period}. Inference: {res0.overall.inference}, chosen for few treated "
            "clusters. Effects are per pilot force; flows are summed over a year and levels "
            "averaged (natural units per pilot force-year).",
            "The pre-trend test asks whether pilot and comparison forces moved together before "
            "go-live; a rejection weakens the comparison. Event-study charts show the effect "
            f"{per} by {per}, with pointwise 95% intervals and simultaneous bands.",
        ),
        bullets=tuple(warnings) or ("The estimators raised no warnings.",),
        tables=tuple(tables),
        charts=tuple(charts),
    )


def _robustness_tables(rob: Robustness, per: str) -> list[Table]:
    return [
        _table(
            "robust-estimators",
            f"The effects behind the benefits by estimator (effect per force per {per})",
            rob.estimators,
            [
                ("metric", "Metric", "text"),
                ("estimator", "Estimator", "text"),
                ("estimate", f"Effect per force per {per}", "num"),
                ("ci_low", "95% CI low", "num"),
                ("ci_high", "95% CI high", "num"),
                ("p_value", "p-value", "p"),
                ("inference", "Inference", "text"),
                ("note", "Note", "text"),
            ],
        ),
        _table(
            "robust-placebo",
            "Placebo: go-live moved earlier, data before the real go-live only "
            f"(effect per force per {per})",
            rob.placebo,
            [
                ("metric", "Metric", "text"),
                ("shift", f"{per.capitalize()}s earlier", "int"),
                ("fake_go_live", "Placebo go-live", "text"),
                ("estimate", "Placebo effect", "num"),
                ("ci_low", "95% CI low", "num"),
                ("ci_high", "95% CI high", "num"),
                ("p_value", "p-value", "p"),
                ("verdict", "Verdict", "text"),
            ],
        ),
        _table(
            "robust-loo",
            f"Leave one pilot force out (effect per force per {per})",
            rob.leave_one_out,
            [
                ("metric", "Metric", "text"),
                ("estimate", "All pilots", "num"),
                ("min_estimate", "Lowest leaving one out", "num"),
                ("max_estimate", "Highest leaving one out", "num"),
                ("max_change", "Largest change", "num"),
                ("force_at_max", "Force whose removal moves it most", "text"),
                ("verdict", "Verdict", "text"),
            ],
        ),
        _table(
            "robust-bounds",
            "Sensitivity to parallel-trends violations (Rambachan-Roth relative magnitudes): "
            f"average effect per force per {per} in the year after go-live, if the trend "
            "difference after go-live were up to Mbar times the largest before it",
            rob.bounds,
            [
                ("metric", "Metric", "text"),
                ("mbar", "Mbar", "num"),
                ("id_low", "Identified set low", "num"),
                ("id_high", "Identified set high", "num"),
                ("ci_low", "Robust 95% CI low", "num"),
                ("ci_high", "Robust 95% CI high", "num"),
                ("breakdown_mbar", "Breakdown Mbar", "num"),
                ("verdict", "Verdict", "text"),
            ],
        ),
    ]
