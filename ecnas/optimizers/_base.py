"""The optimizer contract: ``ask()`` → cells, ``tell(cells, F)``; ``run()`` only loops the two.

Template methods: the public :meth:`Optimizer.ask` / :meth:`Optimizer.tell` check the protocol and keep the
books (history, rejections, which cells were evaluated at which budget); subclasses fill the private hooks
:meth:`Optimizer._ask` and :meth:`Optimizer._tell`, which work with table rows and trust their inputs.
Algorithms register by name with :func:`register`.
"""

from __future__ import annotations

import abc
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeVar

import numpy as np

from ecnas._registry import Registry
from ecnas._validation import check_int
from ecnas.optimizers._problem import HISTORY_METRICS, TableProblem, describe_table
from ecnas.optimizers._result import Result

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark

__all__ = ["Candidate", "Optimizer", "get_optimizer", "optimizer_names", "optimizer_options", "register", "run"]

_T = TypeVar("_T", bound="type[Optimizer]")


class Candidate(NamedTuple):
    """One proposed evaluation: a cell (by hash) at a training budget (epochs)."""

    hash: str
    budget: int


def register(name: str) -> Callable[[_T], _T]:
    """Class decorator adding an optimizer to the registry under ``name``.

    Raises:
        ValueError: ``name`` is already registered (names must be unique).
    """
    return _REGISTRY.class_decorator(name)


def optimizer_names() -> list[str]:
    """Names of every registered optimizer, in registration order."""
    return _REGISTRY.names()


def get_optimizer(name: str) -> type[Optimizer]:
    """The optimizer class registered under ``name``.

    Raises:
        ValueError: unknown name; the message lists the valid ones.
    """
    return _REGISTRY.get(name)


def optimizer_options(name: str) -> dict[str, Any]:
    """Algorithm-specific keyword options of an optimizer and their defaults (besides the common ones)."""
    import inspect

    common = {"self", "bench", "seed", "max_evaluations", "budget", "objectives", "max_energy", "kwargs"}
    options: dict[str, Any] = {}
    for cls in reversed(get_optimizer(name).__mro__):
        if "__init__" in vars(cls) and issubclass(cls, Optimizer):
            for parameter in inspect.signature(vars(cls)["__init__"]).parameters.values():
                if parameter.name not in common and parameter.kind is parameter.KEYWORD_ONLY:
                    options[parameter.name] = parameter.default
    return options


def _check_energy(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not value > 0:
        raise ValueError(f"max_energy must be None or a number > 0 (simulated kWh), got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"max_energy must be finite, got {value!r}")
    return float(value)


def _resolve_seed(seed: Any) -> int:
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    raise ValueError(f"seed must be None or an int >= 0, got {seed!r}")


class Optimizer(abc.ABC):
    """A multi-objective optimizer over the cells of one ecnas table.

    Args:
        bench: the benchmark (table) to search.
        seed: seed of the run's generator; None draws one (recorded in the result).
        max_evaluations: number of table queries the run may make; None = the algorithm's default.
        budget: epochs at which the front is reported (for multi-fidelity algorithms: the top budget);
            must be one of ``bench.budgets``; None = the largest.
        objectives: objective names (:data:`ecnas.optimizers.OBJECTIVES`), minimised; None =
            ``("validation_error", "energy_kwh")``.
        max_energy: simulated energy (kWh, as the table records it) the run may spend on evaluations: it
            stops at the first ask once this much is spent (the last batch may overshoot;
            :meth:`Result.truncated` cuts a history at an exact energy). With ``max_energy`` and no
            ``max_evaluations``, evaluations are not limited. None = no energy limit.

    Raises:
        ValueError: an argument is out of range (the message names it).
    """

    #: Registry name, set by :func:`register`.
    name: ClassVar[str] = ""
    #: True when the algorithm also evaluates cells at budgets below the target budget.
    multi_fidelity: ClassVar[bool] = False
    #: Evaluations when ``max_evaluations`` is None.
    default_max_evaluations: ClassVar[int] = 100

    def __init__(
        self,
        bench: Benchmark,
        *,
        seed: int | None = None,
        max_evaluations: int | None = None,
        budget: int | None = None,
        objectives: Sequence[str] | None = None,
        max_energy: float | None = None,
    ) -> None:
        self.bench = bench
        self.seed = _resolve_seed(seed)
        self.problem = TableProblem(bench, objectives)
        self.space = self.problem.space
        budget = bench.check_budget(budget)
        self.budget = int(budget)
        if self.problem.available(self.budget).size == 0:
            raise ValueError(
                f"table {bench.path.name} has no cell with {list(self.problem.metrics)} at {self.budget} epochs, "
                f"so objectives {list(self.problem.objectives)} cannot be evaluated; choose other objectives "
                "(e.g. validation_error,training_time for a table without energy) or another budget"
            )
        self._max_evaluations = None if max_evaluations is None else check_int("max_evaluations", max_evaluations)
        self.max_energy = _check_energy(max_energy)
        if self.max_energy is not None and self.problem.space.available(self.budget, ("energy_kwh",)).size == 0:
            raise ValueError(f"max_energy needs a table with energy; {bench.path.name} records none at {self.budget}")
        self._spent_energy = 0.0
        self._stop_detail = ""
        self._rng = np.random.default_rng(self.seed)
        self._history: dict[str, list[Any]] = {key: [] for key in ("hash", "budget", "F", *HISTORY_METRICS)}
        self._evaluated: dict[int, np.ndarray] = {}
        self._seen = np.zeros(len(self.space), dtype=bool)
        self.rejections: dict[str, int] = {"invalid": 0, "not_in_table": 0, "duplicate": 0, "random_fallback": 0}
        self._pending: list[Candidate] | None = None
        self._pending_rows: np.ndarray | None = None
        self._exhausted = False
        self._space_mask: np.ndarray | None = None
        self._space_rows: np.ndarray | None = None
        self._started = time.perf_counter()

    # ------------------------------------------------------------------ configuration
    @property
    def max_evaluations(self) -> int:
        """Table queries the run may make."""
        if self._max_evaluations is None:
            if self.max_energy is not None:  # the energy limit binds, not a count
                self._max_evaluations = len(self.space) * len(self._search_budgets())
            else:
                self._max_evaluations = self._default_evaluations()
        return self._max_evaluations

    def _default_evaluations(self) -> int:
        """Hook: evaluations when ``max_evaluations`` is None (may depend on the table's budgets)."""
        return self.default_max_evaluations

    def settings(self) -> dict[str, Any]:
        """The algorithm's options (JSON-able), recorded in the result; subclasses extend it."""
        settings: dict[str, Any] = {"max_evaluations": self.max_evaluations, "budget": self.budget}
        if self.max_energy is not None:
            settings["max_energy"] = self.max_energy
        return settings

    @property
    def objectives(self) -> tuple[str, ...]:
        """Objective names, in column order of ``F``."""
        return self.problem.objectives

    @property
    def n_obj(self) -> int:
        """Number of objectives."""
        return self.problem.n_obj

    # ------------------------------------------------------------------ protocol
    @property
    def n_evaluations(self) -> int:
        """Evaluations told so far."""
        return len(self._history["hash"])

    @property
    def done(self) -> bool:
        """True once the evaluation budget is spent or the algorithm has nothing left to propose."""
        return self._exhausted or self.n_evaluations >= self.max_evaluations or self._energy_spent()

    def _energy_spent(self) -> bool:
        return self.max_energy is not None and self._spent_energy >= self.max_energy

    @property
    def stop_reason(self) -> tuple[str, str]:
        """Why the run ended (:data:`ecnas.optimizers.STOP_REASONS`) and a sentence saying more."""
        n, limit = self.n_evaluations, self.max_evaluations
        if self._exhausted:
            detail = self._stop_detail or "the algorithm had nothing left to propose"
            return "exhausted", f"{detail} after {n} of {limit} allowed evaluations"
        if self._energy_spent():
            return "max_energy", f"{self._spent_energy:.6g} kWh spent of max_energy={self.max_energy:g} kWh"
        if n >= limit:
            return "max_evaluations", f"{n} evaluations"
        return "unknown", f"not finished: {n} of {limit} evaluations"

    def ask(self) -> list[Candidate]:
        """Cells to evaluate next, each at a budget; an empty list once :attr:`done`.

        Raises:
            RuntimeError: the previous batch has not been told yet.
        """
        if self._pending is not None:
            raise RuntimeError("tell() the results of the previous ask() before asking again")
        if self.done:
            return []
        limit = self.max_evaluations - self.n_evaluations
        rows, budgets = self._ask(limit)
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        budgets = np.broadcast_to(np.asarray(budgets, dtype=np.int64), rows.shape)
        if rows.size == 0:
            self._exhausted = True
            return []
        if rows.size > limit:
            raise RuntimeError(f"{type(self).__name__}._ask returned {rows.size} cells, more than the {limit} allowed")
        self._pending = [Candidate(self.space.hash(r), int(b)) for r, b in zip(rows, budgets, strict=True)]
        self._pending_rows = rows
        return list(self._pending)

    def tell(self, cells: Sequence[Candidate], F: Any, *, metrics: Mapping[str, Any] | None = None) -> None:
        """Report the objective values of the cells returned by the last :meth:`ask`.

        Args:
            cells: exactly the candidates :meth:`ask` returned, in the same order.
            F: `n x m` finite objective values (minimised), one row per cell.
            metrics: optional per-cell columns for the history (:data:`HISTORY_METRICS`, e.g. the simulated
                ``training_time`` and ``energy_kwh`` of each evaluation); missing ones are recorded as NaN.

        Raises:
            RuntimeError: nothing was asked.
            ValueError: ``cells`` differ from what was asked, or ``F`` has the wrong shape or non-finite values.
        """
        if self._pending is None or self._pending_rows is None:
            raise RuntimeError("tell() called without a pending ask()")
        if [tuple(c) for c in cells] != [tuple(c) for c in self._pending]:
            raise ValueError("cells must be exactly the candidates returned by the last ask(), in order")
        n = len(self._pending)
        values = np.asarray(F, dtype=np.float64)
        if values.shape != (n, self.n_obj):
            raise ValueError(
                f"F must have shape ({n}, {self.n_obj}) (cells x objectives {list(self.objectives)}), "
                f"got {values.shape}"
            )
        if not np.isfinite(values).all():
            raise ValueError("F must be finite; drop failed evaluations by telling finite values only")
        rows, budgets = self._pending_rows, np.array([c.budget for c in self._pending], dtype=np.int64)
        self._pending = self._pending_rows = None
        history = self._history
        history["hash"].extend(c.hash for c in cells)
        history["budget"].extend(budgets.tolist())
        history["F"].extend(values.tolist())
        for name in HISTORY_METRICS:
            column = None if metrics is None else metrics.get(name)
            history[name].extend([math.nan] * n if column is None else np.asarray(column, dtype=float).tolist())
        for budget in np.unique(budgets):
            self.evaluated_mask(int(budget))[rows[budgets == budget]] = True
        self._seen[rows] = True
        if metrics is not None and metrics.get("energy_kwh") is not None:
            self._spent_energy += float(np.nansum(np.asarray(metrics["energy_kwh"], dtype=float)))
        self._tell(rows, budgets, values)

    def run(self) -> Result:
        """Ask, evaluate on the table and tell until :attr:`done`; return the :class:`Result`."""
        while not self.done:
            cells = self.ask()
            if not cells:
                break
            budgets = np.array([c.budget for c in cells])
            hashes = np.array([c.hash for c in cells])
            F = np.empty((len(cells), self.n_obj))
            metrics = {name: np.empty(len(cells)) for name in HISTORY_METRICS}
            for budget in np.unique(budgets):
                pick = budgets == budget
                F[pick], columns = self.problem.evaluate(hashes[pick], int(budget))
                for name in HISTORY_METRICS:
                    metrics[name][pick] = columns[name]
            self.tell(cells, F, metrics=metrics)
        return self.result()

    def result(self) -> Result:
        """The history so far as a :class:`Result`."""
        return Result(
            algorithm=self.name,
            seed=self.seed,
            objectives=self.objectives,
            budget=self.budget,
            history=self._history,
            rejections=self.rejections,
            settings=self.settings(),
            table=describe_table(self.bench),
            elapsed_s=time.perf_counter() - self._started,
            stop_reason=self.stop_reason[0],
            stop_detail=self.stop_reason[1],
        )

    # ------------------------------------------------------------------ state the operators read
    @property
    def rng(self) -> np.random.Generator:
        """The run's generator (seeded from :attr:`seed`); operators draw from it, never from a global one."""
        return self._rng

    def seen_mask(self) -> np.ndarray:
        """Boolean mask over rows: evaluated at any budget (a live view; do not modify)."""
        return self._seen

    # ------------------------------------------------------------------ helpers for subclasses
    def _search_budgets(self) -> tuple[int, ...]:
        """Budgets a proposed cell may be evaluated at (multi-fidelity algorithms: every rung)."""
        return (self.budget,)

    def search_mask(self) -> np.ndarray:
        """Rows of the search space: table cells with results at every budget of :meth:`_search_budgets`."""
        if self._space_mask is None:
            mask = np.ones(len(self.space), dtype=bool)
            for budget in self._search_budgets():
                mask &= self.problem.available_mask(budget)
            mask.setflags(write=False)
            self._space_mask = mask
            self._space_rows = np.flatnonzero(mask)
        return self._space_mask

    def search_rows(self) -> np.ndarray:
        """Rows of :meth:`search_mask`, sorted."""
        self.search_mask()
        assert self._space_rows is not None
        return self._space_rows

    def evaluated_mask(self, budget: int) -> np.ndarray:
        """Boolean mask over rows: evaluated at ``budget`` (a live view; do not modify)."""
        mask = self._evaluated.get(budget)
        if mask is None:
            mask = self._evaluated[budget] = np.zeros(len(self.space), dtype=bool)
        return mask

    # ------------------------------------------------------------------ hooks
    @abc.abstractmethod
    def _ask(self, limit: int) -> tuple[np.ndarray, np.ndarray | int]:
        """Propose between 1 and ``limit`` evaluations: table rows and their budgets.

        Never propose a (row, budget) pair already evaluated. Return no rows when nothing is left.
        """

    @abc.abstractmethod
    def _tell(self, rows: np.ndarray, budgets: np.ndarray, F: np.ndarray) -> None:
        """Take the objective values of the rows proposed by the last :meth:`_ask`."""


def run(
    name: str,
    bench: Benchmark | str | os.PathLike[str] | None,
    *,
    seed: int | None = 0,
    max_evaluations: int | None = None,
    budget: int | None = None,
    objectives: Sequence[str] | None = None,
    **options: Any,
) -> Result:
    """Run the optimizer registered as ``name`` on a table.

    Args:
        name: registry name, e.g. ``"semoa"`` (see :func:`optimizer_names`).
        bench: an open :class:`~ecnas.Benchmark`, a table path, or None for the embedded default table.
        seed: seed of the run (same seed, same history).
        max_evaluations: table queries allowed; None = the algorithm's default.
        budget: epochs of the reported front (the top budget for multi-fidelity algorithms).
        objectives: minimised objectives; None = ``("validation_error", "energy_kwh")``.
        **options: algorithm options (e.g. ``population_size=10`` for ``semoa``).

    Returns:
        The run's :class:`Result`.
    """
    cls = get_optimizer(name)
    if bench is None or isinstance(bench, (str, os.PathLike)):
        from ecnas.benchmark import Benchmark

        with Benchmark(bench) as opened:
            return cls(
                opened, seed=seed, max_evaluations=max_evaluations, budget=budget, objectives=objectives, **options
            ).run()
    return cls(bench, seed=seed, max_evaluations=max_evaluations, budget=budget, objectives=objectives, **options).run()


#: Registered plug-ins by name (defined after their base class, which it checks).
_REGISTRY: Registry[type[Optimizer]] = Registry("optimizer", base=Optimizer)
