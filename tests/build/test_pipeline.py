"""End-to-end: the tiny build of the ≤4-vertex space (91 cells, all measured) through the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ecnas.build.records import load_records
from ecnas.cli import main

FAST = ["-O", "budgets=1,2", "-O", "split_sizes=200,60,60", "-O", "train_eval_size=60", "-O", "batch_size=64"]


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(main, ["build", "run", *args, "--no-progress"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_tiny_build_of_the_4_vertex_space(tmp_path: Path) -> None:
    import ecnas

    out = tmp_path / "T.h5"
    workdir = tmp_path / "work"
    args = [
        "--profile",
        "tiny",
        "--max-vertices",
        "4",
        "--sample-fraction",
        "1.0",
        "--seed",
        "0",
        "--out",
        str(out),
        "--workdir",
        str(workdir),
        "--workers",
        "2",
        "--carbon-intensity",
        "250",
        *FAST,
    ]
    output = _run(args)
    assert "91 cells of 91" in output and "table written" in output
    records = load_records(workdir)
    assert len(records) == 91 * 2 and len({r["hash"] for r in records}) == 91
    bench = ecnas.Benchmark(out)
    assert len(bench) == 91 and tuple(bench.budgets) == (1, 2)
    info = bench.info()
    provenance = info["provenance"]
    assert provenance["profile"] == "tiny" and "digits" in provenance["dataset"]
    assert provenance["energy_method"].startswith(("estimated", "measured", "mixed"))
    assert provenance["carbon_intensity"] == 250.0
    assert provenance["builder"]["measured_cells"] == 91 and provenance["builder"]["workers"] == 2
    # every cell measured: no surrogate fitted, nothing predicted
    assert not (workdir / "surrogates.h5").exists() and provenance["surrogate"] is None
    assert info["rows_by_source"]["measured"] == 91 and "uncertainty" not in bench._h5
    by_hash = {(r["hash"], r["budget"]): r for r in records}
    columns = bench.query_many(bench.hashes, budget=2)
    assert set(np.asarray(columns["source"]).tolist()) == {"measured"} or set(
        np.asarray(columns["source"]).tolist()
    ) == {0}
    for index in (0, 45, 90):
        cell = bench.hashes[index]
        row = bench.query(cell, budget=2)
        record = by_hash[(cell, 2)]
        assert row["validation_accuracy"] == pytest.approx(record["validation_accuracy"])
        assert row["energy_kwh"] == pytest.approx(record["energy_kwh"])
        assert row["trainable_parameters"] == record["trainable_parameters"]
    # rerunning resumes: nothing is measured again and the records stay the same
    before = (workdir / "records-0-of-2.jsonl").read_bytes()
    _run(args)
    assert (workdir / "records-0-of-2.jsonl").read_bytes() == before
    assert len(load_records(workdir)) == 91 * 2


@pytest.mark.slow
def test_issue_command_default_tiny_options(tmp_path: Path) -> None:
    """`ecnas build run --profile tiny --max-vertices 4 --sample-fraction 1.0 --seed 0 --out T.h5`."""
    import ecnas

    out = tmp_path / "T.h5"
    _run(["--profile", "tiny", "--max-vertices", "4", "--sample-fraction", "1.0", "--seed", "0", "--out", str(out)])
    bench = ecnas.Benchmark(out)
    assert len(bench) == 91 and tuple(bench.budgets) == (1, 2, 4)
    accuracy = np.asarray(bench.query_many(bench.hashes, budget=4)["validation_accuracy"])
    assert np.nanmean(accuracy) > 0.3  # digits is learnable in 4 epochs by most cells


def test_recipe_driven_build_with_compaction(tmp_path: Path) -> None:
    import h5py

    import ecnas

    recipe = tmp_path / "r.toml"
    recipe.write_text(f"""
[build]
profile = "tiny"
max_vertices = 4
sample_fraction = 0.1
seed = 3
workdir = "{tmp_path / "work"}"
out = "{tmp_path / "T.h5"}"
compact_bits = 12
embed_surrogates = false

[profile]
budgets = [1, 2]
split_sizes = [200, 60, 60]
train_eval_size = 60
batch_size = 64

[energy]
carbon_intensity = 100.0
""")
    output = _run(["--recipe", str(recipe)])
    assert "9 cells of 91" in output
    bench = ecnas.Benchmark(tmp_path / "T.h5")
    info = bench.info()
    assert info["rows_by_source"] == {"measured": 9, "surrogate": 82, "imported": 0}
    provenance = info["provenance"]
    assert provenance["compaction"]["predicted_significant_bits"] == 12
    assert provenance["builder"]["measured_cells"] == 9 and provenance["builder"]["complete"]
    assert "not EC-NAS" in provenance["note"]
    with h5py.File(tmp_path / "T.h5") as h5:
        assert "surrogate" not in h5
