from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ecnas.build.records import (
    RecordWriter,
    complete_records,
    encode_line,
    load_records,
    read_lines,
    records_provenance,
    write_records_atomic,
)
from ecnas.errors import CorruptRecordError


def _rec(cell: str, budget: int, attempt: str = "a", repeat: int = 0, **extra: object) -> dict:
    return {
        "hash": cell,
        "budget": budget,
        "repeat": repeat,
        "attempt": attempt,
        "profile_options": {"budgets": [1, 2], "repeats": 1},
        "validation_accuracy": 0.5,
        **extra,
    }


def test_line_is_json_with_crc_and_round_trips(tmp_path: Path) -> None:
    line = encode_line(_rec("h" * 32, 1, note="é\n"))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    outer = json.loads(line)
    assert set(outer) == {"crc32", "record"} and outer["record"]["note"] == "é\n"
    path = tmp_path / "r.jsonl"
    path.write_bytes(line)
    records, dropped = read_lines(path)
    assert dropped == 0 and records == [_rec("h" * 32, 1, note="é\n")]


def test_nan_is_refused() -> None:
    with pytest.raises(ValueError):
        encode_line(_rec("x", 1, energy_kwh=float("nan")))


def test_torn_and_corrupt_lines_are_dropped(tmp_path: Path) -> None:
    good = encode_line(_rec("a", 1)) + encode_line(_rec("a", 2))
    flipped = bytearray(encode_line(_rec("b", 1)))
    flipped[-5] ^= 0x01  # one bit inside the payload: CRC must catch it
    torn = encode_line(_rec("c", 1))[:-7]
    path = tmp_path / "r.jsonl"
    path.write_bytes(good + bytes(flipped) + b"garbage\n" + torn)
    records, dropped = read_lines(path)
    assert [r["hash"] for r in records] == ["a", "a"]
    assert dropped == 3


def test_writer_repairs_a_torn_tail_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(encode_line(_rec("a", 1)) + encode_line(_rec("a", 2)) + encode_line(_rec("b", 1))[:20])
    with RecordWriter(path) as writer:
        writer.append([_rec("b", 1, "new"), _rec("b", 2, "new")])
    records, dropped = read_lines(path)
    assert dropped == 0
    assert [(r["hash"], r["budget"]) for r in records] == [("a", 1), ("a", 2), ("b", 1), ("b", 2)]


def test_writer_on_file_without_any_newline(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"crc32":"0000')
    with RecordWriter(path) as writer:
        writer.append([_rec("a", 1), _rec("a", 2)])
    assert read_lines(path) == ([_rec("a", 1), _rec("a", 2)], 0)


def test_complete_records_keeps_first_complete_attempt_only() -> None:
    records = [
        _rec("x", 1, "old"),  # attempt cut short: budget 2 missing
        _rec("y", 1, "y1"),
        _rec("y", 2, "y1"),  # complete
        _rec("x", 1, "new", validation_accuracy=0.7),
        _rec("x", 2, "new", validation_accuracy=0.8),
        _rec("y", 1, "y2"),
        _rec("y", 2, "y2"),  # a duplicate complete attempt: ignored
        _rec("z", 2, "z1"),  # incomplete
    ]
    kept = complete_records(records)
    assert [(r["hash"], r["budget"], r["attempt"]) for r in kept] == [
        ("x", 1, "new"),
        ("x", 2, "new"),
        ("y", 1, "y1"),
        ("y", 2, "y1"),
    ]
    keys = [(r["hash"], r["budget"], r["repeat"]) for r in kept]
    assert len(keys) == len(set(keys))


def test_complete_records_respects_repeats() -> None:
    records = [_rec("x", 1), _rec("x", 2)]
    assert complete_records(records, repeats=2) == []
    records += [_rec("x", 1, repeat=1), _rec("x", 2, repeat=1)]
    assert len(complete_records(records, repeats=2)) == 4


def test_load_records_directory_and_missing_file(tmp_path: Path) -> None:
    write_records_atomic(tmp_path / "records-0-of-2.jsonl", [_rec("a", 1), _rec("a", 2)])
    write_records_atomic(tmp_path / "records-1-of-2.jsonl", [_rec("b", 1), _rec("b", 2), _rec("c", 1)])
    assert [r["hash"] for r in load_records(tmp_path)] == ["a", "a", "b", "b"]
    with pytest.raises(CorruptRecordError, match="does not exist"):
        load_records(tmp_path / "nope.jsonl")


def test_append_is_one_write_and_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_write, real_fsync = os.write, os.fsync
    monkeypatch.setattr(os, "write", lambda fd, data: calls.append("write") or real_write(fd, data))
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append("fsync") or real_fsync(fd))
    with RecordWriter(tmp_path / "r.jsonl") as writer:
        calls.clear()
        writer.append([_rec("a", 1), _rec("a", 2)])
    assert calls == ["write", "fsync"]


def test_second_writer_on_one_file_is_refused(tmp_path):
    from ecnas.build.records import RecordWriter
    from ecnas.errors import EcnasError

    path = tmp_path / "records-0-of-1.jsonl"
    with RecordWriter(path), pytest.raises(EcnasError, match="another process"):
        RecordWriter(path)
    with RecordWriter(path):  # released on close
        pass


def _machine_record(cpu: str, intensity: float, pue: float = 1.0, method: str = "estimated:cpu") -> dict:
    return {
        "profile": "tiny",
        "profile_options": {"budgets": [1]},
        "hardware": {"cpu_model": cpu, "logical_cores": 2, "gpus": []},
        "software": {"torch": "2.13.0"},
        "energy": {"method": method, "carbon_intensity": intensity, "intensity_source": "cli", "pue": pue},
    }


def test_records_provenance_of_one_machine_is_plain() -> None:
    facts = records_provenance([_machine_record("A", 300.0)] * 3)
    assert facts["hardware"] == {"cpu_model": "A", "logical_cores": 2, "gpus": []}
    assert facts["carbon_intensity"] == 300.0 and facts["pue"] == 1.0
    assert facts["energy_method"] == "estimated:cpu" and "carbon_intensity_per_record" not in facts


def test_records_provenance_of_several_machines_says_so() -> None:
    records = [_machine_record("A", 300.0)] * 3 + [_machine_record("B", 100.0, pue=1.5, method="measured:rapl")]
    facts = records_provenance(records)
    assert [h["cpu_model"] for h in facts["hardware"]["mixed"]] == ["A", "B"]
    assert facts["carbon_intensity"] == pytest.approx(250.0)  # no energies recorded: the mean over 4 records
    assert facts["carbon_intensity_per_record"] == {"combined": "mean over 4 records", "distinct": [300.0, 100.0]}
    assert facts["pue"] == pytest.approx(1.125) and facts["pue_per_record"]["distinct"] == [1.0, 1.5]
    assert facts["energy_method"] == "mixed: estimated:cpu, measured:rapl"
    with pytest.raises(ValueError, match="several build profiles"):
        records_provenance([*records, {**records[0], "profile": "nb101-cifar10"}])


def test_records_provenance_ignores_what_older_records_lack() -> None:
    old = _machine_record("A", 445.0)
    new = {**_machine_record("A", 445.0), "dataset": "digits"}
    new["energy"] = {**new["energy"], "carbon_intensity": None}
    facts = records_provenance([old, new])
    assert facts["dataset"] == "digits"  # not {"mixed": [None, "digits"]}
    assert facts["carbon_intensity"] == 445.0
    assert facts["carbon_intensity_per_record"]["combined"] == "mean over 1 records"


def test_one_machine_with_other_run_settings_is_one_machine() -> None:
    from ecnas.build.pipeline import _describe_hardware

    one, two = _machine_record("A", 1.0), _machine_record("A", 1.0)
    two["hardware"] = {**two["hardware"], "torch_threads": 2}
    text = _describe_hardware(records_provenance([one, two])["hardware"])
    assert text == "A (2 logical cores, no GPU) (runs with different settings)"
    other = _machine_record("B", 1.0)
    assert _describe_hardware(records_provenance([one, other])["hardware"]).startswith("2 different machines: A")


def test_mixed_intensity_and_pue_keep_the_records_total_co2() -> None:
    records = [{**_machine_record("A", 300.0), "total_energy_kwh": 1.0} for _ in range(3)]
    records.append({**_machine_record("B", 100.0, pue=1.5), "total_energy_kwh": 3.0})
    facts = records_provenance(records)
    own_co2 = sum(r["total_energy_kwh"] * r["energy"]["pue"] * r["energy"]["carbon_intensity"] for r in records)
    total = sum(r["total_energy_kwh"] for r in records)
    assert facts["pue"] == pytest.approx(1.25) and facts["carbon_intensity"] == pytest.approx(180.0)
    assert total * facts["pue"] * facts["carbon_intensity"] == pytest.approx(own_co2)
    assert facts["carbon_intensity_per_record"]["combined"].startswith("weighted by total_energy_kwh over 4")
