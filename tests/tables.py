"""Small synthetic ecnas tables for tests (deterministic; real-data tables come from the importers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecnas.space import CellSpec, pad_cells
from ecnas.table import METRICS, SOURCE_MEASURED, TableContents, write_table

CELLS = [
    ([[0, 1], [0, 0]], ["input", "output"]),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"]),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv1x1-bn-relu", "output"]),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "maxpool3x3", "output"]),
    ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"]),
]


def synthetic_contents(budgets: tuple[int, ...] = (4, 12), repeats: int = 3, seed: int = 0) -> TableContents:
    """Five small cells with known metrics: value = base + budget index + repeat / 10."""
    specs = [CellSpec(m, o) for m, o in CELLS]
    n = len(specs)
    matrices, op_codes = pad_cells(specs)
    rng = np.random.default_rng(seed)
    metrics = {}
    for j, name in enumerate(METRICS):
        base = rng.random((n, 1, 1)) + j
        metrics[name] = base + np.arange(len(budgets))[None, :, None] + np.arange(repeats)[None, None, :] / 10
    return TableContents(
        hashes=np.array([s.hash for s in specs]),
        budgets=budgets,
        repeats=repeats,
        columns={"matrix": matrices, "op_codes": op_codes},
        trainable_parameters=np.arange(1, n + 1) * 1000,
        source=np.full(n, SOURCE_MEASURED, np.uint8),
        metrics=metrics,
        provenance={"carbon_intensity": 200.0, "intensity_source": "test", "pue": 1.5, "energy_method": "test"},
    )


def write_synthetic(path: Path, **kwargs: object) -> tuple[Path, TableContents]:
    contents = synthetic_contents(**kwargs)
    write_table(path, contents)
    return path, contents


def surrogate_contents(repeats: int = 1, measured: tuple[int, ...] = (0, 2), seed: int = 0) -> TableContents:
    """The five cells as a filled table: rows ``measured`` measured, the others predicted.

    Predicted rows hold the prediction in repeat 0 (NaN in the others, as the builder writes them) and its
    spread in ``uncertainty``; measured rows hold ``repeats`` measured values, an out-of-fold surrogate value
    (``surrogate_values`` = repeat 0 + 0.01) and its spread. Every metric has surrogate values and spreads.
    """
    from ecnas.table import SOURCE_SURROGATE

    contents = synthetic_contents(repeats=repeats, seed=seed)
    n, b = len(contents), len(contents.budgets)
    rng = np.random.default_rng(seed + 1)
    contents.source = np.full(n, SOURCE_SURROGATE, np.uint8)
    contents.source[list(measured)] = SOURCE_MEASURED
    predicted = contents.source == SOURCE_SURROGATE
    for name in METRICS:
        values = contents.metrics[name]
        values[predicted, :, 1:] = np.nan
        served = values[:, :, 0].copy()
        served[~predicted] += 0.01
        contents.surrogate_values[name] = served
        contents.uncertainty[name] = rng.uniform(0.01, 0.1, (n, b))
    return contents
