"""ParEGO + Hyperband: its budget ladder, its per-objective model and acquisition, its limits and stops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecnas.benchmark import Benchmark
from ecnas.errors import NotFittedError
from ecnas.optimizers import get_optimizer, run
from ecnas.optimizers._acquisition import PAREGO_RHO, expected_improvement
from ecnas.optimizers._multifidelity import geometric_rungs, hyperband_brackets
from ecnas.optimizers._parego_model import ObjectiveModels, scalarised_expected_improvement
from ecnas.space import enumerate_space
from ecnas.table import write_table
from ecnas.testing.optimizers import synthetic_contents

CHEAP = {"pool_size": 200, "space_samples": 200, "mutants": 10, "samples": 16}


@pytest.fixture(scope="module")
def doubling_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every 4-vertex cell (91) at budgets 1/2/4, like the default table's ladder."""
    contents = synthetic_contents(enumerate_space(4), budgets=(1, 2, 4), repeats=1)
    return write_table(tmp_path_factory.mktemp("tables") / "doubling.h5", contents)


# ---------------------------------------------------------------------- ladder
def test_geometric_rungs_are_smac_budgets_served_by_table_budgets() -> None:
    assert geometric_rungs((1, 2, 4), 3) == (1, 4)  # 4/3 is served by 1; 2 is skipped
    assert geometric_rungs((1, 2, 4), 2) == (1, 2, 4)
    assert geometric_rungs((4, 12, 36, 108), 3) == (4, 12, 36, 108)
    assert geometric_rungs((4, 12, 36, 108), 2) == (4, 12, 36, 108)  # 54, 27 -> 36, 13.5 -> 12, 6.75 -> 4
    assert geometric_rungs((108,), 3) == (108,)
    assert hyperband_brackets(2, 3) == [[(0, 3), (1, 1)], [(1, 2)]]  # SMAC3's brackets on a 1/2/4 table


def test_default_ladder_and_its_alternative(doubling_table: Path) -> None:
    with Benchmark(doubling_table) as bench:
        geometric = get_optimizer("parego-hb")(bench, seed=0, **CHEAP)
        table = get_optimizer("parego-hb")(bench, seed=0, ladder="table", **CHEAP)
        for name, value in (("ladder", "fibonacci"), ("model", "forest")):
            with pytest.raises(ValueError, match=rf"{name} must be one of .* got '{value}'"):
                get_optimizer("parego-hb")(bench, **{name: value})
    assert (geometric.eta, geometric.rungs) == (3, (1, 4))
    assert (table.eta, table.rungs) == (2, (1, 2, 4))
    settings = geometric.settings()
    assert settings["ladder"] == "geometric" and settings["model"] == "objectives" and settings["rungs"] == [1, 4]


# ---------------------------------------------------------------------- acquisition
def test_scalarised_ei_without_uncertainty_is_the_plain_improvement() -> None:
    mean = np.array([[0.1, 0.9], [0.5, 0.5], [0.9, 0.1], [1.0, 1.0], [2.0, 0.0]])
    weights = np.array([0.5, 0.5])
    normal = np.random.default_rng(0).standard_normal((8, 2))
    score = scalarised_expected_improvement(mean, np.zeros_like(mean), weights, 0.6, normal)
    weighted = mean * weights
    scalar = weighted.max(axis=1) + PAREGO_RHO * weighted.sum(axis=1)
    np.testing.assert_allclose(score, np.maximum(0.6 - scalar, 0.0))
    # under equal weights the balanced point is best; an extreme point beyond ``best`` gains nothing
    assert score[1] > score[0] == score[2] > score[3] > score[4] == 0.0


def test_scalarised_ei_with_one_weight_is_the_analytic_ei() -> None:
    """Weights (1, 0): s = (1 + rho) f_1, so EI = (1 + rho) * EI(f_1 below best / (1 + rho))."""
    mean = np.array([[0.3, 0.7], [0.5, 0.1], [0.8, 0.0]])
    std = np.array([[0.1, 0.3], [0.2, 0.2], [0.05, 0.5]])
    normal = np.random.default_rng(1).standard_normal((200_000, 2))
    best = 0.45
    score = scalarised_expected_improvement(mean, std, np.array([1.0, 0.0]), best, normal, screen=10)
    scale = 1 + PAREGO_RHO
    exact = scale * expected_improvement(mean[:, 0], std[:, 0], best / scale)
    np.testing.assert_allclose(score, exact, rtol=0.02, atol=1e-6)


def test_scalarised_ei_screens_hopeless_candidates() -> None:
    mean = np.array([[0.0, 0.0], [0.2, 0.2], [5.0, 5.0]])
    std = np.full_like(mean, 0.1)
    normal = np.random.default_rng(2).standard_normal((64, 2))
    weights = np.array([0.5, 0.5])
    score = scalarised_expected_improvement(mean, std, weights, 0.5, normal)
    assert score[2] == 0.0 and score[0] > score[1] > 0.0  # 5 - 4 * 0.1 can never reach 0.5
    only_best = scalarised_expected_improvement(mean, std, weights, 0.5, normal, screen=1)
    assert only_best[0] == pytest.approx(score[0]) and only_best[1] == 0.0


# ---------------------------------------------------------------------- model
def test_objective_models_learn_each_objective() -> None:
    x = np.linspace(0.0, 1.0, 12)[:, None]
    Y = np.column_stack([x[:, 0] ** 2, 1.0 - x[:, 0]])  # two opposed objectives
    models = ObjectiveModels()
    with pytest.raises(NotFittedError, match="call fit first"):
        models.predict(x)
    mean, std = models.fit(x, Y).predict(np.array([[0.25], [0.75], [3.0]]))
    np.testing.assert_allclose(mean[:2], [[0.0625, 0.75], [0.5625, 0.25]], atol=0.03)
    assert mean.shape == std.shape == (3, 2)
    assert (std[2] > 5 * std[0]).all()  # far from the data the model is unsure


# ---------------------------------------------------------------------- runs
def test_runs_are_deterministic_and_use_the_space_sampler(doubling_table: Path) -> None:
    with Benchmark(doubling_table) as bench:
        first = get_optimizer("parego-hb")(bench, seed=3, max_evaluations=40, **CHEAP).run()
        again = get_optimizer("parego-hb")(bench, seed=3, max_evaluations=40, **CHEAP).run()
        other = get_optimizer("parego-hb")(bench, seed=4, max_evaluations=40, **CHEAP).run()
    assert first.history["hash"].tolist() == again.history["hash"].tolist()
    np.testing.assert_array_equal(first.history["F"], again.history["F"])
    assert first.history["hash"].tolist() != other.history["hash"].tolist()
    assert set(first.history["budget"].tolist()) == {1, 4}  # the geometric ladder skips 2


def test_energy_cap_is_respected(doubling_table: Path) -> None:
    with Benchmark(doubling_table) as bench:
        full = get_optimizer("parego-hb")(bench, seed=0, **CHEAP).run()
        cap = 0.3 * full.search_cost["energy_kwh"]
        result = get_optimizer("parego-hb")(bench, seed=0, max_energy=cap, **CHEAP).run()
    energy = np.cumsum(result.history["energy_kwh"])
    assert result.stop_reason == "max_energy"
    assert energy[-2] < cap <= energy[-1]  # it stops at the first ask after the cap is reached
    assert energy[-1] - cap <= result.history["energy_kwh"].max() * 4  # at most one batch (a rung) beyond


def test_a_used_up_table_ends_the_run_and_says_so(tmp_path: Path) -> None:
    contents = synthetic_contents(enumerate_space(3), budgets=(1, 2, 4), repeats=1)
    path = write_table(tmp_path / "tiny.h5", contents)
    with Benchmark(path) as bench:
        n = len(bench)
    result = run("parego-hb", path, seed=0, max_evaluations=500, **CHEAP)
    assert result.stop_reason == "exhausted" and "every table cell" in result.stop_detail
    assert len(result) < 500
    top = result.history["hash"][result.history["budget"] == 4]
    assert len(set(top.tolist())) == n  # every cell reached the top budget before the run ended
