"""Rambachan-Roth relative-magnitudes bounds.

* identified set against an independent linear program (1e-9);
* the Delta^RM polyhedra against the definition of Delta^RM (exact, random points);
* C-LF and Conditional confidence sets against HonestDiD reference numbers
  (tests/reference/honestdid_rm.json, made by tests/reference/make_honestdid_reference.py):
  the same grid points (1e-9) when C-LF's least-favourable critical value is simulated from
  the reference's own draws, and within eight grid steps with our own draws;
* the conservative "union" interval: Wald at Mbar = 0, contains the identified set, coverage
  by simulation;
* honest_bounds on fitted event studies (mpdta): inputs equal the event-study table.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from evaluation.errors import ConfigError, EstimationError
from evaluation.sensitivity import honest
from evaluation.sensitivity.honest import (
    _rm_constraints,
    breakdown_mbar,
    event_study_inputs,
    honest_bounds,
    relative_magnitudes,
    rm_confidence_interval,
    rm_identified_set,
)

HERE = Path(__file__).resolve().parent
FULL = os.environ.get("PATHFINDER_FULL") == "1"


def _lp_bounds(beta: np.ndarray, n_pre: int, mbar: float, lv: np.ndarray) -> tuple[float, float]:
    """Independent computation: optimise l'(beta_post - delta_post) over delta_post subject to
    |delta_1 - 0| <= c and |delta_t - delta_{t-1}| <= c, c = Mbar * max pre change."""
    pre = np.concatenate([beta[:n_pre], [0.0]])
    c = mbar * np.max(np.abs(np.diff(pre)))
    n_post = beta.size - n_pre
    rows, rhs = [], []
    for t in range(n_post):
        r = np.zeros(n_post)
        r[t] = 1.0
        if t > 0:
            r[t - 1] = -1.0
        rows += [r, -r]
        rhs += [c, c]
    out = []
    for sign in (1.0, -1.0):  # min and max of l' delta_post
        res = linprog(
            sign * lv,
            A_ub=np.array(rows),
            b_ub=np.array(rhs),
            bounds=[(None, None)] * n_post,
            method="highs",
        )
        out.append(sign * res.fun)
    centre = lv @ beta[n_pre:]
    return centre - out[1], centre - out[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("mbar", [0.0, 0.5, 1.0, 2.0])
def test_identified_set_equals_linear_program(seed: int, mbar: float) -> None:
    rng = np.random.default_rng(seed)
    n_pre, n_post = 4, 3
    beta = rng.normal(size=n_pre + n_post)
    lv = rng.uniform(-1, 1, size=n_post) if seed == 2 else np.full(n_post, 1 / n_post)
    ours = rm_identified_set(beta, np.eye(7), n_pre, mbar, l_vec=lv)
    lp = _lp_bounds(beta, n_pre, mbar, lv)
    assert ours == pytest.approx(lp, abs=1e-9)


def test_mbar_zero_gives_usual_wald_interval() -> None:
    rng = np.random.default_rng(3)
    A = rng.normal(size=(5, 5))
    sigma = A @ A.T / 10
    beta = rng.normal(size=5)
    lo, hi = rm_confidence_interval(beta, sigma, 2, 0.0, method="union")
    lv = np.array([0, 0, 1 / 3, 1 / 3, 1 / 3])
    se = np.sqrt(lv @ sigma @ lv)
    assert lo == pytest.approx(lv @ beta - 1.959963985 * se, abs=1e-8)
    assert hi == pytest.approx(lv @ beta + 1.959963985 * se, abs=1e-8)


def test_interval_contains_identified_set_and_widens_with_mbar() -> None:
    rng = np.random.default_rng(4)
    beta = rng.normal(size=6)
    sigma = np.diag(rng.uniform(0.01, 0.05, 6))
    table = relative_magnitudes(beta, sigma, 3, mbar=[0, 0.5, 1, 2], method="union")
    assert (table["ci_low"] <= table["id_low"] + 1e-12).all()
    assert (table["ci_high"] >= table["id_high"] - 1e-12).all()
    assert table["ci_low"].is_monotonic_decreasing and table["ci_high"].is_monotonic_increasing


def test_coverage_by_simulation() -> None:
    """True delta in Delta^RM(1) with post-period changes at the bound; nominal 95%."""
    rng = np.random.default_rng(5)
    delta = np.array([0.3, 0.1, 0.0, 0.2, 0.4])  # pre: -2,-1 (changes -0.2, -0.1); post: 0,1,2
    # Mbar = 1: max pre change 0.2; post changes 0.0, 0.2, 0.2 <= 0.2
    tau = np.array([0.0, 0.0, 1.0, 1.0, 1.0])
    sigma = 0.05 * (np.eye(5) + 0.3)
    chol = np.linalg.cholesky(sigma)
    n, cover = 2000, 0
    for _ in range(n):
        b = tau + delta + chol @ rng.normal(size=5)
        lo, hi = rm_confidence_interval(b, sigma, 2, 1.0, method="union")
        cover += lo <= 1.0 <= hi
    assert cover / n >= 0.93  # binomial sd ~0.005 around >= 0.95


def test_breakdown_values() -> None:
    # pre change 0.1 (and 0.0); one post effect 1.0 with tiny variance: identified set
    # 1 +/- Mbar * 0.1 reaches zero at Mbar = 10
    beta = np.array([0.1, 0.1, 1.0])
    sigma = np.eye(3) * 1e-12
    assert breakdown_mbar(beta, sigma, 2, kind="identified") == pytest.approx(10.0, abs=1e-6)
    assert breakdown_mbar(beta, sigma, 2, method="union") == pytest.approx(10.0, abs=1e-3)
    table = relative_magnitudes(beta, sigma, 2, method="union")
    assert table.attrs["breakdown_identified"] == pytest.approx(10.0, abs=1e-6)
    assert breakdown_mbar(np.array([0.1, 0.0, 0.05]), np.eye(3), 2, method="union") == 0.0


def test_bad_inputs() -> None:
    with pytest.raises(ConfigError, match="sigma"):
        rm_identified_set(np.ones(3), np.eye(2), 1, 1.0)
    with pytest.raises(ConfigError, match="n_pre"):
        rm_identified_set(np.ones(3), np.eye(3), 3, 1.0)
    with pytest.raises(ConfigError, match="l_vec"):
        rm_identified_set(np.ones(3), np.eye(3), 1, 1.0, l_vec=[1.0])
    with pytest.raises(ConfigError, match="nonnegative"):
        rm_confidence_interval(np.ones(3), np.eye(3), 1, -1.0)
    with pytest.raises(ConfigError, match="method must be one of 'C-LF', 'Conditional', 'union'"):
        rm_confidence_interval(np.ones(3), np.eye(3), 1, 1.0, method="FLCI")
    with pytest.raises(ConfigError, match="search"):
        rm_confidence_interval(np.ones(3), np.eye(3), 1, 1.0, search="fast")


# ----------------------------------------------------------------------------- Delta^RM polyhedra
def _in_delta_rm(delta: np.ndarray, n_pre: int, mbar: float) -> bool:
    """The definition: post-period changes at most Mbar times the largest pre-period change."""
    full = np.concatenate([delta[:n_pre], [0.0], delta[n_pre:]])
    changes = np.diff(full)
    return bool(np.all(np.abs(changes[n_pre:]) <= mbar * np.abs(changes[:n_pre]).max() + 1e-12))


@pytest.mark.parametrize("n_pre,n_post", [(1, 2), (3, 2), (2, 3), (4, 1)])
def test_union_of_polyhedra_is_delta_rm(n_pre: int, n_post: int) -> None:
    rng = np.random.default_rng(n_pre * 10 + n_post)
    for mbar in (0.0, 0.5, 1.0, 2.0):
        polys = [
            _rm_constraints(n_pre, n_post, mbar, s, pos)
            for s in range(-(n_pre - 1), 1)
            for pos in (True, False)
        ]
        for _ in range(300):
            delta = rng.normal(size=n_pre + n_post) * rng.choice([0.2, 1.0, 3.0])
            inside = any(np.all(A @ delta <= 1e-12) for A in polys)
            assert inside == _in_delta_rm(delta, n_pre, mbar)


# ----------------------------------------------------------------------------- HonestDiD reference
REFERENCE = json.loads((HERE / "reference" / "honestdid_rm.json").read_text())


def _reference_rows() -> list[tuple[str, dict]]:
    rows = []
    for name, case in REFERENCE["cases"].items():
        for r in case["results"]:
            # bounded default run: Mbar 2 (all with PATHFINDER_FULL=1)
            if FULL or r["mbar"] == 2.0:
                rows.append((name, r))
    return rows


def _port_draws(sigma: np.ndarray, sims: int, rng: np.random.Generator) -> np.ndarray:
    """The reference's least-favourable draws: ``numpy.random.RandomState(0)`` (honestdid)."""
    return np.random.RandomState(0).multivariate_normal(np.zeros(sigma.shape[0]), sigma, sims)


def _case_ci(name: str, row: dict) -> tuple[float, float, float]:
    case = REFERENCE["cases"][name]
    beta, sigma = np.array(case["betahat"]), np.array(case["sigma"])
    lv = np.array(row["l"])
    lo, hi = rm_confidence_interval(
        beta, sigma, case["n_pre"], row["mbar"], l_vec=lv, method=row["method"]
    )
    n_post = beta.size - case["n_pre"]
    step = 40 * np.sqrt(lv @ sigma[-n_post:, -n_post:] @ lv) / 999  # 1000 points, +/- 20 sd
    return lo, hi, step


@pytest.mark.parametrize(
    "name,row",
    _reference_rows(),
    ids=[f"{n}-{r['l_vec']}-{r['method']}-{r['mbar']}" for n, r in _reference_rows()],
)
def test_matches_honestdid(name: str, row: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the reference's own least-favourable draws, the same grid points (to 1e-9: the grid is
    the same ``linspace``, so an end that moved by one grid step would miss by ``step``)."""
    monkeypatch.setattr(honest, "_lf_draws", _port_draws)
    lo, hi, _ = _case_ci(name, row)
    assert lo == pytest.approx(row["lb"], abs=1e-9)
    assert hi == pytest.approx(row["ub"], abs=1e-9)


@pytest.mark.parametrize(
    "name,row",
    [(n, r) for n, r in _reference_rows() if r["method"] == "C-LF" and (FULL or r["mbar"] == 2)],
    ids=[
        f"{n}-{r['l_vec']}-{r['mbar']}"
        for n, r in _reference_rows()
        if r["method"] == "C-LF" and (FULL or r["mbar"] == 2)
    ],
)
def test_c_lf_with_own_draws_close_to_honestdid(name: str, row: dict) -> None:
    """With our own draws the least-favourable critical value (a 99.5% quantile of 1000 draws,
    standard error about 0.15 in z units) differs, and the ends move by at most eight grid
    steps."""
    lo, hi, step = _case_ci(name, row)
    assert lo == pytest.approx(row["lb"], abs=8 * step)
    assert hi == pytest.approx(row["ub"], abs=8 * step)


_BETA = np.array([-0.04, 0.02, 0.30, 0.45, 0.50])
_SIGMA = 0.01 * (0.7 * np.eye(5) + 0.3)


def test_refined_search_equals_full_grid() -> None:
    for method in ("C-LF", "Conditional"):
        opts = {"method": method, "grid_points": 300}
        full = rm_confidence_interval(_BETA, _SIGMA, 2, 1.0, search="full", **opts)
        fast = rm_confidence_interval(_BETA, _SIGMA, 2, 1.0, **opts)
        assert fast == full


def test_conditional_sets_contain_identified_set() -> None:
    for m in (0.5, 1.0):
        il, ih = rm_identified_set(_BETA, _SIGMA, 2, m)
        for method in ("C-LF", "Conditional"):
            lo, hi = rm_confidence_interval(_BETA, _SIGMA, 2, m, method=method)
            assert lo <= il and ih <= hi


def test_breakdown_c_lf_brackets_the_table() -> None:
    opts = {"grid_points": 200}
    table = relative_magnitudes(_BETA, _SIGMA, 2, mbar=[0.0, 2.0], **opts)
    bd = table.attrs["breakdown_ci"]
    assert table["ci_low"].iloc[0] > 0 > table["ci_low"].iloc[1]
    assert 0.0 < bd <= 2.0
    assert rm_confidence_interval(_BETA, _SIGMA, 2, bd, **opts)[0] <= 0
    assert rm_confidence_interval(_BETA, _SIGMA, 2, bd - 0.02, **opts)[0] > 0


# ----------------------------------------------------------------------------- fitted results
@pytest.fixture(scope="module")
def mpdta_panel():
    from evaluation.panel import Panel

    df = pd.read_csv(HERE / "data" / "mpdta.csv")
    return Panel.from_frame(
        df, unit="countyreal", time="year", cohort="first.treat", outcomes="lemp"
    )


def test_honest_bounds_from_cs(mpdta_panel) -> None:
    from evaluation.estimators.callaway_santanna import fit_cs

    res = fit_cs(mpdta_panel, "lemp", inference="cr1", base_period="universal")
    beta, sigma, n_pre, times = event_study_inputs(res)
    es = res.event_study.set_index("event_time")
    assert times == [-4, -3, -2, 0, 1, 2, 3] and n_pre == 3
    assert beta == pytest.approx(es.loc[times, "estimate"].to_numpy(), abs=1e-12)
    # influence-function covariance: its diagonal gives the analytic (R did) standard errors
    assert np.sqrt(np.diag(sigma)) == pytest.approx(es.loc[times, "se"].to_numpy(), rel=1e-10)
    table = honest_bounds(res, mbar=(0.0, 1.0), method="union")
    direct = relative_magnitudes(beta, sigma, n_pre, mbar=(0.0, 1.0), method="union")
    pd.testing.assert_frame_equal(table, direct, check_like=True)
    assert table.attrs["post_event_times"] == [0, 1, 2, 3]
    clf = honest_bounds(res, mbar=(0.0,), breakdown=False)
    assert clf["method"].iloc[0] == "C-LF" and clf["ci_low"].iloc[0] < clf["ci_high"].iloc[0]
    with pytest.raises(EstimationError, match="universal"):
        honest_bounds(fit_cs(mpdta_panel, "lemp", inference="cr1"))


def test_honest_bounds_from_event_study(mpdta_panel) -> None:
    from evaluation.estimators.event_study import fit_event_study

    res = fit_event_study(mpdta_panel, "lemp", inference="cr1")
    beta, sigma, n_pre, times = event_study_inputs(res)
    es = res.event_study.set_index("event_time")
    assert -1 not in times and n_pre == sum(t < -1 for t in times)
    assert beta == pytest.approx(es.loc[times, "estimate"].to_numpy(), abs=1e-12)
    assert np.sqrt(np.diag(sigma)) == pytest.approx(es.loc[times, "se"].to_numpy(), rel=1e-8)
    with pytest.raises(EstimationError, match="reference"):
        honest_bounds(fit_event_study(mpdta_panel, "lemp", inference="cr1", reference=-2))
