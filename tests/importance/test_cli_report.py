"""`ecnas importance`, the written report and its figures; and the analysis on EC-NAS's real 5-vertex table."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ecnas import importance
from ecnas.cli import main


def invoke(*args: str) -> object:
    return CliRunner().invoke(main, ["importance", *args, "--no-progress"])


def test_table_command_writes_json_csv_and_figures(synthetic_5v: Path, tmp_path: Path) -> None:
    out = tmp_path / "imp"
    outcome = invoke(
        "--table", str(synthetic_5v), "--budget", "108", "--objectives", "validation_error,energy_kwh",
        "--weights", "3", "--samples", "80", "--trees", "4", "--pairs", "3", "--seed", "1", "--out", str(out),
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    assert "most important for energy_kwh" in outcome.output
    for name in ("importances.json", "importances.csv", "bars_validation_error.png", "bars_energy_kwh.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "weights.png").stat().st_size > 0
    document = json.loads((out / "importances.json").read_text())
    assert document["format"] == "ecnas-importance" and document["source"]["budget"] == 108
    assert document["source"]["samples"] == 80 and document["settings"]["seed"] == 1
    assert document["source"]["energy_method"]  # measured or estimated, as the table says
    assert [w["weights"]["validation_error"] for w in document["grid"]["weightings"]] == [0.0, 0.5, 1.0]
    energy = document["per_objective"]["energy_kwh"]
    assert len(energy["individual"]) == 13 and len(energy["pairs"]) == 3
    assert all(v["std"] >= 0 for v in energy["individual"].values())
    with open(out / "importances.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert {row["analysis"] for row in rows} == {"objective", "grid", "pareto"}
    assert {row["kind"] for row in rows} == {"individual", "pair"}
    assert any("energy_kwh (" in row["label"] for row in rows)  # energy labelled with its method


def test_run_command_reads_a_compare_folder(synthetic_5v: Path, tmp_path: Path) -> None:
    from ecnas.optimizers import run

    folder = tmp_path / "cmp"
    for seed in (0, 1):
        run("rs", synthetic_5v, seed=seed, max_evaluations=40).save(folder / "runs" / "rs" / f"seed{seed}.json")
    (folder / "comparison.json").write_text("{}")  # other JSON in the folder is ignored
    out = tmp_path / "imp"
    outcome = invoke("--run", str(folder), "--weights", "0", "--no-pareto", "--trees", "4", "--out", str(out))
    assert outcome.exit_code == 0, outcome.output
    document = json.loads((out / "importances.json").read_text())
    assert document["source"]["input"] == "runs" and document["source"]["seeds"] == [0, 1]
    assert document["grid"] is None and document["pareto"] is None
    assert not (out / "weights.png").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--weights", "1"], "must be 0 (no grid) or >= 2"),
        (["--objectives", "validation_error,joules"], "joules"),
        (["--samples", "1"], "must be 0 (every row) or >= 2"),
        (["--run", "/nonexistent/folder"], "does not exist"),
        (["--run", ".", "--budget", "4"], "apply to table input"),
        (["--budget", "5"], "is not a budget"),
    ],
)
def test_bad_input_gives_a_clear_error(synthetic_5v: Path, tmp_path: Path, args: list[str], message: str) -> None:
    outcome = invoke("--table", str(synthetic_5v), *args, "--out", str(tmp_path / "x"))
    assert outcome.exit_code != 0
    assert message in outcome.output, outcome.output
    assert "Traceback" not in outcome.output


def test_plot_data_are_pure(synthetic_5v: Path) -> None:
    data = importance.from_table(synthetic_5v, samples=120, seed=0)
    report = importance.analyse(data, weights=4, n_trees=4, top_pairs=3, seed=0)
    bars = importance.importance_bar_data(report.per_objective["energy_kwh"], top=5, pairs=2)
    assert len(bars["labels"]) == 7 and bars["is_pair"].tolist() == [False] * 5 + [True] * 2
    assert np.all(np.diff(bars["mean"][:5]) <= 0)  # most important first
    curve = importance.weight_curve_data(report.grid, top=3)
    np.testing.assert_allclose(curve["w"], [0, 1 / 3, 2 / 3, 1])
    assert len(curve["series"]) == 3
    ax = importance.plot_weight_curve(report.grid, pareto=report.pareto)
    assert ax.get_xlim() == (0.0, 1.0) and ax.get_legend() is not None


def test_real_5v_table_names_the_decisions_that_matter(real_5v: Path) -> None:
    """EC-NAS's measured 5-vertex table (all 2,532 cells, 4 epochs): the op of the vertex feeding the output
    (``op_node_2``) leads for accuracy, the wiring into the output (``edge_6``: vertex 1 → output) for energy —
    both far ahead of the runner-up in the full analysis (docs/importance.md)."""
    data = importance.from_table(real_5v, samples=None, seed=0)
    errors = importance.fanova(data.design, data.F[:, 0], n_trees=8, top_pairs=0, seed=0)
    energy = importance.fanova(data.design, data.F[:, 1], n_trees=8, top_pairs=0, seed=0)
    assert errors.top(1) == ["op_node_2"]
    assert energy.top(1) == ["edge_6"]
    assert data.source["energy_method"] == ["measured:carbontracker (EC-NAS)"]


def test_stability_curve_shapes_and_errors(synthetic_5v: Path) -> None:
    curve = importance.stability_curve(synthetic_5v, sizes=(60, 120), repeats=2, n_trees=4, seed=3)
    assert curve["sizes"] == [60, 120] and curve["objectives"] == ["validation_error", "energy_kwh"]
    assert curve["importances"]["energy_kwh"].shape == (2, 2, 13)
    assert curve["seed_sd"]["energy_kwh"].shape == (2,) and np.all(curve["max_abs_diff"]["energy_kwh"] >= 0)
    assert np.all(curve["seconds"] > 0)
    with pytest.raises(ValueError, match="strictly increasing"):
        importance.stability_curve(synthetic_5v, sizes=(120, 60))
    with pytest.raises(ValueError, match="repeats must be an int >= 2"):
        importance.stability_curve(synthetic_5v, sizes=(60,), repeats=1)


@pytest.mark.slow
def test_real_5v_documented_numbers(real_5v: Path) -> None:
    """The numbers of docs/importance.md (every row, 32 trees, seed 0) are reproduced."""
    data = importance.from_table(real_5v, samples=None, seed=0)
    errors = importance.fanova(data.design, data.F[:, 0], top_pairs=5, seed=0)
    energy = importance.fanova(data.design, data.F[:, 1], top_pairs=5, seed=0)
    assert [(n, round(m, 3)) for n, m, _ in errors.ranking()[:2]] == [("op_node_2", 0.150), ("op_node_0", 0.056)]
    assert [(n, round(m, 3)) for n, m, _ in energy.ranking()[:3]] == [
        ("edge_6", 0.183),
        ("edge_8", 0.118),
        ("edge_3", 0.094),
    ]
    assert errors.pairs[0][:2] == ("edge_7", "op_node_2") and energy.pairs[0][:2] == ("edge_6", "edge_8")
