"""``describe_hardware()``: the machine a table was measured on, for table provenance."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any

import psutil

__all__ = ["cpu_model", "describe_hardware"]


def cpu_model() -> str:
    """CPU model name (``/proc/cpuinfo`` on Linux, ``sysctl`` on macOS, ``platform`` elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware", "cpu model") and value.strip():
                    return value.strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=5, check=False
            )
            if out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def describe_hardware(*, probe_gpus: bool = True) -> dict[str, Any]:
    """JSON-able description of this machine.

    Args:
        probe_gpus: Ask NVML for the GPUs (through Carbontracker's ``pynvml``); False skips it.

    Returns:
        ``cpu_model``, ``logical_cores``, ``physical_cores``, ``usable_cores`` (CPU affinity),
        ``ram_bytes``, ``ram_gib``, ``gpus`` (names of the GPUs whose NVML power query works),
        ``os``, ``machine``, ``python``, ``python_implementation``.
    """
    ram = int(psutil.virtual_memory().total)
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    gpus: list[str] = []
    if probe_gpus:
        from ecnas.energy._probe import probe_nvml

        gpus = [g.name for g in probe_nvml()[0]]
    return {
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "usable_cores": usable,
        "ram_bytes": ram,
        "ram_gib": round(ram / 2**30, 2),
        "gpus": gpus,
        "os": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
    }
