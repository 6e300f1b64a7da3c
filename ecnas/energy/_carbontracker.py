"""The Carbontracker backend: real RAPL/NVML measurements through Carbontracker's sampler.

See :mod:`ecnas.energy._ct_session` for what is reused from Carbontracker and what is corrected.
"""

from __future__ import annotations

import contextlib
import math
import os
import weakref
from typing import Any

from ecnas.energy import _probe as probing
from ecnas.energy._base import (
    ComponentReading,
    DeviceReading,
    Meter,
    MeterUnavailableError,
    _check_number,
    register_meter,
)
from ecnas.energy._probe import Probe

__all__ = ["CarbontrackerMeter"]

_JOULES_PER_KWH = 3.6e6


def _release_nvml(nvml: Any) -> None:
    with contextlib.suppress(Exception):
        nvml.nvmlShutdown()


@register_meter("carbontracker")
class CarbontrackerMeter(Meter):
    """Energy measured by Carbontracker on the RAPL zones and GPUs that really work here.

    Probing happens once, at construction; each measurement then starts Carbontracker's sampler
    thread over the working handlers and stops it (joined) when the block exits. Device energies are
    summed, no PUE is applied to energy, nothing touches the network. Without a working RAPL zone the
    CPU share is the CPU-time estimate and readings are labelled ``mixed``. RAPL and NVML count the
    whole machine (packages, DRAM, GPUs), so other jobs running on it are included.

    Args:
        rapl_dir: Powercap directory (default: Carbontracker's ``RAPL_DIR``, ``/sys/class/powercap/``).
        cpu: Measure RAPL zones.
        gpu: Measure NVIDIA GPUs through NVML.
        window_s: RAPL sampling window in s (also the GPU sampling period without RAPL).
        start_timeout_s: Longest wait for the first sample when a measurement starts.
        stop_timeout_s: Longest wait for the sampler thread to stop.
        probe: A probe already made for ``rapl_dir`` (``auto_meter`` passes its own); default: probe now.
        **kwargs: ``carbon_intensity``, ``country``, ``pue``, ``watts_per_thread``, ``clock``,
            ``cpu_timer`` as in :class:`~ecnas.energy.Meter`.

    Raises:
        MeterUnavailableError: If neither a RAPL zone nor a GPU works (the message says why).
    """

    def __init__(
        self,
        *,
        rapl_dir: str | os.PathLike[str] | None = None,
        cpu: bool = True,
        gpu: bool = True,
        window_s: float = 1.0,
        start_timeout_s: float = 2.0,
        stop_timeout_s: float = 5.0,
        probe: Probe | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.window_s = _check_number(
            "window_s", window_s, minimum=0.0, strict=True, hint="It is the RAPL sampling window in seconds, e.g. 1.0."
        )
        self.start_timeout_s = _check_number(
            "start_timeout_s", start_timeout_s, minimum=0.0, strict=False, hint="Seconds, e.g. 2.0."
        )
        self.stop_timeout_s = _check_number(
            "stop_timeout_s", stop_timeout_s, minimum=0.0, strict=True, hint="Seconds, e.g. 5.0."
        )
        if rapl_dir is not None and not isinstance(rapl_dir, (str, os.PathLike)):
            raise TypeError(f"`rapl_dir` must be a path to a powercap directory, got {rapl_dir!r}")
        found = probe if probe is not None else probing.probe(rapl_dir, cpu=cpu, gpu=gpu)
        self.probe = Probe(found.rapl_dir, found.zones if cpu else (), found.gpus if gpu else (), found.problems)
        if not self.probe.zones and not self.probe.gpus:
            raise MeterUnavailableError(
                "Carbontracker can measure nothing here: "
                + "; ".join(self.probe.problems or ("disabled",))
                + ". Use ecnas.energy.auto_meter() to fall back to the labelled CPU-time estimate."
            )
        from ecnas.energy._ct_session import CarbontrackerSession  # heavy (pandas via carbontracker.tracker)

        self._session_cls = CarbontrackerSession
        self._release = None
        if self.probe.gpus:  # hold one NVML reference so that each measurement's nvmlInit is cheap
            from carbontracker.components.gpu import nvidia

            try:
                nvidia.pynvml.nvmlInit()
                self._release = weakref.finalize(self, _release_nvml, nvidia.pynvml)
            except Exception:
                self._release = None

    def close(self) -> None:
        """Drop the NVML reference held between measurements (idempotent)."""
        if self._release is not None:
            self._release()

    def describe(self) -> dict[str, Any]:
        """As :meth:`Meter.describe`, plus the zones and GPUs measured and what the probe left out."""
        out = super().describe()
        out.update(
            rapl_dir=str(self.probe.rapl_dir),
            window_s=self.window_s,
            rapl_zones=[f"{z.zone} ({z.label})" for z in self.probe.zones],
            gpus=[g.name for g in self.probe.gpus],
            probe_problems=list(self.probe.problems),
        )
        return out

    # ------------------------------------------------------------------------------------------ hooks
    def _start(self) -> Any:
        return self._session_cls(
            self.probe.zones,
            self.probe.gpus,
            window_s=self.window_s,
            start_timeout_s=self.start_timeout_s,
            stop_timeout_s=self.stop_timeout_s,
        )

    def _read(self, session: Any, duration_s: float, cpu_seconds: float, warnings: list[str]) -> list[ComponentReading]:
        warnings.extend(session.stop())
        components: list[ComponentReading] = []
        if session.rapl is not None:
            components += self._rapl_components(session.rapl, duration_s, warnings)
        if session.nvml is not None:
            gpu = self._gpu_component(session.nvml, duration_s, warnings)
            components += [gpu] if gpu is not None else []
        if not any(c.name == "cpu" for c in components):
            if self.probe.zones:
                warnings.append("no RAPL package sample was collected; CPU energy estimated from CPU time")
            components.append(self._estimate_cpu(cpu_seconds, duration_s))
        return components

    def _planned_components(self) -> list[ComponentReading]:
        planned = [
            ComponentReading(name, "measured", "carbontracker[rapl]", math.nan)
            for name in dict.fromkeys(z.component for z in self.probe.zones)
        ]
        if self.probe.gpus:
            planned.append(ComponentReading("gpu", "measured", "carbontracker[nvml]", math.nan))
        if not any(z.component == "cpu" for z in self.probe.zones):
            planned.append(self._estimate_cpu(0.0))
        return planned

    # -------------------------------------------------------------------------------------- internals
    def _rapl_components(self, handler: Any, duration_s: float, warnings: list[str]) -> list[ComponentReading]:
        windows = list(handler.windows)
        by_component: dict[str, ComponentReading] = {}
        for i, zone in enumerate(handler.zones):
            valid = [(seconds, joules[i]) for seconds, joules in windows if seconds > 0 and math.isfinite(joules[i])]
            comp = by_component.setdefault(
                zone.component, ComponentReading(zone.component, "measured", "carbontracker[rapl]", 0.0)
            )
            error = handler.errors.get(i, "no window completed")
            if not valid:
                warnings.append(
                    f"RAPL zone {zone.zone} ({zone.device}) gave no valid sample ({error}); "
                    "left out, so the total is an underestimate"
                )
                comp.complete = False
                continue
            seconds = sum(s for s, _ in valid)
            power = sum(j for _, j in valid) / seconds
            if len(valid) < len(windows):
                warnings.append(
                    f"RAPL zone {zone.zone} ({zone.device}) answered in {len(valid)} of "
                    f"{len(windows)} windows ({error}); its energy is extrapolated from them"
                )
            kwh = power * duration_s / _JOULES_PER_KWH
            comp.devices.append(DeviceReading(zone.zone, zone.device, kwh, power, len(valid)))
            comp.energy_kwh += kwh
        return [c for c in by_component.values() if c.devices]

    def _gpu_component(self, handler: Any, duration_s: float, warnings: list[str]) -> ComponentReading | None:
        samples = list(handler.samples)
        comp = ComponentReading("gpu", "measured", "carbontracker[nvml]", 0.0)
        for i, gpu in enumerate(handler.gpus):
            values = [s[i] for s in samples if i < len(s) and math.isfinite(s[i])]
            error = handler.errors.get(i, "no sample taken")
            if not values:
                warnings.append(
                    f"GPU {gpu.index} ({gpu.name}) gave no valid power sample ({error}); "
                    "left out, so the total is an underestimate"
                )
                comp.complete = False
                continue
            if len(values) < len(samples):
                warnings.append(
                    f"GPU {gpu.index} ({gpu.name}) answered in {len(values)} of {len(samples)} "
                    f"samples ({error}); its energy is extrapolated from them"
                )
            power = sum(values) / len(values)
            kwh = power * duration_s / _JOULES_PER_KWH
            comp.devices.append(DeviceReading(f"nvml:{gpu.index}", gpu.name, kwh, power, len(values)))
            comp.energy_kwh += kwh
        return comp if comp.devices else None
