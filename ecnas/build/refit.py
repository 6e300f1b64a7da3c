"""Refit a filled table's surrogate part from the measured rows it holds (no build directory needed).

A shipped table keeps its measured rows exactly (``source == measured``) but not always its build
directory (records, surrogate file). :func:`refit_table` reads those rows back, fits the current
surrogate on them (cross-fitted, calibrated: :func:`ecnas.build.fit.fit_measured`), predicts every
other row, writes ``surrogate_values`` (out-of-fold for measured rows) and the calibrated
``uncertainty``, keeps the old provenance and adds a ``refit`` entry, then compacts the result
(:func:`ecnas.build.compact.compact_table`). Measured rows' values are unchanged.

    ecnas build refit --table data/ecnas-tiny-7v.h5 -o /tmp/ecnas-tiny-7v.h5
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ecnas.metrics import METRICS

__all__ = ["refit_table", "table_measured_values"]


def table_measured_values(contents: Any) -> Any:
    """The measured rows of a :class:`~ecnas.table.TableContents` as :class:`~ecnas.surrogate.MeasuredValues`.

    Raises:
        ValueError: the table has no measured rows.
    """
    from ecnas.surrogate import MeasuredValues
    from ecnas.table import SOURCE_MEASURED

    rows = np.flatnonzero(np.asarray(contents.source) == SOURCE_MEASURED)
    if not len(rows):
        raise ValueError("the table holds no measured rows (source == measured): nothing to refit on")
    return MeasuredValues(
        hashes=np.asarray(contents.hashes)[rows],
        columns={name: np.asarray(values)[rows] for name, values in contents.columns.items()},
        trainable_parameters=np.asarray(contents.trainable_parameters, dtype=np.int64)[rows],
        metrics={name: np.asarray(values, dtype=np.float64)[rows] for name, values in contents.metrics.items()},
        space=contents.space,
    )


def refit_table(
    table: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    seed: int = 0,
    metrics: Sequence[str] | None = None,
    surrogate_params: Mapping[str, Any] | None = None,
    feature_set: str | None = None,
    max_bytes: float | None = 30e6,
    compact_bits: int = 12,
    bundle_out: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> Path:
    """Rebuild ``table``'s predicted rows, ``surrogate_values`` and ``uncertainty`` into ``out``.

    Args:
        table: a filled ecnas table with measured rows.
        out: the table to write (replaced atomically; may not be ``table`` itself).
        seed: seed of every surrogate.
        metrics: metrics to refit (default: every metric the measured rows hold); the others keep the
            table's values and lose their uncertainty.
        surrogate_params: :class:`~ecnas.surrogate.MLPSurrogate` settings over the builder's
            (:data:`ecnas.build.fit.CROSSFIT_SETTINGS`).
        feature_set: one surrogate feature set of the space for every metric (default: each metric's own,
            :meth:`~ecnas.spaces.SearchSpace.surrogate_setup`).
        max_bytes: size cap of the compacted table (:func:`~ecnas.build.compact.compact_table`);
            None compacts with the default precision and no cap.
        compact_bits: significant bits of the predicted values before the size cap applies (the cap
            may lower them to 10, never below).
        bundle_out: also write the fitted surrogates, measured values and out-of-fold predictions
            there (a surrogate bundle, ``SurrogateBundle.load`` reads it).
        progress: show progress bars.

    Returns:
        The written table.

    Raises:
        TableNotFoundError, TableFormatError: ``table`` is missing or unreadable.
        ValueError: no measured rows, ``out`` is ``table``, or an unknown metric.
    """
    from ecnas._io import atomic_path
    from ecnas.build.compact import compact_table
    from ecnas.build.fill import fill_contents
    from ecnas.build.fit import fit_measured, out_of_fold_arrays
    from ecnas.spaces import get_space
    from ecnas.surrogate import SurrogateBundle
    from ecnas.table import read_table, write_table

    source_path, target = Path(table), Path(out)
    if target.resolve() == source_path.resolve():
        raise ValueError(f"out must differ from table ({str(target)!r}): write the refitted table elsewhere")
    start = time.perf_counter()
    contents = read_table(source_path)
    measured = table_measured_values(contents)
    budgets = tuple(int(b) for b in contents.budgets)
    chosen = tuple(metrics) if metrics is not None else tuple(m for m in METRICS if m in measured.metrics)
    unknown = sorted(set(chosen) - set(measured.metrics))
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; the table holds {sorted(measured.metrics)}")
    models = fit_measured(
        measured, budgets, metrics=chosen, seed=seed, surrogate_params=surrogate_params,
        feature_set=feature_set, progress=progress,
    )  # fmt: skip
    fit_seconds = time.perf_counter() - start
    old = dict(contents.provenance)
    bundle = SurrogateBundle(budgets=budgets, models=models, measured=measured, provenance=old)
    measured.out_of_fold, measured.out_of_fold_std = out_of_fold_arrays(models, measured, budgets)
    if bundle_out is not None:
        bundle.save(bundle_out)
    space = get_space(contents.space).for_table(contents.columns)
    refit_entry = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "from": source_path.name,
        "what": "surrogate part refitted from the table's own measured rows (measured rows unchanged)",
        "seed": seed,
        "metrics": list(chosen),
        "fit_seconds": round(fit_seconds, 1),
        "previous_surrogate": old.get("surrogate"),
        "previous_compaction": old.get("compaction"),
    }
    refills = fill_contents(
        bundle, measured, space, np.asarray(contents.hashes), dict(contents.columns),
        options=old.get("network"), provenance={"refit": [*_as_list(old.get("refit")), refit_entry]},
        surrogate_name=Path(bundle_out).name if bundle_out is not None else "(not kept: pass bundle_out)",
        progress=progress,
    )  # fmt: skip
    for metric in set(contents.metrics) - set(chosen):  # not refitted: the table's values, no uncertainty
        refills.metrics[metric] = np.asarray(contents.metrics[metric], dtype=np.float64)
        refills.uncertainty.pop(metric, None)
        refills.surrogate_values.pop(metric, None)
    with atomic_path(target, suffix=".h5") as staging:
        raw = staging.with_name(staging.name + ".full.h5")
        try:
            write_table(raw, refills)
            compact_table(raw, staging, bits=compact_bits, max_bytes=None if max_bytes is None else int(max_bytes))
        finally:
            raw.unlink(missing_ok=True)
    return target


def _as_list(value: Any) -> list[Any]:
    """Earlier refit entries of a provenance (a list, one entry, or none)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
