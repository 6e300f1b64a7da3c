from __future__ import annotations

import os

import pytest

import ecnas.energy._auto
from ecnas.build.local import _refuse_shared_hardware_meter
from ecnas.build.measure import measure_shard, refuse_shared_node


class _Meter:
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def describe(self) -> dict:
        return {"kind": self.kind, "method": f"{self.kind}:test"}


def test_several_local_workers_refused_with_a_whole_machine_meter(monkeypatch):
    monkeypatch.setattr(ecnas.energy._auto, "auto_meter", lambda **kwargs: _Meter("measured"))
    with pytest.raises(ValueError, match="whole-machine meter"):
        _refuse_shared_hardware_meter({}, 2)
    monkeypatch.setattr(ecnas.energy._auto, "auto_meter", lambda **kwargs: _Meter("mixed"))
    with pytest.raises(ValueError, match="workers=3"):
        _refuse_shared_hardware_meter({}, 3)


def test_per_process_estimate_allows_several_workers(monkeypatch):
    monkeypatch.setattr(ecnas.energy._auto, "auto_meter", lambda **kwargs: _Meter("estimated"))
    _refuse_shared_hardware_meter({}, 2)


_RAPL = {"kind": "measured", "method": "measured:carbontracker[rapl]", "rapl_zones": ["intel-rapl:0 (package-0)"]}


def test_rapl_in_a_slurm_job_holding_part_of_its_node_is_refused(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    with pytest.raises(ValueError, match=r"job 7 only 8 of this node's 64 CPUs.*--exclusive"):
        refuse_shared_node(_RAPL, {"SLURM_JOB_ID": "7", "SLURM_CPUS_ON_NODE": "8"})
    refuse_shared_node(_RAPL, {"SLURM_JOB_ID": "7", "SLURM_CPUS_ON_NODE": "64"})  # a whole node
    refuse_shared_node(_RAPL, {})  # not under Slurm
    gpu_only = {"kind": "mixed", "method": "mixed:carbontracker[nvml]", "rapl_zones": [], "gpus": ["A100"]}
    refuse_shared_node(gpu_only, {"SLURM_JOB_ID": "7", "SLURM_CPUS_ON_NODE": "8"})  # NVML follows the job's GPUs
    refuse_shared_node({"kind": "estimated"}, {"SLURM_JOB_ID": "7", "SLURM_CPUS_ON_NODE": "8"})


def test_measure_shard_stops_before_training_on_a_shared_slurm_node(monkeypatch, hand_plan):
    workdir, _ = hand_plan

    class _RaplMeter(_Meter):
        def describe(self) -> dict:
            return dict(_RAPL)

    monkeypatch.setattr(ecnas.energy._auto, "auto_meter", lambda **kwargs: _RaplMeter("measured"))
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setenv("SLURM_JOB_ID", "7")
    monkeypatch.setenv("SLURM_CPUS_ON_NODE", "8")
    with pytest.raises(ValueError, match="other jobs on the node"):
        measure_shard(workdir, progress=False)
    assert not list(workdir.glob("records*.jsonl"))


def test_shared_node_guard_can_be_lifted_for_nodes_slurm_undercounts(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    environ = {"SLURM_JOB_ID": "7", "SLURM_CPUS_ON_NODE": "62"}
    with pytest.raises(ValueError, match="ECNAS_ALLOW_SHARED_NODE=1"):
        refuse_shared_node(_RAPL, environ)
    refuse_shared_node(_RAPL, {**environ, "ECNAS_ALLOW_SHARED_NODE": "1"})
