"""Functional ANOVA of one response over a :class:`~ecnas.importance.Design`, on a random forest.

The forest and each tree's marginal variances come from optuna's fANOVA (scikit-learn trees; see
:mod:`ecnas.importance._imports`). For every tree ``t`` with total variance ``V_t`` over the box:

- the **individual importance** of input ``i`` is ``V_i,t / V_t``, where ``V_i,t`` is the variance of the tree's
  marginal prediction ``f_i(x_i)`` (all other inputs averaged out over the box);
- the **pairwise importance** of ``(i, j)`` is the pure interaction ``V_ij,t / V_t`` with
  ``V_ij,t = Var(f_ij) - V_i,t - V_j,t`` — the fANOVA definition: the variance the pair explains beyond its two
  main effects, computed on the same fitted trees by :class:`~ecnas.importance._marginals.TreeBoxes`.

Reported numbers are the mean over trees with non-zero variance and the standard deviation over those trees
(the spread fANOVA reports). Pairs are computed among the ``top_pairs`` individually most important inputs only
(all ``d(d-1)/2`` pairs would cost one marginal per pair and tree), as DeepCAVE does.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ecnas.importance._design import Design
from ecnas.importance._imports import optuna_fanova
from ecnas.importance._marginals import TreeBoxes

__all__ = ["DEFAULT_MAX_DEPTH", "DEFAULT_TREES", "Importances", "fanova"]

#: Trees per forest (optuna's default is 64; 32 halves the cost and keeps the spread estimate usable).
DEFAULT_TREES = 32
#: Maximum tree depth (optuna's default).
DEFAULT_MAX_DEPTH = 64


@dataclass(frozen=True)
class Importances:
    """fANOVA importances of one response.

    Attributes:
        names: `d` input names.
        mean: `d` individual importances (fraction of variance; mean over trees).
        std: `d` standard deviations over trees.
        pairs: ``(name_i, name_j, mean, std)`` pure-interaction importances, most important first.
        n: rows the forest was fitted on.
        n_trees: trees with non-zero variance (the spread is over these).
        label: what the response is (an objective name or a weighting).
    """

    names: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    pairs: tuple[tuple[str, str, float, float], ...] = ()
    n: int = 0
    n_trees: int = 0
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def ranking(self) -> list[tuple[str, float, float]]:
        """``(name, mean, std)`` by decreasing mean importance."""
        order = np.argsort(-self.mean, kind="stable")
        return [(self.names[i], float(self.mean[i]), float(self.std[i])) for i in order]

    def top(self, k: int = 3) -> list[str]:
        """Names of the ``k`` individually most important inputs."""
        return [name for name, _, _ in self.ranking()[:k]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able view (individual importances by name, pairs as a list)."""
        return {
            "label": self.label,
            "n": self.n,
            "n_trees": self.n_trees,
            "individual": {name: {"mean": float(m), "std": float(s)} for name, m, s in self.ranking()},
            "pairs": [{"pair": [a, b], "mean": m, "std": s} for a, b, m, s in self.pairs],
            **self.extra,
        }


def _check(design: Design, y: np.ndarray, n_trees: int, max_depth: int, top_pairs: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (design.n,):
        raise ValueError(f"y must have one value per design row, shape ({design.n},), got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"y has {int(np.sum(~np.isfinite(y)))} NaN/infinite values; drop those rows first")
    if design.n < 2:
        raise ValueError(f"fANOVA needs at least 2 rows, got {design.n}")
    for name, value, low in (("n_trees", n_trees, 1), ("max_depth", max_depth, 1), ("top_pairs", top_pairs, 0)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return y


def fanova(
    design: Design,
    y: np.ndarray,
    *,
    n_trees: int = DEFAULT_TREES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    top_pairs: int = 5,
    seed: int | None = None,
    label: str = "",
) -> Importances:
    """Individual and pairwise fANOVA importances of ``y`` over ``design``.

    Args:
        design: encoded inputs (:func:`~ecnas.importance.encode_configurations` or a derived view).
        y: `n` responses (any scale: importances are fractions of variance).
        n_trees: trees in the forest.
        max_depth: maximum depth of each tree.
        top_pairs: pairs are computed among this many individually most important inputs (0: no pairs).
        seed: seeds the forest (bootstrap and split choices).
        label: stored on the result (e.g. the objective name).

    Returns:
        :class:`Importances`; inputs constant in ``design`` get exactly 0 without entering the forest.

    Raises:
        ValueError: shapes or values are wrong, or ``y`` is constant (no variance to decompose).
        ImportError: the ``importance`` extra (optuna) is missing.
    """
    y = _check(design, y, n_trees, max_depth, top_pairs)
    d = len(design.names)
    mean, std = np.zeros(d), np.zeros(d)
    varying = np.flatnonzero(design.varying())
    if np.ptp(y) == 0 or varying.size == 0:
        raise ValueError(
            f"the response {label or 'y'} is constant over the {design.n} rows (or no input varies): "
            "there is no variance to attribute"
        )
    Fanova = optuna_fanova()
    model = Fanova(n_trees=n_trees, max_depth=max_depth, min_samples_split=2, min_samples_leaf=1, seed=seed)
    columns = [np.array([k]) for k in range(varying.size)]
    try:
        model.fit(X=design.X[:, varying], y=y, search_spaces=design.bounds[varying], column_to_encoded_columns=columns)
    except RuntimeError as error:  # optuna: "zero total variance in all trees"
        raise ValueError(f"fANOVA could not fit {label or 'y'}: {error}") from None
    trees = model._trees
    totals = np.array([tree.variance for tree in trees])
    live = totals > 0
    per_tree = np.zeros((varying.size, len(trees)))
    for k in range(varying.size):
        model._compute_variances(k)
        per_tree[k] = model._variances[k]
    fractions = per_tree[:, live] / totals[live]
    mean[varying] = fractions.mean(axis=1)
    std[varying] = fractions.std(axis=1)
    forest = model._forest.estimators_
    pairs = _pairs(forest, totals, live, design, varying, mean, top_pairs)
    return Importances(design.names, mean, std, pairs, design.n, int(live.sum()), label)


def _pairs(
    estimators: list[Any],
    totals: np.ndarray,
    live: np.ndarray,
    design: Design,
    varying: np.ndarray,
    mean: np.ndarray,
    top_pairs: int,
) -> tuple[tuple[str, str, float, float], ...]:
    if top_pairs < 2 or varying.size < 2:
        return ()
    local_order = np.argsort(-mean[varying], kind="stable")[:top_pairs]
    boxes = [TreeBoxes(estimators[t].tree_, design.bounds[varying]) for t in np.flatnonzero(live)]
    found = []
    for a, b in itertools.combinations(sorted(local_order.tolist()), 2):
        values = np.array([tree.interaction_variance(a, b) for tree in boxes]) / totals[live]
        name_a, name_b = design.names[varying[a]], design.names[varying[b]]
        found.append((name_a, name_b, float(values.mean()), float(values.std())))
    found.sort(key=lambda row: -row[2])
    return tuple(found)
