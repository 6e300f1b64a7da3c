"""Finding a table row by cell structure, in any vertex order, must agree with NB101's hash."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import ecnas.benchmark
from ecnas.benchmark import Benchmark
from ecnas.spaces.nb101.cells import CellSpec, adjacency_from_string, hash_cell, pad_cells
from ecnas.spaces.nb101.lookup import HashIndex, StructureIndex, encode_padded, hash_words
from tests.reference import reference_file
from tests.tables import write_synthetic


def fresh(spec: CellSpec) -> CellSpec:
    """The same cell without its hash computed (what a user or an optimizer builds)."""
    return CellSpec(spec.matrix, spec.ops)


def test_nb101_reference_graphs_found_in_any_vertex_order():
    graphs = json.loads(reference_file("generated_graphs_5V9E.json").read_text())
    keys = sorted(graphs)
    specs = [CellSpec.from_labeling(*graphs[key]) for key in keys]
    index = StructureIndex(*pad_cells(specs))
    rng = np.random.default_rng(1)
    for row, spec in enumerate(specs):
        for _ in range(3):
            assert index.find(spec.shuffled(rng)) == row, keys[row]


def test_reference_cells_up_to_7v_found_in_any_vertex_order():
    with reference_file("surrogate_7v_train.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    specs = [CellSpec(adjacency_from_string(r["adjacency"]), r["ops"].split(",")) for r in rows]
    index = StructureIndex(*pad_cells(specs))
    rng = np.random.default_rng(2)
    relabelled = 0
    for record, spec in zip(rows, specs, strict=True):
        moved = spec.shuffled(rng)
        relabelled += moved.ops != spec.ops or not np.array_equal(moved.matrix, spec.matrix)
        found = index.find(moved)
        assert found >= 0 and rows[found]["module_hash"] == record["module_hash"] == hash_cell(
            moved.matrix, moved.labeling
        )
    assert relabelled > len(rows) // 4  # other vertex orders were exercised (many cells have only one)


def test_codes_are_distinct_over_the_whole_space():
    with Benchmark() as bench:  # the default table holds all 423,624 cells
        codes = encode_padded(bench._cells("matrix"), bench._cells("op_codes"))
    assert len(codes) == 423_624 and len(np.unique(codes)) == len(codes)


@pytest.mark.parametrize("hashed_before_index", [0, 1000])
def test_benchmark_finds_relabelled_cells_without_their_hash(monkeypatch, hashed_before_index):
    monkeypatch.setattr(ecnas.benchmark, "_HASHED_BEFORE_INDEX", hashed_before_index)
    rng = np.random.default_rng(3)
    with Benchmark() as bench:
        for key in bench.sample(500, seed=4):
            moved = fresh(bench.cell(key)).shuffled(rng)
            assert bench.query(moved)["hash"] == key == hash_cell(moved.matrix, moved.labeling)
            assert bench.query((moved.matrix.tolist(), list(moved.ops)))["hash"] == key
            assert moved in bench
        keys = bench.sample(300, seed=5)
        specs = [fresh(bench.cell(key)).shuffled(rng) for key in keys]
        by_spec, by_hash = bench.query_many(specs), bench.query_many(keys)
        built = bench._structures is not None
    assert built  # 1,800 lookups: past the threshold either way, so both paths answered
    assert by_spec["hash"].tolist() == keys
    for name, column in by_hash.items():
        assert np.array_equal(by_spec[name], column, equal_nan=column.dtype.kind == "f"), name


def test_one_off_queries_do_not_build_the_structure_index():
    with Benchmark() as bench:
        cell = fresh(bench.cell(bench.hashes[7])).shuffled(0)
        assert bench.query(cell)["hash"] == bench.hashes[7] and bench._structures is None
        for _ in range(ecnas.benchmark._HASHED_BEFORE_INDEX - 1):  # 1,000 hashed lookups in all
            bench.query(fresh(cell))  # a new CellSpec each time: the first query cached its hash
        assert bench._structures is None
        assert bench.query(fresh(cell))["hash"] == bench.hashes[7] and bench._structures is not None


def test_cells_absent_from_the_table_fall_back_to_their_hash(tmp_path, monkeypatch):
    monkeypatch.setattr(ecnas.benchmark, "_HASHED_BEFORE_INDEX", 0)
    path, contents = write_synthetic(tmp_path / "t.h5")
    absent = CellSpec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "maxpool3x3", "output"])
    chain = np.eye(8, k=1, dtype=np.int8)  # 8 vertices: outside NB101's space, allowed by max_vertices=8
    too_big = CellSpec(chain, ["input"] + ["conv3x3-bn-relu"] * 6 + ["output"], max_vertices=8)
    with Benchmark(path) as bench:
        for spec in (absent, too_big):
            assert spec not in bench
            with pytest.raises(KeyError, match=spec.hash):
                bench.query(spec)
            with pytest.raises(KeyError, match=f"1 of 2 cells .* e.g. {spec.hash}"):
                bench.query_many([str(contents.hashes[0]), spec])
        present = CellSpec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"])
        assert bench.query(present)["hash"] == present.hash


def test_hash_words_are_the_hex_values():
    with Benchmark() as bench:
        keys = bench.sample(2000, seed=6)
    expected = np.array([[int(k[:16], 16), int(k[16:], 16)] for k in keys], dtype=np.uint64)
    for array in (np.array(keys), np.array(keys, dtype="S32"), np.array(keys, dtype="U40")):
        words, valid = hash_words(array)
        assert valid.all() and np.array_equal(words, expected), array.dtype


@pytest.mark.parametrize(
    "bad",
    [
        "0" * 31 + "A",  # upper case
        "g" + "0" * 31,
        "0" * 31,  # short
        "0" * 33,  # long
        "\u0130" + "0" * 31,  # non-ASCII whose low byte is the digit '0'
        "0" * 16 + "\u0161" + "0" * 15,  # ... and 'a'
        " " + "0" * 31,
    ],
)
def test_malformed_hashes_match_nothing(bad):
    table = np.array(["0" * 32, "0" * 31 + "a", "a" * 32], dtype="S32")
    index = HashIndex(table)
    words, valid = hash_words(np.array([bad, "0" * 32]))
    assert valid.tolist() == [False, True]
    assert index.find(np.array([bad, "0" * 32, "a" * 32])).tolist() == [-1, 0, 2]


def test_hash_index_agrees_with_string_search_including_absent_keys():
    rng = np.random.default_rng(7)
    with Benchmark() as bench:
        table = bench.hash_array
    present = table[rng.integers(0, len(table), 5000)]
    absent = np.array([f"{v:032x}" for v in rng.integers(0, 2**62, 3000)], dtype="S32")
    keys = np.concatenate([present, absent, table[:1], table[-1:]])
    rng.shuffle(keys)
    expected = np.searchsorted(table, keys)
    expected = np.where(table[np.minimum(expected, len(table) - 1)] == keys, expected, -1)
    index = HashIndex(table)
    assert np.array_equal(index.find(keys), expected)
    assert np.array_equal(index.find(keys.astype("U32")), expected)
    assert index.find(np.array([], dtype="S32")).size == 0


def test_hash_index_with_equal_high_words_and_unsorted_input():
    table = np.array(["0" * 31 + "1", "0" * 31 + "2", "1" + "0" * 31], dtype="S32")  # rows 0, 1: same high word
    index = HashIndex(table)
    assert index.find(table[::-1]).tolist() == [2, 1, 0]
    assert index.find(np.array(["0" * 31 + "3"])).tolist() == [-1]
    with pytest.raises(ValueError, match="sorted ascending"):
        HashIndex(table[::-1])
    with pytest.raises(ValueError, match="not an NB101 hash"):
        HashIndex(np.array(["xyz"], dtype="S32"))


def test_query_many_takes_any_string_array_and_rejects_malformed_hashes_alike():
    with Benchmark() as bench:
        keys = bench.sample(5, seed=8)
        expected = bench.query_many(keys)["validation_accuracy"]
        for array in (np.array(keys, dtype=">U32"), np.array(keys, dtype="S32"), np.array(keys, dtype="U40")):
            assert np.array_equal(bench.query_many(array)["validation_accuracy"], expected), array.dtype
        malformed = keys[0].upper()
        absent = "0" * 32
        for cells in ([absent, malformed], np.array([absent, malformed]), np.array([absent, malformed], dtype="S32")):
            with pytest.raises(ValueError, match="not an NB101 hash"):
                bench.query_many(cells)
        with pytest.raises(KeyError, match=absent):
            bench.query_many([keys[0], absent])
        with pytest.raises(ValueError, match="not an NB101 hash"):
            bench.query(keys[0] + "\n")


def test_cells_with_a_known_hash_skip_both_md5_and_the_index():
    with Benchmark() as bench:
        stored = bench.cell(bench.hashes[3])  # carries its stored hash
        assert stored.known_hash == bench.hashes[3]
        for _ in range(3):
            assert bench.query(stored)["hash"] == bench.hashes[3]
        assert bench._hashed_cells == 0 and bench._structures is None
    fresh = CellSpec(stored.matrix, stored.ops)
    assert fresh.known_hash is None and fresh.hash == stored.hash and fresh.known_hash == stored.hash
