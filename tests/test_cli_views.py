"""CLI: `--view`, the `<metric>_std` columns with `source`, and the compare summary's measured/predicted counts."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from ecnas.benchmark import Benchmark
from ecnas.cli import main
from ecnas.compare import compare
from ecnas.errors import ViewUnavailableError
from ecnas.optimizers import Result
from ecnas.table import write_table
from tests.tables import surrogate_contents, write_synthetic


@pytest.fixture
def table(tmp_path):
    return write_table(tmp_path / "s.h5", surrogate_contents(repeats=1, measured=(0, 1, 2)))


def test_query_prints_std_with_source_in_both_views(table):
    with Benchmark(table) as bench:
        measured = next(h for h in bench.hashes if bench.query(h)["source"] == "measured")
    runner = CliRunner()
    out = runner.invoke(main, ["query", "--hash", measured, "--table", str(table), "--json"])
    document = json.loads(out.output)
    assert out.exit_code == 0 and document["source"] == "measured" and document["view"] == "measured"
    assert document["energy_kwh_std"] is None and document["co2eq_g_std"] is None  # NaN: measured value
    out = runner.invoke(main, ["query", "--hash", measured, "--table", str(table), "--view", "surrogate", "--json"])
    document = json.loads(out.output)
    assert document["source"] == "out-of-fold" and document["view"] == "surrogate"
    assert document["energy_kwh_std"] > 0
    text = runner.invoke(main, ["query", "--hash", measured, "--table", str(table)]).output.splitlines()
    names = [line.split()[0] for line in text]
    assert names.index("energy_kwh_std") == names.index("energy_kwh") + 1 and "source" in names


def test_view_refused_cleanly_on_a_table_without_surrogate_values(tmp_path):
    path, _ = write_synthetic(tmp_path / "plain.h5")
    for args in (["query", "--hash", Benchmark(path).hashes[0]], ["search", "rs", "--max-evaluations", "3"]):
        out = CliRunner().invoke(main, [*args, "--table", str(path), "--view", "surrogate"])
        assert out.exit_code == 1 and "no surrogate values" in out.output and "Traceback" not in out.output
    out = CliRunner().invoke(main, ["query", "--hash", Benchmark(path).hashes[0], "--table", str(path), "--noise"])
    assert out.exit_code == 1 and "needs view='surrogate'" in out.output
    out = CliRunner().invoke(main, ["info", str(path)])
    assert "measured only" in out.output and "none stored" in out.output


def test_search_prints_source_and_spread_and_records_the_view(table, tmp_path):
    out = CliRunner().invoke(
        main,
        [
            "search",
            "rs",
            "--table",
            str(table),
            "--max-evaluations",
            "5",
            "--budget",
            "4",
            "--view",
            "surrogate",
            "--json",
            "-o",
            str(tmp_path / "r.json"),
        ],
    )
    assert out.exit_code == 0, out.output
    document = json.loads(out.output)
    assert document["view"] == "surrogate"
    assert {row["source"] for row in document["front"]} <= {"surrogate", "out-of-fold"}
    assert all(row["energy_kwh_std"] > 0 for row in document["front"])
    assert Result.load(tmp_path / "r.json").view == "surrogate"


@pytest.mark.parametrize("view", ["measured", "surrogate"])
def test_compare_summary_says_measured_or_predicted(table, tmp_path, view):
    comparison = compare(
        ["rs"], seeds=2, table=table, budget=4, max_evaluations=5, out=tmp_path / view, jobs=1, plots=False, view=view
    )
    assert comparison.config["view"] == view == comparison.config["table"]["view"]
    assert all(r.view == view for r in comparison.results["rs"])
    for row in comparison.summary["rows"]:
        assert row["measured"] + row["predicted"] == row["runs"] == len(row["sources"])
        if view == "surrogate":
            assert row["measured"] == 0 and row["out_of_fold"] == row["sources"].count("out-of-fold")
    # with every cell evaluated, random search finds the true front: some reported cells are measured ones
    assert sum(row["measured" if view == "measured" else "out_of_fold"] for row in comparison.summary["rows"]) > 0
    text = (tmp_path / view / "summary.md").read_text()
    assert f"{view} view" in text and "Values (runs)" in text and " predicted" in text
    with open(tmp_path / view / "runs.csv") as stream:
        runs = list(csv.DictReader(stream))
    assert {run["view"] for run in runs} == {view} and all(run["knee_source"] for run in runs)
    with open(tmp_path / view / "summary.csv") as stream:
        assert {"measured", "predicted", "out_of_fold", "sources"} <= set(next(csv.DictReader(stream)))


def test_figure_titles_name_the_view(table, tmp_path):
    from ecnas.comparison_figures import figure_context

    comparison = compare(
        ["rs"],
        seeds=1,
        table=table,
        budget=4,
        max_evaluations=5,
        out=tmp_path / "f",
        jobs=1,
        plots=False,
        view="surrogate",
    )
    assert "(surrogate view)" in figure_context(comparison).caption("1 − P_v vs E")


def _calibrated(tmp_path):
    """The surrogate table with a split-conformal calibration recorded for energy at both budgets."""
    contents = surrogate_contents(repeats=1, measured=(0, 1, 2))
    calibration = {
        "energy_kwh@4": {"calibration": {"ensemble_z95": 2.5}},
        "validation_accuracy@4": {"calibration": {"ensemble_z95": 2.25}},
        "validation_accuracy@12": {"calibration": {"ensemble_z95": None}},  # no split step: Gaussian 1.96
    }
    scaling = {"energy_kwh": {"4": "fitted", "12": "linear from budget 4"}}
    contents.provenance = {**contents.provenance, "surrogate": {"calibration": calibration, "budget_scaling": scaling}}
    return write_table(tmp_path / "c.h5", contents)


def test_interval_z_reads_the_split_conformal_multipliers_and_query_prints_the_interval(tmp_path, table):
    path = _calibrated(tmp_path)
    with Benchmark(path) as bench:
        z = bench.interval_z(4)
        assert z["energy_kwh"] == 2.5 and z["co2eq_g"] == 2.5 and z["validation_accuracy"] == 2.25
        assert z["training_time"] == pytest.approx(1.96, abs=1e-3)  # nothing recorded for it
        assert bench.interval_z(12)["energy_kwh"] == 2.5  # scaled from budget 4: its calibration
        assert bench.interval_z(12)["validation_accuracy"] == pytest.approx(1.96, abs=1e-3)
        assert set(bench.interval_z(4, level=0.6827).values()) == {1.0}
        with pytest.raises(ValueError, match="calibrated levels"):
            bench.interval_z(4, level=0.9)
        predicted = next(h for h in bench.hashes if bench.query(h)["source"] == "surrogate")
        result = bench.query(predicted, budget=4)
    out = CliRunner().invoke(main, ["query", "--hash", predicted, "--budget", "4", "--table", str(path), "--json"])
    document = json.loads(out.output)
    low, high = document["energy_kwh_ci95"]
    assert low == pytest.approx(max(result["energy_kwh"] - 2.5 * result["energy_kwh_std"], 0.0))
    assert high == pytest.approx(result["energy_kwh"] + 2.5 * result["energy_kwh_std"])
    assert document["validation_accuracy_ci95"][1] <= 1.0
    with Benchmark(table) as bench:  # no calibration recorded: no intervals claimed
        with pytest.raises(ViewUnavailableError, match="no calibrated"):
            bench.interval_z()
        key = next(h for h in bench.hashes if bench.query(h)["source"] == "surrogate")
    out = CliRunner().invoke(main, ["query", "--hash", key, "--table", str(table), "--json"])
    assert out.exit_code == 0 and "energy_kwh_ci95" not in json.loads(out.output)
    info = CliRunner().invoke(main, ["info", str(path)])
    assert "95%: value ± z·std" in info.output and "energy_kwh 2.50" in info.output
