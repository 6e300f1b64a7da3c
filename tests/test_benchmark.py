from __future__ import annotations

import math

import numpy as np
import pytest

import ecnas
from ecnas import Benchmark, CellSpec, InvalidCellError, TableNotFoundError
from ecnas.table import METRICS
from tests.tables import CELLS, write_synthetic


@pytest.fixture
def table(tmp_path):
    return write_synthetic(tmp_path / "t.h5")


def _row(contents, spec_hash):
    return list(contents.hashes).index(spec_hash)


def test_query_mean_repeat_and_co2(table):
    path, contents = table
    bench = Benchmark(path)
    spec = CellSpec(*CELLS[1])
    k = _row(contents, spec.hash)
    result = bench.query(spec, budget=12)
    for name in METRICS:
        assert result[name] == pytest.approx(contents.metrics[name][k, 1].mean())
    assert result["budget"] == 12 and result["hash"] == spec.hash
    assert result["trainable_parameters"] == contents.trainable_parameters[k]
    assert result["source"] == "measured" and result["energy_method"] == "test"
    # CO2 = energy × PUE × intensity, both from the table's provenance.
    assert result["co2eq_g"] == pytest.approx(result["energy_kwh"] * 1.5 * 200.0)
    single = bench.query(spec.hash, budget=4, repeat=2)
    assert single["validation_accuracy"] == contents.metrics["validation_accuracy"][k, 0, 2]
    assert single["repeat"] == 2
    by_tuple = bench.query(CELLS[1], budget=12)
    def known(values: dict) -> dict:  # the `_std` columns are NaN here (no uncertainty stored), and NaN != NaN
        return {key: value for key, value in values.items() if not key.endswith("_std")}

    assert known(by_tuple) == known(result | {"repeat": None})
    assert all(np.isnan(value) for key, value in by_tuple.items() if key.endswith("_std"))


def test_default_budget_is_largest_and_budgets_listed(table):
    path, _ = table
    bench = Benchmark(path)
    assert bench.budgets == (4, 12)
    assert bench.query(CellSpec(*CELLS[0]))["budget"] == 12
    with pytest.raises(ValueError, match=r"\[4, 12\]"):
        bench.query(CellSpec(*CELLS[0]), budget=108)


def test_random_repeat_is_seeded(table):
    path, _ = table
    draws = []
    for _ in range(2):
        bench = Benchmark(path, seed=7)
        draws.append([bench.query(CellSpec(*CELLS[2]), budget=4, repeat="random")["repeat"] for _ in range(20)])
    assert draws[0] == draws[1]
    assert len(set(draws[0])) > 1


def test_unknown_and_invalid_cells(table):
    path, _ = table
    bench = Benchmark(path)
    missing = CellSpec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "maxpool3x3", "output"])
    with pytest.raises(KeyError, match=missing.hash):
        bench.query(missing)
    with pytest.raises(InvalidCellError):
        bench.query(([[0, 0], [0, 0]], ["input", "output"]))
    with pytest.raises(ValueError, match="not an NB101 hash"):
        bench.query("xyz")
    with pytest.raises(ValueError, match="repeat"):
        bench.query(CellSpec(*CELLS[0]), repeat=3)
    assert missing not in bench and CellSpec(*CELLS[0]) in bench


def test_missing_values_are_nan_never_zero(tmp_path):
    from tests.tables import synthetic_contents

    contents = synthetic_contents()
    contents.metrics["energy_kwh"][:] = np.nan
    contents.metrics["training_time"][0, 0, :] = np.nan
    for name in METRICS:
        contents.metrics[name][1, 0, :] = np.nan
    ecnas.table.write_table(tmp_path / "t.h5", contents)
    bench = Benchmark(tmp_path / "t.h5")
    result = bench.query(contents.hashes[0], budget=4)
    assert math.isnan(result["energy_kwh"]) and math.isnan(result["co2eq_g"]) and math.isnan(result["training_time"])
    assert math.isnan(bench.counters["energy_kwh"])  # an unknown cost is not a free one
    with pytest.raises(KeyError, match="no results"):
        bench.query(contents.hashes[1], budget=4)
    many = bench.query_many(list(contents.hashes), budget=4)
    assert np.isnan(many["validation_accuracy"][1])


def test_query_many_matches_query(table):
    path, contents = table
    bench = Benchmark(path)
    hashes = list(contents.hashes)[::-1]
    for repeat in (None, 1):
        many = bench.query_many(hashes, budget=4, repeat=repeat)
        assert many["hash"].tolist() == hashes
        for k, h in enumerate(hashes):
            one = bench.query(h, budget=4, repeat=repeat)
            for name in (*METRICS, "co2eq_g", "trainable_parameters", "source"):
                assert many[name][k] == one[name]
    specs = [CellSpec(*c) for c in CELLS]
    assert bench.query_many(specs, budget=12)["hash"].tolist() == [s.hash for s in specs]
    with pytest.raises(KeyError, match="1 of 2 cells"):
        bench.query_many([hashes[0], "0" * 32], budget=4)


def test_counters_and_reset(table):
    path, _ = table
    bench = Benchmark(path)
    r1 = bench.query(CellSpec(*CELLS[0]), budget=4)
    r2 = bench.query_many([CellSpec(*CELLS[1]).hash], budget=4)
    assert bench.counters["queries"] == 2
    assert bench.counters["energy_kwh"] == pytest.approx(r1["energy_kwh"] + r2["energy_kwh"][0])
    assert bench.counters["training_time_s"] == pytest.approx(r1["training_time"] + r2["training_time"][0])
    bench.reset_counters()
    assert bench.counters == {"queries": 0, "training_time_s": 0.0, "energy_kwh": 0.0}


def test_carbon_intensity_override(table):
    path, _ = table
    bench = Benchmark(path, carbon_intensity=50.0)
    r = bench.query(CellSpec(*CELLS[0]))
    assert r["co2eq_g"] == pytest.approx(r["energy_kwh"] * 1.5 * 50.0)
    assert bench.info()["intensity_source"].startswith("configured")
    with pytest.raises(ValueError, match="carbon_intensity"):
        Benchmark(path, carbon_intensity=-1.0)


def test_cells_sample_info_frame(table):
    path, contents = table
    bench = Benchmark(path)
    assert len(bench) == 5 and bench.hashes == sorted(bench.hashes)
    for m, o in CELLS:
        spec = CellSpec(m, o)
        assert bench.cell(spec.hash) == spec and bench.cell(spec.hash).ops == spec.ops
    assert bench.sample(3, seed=1) == bench.sample(3, seed=1)
    assert len(set(bench.sample(5, seed=2))) == 5
    with pytest.raises(ValueError, match="n must be"):
        bench.sample(6)
    info = bench.info()
    assert info["num_cells"] == 5 and info["budgets"] == [4, 12] and info["rows_by_source"]["measured"] == 5
    assert info["provenance"]["energy_method"] == "test"
    frame = bench.to_frame(12)
    assert frame.shape[0] == 5 and frame.loc[CellSpec(*CELLS[0]).hash, "budget"] == 12


def test_default_table_missing_is_clear(monkeypatch, tmp_path):
    import ecnas.benchmark as module

    monkeypatch.setenv("ECNAS_DEFAULT_TABLE", str(tmp_path / "nope.h5"))
    monkeypatch.setattr(module, "DEFAULT_TABLE_NAME", "definitely-not-there.h5")
    with pytest.raises(TableNotFoundError, match="no embedded default table"):
        Benchmark()
