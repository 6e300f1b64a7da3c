"""The search problem behind every optimizer: a table's cells as the search space, objectives as queries.

:class:`TableSpace` holds the cell structure of a table (matrices, ops, parameters) as arrays, read once per
table file and cached per process; it never reads objective values, so an optimizer cannot peek at
results it has not paid for. :class:`TableProblem` turns cells into objective vectors through
:meth:`ecnas.Benchmark.query_many`, so the benchmark's evaluation counters stay honest.

The search space at a budget is the set of table cells with results at that budget. A cell that is not a
valid NB101 cell never gets this far (``CellSpec`` rejects it), so it can never be scored, let alone as
zero energy (EC-NAS's defect).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas.errors import InvalidCellError
from ecnas.spaces.nb101.cells import MAX_EDGES, CellSpec
from ecnas.table import METRICS, open_table, read_dataset

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark

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


@dataclass(frozen=True)
class Objective:
    """One minimised objective computed from a query result.

    Attributes:
        name: Identifier used in ``objectives=`` and in result files.
        metric: Key of :meth:`ecnas.Benchmark.query_many`'s result it is computed from.
        complement: True for ``1 - metric`` (accuracies become errors).
        label: Axis label for plots.
        bound: A natural upper bound for a hypervolume reference point (1.0 for errors), else None.
    """

    name: str
    metric: str
    complement: bool
    label: str
    bound: float | None = None

    def values(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """Objective values from query columns."""
        raw = np.asarray(columns[self.metric], dtype=np.float64)
        return 1.0 - raw if self.complement else raw


#: Every objective an optimizer can minimise, by name.
OBJECTIVES: dict[str, Objective] = {
    o.name: o
    for o in (
        Objective("validation_error", "validation_accuracy", True, "1 − $P_v$", 1.0),
        Objective("test_error", "test_accuracy", True, "1 − $P_t$", 1.0),
        Objective("train_error", "train_accuracy", True, "1 − train accuracy", 1.0),
        Objective("energy_kwh", "energy_kwh", False, "E (kWh)"),
        Objective("total_energy_kwh", "total_energy_kwh", False, "total E (kWh)"),
        Objective("training_time", "training_time", False, "T (s)"),
        Objective("co2eq_g", "co2eq_g", False, "CO2 (g)"),
        Objective("trainable_parameters", "trainable_parameters", False, "|θ|"),
    )
}
#: EC-NAS's objectives: (1 − validation accuracy, training energy in kWh), both minimised.
DEFAULT_OBJECTIVES: tuple[str, ...] = ("validation_error", "energy_kwh")
#: Query columns every history keeps, whatever the objectives (EC-NAS Table 2 needs |θ|, T, P_v, E).
HISTORY_METRICS: tuple[str, ...] = (
    "trainable_parameters",
    "training_time",
    "validation_accuracy",
    "test_accuracy",
    "energy_kwh",
)


def check_objectives(objectives: Sequence[str] | None) -> tuple[str, ...]:
    """Validate objective names; ``None`` gives :data:`DEFAULT_OBJECTIVES`.

    Raises:
        ValueError: unknown, repeated or too few names; the message lists the valid ones.
    """
    if objectives is None:
        return DEFAULT_OBJECTIVES
    if isinstance(objectives, str):
        objectives = [part.strip() for part in objectives.split(",") if part.strip()]
    names = tuple(str(name) for name in objectives)
    unknown = [name for name in names if name not in OBJECTIVES]
    if unknown:
        raise ValueError(f"unknown objective(s) {unknown}; valid objectives are {sorted(OBJECTIVES)}")
    if len(names) < 2 or len(set(names)) != len(names):
        raise ValueError(f"objectives must name at least two distinct objectives, got {list(names)}")
    return names


_SPACE_CACHE: dict[tuple[str, int, int], TableSpace] = {}


def _file_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path.resolve()), stat.st_mtime_ns, stat.st_size)


class TableSpace:
    """Structure of every cell in a table: the search space of the optimizers.

    Use :meth:`of` to share one instance per table file in a process.

    Args:
        path: an ecnas table.

    Attributes:
        hashes: `N` sorted `S32` hashes (row order of the table).
        matrices: `N x 7 x 7` uint8 adjacency, zero-padded.
        op_codes: `N x 7` int8 op codes (:data:`ecnas.spaces.nb101.cells.FEATURE_OP_CODES`, 0 = padding).
        num_vertices: `N` vertices of each pruned cell.
        parameters: `N` trainable parameters.
        budgets: the table's budgets.
        max_vertices: the largest cell in the table; mutations never grow beyond it.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        with open_table(self.path) as h5:
            self.hashes: np.ndarray = read_dataset(h5, "cells/hash")
            self.matrices: np.ndarray = read_dataset(h5, "cells/matrix")
            self.op_codes: np.ndarray = read_dataset(h5, "cells/op_codes")
            self.parameters: np.ndarray = read_dataset(h5, "cells/trainable_parameters").astype(np.int64)
            self.budgets: tuple[int, ...] = tuple(int(b) for b in h5.attrs["budgets"])
        self.num_vertices = np.count_nonzero(self.op_codes, axis=1).astype(np.int64)
        self.max_vertices = int(self.num_vertices.max())
        self.max_edges = MAX_EDGES
        self._available: dict[tuple[int, tuple[str, ...]], np.ndarray] = {}
        self._available_mask: dict[tuple[int, tuple[str, ...]], np.ndarray] = {}
        self._spec_cache: dict[bytes, tuple[int, str | None]] = {}

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> TableSpace:
        """The cached space of a table file (re-read when the file changes)."""
        key = _file_key(Path(path))
        space = _SPACE_CACHE.get(key)
        if space is None:
            if len(_SPACE_CACHE) >= 4:
                _SPACE_CACHE.clear()
            space = _SPACE_CACHE[key] = cls(path)
        return space

    def __len__(self) -> int:
        return len(self.hashes)

    def available(self, budget: int, metrics: Sequence[str]) -> np.ndarray:
        """Rows with a recorded value of every metric at ``budget`` (NaN rows are not in the space).

        Reads only which entries are present, straight from the file; it does not count as a query.
        """
        key = (int(budget), tuple(sorted(m for m in metrics if m in METRICS)))
        rows = self._available.get(key)
        if rows is None:
            b = self.budgets.index(int(budget))
            present = np.ones(len(self), dtype=bool)
            with open_table(self.path) as h5:
                for metric in key[1]:
                    block = read_dataset(h5, f"metrics/{metric}", np.s_[:, b, :])
                    present &= np.isfinite(block).any(axis=1)
            rows = self._available[key] = np.flatnonzero(present)
            present.setflags(write=False)
            self._available_mask[key] = present
        return rows

    def available_mask(self, budget: int, metrics: Sequence[str]) -> np.ndarray:
        """Boolean mask over rows of :meth:`available` (read-only)."""
        self.available(budget, metrics)
        return self._available_mask[(int(budget), tuple(sorted(m for m in metrics if m in METRICS)))]

    def row_of(self, cell_hash: str) -> int:
        """Row of a hash, or -1 when the table lacks it."""
        encoded = cell_hash.encode("ascii")
        i = int(self.hashes.searchsorted(encoded))
        return i if i < len(self.hashes) and self.hashes[i] == encoded else -1

    def hash(self, row: int) -> str:
        """The hash of a row as str."""
        return self.hashes[row].decode("ascii")

    def cell(self, row: int) -> CellSpec:
        """The CellSpec of a row."""
        return CellSpec.from_padded(self.matrices[row], self.op_codes[row], self.hash(row))

    def spec_row(self, matrix: np.ndarray, ops: Sequence[str]) -> tuple[int, str | None]:
        """Validate ``(matrix, ops)`` within this table's limits; return ``(row, hash)``.

        Returns:
            ``(row, hash)`` of a valid cell in the table; ``(-1, hash)`` for a valid cell the table lacks;
            ``(-1, None)`` for an invalid cell.
        """
        cache_key = np.asarray(matrix, dtype=np.int8).tobytes() + "|".join(ops).encode()
        found = self._spec_cache.get(cache_key)
        if found is not None:
            return found
        try:
            spec = CellSpec(matrix, ops, max_vertices=self.max_vertices, max_edges=self.max_edges)
        except InvalidCellError:
            found = (-1, None)
        else:
            key = spec.hash
            found = (self.row_of(key), key)
        if len(self._spec_cache) > 500_000:
            self._spec_cache.clear()
        self._spec_cache[cache_key] = found
        return found


class TableProblem:
    """Objectives of cells of one table, evaluated by querying the :class:`~ecnas.Benchmark`.

    Args:
        bench: an open benchmark.
        objectives: objective names (see :data:`OBJECTIVES`); None = :data:`DEFAULT_OBJECTIVES`.
    """

    def __init__(self, bench: Benchmark, objectives: Sequence[str] | None = None) -> None:
        self.bench = bench
        self.objectives = check_objectives(objectives)
        self.space = TableSpace.of(bench.path)
        self._objectives = [OBJECTIVES[name] for name in self.objectives]

    @property
    def n_obj(self) -> int:
        """Number of objectives."""
        return len(self.objectives)

    @property
    def metrics(self) -> tuple[str, ...]:
        """Table metrics the objectives are computed from."""
        needed = {"co2eq_g": "energy_kwh", "trainable_parameters": None}
        out = []
        for objective in self._objectives:
            metric = needed.get(objective.metric, objective.metric)
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
    }
