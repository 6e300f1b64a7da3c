"""ParEGO + Hyperband: multi-fidelity multi-objective search (Algorithm 1 of the DSNN paper).

Hyperband (Li et al. 2017) runs successive-halving brackets over the table's budgets (``min_budget`` …
``budget``, halving rate ``eta``), cycling from the most exploratory bracket to plain full-budget runs. The
default η fits the table's budget ladder (:func:`~ecnas.optimizers._multifidelity.eta_of_rungs`: 2 on a 1/2/4
ladder, 3 on 4/12/36/108); with η = 3 on a doubling ladder only 50 of 220 evaluations reached the top budget.

A bracket starting at budget ``b`` draws cells not yet evaluated at ``b`` or above (a cell discarded at a low
rung may start again in a bracket that begins higher up), so no (cell, budget) pair is ever paid twice and a
small table is used up before the run ends; when no bracket can start any more, the run ends as ``exhausted``
and its result says so.
Every configuration a bracket starts is chosen by ParEGO (Knowles 2006): draw a weight vector from the
simplex lattice (``1/10`` steps), scalarise the normalised objectives with the augmented Tchebycheff
function ``max_j(w_j f_j) + 0.05 * sum_j(w_j f_j)``, fit a GP to the scalarised observations and take the
candidate with the largest expected improvement (a new weight, hence a new scalarisation, per
configuration). The model uses the observations of the highest budget holding at least ``initial_design``
cells; until then configurations are drawn at random (the initial design ``D_init``).

Within a bracket, configurations are promoted by non-dominated sorting and hypervolume contribution of
their objectives at the rung they were evaluated at (multi-objective successive halving); survivors of a
bracket reach the top budget and enter the Pareto front (Algorithm 1, line 9). Lower-budget evaluations
are counted with their own (lower) simulated cost; the front is built from top-budget evaluations only.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas._validation import check_int
from ecnas.optimizers._acquisition import augmented_tchebycheff, expected_improvement
from ecnas.optimizers._base import Optimizer, register
from ecnas.optimizers._gp import GaussianProcess, single_threaded_blas
from ecnas.optimizers._multifidelity import check_eta, eta_of_rungs, hyperband_brackets, rungs
from ecnas.optimizers._operators import mutate, rank_select

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark

__all__ = ["ParEGOHyperband", "simplex_lattice"]



def simplex_lattice(n_obj: int, steps: int = 10) -> np.ndarray:
    """Every weight vector with entries in ``{0, 1/steps, …, 1}`` summing to one (Knowles' weight set)."""
    vectors = [c for c in itertools.product(range(steps + 1), repeat=n_obj) if sum(c) == steps]
    return np.array(vectors, dtype=np.float64) / steps


@register("parego-hb")
class ParEGOHyperband(Optimizer):
    """ParEGO scalarisations inside Hyperband brackets over the table's budgets.

    Args:
        bench: the benchmark to search.
        eta: Hyperband's halving rate; None = fitted to the table's budget ratios (:func:`eta_of_rungs`).
        min_budget: lowest budget (default: the table's smallest).
        initial_design: random configurations before the model is used.
        pool_size: random unevaluated cells scored per selection.
        mutants: mutants of the best cells (under the current weights) added to the pool.
        **kwargs: ``seed``, ``max_evaluations`` (default: the simulated epochs of 110 top-budget
            evaluations, spent in whole Hyperband iterations — 110 evaluations when the table has one
            budget), ``budget`` (the top budget), ``objectives``.
    """

    multi_fidelity = True

    def __init__(
        self,
        bench: Benchmark,
        *,
        eta: int | None = None,
        min_budget: int | None = None,
        initial_design: int = 10,
        pool_size: int = 500,
        mutants: int = 50,
        **kwargs: Any,
    ) -> None:
        super().__init__(bench, **kwargs)
        self.rungs = rungs(bench.budgets, self.budget, min_budget)
        self.eta = eta_of_rungs(self.rungs) if eta is None else check_eta(eta)
        self.initial_design = check_int("initial_design", initial_design, 2)
        self.pool_size = check_int("pool_size", pool_size, 1)
        self.mutants = check_int("mutants", mutants, 0)
        self.brackets = hyperband_brackets(len(self.rungs), self.eta)
        self._weights = simplex_lattice(self.n_obj)
        self._observed: dict[int, tuple[list[int], list[np.ndarray]]] = {b: ([], []) for b in self.rungs}
        self._bracket = 0
        self._step = 0
        self._configs = np.zeros(0, dtype=np.int64)  # configurations of the current rung
        self._rung_F: list[np.ndarray] = []
        self._asked = 0
        self._model = GaussianProcess()
        self._model_key: tuple[int, int] | None = None

    def _default_evaluations(self) -> int:
        iteration_evaluations = sum(n for bracket in self.brackets for _, n in bracket)
        iteration_epochs = sum(self.rungs[r] * n for bracket in self.brackets for r, n in bracket)
        iterations = max(1, round(110 * self.budget / iteration_epochs))
        return iterations * iteration_evaluations

    def _search_budgets(self) -> tuple[int, ...]:
        return self.rungs

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            "eta": self.eta,
            "rungs": list(self.rungs),
            "initial_design": self.initial_design,
            "pool_size": self.pool_size,
            "mutants": self.mutants,
            "brackets": [[[self.rungs[r], n] for r, n in b] for b in self.brackets],
        }

    # ------------------------------------------------------------------ Hyperband
    def _ask(self, limit: int) -> tuple[np.ndarray, int]:
        rung, n = self.brackets[self._bracket][self._step]
        budget = self.rungs[rung]
        if self._step == 0 and self._asked == 0:
            for _ in self.brackets:  # a bracket without free cells at its start budget is skipped
                rung, n = self.brackets[self._bracket][0]
                budget = self.rungs[rung]
                with single_threaded_blas():
                    self._configs = self._select(n, budget)
                if self._configs.size:
                    break
                self._bracket = (self._bracket + 1) % len(self.brackets)
            else:
                self._stop_detail = "every table cell has been evaluated at every budget a bracket can start at"
            self._rung_F = []
        rows = self._configs[self._asked : self._asked + limit]
        self._asked += rows.size
        return rows, budget

    def _tell(self, rows: np.ndarray, budgets: np.ndarray, F: np.ndarray) -> None:
        observed_rows, observed_F = self._observed[int(budgets[0])]
        observed_rows.extend(rows.tolist())
        observed_F.extend(F)
        self._rung_F.append(F)
        if self._asked < self._configs.size:
            return
        fitness = np.vstack(self._rung_F)
        configs = self._configs[: fitness.shape[0]]
        self._asked, self._rung_F = 0, []
        steps = self.brackets[self._bracket]
        if self._step + 1 < len(steps):
            # fewer cells started than planned (a nearly used-up table): promote the same share
            planned = steps[self._step + 1][1] * configs.size // steps[self._step][1]
            keep = rank_select(fitness, min(max(1, planned), configs.size))
            self._configs = configs[keep]
            self._step += 1
            return
        self._bracket = (self._bracket + 1) % len(self.brackets)
        self._step = 0

    # ------------------------------------------------------------------ ParEGO
    def _select(self, n: int, budget: int) -> np.ndarray:
        """``n`` distinct configurations new to the run, chosen by ParEGO (random until the model has data)."""
        free = self._free(budget)
        free_rows = np.flatnonzero(free)
        if free_rows.size <= n:
            return self._rng.permutation(free_rows)
        model_budget = next((b for b in reversed(self.rungs) if len(self._observed[b][0]) >= self.initial_design), None)
        if model_budget is None:
            return self._rng.choice(free_rows, size=n, replace=False)
        rows = np.array(self._observed[model_budget][0])
        F = np.array(self._observed[model_budget][1])
        low, high = F.min(axis=0), F.max(axis=0)
        normalised = (F - low) / np.where(high > low, high - low, 1.0)
        small = free_rows.size <= self.pool_size  # score every free cell: no sampling, no mutants needed
        pool = free_rows if small else self._rng.choice(free_rows, size=self.pool_size, replace=False)
        chosen: list[int] = []
        for _ in range(n):
            weights = self._weights[self._rng.integers(len(self._weights))]
            scalar = augmented_tchebycheff(normalised, weights)
            parents = rows[np.argsort(scalar)[:5]] if not small else rows[:0]
            candidates = self._candidates(pool, parents, budget, set(chosen), free)
            if candidates.size == 0:
                break
            self._condition(model_budget, rows, scalar)
            mean, std = self._model.predict(self.space.model_inputs(candidates))
            score = expected_improvement(mean, std, float(scalar.min()))
            top = np.flatnonzero(score >= score.max() * (1 - 1e-9))
            pick = int(candidates[int(self._rng.choice(top))])
            chosen.append(pick)
            pool = pool[pool != pick]
        return np.array(chosen, dtype=np.int64)

    def _free(self, budget: int) -> np.ndarray:
        """Rows a bracket starting at ``budget`` may draw: in the search space, not evaluated at ``budget`` or above."""
        free = self.search_mask().copy()
        for b in self.rungs:
            if b >= budget:
                free &= ~self.evaluated_mask(b)
        return free

    def _candidates(
        self, pool: np.ndarray, parents: np.ndarray, budget: int, chosen: set[int], free: np.ndarray
    ) -> np.ndarray:
        extra: set[int] = set()
        for k in range(self.mutants if parents.size else 0):
            child = mutate(self, int(parents[k % parents.size]), budget, chosen | extra, unseen=False)
            if child >= 0 and free[child]:
                extra.add(child)
        candidates = np.union1d(pool, np.fromiter(extra, dtype=np.int64, count=len(extra)))
        return candidates[~np.isin(candidates, np.fromiter(chosen, dtype=np.int64, count=len(chosen)))]

    def _condition(self, model_budget: int, rows: np.ndarray, scalar: np.ndarray) -> None:
        """Fit hyperparameters once per (budget, data size); then only swap the scalarised targets."""
        key = (model_budget, rows.size)
        if key != self._model_key:
            self._model.fit(self.space.model_inputs(rows), scalar)
            self._model_key = key
        else:
            self._model.set_targets(scalar)
