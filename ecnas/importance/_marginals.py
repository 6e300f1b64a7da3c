"""Exact marginals of one regression tree over a box, for main effects and pairs (the fANOVA definitions).

A fitted tree is piecewise constant: leaf ``k`` predicts ``v_k`` on a box ``B_k``. With every input uniform on
its bounds, the marginal of a subset ``S`` of inputs (the others averaged out) is

    f_S(x_S) = sum_k v_k * [x_S in B_k|S] * prod_{d not in S} |B_k,d| / |bounds_d|,

constant on the grid that the tree's split thresholds on ``S`` cut the ``S``-box into. Its variance over that
grid (cells weighted by their volume) is ``Var(f_S)``; for a pair, the pure interaction is
``V_ab = Var(f_ab) - Var(f_a) - Var(f_b)`` (Hutter et al., 2014, Eq. 1-3). Leaves are added onto the grid with a
difference array, so a pair costs ``O(leaves + grid)`` instead of one tree walk per grid cell (optuna's
``_FanovaTree.get_marginal_variance`` on two continuous inputs walks the tree once per cell, which is too slow
for pairs). ecnas computes main effects with optuna and pairs here; the tests check both agree on main
effects and against brute-force enumeration.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["TreeBoxes"]


class TreeBoxes:
    """The leaves of one sklearn tree as boxes clipped to ``bounds``.

    Args:
        tree: a fitted ``sklearn.tree._tree.Tree`` (``estimator.tree_``), single output.
        bounds: `d x 2` box of the inputs (uniform on each side).
    """

    def __init__(self, tree: Any, bounds: np.ndarray) -> None:
        bounds = np.asarray(bounds, dtype=np.float64)
        feature = np.asarray(tree.feature)
        threshold = np.asarray(tree.threshold)
        left, right = np.asarray(tree.children_left), np.asarray(tree.children_right)
        value = np.asarray(tree.value)[:, 0, 0].astype(np.float64)
        n_nodes = feature.size
        low = np.empty((n_nodes, bounds.shape[0]))
        high = np.empty((n_nodes, bounds.shape[0]))
        low[0], high[0] = bounds[:, 0], bounds[:, 1]
        # sklearn numbers children after their parent, so one forward pass fills every box.
        for node in range(n_nodes):
            f = feature[node]
            if f < 0:
                continue
            cut = min(max(threshold[node], low[node, f]), high[node, f])
            for child, is_left in ((left[node], True), (right[node], False)):
                low[child], high[child] = low[node], high[node]
                if is_left:
                    high[child, f] = cut
                else:
                    low[child, f] = cut
        leaves = feature < 0
        self.bounds = bounds
        self.low, self.high = low[leaves], high[leaves]
        self.value = value[leaves]
        width = bounds[:, 1] - bounds[:, 0]
        self.fraction = (self.high - self.low) / width  # per leaf and input: share of the input's range
        self.volume = np.prod(self.fraction, axis=1)
        self.thresholds = [np.unique(threshold[feature == d]) for d in range(bounds.shape[0])]
        self._main: dict[int, float] = {}

    @property
    def mean(self) -> float:
        """Mean prediction over the box."""
        return float(np.sum(self.volume * self.value))

    @property
    def variance(self) -> float:
        """Total variance of the tree's prediction over the box."""
        mean = self.mean
        return float(np.sum(self.volume * (self.value - mean) ** 2))

    def _grid(self, d: int) -> np.ndarray:
        lo, hi = self.bounds[d]
        inner = self.thresholds[d][(self.thresholds[d] > lo) & (self.thresholds[d] < hi)]
        return np.concatenate(([lo], inner, [hi]))

    def _cells(self, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Grid edges of input ``d``, cell shares of its range, and each leaf's ``[start, stop)`` cell range."""
        edges = self._grid(d)
        share = np.diff(edges) / (edges[-1] - edges[0])
        start = np.searchsorted(edges, self.low[:, d], side="left")
        stop = np.searchsorted(edges, self.high[:, d], side="left")
        return edges, share, np.stack([start, stop], axis=1)

    def marginal_variance(self, inputs: tuple[int, ...]) -> float:
        """``Var(f_S)`` for ``S = inputs`` (one or two input indices)."""
        others = np.ones(self.value.size)
        for d in range(self.bounds.shape[0]):
            if d not in inputs:
                others = others * self.fraction[:, d]
        contribution = self.value * others
        if len(inputs) == 1:
            _, share, span = self._cells(inputs[0])
            diff = np.zeros(share.size + 1)
            np.add.at(diff, span[:, 0], contribution)
            np.add.at(diff, span[:, 1], -contribution)
            marginal = np.cumsum(diff)[:-1]
            weights = share
        elif len(inputs) == 2:
            _, share_a, span_a = self._cells(inputs[0])
            _, share_b, span_b = self._cells(inputs[1])
            diff = np.zeros((share_a.size + 1, share_b.size + 1))
            np.add.at(diff, (span_a[:, 0], span_b[:, 0]), contribution)
            np.add.at(diff, (span_a[:, 1], span_b[:, 0]), -contribution)
            np.add.at(diff, (span_a[:, 0], span_b[:, 1]), -contribution)
            np.add.at(diff, (span_a[:, 1], span_b[:, 1]), contribution)
            marginal = np.cumsum(np.cumsum(diff, axis=0), axis=1)[:-1, :-1].ravel()
            weights = np.outer(share_a, share_b).ravel()
        else:
            raise ValueError(f"inputs must name one or two inputs, got {inputs!r}")
        mean = float(np.sum(weights * marginal))
        return float(np.sum(weights * (marginal - mean) ** 2))

    def interaction_variance(self, a: int, b: int) -> float:
        """Pure pairwise interaction ``Var(f_ab) - Var(f_a) - Var(f_b)`` (clipped at 0 against rounding)."""
        for d in (a, b):
            if d not in self._main:
                self._main[d] = self.marginal_variance((d,))
        joint = self.marginal_variance((a, b))
        return max(joint - self._main[a] - self._main[b], 0.0)
