"""The one table of metrics and objectives: name, unit, kind — every other module reads it from here.

Stored metrics are the per-budget arrays of a table (``metrics/<name>``); derived quantities are computed at
query time (``co2eq_g`` from energy × PUE × carbon intensity) or stored per row (``trainable_parameters``).
Objectives are minimised views of them (accuracies become errors).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_OBJECTIVES",
    "FRACTIONS",
    "METRICS",
    "METRIC_TABLE",
    "METRIC_UNITS",
    "NOMINAL_LEVELS",
    "NONNEGATIVE",
    "OBJECTIVES",
    "Metric",
    "Objective",
    "check_level",
    "check_objectives",
]


@dataclass(frozen=True)
class Metric:
    """A quantity a table answers.

    Attributes:
        name: key in query results.
        unit: ``s``, ``fraction``, ``kWh``, ``g`` or ``count``.
        kind: ``time``, ``accuracy``, ``energy``, ``emissions`` or ``size``.
        stored: True for the per-budget arrays a table stores, in storage order.
        budget_scaling: how a surrogate fitted at other budgets carries over (``linear`` in epochs for costs,
            ``nearest`` budget for accuracies); None for quantities that are not fitted.
    """

    name: str
    unit: str
    kind: str
    stored: bool
    budget_scaling: str | None = None


#: Every metric, stored ones first in storage order.
METRIC_TABLE: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("training_time", "s", "time", True, "linear"),
        Metric("train_accuracy", "fraction", "accuracy", True, "nearest"),
        Metric("validation_accuracy", "fraction", "accuracy", True, "nearest"),
        Metric("test_accuracy", "fraction", "accuracy", True, "nearest"),
        Metric("energy_kwh", "kWh", "energy", True, "linear"),
        Metric("total_energy_kwh", "kWh", "energy", True, "linear"),
        Metric("co2eq_g", "g", "emissions", False),
        Metric("trainable_parameters", "count", "size", False),
    )
}
#: Per-budget metrics a table stores, in storage order, with their units.
METRIC_UNITS: dict[str, str] = {m.name: m.unit for m in METRIC_TABLE.values() if m.stored}
METRICS: tuple[str, ...] = tuple(METRIC_UNITS)
#: Stored metrics that are fractions in [0, 1].
FRACTIONS: tuple[str, ...] = tuple(m.name for m in METRIC_TABLE.values() if m.stored and m.unit == "fraction")
#: Stored metrics that are costs (never negative).
NONNEGATIVE: tuple[str, ...] = tuple(m.name for m in METRIC_TABLE.values() if m.stored and m.unit != "fraction")


@dataclass(frozen=True)
class Objective:
    """One minimised objective computed from a query result.

    Attributes:
        name: Identifier used in ``objectives=`` and in result files.
        metric: Key of :meth:`ecnas.Benchmark.query_many`'s result it is computed from.
        complement: True for ``1 - metric`` (accuracies become errors).
        label: Axis label for plots.
        bound: A natural upper bound for a hypervolume reference point (1.0 for errors), else None.
    """

    name: str
    metric: str
    complement: bool
    label: str
    bound: float | None = None

    def values(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Objective values from query columns."""
        raw = np.asarray(columns[self.metric], dtype=np.float64)
        return 1.0 - raw if self.complement else raw

    @property
    def stored_metric(self) -> str | None:
        """The stored metric this objective needs (``co2eq_g`` needs energy), or None for a per-row value."""
        if self.metric == "co2eq_g":
            return "energy_kwh"
        return self.metric if METRIC_TABLE[self.metric].stored else None


#: Every objective an optimizer can minimise, by name.
OBJECTIVES: dict[str, Objective] = {
    o.name: o
    for o in (
        Objective("validation_error", "validation_accuracy", True, "1 − $P_v$", 1.0),
        Objective("test_error", "test_accuracy", True, "1 − $P_t$", 1.0),
        Objective("train_error", "train_accuracy", True, "1 − train accuracy", 1.0),
        Objective("energy_kwh", "energy_kwh", False, "E (kWh)"),
        Objective("total_energy_kwh", "total_energy_kwh", False, "total E (kWh)"),
        Objective("training_time", "training_time", False, "T (s)"),
        Objective("co2eq_g", "co2eq_g", False, "CO2 (g)"),
        Objective("trainable_parameters", "trainable_parameters", False, "|θ|"),
    )
}
#: EC-NAS's objectives: (1 − validation accuracy, training energy in kWh), both minimised.
DEFAULT_OBJECTIVES: tuple[str, ...] = ("validation_error", "energy_kwh")


def check_objectives(objectives: Sequence[str] | str | None, *, minimum: int = 2) -> tuple[str, ...]:
    """Validate objective names (a sequence or a comma-separated string); ``None`` gives the defaults.

    Args:
        objectives: the names.
        minimum: fewest names accepted (optimizers need two; an importance analysis takes one).

    Raises:
        ValueError: unknown, repeated or too few names; the message lists the valid ones.
    """
    if objectives is None:
        return DEFAULT_OBJECTIVES
    if isinstance(objectives, str):
        objectives = [part.strip() for part in objectives.split(",") if part.strip()]
    names = tuple(str(name) for name in objectives)
    unknown = [name for name in names if name not in OBJECTIVES]
    if unknown:
        raise ValueError(f"unknown objective(s) {unknown}; valid objectives are {sorted(OBJECTIVES)}")
    if len(names) < minimum or len(set(names)) != len(names):
        at_least = "two" if minimum == 2 else str(minimum)
        raise ValueError(f"objectives must name at least {at_least} distinct objectives, got {list(names)}")
    return names


#: Coverage levels the surrogate's std is calibrated for, with their Gaussian half-widths in standard deviations.
NOMINAL_LEVELS: dict[float, float] = {0.6827: 1.0, 0.95: 1.959964}


def check_level(level: float) -> float:
    """``level`` as one of :data:`NOMINAL_LEVELS` (0.6827 or 0.95, within rounding), or ValueError naming them."""
    for nominal in NOMINAL_LEVELS:
        if np.isclose(level, nominal, atol=5e-4):
            return nominal
    raise ValueError(f"level must be one of the calibrated levels {list(NOMINAL_LEVELS)}, got {level!r}")
