"""`Result`: the full history of one optimizer run, its Pareto front and its simulated search cost."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas import indicators
from ecnas._io import atomic_write_text, jsonable
from ecnas.optimizers._problem import HISTORY_METRICS

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark

__all__ = ["RESULT_FORMAT", "STOP_REASONS", "Result"]

#: Why a run ended: its evaluation or energy budget was spent, or the algorithm had nothing left to propose.
STOP_REASONS: tuple[str, ...] = ("max_evaluations", "max_energy", "exhausted", "unknown")

RESULT_FORMAT = "ecnas-optimizer-result"
_FORMAT_VERSION = 1


def _floats(values: Any) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _key_of(bench: Benchmark, configuration: Any, index: int) -> str:
    """The table key of one configuration of an outside history (ValueError naming its index otherwise)."""
    space = bench.space
    try:
        if isinstance(configuration, str):
            key = configuration
        elif isinstance(configuration, Mapping) or hasattr(configuration, "get_dictionary"):
            if not space.is_valid(configuration):  # a configuration of the table's bounded space (peers use it)
                space = space.for_table(bench.columns())
            key = space.key(space.from_configspace(configuration))
        else:
            key = space.key(space.validate(configuration))
        bench.query(key)  # KeyError when absent; counters restored by the caller
    except (KeyError, ValueError, TypeError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        raise ValueError(f"configurations[{index}] cannot be read from {bench.path.name}: {message}") from None
    return key


class Result:
    """What an optimizer run evaluated, in order, and what it found.

    ``history`` is columnar: ``evaluation`` (0, 1, …), ``hash``, ``budget`` (epochs), ``F`` (`n x m`
    objective values, minimised), and per evaluation its ``trainable_parameters``, ``training_time`` (s),
    ``validation_accuracy``, ``test_accuracy`` and ``energy_kwh`` — the simulated cost of training that
    cell to that budget (NB101 trains every budget from scratch, so each evaluation costs its full budget).

    The front is built from evaluations at the run's target ``budget`` only (multi-fidelity runs also
    evaluate at lower budgets; those results steer the search but are never reported as found).

    Args:
        algorithm: registry name of the optimizer.
        seed: the seed the run used.
        objectives: objective names, in column order of ``F``.
        budget: target budget (epochs) the front is reported at.
        history: the columns above.
        rejections: counts of proposals rejected before evaluation — free internal redraws, never table
            queries and never part of the history or the search cost (``invalid``: not a valid cell;
            ``not_in_table``: valid but absent from the table or without results; ``duplicate``: already
            evaluated; ``random_fallback``: proposals replaced by a random cell after too many rejections).
            Paid queries are the history's rows.
        settings: the optimizer's options.
        table: description of the table (path, name, cells, budgets, ``view`` and ``noise``: which values the
            run evaluated, see :class:`ecnas.Benchmark`).
        elapsed_s: wall-clock time of the run.
        stop_reason: why the run ended (:data:`STOP_REASONS`: ``max_evaluations``, ``max_energy``,
            ``exhausted`` — the algorithm had nothing left to propose, e.g. every table cell evaluated — or
            ``unknown`` for results written before it was recorded); ``stop_detail`` says more.
    """

    def __init__(
        self,
        *,
        algorithm: str,
        seed: int | None,
        objectives: Sequence[str],
        budget: int,
        history: Mapping[str, Any],
        rejections: Mapping[str, int] | None = None,
        settings: Mapping[str, Any] | None = None,
        table: Mapping[str, Any] | None = None,
        elapsed_s: float = math.nan,
        stop_reason: str = "unknown",
        stop_detail: str = "",
    ) -> None:
        self.algorithm = str(algorithm)
        self.seed = seed
        self.objectives = tuple(objectives)
        self.budget = int(budget)
        n = len(history["hash"])
        m = len(self.objectives)
        self.history: dict[str, np.ndarray] = {
            "evaluation": np.arange(n, dtype=np.int64),
            "hash": np.asarray(history["hash"], dtype="U32").reshape(n),
            "budget": np.asarray(history["budget"], dtype=np.int64).reshape(n),
            "F": np.asarray(history["F"], dtype=np.float64).reshape(n, m),
        }
        for name in HISTORY_METRICS:
            column = history.get(name)
            self.history[name] = np.full(n, np.nan) if column is None else _floats(column).reshape(n)
        self.rejections = {str(k): int(v) for k, v in (rejections or {}).items()}
        self.settings = dict(settings or {})
        self.table = dict(table or {})
        self.elapsed_s = float(elapsed_s)
        if stop_reason not in STOP_REASONS:
            raise ValueError(f"stop_reason must be one of {list(STOP_REASONS)}, got {stop_reason!r}")
        self.stop_reason = stop_reason
        self.stop_detail = str(stop_detail)
        self._front_index: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.history["hash"].shape[0])

    def __repr__(self) -> str:
        return (
            f"Result(algorithm={self.algorithm!r}, seed={self.seed}, evaluations={len(self)}, "
            f"front={len(self.front_index)}, budget={self.budget})"
        )

    @property
    def view(self) -> str:
        """The table view the run evaluated (``"measured"`` or ``"surrogate"``; results before views: measured)."""
        return str(self.table.get("view", "measured"))

    @property
    def n_evaluations(self) -> int:
        """Number of evaluations (table queries) the run made."""
        return len(self)

    @property
    def front_index(self) -> np.ndarray:
        """History rows of the non-dominated evaluations at the target budget (one per cell), by objective 0."""
        if self._front_index is None:
            at_budget = np.flatnonzero(self.history["budget"] == self.budget)
            _, first = np.unique(self.history["hash"][at_budget], return_index=True)
            rows = at_budget[np.sort(first)]
            F = self.history["F"][rows]
            rows = rows[indicators.is_nondominated(F)] if rows.size else rows
            order = np.lexsort(self.history["F"][rows].T[::-1])
            self._front_index = rows[order]
        return self._front_index

    @property
    def front(self) -> np.ndarray:
        """`k x m` non-dominated objective vectors (evaluations at the target budget), sorted by objective 0."""
        return self.history["F"][self.front_index]

    @property
    def front_hashes(self) -> list[str]:
        """Hashes of the front's cells, in the order of :attr:`front`."""
        return self.history["hash"][self.front_index].tolist()

    @property
    def search_cost(self) -> dict[str, float]:
        """Simulated cost of every evaluation made: training time (s) and energy (kWh), summed.

        A sum is NaN when some evaluation lacks the metric (e.g. a table without energy): unknown, not zero.
        """
        return {
            "evaluations": float(len(self)),
            "training_time_s": float(np.sum(self.history["training_time"])),
            "energy_kwh": float(np.sum(self.history["energy_kwh"])),
        }

    @property
    def top_budget_evaluations(self) -> int:
        """Distinct cells evaluated at the target budget (the equal-cost unit of single-fidelity comparisons)."""
        return int(np.unique(self.history["hash"][self.history["budget"] == self.budget]).size)

    def truncated(self, *, max_energy: float | None = None, max_evaluations: int | None = None) -> Result:
        """The run as if stopped earlier: the longest prefix of the history within both limits.

        ``max_energy`` keeps the evaluations whose cumulative simulated energy (kWh) stays at or below it (equal
        energy comparisons of multi-fidelity runs); ``max_evaluations`` keeps the first that many evaluations.
        The copy's ``stop_reason`` names the limit that cut it (unchanged when nothing was cut).

        Raises:
            ValueError: a limit is negative, or ``max_energy`` is given but the run has unknown energies.
        """
        n = len(self)
        keep, reason = n, self.stop_reason
        if max_evaluations is not None:
            if max_evaluations < 0:
                raise ValueError(f"max_evaluations must be >= 0, got {max_evaluations}")
            if max_evaluations < keep:
                keep, reason = int(max_evaluations), "max_evaluations"
        if max_energy is not None:
            if not max_energy >= 0:
                raise ValueError(f"max_energy must be a number >= 0 (kWh), got {max_energy!r}")
            spent = np.cumsum(self.history["energy_kwh"])
            if np.isnan(spent[-1:]).any():
                raise ValueError("max_energy needs the energy of every evaluation; this run has unknown energies")
            within = int(np.searchsorted(spent, max_energy * (1 + 1e-12), side="right"))
            if within < keep:
                keep, reason = within, "max_energy"
        history = {key: value[:keep] for key, value in self.history.items() if key != "evaluation"}
        return Result(
            algorithm=self.algorithm,
            seed=self.seed,
            objectives=self.objectives,
            budget=self.budget,
            history=history,
            rejections=self.rejections,
            settings=self.settings,
            table=self.table,
            elapsed_s=self.elapsed_s,
            stop_reason=reason,
            stop_detail=self.stop_detail if reason == self.stop_reason else f"truncated at {keep} of {n} evaluations",
        )

    def hypervolume(self, ref: Sequence[float]) -> float:
        """Hypervolume of :attr:`front` with respect to ``ref``."""
        return indicators.hypervolume(self.front, ref)

    def hypervolume_trace(self, ref: Sequence[float]) -> np.ndarray:
        """Hypervolume of the target-budget evaluations so far, after each evaluation (length ``n``).

        Lower-budget evaluations add nothing (they count as the reference point) but still take a step.
        """
        reference = np.asarray(ref, dtype=np.float64)
        F = self.history["F"].copy()
        F[self.history["budget"] != self.budget] = reference
        if F.shape[0] == 0:
            return np.zeros(0)
        return indicators.hypervolume_trace(F, reference)

    def row(self, index: int) -> dict[str, Any]:
        """One history row as a dict (hash, budget, objectives by name, metrics)."""
        out: dict[str, Any] = {
            "evaluation": int(index),
            "hash": str(self.history["hash"][index]),
            "budget": int(self.history["budget"][index]),
        }
        out.update({name: float(v) for name, v in zip(self.objectives, self.history["F"][index], strict=True)})
        out.update({name: float(self.history[name][index]) for name in HISTORY_METRICS})
        return out

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (NaN written as null); :meth:`from_dict` restores it exactly."""
        return jsonable(
            {
                "format": RESULT_FORMAT,
                "format_version": _FORMAT_VERSION,
                "algorithm": self.algorithm,
                "seed": self.seed,
                "objectives": list(self.objectives),
                "budget": self.budget,
                "settings": self.settings,
                "table": self.table,
                "elapsed_s": self.elapsed_s,
                "rejections": self.rejections,
                "stop_reason": self.stop_reason,
                "stop_detail": self.stop_detail,
                "search_cost": self.search_cost,
                "history": {key: value for key, value in self.history.items() if key != "evaluation"},
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Result:
        """Rebuild a result written by :meth:`to_dict`.

        Raises:
            ValueError: ``data`` is not an ecnas optimizer result of a known version.
        """
        if not isinstance(data, Mapping) or data.get("format") != RESULT_FORMAT:
            found = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise ValueError(f"not an ecnas optimizer result (format {found!r}, expected {RESULT_FORMAT!r})")
        if data.get("format_version") != _FORMAT_VERSION:
            version = data.get("format_version")
            raise ValueError(f"result format version {version!r}; this ecnas reads version {_FORMAT_VERSION}")
        history = dict(data["history"])
        history["F"] = np.array(
            [[np.nan if v is None else v for v in row] for row in history["F"]], dtype=np.float64
        ).reshape(len(history["hash"]), len(data["objectives"]))
        elapsed = data.get("elapsed_s")
        return cls(
            algorithm=data["algorithm"],
            seed=data.get("seed"),
            objectives=data["objectives"],
            budget=data["budget"],
            history=history,
            rejections=data.get("rejections"),
            settings=data.get("settings"),
            table=data.get("table"),
            elapsed_s=math.nan if elapsed is None else elapsed,
            stop_reason=data.get("stop_reason", "unknown"),
            stop_detail=data.get("stop_detail", ""),
        )

    @classmethod
    def from_history(
        cls,
        bench: Benchmark,
        configurations: Sequence[Any],
        budgets: Sequence[float] | float | None = None,
        *,
        algorithm: str = "external",
        seed: int | None = None,
        objectives: Sequence[str] | None = None,
        budget: int | None = None,
        rejections: Mapping[str, int] | None = None,
        settings: Mapping[str, Any] | None = None,
        elapsed_s: float = math.nan,
        stop_reason: str = "unknown",
        stop_detail: str = "",
    ) -> Result:
        """An outside optimizer's history (SMAC3, Optuna, hand-written loops) as an ecnas :class:`Result`.

        Objective values and metrics are read back from the table, so fronts, hypervolume traces and the
        simulated search cost are computed exactly as for ecnas's own optimizers. Reading them does not change
        ``bench.counters`` (the outside run already paid for these queries).

        Args:
            bench: the open table the history was evaluated on.
            configurations: evaluated configurations, in order: table keys, ConfigSpace configurations, their
                dicts, or raw configurations of the table's space (NB101: CellSpec or ``(matrix, ops)``).
            budgets: the budget of each evaluation, or one for all; fractional budgets (SMAC's ``4/3``) map to
                the nearest table budget at or below them. None = ``budget``.
            algorithm: name recorded in the result.
            seed: the outside run's seed.
            objectives: minimised objectives; None = validation error and energy.
            budget: target budget of the front; None = the table's largest.
            rejections: the outside run's free redraws (e.g. invalid proposals answered without a query).
            settings: the outside run's options.
            elapsed_s: its wall-clock time.
            stop_reason: why it ended (:data:`STOP_REASONS`).
            stop_detail: more about it.

        Raises:
            ValueError: a configuration is invalid or absent from the table, or a budget is below the
                table's smallest (the message gives the index).
        """
        import warnings

        from ecnas.optimizers._multifidelity import table_budget
        from ecnas.optimizers._problem import OBJECTIVES, check_objectives, describe_table

        names = check_objectives(objectives)
        target = bench.check_budget(budget)
        n = len(configurations)
        if budgets is None or np.ndim(budgets) == 0:
            budgets = [target if budgets is None else budgets] * n
        if len(budgets) != n:
            raise ValueError(f"budgets must give one budget per configuration ({n}), got {len(budgets)}")
        F = np.full((n, len(names)), np.nan)
        metrics = {name: np.full(n, np.nan) for name in HISTORY_METRICS}
        saved = dict(bench.counters)
        try:
            keys = [_key_of(bench, config, i) for i, config in enumerate(configurations)]
            mapped = np.array([table_budget(bench.budgets, b) for b in budgets], dtype=np.int64)
            for b in np.unique(mapped):
                pick = np.flatnonzero(mapped == b)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    columns = bench.query_many(np.array([keys[i] for i in pick], dtype="S32"), budget=int(b))
                for j, name in enumerate(names):
                    F[pick, j] = OBJECTIVES[name].values(columns)
                for name in HISTORY_METRICS:
                    metrics[name][pick] = columns[name]
        finally:
            bench.counters.update(saved)
        missing = np.flatnonzero(~np.isfinite(F).all(axis=1))
        if missing.size:
            i = int(missing[0])
            raise ValueError(
                f"configurations[{i}] ({keys[i]}) has no recorded {list(names)} at budget {int(mapped[i])} "
                f"in {bench.path.name}; {missing.size} evaluation(s) lack results"
            )
        return cls(
            algorithm=algorithm,
            seed=seed,
            objectives=names,
            budget=target,
            history={"hash": keys, "budget": mapped, "F": F, **metrics},
            rejections=rejections,
            settings=settings,
            table=describe_table(bench),
            elapsed_s=elapsed_s,
            stop_reason=stop_reason,
            stop_detail=stop_detail,
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` as JSON, atomically (temporary file + rename)."""
        return atomic_write_text(path, json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Result:
        """Read a result written by :meth:`save`.

        Raises:
            ValueError: the file is not valid JSON or not an optimizer result (names the file).
        """
        path = Path(path)
        try:
            with open(path, encoding="utf-8") as stream:
                data = json.load(stream)
            return cls.from_dict(data)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError, RecursionError) as error:
            raise ValueError(f"{path}: not a readable ecnas optimizer result: {error}") from None
