"""CPU seconds of a process tree: the process (all its threads, e.g. torch's), its children and theirs."""

from __future__ import annotations

import os
import time

import psutil

__all__ = ["ProcessTreeCpu"]


class ProcessTreeCpu:
    """Callable returning the CPU seconds (user + system) consumed so far by a process tree.

    A process's own figure covers all of its threads; ``children_user``/``children_system`` cover
    children that already exited and were waited for; live descendants are added one by one. The
    difference of two calls is therefore the tree's CPU time in between, whether children started,
    ran or exited in the meantime.

    Args:
        pid: Root of the tree (default: the current process).
    """

    def __init__(self, pid: int | None = None) -> None:
        self._proc = psutil.Process(pid)
        self._is_self = self._proc.pid == os.getpid()

    def __call__(self) -> float:
        """CPU seconds of the tree so far."""
        if self._is_self:  # nanosecond clock for this process (psutil's /proc figures are in 10 ms ticks)
            reaped = os.times()
            total = time.process_time() + reaped.children_user + reaped.children_system
        else:
            total = _cpu(self._proc)
        for child in self._proc.children(recursive=True):
            try:
                total += _cpu(child)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue  # exited between the listing and the read, or not ours to inspect
        return total


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)
