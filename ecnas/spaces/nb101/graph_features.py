"""Graph features of NB101 cells for surrogates: path encoding, ops per depth, channels, log parameters.

EC-NAS's 36 features (:func:`~ecnas.spaces.nb101.cells.encode_features`) give a model the raw adjacency
and op codes and leave it to learn what they mean. The features here state it, as the NAS-surrogate
literature does for cell graphs:

- **path encoding** (BANANAS, White et al. 2021): for each of the 3^0 + ... + 3^5 = 364 op sequences
  an input→output path can carry, how many of the cell's paths carry it;
- **ops per depth**: interior vertices of each op at each depth (longest path from the input, 1-5);
- **channels** (what the network computes, from :mod:`ecnas.spaces.nb101.channels`, 128 output
  channels as in the first stack): channels of each op, a convolution cost proxy (Σ kernel area ×
  channels²), input projections and their channels, interior vertices feeding the output;
- **size**: interior vertices, edges, depth, op counts and the natural log of the parameter count in millions.

Channel features are in units of 128 channels and the convolution cost in units of one 3x3 convolution
at 128 channels, so every column is O(1) and a network can take them unscaled.

All vectorised over zero-padded `N x 7 x 7` matrices and `N x 7` op codes (the table layout): the
423,624 cells of the space take a few seconds.
"""

from __future__ import annotations

import itertools

import numpy as np

from ecnas.spaces.nb101.cells import CONV1X1, CONV3X3, FEATURE_OP_CODES, MAX_VERTICES, MAXPOOL3X3
from ecnas.spaces.nb101.channels import _to_seven_vertices

__all__ = ["GRAPH_FEATURE_NAMES", "NUM_GRAPH_FEATURES", "NUM_SUMMARY_FEATURES", "graph_features"]

_OPS = (CONV1X1, CONV3X3, MAXPOOL3X3)
_OP_CODES = tuple(FEATURE_OP_CODES[op] for op in _OPS)
_KERNEL_AREA = {CONV1X1: 1, CONV3X3: 9, MAXPOOL3X3: 0}
_INTERIOR = tuple(range(1, MAX_VERTICES - 1))
#: Every ordered subset of interior vertices: a candidate input→output path through them.
_PATHS = tuple(s for r in range(len(_INTERIOR) + 1) for s in itertools.combinations(_INTERIOR, r))
#: Offset of the path codes of length L: sum of 3**l for l < L.
_LENGTH_OFFSET = tuple(sum(3**length for length in range(k)) for k in range(len(_INTERIOR) + 2))
_NUM_PATH_CODES = _LENGTH_OFFSET[len(_INTERIOR) + 1]  # 364
_CHANNELS = 128


def _names() -> tuple[str, ...]:
    names = ["log_parameters", "interior_vertices", "edges", "depth"]
    names += [f"count_{op}" for op in _OPS]
    names += [f"depth{d}_{op}" for d in range(1, len(_INTERIOR) + 1) for op in _OPS]
    names += [f"channels_{op}" for op in _OPS]
    names += ["conv_cost", "input_projections", "projection_channels", "output_inputs"]
    for length in range(len(_INTERIOR) + 1):
        names += ["path_" + ("-".join(seq) or "direct") for seq in itertools.product(("c1", "c3", "mp"), repeat=length)]
    return tuple(names)


#: Name of every graph feature, in column order.
GRAPH_FEATURE_NAMES: tuple[str, ...] = _names()
#: Width of :func:`graph_features` rows (4 + 3 + 15 + 3 + 4 + 364 = 393).
NUM_GRAPH_FEATURES = len(GRAPH_FEATURE_NAMES)
#: Width without the path encoding (the first 29 columns: size, ops per depth, channels).
NUM_SUMMARY_FEATURES = NUM_GRAPH_FEATURES - _NUM_PATH_CODES


def _vertex_channels(adjacency: np.ndarray, feeds: np.ndarray, out_channels: int = _CHANNELS) -> np.ndarray:
    """`N x 7` channels per interior vertex at ``out_channels`` (NB101's allocation, as ``count_parameters_many``)."""
    last = MAX_VERTICES - 1
    fan_in = np.maximum(feeds.sum(axis=1), 1)
    rank = np.cumsum(feeds, axis=1) - feeds
    base, remainder = out_channels // fan_in, out_channels % fan_in
    channels = np.zeros(adjacency.shape[:2], dtype=np.int64)
    channels[:, 1:last] = np.where(feeds == 1, base[:, None] + (rank < remainder[:, None]), 0)
    for v in range(last - 2, 0, -1):
        successors = adjacency[:, v, v + 1 : last] * channels[:, v + 1 : last]
        channels[:, v] = np.where(feeds[:, v - 1] == 1, channels[:, v], successors.max(axis=1))
    return channels


def graph_features(
    matrices: np.ndarray, op_codes: np.ndarray, parameters: np.ndarray, *, paths: bool = True
) -> np.ndarray:
    """`N x 393` graph features (:data:`GRAPH_FEATURE_NAMES`) of zero-padded pruned cells.

    Args:
        matrices: `N x 7 x 7` 0/1 adjacency, zero-padded (table layout).
        op_codes: `N x 7` :data:`~ecnas.spaces.nb101.cells.FEATURE_OP_CODES` (0 = padding).
        parameters: `N` trainable parameter counts (> 0).
        paths: include the 364 path-encoding columns (False: the first 29 columns only).

    Returns:
        float64 `N x 393` array (`N x 29` without paths).

    Raises:
        ValueError: bad shapes, op codes or matrices (as :func:`~ecnas.spaces.nb101.channels.count_parameters_many`).
    """
    matrices = np.asarray(matrices)
    op_codes = np.asarray(op_codes)
    counts = np.asarray(parameters, dtype=np.float64).reshape(-1)
    if matrices.ndim != 3 or matrices.shape[1:] != (MAX_VERTICES, MAX_VERTICES) or op_codes.shape != matrices.shape[:2]:
        raise ValueError(f"matrices must be (N, 7, 7) and op_codes (N, 7), got {matrices.shape} and {op_codes.shape}")
    if counts.shape != (len(matrices),) or not np.all(counts > 0):
        raise ValueError(f"parameters must hold {len(matrices)} positive counts, got shape {counts.shape}")
    n = len(matrices)
    width = NUM_GRAPH_FEATURES if paths else NUM_SUMMARY_FEATURES
    if n == 0:
        return np.empty((0, width))
    adjacency, codes = _to_seven_vertices(matrices, op_codes)
    adjacency = adjacency.astype(np.int64)
    last = MAX_VERTICES - 1
    is_op = np.stack([codes == code for code in _OP_CODES], axis=2)  # N x 7 x 3
    interior = codes[:, 1:last] != 0
    # depth: longest path (in edges) from the input; unreachable vertices stay at -inf
    depth = np.full((n, MAX_VERTICES), -(10**6), dtype=np.int64)
    depth[:, 0] = 0
    for v in range(1, MAX_VERTICES):
        incoming = np.where(adjacency[:, :v, v] == 1, depth[:, :v] + 1, -(10**6))
        depth[:, v] = incoming.max(axis=1)
    per_depth = [((depth[:, :, None] == d) & is_op).sum(axis=1) for d in range(1, len(_INTERIOR) + 1)]  # each N x 3
    feeds = adjacency[:, 1:last, last]
    channels = _vertex_channels(adjacency, feeds)
    area = np.zeros((n, MAX_VERTICES), dtype=np.int64)
    for op, code in zip(_OPS, _OP_CODES, strict=True):
        area[codes == code] = _KERNEL_AREA[op]
    from_input = adjacency[:, 0, 1:last]
    paths_count = np.zeros((n, _NUM_PATH_CODES))
    label = np.zeros((n, MAX_VERTICES), dtype=np.int64)
    for k, code in enumerate(_OP_CODES):
        label[codes == code] = k
    rows = np.arange(n)
    for subset in _PATHS if paths else ():
        chain = (0, *subset, last)
        exists = np.ones(n, dtype=bool)
        for a, b in itertools.pairwise(chain):
            exists &= adjacency[:, a, b] == 1
        index = np.full(n, _LENGTH_OFFSET[len(subset)], dtype=np.int64)
        for position, vertex in enumerate(subset):
            index += label[:, vertex] * 3 ** (len(subset) - 1 - position)
        np.add.at(paths_count, (rows[exists], index[exists]), 1.0)
    columns = [
        np.log(counts / 1e6)[:, None],
        interior.sum(axis=1)[:, None],
        adjacency.sum(axis=(1, 2))[:, None],
        depth[:, last][:, None],
        is_op.sum(axis=1),
        *per_depth,
        (is_op * channels[:, :, None]).sum(axis=1) / _CHANNELS,
        (area * channels**2).sum(axis=1)[:, None] / (9 * _CHANNELS**2),
        from_input.sum(axis=1)[:, None],
        (from_input * channels[:, 1:last]).sum(axis=1)[:, None] / _CHANNELS,
        feeds.sum(axis=1)[:, None],
        *([paths_count] if paths else []),
    ]
    return np.concatenate([np.asarray(c, dtype=np.float64).reshape(n, -1) for c in columns], axis=1)
