"""Build recipes: one TOML file per table we build (``builders/*.toml``), validated with clear errors.

::

    [build]                      # all optional except profile
    profile = "tiny"             # a registered profile
    max_vertices = 7             # 2..7
    sample_fraction = 0.01       # or: hashes = "cells.txt" (one hash per line)
    seed = 0
    workers = 2                  # local worker processes
    threads = 1                  # torch threads per worker
    workdir = "runs/tiny-7v"     # build directory (plan, records, surrogates)
    out = "data/ecnas-tiny-7v.h5"
    compact_bits = 10            # round predicted values to 10 significant bits (ecnas.build.compact)
    max_table_mb = 30            # ... fewer bits if the table would be larger
    embed_surrogates = false     # leave the model weights out of the table

    [profile]                    # overrides of the profile's options (see `ecnas build run --help`)
    budgets = [1, 2, 4]

    [energy]                     # the meter and its settings (ecnas.energy.meter_from_settings)
    meter = "auto"               # "auto" (measure where possible, else estimate) or a meter name: cpu-time, ...
    carbon_intensity = 475.0     # gCO2/kWh (or country = "DK"); pue = 1.0; watts_per_thread = 4.0

    [fit]                        # keyword arguments of the surrogate fit
    seed = 0

Relative paths are resolved against the current directory.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecnas.build.profiles import get_profile
from ecnas.errors import EcnasError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["BUILD_KEYS", "ENERGY_KEYS", "Recipe", "load_recipe", "parse_recipe"]

#: [build] key → (accepted types, description).
BUILD_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "profile": ((str,), "a profile name"),
    "max_vertices": ((int,), "an integer in 2..7"),
    "sample_fraction": ((int, float), "a number in (0, 1]"),
    "hashes": ((str,), "a path to a file with one cell hash per line"),
    "seed": ((int,), "an integer"),
    "workers": ((int,), "a positive integer"),
    "threads": ((int,), "a positive integer"),
    "workdir": ((str,), "a directory path"),
    "out": ((str,), "an output .h5 path"),
    "compact_bits": ((int,), "an integer in 1..52 (significant bits kept for predicted values)"),
    "max_table_mb": ((int, float), "a positive number of MB"),
    "embed_surrogates": ((bool,), "true or false"),
}
ENERGY_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "meter": ((str,), '"auto" or a registered meter name (ecnas.energy.meter_names())'),
    "carbon_intensity": ((int, float), "gCO2/kWh, a positive number"),
    "country": ((str,), "an ISO 3166 country code"),
    "pue": ((int, float), "a number >= 1"),
    "watts_per_thread": ((int, float), "a positive number"),
}
_SECTIONS = ("build", "profile", "energy", "fit")


@dataclass(frozen=True)
class Recipe:
    """A validated recipe (``profile_options`` has been checked by the profile)."""

    profile: str
    profile_options: dict[str, Any] = field(default_factory=dict)
    max_vertices: int = 7
    sample_fraction: float | None = 0.01
    hashes: str | None = None
    seed: int = 0
    workers: int = 1
    threads: int = 1
    workdir: str | None = None
    out: str | None = None
    compact_bits: int | None = None
    max_table_mb: float | None = None
    embed_surrogates: bool = True
    energy: dict[str, Any] = field(default_factory=dict)
    fit: dict[str, Any] = field(default_factory=dict)
    source: str = ""


def _fail(source: str, message: str) -> EcnasError:
    return EcnasError(f"recipe {source}: {message}")


def _check_table(
    source: str, section: str, table: Mapping[str, Any], keys: dict[str, tuple[tuple[type, ...], str]]
) -> None:
    for key, value in table.items():
        if key not in keys:
            raise _fail(source, f"unknown key [{section}].{key}; valid keys: {sorted(keys)}.")
        types, what = keys[key]
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise _fail(source, f"[{section}].{key} must be {what}, got {value!r}.")


def parse_recipe(data: Mapping[str, Any], source: str = "<recipe>") -> Recipe:
    """Validate a parsed recipe (a dict as read from TOML).

    Raises:
        EcnasError: unknown section or key, wrong type, unknown profile or profile option; the message
            names the recipe and the key.
    """
    for section, value in data.items():
        if section not in _SECTIONS:
            raise _fail(source, f"unknown section [{section}]; valid sections: {list(_SECTIONS)}.")
        if not isinstance(value, Mapping):
            raise _fail(source, f"[{section}] must be a table of key = value lines.")
    build = dict(data.get("build", {}))
    _check_table(source, "build", build, BUILD_KEYS)
    if "profile" not in build:
        raise _fail(source, '[build].profile is required (e.g. profile = "tiny").')
    energy = dict(data.get("energy", {}))
    _check_table(source, "energy", energy, ENERGY_KEYS)
    if energy.get("meter", "auto") != "auto":
        from ecnas.energy import get_meter_class

        try:
            get_meter_class(energy["meter"])
        except ValueError as error:
            raise _fail(source, f'[energy].meter must be "auto" or a registered meter: {error}') from None
    options = dict(data.get("profile", {}))
    try:
        get_profile(build["profile"], options)
    except ValueError as error:
        raise _fail(source, f"[profile]/[build].profile: {error}") from None
    if "max_vertices" in build and not 2 <= build["max_vertices"] <= 7:
        raise _fail(source, f"[build].max_vertices must be in 2..7, got {build['max_vertices']}.")
    if "sample_fraction" in build and not 0 < build["sample_fraction"] <= 1:
        raise _fail(source, f"[build].sample_fraction must be in (0, 1], got {build['sample_fraction']}.")
    for key in ("workers", "threads"):
        if key in build and build[key] < 1:
            raise _fail(source, f"[build].{key} must be a positive integer, got {build[key]}.")
    if "sample_fraction" in build and "hashes" in build:
        raise _fail(source, "[build] takes either sample_fraction or hashes, not both.")
    return Recipe(
        profile=build.pop("profile"),
        profile_options=options,
        max_vertices=build.get("max_vertices", 7),
        sample_fraction=float(build["sample_fraction"])
        if "sample_fraction" in build
        else (None if "hashes" in build else 0.01),
        hashes=build.get("hashes"),
        seed=build.get("seed", 0),
        workers=build.get("workers", 1),
        threads=build.get("threads", 1),
        workdir=build.get("workdir"),
        out=build.get("out"),
        compact_bits=build.get("compact_bits"),
        max_table_mb=build.get("max_table_mb"),
        embed_surrogates=build.get("embed_surrogates", True),
        energy=energy,
        fit=dict(data.get("fit", {})),
        source=source,
    )


def load_recipe(path: str | os.PathLike[str]) -> Recipe:
    """Read and validate a TOML recipe.

    Raises:
        EcnasError: missing file, TOML syntax error (with its line) or an invalid recipe.
    """
    file = Path(path)
    if not file.is_file():
        raise EcnasError(f"recipe {str(file)!r} does not exist; the recipes shipped with ecnas are in builders/.")
    try:
        data = tomllib.loads(file.read_text())
    except tomllib.TOMLDecodeError as error:
        raise EcnasError(f"recipe {file}: not valid TOML ({error}).") from None
    return parse_recipe(data, source=str(file))
