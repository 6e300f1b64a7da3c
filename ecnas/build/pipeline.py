"""``run``: sample → measure → merge → fit → fill in one call, resumable at every stage.

The build directory holds ``plan.json``, the shard record files, the merged ``records.jsonl``,
``surrogates.h5`` and ``build.json`` (timings); rerunning the same command resumes the measurement
where it stopped and redoes the (cheap) fit and fill.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ecnas._io import atomic_write_text
from ecnas.build.plan import BuildPlan, make_plan, read_plan, write_plan
from ecnas.build.profiles import get_profile
from ecnas.build.records import load_records, records_provenance
from ecnas.build.status import MERGED_FILE, merge_records

__all__ = [
    "SURROGATE_FILE",
    "TIMINGS_FILE",
    "all_measured",
    "fill_stage",
    "fit_stage",
    "measured_table",
    "plan_build",
    "run_build",
]

SURROGATE_FILE = "surrogates.h5"
TIMINGS_FILE = "build.json"


#: Energy settings every meter shares (how CO2 is priced and the CPU estimate's watts).
_PRICING = ("carbon_intensity", "country", "pue", "watts_per_thread")


def plan_build(
    workdir: str | os.PathLike[str],
    *,
    profile: str,
    profile_options: Mapping[str, Any] | None = None,
    max_vertices: int = 7,
    sample_fraction: float | None = 0.01,
    seed: int = 0,
    hashes: Sequence[str] | None = None,
    energy: Mapping[str, Any] | None = None,
) -> BuildPlan:
    """Validate the settings, sample the cells and write ``plan.json`` (idempotent; see :mod:`.plan`)."""
    resolved = get_profile(profile, profile_options)
    if energy:
        from ecnas.energy import CpuTimeMeter, get_meter_class

        settings = dict(energy)
        name = settings.pop("meter", "auto")
        if name != "auto":
            get_meter_class(name)  # an unknown meter fails here, listing the registered ones
        CpuTimeMeter(**{k: v for k, v in settings.items() if k in _PRICING})  # validates before anything runs
    plan = make_plan(
        profile,
        resolved.options(),
        max_vertices=max_vertices,
        sample_fraction=sample_fraction,
        seed=seed,
        hashes=hashes,
        energy=dict(energy or {}),
        space=resolved.space,
    )
    return write_plan(workdir, plan)


def _timings(workdir: Path) -> dict[str, Any]:
    file = workdir / TIMINGS_FILE
    try:
        data = json.loads(file.read_text()) if file.is_file() else {}
    except (ValueError, RecursionError):  # informative only: a damaged file restarts the timings
        return {}
    return data if isinstance(data, dict) else {}


def _save_timings(workdir: Path, data: Mapping[str, Any]) -> None:
    atomic_write_text(workdir / TIMINGS_FILE, json.dumps(dict(data), indent=1))


def measure_stage(
    workdir: str | os.PathLike[str], *, workers: int = 1, threads: int = 1, progress: bool = True
) -> float:
    """Measure every planned cell (one process when ``workers == 1``, else local worker processes).

    Returns:
        Wall time of this call in seconds (also accumulated in ``build.json``).
    """
    directory = Path(workdir)
    start = time.perf_counter()
    if workers == 1:
        from ecnas.build.measure import measure_shard

        measure_shard(directory, shard=(0, 1), threads=threads, progress=progress)
    else:
        from ecnas.build.local import launch_local

        launch_local(directory, workers=workers, threads=threads, progress=progress)
    seconds = time.perf_counter() - start
    timings = _timings(directory)
    timings["measure_wall_s"] = float(timings.get("measure_wall_s", 0.0)) + seconds
    timings["workers"] = workers
    timings["threads_per_worker"] = threads
    _save_timings(directory, timings)
    return seconds


def fit_stage(
    workdir: str | os.PathLike[str], *, fit_options: Mapping[str, Any] | None = None, progress: bool = True
) -> Path | None:
    """Merge the records and fit the surrogates into ``workdir/surrogates.h5``.

    Returns:
        The surrogate file, or None when every cell of the space is measured at every budget: nothing is left
        to predict, so no surrogate is fitted (:func:`fill_stage` then writes the measurements alone).
    """
    from ecnas.build.fit import fit_surrogates

    directory = Path(workdir)
    plan = read_plan(directory)
    merge_records(directory)
    records = load_records(directory / MERGED_FILE)
    if all_measured(plan, records):
        return None
    options = dict(fit_options or {})
    options.setdefault("seed", plan.seed)
    fit_surrogates(
        records,
        budgets=plan.profile_options["budgets"],
        out_path=directory / SURROGATE_FILE,
        provenance=_build_provenance(directory, plan, records),
        progress=progress,
        **options,
    )
    return directory / SURROGATE_FILE


def _measure_span(records: Sequence[Mapping[str, Any]]) -> float | None:
    """Seconds between the first and the last record (a lower bound of the measuring wall time)."""
    times = sorted(str(r["created"]) for r in records if r.get("created"))
    if len(times) < 2:
        return None
    return (_dt.datetime.fromisoformat(times[-1]) - _dt.datetime.fromisoformat(times[0])).total_seconds()


def _describe_hardware(hardware: Mapping[str, Any]) -> str:
    if "mixed" in hardware:
        # Records also hold per-run settings (threads, kernel): a machine is its CPU, cores and GPUs.
        machines = list(dict.fromkeys(_describe_hardware(h or {}) for h in hardware["mixed"]))
        if len(machines) == 1:
            return f"{machines[0]} (runs with different settings)"
        return f"{len(machines)} different machines: " + "; ".join(machines)
    gpus = hardware.get("gpus") or []
    return (
        f"{hardware.get('cpu_model', '?')} ({hardware.get('logical_cores', '?')} logical cores, "
        f"{'GPUs ' + ', '.join(gpus) if gpus else 'no GPU'})"
    )


def _build_provenance(directory: Path, plan: BuildPlan, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    profile = get_profile(plan.profile, plan.profile_options)
    timings = _timings(directory)
    cells = len({r["hash"] for r in records})
    planned = len(plan.hashes)
    wall = timings.get("measure_wall_s") if cells >= planned else None
    span = _measure_span(records)
    facts = records_provenance(records) if records else {}
    # Records name their data; older ones did not, and then the data is loaded just to describe it.
    dataset = facts.get("dataset") or profile.load_data().description
    kinds = sorted({str((r.get("energy") or {}).get("kind", "?")) for r in records}) or ["?"]
    note = (
        f"Built end to end by ecnas's own builder: profile {plan.profile!r} ({dataset}); "
        f"{cells} of {plan.space_size} cells trained and measured, the rest predicted by MLP surrogates; "
        f"hardware {_describe_hardware(facts.get('hardware') or {})}; energy {'/'.join(kinds)} "
        f"({facts.get('energy_method', '?')}); carbon intensity {facts.get('carbon_intensity', '?')} gCO2/kWh "
        f"({facts.get('intensity_source', '?')}). These are not EC-NAS's published numbers "
        "(import those with `ecnas import`)."
    )
    return {
        "dataset": dataset,
        "profile": plan.profile,
        "profile_options": plan.profile_options,
        "planned_sample_fraction": plan.sample_fraction,
        "sample_method": plan.sample_method,
        "planned_cells": planned,
        "build_seed": plan.seed,
        "max_vertices": plan.max_vertices,
        "builder": {
            "measured_cells": cells,
            "planned_cells": planned,
            "complete": cells >= planned,
            "measure_wall_s": wall,
            "first_to_last_record_s": span,
            "workers": timings.get("workers"),
            "threads_per_worker": timings.get("threads_per_worker"),
            "cells_per_s": cells / wall if wall else (cells / span if span else None),
        },
        "origin": "measured and filled by ecnas's own builder (ecnas build), not imported",
        "note": note,
    }


def fill_stage(
    workdir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    progress: bool = True,
    provenance: Mapping[str, Any] | None = None,
    compact_bits: int | None = None,
    max_table_mb: float | None = None,
    embed_surrogates: bool = True,
) -> Path:
    """Predict every cell of the plan's space and write the table to ``out``.

    Args:
        workdir: build directory (with ``surrogates.h5``).
        out: table to write.
        progress: progress bars.
        provenance: extra provenance entries.
        compact_bits: when set, round predicted values to this many significant bits
            (:func:`ecnas.build.compact.compact_table`).
        max_table_mb: when set, compact (default 10 bits) and drop bits until the file is this small.
        embed_surrogates: keep the surrogate weights inside the table.
    """
    from ecnas.build.fill import fill_table

    directory = Path(workdir)
    plan = read_plan(directory)
    records = load_records(directory / MERGED_FILE) if (directory / MERGED_FILE).is_file() else None
    extra = {"created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), **dict(provenance or {})}
    if records and all_measured(plan, records):
        return measured_table(directory, plan, records, out, extra)  # exact values: nothing predicted or compacted
    table = fill_table(
        directory / SURROGATE_FILE,
        out,
        max_vertices=plan.max_vertices,
        records=records,
        provenance=extra,
        progress=progress,
    )
    if compact_bits is not None or max_table_mb is not None or not embed_surrogates:
        from ecnas.build.compact import compact_table

        table = compact_table(
            table,
            bits=compact_bits or 10,
            keep_models=embed_surrogates,
            max_bytes=int(max_table_mb * 1e6) if max_table_mb is not None else None,
        )
    return table


def run_build(
    out: str | os.PathLike[str],
    *,
    profile: str,
    profile_options: Mapping[str, Any] | None = None,
    workdir: str | os.PathLike[str] | None = None,
    max_vertices: int = 7,
    sample_fraction: float | None = 0.01,
    seed: int = 0,
    hashes: Sequence[str] | None = None,
    energy: Mapping[str, Any] | None = None,
    workers: int = 1,
    threads: int = 1,
    fit_options: Mapping[str, Any] | None = None,
    compact_bits: int | None = None,
    max_table_mb: float | None = None,
    embed_surrogates: bool = True,
    progress: bool = True,
    report: Callable[[str], None] | None = None,
) -> Path:
    """The whole build: plan, measure, merge, fit, fill (and compact); returns the table path.

    Rerunning it resumes: the plan is kept, measured cells are not measured again.

    Args:
        out: table to write.
        profile: profile name.
        profile_options: overrides of the profile's options.
        workdir: build directory (default: ``<out>.build`` next to the table).
        max_vertices: largest cells of the space (2..7).
        sample_fraction: fraction of the space measured (see :func:`ecnas.build.plan.make_plan`).
        seed: seed of the sample and of every training run.
        hashes: cells to measure instead of a sample.
        energy: the meter and its settings (:func:`ecnas.energy.meter_from_settings`).
        workers: local measure processes.
        threads: torch threads per process.
        fit_options: extra keyword arguments of :func:`ecnas.build.fit.fit_surrogates`.
        compact_bits: round predicted values to this many significant bits (see :func:`fill_stage`).
        max_table_mb: compact until the table is at most this size.
        embed_surrogates: keep the surrogate weights inside the table.
        progress: progress bars.
        report: called with one line per finished stage (the CLI prints them).
    """
    say = report if report is not None else (lambda _line: None)
    directory = Path(workdir) if workdir is not None else Path(f"{out}.build")
    plan = plan_build(
        directory,
        profile=profile,
        profile_options=profile_options,
        max_vertices=max_vertices,
        sample_fraction=sample_fraction,
        seed=seed,
        hashes=hashes,
        energy=energy,
    )
    say(f"plan: {len(plan)} cells of {plan.space_size} ({plan.sample_method}); build directory {directory}")
    seconds = measure_stage(directory, workers=workers, threads=threads, progress=progress)
    say(f"measure: {seconds:.1f} s wall with {workers} worker(s)")
    if fit_stage(directory, fit_options=fit_options, progress=progress) is None:
        say("fit: every cell of the space is measured at every budget, no surrogate fitted")
    table = fill_stage(
        directory,
        out,
        progress=progress,
        compact_bits=compact_bits,
        max_table_mb=max_table_mb,
        embed_surrogates=embed_surrogates,
    )
    say(f"table written: {table} ({table.stat().st_size / 1e6:.1f} MB)")
    return table


def all_measured(plan: BuildPlan, records: Sequence[Mapping[str, Any]]) -> bool:
    """Whether every cell of the plan's space has a measurement of every measured metric at every budget."""
    from ecnas.build.fit import measured_values

    if plan.space_size < 0 or len({r["hash"] for r in records}) < plan.space_size:  # -1: not finite
        return False
    measured, _ = measured_values(records, tuple(sorted(plan.profile_options["budgets"])))
    if len(measured) != plan.space_size:
        return False
    present = [np.isfinite(values).any(axis=2) for values in measured.metrics.values()]
    return all(p.all() for p in present if p.any())


def measured_table(
    directory: Path,
    plan: BuildPlan,
    records: Sequence[Mapping[str, Any]],
    out: str | os.PathLike[str],
    extra: Mapping[str, Any],
) -> Path:
    """Write the table of a build that measured every cell: the records' values, all flagged measured."""
    from ecnas.build.fit import measured_values
    from ecnas.build.plan import build_space
    from ecnas.spaces.nb101.lookup import HashIndex
    from ecnas.table import SOURCE_MEASURED, TableContents, write_table

    budgets = tuple(sorted(plan.profile_options["budgets"]))
    measured, _ = measured_values(records, budgets)
    space = build_space(measured.space, plan.max_vertices)
    hashes, columns = space.enumerated_columns()
    rows = HashIndex(hashes).find(measured.hashes)  # the enumerated space is sorted by key
    if (rows < 0).any():
        raise ValueError(f"measured configurations outside the space {space.name} (max_vertices={plan.max_vertices})")
    n = len(hashes)
    metrics = {}
    for name, values in measured.metrics.items():
        metrics[name] = np.full((n, *values.shape[1:]), np.nan)
        metrics[name][rows] = values
    parameters = np.zeros(n, dtype=np.int64)
    parameters[rows] = measured.trainable_parameters
    provenance = {
        **records_provenance(records),
        **_build_provenance(directory, plan, records),
        "sample_fraction": 1.0,
        "num_measured_cells": n,
        "surrogate": None,
        "note": f"Every one of the {n} cells of the space was trained and measured: no surrogate was fitted, "
        "nothing is predicted.",
        **dict(extra),
    }
    contents = TableContents(
        hashes=hashes,
        budgets=budgets,
        repeats=measured.repeats,
        space=space.name,
        columns=columns,
        trainable_parameters=parameters,
        source=np.full(n, SOURCE_MEASURED, dtype=np.uint8),
        metrics=metrics,
        provenance=provenance,
    )
    return write_table(out, contents)
