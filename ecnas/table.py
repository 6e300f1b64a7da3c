"""The ecnas table: a self-describing, columnar, checksummed HDF5 file (format documented in docs/table-format.md).

One row per cell, sorted by NB101 hash so lookups are a binary search; per-budget metrics are
`[cells, budgets, repeats]` arrays with NaN where absent. Files are written to a temporary name and
renamed into place, so an interrupted write never leaves a half table under the target name.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ecnas._io import ATTRIBUTES_DIGEST, array_sha256, atomic_h5, jsonable, tree_sha256
from ecnas._validation import check_finite
from ecnas.errors import TableFormatError, TableNotFoundError
from ecnas.metrics import METRIC_UNITS, METRICS
from ecnas.spaces import SearchSpace, get_space

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "METRICS",
    "METRIC_UNITS",
    "SOURCE_IMPORTED",
    "SOURCE_MEASURED",
    "SOURCE_NAMES",
    "SOURCE_SURROGATE",
    "TableContents",
    "check_attributes_digest",
    "check_cell_hashes",
    "check_provenance",
    "hash_bytes",
    "hash_hex",
    "open_table",
    "read_hashes",
    "read_surrogate_values",
    "read_table",
    "table_space",
    "verify_table",
    "write_table",
]

FORMAT_NAME = "ecnas-table"
#: Version 3 stores keys as 16 raw bytes (``cells/hash`` `uint8[N,16]`), compresses every dataset but the keys and
#: stores ``surrogate_values`` only where they differ from the stored value (``surrogate_values/rows``).
#: Version 2 records the search space by registry name and stores that space's columns; version 1 files
#: (NB101 only, ``search_space = "nasbench101"``) are read as space ``nb101``.
FORMAT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
#: gzip level of every compressed dataset (with byte shuffling); see docs/table-format.md for the measurements.
COMPRESSION_LEVEL = 4
#: ``surrogate_values`` encoding of version 3 (group attribute ``encoding``).
SURROGATE_VALUES_ENCODING = "rows-differing-from-repeat-0"

SOURCE_MEASURED = 0
SOURCE_SURROGATE = 1
SOURCE_IMPORTED = 2
#: Row source flag → name (the flag says where each row's numbers come from).
SOURCE_NAMES: dict[int, str] = {SOURCE_MEASURED: "measured", SOURCE_SURROGATE: "surrogate", SOURCE_IMPORTED: "imported"}

# Rows per HDF5 chunk; per-budget chunks so reading one budget never decompresses the others.
_CHUNK_ROWS = 32768
_ROW_DATASETS = ("hash", "trainable_parameters", "source")


@dataclass(kw_only=True)
class TableContents:
    """Everything a table holds, as numpy arrays (the in-memory form of a table file).

    Attributes:
        hashes: `N` keys of the space (32 hex characters; NB101 hashes for ``nb101``), str or `S32`.
        budgets: training budgets in epochs, ascending.
        repeats: number of repeats `R` per (cell, budget).
        columns: the space's per-row arrays (:attr:`ecnas.spaces.SearchSpace.columns`); for ``nb101``
            ``matrix`` (`N x 7 x 7` uint8 adjacency, zero-padded) and ``op_codes`` (`N x 7` int8).
        trainable_parameters: `N` trainable parameters of the network that was (or would be) trained.
        source: `N` uint8 flags, see :data:`SOURCE_NAMES`.
        metrics: metric name → `N x B x R` float64 (NaN where absent); names from :data:`METRICS`.
        space: registry name of the search space (:func:`ecnas.spaces.get_space`).
        uncertainty: metric name → `N x B` float64 standard deviation of the surrogate's value in
            :attr:`surrogate_values` (calibrated when the provenance's ``calibration`` says so; NaN where
            the surrogate gives no value). Optional.
        surrogate_values: metric name → `N x B` float64: the surrogate's value for every row it covers —
            for predicted rows the stored prediction, for measured rows an out-of-fold prediction (a model
            that never saw the row); NaN elsewhere. It is what ``Benchmark(view="surrogate")`` serves.
            Optional.
        provenance: JSON-able description of where the numbers come from.
    """

    hashes: np.ndarray
    budgets: tuple[int, ...]
    repeats: int
    columns: dict[str, np.ndarray]
    trainable_parameters: np.ndarray
    source: np.ndarray
    metrics: dict[str, np.ndarray]
    space: str = "nb101"
    uncertainty: dict[str, np.ndarray] = field(default_factory=dict)
    surrogate_values: dict[str, np.ndarray] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.hashes)


_HEX = np.zeros(256, dtype=bool)
_HEX[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = True


def _checked_hashes(values: Any) -> np.ndarray:
    """Hashes as `S32`, after checking every one is 32 lowercase hex characters (nothing truncated)."""
    hashes = np.asarray(values)
    if hashes.ndim != 1 or hashes.size == 0:
        raise ValueError(f"hashes must be a non-empty 1-D array of keys, got shape {hashes.shape}")
    if hashes.dtype.kind not in "SU":
        raise ValueError(f"hashes must be strings (32 hex characters), got dtype {hashes.dtype}")
    lengths = np.strings.str_len(hashes)
    if (lengths != 32).any():
        bad = hashes[np.flatnonzero(lengths != 32)[0]]
        raise ValueError(f"hashes must be 32-character hex digests (a space's keys), got {bad!r}")
    try:
        encoded = hashes.astype("S32")
    except UnicodeEncodeError:
        raise ValueError("hashes must be ASCII hex digests") from None
    characters = np.frombuffer(encoded.tobytes(), dtype=np.uint8)
    if not _HEX[characters].all():
        bad = encoded[np.flatnonzero(~_HEX[characters].reshape(len(encoded), 32).all(axis=1))[0]]
        raise ValueError(f"hashes must be lowercase hex digests, got {bad.decode(errors='replace')!r}")
    return encoded


# The two hex characters of every byte value, as the uint16 whose memory holds them in order.
_HEX_PAIRS = np.array([f"{value:02x}".encode() for value in range(256)], dtype="S2").view(np.uint16)


def hash_bytes(hashes: np.ndarray) -> np.ndarray:
    """Hex keys (`S32`/`U32`, 32 lowercase hex characters each) as `N x 16` uint8: the 16 bytes they spell.

    The byte order is the character order, so a sorted key column stays sorted (row-wise, byte by byte).

    Raises:
        ValueError: a key is not 32 lowercase hex characters.
    """
    encoded = _checked_hashes(hashes)
    return np.frombuffer(bytes.fromhex(encoded.tobytes().decode("ascii")), dtype=np.uint8).reshape(len(encoded), 16)


def hash_hex(raw: np.ndarray) -> np.ndarray:
    """`N x 16` uint8 key bytes (:func:`hash_bytes`) back as `S32` lowercase hex keys."""
    raw = np.ascontiguousarray(raw, dtype=np.uint8)
    if raw.ndim != 2 or raw.shape[1] != 16:
        raise ValueError(f"key bytes must be an N x 16 uint8 array, got shape {raw.shape}")
    return np.ascontiguousarray(_HEX_PAIRS[raw]).view("S32").reshape(len(raw))


def _validated(contents: TableContents) -> TableContents:
    """Check shapes, dtypes and values; return a copy sorted by hash."""
    hashes = _checked_hashes(contents.hashes)
    n = len(hashes)
    budgets = tuple(int(b) for b in contents.budgets)
    if not budgets or list(budgets) != sorted(set(budgets)) or budgets[0] <= 0:
        raise ValueError(f"budgets must be distinct positive epochs in ascending order, got {contents.budgets}")
    repeats = int(contents.repeats)
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {contents.repeats}")
    space = get_space(contents.space)
    expected = {column.name: (n, *column.shape) for column in space.columns}
    if set(contents.columns) != set(expected):
        raise ValueError(
            f"columns of a {space.name!r} table must be {sorted(expected)}, got {sorted(contents.columns)}"
        )
    for name, shape in expected.items():
        if np.shape(contents.columns[name]) != shape:
            raise ValueError(f"column {name!r} must have shape {shape}, got {np.shape(contents.columns[name])}")
    for name in ("trainable_parameters", "source"):
        if np.shape(getattr(contents, name)) != (n,):
            raise ValueError(f"{name} must have shape {(n,)}, got {np.shape(getattr(contents, name))}")
    unknown = set(contents.metrics) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; valid metrics are {list(METRICS)}")
    missing = set(METRICS) - set(contents.metrics)
    if missing:
        raise ValueError(f"metrics {sorted(missing)} are missing; fill them with NaN where not measured")
    for name, values in contents.metrics.items():
        if np.shape(values) != (n, len(budgets), repeats):
            raise ValueError(f"metric {name!r} must have shape {(n, len(budgets), repeats)}, got {np.shape(values)}")
    for name, values in contents.uncertainty.items():
        if name not in METRICS or np.shape(values) != (n, len(budgets)):
            raise ValueError(f"uncertainty {name!r} must be a metric name with shape {(n, len(budgets))}")
    for name, values in contents.surrogate_values.items():
        if name not in METRICS or np.shape(values) != (n, len(budgets)):
            raise ValueError(f"surrogate_values {name!r} must be a metric name with shape {(n, len(budgets))}")
    source = np.asarray(contents.source, dtype=np.uint8)
    if not np.isin(source, list(SOURCE_NAMES)).all():
        raise ValueError(f"source flags must be in {SOURCE_NAMES}")
    order = np.argsort(hashes, kind="stable")
    sorted_hashes = hashes[order]
    duplicate = np.nonzero(sorted_hashes[1:] == sorted_hashes[:-1])[0]
    if duplicate.size:
        raise ValueError(f"duplicate cell {sorted_hashes[duplicate[0]].decode()} in table")
    provenance = jsonable(contents.provenance)  # strict JSON (NaN → null): fail here, not halfway through a write
    json.dumps(provenance, allow_nan=False)
    check_provenance(provenance)  # the rules a reader applies: never write what cannot be read back
    return TableContents(
        hashes=sorted_hashes,
        budgets=budgets,
        repeats=repeats,
        columns={c.name: np.asarray(contents.columns[c.name], dtype=c.dtype)[order] for c in space.columns},
        space=space.name,
        trainable_parameters=np.asarray(contents.trainable_parameters, dtype=np.int64)[order],
        source=source[order],
        metrics={k: np.asarray(v, dtype=np.float64)[order] for k, v in contents.metrics.items()},
        uncertainty={k: np.asarray(v, dtype=np.float64)[order] for k, v in contents.uncertainty.items()},
        surrogate_values={k: np.asarray(v, dtype=np.float64)[order] for k, v in contents.surrogate_values.items()},
        provenance=provenance,
    )


def _create(group: h5py.Group, name: str, data: np.ndarray, *, compress: bool = True, per_budget: bool = False) -> None:
    """One dataset: chunked by rows (``per_budget``: `N x B` arrays also by budget), checksummed, compressed."""
    chunks: tuple[int, ...] | bool = True
    if data.ndim and not data.shape[0]:
        pass  # no rows (e.g. no surrogate_values/rows): h5py picks a chunk shape
    elif data.ndim == 3 or (per_budget and data.ndim == 2):
        chunks = (min(_CHUNK_ROWS, data.shape[0]), 1, *data.shape[2:])
    elif data.ndim >= 1:
        chunks = (min(_CHUNK_ROWS, data.shape[0]), *data.shape[1:])
    filters: dict[str, Any] = {}
    if compress:
        filters = {"compression": "gzip", "compression_opts": COMPRESSION_LEVEL, "shuffle": data.dtype.itemsize > 1}
    dataset = group.create_dataset(name, data=data, chunks=chunks, fletcher32=True, **filters)
    dataset.attrs["sha256"] = array_sha256(data)


def _differs(values: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Where ``values`` differs from ``base`` bit for bit (any NaN equals any NaN)."""
    both_nan = np.isnan(values) & np.isnan(base)
    return (values.view(np.int64) != base.view(np.int64)) & ~both_nan


def _surrogate_rows(table: TableContents) -> np.ndarray:
    """Rows whose surrogate values are not the stored repeat-0 values: the only rows version 3 stores.

    Predicted rows hold the surrogate's value in repeat 0, so only measured (and imported) rows remain: ~1% of
    the default table. Reading puts ``metrics/<name>[:, :, 0]`` everywhere and these rows over it.
    """
    differ = np.zeros(len(table), dtype=bool)
    for name, values in table.surrogate_values.items():
        base = np.ascontiguousarray(table.metrics[name][:, :, 0])
        differ |= _differs(np.ascontiguousarray(values), base).any(axis=1)
    return np.flatnonzero(differ).astype(np.int64)


def write_table(
    path: str | os.PathLike[str],
    contents: TableContents,
    *,
    extras: Callable[[h5py.File], None] | None = None,
) -> Path:
    """Validate ``contents`` and write them as an ecnas table, atomically.

    Args:
        path: destination; replaced only once the new file is complete.
        contents: the table; rows are sorted by hash on the way out.
        extras: optional callback writing additional groups (e.g. surrogate weights) into the open file.

    Returns:
        The destination path.
    """
    path = Path(path)
    table = _validated(contents)
    space = get_space(table.space)
    provenance = dict(table.provenance)
    provenance.setdefault("created", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    with atomic_h5(path) as h5:  # built in memory: a full disk is one clean WriteError, never a crash
        h5.attrs["format"] = FORMAT_NAME
        h5.attrs["format_version"] = FORMAT_VERSION
        h5.attrs["search_space"] = table.space
        h5.attrs["space_columns"] = json.dumps({c.name: [c.dtype, list(c.shape)] for c in space.columns})
        h5.attrs["num_cells"] = len(table)
        h5.attrs["budgets"] = np.asarray(table.budgets, dtype=np.int64)
        h5.attrs["repeats"] = table.repeats
        h5.attrs["metrics"] = json.dumps(METRIC_UNITS)
        h5.attrs["source_names"] = json.dumps({str(k): v for k, v in SOURCE_NAMES.items()})
        h5.attrs["provenance"] = json.dumps(provenance, sort_keys=True)
        cells = h5.create_group("cells")
        # 16 random bytes per key do not compress (gzip saves 2% and costs 4x the read time): left raw.
        _create(cells, "hash", hash_bytes(table.hashes), compress=False)
        for name, values in table.columns.items():
            _create(cells, name, values)
        _create(cells, "trainable_parameters", table.trainable_parameters)
        _create(cells, "source", table.source)
        metrics = h5.create_group("metrics")
        for name in METRICS:
            _create(metrics, name, table.metrics[name])
            metrics[name].attrs["unit"] = METRIC_UNITS[name]
        if table.uncertainty:
            spread = h5.create_group("uncertainty")
            for name, values in table.uncertainty.items():
                _create(spread, name, values, per_budget=True)
        if table.surrogate_values:
            rows = _surrogate_rows(table)
            served = h5.create_group("surrogate_values")
            served.attrs["encoding"] = SURROGATE_VALUES_ENCODING
            _create(served, "rows", rows)
            for name, values in table.surrogate_values.items():
                _create(served, name, values[rows], per_budget=True)
                served[name].attrs["unit"] = METRIC_UNITS[name]
        if extras is not None:
            extras(h5)
        # Every attribute (root, groups, datasets' sha256 and units) under one digest, checked at each open.
        h5.attrs[ATTRIBUTES_DIGEST] = tree_sha256(h5)
        # Written last: a file without it was never finished.
        h5.attrs["complete"] = True
    return path


def open_table(path: str | os.PathLike[str]) -> h5py.File:
    """Open a table read-only after checking that it is a complete ecnas table of a known version.

    Raises:
        TableFormatError: the file is missing, truncated, corrupt or not an ecnas table; names the file.
    """
    path = Path(path)
    if path.is_dir():
        raise TableFormatError(f"{path}: is a directory, not a table file; pass the .h5 file inside it")
    if not path.is_file():
        if path.is_symlink():
            raise TableNotFoundError(f"{path}: a symbolic link to nothing readable (broken or a link loop)")
        raise TableNotFoundError(f"{path}: no such table file")
    try:
        h5 = h5py.File(path, "r")
    except OSError as error:
        if "lock" in str(error).lower():
            raise TableFormatError(
                f"{path}: the file is locked by another process writing it (HDF5 file lock); wait for it to "
                "finish, or set HDF5_USE_FILE_LOCKING=FALSE on read-only media"
            ) from None
        raise TableFormatError(f"{path}: not a readable HDF5 file (truncated or corrupt?): {error}") from None
    try:
        attrs = h5.attrs
        if attrs.get("format") != FORMAT_NAME:
            raise TableFormatError(f"{path}: not an ecnas table (format attribute is {attrs.get('format')!r})")
        version = int(attrs.get("format_version", -1))
        if version not in READABLE_VERSIONS:
            raise TableFormatError(
                f"{path}: table format version {version}; this ecnas reads versions {list(READABLE_VERSIONS)}"
            )
        if not attrs.get("complete", False):
            raise TableFormatError(f"{path}: table was not completely written")
        check_attributes_digest(h5, path, version)
        space = table_space(h5)
        for name in (*_ROW_DATASETS, *(c.name for c in space.columns)):
            if f"cells/{name}" not in h5:
                raise TableFormatError(f"{path}: corrupt table, dataset cells/{name} is missing")
        for name in METRICS:
            if f"metrics/{name}" not in h5:
                raise TableFormatError(f"{path}: corrupt table, dataset metrics/{name} is missing")
        _check_shapes(h5, path, space)
        table_attributes(h5)  # values validated with the rules of user input
    except TableFormatError:
        h5.close()
        raise
    except (OSError, KeyError, ValueError, TypeError, RecursionError, RuntimeError) as error:
        h5.close()  # RuntimeError: h5py walking damaged metadata ("wrong version number in local heap")
        raise TableFormatError(f"{path}: corrupt table metadata: {error}") from None
    return h5


def table_space(h5: h5py.File) -> SearchSpace:
    """The search space an open table file records (version 1 files: ``nb101``).

    Raises:
        TableFormatError: the space is not registered here (the message lists the registered ones).
    """
    name = str(h5.attrs.get("search_space", "nasbench101"))
    try:
        return get_space(name)
    except ValueError as error:
        raise TableFormatError(f"{h5.filename}: {error}; install or import the package that registers it") from None


def _check_shapes(h5: h5py.File, path: Path, space: SearchSpace) -> None:
    """Dataset shapes (and the key and row dtypes) must agree with the root attributes (metadata only)."""
    n = int(h5.attrs["num_cells"])
    budgets, repeats = len(h5.attrs["budgets"]), int(h5.attrs["repeats"])
    version = int(h5.attrs["format_version"])
    expected = {f"cells/{name}": (n,) for name in _ROW_DATASETS}
    expected |= {f"cells/{c.name}": (n, *c.shape) for c in space.columns}
    expected |= {f"metrics/{name}": (n, budgets, repeats) for name in METRICS}
    key_dtype = np.dtype(np.uint8) if version >= 3 else np.dtype("S32")
    if version >= 3:
        expected["cells/hash"] = (n, 16)
    if "uncertainty" in h5:
        expected |= {f"uncertainty/{name}": (n, budgets) for name in h5["uncertainty"] if name in METRICS}
    if "surrogate_values" in h5:
        group = h5["surrogate_values"]
        unknown = sorted(set(group) - set(METRICS) - ({"rows"} if version >= 3 else set()))
        if unknown:
            raise TableFormatError(f"{path}: corrupt table, surrogate_values holds unknown datasets {unknown}")
        k = n
        if version >= 3:
            if "rows" not in group or group["rows"].ndim != 1 or group["rows"].dtype.kind not in "iu":
                raise TableFormatError(f"{path}: corrupt table, surrogate_values/rows is missing or not 1-D integers")
            if group.attrs.get("encoding") != SURROGATE_VALUES_ENCODING:
                raise TableFormatError(
                    f"{path}: surrogate_values has encoding {group.attrs.get('encoding')!r}; this ecnas reads "
                    f"{SURROGATE_VALUES_ENCODING!r}"
                )
            k = group["rows"].shape[0]
        expected |= {f"surrogate_values/{name}": (k, budgets) for name in group if name in METRICS}
    for name, shape in expected.items():
        if h5[name].shape != shape:
            raise TableFormatError(f"{path}: corrupt table, {name} has shape {h5[name].shape}, expected {shape}")
    if h5["cells/hash"].dtype != key_dtype:
        raise TableFormatError(
            f"{path}: corrupt table, cells/hash has dtype {h5['cells/hash'].dtype}, expected {key_dtype} "
            f"(format v{version})"
        )


def read_hashes(h5: h5py.File) -> np.ndarray:
    """The table's keys as an `S32` array of hex strings, whatever the version stores (v3: 16 raw bytes)."""
    stored = read_dataset(h5, "cells/hash")
    return hash_hex(stored) if stored.dtype == np.uint8 else stored


def read_surrogate_values(h5: h5py.File, name: str, budget_index: int | None = None) -> np.ndarray | None:
    """The surrogate's values of metric ``name`` for every row (`N x B`, or `N` at ``budget_index``).

    None when the table stores none for that metric. Version 3 stores only the rows that differ from the
    stored repeat-0 values (``surrogate_values/rows``); the others are read from ``metrics/<name>``.

    Raises:
        TableFormatError: the stored rows are out of range or not strictly ascending.
    """
    if "surrogate_values" not in h5 or name not in h5["surrogate_values"]:
        return None
    selection: Any = np.s_[:, budget_index] if budget_index is not None else ()
    if int(h5.attrs["format_version"]) < 3:
        return read_dataset(h5, f"surrogate_values/{name}", selection)
    rows = read_dataset(h5, "surrogate_values/rows")
    n = int(h5.attrs["num_cells"])
    if rows.size and (rows[0] < 0 or rows[-1] >= n or (np.diff(rows) <= 0).any()):
        raise TableFormatError(f"{h5.filename}: corrupt table, surrogate_values/rows out of range or not ascending")
    if budget_index is None:
        values = np.ascontiguousarray(read_dataset(h5, f"metrics/{name}", np.s_[:, :, 0]))
    else:
        values = read_dataset(h5, f"metrics/{name}", np.s_[:, budget_index, 0])
    values[rows] = read_dataset(h5, f"surrogate_values/{name}", selection)
    return values


def read_dataset(h5: h5py.File, name: str, selection: Any = ()) -> np.ndarray:
    """Read (part of) a dataset, turning HDF5 checksum/decompression failures into a clear error."""
    try:
        return h5[name][selection]
    except (OSError, KeyError, ValueError) as error:
        raise TableFormatError(f"{h5.filename}: corrupt data in {name} (checksum failed?): {error}") from None


def table_attributes(h5: h5py.File) -> dict[str, Any]:
    """Decoded top-level attributes: budgets, repeats, metric units, provenance, counts.

    Values are checked with the rules user input gets (:func:`check_provenance`), so a file cannot bring in
    what the API would refuse.

    Raises:
        TableFormatError: an attribute is missing, malformed or out of range; names the file and attribute.
    """
    where = h5.filename
    try:
        budgets = tuple(int(b) for b in np.atleast_1d(h5.attrs["budgets"]))
        repeats = int(h5.attrs["repeats"])
        num_cells = int(h5.attrs["num_cells"])
        metrics = _json_attribute(h5, "metrics")
        provenance = _json_attribute(h5, "provenance")
        attributes = {
            "format": str(h5.attrs["format"]),
            "format_version": int(h5.attrs["format_version"]),
            "search_space": table_space(h5).name,
            "num_cells": num_cells,
            "budgets": budgets,
            "repeats": repeats,
            "metrics": metrics,
            "provenance": provenance,
        }
    except (KeyError, ValueError, OSError, TypeError, OverflowError) as error:
        raise TableFormatError(f"{where}: corrupt table attributes: {error}") from None
    if not budgets or list(budgets) != sorted(set(budgets)) or budgets[0] <= 0:
        raise TableFormatError(f"{where}: attribute budgets must be distinct positive epochs ascending, got {budgets}")
    if repeats < 1 or num_cells < 1:
        raise TableFormatError(f"{where}: attributes repeats and num_cells must be >= 1, got {repeats}, {num_cells}")
    if metrics != METRIC_UNITS:
        raise TableFormatError(f"{where}: attribute metrics must be {METRIC_UNITS} (names and units), got {metrics}")
    for name in METRICS:
        unit = h5[f"metrics/{name}"].attrs.get("unit", METRIC_UNITS[name])
        if unit != METRIC_UNITS[name]:
            raise TableFormatError(f"{where}: metrics/{name} has unit {unit!r}, expected {METRIC_UNITS[name]!r}")
    try:
        check_provenance(provenance)
    except (TypeError, ValueError) as error:
        raise TableFormatError(f"{where}: invalid provenance: {error}") from None
    return attributes


#: Largest JSON attribute read (bytes): a provenance of hundreds of MB would cost GBs per open.
MAX_JSON_ATTRIBUTE_BYTES = 16 * 2**20


def _json_attribute(h5: h5py.File, name: str) -> Any:
    """A JSON root attribute, size-capped, decoded (deep nesting raises ValueError, not RecursionError)."""
    if name not in h5.attrs:
        raise KeyError(f"attribute {name!r} is missing")
    size = h5.attrs.get_id(name).get_storage_size()
    if size > MAX_JSON_ATTRIBUTE_BYTES:
        raise ValueError(f"attribute {name!r} is {size:,} bytes, larger than {MAX_JSON_ATTRIBUTE_BYTES:,}")
    text = h5.attrs[name]
    if len(text) > MAX_JSON_ATTRIBUTE_BYTES:  # variable-length strings: known only once read, still before parsing
        raise ValueError(f"attribute {name!r} is {len(text):,} bytes, larger than {MAX_JSON_ATTRIBUTE_BYTES:,}")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"attribute {name!r} is JSON nested too deeply") from None


def check_provenance(provenance: Any) -> None:
    """Check the provenance entries that change numbers, with the rules of user input.

    ``carbon_intensity`` (gCO2/kWh) must be absent, null (unknown: CO2 is NaN) or a finite number >= 0;
    ``pue`` absent, null or a finite number >= 1; ``energy_method`` and ``intensity_source`` strings.

    Raises:
        TypeError: provenance is not a mapping, or an entry has the wrong type.
        ValueError: an entry is out of range.
    """
    if not isinstance(provenance, Mapping):
        raise TypeError(f"provenance must be a JSON object, got {type(provenance).__name__}")
    if provenance.get("carbon_intensity") is not None:
        check_finite("carbon_intensity", provenance["carbon_intensity"], minimum=0.0)
    if provenance.get("pue") is not None:
        check_finite("pue", provenance["pue"], minimum=1.0)
    for name in ("energy_method", "intensity_source"):
        if name in provenance and not isinstance(provenance[name], str):
            raise TypeError(f"{name} must be a string, got {provenance[name]!r}")


def check_attributes_digest(h5: h5py.File, path: str | os.PathLike[str], version: int) -> bool:
    """Compare the file's attributes with the digest written with them (:func:`ecnas._io.tree_sha256`).

    Version 1 files predate the digest: they open unprotected (their values are still validated).

    Returns:
        True when the file carries a digest and it matches; False for a version 1 file without one.

    Raises:
        TableFormatError: the digest does not match, or a version 2 file lacks it.
    """
    expected = h5.attrs.get(ATTRIBUTES_DIGEST)
    if expected is None:
        if version < 2:
            return False
        raise TableFormatError(
            f"{path}: attribute {ATTRIBUTES_DIGEST} is missing; the file's metadata cannot be trusted "
            "(tampered, or written by a pre-release ecnas: rewrite it with `ecnas import` or `ecnas build fill`)"
        )
    if tree_sha256(h5) != expected:
        raise TableFormatError(
            f"{path}: attributes were changed after the table was written (attribute checksum mismatch); "
            "budgets, provenance or units cannot be trusted — restore or rebuild the file"
        )
    return True


def read_table(path: str | os.PathLike[str]) -> TableContents:
    """Read a whole table into memory (for merging, converting or testing; queries use Benchmark)."""
    with open_table(path) as h5:
        attributes = table_attributes(h5)
        uncertainty = {}
        if "uncertainty" in h5:
            uncertainty = {name: read_dataset(h5, f"uncertainty/{name}") for name in h5["uncertainty"]}
        surrogate_values = {}
        if "surrogate_values" in h5:
            for name in h5["surrogate_values"]:
                if name in METRICS:
                    surrogate_values[name] = read_surrogate_values(h5, name)
        space = table_space(h5)
        return TableContents(
            hashes=read_hashes(h5),
            budgets=attributes["budgets"],
            repeats=attributes["repeats"],
            space=space.name,
            columns={c.name: read_dataset(h5, f"cells/{c.name}") for c in space.columns},
            trainable_parameters=read_dataset(h5, "cells/trainable_parameters"),
            source=read_dataset(h5, "cells/source"),
            metrics={name: read_dataset(h5, f"metrics/{name}") for name in METRICS},
            uncertainty=uncertainty,
            surrogate_values=surrogate_values,
            provenance=attributes["provenance"],
        )


def verify_table(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read every dataset and compare it with the sha256 recorded at write time; check the attribute digest.

    Returns:
        Dataset name → digest for every verified dataset; the attribute digest under the key
        ``"@attributes"`` (``"absent (format v1)"`` for version 1 files, which predate it).

    Raises:
        TableFormatError: a dataset fails its Fletcher-32 chunk checksums or its sha256, has no sha256
            attribute, or the attributes do not match their digest; names the file.
    """
    verified: dict[str, str] = {}
    with open_table(path) as h5:
        version = int(h5.attrs["format_version"])
        if check_attributes_digest(h5, path, version):
            verified["@attributes"] = str(h5.attrs[ATTRIBUTES_DIGEST])
        else:
            verified["@attributes"] = "absent (format v1)"

        def visit(name: str, item: Any) -> None:
            if isinstance(item, h5py.Dataset):
                if "sha256" not in item.attrs:
                    raise TableFormatError(f"{path}: dataset {name} has no sha256 attribute; it cannot be verified")
                digest = array_sha256(read_dataset(h5, name))
                if digest != item.attrs["sha256"]:
                    raise TableFormatError(f"{path}: dataset {name} is corrupt (sha256 mismatch)")
                verified[name] = digest

        try:
            h5.visititems(visit)
        except (RuntimeError, KeyError, OSError) as error:
            raise TableFormatError(f"{path}: corrupt table structure: {error}") from None
    return verified


def check_cell_hashes(path: str | os.PathLike[str]) -> int:
    """Re-key every row: each stored configuration must carry its space's key (NB101: the md5 hash of the cell).

    Queries by structure (:class:`ecnas.spaces.nb101.lookup.StructureIndex`) rely on it, and checksums cannot
    tell a writer that paired a cell with the wrong key. NB101: batched md5 rounds, ~15 s for the whole space.

    Returns:
        The number of rows checked.

    Raises:
        TableFormatError: a row is malformed or keys to another value; names the first such row.
    """
    with open_table(path) as h5:
        space = table_space(h5)
        hashes = read_hashes(h5)
        columns = {c.name: read_dataset(h5, f"cells/{c.name}") for c in space.columns}
    problem = space.check_columns(columns)
    if problem is not None:
        row, detail = problem
        raise TableFormatError(f"{path}: row {row} ({hashes[row].decode('ascii', 'replace')}): {detail}")
    actual = space.keys(columns)
    for k in np.flatnonzero(actual != hashes)[:1].tolist():
        raise TableFormatError(
            f"{path}: row {k} is stored under {hashes[k].decode('ascii', 'replace')} but its cell "
            f"hashes to {actual[k].decode()}"
        )
    return len(hashes)


def provenance_summary(provenance: Mapping[str, Any]) -> str:
    """One line saying what the energy numbers are: measured with what, or estimated how."""
    method = provenance.get("energy_method", "unknown")
    intensity = provenance.get("carbon_intensity")
    source = provenance.get("intensity_source", "unknown source")
    return f"energy: {method}; carbon intensity: {intensity} gCO2/kWh ({source}); PUE {provenance.get('pue', 1.0)}"
