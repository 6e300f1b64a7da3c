"""Builder throughput, tiny profile: cells/s per worker (one process, one torch thread).

Baseline (same run, same cells): the bare training + evaluation of each cell (``train_cell`` with a
no-op meter, nothing written). Builder: ``measure_shard`` on a plan of the same cells — energy meter,
record assembly, durable appends (one write + fsync per cell). The ratio shows the builder's overhead.
Cells are drawn with ``default_rng(seed)`` from the 7-vertex space (the default table's space).

    .venv/bin/python benchmarks/bench_build.py [--cells 12] [--seed 0]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


class _NullReading:
    energy_kwh = 0.0

    def as_dict(self) -> dict:
        return {}


class _NullMeter:
    @contextlib.contextmanager
    def measure(self):
        yield _NullReading()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from ecnas.build.measure import measure_shard
    from ecnas.build.plan import BuildPlan, write_plan
    from ecnas.build.profiles import get_profile
    from ecnas.build.train import TensorData, derive_seed, train_cell
    from ecnas.space import enumerate_space

    space = enumerate_space(7)
    picks = np.sort(np.random.default_rng(args.seed).choice(len(space), args.cells + 1, replace=False))
    cells = [space.cell(int(i)) for i in picks]
    warm, cells = cells[0], cells[1:]
    profile = get_profile("tiny")
    device = torch.device("cpu")
    data = TensorData.from_splits(profile.load_data(), device, profile.train_eval_size)
    train_cell(warm, profile, data, seed=0, meter=_NullMeter(), device=device)  # one-off kernel warm-up

    wall0, cpu0 = time.perf_counter(), time.process_time()
    for cell in cells:
        train_cell(cell, profile, data, seed=derive_seed(args.seed, cell.hash, 0), meter=_NullMeter(), device=device)
    base_wall, base_cpu = time.perf_counter() - wall0, time.process_time() - cpu0

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        write_plan(
            workdir,
            BuildPlan(
                profile="tiny",
                profile_options=profile.options(),
                seed=args.seed,
                max_vertices=7,
                sample_fraction=None,
                space_size=len(space),
                hashes=[c.hash for c in cells],
                configs=[{"matrix": c.matrix.astype(int).tolist(), "ops": list(c.ops)} for c in cells],
            ),
        )
        # warm the meter and data path once, outside the timing
        wall0, cpu0 = time.perf_counter(), time.process_time()
        summary = measure_shard(workdir, threads=1, progress=False)
        build_wall, build_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    n = len(cells)
    load = os.getloadavg()[0]
    print(
        f"tiny profile, {n} cells of the 7-vertex space, 1 worker x 1 thread, {os.cpu_count()} CPUs, "
        f"load average {load:.1f}"
    )
    print(f"  baseline (bare train+eval): {n / base_wall:6.3f} cells/s wall, {base_cpu / n:6.3f} CPU s/cell")
    print(
        f"  builder  (meter+records)  : {summary.measured / build_wall:6.3f} cells/s wall, "
        f"{build_cpu / n:6.3f} CPU s/cell (incl. data load + meter setup)"
    )
    print(f"  ratio builder/baseline CPU per cell: {build_cpu / base_cpu:5.2f}x")
    print(f"  projected 4,236-cell build on 2 idle cores: {4236 * build_cpu / n / 2 / 60:5.1f} min")


if __name__ == "__main__":
    main()
