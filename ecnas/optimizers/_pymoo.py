"""pymoo adapter: any pymoo algorithm searches a table through ``pymoo.optimize.minimize``.

Encoding: the box encoding of the table's search space (:meth:`ecnas.spaces.SearchSpace.vector_bounds`). For
NB101 (integer variables): the upper triangle of a ``V x V`` adjacency matrix (``V`` = the table's largest
cell), row by row, as 0/1 variables, then the ``V - 2`` interior ops as 0/1/2 (``conv3x3``, ``conv1x1``,
``maxpool``); real-valued variables are rounded and clipped, so pymoo's default real operators work too. For a
hyperparameter space: the unit cube, one real variable per parameter; since such a table holds only a sample of
its space, a vector is evaluated as the closest stored configuration
(:meth:`~ecnas.optimizers.TableSpace.nearest_row`).

A vector that decodes to an invalid configuration, or to a valid cell the table lacks (or has no results for), is
infeasible: its constraint value is 1 and its objectives are the table's hypervolume reference point — it is
never evaluated, never scored as zero energy, and never appears in pymoo's result (only feasible solutions
do). :class:`TableSampling` starts a population from random table cells.

    >>> from pymoo.algorithms.moo.nsga2 import NSGA2          # doctest: +SKIP
    >>> from pymoo.optimize import minimize                    # doctest: +SKIP
    >>> problem = as_pymoo_problem(bench)                      # doctest: +SKIP
    >>> res = minimize(problem, NSGA2(pop_size=20, sampling=TableSampling()), ("n_gen", 20), seed=1)  # doctest: +SKIP
    >>> problem.result(algorithm="nsga2", seed=1).front        # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pymoo.core.problem import Problem
from pymoo.core.sampling import Sampling

from ecnas.optimizers._problem import HISTORY_METRICS, TableProblem, describe_table, reference_point
from ecnas.optimizers._result import Result

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark

__all__ = ["TablePymooProblem", "TableSampling", "as_pymoo_problem"]


class TablePymooProblem(Problem):
    """A table as a constrained pymoo problem (see the module docstring for the encoding).

    Args:
        bench: the benchmark.
        budget: epochs every evaluation is queried at (default: the table's largest).
        objectives: minimised objectives (default: validation error and energy).

    Attributes:
        rejections: vectors that decoded to an ``invalid`` cell or to one ``not_in_table``.
    """

    def __init__(self, bench: Benchmark, *, budget: int | None = None, objectives: Sequence[str] | None = None) -> None:
        self.table_problem = TableProblem(bench, objectives)
        self.space = self.table_problem.space
        budget = bench.check_budget(budget)
        self.budget = int(budget)
        self.search_space = self.space.search_space
        self.penalty = np.asarray(reference_point(bench, self.table_problem.objectives, self.budget))
        self.rejections = {"invalid": 0, "not_in_table": 0}
        self._log: dict[str, list[Any]] = {key: [] for key in ("hash", "budget", "F", *HISTORY_METRICS)}
        self._started = time.perf_counter()
        xl, xu = self.search_space.vector_bounds()
        super().__init__(
            n_var=xu.size,
            n_obj=self.table_problem.n_obj,
            n_ieq_constr=1,
            xl=xl,
            xu=xu,
            vtype=int if self.search_space.vector_integer else float,
        )

    # ------------------------------------------------------------------ encoding
    def decode(self, x: Sequence[float]) -> int:
        """Table row of a decision vector, -1 when it is not an evaluable configuration of the table."""
        config = self.search_space.from_vector(np.asarray(x, dtype=np.float64))
        if config is None:
            self.rejections["invalid"] += 1
            return -1
        row = self.space.config_row(config)
        if row < 0 and not self.space.holds_every_configuration:
            row = self.space.nearest_row(config, self.table_problem.available_mask(self.budget))
        if row < 0 or not self.table_problem.available_mask(self.budget)[row]:
            self.rejections["not_in_table"] += 1
            return -1
        return row

    def encode(self, row: int) -> np.ndarray:
        """Decision vector of a table row."""
        return self.search_space.to_vector(self.space.cell(row))

    # ------------------------------------------------------------------ evaluation
    def _evaluate(self, X: np.ndarray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        X = np.atleast_2d(X)
        rows = np.array([self.decode(x) for x in X], dtype=np.int64)
        valid = rows >= 0
        F = np.tile(self.penalty, (X.shape[0], 1))
        G = np.ones((X.shape[0], 1))
        if valid.any():
            hashes = self.space.hashes[rows[valid]]
            F[valid], metrics = self.table_problem.evaluate(hashes, self.budget)
            G[valid] = 0.0
            log = self._log
            log["hash"].extend(h.decode("ascii") for h in hashes)
            log["budget"].extend([self.budget] * int(valid.sum()))
            log["F"].extend(F[valid].tolist())
            for name in HISTORY_METRICS:
                log[name].extend(metrics[name].tolist())
        out["F"] = F
        out["G"] = G

    def result(self, *, algorithm: str = "pymoo", seed: int | None = None) -> Result:
        """Every feasible evaluation so far as an ecnas :class:`~ecnas.optimizers.Result`."""
        return Result(
            algorithm=algorithm,
            seed=seed,
            objectives=self.table_problem.objectives,
            budget=self.budget,
            history=self._log,
            rejections=self.rejections,
            settings={"budget": self.budget},
            table=describe_table(self.table_problem.bench),
            elapsed_s=time.perf_counter() - self._started,
        )


class TableSampling(Sampling):
    """Initial population of distinct random table cells (all feasible), for any pymoo algorithm."""

    def _do(
        self, problem: TablePymooProblem, n_samples: int, *args: Any, random_state: Any = None, **kwargs: Any
    ) -> np.ndarray:
        if not isinstance(problem, TablePymooProblem):
            raise TypeError(f"TableSampling needs a problem made by as_pymoo_problem, got {type(problem).__name__}")
        rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
        rows = problem.table_problem.available(problem.budget)
        chosen = rng.choice(rows, size=min(int(n_samples), rows.size), replace=False)
        return np.array([problem.encode(int(r)) for r in chosen])


def as_pymoo_problem(
    bench: Benchmark, *, budget: int | None = None, objectives: Sequence[str] | None = None
) -> TablePymooProblem:
    """A pymoo problem over a table's cells: use with ``pymoo.optimize.minimize`` and any algorithm.

    Args:
        bench: the benchmark.
        budget: epochs every evaluation is queried at (default: the table's largest).
        objectives: minimised objectives (default: validation error and energy).

    Returns:
        A :class:`TablePymooProblem`; its :meth:`~TablePymooProblem.result` turns the evaluations into an
        ecnas :class:`~ecnas.optimizers.Result`.
    """
    return TablePymooProblem(bench, budget=budget, objectives=objectives)
