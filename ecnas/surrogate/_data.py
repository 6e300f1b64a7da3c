"""Training data for the surrogate: cells → EC-NAS features, from measurement CSVs or builder records."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecnas.errors import InvalidCellError
from ecnas.spaces.nb101.cells import NUM_FEATURES, CellSpec, adjacency_from_string

__all__ = ["MeasuredCells", "cell_features", "read_measurements_csv"]


@dataclass(frozen=True)
class MeasuredCells:
    """Cells with one measured value each, ready to fit a surrogate.

    Attributes:
        specs: the cells.
        features: `n x 36` :meth:`~ecnas.spaces.nb101.cells.CellSpec.features` rows.
        targets: `n` measured values.
        trainable_parameters: `n` parameter counts as the file states them (NaN-free ints).
    """

    specs: tuple[CellSpec, ...]
    features: np.ndarray
    targets: np.ndarray
    trainable_parameters: np.ndarray

    def __len__(self) -> int:
        return len(self.specs)


def cell_features(specs: Sequence[CellSpec]) -> np.ndarray:
    """`n x 36` EC-NAS features of ``specs`` (parameters of the default NB101 network)."""
    if not specs:
        return np.empty((0, NUM_FEATURES))
    return np.stack([spec.features() for spec in specs])


def _parse_cell(adjacency: str, ops: str, where: str) -> CellSpec:
    names = [op.strip() for op in ops.split(",")]
    try:
        matrix = adjacency_from_string(adjacency.strip(), len(names))
    except InvalidCellError as error:
        raise ValueError(
            f"{where}: {error} for {len(names)} ops (read the column as text: leading zeros matter)"
        ) from None
    return CellSpec(matrix, names)


def read_measurements_csv(
    path: str | os.PathLike[str], *, target: str = "energy_kwh_4ep", check_parameters: bool = True
) -> MeasuredCells:
    """Read a CSV of measured cells (EC-NAS's ``surrogate_7v_train.csv`` layout).

    Columns: ``adjacency`` (row-major 0/1 string, read as text), ``ops`` (comma-joined names, input
    and output included), ``trainable_parameters`` and the ``target`` column.

    Args:
        path: the CSV file.
        target: column holding the value to fit.
        check_parameters: require the file's parameter counts to equal the NB101 network's
            (:func:`ecnas.spaces.nb101.channels.count_parameters`), which the features use.

    Returns:
        The cells, their features and target values.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: a column is missing, a row is malformed, or a parameter count disagrees.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        missing = {"adjacency", "ops", "trainable_parameters", target} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)}; found {reader.fieldnames}")
        rows = list(reader)
    specs, targets, parameters = [], [], []
    for number, row in enumerate(rows, start=2):
        where = f"{path}:{number}"
        specs.append(_parse_cell(row["adjacency"], row["ops"], where))
        try:
            targets.append(float(row[target]))
            parameters.append(int(row["trainable_parameters"]))
        except ValueError:
            raise ValueError(f"{where}: {target!r} and trainable_parameters must be numbers, got {row}") from None
    features = cell_features(specs)
    counted = np.rint(features[:, -1] * 1e6).astype(np.int64)
    stated = np.asarray(parameters, dtype=np.int64)
    if check_parameters and not np.array_equal(counted, stated):
        bad = int(np.flatnonzero(counted != stated)[0])
        raise ValueError(
            f"{path}:{bad + 2}: trainable_parameters {stated[bad]} differs from the NB101 network's count "
            f"{counted[bad]}; pass check_parameters=False to fit on the counted values anyway"
        )
    return MeasuredCells(tuple(specs), features, np.asarray(targets, dtype=np.float64), stated)
