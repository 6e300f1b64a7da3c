from __future__ import annotations

from pathlib import Path

import pytest

from ecnas.build.measure import measure_shard
from ecnas.build.plan import BuildPlan, write_plan
from ecnas.build.profiles import get_profile
from ecnas.build.records import load_records
from ecnas.errors import EcnasError


def _plan(workdir: Path, cells: list, data_dir: Path) -> BuildPlan:
    profile = get_profile(
        "nb101-cifar10",
        {
            "data_dir": str(data_dir),
            "validation_size": 6,
            "budgets": [1, 2],
            "repeats": 2,
            "stem_channels": 4,
            "cells_per_stack": 1,
            "batch_size": 8,
            "eval_batch_size": 16,
            "device": "cpu",
        },
    )
    plan = BuildPlan(
        profile="nb101-cifar10",
        profile_options=profile.options(),
        seed=3,
        max_vertices=4,
        sample_fraction=None,
        space_size=91,
        hashes=[c.hash for c in cells],
        configs=[{"matrix": c.matrix.astype(int).tolist(), "ops": list(c.ops)} for c in cells],
        energy={"carbon_intensity": 100.0},
    )
    return write_plan(workdir, plan)


def test_nb101_profile_trains_on_a_fake_cifar_directory(tmp_path: Path, cells_factory, fake_cifar) -> None:
    fake_cifar(tmp_path / "cifar")
    cells = cells_factory(2)
    workdir = tmp_path / "build"
    _plan(workdir, cells, tmp_path / "cifar")
    summary = measure_shard(workdir, progress=False)
    assert summary.measured == 2
    records = load_records(workdir)
    assert len(records) == 2 * 2 * 2  # cells x budgets x repeats
    by_key = {(r["hash"], r["budget"], r["repeat"]): r for r in records}
    for cell in cells:
        # separate runs per budget, distinct seeds per repeat
        assert by_key[(cell.hash, 1, 0)]["seed"] != by_key[(cell.hash, 1, 1)]["seed"]
        assert by_key[(cell.hash, 1, 0)]["seed"] == by_key[(cell.hash, 2, 0)]["seed"]
    record = records[0]
    assert record["profile"] == "nb101-cifar10" and record["profile_options"]["schedule"] == "per-budget"
    assert record["hardware"]["device"] == "cpu"
    assert record["test_accuracy"] in {k / 5 for k in range(6)}  # 5 test images


def test_nb101_profile_without_data_is_a_clear_error(tmp_path: Path, cells_factory) -> None:
    workdir = tmp_path / "build"
    _plan(workdir, cells_factory(1), tmp_path / "missing")
    with pytest.raises(EcnasError, match="does not exist.*binary version"):
        measure_shard(workdir, progress=False)
