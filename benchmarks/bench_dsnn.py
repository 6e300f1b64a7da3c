"""DSNN MFMO speed: seconds per trial at each budget and the optimizer's share of the time, both optimizers.

    .venv/bin/python benchmarks/bench_dsnn.py [--trials 12] [--workers 1] [--full-tiny] [--out DIR]

By default a cut-down ``tiny`` profile (ResNet20 width 4, 300/100/100 digits, budgets 1 and 3 epochs, 0.2 s
inference window) so that the script finishes in a few minutes; ``--full-tiny`` uses the real ``tiny`` profile
(width 8, 1,077 training digits, budgets 1/3/9, 0.5 s window). Each optimizer runs ``--trials`` trials from a
fresh directory (plus one evaluation of the default), then the script prints, per optimizer:

- seconds per trial at each budget (mean of the trials' own wall time: training, evaluation, inference window);
- the share of the run's wall time spent choosing configurations (the optimizer) vs evaluating them.

``smac-parego-hb`` is skipped with a note when SMAC3 is not installed (``pip install 'ecnas[smac]'``).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import tempfile
import time
from pathlib import Path

CUT_DOWN = {
    "width": 4,
    "split_sizes": (300, 100, 100),
    "min_budget": 1,
    "max_budget": 3,
    "min_window_s": 0.2,
}


def bench(optimizer: str, out: Path, trials: int, workers: int, options: dict) -> None:
    from ecnas.dsnn import run

    start = time.perf_counter()
    result = run(
        out,
        profile="tiny",
        optimizer=optimizer,
        trials=trials,
        seed=0,
        workers=workers,
        default_repeats=1,
        profile_options=options,
        energy={"carbon_intensity": 445.0},
    )
    wall = time.perf_counter() - start
    search = result.search_trials()
    by_budget: dict[int, list[float]] = {}
    for trial in search:
        by_budget.setdefault(int(trial["budget"]), []).append(float(trial.get("seconds") or 0.0))
    evaluating = sum(float(t.get("seconds") or 0.0) for t in result.trials)
    print(f"\n{optimizer}: {len(search)} trials (+{len(result.trials) - len(search)} default) in {wall:.1f} s wall")
    for budget in sorted(by_budget):
        times = by_budget[budget]
        print(f"  budget {budget:2d} epochs: {statistics.mean(times):6.2f} s/trial over {len(times)} trials")
    print(
        f"  optimizer {result.optimizer_seconds:.2f} s = {100 * result.optimizer_seconds / wall:.1f} % of wall; "
        f"evaluations {evaluating:.1f} s of worker time ({100 * evaluating / (wall * workers):.1f} % of "
        f"{workers} worker(s) x wall); failed {sum(t.get('status') != 'ok' for t in search)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--full-tiny", action="store_true", help="the real tiny profile instead of the cut-down one")
    parser.add_argument("--out", type=Path, default=None, help="keep the run directories here")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    options = {} if args.full_tiny else dict(CUT_DOWN)
    root = args.out or Path(tempfile.mkdtemp(prefix="bench_dsnn_"))
    for optimizer in ("parego-hb", "smac-parego-hb"):
        if optimizer == "smac-parego-hb" and importlib.util.find_spec("smac") is None:
            print("\nsmac-parego-hb: skipped, SMAC3 is not installed (pip install 'ecnas[smac]')")
            continue
        workers = args.workers if optimizer == "parego-hb" else 1
        bench(optimizer, root / optimizer, args.trials, workers, options)
    print(f"\nrun directories: {root}")


if __name__ == "__main__":
    main()
