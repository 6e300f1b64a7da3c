"""Probe what can really be measured: readable, advancing RAPL zones and GPUs whose NVML answers.

Carbontracker only checks that ``/sys/class/powercap`` is non-empty and that NVML initialises; it then
reports 0 kWh on unreadable RAPL files or falls back to a constant generic-CPU figure. These probes read
the counters and query the power of each GPU, so that Carbontracker is built with working parts only.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["GpuDevice", "Probe", "RaplZone", "default_rapl_dir", "probe", "probe_nvml", "probe_rapl"]

# Top-level powercap entries of the intel-rapl control type (also used for AMD); excludes intel-rapl-mmio
# (a second interface to the same package counter, which would count it twice).
_ZONE = re.compile(r"intel-rapl:(\d+)(?::(\d+))?")


@dataclass(frozen=True)
class RaplZone:
    """A readable RAPL zone.

    Attributes:
        zone: Directory name, e.g. ``intel-rapl:0`` or ``intel-rapl:0:2``.
        path: Absolute path of the zone directory.
        label: Content of its ``name`` file (``package-0``, ``dram``).
        component: ``"cpu"`` for package zones, ``"dram"`` for DRAM zones.
        device: Carbontracker's device name (``cpu:0``, ``dram:0``).
        max_range_uj: ``max_energy_range_uj`` (the counter wraps there), or None if absent.
    """

    zone: str
    path: Path
    label: str
    component: str
    device: str
    max_range_uj: int | None


@dataclass(frozen=True)
class GpuDevice:
    """A GPU whose NVML power query answered: NVML index and product name."""

    index: int
    name: str


@dataclass(frozen=True)
class Probe:
    """Result of probing: working RAPL zones, working GPUs, and why anything else was left out."""

    rapl_dir: Path
    zones: tuple[RaplZone, ...] = ()
    gpus: tuple[GpuDevice, ...] = ()
    problems: tuple[str, ...] = field(default=())

    @property
    def sources(self) -> tuple[str, ...]:
        """``("rapl", "nvml")`` or the subset that works."""
        return tuple(s for s, ok in (("rapl", self.zones), ("nvml", self.gpus)) if ok)


def default_rapl_dir() -> Path:
    """Carbontracker's powercap directory (its module constant, so patching it redirects ecnas too)."""
    from carbontracker.components.cpu import intel

    return Path(intel.RAPL_DIR)


def _read_int(path: Path) -> int:
    with open(path, encoding="ascii") as handle:
        return int(handle.read().strip())


def probe_rapl(
    rapl_dir: str | os.PathLike[str] | None = None, *, settle_s: float = 0.05
) -> tuple[tuple[RaplZone, ...], tuple[str, ...]]:
    """Find the package and DRAM zones whose ``energy_uj`` is readable and advances.

    Core, uncore and psys zones are ignored (core/uncore lie inside the package figure, psys covers the
    whole platform), as Carbontracker does.

    Args:
        rapl_dir: Powercap directory (default: :func:`default_rapl_dir`).
        settle_s: Delay between the two reads that check the counters advance.

    Returns:
        The working zones and the problems found (one sentence each, with the fix when there is one).
    """
    root = Path(rapl_dir) if rapl_dir is not None else default_rapl_dir()
    if not root.is_dir():
        return (), (f"RAPL: no powercap directory {root} (needs Linux with an Intel/AMD RAPL driver)",)
    problems: list[str] = []
    candidates: list[tuple[RaplZone, int]] = []
    unreadable: list[str] = []
    for entry in sorted(os.listdir(root)):
        match = _ZONE.fullmatch(entry)
        if not match:
            continue
        path = (root / entry).resolve()
        try:
            label = (path / "name").read_text(encoding="ascii").strip()
        except OSError as exc:
            problems.append(f"RAPL: cannot read {path / 'name'} ({exc.strerror or exc})")
            continue
        component = "cpu" if label.startswith("package") else "dram" if label == "dram" else None
        if component is None:
            continue
        try:
            first = _read_int(path / "energy_uj")
        except PermissionError:
            unreadable.append(str(root / entry / "energy_uj"))
            continue
        except (OSError, ValueError) as exc:
            problems.append(f"RAPL: cannot read {path / 'energy_uj'} ({exc})")
            continue
        try:
            max_range: int | None = _read_int(path / "max_energy_range_uj")
        except (OSError, ValueError):
            max_range = None
        device = f"{'cpu' if component == 'cpu' else label}:{match.group(1)}"
        candidates.append((RaplZone(entry, path, label, component, device, max_range), first))
    if unreadable:
        problems.append(
            f"RAPL: {len(unreadable)} energy_uj file(s) not readable by this user (the default "
            "for non-root since Linux 5.10); fix: sudo chmod a+r " + " ".join(unreadable)
        )
    if candidates:
        time.sleep(settle_s)
    zones: list[RaplZone] = []
    for zone, first in candidates:
        try:
            advanced = _read_int(zone.path / "energy_uj") != first
        except (OSError, ValueError) as exc:
            problems.append(f"RAPL: {zone.zone} stopped answering while probed ({exc})")
            continue
        if advanced:
            zones.append(zone)
        else:
            problems.append(f"RAPL: {zone.zone} ({zone.label}) counter did not advance in {settle_s:g} s; ignored")
    if zones and not any(z.component == "cpu" for z in zones):
        problems.append("RAPL: only DRAM zones work, no package zone; RAPL not used")
        zones = []
    if not zones and not problems:
        problems.append(f"RAPL: no package or dram zone under {root}")
    return tuple(zones), tuple(problems)


def probe_nvml() -> tuple[tuple[GpuDevice, ...], tuple[str, ...]]:
    """List the GPUs (restricted like Carbontracker to ``CUDA_VISIBLE_DEVICES``) whose power query works.

    NVML is reached through the ``pynvml`` module Carbontracker itself uses, so a stub patched into
    ``carbontracker.components.gpu.nvidia.pynvml`` is seen here too.

    Returns:
        The working GPUs and the problems found.
    """
    try:
        from carbontracker.components.gpu import nvidia
    except Exception as exc:  # pynvml missing or broken
        return (), (f"NVML: pynvml unavailable ({exc!r})",)
    nvml = nvidia.pynvml
    try:
        nvml.nvmlInit()
    except Exception as exc:
        return (), (f"NVML: not available ({exc}); no NVIDIA GPU measured",)
    gpus: list[GpuDevice] = []
    problems: list[str] = []
    try:
        indices = nvidia.NvidiaGPU(pids=[], devices_by_pid=False)._slurm_gpu_indices()
        count = int(nvml.nvmlDeviceGetCount())
        for index in indices if indices is not None else range(count):
            try:
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                name = nvml.nvmlDeviceGetName(handle)
                name = name.decode() if isinstance(name, bytes) else str(name)
            except Exception as exc:
                problems.append(f"NVML: GPU {index} not accessible ({exc})")
                continue
            try:
                float(nvml.nvmlDeviceGetPowerUsage(handle))
            except Exception as exc:
                problems.append(f"NVML: GPU {index} ({name}) does not report its power ({exc}); ignored")
                continue
            gpus.append(GpuDevice(index, name))
        if not gpus and not problems:
            problems.append("NVML: no GPU found")
    except Exception as exc:
        problems.append(f"NVML: query failed ({exc})")
    finally:
        with contextlib.suppress(Exception):
            nvml.nvmlShutdown()
    return tuple(gpus), tuple(problems)


def probe(rapl_dir: str | os.PathLike[str] | None = None, *, gpu: bool = True, cpu: bool = True) -> Probe:
    """Probe RAPL (unless ``cpu=False``) and NVML (unless ``gpu=False``)."""
    root = Path(rapl_dir) if rapl_dir is not None else default_rapl_dir()
    zones, rapl_problems = probe_rapl(root) if cpu else ((), ())
    gpus, gpu_problems = probe_nvml() if gpu else ((), ())
    return Probe(root, zones, gpus, rapl_problems + gpu_problems)
