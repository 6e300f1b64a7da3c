"""Contract suite for optimizers, parametrised over the registry, and a synthetic multi-budget table.

Use from a test module (also for optimizers registered by other packages)::

    from ecnas.testing.optimizers import OPTIMIZER_CHECKS, check_optimizer_parameters

    @pytest.mark.parametrize(("name", "check"), check_optimizer_parameters())
    def test_contract(name, check, table_path):
        check(name, table_path)

Every check takes an optimizer name and a table path and raises ``AssertionError`` on a violation. Cheap
options per algorithm live in :data:`CHEAP_OPTIONS` (unknown algorithms run with their defaults and a
small ``max_evaluations``).
"""

from __future__ import annotations

import concurrent.futures
import copy
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ecnas.spaces.nb101.cells import FEATURE_OP_CODES, INTERIOR_OPS, MAX_VERTICES, pad_cells

__all__ = [
    "CHEAP_OPTIONS",
    "OPTIMIZER_CHECKS",
    "check_optimizer_parameters",
    "synthetic_contents",
    "write_synthetic_table",
]

#: Options that keep a contract run fast, per registered name.
CHEAP_OPTIONS: dict[str, dict[str, Any]] = {
    "semoa": {"max_evaluations": 30},
    "shemoa": {"max_evaluations": 60, "population_size": 6},
    "msehvi": {"max_evaluations": 16, "initial_design": 6, "pool_size": 200, "mutants": 10},
    "rs": {"max_evaluations": 40, "batch_size": 7},
    "parego-hb": {"max_evaluations": 60, "initial_design": 5, "pool_size": 100, "mutants": 10, "space_samples": 200},
}
_DEFAULT_CHEAP = {"max_evaluations": 30}


# ---------------------------------------------------------------------------------------- synthetic table
def _arrays(cells: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hashes, `N x 7 x 7` matrices, `N x 7` op codes) of an EnumeratedSpace or an iterable of CellSpec."""
    if hasattr(cells, "matrices") and hasattr(cells, "op_codes"):
        return np.asarray(cells.hashes), np.asarray(cells.matrices, np.uint8), np.asarray(cells.op_codes, np.int8)
    specs = list(cells)
    matrices, op_codes = pad_cells(specs)
    return np.array([spec.hash for spec in specs]), matrices, op_codes


def _depth(matrices: np.ndarray, op_codes: np.ndarray) -> np.ndarray:
    """Longest input→output path of every (pruned, zero-padded) cell."""
    n = matrices.shape[0]
    depth = np.zeros((n, MAX_VERTICES))
    for v in range(1, MAX_VERTICES):
        into = matrices[:, :v, v].astype(bool)
        candidates = np.where(into, depth[:, :v] + 1, 0)
        depth[:, v] = candidates.max(axis=1)
    size = np.count_nonzero(op_codes, axis=1)
    return depth[np.arange(n), size - 1]


def synthetic_contents(
    cells: Any = None,
    *,
    max_vertices: int = 5,
    budgets: Sequence[int] = (4, 12, 36, 108),
    repeats: int = 2,
    seed: int = 0,
) -> Any:
    """A deterministic table with a real accuracy/energy trade-off, for testing optimizers.

    Accuracy grows with parameters, 3x3 convolutions and depth, and with the budget (saturating); training
    time and energy grow linearly with parameters and budget; small seeded noise per cell and repeat.
    Vectorised: the whole 7-vertex space (423,624 cells) takes a few seconds.

    Args:
        cells: an :class:`~ecnas.spaces.nb101.enumeration.EnumeratedSpace` or an iterable of :class:`~ecnas.CellSpec`
            (default: every cell with at most ``max_vertices`` vertices).
        max_vertices: size of the enumerated space when ``cells`` is None.
        budgets: budgets in epochs, ascending.
        repeats: repeats per (cell, budget).
        seed: noise seed.

    Returns:
        :class:`ecnas.table.TableContents`.
    """
    from ecnas.spaces.nb101.channels import count_parameters_many
    from ecnas.table import METRICS, SOURCE_SURROGATE, TableContents

    if cells is None:
        from ecnas.spaces.nb101.enumeration import enumerate_space

        cells = enumerate_space(max_vertices)
    hashes, matrices, op_codes = _arrays(cells)
    n = hashes.shape[0]
    params = count_parameters_many(matrices, op_codes)
    counts = [(op_codes == FEATURE_OP_CODES[op]).sum(axis=1) for op in INTERIOR_OPS]
    depth = _depth(matrices, op_codes)
    rng = np.random.default_rng(seed)
    millions = params / 1e6
    quality = (
        0.55 * np.tanh(millions / 4.0)
        + 0.12 * counts[0] / 3
        + 0.05 * counts[1] / 3
        - 0.06 * counts[2] / 3
        + 0.08 * depth / 4
        + rng.normal(0.0, 0.02, n)
    )
    quality = (quality - quality.min()) / max(quality.max() - quality.min(), 1e-12)
    final = 0.55 + 0.40 * quality
    b = np.asarray(budgets, dtype=float)[None, :, None]
    noise = rng.normal(0.0, 0.004, (n, len(budgets), repeats))
    validation = 0.1 + (final[:, None, None] - 0.1) * (1.0 - np.exp(-b / 10.0)) + noise
    seconds_per_epoch = (4.0 + 2.5 * millions)[:, None, None] * (1.0 + rng.normal(0.0, 0.02, (n, 1, repeats)))
    training_time = seconds_per_epoch * b
    energy = training_time * 250.0 / 3.6e6
    metrics = {
        "training_time": training_time,
        "train_accuracy": np.clip(validation + 0.04, 0.0, 1.0),
        "validation_accuracy": np.clip(validation, 0.0, 1.0),
        "test_accuracy": np.clip(validation - 0.005 + rng.normal(0.0, 0.003, validation.shape), 0.0, 1.0),
        "energy_kwh": energy,
        "total_energy_kwh": energy * 1.05,
    }
    assert set(metrics) == set(METRICS)
    return TableContents(
        hashes=hashes,
        budgets=tuple(int(x) for x in budgets),
        repeats=repeats,
        columns={"matrix": matrices, "op_codes": op_codes},
        trainable_parameters=params,
        source=np.full(n, SOURCE_SURROGATE, np.uint8),
        metrics=metrics,
        provenance={
            "energy_method": "synthetic (ecnas.testing.optimizers)",
            "carbon_intensity": 300.0,
            "intensity_source": "synthetic",
            "pue": 1.0,
            "dataset": "synthetic",
            "profile": "test",
        },
    )


def write_synthetic_table(path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Write :func:`synthetic_contents` to ``path`` (atomically) and return the path."""
    from ecnas.table import write_table

    return write_table(path, synthetic_contents(**kwargs))


# ---------------------------------------------------------------------------------------- contract checks
def _options(name: str, **overrides: Any) -> dict[str, Any]:
    return {**CHEAP_OPTIONS.get(name, _DEFAULT_CHEAP), **overrides}


def _make(name: str, bench: Any, seed: int = 0, **overrides: Any) -> Any:
    from ecnas.optimizers import get_optimizer

    return get_optimizer(name)(bench, seed=seed, **_options(name, **overrides))


def _history_key(result: Any) -> tuple[list[str], list[int], list[list[float]]]:
    history = result.history
    return history["hash"].tolist(), history["budget"].tolist(), history["F"].tolist()


def check_asks_are_table_cells(name: str, table: str | os.PathLike[str]) -> None:
    """Asked cells are valid cells of the table, at its budgets, never the same (cell, budget) twice."""
    from ecnas.benchmark import Benchmark

    with Benchmark(table) as bench:
        optimizer = _make(name, bench)
        space = optimizer.space
        seen: set[tuple[str, int]] = set()
        while not optimizer.done:
            cells = optimizer.ask()
            if not cells:
                break
            assert len(cells) <= optimizer.max_evaluations - optimizer.n_evaluations, "asked beyond the limit"
            for cell in cells:
                assert cell.budget in bench.budgets, f"budget {cell.budget} not in the table"
                assert cell.budget <= optimizer.budget, "asked above the target budget"
                assert (cell.hash, cell.budget) not in seen, f"{cell} asked twice"
                seen.add((cell.hash, cell.budget))
                config = bench.cell(cell.hash)  # KeyError when not in the table
                assert space.search_space.is_valid(config), f"{cell} is not a valid configuration of the space"
            F, metrics = (
                optimizer.problem.evaluate([c.hash for c in cells], cells[0].budget)
                if len({c.budget for c in cells}) == 1
                else _evaluate_mixed(optimizer, cells)
            )
            assert np.isfinite(F).all(), "a proposed cell has no results in the table"
            optimizer.tell(cells, F, metrics=metrics)
        assert optimizer.ask() == [], "ask() after done must return no cells"
        assert optimizer.n_evaluations <= optimizer.max_evaluations


def _evaluate_mixed(optimizer: Any, cells: Sequence[Any]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    budgets = np.array([c.budget for c in cells])
    hashes = np.array([c.hash for c in cells])
    F = np.empty((len(cells), optimizer.n_obj))
    metrics: dict[str, np.ndarray] = {}
    for budget in np.unique(budgets):
        pick = budgets == budget
        F[pick], columns = optimizer.problem.evaluate(hashes[pick], int(budget))
        for key, value in columns.items():
            metrics.setdefault(key, np.empty(len(cells)))[pick] = value
    return F, metrics


def check_deterministic(name: str, table: str | os.PathLike[str]) -> None:
    """Same seed, same history; another seed, another history."""
    from ecnas.benchmark import Benchmark

    with Benchmark(table) as bench:
        first = _make(name, bench, seed=3).run()
        second = _make(name, bench, seed=3).run()
        other = _make(name, bench, seed=4).run()
    assert _history_key(first) == _history_key(second), "same seed gave different histories"
    assert first.rejections == second.rejections
    assert _history_key(first) != _history_key(other), "different seeds gave the same history"


def check_result_contract(name: str, table: str | os.PathLike[str]) -> None:
    """History matches the table, the front is non-dominated at the target budget, costs add up, JSON round-trips."""
    import json

    from ecnas import indicators
    from ecnas.benchmark import Benchmark
    from ecnas.optimizers import Result

    with Benchmark(table) as bench:
        before = dict(bench.counters)
        result = _make(name, bench, seed=1).run()
        spent = {k: bench.counters[k] - before[k] for k in before}
        history = result.history
        assert len(result) == spent["queries"], "history and benchmark query counter disagree"
        assert 0 < len(result) <= _options(name)["max_evaluations"]
        for i in range(0, len(result), max(1, len(result) // 10)):
            row = bench.query(history["hash"][i], budget=int(history["budget"][i]))
            assert np.allclose(history["F"][i], [1 - row["validation_accuracy"], row["energy_kwh"]])
            assert history["energy_kwh"][i] > 0, "an evaluation was scored zero energy"
    cost = result.search_cost
    assert np.isclose(cost["energy_kwh"], spent["energy_kwh"])
    assert np.isclose(cost["training_time_s"], spent["training_time_s"])
    front = result.front
    assert front.shape[0] == len(result.front_hashes) >= 1
    assert indicators.is_nondominated(front).all()
    assert (history["budget"][result.front_index] == result.budget).all(), "front uses a lower budget"
    top = history["budget"] == result.budget
    assert np.isclose(result.hypervolume([1.0, 10.0]), indicators.hypervolume(history["F"][top], [1.0, 10.0]))
    trace = result.hypervolume_trace([1.0, 10.0])
    assert trace.shape == (len(result),) and np.all(np.diff(trace) >= 0)
    assert np.isclose(trace[-1], result.hypervolume([1.0, 10.0]))
    restored = Result.from_dict(json.loads(json.dumps(result.to_dict(), allow_nan=False)))
    assert _history_key(restored) == _history_key(result)
    assert restored.front_hashes == result.front_hashes and restored.settings == result.settings


def check_inputs_unmutated(name: str, table: str | os.PathLike[str]) -> None:
    """Options and objectives passed in are not modified; the table's cells are untouched."""
    from ecnas.benchmark import Benchmark

    options = _options(name)
    objectives = ["validation_error", "energy_kwh"]
    snapshot = (copy.deepcopy(options), list(objectives))
    with Benchmark(table) as bench:
        hashes = bench.hash_array.copy()
        from ecnas.optimizers import get_optimizer

        get_optimizer(name)(bench, seed=0, objectives=objectives, **options).run()
        assert (bench.hash_array == hashes).all()
    assert (options, objectives) == snapshot


def check_protocol_errors(name: str, table: str | os.PathLike[str]) -> None:
    """tell() without ask(), ask() twice, wrong cells and wrong shapes are refused with clear errors."""
    from ecnas.benchmark import Benchmark

    with Benchmark(table) as bench:
        optimizer = _make(name, bench)
        try:
            optimizer.tell([], np.zeros((0, 2)))
        except RuntimeError:
            pass
        else:
            raise AssertionError("tell() without ask() must raise RuntimeError")
        cells = optimizer.ask()
        assert cells
        for call in (optimizer.ask,):
            try:
                call()
            except RuntimeError:
                pass
            else:
                raise AssertionError("ask() twice without tell() must raise RuntimeError")
        bad = [
            (cells, np.zeros((len(cells), 3))),
            (cells, np.full((len(cells), 2), np.nan)),
            (list(reversed(cells)) if len(cells) > 1 else [cells[0]._replace(budget=-1)], np.zeros((len(cells), 2))),
        ]
        for bad_cells, bad_F in bad:
            try:
                optimizer.tell(bad_cells, bad_F)
            except ValueError:
                pass
            else:
                raise AssertionError("tell() with wrong cells, shape or values must raise ValueError")
        F, metrics = _evaluate_mixed(optimizer, cells)
        optimizer.tell(cells, F, metrics=metrics)
        assert optimizer.n_evaluations == len(cells)


def _run_in_worker(name: str, table: str, options: dict[str, Any]) -> dict[str, Any]:
    from ecnas.optimizers import run

    return run(name, table, seed=5, **options).to_dict()


def check_runs_in_worker_process(name: str, table: str | os.PathLike[str]) -> None:
    """A run in a spawned worker process gives the same history as in this process."""
    from ecnas.optimizers import Result, run

    options = _options(name)
    local = run(name, os.fspath(table), seed=5, **options)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        remote = Result.from_dict(pool.submit(_run_in_worker, name, os.fspath(table), options).result(timeout=300))
    assert _history_key(remote) == _history_key(local)


#: Every contract check, by name.
OPTIMIZER_CHECKS: dict[str, Callable[[str, str | os.PathLike[str]], None]] = {
    "asks_are_table_cells": check_asks_are_table_cells,
    "deterministic": check_deterministic,
    "result_contract": check_result_contract,
    "inputs_unmutated": check_inputs_unmutated,
    "protocol_errors": check_protocol_errors,
    "runs_in_worker_process": check_runs_in_worker_process,
}


def check_optimizer_parameters(names: Iterable[str] | None = None, checks: Iterable[str] | None = None) -> list[Any]:
    """``pytest.param(name, check, id=...)`` for every registered optimizer × contract check.

    Args:
        names: optimizers (default: the whole registry).
        checks: check names from :data:`OPTIMIZER_CHECKS` (default: all).
    """
    import pytest

    from ecnas.optimizers import optimizer_names

    names = list(optimizer_names() if names is None else names)
    selected = list(OPTIMIZER_CHECKS if checks is None else checks)
    return [pytest.param(name, OPTIMIZER_CHECKS[check], id=f"{name}-{check}") for name in names for check in selected]
