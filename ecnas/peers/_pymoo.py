"""The pymoo peer ``pymoo-nsga2``: pymoo's NSGA2 on the table's box encoding (:mod:`ecnas.optimizers._pymoo`).

Runs pymoo's ask/tell loop; every decoded vector goes through the :class:`~ecnas.peers.TableTarget`, so repeated
cells are free and the run stops at exactly ``max_evaluations`` distinct paid queries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas._validation import check_int
from ecnas.peers._base import Peer, register_peer
from ecnas.peers._target import TableTarget

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark

__all__ = ["PymooNSGA2"]


@register_peer("pymoo-nsga2")
class PymooNSGA2(Peer):
    """pymoo's NSGA2 (random table cells as the initial population, duplicates eliminated).

    Args:
        bench: the table.
        population_size: NSGA2's population.
        **kwargs: ``seed``, ``max_evaluations``, ``budget``, ``objectives``, ``max_energy``.
    """

    package = "pymoo"

    def __init__(self, bench: Benchmark, *, population_size: int = 20, **kwargs: Any) -> None:
        super().__init__(bench, **kwargs)
        self.population_size = check_int("population_size", population_size, 2)

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "population_size": self.population_size}

    def _optimize(self, target: TableTarget) -> None:
        from pymoo.algorithms.moo.nsga2 import NSGA2

        from ecnas.optimizers._pymoo import TablePymooProblem, TableSampling

        budget = self.budget

        class Problem(TablePymooProblem):
            def _evaluate(self, X: np.ndarray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
                X = np.atleast_2d(X)
                F = np.tile(target.penalty, (X.shape[0], 1))
                G = np.ones((X.shape[0], 1))
                for i, x in enumerate(X):
                    row = self.decode(x)
                    if row >= 0 and not target.done:
                        F[i], G[i] = target.evaluate_row(row, budget), 0.0
                out["F"], out["G"] = F, G

        problem = Problem(self.bench, budget=budget, objectives=target.objectives)
        algorithm = NSGA2(pop_size=self.population_size, sampling=TableSampling(), eliminate_duplicates=True)
        algorithm.setup(problem, termination=("n_gen", 10**9), seed=self.seed, verbose=False)
        proposals, limit = 0, self.max_proposals()
        try:
            while not target.done:
                if proposals >= limit:
                    target.stop("exhausted", f"pymoo made {limit} proposals ({target.n_evaluations} new) and stopped")
                    return
                population = algorithm.ask()
                algorithm.evaluator.eval(problem, population)
                algorithm.tell(infills=population)
                proposals += len(population)
        finally:
            for key, count in problem.rejections.items():
                target.rejections[key] += count
