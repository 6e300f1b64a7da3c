"""Optimizer speed: each algorithm at EC-NAS's settings, and `ecnas compare` of all five with 3 seeds.

    .venv/bin/python benchmarks/bench_optimizers.py [--table T.h5] [--large] [--no-compare] [--seeds 3]

Table: ``--table``, else EC-NAS's real 5-vertex file imported into a temporary table (when the shared
reference data is present), else a synthetic 5-vertex table with budgets 4/12/36/108. ``--large`` also times
every algorithm on a synthetic table of the whole 7-vertex space (423,624 cells; ~10 s to build).

Baseline measured in the same run: the bare table cost of the same number of evaluations (one
``Benchmark.query`` per evaluation), so ``x baseline`` is the optimizer's own overhead factor.
Targets (issue): SEMOA 100 generations <= 2 s; random search 1,000 evaluations <= 0.2 s; MS-EHVI 110
evaluations <= 60 s; `ecnas compare` of all five, 3 seeds, <= 300 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ecnas.benchmark import Benchmark
from ecnas.optimizers import get_optimizer, optimizer_names
from ecnas.optimizers._problem import TableSpace
from ecnas.testing.optimizers import write_synthetic_table

ECNAS = str(Path(sys.executable).with_name("ecnas"))
TARGETS = {"semoa": 2.0, "rs": 0.2, "msehvi": 60.0}
REFERENCE = (
    Path(os.environ.get("ECNAS_REFERENCE_DIR", Path(__file__).resolve().parents[2] / "shared" / "data" / "reference"))
    / "ecnas_energy_5V9E_4epochs.tfrecord"
)


def default_table(tmp: Path) -> Path:
    if REFERENCE.is_file():
        path = tmp / "ecnas_5v.h5"
        subprocess.run(
            [ECNAS, "import", "ecnas", str(REFERENCE), "-o", str(path), "--no-progress"],
            check=True,
            capture_output=True,
        )
        return path
    return write_synthetic_table(tmp / "synthetic_5v.h5")


def baseline(bench: Benchmark, n: int) -> float:
    hashes = bench.sample(min(n, len(bench)), seed=0)
    start = time.perf_counter()
    for k in range(n):
        bench.query(hashes[k % len(hashes)])
    return time.perf_counter() - start


def time_algorithms(table: Path, seeds: int) -> None:
    with Benchmark(table) as bench:
        TableSpace(bench)  # read the cell structure into the Benchmark once, as a compare worker does
        print(f"table {table.name}: {len(bench):,} cells, budgets {list(bench.budgets)}")
        print(
            f"{'algorithm':10s} {'evals':>6s} {'median s':>9s} {'target s':>9s} {'x target':>9s} "
            f"{'baseline s':>10s} {'x baseline':>10s}"
        )
        for name in optimizer_names():
            times, evaluations = [], 0
            for seed in range(seeds):
                start = time.perf_counter()
                result = get_optimizer(name)(bench, seed=seed).run()
                times.append(time.perf_counter() - start)
                evaluations = len(result)
            median = statistics.median(times)
            base = baseline(bench, evaluations)
            target = TARGETS.get(name)
            print(
                f"{name:10s} {evaluations:6d} {median:9.3f} {target if target else '-':>9} "
                f"{median / target if target else float('nan'):9.3f} {base:10.4f} {median / base:10.1f}"
            )


def time_compare(table: Path, seeds: int, tmp: Path) -> None:
    command = [
        ECNAS,
        "compare",
        "--algorithms",
        *optimizer_names(),
        "--seeds",
        str(seeds),
        "--table",
        str(table),
        "--out",
        str(tmp / "compare"),
        "--jobs",
        "2",
        "--no-progress",
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    print(
        f"ecnas compare, {len(optimizer_names())} algorithms x {seeds} seeds, 2 jobs: {elapsed:.1f} s "
        f"(target 300 s, x target {elapsed / 300:.3f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", type=Path, default=None)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--large", action="store_true", help="also time a synthetic 7-vertex table")
    parser.add_argument("--no-compare", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        table = args.table or default_table(tmp)
        time_algorithms(table, args.seeds)
        if args.large:
            start = time.perf_counter()
            large = write_synthetic_table(tmp / "synthetic_7v.h5", max_vertices=7)
            print(f"\nbuilt synthetic 7-vertex table in {time.perf_counter() - start:.1f} s")
            time_algorithms(large, args.seeds)
        if not args.no_compare:
            print()
            time_compare(table, args.seeds, tmp)


if __name__ == "__main__":
    main()
