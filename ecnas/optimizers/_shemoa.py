"""SH-EMOA: an evolutionary multi-objective algorithm whose offspring pass successive halving over budgets.

After the SH-EMOA of Izquierdo et al. (2021), "Bag of baselines for multi-objective joint neural
architecture search and hyperparameter optimization": each generation mutates ``eta**(K-1)`` offspring
from uniformly chosen parents (``K`` = number of rungs, the table's budgets from ``min_budget`` to
``budget``), evaluates them at the lowest budget, promotes the best ``1/eta`` to the next budget, and so on;
the survivors at the top budget compete with the population ((μ + λ) survival, as SEMOA). The initial
population is evaluated at the top budget.

Promotion ranks a rung's offspring by non-dominated sorting and hypervolume contribution **among every cell
evaluated at that budget so far** (the run's archive at the rung), not among the generation's few offspring
alone: an offspring is promoted for standing well against what the budget has seen, not for being the best of
three or four mutants. Ranked only within its batch, the promotion favoured each batch's extreme points (on the
default table mostly its cheapest mutant), whatever their standing: at 100 distinct top-budget evaluations on
the default table (screening seeds 100–119, median fraction of the exact front's hypervolume) batch promotion
reached 0.863 / 0.859, below skipping the lower budgets altogether (0.887); archive promotion 0.887 / 0.889.

Lower-budget evaluations are counted with their own (lower) simulated cost; the front is built from
top-budget evaluations only. With a single budget this is SEMOA with one offspring per generation.

The initial population is drawn from the search space's prior (:func:`~ecnas.optimizers._operators.sample_rows`).
Once every cell of a small table has been seen at some budget (offspring must be new cells), the run goes on
at the top budget with the cells not yet evaluated there, best first by non-dominated sorting and hypervolume
contribution of their highest-budget values, instead of stopping: on EC-NAS's 91-cell 4V table it stopped after
13 top-budget evaluations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas._validation import check_int, check_number
from ecnas.optimizers._base import Optimizer, register
from ecnas.optimizers._multifidelity import check_eta, eta_of_rungs, rungs
from ecnas.optimizers._operators import mutate, rank_select, sample_rows

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark

__all__ = ["SHEMOA"]


@register("shemoa")
class SHEMOA(Optimizer):
    """Evolution with successive halving of each generation's offspring over the table's budgets.

    Args:
        bench: the benchmark to search.
        population_size: μ (EC-NAS: 10).
        generations: generations when ``max_evaluations`` is None (EC-NAS: 100).
        eta: halving rate; each rung keeps ``1/eta`` of its cells; None = fitted to the table's budget ratios
            (:func:`~ecnas.optimizers._multifidelity.eta_of_rungs`: 2 on a 1/2/4 ladder, 3 on 4/12/36/108).
        min_budget: lowest budget used (default: the table's smallest).
        mutation_rate: see :class:`~ecnas.optimizers.SEMOA`.
        **kwargs: ``seed``, ``max_evaluations``, ``budget`` (the top budget), ``objectives``.
    """

    multi_fidelity = True

    def __init__(
        self,
        bench: Benchmark,
        *,
        population_size: int = 10,
        generations: int = 100,
        eta: int | None = None,
        min_budget: int | None = None,
        mutation_rate: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(bench, **kwargs)
        self.population_size = check_int("population_size", population_size, 2)
        self.generations = check_int("generations", generations)
        self.rungs = rungs(bench.budgets, self.budget, min_budget)
        self.eta = eta_of_rungs(self.rungs) if eta is None else check_eta(eta)
        self.mutation_rate = check_number("mutation_rate", mutation_rate, 0, 10)
        self.offspring = self.eta ** (len(self.rungs) - 1)
        self._population = np.zeros(0, dtype=np.int64)
        self._fitness = np.zeros((0, self.n_obj))
        self._initialised = 0
        self._rung = 0
        self._batch = np.zeros(0, dtype=np.int64)  # cells of the current generation at the current rung
        self._batch_F: list[np.ndarray] = []
        self._asked = 0
        self._initial_batch = True
        self._topping_up = False  # every cell seen: evaluate the rest at the top budget, best first
        self._known: dict[int, tuple[int, np.ndarray]] = {}  # row -> (highest budget evaluated, its F)
        self._archive: dict[int, list[np.ndarray]] = {}  # lower rung -> F of every cell evaluated there

    def _per_generation(self) -> int:
        total, n = 0, self.offspring
        for _ in self.rungs:
            total += n
            n = max(1, n // self.eta)
        return total

    def _default_evaluations(self) -> int:
        return self.population_size + self.generations * self._per_generation()

    def _search_budgets(self) -> tuple[int, ...]:
        return self.rungs

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            "population_size": self.population_size,
            "generations": self.generations,
            "eta": self.eta,
            "rungs": list(self.rungs),
            "offspring": self.offspring,
            "mutation_rate": self.mutation_rate,
        }

    def _ask(self, limit: int) -> tuple[np.ndarray, int]:
        self._initial_batch = self._initialised < self.population_size
        if self._initial_batch:
            n = min(limit, self.population_size - self._initialised)
            self._initialised += n
            return sample_rows(self, self.budget, n), self.budget
        if self._topping_up:
            return self._top_up(limit), self.budget
        budget = self.rungs[self._rung]
        if self._rung == 0 and self._asked == 0:
            children: list[int] = []
            chosen: set[int] = set()
            for _ in range(self.offspring):
                parent = int(self._population[self._rng.integers(self._population.size)])
                child = mutate(self, parent, budget, chosen, rate=self.mutation_rate)
                if child < 0:
                    break
                chosen.add(child)
                children.append(child)
            if not children:
                self._topping_up = True
                return self._top_up(limit), self.budget
            self._batch = np.array(children, dtype=np.int64)
            self._batch_F = []
        rows = self._batch[self._asked : self._asked + limit]
        self._asked += rows.size
        return rows, budget

    def _top_up(self, limit: int) -> np.ndarray:
        """The best seen cell not yet evaluated at the top budget (none: the table is exhausted)."""
        done = self.evaluated_mask(self.budget)
        rows = np.array([row for row in self._known if not done[row]], dtype=np.int64)
        if rows.size == 0 or limit <= 0:
            self._stop_detail = "every table cell has been evaluated at the top budget"
            return np.zeros(0, dtype=np.int64)
        highest = np.array([self._known[int(row)][0] for row in rows])
        rows = rows[highest == highest.max()]
        fitness = np.array([self._known[int(row)][1] for row in rows])
        best = rank_select(fitness, 1, ordered=True)
        return rows[best[:1]]

    def _tell(self, rows: np.ndarray, budgets: np.ndarray, F: np.ndarray) -> None:
        for row, budget, values in zip(rows.tolist(), budgets.tolist(), F, strict=True):
            if row not in self._known or self._known[row][0] < budget:
                self._known[row] = (budget, values)
        if self._topping_up:
            self._survive(rows, F)
            return
        if self._initial_batch:
            self._survive(rows, F)
            return
        self._batch_F.append(F)
        if self._asked < self._batch.size:
            return  # the rung is not complete yet
        fitness = np.vstack(self._batch_F)
        batch = self._batch[: fitness.shape[0]]
        self._asked, self._batch_F = 0, []
        if self._rung == len(self.rungs) - 1:
            self._survive(batch, fitness)
            self._rung, self._batch = 0, np.zeros(0, dtype=np.int64)
            return
        self._batch = batch[self._promoted(fitness)]
        self._rung += 1

    def _promoted(self, fitness: np.ndarray) -> np.ndarray:
        """Indices of the batch's best ``1/eta``, ranked among every cell evaluated at the current rung so far."""
        archive = self._archive.setdefault(self.rungs[self._rung], [])
        union = np.vstack([*archive, fitness])
        order = rank_select(union, union.shape[0], ordered=True) - len(archive)
        archive.extend(fitness)
        return order[order >= 0][: max(1, fitness.shape[0] // self.eta)]

    def _survive(self, rows: np.ndarray, F: np.ndarray) -> None:
        population = np.concatenate([self._population, rows])
        fitness = np.vstack([self._fitness, F])
        keep = rank_select(fitness, self.population_size)
        self._population, self._fitness = population[keep], fitness[keep]
