"""Embedded tables by name: ``Benchmark("ecnas-5v")``, ``--table ecnas-4v-rtx3090``, ``ecnas info --list``.

The package ships a few small tables in ``data/`` (installed as ``ecnas/_data``): the default table built by
ecnas itself and EC-NAS's published measurements converted by ecnas's importer
(``builders/embed_ecnas.py`` regenerates them from the TFRecords and checks their digests). This module
only maps names to files and says what each table is; it reads no table.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecnas.errors import TableNotFoundError

__all__ = [
    "ECNAS_SOURCE",
    "EMBEDDED",
    "MANIFEST_NAME",
    "EmbeddedTable",
    "data_dirs",
    "embedded_manifest",
    "embedded_path",
    "resolve_table",
    "table_names",
]

#: File (next to the tables) recording each embedded table's release, sha256 and origin digests.
MANIFEST_NAME = "embedded.json"

#: Where EC-NAS's tables come from, their licence and how to cite them (written into each table's provenance).
ECNAS_SOURCE: dict[str, str] = {
    "benchmark": "EC-NAS-Bench (Bakhtiarifard, Igel, Selvan: EC-NAS: Energy Consumption Aware Tabular Benchmarks "
    "for Neural Architecture Search, ICASSP 2024, arXiv:2210.06015)",
    "repository": "https://github.com/saintslab/EC-NAS-Bench (mirror: https://github.com/PedramBakh/EC-NAS-Bench)",
    "licence": "MIT (EC-NAS-Bench repository LICENSE, 'Copyright (c) 2022 Pedram Bakh.', read from "
    "PedramBakh/EC-NAS-Bench at commit 8b14d85935855a95ea0eecc734e02a03c9f824e8); the accuracies are "
    "NAS-Bench-101's (google-research/nasbench, Apache-2.0 per EC-NAS's NOTICE.md)",
    "accuracies": "NAS-Bench-101's CIFAR-10 train/validation/test accuracies, as carried in EC-NAS's records",
}


@dataclass(frozen=True)
class EmbeddedTable:
    """One table shipped with the package.

    Attributes:
        name: what users type (``Benchmark(name)``, ``--table name``).
        file: file name in the data directory.
        source: the reference file it is converted from (None: built by ecnas itself).
        hardware: where its energies were measured.
        summary: one line: what the table holds.
        good_for: what it is the right table for.
        not_for: what it must not be used for.
    """

    name: str
    file: str
    source: str | None
    hardware: str
    summary: str
    good_for: str
    not_for: str


_MEASURED_4V = "91 cells ≤ 4 vertices × 4/12/36/108 epochs × 3 repeats, every budget trained and measured"
_SINGLE_GPU = (
    "91 cells ≤ 4 vertices; 4 epochs measured on this GPU, 12/36/108 epochs = 4-epoch energy and time × budget/4 "
    "(linear scaling, labelled estimated), 1 repeat"
)
_GPU_GOOD = "comparing fronts and energies across GPUs at 4 epochs (same cells, same training code)"
_GPU_NOT = (
    "energy at 12/36/108 epochs (linear extrapolation, not measurement); conclusions beyond 91 small cells; "
    "absolute CO2 (each file's intensity is the grid's at measurement time)"
)

#: Every embedded table by name.
EMBEDDED: dict[str, EmbeddedTable] = {
    t.name: t
    for t in (
        EmbeddedTable(
            "ecnas-tiny-7v",
            "ecnas-tiny-7v.h5",
            None,
            "2-core CPU, no RAPL or GPU (energy estimated from CPU time)",
            "all 423,624 NB101 cells × 1/2/4 epochs on 8×8 digits (tiny profile): 1% trained, the rest surrogate",
            "exercising ecnas end to end over the whole 7-vertex space (queries, optimizers, plots, tests)",
            "research conclusions on energy or accuracy (estimated energy, small-network timing noise, digits)",
        ),
        EmbeddedTable(
            "ecnas-5v",
            "ecnas-5v.h5",
            "ecnas_energy_5V9E_4epochs.tfrecord",
            "NVIDIA Quadro RTX 6000 (Carbontracker; a PUE is included, not verifiable per record)",
            "2,532 cells ≤ 5 vertices × 4 epochs × 1 repeat, measured (EC-NAS's 5V9E_4epochs)",
            "energy-aware NAS on real measurements: the largest measured space EC-NAS publishes",
            "other budgets than 4 epochs (none are stored); 108-epoch accuracy trade-offs",
        ),
        EmbeddedTable(
            "ecnas-4v",
            "ecnas-4v.h5",
            "ecnas_energy_4V9E_measured.tfrecord",
            "NVIDIA Quadro RTX 6000 (Carbontracker; a PUE is included, not verifiable per record)",
            _MEASURED_4V + " (EC-NAS's 4V9E_measured)",
            "multi-fidelity optimizers (SH-EMOA, ParEGO+HB) on measured energies at every budget; repeat noise",
            "large-space conclusions (91 cells: random search finds the front quickly)",
        ),
        EmbeddedTable(
            "ecnas-4v-quadrortx6000",
            "ecnas-4v-quadrortx6000.h5",
            "ecnas_energy_4V9E_quadrortx6000.tfrecord",
            "NVIDIA Quadro RTX 6000 (Carbontracker; a PUE is included, not verifiable per record)",
            _SINGLE_GPU,
            _GPU_GOOD,
            _GPU_NOT,
        ),
        EmbeddedTable(
            "ecnas-4v-rtx3060",
            "ecnas-4v-rtx3060.h5",
            "ecnas_energy_4V9E_rtx3060.tfrecord",
            "NVIDIA GeForce RTX 3060 (Carbontracker, PUE 1.59 included)",
            _SINGLE_GPU.replace("91 cells", "88 cells (3 of the 91 missing)"),
            _GPU_GOOD,
            _GPU_NOT,
        ),
        EmbeddedTable(
            "ecnas-4v-rtx3090",
            "ecnas-4v-rtx3090.h5",
            "ecnas_energy_4V9E_rtx3090.tfrecord",
            "NVIDIA GeForce RTX 3090 (Carbontracker, PUE 1.59 included)",
            _SINGLE_GPU,
            _GPU_GOOD,
            _GPU_NOT,
        ),
        EmbeddedTable(
            "ecnas-4v-titanxp",
            "ecnas-4v-titanxp.h5",
            "ecnas_energy_4V9E_titanxp.tfrecord",
            "NVIDIA TITAN Xp (Carbontracker; a PUE is included, not verifiable per record)",
            _SINGLE_GPU,
            _GPU_GOOD,
            _GPU_NOT,
        ),
    )
}


def table_names() -> tuple[str, ...]:
    """Names of the embedded tables, in registry order (the default table first)."""
    return tuple(EMBEDDED)


def data_dirs() -> list[Path]:
    """Directories searched for embedded tables: ``ecnas/_data`` (installed), then ``data/`` (a checkout)."""
    here = Path(__file__).resolve().parent
    return [here / "_data", here.parent / "data"]


def embedded_path(name: str) -> Path:
    """The file of an embedded table.

    Raises:
        ValueError: ``name`` is not an embedded table; the message lists them.
        TableNotFoundError: the table is registered but its file is not installed.
    """
    if name not in EMBEDDED:
        raise ValueError(f"{name!r} is not an embedded table; embedded tables are {list(EMBEDDED)}")
    candidates = [directory / EMBEDDED[name].file for directory in data_dirs()]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise TableNotFoundError(
        f"embedded table {name!r} is not installed (looked for {looked}); reinstall ecnas, or regenerate it "
        "with `python builders/embed_ecnas.py`"
    )


def resolve_table(table: str | os.PathLike[str]) -> Path:
    """A table argument as a path: an embedded table's name gives its file, anything else is a path.

    An existing file of the same name as an embedded table wins (a user's ``ecnas-5v`` in the current directory).

    Raises:
        TableNotFoundError: an embedded table's file is not installed.
    """
    path = Path(table)
    if os.fspath(table) in EMBEDDED and not path.exists():  # also a Path("ecnas-5v") from a CLI option
        return embedded_path(os.fspath(table))
    return path


def embedded_manifest() -> dict[str, Any]:
    """The manifest of the installed embedded tables (name → release, file sha256, origin), ``{}`` if absent."""
    for directory in data_dirs():
        candidate = directory / MANIFEST_NAME
        if candidate.is_file():
            return dict(json.loads(candidate.read_text(encoding="utf-8")).get("tables", {}))
    return {}
