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
    out = compact_table(path, tmp_path / "c.h5", bits=10, uncertainty_bits=2)
    after = read_table(out)
    measured = np.asarray(after.source) == SOURCE_MEASURED
    for name in METRICS:
        assert np.array_equal(after.metrics[name][measured], before.metrics[name][measured])
        ratio = after.metrics[name][~measured] / before.metrics[name][~measured]
        assert np.all(np.abs(ratio - 1) <= 2.0**-10)
        assert not np.array_equal(after.metrics[name][~measured], before.metrics[name][~measured])
    assert after.provenance["compaction"]["predicted_significant_bits"] == 10
    with h5py.File(out) as h5:
        assert "surrogate" not in h5
    kept = compact_table(path, tmp_path / "k.h5", keep_models=True)
    with h5py.File(kept) as h5:
        assert "surrogate" in h5


def test_compact_size_limit(tmp_path: Path, cells_factory) -> None:
    path = tmp_path / "t.h5"
    _table(path, cells_factory)
    with pytest.raises(ValueError, match="max_bytes"):
        compact_table(path, tmp_path / "c.h5", max_bytes=10, bits=11, uncertainty_bits=3)
    with pytest.raises(ValueError, match="bits"):
        compact_table(path, bits=0)
    for kwargs in ({"bits": 7}, {"min_bits": 9}):
        with pytest.raises(ValueError, match=r"must be >= 10: shipped predicted values keep at least 10"):
            compact_table(path, tmp_path / "c.h5", **kwargs)
    assert not (tmp_path / "c.h5").exists()


def test_compact_keeps_ten_bits_no_extra_ties(tmp_path: Path) -> None:
    """Full-precision predictions in [0.5, 1) keep 2^9 + 1 = 513 distinct values at 10 bits (7 bits: only 65)."""
    from ecnas.space import enumerate_space

    space = enumerate_space(max_vertices=5)
    n = len(space)
    rng = np.random.default_rng(1)
    source = np.full(n, SOURCE_SURROGATE, np.uint8)
    source[::100] = SOURCE_MEASURED
    accuracy = rng.uniform(0.5, 1.0, (n, 1, 1))
    metrics = {m: rng.uniform(1e-7, 1e-6, (n, 1, 1)) for m in METRICS} | {"validation_accuracy": accuracy}
    served = {m: v[:, :, 0] * np.where(source == SOURCE_MEASURED, 1.01, 1.0)[:, None] for m, v in metrics.items()}
    contents = TableContents(
        hashes=space.hash_bytes,
        budgets=(4,),
        repeats=1,
        columns={"matrix": space.matrices, "op_codes": space.op_codes},
        trainable_parameters=np.ones(n, np.int64),
        source=source,
        metrics=metrics,
        uncertainty={m: rng.uniform(0.01, 0.02, (n, 1)) for m in METRICS},
        surrogate_values=served,
        provenance={"profile": "tiny"},
    )
    write_table(tmp_path / "full.h5", contents)
    after = read_table(compact_table(tmp_path / "full.h5", tmp_path / "c.h5", max_bytes=10**9))
    predicted = after.source == SOURCE_SURROGATE
    values = after.metrics["validation_accuracy"][predicted, 0, 0]
    assert len(np.unique(values)) == 513  # every 10-bit value in [0.5, 1] occurs (1.0 from rounding up); no more ties
    mantissa = np.frexp(values)[0] * 2**10
    assert np.array_equal(mantissa, np.round(mantissa))
    assert after.provenance["compaction"]["predicted_significant_bits"] == 10
    # surrogate values rounded like the metrics: predicted rows still equal repeat 0, measured rows out-of-fold
    np.testing.assert_array_equal(after.surrogate_values["validation_accuracy"][predicted], values[:, None])
    measured = after.metrics["validation_accuracy"][~predicted, 0, 0]
    assert (after.surrogate_values["validation_accuracy"][~predicted, 0] != measured).all()
    import h5py as _h5py

    with _h5py.File(tmp_path / "c.h5") as h5:
        assert len(h5["surrogate_values/rows"]) == int((~predicted).sum())
