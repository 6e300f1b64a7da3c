"""The "derived features" view of NB101: what a researcher asks about rather than the 21 + 5 raw switches.

The ConfigSpace view scores each ``edge_k`` / ``op_node_k`` of the padded 7-vertex layout, which answers "does
edge 3 matter" — rarely the question. This view describes each (pruned) cell by

- ``num_vertices``: vertices after pruning, input and output included;
- ``num_edges``: edges after pruning;
- ``num_conv3x3``, ``num_conv1x1``, ``num_maxpool3x3``: how many interior vertices carry each op;
- ``depth``: edges on the longest input → output path;
- ``input_degree``: edges leaving the input (how many branches read the cell's input directly);

and runs the same fANOVA on them, each uniform over ``[min - 0.5, max + 0.5]`` of the analysed rows.
These features are correlated (more vertices allow more edges) and their box contains combinations no cell
has; the forest extrapolates there, so read this view as "which summary the response follows", and check it
against the ConfigSpace view.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ecnas.importance._design import Design, numeric_design

__all__ = ["NB101_DERIVED", "derived_design"]

#: Names of the NB101 derived features, in column order.
NB101_DERIVED: tuple[str, ...] = (
    "num_vertices",
    "num_edges",
    "num_conv3x3",
    "num_conv1x1",
    "num_maxpool3x3",
    "depth",
    "input_degree",
)


def _longest_path(matrix: np.ndarray) -> int:
    """Edges on the longest path from vertex 0 to the last vertex of an upper-triangular DAG."""
    n = matrix.shape[0]
    best = np.full(n, -1)
    best[0] = 0
    for v in range(1, n):
        sources = np.flatnonzero(matrix[:v, v])
        reachable = sources[best[sources] >= 0]
        if reachable.size:
            best[v] = int(best[reachable].max()) + 1
    return int(best[-1])


def _row(cell: Any) -> list[float]:
    matrix = np.asarray(cell.matrix)
    ops = list(cell.ops)
    return [
        float(cell.num_vertices),
        float(cell.num_edges),
        float(ops.count("conv3x3-bn-relu")),
        float(ops.count("conv1x1-bn-relu")),
        float(ops.count("maxpool3x3")),
        float(_longest_path(matrix)),
        float(matrix[0].sum()),
    ]


def derived_design(space: Any, configs: Sequence[Any]) -> Design:
    """The derived-feature :class:`Design` of ``configs`` (validated configs of ``space``).

    Raises:
        ValueError: the space has no derived view (only ``nb101`` has one).
    """
    if getattr(space, "name", "") != "nb101":
        raise ValueError(
            f"the 'derived' view is defined for the nb101 space only, not {getattr(space, 'name', space)!r}; "
            "use view='configspace'"
        )
    return numeric_design(NB101_DERIVED, np.array([_row(cell) for cell in configs], dtype=np.float64))
