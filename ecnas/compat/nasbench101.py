"""NAS-Bench-101 / EC-NAS-Bench's ``nasbench.api`` over an ecnas table: port client code by changing one import.

    # from nasbench import api
    from ecnas.compat import nasbench101 as api

    nasbench = api.NASBench("table.h5")          # an ecnas table (None: the embedded default table)
    spec = api.ModelSpec(matrix=[[0, 1, 1], [0, 0, 1], [0, 0, 0]], ops=[api.INPUT, api.CONV3X3, api.OUTPUT])
    if nasbench.is_valid(spec):
        data = nasbench.query(spec)              # one random repeat at 108 epochs, as NB101
        data["validation_accuracy"], data["energy"]

What is the same as NB101: :class:`ModelSpec` (pruning, ``valid_spec``, ``hash_spec``), ``query`` keys
(``module_adjacency``, ``module_operations``, ``trainable_parameters``, ``training_time``, ``train_accuracy``,
``validation_accuracy``, ``test_accuracy``), a random repeat per query (seeded by ``NASBench(seed=...)``), the
budget counters (``training_time`` and epochs of every query), ``hash_iterator``, ``get_metrics_from_hash`` /
``get_metrics_from_spec`` (``final_*`` keys per repeat per epoch budget), ``valid_epochs``, ``OutOfDomainError``
for invalid specs and epochs.

EC-NAS-Bench's energy keys are added to ``query`` and to ``final_*``: ``energy`` (kWh of the training run, as
the table records it), ``co2eq`` (g CO2-eq at the table's carbon intensity), ``energy_method`` (says whether the
energy was measured or estimated).

What ecnas tables lack: **halfway metrics**. NB101 records each run at half its epochs (``stop_halfway=True``,
``halfway_*`` keys); ecnas tables store one result per budget, so ``query(..., stop_halfway=True)`` raises
:class:`HalfwayMetricsUnavailableError` (query the next lower budget of ``valid_epochs`` instead) and
``get_metrics_from_hash`` has no ``halfway_*`` keys. A valid spec that the table does not hold (e.g. a 7-vertex
cell in a 4-vertex table) raises :class:`OutOfDomainError` naming the table, where NB101 (which holds every
cell) never does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from ecnas.errors import EcnasError, InvalidCellError
from ecnas.spaces.nb101.cells import CellSpec

__all__ = [
    "CONV1X1",
    "CONV3X3",
    "INPUT",
    "MAXPOOL3X3",
    "OUTPUT",
    "HalfwayMetricsUnavailableError",
    "ModelSpec",
    "NASBench",
    "OutOfDomainError",
]

INPUT = "input"
OUTPUT = "output"
#: NB101/EC-NAS result key → ecnas query column (``energy``/``co2eq`` are EC-NAS's energy keys).
_RESULT_KEYS = {
    "training_time": "training_time",
    "train_accuracy": "train_accuracy",
    "validation_accuracy": "validation_accuracy",
    "test_accuracy": "test_accuracy",
    "energy": "energy_kwh",
    "co2eq": "co2eq_g",
}


def _results(row: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """An ecnas query row under NB101/EC-NAS's keys (``final_`` in ``computed_stat``)."""
    return {prefix + key: float(row[column]) for key, column in _RESULT_KEYS.items()}
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"


class OutOfDomainError(EcnasError, ValueError):
    """A spec or epoch budget outside the table's domain (NB101's ``api.OutOfDomainError``)."""


class HalfwayMetricsUnavailableError(EcnasError, NotImplementedError):
    """ecnas tables store no halfway metrics (NB101's ``stop_halfway=True``)."""


class ModelSpec:
    """NB101's ``api.ModelSpec``: a cell as an adjacency matrix and op labels; never raises on an invalid graph.

    Args:
        matrix: `V x V` upper-triangular 0/1 adjacency (list of lists or array).
        ops: `V` op labels, ``input`` first and ``output`` last.
        data_format: kept for NB101 compatibility (unused).

    Attributes:
        original_matrix, original_ops: as given.
        matrix, ops: pruned (vertices on no input→output path removed); None when the spec is invalid.
        valid_spec: False when the graph is not a valid NB101 cell (limits are checked by ``NASBench.is_valid``).
    """

    def __init__(self, matrix: Any, ops: Any, data_format: str = "channels_last") -> None:
        self.original_matrix = np.array(matrix, copy=True)
        self.original_ops = list(ops)
        self.data_format = data_format
        self.matrix: np.ndarray | None = None
        self.ops: list[str] | None = None
        self.valid_spec = True
        self._cell: CellSpec | None = None
        try:
            self._cell = CellSpec(matrix, ops, max_vertices=len(self.original_ops), max_edges=10**6)
            self.matrix = np.array(self._cell.matrix)
            self.ops = list(self._cell.ops)
        except (InvalidCellError, ValueError, TypeError):
            self.valid_spec = False

    def hash_spec(self, canonical_ops: Any = None) -> str:
        """The spec's NB101 hash (``canonical_ops`` ignored: the labels are NB101's)."""
        if self._cell is None:
            raise OutOfDomainError("an invalid spec has no hash")
        return self._cell.hash

    def __repr__(self) -> str:
        return f"ModelSpec(matrix={self.original_matrix.tolist()}, ops={self.original_ops})"


class NASBench:
    """NB101's ``api.NASBench`` over an ecnas table.

    Args:
        dataset_file: an ecnas table (``.h5``); None = the embedded default table. (Convert NB101 / EC-NAS
            TFRecords once with ``ecnas import``.)
        seed: seed of the repeat drawn by each query (NB101 draws from Python's global ``random``).

    Attributes:
        valid_epochs: the table's budgets.
        config: NB101's config keys (``module_vertices``, ``max_edges``, ``available_ops``).
    """

    def __init__(self, dataset_file: str | os.PathLike[str] | None = None, seed: int | None = None) -> None:
        from ecnas.benchmark import Benchmark

        self._bench = Benchmark(dataset_file, seed=seed) if seed is not None else Benchmark(dataset_file)
        space = self._bench.space
        if type(space).__name__ != "NB101Space":
            raise ValueError(f"{self._bench.path.name} holds the {space.name!r} space; the NB101 API needs nb101")
        self.valid_epochs = set(self._bench.budgets)
        self.config = {
            "module_vertices": space.max_vertices,
            "max_edges": space.max_edges,
            "available_ops": [CONV3X3, CONV1X1, MAXPOOL3X3],
            "num_repeats": self._bench.info().get("repeats"),
        }
        self.reset_budget_counters()

    @property
    def benchmark(self) -> Any:
        """The underlying :class:`ecnas.Benchmark`."""
        return self._bench

    # ------------------------------------------------------------------ NB101 API
    def is_valid(self, model_spec: ModelSpec) -> bool:
        """True when the spec is a valid cell of the space (vertex, edge and op limits); as NB101."""
        try:
            self._cell(model_spec)
        except OutOfDomainError:
            return False
        return True

    def query(self, model_spec: ModelSpec, epochs: int = 108, stop_halfway: bool = False) -> dict[str, Any]:
        """Metrics of one random repeat of the spec at ``epochs``; adds its time and epochs to the counters.

        Raises:
            OutOfDomainError: invalid spec, ``epochs`` not in :attr:`valid_epochs`, or a cell the table lacks.
            HalfwayMetricsUnavailableError: ``stop_halfway=True`` (ecnas tables record no halfway metrics).
        """
        if epochs not in self.valid_epochs:
            raise OutOfDomainError(f"invalid number of epochs {epochs}, must be one of {sorted(self.valid_epochs)}")
        if stop_halfway:
            raise HalfwayMetricsUnavailableError(
                "ecnas tables record no halfway metrics (NB101's stop_halfway=True); query a lower budget of "
                f"valid_epochs {sorted(self.valid_epochs)} instead"
            )
        cell = self._cell(model_spec)
        try:
            row = self._bench.query(cell, budget=epochs, repeat="random")
        except KeyError as error:
            raise OutOfDomainError(f"{self._bench.path.name}: {error.args[0] if error.args else error}") from None
        self._total_time += float(row["training_time"])
        self._total_epochs += epochs
        return {
            "module_adjacency": np.array(cell.matrix),
            "module_operations": list(cell.ops),
            "trainable_parameters": int(row["trainable_parameters"]),
            **_results(row),
            "energy_method": row["energy_method"],
        }

    def get_budget_counters(self) -> tuple[float, int]:
        """``(total training time in s, total epochs)`` of every query since the last reset."""
        return self._total_time, self._total_epochs

    def reset_budget_counters(self) -> None:
        """Set both budget counters to zero."""
        self._total_time, self._total_epochs = 0.0, 0

    def hash_iterator(self) -> Iterator[str]:
        """Every cell hash of the table."""
        return iter(self._bench.hash_array.astype("U32").tolist())

    def get_metrics_from_hash(self, module_hash: str) -> tuple[dict[str, Any], dict[int, list[dict[str, float]]]]:
        """``(fixed, computed)`` statistics of a cell, not counted (as NB101).

        ``fixed``: ``module_adjacency``, ``module_operations``, ``trainable_parameters``. ``computed``: epochs →
        one dict per repeat with ``final_training_time``, ``final_train_accuracy``, ``final_validation_accuracy``,
        ``final_test_accuracy``, ``final_energy``, ``final_co2eq`` (no ``halfway_*``: ecnas records none).

        Raises:
            OutOfDomainError: the hash is not in the table.
        """
        bench = self._bench
        saved = dict(bench.counters)
        try:
            cell = bench.cell(module_hash)
            computed: dict[int, list[dict[str, float]]] = {}
            for epochs in bench.budgets:
                runs = []
                for repeat in range(int(self.config["num_repeats"] or 1)):
                    try:
                        row = bench.query(module_hash, budget=epochs, repeat=repeat)
                    except KeyError:
                        continue
                    runs.append(_results(row, "final_"))
                if runs:
                    computed[epochs] = runs
            parameters = int(bench.query(module_hash)["trainable_parameters"])
        except (KeyError, ValueError) as error:
            message = error.args[0] if error.args else error
            raise OutOfDomainError(f"{bench.path.name}: no cell {module_hash!r} ({message})") from None
        finally:
            bench.counters.update(saved)
        fixed = {
            "module_adjacency": np.array(cell.matrix),
            "module_operations": list(cell.ops),
            "trainable_parameters": parameters,
        }
        return fixed, computed

    def get_metrics_from_spec(self, model_spec: ModelSpec) -> tuple[dict[str, Any], dict[int, list[dict[str, float]]]]:
        """:meth:`get_metrics_from_hash` of a spec (OutOfDomainError when invalid)."""
        return self.get_metrics_from_hash(self._cell(model_spec).hash)

    # ------------------------------------------------------------------ helpers
    def _cell(self, model_spec: ModelSpec) -> CellSpec:
        if not isinstance(model_spec, ModelSpec):
            raise TypeError(f"model_spec must be an api.ModelSpec, got {type(model_spec).__name__}")
        if not model_spec.valid_spec:
            raise OutOfDomainError("invalid spec: its graph has no valid input→output cell")
        try:
            return self._bench.space.validate(CellSpec(model_spec.original_matrix, model_spec.original_ops))
        except (InvalidCellError, ValueError) as error:
            raise OutOfDomainError(f"invalid spec: {error}") from None
