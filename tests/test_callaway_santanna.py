"""Callaway-Sant'Anna: published R/Stata numbers, peers (csdid, differences), hand calculations.

Tolerances
----------
* published numbers: half a unit of the last printed digit (the rounding), see
  tests/reference/cs_mpdta.json for sources;
* peers: 1e-8 for point estimates and analytic standard errors (same formulas; csdid reports
  R did's analytic SE sqrt(sum psi^2)/n, differences its own analytic SE, equal here);
* hand calculations and internal identities: 1e-10.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_peer

from evaluation.errors import ConfigError, EstimationError
from evaluation.estimators.callaway_santanna import cs_statistic, fit_cs
from evaluation.inference.base import InferenceSettings
from evaluation.panel import Panel

HERE = Path(__file__).resolve().parent
REF = json.loads((HERE / "reference" / "cs_mpdta.json").read_text())


def _tol(digits: int) -> float:
    return 0.5 * 10.0**-digits + 1e-12


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "mpdta.csv")


@pytest.fixture(scope="module")
def panel(mpdta: pd.DataFrame) -> Panel:
    return Panel.from_frame(
        mpdta,
        unit="countyreal",
        time="year",
        cohort="first.treat",
        outcomes="lemp",
        covariates=["lpop"],
    )


def _gt(res, g, t, col="estimate"):
    df = res.group_time
    row = df[(df["group"] == g) & (df["time"] == t)]
    assert len(row) == 1, (g, t)
    return float(row[col].iloc[0])


def _agg(res, name, key, col="estimate"):
    df = res.aggregations[name]
    keycol = {"group": "group", "calendar": "time", "dynamic": "event_time"}[name]
    row = df[df[keycol] == key]
    assert len(row) == 1, (name, key)
    return float(row[col].iloc[0])


def _overall(res, kind, col="estimate"):
    df = res.aggregations["overall"]
    return float(df.loc[df["aggregation"] == kind, col].iloc[0])


# --------------------------------------------------------------------------- published numbers
def test_published_unconditional_varying(panel):
    ref = REF["unconditional_never_varying"]
    tol = _tol(ref["digits"])
    res = fit_cs(panel, "lemp", inference="cr1")
    for g, t, v in ref["att_gt"]:
        assert abs(_gt(res, g, t) - v) <= tol, (g, t)
    for e, v in ref["dynamic"]["event"]:
        assert abs(_agg(res, "dynamic", e) - v) <= tol, e
    assert abs(_overall(res, "dynamic") - ref["dynamic"]["overall"]) <= tol
    for g, v in ref["group"]["groups"]:
        assert abs(_agg(res, "group", g) - v) <= tol, g
    ov = ref["group"]["overall"]
    assert abs(_overall(res, "group") - ov["value"]) <= _tol(ov["digits"])
    p = ref["pretrend_p"]
    assert abs(res.info["pretrend_p"] - p["value"]) <= _tol(p["digits"])
    assert res.info["pretrend_df"] == 5


def test_published_balance_e(panel):
    ref = REF["unconditional_never_varying"]["dynamic_balance_e_1"]
    tol = _tol(REF["unconditional_never_varying"]["digits"])
    res = fit_cs(panel, "lemp", inference="cr1", balance_e=1, aggregation="dynamic")
    got = res.event_study.set_index("event_time")["estimate"]
    assert sorted(got.index) == [e for e, _ in ref["event"]]
    for e, v in ref["event"]:
        assert abs(got[e] - v) <= tol, e
    assert abs(res.overall.estimate - ref["overall"]) <= tol


def test_published_universal_base_period(panel):
    ref = REF["unconditional_never_universal"]
    tol = _tol(ref["digits"])
    res = fit_cs(panel, "lemp", inference="cr1", base_period="universal", aggregation="group")
    assert len(res.group_time) == len(ref["att_gt"])
    for g, t, v in ref["att_gt"]:
        assert abs(_gt(res, g, t) - v) <= tol, (g, t)
    # reference cells are fixed at 0 with no standard error (R reports NA)
    assert np.isnan(_gt(res, 2006, 2005, "se"))
    ov = ref["group_overall"]
    assert abs(res.overall.estimate - ov["value"]) <= _tol(ov["digits"])


def test_published_dr_lpop_with_analytic_se(panel):
    """Stata csdid method(dripw) = R did est_method='dr', xformla=~lpop; analytic SEs."""
    ref = REF["dr_lpop_never_varying"]
    tol = _tol(ref["digits"])
    res = fit_cs(panel, "lemp", estimation="dr", inference="cr1")
    for g, t, v, se in ref["att_gt"]:
        assert abs(_gt(res, g, t) - v) <= tol, (g, t)
        assert abs(_gt(res, g, t, "se") - se) <= tol, (g, t)
    est, se = ref["simple"]
    assert abs(_overall(res, "simple") - est) <= tol
    assert abs(_overall(res, "simple", "se") - se) <= tol
    for name, rows in (("calendar", ref["calendar"]), ("group", ref["group"])):
        for k, v, s in rows:
            assert abs(_agg(res, name, k) - v) <= tol, (name, k)
            assert abs(_agg(res, name, k, "se") - s) <= tol, (name, k)
    for e, v, s in ref["event"]:
        assert abs(_agg(res, "dynamic", e) - v) <= tol, e
        assert abs(_agg(res, "dynamic", e, "se") - s) <= tol, e
    pt = ref["pretrend"]
    assert abs(res.info["pretrend_wald"] - pt["chi2"]) <= 1e-8
    assert res.info["pretrend_df"] == pt["df"]
    assert abs(res.info["pretrend_p"] - pt["p"]) <= 1e-9


# --------------------------------------------------------------------------- peers
def _csdid(mpdta, control, xformla, est_method, base_period="varying", anticipation=0):
    ATTgt = require_peer("csdid.att_gt").ATTgt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = ATTgt(
            yname="lemp",
            gname="first.treat",
            idname="countyreal",
            tname="year",
            data=mpdta.copy(),
            control_group=control,
            xformla=xformla,
            anticipation=anticipation,
        )
        m.fit(est_method=est_method, base_period=base_period, bstrap=False)
        gt = pd.DataFrame(
            {
                "group": np.asarray(m.results["group"], dtype=float),
                "time": np.asarray(m.results["year"], dtype=float),
                "att_peer": np.asarray(m.results["att"], dtype=float),
                "se_peer": np.asarray(m.results["se"], dtype=float),
            }
        )
        aggs = {}
        for kind in ("simple", "group", "calendar", "dynamic"):
            m.aggte(typec=kind, bstrap=False)
            aggs[kind] = dict(m.atte)
    return gt, aggs


CASES = [
    ("never", "nevertreated", None, "unconditional", "dr", "varying", 0),
    ("notyet", "notyettreated", None, "unconditional", "dr", "varying", 0),
    ("never", "nevertreated", "lemp~lpop", "dr", "dr", "varying", 0),
    ("notyet", "notyettreated", "lemp~lpop", "dr", "dr", "varying", 0),
    ("notyet", "notyettreated", "lemp~lpop", "reg", "reg", "varying", 0),
    ("never", "nevertreated", "lemp~lpop", "ipw", "ipw", "varying", 0),
    ("notyet", "notyettreated", "lemp~lpop", "dr", "dr", "universal", 1),
    ("never", "nevertreated", None, "unconditional", "dr", "universal", 0),
]


@pytest.mark.peers
@pytest.mark.parametrize(("control", "peer_control", "xf", "est", "peer_est", "bp", "ant"), CASES)
def test_peer_csdid(mpdta, panel, control, peer_control, xf, est, peer_est, bp, ant):
    gt, aggs = _csdid(mpdta, peer_control, xf, peer_est, bp, ant)
    res = fit_cs(
        panel,
        "lemp",
        control=control,
        estimation=est,
        base_period=bp,
        anticipation=ant,
        inference="cr1",
    )
    ours = res.group_time.assign(
        group=lambda d: d.group.astype(float), time=lambda d: d.time.astype(float)
    )
    merged = ours.merge(gt, on=["group", "time"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    np.testing.assert_allclose(merged["estimate"], merged["att_peer"], atol=1e-8, rtol=0)
    np.testing.assert_allclose(merged["se"], merged["se_peer"], atol=1e-8, rtol=0, equal_nan=True)
    # aggregations: overall and per key, estimates and analytic SEs
    for kind, table in (("group", "group"), ("calendar", "calendar"), ("dynamic", "dynamic")):
        a = aggs[kind]
        assert abs(_overall(res, kind) - float(a["overall_att"])) <= 1e-8, kind
        assert abs(_overall(res, kind, "se") - float(a["overall_se"])) <= 1e-8, kind
        ours_t = res.aggregations[table]
        np.testing.assert_allclose(ours_t["estimate"], np.asarray(a["att_egt"], float), atol=1e-8)
        np.testing.assert_allclose(
            ours_t["se"], np.asarray(a["se_egt"], float), atol=1e-8, equal_nan=True
        )
    a = aggs["simple"]
    assert abs(_overall(res, "simple") - float(a["overall_att"])) <= 1e-8
    assert abs(_overall(res, "simple", "se") - float(a["overall_se"])) <= 1e-8


@pytest.mark.peers
@pytest.mark.parametrize("control", ["never", "notyet"])
def test_peer_differences(mpdta, panel, control):
    ATTgt = require_peer("differences").ATTgt

    df = mpdta.copy()
    df["ft"] = df["first.treat"].replace(0, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        att = ATTgt(data=df.set_index(["countyreal", "year"]), cohort_column="ft")
        att.fit(
            formula="lemp ~ lpop",
            est_method="dr",
            control_group={"never": "never_treated", "notyet": "not_yet_treated"}[control],
            n_jobs=1,
            progress_bar=False,
        )
        peer_gt = att.results().droplevel([0, 1], axis=1)
        simple = att.aggregate("simple").droplevel([0, 1], axis=1)
        event = att.aggregate("event").droplevel([0, 1], axis=1)
        cohort = att.aggregate("cohort").droplevel([0, 1], axis=1)
    res = fit_cs(panel, "lemp", control=control, estimation="dr", inference="cr1")
    ours = res.group_time.set_index(["group", "time"])
    peer = peer_gt.reset_index().set_index(["cohort", "time"])
    for (g, t), row in peer.iterrows():
        assert abs(ours.loc[(g, t), "estimate"] - row["ATT"]) <= 1e-8, (g, t)
        assert abs(ours.loc[(g, t), "se"] - row["std_error"]) <= 1e-8, (g, t)
    assert abs(res.overall.estimate - float(simple["ATT"].iloc[0])) <= 1e-8
    assert abs(res.overall.se - float(simple["std_error"].iloc[0])) <= 1e-8
    dyn = res.event_study.set_index("event_time")
    for e, row in event.iterrows():
        assert abs(dyn.loc[int(e), "estimate"] - row["ATT"]) <= 1e-8, e
        assert abs(dyn.loc[int(e), "se"] - row["std_error"]) <= 1e-8, e
    grp = res.aggregations["group"].set_index("group")
    for g, row in cohort.iterrows():
        assert abs(grp.loc[int(g), "estimate"] - row["ATT"]) <= 1e-8, g
        assert abs(grp.loc[int(g), "se"] - row["std_error"]) <= 1e-8, g


# --------------------------------------------------------------------------- hand calculations
def _tiny() -> Panel:
    # units a,b treated from 3; c,d treated from 4; e,f never treated; periods 1..4
    y = {
        "a": [1.0, 2.0, 5.0, 7.0],
        "b": [2.0, 2.5, 6.0, 9.0],
        "c": [0.0, 1.0, 1.5, 4.0],
        "d": [1.0, 1.0, 2.5, 6.0],
        "e": [0.5, 1.0, 1.0, 2.0],
        "f": [1.5, 1.0, 2.0, 2.5],
    }
    g = {"a": 3, "b": 3, "c": 4, "d": 4, "e": 0, "f": 0}
    rows = [(u, t + 1, g[u], v) for u, vals in y.items() for t, v in enumerate(vals)]
    df = pd.DataFrame(rows, columns=["u", "t", "g", "y"])
    return Panel.from_frame(df, unit="u", time="t", cohort="g", outcomes="y")


def _mean(p: Panel, units, t):
    w = p.wide("y")
    return float(w.loc[list(units), t].mean())


def test_hand_att_four_means():
    p = _tiny()
    res = fit_cs(p, "y", inference="cr1")

    def did(treat, ctrl, t, b):
        return (_mean(p, treat, t) - _mean(p, treat, b)) - (_mean(p, ctrl, t) - _mean(p, ctrl, b))

    assert abs(_gt(res, 3, 3) - did("ab", "ef", 3, 2)) < 1e-10
    assert abs(_gt(res, 3, 4) - did("ab", "ef", 4, 2)) < 1e-10
    assert abs(_gt(res, 4, 4) - did("cd", "ef", 4, 3)) < 1e-10
    assert abs(_gt(res, 4, 3) - did("cd", "ef", 3, 2)) < 1e-10  # varying pre-period
    res_ny = fit_cs(p, "y", inference="cr1", control="notyet")
    # not yet treated at period 3: c, d (cohort 4) join the never-treated
    assert abs(_gt(res_ny, 3, 3) - did("ab", "cdef", 3, 2)) < 1e-10
    assert abs(_gt(res_ny, 3, 4) - did("ab", "ef", 4, 2)) < 1e-10
    # simple: post cells weighted by group size (equal here): (3,3),(3,4),(4,4)
    simple = (did("ab", "ef", 3, 2) + did("ab", "ef", 4, 2) + did("cd", "ef", 4, 3)) / 3
    assert abs(res.overall.estimate - simple) < 1e-10
    # analytic SE of one cell: psi = n (G (dy - mu_G)/n_G - C (dy - mu_C)/n_C)
    w = p.wide("y")
    dy = (w[3] - w[2]).to_numpy()
    gm, cm = np.array([1, 1, 0, 0, 0, 0], bool), np.array([0, 0, 0, 0, 1, 1], bool)
    psi = 6 * (np.where(gm, dy - dy[gm].mean(), 0) / 2 - np.where(cm, dy - dy[cm].mean(), 0) / 2)
    assert abs(_gt(res, 3, 3, "se") - np.sqrt((psi**2).sum()) / 6) < 1e-12


def test_intercept_only_estimators_equal_unconditional(panel):
    base = fit_cs(panel, "lemp", inference="cr1")
    for est in ("reg", "ipw", "dr"):
        res = fit_cs(panel, "lemp", estimation=est, covariates=[], inference="cr1")
        np.testing.assert_allclose(
            res.group_time["estimate"], base.group_time["estimate"], atol=1e-10
        )
        np.testing.assert_allclose(res.group_time["se"], base.group_time["se"], atol=1e-10)
        assert abs(res.overall.se - base.overall.se) < 1e-10


def test_anticipation_shifts_base_period():
    p = _tiny()
    res = fit_cs(p, "y", inference="cr1", anticipation=1)
    # group 4 with one anticipation period: base period 2 (= 4 - 1 - 1)
    d = (_mean(p, "cd", 4) - _mean(p, "cd", 2)) - (_mean(p, "ef", 4) - _mean(p, "ef", 2))
    assert abs(_gt(res, 4, 4) - d) < 1e-10
    # group 3 has base period 1
    d3 = (_mean(p, "ab", 3) - _mean(p, "ab", 1)) - (_mean(p, "ef", 3) - _mean(p, "ef", 1))
    assert abs(_gt(res, 3, 3) - d3) < 1e-10


# --------------------------------------------------------------------------- design errors
def test_unbalanced_raises_and_allow_unbalanced_uses_cell_units():
    p = _tiny()
    data = p.data[~((p.data.unit == "f") & (p.data.time == 4))]
    df = data.rename(columns={"unit": "u", "time": "t", "cohort": "g"}).assign(
        g=lambda d: d.g.replace(np.inf, 0)
    )
    q = Panel.from_frame(df, unit="u", time="t", cohort="g", outcomes="y")
    with pytest.raises(EstimationError, match="unbalanced"):
        fit_cs(q, "y", inference="cr1")
    res = fit_cs(q, "y", inference="cr1", allow_unbalanced=True)
    assert any("allow_unbalanced" in w for w in res.warnings)
    d = (_mean(p, "ab", 4) - _mean(p, "ab", 2)) - (_mean(p, "e", 4) - _mean(p, "e", 2))
    assert abs(_gt(res, 3, 4) - d) < 1e-10  # f is absent in period 4
    d33 = (_mean(p, "ab", 3) - _mean(p, "ab", 2)) - (_mean(p, "ef", 3) - _mean(p, "ef", 2))
    assert abs(_gt(res, 3, 3) - d33) < 1e-10  # f is used where observed


def test_option_errors(panel):
    with pytest.raises(ConfigError, match="wild"):
        fit_cs(panel, "lemp", inference="wild")
    with pytest.raises(ConfigError, match="control"):
        fit_cs(panel, "lemp", control="later", inference="cr1")
    with pytest.raises(ConfigError, match="estimation"):
        fit_cs(panel, "lemp", estimation="ols", inference="cr1")
    with pytest.raises(ConfigError, match="covariates"):
        fit_cs(panel, "lemp", covariates=["lpop"], inference="cr1")
    with pytest.raises(ConfigError, match="rng"):
        fit_cs(panel, "lemp", inference="multiplier")


def test_no_never_treated():
    p = _tiny()
    never = p.unit_cohorts[~np.isfinite(p.unit_cohorts)].index
    q = p.subset_units([u for u in p.units if u not in set(never)])
    with pytest.raises(EstimationError, match="never-treated"):
        fit_cs(q, "y", inference="cr1")
    res = fit_cs(q, "y", inference="cr1", control="notyet")
    # periods from 4 on are dropped; cohort 4 serves as comparison for cohort 3 at period 3
    assert res.group_time["time"].max() == 3
    d = (_mean(p, "ab", 3) - _mean(p, "ab", 2)) - (_mean(p, "cd", 3) - _mean(p, "cd", 2))
    assert abs(_gt(res, 3, 3) - d) < 1e-10
    assert any("no never-treated" in w for w in res.warnings)


# --------------------------------------------------------------------------- inference routes
def test_ri_statistic_identity_and_permutation(panel):
    stat, names = cs_statistic(panel)
    y = panel.data["lemp"].to_numpy()
    obs = panel.unit_cohorts.to_numpy(dtype=float)
    fit = fit_cs(panel, "lemp", inference="cr1")
    s = stat(y, obs[None, :])[0]
    assert names[0] == "simple"
    assert s[0] == pytest.approx(fit.overall.estimate, abs=1e-12)
    np.testing.assert_allclose(s[1:], fit.event_study["estimate"], atol=1e-12)
    rng = np.random.default_rng(11)
    perms = np.vstack([rng.permutation(obs) for _ in range(3)])
    vals = stat(y, perms)
    for b in range(3):
        refit = fit_cs(
            panel.with_cohorts(dict(zip(panel.units, perms[b], strict=True))),
            "lemp",
            inference="cr1",
        )
        assert abs(vals[b, 0] - refit.overall.estimate) < 1e-10
        np.testing.assert_allclose(vals[b, 1:], refit.event_study["estimate"], atol=1e-10)
    # linear in y
    z = rng.normal(size=len(y))
    np.testing.assert_allclose(stat(2 * y + z, perms), 2 * vals + stat(z, perms), atol=1e-10)


def test_ri_statistic_notyet_universal(panel):
    stat, _ = cs_statistic(panel, control="notyet", base_period="universal")
    y = panel.data["lemp"].to_numpy()
    rng = np.random.default_rng(5)
    perm = rng.permutation(panel.unit_cohorts.to_numpy(dtype=float))
    refit = fit_cs(
        panel.with_cohorts(dict(zip(panel.units, perm, strict=True))),
        "lemp",
        control="notyet",
        base_period="universal",
        inference="cr1",
    )
    v = stat(y, perm[None, :])[0]
    assert abs(v[0] - refit.overall.estimate) < 1e-10
    np.testing.assert_allclose(v[1:], refit.event_study["estimate"], atol=1e-10)


def test_ri_inference_runs(panel):
    s = InferenceSettings(reps=99, rng=np.random.default_rng(1))
    res = fit_cs(panel, "lemp", inference="ri", settings=s)
    assert res.overall.inference == "ri"
    assert 0 < res.overall.p_value <= 1
    assert np.isfinite(res.event_study["p_value"]).all()


def test_cr3_jackknife_is_leave_one_unit_out():
    p = _tiny()
    res = fit_cs(p, "y", inference="cr3")
    jack = np.asarray(res.info["inference_info"]["overall"]["jackknife"])
    for i, u in enumerate(p.units):
        sub = p.subset_units([v for v in p.units if v != u])
        try:
            est = fit_cs(sub, "y", inference="cr1").overall.estimate
        except EstimationError:
            est = np.nan
        np.testing.assert_allclose(jack[i, 0], est, atol=1e-10, equal_nan=True)


def test_result_shape_and_json(panel):
    res = fit_cs(panel, "lemp", inference="cr1", aggregation="dynamic")
    assert res.method == "cs" and res.control == "never"
    assert list(res.group_time.columns[:6]) == [
        "group",
        "time",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
    ]
    assert set(res.aggregations) >= {"group", "calendar", "dynamic", "overall"}
    assert res.overall.estimate == pytest.approx(_overall(res, "dynamic"))
    out = res.to_dict()
    json.dumps(out)
    assert len(out["group_time"]) == 12 and len(out["event_study"]) == 7
