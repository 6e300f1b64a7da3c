"""ecnas: an energy-aware tabular/surrogate NAS benchmark on the NAS-Bench-101 cell space."""

from __future__ import annotations

from ecnas.errors import (
    CorruptRecordError,
    EcnasError,
    InvalidCellError,
    NotFittedError,
    TableFormatError,
    TableNotFoundError,
)
from ecnas.spaces.nb101.cells import CellSpec

__version__ = "0.1.0"

__all__ = [
    "CellSpec",
    "CorruptRecordError",
    "EcnasError",
    "InvalidCellError",
    "NotFittedError",
    "TableFormatError",
    "TableNotFoundError",
    "__version__",
]


def __getattr__(name: str) -> object:
    # Heavy modules (h5py, torch) load only when their names are first used.
    if name == "Benchmark":
        from ecnas.benchmark import Benchmark

        return Benchmark
    if name in {
        "spaces",
        "metrics",
        "space",
        "enumeration",
        "channels",
        "network",
        "table",
        "benchmark",
        "energy",
        "surrogate",
        "build",
        "optimizers",
        "indicators",
        "plots",
        "importers",
    }:
        import importlib

        return importlib.import_module(f"ecnas.{name}")
    raise AttributeError(f"module 'ecnas' has no attribute {name!r}")
