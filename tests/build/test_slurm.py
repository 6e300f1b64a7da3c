"""The Slurm path of the builder on a real Slurm: array = one process; requeue and preemption lose nothing.

Runs where a Slurm controller answers (CI starts a single-node one with ``.ci/slurm.sh start``); skipped
with the reason otherwise. Each case measures the 7 cells of the 3-vertex space with the tiny profile.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecnas.build.records import load_records, read_lines

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "builders" / "slurm-array.sh"
#: Keys that differ between two measurements of the same cell (timings, energy, where and when).
VOLATILE = {"training_time", "energy_kwh", "total_energy_kwh", "energy", "hardware", "created", "attempt"}


def _slurm_reason() -> str | None:
    for tool in ("sbatch", "squeue", "scontrol", "sinfo"):
        if shutil.which(tool) is None:
            return f"{tool} not installed (CI installs Slurm and starts it with .ci/slurm.sh)"
    conf = Path(os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf"))
    if not conf.is_file():  # sinfo would retry for a minute
        return f"no Slurm configuration at {conf} (CI writes one with .ci/slurm.sh start)"
    try:
        states = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return "sinfo does not answer: no Slurm controller running"
    if states.returncode != 0:
        return f"no Slurm controller answers: {states.stderr.strip()[:200]}"
    if not any(state.strip("*~#") in ("idle", "mixed", "allocated") for state in states.stdout.split()):
        return f"no usable Slurm node (states: {states.stdout.split()})"
    return None


_REASON = _slurm_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=str(_REASON))


def _ecnas(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "ecnas.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, check=True
    )


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("slurm-plan")
    _ecnas("build", "sample", "--profile", "tiny", "--max-vertices", "3", "--sample-fraction", "1.0",
           "--seed", "0", "--workdir", str(folder / "plan"))  # fmt: skip
    return folder / "plan" / "plan.json"


@pytest.fixture(scope="module")
def reference(plan: Path) -> list[dict]:
    """The records of one process measuring the whole plan."""
    workdir = plan.parent.parent / "single"
    workdir.mkdir()
    shutil.copy(plan, workdir / "plan.json")
    _ecnas("build", "measure", "--workdir", str(workdir), "--no-progress")
    return load_records(workdir)


@pytest.fixture
def workdir(plan: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "build"
    folder.mkdir()
    shutil.copy(plan, folder / "plan.json")
    wrapper = folder / "ecnas"  # the script runs "$ECNAS build measure ...": this checkout's ecnas
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m ecnas.cli "$@"\n')
    wrapper.chmod(0o755)
    return folder


def _submit(workdir: Path, array: str, shards: int) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ECNAS": str(workdir / "ecnas")}
    env["ECNAS_SHARDS"] = str(shards)
    done = subprocess.run(
        ["sbatch", "--parsable", f"--array={array}", f"--chdir={workdir}", f"--output={workdir}/slurm-%A_%a.log",
         str(SCRIPT), str(workdir), "1"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    return done.stdout.strip().split(";")[0]


def _states(job: str) -> dict[str, str]:
    out = subprocess.run(["squeue", "-h", "-j", job, "-o", "%i %T"], capture_output=True, text=True).stdout
    return dict(line.split() for line in out.splitlines() if line.strip())


def _wait_done(job: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _states(job):
            return
        time.sleep(1)
    subprocess.run(["scancel", job], check=False)
    pytest.fail(f"Slurm job {job} did not finish in {timeout:.0f} s")


def _complete_cells(workdir: Path) -> int:
    return len({record["hash"] for record in load_records(workdir)})


def _wait_cells(workdir: Path, at_least: int, job: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _complete_cells(workdir) >= at_least:
            return
        if not _states(job):
            pytest.fail(f"job {job} ended before measuring {at_least} cells")
        time.sleep(0.2)
    pytest.fail(f"job {job} measured fewer than {at_least} cells in {timeout:.0f} s")


def _stable(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in record.items() if k not in VOLATILE} for record in records]


def _attempts(workdir: Path) -> dict[str, set[str]]:
    """Hash → attempts that appended records (a cell measured twice has two)."""
    attempts: dict[str, set[str]] = {}
    for file in sorted(workdir.glob("records*.jsonl")):
        for record in read_lines(file)[0]:
            attempts.setdefault(record["hash"], set()).add(record["attempt"])
    return attempts


def test_array_of_four_shards_equals_one_process(workdir, reference):
    job = _submit(workdir, "0-3", 4)
    _wait_done(job)
    records = load_records(workdir)
    assert len(list(workdir.glob("records-*-of-4.jsonl"))) == 4
    assert _stable(records) == _stable(reference)
    assert all(len(attempts) == 1 for attempts in _attempts(workdir).values())


def test_requeue_of_a_running_task_resumes_without_duplicates(workdir, reference):
    job = _submit(workdir, "0", 1)
    _wait_cells(workdir, 2, job)
    subprocess.run(["scontrol", "requeue", f"{job}_0"], check=True, capture_output=True)
    _wait_done(job, timeout=420)
    shown = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True).stdout
    assert "Restarts=1" in shown, shown  # it really ran twice
    assert _stable(load_records(workdir)) == _stable(reference)
    assert all(len(attempts) == 1 for attempts in _attempts(workdir).values()), "a cell was measured twice"


def test_preempted_task_loses_at_most_the_cell_in_flight(workdir, reference):
    job = _submit(workdir, "0", 1)
    _wait_cells(workdir, 2, job)
    before = _complete_cells(workdir)
    subprocess.run(["scancel", "--full", "--signal=TERM", f"{job}_0"], check=True, capture_output=True)
    _wait_done(job)
    after = _complete_cells(workdir)
    assert before <= after <= before + 1  # the cell in flight is finished and kept, nothing else runs
    lines, dropped = read_lines(workdir / "records-0-of-1.jsonl")
    assert dropped == 0 and len({r["attempt"] for r in lines}) == after  # no torn or partial cell left
    job = _submit(workdir, "0", 1)  # resubmitted: the shard resumes
    _wait_done(job)
    assert _stable(load_records(workdir)) == _stable(reference)
    assert all(len(attempts) == 1 for attempts in _attempts(workdir).values())
