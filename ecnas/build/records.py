"""Durable, append-only record files of a build (one JSON object per line, checksummed).

Every line is ``{"crc32":"xxxxxxxx","record":{...}}`` where the CRC-32 covers the exact bytes of
the ``record`` JSON text. A cell's lines (all budgets x repeats of one measurement) are appended with
a single ``os.write`` followed by ``os.fsync``, so a ``kill -9`` at any moment leaves either the
whole cell, nothing, or a torn tail whose CRC fails; readers drop torn or corrupt lines, and a
writer reopening the file first truncates a torn tail so that new lines never glue onto it.

A cell counts as measured only when one attempt (``attempt`` key, a random token per cell run)
holds every (budget, repeat) record; the first complete attempt of a cell wins, so re-measuring
a cell whose earlier attempt was cut short never duplicates it.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ecnas._io import atomic_path
from ecnas.errors import CorruptRecordError, EcnasError

__all__ = [
    "RECORD_KEYS",
    "RecordWriter",
    "complete_records",
    "decode_line",
    "encode_line",
    "load_records",
    "read_lines",
    "records_provenance",
    "shard_file_name",
    "write_records_atomic",
]

#: Keys every measured record carries (the surrogate code relies on them), besides its space's
#: :attr:`~ecnas.spaces.SearchSpace.config_fields` (NB101: ``matrix``, ``ops``) and ``space`` (the space's name;
#: records written before spaces were plug-ins have none and are ``nb101``).
RECORD_KEYS: tuple[str, ...] = (
    "hash",
    "budget",
    "repeat",
    "trainable_parameters",
    "training_time",
    "train_accuracy",
    "validation_accuracy",
    "test_accuracy",
    "energy_kwh",
    "total_energy_kwh",
    "energy",
    "seed",
    "profile",
    "profile_options",
    "hardware",
    "software",
    "created",
)

_PREFIX = b'{"crc32":"'
_MIDDLE = b'","record":'
_HEADER_LEN = len(_PREFIX) + 8 + len(_MIDDLE)


def shard_file_name(index: int, count: int) -> str:
    """Name of the record file written by shard ``index`` of ``count`` (``records-<i>-of-<N>.jsonl``)."""
    return f"records-{index}-of-{count}.jsonl"


def encode_line(record: dict[str, Any]) -> bytes:
    """One checksummed line (ending in a newline) holding ``record``.

    Raises:
        ValueError: when the record holds NaN/infinity or something JSON cannot encode.
    """
    payload = json.dumps(record, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")
    crc = zlib.crc32(payload) & 0xFFFFFFFF
    return _PREFIX + f"{crc:08x}".encode("ascii") + _MIDDLE + payload + b"}\n"


def decode_line(line: bytes) -> dict[str, Any] | None:
    """The record of one line without its newline, or None when the line is torn or corrupt."""
    if len(line) <= _HEADER_LEN + 1 or not line.startswith(_PREFIX) or not line.endswith(b"}"):
        return None
    if line[len(_PREFIX) + 8 : _HEADER_LEN] != _MIDDLE:
        return None
    try:
        expected = int(line[len(_PREFIX) : len(_PREFIX) + 8], 16)
    except ValueError:
        return None
    payload = line[_HEADER_LEN:-1]
    if zlib.crc32(payload) & 0xFFFFFFFF != expected:
        return None
    try:
        record = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def read_lines(path: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], int]:
    """Every valid record of one file in file order, and the number of lines dropped as torn/corrupt.

    A last line without its newline is a torn write and is dropped, as is any line whose checksum fails.
    """
    data = Path(path).read_bytes()
    records: list[dict[str, Any]] = []
    dropped = 0
    lines = data.split(b"\n")
    # After the final newline split() yields b""; anything else there is a torn tail.
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        lines.pop()
        dropped += 1
    for line in lines:
        record = decode_line(line)
        if record is None:
            dropped += 1
        else:
            records.append(record)
    return records, dropped


def complete_records(
    records: Iterable[dict[str, Any]], *, budgets: Sequence[int] | None = None, repeats: int | None = None
) -> list[dict[str, Any]]:
    """Keep, per cell, the first attempt that holds every (budget, repeat) record; drop the rest.

    Args:
        records: records in priority order (earlier wins).
        budgets: budgets a complete cell must have; None = the budgets the cell's own records name
            (``profile_options['budgets']`` of the record, else those present).
        repeats: repeats a complete cell must have; None = from ``profile_options['repeats']``, else 1.

    Returns:
        The kept records sorted by (hash, repeat, budget): no (hash, budget, repeat) twice.
    """
    attempts: dict[tuple[str, str], list[dict[str, Any]]] = {}
    order: list[tuple[str, str]] = []
    for record in records:
        key = (str(record["hash"]), str(record.get("attempt", "")))
        if key not in attempts:
            attempts[key] = []
            order.append(key)
        attempts[key].append(record)
    kept: dict[str, list[dict[str, Any]]] = {}
    for key in order:
        cell_hash = key[0]
        if cell_hash in kept:
            continue
        group = attempts[key]
        options = group[0].get("profile_options") or {}
        want_budgets = tuple(budgets) if budgets is not None else tuple(options.get("budgets") or ())
        want_repeats = repeats if repeats is not None else int(options.get("repeats") or 1)
        by_key: dict[tuple[int, int], dict[str, Any]] = {}
        for record in group:
            by_key.setdefault((int(record["budget"]), int(record["repeat"])), record)
        if not want_budgets:
            want_budgets = tuple(sorted({b for b, _ in by_key}))
        needed = {(int(b), r) for b in want_budgets for r in range(want_repeats)}
        if needed <= set(by_key):
            kept[cell_hash] = [by_key[k] for k in sorted(needed, key=lambda k: (k[1], k[0]))]
    return [record for cell_hash in sorted(kept) for record in kept[cell_hash]]


def load_records(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    budgets: Sequence[int] | None = None,
    repeats: int | None = None,
) -> list[dict[str, Any]]:
    """The complete, de-duplicated records of a record file, several files, or a build directory.

    Args:
        path: a ``.jsonl`` record file, a list of them (earlier files win ties), or a build directory
            (its merged ``records.jsonl`` first, then every ``records-<i>-of-<N>.jsonl``).
        budgets: budgets a cell must have to count (default: those its profile options name).
        repeats: repeats a cell must have to count (default: from its profile options).

    Returns:
        One dict per (hash, budget, repeat), sorted by hash, repeat, budget, with the keys of
        :data:`RECORD_KEYS` (plus ``attempt``). Torn or corrupt lines and incomplete cells are left out.

    Raises:
        CorruptRecordError: when a path does not exist.
    """
    files = record_files(path)
    records: list[dict[str, Any]] = []
    for file in files:
        records.extend(read_lines(file)[0])
    return complete_records(records, budgets=budgets, repeats=repeats)


def record_files(path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The record files named by ``path`` (file, list of files, or build directory), in priority order."""
    if isinstance(path, (str, os.PathLike)):
        target = Path(path)
        if target.is_dir():
            merged = target / "records.jsonl"
            shards = sorted(target.glob("records-*-of-*.jsonl"))
            return ([merged] if merged.is_file() else []) + shards
        paths = [target]
    else:
        paths = [Path(p) for p in path]
    for file in paths:
        if not file.is_file():
            raise CorruptRecordError(f"record file {str(file)!r} does not exist; check the path or the --workdir.")
    return paths


class RecordWriter:
    """Appends cells' records durably to one file (one writer per file at a time).

    Opening truncates a torn tail left by a killed writer so that new lines start on a fresh line.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            # One writer per file: a second one (a requeued Slurm task, a stray `build measure`) would
            # truncate the first one's line in flight when it repairs the tail.
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = -1
            raise EcnasError(
                f"record file {str(self.path)!r} is being written by another process; wait for it to finish "
                "or stop it (each shard has exactly one writer)"
            ) from None
        self._repair_tail()

    def _repair_tail(self) -> None:
        size = os.fstat(self._fd).st_size
        if size == 0:
            return
        # Find the last newline; everything after it is a torn line from a killed writer.
        block = 1 << 16
        end = size
        while end > 0:
            start = max(0, end - block)
            chunk = os.pread(self._fd, end - start, start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                keep = start + cut + 1
                break
            end = start
        else:
            keep = 0
        if keep != size:
            os.ftruncate(self._fd, keep)
            os.fsync(self._fd)

    def append(self, records: Sequence[dict[str, Any]]) -> None:
        """Append the records of one cell with a single write, then fsync."""
        data = b"".join(encode_line(record) for record in records)
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_records_atomic(path: str | os.PathLike[str], records: Iterable[dict[str, Any]]) -> int:
    """Write ``records`` to ``path`` atomically (temp file, fsync, rename); returns the count written."""
    count = 0
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        for record in records:
            handle.write(encode_line(record))
            count += 1
    return count


def iter_cells(records: Iterable[dict[str, Any]]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Group records sorted by hash into ``(hash, records)`` pairs."""
    current: str | None = None
    group: list[dict[str, Any]] = []
    for record in records:
        if record["hash"] != current:
            if group:
                yield str(current), group
            current, group = record["hash"], []
        group.append(record)
    if group:
        yield str(current), group


def _distinct(values: Sequence[Any]) -> list[Any]:
    """Distinct values in first-seen order (dicts compared by content)."""
    seen: dict[str, Any] = {}
    for value in values:
        seen.setdefault(json.dumps(value, sort_keys=True, default=str), value)
    return list(seen.values())


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _co2_preserving(records: Sequence[Mapping[str, Any]]) -> tuple[float, float, int] | None:
    """One PUE and one intensity that price the records' total energy at their total CO2, and the count.

    ``PUE = Σ E·PUE / Σ E`` and ``I = Σ E·PUE·I / Σ E·PUE`` over records with all three numbers
    (E = ``total_energy_kwh``), so ``Σ E × PUE × I`` equals the records' own CO2.
    """
    rows = []
    for record in records:
        energy = record.get("energy") or {}
        numbers = [record.get("total_energy_kwh"), energy.get("pue"), energy.get("carbon_intensity")]
        parsed = [_number(value) for value in numbers]
        if None not in parsed:
            rows.append(tuple(parsed))
    facility = sum(e * p for e, p, _ in rows)
    total = sum(e for e, _, _ in rows)
    if not rows or facility <= 0 or total <= 0:
        return None
    return facility / total, sum(e * p * i for e, p, i in rows) / facility, len(rows)


def records_provenance(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Facts of the records: profile, hardware, software, energy method, intensity and PUE.

    Records written on several machines (Slurm shards, resumed builds) are described as such: hardware
    and software become ``{"mixed": [distinct values]}``; intensity and PUE, which the table needs as
    one number each to price CO2, become the energy-weighted values that keep the records' total CO2
    (plain means when energies are missing), with the distinct values listed.

    Raises:
        ValueError: the records come from several build profiles.
    """
    profiles = sorted({str(r.get("profile")) for r in records})
    if len(profiles) > 1:
        raise ValueError(f"records come from several build profiles {profiles}; fit one profile per table")
    energies = [r.get("energy") or {} for r in records]
    out: dict[str, Any] = {"profile": profiles[0], "profile_options": records[0].get("profile_options")}
    for key in ("dataset", "hardware", "software"):
        values = _distinct([r[key] for r in records if r.get(key) is not None])  # older records lack some
        out[key] = (values[0] if len(values) == 1 else {"mixed": values}) if values else None
    for key in ("method", "measured"):
        values = _distinct([e.get(key) for e in energies])
        out[f"energy_{key}"] = values[0] if len(values) == 1 else None
    methods = _distinct([str(e.get("method")) for e in energies])
    if len(methods) > 1:
        out["energy_method"] = "mixed: " + ", ".join(sorted(methods))
    sources = _distinct([e.get("intensity_source") for e in energies])
    out["intensity_source"] = sources[0] if len(sources) == 1 else "mixed: " + ", ".join(map(str, sources))
    weighted = _co2_preserving(records)
    for position, key in enumerate(("pue", "carbon_intensity")):
        values = _distinct([e.get(key) for e in energies])
        if len(values) <= 1:
            out[key] = values[0] if values else None
            continue
        numbers = [n for n in (_number(e.get(key)) for e in energies) if n is not None]
        if weighted is not None:
            out[key] = weighted[position]
            how = f"weighted by total_energy_kwh over {weighted[2]} records (keeps their total CO2)"
        else:
            out[key] = sum(numbers) / len(numbers) if numbers else None
            how = f"mean over {len(numbers)} records"
        out[f"{key}_per_record"] = {"combined": how, "distinct": values}
    return out
