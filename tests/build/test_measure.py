from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecnas.build.measure import measure_shard
from ecnas.build.plan import parse_shard, read_plan
from ecnas.build.records import load_records, read_lines, shard_file_name
from ecnas.build.status import build_status, merge_records
from ecnas.build.train import derive_seed
from ecnas.space import CellSpec

#: Fields that depend only on the plan (not on timing or energy): equal across shardings.
DETERMINISTIC = (
    "hash",
    "budget",
    "repeat",
    "matrix",
    "ops",
    "trainable_parameters",
    "train_accuracy",
    "validation_accuracy",
    "test_accuracy",
    "seed",
    "profile",
    "profile_options",
)


def _deterministic(records: list[dict]) -> list[tuple]:
    return [tuple(repr(r[k]) for k in DETERMINISTIC) for r in records]


def test_parse_shard() -> None:
    assert parse_shard("2/5") == (2, 5)
    for bad in ("5/5", "1", "a/b", "-1/3", "0/0"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)


def test_shards_partition_the_plan(hand_plan: tuple[Path, object]) -> None:
    _, plan = hand_plan
    for count in (1, 2, 3, 8, 11):
        parts = [plan.shard_indices(i, count) for i in range(count)]
        flat = sorted(i for part in parts for i in part)
        assert flat == list(range(len(plan)))
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_derive_seed_is_stable_and_distinct() -> None:
    assert derive_seed(0, "a" * 32, 0) == derive_seed(0, "a" * 32, 0)
    assert (
        len(
            {
                derive_seed(0, "a" * 32, 0),
                derive_seed(1, "a" * 32, 0),
                derive_seed(0, "b" * 32, 0),
                derive_seed(0, "a" * 32, 1),
            }
        )
        == 4
    )
    assert 0 <= derive_seed(7, "c" * 32, 2) < 2**63


def test_records_have_the_contract_keys(hand_plan: tuple[Path, object]) -> None:
    workdir, plan = hand_plan
    summary = measure_shard(workdir, limit=2, progress=False)
    assert summary.measured == 2
    records = load_records(workdir)
    assert len(records) == 2 * 2  # 2 cells x budgets (1, 2)
    from ecnas.build.records import RECORD_KEYS

    for record in records:
        assert set(RECORD_KEYS) <= set(record)
        assert CellSpec(record["matrix"], record["ops"]).hash == record["hash"]
        assert 0 <= record["validation_accuracy"] <= 1 and record["training_time"] > 0
        assert record["energy_kwh"] >= 0 and record["total_energy_kwh"] >= record["energy_kwh"]
        assert record["energy"]["method"].startswith(("estimated", "measured", "mixed"))
        assert record["energy"]["carbon_intensity"] == 300.0
        assert record["seed"] == derive_seed(0, record["hash"], 0)
        assert record["hardware"]["torch_threads"] == 1 and "torch" in record["software"]
        assert record["dataset"].startswith("scikit-learn digits")  # fit/fill describe the data from it
    first, second = records[0], records[1]
    # single-run schedule: cumulative time and energy grow with the budget
    assert first["budget"] == 1 and second["budget"] == 2
    assert second["training_time"] > first["training_time"]
    assert second["energy_kwh"] >= first["energy_kwh"]
    # resuming measures only the rest
    summary = measure_shard(workdir, progress=False)
    assert (summary.already_done, summary.measured) == (2, len(plan) - 2)
    assert measure_shard(workdir, progress=False).measured == 0


def test_shards_then_merge_equal_one_process(tmp_path: Path, cells_factory, plan_factory) -> None:
    cells = cells_factory(6)
    single, sharded = tmp_path / "single", tmp_path / "sharded"
    plan_factory(single, cells)
    plan_factory(sharded, cells)
    measure_shard(single, progress=False)
    for index in range(3):
        measure_shard(sharded, shard=(index, 3), progress=False)
    assert sorted(p.name for p in sharded.glob("records-*")) == [shard_file_name(i, 3) for i in range(3)]
    path, count = merge_records(sharded)
    assert count == 6
    merged_once = path.read_bytes()
    assert merge_records(sharded)[1] == 6 and path.read_bytes() == merged_once  # idempotent
    assert _deterministic(load_records(path)) == _deterministic(load_records(single))
    assert build_status(sharded).done == 6


def _spawn_worker(workdir: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen(
        [sys.executable, "-m", "ecnas.build.worker", "--workdir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def test_kill_9_then_resume_loses_nothing_and_duplicates_nothing(tmp_path: Path, cells_factory, plan_factory) -> None:
    cells = cells_factory(8)
    workdir, reference = tmp_path / "killed", tmp_path / "reference"
    plan_factory(workdir, cells)
    plan_factory(reference, cells)
    proc = _spawn_worker(workdir)
    shard = workdir / shard_file_name(0, 1)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if shard.is_file() and len(read_lines(shard)[0]) >= 2 * 2:
            break
        if proc.poll() is not None:
            pytest.fail(f"worker exited early: {proc.stderr.read().decode()[-500:]}")
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {r["hash"] for r in load_records(workdir)}
    assert 2 <= len(done_before) <= len(cells)
    # simulate the kill landing in the middle of a write: a torn half line at the end
    with open(shard, "ab") as handle:
        handle.write(b'{"crc32":"1234abcd","record":{"hash":"')
    status = build_status(workdir)
    assert status.done == len(done_before) and status.dropped_lines >= 1
    measure_shard(workdir, progress=False)
    records = load_records(workdir)
    keys = [(r["hash"], r["budget"], r["repeat"]) for r in records]
    assert len(keys) == len(set(keys)) == len(cells) * 2
    assert read_lines(shard)[1] == 0  # the torn tail was cut before appending
    measure_shard(reference, progress=False)
    assert _deterministic(records) == _deterministic(load_records(reference))
    assert read_plan(workdir).hashes == [c.hash for c in cells]
