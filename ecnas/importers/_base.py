"""The importer contract: ``load(path)`` → validated rows; ``read(path)`` → table arrays; ``import_file``.

A subclass fills the hook :meth:`Importer._iter_rows` (read a file, decode each record into a
:class:`Row`); the base validates every row once (the record's cell is a valid NB101 cell whose
hash equals the record's hash, consistent parameter counts, sane metric values), groups rows by
(hash, budget) — the i-th record of a (hash, budget) in file order is repeat i — and builds the
:class:`~ecnas.table.TableContents` with provenance (hook :meth:`Importer._provenance`). Nothing is
written before everything is parsed, and :func:`~ecnas.table.write_table` is atomic, so a bad input
never leaves an output file behind.
"""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from ecnas._registry import Registry
from ecnas.errors import CorruptRecordError, InvalidConfigError
from ecnas.importers._records import RawRecord, parse_record
from ecnas.importers._tabulate import EXTRAS_GROUP, Accumulator, ImportedTable, provenance_base, tabulate
from ecnas.importers._tfrecord import iter_records
from ecnas.metrics import FRACTIONS, NONNEGATIVE
from ecnas.spaces import get_space

__all__ = [
    "EXTRAS_GROUP",
    "ImportedTable",
    "Importer",
    "Row",
    "available_importers",
    "get_importer",
    "read_extras",
    "register_importer",
]

_NONNEGATIVE = NONNEGATIVE
_FRACTIONS = FRACTIONS


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
        cell: the record's validated cell (set by :meth:`Importer.iter_validated`: on every row, or with
            ``keep_cells=False`` on the first row of each cell).
    """

    record: RawRecord
    metrics: dict[str, float]
    trainable_parameters: int | None
    extras: dict[str, float] = field(default_factory=dict)
    evaluations: list[dict[str, float]] = field(default_factory=list)
    devices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    message: dict[str, Any] = field(default_factory=dict)
    cell: Any = None


class Importer(ABC):
    """Turns one third-party benchmark file into an ecnas table.

    Args:
        progress: show a progress bar (tqdm, on stderr) while reading.
    """

    #: Registry key and CLI sub-command name.
    name: ClassVar[str]
    #: Value of the ``format`` provenance entry.
    format: ClassVar[str]
    #: The search space of the imported configurations (records are validated and keyed by it).
    space: ClassVar[str] = "nb101"
    #: Record-level extra fields written to the ``records`` group: name → unit.
    extra_fields: ClassVar[Mapping[str, str]] = {}
    #: Per-evaluation fields written to ``records/evaluations``: name → unit.
    evaluation_fields: ClassVar[Mapping[str, str]] = {}

    def __init__(self, *, progress: bool = False) -> None:
        self.progress = progress

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _iter_rows(self, path: Path) -> Iterator[Row]:
        """Decode every record of ``path`` into a :class:`Row`, in file order (inputs already checked)."""

    def _provenance(self, table: ImportedTable) -> dict[str, Any]:
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
    def iter_validated(self, path: str | os.PathLike[str], *, keep_cells: bool = True) -> Iterator[Row]:
        """Read, decode and validate the records of a file one by one, in file order.

        Args:
            path: the input file.
            keep_cells: set ``row.cell`` (the configuration validated by the space; NB101: a CellSpec) on
                every row. With ``False`` only the first row of each cell gets it and later rows of the same cell (same
                adjacency and ops) are checked against it, which keeps memory small for million-record files.

        Raises:
            FileNotFoundError: ``path`` does not exist.
            CorruptRecordError: a CRC/framing failure, a malformed record, an invalid cell, a hash that
                is not the cell's NB101 hash, inconsistent parameter counts or an impossible metric
                value; the message names the file and the record.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file (give the path of an {self.format} TFRecord file)")
        space = get_space(self.space)
        specs: dict[tuple[str, tuple[str, ...]], Any] = {}
        # hash → (adjacency|ops of a record already validated, its parameter count, record index, offset)
        seen: dict[str, tuple[str, int | None, int, int]] = {}
        for row in self._iter_rows(path):
            record = row.record
            where = f"{path}: record {record.index} at offset {record.offset}"
            signature = f"{record.adjacency}|{','.join(record.operations)}"
            known = seen.get(record.hash)
            if keep_cells or known is None or known[0] != signature:
                key = (record.adjacency, record.operations)
                spec = specs.get(key)
                if spec is None:
                    try:
                        spec = space.validate((record.matrix(), list(record.operations)))
                    except InvalidConfigError as error:
                        raise CorruptRecordError(f"{where} holds an invalid cell: {error}") from None
                    if keep_cells:
                        specs[key] = spec
                if space.key(spec) != record.hash:
                    raise CorruptRecordError(
                        f"{where}: the record's hash {record.hash} is not the NB101 hash {space.key(spec)} of its "
                        f"cell (adjacency {record.adjacency}, ops {','.join(record.operations)})"
                    )
                row.cell = spec
            _check_metrics(row, where)
            if known is None:
                seen[record.hash] = (signature, row.trainable_parameters, record.index, record.offset)
            elif row.trainable_parameters is not None:
                if known[1] is None:
                    seen[record.hash] = (known[0], row.trainable_parameters, record.index, record.offset)
                elif known[1] != row.trainable_parameters:
                    raise CorruptRecordError(
                        f"{where}: cell {record.hash} has {row.trainable_parameters} trainable parameters, but "
                        f"record {known[2]} (offset {known[3]}) says {known[1]}"
                    )
            yield row

    def load(self, path: str | os.PathLike[str]) -> list[Row]:
        """Every validated row of a file, in file order (see :meth:`iter_validated`; for inspection and tests).

        Raises:
            FileNotFoundError: ``path`` does not exist.
            CorruptRecordError: see :meth:`iter_validated`; also for a file without records.
        """
        rows = list(self.iter_validated(path))
        if not rows:
            raise CorruptRecordError(f"{path}: no records: the file is empty or corrupt")
        return rows

    def tabulate(self, rows: Iterable[Row], path: str | os.PathLike[str]) -> ImportedTable:
        """Group validated rows into table arrays with provenance (rows sorted by hash).

        Args:
            rows: validated rows (from :meth:`load` or :meth:`iter_validated`), in file order.
            path: the file they came from (named in the provenance with its sha256).
        """
        from ecnas.table import METRICS

        path = Path(path)
        accumulator = Accumulator(METRICS, self.extra_fields, self.evaluation_fields, get_space(self.space))
        table = tabulate(rows, accumulator, path)
        provenance = provenance_base(self, path, table)
        provenance.update(self._provenance(table))
        table.contents.provenance = provenance
        return table

    def read(self, path: str | os.PathLike[str]) -> ImportedTable:
        """Read a whole file into table arrays, streaming (memory: a few hundred bytes per record).

        Raises:
            FileNotFoundError: ``path`` does not exist.
            CorruptRecordError: see :meth:`iter_validated`.
        """
        return self.tabulate(self.iter_validated(path, keep_cells=False), path)

    def import_file(
        self, path: str | os.PathLike[str], output: str | os.PathLike[str], *, overwrite: bool = False
    ) -> ImportedTable:
        """Convert ``path`` into the ecnas table ``output``: read and check everything, then write atomically.

        Raises:
            FileExistsError: ``output`` exists and ``overwrite`` is false.
            CorruptRecordError: see :meth:`iter_validated`; no output file is created.
        """
        output = Path(output)
        if output.exists() and not overwrite:
            raise FileExistsError(f"{output} already exists; pass overwrite=True (CLI: --force) to replace it")
        table = self.read(path)
        table.write(output, description=f" ({self.format})")
        return table


def _check_metrics(row: Row, where: str) -> None:
    for name, value in row.metrics.items():
        if not isinstance(value, float) or math.isinf(value):
            raise CorruptRecordError(f"{where}: {name} must be a finite number, got {value!r}")
        if name in _NONNEGATIVE and value < 0:
            raise CorruptRecordError(f"{where}: {name} must be >= 0, got {value!r}")
        if name in _FRACTIONS and not 0.0 <= value <= 1.0:
            raise CorruptRecordError(f"{where}: {name} must be a fraction in [0, 1], got {value!r}")


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


# ---------------------------------------------------------------------- registry
_ImporterT = TypeVar("_ImporterT", bound=type[Importer])
_IMPORTERS: Registry[type[Importer]] = Registry("importer", sort_names=True)


def register_importer(cls: _ImporterT) -> _ImporterT:
    """Class decorator adding an importer to the registry under its ``name``.

    Raises:
        ValueError: an importer of that name is already registered.
    """
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{cls.__name__} needs a non-empty class attribute 'name' to be registered")
    return _IMPORTERS.add(name, cls)


def available_importers() -> tuple[str, ...]:
    """Names of the registered importers, sorted."""
    return tuple(_IMPORTERS.names())


def get_importer(name: str, **kwargs: Any) -> Importer:
    """An importer by registry name (``"nasbench101"``, ``"ecnas"``), built with ``kwargs``.

    Raises:
        ValueError: unknown name; the message lists the valid ones.
    """
    return _IMPORTERS.get(name)(**kwargs)
