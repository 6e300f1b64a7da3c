"""The importer contract suite (ecnas.testing.importers), run for every registered importer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ecnas.importers import available_importers
from ecnas.testing.importers import CHECKS, register_sample_writer, sample_file


@pytest.mark.parametrize("name", available_importers())
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_importer_contract(name: str, check: Callable[[str, Path], None], tmp_path: Path) -> None:
    check(name, tmp_path)


def test_sample_writer_registry() -> None:
    with pytest.raises(KeyError, match="register_sample_writer"):
        sample_file("no-such-importer", Path("."))
    with pytest.raises(ValueError, match="already registered"):
        register_sample_writer("ecnas")(lambda directory: directory)
