"""Shrink a filled table for shipping: round surrogate predictions to the precision they have.

A full 7-vertex table holds 423,624 cells x budgets x metrics of float64 predictions plus the surrogate
weights; stored as is it weighs over 100 MB, mostly random low mantissa bits. ``compact_table`` keeps
measured rows exact and rounds every *predicted* value to ``bits`` significant bits (10 bits: relative
error below 0.05%, far below a surrogate's error of a few per cent and finer than the 1/360 step of a
measured tiny-profile accuracy) and the ensemble spread to ``uncertainty_bits``; zeroed mantissa bits
compress to almost nothing. The surrogate weights are left out unless ``keep_models`` (they stay in the
build directory's ``surrogates.h5``). The rounding is recorded in the provenance (``compaction``).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from ecnas._io import atomic_path

__all__ = ["compact_table", "round_significant"]


def round_significant(values: np.ndarray, bits: int) -> np.ndarray:
    """Round float values to ``bits`` significant binary digits (NaN and ±inf pass through)."""
    values = np.asarray(values, dtype=np.float64)
    mantissa, exponent = np.frexp(values)
    with np.errstate(invalid="ignore"):
        rounded = np.ldexp(np.round(mantissa * 2.0**bits) / 2.0**bits, exponent)
    return np.where(np.isfinite(values), rounded, values)


def compact_table(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    bits: int = 10,
    uncertainty_bits: int = 3,
    keep_models: bool = False,
    max_bytes: int | None = None,
    min_bits: int = 7,
) -> Path:
    """Rewrite ``path`` (or write ``out``) with predicted values rounded; returns the written path.

    Args:
        path: a filled table.
        out: destination (default: replace ``path`` atomically).
        bits: significant bits kept for predicted metric values (measured rows stay exact).
        uncertainty_bits: significant bits kept for the surrogate spread.
        keep_models: copy the ``surrogate`` group (model weights) into the result.
        max_bytes: when the result is larger, retry with coarser rounding: first the spread (down to 2
            bits), then the predicted values, one bit at a time down to ``min_bits``.
        min_bits: the coarsest rounding of predicted values ``max_bytes`` may lead to (7 bits: relative
            error below 0.4%).

    Raises:
        ValueError: bad bit counts, or ``max_bytes`` unreachable even at ``min_bits``.
    """
    import h5py

    from ecnas.table import SOURCE_MEASURED, read_table, write_table

    for name, value in (("bits", bits), ("uncertainty_bits", uncertainty_bits), ("min_bits", min_bits)):
        if not isinstance(value, int) or not 1 <= value <= 52:
            raise ValueError(f"{name} must be an integer in 1..52, got {value!r}.")
    source_path = Path(path)
    target = Path(out) if out is not None else source_path
    original = read_table(source_path)
    predicted = np.asarray(original.source) != SOURCE_MEASURED

    def extras(h5: h5py.File) -> None:
        if keep_models:
            with h5py.File(source_path, "r") as src:
                if "surrogate" in src:
                    src.copy(src["surrogate"], h5, "surrogate")

    # Each attempt overwrites the same temporary file; the target changes only once one fits.
    with atomic_path(target, suffix=".h5") as staging:
        while True:
            metrics = {}
            for name, values in original.metrics.items():
                values = np.array(values, dtype=np.float64)
                values[predicted] = round_significant(values[predicted], bits)
                metrics[name] = values
            uncertainty = {}
            for name, values in original.uncertainty.items():
                values = np.array(values, dtype=np.float64)
                values[predicted] = round_significant(values[predicted], uncertainty_bits)
                uncertainty[name] = values
            provenance = dict(original.provenance)
            provenance["compaction"] = {
                "predicted_significant_bits": bits,
                "uncertainty_significant_bits": uncertainty_bits,
                "relative_rounding_error_max": 2.0 ** -(bits + 1),
                "measured_rows": "exact",
                "surrogate_models": "embedded" if keep_models else "left out (see the build directory's surrogates.h5)",
            }
            contents = dataclasses.replace(original, metrics=metrics, uncertainty=uncertainty, provenance=provenance)
            write_table(staging, contents, extras=extras)
            size = staging.stat().st_size
            if max_bytes is None or size <= max_bytes:
                break
            if uncertainty_bits > 2:
                uncertainty_bits -= 1
            elif bits > min_bits:
                bits -= 1
            else:
                raise ValueError(
                    f"the compacted table is {size / 1e6:.1f} MB even with {bits} significant bits, over "
                    f"max_bytes={max_bytes / 1e6:.1f} MB; lower min_bits or drop the uncertainty."
                )
    return target
