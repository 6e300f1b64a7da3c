"""EC-NAS's measured 4-vertex table (91 cells, budgets 4/12/36/108) as an ecnas table, for the peer tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reference import reference_file

MEASURED_4V = "ecnas_energy_4V9E_measured.tfrecord"


@pytest.fixture(scope="session")
def table_4v(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = reference_file(MEASURED_4V)
    from click.testing import CliRunner

    from ecnas.cli import main

    path = tmp_path_factory.mktemp("tables") / "ecnas_4v.h5"
    outcome = CliRunner().invoke(main, ["import", "ecnas", str(source), "-o", str(path), "--no-progress"])
    assert outcome.exit_code == 0, outcome.output
    return path
