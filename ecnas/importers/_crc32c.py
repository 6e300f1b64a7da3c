"""CRC-32C (Castagnoli), the checksum of TFRecord framing, plus TFRecord's masking.

Uses the C implementation of ``google-crc32c`` when it is installed; otherwise a numpy version
that checks many buffers at once (4 bytes per step through two 64K-entry tables, one lane per
buffer), and a pure-Python table loop for the odd short buffer. All three give identical values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["BACKEND", "available_backends", "crc32c", "crc32c_many", "mask", "masked_crc32c", "unmask"]

_POLY = 0x82F63B78  # Castagnoli polynomial, bit-reversed
_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF


def _byte_table() -> list[int]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _byte_table()
_WORD_TABLES: tuple[np.ndarray, np.ndarray] | None = None


def _word_tables() -> tuple[np.ndarray, np.ndarray]:
    """Tables advancing the register by 4 bytes: ``s' = low[s & 0xFFFF] ^ high[s >> 16]`` (built on first use)."""
    global _WORD_TABLES
    if _WORD_TABLES is None:
        table = np.array(_TABLE, dtype=np.uint32)
        low = np.arange(65536, dtype=np.uint32)
        high = low << np.uint32(16)
        for _ in range(4):  # four byte steps; each is linear in the register, so tables compose
            low = table[low & 0xFF] ^ (low >> np.uint32(8))
            high = table[high & 0xFF] ^ (high >> np.uint32(8))
        _WORD_TABLES = (low, high)
    return _WORD_TABLES


def _crc_python(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    table = _TABLE
    crc ^= _U32
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ _U32


def _crc_many_numpy(buffers: Sequence[bytes]) -> np.ndarray:
    """CRC-32C of every buffer, vectorised across buffers (one numpy lane per buffer).

    Each buffer is right-aligned in a zero-padded matrix: leading zero bytes leave a zero register
    unchanged, and the initial register value 0xFFFFFFFF is folded into the first four data bytes.
    Buffers are processed in groups of similar length to keep the padding small.
    """
    count = len(buffers)
    out = np.empty(count, dtype=np.uint32)
    if count == 0:
        return out
    lengths = np.fromiter((len(b) for b in buffers), dtype=np.int64, count=count)
    short = np.flatnonzero(lengths < 4)
    for i in short:
        out[i] = _crc_python(buffers[i])
    order = np.argsort(lengths, kind="stable")
    order = order[lengths[order] >= 4]
    low, high = _word_tables()
    group_bytes = 1 << 22
    start = 0
    while start < order.size:
        longest = int(lengths[order[min(order.size - 1, start + 4095)]])
        size = max(1, min(4096, group_bytes // max(longest, 1)))
        members = order[start : start + size]
        start += size
        sizes = lengths[members]
        width = (int(sizes.max()) + 3) // 4 * 4
        joined = np.frombuffer(b"".join(buffers[i] for i in members), dtype=np.uint8)
        matrix = np.zeros((members.size, width), dtype=np.uint8)
        rows = np.repeat(np.arange(members.size), sizes)
        first = np.cumsum(sizes) - sizes
        cols = np.arange(joined.size) - np.repeat(first, sizes) + np.repeat(width - sizes, sizes)
        matrix[rows, cols] = joined
        heads = width - sizes
        for k in range(4):
            matrix[np.arange(members.size), heads + k] ^= 0xFF
        words = np.ascontiguousarray(matrix.view("<u4").T)  # `width/4 x group`, one row per step
        state = np.zeros(members.size, dtype=np.uint32)
        for column in words:
            state ^= column
            state = low[state & 0xFFFF] ^ high[state >> 16]
        out[members] = state ^ np.uint32(_U32)
    return out


try:  # pragma: no cover - depends on the environment
    import google_crc32c as _google

    _GOOGLE = _google if getattr(_google, "implementation", "python") == "c" else None
except ImportError:  # pragma: no cover - depends on the environment
    _GOOGLE = None

#: Which implementation :func:`crc32c` and :func:`crc32c_many` use: ``"google-crc32c"`` or ``"numpy"``.
BACKEND = "google-crc32c" if _GOOGLE is not None else "numpy"


def available_backends() -> tuple[str, ...]:
    """Backends usable here (``"numpy"`` always; ``"google-crc32c"`` when its C extension is installed)."""
    return ("google-crc32c", "numpy") if _GOOGLE is not None else ("numpy",)


def crc32c(data: bytes | bytearray | memoryview, *, backend: str | None = None) -> int:
    """CRC-32C of ``data`` (e.g. ``crc32c(b"123456789") == 0xE3069283``).

    Args:
        data: the bytes to checksum.
        backend: ``None`` for :data:`BACKEND`, or one of :func:`available_backends`.
    """
    backend = _check_backend(backend)
    if backend == "google-crc32c":
        return int(_GOOGLE.value(bytes(data)))  # type: ignore[union-attr]
    if len(data) < 256:
        return _crc_python(data)
    return int(_crc_many_numpy([bytes(data)])[0])


def crc32c_many(buffers: Sequence[bytes], *, backend: str | None = None) -> np.ndarray:
    """CRC-32C of each buffer, as a uint32 array (vectorised when ``google-crc32c`` is absent)."""
    backend = _check_backend(backend)
    if backend == "google-crc32c":
        value = _GOOGLE.value  # type: ignore[union-attr]
        return np.fromiter((value(b) for b in buffers), dtype=np.uint32, count=len(buffers))
    return _crc_many_numpy(buffers)


def mask(crc: int | np.ndarray) -> int | np.ndarray:
    """TFRecord's masking of a CRC: rotate right by 15 bits and add 0xA282EAD8 (mod 2^32)."""
    if isinstance(crc, np.ndarray):
        crc = crc.astype(np.uint32)
        return ((crc >> np.uint32(15)) | (crc << np.uint32(17))) + np.uint32(_MASK_DELTA)
    crc &= _U32
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & _U32


def unmask(masked: int) -> int:
    """Inverse of :func:`mask`."""
    rotated = (masked - _MASK_DELTA) & _U32
    return ((rotated >> 17) | (rotated << 15)) & _U32


def masked_crc32c(data: bytes | bytearray | memoryview, *, backend: str | None = None) -> int:
    """The masked CRC-32C that TFRecord stores after the length and after the data."""
    return int(mask(crc32c(data, backend=backend)))


def _check_backend(backend: str | None) -> str:
    if backend is None:
        return BACKEND
    if backend not in available_backends():
        raise ValueError(f"backend must be one of {list(available_backends())} here, got {backend!r}")
    return backend
