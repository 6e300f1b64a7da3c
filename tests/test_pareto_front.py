"""Benchmark.pareto_front: the exact non-dominated rows of a whole table, checked against brute force."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecnas.benchmark import Benchmark
from ecnas.metrics import OBJECTIVES
from ecnas.testing.optimizers import write_synthetic_table


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_table(tmp_path_factory.mktemp("front") / "t.h5", max_vertices=5)


def brute_force_front(F: np.ndarray) -> np.ndarray:
    """Rows no other row weakly dominates with at least one strict improvement (O(n²))."""
    le = (F[:, None, :] <= F[None, :, :]).all(axis=2)
    lt = (F[:, None, :] < F[None, :, :]).any(axis=2)
    dominated = (le & lt).any(axis=0)
    return np.flatnonzero(~dominated)


@pytest.mark.parametrize(
    "objectives",
    [("validation_error", "energy_kwh"), ("test_error", "training_time", "trainable_parameters")],
)
def test_front_equals_brute_force(table: Path, objectives: tuple[str, ...]) -> None:
    with Benchmark(table) as bench:
        for budget in (4, 108):
            front = bench.pareto_front(objectives, budget)
            columns = bench.query_many(bench.hash_array, budget=budget)
            F = np.column_stack([OBJECTIVES[name].values(columns) for name in objectives])
            expected = set(columns["hash"][brute_force_front(F)].tolist())
            assert set(front["hash"].tolist()) == expected and len(front["hash"]) == len(expected)
            rows = bench.query_many(front["hash"].tolist(), budget=budget)
            np.testing.assert_array_equal(front["F"][:, 0], OBJECTIVES[objectives[0]].values(rows))
            assert (np.diff(front["F"][:, 0]) >= 0).all() and front["budget"] == budget


def test_front_does_not_count_and_is_cached(table: Path) -> None:
    with Benchmark(table) as bench:
        first = bench.pareto_front()
        assert bench.counters == {"queries": 0, "training_time_s": 0.0, "energy_kwh": 0.0}
        first["F"][:] = -1  # callers get copies
        again = bench.pareto_front()
        assert (again["F"] >= 0).all() and again["objectives"] == ("validation_error", "energy_kwh")
        with pytest.raises(ValueError, match="unknown objective"):
            bench.pareto_front(["accuracy", "energy_kwh"])


def test_rows_without_results_are_not_on_the_front(tmp_path: Path) -> None:
    from ecnas.table import read_table, write_table

    contents = read_table(write_synthetic_table(tmp_path / "a.h5", max_vertices=4, budgets=(4,), repeats=1))
    with Benchmark(tmp_path / "a.h5") as bench:
        best = bench.pareto_front()["hash"][0]
    row = int(np.flatnonzero(contents.hashes.astype("U32") == best)[0])
    contents.metrics["energy_kwh"][row] = np.nan
    write_table(tmp_path / "b.h5", contents)
    with Benchmark(tmp_path / "b.h5") as bench:
        assert best not in bench.pareto_front()["hash"].tolist()
