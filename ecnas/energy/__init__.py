"""Energy meters: Carbontracker done right, honest estimates, explicit carbon intensity.

::

    meter = ecnas.energy.auto_meter(carbon_intensity=None, country=None, pue=1.0, watts_per_thread=4.0)
    with meter.measure() as reading:
        train()
    reading.energy_kwh, reading.duration_s, reading.components, reading.method, reading.kind
    reading.co2eq_g, reading.carbon_intensity, reading.intensity_source, reading.as_dict()

Backends (registry names): ``carbontracker`` (:class:`CarbontrackerMeter`, RAPL and NVML measured through
Carbontracker's sampler after probing which parts really work) and ``cpu-time`` (:class:`CpuTimeMeter`,
process-tree CPU seconds × W per thread, always labelled ``estimated``). Energy is reported without PUE;
``co2eq_g = energy_kwh × pue × carbon_intensity`` and the intensity's source is in every reading.
"""

from __future__ import annotations

from ecnas.energy._auto import auto_meter, meter_from_settings
from ecnas.energy._base import (
    KINDS,
    ComponentReading,
    DeviceReading,
    Meter,
    MeterUnavailableError,
    Reading,
    get_meter_class,
    make_meter,
    meter_names,
    register_meter,
)
from ecnas.energy._carbontracker import CarbontrackerMeter
from ecnas.energy._cpu_time import CpuTimeMeter
from ecnas.energy._probe import Probe, probe
from ecnas.energy.hardware import describe_hardware
from ecnas.energy.intensity import CarbonIntensity, resolve_intensity

__all__ = [
    "KINDS",
    "CarbonIntensity",
    "CarbontrackerMeter",
    "ComponentReading",
    "CpuTimeMeter",
    "DeviceReading",
    "Meter",
    "MeterUnavailableError",
    "Probe",
    "Reading",
    "auto_meter",
    "describe_hardware",
    "get_meter_class",
    "make_meter",
    "meter_from_settings",
    "meter_names",
    "probe",
    "register_meter",
    "resolve_intensity",
]
