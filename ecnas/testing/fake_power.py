"""Hardware fakes for energy tests: a powercap tree at known power, a stub ``pynvml``, a fake clock.

They let the real Carbontracker code run without RAPL or a GPU:

- :class:`FakePowercap` writes ``intel-rapl:N[/M]/{name,energy_uj,max_energy_range_uj}`` and advances
  each ``energy_uj`` at a set power from a background thread (atomic replace, counters wrap);
- :class:`FakeNvml` stands in for ``pynvml``; :func:`patched_nvml` puts it where Carbontracker looks;
- :class:`FakeClock` is a wall clock that moves only when told.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_ZONES", "FakeClock", "FakeNvml", "FakePowercap", "patched_nvml"]

#: zone → (name, W): packages 20 + 30 W and dram 5 W are measured (55 W); core and psys must be ignored.
DEFAULT_ZONES: dict[str, tuple[str, float]] = {
    "intel-rapl:0": ("package-0", 20.0),
    "intel-rapl:0:0": ("core", 15.0),
    "intel-rapl:0:2": ("dram", 5.0),
    "intel-rapl:1": ("package-1", 30.0),
    "intel-rapl:2": ("psys", 100.0),
}


class FakeClock:
    """A clock returning ``now`` seconds; :meth:`advance` moves it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        """Current time, s."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self.now += float(seconds)


class FakePowercap:
    """A powercap directory whose RAPL counters advance at known powers.

    Args:
        root: Directory to create (it is emptied first).
        zones: zone directory name → (content of ``name``, power in W).
        max_range_uj: ``max_energy_range_uj`` of every zone (counters wrap there); None omits the file.
        start_uj: zone → initial counter value (default 0), e.g. just below the wrap.
        update_s: Period of the writer thread.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        zones: Mapping[str, tuple[str, float]] | None = None,
        *,
        max_range_uj: int | None = 262_143_328_850,
        start_uj: Mapping[str, int] | None = None,
        update_s: float = 0.004,
    ) -> None:
        self.root = Path(root)
        self.zones = dict(DEFAULT_ZONES if zones is None else zones)
        self.max_range_uj = max_range_uj
        self.update_s = update_s
        self._power = {zone: float(watts) for zone, (_, watts) in self.zones.items()}
        self._energy = {zone: float((start_uj or {}).get(zone, 0)) for zone in self.zones}
        self._frozen: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._max_lag = 0.0
        #: zone → how many times its counter wrapped around so far.
        self.wraps: dict[str, int] = dict.fromkeys(self.zones, 0)
        self._last_write = time.perf_counter()
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        for zone, (name, _) in self.zones.items():
            (self.root / zone).mkdir()
            (self.root / zone / "name").write_text(name + "\n")
            if max_range_uj is not None:
                (self.root / zone / "max_energy_range_uj").write_text(f"{max_range_uj}\n")
        self._write_all()

    def measured_power(self) -> float:
        """Sum of the package and dram zone powers (what a correct meter must read), W."""
        return sum(
            self._power[z] for z, (name, _) in self.zones.items() if name.startswith("package") or name == "dram"
        )

    def set_power(self, zone: str, watts: float) -> None:
        """Change the power of ``zone`` from now on."""
        with self._lock:
            self._power[zone] = float(watts)

    def freeze(self, zone: str) -> None:
        """Stop advancing ``zone`` (a counter the firmware never updates)."""
        with self._lock:
            self._frozen.add(zone)

    def remove(self, zone: str) -> None:
        """Make ``zone`` vanish (its directory is deleted)."""
        with self._lock:
            self._frozen.add(zone)
            shutil.rmtree(self.root / zone, ignore_errors=True)

    def start(self) -> FakePowercap:
        """Start advancing the counters (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="FakePowercapWriter", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the writer thread and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> FakePowercap:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def max_lag_s(self) -> float:
        """Longest gap between two counter updates since :meth:`reset_lag` (how stale a read could be).

        Real RAPL counters advance every millisecond whatever the load; this writer thread may be
        descheduled on a busy machine, which shows here. Timing tests can retry when it is large.
        """
        return max(self._max_lag, time.perf_counter() - self._last_write)

    def reset_lag(self) -> None:
        """Restart the :attr:`max_lag_s` bookkeeping."""
        self._max_lag = 0.0

    def _run(self) -> None:
        last = time.perf_counter()
        while not self._stop.wait(self.update_s):
            now = time.perf_counter()
            with self._lock:
                for zone in self._energy:
                    if zone not in self._frozen:
                        self._energy[zone] += self._power[zone] * (now - last) * 1e6
                self._write_all()
            self._max_lag = max(self._max_lag, now - last)
            self._last_write = last = now

    def _write_all(self) -> None:
        for zone, energy in self._energy.items():
            if zone in self._frozen and not (self.root / zone).exists():
                continue
            value = int(energy) % self.max_range_uj if self.max_range_uj else int(energy)
            if self.max_range_uj:
                self.wraps[zone] = int(energy) // self.max_range_uj
            tmp = self.root / zone / "energy_uj.tmp"
            tmp.write_text(f"{value}\n")
            os.replace(tmp, self.root / zone / "energy_uj")


class FakeNvml:
    """A stand-in for the ``pynvml`` module with GPUs at set powers.

    Args:
        powers_w: Power of each GPU, W.
        names: Product names (default ``"Fake GPU <i>"``).
        init_error: If set, ``nvmlInit`` raises ``NVMLError(init_error)`` (e.g. no driver).
    """

    class NVMLError(Exception):
        """Raised like pynvml's errors."""

    def __init__(
        self,
        powers_w: tuple[float, ...] = (300.0, 100.0),
        names: tuple[str, ...] | None = None,
        init_error: str | None = None,
    ) -> None:
        self.powers_w = [float(p) for p in powers_w]
        self.names = list(names or (f"Fake GPU {i}" for i in range(len(self.powers_w))))
        self.init_error = init_error
        self.failing: set[int] = set()
        self.init_count = 0
        self.calls = 0

    def fail(self, index: int) -> None:
        """Make GPU ``index`` stop answering power queries (a GPU falling off the bus)."""
        self.failing.add(index)

    def nvmlInit(self) -> None:
        """Initialise (counted, like NVML)."""
        if self.init_error is not None:
            raise self.NVMLError(self.init_error)
        self.init_count += 1

    def nvmlShutdown(self) -> None:
        """Release one initialisation."""
        if self.init_count <= 0:
            raise self.NVMLError("Uninitialized")
        self.init_count -= 1

    def _check(self) -> None:
        if self.init_count <= 0:
            raise self.NVMLError("Uninitialized")

    def nvmlDeviceGetCount(self) -> int:
        """Number of GPUs."""
        self._check()
        return len(self.powers_w)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        """Handle of GPU ``index``."""
        self._check()
        if not 0 <= index < len(self.powers_w):
            raise self.NVMLError("Invalid Argument")
        return index

    def nvmlDeviceGetName(self, handle: int) -> str:
        """Product name."""
        self._check()
        return self.names[handle]

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        """Power in mW."""
        self._check()
        self.calls += 1
        if handle in self.failing:
            raise self.NVMLError("GPU is lost")
        return round(self.powers_w[handle] * 1000)

    def nvmlDeviceGetComputeRunningProcesses(self, handle: int) -> list[Any]:
        """No compute processes."""
        return []

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: int) -> list[Any]:
        """No graphics processes."""
        return []


@contextmanager
def patched_nvml(fake: Any) -> Iterator[Any]:
    """Make Carbontracker (and ecnas's probe, which uses the same module) see ``fake`` as ``pynvml``."""
    from carbontracker.components.gpu import nvidia

    original = nvidia.pynvml
    nvidia.pynvml = fake
    try:
        yield fake
    finally:
        nvidia.pynvml = original
