from __future__ import annotations

import pytest

import ecnas.energy
from ecnas.build.local import _refuse_shared_hardware_meter


class _Meter:
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def describe(self) -> dict:
        return {"kind": self.kind, "method": f"{self.kind}:test"}


def test_several_local_workers_refused_with_a_whole_machine_meter(monkeypatch):
    monkeypatch.setattr(ecnas.energy, "auto_meter", lambda **kwargs: _Meter("measured"))
    with pytest.raises(ValueError, match="whole-machine meter"):
        _refuse_shared_hardware_meter({}, 2)
    monkeypatch.setattr(ecnas.energy, "auto_meter", lambda **kwargs: _Meter("mixed"))
    with pytest.raises(ValueError, match="workers=3"):
        _refuse_shared_hardware_meter({}, 3)


def test_per_process_estimate_allows_several_workers(monkeypatch):
    monkeypatch.setattr(ecnas.energy, "auto_meter", lambda **kwargs: _Meter("estimated"))
    _refuse_shared_hardware_meter({}, 2)
