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
from ecnas.spaces import SearchSpace

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
    """Collects validated rows into packed per-record columns (one ``array('d')`` per field).

    Per cell it keeps the key and the space's columns as packed bytes (NB101: the pruned matrix, 49 bytes,
    and op codes, 7 bytes); per record the cell, budget, repeat and file position plus one double per field.
    :meth:`build` scatters one column at a time into its `N x B x R` array and frees the packed column, so the
    peak memory is about one copy of the data.

    Args:
        metrics: table metric names, in storage order.
        extra_fields: record-level extra field → unit.
        evaluation_fields: per-evaluation field → unit.
        space: the search space of the imported configurations.
    """

    def __init__(
        self,
        metrics: tuple[str, ...],
        extra_fields: Mapping[str, str],
        evaluation_fields: Mapping[str, str],
        space: SearchSpace,
    ) -> None:
        self._units = {**extra_fields, **evaluation_fields}
        self._space = space
        self._hashes: list[str] = []
        self._cell_ids: dict[str, int] = {}
        self._columns = {column.name: bytearray() for column in space.columns}
        self._parameters = array("q")
        self._repeat_counts: dict[int, int] = {}
        self._cell = array("q")
        self._epochs = array("q")
        self._repeat = array("q")
        self._index = array("q")
        self._metrics = {name: array("d") for name in metrics}
        self._extras = {name: array("d") for name in extra_fields}
        self._evaluation_counts = array("q")
        self._evaluations = {name: array("d") for name in evaluation_fields}
        self.devices: dict[str, Counter[str]] = {}

    def add(self, row: Row) -> None:
        """Append one validated row (``row.cell`` must be set on the first row of each cell)."""
        record = row.record
        cell = self._cell_ids.get(record.hash)
        if cell is None:
            spec = row.cell
            if spec is None:
                raise ValueError(f"row of cell {record.hash} has no validated cell; use Importer.iter_validated")
            cell = self._cell_ids[record.hash] = len(self._hashes)
            self._hashes.append(record.hash)
            for name, values in self._space.encode([spec]).items():
                self._columns[name] += values.tobytes()
            self._parameters.append(-1)
        if row.trainable_parameters is not None and self._parameters[cell] < 0:
            self._parameters[cell] = row.trainable_parameters
        key = cell << 32 | record.epochs
        repeat = self._repeat_counts.get(key, 0)
        self._repeat_counts[key] = repeat + 1
        self._cell.append(cell)
        self._epochs.append(record.epochs)
        self._repeat.append(repeat)
        self._index.append(record.index)
        for fields, values in ((self._metrics, row.metrics), (self._extras, row.extras)):
            for name, column in fields.items():
                column.append(values.get(name, _NAN))
        self._evaluation_counts.append(len(row.evaluations))
        for evaluation in row.evaluations:
            for name, column in self._evaluations.items():
                column.append(evaluation.get(name, _NAN))
        for kind, names in row.devices.items():
            self.devices.setdefault(kind, Counter()).update(names)

    def __len__(self) -> int:
        return len(self._cell)

    def build(self, path: Path) -> ImportedTable:
        """The table arrays (rows sorted by hash; provenance left for the importer). Empties the accumulator.

        Raises:
            CorruptRecordError: no records, or a cell without a trainable-parameter count.
        """
        from ecnas.table import SOURCE_IMPORTED, TableContents

        count = len(self)
        if count == 0:
            raise CorruptRecordError(f"{path}: no records: the file is empty or corrupt")
        parameters = np.frombuffer(self._parameters, dtype=np.int64)
        if (parameters < 0).any():
            missing = self._hashes[int(np.flatnonzero(parameters < 0)[0])]
            raise CorruptRecordError(f"{path}: no record of cell {missing} gives its trainable parameters")
        order = np.argsort(np.array(self._hashes, dtype="S32"), kind="stable")
        rank = np.empty(order.size, dtype=np.int64)
        rank[order] = np.arange(order.size)
        epochs = np.frombuffer(self._epochs, dtype=np.int64)
        budgets = tuple(int(b) for b in np.unique(epochs))
        n, b, r = order.size, len(budgets), max(self._repeat_counts.values())
        i = rank[np.frombuffer(self._cell, dtype=np.int64)]
        j = np.searchsorted(np.asarray(budgets), epochs)
        k = np.frombuffer(self._repeat, dtype=np.int64).copy()

        def scatter(columns: dict[str, array]) -> dict[str, np.ndarray]:
            out = {}
            for name in list(columns):
                values = np.full((n, b, r), np.nan)
                values[i, j, k] = np.frombuffer(columns[name], dtype=np.float64)
                columns[name] = array("d")  # free the packed column before the next one
                out[name] = values
            return out

        metrics = scatter(self._metrics)
        extras = scatter(self._extras)
        record_index = np.full((n, b, r), -1, dtype=np.int64)
        record_index[i, j, k] = np.frombuffer(self._index, dtype=np.int64)
        evaluations = self._scatter_evaluations(i, j, k, (n, b, r))
        columns = {
            c.name: np.frombuffer(bytes(self._columns[c.name]), dtype=c.dtype).reshape(-1, *c.shape)
            for c in self._space.columns
        }
        contents = TableContents(
            hashes=np.array(self._hashes, dtype="S32")[order],
            budgets=budgets,
            repeats=r,
            space=self._space.name,
            columns={name: values[order] for name, values in columns.items()},
            trainable_parameters=parameters[order].copy(),
            source=np.full(n, SOURCE_IMPORTED, dtype=np.uint8),
            metrics=metrics,
        )
        self._cell, self._epochs, self._repeat, self._index = array("q"), array("q"), array("q"), array("q")
        return ImportedTable(
            contents=contents,
            record_index=record_index,
            extras=extras,
            evaluations=evaluations,
            units=dict(self._units),
            devices=self.devices,
            num_records=count,
        )

    def _scatter_evaluations(
        self, i: np.ndarray, j: np.ndarray, k: np.ndarray, shape: tuple[int, int, int]
    ) -> dict[str, np.ndarray]:
        if not self._evaluations:
            return {}
        counts = np.frombuffer(self._evaluation_counts, dtype=np.int64)
        width = int(counts.max())
        # each evaluation's record and its rank within the record
        record = np.repeat(np.arange(counts.size), counts)
        within = np.arange(record.size) - np.repeat(np.cumsum(counts) - counts, counts)
        target = (i[record], j[record], k[record], within)
        out = {}
        for name in list(self._evaluations):
            values = np.full((*shape, width), np.nan)
            values[target] = np.frombuffer(self._evaluations[name], dtype=np.float64)
            self._evaluations[name] = array("d")
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
    op_counts = np.count_nonzero(table.contents.columns["op_codes"], axis=1)
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
