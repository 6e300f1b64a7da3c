"""Search quality on EC-NAS's real 5-vertex table: SEMOA and MS-EHVI beat random search at equal evaluations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecnas.benchmark import Benchmark
from ecnas.optimizers import reference_point, run

EVALUATIONS = 110  # EC-NAS: population 10 + 100 generations


def _median_hypervolume(name: str, table: Path, seeds: range) -> float:
    with Benchmark(table) as bench:
        ref = reference_point(bench)
        values = [run(name, bench, seed=seed, max_evaluations=EVALUATIONS).hypervolume(ref) for seed in seeds]
    return float(np.median(values))


def test_semoa_and_msehvi_beat_random_search(real_table: Path) -> None:
    random_search = _median_hypervolume("rs", real_table, range(5))
    assert _median_hypervolume("semoa", real_table, range(5)) > random_search
    assert _median_hypervolume("msehvi", real_table, range(3)) > random_search


@pytest.mark.slow
@pytest.mark.parametrize("name", ["semoa", "msehvi", "shemoa", "parego-hb"])
def test_ten_seeds_against_random_search(name: str, real_table: Path) -> None:
    assert _median_hypervolume(name, real_table, range(10)) > _median_hypervolume("rs", real_table, range(10))
