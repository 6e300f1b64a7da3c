"""Behaviour of each algorithm beyond the shared contract: defaults, budgets, brackets, rejections."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from ecnas.benchmark import Benchmark
from ecnas.optimizers import (
    SEMOA,
    Optimizer,
    get_optimizer,
    optimizer_names,
    optimizer_options,
    register,
    run,
)
from ecnas.optimizers._multifidelity import hyperband_brackets
from ecnas.space import enumerate_space
from ecnas.table import write_table
from ecnas.testing.optimizers import synthetic_contents


def test_registry_lists_the_five_algorithms_and_rejects_duplicates() -> None:
    assert set(optimizer_names()) >= {"semoa", "shemoa", "msehvi", "rs", "parego-hb"}
    with pytest.raises(ValueError, match="already registered"):

        @register("semoa")
        class Again(SEMOA):
            pass

    with pytest.raises(ValueError, match=r"unknown optimizer 'nope'.*semoa"):
        get_optimizer("nope")
    assert optimizer_options("semoa") == {
        "population_size": None,
        "mutation_rate": 1.0,
        "selection_pressure": 1.9,
        "crossover_rate": 0.5,
    }
    assert optimizer_options("msehvi")["refit_every"] == 5
    assert issubclass(get_optimizer("rs"), Optimizer)


def test_arguments_are_validated_with_clear_messages(real_table: Path) -> None:
    with Benchmark(real_table) as bench:
        with pytest.raises(ValueError, match=r"budget must be one of the table's budgets \[4\]"):
            SEMOA(bench, budget=108)
        with pytest.raises(ValueError, match="max_evaluations must be an int >= 1"):
            SEMOA(bench, max_evaluations=0)
        with pytest.raises(ValueError, match="seed must be None or an int >= 0"):
            SEMOA(bench, seed=-1)
        with pytest.raises(ValueError, match="population_size must be an int >= 2"):
            SEMOA(bench, population_size=1)
        with pytest.raises(ValueError, match=r"unknown objective\(s\) \['accuracy'\]; valid objectives"):
            SEMOA(bench, objectives=["accuracy", "energy_kwh"])
        with pytest.raises(ValueError, match="exactly two objectives"):
            get_optimizer("msehvi")(bench, objectives=["validation_error", "energy_kwh", "training_time"])
        with pytest.raises(ValueError, match="min_budget"):
            get_optimizer("shemoa")(bench, min_budget=12)
        with pytest.raises(TypeError):
            SEMOA(bench, population=3)


def test_semoa_defaults_match_ec_nas(real_table: Path) -> None:
    result = run("semoa", real_table, seed=0)
    assert len(result) == 110  # EC-NAS's run length: population 20 + 90 generations, one offspring each
    assert result.settings["population_size"] == 20
    assert (result.history["budget"] == 4).all()
    assert len(set(result.history["hash"])) == 110
    assert result.rejections["invalid"] > 0  # invalid mutants happen, are counted, and are never scored
    assert np.isfinite(result.history["F"]).all() and (result.history["energy_kwh"] > 0).all()


def test_random_search_defaults_and_batch_independence(real_table: Path) -> None:
    result = run("rs", real_table, seed=2)
    assert len(result) == 1000 and len(set(result.history["hash"])) == 1000
    small_batches = run("rs", real_table, seed=2, batch_size=37)
    assert result.history["hash"].tolist() == small_batches.history["hash"].tolist()


def test_shemoa_halves_over_budgets_and_reports_top_budget_only(synthetic_table: Path) -> None:
    with Benchmark(synthetic_table) as bench:
        optimizer = get_optimizer("shemoa")(bench, seed=0, generations=3)
        assert optimizer.rungs == (4, 12, 36, 108) and optimizer.offspring == 27
        assert optimizer.max_evaluations == 10 + 3 * (27 + 9 + 3 + 1)
        result = optimizer.run()
    counts = Counter(result.history["budget"].tolist())
    assert counts == {4: 3 * 27, 12: 3 * 9, 36: 3 * 3, 108: 10 + 3}
    promoted = result.history["hash"][result.history["budget"] == 12]
    assert set(promoted) <= set(result.history["hash"][result.history["budget"] == 4])
    assert (result.history["budget"][result.front_index] == 108).all()
    energy = {b: result.history["energy_kwh"][result.history["budget"] == b].mean() for b in counts}
    assert energy[4] < energy[12] < energy[36] < energy[108]  # lower budgets are counted at their own cost
    assert np.isclose(result.search_cost["energy_kwh"], result.history["energy_kwh"].sum())


def test_shemoa_budget_range(synthetic_table: Path) -> None:
    result = run("shemoa", synthetic_table, seed=0, budget=36, min_budget=12, generations=2)
    assert set(result.history["budget"].tolist()) == {12, 36}
    assert result.budget == 36 and (result.history["budget"][result.front_index] == 36).all()


def test_hyperband_brackets() -> None:
    assert hyperband_brackets(4, 3) == [
        [(0, 27), (1, 9), (2, 3), (3, 1)],
        [(1, 12), (2, 4), (3, 1)],
        [(2, 6), (3, 2)],
        [(3, 4)],
    ]
    assert hyperband_brackets(1, 3) == [[(0, 1)]]


def test_parego_hyperband_runs_whole_brackets(synthetic_table: Path) -> None:
    with Benchmark(synthetic_table) as bench:
        optimizer = get_optimizer("parego-hb")(bench, seed=0, pool_size=200, mutants=10)
        per_iteration = 40 + 17 + 8 + 4
        assert optimizer.max_evaluations % per_iteration == 0
        result = get_optimizer("parego-hb")(
            bench, seed=0, max_evaluations=per_iteration, pool_size=200, mutants=10
        ).run()
    budgets = result.history["budget"].tolist()
    expected = [4] * 27 + [12] * 9 + [36] * 3 + [108] + [12] * 12 + [36] * 4 + [108] + [36] * 6 + [108] * 2 + [108] * 4
    assert budgets == expected
    hashes = result.history["hash"]
    first_bracket = hashes[:40]
    assert set(first_bracket[27:36]) <= set(first_bracket[:27])  # promotions come from the previous rung
    starts = [hashes[:27], hashes[40:52], hashes[57:63], hashes[65:69]]
    assert [len(set(start)) for start in starts] == [27, 12, 6, 4]
    # a bracket may restart a cell dropped at a lower rung, but no (cell, budget) pair is paid twice
    pairs = list(zip(hashes.tolist(), budgets, strict=True))
    assert len(set(pairs)) == len(pairs)


def test_mutants_outside_the_table_are_rejected_not_scored(tmp_path: Path) -> None:
    space = enumerate_space(5)
    keep = np.arange(len(space)) % 3 != 0  # a table that lacks a third of the 5-vertex cells
    contents = synthetic_contents(space, budgets=(108,), repeats=1)
    for field in ("hashes", "trainable_parameters", "source"):
        setattr(contents, field, getattr(contents, field)[keep])
    contents.columns = {name: values[keep] for name, values in contents.columns.items()}
    contents.metrics = {k: v[keep] for k, v in contents.metrics.items()}
    # and one cell without results: it is not part of the search space
    contents.metrics["validation_accuracy"][0] = np.nan
    path = write_table(tmp_path / "partial.h5", contents)
    result = run("semoa", path, seed=0, max_evaluations=300)
    assert result.rejections["not_in_table"] > 0 and result.rejections["invalid"] > 0
    table_hashes = set(np.char.decode(contents.hashes.astype("S32")).tolist())
    assert set(result.history["hash"].tolist()) <= table_hashes
    assert contents.hashes.astype("U32")[0] not in set(result.history["hash"].tolist())


def test_three_objectives(real_table: Path) -> None:
    objectives = ("validation_error", "energy_kwh", "trainable_parameters")
    for name in ("semoa", "rs"):
        result = run(name, real_table, seed=0, max_evaluations=40, objectives=objectives)
        assert result.front.shape[1] == 3 and result.objectives == objectives


def test_search_space_exhaustion_ends_the_run(tmp_path: Path) -> None:
    path = write_table(tmp_path / "tiny.h5", synthetic_contents(enumerate_space(3), budgets=(4,), repeats=1))
    with Benchmark(path) as bench:
        n = len(bench)
    for name in ("rs", "semoa"):
        result = run(name, path, seed=0, max_evaluations=50)
        assert len(result) == n and len(set(result.history["hash"])) == n


def test_objectives_the_table_lacks_are_refused(tmp_path: Path) -> None:
    contents = synthetic_contents(enumerate_space(4), budgets=(4, 12), repeats=1)
    contents.metrics["energy_kwh"][:] = np.nan  # e.g. an NB101 table: accuracies and time, no energy
    path = write_table(tmp_path / "no_energy.h5", contents)
    with Benchmark(path) as bench:
        with pytest.raises(ValueError, match=r"no cell with \['validation_accuracy', 'energy_kwh'\] at 12 epochs"):
            SEMOA(bench)
        result = SEMOA(bench, objectives=["validation_error", "training_time"], max_evaluations=20).run()
    assert len(result) == 20 and np.isnan(result.history["energy_kwh"]).all()
    assert np.isnan(result.search_cost["energy_kwh"])  # unknown, not zero
    assert result.search_cost["training_time_s"] > 0


def test_shemoa_promotes_against_every_cell_seen_at_the_rung(synthetic_table: Path) -> None:
    # Rungs 4 -> 12 with eta 3: three offspring at 4 epochs per generation, one promoted to 12.
    with Benchmark(synthetic_table) as bench:
        optimizer = get_optimizer("shemoa")(bench, seed=0, population_size=2, budget=12, min_budget=4, eta=3)
        optimizer.tell(optimizer.ask(), [[0.5, 0.5], [0.6, 0.6]])
        first = optimizer.ask()
        optimizer.tell(first, [[0.04, 0.55], [0.55, 0.04], [0.9, 0.9]])  # the rung's archive
        optimizer.tell(optimizer.ask(), [[0.3, 0.3]])
        second = optimizer.ask()
        assert [c.budget for c in second] == [4, 4, 4]
        # Within the batch alone the extremes contribute most and (0.5, 0.5) would be dropped; against the
        # archive they are dominated and it is the one non-dominated offspring.
        optimizer.tell(second, [[0.5, 0.5], [0.05, 0.6], [0.6, 0.05]])
        promoted = optimizer.ask()
    assert [(c.hash, c.budget) for c in promoted] == [(second[0].hash, 12)]
