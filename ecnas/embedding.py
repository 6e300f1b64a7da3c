"""Convert EC-NAS's reference TFRecords into the embedded tables, and check them against their digests.

Used by ``builders/embed_ecnas.py`` (regenerate, ``--check``) and by the tests. A table's *content digest* is
the sha256 over the sha256 of every dataset's values (names sorted): it does not depend on the attributes
(creation time, software versions), so a fresh conversion of the same TFRecord has the same digest on any
machine; the file's own sha256 guards the shipped bytes.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ecnas._io import array_sha256, atomic_write_text
from ecnas.tables import ECNAS_SOURCE, EMBEDDED, MANIFEST_NAME

__all__ = ["RELEASE", "content_digest", "convert", "embed_all", "file_sha256"]

#: Release of the embedded EC-NAS tables; raise it when a conversion changes their content.
RELEASE = 1


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def content_digest(path: str | os.PathLike[str]) -> str:
    """sha256 over ``name:sha256(values)`` of every dataset of a table, sorted by name (attributes excluded)."""
    import h5py

    lines: list[str] = []
    with h5py.File(path, "r") as h5:

        def visit(name: str, item: Any) -> None:
            if isinstance(item, h5py.Dataset):
                lines.append(f"{name}:{array_sha256(item[()])}")

        h5.visititems(visit)
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def convert(name: str, reference_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Path:
    """Convert the reference TFRecord of embedded table ``name`` into ``out_dir/<file>`` with full provenance.

    Raises:
        ValueError: ``name`` is not an embedded EC-NAS table.
        FileNotFoundError: its reference file is not in ``reference_dir``.
    """
    from ecnas.importers import get_importer

    table = EMBEDDED.get(name)
    if table is None or table.source is None:
        valid = [n for n, t in EMBEDDED.items() if t.source is not None]
        raise ValueError(f"name must be an embedded EC-NAS table {valid}, got {name!r}")
    source = Path(reference_dir) / table.source
    if not source.is_file():
        raise FileNotFoundError(f"{source}: reference file of {name} not found (pass the folder holding it)")
    importer = get_importer("ecnas")
    imported = importer.read(source)
    provenance = imported.contents.provenance
    provenance["embedded"] = {
        "name": name,
        "release": RELEASE,
        "hardware": table.hardware,
        "summary": table.summary,
        "converted_by": "ecnas import ecnas (builders/embed_ecnas.py)",
        **ECNAS_SOURCE,
    }
    provenance["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    destination = Path(out_dir) / table.file
    imported.write(destination, description=f" ({importer.format})")
    return destination


def embed_all(
    reference_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str], names: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Convert every embedded EC-NAS table (or ``names``) and write the manifest next to them.

    Returns:
        Name → manifest entry (``file``, ``release``, ``sha256``, ``content_digest``, ``size_bytes``,
        ``source`` with its name and sha256).
    """
    out = Path(out_dir)
    manifest_path = out / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    entries: dict[str, dict[str, Any]] = dict(manifest.get("tables", {}))
    for name in names or [n for n, t in EMBEDDED.items() if t.source is not None]:
        path = convert(name, reference_dir, out)
        source = Path(reference_dir) / str(EMBEDDED[name].source)
        entries[name] = {
            "file": path.name,
            "release": RELEASE,
            "sha256": file_sha256(path),
            "content_digest": content_digest(path),
            "size_bytes": path.stat().st_size,
            "source": {"name": source.name, "sha256": file_sha256(source), "size_bytes": source.stat().st_size},
        }
    document = {
        "format": "ecnas-embedded-tables",
        "note": "written by builders/embed_ecnas.py; content_digest = sha256 over every dataset's values",
        "tables": dict(sorted(entries.items())),
    }
    atomic_write_text(manifest_path, json.dumps(document, indent=1) + "\n")
    return entries
