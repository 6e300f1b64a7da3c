"""The search-space contract suite (ecnas.testing.spaces) for every registered space, the toy space included."""

from __future__ import annotations

from typing import Any

import pytest

from ecnas.testing.spaces import check_space_parameters


@pytest.mark.parametrize(("name", "check"), check_space_parameters())
def test_space_contract(name: str, check: Any) -> None:
    check(name)
