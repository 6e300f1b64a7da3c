"""Process lifecycle of workers: die with the parent, stop cleanly on SIGTERM (what Slurm sends before preemption).

Two kinds of workers use it:

- measure workers (``python -m ecnas.build.worker``, ``ecnas build measure``): SIGTERM sets a flag that the
  measure loop checks between cells, so the cell in flight is finished and appended, and the process
  exits 143 (a second SIGTERM exits at once, losing only the cell in flight);
- pool workers (``ecnas compare --jobs``): SIGTERM unwinds the current task (temporary files removed by
  their ``finally`` blocks) and ends the process.

On Linux a worker asks the kernel to send it SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``,
through ctypes) and checks right after that its parent is still the one it was started by (the parent may
have died before the call). Elsewhere a daemon thread polls the parent's pid every second.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

__all__ = [
    "PARENT_PID_VARIABLE",
    "Stopped",
    "die_with_parent",
    "install_stop_handler",
    "sigterm_interrupts",
    "stop_requested",
]

#: Environment variable a launcher sets to its pid so the worker it starts can watch it.
PARENT_PID_VARIABLE = "ECNAS_PARENT_PID"
_PR_SET_PDEATHSIG = 1
_stop = threading.Event()


class Stopped(BaseException):
    """Raised in a pool worker by SIGTERM: unwinds the task (cleanup runs), then the worker exits."""


def stop_requested() -> bool:
    """True once this process received SIGTERM (or its parent died) under :func:`install_stop_handler`."""
    return _stop.is_set()


def install_stop_handler(*, graceful: bool) -> None:
    """Handle SIGTERM in this process (main thread only).

    Args:
        graceful: True (measure workers): the first SIGTERM only sets :func:`stop_requested`; the loop stops
            after the cell in flight; a second SIGTERM raises :class:`SystemExit` at once. False (pool
            workers): every SIGTERM raises :class:`Stopped`.
    """

    def handler(signum: int, frame: Any) -> None:
        if graceful and not _stop.is_set():
            _stop.set()
            print("SIGTERM: stopping after the cell in flight (send it again to stop now)", file=sys.stderr, flush=True)
            return
        _stop.set()
        if graceful:
            raise SystemExit(128 + signal.SIGTERM)
        raise Stopped

    signal.signal(signal.SIGTERM, handler)


def _parent_alive(parent: int) -> bool:
    return os.getppid() == parent


def die_with_parent(parent: int | None = None) -> None:
    """Make this process receive SIGTERM when ``parent`` (default: the current parent) dies.

    Call it first thing in a worker, after :func:`install_stop_handler`. If the parent is already gone, the
    signal is sent to this process at once.
    """
    if parent is None:
        text = os.environ.get(PARENT_PID_VARIABLE, "")
        parent = int(text) if text.isdigit() else os.getppid()
    armed = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if not _parent_alive(parent):  # died before prctl: the kernel will not tell us
        os.kill(os.getpid(), signal.SIGTERM)
        return
    if not armed:
        threading.Thread(target=_watch, args=(parent,), name="ecnas-parent-watch", daemon=True).start()


def _watch(parent: int) -> None:
    while _parent_alive(parent):
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """In a launcher (main thread): SIGTERM raises KeyboardInterrupt, so it stops like Ctrl-C (cleanup runs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
