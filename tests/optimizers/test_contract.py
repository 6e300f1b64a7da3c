"""The optimizer contract suite (ecnas.testing.optimizers) for every registered optimizer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ecnas.testing.optimizers import check_optimizer_parameters

REAL = ["asks_are_table_cells", "result_contract"]
FAST = ["asks_are_table_cells", "deterministic", "result_contract", "inputs_unmutated", "protocol_errors"]


@pytest.mark.parametrize(("name", "check"), check_optimizer_parameters(checks=FAST))
def test_contract_multi_budget(name: str, check: Any, synthetic_table: Path) -> None:
    check(name, synthetic_table)


@pytest.mark.parametrize(("name", "check"), check_optimizer_parameters(checks=REAL))
def test_contract_real_table(name: str, check: Any, real_table: Path) -> None:
    check(name, real_table)


@pytest.mark.parametrize(("name", "check"), check_optimizer_parameters(checks=["runs_in_worker_process"]))
def test_contract_worker_process(name: str, check: Any, synthetic_table: Path) -> None:
    check(name, synthetic_table)
