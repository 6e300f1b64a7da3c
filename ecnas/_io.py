"""Small I/O primitives shared by every writer: atomic replacement of files, dataset digests, strict JSON."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ATTRIBUTES_DIGEST",
    "array_sha256",
    "atomic_path",
    "atomic_write_text",
    "jsonable",
    "tree_sha256",
]

#: Attribute holding :func:`tree_sha256` of the group it is set on (tables, surrogate files and groups).
ATTRIBUTES_DIGEST = "attributes_sha256"
#: Attributes of the stamped group itself left out of its digest: the digest, and the flag written after it.
_UNSTAMPED = frozenset({ATTRIBUTES_DIGEST, "complete"})


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary file next to ``path``; on success fsync it and rename it over ``path``.

    On any exception (or interrupt) the temporary file is removed and ``path`` is left as it was, so an
    interrupted write never leaves a half-written file under the target name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes the file private; the result follows the umask
        descriptor = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def array_sha256(array: np.ndarray) -> str:
    """Hex sha256 of an array's bytes: the integrity stamp every ecnas HDF5 dataset carries."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)


def jsonable(value: Any) -> Any:
    """Convert numpy values, paths and tuples for strict JSON; non-finite floats become ``None``."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def _attribute_bytes(value: Any) -> bytes:
    """Canonical bytes of one HDF5 attribute value as h5py reads it back (str, bytes, numpy scalar or array)."""
    if isinstance(value, bytes):
        return b"b" + value
    if isinstance(value, str):
        return b"s" + value.encode("utf-8", "surrogatepass")
    array = np.asarray(value)
    if array.dtype.kind == "O":  # variable-length strings in an array attribute
        return b"o" + "\x00".join(str(v) for v in array.ravel()).encode("utf-8", "surrogatepass")
    return f"{array.dtype.str}{array.shape}".encode() + np.ascontiguousarray(array).tobytes()


def tree_sha256(group: Any) -> str:
    """Hex sha256 over every attribute of ``group`` and of every group and dataset below it.

    Covers names, attribute values, and each dataset's dtype and shape (not its data: each dataset's
    ``sha256`` attribute covers that, and is itself covered here, so deleting it changes the digest). The
    group's own :data:`ATTRIBUTES_DIGEST` and ``complete`` attributes are left out (written after it).
    Reading attributes only, it costs well under a millisecond per object: cheap enough for every open.

    Args:
        group: an open ``h5py.Group`` (or ``File``).
    """
    import h5py

    digest = hashlib.sha256()

    def stamp(name: str, item: Any, skip: frozenset[str]) -> None:
        digest.update(b"\x01" + name.encode("utf-8", "surrogatepass"))
        if isinstance(item, h5py.Dataset):
            digest.update(f"\x02{item.dtype.str}{item.shape}".encode())
        for key in sorted(item.attrs):
            if key not in skip:
                digest.update(b"\x03" + key.encode("utf-8", "surrogatepass") + b"\x00")
                digest.update(_attribute_bytes(item.attrs[key]))

    stamp("", group, _UNSTAMPED)
    names: list[str] = []
    group.visit(names.append)
    for name in sorted(names):
        item = group.get(name, getlink=False)
        if item is not None:
            stamp(name, item, frozenset())
    return digest.hexdigest()
