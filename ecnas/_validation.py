"""Argument checks shared by the public boundaries (one message format everywhere)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["check_int", "check_number"]


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as a plain int, or ValueError naming ``name``, the rule and the value (bools are refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_number(name: str, value: Any, low: float, high: float, *, low_inclusive: bool = False) -> float:
    """``value`` as a float in ``(low, high]`` (``[low, high]`` when ``low_inclusive``).

    Raises:
        ValueError: naming ``name``, the rule and the value (bools are refused).
    """
    above = value >= low if low_inclusive else value > low
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        above = False
    if not above or not value <= high:
        interval = f"{'[' if low_inclusive else '('}{low:g}, {high:g}]"
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
    return float(value)
