"""Shared fixtures; reference-data lookup lives in tests/reference.py so test modules can import it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reference import reference_file


@pytest.fixture
def reference() -> Callable[[str], Path]:
    """Callable fixture: ``reference("generated_graphs_4V9E.json")`` → Path, or skip."""
    return reference_file
