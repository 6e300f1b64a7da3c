"""The MFMO run: Hyperband budgets, ParEGO choices, durable and resumable trials, clean refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ecnas.dsnn import run
from ecnas.dsnn._parego import ParEGOSelector
from ecnas.dsnn.mfmo import load_trials
from ecnas.errors import EcnasError
from ecnas.spaces import get_space

ENERGY = {"carbon_intensity": 300.0}


def _small_run(out, fast_options, **kwargs):
    options = {"trials": 6, "seed": 0, "default_repeats": 1, "initial_design": 3, "pool_size": 30, "mutants": 5}
    options.update(kwargs)
    return run(out, profile="tiny", profile_options=fast_options, energy=ENERGY, **options)


def test_run_evaluates_hyperband_trials_and_resumes(tmp_path, fast_options):
    result = _small_run(tmp_path, fast_options)
    search = result.search_trials()
    assert len(search) == 6 and result.evaluated == 7
    # two rungs (1, 3 epochs), eta 3: bracket 0 starts 3 configurations at 1 epoch and promotes 1; bracket 1 runs 2 at 3
    assert [t["budget"] for t in search] == [1, 1, 1, 3, 3, 3]
    assert search[3]["key"] in {t["key"] for t in search[:3]}
    defaults = [t for t in result.trials if t["kind"] == "default"]
    assert (
        len(defaults) == 1 and defaults[0]["config"] == dict(get_space("dsnn").default()) and defaults[0]["budget"] == 3
    )
    assert all(t["status"] == "ok" for t in result.trials)
    assert load_trials(tmp_path) == result.trials
    settings = json.loads((tmp_path / "run.json").read_text())
    assert settings["budgets"] == [1, 3] and settings["objectives"] == ["loss", "inference_co2eq_g"]
    # resume: nothing is evaluated again, the same trials come back
    again = _small_run(tmp_path, fast_options)
    assert again.evaluated == 0 and again.trials == result.trials
    with pytest.raises(EcnasError, match="seed"):
        _small_run(tmp_path, fast_options, seed=1)


def test_analytic_emissions_objective(tmp_path, fast_options):
    from ecnas.dsnn.report import write_report

    result = _small_run(tmp_path, fast_options, trials=3, default_repeats=1, emissions="analytic")
    assert json.loads((tmp_path / "run.json").read_text())["objectives"] == ["loss", "analytic_co2eq_g"]
    assert all(t["analytic_co2eq_g"] > 0 for t in result.trials)
    assert write_report(tmp_path)["objectives"] == ["loss", "analytic_co2eq_g"]
    with pytest.raises(ValueError, match="emissions"):
        _small_run(tmp_path / "x", fast_options, emissions="guessed")


def test_torn_tail_is_dropped_and_the_trial_redone(tmp_path, fast_options):
    first = _small_run(tmp_path, fast_options, trials=3)
    path = tmp_path / "trials.jsonl"
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(lines[:-2]) + b"\n" + lines[-2][:40])  # the last trial torn mid-line
    assert len(load_trials(tmp_path)) == len(first.trials) - 1
    again = _small_run(tmp_path, fast_options, trials=3)
    assert again.evaluated == 1
    assert [t["key"] for t in again.trials] == [t["key"] for t in first.trials]


def test_parego_uses_the_model_once_a_budget_has_data():
    space = get_space("dsnn")
    rng = np.random.default_rng(0)
    parego = ParEGOSelector(rng, initial_design=4, pool_size=40, mutants=10)
    configs = space.sample(6, seed=1)
    F = [np.array([0.1 * k, 1.0 - 0.1 * k]) for k in range(5)] + [None]  # one failure
    observed = {1: list(zip(configs, F, strict=True)), 3: []}
    seen = {c.key for c in configs}
    chosen = parego.select(4, observed, seen)
    assert len(chosen) == 4 and len({c.key for c in chosen}) == 4 and not seen & {c.key for c in chosen}
    assert parego.model.theta_ is not None  # the GP was fitted
    assert len(ParEGOSelector(rng, initial_design=10, pool_size=5, mutants=0).select(3, observed, seen)) == 3  # random


def test_bad_arguments(tmp_path, fast_options):
    with pytest.raises(ValueError, match="optimizer"):
        run(tmp_path, optimizer="nsga2")
    with pytest.raises(ValueError, match="trials"):
        run(tmp_path, trials=0)
    with pytest.raises(EcnasError, match="does not exist"):
        run(tmp_path, profile="cifar10", profile_options={"data_dir": str(tmp_path / "missing")})


_SCRIPT = """
import sys, torch
torch.set_num_threads(1)
from ecnas.dsnn import run
run(sys.argv[1], profile="tiny", trials=12, seed=0, workers=2, default_repeats=0, initial_design=3,
    pool_size=30, mutants=5, energy={"carbon_intensity": 300.0},
    profile_options=dict(width=4, split_sizes=(300, 100, 100), max_budget=3, min_window_s=0.0, max_passes=2))
"""


@pytest.mark.slow
def test_kill_minus_nine_loses_only_trials_in_flight(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.Popen([sys.executable, "-c", _SCRIPT, str(tmp_path)], env=env)
    deadline = time.time() + 240
    while time.time() < deadline and len(load_trials(tmp_path)) < 3:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = load_trials(tmp_path)
    assert len(before) >= 3
    time.sleep(1.0)
    for pid in {t["worker_pid"] for t in before}:  # the workers died with their parent (gone, or a zombie)
        status = Path(f"/proc/{pid}/status")
        assert not status.exists() or "State:\tZ" in status.read_text()
    subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp_path)], env=env, check=True, timeout=600)
    after = load_trials(tmp_path)
    assert [t["trial"] for t in after] == list(range(12))
    assert after[: len(before)] == before
