"""The meter contract suite, parametrised over the meter registry (not a hand list)."""

from __future__ import annotations

import pytest

from ecnas.energy import meter_names
from ecnas.testing.meters import CHECKS, CONTRACT_FACTORIES


def test_every_registered_meter_has_a_contract_factory():
    assert set(meter_names()) >= {"carbontracker", "cpu-time"}
    missing = set(meter_names()) - set(CONTRACT_FACTORIES)
    assert not missing, f"register a contract factory for: {sorted(missing)}"


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("name", meter_names())
def test_meter_contract(name, check, tmp_path):
    check(name, tmp_path)
