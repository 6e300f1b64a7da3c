"""The pairwise code (TreeBoxes) against brute-force enumeration and against optuna's own marginals."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.tree import DecisionTreeRegressor

from ecnas.importance._marginals import TreeBoxes

pytest.importorskip("optuna", reason="the importance extra (optuna) is not installed")
from optuna.importance._fanova._tree import _FanovaTree


def fitted_tree(seed: int, levels: tuple[int, ...]) -> tuple[DecisionTreeRegressor, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(0, k, 300) for k in levels]).astype(float)
    y = np.sin(X[:, 0] * 1.3) + X[:, 1] * X[:, 2] + 0.5 * (X[:, 0] == 1) * X[:, 1] + rng.normal(0, 0.1, 300)
    tree = DecisionTreeRegressor(random_state=seed, max_depth=8).fit(X, y)
    bounds = np.array([[-0.5, k - 0.5] for k in levels])
    return tree, bounds


def brute_force(tree: DecisionTreeRegressor, levels: tuple[int, ...]) -> tuple[float, dict[tuple[int, ...], float]]:
    """Exact total and marginal variances by enumerating every categorical combination (uniform)."""
    grid = np.array(list(itertools.product(*[range(k) for k in levels])), dtype=float)
    f = tree.predict(grid).reshape(levels)
    total = float(f.var())
    out = {}
    d = len(levels)
    for subset in [(i,) for i in range(d)] + list(itertools.combinations(range(d), 2)):
        others = tuple(i for i in range(d) if i not in subset)
        out[subset] = float(f.mean(axis=others).var())
    return total, out


@pytest.mark.parametrize("seed", [0, 1])
def test_marginals_equal_enumeration(seed: int) -> None:
    levels = (3, 2, 4)
    tree, bounds = fitted_tree(seed, levels)
    boxes = TreeBoxes(tree.tree_, bounds)
    total, marginals = brute_force(tree, levels)
    assert boxes.variance == pytest.approx(total, rel=1e-9, abs=1e-12)
    for subset, expected in marginals.items():
        assert boxes.marginal_variance(subset) == pytest.approx(expected, rel=1e-9, abs=1e-12), subset
    for a, b in itertools.combinations(range(3), 2):
        pure = marginals[(a, b)] - marginals[(a,)] - marginals[(b,)]
        assert boxes.interaction_variance(a, b) == pytest.approx(max(pure, 0.0), abs=1e-10)


def test_marginals_equal_optuna_on_continuous_inputs() -> None:
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, (200, 3))
    y = X[:, 0] * X[:, 1] + np.cos(3 * X[:, 2])
    tree = DecisionTreeRegressor(random_state=0, max_depth=5).fit(X, y)
    bounds = np.array([[0.0, 1.0]] * 3)
    ours, theirs = TreeBoxes(tree.tree_, bounds), _FanovaTree(tree.tree_, bounds)
    assert ours.variance == pytest.approx(theirs.variance, rel=1e-9)
    for subset in [(0,), (1,), (2,), (0, 1), (1, 2)]:
        expected = theirs.get_marginal_variance(np.array(subset))
        assert ours.marginal_variance(subset) == pytest.approx(expected, rel=1e-9, abs=1e-12), subset


def test_more_than_two_inputs_is_refused() -> None:
    tree, bounds = fitted_tree(0, (3, 2, 4))
    with pytest.raises(ValueError, match="one or two inputs"):
        TreeBoxes(tree.tree_, bounds).marginal_variance((0, 1, 2))
