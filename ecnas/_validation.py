"""Argument checks shared by the public boundaries (one message format everywhere)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["check_finite", "check_int", "check_number"]


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as a plain int, or ValueError naming ``name``, the rule and the value (bools are refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_finite(name: str, value: Any, *, minimum: float) -> float:
    """``value`` as a finite float >= ``minimum``; TypeError/ValueError naming ``name`` (bools, 10**400 refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"{name} must be finite and >= {minimum:g}, got a number too large for a float") from None
    if not math.isfinite(number) or number < minimum:
        raise ValueError(f"{name} must be finite and >= {minimum:g}, got {value!r}")
    return number


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
