"""The search problem behind every optimizer: a table's configurations as the search space, objectives as queries.

:class:`TableSpace` holds the stored configurations of a table (the space's columns, parameters) as the
Benchmark's arrays; it never reads objective values through a query, so an optimizer cannot peek at
results it has not paid for. :class:`TableProblem` turns cells into objective vectors through
:meth:`ecnas.Benchmark.query_many`, so the benchmark's evaluation counters stay honest.

The search space at a budget is the set of table rows with results at that budget. A configuration that is not
valid in the table's space never gets this far (the space rejects it), so it can never be scored, let alone as
zero energy (EC-NAS's defect).
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas.metrics import DEFAULT_OBJECTIVES, METRICS, OBJECTIVES, Objective, check_objectives

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark
    from ecnas.spaces import SearchSpace

__all__ = [
    "DEFAULT_OBJECTIVES",
    "HISTORY_METRICS",
    "OBJECTIVES",
    "Objective",
    "TableProblem",
    "TableSpace",
    "check_objectives",
    "reference_point",
]


#: Query columns every history keeps, whatever the objectives (EC-NAS Table 2 needs |θ|, T, P_v, E).
HISTORY_METRICS: tuple[str, ...] = (
    "trainable_parameters",
    "training_time",
    "validation_accuracy",
    "test_accuracy",
    "energy_kwh",
)


_TABLE_SPACES: weakref.WeakKeyDictionary[Benchmark, TableSpace] = weakref.WeakKeyDictionary()


class TableSpace:
    """The configurations of one table: the search space of the optimizers, read from an open Benchmark.

    It shares the Benchmark's arrays (no second file handle) and never reads objective values through a
    query, so an optimizer cannot peek at results it has not paid for: :meth:`available` asks the Benchmark
    only which entries are recorded, which does not count as an evaluation.

    Args:
        bench: the open benchmark.

    Attributes:
        hashes: `N` sorted `S32` keys (row order of the table).
        columns: the search space's stored columns of every row.
        parameters: `N` trainable parameters.
        budgets: the table's budgets.
        search_space: the table's space bounded by what the table holds
            (:meth:`ecnas.spaces.SearchSpace.for_table`; NB101: mutations never grow beyond its largest cell).
    """

    def __init__(self, bench: Benchmark) -> None:
        self._bench = weakref.ref(bench)  # weak: TableSpace.of keeps one per Benchmark, keyed weakly by it
        self.hashes: np.ndarray = bench.hash_array
        self.columns: dict[str, np.ndarray] = bench.columns()
        self.parameters: np.ndarray = bench.trainable_parameters.astype(np.int64)
        self.budgets: tuple[int, ...] = bench.budgets
        self.search_space: SearchSpace = bench.space.for_table(self.columns)
        self._available: dict[tuple[int, tuple[str, ...]], np.ndarray] = {}
        self._available_mask: dict[tuple[int, tuple[str, ...]], np.ndarray] = {}
        self._input_columns: np.ndarray | None = None
        self._input_scale: np.ndarray | None = None
        self._vectors: np.ndarray | None = None

    @classmethod
    def of(cls, bench: Benchmark) -> TableSpace:
        """The TableSpace of an open Benchmark, shared by every optimizer run on it (and gone with it).

        Sharing keeps what runs learn about the space (e.g. NB101's validated mutants) across seeds.
        """
        space = _TABLE_SPACES.get(bench)
        if space is None:
            space = _TABLE_SPACES[bench] = cls(bench)
        return space

    def __len__(self) -> int:
        return len(self.hashes)

    def _key(self, budget: int, metrics: Sequence[str]) -> tuple[int, tuple[str, ...]]:
        return int(budget), tuple(sorted(m for m in metrics if m in METRICS))

    def available(self, budget: int, metrics: Sequence[str]) -> np.ndarray:
        """Rows with a recorded value of every metric at ``budget`` (NaN rows are not in the space)."""
        key = self._key(budget, metrics)
        rows = self._available.get(key)
        if rows is None:
            bench = self._bench()
            if bench is None:
                raise RuntimeError("the Benchmark this search space was read from no longer exists")
            present = bench.recorded(key[0], key[1])
            rows = self._available[key] = np.flatnonzero(present)
            present.setflags(write=False)
            self._available_mask[key] = present
        return rows

    def available_mask(self, budget: int, metrics: Sequence[str]) -> np.ndarray:
        """Boolean mask over rows of :meth:`available` (read-only)."""
        self.available(budget, metrics)
        return self._available_mask[self._key(budget, metrics)]

    def row_of(self, cell_hash: str) -> int:
        """Row of a key, or -1 when the table lacks it."""
        encoded = cell_hash.encode("ascii")
        i = int(self.hashes.searchsorted(encoded))
        return i if i < len(self.hashes) and self.hashes[i] == encoded else -1

    def hash(self, row: int) -> str:
        """The key of a row as str."""
        return self.hashes[row].decode("ascii")

    def cell(self, row: int) -> Any:
        """The configuration of a row (a CellSpec for NB101)."""
        return self.search_space.decode(self.columns, row, self.hash(row))

    def _features(self, rows: np.ndarray | slice) -> np.ndarray:
        columns = {name: values[rows] for name, values in self.columns.items()}
        return self.search_space.features(columns, self.parameters[rows])

    def model_inputs(self, rows: np.ndarray) -> np.ndarray:
        """Model (GP) inputs of table rows: the space's features scaled to [0, 1], constant columns dropped.

        Each feature is divided by its natural upper bound (:meth:`ecnas.spaces.SearchSpace.feature_bounds`;
        NB101: adjacency 1, op codes 5) or, where the space gives none (NB101's parameter count), by its largest
        value in the table. Features constant over the whole table carry no information and are dropped.

        Returns:
            `n x d` float array.
        """
        if self._input_columns is None:
            chunk = 65536
            parts = [self._features(slice(start, start + chunk)) for start in range(0, len(self), chunk)]
            low = np.min([p.min(axis=0) for p in parts], axis=0)
            high = np.max([p.max(axis=0) for p in parts], axis=0)
            bounds = self.search_space.feature_bounds()
            natural = np.full(high.size, np.nan) if bounds is None else np.asarray(bounds[1], dtype=np.float64)
            scale = np.where(np.isfinite(natural), natural, np.maximum(high, 1e-6))
            self._input_columns = np.flatnonzero(low != high)
            self._input_scale = scale[self._input_columns]
        rows = np.asarray(rows, dtype=np.int64)
        return self._features(rows)[:, self._input_columns] / self._input_scale

    @property
    def holds_every_configuration(self) -> bool:
        """True when the table can hold its whole space (an enumerable space, e.g. NB101).

        False when it holds a sample of a larger (e.g. continuous) space, where a proposal is almost never stored.
        """
        return self.search_space.can_enumerate

    def nearest_row(self, config: Any, allowed: np.ndarray) -> int:
        """The allowed row closest to ``config`` in the space's box encoding (scaled to the unit cube); -1 if none.

        For tables that hold a sample of a larger space: a proposal is evaluated as its nearest stored
        configuration, as tabular benchmarks of continuous spaces do.
        """
        if self._vectors is None:
            low, high = self.search_space.vector_bounds()
            span = np.where(high > low, high - low, 1.0)
            vectors = np.array([self.search_space.to_vector(self.cell(row)) for row in range(len(self))])
            self._vectors = (vectors - low) / span
            self._vector_low, self._vector_span = low, span
        candidates = np.flatnonzero(allowed)
        if candidates.size == 0:
            return -1
        point = (self.search_space.to_vector(config) - self._vector_low) / self._vector_span
        distance = ((self._vectors[candidates] - point) ** 2).sum(axis=1)
        return int(candidates[int(np.argmin(distance))])

    def config_row(self, config: Any) -> int:
        """Row of a validated configuration, -1 when the table lacks it."""
        return self.row_of(self.search_space.key(config))


class TableProblem:
    """Objectives of cells of one table, evaluated by querying the :class:`~ecnas.Benchmark`.

    Args:
        bench: an open benchmark.
        objectives: objective names (see :data:`OBJECTIVES`); None = :data:`DEFAULT_OBJECTIVES`.
    """

    def __init__(self, bench: Benchmark, objectives: Sequence[str] | None = None) -> None:
        self.bench = bench
        self.objectives = check_objectives(objectives)
        self.space = TableSpace.of(bench)
        self._objectives = [OBJECTIVES[name] for name in self.objectives]

    @property
    def n_obj(self) -> int:
        """Number of objectives."""
        return len(self.objectives)

    @property
    def metrics(self) -> tuple[str, ...]:
        """Table metrics the objectives are computed from."""
        out: list[str] = []
        for objective in self._objectives:
            metric = objective.stored_metric
            if metric is not None and metric not in out:
                out.append(metric)
        return tuple(out)

    def available(self, budget: int) -> np.ndarray:
        """Rows that can be evaluated at ``budget`` (every objective recorded)."""
        return self.space.available(budget, self.metrics)

    def available_mask(self, budget: int) -> np.ndarray:
        """Boolean mask over rows of :meth:`available` (read-only)."""
        return self.space.available_mask(budget, self.metrics)

    def evaluate(self, hashes: Sequence[str] | np.ndarray, budget: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Query cells at one budget.

        Returns:
            ``(F, metrics)``: `n x m` objective values and the :data:`HISTORY_METRICS` columns.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            columns = self.bench.query_many(np.asarray(hashes, dtype="S32"), budget=budget)
        F = np.column_stack([objective.values(columns) for objective in self._objectives])
        metrics = {name: np.asarray(columns[name], dtype=np.float64) for name in HISTORY_METRICS}
        return F, metrics


def reference_point(
    bench: Benchmark, objectives: Sequence[str] | None = None, budget: int | None = None
) -> list[float]:
    """A fixed hypervolume reference point for a table: errors at 1.0, other objectives at 1.1 × their maximum.

    The maximum is taken over every cell of the table at ``budget`` (default: the largest), so the point
    depends only on the table, never on a run. Reading all cells does not change ``bench.counters``.

    Returns:
        One value per objective.
    """
    names = check_objectives(objectives)
    budget = bench.budgets[-1] if budget is None else int(budget)
    saved = dict(bench.counters)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            columns = bench.query_many(bench.hash_array, budget=budget)
    finally:
        bench.counters.update(saved)
    point = []
    for name in names:
        objective = OBJECTIVES[name]
        if objective.bound is not None:
            point.append(float(objective.bound))
            continue
        values = objective.values(columns)
        values = values[np.isfinite(values)]
        top = float(values.max()) if values.size else 1.0
        point.append(top * 1.1 if top > 0 else 1.0)
    return point


def describe_table(bench: Benchmark) -> dict[str, Any]:
    """A short JSON-able description of a table for result files."""
    return {
        "path": str(bench.path),
        "name": bench.path.name,
        "num_cells": len(bench),
        "budgets": list(bench.budgets),
        # identifies the table's content, not just its path (a rebuilt table at the same path differs)
        "created": bench.info()["provenance"].get("created"),
        # which values the run saw: the table as stored, or every cell by its surrogate (ecnas.benchmark.VIEWS)
        "view": getattr(bench, "view", "measured"),
        "noise": bool(getattr(bench, "noise", False)),
    }
