"""MO-fANOVA: normalisation, weightings and the weighted analysis."""

from __future__ import annotations

import numpy as np
import pytest

from ecnas.importance import Design, fanova, normalise, pareto_weightings, weight_grid, weighted_importances


def test_normalise_is_direction_aware() -> None:
    F = np.array([[1.0, 10.0], [3.0, 30.0], [2.0, 20.0]])
    np.testing.assert_allclose(normalise(F), [[0, 0], [1, 1], [0.5, 0.5]])
    np.testing.assert_allclose(normalise(F, ["minimize", "maximize"]), [[0, 1], [1, 0], [0.5, 0.5]])
    with pytest.raises(ValueError, match="constant"):
        normalise(np.array([[1.0, 2.0], [1.0, 3.0]]))
    with pytest.raises(ValueError, match="directions"):
        normalise(F, ["min", "max"])


def test_pareto_weightings_follow_deepcave() -> None:
    # normalised points: (0, 1) and (1, 0) are extremes, (0.2, 0.3) is efficient, (0.5, 0.5) is dominated
    N = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.3], [0.5, 0.5]])
    W = pareto_weightings(N)
    np.testing.assert_allclose(W, [[0.0, 1.0], [0.4, 0.6], [1.0, 0.0]])
    np.testing.assert_allclose(W.sum(axis=1), 1.0)
    # a point best on both objectives has sum 0: equal weights
    np.testing.assert_allclose(pareto_weightings(np.array([[0.0, 0.0], [1.0, 1.0]])), [[0.5, 0.5]])


def test_weight_grid() -> None:
    np.testing.assert_allclose(weight_grid(11), np.arange(11) / 10)
    with pytest.raises(ValueError, match=">= 2"):
        weight_grid(1)


def make_data(n: int = 300, seed: int = 0) -> tuple[Design, np.ndarray]:
    """Objective 1 depends on x0 only, objective 2 (maximised) on x1 only; x2 is irrelevant."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 3, (n, 3)).astype(float)
    F = np.column_stack([X[:, 0] ** 2, 5.0 - 2.0 * X[:, 1]])
    design = Design(("x0", "x1", "x2"), X, np.array([[-0.5, 2.5]] * 3), ("categorical",) * 3, (None,) * 3)
    return design, F


def test_weighted_endpoints_are_the_single_objectives() -> None:
    design, F = make_data()
    weighted = weighted_importances(design, F, ("a", "b"), 5, directions=("minimize", "maximize"), seed=0, n_trees=8)
    assert weighted.kind == "grid" and weighted.weights.shape == (5, 2)
    np.testing.assert_allclose(weighted.weights[:, 0], [0, 0.25, 0.5, 0.75, 1])
    # w = 1: objective a alone; fANOVA is scale-free, so this equals fANOVA of F[:, 0] with the same seed
    alone = fanova(design, F[:, 0], seed=0, n_trees=8, top_pairs=0)
    np.testing.assert_allclose(weighted.mean[-1], alone.mean, atol=1e-9)
    assert weighted.results[-1].top(1) == ["x0"] and weighted.results[0].top(1) == ["x1"]
    assert weighted.mean[:, 2].max() < 0.01  # irrelevant everywhere
    # x0's importance rises with its weight, x1's falls
    assert np.all(np.diff(weighted.mean[:, 0]) > 0) and np.all(np.diff(weighted.mean[:, 1]) < 0)


def test_pareto_and_custom_weightings() -> None:
    design, F = make_data()
    conflict = np.column_stack([F[:, 0], F[:, 1] + 3.0 * design.X[:, 0]])  # maximised b now grows with x0
    calls: list[int] = []
    front = weighted_importances(
        design,
        conflict,
        ("a", "b"),
        "pareto",
        directions=("minimize", "maximize"),
        seed=0,
        n_trees=4,
        progress=calls.append,
    )
    assert front.kind == "pareto" and len(calls) == front.weights.shape[0] >= 2
    custom = weighted_importances(design, F, ("a", "b"), np.array([[0.3, 0.7]]), seed=0, n_trees=4)
    assert custom.kind == "custom" and custom.to_dict()["weightings"][0]["weights"] == {"a": 0.3, "b": 0.7}
    with pytest.raises(ValueError, match="sum to 1"):
        weighted_importances(design, F, ("a", "b"), np.array([[0.3, 0.3]]))
    with pytest.raises(ValueError, match="exactly two objectives"):
        weighted_importances(design, np.column_stack([F, F[:, 0] + F[:, 1]]), ("a", "b", "c"), 5)
