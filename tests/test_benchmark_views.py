"""`<metric>_std` in every output, the surrogate view and its noise option."""

from __future__ import annotations

import numpy as np
import pytest

from ecnas.benchmark import OUT_OF_FOLD, Benchmark
from ecnas.errors import ViewUnavailableError
from ecnas.table import METRICS, SOURCE_MEASURED, read_table, write_table
from tests.tables import surrogate_contents, write_synthetic


@pytest.fixture
def table(tmp_path):
    return write_table(tmp_path / "t.h5", surrogate_contents(repeats=1))


def _rows(path):
    contents = read_table(path)
    measured = [h.decode() for h, s in zip(contents.hashes, contents.source, strict=True) if s == SOURCE_MEASURED]
    predicted = [h.decode() for h, s in zip(contents.hashes, contents.source, strict=True) if s != SOURCE_MEASURED]
    return contents, measured, predicted


def test_measured_view_std_nan_for_measured_rows(table):
    contents, measured, predicted = _rows(table)
    row = {h.decode(): i for i, h in enumerate(contents.hashes)}
    with Benchmark(table) as bench:
        assert bench.view == "measured" and bench.views == ("measured", "surrogate")
        for key in measured:
            result = bench.query(key, budget=12)
            assert result["source"] == "measured"
            assert all(np.isnan(result[f"{m}_std"]) for m in METRICS) and np.isnan(result["co2eq_g_std"])
            assert result["energy_kwh"] == contents.metrics["energy_kwh"][row[key], 1, 0]
        for key in predicted:
            result = bench.query(key, budget=12)
            assert result["energy_kwh_std"] == contents.uncertainty["energy_kwh"][row[key], 1]
            assert result["co2eq_g_std"] == pytest.approx(result["energy_kwh_std"] * 200.0 * 1.5)
        many = bench.query_many(measured + predicted, budget=4)
        assert np.isnan(many["validation_accuracy_std"][: len(measured)]).all()
        assert np.isfinite(many["validation_accuracy_std"][len(measured) :]).all()
        frame = bench.to_frame(budget=4)
        assert "energy_kwh_std" in frame.columns and frame.loc[measured, "energy_kwh_std"].isna().all()


def test_surrogate_view_serves_out_of_fold_values_and_std(table):
    contents, measured, predicted = _rows(table)
    row = {h.decode(): i for i, h in enumerate(contents.hashes)}
    with Benchmark(table, view="surrogate") as bench:
        assert bench.view == "surrogate" and bench.info()["view"] == "surrogate"
        for key in measured:
            result = bench.query(key, budget=4)
            assert result["source"] == OUT_OF_FOLD
            oof = contents.surrogate_values["validation_accuracy"][row[key], 0]
            assert result["validation_accuracy"] == oof != contents.metrics["validation_accuracy"][row[key], 0, 0]
            assert result["validation_accuracy_std"] == contents.uncertainty["validation_accuracy"][row[key], 0]
        for key in predicted:
            result = bench.query(key, budget=4)
            assert result["source"] == "surrogate"
            assert result["energy_kwh"] == contents.metrics["energy_kwh"][row[key], 0, 0]
        many = bench.query_many(measured, budget=12)
        np.testing.assert_array_equal(
            many["energy_kwh"], [contents.surrogate_values["energy_kwh"][row[k], 1] for k in measured]
        )
        assert list(many["source"]) == [OUT_OF_FOLD] * len(measured)
        assert bench.recorded(12, ["energy_kwh"]).all()


def test_pareto_front_per_view(table):
    with Benchmark(table) as measured, Benchmark(table, view="surrogate") as surrogate:
        a, b = measured.pareto_front(budget=4), surrogate.pareto_front(budget=4)
        values = surrogate.query_many(b["hash"], budget=4)
        np.testing.assert_array_equal(b["F"][:, 1], values["energy_kwh"])
        assert not np.array_equal(a["F"], b["F"])  # measured rows moved by their out-of-fold values


def test_surrogate_view_refused_without_surrogate_values(tmp_path):
    path, _ = write_synthetic(tmp_path / "plain.h5")
    with Benchmark(path) as bench:
        assert bench.views == ("measured",)
        result = bench.query(bench.hashes[0])
        assert np.isnan(result["energy_kwh_std"])  # no uncertainty stored: NaN, never 0
    with pytest.raises(ViewUnavailableError, match=r"plain\.h5.*no surrogate values.*view='measured'"):
        Benchmark(path, view="surrogate")
    with pytest.raises(ValueError, match="view must be one of"):
        Benchmark(path, view="oof")


def test_noise_refused_with_one_repeat_and_explained(table):
    with pytest.raises(ViewUnavailableError, match="1 repeat per cell.*cannot be told apart"):
        Benchmark(table, view="surrogate", noise=True)
    with pytest.raises(ValueError, match="needs view='surrogate'"):
        Benchmark(table, noise=True)


def test_noise_with_repeats_is_seeded_and_sampled_from_repeat_spread(tmp_path):
    path = write_table(tmp_path / "r.h5", surrogate_contents(repeats=3))
    keys = Benchmark(path).hashes

    def draws(seed):
        with Benchmark(path, view="surrogate", noise=True, seed=seed) as bench:
            return [bench.query(k, budget=4)["energy_kwh"] for k in keys] + list(
                bench.query_many(keys, budget=12)["validation_accuracy"]
            )

    assert draws(3) == draws(3)
    assert draws(3) != draws(4)
    with Benchmark(path, view="surrogate") as clean, Benchmark(path, view="surrogate", noise=True, seed=0) as noisy:
        model = noisy.noise_model(4)
        # synthetic repeats are value + repeat/10: residuals ±0.1 × sqrt(3/2) around the mean (relative for energy)
        assert model["residuals"] == 2 * 3 and model["kind"]["validation_accuracy"] == "absolute"
        assert model["scale"]["validation_accuracy"] == pytest.approx(0.1 * np.sqrt(2 / 3) * np.sqrt(1.5))
        base = clean.query_many(keys, budget=4)["validation_accuracy"]
        offsets = noisy.query_many(keys, budget=4)["validation_accuracy"] - base
        allowed = np.array([-0.1, 0.0, 0.1]) * np.sqrt(1.5)
        clipped = (base + offsets == 0.0) | (base + offsets == 1.0)
        assert (np.isclose(offsets[:, None], allowed[None, :]).any(axis=1) | clipped).all()
        assert noisy.pareto_front(budget=4)["F"].tolist() == clean.pareto_front(budget=4)["F"].tolist()
