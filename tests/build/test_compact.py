from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from ecnas.build.compact import compact_table, round_significant
from ecnas.table import METRICS, SOURCE_MEASURED, SOURCE_SURROGATE, TableContents, read_table, write_table


def test_round_significant() -> None:
    values = np.array([1.0, 0.1, 123.456, -7.77e-9, 0.0, np.nan, np.inf])
    rounded = round_significant(values, 10)
    finite = np.isfinite(values) & (values != 0)
    assert np.all(np.abs(rounded[finite] / values[finite] - 1) <= 2.0**-10)
    assert rounded[0] == 1.0 and rounded[4] == 0.0 and np.isnan(rounded[5]) and rounded[6] == np.inf
    mantissa = np.frexp(rounded[finite])[0] * 2**10
    assert np.allclose(mantissa, np.round(mantissa))


def _table(path: Path, cells_factory) -> TableContents:
    cells = cells_factory(6)
    rng = np.random.default_rng(0)
    n = len(cells)
    matrices = np.zeros((n, 7, 7), np.uint8)
    op_codes = np.zeros((n, 7), np.int8)
    for i, cell in enumerate(cells):
        matrices[i, : cell.num_vertices, : cell.num_vertices] = cell.matrix
        op_codes[i, : cell.num_vertices] = cell.features()[28 : 28 + cell.num_vertices]
    contents = TableContents(
        hashes=np.array([c.hash for c in cells], dtype="S32"),
        budgets=(1, 2),
        repeats=1,
        columns={"matrix": matrices, "op_codes": op_codes},
        trainable_parameters=np.arange(n) + 100,
        source=np.array([SOURCE_MEASURED, SOURCE_SURROGATE] * 3, dtype=np.uint8),
        metrics={m: rng.random((n, 2, 1)) for m in METRICS},
        uncertainty={m: rng.random((n, 2)) * 0.01 for m in METRICS},
        provenance={"profile": "tiny"},
    )
    write_table(path, contents, extras=lambda h5: h5.create_group("surrogate").create_dataset("w", data=[1.0]))
    return read_table(path)


def test_compact_rounds_predictions_only_and_drops_models(tmp_path: Path, cells_factory) -> None:
    path = tmp_path / "t.h5"
    before = _table(path, cells_factory)
    out = compact_table(path, tmp_path / "c.h5", bits=6, uncertainty_bits=2)
    after = read_table(out)
    measured = np.asarray(after.source) == SOURCE_MEASURED
    for name in METRICS:
        assert np.array_equal(after.metrics[name][measured], before.metrics[name][measured])
        ratio = after.metrics[name][~measured] / before.metrics[name][~measured]
        assert np.all(np.abs(ratio - 1) <= 2.0**-6)
        assert not np.array_equal(after.metrics[name][~measured], before.metrics[name][~measured])
    assert after.provenance["compaction"]["predicted_significant_bits"] == 6
    with h5py.File(out) as h5:
        assert "surrogate" not in h5
    kept = compact_table(path, tmp_path / "k.h5", keep_models=True)
    with h5py.File(kept) as h5:
        assert "surrogate" in h5


def test_compact_size_limit(tmp_path: Path, cells_factory) -> None:
    path = tmp_path / "t.h5"
    _table(path, cells_factory)
    with pytest.raises(ValueError, match="max_bytes"):
        compact_table(path, tmp_path / "c.h5", max_bytes=10, bits=9, uncertainty_bits=3, min_bits=8)
    with pytest.raises(ValueError, match="bits"):
        compact_table(path, bits=0)
