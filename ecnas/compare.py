"""Compare optimizers over seeds on one table: parallel runs, saved results, a Table-2 summary and figures.

What EC-NAS's Section 4 reports (Figure 2, Table 2), for any table and any registered optimizers:

- every (algorithm, seed) runs in its own process (``concurrent.futures.ProcessPoolExecutor``, spawn) and
  is saved as JSON, atomically, in ``OUT/runs/ALGORITHM/seedN.json`` (no pickle);
- the hypervolume reference point is fixed per table (:func:`ecnas.optimizers.reference_point`: errors at
  1.0, other objectives at 1.1 × their maximum over the table) and recorded in ``comparison.json``;
- ``summary.md`` / ``summary.csv``: for each algorithm, the two extremes ``r0`` (best objective 0), ``r1``
  (best objective 1) and the knee of each run's front, mean ± std over seeds of |θ| (M), T (s), P_v and
  E (kWh); plus the hypervolume, front size and simulated search cost per algorithm;
- figures: attainment curves, one run's front with extremes and knee, a radar plot of the extremes and
  knee, hypervolume against evaluations and against simulated energy.

The summary, CSVs, figures and ``comparison.json`` are written by :mod:`ecnas.comparison_report`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import multiprocessing
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ecnas import indicators
from ecnas._io import jsonable
from ecnas._validation import check_int
from ecnas.comparison_report import (
    COLUMNS,
    FIGURES,
    MODELS,
    Comparison,
    load_comparison,
    reported_sources,
    run_models,
    summarise,
    summary_markdown,
    write_figures,
    write_outputs,
)
from ecnas.optimizers import Result, check_objectives, get_optimizer, optimizer_names, reference_point

__all__ = [
    "COLUMNS",
    "FIGURES",
    "MODELS",
    "Comparison",
    "algorithm_class",
    "compare",
    "load_comparison",
    "reported_sources",
    "run_models",
    "summarise",
    "summary_markdown",
    "write_figures",
]


# ------------------------------------------------------------------------------------------ running
def _limit_threads(parent: int | None = None) -> None:
    """Worker initialiser: one BLAS/OpenMP thread per process (the runs are the parallelism); die with the parent."""
    from ecnas._lifecycle import die_with_parent, install_stop_handler

    install_stop_handler(graceful=False)
    die_with_parent(parent)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass


def algorithm_class(name: str) -> Any:
    """The class behind an algorithm name: an ecnas optimizer, or a peer (:mod:`ecnas.peers`).

    Raises:
        ValueError: unknown name; the message lists ecnas's optimizers and the peers.
    """
    from ecnas.peers import get_peer, peer_names

    if name in optimizer_names():
        return get_optimizer(name)
    if name in peer_names():
        return get_peer(name)
    raise ValueError(f"unknown optimizer {name!r}; valid names are {optimizer_names()} and peers {peer_names()}")


def _run_task(task: dict[str, Any]) -> str:
    """Run one (algorithm, seed) and save it; top-level so that spawned workers can import it."""
    from ecnas._lifecycle import Stopped

    try:
        return _run_one(task)
    except Stopped:  # SIGTERM or the parent died: the task has unwound (temporary files removed); leave now
        os._exit(128 + signal.SIGTERM)


def _run_one(task: dict[str, Any]) -> str:
    import importlib

    from ecnas.benchmark import Benchmark

    if task.get("module"):  # a plug-in optimizer registers itself when its module is imported (spawned workers)
        importlib.import_module(task["module"])
    energy = {} if task.get("max_energy") is None else {"max_energy": task["max_energy"]}
    with Benchmark(task["table"], view=task.get("view", "measured")) as bench:
        optimizer = algorithm_class(task["algorithm"])(
            bench,
            seed=task["seed"],
            max_evaluations=task["max_evaluations"],
            budget=task["budget"],
            objectives=task["objectives"],
            **energy,
            **task["options"],
        )
        result = optimizer.run()
    result.save(task["path"])
    return task["path"]


def _reusable(path: Path, task: Mapping[str, Any]) -> Result | None:
    """A saved run matching ``task`` (for ``resume``), else None."""
    try:
        result = Result.load(path)
    except (OSError, ValueError):
        return None
    same = (
        result.algorithm == task["algorithm"]
        and result.seed == task["seed"]
        and result.budget == task["budget"]
        and list(result.objectives) == list(task["objectives"])
        and Path(result.table.get("path", "")).resolve() == Path(task["table"]).resolve()
        and result.table.get("created") == task["table_created"]
        and result.view == task.get("view", "measured")
        # every setting, defaults included: a run made with other options is never reused
        and json.loads(json.dumps(jsonable(result.settings))) == json.loads(json.dumps(jsonable(task["settings"])))
    )
    return result if same else None


def _check_algorithms(algorithms: Sequence[str]) -> list[str]:
    if isinstance(algorithms, str):
        algorithms = [algorithms]
    names = [str(a) for a in algorithms]
    if not names:
        raise ValueError(f"algorithms must name at least one optimizer; valid names are {optimizer_names()}")
    for name in names:
        algorithm_class(name)  # raises with the valid names
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"algorithms lists {duplicates} more than once")
    return names


def compare(
    algorithms: Sequence[str],
    *,
    seeds: int | Sequence[int] = 10,
    table: str | os.PathLike[str] | None = None,
    budget: int | None = None,
    max_evaluations: int | None = None,
    max_energy: float | None = None,
    objectives: Sequence[str] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    out: str | os.PathLike[str] = "compare-out",
    jobs: int | None = None,
    resume: bool = False,
    progress: bool = False,
    plots: bool = True,
    echo: Callable[[str], None] | None = None,
    view: str = "measured",
) -> Comparison:
    """Run ``algorithms`` × ``seeds`` on a table in parallel processes; save, summarise and plot.

    Args:
        algorithms: registry names, e.g. ``["semoa", "shemoa", "msehvi", "rs", "parego-hb"]``, or peers
            (:func:`ecnas.peers.peer_names`, e.g. ``"smac-parego-hb"``; need ``pip install 'ecnas[peers]'``).
        seeds: number of seeds (``0 … seeds-1``) or explicit seeds.
        table: an ecnas table; None = the embedded default table.
        budget: epochs of the reported fronts (top budget of multi-fidelity algorithms); None = the largest.
        max_evaluations: table queries per run for every algorithm; None = each algorithm's default. For an
            equal-cost comparison of single-fidelity methods, give every one the same number: each makes that many
            distinct top-budget evaluations (unless it stops early, which the summary reports).
        max_energy: simulated kWh every run may spend (the equal-cost protocol of multi-fidelity methods); a run
            stops at the first ask after spending it. None = no energy limit.
        objectives: two minimised objectives; None = ``("validation_error", "energy_kwh")``.
        options: algorithm name → options for its constructor (e.g. ``{"semoa": {"population_size": 20}}``).
        out: output directory (created).
        jobs: worker processes; None = ``min(2, cpu count)``; 1 runs in this process.
        resume: reuse saved runs whose settings match instead of running them again.
        progress: show a tqdm progress bar.
        plots: write the figures.
        echo: called with a line per saved file (e.g. ``click.echo``); None is silent.
        view: which values every run evaluates and the true front is computed on: ``"measured"`` (the table as
            stored) or ``"surrogate"`` (every cell by the surrogate, measured ones out-of-fold; needs a table with
            surrogate values). Recorded in the results, ``comparison.json``, the summary and the figure titles.

    Returns:
        The :class:`Comparison`.

    Raises:
        ValueError: an argument is invalid (the message names it and the valid values).
    """
    from ecnas.benchmark import Benchmark

    names = _check_algorithms(algorithms)
    seed_list = _check_seeds(seeds)
    objective_names = check_objectives(objectives)
    if len(objective_names) != 2:
        raise ValueError(f"compare needs exactly two objectives (attainment curves, knee), got {list(objective_names)}")
    if jobs is None:
        jobs = min(2, os.cpu_count() or 1)
    jobs = check_int("jobs", jobs)
    if max_evaluations is not None and (
        isinstance(max_evaluations, bool) or not isinstance(max_evaluations, int) or max_evaluations < 1
    ):
        raise ValueError(f"max_evaluations must be an int >= 1 or None, got {max_evaluations!r}")
    options = {name: dict(opts) for name, opts in (options or {}).items()}
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise ValueError(f"options given for {unknown}, which are not among the compared algorithms {names}")
    with Benchmark(table, view=view) as bench:
        budget = bench.check_budget(budget)
        expected_settings = {}
        for name in names:  # fail on bad options before launching anything
            probe = algorithm_class(name)(
                bench,
                seed=0,
                max_evaluations=max_evaluations,
                budget=budget,
                objectives=objective_names,
                **({} if max_energy is None else {"max_energy": max_energy}),
                **options.get(name, {}),
            )
            expected_settings[name] = probe.settings()
        ref = reference_point(bench, objective_names, budget)
        true_front = bench.pareto_front(objective_names, budget)["F"]
        true_front_info = {"hypervolume": indicators.hypervolume(true_front, ref), "size": len(true_front)}
        table_info = {
            "path": str(bench.path.resolve()),
            "name": bench.path.name,
            "num_cells": len(bench),
            "budgets": list(bench.budgets),
            "provenance": bench.info().get("summary"),
            "created": bench.info()["provenance"].get("created"),
            "view": view,
        }
    out = Path(out)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    tasks = []
    for name in names:
        for seed in seed_list:
            tasks.append(
                {
                    "algorithm": name,
                    "seed": seed,
                    "table": table_info["path"],
                    "budget": int(budget),
                    "max_evaluations": max_evaluations,
                    "max_energy": max_energy,
                    "objectives": list(objective_names),
                    "options": options.get(name, {}),
                    "settings": expected_settings[name],
                    "table_created": table_info["created"],
                    "view": view,
                    "path": str(out / "runs" / name / f"seed{seed}.json"),
                    "module": algorithm_class(name).__module__,
                }
            )
    loaded: dict[tuple[str, int], Result] = {}
    pending = []
    for task in tasks:
        reused = _reusable(Path(task["path"]), task) if resume else None
        if reused is not None:
            loaded[(task["algorithm"], task["seed"])] = reused
        else:
            pending.append(task)
    try:
        _execute(pending, jobs, progress)
    except BaseException:
        if created:  # nothing of this call is worth keeping without its runs' folder
            _remove_partial(out, set(), created=True)
        raise
    for task in pending:
        loaded[(task["algorithm"], task["seed"])] = Result.load(task["path"])
    results = {name: [loaded[(name, seed)] for seed in seed_list] for name in names}
    with Benchmark(table_info["path"], view=view) as bench:
        sources = reported_sources(bench, results, budget)
    config = {
        "view": view,
        "algorithms": names,
        "seeds": seed_list,
        "table": table_info,
        "budget": int(budget),
        "objectives": list(objective_names),
        "ref_point": ref,
        "true_front": true_front_info,
        "max_evaluations": max_evaluations,
        "max_energy": max_energy,
        "options": options,
        "jobs": jobs,
    }
    summary = summarise(results, ref, true_front_info["hypervolume"], sources=sources)
    comparison = Comparison(out=out, config=config, results=results, summary=summary)
    before = {path.name for path in out.iterdir()}
    try:
        write_outputs(comparison, plots)
    except BaseException:
        _remove_partial(out, before, created=created)
        raise
    if echo is not None:
        for path in comparison.files.values():
            echo(f"wrote {path}")
    return comparison


def _remove_partial(out: Path, before: set[str], *, created: bool) -> None:
    """After a failed write: remove the folder this call created, else the top-level files it added."""
    import shutil

    if created:
        shutil.rmtree(out, ignore_errors=True)
        return
    for path in out.iterdir():
        if path.name not in before and path.is_file():
            path.unlink(missing_ok=True)


def _check_seeds(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, bool):
        raise ValueError(f"seeds must be an int >= 1 or a list of ints >= 0, got {seeds!r}")
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1 (the number of seeds per algorithm), got {seeds}")
        return list(range(int(seeds)))
    seed_list = [int(s) for s in seeds]
    if not seed_list or any(s < 0 for s in seed_list) or len(set(seed_list)) != len(seed_list):
        raise ValueError(f"seeds must be distinct ints >= 0, got {list(seeds)}")
    return seed_list


def _stop_workers(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """SIGTERM every worker of ``pool`` (each unwinds its run) and cancel what has not started."""
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=10)


def _execute(tasks: list[dict[str, Any]], jobs: int, progress: bool) -> None:
    from tqdm.auto import tqdm

    from ecnas._lifecycle import sigterm_interrupts

    bar = tqdm(total=len(tasks), desc="runs", unit="run", disable=not progress or not tasks)
    stack = contextlib.ExitStack()
    stack.enter_context(sigterm_interrupts())  # SIGTERM stops like Ctrl-C: workers told, temp files removed
    try:
        if jobs == 1 or len(tasks) <= 1:
            for task in tasks:
                bar.set_postfix_str(f"{task['algorithm']} seed {task['seed']}")
                _run_task(task)
                bar.update()
            return
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(
            max_workers=min(jobs, len(tasks)),
            mp_context=context,
            initializer=_limit_threads,
            initargs=(os.getpid(),),
        ) as pool:
            try:
                futures = {pool.submit(_run_task, task): task for task in tasks}
                for future in concurrent.futures.as_completed(futures):
                    task = futures[future]
                    future.result()  # re-raise a worker's error here
                    bar.set_postfix_str(f"{task['algorithm']} seed {task['seed']}")
                    bar.update()
            except BaseException:  # Ctrl-C, SIGTERM, a failed run: stop the other runs instead of waiting
                _stop_workers(pool)
                raise
    finally:
        bar.close()
        stack.close()
