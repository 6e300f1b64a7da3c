"""Speed (and sample-size stability) of ecnas.importance.

- table sample: seconds to sample ``--samples`` rows of a table, encode them, and run fANOVA on each of the two
  EC-NAS objectives (individual + pairs); the baseline, timed in the same run on the same rows, is optuna's
  public ``FanovaImportanceEvaluator`` on an equivalent study (individual importances only, one-hot
  categoricals);
- 500-trial history: seconds to analyse a random-search run of ``--trials`` evaluations
  (``from_result`` + per-objective fANOVA + an 11-point weight grid + the Pareto weightings);
- ``--stability``: the importances-vs-sample-size curve that fixed ``ecnas.importance.DEFAULT_SAMPLES``.

Run: ``.venv/bin/python benchmarks/bench_importance.py [--table T] [--samples 1000] [--trials 500] [--stability]``
(defaults use the embedded default table; ``--quick`` shrinks every size).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ecnas import importance
from ecnas.benchmark import Benchmark


def optuna_baseline(data: importance.ImportanceData, k: int, n_trees: int, seed: int) -> float:
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    design = data.design
    distributions = {}
    for name, choices, kind, bound in zip(design.names, design.choices, design.kinds, design.bounds, strict=True):
        if choices is not None:
            distributions[name] = CategoricalDistribution(list(range(len(choices))))
        else:
            distributions[name] = FloatDistribution(float(bound[0]), float(bound[1]))
        del kind
    trials = [
        optuna.trial.create_trial(
            params={
                name: (int(x) if design.choices[j] is not None else float(x))
                for j, (name, x) in enumerate(zip(design.names, row, strict=True))
            },
            distributions=distributions,
            value=float(data.F[i, k]),
        )
        for i, row in enumerate(design.X)
    ]
    study = optuna.create_study()
    study.add_trials(trials)
    started = time.perf_counter()
    get_param_importances(study, evaluator=FanovaImportanceEvaluator(n_trees=n_trees, seed=seed))
    return time.perf_counter() - started


def bench_table(table: str | None, samples: int, n_trees: int) -> None:
    bench = Benchmark(table)
    importance._imports.optuna_fanova()  # import optuna before timing
    started = time.perf_counter()
    data = importance.from_table(bench, samples=samples, seed=0)
    loaded = time.perf_counter() - started
    print(
        f"table {bench.path.name}: {data.design.n} rows x {len(data.design.names)} inputs, load+encode {loaded:.2f} s"
    )
    for k, name in enumerate(data.objectives):
        started = time.perf_counter()
        importance.fanova(data.design, data.F[:, k], n_trees=n_trees, top_pairs=5, seed=0)
        ours = time.perf_counter() - started
        baseline = optuna_baseline(data, k, n_trees, 0)
        print(
            f"  fANOVA {name}: ecnas {ours:.2f} s (individual + 10 pairs) vs optuna evaluator {baseline:.2f} s "
            f"(individual only, one-hot) -> ratio {ours / baseline:.2f}"
        )


def bench_history(table: str | None, trials: int, n_trees: int) -> None:
    from ecnas.optimizers import run

    bench = Benchmark(table)
    result = run("rs", bench, seed=0, max_evaluations=trials)
    started = time.perf_counter()
    data = importance.from_result(result, bench)
    report = importance.analyse(data, weights=11, pareto=True, n_trees=n_trees, seed=0)
    elapsed = time.perf_counter() - started
    forests = (
        len(report.per_objective) + len(report.grid.results) + (len(report.pareto.results) if report.pareto else 0)
    )
    print(
        f"history of {len(result)} random-search trials: {elapsed:.2f} s for {forests} forests "
        f"(2 objectives + 11 weights + {forests - 13} Pareto weightings), {elapsed / forests:.2f} s per forest"
    )


def bench_stability(table: str | None, sizes: list[int], repeats: int, n_trees: int) -> None:
    curve = importance.stability_curve(table, sizes=sizes, repeats=repeats, n_trees=n_trees, progress=True)
    print(f"stability over {repeats} re-samples per size (importance = fraction of variance):")
    print(
        f"{'rows':>6s} {'s/forest':>9s} "
        + " ".join(f"{o + ' sd':>22s} {o + ' |diff|':>22s}" for o in curve["objectives"])
    )
    for i, size in enumerate(curve["sizes"]):
        cells = " ".join(
            f"{curve['seed_sd'][o][i]:22.4f} {curve['max_abs_diff'][o][i]:22.4f}" for o in curve["objectives"]
        )
        print(f"{size:6d} {curve['seconds'][i]:9.2f} {cells}")
    for o in curve["objectives"]:
        top = np.argsort(-curve["importances"][o][-1].mean(axis=0))[:3]
        print(f"  top at {sizes[-1]} rows for {o}: " + ", ".join(curve["names"][j] for j in top))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", default=None)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--trees", type=int, default=importance.DEFAULT_TREES)
    parser.add_argument("--stability", action="store_true")
    parser.add_argument("--sizes", default="250,500,1000,2000,4000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.samples, args.trials, args.trees, args.sizes = 200, 100, 8, "100,200"
    bench_table(args.table, args.samples, args.trees)
    bench_history(args.table, args.trials, args.trees)
    if args.stability:
        bench_stability(args.table, [int(s) for s in args.sizes.split(",")], args.repeats, args.trees)


if __name__ == "__main__":
    main()
