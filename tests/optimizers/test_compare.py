"""ecnas.compare and the `ecnas compare` / `ecnas search` commands: files, summary values, resume, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ecnas.benchmark import Benchmark
from ecnas.cli import main
from ecnas.compare import FIGURES, compare, load_comparison
from ecnas.optimizers import Result, reference_point

ALGORITHMS = ["semoa", "shemoa", "rs"]


@pytest.fixture(scope="module")
def comparison(synthetic_table: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("compare")
    return compare(
        ALGORITHMS,
        seeds=3,
        table=synthetic_table,
        max_evaluations=60,
        out=out,
        jobs=1,
        options={"shemoa": {"population_size": 5}},
    )


def test_files_and_figures_are_written(comparison) -> None:
    out = comparison.out
    for name in ("summary.md", "summary.csv", "runs.csv", "comparison.json", *FIGURES):
        path = out / name
        assert path.is_file() and path.stat().st_size > 0, name
    for name in FIGURES:
        data = (out / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000, name
    for algorithm in ALGORITHMS:
        for seed in range(3):
            result = Result.load(out / "runs" / algorithm / f"seed{seed}.json")
            assert result.algorithm == algorithm and result.seed == seed and len(result) == 60
    assert not list(out.rglob("*.tmp"))


def test_summary_values(comparison, synthetic_table: Path) -> None:
    with Benchmark(synthetic_table) as bench:
        assert comparison.ref_point == reference_point(bench)
    document = json.loads((comparison.out / "comparison.json").read_text())
    assert document["config"]["ref_point"] == comparison.ref_point
    rows = {(r["algorithm"], r["model"]): r for r in comparison.summary["rows"]}
    assert len(rows) == 9
    for algorithm in ALGORITHMS:
        runs = comparison.results[algorithm]
        best_accuracy = [1 - r.front[:, 0].min() for r in runs]
        least_energy = [r.front[:, 1].min() for r in runs]
        assert np.isclose(rows[(algorithm, "r0")]["p_v_mean"], np.mean(best_accuracy))
        assert np.isclose(rows[(algorithm, "r0")]["p_v_std"], np.std(best_accuracy, ddof=1))
        assert np.isclose(rows[(algorithm, "r1")]["energy_kwh_mean"], np.mean(least_energy))
        knee = rows[(algorithm, "knee")]
        assert least_energy[0] <= knee["energy_kwh_mean"] * 10 and knee["runs"] == 3
        stats = comparison.summary["algorithms"][algorithm]
        assert np.isclose(stats["hypervolume_mean"], np.mean([r.hypervolume(comparison.ref_point) for r in runs]))
    markdown = (comparison.out / "summary.md").read_text()
    assert "| Architecture | Strategy | |θ| (M) | T (s) | P_v | E (Wh) |" in markdown  # units chosen from the data
    assert markdown.count("| knee |") == 3 and markdown.count("| lowest energy |") == 3 and " ± " in markdown
    assert "60 table queries per run for every algorithm" in markdown
    assert len((comparison.out / "summary.csv").read_text().strip().splitlines()) == 1 + 9


def test_resume_and_reload(comparison, synthetic_table: Path) -> None:
    run_file = comparison.out / "runs" / "semoa" / "seed0.json"
    stamp = run_file.stat().st_mtime_ns
    again = compare(
        ALGORITHMS,
        seeds=3,
        table=synthetic_table,
        max_evaluations=60,
        out=comparison.out,
        jobs=1,
        options={"shemoa": {"population_size": 5}},
        resume=True,
        plots=False,
    )
    assert run_file.stat().st_mtime_ns == stamp
    assert again.summary == comparison.summary
    loaded = load_comparison(comparison.out)
    assert loaded.config["algorithms"] == ALGORITHMS

    assert loaded.results["rs"][2].history["hash"].tolist() == comparison.results["rs"][2].history["hash"].tolist()


def test_resume_never_reuses_a_run_made_with_other_settings(synthetic_table: Path, tmp_path: Path) -> None:
    compare(
        ["shemoa"],
        seeds=[0],
        table=synthetic_table,
        max_evaluations=60,
        out=tmp_path,
        jobs=1,
        options={"shemoa": {"population_size": 5}},
        plots=False,
    )
    run_file = tmp_path / "runs" / "shemoa" / "seed0.json"
    stamp = run_file.stat().st_mtime_ns
    # shemoa's population size back at its default: the saved run does not match and is redone
    compare(
        ["shemoa"], seeds=[0], table=synthetic_table, max_evaluations=60, out=tmp_path, jobs=1, resume=True, plots=False
    )
    assert run_file.stat().st_mtime_ns != stamp


def test_parallel_processes_give_the_same_runs(comparison, synthetic_table: Path, tmp_path: Path) -> None:
    parallel = compare(
        ["semoa", "rs"], seeds=[1, 2], table=synthetic_table, max_evaluations=60, out=tmp_path, jobs=2, plots=False
    )
    for algorithm in ("semoa", "rs"):
        for k, seed in enumerate((1, 2)):
            assert (
                parallel.results[algorithm][k].history["hash"].tolist()
                == comparison.results[algorithm][seed].history["hash"].tolist()
            )


def test_compare_validates_arguments(synthetic_table: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown optimizer 'bogus'; valid names are \["):
        compare(["semoa", "bogus"], seeds=1, table=synthetic_table, out=tmp_path)
    with pytest.raises(ValueError, match="seeds must be >= 1"):
        compare(["semoa"], seeds=0, table=synthetic_table, out=tmp_path)
    with pytest.raises(ValueError, match=r"budget must be one of the table's budgets \[4, 12, 36, 108\]"):
        compare(["semoa"], seeds=1, table=synthetic_table, budget=5, out=tmp_path)
    with pytest.raises(ValueError, match="more than once"):
        compare(["rs", "rs"], seeds=1, table=synthetic_table, out=tmp_path)
    with pytest.raises(ValueError, match="not among the compared algorithms"):
        compare(["rs"], seeds=1, table=synthetic_table, out=tmp_path, options={"semoa": {"population_size": 4}})
    assert not list(tmp_path.iterdir())  # nothing written before the arguments were checked


def test_cli_compare(synthetic_table: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    outcome = CliRunner().invoke(
        main,
        [
            "compare",
            "--algorithms",
            "semoa",
            "rs",
            "--seeds",
            "2",
            "--table",
            str(synthetic_table),
            "--budget",
            "36",
            "--max-evaluations",
            "30",
            "--out",
            str(out),
            "--jobs",
            "1",
            "--no-progress",
            "-O",
            "semoa.population_size=6",
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    assert "| highest accuracy | semoa |" in outcome.output and "reference point" in outcome.output
    document = json.loads((out / "comparison.json").read_text())
    assert document["config"]["budget"] == 36 and document["config"]["options"] == {"semoa": {"population_size": 6}}
    assert (out / "attainment.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "--algorithms", "semoa", "nope"], "unknown optimizer(s) ['nope']; valid names are"),
        (["compare", "semoa", "--seeds", "0"], "--seeds: must be >= 1"),
        (["compare", "semoa", "--budget", "7"], "7 is not a budget of"),
        (["compare", "semoa", "-O", "semoa.bogus=1"], "semoa has no option 'bogus'"),
        (["compare", "semoa", "--jobs", "0"], "--jobs: must be >= 1"),
        (["search", "nope"], "unknown optimizer(s) ['nope']"),
        (["search", "rs", "--budget", "5"], "its budgets are [4, 12, 36, 108] epochs"),
        (["search", "rs", "-O", "batch=3"], "rs has no option(s) ['batch']"),
        (["search", "rs", "--objectives", "validation_error,bogus"], "unknown objective(s) ['bogus']"),
    ],
)
def test_cli_errors_are_clear(args: list[str], message: str, synthetic_table: Path, tmp_path: Path) -> None:
    outcome = CliRunner().invoke(
        main,
        [*args, "--table", str(synthetic_table)] + (["--out", str(tmp_path / "o")] if args[0] == "compare" else []),
    )
    assert outcome.exit_code != 0
    assert message in outcome.output, outcome.output
    assert "Traceback" not in outcome.output


def test_cli_missing_table(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(main, ["compare", "rs", "--table", str(tmp_path / "none.h5")])
    assert outcome.exit_code == 1 and "no such table file" in outcome.output


def test_cli_search(synthetic_table: Path, tmp_path: Path) -> None:
    out = tmp_path / "semoa.json"
    outcome = CliRunner().invoke(
        main,
        ["search", "semoa", "--table", str(synthetic_table), "--seed", "3", "--max-evaluations", "25", "-o", str(out)],
    )
    assert outcome.exit_code == 0, outcome.output
    assert "Pareto-optimal cells at 108 epochs" in outcome.output and "hypervolume" in outcome.output
    result = Result.load(out)
    assert len(result) == 25 and result.seed == 3
    outcome = CliRunner().invoke(
        main,
        [
            "search",
            "rs",
            "--table",
            str(synthetic_table),
            "--json",
            "--max-evaluations",
            "30",
            "--objectives",
            "test_error,training_time",
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    document = json.loads(outcome.output)
    assert document["front"] and {"test_error", "training_time"} <= set(document["front"][0])
    listing = CliRunner().invoke(main, ["search", "--list-objectives"])
    assert "validation_error" in listing.output and "energy_kwh" in listing.output
    listing = CliRunner().invoke(main, ["search", "--list-algorithms"])
    assert listing.exit_code == 0 and "parego-hb" in listing.output and "population_size" in listing.output
