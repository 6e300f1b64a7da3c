"""Contract suite for importers, run for every importer in the registry.

Each registered importer needs a *sample writer*: a function writing a small valid file of its format
(a few cells, several budgets and repeats, one (cell, budget) with fewer repeats). A plug-in registers
its own with :func:`register_sample_writer` and gets every check::

    @pytest.mark.parametrize("name", available_importers())
    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    def test_importer_contract(name, check, tmp_path):
        check(name, tmp_path)

Checks: file → table → query round-trip of every record (repeat i = i-th record of a (hash, budget)
in file order, NaN where absent), provenance, and that a flipped byte or a truncated file raises
:class:`~ecnas.errors.CorruptRecordError` naming the file and leaves no output file behind.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ecnas._registry import Registry
from ecnas.errors import CorruptRecordError
from ecnas.importers import (
    ENERGY_METRICS,
    MODEL_METRICS,
    encode,
    encode_record,
    get_importer,
    read_extras,
    write_records,
)
from ecnas.spaces.nb101.cells import CellSpec

__all__ = ["CHECKS", "register_sample_writer", "sample_file"]

SampleWriter = Callable[[Path], Path]
_WRITERS: Registry[SampleWriter] = Registry("importer sample writer")

_CELLS = [
    ([[0, 1], [0, 0]], ["input", "output"]),
    ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"]),
    ([[0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", "maxpool3x3", "conv1x1-bn-relu", "output"]),
]
#: (cell, epochs, repeat) in file order; cell 2 has one repeat at 4 epochs and none at 12.
_LAYOUT = [(0, 4, 0), (1, 12, 0), (0, 12, 0), (1, 4, 0), (2, 4, 0), (0, 4, 1), (1, 4, 1), (0, 12, 1), (1, 12, 1)]


def register_sample_writer(name: str) -> Callable[[SampleWriter], SampleWriter]:
    """Decorator registering the sample-file writer of importer ``name``."""
    return _WRITERS.decorator(name)


def sample_file(name: str, directory: Path) -> Path:
    """Write the sample file of importer ``name`` into ``directory``.

    Raises:
        KeyError: no sample writer is registered for that importer; the message says how to add one.
    """
    if name not in _WRITERS:
        raise KeyError(f"no sample writer for importer {name!r}; register one with register_sample_writer({name!r})")
    return _WRITERS.get(name)(directory)


def _numbers(cell: int, epochs: int, repeat: int) -> list[float]:
    rng = np.random.default_rng(cell * 1000 + epochs * 10 + repeat)
    return rng.uniform(0.05, 0.95, 8).tolist()


def _evaluations(epochs: int, x: list[float], energy: bool) -> list[dict[str, float]]:
    out = []
    for fraction in (0.0, 0.5, 1.0):
        item = {
            "current_epoch": epochs * fraction,
            "training_time": 1000 * x[0] * fraction,
            "train_accuracy": x[1] * max(fraction, 0.1),
            "validation_accuracy": x[2] * max(fraction, 0.1),
            "test_accuracy": x[3] * max(fraction, 0.1),
        }
        if energy:
            item.update(energy_kwh=x[4] * fraction, co2eq_g=x[4] * fraction * 100, avg_intensity=100.0 + x[5])
        out.append(item)
    return out


@register_sample_writer("nasbench101")
def _nasbench101(directory: Path) -> Path:
    records = []
    for cell, epochs, repeat in _LAYOUT:
        spec = CellSpec(*_CELLS[cell])
        x = _numbers(cell, epochs, repeat)
        message = {
            "evaluation_data": _evaluations(epochs, x, energy=False),
            "trainable_parameters": 1000 + cell,
            "total_time": 2000 * x[0],
        }
        records.append(encode_record(spec.hash, epochs, spec.matrix, spec.ops, encode(message, MODEL_METRICS)))
    path = directory / "sample_nasbench101.tfrecord"
    write_records(path, records)
    return path


@register_sample_writer("ecnas")
def _ecnas(directory: Path) -> Path:
    records = []
    for cell, epochs, repeat in _LAYOUT:
        spec = CellSpec(*_CELLS[cell])
        x = _numbers(cell, epochs, repeat)
        power = {"watts": [{"value": 200 * x[6]}], "joules": [{"value": 9e4 * x[6]}], "devices": [{"name": "GPU-X"}]}
        message = {
            "evaluations": _evaluations(epochs, x, energy=True),
            "trainable_parameters": 1000 + cell,
            "total_time": 2000 * x[0],
            "total_energy_kwh": x[4] * 1.2,
            "total_co2eq_g": x[4] * 120,
            "avg_intensity": 100.0 + x[5],
            "power_usage": {"gpu": power},
        }
        records.append(encode_record(spec.hash, epochs, spec.matrix, spec.ops, encode(message, ENERGY_METRICS)))
    path = directory / "sample_ecnas.tfrecord"
    write_records(path, records)
    return path


# ---------------------------------------------------------------------- checks
def check_round_trip(name: str, tmp_path: Path) -> None:
    """Every record's metrics come back exactly from ``Benchmark.query`` at its (budget, file-order repeat)."""
    from ecnas.benchmark import Benchmark
    from ecnas.table import METRICS

    source = sample_file(name, tmp_path)
    importer = get_importer(name)
    rows = importer.load(source)
    table = tmp_path / "table.h5"
    contents = importer.import_file(source, table).contents
    extras = read_extras(table)
    seen: dict[tuple[str, int], int] = {}
    with Benchmark(table) as bench:
        assert len(bench) == len({row.record.hash for row in rows})
        for row in rows:
            key = (row.record.hash, row.record.epochs)
            repeat = seen.get(key, 0)
            seen[key] = repeat + 1
            result = bench.query(row.record.hash, budget=row.record.epochs, repeat=repeat)
            for metric in METRICS:
                expected = row.metrics.get(metric, math.nan)
                got = result[metric]
                assert got == expected or (math.isnan(got) and math.isnan(expected)), (metric, got, expected)
            assert result["trainable_parameters"] == row.trainable_parameters
            assert result["source"] == "imported"
            i = int(np.searchsorted(bench.hash_array, row.record.hash.encode()))
            assert extras["record_index"][i, contents.budgets.index(row.record.epochs), repeat] == row.record.index
    assert contents.repeats == max(seen.values())
    for metric in METRICS:  # exactly one value per record, NaN elsewhere
        assert int(np.count_nonzero(~np.isnan(contents.metrics[metric]))) == sum(metric in r.metrics for r in rows)


def check_provenance(name: str, tmp_path: Path) -> None:
    """Provenance names the format, the origin file (with its sha256) and what the energy numbers are."""
    from ecnas.table import read_table

    source = sample_file(name, tmp_path)
    importer = get_importer(name)
    importer.import_file(source, tmp_path / "table.h5")
    provenance = read_table(tmp_path / "table.h5").provenance
    assert provenance["format"] == importer.format
    assert provenance["origin_file"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    for key in ("hardware", "energy_method", "carbon_intensity", "intensity_source", "pue", "dataset", "created"):
        assert key in provenance, key


def _damaged(name: str, tmp_path: Path, damage: Callable[[bytearray], None]) -> None:
    source = sample_file(name, tmp_path)
    data = bytearray(source.read_bytes())
    damage(data)
    bad = tmp_path / f"damaged_{source.name}"
    bad.write_bytes(bytes(data))
    output = tmp_path / "out" / "table.h5"
    try:
        get_importer(name).import_file(bad, output)
    except CorruptRecordError as error:
        assert bad.name in str(error) and "offset" in str(error)
        assert "CRC" in str(error) or "corrupt" in str(error)
    else:
        raise AssertionError("a damaged file was imported without error")
    assert not output.exists()
    assert not output.parent.exists() or not any(output.parent.iterdir())


def check_flipped_byte_is_rejected(name: str, tmp_path: Path) -> None:
    """A flipped byte → CorruptRecordError naming the file and offset; no output file."""

    def flip(data: bytearray) -> None:
        data[len(data) // 2] ^= 0x04

    _damaged(name, tmp_path, flip)


def check_truncated_file_is_rejected(name: str, tmp_path: Path) -> None:
    """A file cut inside a record → CorruptRecordError naming the file and offset; no output file."""

    def cut(data: bytearray) -> None:
        del data[len(data) - 7 :]

    _damaged(name, tmp_path, cut)


CHECKS: list[Callable[[str, Path], None]] = [
    check_round_trip,
    check_provenance,
    check_flipped_byte_is_rejected,
    check_truncated_file_is_rejected,
]
