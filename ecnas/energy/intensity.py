"""Carbon intensity of electricity (gCO2eq/kWh): explicit, per country, or the global default.

No network: the per-country figures come from the table bundled with Carbontracker
(``carbontracker/data/carbon-intensities.csv``) and the default is Carbontracker's world average.
Every value carries its source so that CO2 can be re-priced for another grid later.
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
from dataclasses import dataclass

__all__ = ["CarbonIntensity", "country_intensities", "resolve_intensity"]

_TABLE = ("carbontracker", "data", "carbon-intensities.csv")
_VALUE_COLUMN = "Carbon intensity of electricity (gCO2eq/kWh)"


@dataclass(frozen=True)
class CarbonIntensity:
    """A carbon intensity and where it comes from.

    Attributes:
        value: gCO2eq per kWh.
        source: ``configured``, ``country:DK (Denmark, 2023; carbontracker table)`` or
            ``default:world average 2024 (carbontracker)``.
    """

    value: float
    source: str


@functools.lru_cache(maxsize=1)
def country_intensities() -> dict[str, tuple[float, str, str]]:
    """Carbontracker's bundled table: ISO alpha-2 code → (gCO2eq/kWh, country name, year)."""
    path = importlib.resources.files(_TABLE[0]).joinpath(*_TABLE[1:])
    table: dict[str, tuple[float, str, str]] = {}
    with path.open("r", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code = (row.get("alpha-2") or "").strip().upper()
            value = (row.get(_VALUE_COLUMN) or "").strip()
            if code and value:
                table[code] = (float(value), row.get("Entity", "").strip(), row.get("Year", "").strip())
    return table


@functools.lru_cache(maxsize=1)
def _alpha3_to_alpha2() -> dict[str, str]:
    path = importlib.resources.files(_TABLE[0]).joinpath(*_TABLE[1:])
    with path.open("r", encoding="utf-8") as handle:
        return {
            row["Code"].strip().upper(): row["alpha-2"].strip().upper()
            for row in csv.DictReader(handle)
            if row.get("Code") and row.get("alpha-2")
        }


def resolve_intensity(*, carbon_intensity: float | None = None, country: str | None = None) -> CarbonIntensity:
    """Choose the carbon intensity: explicit value, else country table, else global default.

    Args:
        carbon_intensity: gCO2eq/kWh, used as given (source ``configured``).
        country: ISO 3166 alpha-2 (``"DK"``) or alpha-3 (``"DNK"``) code, case-insensitive.

    Returns:
        The intensity and its source.

    Raises:
        ValueError: If both are given, or the country is not in the table (the message lists the codes).
    """
    if carbon_intensity is not None and country is not None:
        raise ValueError(f"pass either `carbon_intensity` ({carbon_intensity!r}) or `country` ({country!r}), not both")
    if carbon_intensity is not None:
        return CarbonIntensity(float(carbon_intensity), "configured")
    if country is not None:
        if not isinstance(country, str):
            raise TypeError(f"`country` must be an ISO 3166 code such as 'DK', got {country!r}")
        table = country_intensities()
        code = country.strip().upper()
        code = _alpha3_to_alpha2().get(code, code) if len(code) == 3 else code
        if code not in table:
            raise ValueError(
                f"`country` {country!r} is not in Carbontracker's carbon-intensity table; "
                f"pass `carbon_intensity=` (gCO2eq/kWh) instead, or one of: "
                f"{', '.join(sorted(table))}"
            )
        value, name, year = table[code]
        return CarbonIntensity(value, f"country:{code} ({name}, {year}; carbontracker table)")
    from carbontracker import constants  # deferred: it pulls in requests

    return CarbonIntensity(
        float(constants.WORLD_AVG_CARBON_INTENSITY),
        f"default:world average {constants.WORLD_AVG_CARBON_INTENSITY_YEAR} (carbontracker)",
    )
