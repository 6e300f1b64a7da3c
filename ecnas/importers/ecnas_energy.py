"""EC-NAS-Bench energy TFRecord files (``energy_*.tfrecord``: any space, measured or scaled, any GPU).

The records have NB101's JSON layout; their metrics message extends NB101's with energy:
evaluations (1, repeated), trainable_parameters (2, int32), total_time (3), total_energy kWh (4),
total_co2eq g (5), start/stop timestamps (6, 7), average carbon intensity gCO2/kWh (8) and average
power usage (9: gpu = 1, cpu = 2, each with repeated watts (1) and joules (2) — messages holding one
double — and repeated device names (3)). Each evaluation: current_epoch, training_time,
train/validation/test accuracy, energy kWh, co2eq g, avg intensity (1-8), start/stop timestamps
(9, 10), predicted energy, co2eq, training time, intensity (11-14) and checkpoint_path (15).

What the published files contain (checked on every reference file; see docs in the report):
energies are Carbontracker's, which multiplied the component energies by its PUE; several files
derive budgets 12/36/108 from the 4-epoch run by linear scaling — detected from the content and
recorded per budget in the provenance (``budget_relations``, ``energy_method_by_budget``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ecnas.errors import CorruptRecordError
from ecnas.importers._base import Importer, Row, register_importer
from ecnas.importers._protobuf import Field, Schema, decode
from ecnas.importers.nasbench101 import final_metrics, numeric

if TYPE_CHECKING:
    from ecnas.importers._tabulate import ImportedTable
    from ecnas.table import TableContents

__all__ = ["ENERGY_METRICS", "ECNASEnergyImporter"]

_VALUE = Schema("Value", {1: Field("value", "double")})
_NAME = Schema("Name", {1: Field("name", "string")})
_DEVICE_POWER = Schema(
    "DevicePower",
    {
        1: Field("watts", "message", repeated=True, message=_VALUE),
        2: Field("joules", "message", repeated=True, message=_VALUE),
        3: Field("devices", "message", repeated=True, message=_NAME),
    },
)
_POWER_USAGE = Schema(
    "PowerUsage", {1: Field("gpu", "message", message=_DEVICE_POWER), 2: Field("cpu", "message", message=_DEVICE_POWER)}
)
_EVALUATION = Schema(
    "EnergyEvaluation",
    {
        1: Field("current_epoch", "double"),
        2: Field("training_time", "double"),
        3: Field("train_accuracy", "double"),
        4: Field("validation_accuracy", "double"),
        5: Field("test_accuracy", "double"),
        6: Field("energy_kwh", "double"),
        7: Field("co2eq_g", "double"),
        8: Field("avg_intensity", "double"),
        9: Field("start_timestamp", "string"),
        10: Field("stop_timestamp", "string"),
        11: Field("predicted_energy_kwh", "double"),
        12: Field("predicted_co2eq_g", "double"),
        13: Field("predicted_training_time", "double"),
        14: Field("predicted_avg_intensity", "double"),
        15: Field("checkpoint_path", "string"),
    },
)
#: EC-NAS's extended metrics message.
ENERGY_METRICS = Schema(
    "EnergyModelMetrics",
    {
        1: Field("evaluations", "message", repeated=True, message=_EVALUATION),
        2: Field("trainable_parameters", "int32"),
        3: Field("total_time", "double"),
        4: Field("total_energy_kwh", "double"),
        5: Field("total_co2eq_g", "double"),
        6: Field("start_timestamp", "string"),
        7: Field("stop_timestamp", "string"),
        8: Field("avg_intensity", "double"),
        9: Field("power_usage", "message", message=_POWER_USAGE),
    },
)
_FINAL = {
    "training_time": "training_time",
    "train_accuracy": "train_accuracy",
    "validation_accuracy": "validation_accuracy",
    "test_accuracy": "test_accuracy",
    "energy_kwh": "energy_kwh",
}
_EVALUATION_UNITS = {
    "current_epoch": "epochs",
    "training_time": "s",
    "train_accuracy": "fraction",
    "validation_accuracy": "fraction",
    "test_accuracy": "fraction",
    "energy_kwh": "kWh",
    "co2eq_g": "gCO2eq",
    "avg_intensity": "gCO2/kWh",
    "predicted_energy_kwh": "kWh",
    "predicted_co2eq_g": "gCO2eq",
    "predicted_training_time": "s",
    "predicted_avg_intensity": "gCO2/kWh",
}
_EXTRAS = {
    "total_time": "s",
    "total_co2eq_g": "gCO2eq",
    "avg_intensity": "gCO2/kWh",
    "gpu_power_w": "W",
    "gpu_energy_j": "J",
    "cpu_power_w": "W",
    "cpu_energy_j": "J",
}
MEASURED = "measured:carbontracker (EC-NAS)"
#: PUE values Carbontracker has used (Uptime Institute surveys), tried when checking the totals.
_PUE_CANDIDATES = (1.59, 1.58, 1.67, 1.57, 1.55, 1.0)
_KWH_DECIMALS = 6  # EC-NAS rounds kWh to 6 decimals


def _sum(items: list[dict[str, Any]]) -> float | None:
    values = [item["value"] for item in items if "value" in item]
    if not values:
        return None
    return values[0] if len(values) == 1 else float(sum(values))


def _power_extras(message: dict[str, Any]) -> tuple[dict[str, float], dict[str, tuple[str, ...]]]:
    extras: dict[str, float] = {}
    devices: dict[str, tuple[str, ...]] = {}
    power = message.get("power_usage", {})
    for kind in ("gpu", "cpu"):
        usage = power.get(kind)
        if usage is None:
            continue
        # Several entries (devices) are summed: the total power/energy of that component.
        for field, key in (("watts", f"{kind}_power_w"), ("joules", f"{kind}_energy_j")):
            total = _sum(usage.get(field, []))
            if total is not None:
                extras[key] = total
        devices[kind] = tuple(d["name"] for d in usage.get("devices", []) if "name" in d)
    return extras, devices


@register_importer
class ECNASEnergyImporter(Importer):
    """Import an EC-NAS-Bench energy file: accuracies, training time and energy per (cell, budget, repeat).

    Args:
        progress: show a progress bar while reading.
    """

    name: ClassVar[str] = "ecnas"
    format: ClassVar[str] = "ecnas-energy"
    extra_fields: ClassVar[dict[str, str]] = _EXTRAS
    evaluation_fields: ClassVar[dict[str, str]] = _EVALUATION_UNITS

    def _iter_rows(self, path: Path) -> Iterator[Row]:
        for record in self._raw_records(path):
            try:
                message = decode(record.metrics, ENERGY_METRICS)
            except CorruptRecordError as error:
                raise CorruptRecordError(f"{path}: record {record.index} at offset {record.offset}: {error}") from None
            evaluations = message["evaluations"]
            metrics = final_metrics(evaluations, _FINAL)
            if "total_energy_kwh" in message:
                metrics["total_energy_kwh"] = float(message["total_energy_kwh"])
            extras = numeric(message, ("total_time", "total_co2eq_g", "avg_intensity"))
            power, devices = _power_extras(message)
            extras.update(power)
            yield Row(
                record=record,
                metrics=metrics,
                trainable_parameters=message.get("trainable_parameters"),
                extras=extras,
                evaluations=[numeric(e, _EVALUATION_UNITS) for e in evaluations],
                devices=devices,
                message=message,
            )

    def _provenance(self, table: ImportedTable) -> dict[str, Any]:
        contents = table.contents
        gpus = table.devices.get("gpu", Counter())
        cpus = table.devices.get("cpu", Counter())
        intensities = table.extras["avg_intensity"]
        present = intensities[~np.isnan(intensities)]
        relations = budget_relations(contents)
        base = contents.budgets[0]
        by_budget = {str(budget): _energy_method(relation) for budget, relation in relations["energy_kwh"].items()}
        methods = list(dict.fromkeys(by_budget.values()))
        if len(methods) == 1:
            energy_method = methods[0]
        else:
            energy_method = "; ".join(
                f"{method} at {', '.join(b for b, m in by_budget.items() if m == method)} epochs" for method in methods
            )
        provenance: dict[str, Any] = {
            "hardware": ", ".join(gpus) if gpus else "not recorded",
            "hardware_devices": {"gpu": dict(gpus), "cpu": dict(cpus)},
            "energy_method": energy_method,
            "energy_method_by_budget": by_budget,
            "budget_relations": relations,
            "energy_method_detection": (
                f"from the content: a budget's final-evaluation energy (and training time / total energy) is "
                f"'linear-scaling-from-{base}-epochs' when every record equals the same repeat's {base}-epoch value "
                f"x budget/{base} (to EC-NAS's 6-decimal kWh rounding), 'copied-from-{base}-epochs' when equal, "
                f"'independent' otherwise; the {base}-epoch run is Carbontracker's measurement"
            ),
            "carbon_intensity": float(present.mean()) if present.size else None,
            "intensity_source": "EC-NAS records (mean of the records' average intensity, field 8)",
            "profile": "ec-nas",
        }
        provenance.update(pue_check(table))
        return provenance


def _energy_method(relation: str) -> str:
    if relation in ("measured", "independent"):
        return MEASURED
    # Scaled or copied from another budget: not a measurement of this budget, so labelled an estimate.
    return f"estimated:{relation}"


def budget_relations(contents: TableContents) -> dict[str, dict[str, str]]:
    """How each budget's numbers relate to the smallest budget's, per metric.

    Repeat r of a cell at budget B is compared with repeat r of the same cell at the smallest budget
    b: ``"copied-from-b-epochs"`` (equal), ``"linear-scaling-from-b-epochs"`` (equal to the b-epoch
    value x B/b within 1e-6 relative, or 1e-6 absolute: EC-NAS rounds kWh to 6 decimals),
    ``"independent"`` otherwise or when the records disagree; the smallest budget is ``"measured"``.

    Returns:
        metric (``energy_kwh``, ``total_energy_kwh``, ``training_time``) → budget (str) → relation.
    """
    base = contents.budgets[0]
    result: dict[str, dict[str, str]] = {}
    for metric in ("energy_kwh", "total_energy_kwh", "training_time"):
        values = contents.metrics[metric]
        relations = {str(base): "measured"}
        for b, budget in enumerate(contents.budgets[1:], start=1):
            value, reference = values[:, b, :], values[:, 0, :]
            present = ~np.isnan(value)
            value, reference = value[present], reference[present]
            if value.size == 0 or np.isnan(reference).any():
                relations[str(budget)] = "independent"
                continue
            scaled = reference * budget / base
            copied = value == reference
            linear = ~copied & (np.abs(value - scaled) <= 1e-6 * np.maximum(1.0, np.abs(scaled)))
            if copied.all():
                relations[str(budget)] = f"copied-from-{base}-epochs"
            elif linear.all():
                relations[str(budget)] = f"linear-scaling-from-{base}-epochs"
            else:
                relations[str(budget)] = "independent"
        result[metric] = relations
    return result


def pue_check(table: ImportedTable) -> dict[str, Any]:
    """Which PUE the records' total energies include, checked against their GPU and CPU joules.

    Carbontracker multiplies the component energies by a fixed PUE. If, for every record at the
    smallest budget, ``total_energy_kwh == round(pue x (gpu_energy_j + cpu_energy_j) / 3.6e6, 6)`` for one
    of the PUE values Carbontracker has used, that PUE is reported as verified; otherwise the median
    ratio is reported and the PUE is left open. Energies are kept as recorded (PUE included), so the
    table's own ``pue`` is 1.0 (a reader must not apply it a second time).
    """
    base = table.contents.budgets[0]
    total = table.contents.metrics["total_energy_kwh"][:, 0, :]
    parts = (table.extras["gpu_energy_j"][:, 0, :] + table.extras["cpu_energy_j"][:, 0, :]) / 3.6e6
    usable = ~np.isnan(total) & ~np.isnan(parts)
    total, parts = total[usable], parts[usable]
    result: dict[str, Any] = {"pue": 1.0}
    if total.size == 0:
        result["pue_included_in_energy"] = None
        result["pue_evidence"] = "no GPU/CPU joules in the records: the PUE inside the energies cannot be checked"
        return result
    tolerance = 10**-_KWH_DECIMALS * 1.01
    for pue in _PUE_CANDIDATES:
        if np.all(np.abs(total - np.round(pue * parts, _KWH_DECIMALS)) <= tolerance):
            result["pue_included_in_energy"] = pue
            result["pue_evidence"] = (
                f"total_energy_kwh == round({pue} x (GPU J + CPU J) / 3.6e6, 6) for all {total.size} records at "
                f"{base} epochs (Carbontracker's PUE); energies are stored as recorded, PUE included"
            )
            return result
    ratio = float(np.median(total[parts > 0] / parts[parts > 0])) if (parts > 0).any() else math.nan
    result["pue_included_in_energy"] = None
    result["pue_evidence"] = (
        f"not verifiable: median total_energy / (GPU J + CPU J) = {ratio:.3f} over {total.size} records at {base} "
        "epochs and no Carbontracker PUE matches every record (a ratio above the PUE is consistent with "
        "Carbontracker averaging per-device CPU/DRAM powers instead of summing them); energies are stored as recorded"
    )
    return result
