"""The honest estimate: process-tree CPU seconds × watts per thread, labelled as an estimate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ecnas.energy._base import ComponentReading, Meter, register_meter

__all__ = ["CpuTimeMeter"]


@register_meter("cpu-time")
class CpuTimeMeter(Meter):
    """Estimate CPU energy where nothing can be measured (no readable RAPL, no GPU: this machine, CI).

    Energy = CPU seconds of this process, all its threads (torch's included) and its children
    × ``watts_per_thread``. Idle power and other processes are not counted. Readings have
    ``kind == "estimated"`` and ``method == "estimated:cpu-time×<W>W/thread"``.

    Args:
        notes: Why nothing could be measured (the probe's problems), kept in :meth:`describe`.
        **kwargs: ``carbon_intensity``, ``country``, ``pue``, ``watts_per_thread``, ``clock``,
            ``cpu_timer`` as in :class:`~ecnas.energy.Meter`.
    """

    def __init__(self, *, notes: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.notes = tuple(str(n) for n in notes)

    def describe(self) -> dict[str, Any]:
        """As :meth:`Meter.describe`, plus why no hardware meter was used."""
        out = super().describe()
        out["probe_problems"] = list(self.notes)
        return out

    def _start(self) -> None:
        return None

    def _read(self, session: Any, duration_s: float, cpu_seconds: float, warnings: list[str]) -> list[ComponentReading]:
        return [self._estimate_cpu(cpu_seconds, duration_s)]

    def _planned_components(self) -> list[ComponentReading]:
        return [self._estimate_cpu(0.0)]
