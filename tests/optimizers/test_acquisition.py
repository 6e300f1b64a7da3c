"""Exact 2-D EHVI and EI against Monte-Carlo estimates and deterministic limits; the numpy GP."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from ecnas import indicators
from ecnas.optimizers._acquisition import expected_hypervolume_improvement, expected_improvement
from ecnas.optimizers._gp import GaussianProcess


def _hvi(points: np.ndarray, front: np.ndarray, ref: np.ndarray) -> np.ndarray:
    base = indicators.hypervolume(front, ref)
    return np.array([indicators.hypervolume(np.vstack([front, p]), ref) - base for p in points])


@pytest.mark.parametrize("seed", [0, 1])
def test_ehvi_matches_monte_carlo(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.sort(rng.random(6))
    front = np.column_stack([x, 1.0 - x**0.7]) * [1.0, 0.8] + [0.0, 0.1]
    front = np.vstack([front, front[2] + 0.05])  # a dominated point must not matter
    ref = np.array([1.1, 1.0])
    mean = np.array([[0.3, 0.4], [0.05, 0.95], [0.9, 0.15], [0.6, 0.6], [1.3, 0.2]])
    std = np.array([[0.1, 0.2], [0.3, 0.05], [0.2, 0.2], [0.01, 0.3], [0.3, 0.1]])
    exact = expected_hypervolume_improvement(mean, std, front, ref)
    n = 4000
    for k in range(mean.shape[0]):
        samples = mean[k] + std[k] * rng.standard_normal((n, 2))
        values = _hvi(samples, front, ref)
        error = values.std() / np.sqrt(n)
        assert abs(values.mean() - exact[k]) <= 4 * error + 1e-9, (k, values.mean(), exact[k], error)


def test_ehvi_deterministic_limit_and_edge_cases() -> None:
    front = np.array([[0.2, 0.8], [0.5, 0.5], [0.8, 0.2]])
    ref = np.array([1.0, 1.0])
    points = np.array([[0.4, 0.4], [0.9, 0.9], [0.1, 0.95], [0.5, 0.5], [2.0, 0.1]])
    exact = expected_hypervolume_improvement(points, np.zeros_like(points), front, ref)
    assert np.allclose(exact, _hvi(points, front, ref), atol=1e-12)
    empty = expected_hypervolume_improvement(points[:1], np.zeros((1, 2)), np.zeros((0, 2)), ref)
    assert np.isclose(empty[0], 0.6 * 0.6)
    assert (expected_hypervolume_improvement(points, np.full_like(points, 0.3), front, ref) > 0).all()


def test_expected_improvement_matches_monte_carlo() -> None:
    rng = np.random.default_rng(4)
    mean, std, best = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.5, 0.1]), 0.5
    exact = expected_improvement(mean, std, best)
    samples = mean + std * rng.standard_normal((200000, 3))
    estimate = np.maximum(best - samples, 0).mean(axis=0)
    assert np.allclose(exact, estimate, atol=5e-3)
    assert np.allclose(expected_improvement(mean, np.zeros(3), best), np.maximum(best - mean, 0))


def test_gp_gradient_and_fit() -> None:
    rng = np.random.default_rng(0)
    X = rng.random((30, 4))
    y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 + 0.01 * rng.standard_normal(30)
    gp = GaussianProcess()
    theta = np.array([0.1, -0.3, 0.5, 0.0, 0.2, np.log(1e-2)])
    ys = (y - y.mean()) / y.std()
    value, grad = gp._nll(theta, X, ys)
    numeric = approx_fprime(theta, lambda t: gp._nll(t, X, ys)[0], 1e-6)
    assert np.allclose(grad, numeric, rtol=1e-4, atol=1e-4)
    gp.fit(X, y)
    mean, std = gp.predict(X)
    assert np.abs(mean - y).max() < 0.1 and (std >= 0).all()
    test = rng.random((50, 4))
    truth = np.sin(3 * test[:, 0]) + test[:, 1] ** 2
    mean, std = gp.predict(test)
    assert np.sqrt(np.mean((mean - truth) ** 2)) < 0.15
    refit = GaussianProcess().fit(X, y + 1.0)
    assert np.allclose(refit.predict(test)[0], gp.predict(test)[0] + 1.0, atol=0.05)
