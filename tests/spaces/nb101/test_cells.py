"""CellSpec: NB101 validation, pruning and hashing against published vectors; a seeded fuzz test."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import ecnas
from ecnas.errors import InvalidCellError
from ecnas.spaces.nb101.cells import (
    CONV1X1,
    CONV3X3,
    FEATURE_OP_CODES,
    INPUT,
    INTERIOR_OPS,
    MAXPOOL3X3,
    NUM_FEATURES,
    OUTPUT,
    CellSpec,
    hash_cell,
)
from tests.reference import reference_file
from tests.vectors import README_MATRIX, README_OPS

# --- published test vectors ---------------------------------------------------------------------


def test_two_vertex_cell_hash() -> None:
    spec = CellSpec([[0, 1], [0, 0]], [INPUT, OUTPUT])
    assert spec.hash == "043721b9c7fe8c5fad811d47d83132ec"
    assert (spec.num_vertices, spec.num_edges, spec.labeling) == (2, 1, [-1, -2])


def test_readme_example_hash() -> None:
    spec = CellSpec(README_MATRIX, README_OPS)
    assert spec.hash == "28cfc7874f6d200472e1a9dcd8650aa0"
    assert (spec.num_vertices, spec.num_edges) == (7, 9)
    assert spec.ops == tuple(README_OPS)
    assert spec.labeling == [-1, 1, 0, 0, 0, 2, -2]
    np.testing.assert_array_equal(spec.matrix, README_MATRIX)


def test_public_names() -> None:
    assert ecnas.CellSpec is CellSpec
    assert ecnas.InvalidCellError is InvalidCellError
    assert issubclass(InvalidCellError, ValueError)
    assert issubclass(InvalidCellError, ecnas.EcnasError)


@pytest.mark.parametrize(("name", "count"), [("generated_graphs_4V9E.json", 91), ("generated_graphs_5V9E.json", 2532)])
def test_generated_graphs_rehash_to_their_keys(name: str, count: int) -> None:
    with reference_file(name).open() as handle:
        graphs = json.load(handle)
    assert len(graphs) == count
    for key, (matrix, labeling) in graphs.items():
        spec = CellSpec.from_labeling(matrix, labeling)
        assert spec.hash == key
        # The published cells are already pruned: nothing changes.
        assert spec.matrix.tolist() == matrix
        assert spec.labeling == labeling
        assert hash_cell(np.array(matrix), labeling) == key


@pytest.mark.parametrize("name", ["ecnas_measured_4V_5V.csv", "surrogate_7v_train.csv"])
def test_ecnas_csv_cells_hash_to_their_module_hash(name: str) -> None:
    with reference_file(name).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows
    for row in rows:
        bits = row["adjacency"]
        size = round(len(bits) ** 0.5)
        matrix = np.array([int(c) for c in bits]).reshape(size, size)
        assert CellSpec(matrix, row["ops"].split(",")).hash == row["module_hash"]


# --- properties of the pruned cell -------------------------------------------------------------


def test_matrix_is_read_only_int8_copy() -> None:
    source = np.array(README_MATRIX, dtype=np.int8)
    spec = CellSpec(source, README_OPS)
    assert spec.matrix.dtype == np.int8
    assert not spec.matrix.flags.writeable
    source[0, 1] = 0  # the caller's array is not aliased
    assert spec.matrix[0, 1] == 1
    with pytest.raises(ValueError):
        spec.matrix[0, 1] = 0


def test_ops_are_plain_strings_for_numpy_input() -> None:
    spec = CellSpec(np.array(README_MATRIX), np.array(README_OPS))
    assert spec.ops == tuple(README_OPS)
    assert all(type(op) is str for op in spec.ops)


def test_equality_and_python_hash_follow_the_canonical_hash() -> None:
    a = CellSpec(README_MATRIX, README_OPS)
    # Swap interior vertices 1 and 2 (both only feed the output): isomorphic, same canonical hash.
    b = CellSpec(README_MATRIX, [INPUT, CONV3X3, CONV1X1, CONV3X3, CONV3X3, MAXPOOL3X3, OUTPUT])
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != CellSpec([[0, 1], [0, 0]], [INPUT, OUTPUT])
    assert a != "28cfc7874f6d200472e1a9dcd8650aa0"
    assert eval(repr(a), {"CellSpec": CellSpec}) == a


def test_features_layout_on_hand_made_cell() -> None:
    # EC-NAS row 001a6fcc...: input->1, input->2, 1->2, 2->output; max-pools; 1,756,298 parameters (measured).
    spec = CellSpec([[0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], [INPUT, MAXPOOL3X3, MAXPOOL3X3, OUTPUT])
    assert spec.hash == "001a6fcc8b38cbc515be788a86bdc804"
    features = spec.features()
    assert features.shape == (NUM_FEATURES,) == (36,)
    expected_upper = [
        *[0, 1, 1, 0, 0, 0, 0],  # row 0, columns 0..6 (diagonal included)
        *[0, 1, 0, 0, 0, 0],  # row 1, columns 1..6
        *[0, 1, 0, 0, 0],  # row 2, columns 2..6
        *[0] * (4 + 3 + 2 + 1),  # rows 3..6: padding
    ]
    np.testing.assert_array_equal(features[:28], expected_upper)
    np.testing.assert_array_equal(features[28:35], [1, 4, 4, 5, 0, 0, 0])
    assert features[35] == pytest.approx(1.756298)


def test_features_op_codes_and_parameters_of_readme_example() -> None:
    features = CellSpec(README_MATRIX, README_OPS).features()
    assert FEATURE_OP_CODES == {INPUT: 1, CONV1X1: 2, CONV3X3: 3, MAXPOOL3X3: 4, OUTPUT: 5}
    np.testing.assert_array_equal(features[28:35], [1, 2, 3, 3, 3, 4, 5])
    np.testing.assert_array_equal(features[:28], np.array(README_MATRIX)[np.triu_indices(7)])
    assert features[35] == pytest.approx(2.694282)


# --- pruning (NB101 ModelSpec semantics) ------------------------------------------------------


def test_vertex_without_path_to_output_is_removed_with_its_op() -> None:
    # Vertex 2 (conv1x1) is fed by the input but feeds nothing: NB101 deletes it and its op.
    matrix = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
    spec = CellSpec(matrix, [INPUT, CONV3X3, CONV1X1, OUTPUT])
    assert spec.ops == (INPUT, CONV3X3, OUTPUT)
    np.testing.assert_array_equal(spec.matrix, [[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    assert spec == CellSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT])


def test_vertex_unreachable_from_input_is_removed() -> None:
    # Vertex 1 feeds the output but nothing feeds it.
    matrix = [[0, 0, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    spec = CellSpec(matrix, [INPUT, MAXPOOL3X3, CONV3X3, OUTPUT])
    assert spec.ops == (INPUT, CONV3X3, OUTPUT)
    np.testing.assert_array_equal(spec.matrix, [[0, 1, 0], [0, 0, 1], [0, 0, 0]])


def test_pruning_keeps_edges_between_kept_vertices() -> None:
    # Edges are never removed on their own: the direct input->output edge stays next to the path.
    matrix = [[0, 1, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    spec = CellSpec(matrix, [INPUT, CONV1X1, CONV3X3, OUTPUT])
    np.testing.assert_array_equal(spec.matrix, [[0, 1, 1], [0, 0, 1], [0, 0, 0]])
    assert spec.num_edges == 3


def test_limits_are_checked_after_pruning() -> None:
    # 8 vertices with one dangling vertex: 7 after pruning, valid.
    chain = np.eye(8, k=1, dtype=int)
    chain[0, 7] = 1
    chain[5, 6] = 0  # vertex 6 now has no predecessor: dangling
    chain[5, 7] = 1
    ops = [INPUT] + [CONV3X3] * 6 + [OUTPUT]
    spec = CellSpec(chain, ops)
    assert spec.num_vertices == 7
    with pytest.raises(InvalidCellError, match="8 vertices"):
        CellSpec(np.eye(8, k=1, dtype=int), ops)
    # 10 edges on 7 vertices, and 10 edges that drop to 9 after pruning.
    ten = np.eye(7, k=1, dtype=int)  # chain input -> 1 -> ... -> output (6 edges)
    ten[0, 2:6] = 1  # + 4 edges from the input: nothing dangles
    with pytest.raises(InvalidCellError, match="10 edges"):
        CellSpec(ten, [INPUT] + [CONV3X3] * 5 + [OUTPUT])
    nine = np.zeros((8, 8), dtype=int)
    nine[:7, :7] = README_MATRIX
    nine[:7, 7], nine[:, 6] = nine[:7, 6].copy(), 0  # output moved to vertex 7
    nine[0, 6] = 1  # vertex 6 is a dead end: its edge goes with it
    assert nine.sum() == 10
    spec = CellSpec(nine, [*README_OPS[:-1], CONV1X1, OUTPUT])
    assert (spec.num_edges, spec.hash) == (9, "28cfc7874f6d200472e1a9dcd8650aa0")


def test_custom_limits() -> None:
    with pytest.raises(InvalidCellError, match="7 vertices; at most 5"):
        CellSpec(README_MATRIX, README_OPS, max_vertices=5)
    with pytest.raises(InvalidCellError, match="9 edges; at most 8"):
        CellSpec(README_MATRIX, README_OPS, max_edges=8)


# --- error messages name the problem ---------------------------------------------------------


@pytest.mark.parametrize(
    ("matrix", "ops", "pattern"),
    [
        ([[0, 1, 0], [0, 0, 1]], [INPUT, CONV3X3, OUTPUT], "square"),
        ([0, 1, 0], [INPUT, OUTPUT], "square"),
        ([[0]], [INPUT], "at least 2 vertices"),
        ([], [], "square"),
        ([[0, 2], [0, 0]], [INPUT, OUTPUT], "0 or 1"),
        ([[0, 0.5], [0, 0]], [INPUT, OUTPUT], "0 or 1"),
        ([[0, "1"], [0, 0]], [INPUT, OUTPUT], "0 or 1"),
        ([[0, None], [0, 0]], [INPUT, OUTPUT], "0 or 1"),
        ([[1, 1], [0, 0]], [INPUT, OUTPUT], "diagonal"),
        ([[0, 1], [1, 0]], [INPUT, OUTPUT], "upper-triangular"),
        ([[0, 1], [0, 0]], [INPUT, CONV3X3, OUTPUT], "3 entries but the matrix has 2"),
        ([[0, 1], [0, 0]], [OUTPUT, OUTPUT], "first op"),
        ([[0, 1], [0, 0]], [INPUT, INPUT], "last op"),
        ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, "conv5x5", OUTPUT], "unknown op 'conv5x5'"),
        ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, 3, OUTPUT], "must be strings"),
        ([[0, 0], [0, 0]], [INPUT, OUTPUT], "unreachable"),
        ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT], "unreachable"),
        ([[0, 1], [0]], [INPUT, OUTPUT], "ragged|square"),
        ("0100", [INPUT, OUTPUT], "matrix"),
        (None, [INPUT, OUTPUT], "matrix"),
        ([[0, 1], [0, 0]], None, "ops"),
        ([[0, 1], [0, 0]], "input,output", "ops"),
        ([[0, 1], [0, 0]], 5, "ops"),
    ],
)
def test_invalid_cells_raise_named_errors(matrix: Any, ops: Any, pattern: str) -> None:
    with pytest.raises(InvalidCellError, match=pattern):
        CellSpec(matrix, ops)


@pytest.mark.parametrize(
    "labeling", [[-1, 3, -2], [-1, -3, -2], [-1, "a", -2], [-1, None, -2], [-1, 1.0, -2], None, "ab"]
)
def test_from_labeling_rejects_bad_labels(labeling: Any) -> None:
    with pytest.raises(InvalidCellError, match="labeling"):
        CellSpec.from_labeling([[0, 1, 0], [0, 0, 1], [0, 0, 0]], labeling)


def test_from_labeling_accepts_numpy_labels() -> None:
    spec = CellSpec.from_labeling(np.array(README_MATRIX), np.array([-1, 1, 0, 0, 0, 2, -2], dtype=np.int8))
    assert spec.hash == "28cfc7874f6d200472e1a9dcd8650aa0"


# --- seeded fuzz and property tests -----------------------------------------------------------


def _random_pruned_cell(rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """A valid, already pruned cell: every vertex has a predecessor and a successor, at most 9 edges."""
    while True:
        size = int(rng.integers(2, 8))
        matrix = np.triu(rng.random((size, size)) < rng.uniform(0.2, 0.7), 1).astype(np.int64)
        if size == 2:
            matrix[0, 1] = 1
        for v in range(1, size):  # give every vertex a predecessor ...
            if not matrix[:v, v].any():
                matrix[rng.integers(0, v), v] = 1
        for v in range(size - 1):  # ... and a successor
            if not matrix[v, v + 1 :].any():
                matrix[v, rng.integers(v + 1, size)] = 1
        if matrix.sum() <= 9:
            ops = [INPUT, *(INTERIOR_OPS[i] for i in rng.integers(0, 3, size - 2)), OUTPUT]
            return matrix, ops


def _with_dangling_vertex(rng: np.random.Generator, matrix: np.ndarray, ops: list[str]) -> tuple[np.ndarray, list[str]]:
    """Insert a vertex that lies on no input→output path (fed by the core, feeding nothing on the way out)."""
    size = matrix.shape[0]
    position = int(rng.integers(1, size))  # new vertex index, before the output
    keep = [v for v in range(size + 1) if v != position]
    grown = np.zeros((size + 1, size + 1), dtype=np.int64)
    grown[np.ix_(keep, keep)] = matrix
    if rng.random() < 0.5:  # reachable from the input but a dead end
        grown[rng.integers(0, position), position] = 1
    else:  # feeds the output but nothing feeds it
        grown[position, rng.integers(position + 1, size + 1)] = 1
    return grown, [*ops[:position], INTERIOR_OPS[rng.integers(0, 3)], *ops[position:]]


def _topological_relabeling(
    rng: np.random.Generator, matrix: np.ndarray, ops: list[str]
) -> tuple[np.ndarray, list[str]]:
    """The same DAG with interior vertices renumbered along another topological order."""
    size = matrix.shape[0]
    order, placed = [0], {0}
    while len(order) < size - 1:
        ready = [
            v for v in range(1, size - 1) if v not in placed and all(w in placed for w in np.flatnonzero(matrix[:, v]))
        ]
        choice = int(rng.choice(ready))
        order.append(choice)
        placed.add(choice)
    order.append(size - 1)
    return matrix[np.ix_(order, order)], [ops[v] for v in order]


def test_random_valid_cells_never_raise_and_hash_alike_in_every_form() -> None:
    rng = np.random.default_rng(20240601)
    for _ in range(2500):
        matrix, ops = _random_pruned_cell(rng)
        reference = CellSpec(matrix.tolist(), ops)
        assert reference.num_vertices == matrix.shape[0] and reference.num_edges == matrix.sum()
        forms = [
            (matrix.astype(np.int64), ops),
            (matrix.astype(np.int8), tuple(ops)),
            (matrix.astype(bool), np.array(ops)),
            ([[np.int64(x) for x in row] for row in matrix.tolist()], ops),
            ([[bool(x) for x in row] for row in matrix.tolist()], list(ops)),
        ]
        for form_matrix, form_ops in forms:
            spec = CellSpec(form_matrix, form_ops)
            assert spec.hash == reference.hash
            assert spec.matrix.tolist() == reference.matrix.tolist() and spec.ops == reference.ops
        relabeled = CellSpec(*_topological_relabeling(rng, matrix, ops))
        assert relabeled.hash == reference.hash
        if matrix.shape[0] < 7:
            grown = CellSpec(*_with_dangling_vertex(rng, matrix, ops))
            assert grown.hash == reference.hash
            assert grown.matrix.tolist() == reference.matrix.tolist() and grown.ops == reference.ops


_BAD_ENTRIES: list[Any] = [
    2,
    -1,
    3,
    255,
    0.5,
    -0.0001,
    float("nan"),
    float("inf"),
    "1",
    "0",
    None,
    [1],
    (0,),
    1j,
    {},
    b"1",
]
_BAD_OPS: list[Any] = [
    "conv5x5",
    "Conv3x3-bn-relu",
    "",
    " maxpool3x3",
    "conv3x3",
    INPUT,
    OUTPUT,
    None,
    3,
    1.5,
    b"conv1x1-bn-relu",
    [CONV3X3],
]


def _malformed_inputs(rng: np.random.Generator) -> Iterator[tuple[str, Callable[..., CellSpec], tuple[Any, ...]]]:
    """Yield (kind, factory, args): ``factory(*args)`` builds a CellSpec from a certainly invalid input."""

    def base() -> tuple[np.ndarray, list[str]]:
        return _random_pruned_cell(rng)

    def pick(values: list[Any]) -> Any:
        return values[int(rng.integers(0, len(values)))]

    for _ in range(250):
        matrix, ops = base()
        size = matrix.shape[0]

        rows, cols = int(rng.integers(0, 9)), int(rng.integers(0, 9))
        if rows != cols:
            shaped = rng.integers(0, 2, (rows, cols))
            yield "non-square", CellSpec, (shaped, ops)
        odd_shape = pick([(size,), (size, size, 1), (1, size, size), (0,), (0, 0), (1, 1), ()])
        yield "shape", CellSpec, (np.zeros(odd_shape, dtype=int), ops)
        yield "shape-list", CellSpec, (matrix.ravel().tolist(), ops)

        as_list: list[list[Any]] = matrix.tolist()
        i, j = int(rng.integers(0, size)), int(rng.integers(0, size))
        as_list[i][j] = pick(_BAD_ENTRIES)
        yield "entry", CellSpec, (as_list, ops)
        as_array = matrix.copy()
        as_array[i, j] = pick([2, -1, 7, 100])
        yield "entry-array", CellSpec, (as_array.astype(pick([np.int8, np.int64, np.uint8])), ops)
        as_float = matrix.astype(float)
        as_float[i, j] = pick([0.5, np.nan, np.inf, -1.0, 1.0000001])
        yield "entry-float", CellSpec, (as_float, ops)

        lower = matrix.copy()
        a, b = sorted(rng.choice(size, 2, replace=False).tolist(), reverse=True)
        lower[a, b] = 1
        yield "lower-triangular", CellSpec, (lower, ops)
        diagonal = matrix.copy()
        diagonal[i, i] = 1
        yield "diagonal", CellSpec, (diagonal, ops)

        if size > 2:
            unknown = list(ops)
            unknown[int(rng.integers(1, size - 1))] = pick(_BAD_OPS)
            yield "unknown-op", CellSpec, (matrix, unknown)
        first = list(ops)
        first[0] = pick([*INTERIOR_OPS, OUTPUT, "Input", None, 0])
        yield "first-op", CellSpec, (matrix, first)
        last = list(ops)
        last[-1] = pick([*INTERIOR_OPS, INPUT, "Output", None, -2])
        yield "last-op", CellSpec, (matrix, last)
        length = int(rng.integers(0, 10))
        if length != size:
            resized = [INPUT, *[CONV3X3] * max(length - 2, 0), OUTPUT][:length]
            yield "ops-length", CellSpec, (matrix, resized)

        ragged: list[list[int]] = matrix.tolist()
        r = int(rng.integers(0, size))
        ragged[r] = ragged[r][:-1] if rng.random() < 0.5 else [*ragged[r], 0]
        yield "ragged", CellSpec, (ragged, ops)
        nested: list[Any] = matrix.tolist()
        nested[r] = [nested[r], nested[r]]
        yield "ragged-nested", CellSpec, (nested, ops)

        text = "".join(str(x) for x in matrix.ravel())
        yield "string-matrix", CellSpec, (pick([text, text.encode(), str(matrix.tolist())]), ops)
        yield "string-ops", CellSpec, (matrix, pick([",".join(ops), " ".join(ops), "".join(ops)]))
        yield "none", CellSpec, (pick([None, matrix]), None)
        yield "none-matrix", CellSpec, (None, ops)
        yield "scalar", CellSpec, (pick([0, 1, 1.0, True, object()]), ops)

        cut = matrix.copy()
        cut[:, -1] = 0  # nothing reaches the output
        yield "unreachable", CellSpec, (cut, ops)
        dense = np.triu(np.ones((7, 7), dtype=int), 1)
        dense[np.triu_indices(7, 1)] = rng.permutation([1] * int(rng.integers(10, 22)) + [0] * 21)[:21]
        dense[0, 1:] = 1  # every vertex fed by the input ...
        dense[:-1, 6] = 1  # ... and feeding the output: nothing pruned, >= 11 edges
        yield "too-many-edges", CellSpec, (dense, [INPUT] + [CONV1X1] * 5 + [OUTPUT])
        big = int(rng.integers(8, 12))
        chain = np.eye(big, k=1, dtype=int)
        yield "too-many-vertices", CellSpec, (chain, [INPUT] + [MAXPOOL3X3] * (big - 2) + [OUTPUT])

        labels = [-1, *rng.integers(0, 3, size - 2).tolist(), -2]
        labels[int(rng.integers(0, size))] = pick([3, -3, 7, "0", None, 1.0, [0], True])
        yield "labeling", CellSpec.from_labeling, (matrix, labels)


def test_fuzz_malformed_inputs_raise_only_invalid_cell_error() -> None:
    rng = np.random.default_rng(12345)
    counts: dict[str, int] = {}
    for kind, factory, args in _malformed_inputs(rng):
        counts[kind] = counts.get(kind, 0) + 1
        try:
            factory(*args)
        except InvalidCellError as error:
            assert isinstance(error, ValueError)
            assert str(error).strip(), f"empty message for {kind}"
        except Exception as error:  # pragma: no cover - the failure being tested for
            pytest.fail(f"{kind}: raised {type(error).__name__}: {error}")
        else:  # pragma: no cover
            pytest.fail(f"{kind}: malformed input was accepted")
    assert sum(counts.values()) > 5000
    assert min(counts.values()) >= 50, counts


def test_from_padded_decodes_codes_and_keeps_a_known_hash():
    spec = CellSpec(README_MATRIX, README_OPS)
    padded = np.zeros((7, 7), np.uint8)
    padded[: spec.num_vertices, : spec.num_vertices] = spec.matrix
    codes = np.array([FEATURE_OP_CODES[op] for op in spec.ops], np.int8)
    rebuilt = CellSpec.from_padded(padded, codes)
    assert rebuilt.ops == spec.ops and rebuilt.hash == spec.hash
    assert CellSpec.from_padded(padded, codes, "0" * 32).hash == "0" * 32  # stored key trusted, no md5 rounds


def test_shuffled_keeps_the_cell_and_reaches_every_vertex_order():
    diamond = CellSpec(
        [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
        ["input", "conv3x3-bn-relu", "maxpool3x3", "output"],
    )
    rng = np.random.default_rng(0)
    orders = {diamond.shuffled(rng).ops for _ in range(30)}
    assert orders == {diamond.ops, ("input", "maxpool3x3", "conv3x3-bn-relu", "output")}
    assert diamond.shuffled(5).ops == diamond.shuffled(5).ops  # seeded
    for _ in range(300):
        cell = CellSpec(*_random_pruned_cell(rng))
        moved = cell.shuffled(rng)
        rebuilt = CellSpec(moved.matrix, moved.ops)  # a valid cell in NB101's own validation
        assert np.array_equal(rebuilt.matrix, moved.matrix) and not moved.matrix.flags.writeable
        assert hash_cell(moved.matrix, moved.labeling) == cell.hash == moved.hash
