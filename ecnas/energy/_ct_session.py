"""One measurement through Carbontracker's own machinery, with its faults taken out.

Carbontracker's sampler thread (:class:`carbontracker.tracker.CarbonTrackerThread`), its components
(:class:`carbontracker.components.component.Component`) and its RAPL/NVML handlers do the measuring.
What is changed, by subclassing:

- handlers are built from the probe (only working zones/GPUs; Carbontracker's generic-CPU constant is
  never reached) and keep each device's samples apart, so that devices are **summed** — Carbontracker
  flattens all devices into one list and averages them;
- the RAPL window is timed with a monotonic clock instead of assuming ``sleep(1)`` lasted 1 s, corrects
  counter wrap-around (Carbontracker turns it into 0 W) and can be interrupted, so stopping is immediate;
- a device that stops answering yields NaN for its samples instead of aborting every device;
- the logger stays silent (debug records under ``ecnas.energy.carbontracker``) and creates no new
  ``logging`` loggers per measurement;
- ``ignore_errors=True`` and a bounded join: its failures never ``os._exit`` or hang the process.

The top-level ``CarbonTracker`` facade is not used: all it adds is the geolocation network call, the
fixed PUE of 1.58, predictions and printing, and it deletes its state before one can read it.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Sequence
from typing import Any

from carbontracker import loggerutil
from carbontracker.components import component
from carbontracker.components.cpu import intel
from carbontracker.components.gpu import nvidia
from carbontracker.tracker import CarbonTrackerThread

from ecnas.energy._probe import GpuDevice, RaplZone

__all__ = ["CarbontrackerSession"]

_LOG = logging.getLogger("ecnas.energy.carbontracker")


class _QuietLogger(loggerutil.Logger):
    """Carbontracker's logger routed to ``ecnas.energy.carbontracker`` at debug level.

    Its own ``Logger`` creates three ``logging`` loggers with stdout handlers per instance (a leak when
    measuring thousands of trainings) and prints warnings whatever ``verbose`` says. Critical messages
    (tracebacks of its thread) are kept in :attr:`critical` for the reading's warnings.
    """

    def __init__(self) -> None:
        self.critical: list[str] = []
        super().__init__(log_dir=None, verbose=0)

    def _setup(self, log_dir: Any = None, log_prefix: str = "", logger_id: str = "root") -> tuple[Any, ...]:
        return _LOG, _LOG, _LOG

    def _log_initial_info(self) -> None:
        """Skip its version lookup and its PUE note (ecnas never applies Carbontracker's PUE)."""

    def output(self, msg: str, verbose_level: int = 0) -> None:
        _LOG.debug("%s", msg)

    def info(self, msg: str) -> None:
        _LOG.debug("%s", msg)

    def err_debug(self, msg: str) -> None:
        _LOG.debug("%s", msg)

    def err_info(self, msg: str) -> None:
        _LOG.debug("%s", msg)

    def err_warn(self, msg: str) -> None:
        _LOG.debug("%s", msg)

    def err_critical(self, msg: str) -> None:
        self.critical.append(str(msg))
        _LOG.warning("carbontracker: %s", msg)


class _ProbedComponent(component.Component):
    """A Carbontracker component whose handler is the probed one (no trial of fallback handlers)."""

    def __init__(self, name: str, handler: Any, logger: loggerutil.Logger) -> None:
        self._probed_handler = handler
        super().__init__(name=name, pids=[], devices_by_pid=False, logger=logger)

    def _determine_handler(self, **kwargs: Any) -> Any:
        return self._probed_handler


class _RaplHandler(intel.IntelCPU):
    """Carbontracker's RAPL handler over the probed zones, keeping per-zone window energies.

    ``windows`` holds ``(seconds, [joules per zone])``; NaN marks a zone that could not be read.
    """

    def __init__(self, zones: Sequence[RaplZone], *, window_s: float, interrupt: threading.Event) -> None:
        super().__init__(pids=[], devices_by_pid=False)
        self.zones = tuple(zones)
        self.window_s = window_s
        self.interrupt = interrupt
        self.windows: list[tuple[float, list[float]]] = []
        self.errors: dict[int, str] = {}
        self.first = threading.Event()

    def available(self) -> bool:
        return True

    def init(self) -> None:
        """Carbontracker's ``init`` rescans ``RAPL_DIR``; use the probed zones instead.

        Absolute zone paths make Carbontracker's ``os.path.join(RAPL_DIR, zone)`` resolve to them, so its
        file reader works on any powercap directory without patching its module constant.
        """
        self.device_count = len(self.zones)
        self._rapl_devices = [str(z.path) for z in self.zones]
        self._devices = [z.device for z in self.zones]
        self.parts_pattern = re.compile(r"intel-rapl:(\d):(\d)")

    def _read_zones(self) -> list[float]:
        values = []
        for i, path in enumerate(self._rapl_devices):
            try:
                values.append(float(self._read_energy(path)))  # Carbontracker's reader of <zone>/energy_uj
            except (OSError, ValueError) as exc:
                values.append(math.nan)
                self.errors.setdefault(i, f"{type(exc).__name__}: {exc}")
        return values

    def _joules(self, i: int, before: float, after: float) -> float:
        delta = after - before
        if delta < 0:
            wrap = self.zones[i].max_range_uj
            if not wrap:
                self.errors.setdefault(i, "counter went backwards and max_energy_range_uj is unknown")
                return math.nan
            delta += wrap
        return delta / 1e6

    def _timed_read(self) -> tuple[float, list[float]]:
        start = time.perf_counter()
        values = self._read_zones()
        return (start + time.perf_counter()) / 2, values  # the reads happened around the midpoint

    def power_usage(self) -> list[float]:
        t0, before = self._timed_read()
        self.first.set()
        self.interrupt.wait(self.window_s)
        t1, after = self._timed_read()
        seconds = t1 - t0
        joules = [self._joules(i, b, a) for i, (b, a) in enumerate(zip(before, after, strict=True))]
        self.windows.append((seconds, joules))
        return [j / seconds if seconds > 0 else math.nan for j in joules]


class _NvmlHandler(nvidia.NvidiaGPU):
    """Carbontracker's NVIDIA handler over the probed GPUs, keeping per-GPU power samples (W)."""

    def __init__(self, gpus: Sequence[GpuDevice]) -> None:
        super().__init__(pids=[], devices_by_pid=False)
        self.gpus = tuple(gpus)
        self.samples: list[list[float]] = []
        self.errors: dict[int, str] = {}
        self.first = threading.Event()

    def available(self) -> bool:
        return True

    def _get_handles(self) -> list[Any]:
        return [nvidia.pynvml.nvmlDeviceGetHandleByIndex(g.index) for g in self.gpus]

    def power_usage(self) -> list[float]:
        powers = []
        for i, handle in enumerate(self._handles):
            try:
                powers.append(nvidia.pynvml.nvmlDeviceGetPowerUsage(handle) / 1000.0)
            except Exception as exc:  # NVMLError and anything a broken driver raises
                powers.append(math.nan)
                self.errors.setdefault(i, f"{type(exc).__name__}: {exc}")
        self.samples.append(powers)
        self.first.set()
        return powers


class CarbontrackerSession:
    """A running measurement: Carbontracker's sampler thread over the probed handlers.

    Args:
        zones: Working RAPL zones (may be empty).
        gpus: Working GPUs (may be empty).
        window_s: RAPL sampling window; also the GPU sampling period when there is no RAPL zone.
        start_timeout_s: Longest wait for the first sample before the block starts.
        stop_timeout_s: Longest wait for the thread to stop.
    """

    def __init__(
        self,
        zones: Sequence[RaplZone],
        gpus: Sequence[GpuDevice],
        *,
        window_s: float,
        start_timeout_s: float,
        stop_timeout_s: float,
    ) -> None:
        self.interrupt = threading.Event()
        self.logger = _QuietLogger()
        self.failed = threading.Event()
        self.stop_timeout_s = stop_timeout_s
        self.rapl = _RaplHandler(zones, window_s=window_s, interrupt=self.interrupt) if zones else None
        self.nvml = _NvmlHandler(gpus) if gpus else None
        components = [
            _ProbedComponent(name, handler, self.logger)
            for name, handler in (("gpu", self.nvml), ("cpu", self.rapl))
            if handler is not None
        ]
        # RAPL windows pace the loop when present; otherwise sample the GPUs every window_s.
        self.thread = CarbonTrackerThread(
            components=components,
            logger=self.logger,
            ignore_errors=True,
            delete=self.failed.set,
            update_interval=0 if self.rapl is not None else window_s,
        )
        self.thread.epoch_start()
        deadline = time.perf_counter() + start_timeout_s
        for handler in (self.nvml, self.rapl):
            while handler is not None and not handler.first.wait(0.002):
                if self.failed.is_set() or not self.thread.is_alive() or time.perf_counter() > deadline:
                    break

    def stop(self) -> list[str]:
        """Stop sampling and the thread (``CarbonTrackerThread.stop`` with a bounded join).

        Returns:
            Problems met by the thread (its critical log messages, a join timeout).
        """
        problems: list[str] = []
        try:
            self.thread.epoch_end()
        except Exception as exc:  # its per-epoch logging must not cost the reading
            problems.append(f"carbontracker epoch_end failed ({exc!r})")
        self.interrupt.set()
        self.thread.shutdown_event.set()
        self.thread.running = False
        self.thread.measuring_event.set()
        self.thread.join(self.stop_timeout_s)
        if self.thread.is_alive():
            problems.append(
                f"carbontracker sampler thread did not stop within {self.stop_timeout_s:g} s (left running as a daemon)"
            )
        problems.extend(f"carbontracker thread failed: {_last_error_line(m)}" for m in self.logger.critical)
        return problems


def _last_error_line(message: str) -> str:
    lines = [
        line.strip() for line in message.splitlines() if line.strip() and not line.startswith("Continued training")
    ]
    return lines[-1] if lines else message.strip()
