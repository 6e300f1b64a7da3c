"""``auto_meter``: measure with Carbontracker where something works, otherwise estimate honestly."""

from __future__ import annotations

import logging
import os
from typing import Any

from ecnas.energy._base import Meter, get_meter_class
from ecnas.energy._carbontracker import CarbontrackerMeter
from ecnas.energy._cpu_time import CpuTimeMeter
from ecnas.energy._probe import probe

__all__ = ["auto_meter", "meter_from_settings"]

_LOG = logging.getLogger(__name__)


def auto_meter(
    *,
    rapl_dir: str | os.PathLike[str] | None = None,
    carbon_intensity: float | None = None,
    country: str | None = None,
    pue: float = 1.0,
    watts_per_thread: float = 4.0,
    gpu: bool = True,
    window_s: float = 1.0,
) -> Meter:
    """The best meter for this machine, probed once.

    - readable RAPL package zones (and/or GPUs answering NVML): :class:`CarbontrackerMeter`, readings
      ``measured:carbontracker[rapl]`` (``mixed`` when only GPUs are measured and CPU is estimated);
    - nothing measurable: :class:`CpuTimeMeter`, readings ``estimated:cpu-time×<W>W/thread``.

    Args:
        rapl_dir: Powercap directory (default: the system's, ``/sys/class/powercap/``); tests and unusual
            systems pass another.
        carbon_intensity: gCO2eq/kWh; exclusive with ``country``. Default: Carbontracker's world average.
        country: ISO 3166 code looked up in Carbontracker's bundled per-country table.
        pue: Power usage effectiveness (>= 1), applied to CO2 only.
        watts_per_thread: W per busy CPU thread for the estimate (CodeCarbon's default, 4.0).
        gpu: Probe and measure NVIDIA GPUs.
        window_s: RAPL sampling window in s.

    Returns:
        A reusable meter; ``meter.describe()`` says what it measures and why.

    Example:
        >>> meter = auto_meter(carbon_intensity=300.0)
        >>> with meter.measure() as reading:
        ...     pass
        >>> reading.kind in ("measured", "estimated", "mixed")
        True
    """
    common = {
        "carbon_intensity": carbon_intensity,
        "country": country,
        "pue": pue,
        "watts_per_thread": watts_per_thread,
    }
    fallback = CpuTimeMeter(**common)  # validates the shared settings before any probing
    if rapl_dir is not None and not isinstance(rapl_dir, (str, os.PathLike)):
        raise TypeError(f"`rapl_dir` must be a path to a powercap directory, got {rapl_dir!r}")
    found = probe(rapl_dir, gpu=gpu)
    if found.zones or found.gpus:
        meter: Meter = CarbontrackerMeter(rapl_dir=rapl_dir, gpu=gpu, window_s=window_s, probe=found, **common)
    else:
        fallback.notes = found.problems
        meter = fallback
    _LOG.info("energy meter: %s (%s)", meter.method, "; ".join(found.problems) or "all sources work")
    return meter


def meter_from_settings(*, meter: str = "auto", **settings: Any) -> Meter:
    """The meter a build's ``[energy]`` settings ask for, built with the other settings.

    ``meter = "auto"`` is :func:`auto_meter`; otherwise a registered meter's name (``cpu-time``,
    ``carbontracker``, …).

    Raises:
        ValueError: an unknown meter name (the message lists the registered ones), or settings that meter
            does not take (named).
    """
    if meter == "auto":
        return auto_meter(**settings)
    cls = get_meter_class(meter)
    try:
        return cls(**settings)
    except TypeError as error:
        raise ValueError(f"energy settings {sorted(settings)} do not fit meter {meter!r}: {error}") from None
