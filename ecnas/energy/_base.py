"""The meter contract: :class:`Meter` (template method), :class:`Reading`, and the registry by name.

A meter measures one block of code at a time::

    with meter.measure() as reading:
        train()
    reading.energy_kwh, reading.method, reading.as_dict()

:meth:`Meter.measure` keeps the books every backend shares (wall clock, process-tree CPU seconds, carbon
intensity, PUE, finalisation when the block raises, never letting a meter fault reach the training code);
a backend fills two hooks: :meth:`Meter._start` begins a measurement and :meth:`Meter._read` ends it and
returns one :class:`ComponentReading` per component (cpu package, dram, gpu).
"""

from __future__ import annotations

import abc
import datetime as _dt
import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, TypeVar

from ecnas._io import jsonable
from ecnas._registry import Registry
from ecnas.energy._process import ProcessTreeCpu
from ecnas.energy.intensity import CarbonIntensity, resolve_intensity
from ecnas.errors import EcnasError

__all__ = [
    "KINDS",
    "ComponentReading",
    "DeviceReading",
    "Meter",
    "MeterUnavailableError",
    "Reading",
    "get_meter_class",
    "make_meter",
    "meter_names",
    "register_meter",
]

_LOG = logging.getLogger(__name__)

#: The three values of :attr:`Reading.kind`.
KINDS = ("measured", "estimated", "mixed")
_JOULES_PER_KWH = 3.6e6


class MeterUnavailableError(EcnasError, RuntimeError):
    """A meter backend cannot measure anything on this machine (e.g. no readable RAPL zone, no GPU)."""


@dataclass
class DeviceReading:
    """Energy of one device (a RAPL zone, a GPU, or the process tree for the estimate).

    Attributes:
        id: Stable identifier (``intel-rapl:0``, ``nvml:1``, ``process-tree``).
        name: Human name (Carbontracker's ``cpu:0``/``dram:0``, the GPU product name, ...).
        energy_kwh: Energy over the whole measurement, kWh, without PUE.
        mean_power_w: Mean power while sampled, W (for the estimate: estimated energy / duration).
        samples: Number of valid samples behind the figure (0 for the estimate).
    """

    id: str
    name: str
    energy_kwh: float
    mean_power_w: float
    samples: int


@dataclass
class ComponentReading:
    """Energy of one component: ``cpu`` (packages), ``dram`` or ``gpu``.

    Attributes:
        name: Component name.
        kind: ``"measured"`` or ``"estimated"``.
        method: Label of how it was obtained, e.g. ``carbontracker[rapl]`` or ``cpu-time×4.0W/thread``.
        energy_kwh: Sum over :attr:`devices`, kWh, without PUE.
        devices: Per-device figures.
        complete: False when some device of the component stopped answering for the whole run.
    """

    name: str
    kind: str
    method: str
    energy_kwh: float
    devices: list[DeviceReading] = field(default_factory=list)
    complete: bool = True


@dataclass
class Reading:
    """The result of one :meth:`Meter.measure` block; filled in place when the block exits.

    Attributes:
        energy_kwh: Energy of all components, kWh, **without** PUE.
        duration_s: Wall-clock duration of the block, s.
        components: Component name → :class:`ComponentReading`.
        kind: ``"measured"`` (every component read from hardware), ``"estimated"`` (none) or ``"mixed"``.
        method: ``"<kind>:<labels>"``, e.g. ``measured:carbontracker[rapl]``,
            ``estimated:cpu-time×4.0W/thread``, ``mixed:carbontracker[nvml]+cpu-time×4.0W/thread``.
        pue: Power usage effectiveness applied to CO2 only.
        carbon_intensity: gCO2eq/kWh used for :attr:`co2eq_g`.
        intensity_source: Where :attr:`carbon_intensity` comes from (configured, country table, default).
        co2eq_g: ``energy_kwh × pue × carbon_intensity``.
        cpu_seconds: CPU seconds of this process, its threads and its children during the block.
        started_at: ISO 8601 UTC start time.
        meter: Registry name of the meter backend.
        interrupted_by: Name of the exception that left the block, or None.
        warnings: Faults met while measuring (devices lost, extrapolations, backend failures).
        finalised: False until the block exits.
    """

    energy_kwh: float = math.nan
    duration_s: float = math.nan
    components: dict[str, ComponentReading] = field(default_factory=dict)
    kind: str = "pending"
    method: str = "pending"
    pue: float = 1.0
    carbon_intensity: float = math.nan
    intensity_source: str = ""
    co2eq_g: float = math.nan
    cpu_seconds: float = math.nan
    started_at: str = ""
    meter: str = ""
    interrupted_by: str | None = None
    warnings: list[str] = field(default_factory=list)
    finalised: bool = False

    @property
    def measured(self) -> bool:
        """True only when every component was read from hardware (``kind == "measured"``)."""
        return self.kind == "measured"

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable copy of the reading (plain dicts, lists, floats, strings).

        Raises:
            RuntimeError: If the ``with meter.measure()`` block has not exited yet.
        """
        if not self.finalised:
            raise RuntimeError(
                "the reading is filled when the `with meter.measure()` block exits; call as_dict() after the block"
            )
        out = jsonable(asdict(self))
        out["measured"] = self.measured
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reading:
        """Rebuild a reading from :meth:`as_dict` output (e.g. a stored build record)."""
        names = {f.name for f in fields(cls)}
        values = {k: (math.nan if v is None and k != "interrupted_by" else v) for k, v in data.items() if k in names}
        values["components"] = {
            name: ComponentReading(
                **{
                    **comp,
                    "energy_kwh": _float(comp["energy_kwh"]),
                    "devices": [
                        DeviceReading(
                            **{**d, "energy_kwh": _float(d["energy_kwh"]), "mean_power_w": _float(d["mean_power_w"])}
                        )
                        for d in comp["devices"]
                    ],
                }
            )
            for name, comp in data.get("components", {}).items()
        }
        values["warnings"] = list(data.get("warnings", []))
        return cls(**values)


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _kind_and_method(components: list[ComponentReading]) -> tuple[str, str]:
    kinds = {c.kind for c in components}
    kind = kinds.pop() if len(kinds) == 1 else "mixed"
    # Merge labels of one backend: carbontracker[rapl] + carbontracker[nvml] -> carbontracker[rapl+nvml].
    merged: dict[str, list[str]] = {}
    for comp in components:
        head, _, rest = comp.method.partition("[")
        parts = merged.setdefault(head, [])
        for part in rest.rstrip("]").split("+") if rest else []:
            if part not in parts:
                parts.append(part)
    labels = [f"{head}[{'+'.join(parts)}]" if parts else head for head, parts in merged.items()]
    return kind, f"{kind}:{'+'.join(labels)}"


def _check_number(name: str, value: object, *, minimum: float, strict: bool, hint: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"`{name}` must be a number, got {value!r} ({type(value).__name__}). {hint}")
    number = float(value)
    if not math.isfinite(number) or number < minimum or (strict and number == minimum):
        rule = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ValueError(f"`{name}` must be finite and {rule}, got {value!r}. {hint}")
    return number


class Meter(abc.ABC):
    """Base of every energy meter: ``with meter.measure() as reading: ...``.

    Subclasses fill :meth:`_start` and :meth:`_read`; the base validates settings once, times the block,
    counts process-tree CPU seconds, prices CO2 and guarantees that a fault of the backend never reaches
    the measured code (the reading falls back to the CPU-time estimate and says so in ``warnings``).
    Meters are reusable: measure as many blocks as needed with one instance.

    Args:
        carbon_intensity: gCO2eq/kWh; exclusive with ``country``.
        country: ISO 3166 code looked up in Carbontracker's bundled per-country table.
        pue: Power usage effectiveness (>= 1) applied to CO2 only; energy is reported without it.
        watts_per_thread: W per busy CPU thread for the CPU-time estimate (CodeCarbon's default is 4).
        clock: Wall clock in seconds (default :func:`time.perf_counter`); tests pass a fake one.
        cpu_timer: Process-tree CPU seconds (default: this process, its threads and children via psutil).
    """

    #: Registry name, set by :func:`register_meter`.
    name: ClassVar[str] = ""

    def __init__(
        self,
        *,
        carbon_intensity: float | None = None,
        country: str | None = None,
        pue: float = 1.0,
        watts_per_thread: float = 4.0,
        clock: Callable[[], float] | None = None,
        cpu_timer: Callable[[], float] | None = None,
    ) -> None:
        self.pue = _check_number(
            "pue", pue, minimum=1.0, strict=False, hint="PUE is facility energy / IT energy; pass 1.0 to leave it out."
        )
        self.watts_per_thread = _check_number(
            "watts_per_thread",
            watts_per_thread,
            minimum=0.0,
            strict=True,
            hint="It prices one busy CPU thread for the estimate; CodeCarbon's default is 4.0.",
        )
        if carbon_intensity is not None:
            carbon_intensity = _check_number(
                "carbon_intensity", carbon_intensity, minimum=0.0, strict=False, hint="Give gCO2eq/kWh, e.g. 445."
            )
        self.intensity: CarbonIntensity = resolve_intensity(carbon_intensity=carbon_intensity, country=country)
        for arg, fn in (("clock", clock), ("cpu_timer", cpu_timer)):
            if fn is not None and not callable(fn):
                raise TypeError(f"`{arg}` must be a callable returning seconds, got {fn!r}.")
        self._clock = clock if clock is not None else time.perf_counter
        self._cpu_timer = cpu_timer if cpu_timer is not None else ProcessTreeCpu()

    # ----------------------------------------------------------------------------------------- public
    @contextmanager
    def measure(self) -> Iterator[Reading]:
        """Measure the enclosed block; the yielded :class:`Reading` is filled when the block exits.

        The reading is finalised even when the block raises (the exception then propagates and the
        reading records it in ``interrupted_by``); backend threads are stopped before returning.

        Yields:
            The reading, complete after the ``with`` block.
        """
        reading = Reading(
            meter=self.name, pue=self.pue, carbon_intensity=self.intensity.value, intensity_source=self.intensity.source
        )
        reading.started_at = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")
        cpu0 = self._cpu_seconds(reading)
        try:
            session = self._start()
        except Exception as exc:  # a meter fault must never reach the training code
            _LOG.warning("%s meter failed to start, falling back to the CPU-time estimate: %r", self.name, exc)
            reading.warnings.append(f"{self.name} failed to start ({exc!r}); CPU time estimated instead")
            session = _FAILED
        t0 = self._clock()
        try:
            yield reading
        except BaseException as exc:
            reading.interrupted_by = type(exc).__name__
            raise
        finally:
            self._finalise(reading, session, self._clock() - t0, cpu0)

    def describe(self) -> dict[str, Any]:
        """JSON-able description for table provenance: backend, expected method and kind, settings."""
        kind, method = _kind_and_method(self._planned_components())
        return {
            "meter": self.name,
            "method": method,
            "kind": kind,
            "measured": kind == "measured",
            "pue": self.pue,
            "carbon_intensity": self.intensity.value,
            "intensity_source": self.intensity.source,
            "watts_per_thread": self.watts_per_thread,
        }

    @property
    def method(self) -> str:
        """The method label readings are expected to carry (faults may degrade a reading's own)."""
        return str(self.describe()["method"])

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release what the backend holds between measurements (idempotent)."""

    def __enter__(self) -> Meter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(method={self.method!r}, pue={self.pue}, "
            f"carbon_intensity={self.intensity.value} [{self.intensity.source}])"
        )

    # ------------------------------------------------------------------------------------------ hooks
    @abc.abstractmethod
    def _start(self) -> object:
        """Begin measuring; return the per-measurement state passed to :meth:`_read`."""

    @abc.abstractmethod
    def _read(self, session: Any, duration_s: float, cpu_seconds: float, warnings: list[str]) -> list[ComponentReading]:
        """End the measurement started by :meth:`_start` and return its components.

        Args:
            session: What :meth:`_start` returned.
            duration_s: Wall-clock duration of the block.
            cpu_seconds: Process-tree CPU seconds of the block.
            warnings: Append human-readable faults here.
        """

    @abc.abstractmethod
    def _planned_components(self) -> list[ComponentReading]:
        """Components a fault-free measurement returns (energies unused), for :meth:`describe`."""

    # -------------------------------------------------------------------------------------- internals
    def _estimate_cpu(self, cpu_seconds: float, duration_s: float = 0.0) -> ComponentReading:
        """The honest estimate: process-tree CPU seconds × :attr:`watts_per_thread`."""
        joules = max(cpu_seconds, 0.0) * self.watts_per_thread
        kwh = joules / _JOULES_PER_KWH
        device = DeviceReading(
            id="process-tree",
            name="cpu threads of this process tree",
            energy_kwh=kwh,
            mean_power_w=joules / duration_s if duration_s > 0 else 0.0,
            samples=0,
        )
        return ComponentReading(
            name="cpu", kind="estimated", method=self._estimate_label, energy_kwh=kwh, devices=[device]
        )

    @property
    def _estimate_label(self) -> str:
        return f"cpu-time×{self.watts_per_thread!r}W/thread"

    def _cpu_seconds(self, reading: Reading) -> float:
        try:
            return float(self._cpu_timer())
        except Exception as exc:  # psutil can fail in odd sandboxes; never break training for it
            reading.warnings.append(f"process CPU time unavailable ({exc!r})")
            return math.nan

    def _finalise(self, reading: Reading, session: object, duration_s: float, cpu0: float) -> None:
        cpu_seconds = max(self._cpu_seconds(reading) - cpu0, 0.0) if math.isfinite(cpu0) else math.nan
        # An unreadable CPU clock gives NaN energy, never 0 kWh (Carbontracker's defect on unreadable RAPL).
        cpu_for_estimate = cpu_seconds
        components: list[ComponentReading] = []
        if session is not _FAILED:
            try:
                components = self._read(session, duration_s, cpu_for_estimate, reading.warnings)
            except Exception as exc:  # never let a meter fault replace the training outcome
                _LOG.warning(
                    "%s meter failed to read, falling back to the CPU-time estimate: %r", self.name, exc, exc_info=True
                )
                reading.warnings.append(f"{self.name} failed to read ({exc!r}); CPU time estimated instead")
                components = []
        if not components:
            components = [self._estimate_cpu(cpu_for_estimate, duration_s)]
        for message in reading.warnings:
            _LOG.warning("energy meter: %s", message)
        reading.components = {c.name: c for c in components}
        reading.energy_kwh = float(sum(c.energy_kwh for c in components))
        reading.kind, reading.method = _kind_and_method(components)
        if not math.isfinite(reading.energy_kwh):
            reading.kind = "unavailable"
            reading.method = f"unavailable:{reading.method}"
        reading.duration_s = float(duration_s)
        reading.cpu_seconds = cpu_seconds
        reading.co2eq_g = reading.energy_kwh * reading.pue * reading.carbon_intensity
        reading.finalised = True


_FAILED = object()

# ---------------------------------------------------------------------------------------------- registry
_M = TypeVar("_M", bound=type[Meter])


def register_meter(name: str) -> Callable[[_M], _M]:
    """Class decorator adding a :class:`Meter` subclass to the registry under ``name``.

    Raises:
        ValueError: If ``name`` is already registered.
    """
    return _REGISTRY.class_decorator(name)


def meter_names() -> tuple[str, ...]:
    """Names of all registered meters, sorted."""
    return tuple(_REGISTRY.names())


def get_meter_class(name: str) -> type[Meter]:
    """The meter class registered under ``name``.

    Raises:
        ValueError: If no meter has that name (the message lists the valid names).
    """
    return _REGISTRY.get(name)


def make_meter(name: str, **kwargs: Any) -> Meter:
    """Construct the meter registered under ``name`` with keyword arguments ``kwargs``."""
    return get_meter_class(name)(**kwargs)


#: Registered plug-ins by name (defined after their base class, which it checks).
_REGISTRY: Registry[type[Meter]] = Registry("meter", sort_names=True, base=Meter)
