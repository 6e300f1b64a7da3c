"""Local evaluation workers: processes that train DSNN configurations and die with their parent.

Each worker is started with ``spawn`` (no inherited torch state), runs torch on ``threads`` threads, builds
its own energy meter once, and asks Linux to kill it when the parent dies (``PR_SET_PDEATHSIG``), so a
``kill -9`` of the run never leaves orphans training in the background.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from collections.abc import Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

__all__ = ["EvaluationPool", "evaluate_job"]

_METER: Any = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:  # pragma: no cover - not Linux/glibc: the executor's own shutdown still applies
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _init_worker(parent: int, threads: int, energy: Mapping[str, Any]) -> None:
    _die_with_parent(parent)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    from ecnas.energy import auto_meter

    torch.set_num_threads(threads)
    global _METER
    _METER = auto_meter(**dict(energy))


def evaluate_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """Evaluate one job (``config``, ``budget``, ``seed``, ``profile``, ``profile_options``); never raises.

    An unexpected error becomes a failed record with its reason, so one bad evaluation cannot stop a run.
    """
    from ecnas.dsnn.objective import evaluate

    global _METER
    if _METER is None:
        from ecnas.energy import auto_meter

        _METER = auto_meter(**dict(job.get("energy") or {}))
    try:
        record = evaluate(
            job["config"],
            job["budget"],
            profile=job["profile"],
            seed=job["seed"],
            meter=_METER,
            profile_options=job.get("profile_options"),
        )
    except Exception as error:  # recorded as a failed evaluation with its reason
        record = {
            "key": job.get("key"),
            "config": dict(job["config"]),
            "budget": job["budget"],
            "seed": job["seed"],
            "status": "failed",
            "reason": f"{type(error).__name__}: {error}",
        }
    record["worker_pid"] = os.getpid()
    return record


class _InlineExecutor(Executor):
    """Runs jobs in the calling process (``workers=1``)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:  # type: ignore[override]
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


class EvaluationPool:
    """``workers`` local processes (or the calling process for ``workers=1``) evaluating jobs.

    Args:
        workers: number of processes (>= 1).
        threads: torch threads per worker.
        energy: :func:`ecnas.energy.auto_meter` options.
    """

    def __init__(self, *, workers: int = 1, threads: int = 1, energy: Mapping[str, Any] | None = None) -> None:
        self.workers = workers
        self.energy = dict(energy or {})
        if workers == 1:
            import torch

            torch.set_num_threads(threads)
            self._executor: Executor = _InlineExecutor()
        else:
            self._executor = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(os.getpid(), threads, self.energy),
            )

    def submit(self, job: Mapping[str, Any]) -> Future[dict[str, Any]]:
        """Start evaluating ``job``."""
        return self._executor.submit(evaluate_job, {**job, "energy": self.energy})

    def close(self) -> None:
        """Stop the workers (waiting for none that is still training)."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> EvaluationPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
