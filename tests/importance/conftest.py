"""Tables for the importance tests: a synthetic 5-vertex table and EC-NAS's real 5-vertex file (imported)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from ecnas.testing.optimizers import write_synthetic_table
from tests.reference import imported_reference_table

REAL_5V = "ecnas_energy_5V9E_4epochs.tfrecord"

# Without the optional ``importance`` extra only the missing-extra message can be tested.
if importlib.util.find_spec("optuna") is None:
    collect_ignore_glob = ["test_[!e]*.py"]  # keeps test_extra_missing.py


@pytest.fixture(scope="session")
def synthetic_5v(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every 5-vertex cell (2,532) with synthetic metrics at budgets 4/12/36/108."""
    return write_synthetic_table(tmp_path_factory.mktemp("tables") / "synthetic_5v.h5", max_vertices=5)


@pytest.fixture(scope="session")
def real_5v(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """EC-NAS's 5-vertex energy file (2,532 cells, 4 epochs, measured with Carbontracker) as an ecnas table."""
    return imported_reference_table(REAL_5V, tmp_path_factory.mktemp("tables"))
