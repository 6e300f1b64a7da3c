"""`Design`: the numeric input matrix fANOVA's forest sees, with the box its marginals integrate over.

fANOVA (Hutter et al., 2014) decomposes the variance of a function over a *product of uniform distributions*
— one per input, over the input's bounds. How each ConfigSpace hyperparameter becomes one numeric column
decides what "uniform" means, so the encoding is chosen to make that distribution the space's own prior:

- categorical / ordinal with ``k`` choices: the choice index, bounds ``[-0.5, k - 0.5]``. The forest splits
  between observed indices (at ``i + 0.5``), so every choice owns a cell of width 1: the marginal averages the
  choices with equal weight. (optuna's own evaluator one-hot encodes categoricals, whose uniform box also
  weighs impossible all-zero and multi-hot codes; ecnas does not use it for that reason.)
- integer: the value, bounds ``[low - 0.5, high + 0.5]`` (each integer a width-1 cell); on a log scale the
  log of the value.
- float: the value, bounds ``[low, high]``; on a log scale the log of the value (log-uniform prior).
- constants are dropped (they explain nothing).

Conditional (inactive) hyperparameters are not supported: every configuration must set every hyperparameter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Design", "encode_configurations", "numeric_design"]


@dataclass(frozen=True)
class Design:
    """Inputs of an importance analysis.

    Attributes:
        names: `d` input names (ConfigSpace hyperparameter names, or derived-feature names).
        X: `n x d` float64 encoded inputs (see the module docstring).
        bounds: `d x 2` box the marginals integrate over (uniform on each side).
        kinds: `d` kinds: ``"categorical"``, ``"ordinal"``, ``"integer"``, ``"float"`` or ``"derived"``.
        choices: per input, the choice labels of a categorical/ordinal input (index order), else None.
    """

    names: tuple[str, ...]
    X: np.ndarray
    bounds: np.ndarray
    kinds: tuple[str, ...]
    choices: tuple[tuple[Any, ...] | None, ...]

    def __post_init__(self) -> None:
        n_inputs = len(self.names)
        if self.X.ndim != 2 or self.X.shape[1] != n_inputs:
            raise ValueError(f"X must be an `n x {n_inputs}` array (one column per name), got shape {self.X.shape}")
        if self.bounds.shape != (n_inputs, 2):
            raise ValueError(f"bounds must have shape ({n_inputs}, 2), got {self.bounds.shape}")
        if not np.all(np.isfinite(self.X)):
            raise ValueError("X contains NaN or infinite values (inactive or missing hyperparameters?)")

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.X.shape[0])

    def subset(self, rows: np.ndarray) -> Design:
        """The design restricted to ``rows``."""
        return Design(self.names, self.X[rows], self.bounds, self.kinds, self.choices)

    def varying(self) -> np.ndarray:
        """Boolean `d` mask of inputs that take more than one value in ``X`` (the others cannot matter)."""
        if self.n == 0:
            return np.zeros(len(self.names), dtype=bool)
        return np.ptp(self.X, axis=0) > 0


def numeric_design(names: Sequence[str], X: np.ndarray, *, kind: str = "derived") -> Design:
    """A design of integer-valued (or real) columns with bounds from the data: ``[min - 0.5, max + 0.5]``.

    Used for derived features (counts), where no prior is declared: the marginals then average every value
    between the observed extremes with equal weight.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty `n x d` array, got shape {X.shape}")
    bounds = np.stack([X.min(axis=0) - 0.5, X.max(axis=0) + 0.5], axis=1)
    return Design(tuple(names), X, bounds, (kind,) * len(names), (None,) * len(names))


def _column(hp: Any, values: list[Any]) -> tuple[np.ndarray, tuple[float, float], str, tuple[Any, ...] | None]:
    """Encode one hyperparameter's values (see the module docstring); None when it is a constant."""
    kind = type(hp).__name__
    if hasattr(hp, "choices"):
        choices = tuple(hp.choices)
        index = {c: i for i, c in enumerate(choices)}
        try:
            column = np.array([index[v] for v in values], dtype=np.float64)
        except KeyError as error:
            raise ValueError(f"hyperparameter {hp.name!r}: value {error.args[0]!r} is not one of {choices}") from None
        return column, (-0.5, len(choices) - 0.5), "categorical", choices
    if hasattr(hp, "sequence"):
        sequence = tuple(hp.sequence)
        index = {c: i for i, c in enumerate(sequence)}
        try:
            column = np.array([index[v] for v in values], dtype=np.float64)
        except KeyError as error:
            raise ValueError(f"hyperparameter {hp.name!r}: value {error.args[0]!r} is not in {sequence}") from None
        return column, (-0.5, len(sequence) - 0.5), "ordinal", sequence
    if hasattr(hp, "lower") and hasattr(hp, "upper"):
        low, high, log = float(hp.lower), float(hp.upper), bool(getattr(hp, "log", False))
        raw = np.asarray(values, dtype=np.float64)
        integer = "Integer" in kind
        if integer:
            lo, hi = (low - 0.5 if low > 0.5 else low, high + 0.5) if log else (low - 0.5, high + 0.5)
        else:
            lo, hi = low, high
        if log:
            return np.log(raw), (math.log(lo), math.log(hi)), "integer" if integer else "float", None
        return raw, (lo, hi), "integer" if integer else "float", None
    raise TypeError(f"hyperparameter {hp.name!r} of type {kind} cannot be encoded for fANOVA")


def encode_configurations(configspace: Any, configurations: Sequence[Mapping[str, Any]]) -> Design:
    """Encode ConfigSpace configurations (or their dicts) of ``configspace`` as a :class:`Design`.

    Args:
        configspace: a ``ConfigSpace.ConfigurationSpace``.
        configurations: `n` configurations; every non-constant hyperparameter must be set.

    Raises:
        ValueError: no configurations, a value outside its hyperparameter, or a hyperparameter missing
            (conditional spaces are not supported).
    """
    if len(configurations) == 0:
        raise ValueError("configurations is empty: an importance analysis needs at least two evaluated ones")
    rows = [dict(c) for c in configurations]
    names, columns, bounds, kinds, choices = [], [], [], [], []
    for hp in configspace.values():
        if type(hp).__name__ == "Constant" or (hasattr(hp, "choices") and len(hp.choices) == 1):
            continue
        try:
            values = [row[hp.name] for row in rows]
        except KeyError:
            raise ValueError(
                f"hyperparameter {hp.name!r} is missing from some configuration; conditional (inactive) "
                "hyperparameters are not supported by ecnas.importance"
            ) from None
        column, bound, kind, labels = _column(hp, values)
        names.append(hp.name)
        columns.append(column)
        bounds.append(bound)
        kinds.append(kind)
        choices.append(labels)
    X = np.stack(columns, axis=1) if columns else np.zeros((len(rows), 0))
    return Design(tuple(names), X, np.asarray(bounds, dtype=np.float64).reshape(-1, 2), tuple(kinds), tuple(choices))
