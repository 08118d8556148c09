"""Rambachan-Roth relative-magnitudes bounds: identified set against a linear program, interval
coverage by simulation, and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from evaluation.errors import ConfigError
from evaluation.sensitivity.honest import (
    breakdown_mbar,
    relative_magnitudes,
    rm_confidence_interval,
    rm_identified_set,
)


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
    lo, hi = rm_confidence_interval(beta, sigma, 2, 0.0)
    lv = np.array([0, 0, 1 / 3, 1 / 3, 1 / 3])
    se = np.sqrt(lv @ sigma @ lv)
    assert lo == pytest.approx(lv @ beta - 1.959963985 * se, abs=1e-8)
    assert hi == pytest.approx(lv @ beta + 1.959963985 * se, abs=1e-8)


def test_interval_contains_identified_set_and_widens_with_mbar() -> None:
    rng = np.random.default_rng(4)
    beta = rng.normal(size=6)
    sigma = np.diag(rng.uniform(0.01, 0.05, 6))
    table = relative_magnitudes(beta, sigma, 3, mbar=[0, 0.5, 1, 2])
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
        lo, hi = rm_confidence_interval(b, sigma, 2, 1.0)
        cover += lo <= 1.0 <= hi
    assert cover / n >= 0.93  # binomial sd ~0.005 around >= 0.95


def test_breakdown_values() -> None:
    # pre change 0.1 (and 0.0); one post effect 1.0 with tiny variance: identified set
    # 1 +/- Mbar * 0.1 reaches zero at Mbar = 10
    beta = np.array([0.1, 0.1, 1.0])
    sigma = np.eye(3) * 1e-12
    assert breakdown_mbar(beta, sigma, 2, kind="identified") == pytest.approx(10.0, abs=1e-6)
    assert breakdown_mbar(beta, sigma, 2) == pytest.approx(10.0, abs=1e-3)
    table = relative_magnitudes(beta, sigma, 2)
    assert table.attrs["breakdown_identified"] == pytest.approx(10.0, abs=1e-6)
    assert breakdown_mbar(np.array([0.1, 0.0, 0.05]), np.eye(3), 2) == 0.0


def test_bad_inputs() -> None:
    with pytest.raises(ConfigError, match="sigma"):
        rm_identified_set(np.ones(3), np.eye(2), 1, 1.0)
    with pytest.raises(ConfigError, match="n_pre"):
        rm_identified_set(np.ones(3), np.eye(3), 3, 1.0)
    with pytest.raises(ConfigError, match="l_vec"):
        rm_identified_set(np.ones(3), np.eye(3), 1, 1.0, l_vec=[1.0])
    with pytest.raises(ConfigError, match="nonnegative"):
        rm_confidence_interval(np.ones(3), np.eye(3), 1, -1.0)
