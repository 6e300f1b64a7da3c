"""Inputs of an importance analysis: ConfigSpace encoding, tables, optimizer runs, any configurations."""

from __future__ import annotations

import math
from pathlib import Path

import ConfigSpace as CS
import numpy as np
import pytest

from ecnas import CellSpec, importance
from ecnas.benchmark import Benchmark
from ecnas.importance._derived import _longest_path
from ecnas.spaces._params import Categorical, Float, HyperparameterSpace, Integer


def test_encoding_makes_the_uniform_box_the_prior() -> None:
    cs = CS.ConfigurationSpace(seed=0)
    cs.add(
        [
            CS.Categorical("op", ["a", "b", "c"]),
            CS.OrdinalHyperparameter("size", ["s", "m", "l"]),
            CS.Integer("depth", (1, 5)),
            CS.Float("lr", (1e-4, 1e-1), log=True),
            CS.Float("drop", (0.0, 0.5)),
            CS.Constant("fixed", 3),
        ]
    )
    rows = [
        {"op": "c", "size": "m", "depth": 2, "lr": 1e-3, "drop": 0.25, "fixed": 3},
        {"op": "a", "size": "l", "depth": 5, "lr": 1e-2, "drop": 0.0, "fixed": 3},
    ]
    design = importance.encode_configurations(cs, rows)
    order = ("op", "size", "depth", "lr", "drop")
    assert sorted(design.names) == sorted(order)  # the constant is dropped
    at = [design.names.index(name) for name in order]
    np.testing.assert_allclose(design.X[0, at], [2, 1, 2, math.log(1e-3), 0.25])
    np.testing.assert_allclose(
        design.bounds[at], [[-0.5, 2.5], [-0.5, 2.5], [0.5, 5.5], [math.log(1e-4), math.log(1e-1)], [0.0, 0.5]]
    )
    assert tuple(design.kinds[i] for i in at) == ("categorical", "ordinal", "integer", "float", "float")
    assert design.choices[at[0]] == ("a", "b", "c")
    with pytest.raises(ValueError, match="'op': value 'z' is not one of"):
        importance.encode_configurations(cs, [{**rows[0], "op": "z"}])
    with pytest.raises(ValueError, match="missing from some configuration; conditional"):
        importance.encode_configurations(cs, [{k: v for k, v in rows[0].items() if k != "lr"}])


def test_nb101_derived_features() -> None:
    matrix = [[0, 1, 1, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    ops = ["input", "conv3x3-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "output"]
    cell = CellSpec(matrix, ops)
    assert _longest_path(np.asarray(cell.matrix)) == 4
    from ecnas.spaces import get_space

    design = importance.derived_design(get_space("nb101"), [cell, CellSpec([[0, 1], [0, 0]], ["input", "output"])])
    assert design.names == importance.NB101_DERIVED
    np.testing.assert_allclose(design.X[0], [5, 5, 2, 0, 1, 4, 2])
    np.testing.assert_allclose(design.X[1], [2, 1, 0, 0, 0, 1, 1])
    with pytest.raises(ValueError, match="nb101 space only"):
        importance.derived_design(HyperparameterSpace([Float("x", 0.0, 1.0, 0.5)]), [])


def test_from_table_samples_rows_at_a_budget(synthetic_5v: Path) -> None:
    with Benchmark(synthetic_5v) as bench:
        data = importance.from_table(bench, budget=12, samples=200, seed=1)
        again = importance.from_table(bench, budget=12, samples=200, seed=1)
        other = importance.from_table(bench, budget=12, samples=200, seed=2)
        derived = importance.from_table(bench, budget=12, samples=200, seed=1, view="derived")
        everything = importance.from_table(bench, samples=None, objectives="validation_error,trainable_parameters")
    assert data.design.n == 200 and data.F.shape == (200, 2)
    assert data.objectives == ("validation_error", "energy_kwh")
    assert data.design.names[:2] == ("edge_0", "edge_1") and len(data.design.names) == 13  # 10 edges + 3 ops
    assert data.source["budget"] == 12 and data.source["samples"] == 200 and data.source["energy_method"]
    np.testing.assert_array_equal(data.F, again.F)
    assert not np.array_equal(data.F, other.F)
    np.testing.assert_array_equal(derived.F, data.F)
    assert derived.design.names == importance.NB101_DERIVED
    assert everything.design.n == 2532 and np.all(everything.F[:, 0] <= 1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"objectives": "validation_error,joules"}, "unknown objective\\(s\\) \\['joules'\\]"),
        ({"view": "graph"}, "view must be one of"),
        ({"samples": 1}, "samples must be an int >= 2"),
        ({"budget": 5}, "budget"),
    ],
)
def test_from_table_errors(synthetic_5v: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        importance.from_table(synthetic_5v, **kwargs)


def test_from_result_pools_runs_at_the_target_budget(synthetic_5v: Path) -> None:
    from ecnas.optimizers import run

    with Benchmark(synthetic_5v) as bench:
        first = run("rs", bench, seed=0, max_evaluations=60, budget=36)
        second = run("rs", bench, seed=1, max_evaluations=60, budget=36)
        data = importance.from_result([first, second], bench)
        alone = importance.from_result(first)  # the table path recorded in the result
    assert alone.design.n == 60 and alone.source["table"] == str(bench.path)
    unique = set(first.history["hash"].tolist()) | set(second.history["hash"].tolist())
    assert data.design.n == len(unique) and data.source["algorithms"] == ["rs"]
    row = first.history["hash"].tolist().index(first.history["hash"][0])
    np.testing.assert_allclose(alone.F[0], first.history["F"][row])
    other_budget = run("rs", synthetic_5v, seed=0, max_evaluations=10, budget=4)
    with pytest.raises(ValueError, match="runs disagree"):
        importance.from_result([first, other_budget], synthetic_5v)


def test_from_configs_with_an_ecnas_space_or_a_configspace() -> None:
    space = HyperparameterSpace(
        [Float("lr", 1e-4, 1e-1, 1e-2, log=True), Integer("depth", 1, 20, 5), Categorical("kind", ("q", "ps"), "q")]
    )
    configs = space.sample(120, seed=0)
    lr = np.array([c["lr"] for c in configs])
    depth = np.array([c["depth"] for c in configs], dtype=float)
    F = np.column_stack([np.log(lr) ** 2, depth + np.array([c["kind"] == "ps" for c in configs])])
    F[5, 0] = np.nan
    data = importance.from_configs(configs, F, ("loss", "energy"), space=space, directions=("minimize", "minimize"))
    assert data.design.n == 119 and data.source["dropped_non_finite"] == 1
    assert set(data.design.names) == {"lr", "depth", "kind"}
    report = importance.analyse(data, weights=3, n_trees=8, top_pairs=2, seed=0)
    assert report.per_objective["loss"].top(1) == ["lr"]
    assert report.per_objective["energy"].top(1) == ["depth"]
    dicts = [dict(space.to_configspace(c)) for c in configs]
    bare = importance.from_configs(dicts, F, ("loss", "energy"), configspace=space.configspace())
    np.testing.assert_allclose(np.sort(bare.design.X, axis=0), np.sort(data.design.X, axis=0))
    with pytest.raises(ValueError, match="exactly one of space="):
        importance.from_configs(configs, F, ("loss", "energy"))
    with pytest.raises(ValueError, match="F must have shape"):
        importance.from_configs(configs, F[:, :1], ("loss", "energy"), space=space)
