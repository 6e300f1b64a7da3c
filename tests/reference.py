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
