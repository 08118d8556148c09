"""HonestDiD smoothness restriction Delta^SD: FLCI against the honestdid port, LP checks.

Tolerances
----------
* against ``honestdid`` 0.1.1 (tests/reference/honestdid_sd.json): half-lengths within 0.5%
  and interval ends within 1% of the half-length. The port simulates the folded-normal quantile
  from 10^6 draws (about 0.1% off the exact one used here) and picks the estimator's standard
  error by bisecting a finite-difference derivative over 100 steps, where ours uses Brent's
  method; the half-length is flat at its optimum, so the two optima agree to that order;
* optimality: our half-length is at most the one of the port's own estimator evaluated with the
  exact quantile and its exact worst-case bias (1e-6 relative);
* worst-case bias of the chosen estimator against a direct linear program over Delta^SD(M),
  the identified set against enumeration of the extreme points: 1e-7.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from evaluation.errors import ConfigError
from evaluation.sensitivity.smoothness import (
    _a_sd,
    flci,
    folded_normal_quantile,
    honest_smoothness,
    sd_identified_set,
    smoothness_bounds,
)

REF = json.loads((Path(__file__).parent / "reference" / "honestdid_sd.json").read_text())
CASES = [(name, lname) for name, case in REF["cases"].items() for lname in case["flci"]]


def _max_bias(weights: np.ndarray, n_pre: int, m: float) -> float:
    """sup over delta in Delta^SD(m) of a'delta (the set is symmetric), by linear programming."""
    A = _a_sd(n_pre, len(weights) - n_pre)
    res = linprog(
        -weights,
        A_ub=A,
        b_ub=np.full(A.shape[0], m),
        bounds=[(None, None)] * len(weights),
        method="highs",
    )
    assert res.status == 0, res.message
    return float(-res.fun)


@pytest.mark.parametrize(("name", "lname"), CASES)
def test_flci_matches_the_honestdid_port(name: str, lname: str) -> None:
    case = REF["cases"][name]
    beta, sigma, n_pre = np.array(case["betahat"]), np.array(case["sigma"]), case["n_pre"]
    ref = case["flci"][lname]
    for row in ref["rows"]:
        ours = flci(beta, sigma, n_pre, row["M"], ref["l_vec"])
        hl = row["half_length"]
        assert ours["half_length"] == pytest.approx(hl, rel=5e-3), row["M"]
        assert abs(ours["ci_low"] - row["lb"]) <= 0.01 * hl
        assert abs(ours["ci_high"] - row["ub"]) <= 0.01 * hl
        # optimality: the port's estimator, scored exactly, is no shorter than ours
        a = np.array(row["optimal_vec"])
        h = float(np.sqrt(a @ sigma @ a))
        bias = _max_bias(a, n_pre, row["M"])
        theirs = h * folded_normal_quantile(0.95, bias / h)
        assert ours["half_length"] <= theirs * (1 + 1e-6)


@pytest.mark.parametrize(("name", "lname"), CASES)
def test_worst_case_bias_equals_a_linear_program(name: str, lname: str) -> None:
    case = REF["cases"][name]
    beta, sigma, n_pre = np.array(case["betahat"]), np.array(case["sigma"]), case["n_pre"]
    l_vec = case["flci"][lname]["l_vec"]
    for m in (0.01, 0.05, 0.2):
        ours = flci(beta, sigma, n_pre, m, l_vec)
        assert ours["max_bias"] == pytest.approx(_max_bias(ours["weights"], n_pre, m), abs=1e-7)
        assert ours["se"] == pytest.approx(
            np.sqrt(ours["weights"] @ sigma @ ours["weights"]), rel=1e-12
        )
        assert ours["half_length"] == pytest.approx(
            ours["se"] * folded_normal_quantile(0.95, ours["max_bias"] / ours["se"]), rel=1e-9
        )


def test_folded_normal_quantile() -> None:
    assert folded_normal_quantile(0.95, 0.0) == pytest.approx(1.959963984540054, abs=1e-12)
    rng = np.random.default_rng(0)
    draws = np.abs(rng.normal(size=2_000_000) + 1.3)
    assert folded_normal_quantile(0.9, 1.3) == pytest.approx(np.quantile(draws, 0.9), abs=3e-3)


def test_identified_set_equals_extreme_points() -> None:
    n_pre, n_post = 3, 3
    l_vec = np.array([0.2, 0.3, 0.5])
    # a pre-trend that bends by at most 0.04 per period, with the reference at 0
    delta_pre = np.array([-0.09, -0.05, -0.02])
    tau = np.array([0.3, 0.4, 0.45])
    for m in (0.04, 0.1):
        lo, hi = sd_identified_set(np.r_[delta_pre, tau], n_pre, m, l_vec)
        # every post path is delta_t = 2 delta_{t-1} - delta_{t-2} + e_t, |e_t| <= m
        values = []
        for signs in itertools.product((-1.0, 1.0), repeat=n_post):
            path = [delta_pre[-1], 0.0]
            for s in signs:
                path.append(2 * path[-1] - path[-2] + s * m)
            values.append(float(l_vec @ np.array(path[2:])))
        assert hi == pytest.approx(l_vec @ tau - min(values), abs=1e-7)
        assert lo == pytest.approx(l_vec @ tau - max(values), abs=1e-7)
    # pre-period estimates bending by more than M: the set is empty (NaN)
    assert np.isnan(sd_identified_set(np.r_[delta_pre, tau], n_pre, 0.001, l_vec)[0])


def test_table_defaults_to_the_average_post_effect_with_a_breakdown_value() -> None:
    case = REF["cases"]["pre3_post2"]
    beta, sigma = np.array(case["betahat"]), np.array(case["sigma"])
    table = smoothness_bounds(beta, sigma, 3, m=[0.0, 0.01, 0.05])
    ref = case["flci"]["average"]["rows"]
    assert table.attrs["l_vec"] == [0.5, 0.5]
    for row, r in zip(table.itertuples(), ref, strict=True):
        assert row.ci_lower == pytest.approx(r["lb"], abs=0.01 * r["half_length"])
    assert (np.diff(table["half_length"]) > 0).all()  # longer as M grows
    bd = table.attrs["breakdown_ci"]
    assert 0 < bd < np.inf
    at = flci(beta, sigma, 3, bd, [0.5, 0.5])
    below = flci(beta, sigma, 3, bd * 0.99, [0.5, 0.5])
    assert at["ci_low"] <= 0 < below["ci_low"]
    with pytest.raises(ConfigError, match="l_vec"):
        smoothness_bounds(beta, sigma, 3, l_vec=[1.0])


def test_honest_smoothness_takes_a_fitted_event_study() -> None:
    from evaluation.estimators.event_study import fit_event_study
    from evaluation.panel import Panel

    rng = np.random.default_rng(4)
    rows = []
    for i in range(40):
        g = 6 if i < 15 else 0
        a = rng.normal()
        for t in range(1, 10):
            rows.append((i, t, g, a + 0.1 * t + (0.8 if g and t >= g else 0.0) + rng.normal()))
    df = pd.DataFrame(rows, columns=["u", "t", "g", "y"])
    panel = Panel.from_frame(df, unit="u", time="t", cohort="g", outcomes="y")
    res = fit_event_study(panel, "y", inference="cr1")
    table = honest_smoothness(res, m=[0.0, 0.05])
    assert table.attrs["post_event_times"] == [0, 1, 2, 3]
    from evaluation.sensitivity.honest import event_study_inputs

    beta, sigma, n_pre, _ = event_study_inputs(res)
    direct = flci(beta, sigma, n_pre, 0.05, [0.25] * 4)
    assert table["ci_lower"].iloc[1] == pytest.approx(direct["ci_low"], abs=1e-12)
    assert table["ci_upper"].iloc[1] == pytest.approx(direct["ci_high"], abs=1e-12)
    first = honest_smoothness(res, m=[0.05], l_vec=[1, 0, 0, 0])
    assert first.attrs["l_vec"] == [1.0, 0.0, 0.0, 0.0]
