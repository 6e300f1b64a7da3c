"""MS-EHVI: Bayesian optimisation with one Gaussian process per objective and exact 2-D EHVI.

After the MS-EHVI baseline of Izquierdo et al. (2021) used in EC-NAS, rebuilt without Ax/BoTorch: an initial
design of random cells, then per step an independent GP per objective on the cells' EC-NAS features
(:meth:`~ecnas.optimizers.TableSpace.model_inputs`), and the cell maximising the exact expected hypervolume
improvement (:mod:`~ecnas.optimizers._acquisition`) over a candidate pool of the discrete space: random
unevaluated cells, cells drawn once from the space's prior (small cells a uniform row draw misses) and mutants
of the current front (the whole unevaluated table when it is small). The initial design is drawn from the
space's prior (:func:`~ecnas.optimizers._operators.sample_rows`).
The EHVI reference point is the worst observed value of each objective plus 10 % of its observed range.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas import indicators
from ecnas._validation import check_int
from ecnas.optimizers._acquisition import expected_hypervolume_improvement
from ecnas.optimizers._base import Optimizer, register
from ecnas.optimizers._gp import GaussianProcess, single_threaded_blas
from ecnas.optimizers._operators import mutate, random_rows, sample_rows, selection_reference

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark

__all__ = ["MSEHVI"]


@register("msehvi")
class MSEHVI(Optimizer):
    """Expected-hypervolume-improvement Bayesian optimisation over the table's cells (two objectives).

    Args:
        bench: the benchmark to search.
        initial_design: random cells evaluated before the model is used.
        pool_size: random unevaluated cells scored per step (all of them when fewer remain).
        mutants: mutants of front cells added to the pool per step.
        prior_candidates: cells drawn once from the space's prior (:func:`~ecnas.optimizers._operators.sample_rows`)
            that stay in the pool until evaluated: the prior reaches the small cells a uniform row draw misses.
        refit_every: refit GP hyperparameters every this many steps (the targets are updated every step).
        **kwargs: ``seed``, ``max_evaluations`` (default 110, EC-NAS's budget), ``budget``, ``objectives``
            (exactly two).
    """

    default_max_evaluations = 110

    def __init__(
        self,
        bench: Benchmark,
        *,
        initial_design: int = 10,
        pool_size: int = 3000,
        mutants: int = 30,
        prior_candidates: int = 4000,
        refit_every: int = 5,
        **kwargs: Any,
    ) -> None:
        super().__init__(bench, **kwargs)
        if self.n_obj != 2:
            raise ValueError(f"msehvi's exact EHVI needs exactly two objectives, got {list(self.objectives)}")
        self.initial_design = check_int("initial_design", initial_design, 2)
        self.pool_size = check_int("pool_size", pool_size, 1)
        self.mutants = check_int("mutants", mutants, 0)
        self.prior_candidates = check_int("prior_candidates", prior_candidates, 0)
        self._prior: np.ndarray | None = None
        self.refit_every = check_int("refit_every", refit_every, 1)
        self._rows: list[int] = []
        self._F: list[np.ndarray] = []
        self._models = [GaussianProcess(), GaussianProcess()]
        self._steps = 0

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            "initial_design": self.initial_design,
            "pool_size": self.pool_size,
            "mutants": self.mutants,
            "prior_candidates": self.prior_candidates,
            "refit_every": self.refit_every,
        }

    def _ask(self, limit: int) -> tuple[np.ndarray, int]:
        if len(self._rows) < self.initial_design:
            n = min(limit, self.initial_design - len(self._rows))
            return sample_rows(self, self.budget, n), self.budget
        pool = self._pool()
        if pool.size == 0:
            return pool, self.budget
        with single_threaded_blas():
            score = self._ehvi(pool)
        best = np.flatnonzero(score >= score.max() * (1 - 1e-9)) if score.max() > 0 else np.arange(pool.size)
        if score.max() <= 0:  # no improvement predicted anywhere: explore by predictive uncertainty
            best = np.array([int(np.argmax(self._uncertainty))])
        return np.array([pool[int(self._rng.choice(best))]]), self.budget

    def _pool(self) -> np.ndarray:
        free = self.search_rows()
        free = free[~self.evaluated_mask(self.budget)[free]]
        if free.size <= self.pool_size:
            return free
        if self._prior is None:
            self._prior = sample_rows(self, self.budget, self.prior_candidates, unseen=False)
        pool = set(random_rows(self, self.budget, self.pool_size).tolist())
        pool.update(self._prior[~self.evaluated_mask(self.budget)[self._prior]].tolist())
        F = np.array(self._F)
        front = np.array(self._rows)[indicators.is_nondominated(F)]
        for k in range(self.mutants):
            child = mutate(self, int(front[k % front.size]), self.budget, pool, unseen=False)
            if child >= 0:
                pool.add(child)
        return np.array(sorted(pool), dtype=np.int64)

    def _ehvi(self, pool: np.ndarray) -> np.ndarray:
        X = self.space.model_inputs(np.array(self._rows))
        F = np.array(self._F)
        refit = self._steps % self.refit_every == 0
        self._steps += 1
        means, stds = [], []
        for j, model in enumerate(self._models):
            model.fit(X, F[:, j], optimise=refit, restarts=int(self._steps % 10 == 1))
            mean, std = model.predict(self.space.model_inputs(pool))
            means.append(mean)
            stds.append(std)
        mean, std = np.column_stack(means), np.column_stack(stds)
        spread = F.max(axis=0) - F.min(axis=0)
        self._uncertainty = (std / np.where(spread > 0, spread, 1.0)).sum(axis=1)
        return expected_hypervolume_improvement(mean, std, F, selection_reference(F))

    def _tell(self, rows: np.ndarray, budgets: np.ndarray, F: np.ndarray) -> None:
        self._rows.extend(rows.tolist())
        self._F.extend(F)
