"""NAS-Bench-101 TFRecord files (e.g. ``nasbench_only108.tfrecord``, ``nasbench_full.tfrecord``).

Each record's metrics are a ``ModelMetrics`` message: evaluation_data (1, repeated
``EvaluationData``), trainable_parameters (2, int32), total_time (3, double). Each evaluation:
current_epoch (1), training_time (2), train/validation/test accuracy (3, 4, 5) doubles and
checkpoint_path (6, string); NB101 stores three, at the start, halfway and end of training.
NB101 measured no energy: the energy columns of the table stay NaN.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ecnas.errors import CorruptRecordError
from ecnas.importers._base import Importer, Row, register_importer
from ecnas.importers._protobuf import Field, Schema, decode

if TYPE_CHECKING:
    from ecnas.importers._tabulate import ImportedTable

__all__ = ["MODEL_METRICS", "NASBench101Importer"]

EVALUATION_DATA = Schema(
    "EvaluationData",
    {
        1: Field("current_epoch", "double"),
        2: Field("training_time", "double"),
        3: Field("train_accuracy", "double"),
        4: Field("validation_accuracy", "double"),
        5: Field("test_accuracy", "double"),
        6: Field("checkpoint_path", "string"),
    },
)
#: NB101's ``ModelMetrics`` message.
MODEL_METRICS = Schema(
    "ModelMetrics",
    {
        1: Field("evaluation_data", "message", repeated=True, message=EVALUATION_DATA),
        2: Field("trainable_parameters", "int32"),
        3: Field("total_time", "double"),
    },
)
_FINAL = {
    "training_time": "training_time",
    "train_accuracy": "train_accuracy",
    "validation_accuracy": "validation_accuracy",
    "test_accuracy": "test_accuracy",
}
_EVALUATION_UNITS = {
    "current_epoch": "epochs",
    "training_time": "s",
    "train_accuracy": "fraction",
    "validation_accuracy": "fraction",
    "test_accuracy": "fraction",
}


def final_metrics(evaluations: list[dict[str, Any]], mapping: dict[str, str]) -> dict[str, float]:
    """Table metrics from the last evaluation of a record (training to the record's budget)."""
    final = evaluations[-1] if evaluations else {}
    return {column: float(final[name]) for column, name in mapping.items() if name in final}


def numeric(message: dict[str, Any], names: Any) -> dict[str, float]:
    """The float fields ``names`` present in ``message``."""
    return {name: float(message[name]) for name in names if name in message}


@register_importer
class NASBench101Importer(Importer):
    """Import a NAS-Bench-101 TFRecord file: accuracies and training time per (cell, budget, repeat).

    Args:
        progress: show a progress bar while reading.
    """

    name: ClassVar[str] = "nasbench101"
    format: ClassVar[str] = "nasbench101"
    extra_fields: ClassVar[dict[str, str]] = {"total_time": "s"}
    evaluation_fields: ClassVar[dict[str, str]] = _EVALUATION_UNITS

    def _iter_rows(self, path: Path) -> Iterator[Row]:
        for record in self._raw_records(path):
            unknown: set[int] = set()
            try:
                message = decode(record.metrics, MODEL_METRICS, unknown=unknown)
            except CorruptRecordError as error:
                raise CorruptRecordError(f"{path}: record {record.index} at offset {record.offset}: {error}") from None
            evaluations = message["evaluation_data"]
            yield Row(
                record=record,
                metrics=final_metrics(evaluations, _FINAL),
                trainable_parameters=message.get("trainable_parameters"),
                extras=numeric(message, self.extra_fields),
                evaluations=[numeric(e, _EVALUATION_UNITS) for e in evaluations],
                message=message,
            )

    def _provenance(self, table: ImportedTable) -> dict[str, Any]:
        return {
            "hardware": "not recorded in NAS-Bench-101 files (its paper reports Google TPU v2)",
            "energy_method": "none: NAS-Bench-101 records no energy (energy columns are NaN)",
            "carbon_intensity": None,
            "intensity_source": "none (no energy in NAS-Bench-101 records)",
            "pue": 1.0,
            "profile": "nb101-cifar10",
        }
