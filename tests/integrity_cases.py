"""Tampering cases shared by the integrity tests and ``benchmarks/bench_faults.py``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ecnas._io import ATTRIBUTES_DIGEST, tree_sha256

Edit = Callable[[h5py.File], None]
SURROGATE_MODEL = "surrogate/energy_kwh/budget_4"


def _provenance_edit(key: str, value: object) -> Edit:
    def edit(h5: h5py.File) -> None:
        provenance = json.loads(h5.attrs["provenance"])
        provenance[key] = value
        h5.attrs["provenance"] = json.dumps(provenance)

    return edit


def _set(name: str, value: object) -> Edit:
    def edit(h5: h5py.File) -> None:
        h5.attrs[name] = value

    return edit


#: Table edits, one per attribute that changes a number (or how a number is read).
EDITS: dict[str, Edit] = {
    "carbon_intensity one digit": _provenance_edit("carbon_intensity", 280.0),
    "pue one digit": _provenance_edit("pue", 1.6),
    "energy_method": _provenance_edit("energy_method", "measured:carbontracker[rapl]"),
    "budgets relabelled": _set("budgets", np.array([4, 36])),
    "repeats": _set("repeats", 2),
    "num_cells": _set("num_cells", 4),
    "metrics units": _set("metrics", json.dumps({"training_time": "h"})),
    "search_space": _set("search_space", "nasbench101"),
    "space_columns": _set("space_columns", "{}"),
    "source_names": _set("source_names", json.dumps({"0": "surrogate", "1": "measured", "2": "imported"})),
    "format_version": _set("format_version", 1),
    "dataset unit": lambda h5: h5["metrics/energy_kwh"].attrs.__setitem__("unit", "Wh"),
    "dataset sha256 deleted": lambda h5: h5["metrics/energy_kwh"].attrs.__delitem__("sha256"),
    "dataset sha256 replaced": lambda h5: h5["cells/source"].attrs.__setitem__("sha256", "0" * 64),
    "new attribute": _set("num_cells_override", 3),
    "digest deleted": lambda h5: h5.attrs.__delitem__(ATTRIBUTES_DIGEST),
}

#: Invalid provenance values a file could bring in: (key, value).
BAD_VALUES: dict[str, tuple[str, Any]] = {
    "negative intensity": ("carbon_intensity", -445.0),
    "string intensity": ("carbon_intensity", "445"),
    "nan intensity": ("carbon_intensity", float("nan")),
    "inf intensity": ("carbon_intensity", float("inf")),
    "huge intensity": ("carbon_intensity", 10**400),
    "bool intensity": ("carbon_intensity", True),
    "pue below 1": ("pue", 0.5),
    "negative pue": ("pue", -1.0),
    "string pue": ("pue", "1.2"),
    "dict energy_method": ("energy_method", {"a": 1}),
}


def as_v2(path: Path) -> None:
    """Turn a written (version 3) table into the version-2 layout: `S32` hex keys, full surrogate values."""
    from ecnas._io import array_sha256
    from ecnas.table import hash_hex, read_surrogate_values

    def replace(h5: h5py.File, name: str, data: np.ndarray, **filters: Any) -> None:
        attrs = dict(h5[name].attrs) if name in h5 else {}
        if name in h5:
            del h5[name]
        dataset = h5.create_dataset(name, data=data, chunks=True, fletcher32=True, **filters)
        dataset.attrs.update({**attrs, "sha256": array_sha256(data)})

    with h5py.File(path, "r+") as h5:
        if int(h5.attrs["format_version"]) < 3:
            return
        replace(h5, "cells/hash", hash_hex(h5["cells/hash"][()]))
        if "surrogate_values" in h5:
            values = {name: read_surrogate_values(h5, name) for name in h5["surrogate_values"] if name != "rows"}
            for name, data in values.items():
                replace(h5, f"surrogate_values/{name}", data, compression="gzip", shuffle=True)
            del h5["surrogate_values/rows"], h5["surrogate_values"].attrs["encoding"]
        h5.attrs["format_version"] = 2
        h5.attrs[ATTRIBUTES_DIGEST] = tree_sha256(h5)


def as_v1(path: Path) -> None:
    """Turn a written table into the version-1 layout (no space attributes, no attribute digest)."""
    as_v2(path)
    with h5py.File(path, "r+") as h5:
        h5.attrs["format_version"] = 1
        h5.attrs["search_space"] = "nasbench101"
        del h5.attrs["space_columns"], h5.attrs[ATTRIBUTES_DIGEST]


def set_provenance(path: Path, key: str, value: Any, *, restamp: bool) -> None:
    """Set one provenance entry; ``restamp`` recomputes the digest (a writer that knows the format)."""
    with h5py.File(path, "r+") as h5:
        provenance = json.loads(h5.attrs["provenance"])
        provenance[key] = value
        h5.attrs["provenance"] = json.dumps(provenance)  # NaN/inf/10**400 as Python's json writes them
        if restamp:
            h5.attrs[ATTRIBUTES_DIGEST] = tree_sha256(h5)


def _model_attr(name: str, change: Callable[[Any], Any]) -> Edit:
    def edit(h5: h5py.File) -> None:
        h5[SURROGATE_MODEL].attrs[name] = change(h5[SURROGATE_MODEL].attrs[name])

    return edit


def _data(name: str, change: Callable[[np.ndarray], np.ndarray]) -> Edit:
    def edit(h5: h5py.File) -> None:
        h5[name][...] = change(h5[name][()])

    return edit


#: Tampered surrogate bundles (the model of energy_kwh at budget 4).
SURROGATE_TAMPERING: dict[str, Edit] = {
    "target_scale x1000": _model_attr("target_scale", lambda v: v * 1000),
    "target_scale nan": _model_attr("target_scale", lambda v: np.nan),
    "target_offset -1": _model_attr("target_offset", lambda v: -1.0),
    "params changed": _model_attr("params", lambda v: v.replace('"gelu"', '"relu"')),
    "activation attribute": _model_attr("activation", lambda v: "relu"),
    "weight sha256 deleted": lambda h5: h5[f"{SURROGATE_MODEL}/layer_0/weight"].attrs.__delitem__("sha256"),
    "weight changed": _data(f"{SURROGATE_MODEL}/layer_0/weight", lambda w: w * 1.01),
    "input_offset changed": _data(f"{SURROGATE_MODEL}/input_offset", lambda w: w + 1),
    "measured energy changed": _data("measured/metrics/energy_kwh", lambda w: w * 2),
    "measured sha256 deleted": lambda h5: h5["measured/metrics/energy_kwh"].attrs.__delitem__("sha256"),
    "provenance intensity": _provenance_edit("carbon_intensity", 3000.0),
    "provenance network": _provenance_edit("network", "stem"),
    "budgets": lambda h5: h5.attrs.__setitem__("budgets", np.array([12])),
    "bundle digest deleted": lambda h5: h5.attrs.__delitem__(ATTRIBUTES_DIGEST),
    "model digest deleted": lambda h5: h5[SURROGATE_MODEL].attrs.__delitem__(ATTRIBUTES_DIGEST),
}
#: Cases whose values are refused even when every digest was recomputed.
SURROGATE_RESTAMPED = ("target_scale nan", "provenance network", "budgets", "weight sha256 deleted")


def fit_small_bundle(path: Path) -> Path:
    """A surrogate bundle of energy_kwh at budget 4, fitted on 24 cells in a few seconds."""
    from ecnas.build.fit import fit_surrogates
    from tests.test_fill import FAST, TINY_NET, make_records, small_cells

    records = make_records(small_cells()[:24], budgets=(4,), repeats=1)
    fit_surrogates(
        records,
        metrics=["energy_kwh"],
        seed=0,
        surrogate_params=FAST,
        network_options=TINY_NET,
        out_path=path,
        progress=False,
    )
    return path


def tampered(bundle: Path, folder: Path, edit: Edit, *, restamp: bool = False) -> Path:
    """A copy of ``bundle`` with ``edit`` applied (and, with ``restamp``, every digest recomputed)."""
    path = folder / "tampered.h5"
    path.write_bytes(bundle.read_bytes())
    with h5py.File(path, "r+") as h5:
        edit(h5)
        if restamp:
            h5[SURROGATE_MODEL].attrs[ATTRIBUTES_DIGEST] = tree_sha256(h5[SURROGATE_MODEL])
            h5.attrs[ATTRIBUTES_DIGEST] = tree_sha256(h5)
    return path
