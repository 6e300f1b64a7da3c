"""The record layout shared by NB101 and EC-NAS files: a JSON list inside each TFRecord record.

``[module_hash, epochs, raw_adjacency, raw_operations, raw_metrics]``: the adjacency is a row-major
'0'/'1' string of length V², the operations are comma-joined op names (input and output included)
and raw_metrics is the base64 of a protobuf message whose type depends on the file format.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecnas.errors import CorruptRecordError, InvalidCellError
from ecnas.spaces.nb101.cells import adjacency_from_string

__all__ = ["RawRecord", "encode_record", "parse_record"]


@dataclass(frozen=True)
class RawRecord:
    """One record's JSON fields, checked for shape but not yet validated as a cell.

    Attributes:
        index: position of the record in the file (0-based).
        offset: byte offset of the record's TFRecord header.
        hash: the module hash written in the record.
        epochs: the training budget.
        adjacency: the raw adjacency string ('0'/'1', length V²).
        operations: op names, input and output included.
        metrics: the decoded (base64) protobuf bytes.
    """

    index: int
    offset: int
    hash: str
    epochs: int
    adjacency: str
    operations: tuple[str, ...]
    metrics: bytes

    def matrix(self) -> np.ndarray:
        """The adjacency as a `V x V` int8 array."""
        return adjacency_from_string(self.adjacency)


def parse_record(data: bytes, *, path: Path, index: int, offset: int) -> RawRecord:
    """Parse one record's JSON payload.

    Raises:
        CorruptRecordError: not the 5-element JSON list described above; names the file, record and offset.
    """
    where = f"{path}: record {index} at offset {offset}"
    try:
        fields = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise CorruptRecordError(f"{where} is not valid UTF-8 JSON ({error}): corrupt record") from None
    if not isinstance(fields, list) or len(fields) != 5:
        raise CorruptRecordError(
            f"{where}: expected a JSON list [module_hash, epochs, adjacency, operations, metrics], got "
            f"{type(fields).__name__}{f' of length {len(fields)}' if isinstance(fields, list) else ''}: corrupt record"
        )
    module_hash, epochs, adjacency, operations, metrics = fields
    if not isinstance(module_hash, str) or len(module_hash) != 32:
        raise CorruptRecordError(f"{where}: module hash must be 32 hex characters, got {module_hash!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= 0:
        raise CorruptRecordError(f"{where}: epochs must be a positive integer, got {epochs!r}")
    try:
        size = adjacency_from_string(adjacency).shape[0]
    except InvalidCellError as error:
        raise CorruptRecordError(f"{where}: {error}") from None
    if not isinstance(operations, str):
        raise CorruptRecordError(f"{where}: operations must be a comma-joined string, got {operations!r}")
    ops = tuple(operations.split(","))
    if len(ops) != size:
        raise CorruptRecordError(f"{where}: {len(ops)} operations for a {size}-vertex adjacency ({operations!r})")
    if not isinstance(metrics, str):
        raise CorruptRecordError(f"{where}: metrics must be a base64 string, got {type(metrics).__name__}")
    try:
        # NB101 wrote base64 with line breaks (base64.encodestring); anything else must be valid base64.
        raw = base64.b64decode(metrics.replace("\n", ""), validate=True)
    except (binascii.Error, ValueError) as error:
        raise CorruptRecordError(f"{where}: metrics are not valid base64 ({error}): corrupt record") from None
    return RawRecord(index, offset, module_hash, epochs, adjacency, ops, raw)


def encode_record(
    module_hash: str, epochs: int, matrix: np.ndarray, ops: list[str] | tuple[str, ...], metrics: bytes
) -> bytes:
    """The JSON payload of one record (the layout NB101 and EC-NAS write)."""
    adjacency = "".join(str(int(v)) for v in np.asarray(matrix).ravel())
    payload = [module_hash, int(epochs), adjacency, ",".join(ops), base64.b64encode(metrics).decode("ascii")]
    return json.dumps(payload).encode("utf-8")
