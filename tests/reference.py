"""Where the third-party reference data lives: ../shared/data/reference (never copied into this repository)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REFERENCE_DIR = Path(
    os.environ.get("ECNAS_REFERENCE_DIR", Path(__file__).resolve().parents[1].parent / "shared" / "data" / "reference")
)


def reference_file(name: str) -> Path:
    """Path of a reference file, skipping the calling test with a reason when it is absent."""
    path = REFERENCE_DIR / name
    if not path.is_file():
        pytest.skip(f"reference data {name} not found in {REFERENCE_DIR} (set ECNAS_REFERENCE_DIR to its folder)")
    return path


def imported_reference_table(name: str, folder: Path) -> Path:
    """A reference TFRecord imported into ``folder`` with ``ecnas import ecnas`` (skips when the file is absent)."""
    from click.testing import CliRunner

    from ecnas.cli import main

    source = reference_file(name)
    path = folder / (Path(name).stem + ".h5")
    outcome = CliRunner().invoke(main, ["import", "ecnas", str(source), "-o", str(path), "--no-progress"])
    assert outcome.exit_code == 0, outcome.output
    return path
