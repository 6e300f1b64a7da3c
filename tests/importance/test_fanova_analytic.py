"""fANOVA against functions whose variance decomposition is known in closed form.

For independent inputs ``u`` (mean ``mu_u``, variance ``s_u``) and ``v`` (``mu_v``, ``s_v``) and

    f = a*u + b*v + c*u*v,

write ``u = mu_u + du``, ``v = mu_v + dv``. Then ``f - E f = (a + c*mu_v)*du + (b + c*mu_u)*dv + c*du*dv``, three
uncorrelated terms, so the fANOVA components are

    V_u = (a + c*mu_v)**2 * s_u,   V_v = (b + c*mu_u)**2 * s_v,   V_uv = c**2 * s_u * s_v,

and the importances are these divided by ``V = V_u + V_v + V_uv``. A third input that ``f`` ignores has
importance 0. Cases:

- binary categorical ``u, v`` in {0, 1} (uniform): mu = 1/2, s = 1/4;
- three-choice categorical with values (0, 1, 3): mu = 4/3, s = (0 + 1 + 9)/3 - 16/9 = 14/9;
- continuous ``u, v ~ U(0, 1)``: mu = 1/2, s = 1/12.

Tolerances: categorical inputs are fitted exactly by the trees once every combination is seen, so estimates
match to 0.01. Continuous inputs are approximated by axis-aligned steps fitted on bootstrap samples, which
biases the estimate (the staircase adds spurious interaction that shrinks as ``n`` grows: 0.065 at n=200,
0.047 at n=1000 for an analytic 0.039): at n=200 main effects are held to 0.04 and the pair to 0.035.
"""

from __future__ import annotations

import numpy as np
import pytest

from ecnas.importance import Design, fanova

A, B, C = 1.0, 2.0, 3.0


def analytic(mu_u: float, s_u: float, mu_v: float, s_v: float) -> tuple[float, float, float]:
    v_u = (A + C * mu_v) ** 2 * s_u
    v_v = (B + C * mu_u) ** 2 * s_v
    v_uv = C**2 * s_u * s_v
    total = v_u + v_v + v_uv
    return v_u / total, v_v / total, v_uv / total


def categorical_case(values: tuple[float, ...], n: int, seed: int) -> tuple[Design, np.ndarray]:
    rng = np.random.default_rng(seed)
    k = len(values)
    index = np.column_stack([rng.integers(0, k, n), rng.integers(0, k, n), rng.integers(0, 4, n)]).astype(float)
    u, v = np.asarray(values)[index[:, 0].astype(int)], np.asarray(values)[index[:, 1].astype(int)]
    y = A * u + B * v + C * u * v
    bounds = np.array([[-0.5, k - 0.5], [-0.5, k - 0.5], [-0.5, 3.5]])
    design = Design(("u", "v", "noise"), index, bounds, ("categorical",) * 3, (tuple(values),) * 2 + ((0, 1, 2, 3),))
    return design, y


def continuous_case(n: int, seed: int) -> tuple[Design, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, 1.0, (n, 3))
    y = A * X[:, 0] + B * X[:, 1] + C * X[:, 0] * X[:, 1]
    return Design(("u", "v", "noise"), X, np.array([[0.0, 1.0]] * 3), ("float",) * 3, (None,) * 3), y


def estimates(design: Design, y: np.ndarray, seed: int) -> tuple[float, float, float, float]:
    imp = fanova(design, y, top_pairs=3, seed=seed, n_trees=16)
    pairs = {(a, b): m for a, b, m, _ in imp.pairs}
    return float(imp.mean[0]), float(imp.mean[1]), pairs[("u", "v")], float(imp.mean[2])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    ("values", "moments"),
    [((0.0, 1.0), (0.5, 0.25)), ((0.0, 1.0, 3.0), (4 / 3, 14 / 9))],
    ids=["binary", "three-choice"],
)
def test_categorical_matches_analytic(values: tuple[float, ...], moments: tuple[float, float], seed: int) -> None:
    design, y = categorical_case(values, 400, seed)
    expected = analytic(*moments, *moments)
    u, v, uv, noise = estimates(design, y, seed)
    assert u == pytest.approx(expected[0], abs=0.01)
    assert v == pytest.approx(expected[1], abs=0.01)
    assert uv == pytest.approx(expected[2], abs=0.01)
    assert noise == pytest.approx(0.0, abs=0.005)


def test_continuous_matches_analytic_and_is_stable_across_seeds() -> None:
    expected = analytic(0.5, 1 / 12, 0.5, 1 / 12)
    runs = np.array([estimates(*continuous_case(200, seed), seed) for seed in (0, 1, 2)])
    for u, v, uv, noise in runs:
        assert u == pytest.approx(expected[0], abs=0.04)
        assert v == pytest.approx(expected[1], abs=0.04)
        assert uv == pytest.approx(expected[2], abs=0.035)
        assert noise < 0.01
    assert np.ptp(runs, axis=0).max() < 0.03, runs  # different samples and forests agree


def test_importances_ignore_the_scale_of_the_response() -> None:
    design, y = categorical_case((0.0, 1.0, 3.0), 300, 0)
    first = fanova(design, y, seed=0, n_trees=8)
    second = fanova(design, 1000.0 * y - 7.0, seed=0, n_trees=8)
    np.testing.assert_allclose(first.mean, second.mean, atol=1e-9)


def test_spread_is_reported_and_constant_inputs_are_zero() -> None:
    design, y = continuous_case(120, 0)
    X = np.column_stack([design.X, np.full(design.n, 0.3)])
    padded = Design((*design.names, "const"), X, np.vstack([design.bounds, [[0.0, 1.0]]]), ("float",) * 4, (None,) * 4)
    imp = fanova(padded, y, seed=0, n_trees=8, top_pairs=0)
    assert imp.mean[3] == 0.0 and imp.std[3] == 0.0
    assert np.all(imp.std[:2] > 0)  # trees disagree a little on a noisy fit
    assert imp.n == 120 and imp.n_trees == 8
    assert imp.top(2) == ["v", "u"]


def test_bad_inputs_name_the_argument() -> None:
    design, y = continuous_case(20, 0)
    with pytest.raises(ValueError, match="y must have one value per design row"):
        fanova(design, y[:-1])
    with pytest.raises(ValueError, match="constant"):
        fanova(design, np.ones(design.n))
    with pytest.raises(ValueError, match="n_trees must be an int >= 1"):
        fanova(design, y, n_trees=0)
    bad = y.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fanova(design, bad)
