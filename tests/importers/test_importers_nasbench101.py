"""NB101's base format, on fixture files written by an independent writer; registry; ``ecnas import`` CLI."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from nb101_fixture_writer import evaluation, model_metrics, record, write

from ecnas.benchmark import Benchmark
from ecnas.cli import main
from ecnas.errors import CorruptRecordError
from ecnas.importers import (
    Importer,
    NASBench101Importer,
    available_importers,
    get_importer,
    read_extras,
    register_importer,
)
from ecnas.space import CellSpec
from ecnas.table import read_table
from tests.vectors import (
    README_HASH,
    README_MATRIX,
    README_OPS,
    README_PARAMS,
    TWO_VERTEX_HASH,
    TWO_VERTEX_MATRIX,
    TWO_VERTEX_OPS,
    TWO_VERTEX_PARAMS,
)

# Published NB101 facts (nb101-space.md): hash and parameter count of two cells.
TWO_VERTEX = (TWO_VERTEX_MATRIX, TWO_VERTEX_OPS, TWO_VERTEX_HASH, TWO_VERTEX_PARAMS)
README = (README_MATRIX, README_OPS, README_HASH, README_PARAMS)
_THIRD_MATRIX = [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
_THIRD_OPS = ["input", "maxpool3x3", "output"]
THIRD = (_THIRD_MATRIX, _THIRD_OPS, CellSpec(_THIRD_MATRIX, _THIRD_OPS).hash, 1234567)
CELLS = [TWO_VERTEX, README, THIRD]


def _values(cell: int, epochs: int, repeat: int) -> dict[str, float]:
    """Distinct, non-round numbers per (cell, budget, repeat) so any mix-up shows."""
    seed = cell * 1000 + epochs * 10 + repeat
    rng = np.random.default_rng(seed)
    return {
        "time": float(rng.uniform(10, 5000)),
        "train": float(rng.uniform(0.1, 1)),
        "valid": float(rng.uniform(0.1, 1)),
        "test": float(rng.uniform(0.1, 1)),
        "total": float(rng.uniform(5000, 9000)),
    }


def _record(cell: int, epochs: int, repeat: int, *, params: int | None = -1, hash_: str | None = None) -> bytes:
    matrix, ops, module_hash, parameters = CELLS[cell]
    v = _values(cell, epochs, repeat)
    evaluations = [
        evaluation(0.0, 0.0, 0.1, 0.1, 0.1, "/ckpt/start"),
        evaluation(epochs / 2, v["time"] / 2, v["train"] / 2, v["valid"] / 2, v["test"] / 2, "/ckpt/half"),
        evaluation(float(epochs), v["time"], v["train"], v["valid"], v["test"], f"/ckpt/{module_hash}/{repeat}"),
    ]
    metrics = model_metrics(evaluations, parameters if params == -1 else params, v["total"])
    return record(hash_ or module_hash, epochs, matrix, ops, metrics)


# (cell, epochs, repeat) in file order: interleaved cells and budgets; cell 2 has 2 repeats at 4 and none at 108.
LAYOUT = [(0, 108, 0), (1, 4, 0), (0, 4, 0), (2, 4, 0), (0, 108, 1), (1, 108, 0), (0, 4, 1), (1, 4, 1),
          (2, 4, 1), (0, 108, 2), (1, 108, 1), (0, 4, 2), (1, 4, 2), (1, 108, 2)]  # fmt: skip


@pytest.fixture
def nb101_file(tmp_path: Path) -> Path:
    return write(tmp_path / "nb101.tfrecord", [_record(*key) for key in LAYOUT])


def test_fixture_round_trips_through_table_and_query(nb101_file: Path, tmp_path: Path) -> None:
    table = tmp_path / "nb101.h5"
    contents = get_importer("nasbench101").import_file(nb101_file, table).contents
    assert contents.budgets == (4, 108)
    assert contents.repeats == 3
    stored = read_table(table)
    assert stored.provenance["format"] == "nasbench101"
    assert stored.provenance["origin_file"] == {
        "name": "nb101.tfrecord",
        "sha256": hashlib.sha256(nb101_file.read_bytes()).hexdigest(),
        "size_bytes": nb101_file.stat().st_size,
    }
    assert np.isnan(stored.metrics["energy_kwh"]).all() and np.isnan(stored.metrics["total_energy_kwh"]).all()
    extras = read_extras(table)
    order = stored.hashes.astype("U32").tolist()
    with Benchmark(table) as bench:
        assert sorted(bench.hashes) == sorted(c[2] for c in CELLS)
        for index, (cell, epochs, repeat) in enumerate(LAYOUT):
            v = _values(cell, epochs, repeat)
            result = bench.query(CELLS[cell][2], budget=epochs, repeat=repeat)
            assert result["training_time"] == v["time"]
            assert result["train_accuracy"] == v["train"]
            assert result["validation_accuracy"] == v["valid"]
            assert result["test_accuracy"] == v["test"]
            assert math.isnan(result["energy_kwh"])
            assert result["trainable_parameters"] == CELLS[cell][3]
            i, b = order.index(CELLS[cell][2]), contents.budgets.index(epochs)
            assert extras["record_index"][i, b, repeat] == index
            assert extras["total_time"][i, b, repeat] == v["total"]
            assert extras["evaluations/current_epoch"][i, b, repeat].tolist() == [0.0, epochs / 2, float(epochs)]
            assert extras["evaluations/validation_accuracy"][i, b, repeat, 1] == v["valid"] / 2
        for cell in CELLS:  # matrices and ops round-trip
            spec = bench.cell(cell[2])
            assert spec.matrix.tolist() == cell[0] and list(spec.ops) == cell[1]
        third = order.index(THIRD[2])
        assert np.isnan(stored.metrics["validation_accuracy"][third, 1]).all()  # no 108-epoch record: NaN
        assert np.isnan(stored.metrics["validation_accuracy"][third, 0, 2])  # only 2 repeats at 4 epochs
        with pytest.raises(KeyError, match="no results"):
            bench.query(THIRD[2], budget=108, repeat=0)


def test_hash_mismatch_names_the_record(tmp_path: Path) -> None:
    records = [_record(0, 4, 0), _record(1, 4, 0, hash_="0" * 32)]
    path = write(tmp_path / "bad_hash.tfrecord", records)
    with pytest.raises(CorruptRecordError, match=r"record 1 at offset \d+.*hash 0{32} is not the NB101 hash 28cfc"):
        NASBench101Importer().load(path)


def test_invalid_cell_names_the_record(tmp_path: Path) -> None:
    metrics = model_metrics([evaluation(4.0, 1.0, 0.5, 0.5, 0.5, "")], 100, 1.0)
    bad = record("f" * 32, 4, [[0, 1], [0, 0]], ["input", "conv5x5"], metrics)
    path = write(tmp_path / "bad_cell.tfrecord", [_record(0, 4, 0), bad])
    with pytest.raises(CorruptRecordError, match=r"record 1 at offset \d+ holds an invalid cell.*last op"):
        NASBench101Importer().load(path)


def test_inconsistent_parameter_counts_are_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "params.tfrecord", [_record(0, 4, 0), _record(0, 108, 0, params=5)])
    with pytest.raises(CorruptRecordError, match="record 1 .*5 trainable parameters, but record 0"):
        NASBench101Importer().load(path)


def test_missing_parameter_count_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "noparams.tfrecord", [_record(0, 4, 0, params=None)])
    importer = NASBench101Importer()
    rows = importer.load(path)
    with pytest.raises(CorruptRecordError, match="gives its trainable parameters"):
        importer.tabulate(rows, path)
    with pytest.raises(CorruptRecordError, match="gives its trainable parameters"):
        importer.read(path)


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"not json", "not valid UTF-8 JSON"),
        (b'{"a": 1}', "expected a JSON list"),
        (b'["043721b9c7fe8c5fad811d47d83132ec", 4, "0100", "input,output", "!!!"]', "not valid base64"),
        (b'["043721b9c7fe8c5fad811d47d83132ec", 4, "010", "input,output", ""]', "not a square"),
        (b'["043721b9c7fe8c5fad811d47d83132ec", 0, "0100", "input,output", ""]', "epochs"),
        (b'["043721b9c7fe8c5fad811d47d83132ec", 4, "0100", "input", ""]', "1 operations for a 2-vertex"),
        (b'["043721b9c7fe8c5fad811d47d83132ec", 4, "0100", "input,output", "CgE="]', "corrupt message"),
    ],
)
def test_malformed_records_with_valid_crcs_are_errors(tmp_path: Path, payload: bytes, match: str) -> None:
    path = write(tmp_path / "malformed.tfrecord", [_record(0, 4, 0), payload])
    with pytest.raises(CorruptRecordError, match=match) as info:
        NASBench101Importer().load(path)
    assert "record 1 at offset" in str(info.value)


def test_impossible_metric_values_are_errors(tmp_path: Path) -> None:
    metrics = model_metrics([evaluation(4.0, 1.0, 1.5, 0.5, 0.5, "")], 882570, 1.0)
    path = write(tmp_path / "acc.tfrecord", [record(TWO_VERTEX[2], 4, TWO_VERTEX[0], TWO_VERTEX[1], metrics)])
    with pytest.raises(CorruptRecordError, match="train_accuracy must be a fraction"):
        NASBench101Importer().load(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        NASBench101Importer().load(tmp_path / "absent.tfrecord")


# ---------------------------------------------------------------- registry
def test_registry_lists_both_importers_and_rejects_unknown_names() -> None:
    assert {"nasbench101", "ecnas"} <= set(available_importers())
    with pytest.raises(ValueError, match=r"unknown importer 'nb201'; valid names are \['ecnas', 'nasbench101'"):
        get_importer("nb201")
    assert isinstance(get_importer("nasbench101", progress=True), NASBench101Importer)


def test_registry_rejects_duplicates() -> None:
    class Clash(Importer):
        name = "nasbench101"
        format = "clash"

        def _iter_rows(self, path: Path):  # type: ignore[no-untyped-def]
            return iter(())

    with pytest.raises(ValueError, match="already registered"):
        register_importer(Clash)


# ---------------------------------------------------------------- CLI
def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_cli_imports_and_reports(nb101_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.h5"
    code, output = _run("import", "nasbench101", str(nb101_file), "-o", str(out), "--no-progress")
    assert code == 0, output
    assert "14 records" in output and "3 cells" in output
    assert len(read_table(out)) == 3
    code, output = _run("import", "nasbench101", str(nb101_file), "-o", str(out))
    assert code != 0 and "--force" in output
    code, output = _run("import", "nasbench101", str(nb101_file), "-o", str(out), "--force", "--no-progress")
    assert code == 0, output


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_cli_corrupt_input_exits_nonzero_and_leaves_no_output(nb101_file: Path, tmp_path: Path, damage: str) -> None:
    data = bytearray(nb101_file.read_bytes())
    position = len(data) // 2
    if damage == "flip":
        data[position] ^= 0x01
    else:
        del data[position:]
    bad = tmp_path / "damaged.tfrecord"
    bad.write_bytes(bytes(data))
    out = tmp_path / "out" / "t.h5"
    code, output = _run("import", "nasbench101", str(bad), "-o", str(out), "--no-progress")
    assert code != 0
    assert "damaged.tfrecord" in output and "offset" in output
    assert "CRC" in output or "corrupt" in output
    assert "Traceback" not in output
    assert not out.exists()
    assert not out.parent.exists() or not list(out.parent.iterdir())


def test_cli_failed_import_keeps_existing_output(nb101_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.h5"
    assert _run("import", "nasbench101", str(nb101_file), "-o", str(out), "--no-progress")[0] == 0
    before = out.read_bytes()
    bad = tmp_path / "bad.tfrecord"
    bad.write_bytes(nb101_file.read_bytes()[:-3])
    code, _ = _run("import", "nasbench101", str(bad), "-o", str(out), "--force", "--no-progress")
    assert code != 0
    assert out.read_bytes() == before


def test_cli_unknown_format_and_missing_file(tmp_path: Path) -> None:
    code, output = _run("import", "nb201", "x", "-o", "y")
    assert code == 2 and "valid formats are ['ecnas', 'nasbench101']" in output
    code, output = _run("import", "ecnas", str(tmp_path / "absent.tfrecord"), "-o", str(tmp_path / "t.h5"))
    assert code == 2 and "no such file" in output
    code, output = _run("import", "--help")
    assert code == 0 and "nasbench101" in output and "ecnas" in output


@pytest.mark.parametrize("keep_cells", [True, False])
def test_hash_mismatch_is_caught_for_a_cell_seen_before(tmp_path: Path, keep_cells: bool) -> None:
    # record 1 has record 0's adjacency/ops but another cell's hash
    records = [_record(1, 4, 0), _record(1, 108, 0, hash_=TWO_VERTEX[2])]
    path = write(tmp_path / "bad_hash2.tfrecord", records)
    with pytest.raises(CorruptRecordError, match=r"record 1 at offset \d+.*hash 043721b9.* is not the NB101 hash 28c"):
        list(NASBench101Importer().iter_validated(path, keep_cells=keep_cells))


def test_streaming_read_equals_tabulated_rows(nb101_file: Path) -> None:
    importer = NASBench101Importer()
    streamed = importer.read(nb101_file)
    rows = importer.load(nb101_file)
    assert all(row.cell is not None for row in rows)
    tabulated = importer.tabulate(rows, nb101_file)
    for name, values in streamed.contents.metrics.items():
        np.testing.assert_array_equal(values, tabulated.contents.metrics[name])
    np.testing.assert_array_equal(streamed.record_index, tabulated.record_index)
    for name, values in streamed.evaluations.items():
        np.testing.assert_array_equal(values, tabulated.evaluations[name])
    np.testing.assert_array_equal(streamed.contents.columns["matrix"], tabulated.contents.columns["matrix"])
    np.testing.assert_array_equal(streamed.contents.columns["op_codes"], tabulated.contents.columns["op_codes"])
    assert streamed.num_records == len(rows) == len(LAYOUT)
