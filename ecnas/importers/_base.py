"""The importer contract: ``load(path)`` → validated rows; ``to_contents(rows)`` → an ecnas table.

A subclass fills the hook :meth:`Importer._iter_rows` (read a file, decode each record into a
:class:`Row`); the base validates every row once (the record's cell is a valid NB101 cell whose
hash equals the record's hash, consistent parameter counts, sane metric values), groups rows by
(hash, budget) — the i-th record of a (hash, budget) in file order is repeat i — and builds the
:class:`~ecnas.table.TableContents` with provenance. Nothing is written before everything parsed,
and :func:`~ecnas.table.write_table` is atomic, so a bad input never leaves an output file behind.
"""

from __future__ import annotations

import hashlib
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from ecnas.errors import CorruptRecordError, InvalidCellError
from ecnas.importers._records import RawRecord, parse_record
from ecnas.importers._tfrecord import iter_records
from ecnas.space import FEATURE_OP_CODES, MAX_VERTICES, CellSpec

if TYPE_CHECKING:
    import h5py

    from ecnas.table import TableContents

__all__ = [
    "EXTRAS_GROUP",
    "Importer",
    "Row",
    "available_importers",
    "get_importer",
    "read_extras",
    "register_importer",
]

#: HDF5 group holding the per-record fields that have no column in the table.
EXTRAS_GROUP = "records"
_NONNEGATIVE = ("training_time", "energy_kwh", "total_energy_kwh")
_FRACTIONS = ("train_accuracy", "validation_accuracy", "test_accuracy")


@dataclass
class Row:
    """One decoded record.

    Attributes:
        record: the record's JSON fields (index, offset, hash, epochs, adjacency, operations).
        metrics: table metric name → value (names from :data:`ecnas.table.METRICS`; missing = absent).
        trainable_parameters: parameter count written in the record, if any.
        extras: record-level numbers with no table column (name → value; missing = absent).
        evaluations: per-evaluation numbers, one dict per evaluation in record order.
        devices: device kind (``"gpu"``, ``"cpu"``) → names reported in the record.
        message: the whole decoded protobuf message.
        cell: the record's validated cell (set by :meth:`Importer.load`).
    """

    record: RawRecord
    metrics: dict[str, float]
    trainable_parameters: int | None
    extras: dict[str, float] = field(default_factory=dict)
    evaluations: list[dict[str, float]] = field(default_factory=list)
    devices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    message: dict[str, Any] = field(default_factory=dict)
    cell: CellSpec | None = None


class Importer(ABC):
    """Turns one third-party benchmark file into an ecnas table.

    Args:
        progress: show a progress bar (tqdm, on stderr) while reading.
    """

    #: Registry key and CLI sub-command name.
    name: ClassVar[str]
    #: Value of the ``format`` provenance entry.
    format: ClassVar[str]
    #: Record-level extra fields written to the ``records`` group: name → unit.
    extra_fields: ClassVar[Mapping[str, str]] = {}
    #: Per-evaluation fields written to ``records/evaluations``: name → unit.
    evaluation_fields: ClassVar[Mapping[str, str]] = {}

    def __init__(self, *, progress: bool = False) -> None:
        self.progress = progress

    # ------------------------------------------------------------------ hook
    @abstractmethod
    def _iter_rows(self, path: Path) -> Iterator[Row]:
        """Decode every record of ``path`` into a :class:`Row`, in file order (inputs already checked)."""

    def _provenance(self, rows: list[Row], contents: TableContents) -> dict[str, Any]:
        """Format-specific provenance entries (hardware, energy method, intensity, PUE, ...)."""
        return {}

    # ------------------------------------------------------------------ helpers for subclasses
    def _raw_records(self, path: Path) -> Iterator[RawRecord]:
        """The file's records parsed as NB101-style JSON lists, with a progress bar over bytes."""
        from tqdm.auto import tqdm

        size = path.stat().st_size
        with tqdm(
            total=size, unit="B", unit_scale=True, desc=f"reading {path.name}", disable=not self.progress, leave=False
        ) as bar:
            for index, (offset, data) in enumerate(iter_records(path, progress=bar.update)):
                yield parse_record(data, path=path, index=index, offset=offset)

    # ------------------------------------------------------------------ public API
    def load(self, path: str | os.PathLike[str]) -> list[Row]:
        """Read, decode and validate every record of a file.

        Args:
            path: the input file.

        Returns:
            The rows, in file order.

        Raises:
            FileNotFoundError: ``path`` does not exist.
            CorruptRecordError: a CRC/framing failure, a malformed record, an invalid cell, a hash that
                is not the cell's NB101 hash, inconsistent parameter counts or an impossible metric
                value; the message names the file and the record.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file (give the path of an {self.format} TFRecord file)")
        rows: list[Row] = []
        cells: dict[tuple[str, tuple[str, ...]], CellSpec] = {}
        parameters: dict[str, tuple[int, RawRecord]] = {}
        for row in self._iter_rows(path):
            record = row.record
            where = f"{path}: record {record.index} at offset {record.offset}"
            key = (record.adjacency, record.operations)
            spec = cells.get(key)
            if spec is None:
                try:
                    spec = CellSpec(record.matrix(), list(record.operations))
                except InvalidCellError as error:
                    raise CorruptRecordError(f"{where} holds an invalid cell: {error}") from None
                cells[key] = spec
            if spec.hash != record.hash:
                raise CorruptRecordError(
                    f"{where}: the record's hash {record.hash} is not the NB101 hash {spec.hash} of its cell "
                    f"(adjacency {record.adjacency}, ops {','.join(record.operations)})"
                )
            row.cell = spec
            _check_metrics(row, where)
            if row.trainable_parameters is not None:
                seen = parameters.setdefault(record.hash, (row.trainable_parameters, record))
                if seen[0] != row.trainable_parameters:
                    raise CorruptRecordError(
                        f"{where}: cell {record.hash} has {row.trainable_parameters} trainable parameters, but "
                        f"record {seen[1].index} (offset {seen[1].offset}) says {seen[0]}"
                    )
            rows.append(row)
        if not rows:
            raise CorruptRecordError(f"{path}: no records: the file is empty or corrupt")
        return rows

    def to_contents(self, rows: list[Row], path: str | os.PathLike[str]) -> TableContents:
        """Group validated rows into table arrays (rows sorted by hash) with provenance.

        Args:
            rows: output of :meth:`load`.
            path: the file they came from (named in the provenance with its sha256).
        """
        from ecnas.table import METRICS, SOURCE_IMPORTED, TableContents

        path = Path(path)
        layout = _layout(rows)
        hashes, budgets, repeats, slots = layout.hashes, layout.budgets, layout.repeats, layout.slots
        n, b, r = len(hashes), len(budgets), repeats
        metrics = {name: np.full((n, b, r), np.nan) for name in METRICS}
        matrices = np.zeros((n, MAX_VERTICES, MAX_VERTICES), dtype=np.uint8)
        op_codes = np.zeros((n, MAX_VERTICES), dtype=np.int8)
        parameters = np.full(n, -1, dtype=np.int64)
        for row, (i, j, k) in zip(rows, slots, strict=True):
            for name, value in row.metrics.items():
                metrics[name][i, j, k] = value
            if parameters[i] < 0:
                spec = row.cell or CellSpec(row.record.matrix(), list(row.record.operations))
                size = spec.num_vertices
                matrices[i, :size, :size] = spec.matrix
                op_codes[i, :size] = [FEATURE_OP_CODES[op] for op in spec.ops]
            if row.trainable_parameters is not None:
                parameters[i] = row.trainable_parameters
        if (parameters < 0).any():
            missing = hashes[int(np.flatnonzero(parameters < 0)[0])]
            raise CorruptRecordError(f"{path}: no record of cell {missing} gives its trainable parameters")
        contents = TableContents(
            hashes=np.array(hashes, dtype="S32"),
            budgets=budgets,
            repeats=repeats,
            matrices=matrices,
            op_codes=op_codes,
            trainable_parameters=parameters,
            source=np.full(n, SOURCE_IMPORTED, dtype=np.uint8),
            metrics=metrics,
        )
        provenance: dict[str, Any] = {
            "format": self.format,
            "importer": self.name,
            "origin_file": {"name": path.name, "sha256": _sha256(path), "size_bytes": path.stat().st_size},
            "num_records": len(rows),
            "search_space": "nasbench101",
            "max_vertices": int(max(len(row.record.operations) for row in rows)),
            "dataset": "cifar10",
            "repeat_order": "repeat i = the i-th record of a (hash, budget) in file order",
            "software": _software(),
        }
        provenance.update(self._provenance(rows, contents))
        contents.provenance = provenance
        return contents

    def write_extras(self, rows: list[Row]) -> Callable[[h5py.File], None]:
        """A ``write_table`` ``extras`` callback storing every record's extra and per-evaluation numbers.

        Datasets in group ``records``: ``record_index`` (`N x B x R` int64, the record's position in the
        file, -1 where absent), one `N x B x R` float64 per :attr:`extra_fields` and, in
        ``records/evaluations``, one `N x B x R x E` float64 per :attr:`evaluation_fields`. Rows are in
        the table's hash order; NaN where absent.
        """
        layout = _layout(rows)
        n, b, r = len(layout.hashes), len(layout.budgets), layout.repeats
        e = max((len(row.evaluations) for row in rows), default=0)
        index = np.full((n, b, r), -1, dtype=np.int64)
        extras = {name: np.full((n, b, r), np.nan) for name in self.extra_fields}
        evaluations = {name: np.full((n, b, r, e), np.nan) for name in self.evaluation_fields}
        for row, (i, j, k) in zip(rows, layout.slots, strict=True):
            index[i, j, k] = row.record.index
            for name, value in row.extras.items():
                extras[name][i, j, k] = value
            for m, evaluation in enumerate(row.evaluations):
                for name, value in evaluation.items():
                    evaluations[name][i, j, k, m] = value
        units = {**self.extra_fields, **self.evaluation_fields}

        def write(h5: h5py.File) -> None:
            group = h5.create_group(EXTRAS_GROUP)
            group.attrs["description"] = (
                f"per-record fields of the imported {self.format} file with no table column; "
                "[cells, budgets, repeats] (+ [evaluations]) in table order, NaN where absent"
            )
            _dataset(group, "record_index", index, "record position in the origin file (-1: absent)")
            for name, values in extras.items():
                _dataset(group, name, values, units[name])
            if evaluations:
                sub = group.create_group("evaluations")
                for name, values in evaluations.items():
                    _dataset(sub, name, values, units[name])

        return write

    def import_file(
        self, path: str | os.PathLike[str], output: str | os.PathLike[str], *, overwrite: bool = False
    ) -> TableContents:
        """Convert ``path`` into the ecnas table ``output`` (parse everything, then write atomically).

        Raises:
            FileExistsError: ``output`` exists and ``overwrite`` is false.
            CorruptRecordError: see :meth:`load`; no output file is created.
        """
        from ecnas.table import write_table

        output = Path(output)
        if output.exists() and not overwrite:
            raise FileExistsError(f"{output} already exists; pass overwrite=True (CLI: --force) to replace it")
        rows = self.load(path)
        contents = self.to_contents(rows, path)
        write_table(output, contents, extras=self.write_extras(rows))
        return contents


@dataclass(frozen=True)
class _Layout:
    hashes: list[str]
    budgets: tuple[int, ...]
    repeats: int
    slots: list[tuple[int, int, int]]  # per row: (cell index, budget index, repeat index)


def _layout(rows: list[Row]) -> _Layout:
    hashes = sorted({row.record.hash for row in rows})
    budgets = tuple(sorted({row.record.epochs for row in rows}))
    cell_index = {h: i for i, h in enumerate(hashes)}
    budget_index = {e: j for j, e in enumerate(budgets)}
    counts: dict[tuple[int, int], int] = {}
    slots = []
    for row in rows:
        key = (cell_index[row.record.hash], budget_index[row.record.epochs])
        k = counts.get(key, 0)
        counts[key] = k + 1
        slots.append((*key, k))
    return _Layout(hashes, budgets, max(counts.values()), slots)


def _check_metrics(row: Row, where: str) -> None:
    for name, value in row.metrics.items():
        if not isinstance(value, float) or math.isinf(value):
            raise CorruptRecordError(f"{where}: {name} must be a finite number, got {value!r}")
        if name in _NONNEGATIVE and value < 0:
            raise CorruptRecordError(f"{where}: {name} must be >= 0, got {value!r}")
        if name in _FRACTIONS and not 0.0 <= value <= 1.0:
            raise CorruptRecordError(f"{where}: {name} must be a fraction in [0, 1], got {value!r}")


def _dataset(group: h5py.Group, name: str, values: np.ndarray, unit: str) -> None:
    chunks = (min(32768, values.shape[0]), *values.shape[1:]) if values.size else None
    dataset = group.create_dataset(
        name, data=values, chunks=chunks, compression="gzip", compression_opts=4, shuffle=True, fletcher32=True
    )
    dataset.attrs["unit"] = unit
    dataset.attrs["sha256"] = hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()


def read_extras(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The ``records`` group of an imported table: ``record_index``, extras and ``evaluations/<name>`` arrays.

    Raises:
        TableFormatError: not an ecnas table, or it has no ``records`` group (not made by an importer).
    """
    from ecnas.errors import TableFormatError
    from ecnas.table import open_table, read_dataset

    with open_table(path) as h5:
        if EXTRAS_GROUP not in h5:
            raise TableFormatError(f"{path}: no '{EXTRAS_GROUP}' group; this table was not made by an importer")
        names: list[str] = []
        h5[EXTRAS_GROUP].visititems(lambda name, item: names.append(name) if hasattr(item, "shape") else None)
        return {name: read_dataset(h5, f"{EXTRAS_GROUP}/{name}") for name in names}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _software() -> dict[str, str]:
    from ecnas import __version__
    from ecnas.importers._crc32c import BACKEND

    return {"ecnas": __version__, "numpy": np.__version__, "crc32c": BACKEND}


# ---------------------------------------------------------------------- registry
_ImporterT = TypeVar("_ImporterT", bound=type[Importer])
_IMPORTERS: dict[str, type[Importer]] = {}


def register_importer(cls: _ImporterT) -> _ImporterT:
    """Class decorator adding an importer to the registry under its ``name``.

    Raises:
        ValueError: an importer of that name is already registered.
    """
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{cls.__name__} needs a non-empty class attribute 'name' to be registered")
    if name in _IMPORTERS and _IMPORTERS[name] is not cls:
        raise ValueError(f"an importer named {name!r} is already registered ({_IMPORTERS[name].__name__})")
    _IMPORTERS[name] = cls
    return cls


def available_importers() -> tuple[str, ...]:
    """Names of the registered importers, sorted."""
    return tuple(sorted(_IMPORTERS))


def get_importer(name: str, **kwargs: Any) -> Importer:
    """An importer by registry name (``"nasbench101"``, ``"ecnas"``), built with ``kwargs``.

    Raises:
        ValueError: unknown name; the message lists the valid ones.
    """
    if name not in _IMPORTERS:
        raise ValueError(f"unknown importer {name!r}; valid importers are {list(available_importers())}")
    return _IMPORTERS[name](**kwargs)
