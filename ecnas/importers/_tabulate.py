"""Rows → table arrays in one streaming pass, a few hundred bytes per record.

NB101's files hold 1.3–5 million records; keeping every decoded record as Python objects would take
gigabytes. :class:`Accumulator` keeps each record as packed doubles (``array('d')``) and builds the
`[cells, budgets, repeats]` arrays at the end. Repeat i of a (cell, budget) is its i-th record in
file order.
"""

from __future__ import annotations

import hashlib
import math
import os
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas.errors import CorruptRecordError
from ecnas.space import FEATURE_OP_CODES, MAX_VERTICES

if TYPE_CHECKING:
    import h5py

    from ecnas.importers._base import Row
    from ecnas.table import TableContents

__all__ = ["EXTRAS_GROUP", "Accumulator", "ImportedTable"]

#: HDF5 group holding the per-record fields that have no column in the table.
EXTRAS_GROUP = "records"
_NAN = math.nan


@dataclass
class ImportedTable:
    """An imported file as table arrays, before writing.

    Attributes:
        contents: the table (rows sorted by hash); provenance filled by the importer.
        record_index: `N x B x R` int64 position of each record in the file (-1: absent).
        extras: record-level fields without a table column, name → `N x B x R` float64 (NaN: absent).
        evaluations: per-evaluation fields, name → `N x B x R x E` float64 (NaN: absent).
        units: unit of every extras/evaluations field.
        devices: device kind → name → number of records naming it.
        num_records: records read.
    """

    contents: TableContents
    record_index: np.ndarray
    extras: dict[str, np.ndarray]
    evaluations: dict[str, np.ndarray]
    units: dict[str, str]
    devices: dict[str, Counter[str]] = field(default_factory=dict)
    num_records: int = 0

    def write(self, path: str | os.PathLike[str], *, description: str = "") -> Path:
        """Write the table atomically, with the per-record fields in the ``records`` group."""
        from ecnas.table import write_table

        return write_table(path, self.contents, extras=self._write_extras(description))

    def _write_extras(self, description: str) -> Callable[[h5py.File], None]:
        def write(h5: h5py.File) -> None:
            group = h5.create_group(EXTRAS_GROUP)
            group.attrs["description"] = (
                f"per-record fields of the imported file with no table column{description}; [cells, budgets, "
                "repeats] (+ [evaluations]) in table order, NaN where absent"
            )
            _dataset(group, "record_index", self.record_index, "record position in the origin file (-1: absent)")
            for name, values in self.extras.items():
                _dataset(group, name, values, self.units[name])
            if self.evaluations:
                sub = group.create_group("evaluations")
                for name, values in self.evaluations.items():
                    _dataset(sub, name, values, self.units[name])

        return write


def _dataset(group: h5py.Group, name: str, values: np.ndarray, unit: str) -> None:
    chunks = (min(32768, values.shape[0]), *values.shape[1:]) if values.size else None
    dataset = group.create_dataset(
        name, data=values, chunks=chunks, compression="gzip", compression_opts=4, shuffle=True, fletcher32=True
    )
    dataset.attrs["unit"] = unit
    dataset.attrs["sha256"] = hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()


class Accumulator:
    """Collects validated rows into packed per-record columns.

    Args:
        metrics: table metric names, in storage order.
        extra_fields: record-level extra field → unit.
        evaluation_fields: per-evaluation field → unit.
    """

    def __init__(
        self, metrics: tuple[str, ...], extra_fields: Mapping[str, str], evaluation_fields: Mapping[str, str]
    ) -> None:
        self._metrics = metrics
        self._extra_names = tuple(extra_fields)
        self._evaluation_names = tuple(evaluation_fields)
        self._units = {**extra_fields, **evaluation_fields}
        self._cell_ids: dict[str, int] = {}
        self._cells: list[tuple[str, np.ndarray, tuple[str, ...]]] = []  # hash, pruned matrix, ops
        self._parameters: dict[int, int] = {}
        self._repeat_counts: dict[tuple[int, int], int] = {}
        self._cell = array("q")
        self._epochs = array("q")
        self._repeat = array("q")
        self._index = array("q")
        self._values = array("d")  # metrics then extras, per record
        self._evaluation_counts = array("q")
        self._evaluation_values = array("d")
        self.devices: dict[str, Counter[str]] = {}

    def add(self, row: Row) -> None:
        """Append one validated row (its ``cell`` must be set)."""
        record = row.record
        cell = self._cell_ids.get(record.hash)
        if cell is None:
            cell = self._cell_ids[record.hash] = len(self._cells)
            spec = row.cell
            assert spec is not None, "rows must be validated (Importer.load/iter_validated) before tabulating"
            self._cells.append((record.hash, spec.matrix, spec.ops))
        if row.trainable_parameters is not None:
            self._parameters.setdefault(cell, row.trainable_parameters)
        key = (cell, record.epochs)
        repeat = self._repeat_counts.get(key, 0)
        self._repeat_counts[key] = repeat + 1
        self._cell.append(cell)
        self._epochs.append(record.epochs)
        self._repeat.append(repeat)
        self._index.append(record.index)
        metrics, extras = row.metrics, row.extras
        self._values.extend([metrics.get(name, _NAN) for name in self._metrics])
        self._values.extend([extras.get(name, _NAN) for name in self._extra_names])
        self._evaluation_counts.append(len(row.evaluations))
        for evaluation in row.evaluations:
            self._evaluation_values.extend([evaluation.get(name, _NAN) for name in self._evaluation_names])
        for kind, names in row.devices.items():
            self.devices.setdefault(kind, Counter()).update(names)

    def __len__(self) -> int:
        return len(self._cell)

    def build(self, path: Path) -> ImportedTable:
        """The table arrays (rows sorted by hash; provenance left for the importer).

        Raises:
            CorruptRecordError: no records, or a cell without a trainable-parameter count.
        """
        from ecnas.table import SOURCE_IMPORTED, TableContents

        count = len(self)
        if count == 0:
            raise CorruptRecordError(f"{path}: no records: the file is empty or corrupt")
        missing = [h for cell, (h, _, _) in enumerate(self._cells) if cell not in self._parameters]
        if missing:
            raise CorruptRecordError(f"{path}: no record of cell {missing[0]} gives its trainable parameters")
        hashes = [h for h, _, _ in self._cells]
        order = sorted(range(len(hashes)), key=hashes.__getitem__)
        rank = np.empty(len(hashes), dtype=np.int64)
        rank[order] = np.arange(len(hashes))
        budgets = tuple(sorted(set(self._epochs)))
        n, b, r = len(hashes), len(budgets), max(self._repeat_counts.values())
        i = rank[np.frombuffer(self._cell, dtype=np.int64)]
        j = np.searchsorted(np.asarray(budgets), np.frombuffer(self._epochs, dtype=np.int64))
        k = np.frombuffer(self._repeat, dtype=np.int64)
        width = len(self._metrics) + len(self._extra_names)
        values = np.frombuffer(self._values, dtype=np.float64).reshape(count, width)

        def scatter(column: int) -> np.ndarray:
            out = np.full((n, b, r), np.nan)
            out[i, j, k] = values[:, column]
            return out

        metrics = {name: scatter(c) for c, name in enumerate(self._metrics)}
        extras = {name: scatter(len(self._metrics) + c) for c, name in enumerate(self._extra_names)}
        record_index = np.full((n, b, r), -1, dtype=np.int64)
        record_index[i, j, k] = np.frombuffer(self._index, dtype=np.int64)
        evaluations = self._evaluations(i, j, k, (n, b, r))

        matrices = np.zeros((n, MAX_VERTICES, MAX_VERTICES), dtype=np.uint8)
        op_codes = np.zeros((n, MAX_VERTICES), dtype=np.int8)
        parameters = np.zeros(n, dtype=np.int64)
        for cell, (_, matrix, ops) in enumerate(self._cells):
            row = rank[cell]
            size = len(ops)
            matrices[row, :size, :size] = matrix
            op_codes[row, :size] = [FEATURE_OP_CODES[op] for op in ops]
            parameters[row] = self._parameters[cell]
        contents = TableContents(
            hashes=np.array(sorted(hashes), dtype="S32"),
            budgets=budgets,
            repeats=r,
            matrices=matrices,
            op_codes=op_codes,
            trainable_parameters=parameters,
            source=np.full(n, SOURCE_IMPORTED, dtype=np.uint8),
            metrics=metrics,
        )
        return ImportedTable(
            contents=contents,
            record_index=record_index,
            extras=extras,
            evaluations=evaluations,
            units=dict(self._units),
            devices=self.devices,
            num_records=count,
        )

    def _evaluations(
        self, i: np.ndarray, j: np.ndarray, k: np.ndarray, shape: tuple[int, int, int]
    ) -> dict[str, np.ndarray]:
        if not self._evaluation_names:
            return {}
        counts = np.frombuffer(self._evaluation_counts, dtype=np.int64)
        width = int(counts.max()) if counts.size else 0
        fields = len(self._evaluation_names)
        flat = np.frombuffer(self._evaluation_values, dtype=np.float64).reshape(-1, fields)
        # position of each evaluation: its record's slot and its rank within the record
        record = np.repeat(np.arange(counts.size), counts)
        within = np.arange(flat.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
        out = {}
        for c, name in enumerate(self._evaluation_names):
            values = np.full((*shape, width), np.nan)
            values[i[record], j[record], k[record], within] = flat[:, c]
            out[name] = values
        return out


def tabulate(rows: Iterable[Row], accumulator: Accumulator, path: Path) -> ImportedTable:
    """Feed rows to an accumulator and build the table arrays."""
    for row in rows:
        accumulator.add(row)
    return accumulator.build(path)


def provenance_base(importer: Any, path: Path, table: ImportedTable) -> dict[str, Any]:
    """The provenance entries every importer writes."""
    from ecnas import __version__
    from ecnas.importers._crc32c import BACKEND

    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 22), b""):
            digest.update(block)
    op_counts = np.count_nonzero(table.contents.op_codes, axis=1)
    return {
        "format": importer.format,
        "importer": importer.name,
        "origin_file": {"name": path.name, "sha256": digest.hexdigest(), "size_bytes": path.stat().st_size},
        "num_records": table.num_records,
        "search_space": "nasbench101",
        "max_vertices": int(op_counts.max()),
        "dataset": "cifar10",
        "repeat_order": "repeat i = the i-th record of a (hash, budget) in file order",
        "software": {"ecnas": __version__, "numpy": np.__version__, "crc32c": BACKEND},
    }
