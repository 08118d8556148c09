"""Choosing pilots: constraints hold, balance is measured correctly and is locally optimal."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from evaluation.errors import ConfigError
from evaluation.pilot_design.choose import balance_features, choose_pilots, imbalance
from evaluation.pilot_design.designs import History


def _histories(n: int = 14, seed: int = 0) -> dict[str, History]:
    rng = np.random.default_rng(seed)
    forces = tuple(f"F{i:02d}" for i in range(n))
    region = tuple(f"R{i % 4}" for i in range(n))
    out = {}
    for metric in ("a", "b"):
        level = rng.uniform(20, 200, n)
        trend = rng.normal(0, 0.02, n)
        t = np.arange(24)
        y = level[:, None] * (1 + trend[:, None] * t[None, :]) + rng.normal(0, 2, (n, 24))
        out[metric] = History(metric, forces, tuple(map(str, t)), y, level, region)
    return out


def test_imbalance_by_hand() -> None:
    x = np.array([[1.0, 0.0], [3.0, 2.0], [0.0, 0.0], [0.0, 2.0]])
    # pilots 0, 1: means (2, 1); comparisons (0, 1): differences (2, 0) -> rms sqrt(2)
    assert imbalance(x, np.array([0, 1])) == pytest.approx(np.sqrt(2.0))


def test_features_are_standardised() -> None:
    f = balance_features(_histories())
    assert f.shape == (14, 4)
    np.testing.assert_allclose(f.mean().to_numpy(), 0, atol=1e-12)
    np.testing.assert_allclose(f.std(ddof=0).to_numpy(), 1)


def test_constraints_hold_and_the_best_set_is_a_local_optimum() -> None:
    hs = _histories()
    props = choose_pilots(
        hs,
        4,
        must_include=["F03"],
        must_exclude=["F05", "F06"],
        max_per_region=1,
        proposals=3,
        starts=30,
        rng=np.random.default_rng(1),
    )
    assert 1 <= len(props) <= 3
    assert [p.imbalance for p in props] == sorted(p.imbalance for p in props)
    x = balance_features(hs).to_numpy()
    region = np.array(hs["a"].region)
    names = hs["a"].forces
    for p in props:
        idx = np.array([names.index(f) for f in p.pilots])
        assert "F03" in p.pilots and not {"F05", "F06"} & set(p.pilots)
        assert len(set(region[idx])) == 4  # at most one per region
        assert p.imbalance == pytest.approx(imbalance(x, idx))
        assert p.balance["smd"].pow(2).mean() ** 0.5 == pytest.approx(p.imbalance)
    # no feasible single swap improves the best proposal
    best = np.array([names.index(f) for f in props[0].pilots])
    for out_i, in_i in itertools.product(best, range(len(names))):
        if names[out_i] == "F03" or in_i in best or names[in_i] in ("F05", "F06"):
            continue
        cand = np.sort(np.append(best[best != out_i], in_i))
        if len(set(region[cand])) < 4:
            continue
        assert imbalance(x, cand) >= props[0].imbalance - 1e-12


def test_best_proposal_beats_random_sets() -> None:
    hs = _histories(n=20, seed=3)
    x = balance_features(hs).to_numpy()
    best = choose_pilots(hs, 6, rng=np.random.default_rng(2), starts=20)[0]
    rng = np.random.default_rng(9)
    random_scores = [imbalance(x, rng.choice(20, 6, replace=False)) for _ in range(200)]
    assert best.imbalance <= min(random_scores)


def test_bad_constraints_are_clear_errors() -> None:
    hs = _histories()
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="unknown force"):
        choose_pilots(hs, 3, must_include=["Nowhere"], rng=rng)
    with pytest.raises(ConfigError, match="both included and excluded"):
        choose_pilots(hs, 3, must_include=["F01"], must_exclude=["F01"], rng=rng)
    with pytest.raises(ConfigError, match="exceed 1 in region"):
        choose_pilots(hs, 3, must_include=["F00", "F04"], max_per_region=1, rng=rng)
    with pytest.raises(ConfigError, match="no set of 6 pilots"):
        choose_pilots(hs, 6, max_per_region=1, rng=rng, starts=5)
