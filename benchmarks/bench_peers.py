"""ecnas's optimizers against the field's (SMAC3, Optuna, pymoo) on the default table and EC-NAS's measured 4V table.

Two protocols, one printed table (hypervolume as a fraction of the table's exact front, median and IQR over seeds):

- multi-fidelity at equal simulated energy: SMAC3's MultiFidelityFacade + ParEGO + Hyperband (``smac-parego-hb``)
  against ecnas's ``parego-hb``, each with its default run length; per seed both histories are cut at the smaller
  of the two energies spent (:meth:`ecnas.optimizers.Result.truncated`), so neither gets more energy;
- equal distinct top-budget evaluations: ``semoa``, ``shemoa`` (cut when its N-th distinct cell reaches the top
  budget; its lower-budget evaluations come on top), ``msehvi`` against ``smac-parego``, ``optuna-nsga2``,
  ``optuna-tpe``, ``pymoo-nsga2`` with N evaluations each (N = ``--evaluations``, at most a third of the table).

Seconds per run are wall-clock of the whole run (library start-up included), one process per run.
Tables: ``default`` (the embedded default table), ``4v`` (the embedded ``ecnas-4v``: EC-NAS's measured 4-vertex
table, see :mod:`ecnas.tables`), another embedded table name, or a table path.

    python benchmarks/bench_peers.py --seeds 2            # small default
    python benchmarks/bench_peers.py --seeds 10 --jobs 2  # the issue's protocol
    python benchmarks/bench_peers.py --seeds 10 --first-seed 100  # screening seeds, kept apart from 0-9

Development only: ``--cache DIR`` keeps each peer run (``smac-*``, ``optuna-*``, ``pymoo-*``) as JSON in DIR and
reuses it on the next invocation with the same table, algorithm and seed, so that tuning ecnas's optimizers does
not rerun the slow peers; the printed table then says how many runs came from the cache. Report figures from one
invocation without ``--cache``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np

#: Short table names of ``--tables`` and the embedded tables they stand for (:mod:`ecnas.tables`).
TABLES = {"default": None, "4v": "ecnas-4v"}
SINGLE = ["semoa", "shemoa", "msehvi", "smac-parego", "optuna-nsga2", "optuna-tpe", "pymoo-nsga2"]
MULTI = ["parego-hb", "smac-parego-hb"]
#: Outside libraries' runs, which ``--cache`` may reuse.
PEERS = {name for name in SINGLE + MULTI if name.split("-")[0] in ("smac", "optuna", "pymoo")}


def _worker_init(parent: int) -> None:
    """Pool workers end with this script (a killed benchmark leaves no runs behind)."""
    from ecnas._lifecycle import die_with_parent

    die_with_parent(parent)


def _run(task: tuple[str, str, int, int | None]) -> dict:
    from threadpoolctl import threadpool_limits

    from ecnas import Benchmark
    from ecnas.compare import algorithm_class

    table, name, seed, evaluations = task
    threadpool_limits(1)
    with Benchmark(TABLES.get(table, table)) as bench:
        started = time.perf_counter()
        kwargs = {} if evaluations is None or name == "shemoa" else {"max_evaluations": evaluations}
        result = algorithm_class(name)(bench, seed=seed, **kwargs).run()
        seconds = time.perf_counter() - started
    return {"table": table, "name": name, "seed": seed, "result": result.to_dict(), "seconds": seconds}


def _cache_file(cache: Path, task: tuple[str, str, int, int | None]) -> Path:
    table, name, seed, evaluations = task
    label = Path(table).stem if table not in TABLES else table
    return cache / f"{label}_{name}_seed{seed}_n{evaluations}.json"


def _cached_runs(cache: Path | None, tasks: list) -> tuple[list[dict], list]:
    """Peer runs found in ``cache`` (development only) and the tasks still to run."""
    found, todo = [], []
    for task in tasks:
        path = None if cache is None or task[1] not in PEERS else _cache_file(cache, task)
        if path is not None and path.is_file():
            found.append({**json.loads(path.read_text(encoding="utf-8")), "cached": True})
        else:
            todo.append(task)
    return found, todo


def _store(cache: Path | None, task: tuple, out: dict) -> None:
    if cache is not None and out["name"] in PEERS:
        from ecnas._io import atomic_write_text

        cache.mkdir(parents=True, exist_ok=True)
        atomic_write_text(_cache_file(cache, task), json.dumps(out))


def _first_top(result, n: int):
    """``result`` cut right after its n-th distinct top-budget cell."""
    seen: set[str] = set()
    for i, (key, budget) in enumerate(zip(result.history["hash"], result.history["budget"], strict=True)):
        if budget == result.budget:
            seen.add(key)
            if len(seen) == n:
                return result.truncated(max_evaluations=i + 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="seeds per algorithm (the issue's protocol: 10)")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="first seed (the reported figures use 0; screen changes on 100+)"
    )
    parser.add_argument("--evaluations", type=int, default=100, help="distinct top-budget evaluations (single)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--tables", default="default,4v", help="comma-separated: default, 4v, or table paths")
    parser.add_argument("--skip-single", action="store_true", help="only the multi-fidelity comparison")
    parser.add_argument("--skip-multi", action="store_true", help="only the equal-evaluations comparison")
    parser.add_argument(
        "--algorithms", default=None, help="comma-separated subset of the equal-evaluations algorithms (default: all)"
    )
    parser.add_argument("--cache", type=Path, default=None, help="development only: reuse peer runs kept in DIR")
    args = parser.parse_args()
    single = SINGLE if args.algorithms is None else [name for name in args.algorithms.split(",") if name]
    unknown = sorted(set(single) - set(SINGLE))
    if unknown:
        parser.error(f"--algorithms: unknown {unknown}; choose from {SINGLE}")

    from ecnas import Benchmark, indicators
    from ecnas.optimizers import Result, reference_point

    tables = [name for name in args.tables.split(",") if name]
    seeds = range(args.first_seed, args.first_seed + args.seeds)

    tasks = []
    limits = {}
    for table in tables:
        with Benchmark(TABLES.get(table, table)) as bench:
            limits[table] = min(args.evaluations, len(bench) // 3)
        for seed in seeds:
            if not args.skip_multi:
                tasks += [(table, name, seed, None) for name in MULTI]
            if not args.skip_single:
                tasks += [(table, name, seed, limits[table]) for name in single]
    outputs, tasks = _cached_runs(args.cache, tasks)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=args.jobs, mp_context=context, initializer=_worker_init, initargs=(os.getpid(),)
    ) as pool:
        for task, out in zip(tasks, pool.map(_run, tasks), strict=True):
            print(f"done {out['table']} {out['name']} seed {out['seed']}: {out['seconds']:.1f} s", flush=True)
            _store(args.cache, task, out)
            outputs.append(out)

    rows = []
    for table in tables:
        with Benchmark(TABLES.get(table, table)) as bench:
            ref = reference_point(bench)
            true_hv = indicators.hypervolume(bench.pareto_front()["F"], ref)
            label = TABLES.get(table) or Path(table).stem
        runs = {}
        for out in outputs:
            if out["table"] == table:
                runs.setdefault(out["name"], []).append((Result.from_dict(out["result"]), out["seconds"]))
        # multi-fidelity at equal energy, per seed
        fractions: dict[str, list[float]] = {name: [] for name in MULTI}
        energies: dict[str, list[float]] = {name: [] for name in MULTI}
        cut_tops: dict[str, list[int]] = {name: [] for name in MULTI}
        for seed in [] if args.skip_multi else seeds:
            pair = {name: next(r for r, _ in runs[name] if r.seed == seed) for name in MULTI}
            energy = min(r.search_cost["energy_kwh"] for r in pair.values())
            for name, result in pair.items():
                cut = result.truncated(max_energy=energy)
                fractions[name].append(cut.hypervolume(ref) / true_hv)
                energies[name].append(cut.search_cost["energy_kwh"])
                cut_tops[name].append(cut.top_budget_evaluations)
        for name in [] if args.skip_multi else MULTI:
            seconds = [s for _, s in runs[name]]
            stops = sorted({r.stop_reason for r, _ in runs[name]})  # of the full runs, before the cut
            rows.append(
                (
                    label,
                    "equal energy",
                    name,
                    fractions[name],
                    np.median(energies[name]),
                    seconds,
                    cut_tops[name],
                    stops,
                )
            )
        for name in [] if args.skip_single else single:
            cut = [_first_top(r, limits[table]) for r, _ in runs[name]]
            values = [r.hypervolume(ref) / true_hv for r in cut]
            energy = float(np.median([r.search_cost["energy_kwh"] for r in cut]))
            seconds = [s for _, s in runs[name]]
            tops = [r.top_budget_evaluations for r in cut]
            stops = sorted({r.stop_reason for r, _ in runs[name]})
            rows.append((label, f"{limits[table]} distinct evals", name, values, energy, seconds, tops, stops))

    print(
        f"\n{args.seeds} seed(s) from {args.first_seed}; "
        "HV fraction = hypervolume / the exact front's (same reference point)"
    )
    cached = sum(out.get("cached", False) for out in outputs)
    if cached:
        print(f"DEVELOPMENT FIGURES: {cached} peer run(s) read from the cache {args.cache}, not run now")
    print()
    header = (
        "| table | protocol | algorithm | HV fraction median | IQR | energy kWh (median) | s/run | top evals | stop |"
    )
    print(header)
    print("|" + "---|" * 9)
    for label, protocol, name, values, energy, seconds, tops, stops in rows:
        q1, q3 = np.percentile(values, [25, 75])
        print(
            f"| {label} | {protocol} | {name} | {np.median(values):.4f} | {q1:.4f}–{q3:.4f} | {energy:.4g} | "
            f"{np.median(seconds):.1f} | {np.median(tops):.0f} | {','.join(stops)} |"
        )


if __name__ == "__main__":
    main()
