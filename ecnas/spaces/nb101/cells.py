"""The NAS-Bench-101 cell space: validation, pruning and the canonical NB101 hash of a cell.

A cell is a DAG over at most 7 vertices (input and output included) with at most 9 edges; every
interior vertex carries one of three ops. Everything here matches NB101 bit for bit so that an
ecnas table row and an NB101/EC-NAS record share the same key.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ecnas.errors import InvalidCellError

__all__ = [
    "CONV1X1",
    "CONV3X3",
    "FEATURE_OP_CODES",
    "INPUT",
    "INTERIOR_OPS",
    "LABEL_OF_CODE",
    "MAXPOOL3X3",
    "MAX_EDGES",
    "MAX_VERTICES",
    "NUM_FEATURES",
    "OP_OF_CODE",
    "OUTPUT",
    "CellSpec",
    "adjacency_from_string",
    "encode_features",
    "hash_cell",
    "labels_of_codes",
    "pad_cells",
]

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
#: Interior ops in NB101's canonical order: the position is the op's integer label in the hash.
INTERIOR_OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
MAX_VERTICES = 7
MAX_EDGES = 9
#: Op codes of the EC-NAS feature encoding (0 is padding).
FEATURE_OP_CODES: dict[str, int] = {INPUT: 1, CONV1X1: 2, CONV3X3: 3, MAXPOOL3X3: 4, OUTPUT: 5}
#: Feature op code → op name (the inverse of :data:`FEATURE_OP_CODES`).
OP_OF_CODE: dict[int, str] = {code: op for op, code in FEATURE_OP_CODES.items()}
#: 28 upper-triangular entries (diagonal included) of the 7x7 matrix + 7 op codes + parameters / 1e6.
NUM_FEATURES = MAX_VERTICES * (MAX_VERTICES + 1) // 2 + MAX_VERTICES + 1

_INPUT_LABEL = -1
_OUTPUT_LABEL = -2
#: Feature op code → NB101's integer label (input -1, output -2, an interior op its index in INTERIOR_OPS).
LABEL_OF_CODE: dict[int, int] = {FEATURE_OP_CODES[INPUT]: _INPUT_LABEL, FEATURE_OP_CODES[OUTPUT]: _OUTPUT_LABEL} | {
    FEATURE_OP_CODES[op]: label for label, op in enumerate(INTERIOR_OPS)
}
_LABEL_LOOKUP = np.zeros(max(LABEL_OF_CODE) + 1, dtype=np.int64)
_LABEL_LOOKUP[list(LABEL_OF_CODE)] = list(LABEL_OF_CODE.values())


def labels_of_codes(op_codes: np.ndarray) -> np.ndarray:
    """:data:`LABEL_OF_CODE` applied elementwise to an array of feature op codes (padding 0 stays 0)."""
    return _LABEL_LOOKUP[np.asarray(op_codes)]


try:  # CPython's built-in md5 costs ~40% less per call than OpenSSL's for short messages.
    from _md5 import md5 as md5_digest
except ImportError:  # pragma: no cover - builds without the built-in hash modules
    md5_digest = hashlib.md5


def _md5(text: str) -> str:
    return md5_digest(text.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=4096)
def _vertex_seed(out_degree: int, in_degree: int, label: int) -> str:
    # str() of a tuple of plain ints, e.g. '(4, 0, -1)': numpy scalars would print differently.
    return _md5(str((out_degree, in_degree, label)))


@functools.lru_cache(maxsize=8192)
def _wiring(
    matrix_bytes: bytes, num_vertices: int
) -> tuple[tuple[tuple[tuple[int, ...], tuple[int, ...], int], ...], tuple[tuple[int, int], ...]]:
    """Per vertex (predecessors, successors, index) and (out-degree, in-degree): shared by all labelings."""
    rows = np.frombuffer(matrix_bytes, dtype=np.int8).reshape(num_vertices, num_vertices).tolist()
    vertices = range(num_vertices)
    successors = tuple(tuple(w for w in vertices if rows[v][w]) for v in vertices)
    predecessors = tuple(tuple(v for v in vertices if rows[v][w]) for w in vertices)
    degrees = tuple((len(successors[v]), len(predecessors[v])) for v in vertices)
    return tuple(zip(predecessors, successors, vertices, strict=True)), degrees


def hash_cell(matrix: np.ndarray, labeling: Sequence[int]) -> str:
    """NB101's canonical hash of a pruned cell.

    Args:
        matrix: `V x V` upper-triangular 0/1 adjacency matrix of the pruned cell.
        labeling: `[-1] + interior op labels + [-2]`, plain Python ints.

    Returns:
        The 32-character hex digest every NB101/EC-NAS table uses as the cell's key.
    """
    adjacency = np.ascontiguousarray(matrix, dtype=np.int8)
    num_vertices = adjacency.shape[0]
    plan, degrees = _wiring(adjacency.tobytes(), num_vertices)
    hashes = [_vertex_seed(out, into, int(label)) for (out, into), label in zip(degrees, labeling, strict=True)]
    md5 = md5_digest
    join = "".join
    for _ in range(num_vertices):
        get = hashes.__getitem__
        # NB101: md5(sorted predecessor hashes + '|' + sorted successor hashes + '|' + own hash), all at once.
        hashes = [
            md5(f"{join(sorted(map(get, before)))}|{join(sorted(map(get, after)))}|{hashes[v]}".encode()).hexdigest()
            for before, after, v in plan
        ]
    return _md5(str(sorted(hashes)))


@functools.lru_cache(maxsize=1 << 16)
def _memoised_hash(matrix_bytes: bytes, num_vertices: int, labeling: tuple[int, ...]) -> str:
    # Optimizers rebuild the same cells over and over; md5 rounds dominate a query by CellSpec.
    matrix = np.frombuffer(matrix_bytes, dtype=np.int8).reshape(num_vertices, num_vertices)
    return hash_cell(matrix, labeling)


def _check_entries_one_by_one(array: np.ndarray) -> None:
    """Slow path for unusual element types: find the first entry that is not 0/1 and name it."""
    for value in array.flat:
        if isinstance(value, (bool, np.bool_, int, np.integer)) or (
            isinstance(value, (float, np.floating)) and float(value).is_integer()
        ):
            if value not in (0, 1):
                raise InvalidCellError(f"matrix entries must be 0 or 1, found {value!r}")
        else:
            raise InvalidCellError(f"matrix entries must be 0 or 1 integers, found {value!r} ({type(value).__name__})")


def _as_adjacency(matrix: Any) -> np.ndarray:
    """Convert user input to a square int8 0/1 array, or raise naming what is wrong."""
    if matrix is None or isinstance(matrix, (str, bytes)):
        raise InvalidCellError(f"matrix must be a square 0/1 array (list of lists or numpy array), got {matrix!r}")
    if isinstance(matrix, np.ndarray):
        array = matrix
    else:
        try:
            array = np.array(matrix)
        except (ValueError, TypeError) as error:
            raise InvalidCellError(
                f"matrix must be a square 0/1 array, got a ragged or malformed value: {error}"
            ) from None
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise InvalidCellError(f"matrix must be square (V x V), got shape {array.shape}")
    if array.shape[0] < 2:
        raise InvalidCellError(f"matrix must have at least 2 vertices (input and output), got shape {array.shape}")
    if array.dtype.kind not in "biuf":
        _check_entries_one_by_one(array)
    bad = (array != 0) & (array != 1)
    if bad.any():
        raise InvalidCellError(f"matrix entries must be 0 or 1, found {array[bad].flat[0]!r}")
    adjacency = array.astype(np.int8)
    if adjacency.diagonal().any():
        raise InvalidCellError("matrix diagonal must be zero (a vertex cannot feed itself)")
    lower = np.tril(adjacency, -1)
    if lower.any():
        rows, cols = np.nonzero(lower)
        raise InvalidCellError(
            f"matrix must be upper-triangular (edges go from lower to higher vertex index); "
            f"found edge {int(rows[0])}->{int(cols[0])}"
        )
    return adjacency


def _as_ops(ops: Any, num_vertices: int) -> list[str]:
    if ops is None or isinstance(ops, (str, bytes)):
        raise InvalidCellError(f"ops must be a list of op names, got {ops!r}")
    try:
        op_list = list(ops)
    except TypeError:
        raise InvalidCellError(f"ops must be a list of op names, got {ops!r}") from None
    for op in op_list:
        if not isinstance(op, str):
            raise InvalidCellError(f"ops must be strings, found {op!r} ({type(op).__name__})")
    op_list = [str(op) for op in op_list]  # plain str, also for numpy string arrays
    if len(op_list) != num_vertices:
        raise InvalidCellError(f"ops has {len(op_list)} entries but the matrix has {num_vertices} vertices")
    if op_list[0] != INPUT:
        raise InvalidCellError(f"the first op must be {INPUT!r}, got {op_list[0]!r}")
    if op_list[-1] != OUTPUT:
        raise InvalidCellError(f"the last op must be {OUTPUT!r}, got {op_list[-1]!r}")
    for op in op_list[1:-1]:
        if op not in INTERIOR_OPS:
            raise InvalidCellError(f"unknown op {op!r}; interior ops must be one of {list(INTERIOR_OPS)}")
    return op_list


#: Up to this many vertices plain Python lists prune fastest (NB101 cells: ~5 µs); above it numpy rows do.
_SMALL_CELL = 32


def _prune(adjacency: np.ndarray, ops: list[str]) -> tuple[np.ndarray, list[str]]:
    """Drop vertices not on an input→output path, exactly as NB101's ModelSpec does."""
    num_vertices = adjacency.shape[0]
    if num_vertices <= _SMALL_CELL:
        rows = adjacency.tolist()
        from_input = [False] * num_vertices
        from_input[0] = True
        for v in range(num_vertices):  # upper-triangular: one forward sweep finds every reachable vertex
            if from_input[v]:
                for w in range(v + 1, num_vertices):
                    if rows[v][w]:
                        from_input[w] = True
        to_output = [False] * num_vertices
        to_output[-1] = True
        for v in range(num_vertices - 2, -1, -1):
            to_output[v] = any(rows[v][w] and to_output[w] for w in range(v + 1, num_vertices))
        keep = [v for v in range(num_vertices) if from_input[v] and to_output[v]]
    else:
        # Vectorised over rows and columns: only reachable vertices cost a row (column) operation, so a huge
        # mostly-empty matrix is refused in milliseconds, not seconds.
        edges = adjacency != 0
        reach_in = np.zeros(num_vertices, dtype=bool)
        reach_in[0] = True
        for v in range(num_vertices):
            if reach_in[v]:
                reach_in |= edges[v]
        reach_out = np.zeros(num_vertices, dtype=bool)
        reach_out[-1] = True
        for w in range(num_vertices - 1, -1, -1):
            if reach_out[w]:
                reach_out |= edges[:, w]
        keep = np.flatnonzero(reach_in & reach_out).tolist()
    if len(keep) < 2:
        raise InvalidCellError("the output is unreachable from the input: no path input→output")
    if len(keep) == num_vertices:
        return adjacency, ops
    return adjacency[np.ix_(keep, keep)], [ops[v] for v in keep]


class CellSpec:
    """A validated, pruned NB101 cell with its canonical hash.

    Construction validates the matrix and ops, removes vertices that lie on no input→output path
    (as NB101 does) and checks the vertex/edge limits on the pruned cell.

    Args:
        matrix: `V x V` upper-triangular 0/1 adjacency (list of lists or numpy array).
        ops: `V` op names: ``"input"``, interior ops from :data:`INTERIOR_OPS`, ``"output"``.
        max_vertices: vertex limit of the space (7 for NB101).
        max_edges: edge limit of the space (9 for NB101).

    Raises:
        InvalidCellError: the cell is not a member of the space; the message names the problem.
    """

    __slots__ = ("_hash", "_matrix", "_ops")

    def __init__(self, matrix: Any, ops: Any, *, max_vertices: int = MAX_VERTICES, max_edges: int = MAX_EDGES) -> None:
        adjacency = _as_adjacency(matrix)
        op_list = _as_ops(ops, adjacency.shape[0])
        adjacency, op_list = _prune(adjacency, op_list)
        if adjacency.shape[0] > max_vertices:
            raise InvalidCellError(
                f"the pruned cell has {adjacency.shape[0]} vertices; at most {max_vertices} are allowed"
            )
        num_edges = int(adjacency.sum())
        if num_edges > max_edges:
            raise InvalidCellError(f"the pruned cell has {num_edges} edges; at most {max_edges} are allowed")
        adjacency.setflags(write=False)
        self._matrix = adjacency
        self._ops = tuple(op_list)
        self._hash: str | None = None

    @classmethod
    def from_labeling(cls, matrix: Any, labeling: Sequence[int]) -> CellSpec:
        """Build a cell from NB101's integer labeling (`[-1, labels..., -2]`, generated-graphs format)."""
        if labeling is None or isinstance(labeling, (str, bytes)):
            raise InvalidCellError(f"labeling must be a list of ints (-1, 0..2, -2), got {labeling!r}")
        try:
            labels = list(labeling)
        except TypeError:
            raise InvalidCellError(f"labeling must be a list of ints (-1, 0..2, -2), got {labeling!r}") from None
        names = []
        for label in labels:
            if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)):
                raise InvalidCellError(
                    f"labeling entries must be the ints -1, -2 or 0..2, found {label!r} ({type(label).__name__})"
                )
            label = int(label)
            if label == _INPUT_LABEL:
                names.append(INPUT)
            elif label == _OUTPUT_LABEL:
                names.append(OUTPUT)
            elif 0 <= label < len(INTERIOR_OPS):
                names.append(INTERIOR_OPS[label])
            else:
                raise InvalidCellError(f"labeling entries must be -1, -2 or 0..2, found {label}")
        return cls(matrix, names)

    @classmethod
    def from_padded(cls, matrix: Any, op_codes: Any, cell_hash: str | None = None) -> CellSpec:
        """A cell stored zero-padded, as tables and enumerations hold it.

        Args:
            matrix: `7 x 7` adjacency, zero-padded.
            op_codes: 7 :data:`FEATURE_OP_CODES`, 0 = padding.
            cell_hash: the stored hash, when known: spares NB101's md5 rounds.
        """
        codes = np.asarray(op_codes)
        size = int(np.count_nonzero(codes))
        spec = cls(np.asarray(matrix)[:size, :size], [OP_OF_CODE[int(code)] for code in codes[:size]])
        if cell_hash is not None:
            spec._hash = cell_hash
        return spec

    @property
    def matrix(self) -> np.ndarray:
        """`V x V` int8 adjacency of the pruned cell (read-only)."""
        return self._matrix

    @property
    def ops(self) -> tuple[str, ...]:
        """Op names of the pruned cell, input and output included."""
        return self._ops

    @property
    def labeling(self) -> list[int]:
        """NB101's integer labeling: `[-1] + interior op labels + [-2]`."""
        return [_INPUT_LABEL] + [INTERIOR_OPS.index(op) for op in self._ops[1:-1]] + [_OUTPUT_LABEL]

    @property
    def num_vertices(self) -> int:
        """Number of vertices of the pruned cell, input and output included."""
        return int(self._matrix.shape[0])

    @property
    def num_edges(self) -> int:
        """Number of edges of the pruned cell."""
        return int(self._matrix.sum())

    @property
    def known_hash(self) -> str | None:
        """The hash if already computed (or given to :meth:`from_padded`), else None; never computes it."""
        return self._hash

    @property
    def hash(self) -> str:
        """NB101's canonical hash (32 hex characters), the key of every table row."""
        if self._hash is None:
            self._hash = _memoised_hash(self._matrix.tobytes(), self.num_vertices, tuple(self.labeling))
        return self._hash

    def features(self) -> np.ndarray:
        """EC-NAS's 36-value encoding used by the energy surrogate.

        The 28 upper-triangular entries (diagonal included) of the matrix zero-padded to 7x7,
        row-major; 7 op codes (input=1, conv1x1=2, conv3x3=3, maxpool=4, output=5, padding=0);
        then the trainable parameters of the default NB101 network in millions.
        """
        from ecnas.spaces.nb101.channels import count_parameters

        return encode_features(*pad_cells([self]), np.array([count_parameters(self)]))[0]

    def shuffled(self, seed: int | np.random.Generator | None = None) -> CellSpec:
        """The same cell (same hash) with its vertices in a random topological order.

        Input stays first and output last; every order NB101 accepts for this cell can come out.
        For isomorphism augmentation, and for checking that code does not depend on one vertex order.
        """
        rng = np.random.default_rng(seed)
        matrix = self._matrix
        pending = matrix.sum(axis=0).tolist()  # unplaced predecessors of each vertex
        ready, order = [0], []
        while ready:
            vertex = ready.pop(int(rng.integers(len(ready))))
            order.append(vertex)
            for successor in np.flatnonzero(matrix[vertex]).tolist():
                pending[successor] -= 1
                if not pending[successor]:
                    ready.append(successor)
        spec = CellSpec.__new__(CellSpec)
        spec._matrix = matrix[np.ix_(order, order)]
        spec._matrix.setflags(write=False)
        spec._ops = tuple(self._ops[v] for v in order)
        spec._hash = self._hash
        return spec

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CellSpec) and other.hash == self.hash

    def __hash__(self) -> int:
        return hash(self.hash)

    def __repr__(self) -> str:
        return f"CellSpec(matrix={self._matrix.tolist()}, ops={list(self._ops)})"


def pad_cells(specs: Sequence[CellSpec]) -> tuple[np.ndarray, np.ndarray]:
    """Cells in the stored form tables and enumerations use: the inverse of :meth:`CellSpec.from_padded`.

    Returns:
        `N x 7 x 7` uint8 matrices and `N x 7` int8 :data:`FEATURE_OP_CODES`, zero-padded.
    """
    matrices = np.zeros((len(specs), MAX_VERTICES, MAX_VERTICES), dtype=np.uint8)
    op_codes = np.zeros((len(specs), MAX_VERTICES), dtype=np.int8)
    for row, spec in enumerate(specs):
        size = spec.num_vertices
        matrices[row, :size, :size] = spec.matrix
        op_codes[row, :size] = [FEATURE_OP_CODES[op] for op in spec.ops]
    return matrices, op_codes


def adjacency_from_string(text: str, num_vertices: int | None = None) -> np.ndarray:
    """NB101's flat adjacency (row-major '0'/'1' string of length V², as in TFRecords and EC-NAS CSVs).

    Raises:
        InvalidCellError: not a square 0/1 string (of ``num_vertices``² characters when given).
    """
    if not isinstance(text, str) or not text or set(text) - {"0", "1"}:
        raise InvalidCellError(f"adjacency must be a non-empty '0'/'1' string, got {text!r}")
    expected = math.isqrt(len(text)) if num_vertices is None else num_vertices
    if len(text) != expected * expected:
        shape = "a square V*V" if num_vertices is None else f"{num_vertices}x{num_vertices} = {expected * expected}"
        raise InvalidCellError(f"adjacency has {len(text)} characters, not {shape} (row-major): {text!r}")
    return (np.frombuffer(text.encode("ascii"), dtype=np.uint8) - ord("0")).astype(np.int8).reshape(expected, expected)


def encode_features(matrices: np.ndarray, op_codes: np.ndarray, parameters: np.ndarray) -> np.ndarray:
    """EC-NAS's 36 features of zero-padded cells, vectorised (the one definition of the encoding).

    Args:
        matrices: `N x 7 x 7` adjacency, zero-padded.
        op_codes: `N x 7` :data:`FEATURE_OP_CODES`, 0 = padding.
        parameters: `N` trainable-parameter counts (of the default NB101 network for EC-NAS's surrogate).

    Returns:
        `N x 36` float64: 28 upper-triangular entries (diagonal included, row-major), 7 op codes,
        parameters / 1e6.
    """
    rows, cols = np.triu_indices(MAX_VERTICES)
    features = np.empty((len(matrices), NUM_FEATURES), dtype=np.float64)
    features[:, : rows.size] = np.asarray(matrices)[:, rows, cols]
    features[:, rows.size : rows.size + MAX_VERTICES] = op_codes
    features[:, -1] = np.asarray(parameters, dtype=np.float64) / 1e6
    return features
