"""TFRecord files without TensorFlow: a streaming reader that checks both CRCs, and an atomic writer.

Framing of each record: ``uint64 length (LE) | uint32 masked CRC-32C of the length bytes | data |
uint32 masked CRC-32C of the data``. The reader checks the length CRC before trusting the length,
so a corrupt header is reported as such instead of sending the reader off to a wrong offset, and it
checks the data CRC of every record (in batches, see :mod:`ecnas.importers._crc32c`).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from ecnas._io import atomic_path
from ecnas.errors import CorruptRecordError
from ecnas.importers._crc32c import crc32c_many, mask, masked_crc32c

__all__ = ["HEADER_SIZE", "frame_record", "iter_records", "not_a_tfrecord", "write_records"]

HEADER_SIZE = 12  # uint64 length + uint32 masked CRC of the length
FOOTER_SIZE = 4  # uint32 masked CRC of the data
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
_BUFFER = 1 << 22


def _check_data(path: Path, pending: list[tuple[int, bytes, int]]) -> None:
    """Verify the data CRC of a batch of ``(offset, data, stored masked crc)``; raise on the first mismatch."""
    computed = mask(crc32c_many([data for _, data, _ in pending]))
    stored = np.fromiter((crc for _, _, crc in pending), dtype=np.uint32, count=len(pending))
    bad = np.flatnonzero(computed != stored)
    if bad.size:
        offset, data, crc = pending[int(bad[0])]
        raise CorruptRecordError(
            f"{path}: data CRC mismatch in the record at offset {offset} ({len(data)} data bytes at offset "
            f"{offset + HEADER_SIZE}; stored 0x{crc:08x}, computed 0x{int(computed[bad[0]]):08x}): "
            "the file is corrupt"
        )


def iter_records(
    path: str | os.PathLike[str],
    *,
    verify: bool = True,
    progress: Callable[[int], None] | None = None,
    buffer_size: int = _BUFFER,
) -> Iterator[tuple[int, bytes]]:
    """Stream the records of a TFRecord file.

    Args:
        path: the file.
        verify: check the length CRC and data CRC of every record (default; ``False`` only checks framing).
        progress: called with the number of bytes consumed since the last call.
        buffer_size: bytes read per I/O call.

    Yields:
        ``(offset, data)`` per record, in file order; ``offset`` is where its header starts.

    Raises:
        CorruptRecordError: a CRC mismatch, a truncated record or an empty file; the message names the
            file and the offset and says "CRC" or "corrupt".
        FileNotFoundError: no such file.
    """
    path = Path(path)
    header_crcs: dict[bytes, int] = {}  # lengths repeat a lot: checksum each distinct header once
    with open(path, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        if size == 0:
            raise CorruptRecordError(f"{path}: empty file at offset 0, no TFRecord records: corrupt or not a TFRecord")
        buffer = b""
        base = 0  # file offset of buffer[0]
        eof = False
        while not eof or buffer:
            if not eof:
                chunk = stream.read(max(buffer_size, 1))
                eof = not chunk
                buffer += chunk
            pos = 0
            pending: list[tuple[int, bytes, int]] = []
            while True:
                offset = base + pos
                if len(buffer) - pos < HEADER_SIZE:
                    if eof and pos < len(buffer):
                        raise CorruptRecordError(
                            f"{path}: truncated record header at offset {offset} ({len(buffer) - pos} bytes left, "
                            f"{HEADER_SIZE} needed): the file is corrupt or was cut short"
                        )
                    break
                length, length_crc = _HEADER.unpack_from(buffer, pos)
                if verify:
                    length_bytes = buffer[pos : pos + 8]
                    expected = header_crcs.get(length_bytes)
                    if expected is None:
                        expected = header_crcs[length_bytes] = masked_crc32c(length_bytes)
                    if expected != length_crc:
                        raise CorruptRecordError(
                            f"{path}: length CRC mismatch in the record header at offset {offset} (stored "
                            f"0x{length_crc:08x}, computed 0x{expected:08x}): the file is corrupt"
                        )
                end = pos + HEADER_SIZE + length + FOOTER_SIZE
                if offset + HEADER_SIZE + length + FOOTER_SIZE > size:
                    raise CorruptRecordError(
                        f"{path}: the record at offset {offset} needs {length} data bytes + CRC but the file ends "
                        f"{size - offset - HEADER_SIZE} bytes later: the file is truncated or corrupt"
                    )
                if end > len(buffer):
                    break
                data = buffer[pos + HEADER_SIZE : pos + HEADER_SIZE + length]
                (data_crc,) = _FOOTER.unpack_from(buffer, end - FOOTER_SIZE)
                pending.append((offset, data, data_crc))
                pos = end
            if verify and pending:
                _check_data(path, pending)
            yield from ((offset, data) for offset, data, _ in pending)
            if progress is not None and pos:
                progress(pos)
            buffer = buffer[pos:]
            base += pos
            if eof and not buffer:
                break


def frame_record(data: bytes) -> bytes:
    """One record in TFRecord framing (header, data, data CRC)."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


def write_records(path: str | os.PathLike[str], records: Iterable[bytes], *, batch: int = 4096) -> int:
    """Write records as a TFRecord file, atomically (temporary file + rename).

    Args:
        path: destination; only replaced once every record is written.
        records: record payloads, in order.
        batch: records checksummed together.

    Returns:
        The number of records written.
    """
    count = 0
    with atomic_path(path) as temporary, open(temporary, "wb") as stream:
        chunk: list[bytes] = []

        def flush() -> None:
            lengths = [struct.pack("<Q", len(data)) for data in chunk]
            length_crcs = mask(crc32c_many(lengths))
            data_crcs = mask(crc32c_many(chunk))
            stream.write(
                b"".join(
                    length + struct.pack("<I", int(lc)) + data + struct.pack("<I", int(dc))
                    for length, lc, data, dc in zip(lengths, length_crcs, chunk, data_crcs, strict=True)
                )
            )
            chunk.clear()

        for data in records:
            chunk.append(bytes(data))
            count += 1
            if len(chunk) >= batch:
                flush()
        if chunk:
            flush()
    return count


_SIGNATURES = (
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (an ecnas table? open it with `ecnas info FILE`)"),
    (b"\x1f\x8b", "gzip-compressed (decompress it first, e.g. `gunzip FILE`)"),
    (b"PK\x03\x04", "a zip archive (extract the .tfrecord file first)"),
    (b"BZh", "bzip2-compressed (decompress it first)"),
)


def not_a_tfrecord(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` is not a TFRecord file, judged from its first record header; None when it may be one.

    A TFRecord file starts with a 12-byte header whose last 4 bytes are the masked CRC-32C of the first 8;
    any other file fails that check at offset 0 (a later failure means corruption, not another format).
    """
    path = Path(path)
    with open(path, "rb") as stream:
        head = stream.read(HEADER_SIZE)
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            return f"{path} is {what}, not a TFRecord file"
    if len(head) < HEADER_SIZE:
        return None  # empty or shorter than one header: iter_records reports it as such
    _, crc = _HEADER.unpack(head)
    if masked_crc32c(head[:8]) == crc:
        return None
    try:
        head.decode("ascii")
        kind = " (it starts with text: CSV, JSON or similar?)"
    except UnicodeDecodeError:
        kind = ""
    return (
        f"{path} is not a TFRecord file{kind}: its first 12 bytes are not a record header (length + masked "
        "CRC-32C); give a NAS-Bench-101 or EC-NAS .tfrecord file"
    )
