"""MO-fANOVA: importances of weighted sums of normalised objectives (DSNN paper Section 5.2.2, Figure 5).

Every objective is min-max normalised over the analysed rows, direction-aware, so that 0 is the best value
seen and 1 the worst (a maximised objective is flipped: ``1 - (v - min) / (max - min)``). A weighting ``w``
(non-negative, summing to 1) then defines one response ``sum_k w_k * n_k``, and fANOVA is run on it with a
fresh forest. Two families of weightings are offered, as in DeepCAVE's MO-fANOVA:

- **grid**: for two objectives, ``w * n_1 + (1 - w) * n_2`` for ``w`` on an even grid of ``[0, 1]`` — ``w = 1``
  is the first objective alone, ``w = 0`` the second alone (the x-axis of the paper's Figure 5, which plots
  the weight of the loss);
- **pareto**: one weighting per Pareto-efficient row, its normalised objective vector divided by its sum
  (DeepCAVE ``get_weightings``; a row that is best on every objective, sum 0, gets equal weights). These
  concentrate the analysis on the trade-offs the front actually offers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas import indicators
from ecnas.importance._fanova import DEFAULT_MAX_DEPTH, DEFAULT_TREES, Importances, fanova

if TYPE_CHECKING:
    from collections.abc import Callable

    from ecnas.importance._design import Design

__all__ = ["WeightedImportances", "normalise", "pareto_weightings", "weight_grid", "weighted_importances"]


def normalise(F: np.ndarray, directions: Sequence[str] | None = None) -> np.ndarray:
    """Min-max normalise each column of `n x m` ``F`` to [0, 1] with 0 = best.

    Args:
        F: objective values.
        directions: per column ``"minimize"`` (default) or ``"maximize"``.

    Raises:
        ValueError: bad shape or direction, non-finite values, or a constant column.
    """
    F = np.asarray(F, dtype=np.float64)
    if F.ndim != 2 or F.shape[0] < 2:
        raise ValueError(f"F must be an `n x m` array with n >= 2, got shape {F.shape}")
    directions = ["minimize"] * F.shape[1] if directions is None else list(directions)
    if len(directions) != F.shape[1] or any(d not in ("minimize", "maximize") for d in directions):
        raise ValueError(
            f"directions must give 'minimize' or 'maximize' for each of {F.shape[1]} columns, got {directions}"
        )
    if not np.all(np.isfinite(F)):
        raise ValueError("F has NaN or infinite values; drop those rows before normalising")
    low, span = F.min(axis=0), np.ptp(F, axis=0)
    if np.any(span == 0):
        raise ValueError(f"objective column(s) {np.flatnonzero(span == 0).tolist()} are constant: nothing to normalise")
    out = (F - low) / span
    flip = np.array([d == "maximize" for d in directions])
    out[:, flip] = 1.0 - out[:, flip]
    return out


def weight_grid(count: int) -> np.ndarray:
    """``count`` evenly spaced weights from 0 to 1 (``count >= 2``)."""
    if not isinstance(count, (int, np.integer)) or isinstance(count, bool) or count < 2:
        raise ValueError(f"the number of weights must be an int >= 2 (e.g. 11 for steps of 0.1), got {count!r}")
    return np.linspace(0.0, 1.0, int(count))


def pareto_weightings(normalised: np.ndarray) -> np.ndarray:
    """`k x m` weightings from the Pareto-efficient rows of normalised objectives (DeepCAVE's rule).

    Each efficient row's vector divided by its sum; rows are unique and sorted by the first weight.
    """
    normalised = np.asarray(normalised, dtype=np.float64)
    efficient = normalised[indicators.is_nondominated(normalised)]
    sums = efficient.sum(axis=1, keepdims=True)
    m = normalised.shape[1]
    weights = np.where(sums > 0, efficient / np.where(sums > 0, sums, 1.0), 1.0 / m)
    weights = np.unique(np.round(weights, 12), axis=0)
    return weights[np.argsort(weights[:, 0], kind="stable")]


@dataclass(frozen=True)
class WeightedImportances:
    """Importances over weightings of the objectives.

    Attributes:
        objectives: the `m` objective names.
        weights: `k x m` weightings (rows sum to 1).
        kind: ``"grid"`` or ``"pareto"``.
        results: one :class:`Importances` per weighting.
    """

    objectives: tuple[str, ...]
    weights: np.ndarray
    kind: str
    results: tuple[Importances, ...] = field(default_factory=tuple)

    @property
    def names(self) -> tuple[str, ...]:
        """Input names."""
        return self.results[0].names if self.results else ()

    @property
    def mean(self) -> np.ndarray:
        """`k x d` individual importances per weighting."""
        return np.array([r.mean for r in self.results])

    @property
    def std(self) -> np.ndarray:
        """`k x d` spreads over trees per weighting."""
        return np.array([r.std for r in self.results])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able view."""
        return {
            "objectives": list(self.objectives),
            "kind": self.kind,
            "weightings": [
                {"weights": dict(zip(self.objectives, w.tolist(), strict=True)), **r.to_dict()}
                for w, r in zip(self.weights, self.results, strict=True)
            ],
        }


def weighted_importances(
    design: Design,
    F: np.ndarray,
    objectives: Sequence[str],
    weights: np.ndarray | int | str = 11,
    *,
    directions: Sequence[str] | None = None,
    n_trees: int = DEFAULT_TREES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    top_pairs: int = 0,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> WeightedImportances:
    """The fANOVA importances of weighted sums of the normalised objectives.

    Args:
        design: encoded inputs, `n` rows.
        F: `n x m` objective values.
        objectives: `m` names (labels of the weights).
        weights: an int ``k`` (grid of ``k`` weights on the first of two objectives), ``"pareto"`` (DeepCAVE's
            Pareto weightings, any ``m``), or a `k x m` array of weightings.
        directions: per objective ``"minimize"`` (default) or ``"maximize"``.
        n_trees: trees per forest (as :func:`~ecnas.importance.fanova`).
        max_depth: maximum tree depth.
        top_pairs: pairs per weighting (default none: the Figure-5 chart shows main effects).
        seed: seeds every weighting's forest (the same seed for each).
        progress: called with 1 after each weighting (e.g. a tqdm ``update``).

    Raises:
        ValueError: shapes disagree, a grid is asked for other than two objectives, or weightings are invalid.
    """
    objectives = tuple(objectives)
    normalised = normalise(F, directions)
    if normalised.shape != (design.n, len(objectives)):
        raise ValueError(
            f"F must have shape ({design.n}, {len(objectives)}) (rows x objectives), got {normalised.shape}"
        )
    if isinstance(weights, str):
        if weights != "pareto":
            raise ValueError(f"weights must be an int, 'pareto' or a `k x m` array, got {weights!r}")
        matrix, kind = pareto_weightings(normalised), "pareto"
    elif isinstance(weights, (int, np.integer)) and not isinstance(weights, bool):
        if len(objectives) != 2:
            raise ValueError(f"a weight grid needs exactly two objectives, got {len(objectives)}; use weights='pareto'")
        w = weight_grid(int(weights))
        matrix, kind = np.stack([w, 1.0 - w], axis=1), "grid"
    else:
        matrix, kind = np.asarray(weights, dtype=np.float64), "custom"
        if matrix.ndim != 2 or matrix.shape[1] != len(objectives) or np.any(matrix < 0):
            raise ValueError(f"weights must be a non-negative `k x {len(objectives)}` array, got shape {matrix.shape}")
        if not np.allclose(matrix.sum(axis=1), 1.0):
            raise ValueError("every weighting must sum to 1")
    results = []
    for w in matrix:
        label = " + ".join(f"{wk:.3g}·{name}" for wk, name in zip(w, objectives, strict=True))
        y = normalised @ w
        if np.ptp(y) == 0:
            zero = np.zeros(len(design.names))
            results.append(Importances(design.names, zero, zero, (), design.n, 0, label, {"constant": True}))
        else:
            results.append(
                fanova(design, y, n_trees=n_trees, max_depth=max_depth, top_pairs=top_pairs, seed=seed, label=label)
            )
        if progress is not None:
            progress(1)
    return WeightedImportances(objectives, matrix, kind, tuple(results))
