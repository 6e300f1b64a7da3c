"""Helpers of the builder tests: small hand-made plans that need no enumeration of the space."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ecnas.build.plan import BuildPlan, write_plan
from ecnas.build.profiles import get_profile
from ecnas.space import CellSpec

#: Cheap tiny-profile options for tests (each cell trains in a few hundredths of a second).
FAST_OPTIONS: dict[str, Any] = {
    "budgets": [1, 2],
    "split_sizes": [200, 60, 60],
    "train_eval_size": 60,
    "batch_size": 64,
}
OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")


def small_cells(count: int = 10) -> list[CellSpec]:
    """Distinct valid cells with at most 4 vertices, in hash order."""
    cells: dict[str, CellSpec] = {}
    matrices = (
        [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]],
        [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
        [[0, 1, 1, 1], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]],
    )
    for matrix, (a, b) in itertools.product(matrices, itertools.product(OPS, OPS)):
        spec = CellSpec(matrix, ["input", a, b, "output"])
        cells[spec.hash] = spec
    for op in OPS:
        spec = CellSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", op, "output"])
        cells[spec.hash] = spec
    chosen = sorted(cells)[:count]
    return [cells[h] for h in chosen]


def write_hand_plan(
    workdir: Path, cells: list[CellSpec], options: dict[str, Any] | None = None, seed: int = 0
) -> BuildPlan:
    """A plan over ``cells`` with the tiny profile (fast options by default)."""
    profile = get_profile("tiny", FAST_OPTIONS if options is None else options)
    plan = BuildPlan(
        profile="tiny",
        profile_options=profile.options(),
        seed=seed,
        max_vertices=4,
        sample_fraction=None,
        space_size=91,
        hashes=[c.hash for c in cells],
        configs=[{"matrix": c.matrix.astype(int).tolist(), "ops": list(c.ops)} for c in cells],
        energy={"carbon_intensity": 300.0},
        sample_method="test cells",
    )
    return write_plan(workdir, plan)


@pytest.fixture
def hand_plan(tmp_path: Path) -> tuple[Path, BuildPlan]:
    """A build directory with a plan over 8 small cells."""
    workdir = tmp_path / "build"
    return workdir, write_hand_plan(workdir, small_cells(8))


@pytest.fixture
def cells_factory() -> object:
    """``cells_factory(n)`` → n small distinct cells in hash order."""
    return small_cells


@pytest.fixture
def plan_factory() -> object:
    """``plan_factory(workdir, cells, options=None, seed=0)`` → a written plan."""
    return write_hand_plan


def write_fake_cifar(root: Path, per_batch: int = 6, test: int = 5, seed: int = 0) -> None:
    """CIFAR-10 binary layout: per image one label byte then 3,072 pixel bytes (R, G, B planes)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for index, name in enumerate(names):
        count = test if name == "test_batch.bin" else per_batch
        labels = (np.arange(count) + index) % 10
        pixels = rng.integers(0, 256, size=(count, 3072))
        pixels[:, 0] = labels * 20  # first red pixel encodes the label, to check alignment
        rows = np.concatenate([labels[:, None], pixels], axis=1).astype(np.uint8)
        (root / name).write_bytes(rows.tobytes())


@pytest.fixture
def fake_cifar() -> object:
    """``fake_cifar(root, per_batch=6, test=5)`` writes a tiny CIFAR-10 binary directory."""
    return write_fake_cifar
