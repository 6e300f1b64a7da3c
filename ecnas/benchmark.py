"""`Benchmark`: the query API over an ecnas table — microsecond lookups, vectorised batches, honest energy.

Opening reads only the sorted hash index; each budget's metric block is read (and averaged over
repeats) the first time it is queried, so a table opens in milliseconds and stays small in memory.
"""

from __future__ import annotations

import math
import os
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas.errors import TableFormatError, TableNotFoundError, ViewUnavailableError
from ecnas.metrics import NOMINAL_LEVELS, OBJECTIVES, check_level, check_objectives
from ecnas.spaces import SearchSpace
from ecnas.spaces.nb101.lookup import HashIndex, hash_words
from ecnas.table import (
    METRICS,
    SOURCE_NAMES,
    SOURCE_SURROGATE,
    open_table,
    provenance_summary,
    read_dataset,
    read_hashes,
    read_surrogate_values,
    table_attributes,
    table_space,
)
from ecnas.tables import resolve_table

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_TABLE_NAME", "OUT_OF_FOLD", "STD_SUFFIX", "VIEWS", "Benchmark", "default_table_path"]

#: File name of the embedded default table (in ``ecnas/_data`` when installed, ``data/`` in a checkout).
DEFAULT_TABLE_NAME = "ecnas-tiny-7v.h5"
_HASH_PATTERN = re.compile(r"[0-9a-f]{32}")
_ENERGY = METRICS.index("energy_kwh")
_TIME = METRICS.index("training_time")
_VALID = METRICS.index("validation_accuracy")
_SOURCE_LIST = [SOURCE_NAMES[k] for k in sorted(SOURCE_NAMES)]
#: Views of a table: ``measured`` serves measured (and imported) rows as measured and the others as predicted;
#: ``surrogate`` serves every row by the surrogate, measured rows by an out-of-fold prediction.
VIEWS = ("measured", "surrogate")
#: ``source`` of a measured or imported row in the surrogate view: its value is an out-of-fold prediction.
OUT_OF_FOLD = "out-of-fold"
_SURROGATE_SOURCE_LIST = [SOURCE_NAMES[k] if k == SOURCE_SURROGATE else OUT_OF_FOLD for k in sorted(SOURCE_NAMES)]
#: Suffix of the columns giving the surrogate's standard deviation of a metric (``energy_kwh_std``).
STD_SUFFIX = "_std"
_STD_NAMES = [name + STD_SUFFIX for name in METRICS]
_CO2_STD = "co2eq_g" + STD_SUFFIX
_STD_COLUMNS = [*_STD_NAMES, _CO2_STD]
#: Columns of a budget's cached block: every metric's value (mean over repeats), then the spreads.
_BLOCK_COLUMNS = [*METRICS, *_STD_COLUMNS]
_M = len(METRICS)
_ACCURACIES = frozenset(("train_accuracy", "validation_accuracy", "test_accuracy"))
#: Configurations keyed one by one (NB101: md5 rounds, ~0.1 ms each) before the space's structure index (NB101:
#: ~0.15 s to build for the whole space, then ~10 µs per cell) is built: one-off queries stay cheap, long runs
#: amortise the index.
_HASHED_BEFORE_INDEX = 1000


def _is_nonnegative_number(value: object) -> bool:
    try:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
    except OverflowError:  # an int beyond float range (10**400) is no intensity either
        return False


def default_table_path() -> Path:
    """Where the embedded default table lives (``$ECNAS_DEFAULT_TABLE`` overrides).

    Raises:
        TableNotFoundError: no default table is installed.
    """
    override = os.environ.get("ECNAS_DEFAULT_TABLE")
    here = Path(__file__).resolve().parent
    candidates = [Path(override)] if override else []
    candidates += [here / "_data" / DEFAULT_TABLE_NAME, here.parent / "data" / DEFAULT_TABLE_NAME]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise TableNotFoundError(
        f"no embedded default table is installed (looked for {looked}); pass a table path, build one with "
        "`ecnas build run`, or import EC-NAS/NB101 data with `ecnas import`"
    )


class Benchmark:
    """Query accuracy, training time, energy and CO2 of the configurations of an ecnas table.

    Configurations are understood through the table's search space (:attr:`space`): NB101 cells for
    ``nb101`` tables (a CellSpec, a ``(matrix, ops)`` pair, a ConfigSpace configuration is validated by the
    space first), a parameter mapping for hyperparameter spaces; a key string is looked up directly.

    Args:
        path: an ecnas table, or the name of an embedded table (``"ecnas-5v"``, ``"ecnas-4v-rtx3090"``; see
            :func:`ecnas.tables.table_names`); ``None`` opens the embedded default table.
        view: ``"measured"`` (default): measured and imported rows as measured, the others as the surrogate
            predicted them — what the table stores. ``"surrogate"``: every row valued by the surrogate, measured
            rows by an out-of-fold prediction (a model that never saw the row; ``source`` says
            ``"out-of-fold"``), so measured cells keep no noise the predicted ones lack; needs a table with
            ``surrogate_values`` (:data:`VIEWS`).
        noise: with ``view="surrogate"``, add measured noise back to every evaluation (:meth:`query`,
            :meth:`query_many`): a residual drawn from the spread between the repeats of the table's measured
            cells at that budget (:meth:`noise_model`). Needs a table with repeats (``repeats > 1``); a table
            with one repeat cannot tell measurement noise from the surrogate's error and is refused.
        carbon_intensity: gCO2/kWh used to price CO2; ``None`` uses the intensity recorded in the table.
        seed: seed of the generator behind ``repeat="random"``, :meth:`sample` and ``noise``.

    Every result carries ``<metric>_std``: the surrogate's standard deviation of the value served (calibrated
    when the table's provenance ``calibration`` says so). In the measured view it is NaN for measured and
    imported rows (their values are not the surrogate's); in either view it is NaN where the table stores no
    spread (tables without ``uncertainty``).

    Raises:
        TableNotFoundError: the path (or the default table) does not exist.
        TableFormatError: the file is not a complete, intact ecnas table.
        ViewUnavailableError: the table cannot serve the view or the noise (the message says why and the fix).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        view: str = "measured",
        noise: bool = False,
        carbon_intensity: float | None = None,
        seed: int | None = None,
    ) -> None:
        if carbon_intensity is not None and not _is_nonnegative_number(carbon_intensity):
            raise ValueError(f"carbon_intensity must be a finite number >= 0 (gCO2/kWh), got {carbon_intensity!r}")
        if view not in VIEWS:
            raise ValueError(f"view must be one of {list(VIEWS)}, got {view!r}")
        if not isinstance(noise, (bool, np.bool_)):
            raise TypeError(f"noise must be True or False, got {noise!r}")
        if noise and view != "surrogate":
            raise ValueError(
                "noise=True adds measured noise to the surrogate's values; it needs view='surrogate' (the measured "
                "view already serves measured values with their noise)"
            )
        self._view = view
        self._noise = bool(noise)
        # An embedded table's name ("ecnas-5v", see ecnas.tables) opens its file.
        self.path = resolve_table(path) if path is not None else default_table_path()
        self._h5 = open_table(self.path)
        try:
            self._load(carbon_intensity, seed)
        except BaseException:
            self._h5.close()  # a table rejected after opening must not keep its file handle
            raise

    def _load(self, carbon_intensity: float | None, seed: int | None) -> None:
        attributes = table_attributes(self._h5)
        self._attributes = attributes
        self._space: SearchSpace = table_space(self._h5)
        self._key_name = "an NB101 hash" if self._space.name == "nb101" else f"a key of space {self._space.name!r}"
        self._budgets: tuple[int, ...] = attributes["budgets"]
        self._repeats: int = attributes["repeats"]
        self._provenance: dict[str, Any] = attributes["provenance"]
        self._hash_array: np.ndarray = read_hashes(self._h5)
        if len(self._hash_array) > 1 and not (self._hash_array[1:] > self._hash_array[:-1]).all():
            raise TableFormatError(f"{self.path}: corrupt table, cells/hash is not strictly sorted")
        if carbon_intensity is not None:
            self._intensity = float(carbon_intensity)
            self._intensity_source = "configured (Benchmark carbon_intensity)"
        else:
            recorded = self._provenance.get("carbon_intensity")
            self._intensity = float(recorded) if isinstance(recorded, (int, float)) else math.nan
            self._intensity_source = self._provenance.get("intensity_source", "table")
        pue = self._provenance.get("pue")
        self._pue = float(pue) if isinstance(pue, (int, float)) and math.isfinite(pue) and pue > 0 else 1.0
        # Every result names how its energy was obtained: measured with what, or estimated how.
        self._energy_method = str(self._provenance.get("energy_method", "unknown"))
        self._co2_per_kwh = self._pue * self._intensity
        self._num_cells = len(self._hash_array)
        self._budget_lookup: dict[int | None, int] = {budget: k for k, budget in enumerate(self._budgets)}
        self._budget_lookup[None] = len(self._budgets) - 1
        self._rng = np.random.default_rng(seed)
        self._raw: dict[int, np.ndarray] = {}
        self._mean: dict[int, np.ndarray] = {}
        self._cell_arrays: dict[str, np.ndarray] = {}
        self._hash_list: list[str] | None = None
        self._structures: Any = None
        self._hashed_cells = 0
        self._hash_index: HashIndex | None = None
        self._fronts: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._parameters = self._cells("trainable_parameters")
        self._sources = self._cells("source")
        self._blocks: dict[int, np.ndarray] = {}
        self._source_list = _SURROGATE_SOURCE_LIST if self._view == "surrogate" else _SOURCE_LIST
        self._source_labels = np.array(self._source_list)
        self._residuals: dict[int, np.ndarray] = {}
        if self._view == "surrogate" and "surrogate_values" not in self._h5:
            raise ViewUnavailableError(
                f"{self.path}: the table stores no surrogate values (group surrogate_values: the surrogate's "
                "out-of-fold predictions of its measured rows), so view='surrogate' cannot value its measured cells; "
                "use view='measured', or regenerate the table with out-of-fold surrogate values (docs/table-format.md, "
                "section Views)"
            )
        if self._noise and self._repeats < 2:
            raise ViewUnavailableError(
                f"{self.path}: noise=True samples measured noise from the spread between repeats of the same cell, "
                f"and this table has {self._repeats} repeat per cell: its measured noise cannot be told apart from "
                "the surrogate's error (out-of-fold residuals mix both, so they would overstate it). Use a table "
                "with repeats, or draw your own noise from the <metric>_std columns (the surrogate's spread)"
            )
        self.reset_counters()

    # ------------------------------------------------------------------ table facts
    @property
    def budgets(self) -> tuple[int, ...]:
        """Training budgets (epochs) in the table, ascending."""
        return self._budgets

    @property
    def repeats(self) -> int:
        """Repeats per (cell, budget)."""
        return self._repeats

    @property
    def hashes(self) -> list[str]:
        """Hashes of every cell, sorted."""
        if self._hash_list is None:
            self._hash_list = self._hash_array.astype("U32").tolist()
        return self._hash_list

    @property
    def hash_array(self) -> np.ndarray:
        """Hashes of every cell as a sorted `S32` array (cheap; for vectorised work)."""
        return self._hash_array

    @property
    def space(self) -> SearchSpace:
        """The table's search space (:func:`ecnas.spaces.get_space` of the name the file records)."""
        return self._space

    def columns(self) -> dict[str, np.ndarray]:
        """The space's stored columns of every row (read once, then cached; for vectorised work)."""
        return {c.name: self._cells(c.name) for c in self._space.columns}

    @property
    def trainable_parameters(self) -> np.ndarray:
        """`N` trainable parameters of every row (row order of :attr:`hash_array`)."""
        return self._parameters

    def recorded(self, budget: int, metrics: Sequence[str]) -> np.ndarray:
        """Boolean mask of rows with a recorded value (any repeat) of every metric at ``budget``.

        Says which entries exist, not what they are: it does not count as a query.
        """
        b = self._budget_index(budget)
        raw = self._raw_block(b)
        present = np.ones(self._num_cells, dtype=bool)
        for metric in metrics:
            present &= np.isfinite(raw[:, METRICS.index(metric), :]).any(axis=1)
        return present

    @property
    def view(self) -> str:
        """The view served: ``"measured"`` or ``"surrogate"`` (:data:`VIEWS`)."""
        return self._view

    @property
    def noise(self) -> bool:
        """Whether evaluations get measured noise added (``Benchmark(..., noise=True)``)."""
        return self._noise

    @property
    def views(self) -> tuple[str, ...]:
        """The views this table can serve (``surrogate`` needs stored surrogate values)."""
        return VIEWS if "surrogate_values" in self._h5 else ("measured",)

    @property
    def carbon_intensity(self) -> float:
        """gCO2/kWh used to price ``co2eq_g``."""
        return self._intensity

    def __len__(self) -> int:
        return len(self._hash_array)

    def __contains__(self, cell: object) -> bool:
        try:
            return self._find(cell) >= 0
        except (ValueError, TypeError):
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self.hashes)

    def __repr__(self) -> str:
        return f"Benchmark({str(self.path)!r}, cells={len(self)}, budgets={self._budgets})"

    def info(self) -> dict[str, Any]:
        """Format, size and provenance: what the numbers are, where they come from, how energy was obtained."""
        sources = np.bincount(self._sources, minlength=len(SOURCE_NAMES))
        return {
            "path": str(self.path),
            "format": self._attributes["format"],
            "format_version": self._attributes["format_version"],
            "search_space": self._attributes["search_space"],
            "num_cells": len(self),
            "budgets": list(self._budgets),
            "repeats": self._repeats,
            "metrics": self._attributes["metrics"],
            "rows_by_source": {SOURCE_NAMES[k]: int(n) for k, n in enumerate(sources) if k in SOURCE_NAMES},
            "view": self._view,
            "views": list(self.views),
            "noise": self._noise,
            "uncertainty": sorted(self._h5["uncertainty"]) if "uncertainty" in self._h5 else [],
            "carbon_intensity": self._intensity,
            "intensity_source": self._intensity_source,
            "pue": self._pue,
            # Says the intensity CO2 is priced with here (a Benchmark(carbon_intensity=...) overrides the table's).
            "summary": provenance_summary(
                {**self._provenance, "carbon_intensity": self._intensity, "intensity_source": self._intensity_source}
            ),
            "provenance": self._provenance,
        }

    # ------------------------------------------------------------------ lookups
    def _cells(self, name: str) -> np.ndarray:
        if name not in self._cell_arrays:
            self._cell_arrays[name] = read_dataset(self._h5, f"cells/{name}")
        return self._cell_arrays[name]

    def check_budget(self, budget: int | None) -> int:
        """``budget`` checked against the table's budgets (``None`` → the largest), as a plain int.

        Raises:
            ValueError: not one of :attr:`budgets`; the message lists them.
        """
        if budget is None:
            return self._budgets[-1]
        is_int = isinstance(budget, (int, np.integer)) and not isinstance(budget, (bool, np.bool_))
        if not is_int or budget not in self._budgets:
            raise ValueError(f"budget must be one of the table's budgets {list(self._budgets)} epochs, got {budget!r}")
        return int(budget)

    def _budget_index(self, budget: int | None) -> int:
        if budget is None:
            return len(self._budgets) - 1
        return self._budgets.index(self.check_budget(budget))

    def _raw_block(self, b: int) -> np.ndarray:
        """`N x metrics x R` values of budget index ``b`` (surrogate view: its value in every repeat)."""
        if b not in self._raw:
            if self._view == "surrogate":
                self._raw[b] = np.repeat(self._mean_block(b)[:, :, None], self._repeats, axis=2)
            else:
                self._raw[b] = self._stored_block(b)
        return self._raw[b]

    def _stored_block(self, b: int) -> np.ndarray:
        """`N x metrics x R` stored values of budget index ``b`` (whatever the view)."""
        return np.stack([read_dataset(self._h5, f"metrics/{m}", np.s_[:, b, :]) for m in METRICS], axis=1)

    def _block(self, b: int) -> np.ndarray:
        """`N x (metrics + spreads)` block of budget index ``b``: values, then :meth:`_std_block`'s columns.

        One contiguous row per cell, so a query reads values and spreads with one ``tolist`` and a batch with one
        gather (as fast as the values alone were).
        """
        block = self._blocks.get(b)
        if block is None:
            block = self._blocks[b] = np.hstack([self._mean_block(b), self._std_block(b)])
            self._mean[b] = block[:, :_M]  # one copy in memory
        return block

    def _mean_block(self, b: int) -> np.ndarray:
        if b not in self._mean:
            if self._view == "surrogate":
                block = np.full((self._num_cells, len(METRICS)), np.nan)
                for k, metric in enumerate(METRICS):
                    values = read_surrogate_values(self._h5, metric, b)
                    if values is not None:
                        block[:, k] = values
                self._mean[b] = block
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN, on purpose
                    self._mean[b] = np.ascontiguousarray(np.nanmean(self._raw_block(b), axis=2))
        return self._mean[b]

    def _std_block(self, b: int) -> np.ndarray:
        """`N x (metrics + 1)` surrogate spreads at budget index ``b`` (last column: CO2); NaN where none.

        Measured view: NaN on measured and imported rows, whose values are not the surrogate's.
        """
        block = np.full((self._num_cells, len(METRICS) + 1), np.nan)
        if "uncertainty" in self._h5:
            for k, metric in enumerate(METRICS):
                if metric in self._h5["uncertainty"]:
                    block[:, k] = read_dataset(self._h5, f"uncertainty/{metric}", np.s_[:, b])
        block[:, -1] = block[:, _ENERGY] * self._co2_per_kwh
        if self._view == "measured":
            block[self._sources != SOURCE_SURROGATE] = np.nan
        else:
            block[np.isnan(self._mean_block(b)).all(axis=1)] = np.nan
        return block

    # ------------------------------------------------------------------ noise
    def _residual_pool(self, b: int) -> np.ndarray:
        """`k x metrics` measured residuals at budget index ``b``: one row per (measured cell, repeat).

        A residual is a repeat's deviation from its cell's mean over repeats, × sqrt(r / (r - 1)) for ``r``
        finite repeats (the unbiased spread): relative (value / mean - 1) for times and energies, which are
        positive and whose noise scales with them; absolute for accuracies. Metrics without any residual at
        that budget get 0 (no noise).
        """
        if b not in self._residuals:
            raw = self._stored_block(b)[self._sources != SOURCE_SURROGATE]  # cells x metrics x R
            count = np.isfinite(raw).sum(axis=2, keepdims=True)
            with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(raw, axis=2, keepdims=True)
                scale = np.sqrt(count / np.maximum(count - 1, 1))
                absolute = (raw - mean) * scale
                relative = (raw / mean - 1.0) * scale
            relative_metric = np.array([m not in _ACCURACIES for m in METRICS])
            residual = np.where(relative_metric[None, :, None], relative, absolute)
            residual[np.broadcast_to(count < 2, residual.shape)] = np.nan
            pairs = residual.transpose(0, 2, 1).reshape(-1, len(METRICS))  # (cell, repeat) x metrics
            available = np.isfinite(pairs).any(axis=0)
            pairs = pairs[np.isfinite(pairs[:, available]).all(axis=1)]
            pairs[:, ~available] = 0.0
            if not len(pairs):
                raise ViewUnavailableError(
                    f"{self.path}: no measured cell has two or more repeats at budget {self._budgets[b]}, so "
                    "noise=True has no measured noise to sample there; query another budget or use noise=False"
                )
            self._residuals[b] = pairs
        return self._residuals[b]

    def _add_noise(self, values: np.ndarray, b: int) -> np.ndarray:
        """`n x metrics` surrogate values with one measured residual row (all metrics of one run) each."""
        pool = self._residual_pool(b)
        drawn = pool[self._rng.integers(0, len(pool), size=len(values))]
        relative = np.array([m not in _ACCURACIES for m in METRICS])
        noisy = np.where(relative, values * (1.0 + drawn), values + drawn)
        accuracy = ~relative
        noisy[:, accuracy] = np.clip(noisy[:, accuracy], 0.0, 1.0)
        positive = np.flatnonzero(relative)
        noisy[:, positive] = np.where(noisy[:, positive] > 0, noisy[:, positive], values[:, positive])
        return noisy

    def interval_z(self, budget: int | None = None, level: float = 0.95) -> dict[str, float]:
        """Per metric (and ``co2eq_g``): the ``level`` interval of a **predicted** value is ``value ± z·<metric>_std``.

        ``z`` is 1 at 68.27%. At 95% it is the surrogate's split-conformal multiplier recorded in the
        provenance (``surrogate.calibration``; 1.8-3.2 on the default table, mostly above 1.96: the errors
        are heavier-tailed than a Gaussian), 1.96 for tables calibrated without one. Out-of-fold values of
        measured rows (the surrogate view) use 1.96: their std is one held-out member's, calibrated on exactly
        those values.
        A budget the surrogate did not fit takes the calibration of the budget it is scaled from.

        Raises:
            ValueError: an unknown budget, or ``level`` other than 0.6827 and 0.95.
            ViewUnavailableError: the table records no calibrated spread.
        """
        b = self._budgets[self._budget_index(budget)]
        if check_level(level) != 0.95:
            return dict.fromkeys([*METRICS, "co2eq_g"], NOMINAL_LEVELS[check_level(level)])
        surrogate = self._provenance.get("surrogate") or {}
        calibration, scaling = surrogate.get("calibration") or {}, surrogate.get("budget_scaling") or {}
        if not calibration:
            raise ViewUnavailableError(
                f"{self.path}: no calibrated surrogate spread is recorded (provenance surrogate.calibration)"
            )
        z: dict[str, float] = {}
        for metric in METRICS:
            rule = str((scaling.get(metric) or {}).get(str(b), "fitted"))
            source = b if rule == "fitted" else int(rule.rsplit(" ", 1)[-1])
            entry = (calibration.get(f"{metric}@{source}") or {}).get("calibration") or {}
            z[metric] = float(entry.get("ensemble_z95") or NOMINAL_LEVELS[0.95])
        z["co2eq_g"] = z["energy_kwh"]  # CO2 is energy priced at one intensity
        return z

    def noise_model(self, budget: int | None = None) -> dict[str, Any]:
        """What ``noise=True`` adds at ``budget``: the residual pool's size and each metric's noise scale.

        Returns:
            ``budget``, ``residuals`` (number of (measured cell, repeat) pairs sampled from), ``repeats``,
            ``scale`` (metric → standard deviation of its residuals; relative for times/energies, absolute for
            accuracies) and ``kind`` (metric → ``"relative"`` / ``"absolute"``).

        Raises:
            ViewUnavailableError: the table has one repeat, or no repeated measurement at that budget.
        """
        if self._repeats < 2:
            raise ViewUnavailableError(
                f"{self.path}: {self._repeats} repeat per cell: no measured noise to sample (see Benchmark noise)"
            )
        b = self._budget_index(budget)
        pool = self._residual_pool(b)
        return {
            "budget": self._budgets[b],
            "residuals": len(pool),
            "repeats": self._repeats,
            "scale": {m: float(np.std(pool[:, k])) for k, m in enumerate(METRICS)},
            "kind": {m: "absolute" if m in _ACCURACIES else "relative" for m in METRICS},
        }

    def _resolve_hash(self, cell: Any) -> str:
        if isinstance(cell, str):
            if not _HASH_PATTERN.fullmatch(cell):
                raise ValueError(f"{cell!r} is not {self._key_name} (32 lowercase hex characters)")
            return cell
        return self._space.key(self._space.validate(cell))

    def _structure_index(self) -> Any:
        if self._structures is None:
            self._structures = self._space.structure_index(self.columns())
        return self._structures

    def _find(self, cell: Any) -> int:
        """Row of a configuration or key; -1 when the table does not hold it."""
        if not isinstance(cell, str):
            config = self._space.validate(cell)
            key = self._space.known_key(config)
            if key is None:
                if self._structures is not None or self._hashed_cells >= _HASHED_BEFORE_INDEX:
                    # Spares the space's key computation (NB101: md5 rounds) whenever a stored row matches.
                    index = self._structure_index()
                    row = index.find(config) if index is not None else -1
                    if row >= 0:
                        return row
                else:
                    self._hashed_cells += 1
                key = self._space.key(config)
            cell = key
        encoded = self._resolve_hash(cell).encode("ascii")
        i = int(self._hash_array.searchsorted(encoded))
        return i if i < self._num_cells and self._hash_array[i] == encoded else -1

    def _row(self, cell: Any) -> int:
        row = self._find(cell)
        if row < 0:
            raise KeyError(f"cell {self._resolve_hash(cell)} is not in table {self.path.name}")
        return row

    def cell(self, cell: Any) -> Any:
        """The configuration (for ``nb101`` a CellSpec) of a row of the table, by key or configuration."""
        i = self._row(cell)
        return self._space.decode(self.columns(), i, self._hash_array[i].decode())

    def query(self, cell: Any, budget: int | None = None, repeat: int | str | None = None) -> dict[str, Any]:
        """Metrics of one cell at one budget.

        Args:
            cell: a key (NB101 hash), or a configuration the table's space validates — for ``nb101`` a
                CellSpec or a ``(matrix, ops)`` tuple, in any vertex order. After a Benchmark's first 1,000
                such cells (hashed, ~0.1 ms each), cells are found by structure without computing NB101's
                hash (~15 µs).
            budget: epochs, one of :attr:`budgets`; ``None`` = the largest.
            repeat: ``None`` = mean over repeats, an int = that repeat, ``"random"`` = one available repeat
                drawn with the benchmark's seeded generator (NB101's behaviour).

        Returns:
            ``hash, budget, repeat, trainable_parameters, training_time, train_accuracy,
            validation_accuracy, test_accuracy, energy_kwh, total_energy_kwh, co2eq_g, source,
            energy_method`` and ``<metric>_std`` of each metric and CO2; NaN where a metric was not recorded
            (never zero). ``source`` says where the row's numbers come from (measured by training, surrogate,
            imported; in the surrogate view ``out-of-fold`` for a measured or imported row); ``energy_method``
            how its energy was obtained (e.g. ``estimated:cpu-time×4.0W/thread`` or
            ``measured:carbontracker[rapl]``). ``<metric>_std`` is the surrogate's standard deviation of the
            value: NaN for measured and imported rows in the measured view and wherever the table stores no
            spread. With ``noise=True`` each call draws new noise (seeded by the Benchmark's ``seed``).

        Raises:
            KeyError: the cell is not in the table, or has no results at that budget/repeat.
            InvalidConfigError: ``cell`` is not a valid configuration of the space (InvalidCellError for NB101).
        """
        # The hot path of every optimizer: kept free of avoidable calls (p50 of a few microseconds).
        if type(cell) is str:
            key = cell
            encoded = key.encode("ascii", "replace")
            i = int(self._hash_array.searchsorted(encoded))
            if i == self._num_cells or self._hash_array[i] != encoded:
                self._row(key)  # raises the precise error
        else:
            i = self._row(cell)
            key = self._hash_array[i].decode()
        b = self._budget_lookup.get(budget)
        if b is None:
            b = self._budget_index(budget)
        block = self._blocks.get(b)
        if block is None:
            block = self._block(b)
        if repeat is None:
            values = block[i].tolist()  # values and spreads
        else:
            raw = self._raw_block(b)[i]
            repeat = self._choose_repeat(raw, repeat)
            values = raw[:, repeat].tolist() + block[i, _M:].tolist()
        if values[_VALID] != values[_VALID] and all(v != v for v in values[:_M]):
            raise KeyError(f"cell {key} has no results at budget {self._budgets[b]} (repeat {repeat})")
        if self._noise:
            values[:_M] = self._add_noise(np.array([values[:_M]]), b)[0].tolist()
        result = dict(zip(_BLOCK_COLUMNS, values))  # noqa: B905 - the hot path; lengths match by construction
        energy = values[_ENERGY]
        result["hash"] = key
        result["budget"] = self._budgets[b]
        result["repeat"] = repeat
        result["trainable_parameters"] = int(self._parameters[i])
        result["co2eq_g"] = energy * self._co2_per_kwh
        result["source"] = self._source_list[self._sources[i]]
        result["energy_method"] = self._energy_method
        with self._counter_lock:  # exact under threads (a lost += would under-report the search cost)
            counters = self.counters
            counters["queries"] += 1
            # NaN propagates on purpose: an unknown cost must not read as a free one.
            counters["training_time_s"] += values[_TIME]
            counters["energy_kwh"] += energy
        return result

    def _choose_repeat(self, raw: np.ndarray, repeat: int | str) -> int:
        if repeat == "random":
            available = np.flatnonzero(~np.isnan(raw).all(axis=0))
            return int(self._rng.choice(available)) if available.size else 0
        return self._checked_repeat(repeat)

    def _checked_repeat(self, repeat: object) -> int:
        if isinstance(repeat, (int, np.integer)) and not isinstance(repeat, bool) and 0 <= repeat < self._repeats:
            return int(repeat)
        raise ValueError(f"repeat must be None, 'random' or an int in [0, {self._repeats}), got {repeat!r}")

    def _rows(self, cells: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Rows of cells (-1 where absent), and their hashes as str when the caller gave str (else None)."""
        if isinstance(cells, np.ndarray) and cells.dtype.kind in "SU":
            strings = cells
        elif isinstance(cells, (list, tuple)) and cells and all(type(c) is str for c in cells):
            strings = np.array(cells)
        else:
            return np.fromiter((self._find(c) for c in cells), dtype=np.intp, count=len(cells)), None
        lengths = np.strings.str_len(strings) if strings.size else np.zeros(0, int)
        if strings.ndim != 1 or (lengths != 32).any():
            bad = strings.ravel()[np.flatnonzero(lengths != 32)[0]] if strings.ndim == 1 else strings
            raise ValueError(f"{bad!r} is not {self._key_name} (32 lowercase hex characters)")
        if self._hash_index is None:  # built on the first batch (~20 ms for the whole space), not at open
            self._hash_index = HashIndex(self._hash_array)
        rows = self._hash_index.find(strings)
        missing = rows < 0
        if missing.any():
            malformed = ~hash_words(strings[missing])[1]
            if malformed.any():
                bad = strings[missing][malformed][0]
                raise ValueError(f"{bad!r} is not {self._key_name} (32 lowercase hex characters)")
        return rows, (strings if strings.dtype.kind == "U" else None)

    def query_many(
        self, cells: Sequence[Any] | np.ndarray, budget: int | None = None, repeat: int | str | None = None
    ) -> dict[str, np.ndarray]:
        """Vectorised :meth:`query`: the same keys (``<metric>_std`` too), each a numpy array with one entry per cell.

        Cells known to the table but without results at that budget/repeat get NaN metrics. The ``repeat``
        column is an int array: the repeat each row comes from, -1 for a mean over repeats (where
        :meth:`query` says ``None``).

        Raises:
            KeyError: some cells are not in the table (the message names the first one and the count).
            ValueError: a hash is malformed; InvalidCellError: a cell is invalid.
        """
        if isinstance(cells, (str, bytes)):
            raise TypeError(f"cells must be a sequence of keys or configurations, got one {type(cells).__name__}; "
                            "use query() for one cell or pass [key]")
        if not isinstance(cells, (np.ndarray, list, tuple)):
            cells = list(cells)
        idx, as_text = self._rows(cells)
        missing = np.flatnonzero(idx < 0)
        if missing.size:
            first = cells[int(missing[0])]
            name = first.decode(errors="replace") if isinstance(first, bytes) else self._resolve_hash(first)
            raise KeyError(f"{missing.size} of {idx.size} cells are not in table {self.path.name}, e.g. {name}")
        result = self._columns(idx, self._budget_index(budget), repeat, as_text, noisy=self._noise)
        with self._counter_lock:  # exact under threads
            self.counters["queries"] += int(idx.size)
            self.counters["training_time_s"] += float(np.sum(result["training_time"]))
            self.counters["energy_kwh"] += float(np.sum(result["energy_kwh"]))
        return result

    def _columns(
        self,
        idx: np.ndarray,
        b: int,
        repeat: int | str | None,
        as_text: np.ndarray | None = None,
        *,
        noisy: bool = False,
    ) -> dict[str, np.ndarray]:
        """Result columns of rows ``idx`` at budget index ``b`` (not counted as queries; ``noisy``: add noise)."""
        if repeat is None:
            rows = np.take(self._block(b), idx, axis=0)  # values and spreads in one gather (take: ~4x fancy indexing)
            repeats = np.full(idx.size, -1)
        else:
            raw = self._raw_block(b)[idx]
            if repeat == "random":
                available = ~np.isnan(raw).all(axis=1)
                draws = self._rng.random(available.shape)
                draws[~available] = -1.0
                repeats = draws.argmax(axis=1)
            else:
                repeats = np.full(idx.size, self._checked_repeat(repeat))
            rows = np.hstack([raw[np.arange(idx.size), :, repeats], self._block(b)[idx, _M:]])
        if noisy:
            rows[:, :_M] = self._add_noise(rows[:, :_M], b)
        result: dict[str, np.ndarray] = {name: rows[:, k] for k, name in enumerate(_BLOCK_COLUMNS)}
        result["hash"] = as_text if as_text is not None else self._hash_array[idx].astype("U32")
        result["budget"] = np.full(idx.size, self._budgets[b])
        result["repeat"] = repeats
        result["trainable_parameters"] = np.take(self._parameters, idx)
        result["co2eq_g"] = result["energy_kwh"] * self._co2_per_kwh
        result["source"] = np.take(self._source_labels, np.take(self._sources, idx))
        result["energy_method"] = np.full(idx.size, self._energy_method)
        return result

    def pareto_front(self, objectives: Sequence[str] | str | None = None, budget: int | None = None) -> dict[str, Any]:
        """The exact Pareto front of the whole table in this view: every non-dominated row at ``budget`` (cached).

        In the surrogate view it is the front of the surrogate's values (measured rows out-of-fold), without
        noise even when ``noise=True``.

        Rows without a recorded value of some objective are not candidates. Rows with equal objective vectors
        on the front are all kept. Reading the table for it does not count as queries.

        Args:
            objectives: minimised objective names (:data:`ecnas.metrics.OBJECTIVES`); None = validation error
                and energy.
            budget: epochs, one of :attr:`budgets`; None = the largest.

        Returns:
            ``hash`` (`k` keys), ``F`` (`k x m` objective values, sorted by the first objective),
            ``objectives`` and ``budget``.
        """
        import moocore

        names = check_objectives(objectives)
        b = self._budget_index(budget)
        cache_key = (names, b, self._co2_per_kwh, self._view)  # noise-free: the front of the view itself
        if cache_key not in self._fronts:
            columns = self._columns(np.arange(self._num_cells), b, None)
            F = np.column_stack([OBJECTIVES[name].values(columns) for name in names])
            finite = np.flatnonzero(np.isfinite(F).all(axis=1))
            keep = finite[np.asarray(moocore.is_nondominated(F[finite], keep_weakly=True), dtype=bool)]
            keep = keep[np.lexsort(F[keep].T[::-1])]
            self._fronts[cache_key] = {
                "hash": self._hash_array[keep].astype("U32"),
                "F": F[keep],
                "objectives": names,
                "budget": self._budgets[b],
            }
        front = self._fronts[cache_key]
        return {"hash": front["hash"].copy(), "F": front["F"].copy(), "objectives": names, "budget": front["budget"]}

    def sample(self, n: int, seed: int | None = None) -> list[str]:
        """``n`` distinct hashes drawn uniformly (seeded; ``seed=None`` uses the benchmark's generator)."""
        if not isinstance(n, (int, np.integer)) or not 0 <= n <= len(self):
            raise ValueError(f"n must be an int in [0, {len(self)}], got {n!r}")
        rng = np.random.default_rng(seed) if seed is not None else self._rng
        chosen = np.sort(rng.choice(len(self), size=int(n), replace=False))
        return self._hash_array[chosen].astype("U32").tolist()

    def to_frame(self, budget: int | None = None, repeat: int | str | None = None) -> pd.DataFrame:
        """All cells at one budget as a pandas DataFrame indexed by hash (needs the ``pandas`` extra).

        Columns as :meth:`query_many` (``<metric>_std`` included), in this view; reading the table adds no noise.
        """
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("to_frame needs pandas: pip install 'ecnas[pandas]'") from None
        # reading the table is not an evaluation: _columns adds nothing to the search-cost counters
        columns = self._columns(np.arange(len(self)), self._budget_index(budget), repeat)
        frame = pd.DataFrame({k: v for k, v in columns.items() if k != "hash"}, index=pd.Index(columns["hash"]))
        frame.index.name = "hash"
        return frame

    # ------------------------------------------------------------------ evaluation counters
    def reset_counters(self) -> None:
        """Zero the evaluation counters (queries, simulated training time and energy).

        The sums become NaN once a queried cell has no time or energy: an unknown cost is not a zero cost.
        Updates hold a lock, so threads sharing one Benchmark get exact sums (``to_frame`` adds nothing).
        """
        if not hasattr(self, "_counter_lock"):
            self._counter_lock = threading.RLock()
        with self._counter_lock:
            self.counters: dict[str, float] = {"queries": 0, "training_time_s": 0.0, "energy_kwh": 0.0}

    def close(self) -> None:
        """Close the underlying file (queries of cached budgets keep working)."""
        self._h5.close()

    def __enter__(self) -> Benchmark:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
