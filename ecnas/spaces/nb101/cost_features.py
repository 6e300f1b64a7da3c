"""Compute-cost features of the whole NB101 network for energy surrogates: MACs, activations, kernels.

Training energy is what the network computes, not how its cell is drawn: two cells whose vertices
compute the same convolutions at the same widths cost the same, whatever their wiring looks like in
the adjacency matrix. The features here describe the cost of the network built from a cell (NB101's
stem, 3 stacks of 3 cells at 32, 16 and 8 pixels square with 128, 256 and 512 channels, the channel
allocation of :mod:`ecnas.spaces.nb101.channels`, the conv1x1 projections of the cell input), per
image and forward pass; everything outside the cells (stem, down-sampling, head) is the same for every
cell and left out:

- **MACs** (multiply-accumulates, in 1e9) of the 3x3 convolutions, of the 1x1 convolutions and of the
  input projections (the conv1x1 of the cell input into an interior vertex, and into the output when
  the input feeds it);
- **activations** (elements written, in 1e6) by the conv ops (conv + batch norm + ReLU), by the
  projections, by the max-pools, by the sums of a vertex's inputs (one element per added tensor
  beyond the first, and the output's sum with its projection), by the concatenation at the output
  (when more than one vertex feeds it) and by the truncation of a wider input to a vertex's width;
- **kernels** per cell (counts over the 9 cells, divided by 9): convolutions (ops and projections),
  max-pools, sums, concatenations, truncations. Small convolutions on a GPU are launch-bound: the count
  matters beside the arithmetic.

:data:`COST_FEATURE_NAMES` lists them in column order. The units keep every column O(1), so a network
can take them unscaled. On EC-NAS's 3,448 measured 7-vertex cells an MLP on these 14 columns alone
predicts the 4-epoch training energy better than on the 36 EC-NAS features plus the graph features
(``benchmarks/bench_surrogate.py``, config ``cost``; figures in ``docs/surrogate.md``).

All vectorised over zero-padded `N x 7 x 7` matrices and `N x 7` op codes (the table layout).
"""

from __future__ import annotations

import numpy as np

from ecnas.spaces.nb101.cells import CONV1X1, CONV3X3, FEATURE_OP_CODES, MAX_VERTICES, MAXPOOL3X3
from ecnas.spaces.nb101.channels import NetworkOptions, _to_seven_vertices
from ecnas.spaces.nb101.graph_features import _vertex_channels

__all__ = ["COST_FEATURE_NAMES", "NUM_COST_FEATURES", "cost_features", "network_cells"]

#: Name of every cost feature, in column order.
COST_FEATURE_NAMES: tuple[str, ...] = (
    "gmac_conv3x3", "gmac_conv1x1", "gmac_projections",
    "mact_conv", "mact_projections", "mact_maxpool", "mact_sums", "mact_concat", "mact_truncation",
    "kernels_conv", "kernels_maxpool", "kernels_sums", "kernels_concat", "kernels_truncation",
)  # fmt: skip
#: Width of :func:`cost_features` rows.
NUM_COST_FEATURES = len(COST_FEATURE_NAMES)
_MACS, _ELEMENTS = 1e9, 1e6
#: Image side of the NB101 network's input (CIFAR-10).
_IMAGE_SIDE = 32


def network_cells(options: NetworkOptions | None = None, image_side: int = _IMAGE_SIDE) -> list[tuple[int, int, int]]:
    """`(C_in, C_out, pixels)` of every cell of the network, in order.

    Each stack after the first halves the image side (NB101's 2x2 max-pool, "same" padding: ceil).

    Args:
        options: the network (default: NB101's).
        image_side: side of the square input image in pixels.

    Returns:
        One triple per cell: input channels, output channels, pixels of its feature maps.
    """
    options = NetworkOptions() if options is None else options
    cells = []
    for index, (c_in, c_out) in enumerate(options.cell_channels()):
        stack = index // options.cells_per_stack
        side = image_side
        for _ in range(stack):
            side = -(-side // 2)
        cells.append((c_in, c_out, side * side))
    return cells


def cost_features(matrices: np.ndarray, op_codes: np.ndarray, *, options: NetworkOptions | None = None) -> np.ndarray:
    """`N x 14` compute-cost features (:data:`COST_FEATURE_NAMES`) of the networks of zero-padded pruned cells.

    Args:
        matrices: `N x 7 x 7` 0/1 adjacency, zero-padded (table layout).
        op_codes: `N x 7` :data:`~ecnas.spaces.nb101.cells.FEATURE_OP_CODES` (0 = padding).
        options: the network (default: NB101's 128-channel, 3 x 3-cell CIFAR-10 network).

    Returns:
        float64 `N x 14` array: MACs in 1e9, activation elements in 1e6 (per image, forward pass),
        kernels per cell.

    Raises:
        ValueError: bad shapes or op codes (as :func:`~ecnas.spaces.nb101.channels.count_parameters_many`).
    """
    matrices = np.asarray(matrices)
    op_codes = np.asarray(op_codes)
    if matrices.ndim != 3 or matrices.shape[1:] != (MAX_VERTICES, MAX_VERTICES) or op_codes.shape != matrices.shape[:2]:
        raise ValueError(f"matrices must be (N, 7, 7) and op_codes (N, 7), got {matrices.shape} and {op_codes.shape}")
    n = len(matrices)
    if n == 0:
        return np.empty((0, NUM_COST_FEATURES))
    options = NetworkOptions() if options is None else options
    adjacency, codes = _to_seven_vertices(matrices, op_codes)
    adjacency = adjacency.astype(np.int64)
    last = MAX_VERTICES - 1
    inner = slice(1, last)
    conv3 = (codes == FEATURE_OP_CODES[CONV3X3])[:, inner]
    conv1 = (codes == FEATURE_OP_CODES[CONV1X1])[:, inner]
    pool = (codes == FEATURE_OP_CODES[MAXPOOL3X3])[:, inner]
    from_input = adjacency[:, 0, inner]  # N x 5: projection of the cell input into the vertex
    io = adjacency[:, 0, last]  # the input feeds the output: a projection to C_out
    feeds = adjacency[:, inner, last]
    concat = feeds.sum(axis=1) > 1
    interior_edges = adjacency[:, inner, inner]  # N x 5 x 5: interior source -> interior target
    real = codes[:, inner] != 0
    summed = np.where(real, interior_edges.sum(axis=1) + from_input - 1, 0)  # tensors added beyond the first
    sums_out = io * (feeds.sum(axis=1) > 0)
    f = np.zeros((n, NUM_COST_FEATURES))
    cells = network_cells(options)
    for c_out in sorted({c_out for _, c_out, _ in cells}):
        c = _vertex_channels(adjacency, feeds, c_out)[:, inner].astype(np.float64)
        truncated = interior_edges * (c[:, :, None] > c[:, None, :])  # wider source cut to the target's width
        for c_in, _, pixels in (cell for cell in cells if cell[1] == c_out):
            f[:, 0] += (9 * conv3 * c * c).sum(axis=1) * pixels
            f[:, 1] += (conv1 * c * c).sum(axis=1) * pixels
            f[:, 2] += ((from_input * c).sum(axis=1) + io * c_out) * c_in * pixels
            f[:, 3] += ((conv3 | conv1) * c).sum(axis=1) * pixels
            f[:, 4] += ((from_input * c).sum(axis=1) + io * c_out) * pixels
            f[:, 5] += (pool * c).sum(axis=1) * pixels
            f[:, 6] += ((summed * c).sum(axis=1) + sums_out * c_out) * pixels
            f[:, 7] += concat * c_out * pixels
            f[:, 8] += (truncated.sum(axis=1) * c).sum(axis=1) * pixels
            f[:, 9] += (conv3 | conv1).sum(axis=1) + from_input.sum(axis=1) + io
            f[:, 10] += pool.sum(axis=1)
            f[:, 11] += summed.sum(axis=1) + sums_out
            f[:, 12] += concat
            f[:, 13] += truncated.sum(axis=(1, 2))
    f[:, :3] /= _MACS
    f[:, 3:9] /= _ELEMENTS
    f[:, 9:] /= len(cells)
    return f
