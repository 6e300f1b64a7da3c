"""Random search: distinct cells drawn uniformly from the table (EC-NAS's baseline, 1,000 evaluations)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas._validation import check_int
from ecnas.optimizers._base import Optimizer, register
from ecnas.optimizers._operators import random_rows

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark

__all__ = ["RandomSearch"]


@register("rs")
class RandomSearch(Optimizer):
    """Uniform random search without replacement over the table's cells at the target budget.

    Cells are drawn uniformly among the table's rows (NB101's ``random_spec`` instead samples matrices,
    which over-represents cells with many isomorphic encodings); no cell is drawn twice.

    Args:
        bench: the benchmark to search.
        batch_size: cells proposed per :meth:`ask` (results do not depend on it).
        **kwargs: ``seed``, ``max_evaluations`` (default 1,000), ``budget``, ``objectives`` — see
            :class:`~ecnas.optimizers.Optimizer`.
    """

    default_max_evaluations = 1000

    def __init__(self, bench: Benchmark, *, batch_size: int = 1000, **kwargs: Any) -> None:
        super().__init__(bench, **kwargs)
        self.batch_size = check_int("batch_size", batch_size)
        self._order: np.ndarray | None = None
        self._next = 0

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "batch_size": self.batch_size}

    def _ask(self, limit: int) -> tuple[np.ndarray, int]:
        if self._order is None:
            # One draw of the whole run, so the history does not depend on batch_size.
            self._order = random_rows(self, self.budget, self.max_evaluations)
        rows = self._order[self._next : self._next + min(limit, self.batch_size)]
        self._next += rows.size
        return rows, self.budget

    def _tell(self, rows: np.ndarray, budgets: np.ndarray, F: np.ndarray) -> None:
        pass
