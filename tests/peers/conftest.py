"""EC-NAS's measured 4-vertex table (91 cells, budgets 4/12/36/108) as an ecnas table, for the peer tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reference import imported_reference_table

MEASURED_4V = "ecnas_energy_4V9E_measured.tfrecord"


@pytest.fixture(scope="session")
def table_4v(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return imported_reference_table(MEASURED_4V, tmp_path_factory.mktemp("tables"))
