"""Tables for the optimizer tests: EC-NAS's real 5-vertex file (imported) and a synthetic multi-budget table."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecnas.testing.optimizers import write_synthetic_table
from tests.reference import imported_reference_table

REAL_5V = "ecnas_energy_5V9E_4epochs.tfrecord"


@pytest.fixture(scope="session")
def synthetic_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every 5-vertex cell (2,532) with synthetic metrics at budgets 4/12/36/108, 2 repeats."""
    return write_synthetic_table(tmp_path_factory.mktemp("tables") / "synthetic_5v.h5", max_vertices=5)


@pytest.fixture(scope="session")
def real_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """EC-NAS's 5-vertex energy file (2,532 cells, 4 epochs, measured on a Quadro RTX 6000) as an ecnas table."""
    return imported_reference_table(REAL_5V, tmp_path_factory.mktemp("tables"))
