"""Shrink a filled table for shipping: round surrogate predictions to the precision they have.

A full 7-vertex table holds 423,624 cells x budgets x metrics of float64 predictions plus the surrogate
weights; stored as is it weighs over 100 MB, mostly random low mantissa bits. ``compact_table`` keeps
measured rows exact and rounds every *predicted* value to ``bits`` significant bits (10 bits: relative
error below 0.05%, far below a surrogate's error of a few per cent and finer than the 1/360 step of a
measured tiny-profile accuracy), the surrogate values of measured rows (out-of-fold predictions) likewise,
and the ensemble spread to ``uncertainty_bits``; zeroed mantissa bits compress to almost nothing. Never fewer
than :data:`MIN_PREDICTED_BITS` (10) bits: coarser rounding makes ties the model did not predict (7 bits left
460 distinct validation accuracies over 423,624 cells). The surrogate weights are left out unless
``keep_models`` (they stay in the build directory's ``surrogates.h5``). The rounding is recorded in the
provenance (``compaction``).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from ecnas._io import atomic_path

__all__ = ["MIN_PREDICTED_BITS", "compact_table", "round_significant"]

#: The fewest significant bits a shipped table keeps for predicted values (relative error below 2^-11).
MIN_PREDICTED_BITS = 10


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
    min_bits: int = MIN_PREDICTED_BITS,
) -> Path:
    """Rewrite ``path`` (or write ``out``) with predicted values rounded; returns the written path.

    Args:
        path: a filled table.
        out: destination (default: replace ``path`` atomically).
        bits: significant bits kept for predicted metric values and surrogate values (measured rows stay
            exact); at least :data:`MIN_PREDICTED_BITS`.
        uncertainty_bits: significant bits kept for the surrogate spread.
        keep_models: copy the ``surrogate`` group (model weights) into the result.
        max_bytes: when the result is larger, retry with coarser rounding: first the spread (down to 2
            bits), then the predicted values, one bit at a time down to ``min_bits``.
        min_bits: the coarsest rounding of predicted values ``max_bytes`` may lead to; at least
            :data:`MIN_PREDICTED_BITS` (10 bits: relative error below 0.05%).

    Raises:
        ValueError: bad bit counts (fewer than 10 for predicted values), or ``max_bytes`` unreachable even at
            ``min_bits``.
    """
    import h5py

    from ecnas.table import SOURCE_SURROGATE, read_table, write_table

    for name, value in (("bits", bits), ("uncertainty_bits", uncertainty_bits), ("min_bits", min_bits)):
        if not isinstance(value, int) or not 1 <= value <= 52:
            raise ValueError(f"{name} must be an integer in 1..52, got {value!r}.")
    for name, value in (("bits", bits), ("min_bits", min_bits)):
        if value < MIN_PREDICTED_BITS:
            raise ValueError(
                f"{name} must be >= {MIN_PREDICTED_BITS}: shipped predicted values keep at least "
                f"{MIN_PREDICTED_BITS} significant bits (fewer ties values the model did not predict), got {value}; "
                "raise max_bytes instead"
            )
    if min_bits > bits:
        raise ValueError(f"min_bits <= bits must hold, got min_bits={min_bits}, bits={bits}")
    source_path = Path(path)
    target = Path(out) if out is not None else source_path
    original = read_table(source_path)
    predicted = np.asarray(original.source) == SOURCE_SURROGATE  # measured and imported rows stay exact

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
            uncertainty = {  # every row's spread is the surrogate's (measured rows: out-of-fold, or 0)
                name: round_significant(values, uncertainty_bits) for name, values in original.uncertainty.items()
            }
            # Rounded exactly like the metrics: predicted rows keep equal to repeat 0 (format v3 stores only the
            # rows that differ, i.e. the measured rows' out-of-fold values).
            surrogate_values = {
                name: round_significant(values, bits) for name, values in original.surrogate_values.items()
            }
            provenance = dict(original.provenance)
            provenance["compaction"] = {
                "predicted_significant_bits": bits,
                "uncertainty_significant_bits": uncertainty_bits,
                "relative_rounding_error_max": 2.0 ** -(bits + 1),
                "measured_rows": "exact",
                "surrogate_values": f"rounded to {bits} significant bits (measured rows' out-of-fold values too)",
                "surrogate_models": "embedded" if keep_models else "left out (see the build directory's surrogates.h5)",
            }
            contents = dataclasses.replace(
                original,
                metrics=metrics,
                uncertainty=uncertainty,
                surrogate_values=surrogate_values,
                provenance=provenance,
            )
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
