"""Channel allocation of the NB101 network and its analytic trainable-parameter count (no torch).

NB101 builds every cell of a stack with the same wiring; only the input and output channel counts
change. This module reproduces NB101's ``compute_vertex_channels`` and counts the trainable
parameters of the network from that alone, so that a count over the whole 423,624-cell space is pure
arithmetic:

- :func:`vertex_channels` — channels of every vertex of one cell,
- :func:`count_parameters` — trainable parameters of the network for one :class:`~ecnas.spaces.nb101.cells.CellSpec`
  (memoised per cell and options),
- :func:`count_parameters_many` — the same, vectorised over zero-padded `N x 7 x 7` matrices and
  `N x 7` op codes (the arrays an enumerated space or a table holds).

Parameters of a network (convs have no bias; every batch norm has a scale and a shift):
stem conv3x3 + BN, per cell the projections (conv1x1 + BN) and the conv ops (+ BN), and the dense
head with bias.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas.spaces.nb101.cells import CONV1X1, CONV3X3, FEATURE_OP_CODES, INPUT, MAX_VERTICES, MAXPOOL3X3, OUTPUT

if TYPE_CHECKING:
    from ecnas.spaces.nb101.cells import CellSpec

__all__ = [
    "CellPlan",
    "NetworkOptions",
    "VertexPlan",
    "cell_channel_plan",
    "count_parameters",
    "count_parameters_many",
    "vertex_channels",
]

#: Squared kernel size of each op's conv (0 for the parameter-free max-pool).
_KERNEL_AREA: dict[str, int] = {CONV3X3: 9, CONV1X1: 1, MAXPOOL3X3: 0}
_CACHE_SIZE = 1 << 16


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a positive int, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be a positive int (>= 1), got {value!r}")
    return int(value)


@dataclass(frozen=True)
class NetworkOptions:
    """Size options of the NB101 network (defaults: the NB101 / EC-NAS CIFAR-10 network).

    Args:
        stem_channels: output channels of the stem conv3x3, also the channels of the first stack.
        num_stacks: number of stacks; each stack after the first halves the resolution (max-pool 2x2)
            and doubles the channels.
        cells_per_stack: cells in each stack.
        num_classes: outputs of the dense head.
        in_channels: channels of the input images (3 for CIFAR-10, 1 for grey images).

    Raises:
        ValueError: an option is not a positive int.
    """

    stem_channels: int = 128
    num_stacks: int = 3
    cells_per_stack: int = 3
    num_classes: int = 10
    in_channels: int = 3

    def __post_init__(self) -> None:
        for name in ("stem_channels", "num_stacks", "cells_per_stack", "num_classes", "in_channels"):
            object.__setattr__(self, name, _check_positive_int(name, getattr(self, name)))

    def cell_channels(self) -> list[tuple[int, int]]:
        """`(C_in, C_out)` of every cell of the network, in order (stack by stack)."""
        pairs = []
        channels = self.stem_channels
        for stack in range(self.num_stacks):
            previous = channels
            if stack > 0:
                channels *= 2
            for cell in range(self.cells_per_stack):
                pairs.append((previous if cell == 0 else channels, channels))
        return pairs

    def output_channels(self) -> int:
        """Channels entering the dense head: ``stem_channels * 2 ** (num_stacks - 1)``."""
        return self.stem_channels * 2 ** (self.num_stacks - 1)

    def fixed_parameters(self) -> int:
        """Trainable parameters outside the cells: stem conv3x3 + BN and the dense head with bias."""
        stem = 9 * self.in_channels * self.stem_channels + 2 * self.stem_channels
        head = self.output_channels() * self.num_classes + self.num_classes
        return stem + head


def vertex_channels(matrix: Any, in_channels: int, out_channels: int) -> list[int]:
    """Channels of every vertex of a pruned cell, as NB101's ``compute_vertex_channels``.

    The `k` interior vertices feeding the output get ``out_channels // k`` channels each, the first
    ``out_channels % k`` of them (in vertex order) one more; every other interior vertex, from the
    highest index down, gets the max of its interior successors' channels.

    Args:
        matrix: `V x V` upper-triangular 0/1 adjacency of a pruned cell (e.g. ``CellSpec.matrix``).
        in_channels: channels of the cell input (vertex 0).
        out_channels: channels of the cell output (vertex V-1).

    Returns:
        `V` channel counts; vertex 0 is ``in_channels``, vertex V-1 is ``out_channels``.

    Raises:
        ValueError: ``out_channels`` is smaller than the number of interior vertices feeding the output
            (some vertex would get 0 channels).
    """
    rows = np.asarray(matrix).tolist()
    return _vertex_channels(rows, int(in_channels), int(out_channels))


def _vertex_channels(rows: list[list[int]], in_channels: int, out_channels: int) -> list[int]:
    num_vertices = len(rows)
    last = num_vertices - 1
    channels = [0] * num_vertices
    channels[0] = in_channels
    channels[last] = out_channels
    if num_vertices == 2:
        return channels
    feeding = [v for v in range(1, last) if rows[v][last]]
    if out_channels < len(feeding):
        raise ValueError(
            f"out_channels={out_channels} is too small for a cell whose output has {len(feeding)} interior "
            f"inputs: each needs at least one channel (use at least {len(feeding)} channels)"
        )
    base, remainder = divmod(out_channels, len(feeding))
    for rank, v in enumerate(feeding):
        channels[v] = base + 1 if rank < remainder else base
    for v in range(last - 2, 0, -1):
        if not rows[v][last]:
            row = rows[v]
            channels[v] = max((channels[w] for w in range(v + 1, last) if row[w]), default=0)
    return channels


@dataclass(frozen=True)
class VertexPlan:
    """Wiring of one interior vertex of a cell, as the network builds it.

    Attributes:
        index: vertex index in the pruned cell.
        op: op name.
        channels: channels of the vertex.
        interior_inputs: interior predecessors (vertex indices, ascending), summed after truncation.
        from_input: whether the cell input feeds the vertex (through a conv1x1 projection).
    """

    index: int
    op: str
    channels: int
    interior_inputs: tuple[int, ...]
    from_input: bool


@dataclass(frozen=True)
class CellPlan:
    """Wiring of one cell: interior vertices in order, what feeds the output.

    Attributes:
        in_channels: channels of the cell input.
        out_channels: channels of the cell output.
        vertices: one :class:`VertexPlan` per interior vertex, in vertex order.
        output_inputs: interior vertices concatenated into the output (ascending).
        input_to_output: whether the input feeds the output (projected and added; the whole cell when
            no interior vertex feeds the output).
    """

    in_channels: int
    out_channels: int
    vertices: tuple[VertexPlan, ...]
    output_inputs: tuple[int, ...]
    input_to_output: bool

    def num_parameters(self) -> int:
        """Trainable parameters of the cell (projections and conv ops, each conv with a BN)."""
        total = 0
        for vertex in self.vertices:
            c = vertex.channels
            if vertex.from_input:
                total += self.in_channels * c + 2 * c
            area = _KERNEL_AREA[vertex.op]
            if area:
                total += area * c * c + 2 * c
        if self.input_to_output:
            total += self.in_channels * self.out_channels + 2 * self.out_channels
        return total


def cell_channel_plan(matrix: Any, ops: Any, in_channels: int, out_channels: int) -> CellPlan:
    """Per-vertex wiring and channels of one cell (what :class:`ecnas.spaces.nb101.network.NB101Network` builds).

    Args:
        matrix: `V x V` adjacency of a pruned cell (``CellSpec.matrix``).
        ops: `V` op names (``CellSpec.ops``).
        in_channels: channels of the cell input.
        out_channels: channels of the cell output.

    Returns:
        The :class:`CellPlan` of the cell.
    """
    rows = np.asarray(matrix).tolist()
    ops = tuple(ops)
    channels = _vertex_channels(rows, int(in_channels), int(out_channels))
    last = len(rows) - 1
    vertices = tuple(
        VertexPlan(
            index=v,
            op=ops[v],
            channels=channels[v],
            interior_inputs=tuple(w for w in range(1, v) if rows[w][v]),
            from_input=bool(rows[0][v]),
        )
        for v in range(1, last)
    )
    return CellPlan(
        in_channels=int(in_channels),
        out_channels=int(out_channels),
        vertices=vertices,
        output_inputs=tuple(v for v in range(1, last) if rows[v][last]),
        input_to_output=bool(rows[0][last]),
    )


@lru_cache(maxsize=256, typed=True)
def _options(
    stem_channels: Any, num_stacks: Any, cells_per_stack: Any, num_classes: Any, in_channels: Any
) -> NetworkOptions:
    # typed=True: True and 1 are different keys, so a bool still reaches the validation.
    return NetworkOptions(stem_channels, num_stacks, cells_per_stack, num_classes, in_channels)


@lru_cache(maxsize=256)
def _layout(options: NetworkOptions) -> tuple[int, tuple[tuple[int, int, int], ...]]:
    """Parameters outside the cells, and per distinct cell output width `(C_out, cells, sum of C_in)`.

    A cell's parameters are ``a(C_out) + C_in * b(C_out)``: channels depend on C_out only and C_in
    enters the projections linearly, so cells sharing C_out are summed through these two numbers.
    """
    widths: dict[int, list[int]] = {}
    for c_in, c_out in options.cell_channels():
        totals = widths.setdefault(c_out, [0, 0])
        totals[0] += 1
        totals[1] += c_in
    return options.fixed_parameters(), tuple((c_out, n, c_in_sum) for c_out, (n, c_in_sum) in widths.items())


def _cell_coefficients(rows: list[list[int]], areas: list[int], c_out: int) -> tuple[int, int]:
    """`(a, b)` with a cell's trainable parameters ``a + C_in * b`` (see :meth:`CellPlan.num_parameters`)."""
    last = len(rows) - 1
    channels = _vertex_channels(rows, 0, c_out)
    first = rows[0]
    a = b = 0
    if first[last]:  # projection C_in -> C_out (conv 1x1 + BN)
        a, b = 2 * c_out, c_out
    for v in range(1, last):
        c = channels[v]
        if first[v]:  # projection C_in -> c
            a += 2 * c
            b += c
        if areas[v]:  # conv k x k (c -> c) + BN
            a += (areas[v] * c + 2) * c
    return a, b


@lru_cache(maxsize=_CACHE_SIZE)
def _count_cached(matrix_bytes: bytes, num_vertices: int, ops: tuple[str, ...], options: NetworkOptions) -> int:
    flat = list(matrix_bytes)
    rows = [flat[i * num_vertices : (i + 1) * num_vertices] for i in range(num_vertices)]
    areas = [_KERNEL_AREA.get(op, 0) for op in ops]
    total, widths = _layout(options)
    for c_out, cells, c_in_sum in widths:
        a, b = _cell_coefficients(rows, areas, c_out)
        total += cells * a + c_in_sum * b
    return total


def as_cell_spec(spec: Any) -> CellSpec:
    """``spec`` itself if it is a CellSpec; otherwise a TypeError saying how to build one."""
    from ecnas.spaces.nb101.cells import CellSpec

    if not isinstance(spec, CellSpec):
        raise TypeError(
            f"spec must be an ecnas.CellSpec, got {type(spec).__name__}; build one with ecnas.CellSpec(matrix, ops)"
        )
    return spec


def count_parameters(
    spec: CellSpec,
    stem_channels: int = 128,
    num_stacks: int = 3,
    cells_per_stack: int = 3,
    num_classes: int = 10,
    in_channels: int = 3,
) -> int:
    """Trainable parameters of the NB101 network built from ``spec`` (pure arithmetic, memoised).

    Equals ``sum(p.numel() for p in NB101Network(spec, ...).parameters() if p.requires_grad)`` and the
    ``trainable_parameters`` NB101 and EC-NAS report (e.g. 882,570 for the 2-vertex cell).

    Args:
        spec: the cell.
        stem_channels: channels of the stem and the first stack.
        num_stacks: number of stacks (channels double and resolution halves before each after the first).
        cells_per_stack: cells per stack.
        num_classes: outputs of the dense head.
        in_channels: image channels.

    Returns:
        The number of trainable parameters.

    Raises:
        TypeError: ``spec`` is not a :class:`~ecnas.spaces.nb101.cells.CellSpec`.
        ValueError: an option is not a positive int, or ``stem_channels`` is smaller than the number of
            interior vertices feeding the cell output.
    """
    spec = as_cell_spec(spec)
    try:
        options = _options(stem_channels, num_stacks, cells_per_stack, num_classes, in_channels)
    except TypeError:  # an unhashable option: validate without the memo (raises ValueError)
        options = NetworkOptions(stem_channels, num_stacks, cells_per_stack, num_classes, in_channels)
    matrix = spec.matrix
    try:
        return _count_cached(matrix.tobytes(), matrix.shape[0], spec.ops, options)
    except ValueError as error:
        raise ValueError(f"stem_channels={stem_channels} is too small for cell {spec.hash}: {error}") from None


def _to_seven_vertices(matrices: np.ndarray, op_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move each cell's output vertex to index 6; padding vertices become isolated and op-less.

    Isolated vertices between the interior vertices and the output get no channels and no
    parameters, and the interior vertex order is kept, so the channel allocation is unchanged.
    """
    output_code = FEATURE_OP_CODES[OUTPUT]
    input_code = FEATURE_OP_CODES[INPUT]
    interior_codes = [FEATURE_OP_CODES[op] for op in (CONV3X3, CONV1X1, MAXPOOL3X3)]
    outputs = (op_codes == output_code).sum(axis=1)
    if np.any(outputs != 1):
        bad = int(np.flatnonzero(outputs != 1)[0])
        raise ValueError(f"op_codes row {bad} must hold exactly one output code ({output_code}), got {op_codes[bad]}")
    if np.any(op_codes[:, 0] != input_code):
        bad = int(np.flatnonzero(op_codes[:, 0] != input_code)[0])
        raise ValueError(f"op_codes row {bad} must start with the input code ({input_code}), got {op_codes[bad]}")
    last = np.argmax(op_codes == output_code, axis=1)
    positions = np.arange(MAX_VERTICES)[None, :]
    interior = (positions > 0) & (positions < last[:, None])
    padding = positions > last[:, None]
    if np.any(interior & ~np.isin(op_codes, interior_codes)) or np.any(padding & (op_codes != 0)):
        bad = int(
            np.flatnonzero(
                np.any(interior & ~np.isin(op_codes, interior_codes), axis=1)
                | np.any(padding & (op_codes != 0), axis=1)
            )[0]
        )
        raise ValueError(
            f"op_codes row {bad} must be input, interior codes {interior_codes}, output, then 0 padding; "
            f"got {op_codes[bad]}"
        )
    outside = padding[:, :, None] | padding[:, None, :]
    if np.any(outside & (matrices != 0)):
        bad = int(np.flatnonzero(np.any(outside & (matrices != 0), axis=(1, 2)))[0])
        raise ValueError(f"matrices row {bad} has edges to or from padding vertices (after the output vertex)")
    count = matrices.shape[0]
    out = np.zeros((count, MAX_VERTICES, MAX_VERTICES), dtype=np.int8)
    codes = np.zeros((count, MAX_VERTICES), dtype=np.int64)
    for output in np.unique(last):
        rows = np.flatnonzero(last == output)
        block = matrices[rows].astype(np.int8)
        out[rows[:, None, None], np.arange(output)[None, :, None], np.arange(output)[None, None, :]] = block[
            :, :output, :output
        ]
        out[rows, :output, MAX_VERTICES - 1] = block[:, :output, output]
        codes[rows, :output] = op_codes[rows, :output]
        codes[rows, MAX_VERTICES - 1] = output_code
    return out, codes


def count_parameters_many(
    matrices: Any,
    op_codes: Any,
    stem_channels: int = 128,
    num_stacks: int = 3,
    cells_per_stack: int = 3,
    num_classes: int = 10,
    in_channels: int = 3,
) -> np.ndarray:
    """Vectorised :func:`count_parameters` over zero-padded pruned cells.

    Args:
        matrices: `N x 7 x 7` 0/1 adjacency of pruned cells, each zero-padded (the layout of
            ``EnumeratedSpace.matrices`` and ``TableContents.matrices``).
        op_codes: `N x 7` op codes (:data:`~ecnas.spaces.nb101.cells.FEATURE_OP_CODES`, 0 = padding).
        stem_channels: see :func:`count_parameters`.
        num_stacks: see :func:`count_parameters`.
        cells_per_stack: see :func:`count_parameters`.
        num_classes: see :func:`count_parameters`.
        in_channels: see :func:`count_parameters`.

    Returns:
        int64 `N` array of trainable parameters.

    Raises:
        ValueError: bad shapes or op codes, an option is not a positive int, or ``stem_channels`` is
            smaller than the number of interior vertices feeding some cell's output.
    """
    options = NetworkOptions(stem_channels, num_stacks, cells_per_stack, num_classes, in_channels)
    matrices = np.asarray(matrices)
    op_codes = np.asarray(op_codes)
    if matrices.ndim != 3 or matrices.shape[1:] != (MAX_VERTICES, MAX_VERTICES):
        raise ValueError(f"matrices must have shape (N, 7, 7), got {matrices.shape}")
    if op_codes.shape != matrices.shape[:2]:
        raise ValueError(f"op_codes must have shape {matrices.shape[:2]} to match matrices, got {op_codes.shape}")
    if matrices.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    lower = np.tril_indices(MAX_VERTICES)
    if np.any((matrices != 0) & (matrices != 1)) or np.any(matrices[:, lower[0], lower[1]]):
        raise ValueError("matrices must hold strictly upper-triangular 0/1 adjacency of pruned cells")
    adjacency, codes = _to_seven_vertices(matrices, op_codes)
    last = MAX_VERTICES - 1
    interior = range(1, last)
    real = codes[:, 1:last] != 0
    dangling = real & ((adjacency[:, :, 1:last].sum(axis=1) == 0) | (adjacency[:, 1:last, :].sum(axis=2) == 0))
    if np.any(dangling):
        bad = int(np.flatnonzero(dangling.any(axis=1))[0])
        raise ValueError(
            f"matrices row {bad} is not a pruned cell: an interior vertex lacks a predecessor or a successor "
            "(prune it with ecnas.CellSpec first)"
        )
    feeds = adjacency[:, 1:last, last]  # N x 5: interior vertex feeds the output
    fan_in = feeds.sum(axis=1)
    area = np.zeros_like(codes)
    area[codes == FEATURE_OP_CODES[CONV3X3]] = 9
    area[codes == FEATURE_OP_CODES[CONV1X1]] = 1
    has_bn = (area > 0).astype(np.int64)
    # Rank of each output-feeding vertex among the output-feeding vertices, in vertex order.
    rank = np.cumsum(feeds, axis=1) - feeds
    if np.any(fan_in > options.stem_channels):
        raise ValueError(
            f"stem_channels={options.stem_channels} is too small: some cells have {int(fan_in.max())} interior "
            f"vertices feeding their output and each needs at least one channel"
        )
    safe_fan_in = np.maximum(fan_in, 1)
    from_input = adjacency[:, 0, :].astype(np.int64)
    fixed, widths = _layout(options)
    total = np.full(matrices.shape[0], fixed, dtype=np.int64)
    for c_out, cells, c_in_sum in widths:
        base = c_out // safe_fan_in
        remainder = c_out % safe_fan_in
        channels = np.zeros((matrices.shape[0], MAX_VERTICES), dtype=np.int64)
        channels[:, 1:last] = np.where(feeds == 1, base[:, None] + (rank < remainder[:, None]), 0)
        for v in range(last - 2, 0, -1):
            successors = adjacency[:, v, v + 1 : last] * channels[:, v + 1 : last]
            channels[:, v] = np.where(feeds[:, v - 1] == 1, channels[:, v], successors.max(axis=1))
        # A cell has a + C_in * b parameters (see _cell_coefficients).
        a = from_input[:, last] * (2 * c_out)
        b = from_input[:, last] * c_out
        for v in interior:
            c = channels[:, v]
            a += from_input[:, v] * 2 * c + (area[:, v] * c + 2 * has_bn[:, v]) * c
            b += from_input[:, v] * c
        total += cells * a + c_in_sum * b
    return total
