"""Build stages fit and fill: records → surrogate bundle → complete table (small spaces, small fits)."""

from __future__ import annotations

import itertools

import h5py
import numpy as np
import pytest

from ecnas.build.fill import fill_table
from ecnas.build.fit import METRICS, fit_surrogates, measured_values
from ecnas.channels import count_parameters
from ecnas.errors import InvalidCellError, TableFormatError, TableNotFoundError
from ecnas.space import INTERIOR_OPS, CellSpec
from ecnas.surrogate import BUDGET_SCALING, SurrogateBundle

FAST = {"n_members": 2, "max_epochs": 8, "batch_size": 32, "patience": None, "lr_schedule": "constant"}
TINY_NET = {"stem_channels": 8, "num_stacks": 3, "cells_per_stack": 1, "num_classes": 10, "in_channels": 1}
ENERGY = {"method": "estimate", "carbon_intensity": 300.0, "intensity_source": "default", "pue": 1.0,
          "measured": False}  # fmt: skip


def small_cells() -> list[CellSpec]:
    """Every distinct valid cell with at most 4 vertices (the 91 of NB101's 4-vertex space)."""
    cells: dict[str, CellSpec] = {}
    for size in (2, 3, 4):
        pairs = [(i, j) for i in range(size) for j in range(i + 1, size)]
        for bits in itertools.product((0, 1), repeat=len(pairs)):
            matrix = np.zeros((size, size), dtype=int)
            for (i, j), bit in zip(pairs, bits, strict=True):
                matrix[i, j] = bit
            for ops in itertools.product(INTERIOR_OPS, repeat=size - 2):
                try:
                    spec = CellSpec(matrix, ["input", *ops, "output"])
                except InvalidCellError:
                    continue
                if spec.num_vertices == size:
                    cells.setdefault(spec.hash, spec)
    return [cells[key] for key in sorted(cells)]


def make_records(specs, budgets=(1, 2, 4, 8), repeats=2, seed=0, drop=()):
    rng = np.random.default_rng(seed)
    records = []
    for spec in specs:
        millions = spec.features()[-1]
        params = count_parameters(spec, **TINY_NET)
        for repeat in range(repeats):
            for budget in budgets:
                noise = 1 + 0.01 * rng.standard_normal()
                energy = 1e-5 * (1 + millions) * budget * noise
                accuracy = float(np.clip(0.3 + 0.05 * np.log(1 + millions) + 0.04 * budget, 0, 0.99))
                record = {
                    "hash": spec.hash, "budget": budget, "repeat": repeat,
                    "matrix": spec.matrix.tolist(), "ops": list(spec.ops), "trainable_parameters": params,
                    "training_time": 0.5 * budget * (1 + millions) * noise,
                    "train_accuracy": min(accuracy + 0.01, 1.0), "validation_accuracy": accuracy,
                    "test_accuracy": accuracy - 0.01, "energy_kwh": energy, "total_energy_kwh": energy * 1.2,
                    "energy": dict(ENERGY), "seed": 17, "profile": "tiny",
                    "profile_options": {"budgets": list(budgets), "repeats": repeats},
                    "hardware": {"cpu": "test-cpu", "threads": 1}, "software": {"ecnas": "test"},
                }  # fmt: skip
                for key in drop:
                    record[key] = None
                records.append(record)
    return records


def model_inputs(bundle, specs):
    """Inputs of the bundle's models for ``specs`` (its feature set of the NB101 space)."""
    from ecnas.spaces import get_space

    space = get_space("nb101")
    columns = space.encode(list(specs))
    return bundle.features(space, columns, space.num_parameters(columns))


@pytest.fixture(scope="module")
def cells():
    found = small_cells()
    assert len(found) == 91
    return found


@pytest.fixture(scope="module")
def built(cells, tmp_path_factory):
    """Fit on 60 of the 91 cells at all four budgets, then fill the 4-vertex space.

    One feature set for every metric (``graph``): the synthetic metrics are functions of the parameter count,
    which the per-metric default for energies and time (``cost``) does not hold; see the per-metric test below.
    """
    folder = tmp_path_factory.mktemp("build")
    records = make_records(cells[:60])
    bundle = fit_surrogates(
        records, seed=1, surrogate_params=FAST, network_options=TINY_NET, out_path=folder / "s.h5", progress=False,
        feature_set="graph",
    )  # fmt: skip
    table = fill_table(folder / "s.h5", folder / "t.h5", max_vertices=4, progress=False)
    return bundle, records, table


def test_fit_one_model_per_metric_and_budget(built):
    bundle, _, _ = built
    assert bundle.budgets == (1, 2, 4, 8)
    assert set(bundle.models) == {(metric, budget) for metric in METRICS for budget in (1, 2, 4, 8)}
    model = bundle.models[("energy_kwh", 4)]
    assert model.target_transform == "scale" and bundle.models[("test_accuracy", 4)].target_transform == "standard"
    holdout = model.metadata_["holdout"]
    assert holdout["kind"] == "out-of-fold" and holdout["n"] == 60 and holdout["pearson"] > 0.8
    assert bundle.provenance["network"] == TINY_NET and bundle.provenance["energy_method"] == "estimate"
    assert bundle.provenance["measured_budgets"] == [1, 2, 4, 8]


def test_bundle_file_round_trip(built, tmp_path):
    bundle, _, table = built
    loaded = SurrogateBundle.load(table.parent / "s.h5")
    features = model_inputs(bundle, small_cells()[:10])
    for key, model in bundle.models.items():
        assert np.array_equal(loaded.models[key].predict(features), model.predict(features))
    assert np.array_equal(loaded.measured.hashes, bundle.measured.hashes)
    np.testing.assert_array_equal(loaded.measured.metrics["energy_kwh"], bundle.measured.metrics["energy_kwh"])
    with pytest.raises(TableNotFoundError):
        SurrogateBundle.load(tmp_path / "none.h5")
    with h5py.File(tmp_path / "bad.h5", "w") as h5:
        h5.attrs["format"] = "nope"
    with pytest.raises(TableFormatError, match="not an ecnas surrogate file"):
        SurrogateBundle.load(tmp_path / "bad.h5")
    from_table = SurrogateBundle.load(table)  # the filled table carries the models too
    assert from_table.budgets == bundle.budgets and from_table.measured is None
    for key, model in bundle.models.items():
        assert np.array_equal(from_table.models[key].predict(features), model.predict(features))
    assert from_table.provenance["network"] == TINY_NET


def test_filled_table_keeps_measurements_and_predicts_the_rest(built, cells):
    from ecnas.table import SOURCE_MEASURED, SOURCE_SURROGATE, read_table

    bundle, records, path = built
    table = read_table(path)
    assert len(table) == 91 and table.budgets == (1, 2, 4, 8) and table.repeats == 2
    hashes = [h.decode() if isinstance(h, bytes) else str(h) for h in table.hashes]
    row = {h: i for i, h in enumerate(hashes)}
    measured = {spec.hash for spec in cells[:60]}
    for h, i in row.items():
        assert table.source[i] == (SOURCE_MEASURED if h in measured else SOURCE_SURROGATE)
    for record in records[:40]:
        i, j = row[record["hash"]], table.budgets.index(record["budget"])
        for metric in METRICS:
            assert table.metrics[metric][i, j, record["repeat"]] == record[metric]
    predicted = np.array([row[spec.hash] for spec in cells[60:]])
    energy = table.metrics["energy_kwh"][predicted]
    assert np.isfinite(energy[:, :, 0]).all() and np.isnan(energy[:, :, 1]).all()
    assert (table.uncertainty["energy_kwh"][predicted] >= 0).all()
    measured_rows = [row[h] for h in measured]
    assert (table.uncertainty["energy_kwh"][measured_rows] > 0).all()  # calibrated std of the out-of-fold value
    served = table.surrogate_values["energy_kwh"]
    assert np.array_equal(served[predicted], table.metrics["energy_kwh"][predicted, :, 0])
    assert np.isfinite(served[measured_rows]).all()
    assert not np.allclose(served[measured_rows], np.nanmean(table.metrics["energy_kwh"][measured_rows], axis=2))
    assert "energy_kwh@4" in table.provenance["surrogate"]["calibration"]
    for metric in ("train_accuracy", "validation_accuracy", "test_accuracy"):
        values = table.metrics[metric][predicted, :, 0]
        assert values.min() >= 0 and values.max() <= 1
    # physical invariants: never a free cell, a run's total never below its training energy
    for metric in ("training_time", "energy_kwh", "total_energy_kwh"):
        assert (table.metrics[metric][predicted, :, 0] > 0).all(), metric
    assert (table.metrics["total_energy_kwh"][predicted, :, 0] >= energy[:, :, 0]).all()
    assert isinstance(table.provenance["surrogate"]["adjustments"], dict)
    truth = make_records(cells[60:], repeats=1)
    expected = {(r["hash"], r["budget"]): r["energy_kwh"] for r in truth}
    got = [table.metrics["energy_kwh"][row[h], table.budgets.index(b), 0] for h, b in expected]
    rel = np.abs(np.array(got) - np.array(list(expected.values()))) / np.array(list(expected.values()))
    assert np.median(rel) < 0.35  # tiny fit (2 members x 12 epochs), still far from noise
    for spec in cells[::7]:
        assert table.trainable_parameters[row[spec.hash]] == count_parameters(spec, **TINY_NET)
    provenance = table.provenance
    assert provenance["profile"] == "tiny" and provenance["carbon_intensity"] == 300.0
    assert provenance["sample_fraction"] == pytest.approx(60 / 91)
    assert provenance["surrogate"]["models"]["energy_kwh@4"]["holdout"]["n"] == 60
    with h5py.File(path, "r") as h5:
        assert "surrogate/energy_kwh/budget_4/layer_0/weight" in h5
    from ecnas import Benchmark

    with Benchmark(path) as bench:
        first, other = cells[0], cells[70]
        row = bench.query(first.hash, budget=4)
        both = [table.metrics["energy_kwh"][hashes.index(first.hash), 2, r] for r in range(2)]
        assert row["energy_kwh"] == pytest.approx(np.mean(both)) and row["source"] == "measured"
        predicted_row = bench.query(other.hash, budget=4)
        assert predicted_row["source"] == "surrogate"
        assert predicted_row["energy_kwh"] == table.metrics["energy_kwh"][hashes.index(other.hash), 2, 0]


def test_single_measured_budget_scales_linearly(cells, tmp_path):
    records = make_records(cells[:40], budgets=(4,), repeats=1)
    bundle = fit_surrogates(
        records, budgets=(4, 12, 36, 108), seed=0, metrics=("energy_kwh", "validation_accuracy"),
        surrogate_params=FAST, network_options=TINY_NET, out_path=tmp_path / "s.h5", progress=False,
    )  # fmt: skip
    assert set(bundle.models) == {("energy_kwh", 4), ("validation_accuracy", 4)}
    assert bundle.source("energy_kwh", 108) == (4, "linear")
    assert bundle.source("validation_accuracy", 36) == (4, "nearest")
    assert BUDGET_SCALING["training_time"] == "linear"
    from ecnas.table import read_table

    table = read_table(fill_table(tmp_path / "s.h5", tmp_path / "t.h5", max_vertices=4, progress=False))
    energy = table.metrics["energy_kwh"][:, :, 0]
    np.testing.assert_allclose(energy[:, 3], energy[:, 0] * 27)
    np.testing.assert_allclose(energy[:, 1], energy[:, 0] * 3)
    accuracy = table.metrics["validation_accuracy"][:, :, 0]
    np.testing.assert_array_equal(accuracy[:, 2], accuracy[:, 0])
    predicted = table.source == 1
    assert np.isnan(table.metrics["training_time"][predicted]).all()
    assert np.isfinite(table.metrics["training_time"][~predicted, 0, 0]).all()  # measurements are kept
    scaling = table.provenance["surrogate"]["budget_scaling"]
    assert scaling["energy_kwh"]["108"] == "linear from budget 4" and scaling["energy_kwh"]["4"] == "fitted"


def test_energy_bundle_on_the_cost_features(cells, tmp_path):
    """The energy model of docs/surrogate.md: feature set ``cost``, standardised inputs; saved, loaded, filled."""
    records = make_records(cells[:40], budgets=(4,), repeats=1)
    params = {**FAST, "input_scaling": "standard"}
    bundle = fit_surrogates(
        records, seed=0, metrics=("energy_kwh",), feature_set="cost", surrogate_params=params,
        network_options=TINY_NET, out_path=tmp_path / "s.h5", progress=False,
    )  # fmt: skip
    model = bundle.models[("energy_kwh", 4)]
    assert bundle.feature_set == "cost" and model.n_features_in_ == 14 and model.input_scaling == "standard"
    features = model_inputs(bundle, cells)
    loaded = SurrogateBundle.load(tmp_path / "s.h5")
    assert loaded.feature_set == "cost"
    np.testing.assert_array_equal(loaded.models[("energy_kwh", 4)].predict(features), model.predict(features))
    from ecnas.table import read_table

    table = read_table(fill_table(tmp_path / "s.h5", tmp_path / "t.h5", max_vertices=4, progress=False))
    assert table.provenance["surrogate"]["feature_set"] == "cost"
    assert np.isfinite(table.metrics["energy_kwh"][:, 0, 0]).all()


def test_each_metric_gets_the_space_s_own_feature_set_by_default(cells, tmp_path):
    """No feature_set: NB101's surrogate_setup — energies, time on ``cost`` (standardised), accuracies on ``graph``."""
    records = make_records(cells[:40], budgets=(4,), repeats=1)
    bundle = fit_surrogates(
        records, seed=0, metrics=("energy_kwh", "validation_accuracy", "training_time"), surrogate_params=FAST,
        network_options=TINY_NET, out_path=tmp_path / "s.h5", progress=False,
    )  # fmt: skip
    assert bundle.feature_sets == {"energy_kwh": "cost", "validation_accuracy": "graph", "training_time": "cost"}
    energy, accuracy = bundle.models[("energy_kwh", 4)], bundle.models[("validation_accuracy", 4)]
    assert energy.n_features_in_ == 14 and energy.input_scaling == "standard"
    assert accuracy.n_features_in_ == 65 and accuracy.input_scaling == "none"
    assert bundle.feature_set == "mixed: energy_kwh=cost, training_time=cost, validation_accuracy=graph"
    with pytest.raises(ValueError, match="pass feature_set"):
        model_inputs(bundle, cells)
    loaded = SurrogateBundle.load(tmp_path / "s.h5")
    assert loaded.feature_sets == bundle.feature_sets
    from ecnas.spaces import get_space
    from ecnas.table import SOURCE_MEASURED, read_table

    space = get_space("nb101")
    columns = space.encode(list(cells))
    cost = bundle.features(space, columns, space.num_parameters(columns), "cost")
    table = read_table(fill_table(tmp_path / "s.h5", tmp_path / "t.h5", max_vertices=4, progress=False))
    predicted = table.source != SOURCE_MEASURED
    order = {spec.hash: k for k, spec in enumerate(cells)}
    rows = [order[h.decode()] for h in np.asarray(table.hashes)[predicted]]
    np.testing.assert_allclose(  # the table's energies are the cost model's predictions (up to compaction)
        table.metrics["energy_kwh"][predicted, 0, 0], energy.predict(cost[rows]), rtol=1e-3
    )
    assert "per metric" in table.provenance["surrogate"]["features"]
    assert table.provenance["surrogate"]["feature_set"].startswith("mixed: ")


def test_refit_false_keeps_the_scored_model(cells):
    records = make_records(cells[:40], budgets=(2,), repeats=1)
    kwargs = {"metrics": ("energy_kwh",), "surrogate_params": FAST, "network_options": TINY_NET, "progress": False}
    kept = fit_surrogates(records, seed=2, refit=False, holdout_fraction=0.2, **kwargs).models[("energy_kwh", 2)]
    refitted = fit_surrogates(records, seed=2, **kwargs).models[("energy_kwh", 2)]
    assert kept.n_samples_fit_ == 32 and refitted.n_samples_fit_ == 40
    assert kept.metadata_["holdout"]["refit_on_all_cells"] is False


def test_fit_is_deterministic(cells):
    records = make_records(cells[:30], budgets=(2,), repeats=1)
    kwargs = {"metrics": ("energy_kwh",), "surrogate_params": FAST, "network_options": TINY_NET, "progress": False}
    first = fit_surrogates(records, seed=5, **kwargs).models[("energy_kwh", 2)]
    second = fit_surrogates(records, seed=5, **kwargs).models[("energy_kwh", 2)]
    features = model_inputs(fit_surrogates(records, seed=5, **kwargs), cells)
    assert np.array_equal(first.predict(features), second.predict(features))


def test_fit_rejects_bad_records(cells):
    records = make_records(cells[:10], budgets=(1,), repeats=1)
    with pytest.raises(ValueError, match="records is empty"):
        fit_surrogates([], progress=False)
    with pytest.raises(ValueError, match="unknown metric"):
        fit_surrogates(records, metrics=("joules",), progress=False)
    broken = [dict(records[0], hash="0" * 32), *records[1:]]
    with pytest.raises(ValueError, match="does not match its matrix and ops"):
        measured_values(broken, (1,))
    with pytest.raises(ValueError, match="repeats \\(hash, budget, repeat\\)"):
        measured_values([*records, records[0]], (1,))
    with pytest.raises(ValueError, match="misses key"):
        measured_values([{k: v for k, v in records[0].items() if k != "matrix"}], (1,))
    with pytest.raises(ValueError, match="not one of budgets"):
        measured_values(records, (2,))


def test_fill_rejects_a_space_too_small_for_the_measured_cells(cells, tmp_path):
    five = [spec for spec in cells if spec.num_vertices == 4][:20]
    records = make_records(five, budgets=(1,), repeats=1)
    fit_surrogates(records, metrics=("energy_kwh",), surrogate_params=FAST, network_options=TINY_NET,
                   out_path=tmp_path / "s.h5", progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="not in the space with max_vertices=3"):
        fill_table(tmp_path / "s.h5", tmp_path / "t.h5", max_vertices=3, progress=False)
    with pytest.raises(ValueError, match="trainable_parameters different"):
        fill_table(tmp_path / "s.h5", tmp_path / "t.h5", max_vertices=4, network_options={}, progress=False)


def test_make_physical_never_leaves_free_or_inconsistent_cells():
    from ecnas.build.fill import _make_physical

    means = {
        "energy_kwh": np.array([[1.0, -1.0], [0.5, 2.0]]),
        "total_energy_kwh": np.array([[0.0, 3.0], [0.6, 1.0]]),
        "validation_accuracy": np.array([[0.0, 1.0], [1.0, 1.0]]),
    }
    counts = _make_physical(means)
    assert (means["energy_kwh"] > 0).all() and (means["total_energy_kwh"] >= means["energy_kwh"]).all()
    assert means["energy_kwh"][0, 1] == 2.0  # smallest positive prediction of that budget
    assert means["validation_accuracy"][0, 0] == 0.0  # accuracies untouched
    assert sum(counts.values()) == 4


def test_cli_fill_from_a_surrogate_file_and_fit_argument_errors(built, tmp_path):
    from click.testing import CliRunner

    from ecnas import Benchmark
    from ecnas.cli import main

    _, _, table = built
    surrogate = table.parent / "s.h5"
    runner = CliRunner()
    out = tmp_path / "T.h5"
    result = runner.invoke(
        main,
        ["build", "fill", "--surrogate", str(surrogate), "--max-vertices", "4", "--out", str(out), "--no-progress"],
    )
    assert result.exit_code == 0, result.output
    with Benchmark(out) as bench:
        assert len(bench) == 91 and bench.budgets == (1, 2, 4, 8)
    for args, message in [
        (["build", "fit", "--records", str(surrogate)], "--out"),
        (["build", "fit"], "either --workdir"),
        (["build", "fill", "--out", str(out)], "either --workdir or --surrogate"),
        (["build", "fill", "--surrogate", str(surrogate), "--max-vertices", "9", "--out", str(out)], "max-vertices"),
    ]:
        result = runner.invoke(main, args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_refit_table_rebuilds_the_surrogate_part_from_measured_rows(built, tmp_path):
    from click.testing import CliRunner

    from ecnas.build.refit import refit_table
    from ecnas.cli import main
    from ecnas.surrogate import SurrogateBundle
    from ecnas.table import SOURCE_MEASURED, read_table

    _, _, path = built
    before = read_table(path)
    out = refit_table(
        path,
        tmp_path / "refit.h5",
        seed=3,
        metrics=("energy_kwh", "validation_accuracy"),
        surrogate_params=FAST,
        max_bytes=None,
        bundle_out=tmp_path / "b.h5",
    )
    after = read_table(out)
    measured = np.asarray(after.source) == SOURCE_MEASURED
    assert np.array_equal(measured, np.asarray(before.source) == SOURCE_MEASURED) and measured.sum() == 60
    for metric in METRICS:  # measured rows unchanged, predicted rows from the new fit
        np.testing.assert_array_equal(after.metrics[metric][measured], before.metrics[metric][measured])
    for metric in ("energy_kwh", "validation_accuracy"):
        served = after.surrogate_values[metric]
        assert np.isfinite(served).all() and (after.uncertainty[metric] > 0).all()
    assert "training_time" not in after.surrogate_values  # not refitted: values kept, no uncertainty
    predicted = ~measured
    assert not np.allclose(after.metrics["energy_kwh"][predicted, :, 0], before.metrics["energy_kwh"][predicted, :, 0])
    bundle = SurrogateBundle.load(tmp_path / "b.h5")
    oof = bundle.measured.out_of_fold["energy_kwh"]
    rows = {h: i for i, h in enumerate(np.asarray(after.hashes)[measured])}
    order = [rows[h] for h in bundle.measured.hashes]
    # out-of-fold, not in-sample (to the compaction's 12 significant bits)
    assert np.allclose(after.surrogate_values["energy_kwh"][measured][order], oof, rtol=2.0**-12, atol=0)
    provenance = after.provenance
    assert provenance["profile"] == before.provenance["profile"]  # old provenance kept
    assert provenance["refit"][-1]["seed"] == 3 and provenance["refit"][-1]["previous_surrogate"] is not None
    assert provenance["surrogate"]["calibration"]["energy_kwh@4"]["calibration"]["method"] == "scale-floor"
    with pytest.raises(ValueError, match="out must differ"):
        refit_table(path, path)
    result = CliRunner().invoke(main, ["build", "refit", "--table", str(tmp_path / "nope.h5"), "-o", "x.h5"])
    assert result.exit_code != 0 and "nope.h5" in result.output and "Traceback" not in result.output
