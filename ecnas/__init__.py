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
    "Benchmark",
    "CellSpec",
    "CorruptRecordError",
    "EcnasError",
    "InvalidCellError",
    "NotFittedError",
    "TableFormatError",
    "TableNotFoundError",
    "__version__",
]


_LAZY_MODULES = (
    "spaces",
    "metrics",
    "space",
    "enumeration",
    "channels",
    "network",
    "table",
    "tables",
    "benchmark",
    "energy",
    "surrogate",
    "build",
    "optimizers",
    "indicators",
    "plots",
    "importers",
)


def __dir__() -> list[str]:
    # Lazily loaded names are listed too: dir(ecnas) shows Benchmark before it is first used.
    return sorted({*globals(), *__all__, *_LAZY_MODULES})


def __getattr__(name: str) -> object:
    # Heavy modules (h5py, torch) load only when their names are first used.
    if name == "Benchmark":
        from ecnas.benchmark import Benchmark

        return Benchmark
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f"ecnas.{name}")
    raise AttributeError(f"module 'ecnas' has no attribute {name!r}")
