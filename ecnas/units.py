"""Display units chosen from the data: energy in J, Wh or kWh, parameter counts in k or M.

Tables store energy in kWh. A 4-epoch EC-NAS run spends about 0.01 kWh, a tiny-profile cell 1e-7 kWh; figures
and summaries print each in the unit that gives readable numbers instead of a ``1e-7`` axis multiplier or
``0.00 ± 0.00``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = ["DisplayUnit", "energy_unit", "format_value", "mass_unit", "parameter_unit", "picojoule_unit"]

_J_PER_KWH = 3.6e6


@dataclass(frozen=True)
class DisplayUnit:
    """A unit to display a quantity in.

    Attributes:
        name: the unit's symbol (``"J"``, ``"Wh"``, ``"kWh"``, ``"k"``, ``"M"``).
        factor: multiply a stored value by it to get the displayed value.
    """

    name: str
    factor: float

    def __call__(self, values: object) -> np.ndarray:
        """Stored values in this unit."""
        return np.asarray(values, dtype=np.float64) * self.factor


def _typical(values: Iterable[float] | np.ndarray) -> float:
    array = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=np.float64).ravel()
    array = np.abs(array[np.isfinite(array) & (array != 0)])
    return float(np.median(array)) if array.size else 0.0


def energy_unit(values_kwh: Iterable[float] | np.ndarray) -> DisplayUnit:
    """J below 1 Wh, Wh below 1 kWh, else kWh — judged on the median magnitude of ``values_kwh``."""
    typical = _typical(values_kwh)
    if typical and typical < 1e-3:
        return DisplayUnit("J", _J_PER_KWH)
    if typical and typical < 1.0:
        return DisplayUnit("Wh", 1e3)
    return DisplayUnit("kWh", 1.0)


def mass_unit(values_g: Iterable[float] | np.ndarray) -> DisplayUnit:
    """µg below 1 mg, mg below 1 g, else g (CO2eq masses) — judged on the median magnitude of ``values_g``."""
    typical = _typical(values_g)
    if typical and typical < 1e-3:
        return DisplayUnit("µg", 1e6)
    if typical and typical < 1.0:
        return DisplayUnit("mg", 1e3)
    return DisplayUnit("g", 1.0)


def picojoule_unit(values_pj: Iterable[float] | np.ndarray) -> DisplayUnit:
    """pJ, nJ or µJ (per-inference energies of the analytic cost model), from the median magnitude."""
    typical = _typical(values_pj)
    if typical >= 1e6:
        return DisplayUnit("µJ", 1e-6)
    if typical >= 1e3:
        return DisplayUnit("nJ", 1e-3)
    return DisplayUnit("pJ", 1.0)


def parameter_unit(counts: Iterable[float] | np.ndarray) -> DisplayUnit:
    """Parameter counts in thousands (``k``) when typically below 100,000, else millions (``M``)."""
    return DisplayUnit("k", 1e-3) if _typical(counts) < 1e5 else DisplayUnit("M", 1e-6)


def format_value(value: float, digits: int = 4) -> str:
    """``value`` with ``digits`` significant digits, no scientific notation between 1e-3 and 1e6."""
    if not np.isfinite(value):
        return "–"
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{value:.{digits}g}" if abs(value) < 10 ** digits else f"{value:,.0f}"
    return f"{value:.{digits - 1}e}"
