"""The measure stage: train every planned cell of one shard under an energy meter, durably.

Resumable: cells already complete in any record file of the build directory are skipped; a cell cut
short (killed process) is measured again under a new ``attempt`` token and the first complete attempt
wins when records are read. Each (cell, repeat) trains with ``derive_seed(plan.seed, hash, repeat)``,
so every sharding of a plan yields the same records except for times and energy.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import platform
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecnas._lifecycle import stop_requested
from ecnas.build.plan import BuildPlan, read_plan
from ecnas.build.profiles import Profile, get_profile
from ecnas.build.records import RecordWriter, load_records, shard_file_name

__all__ = [
    "MeasureSummary",
    "describe_software",
    "done_hashes",
    "measure_shard",
    "refuse_shared_node",
    "resolve_device",
]

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class MeasureSummary:
    """What one call of :func:`measure_shard` did."""

    shard: tuple[int, int]
    planned: int
    already_done: int
    measured: int
    seconds: float

    @property
    def cells_per_second(self) -> float:
        """Cells measured per wall-clock second in this call."""
        return self.measured / self.seconds if self.seconds > 0 else 0.0


def describe_software() -> dict[str, str]:
    """Versions of Python and of the libraries a build depends on."""
    import numpy
    import sklearn
    import torch

    import ecnas

    return {
        "ecnas": ecnas.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "scikit-learn": sklearn.__version__,
    }


def resolve_device(profile: Profile) -> Any:
    """The torch device of ``profile`` (``auto`` → CUDA when available, else CPU)."""
    import torch

    if profile.device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("profile option device='cuda' but torch sees no CUDA device; use device='auto' or 'cpu'.")
    if profile.device == "cuda" or (profile.device == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def done_hashes(workdir: str | os.PathLike[str], plan: BuildPlan) -> set[str]:
    """Hashes whose records are complete in any record file of the build directory."""
    options = plan.profile_options
    budgets = options.get("budgets")
    repeats = options.get("repeats")
    directory = Path(workdir)
    if not any(directory.glob("records*.jsonl")):
        return set()
    return {r["hash"] for r in load_records(directory, budgets=budgets, repeats=repeats)}


def _hardware(device: Any, threads: int) -> dict[str, Any]:
    from ecnas.energy import describe_hardware

    info = describe_hardware(probe_gpus=device.type == "cuda")
    info.update(device=str(device), torch_threads=threads)
    return info


def refuse_shared_node(description: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> None:
    """Refuse RAPL measurements in a Slurm job that got only part of its node.

    RAPL reads the whole CPU package: every other job Slurm places on the node's remaining CPUs would be
    counted in this job's energy. GPUs are safe (NVML readings follow ``CUDA_VISIBLE_DEVICES``, which
    Slurm sets per job), and so is the per-process CPU-time estimate. Slurm may count fewer CPUs than
    the kernel on a node it gives whole (cores reserved for the system): ``ECNAS_ALLOW_SHARED_NODE=1``
    then lets the measurement run.

    Raises:
        ValueError: the meter reads RAPL and the job holds fewer CPUs than the node has.
    """
    environ = os.environ if environ is None else environ
    if environ.get("ECNAS_ALLOW_SHARED_NODE") == "1":
        return
    allocated = environ.get("SLURM_CPUS_ON_NODE", "") if "SLURM_JOB_ID" in environ else ""
    node_cpus = os.cpu_count() or 0
    if not description.get("rapl_zones") or not allocated.isdigit() or int(allocated) >= node_cpus:
        return
    raise ValueError(
        f"the energy meter reads RAPL ({', '.join(description['rapl_zones'])}), which counts the whole CPU "
        f"package, but Slurm gave job {environ['SLURM_JOB_ID']} only {allocated} of this node's {node_cpus} "
        "CPUs: other jobs on the node would be measured too. Request whole nodes (#SBATCH --exclusive), or "
        "measure without RAPL (energy.rapl_dir pointing to an empty folder gives the CPU-time estimate); if the "
        "node is yours alone (Slurm reserves some cores), set ECNAS_ALLOW_SHARED_NODE=1."
    )


def measure_shard(
    workdir: str | os.PathLike[str],
    *,
    shard: tuple[int, int] = (0, 1),
    threads: int | None = 1,
    meter: Any = None,
    limit: int | None = None,
    progress: bool = True,
) -> MeasureSummary:
    """Measure the not-yet-complete cells of one shard of the plan in ``workdir``.

    Args:
        workdir: build directory holding ``plan.json``.
        shard: ``(i, N)``: this process measures the plan's cells ``i, i+N, …``.
        threads: torch intra-op threads (None leaves torch's default).
        meter: energy meter; default ``ecnas.energy.meter_from_settings(**plan.energy)`` (the recipe's
            ``meter = "auto" | NAME`` and its settings).
        limit: stop after measuring this many cells (None = all).
        progress: show a progress bar.

    Returns:
        A summary of what was done.
    """
    import torch
    from tqdm.auto import tqdm

    from ecnas.build.train import TensorData, derive_seed, train_cell

    index, count = shard
    plan = read_plan(workdir)
    profile = get_profile(plan.profile, plan.profile_options)
    positions = plan.shard_indices(index, count)
    done = done_hashes(workdir, plan)
    todo = [i for i in positions if plan.hashes[i] not in done]
    already = len(positions) - len(todo)
    if limit is not None:
        todo = todo[: max(0, int(limit))]
    start = time.perf_counter()
    if not todo:
        return MeasureSummary(shard, len(positions), already, 0, 0.0)
    if threads is not None:
        torch.set_num_threads(int(threads))
    device = resolve_device(profile)
    if meter is None:
        from ecnas.energy import meter_from_settings

        meter = meter_from_settings(**plan.energy)
        refuse_shared_node(meter.describe())
    splits = profile.load_data()
    data = TensorData.from_splits(splits, device, profile.train_eval_size)
    common = {
        "profile": plan.profile,
        "dataset": splits.description,
        "profile_options": profile.options(),
        "hardware": _hardware(device, torch.get_num_threads()),
        "software": describe_software(),
    }
    measured = 0
    bar = tqdm(
        total=len(positions),
        initial=already,
        disable=not progress,
        desc=f"measure {index}/{count}",
        unit="cell",
        dynamic_ncols=True,
    )
    with RecordWriter(Path(workdir) / shard_file_name(index, count)) as writer:
        space = plan.search_space()
        for position in todo:
            if stop_requested():  # SIGTERM: the cell in flight was appended; the next launch resumes here
                _LOG.warning("stopped by SIGTERM after %d cell(s) of shard %d/%d", measured, index, count)
                break
            spec = plan.cell(position, space)
            described = space.config_to_json(spec)
            attempt = uuid.uuid4().hex
            records = []
            for repeat in range(profile.repeats):
                seed = derive_seed(plan.seed, plan.hashes[position], repeat)
                params, results = train_cell(spec, profile, data, seed=seed, meter=meter, device=device)
                created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")
                for result in results:
                    records.append(
                        {
                            "hash": plan.hashes[position],
                            "space": plan.space,
                            "repeat": repeat,
                            **described,
                            "trainable_parameters": params,
                            **result,
                            "seed": seed,
                            **common,
                            "created": created,
                            "attempt": attempt,
                        }
                    )
            writer.append(records)
            measured += 1
            bar.update(1)
    bar.close()
    return MeasureSummary(shard, len(positions), already, measured, time.perf_counter() - start)
