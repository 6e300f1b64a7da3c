"""Size, open and query speed of the default table at 7/8/10/12 significant bits, old (v2) and new (v3) layout.

The shipped default table stores its predictions rounded to 7 significant bits; re-rounding those to 10 bits
would measure nothing (their low bits are zero). So the predictions are first given full low bits again: every
predicted value is multiplied by ``1 + u``, ``u`` uniform in ``±2^-8`` (below the 7-bit step; accuracies clipped
to [0, 1]), spreads by ``1 + u``, ``u`` in ``±2^-3`` (below their 2-bit step). Measured rows stay as they are.
Surrogate values are simulated too: predicted rows = their prediction, measured rows = an out-of-fold stand-in
(measured × (1 + N(0, 0.03))), with spreads drawn from the predicted rows'. Then, for each bit count, the
rounding of :func:`ecnas.build.compact.compact_table` (values to ``bits``, spreads to 3 and 2 bits) and both
layouts are written:

- old: format v2 as written before format 3 — keys as 32 hex characters uncompressed, every other dataset
  gzip 4 + shuffle, surrogate values (if any) as full `N x B` arrays;
- new: format v3 (:func:`ecnas.table.write_table`) — keys as 16 raw bytes, surrogate values only for the rows
  that differ from repeat 0.

At 10 bits the new layout is also written with gzip levels 1/4/6/9 to choose the level: size, write time, open
time (``Benchmark(path)``), first query (reads and decompresses one budget of every metric) and
``query_many`` of 100,000 keys on a fresh Benchmark. Run (about 3 minutes, ~0.5 GB of temporary files)::

    python benchmarks/bench_table_size.py [--table data/ecnas-tiny-7v.h5] [--bits 7 8 10 12] [--levels 1 4 6 9]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ecnas.table as table_module  # noqa: E402
from ecnas._io import ATTRIBUTES_DIGEST, array_sha256, tree_sha256  # noqa: E402
from ecnas.benchmark import Benchmark  # noqa: E402
from ecnas.build.compact import round_significant  # noqa: E402
from ecnas.metrics import METRIC_UNITS  # noqa: E402
from ecnas.table import METRICS, SOURCE_NAMES, SOURCE_SURROGATE, TableContents, read_table, write_table  # noqa: E402

_ACCURACIES = ("train_accuracy", "validation_accuracy", "test_accuracy")


def full_precision(contents: TableContents, seed: int = 0) -> TableContents:
    """The table with full low bits in every predicted value and spread, plus simulated surrogate values."""
    rng = np.random.default_rng(seed)
    predicted = contents.source == SOURCE_SURROGATE
    metrics, served, spread = {}, {}, {}
    for name in METRICS:
        values = np.array(contents.metrics[name])
        block = values[predicted]
        block *= 1.0 + rng.uniform(-(2.0**-8), 2.0**-8, block.shape)
        if name in _ACCURACIES:
            np.clip(block, 0.0, 1.0, out=block)
        values[predicted] = block
        metrics[name] = values
        oof = values[:, :, 0].copy()
        oof[~predicted] *= 1.0 + rng.normal(0.0, 0.03, oof[~predicted].shape)
        if name in _ACCURACIES:
            np.clip(oof, 0.0, 1.0, out=oof)
        served[name] = oof
        std = np.array(contents.uncertainty[name])
        std[predicted] *= 1.0 + rng.uniform(-(2.0**-3), 2.0**-3, std[predicted].shape)
        donors = rng.choice(np.flatnonzero(predicted), int((~predicted).sum()))
        std[~predicted] = std[donors]
        spread[name] = std
    return dataclasses.replace(contents, metrics=metrics, surrogate_values=served, uncertainty=spread)


def rounded(contents: TableContents, bits: int, spread_bits: int) -> TableContents:
    """What compact_table stores: predicted values and surrogate values at ``bits``, spreads at ``spread_bits``."""
    predicted = contents.source == SOURCE_SURROGATE
    metrics = {}
    for name, values in contents.metrics.items():
        values = np.array(values)
        values[predicted] = round_significant(values[predicted], bits)
        metrics[name] = values
    return dataclasses.replace(
        contents,
        metrics=metrics,
        surrogate_values={k: round_significant(v, bits) for k, v in contents.surrogate_values.items()},
        uncertainty={k: round_significant(v, spread_bits) for k, v in contents.uncertainty.items()},
    )


def write_old_layout(path: Path, contents: TableContents, *, surrogate_values: bool) -> Path:
    """The layout format v2 wrote (readable by this ecnas as a v2 table)."""

    def create(group: h5py.Group, name: str, data: np.ndarray, compress: bool = True) -> None:
        chunks = (min(32768, data.shape[0]), *data.shape[1:])
        if data.ndim == 3:
            chunks = (min(32768, data.shape[0]), 1, data.shape[2])
        filters = {"compression": "gzip", "compression_opts": 4, "shuffle": True} if compress else {}
        dataset = group.create_dataset(name, data=data, chunks=chunks, fletcher32=True, **filters)
        dataset.attrs["sha256"] = array_sha256(data)

    with h5py.File(path, "w") as h5:
        h5.attrs.update(
            {
                "format": "ecnas-table",
                "format_version": 2,
                "search_space": "nb101",
                "space_columns": json.dumps({"matrix": ["uint8", [7, 7]], "op_codes": ["int8", [7]]}),
                "num_cells": len(contents),
                "budgets": np.asarray(contents.budgets, dtype=np.int64),
                "repeats": contents.repeats,
                "metrics": json.dumps(METRIC_UNITS),
                "source_names": json.dumps({str(k): v for k, v in SOURCE_NAMES.items()}),
                "provenance": json.dumps(contents.provenance, sort_keys=True),
            }
        )
        cells = h5.create_group("cells")
        create(cells, "hash", np.asarray(contents.hashes, dtype="S32"), compress=False)
        for name, values in contents.columns.items():
            create(cells, name, values)
        create(cells, "trainable_parameters", contents.trainable_parameters)
        create(cells, "source", contents.source)
        group = h5.create_group("metrics")
        for name in METRICS:
            create(group, name, contents.metrics[name])
            group[name].attrs["unit"] = METRIC_UNITS[name]
        group = h5.create_group("uncertainty")
        for name, values in contents.uncertainty.items():
            create(group, name, values)
        if surrogate_values:
            group = h5.create_group("surrogate_values")
            for name, values in contents.surrogate_values.items():
                create(group, name, values)
                group[name].attrs["unit"] = METRIC_UNITS[name]
        h5.attrs[ATTRIBUTES_DIGEST] = tree_sha256(h5)
        h5.attrs["complete"] = True
    return path


def speed(path: Path, keys: np.ndarray) -> dict[str, float]:
    """Open time, first query (one budget of every metric decompressed) and query_many on a fresh Benchmark."""
    start = time.perf_counter()
    bench = Benchmark(path)
    opened = time.perf_counter() - start
    start = time.perf_counter()
    bench.query(str(keys[0]))
    first = time.perf_counter() - start
    fresh = Benchmark(path)
    start = time.perf_counter()
    fresh.query_many(keys)
    many = time.perf_counter() - start
    bench.close()
    fresh.close()
    return {"open_ms": opened * 1e3, "first_query_ms": first * 1e3, "query_many_cold_ms": many * 1e3}


def main() -> int:
    """Parse arguments, measure, print a Markdown table and JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", type=Path, default=ROOT / "data" / "ecnas-tiny-7v.h5")
    parser.add_argument("--bits", type=int, nargs="*", default=[7, 8, 10, 12, 14])
    parser.add_argument("--levels", type=int, nargs="*", default=[1, 4, 6, 9])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    original = read_table(args.table)
    full = full_precision(original, args.seed)
    predicted = full.source == SOURCE_SURROGATE
    top = len(full.budgets) - 1
    keys = np.random.default_rng(args.seed).choice(full.hashes, 100_000).astype("U32")
    results: dict[str, object] = {"table": str(args.table), "cells": len(full), "sizes": [], "levels": []}
    print(f"{args.table.name}: {len(full):,} cells, {int(predicted.sum()):,} predicted; sizes in MB (1e6 bytes)")
    print("| bits | spread bits | distinct P_v | largest tie | old v2 | old v2 + surrogate values | new v3 |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for bits in args.bits:
            for spread_bits in (3, 2):
                contents = rounded(full, bits, spread_bits)
                _, counts = np.unique(contents.metrics["validation_accuracy"][predicted, top, 0], return_counts=True)
                distinct, tie = len(counts), int(counts.max())
                old = write_old_layout(work / "old.h5", contents, surrogate_values=False).stat().st_size
                old_sv = write_old_layout(work / "old_sv.h5", contents, surrogate_values=True).stat().st_size
                new = write_table(work / "new.h5", contents).stat().st_size
                row = {
                    "bits": bits,
                    "spread_bits": spread_bits,
                    "distinct_validation_accuracy": distinct,
                    "largest_tie": tie,
                    "old_v2_mb": old / 1e6,
                    "old_v2_with_surrogate_values_mb": old_sv / 1e6,
                    "new_v3_mb": new / 1e6,
                }
                results["sizes"].append(row)  # type: ignore[union-attr]
                sizes = f"{old / 1e6:.1f} | {old_sv / 1e6:.1f} | {new / 1e6:.1f}"
                print(f"| {bits} | {spread_bits} | {distinct:,} | {tie:,} | {sizes} |", flush=True)
        contents = rounded(full, 10, 3)
        print("\nnew v3 layout at 10 bits / 3-bit spreads, by gzip level (times: best of 3, ms)")
        print("| gzip level | MB | write s | open | first query | query_many(100k), cold |")
        print("|---:|---:|---:|---:|---:|---:|")
        old_path = write_old_layout(work / "old_v2.h5", contents, surrogate_values=False)
        for level in args.levels:
            table_module.COMPRESSION_LEVEL = level
            start = time.perf_counter()
            path = write_table(work / f"level{level}.h5", contents)
            written = time.perf_counter() - start
            runs = [speed(path, keys) for _ in range(3)]
            best = {key: min(run[key] for run in runs) for key in runs[0]}
            row = {"level": level, "mb": path.stat().st_size / 1e6, "write_s": written, **best}
            results["levels"].append(row)  # type: ignore[union-attr]
            print(
                f"| {level} | {row['mb']:.2f} | {written:.1f} | {best['open_ms']:.0f} | {best['first_query_ms']:.0f} | "
                f"{best['query_many_cold_ms']:.0f} |",
                flush=True,
            )
        table_module.COMPRESSION_LEVEL = 4
        runs = [speed(old_path, keys) for _ in range(3)]
        best = {key: min(run[key] for run in runs) for key in runs[0]}
        results["old_v2_speed"] = best
        print(
            f"| old v2 (gzip 4) | {old_path.stat().st_size / 1e6:.2f} | – | {best['open_ms']:.0f} | "
            f"{best['first_query_ms']:.0f} | {best['query_many_cold_ms']:.0f} |"
        )
    print("\n" + json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
