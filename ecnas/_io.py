"""Small I/O primitives shared by every writer: atomic replacement of files, dataset digests, strict JSON."""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import math
import os
import socket
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ecnas.errors import WriteError

__all__ = [
    "ATTRIBUTES_DIGEST",
    "array_sha256",
    "atomic_h5",
    "atomic_path",
    "atomic_write_text",
    "jsonable",
    "remove_stale_temporaries",
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
    interrupted write never leaves a half-written file under the target name. Temporary files left by
    writers that were killed (``kill -9``, power loss) are removed by the next write to the same target
    (:func:`remove_stale_temporaries`).

    Raises:
        WriteError: the file system refused the write (full, read-only, permission denied); names the path.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path, suffix=suffix)
        handle, temporary = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=suffix, dir=path.parent)
    except OSError as error:
        raise _write_error(path, error) from None
    os.close(handle)
    try:
        try:
            yield Path(temporary)
        except OSError as error:  # the caller's own writes: only a full disk is surely a write failure
            if error.errno in (errno.ENOSPC, errno.EDQUOT) and not isinstance(error, WriteError):
                raise _write_error(path, error) from None
            raise
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes the file private; the result follows the umask
            descriptor = os.open(temporary, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            os.replace(temporary, path)
        except OSError as error:
            raise _write_error(path, error) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


#: Temporary files of another host (or of an older ecnas, without a pid) are removed after this many seconds.
STALE_AFTER_S = 24 * 3600


def _temporary_prefix(path: Path) -> str:
    host = socket.gethostname().replace(".", "_") or "host"
    return f".{path.name}.{host}.{os.getpid()}."


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temporaries(path: str | os.PathLike[str], *, suffix: str = ".tmp") -> list[Path]:
    """Remove temporary files of earlier writes to ``path`` whose writer is gone.

    A temporary is ``.<name>.<host>.<pid>.<random><suffix>``: on this host it is stale once ``pid`` is no
    longer running; one of another host (a shared file system) or without a pid only after
    :data:`STALE_AFTER_S`, since its writer cannot be checked from here.

    Returns:
        The removed files.
    """
    path = Path(path)
    host = socket.gethostname().replace(".", "_") or "host"
    removed = []
    try:
        candidates = list(path.parent.glob(f".{glob.escape(path.name)}.*{glob.escape(suffix)}"))
    except OSError:
        return removed
    for candidate in candidates:
        middle = candidate.name[len(path.name) + 2 : -len(suffix)].split(".")
        try:
            if len(middle) == 3 and middle[0] == host and middle[1].isdigit():
                stale = not _pid_alive(int(middle[1]))
            else:
                stale = time.time() - candidate.stat().st_mtime > STALE_AFTER_S
            if stale:
                candidate.unlink()
                removed.append(candidate)
        except OSError:
            continue  # raced with its writer or another cleaner: not ours to report
    return removed


def _write_error(path: Path, error: OSError) -> WriteError:
    reasons = {
        errno.ENOSPC: "no space left on the device; free some space or write elsewhere",
        errno.EDQUOT: "disk quota exceeded; free some space or write elsewhere",
        errno.EROFS: "the file system is read-only; write elsewhere",
        errno.EACCES: "permission denied; choose a folder you can write to",
        errno.EPERM: "permission denied; choose a folder you can write to",
    }
    reason = reasons.get(error.errno or 0, error.strerror or str(error))
    failure = WriteError(f"cannot write {path}: {reason} (nothing was written)")
    failure.errno = error.errno or errno.EIO
    failure.strerror = error.strerror  # callers printing "could not write X: {strerror}" keep working
    return failure


@contextlib.contextmanager
def atomic_h5(path: str | os.PathLike[str]) -> Iterator[Any]:
    """Yield a new HDF5 file built in memory; on success write it to ``path`` atomically in one go.

    HDF5 failing mid-write (a full disk) leaves its objects in a state that crashes the interpreter at exit;
    building the file in memory and writing its image with plain I/O turns any file-system error into one
    :class:`~ecnas.errors.WriteError` with nothing left behind. Costs about twice the file's size in memory.
    """
    import h5py

    path = Path(path)
    h5 = h5py.File(f"{path.name}.{os.getpid()}.{id(path)}", "w", driver="core", backing_store=False)
    try:
        yield h5
        h5.flush()
        image = h5.id.get_file_image()
    finally:
        h5.close()
    with atomic_path(path) as temporary:
        try:
            with open(temporary, "wb") as stream:
                stream.write(image)
        except OSError as error:
            raise _write_error(path, error) from None


def array_sha256(array: np.ndarray) -> str:
    """Hex sha256 of an array's bytes: the integrity stamp every ecnas HDF5 dataset carries."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (:class:`~ecnas.errors.WriteError` if it cannot)."""
    with atomic_path(path) as temporary:
        try:
            temporary.write_text(text, encoding="utf-8")
        except OSError as error:
            raise _write_error(Path(path), error) from None
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
