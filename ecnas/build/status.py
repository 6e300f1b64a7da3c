"""Progress and merging of a build directory: ``ecnas build status`` and ``ecnas build merge``."""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecnas.build.plan import read_plan
from ecnas.build.records import complete_records, decode_line, read_lines, write_records_atomic

__all__ = ["MERGED_FILE", "BuildStatus", "RecordTail", "build_status", "merge_records"]

MERGED_FILE = "records.jsonl"
_SHARD_RE = re.compile(r"records-(\d+)-of-(\d+)\.jsonl$")


def merge_records(workdir: str | os.PathLike[str]) -> tuple[Path, int]:
    """Merge every record file of ``workdir`` into ``records.jsonl`` (atomic, idempotent).

    The merged file is read first, then the shard files in name order; per cell the first complete
    attempt is kept, so merging twice, or after more shards finished, never duplicates a record.

    Returns:
        The merged file and the number of cells in it.
    """
    directory = Path(workdir)
    plan = read_plan(directory)
    files = ([directory / MERGED_FILE] if (directory / MERGED_FILE).is_file() else []) + sorted(
        directory.glob("records-*-of-*.jsonl")
    )
    records: list[dict[str, Any]] = []
    for file in files:
        records.extend(read_lines(file)[0])
    kept = complete_records(
        records, budgets=plan.profile_options.get("budgets"), repeats=plan.profile_options.get("repeats")
    )
    write_records_atomic(directory / MERGED_FILE, kept)
    return directory / MERGED_FILE, len({r["hash"] for r in kept})


class RecordTail:
    """Counts complete cells in growing record files by reading only the bytes appended since last time."""

    def __init__(self, workdir: str | os.PathLike[str], cells_per_attempt: int) -> None:
        self.directory = Path(workdir)
        self.need = cells_per_attempt
        self._offsets: dict[Path, int] = {}
        self._counts: dict[tuple[str, str], int] = defaultdict(int)
        self.done: set[str] = set()

    def poll(self) -> int:
        """Read what was appended; returns the number of complete cells seen so far."""
        for file in sorted(self.directory.glob("records*.jsonl")):
            offset = self._offsets.get(file, 0)
            size = file.stat().st_size
            if size < offset:  # rewritten (merge): start over for this file
                offset = 0
            if size == offset:
                continue
            with open(file, "rb") as handle:
                handle.seek(offset)
                chunk = handle.read(size - offset)
            cut = chunk.rfind(b"\n")
            if cut < 0:
                continue
            for line in chunk[:cut].split(b"\n"):
                record = decode_line(line)
                if record is None:
                    continue
                key = (record["hash"], str(record.get("attempt", "")))
                self._counts[key] += 1
                if self._counts[key] >= self.need:
                    self.done.add(record["hash"])
            self._offsets[file] = offset + cut + 1
        return len(self.done)


@dataclass
class BuildStatus:
    """Progress of a build directory."""

    workdir: str
    profile: str
    planned: int
    done: int
    shards: dict[str, dict[str, int]] = field(default_factory=dict)
    dropped_lines: int = 0
    first_record: str | None = None
    last_record: str | None = None
    cells_per_hour: float | None = None
    merged: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-able copy."""
        return dict(self.__dict__)

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        share = 100.0 * self.done / self.planned if self.planned else 0.0
        out = [
            f"build {self.workdir}: profile {self.profile}, {self.done}/{self.planned} cells measured ({share:.1f}%)"
        ]
        for name, info in sorted(self.shards.items()):
            out.append(f"  {name}: {info['done']}/{info['planned']} cells, {info['records']} records")
        if self.dropped_lines:
            out.append(f"  {self.dropped_lines} torn/corrupt line(s) ignored (a killed writer; harmless)")
        if self.cells_per_hour:
            remaining = (self.planned - self.done) / self.cells_per_hour
            out.append(
                f"  rate {self.cells_per_hour:.0f} cells/h since {self.first_record}; "
                f"~{remaining * 60:.0f} min left at that rate"
            )
        if self.merged:
            out.append(f"  merged into {MERGED_FILE}")
        return out


def build_status(workdir: str | os.PathLike[str]) -> BuildStatus:
    """Progress of the build in ``workdir``: planned/done cells overall and per shard file."""
    directory = Path(workdir)
    plan = read_plan(directory)
    budgets = plan.profile_options.get("budgets")
    repeats = plan.profile_options.get("repeats")
    all_records: list[dict[str, Any]] = []
    shards: dict[str, dict[str, int]] = {}
    dropped = 0
    files = ([directory / MERGED_FILE] if (directory / MERGED_FILE).is_file() else []) + sorted(
        directory.glob("records-*-of-*.jsonl")
    )
    for file in files:
        records, bad = read_lines(file)
        dropped += bad
        all_records.extend(records)
        match = _SHARD_RE.search(file.name)
        if match:
            index, count = int(match.group(1)), int(match.group(2))
            cells = {r["hash"] for r in complete_records(records, budgets=budgets, repeats=repeats)}
            shards[file.name] = {
                "planned": len(plan.shard_indices(index, count)) if index < count else 0,
                "done": len(cells),
                "records": len(records),
            }
    kept = complete_records(all_records, budgets=budgets, repeats=repeats)
    planned = set(plan.hashes)
    done = {r["hash"] for r in kept} & planned
    times = sorted(r["created"] for r in kept if r.get("created"))
    rate = None
    if len(times) >= 2:
        first = _dt.datetime.fromisoformat(times[0])
        last = _dt.datetime.fromisoformat(times[-1])
        hours = (last - first).total_seconds() / 3600
        rate = len(done) / hours if hours > 0 else None
    return BuildStatus(
        workdir=str(directory),
        profile=plan.profile,
        planned=len(planned),
        done=len(done),
        shards=shards,
        dropped_lines=dropped,
        first_record=times[0] if times else None,
        last_record=times[-1] if times else None,
        cells_per_hour=rate,
        merged=(directory / MERGED_FILE).is_file(),
    )


def status_json(workdir: str | os.PathLike[str]) -> str:
    """:func:`build_status` as indented JSON."""
    return json.dumps(build_status(workdir).as_dict(), indent=1)
