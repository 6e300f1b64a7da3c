"""Enumeration of the NB101 space, checked against NB101's own generated-graphs files and algorithm."""

from __future__ import annotations

import itertools
import json
import logging

import numpy as np
import pytest
from click.testing import CliRunner

import ecnas.spaces.nb101._batch_hash as _batch_hash
import ecnas.spaces.nb101.enumeration as enumeration
from ecnas.cli import main
from ecnas.spaces.nb101.cells import FEATURE_OP_CODES, CellSpec, hash_cell
from ecnas.spaces.nb101.enumeration import EnumeratedSpace, enumerate_cells, enumerate_space
from tests.conftest import reference_file


def nb101_generate(max_vertices: int, max_edges: int = 9, matrices=None) -> dict[str, list]:
    """NB101's generate_graphs.py, literally: every matrix in counter order × every labelling, first seen kept."""
    buckets: dict[str, list] = {}
    for matrix in matrices if matrices is not None else nb101_matrices(max_vertices, max_edges):
        size = len(matrix)
        for interior in itertools.product(range(3), repeat=size - 2):
            labeling = [-1, *interior, -2]
            fingerprint = hash_cell(np.array(matrix), labeling)
            if fingerprint not in buckets:
                buckets[fingerprint] = [matrix, labeling]
    return buckets


def nb101_matrices(max_vertices: int, max_edges: int = 9, sizes=None) -> list[list[list[int]]]:
    result = []
    for size in sizes or range(2, max_vertices + 1):
        for bits in range(2 ** (size * (size - 1) // 2)):
            matrix = [
                [int(i < j and (bits >> (i + j * (j - 1) // 2)) % 2 == 1) for j in range(size)] for i in range(size)
            ]
            rows_ok = all(any(row) for row in matrix[:-1])
            cols_ok = all(any(matrix[i][j] for i in range(size)) for j in range(1, size))
            if rows_ok and cols_ok and sum(map(sum, matrix)) <= max_edges:
                result.append(matrix)
    return result


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Never touch the user's cache; start every test with an empty in-memory memo."""
    monkeypatch.setenv("ECNAS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(enumeration, "_MEMO", {})


@pytest.mark.parametrize(("max_vertices", "count"), [(4, 91), (5, 2532)])
def test_equals_nb101_generated_graphs_file(max_vertices, count):
    reference = json.loads(reference_file(f"generated_graphs_{max_vertices}V9E.json").read_text())
    space = enumerate_space(max_vertices)
    assert len(space) == len(reference) == count
    assert space.hashes == sorted(reference)
    # The representative of each hash is the first (matrix, labeling) NB101 met: same values, not just same keys.
    assert space.to_generated_graphs() == reference


@pytest.mark.parametrize("max_vertices", [2, 3, 4, 5])
def test_equals_nb101_algorithm(max_vertices):
    expected = nb101_generate(max_vertices)
    assert enumerate_cells(max_vertices).to_generated_graphs() == expected


@pytest.mark.parametrize(("max_vertices", "max_edges"), [(5, 5), (5, 4), (4, 3), (3, 1)])
def test_edge_limit_equals_nb101_algorithm(max_vertices, max_edges):
    expected = nb101_generate(max_vertices, max_edges)
    assert enumerate_cells(max_vertices, max_edges).to_generated_graphs() == expected


def test_seven_vertex_sample_equals_nb101_algorithm():
    """A random sample of 7-vertex matrices × all 243 labellings: hashes and first-seen cells as NB101."""
    all_matrices = enumeration._candidate_matrices(7, 9)
    rng = np.random.default_rng(7)
    # The first 40 matrices hold isomorphic ones (so skipping isomorphic matrices is exercised); add random ones.
    chosen = np.union1d(np.arange(40), rng.choice(all_matrices.shape[0], size=8, replace=False))
    matrices = all_matrices[chosen]
    labelings = enumeration._labelings(7)
    assert np.unique(enumeration._reduced_candidates(matrices, labelings)[0]).size < matrices.shape[0]
    matrix_index, labeling_index = enumeration._reduced_candidates(matrices, labelings)
    hashes, first = enumeration._first_seen(matrices[matrix_index], labelings[labeling_index])
    ours = {
        h.decode(): [matrices[matrix_index[i]].tolist(), labelings[labeling_index[i]].tolist()]
        for h, i in zip(hashes, first, strict=True)
    }
    assert ours == nb101_generate(7, matrices=[m.tolist() for m in matrices])


def test_seven_vertex_hashes_of_every_candidate_match_cellspec():
    """Every (matrix, labelling) of a sample, hashed vectorised, equals CellSpec(...).hash."""
    all_matrices = enumeration._candidate_matrices(7, 9)
    rng = np.random.default_rng(11)
    matrices = all_matrices[rng.choice(all_matrices.shape[0], size=12, replace=False)]
    labelings = enumeration._labelings(7)[rng.choice(243, size=40, replace=False)]
    cell_matrices = np.repeat(matrices, labelings.shape[0], axis=0)
    cell_labels = np.tile(labelings, (matrices.shape[0], 1))
    hashes = _batch_hash.hash_candidates(cell_matrices, cell_labels, lambda: None)
    for matrix, labels, cell_hash in zip(cell_matrices, cell_labels, hashes, strict=True):
        assert CellSpec.from_labeling(matrix, labels.tolist()).hash == cell_hash.decode()


def test_space_arrays_and_cells():
    space = enumerate_cells(5)
    n = len(space)
    assert space.hash_bytes.dtype == np.dtype("S32") and space.hash_bytes.shape == (n,)
    assert np.all(space.hash_bytes[1:] > space.hash_bytes[:-1])
    assert space.matrices.dtype == np.uint8 and space.matrices.shape == (n, 7, 7)
    assert space.op_codes.dtype == np.int8 and space.op_codes.shape == (n, 7)
    assert space.num_vertices.dtype == np.uint8 and space.num_vertices.shape == (n,)
    assert sorted(np.unique(space.num_vertices).tolist()) == [2, 3, 4, 5]
    with pytest.raises(ValueError):
        space.matrices[0, 0, 1] = 0  # read-only
    specs = list(space)
    assert len(specs) == n and all(isinstance(spec, CellSpec) for spec in specs)
    for index in range(0, n, 97):
        spec = specs[index]
        fresh = CellSpec(spec.matrix, spec.ops)
        assert fresh.hash == space.hashes[index] == spec.hash
        size = int(space.num_vertices[index])
        assert spec.num_vertices == size
        assert np.array_equal(space.matrices[index, :size, :size], spec.matrix)
        assert not space.matrices[index, size:, :].any() and not space.matrices[index, :, size:].any()
        assert space.op_codes[index, :size].tolist() == [FEATURE_OP_CODES[op] for op in spec.ops]
        assert not space.op_codes[index, size:].any()
        assert space.labeling(index) == spec.labeling
        assert space.index_of(space.hashes[index]) == index
        assert space.index_of(fresh) == index
        assert space.index_of(space.hash_bytes[index]) == index
    assert space.cell(-1).hash == space.hashes[-1]
    assert space.hashes[0] in space and specs[3] in space


def test_index_of_and_cell_errors():
    space = enumerate_cells(4)
    with pytest.raises(KeyError, match="not in this space"):
        space.index_of("0" * 32)
    with pytest.raises(KeyError):
        space.index_of("abc")
    with pytest.raises(TypeError, match="hash string or a CellSpec"):
        space.index_of(12)
    assert "0" * 32 not in space and 5 not in space
    big = CellSpec(np.eye(5, k=1, dtype=int), ["input"] + ["maxpool3x3"] * 3 + ["output"])
    with pytest.raises(KeyError):
        space.index_of(big)  # a 5-vertex cell is not in the ≤4-vertex space
    with pytest.raises(IndexError, match="out of range"):
        space.cell(len(space))
    with pytest.raises(TypeError, match="integer"):
        space.cell(1.0)


def test_features_match_cellspec():
    from ecnas.spaces.nb101.channels import count_parameters

    space = enumerate_cells(4)
    params = np.array([count_parameters(spec) for spec in space])
    features = space.features(params)
    assert features.shape == (len(space), 36) and features.dtype == np.float64
    for index in range(len(space)):
        np.testing.assert_array_equal(features[index], space.cell(index).features())
    np.testing.assert_array_equal(space.features(), features)  # counted with the default network
    with pytest.raises(ValueError, match="param_counts must hold 91"):
        space.features(params[:-1])
    with pytest.raises(ValueError, match="finite"):
        space.features(np.full(len(space), np.nan))


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"max_vertices": 8}, ValueError, "max_vertices must be in 2..7"),
        ({"max_vertices": 1}, ValueError, "max_vertices must be in 2..7"),
        ({"max_vertices": "7"}, TypeError, "max_vertices must be an integer"),
        ({"max_vertices": True}, TypeError, "max_vertices must be an integer"),
        ({"max_edges": 0}, ValueError, "max_edges must be in 1..9"),
        ({"max_edges": 10}, ValueError, "max_edges must be in 1..9"),
        ({"n_jobs": 0}, ValueError, "n_jobs must be in"),
        ({"n_jobs": 1.5}, TypeError, "n_jobs must be an integer"),
    ],
)
def test_bad_limits(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        enumerate_cells(**kwargs)


def test_parallel_equals_serial():
    serial = enumerate_cells(5, use_cache=False)
    parallel = enumerate_cells(5, use_cache=False, n_jobs=2)
    for name in ("hash_bytes", "matrices", "op_codes", "num_vertices"):
        assert np.array_equal(getattr(parallel, name), getattr(serial, name))
    assert enumerate_cells(4, use_cache=False, n_jobs=-1).hashes == enumerate_cells(4, use_cache=False).hashes


def test_memo_and_no_cache():
    first = enumerate_cells(4)
    assert enumerate_cells(4) is first
    fresh = enumerate_cells(4, use_cache=False)
    assert fresh is not first and fresh.hashes == first.hashes


def test_disk_cache_roundtrip_and_recovery(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(enumeration, "_CACHE_MIN_VERTICES", 4)
    computed = enumerate_cells(5, show_progress_bar=True)
    path = enumeration._cache_path(5, 9)
    assert path.is_file() and path.parent == tmp_path / "cache"
    assert not [p for p in path.parent.iterdir() if p != path]  # no temporary file left

    def fail(*args):
        raise AssertionError("recomputed although a valid cache exists")

    with monkeypatch.context() as patch:
        patch.setattr(enumeration, "_MEMO", {})
        patch.setattr(enumeration, "_enumerate_arrays", fail)
        loaded = enumerate_cells(5)
    assert loaded is not computed
    for name in ("hash_bytes", "matrices", "op_codes", "num_vertices"):
        assert np.array_equal(getattr(loaded, name), getattr(computed, name))

    # Damage the stored data (a valid npz whose contents no longer match): detected, recomputed, rewritten.
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["op_codes"] = arrays["op_codes"].copy()
    arrays["op_codes"][10, 1] = 4 if arrays["op_codes"][10, 1] != 4 else 3
    np.savez(path, **arrays)
    monkeypatch.setattr(enumeration, "_MEMO", {})
    with caplog.at_level(logging.WARNING, logger="ecnas.spaces.nb101.enumeration"):
        again = enumerate_cells(5)
    assert "checksum" in caplog.text
    assert again.hashes == computed.hashes
    assert enumeration._load_cache(path, 5, 9) is not None  # rewritten intact

    # A truncated file and a file for other parameters are ignored too.
    path.write_bytes(path.read_bytes()[:1000])
    assert enumeration._load_cache(path, 5, 9) is None
    monkeypatch.setattr(enumeration, "_MEMO", {})
    enumerate_cells(5)
    assert enumeration._load_cache(path, 5, 8) is None


def test_cache_hash_spot_check_catches_wrong_cells(tmp_path, monkeypatch, caplog):
    """A self-consistent file (checksum recomputed) whose cells do not hash to their keys is rejected."""
    space = enumerate_cells(4)
    path = tmp_path / "space.npz"
    arrays = {name: getattr(space, name).copy() for name in enumeration._CACHE_ARRAYS}
    arrays["hash_bytes"] = np.sort(np.array([bytes(reversed(h)) for h in arrays["hash_bytes"]], dtype="S32"))
    np.savez(
        path,
        meta=np.array([enumeration._CACHE_FORMAT, 4, 9]),
        checksum=np.array(enumeration._checksum(arrays), dtype="S32"),
        **arrays,
    )
    with caplog.at_level(logging.WARNING, logger="ecnas.spaces.nb101.enumeration"):
        assert enumeration._load_cache(path, 4, 9) is None
    assert "does not hash to its stored hash" in caplog.text


def test_space_constructor_validates():
    space = enumerate_cells(3)
    with pytest.raises(ValueError, match="matrices must have shape"):
        EnumeratedSpace(space.hash_bytes, space.matrices[:-1], space.op_codes, space.num_vertices)
    with pytest.raises(ValueError, match="strictly ascending"):
        EnumeratedSpace(space.hash_bytes[::-1], space.matrices, space.op_codes, space.num_vertices)
    assert "7 cells" in repr(space)


@pytest.mark.parametrize("progress", [[], ["--no-progress"]])
@pytest.mark.parametrize("batch", [8192, 7])
def test_cli_writes_nb101_json_byte_for_byte(tmp_path, monkeypatch, progress, batch):
    import ecnas.cli.space

    monkeypatch.setattr(ecnas.cli.space, "_BATCH", batch)  # 7: many batches, joined as json.dump would
    reference = reference_file("generated_graphs_4V9E.json")
    output = tmp_path / "graphs.json"
    result = CliRunner().invoke(main, ["space", "enumerate", "--max-vertices", "4", "-o", str(output), *progress])
    assert result.exit_code == 0, result.output
    assert "Wrote 91 cells" in result.output
    assert output.read_bytes() == reference.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name != "cache"] == ["graphs.json"]  # temporary file renamed


def test_cli_edge_limit_and_errors(tmp_path):
    output = tmp_path / "g.json"
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "space",
            "enumerate",
            "--max-vertices",
            "5",
            "--max-edges",
            "4",
            "-o",
            str(output),
            "--no-progress",
            "--jobs",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(output.read_text()) == nb101_generate(5, 4)
    result = runner.invoke(main, ["space", "enumerate", "--max-vertices", "8", "-o", str(output)])
    assert result.exit_code == 2 and "--max-vertices" in result.output and "2<=x<=7" in result.output
    result = runner.invoke(main, ["space", "enumerate", "--max-vertices", "4", "-o", str(tmp_path / "no" / "g.json")])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(main, ["space", "enumerate", "--max-vertices", "4"])
    assert result.exit_code == 2 and "--output" in result.output

    def refuse(*args):
        raise OSError(28, "No space left on device")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("ecnas._io.os.replace", refuse)
        result = runner.invoke(main, ["space", "enumerate", "--max-vertices", "4", "-o", str(tmp_path / "full.json")])
    assert result.exit_code == 1 and "could not write" in result.output and "No space left" in result.output
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".full.json")]  # temporary file removed
    (tmp_path / "dir.json").mkdir()
    result = runner.invoke(main, ["space", "enumerate", "--max-vertices", "4", "-o", str(tmp_path / "dir.json")])
    assert result.exit_code != 0 and "Traceback" not in result.output


@pytest.mark.slow
def test_full_space():
    """The whole space: 423,624 cells; a random sample re-hashed through CellSpec."""
    space = enumerate_space()
    assert len(space) == 423_624
    assert len(set(space.hashes)) == len(space)
    assert np.all(space.hash_bytes[1:] > space.hash_bytes[:-1])
    rng = np.random.default_rng(2024)
    for index in rng.choice(len(space), size=300, replace=False).tolist():
        size = int(space.num_vertices[index])
        spec = CellSpec.from_labeling(space.matrices[index, :size, :size], space.labeling(index))
        assert spec.hash == space.hashes[index]
        assert space.index_of(spec.hash) == index
    assert space.index_of("28cfc7874f6d200472e1a9dcd8650aa0") >= 0  # NB101 README example cell
    six = enumerate_cells(6)
    assert set(six.hashes) == {h for h, v in zip(space.hashes, space.num_vertices.tolist(), strict=True) if v <= 6}


@pytest.mark.slow
def test_six_vertices_equal_nb101_algorithm():
    assert enumerate_cells(6).to_generated_graphs() == nb101_generate(6)
