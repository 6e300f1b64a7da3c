"""`Result`: the full history of one optimizer run, its Pareto front and its simulated search cost."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ecnas import indicators
from ecnas._io import atomic_write_text, jsonable
from ecnas.optimizers._problem import HISTORY_METRICS

__all__ = ["RESULT_FORMAT", "Result"]

RESULT_FORMAT = "ecnas-optimizer-result"
_FORMAT_VERSION = 1


def _floats(values: Any) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


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
        rejections: counts of proposals rejected before evaluation (``invalid``: not a valid cell;
            ``not_in_table``: valid but absent from the table or without results; ``duplicate``: already
            evaluated; ``random_fallback``: proposals replaced by a random cell after too many rejections).
        settings: the optimizer's options.
        table: description of the table (path, name, cells, budgets).
        elapsed_s: wall-clock time of the run.
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
        self._front_index: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.history["hash"].shape[0])

    def __repr__(self) -> str:
        return (
            f"Result(algorithm={self.algorithm!r}, seed={self.seed}, evaluations={len(self)}, "
            f"front={len(self.front_index)}, budget={self.budget})"
        )

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
