"""`TableTarget`: an ecnas table as the objective function of an outside optimizer (SMAC3, Optuna, pymoo, your loop).

The one place where an outside proposal meets the table:

1. a proposal that is not a valid configuration of the table's space (:meth:`ecnas.spaces.SearchSpace.is_valid`)
   is answered with the penalty vector (the table's hypervolume reference point,
   :func:`ecnas.optimizers.reference_point`) **without a query** and counted in ``rejections["invalid"]``;
2. a valid configuration the table lacks (or has no results for at that budget) likewise, as ``not_in_table``;
3. a configuration already evaluated at that budget is answered from the run's own history, free, as
   ``duplicate`` (table lookups are deterministic; paying twice would favour optimizers that never repeat);
4. anything else is a paid query: it enters the history, the simulated search cost and the evaluation count.

Budgets: an outside multi-fidelity optimizer may ask for any budget (SMAC3's Hyperband asks ``4/3`` epochs on a
1/2/4-epoch table); it is served by the nearest table budget **at or below** it
(:func:`ecnas.optimizers._multifidelity.table_budget`), never a larger, costlier one.

Limits (``max_evaluations`` distinct paid queries, ``max_energy`` simulated kWh, ``max_epochs`` simulated
training epochs) make :attr:`TableTarget.done` true; a peer loop checks it before each proposal, and
:meth:`TableTarget.result` records which limit ended the run.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas.optimizers._multifidelity import table_budget
from ecnas.optimizers._problem import HISTORY_METRICS, TableProblem, describe_table, reference_point
from ecnas.optimizers._result import Result

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark

__all__ = ["TableTarget"]


class TableTarget:
    """Evaluate outside configurations on a table, keep the paid history, and hand back an ecnas Result.

    Args:
        bench: the open table.
        objectives: minimised objectives; None = validation error and energy.
        budget: target budget (the front's); None = the table's largest.
        max_evaluations: distinct paid queries allowed (None: unlimited).
        max_energy: simulated kWh allowed (None: unlimited).
        max_epochs: simulated training epochs allowed, summed over paid queries (None: unlimited).

    Attributes:
        space: the table's search space bounded by what it holds (proposals are validated against it).
        penalty: the objective vector answered for rejected proposals (the table's reference point).
        rejections: free answers: ``invalid``, ``not_in_table``, ``duplicate``.
    """

    def __init__(
        self,
        bench: Benchmark,
        *,
        objectives: Sequence[str] | None = None,
        budget: int | None = None,
        max_evaluations: int | None = None,
        max_energy: float | None = None,
        max_epochs: float | None = None,
    ) -> None:
        self.bench = bench
        self.problem = TableProblem(bench, objectives)
        self.budget = int(bench.check_budget(budget))
        self.budgets = tuple(b for b in bench.budgets if b <= self.budget)
        self.penalty = np.asarray(reference_point(bench, self.problem.objectives, self.budget), dtype=np.float64)
        self.max_evaluations = max_evaluations
        self.max_energy = max_energy
        self.max_epochs = max_epochs
        self.space = self.problem.space.search_space
        self.rejections = {"invalid": 0, "not_in_table": 0, "duplicate": 0}
        self._history: dict[str, list[Any]] = {key: [] for key in ("hash", "budget", "F", *HISTORY_METRICS)}
        self._answers: dict[tuple[int, int], np.ndarray] = {}
        self._energy = 0.0
        self._epochs = 0.0
        self._top = 0
        self._stop = ("unknown", "")
        self._started = time.perf_counter()

    def configspace(self, seed: int | None = None) -> Any:
        """The ConfigSpace of the table: its space bounded by what it holds (NB101: its largest cell).

        The same space ecnas's own optimizers search (a 4-vertex table: 6 edges and 2 ops, not NB101's 21 and 5).
        """
        return self.space.configspace(seed=seed)

    @property
    def objectives(self) -> tuple[str, ...]:
        """Objective names, in order."""
        return self.problem.objectives

    @property
    def n_evaluations(self) -> int:
        """Paid queries so far."""
        return len(self._history["hash"])

    @property
    def energy_kwh(self) -> float:
        """Simulated energy of the paid queries so far."""
        return self._energy

    @property
    def done(self) -> bool:
        """True once a limit is reached (then :meth:`result` records which)."""
        if self.max_evaluations is not None and self.n_evaluations >= self.max_evaluations:
            self._stop = ("max_evaluations", f"{self.n_evaluations} distinct paid evaluations")
        elif self.max_energy is not None and self._energy >= self.max_energy:
            self._stop = ("max_energy", f"{self._energy:.6g} kWh spent of max_energy={self.max_energy:g} kWh")
        elif self.max_epochs is not None and self._epochs >= self.max_epochs:
            self._stop = ("max_evaluations", f"{self._epochs:g} simulated epochs spent of {self.max_epochs:g}")
        elif self._top >= self.problem.available(self.budget).size:
            self._stop = ("exhausted", f"every table cell ({self._top}) evaluated at the target budget {self.budget}")
        else:
            return False
        return True

    def stop(self, reason: str, detail: str) -> None:
        """Record why the outside optimizer ended early (e.g. ``"exhausted"``, it proposes only duplicates)."""
        self._stop = (reason, detail)

    def table_budget(self, budget: float | None) -> int:
        """The table budget serving a requested budget: the nearest at or below it (None = the target budget)."""
        if budget is None:
            return self.budget
        return min(table_budget(self.bench.budgets, budget), self.budget)

    def row(self, configuration: Any, budget: int) -> int:
        """Table row of a proposal, or -1 (counted as a rejection) when it is invalid or not in the table.

        ``configuration``: a ConfigSpace configuration or its dict, or a raw configuration of the space.
        """
        space = self.space
        if not space.is_valid(configuration):
            self.rejections["invalid"] += 1
            return -1
        if isinstance(configuration, Mapping) or hasattr(configuration, "get_dictionary"):
            config = space.from_configspace(configuration)
        else:
            config = space.validate(configuration)
        table_space = self.problem.space
        row = table_space.row_of(space.key(config))
        if row < 0 and not table_space.holds_every_configuration:
            row = table_space.nearest_row(config, self.problem.available_mask(budget))
        if row < 0 or not self.problem.available_mask(budget)[row]:
            self.rejections["not_in_table"] += 1
            return -1
        return row

    def evaluate(self, configuration: Any, budget: float | None = None) -> np.ndarray:
        """Objective vector (minimised) of one proposal at a budget; see the module docstring for the rules."""
        b = self.table_budget(budget)
        row = self.row(configuration, b)
        if row < 0:
            return self.penalty.copy()
        return self.evaluate_row(row, b)

    def evaluate_row(self, row: int, budget: int) -> np.ndarray:
        """Objective vector of a table row at a table budget (paid once; repeats are free duplicates)."""
        answer = self._answers.get((row, budget))
        if answer is not None:
            self.rejections["duplicate"] += 1
            return answer.copy()
        key = self.problem.space.hashes[row]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            F, metrics = self.problem.evaluate(np.array([key]), budget)
        history = self._history
        history["hash"].append(key.decode("ascii"))
        history["budget"].append(budget)
        history["F"].append(F[0].tolist())
        for name in HISTORY_METRICS:
            history[name].append(float(metrics[name][0]))
        energy = float(metrics["energy_kwh"][0])
        self._energy += energy if math.isfinite(energy) else 0.0
        self._epochs += budget
        self._top += budget == self.budget
        self._answers[(row, budget)] = F[0]
        return F[0].copy()

    def result(self, *, algorithm: str, seed: int | None = None, settings: Mapping[str, Any] | None = None) -> Result:
        """The paid history as an ecnas :class:`~ecnas.optimizers.Result`, with the reason the run ended."""
        self.done  # noqa: B018 - records a reached limit
        reason, detail = self._stop
        return Result(
            algorithm=algorithm,
            seed=seed,
            objectives=self.objectives,
            budget=self.budget,
            history=self._history,
            rejections=self.rejections,
            settings=settings,
            table=describe_table(self.bench),
            elapsed_s=time.perf_counter() - self._started,
            stop_reason=reason,
            stop_detail=detail,
        )
