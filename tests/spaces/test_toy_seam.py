"""A second, mixed float/int/categorical space through every layer: the seam is real, not NB101 in disguise.

The toy space (ecnas.testing.spaces.ToySpace) has closed-form metrics, so every number is checked exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecnas.benchmark import Benchmark
from ecnas.errors import InvalidConfigError, SpaceCapabilityError
from ecnas.optimizers import as_pymoo_problem, run
from ecnas.surrogate import MLPSurrogate
from ecnas.table import check_cell_hashes, read_table, verify_table
from ecnas.testing.spaces import toy_metrics, write_toy_table


@pytest.fixture(scope="module")
def toy_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_toy_table(tmp_path_factory.mktemp("toy") / "toy.h5", n=300)


def test_table_records_the_space_and_its_columns(toy_table: Path) -> None:
    contents = read_table(toy_table)
    assert contents.space == "toy" and set(contents.columns) == {
        "dropout", "learning_rate", "width", "depth", "activation"
    }
    assert check_cell_hashes(toy_table) == 300  # every row keys to its stored configuration
    assert len(verify_table(toy_table)) >= 5


def test_queries_go_through_the_space(toy_table: Path) -> None:
    with Benchmark(toy_table) as bench:
        assert bench.space.name == "toy" and bench.info()["search_space"] == "toy"
        key = bench.hashes[17]
        config = bench.cell(key)
        expected = toy_metrics(config, 3)
        as_dict = bench.query(dict(config), budget=3)  # a plain mapping, validated by the space
        assert as_dict["hash"] == key
        assert as_dict["validation_accuracy"] == pytest.approx(expected["validation_accuracy"])
        assert bench.query(key, budget=3)["energy_kwh"] == pytest.approx(expected["energy_kwh"])
        assert bench.query(bench.space.to_configspace(config), budget=3)["hash"] == key  # a ConfigSpace configuration
        many = bench.query_many([dict(bench.cell(h)) for h in bench.hashes[:20]], budget=9)
        assert many["hash"].tolist() == bench.hashes[:20]
        with pytest.raises(InvalidConfigError, match="learning_rate"):
            bench.query(dict(config) | {"learning_rate": 5.0})
        absent = dict(config) | {"dropout": 0.123456789}
        with pytest.raises(KeyError, match=bench.space.key(bench.space.validate(absent))):
            bench.query(absent)
        with pytest.raises(SpaceCapabilityError, match="toy"):
            bench.space.enumerate()


def test_random_search_and_semoa_mutation(toy_table: Path) -> None:
    with Benchmark(toy_table) as bench:
        stored = set(bench.hashes)
        for name in ("rs", "semoa"):
            result = run(name, bench, seed=0, max_evaluations=60)
            assert len(result) == 60 and set(result.history["hash"].tolist()) <= stored
            assert len(set(result.history["hash"].tolist())) == 60  # no repeats
        # SEMOA's children come from the space's mutation, mapped to the nearest stored configuration:
        # the search must beat random search on hypervolume over the same seeds.
        ref = [1.0, 1.1 * max(bench.query_many(bench.hash_array)["energy_kwh"])]
        semoa = [run("semoa", bench, seed=s, max_evaluations=60).hypervolume(ref) for s in range(4)]
        rs = [run("rs", bench, seed=s, max_evaluations=60).hypervolume(ref) for s in range(4)]
        assert np.median(semoa) >= np.median(rs)


def test_pymoo_adapter_uses_the_box_encoding(toy_table: Path) -> None:
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.optimize import minimize

    from ecnas.optimizers._pymoo import TableSampling

    with Benchmark(toy_table) as bench:
        problem = as_pymoo_problem(bench, budget=9)
        assert problem.n_var == 5 and (problem.xl == 0).all() and (problem.xu == 1).all()
        minimize(problem, NSGA2(pop_size=10, sampling=TableSampling()), ("n_gen", 4), seed=1, verbose=False)
        result = problem.result(algorithm="nsga2", seed=1)
        assert len(result) >= 10 and set(result.history["hash"].tolist()) <= set(bench.hashes)


def test_surrogate_takes_the_width_of_the_space(toy_table: Path) -> None:
    with Benchmark(toy_table) as bench:
        features = bench.space.features(bench.columns(), bench.trainable_parameters)
        assert features.shape == (300, bench.space.num_features) == (300, 7)
        target = bench.query_many(bench.hash_array, budget=9)["validation_accuracy"]
    model = MLPSurrogate(seed=0, n_members=2, max_epochs=60, input_scaling="standard").fit(features, target)
    prediction = model.predict(features)
    assert model.n_features_in_ == 7 and np.corrcoef(prediction, target)[0, 1] > 0.8


def test_builder_plans_fits_and_refuses_to_fill_through_the_space(tmp_path: Path) -> None:
    from ecnas.build.fill import fill_table
    from ecnas.build.fit import fit_surrogates
    from ecnas.build.plan import make_plan
    from ecnas.spaces import get_space

    plan = make_plan("tiny", {}, space="toy", sample_size=40, seed=3)
    assert plan.space == "toy" and len(plan) == 40 and plan.space_size == -1
    assert plan.hashes == sorted(plan.hashes)
    again = make_plan("tiny", {}, space="toy", sample_size=40, seed=3)
    assert again.hashes == plan.hashes  # seeded
    with pytest.raises(ValueError, match="sample_size"):
        make_plan("tiny", {}, space="toy", sample_fraction=0.1)
    space = get_space("toy")
    records = []
    for position, key in enumerate(plan.hashes):
        config = plan.cell(position)
        assert space.key(config) == key
        metrics = toy_metrics(config, 4)
        records.append(
            {"hash": key, "space": "toy", **space.config_to_json(config), "budget": 4, "repeat": 0,
             "trainable_parameters": config["width"] ** 2 * config["depth"], **metrics}
        )
    bundle = fit_surrogates(
        records, budgets=(4,), metrics=("validation_accuracy",), holdout_fraction=0.0, progress=False,
        surrogate_params={"n_members": 1, "max_epochs": 20}, out_path=tmp_path / "s.h5",
    )
    assert bundle.measured.space == "toy" and set(bundle.measured.columns) == {c.name for c in space.columns}
    assert bundle.models[("validation_accuracy", 4)].n_features_in_ == space.num_features
    with pytest.raises(SpaceCapabilityError, match="'toy' cannot be filled"):
        fill_table(tmp_path / "s.h5", tmp_path / "t.h5", progress=False)


def test_cli_queries_a_configuration_of_any_space(toy_table: Path) -> None:
    import json

    from click.testing import CliRunner

    from ecnas.cli import main

    with Benchmark(toy_table) as bench:
        key = bench.hashes[3]
        config = dict(bench.cell(key))
    result = CliRunner().invoke(main, ["query", "--table", str(toy_table), "--config", json.dumps(config), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["hash"] == key
    bad = CliRunner().invoke(main, ["query", "--table", str(toy_table), "--config", json.dumps(config | {"depth": 99})])
    assert bad.exit_code == 1 and "invalid configuration of space 'toy'" in bad.output and "depth" in bad.output
    both = CliRunner().invoke(main, ["query", "--table", str(toy_table), "--config", "{}", "--hash", key])
    assert both.exit_code == 2 and "exactly one of" in both.output
