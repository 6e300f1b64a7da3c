"""Local launcher: N measure workers as separate processes on this machine, one progress bar.

Worker ``i`` runs ``python -m ecnas.build.worker --workdir W --shard i/N --threads T`` and logs to
``W/logs/shard-<i>-of-<N>.log``. Interrupting the launcher (Ctrl-C) stops the workers it started;
everything already appended is kept and the next launch resumes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ecnas._lifecycle import PARENT_PID_VARIABLE, sigterm_interrupts
from ecnas.build.plan import read_plan
from ecnas.build.status import RecordTail
from ecnas.errors import EcnasError

__all__ = ["launch_local"]


def _refuse_shared_hardware_meter(energy: Mapping[str, Any], workers: int) -> None:
    """RAPL and NVML read the whole machine: N workers on one host would each count all N trainings."""
    from ecnas.energy import meter_from_settings

    description = meter_from_settings(**energy).describe()
    if description.get("kind") != "estimated":
        raise ValueError(
            f"workers={workers} on one machine with a whole-machine meter ({description.get('method')}) would "
            "count every worker's energy in every reading; use workers=1 here, or one node (or one GPU per job) "
            "per shard with builders/slurm-array.sh"
        )


def launch_local(
    workdir: str | os.PathLike[str],
    *,
    workers: int = 2,
    threads: int = 1,
    progress: bool = True,
    poll_s: float = 3.0,
) -> float:
    """Measure the plan in ``workdir`` with ``workers`` local processes; returns the wall time in s.

    Raises:
        ValueError: ``workers`` or ``threads`` below 1.
        EcnasError: a worker failed (the message names its log file).
    """
    from tqdm.auto import tqdm

    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}.")
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}.")
    directory = Path(workdir)
    plan = read_plan(directory)
    if workers > 1:
        _refuse_shared_hardware_meter(plan.energy, workers)
    options = plan.profile_options
    per_cell = len(options.get("budgets") or ()) * int(options.get("repeats") or 1)
    tail = RecordTail(directory, per_cell)
    planned = set(plan.hashes)
    logs = directory / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    env[PARENT_PID_VARIABLE] = str(os.getpid())  # workers die with this launcher (kill -9 included)
    start = time.perf_counter()
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    for index in range(workers):
        log = logs / f"shard-{index}-of-{workers}.log"
        with open(log, "ab") as handle:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "ecnas.build.worker",
                    "--workdir",
                    str(directory),
                    "--shard",
                    f"{index}/{workers}",
                    "--threads",
                    str(threads),
                ],
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=env,
            )
        procs.append((proc, log))
    bar = tqdm(total=len(planned), disable=not progress, desc="measure", unit="cell", dynamic_ncols=True)
    stack = contextlib.ExitStack()
    stack.enter_context(sigterm_interrupts())  # SIGTERM of the launcher stops like Ctrl-C
    try:
        while True:
            running = [p for p, _ in procs if p.poll() is None]
            tail.poll()
            bar.n = len(tail.done & planned)
            bar.refresh()
            if not running:
                break
            time.sleep(poll_s)
    except KeyboardInterrupt:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in procs:
            proc.wait()  # each finishes the cell in flight, appends it and exits
        raise
    finally:
        bar.close()
        stack.close()
    failed = [(p.returncode, log) for p, log in procs if p.returncode != 0]
    if failed:
        code, log = failed[0]
        tail_text = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise EcnasError(
            f"{len(failed)} measure worker(s) failed (exit code {code}); see {log}: " + " | ".join(tail_text)
        )
    return time.perf_counter() - start
