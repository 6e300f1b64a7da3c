"""ParEGO + Hyperband: multi-fidelity multi-objective search (Algorithm 1 of the DSNN paper).

Hyperband (Li et al. 2017) runs successive-halving brackets over a ladder of budgets, cycling from the most
exploratory bracket to plain top-budget runs. The default ladder is SMAC3's: the budgets ``top * eta**-k``
(η = 3) down to the table's smallest, each served by the nearest table budget at or below it
(:func:`~ecnas.optimizers._multifidelity.geometric_rungs`): on 4/12/36/108 epochs every budget, on a 1/2/4
ladder 1 and 4 — a 2-epoch rung, which costs half the top budget, buys too little information to pay for
itself there. ``ladder="table"`` uses every table budget with η fitted to their ratios
(:func:`~ecnas.optimizers._multifidelity.eta_of_rungs`).

A bracket starting at budget ``b`` draws cells not yet evaluated at ``b`` or above (a cell discarded at a low
rung may start again in a bracket that begins higher up), so no (cell, budget) pair is ever paid twice and a
small table is used up before the run ends; when no bracket can start any more, the run ends as ``exhausted``
and its result says so.

Every configuration a bracket starts is chosen by ParEGO (Knowles 2006): draw a weight vector from the
simplex lattice (``1/10`` steps) — a new one per configuration — and take the candidate with the largest
expected improvement of the augmented Tchebycheff value ``max_j(w_j f_j) + 0.05 * sum_j(w_j f_j)`` of the
normalised objectives. The default model (``model="objectives"``, the qParEGO form of Daulton et al. 2020,
:mod:`~ecnas.optimizers._parego_model`) is one GP per objective, fitted on the observations of *every* rung
with the budget as an input, predicted at the top budget, and scalarised through its posterior;
``model="scalarised"`` is Knowles' original: one GP on the scalarised observations of the highest budget
holding at least ``initial_design`` cells. Until ``initial_design`` cells are observed, configurations are
drawn at random (the initial design ``D_init``).

Candidates are ``pool_size`` random free cells, the cells of ``space_samples`` draws of the space's own
sampler (:meth:`ecnas.spaces.SearchSpace.sample`; NB101's ``random_spec``, which reaches the small and
pooling-heavy cells a uniform draw over an NB101 table's rows almost never picks, and which also draws the
initial design), and ``mutants`` mutants of the best observed cells.

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
from ecnas.optimizers._multifidelity import check_eta, eta_of_rungs, geometric_rungs, hyperband_brackets, rungs
from ecnas.optimizers._operators import mutate, rank_select
from ecnas.optimizers._parego_model import ObjectiveModels, scalarised_expected_improvement

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark

__all__ = ["LADDERS", "MODELS", "ParEGOHyperband", "simplex_lattice"]

#: Budget ladders: SMAC3's geometric one (default) or every table budget.
LADDERS = ("geometric", "table")
#: ParEGO models: one GP per objective over every rung (default) or Knowles' GP of the scalarised values.
MODELS = ("objectives", "scalarised")


def simplex_lattice(n_obj: int, steps: int = 10) -> np.ndarray:
    """Every weight vector with entries in ``{0, 1/steps, …, 1}`` summing to one (Knowles' weight set)."""
    vectors = [c for c in itertools.product(range(steps + 1), repeat=n_obj) if sum(c) == steps]
    return np.array(vectors, dtype=np.float64) / steps


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return str(value)


@register("parego-hb")
class ParEGOHyperband(Optimizer):
    """ParEGO scalarisations inside Hyperband brackets over the table's budgets.

    Args:
        bench: the benchmark to search.
        eta: Hyperband's halving rate; None = 3 on the geometric ladder (SMAC3's default), fitted to the
            budget ratios (:func:`eta_of_rungs`) on the table ladder.
        min_budget: lowest budget (default: the table's smallest).
        ladder: ``"geometric"`` (SMAC3's budgets ``top * eta**-k``, served by table budgets) or ``"table"``
            (every table budget from ``min_budget`` up).
        model: ``"objectives"`` (one GP per objective over every rung, qParEGO) or ``"scalarised"``
            (Knowles' GP of the scalarised values at one budget).
        initial_design: random configurations before the model is used.
        pool_size: random unevaluated cells scored per selection.
        space_samples: draws of the space's own sampler, made once per run, whose cells join the candidates
            and draw the initial design (0: uniform draws over the table's rows only).
        mutants: mutants of the best observed cells added to the candidates.
        samples: Monte Carlo draws of the expected improvement (``model="objectives"``).
        **kwargs: ``seed``, ``max_evaluations`` (default: the simulated epochs of 110 top-budget
            evaluations, spent in whole Hyperband iterations — 110 evaluations when the table has one
            budget), ``budget`` (the top budget), ``objectives``, ``max_energy``.
    """

    multi_fidelity = True

    def __init__(
        self,
        bench: Benchmark,
        *,
        eta: int | None = None,
        min_budget: int | None = None,
        ladder: str = "geometric",
        model: str = "objectives",
        initial_design: int = 10,
        pool_size: int = 5000,
        space_samples: int = 4000,
        mutants: int = 50,
        samples: int = 64,
        **kwargs: Any,
    ) -> None:
        super().__init__(bench, **kwargs)
        self.ladder = _check_choice("ladder", ladder, LADDERS)
        self.model = _check_choice("model", model, MODELS)
        self.rungs = rungs(bench.budgets, self.budget, min_budget)
        if eta is not None:
            self.eta = check_eta(eta)
        else:
            self.eta = 3 if self.ladder == "geometric" else eta_of_rungs(self.rungs)
        if self.ladder == "geometric":
            self.rungs = geometric_rungs(self.rungs, self.eta)
        self.initial_design = check_int("initial_design", initial_design, 2)
        self.pool_size = check_int("pool_size", pool_size, 1)
        self.space_samples = check_int("space_samples", space_samples, 0)
        self.mutants = check_int("mutants", mutants, 0)
        self.samples = check_int("samples", samples, 1)
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
        self._objective_models = ObjectiveModels()
        self._sampled: np.ndarray | None = None

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
            "ladder": self.ladder,
            "model": self.model,
            "rungs": list(self.rungs),
            "initial_design": self.initial_design,
            "pool_size": self.pool_size,
            "space_samples": self.space_samples,
            "mutants": self.mutants,
            "samples": self.samples,
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
        if self.model == "objectives":
            ready = sum(len(rows) for rows, _ in self._observed.values()) >= self.initial_design
            model_budget = self.budget if ready else None
        else:
            filled = [b for b in self.rungs if len(self._observed[b][0]) >= self.initial_design]
            model_budget = filled[-1] if filled else None
        if model_budget is None:  # the initial design
            sampled = self._sampled_rows()
            sampled = sampled[free[sampled]]
            if sampled.size >= n:
                return self._rng.choice(sampled, size=n, replace=False)
            return self._rng.choice(free_rows, size=n, replace=False)
        small = free_rows.size <= self.pool_size  # score every free cell: no sampling, no mutants needed
        pool = free_rows if small else self._rng.choice(free_rows, size=self.pool_size, replace=False)
        if self.model == "objectives":
            return self._select_objectives(n, budget, free, pool, small)
        return self._select_scalarised(n, budget, free, pool, small, model_budget)

    def _free(self, budget: int) -> np.ndarray:
        """Rows a bracket starting at ``budget`` may draw: in the search space, not evaluated at ``budget`` or above."""
        free = self.search_mask().copy()
        for b in self.rungs:
            if b >= budget:
                free &= ~self.evaluated_mask(b)
        return free

    def _sampled_rows(self) -> np.ndarray:
        """Table rows of ``space_samples`` draws of the space's sampler (drawn once per run; rows it lacks dropped)."""
        if self._sampled is None:
            rows = np.zeros(0, dtype=np.int64)
            if self.space_samples and self.space.holds_every_configuration:
                configs = self.space.search_space.sample(self.space_samples, self._rng)
                rows = np.array([self.space.config_row(c) for c in configs], dtype=np.int64)
                rows = rows[rows >= 0]
                rows = np.unique(rows[self.search_mask()[rows]])
            self._sampled = rows
        return self._sampled

    def _mutants(self, parents: np.ndarray, budget: int, exclude: set[int], free: np.ndarray) -> np.ndarray:
        extra: set[int] = set()
        for k in range(self.mutants if parents.size else 0):
            child = mutate(self, int(parents[k % parents.size]), budget, exclude | extra, unseen=False)
            if child >= 0 and free[child]:
                extra.add(child)
        return np.fromiter(extra, dtype=np.int64, count=len(extra))

    def _levels(self, budgets: np.ndarray) -> np.ndarray:
        """The budget as a model input: log budget scaled to [0, 1] over the rungs (1 = the top budget)."""
        low, high = np.log(self.rungs[0]), np.log(self.rungs[-1])
        if high <= low:
            return np.ones(len(budgets))
        return (np.log(np.asarray(budgets, dtype=np.float64)) - low) / (high - low)

    def _select_objectives(self, n: int, budget: int, free: np.ndarray, pool: np.ndarray, small: bool) -> np.ndarray:
        """qParEGO: one GP per objective over every rung; a new weight per pick, EI of the top-budget posterior."""
        rows = np.concatenate([np.asarray(self._observed[b][0], dtype=np.int64) for b in self.rungs])
        F = np.vstack([np.asarray(self._observed[b][1]).reshape(-1, self.n_obj) for b in self.rungs])
        budgets = np.concatenate([np.full(len(self._observed[b][0]), b) for b in self.rungs])
        low, high = F.min(axis=0), F.max(axis=0)
        F = (F - low) / np.where(high > low, high - low, 1.0)  # bounds over every budget, as SMAC3 normalises
        X = np.column_stack([self.space.model_inputs(rows), self._levels(budgets)])
        self._objective_models.fit(X, F)
        top = budgets == self.budget
        # the incumbents: observed top-budget values, or (none yet) the model's top-budget means of the observed
        if top.any():
            incumbents, parent_rows, parent_F = F[top], rows[top], F[top]
        else:
            incumbents = self._objective_models.predict(np.column_stack([X[:, :-1], np.ones(rows.size)]))[0]
            parent_rows, parent_F = rows, F
        candidates = pool
        if not small:
            parents = parent_rows[rank_select(parent_F, min(10, parent_rows.size), ordered=True)]
            sampled = self._sampled_rows()
            candidates = np.union1d(pool, self._mutants(parents, budget, set(), free))
            candidates = np.union1d(candidates, sampled[free[sampled]])
        mean, std = self._objective_models.predict(
            np.column_stack([self.space.model_inputs(candidates), np.ones(candidates.size)])
        )
        normal = self._rng.standard_normal((self.samples, self.n_obj))
        open_ = np.ones(candidates.size, dtype=bool)
        chosen: list[int] = []
        for _ in range(min(n, candidates.size)):
            weights = self._weights[self._rng.integers(len(self._weights))]
            best = float(augmented_tchebycheff(incumbents, weights).min())
            score = scalarised_expected_improvement(mean, std, weights, best, normal)
            score[~open_] = -1.0
            top_scores = np.flatnonzero(score >= score.max() * (1 - 1e-9))
            pick = int(self._rng.choice(top_scores))
            open_[pick] = False
            chosen.append(int(candidates[pick]))
        return np.array(chosen, dtype=np.int64)

    def _select_scalarised(
        self, n: int, budget: int, free: np.ndarray, pool: np.ndarray, small: bool, model_budget: int
    ) -> np.ndarray:
        """Knowles' ParEGO: a GP of the scalarised observations at ``model_budget``, a new weight per pick."""
        rows = np.array(self._observed[model_budget][0])
        F = np.array(self._observed[model_budget][1])
        low, high = F.min(axis=0), F.max(axis=0)
        normalised = (F - low) / np.where(high > low, high - low, 1.0)
        chosen: list[int] = []
        for _ in range(n):
            weights = self._weights[self._rng.integers(len(self._weights))]
            scalar = augmented_tchebycheff(normalised, weights)
            parents = rows[np.argsort(scalar)[:5]] if not small else rows[:0]
            candidates = np.union1d(pool, self._mutants(parents, budget, set(chosen), free))
            candidates = candidates[~np.isin(candidates, np.array(chosen, dtype=np.int64))]
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

    def _condition(self, model_budget: int, rows: np.ndarray, scalar: np.ndarray) -> None:
        """Fit hyperparameters once per (budget, data size); then only swap the scalarised targets."""
        key = (model_budget, rows.size)
        if key != self._model_key:
            self._model.fit(self.space.model_inputs(rows), scalar)
            self._model_key = key
        else:
            self._model.set_targets(scalar)
