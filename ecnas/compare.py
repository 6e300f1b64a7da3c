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
"""

from __future__ import annotations

import concurrent.futures
import csv
import json
import math
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecnas import indicators
from ecnas._io import atomic_path, atomic_write_text, jsonable
from ecnas._validation import check_int
from ecnas.optimizers import Result, check_objectives, get_optimizer, optimizer_names, reference_point

__all__ = ["MODELS", "Comparison", "compare", "load_comparison", "summarise", "write_figures"]

#: The three architectures Table 2 reports per run: both extremes and the knee of the front.
MODELS: tuple[tuple[str, str], ...] = (
    ("r0", "A_r0 (best objective 0)"),
    ("r1", "A_r1 (best objective 1)"),
    ("knee", "A_rk (knee)"),
)
#: Table-2 columns: (key, header, history column, scale, format).
COLUMNS: tuple[tuple[str, str, str, float, str], ...] = (
    ("params_m", "|θ| (M)", "trainable_parameters", 1e-6, ".2f"),
    ("time_s", "T (s)", "training_time", 1.0, ".1f"),
    ("p_v", "P_v", "validation_accuracy", 1.0, ".3f"),
    ("energy_kwh", "E (kWh)", "energy_kwh", 1.0, "sig"),
)
FIGURES = ("attainment.png", "front.png", "radar.png", "hypervolume_evaluations.png", "hypervolume_energy.png")


@dataclass
class Comparison:
    """Results and summary of :func:`compare`.

    Attributes:
        out: output directory.
        config: what was run (algorithms, seeds, table, budget, objectives, reference point, ...).
        results: algorithm → one :class:`~ecnas.optimizers.Result` per seed, in seed order.
        summary: Table-2 rows (one per algorithm and model) and per-algorithm statistics.
        files: name → path of every file written.
    """

    out: Path
    config: dict[str, Any]
    results: dict[str, list[Result]]
    summary: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def ref_point(self) -> list[float]:
        """The hypervolume reference point used."""
        return list(self.config["ref_point"])

    def markdown(self) -> str:
        """The summary as Markdown tables."""
        return summary_markdown(self.summary, self.config)


# ------------------------------------------------------------------------------------------ running
def _limit_threads() -> None:
    """Worker initialiser: one BLAS/OpenMP thread per process (the runs are the parallelism)."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass


def _run_task(task: dict[str, Any]) -> str:
    """Run one (algorithm, seed) and save it; top-level so that spawned workers can import it."""
    from ecnas.benchmark import Benchmark
    from ecnas.optimizers import get_optimizer

    with Benchmark(task["table"]) as bench:
        optimizer = get_optimizer(task["algorithm"])(
            bench,
            seed=task["seed"],
            max_evaluations=task["max_evaluations"],
            budget=task["budget"],
            objectives=task["objectives"],
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
        get_optimizer(name)  # raises with the valid names
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
    objectives: Sequence[str] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    out: str | os.PathLike[str] = "compare-out",
    jobs: int | None = None,
    resume: bool = False,
    progress: bool = False,
    plots: bool = True,
    echo: Callable[[str], None] | None = None,
) -> Comparison:
    """Run ``algorithms`` × ``seeds`` on a table in parallel processes; save, summarise and plot.

    Args:
        algorithms: registry names, e.g. ``["semoa", "shemoa", "msehvi", "rs", "parego-hb"]``.
        seeds: number of seeds (``0 … seeds-1``) or explicit seeds.
        table: an ecnas table; None = the embedded default table.
        budget: epochs of the reported fronts (top budget of multi-fidelity algorithms); None = the largest.
        max_evaluations: table queries per run for every algorithm; None = each algorithm's default.
        objectives: two minimised objectives; None = ``("validation_error", "energy_kwh")``.
        options: algorithm name → options for its constructor (e.g. ``{"semoa": {"population_size": 20}}``).
        out: output directory (created).
        jobs: worker processes; None = ``min(2, cpu count)``; 1 runs in this process.
        resume: reuse saved runs whose settings match instead of running them again.
        progress: show a tqdm progress bar.
        plots: write the figures.
        echo: called with a line per saved file (e.g. ``click.echo``); None is silent.

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
    with Benchmark(table) as bench:
        budget = bench.check_budget(budget)
        expected_settings = {}
        for name in names:  # fail on bad options before launching anything
            probe = get_optimizer(name)(
                bench,
                seed=0,
                max_evaluations=max_evaluations,
                budget=budget,
                objectives=objective_names,
                **options.get(name, {}),
            )
            expected_settings[name] = probe.settings()
        ref = reference_point(bench, objective_names, budget)
        table_info = {
            "path": str(bench.path.resolve()),
            "name": bench.path.name,
            "num_cells": len(bench),
            "budgets": list(bench.budgets),
            "provenance": bench.info().get("summary"),
            "created": bench.info()["provenance"].get("created"),
        }
    out = Path(out)
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
                    "objectives": list(objective_names),
                    "options": options.get(name, {}),
                    "settings": expected_settings[name],
                    "table_created": table_info["created"],
                    "path": str(out / "runs" / name / f"seed{seed}.json"),
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
    _execute(pending, jobs, progress)
    for task in pending:
        loaded[(task["algorithm"], task["seed"])] = Result.load(task["path"])
    results = {name: [loaded[(name, seed)] for seed in seed_list] for name in names}
    config = {
        "algorithms": names,
        "seeds": seed_list,
        "table": table_info,
        "budget": int(budget),
        "objectives": list(objective_names),
        "ref_point": ref,
        "max_evaluations": max_evaluations,
        "options": options,
        "jobs": jobs,
    }
    summary = summarise(results, ref)
    comparison = Comparison(out=out, config=config, results=results, summary=summary)
    _write_outputs(comparison, plots)
    if echo is not None:
        for path in comparison.files.values():
            echo(f"wrote {path}")
    return comparison


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


def _execute(tasks: list[dict[str, Any]], jobs: int, progress: bool) -> None:
    from tqdm.auto import tqdm

    bar = tqdm(total=len(tasks), desc="runs", unit="run", disable=not progress or not tasks)
    try:
        if jobs == 1 or len(tasks) <= 1:
            for task in tasks:
                bar.set_postfix_str(f"{task['algorithm']} seed {task['seed']}")
                _run_task(task)
                bar.update()
            return
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(
            max_workers=min(jobs, len(tasks)), mp_context=context, initializer=_limit_threads
        ) as pool:
            futures = {pool.submit(_run_task, task): task for task in tasks}
            for future in concurrent.futures.as_completed(futures):
                task = futures[future]
                future.result()  # re-raise a worker's error here
                bar.set_postfix_str(f"{task['algorithm']} seed {task['seed']}")
                bar.update()
    finally:
        bar.close()


# ------------------------------------------------------------------------------------------ summary
def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=np.float64)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return math.nan, math.nan
    return float(array.mean()), float(array.std(ddof=1)) if array.size > 1 else 0.0


def run_models(result: Result) -> dict[str, int] | None:
    """History rows of the extremes and the knee of a run's front (None when the front is empty)."""
    index = result.front_index
    if index.size == 0:
        return None
    front = result.history["F"][index]
    r0, r1 = indicators.extremes(front)
    knee = indicators.knee_point(front)
    return {"r0": int(index[r0]), "r1": int(index[r1]), "knee": int(index[knee])}


def summarise(results: Mapping[str, Sequence[Result]], ref: Sequence[float]) -> dict[str, Any]:
    """Table-2 rows and per-algorithm statistics (mean ± std over seeds).

    Returns:
        ``{"rows": [{"algorithm", "model", "runs", "<column>_mean", "<column>_std", ...}],
        "algorithms": {name: {"hypervolume_mean", ..., "runs": [per-run dicts]}}}``.
    """
    rows = []
    algorithms: dict[str, Any] = {}
    for name, runs in results.items():
        picks = [run_models(result) for result in runs]
        for model, _ in MODELS:
            row: dict[str, Any] = {"algorithm": name, "model": model, "runs": sum(p is not None for p in picks)}
            for key, _, column, scale, _ in COLUMNS:
                values = [r.history[column][p[model]] * scale for r, p in zip(runs, picks, strict=True) if p]
                row[f"{key}_mean"], row[f"{key}_std"] = _mean_std(values)
            rows.append(row)
        per_run = []
        for result in runs:
            cost = result.search_cost
            per_run.append(
                {
                    "seed": result.seed,
                    "hypervolume": result.hypervolume(ref),
                    "front_size": len(result.front_index),
                    "evaluations": len(result),
                    "search_energy_kwh": cost["energy_kwh"],
                    "search_time_s": cost["training_time_s"],
                    "elapsed_s": result.elapsed_s,
                    "rejections": result.rejections,
                }
            )
        stats: dict[str, Any] = {"runs": per_run}
        for key in ("hypervolume", "front_size", "evaluations", "search_energy_kwh", "search_time_s", "elapsed_s"):
            stats[f"{key}_mean"], stats[f"{key}_std"] = _mean_std([r[key] for r in per_run])
        stats["hypervolume_median"] = float(np.median([r["hypervolume"] for r in per_run]))
        algorithms[name] = stats
    return {"rows": rows, "algorithms": algorithms}


def _pm(mean: float, std: float, spec: str) -> str:
    """``mean ± std``; ``spec="sig"`` prints 4 significant digits of the mean and the std to the same decimals."""
    if not math.isfinite(mean):
        return "–"
    if spec == "sig":
        if mean and not 1e-3 <= abs(mean) < 1e5:  # e.g. the tiny table's µWh energies: scientific notation
            spec = ".3e"
        else:
            spec = f".{max(0, 3 - math.floor(math.log10(abs(mean)))) if mean else 4}f"
    return f"{mean:{spec}} ± {std:{spec}}"


def summary_markdown(summary: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    """Markdown: the Table-2 rows, then hypervolume and search cost per algorithm."""
    table = config.get("table", {})
    objectives = config.get("objectives", ["objective 0", "objective 1"])
    seeds = config.get("seeds", [])
    lines = [
        f"Table: {table.get('name', '?')} ({table.get('num_cells', '?')} cells), budget {config.get('budget')} "
        f"epochs, objectives {objectives} (minimised), {len(seeds)} seed(s); mean ± std over seeds.",
        "",
        "| Model | Strategy | " + " | ".join(header for _, header, _, _, _ in COLUMNS) + " |",
        "|---|---|" + "---:|" * len(COLUMNS),
    ]
    labels = dict(MODELS)
    for row in summary["rows"]:
        cells = [_pm(row[f"{key}_mean"], row[f"{key}_std"], spec) for key, _, _, _, spec in COLUMNS]
        lines.append(f"| {labels[row['model']]} | {row['algorithm']} | " + " | ".join(cells) + " |")
    ref = config.get("ref_point")
    lines += [
        "",
        f"Hypervolume reference point {[float(f'{v:.4g}') for v in ref] if ref else '?'}; search cost = simulated "
        "training time and energy of every evaluation the run made (lower budgets at their own cost).",
        "",
        "| Strategy | Hypervolume | HV median | Front size | Evaluations | Search E (kWh) | Search T (h) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, stats in summary["algorithms"].items():
        lines.append(
            f"| {name} | {_pm(stats['hypervolume_mean'], stats['hypervolume_std'], 'sig')} | "
            f"{_pm(stats['hypervolume_median'], 0.0, 'sig').split(' ± ')[0]} | "
            f"{_pm(stats['front_size_mean'], stats['front_size_std'], '.1f')} | "
            f"{stats['evaluations_mean']:.0f} | "
            f"{_pm(stats['search_energy_kwh_mean'], stats['search_energy_kwh_std'], 'sig')} | "
            f"{_pm(stats['search_time_s_mean'] / 3600, stats['search_time_s_std'] / 3600, 'sig')} |"
        )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ outputs
def _summary_csv(summary: Mapping[str, Any]) -> str:
    import io

    buffer = io.StringIO()
    fields = ["algorithm", "model", "runs"] + [f"{key}_{s}" for key, *_ in COLUMNS for s in ("mean", "std")]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in summary["rows"]:
        writer.writerow({k: row[k] for k in fields})
    return buffer.getvalue()


def _runs_csv(summary: Mapping[str, Any]) -> str:
    import io

    buffer = io.StringIO()
    fields = [
        "algorithm",
        "seed",
        "hypervolume",
        "front_size",
        "evaluations",
        "search_energy_kwh",
        "search_time_s",
        "elapsed_s",
    ]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for name, stats in summary["algorithms"].items():
        for run in stats["runs"]:
            writer.writerow({"algorithm": name, **{k: run[k] for k in fields[1:]}})
    return buffer.getvalue()


def _save_figure(ax: Any, path: Path) -> Path:
    with atomic_path(path, suffix=path.suffix) as temporary:
        ax.figure.savefig(temporary, dpi=120)
    return path


def write_figures(comparison: Comparison) -> dict[str, Path]:
    """Write the five figures of a comparison into its output directory.

    Returns:
        File name → path.
    """
    from ecnas import plots
    from ecnas.optimizers import OBJECTIVES

    out, ref = comparison.out, np.asarray(comparison.ref_point)
    results = comparison.results
    labels = tuple(OBJECTIVES[name].label for name in comparison.config["objectives"])
    files: dict[str, Path] = {}
    ax = plots.plot_attainment(
        {name: [r.front for r in runs] for name, runs in results.items()}, upper=ref, labels=labels
    )
    ax.set_title(f"Median attainment and inter-quartile band ({len(comparison.config['seeds'])} seeds)")
    files["attainment.png"] = _save_figure(ax, out / "attainment.png")

    name = next(iter(results))
    runs = results[name]
    hv = [r.hypervolume(ref) for r in runs]
    chosen = runs[int(np.argsort(hv)[(len(hv) - 1) // 2])]
    at_budget = chosen.history["budget"] == chosen.budget
    if at_budget.any():
        ax = plots.plot_front(chosen.history["F"][at_budget], labels=labels)
        ax.set_title(f"{name}, seed {chosen.seed} (median hypervolume)")
        files["front.png"] = _save_figure(ax, out / "front.png")

    pooled: dict[str, dict[str, list[float]]] = {model: {} for model, _ in MODELS}
    for runs in results.values():
        for result in runs:
            picks = run_models(result)
            if picks is None:
                continue
            for model, index in picks.items():
                for metric in ("training_time", "validation_accuracy", "energy_kwh", "trainable_parameters"):
                    pooled[model].setdefault(metric, []).append(float(result.history[metric][index]))
    rows = {
        label: {metric: float(np.nanmean(values)) for metric, values in pooled[model].items()}
        for model, label in MODELS
        if pooled[model]
    }
    if rows and all(np.isfinite(list(row.values())).all() for row in rows.values()):
        ax = plots.plot_radar(rows)
        ax.set_title("Extremes and knee, mean over all runs", pad=24)
        files["radar.png"] = _save_figure(ax, out / "radar.png")

    traces = {name: [r.hypervolume_trace(ref) for r in runs] for name, runs in results.items()}
    if all(t.size for runs in traces.values() for t in runs):
        ax = plots.plot_hypervolume(traces, "evaluations", log_x=True)
        ax.set_title("Hypervolume against evaluations (median, IQR)")
        files["hypervolume_evaluations.png"] = _save_figure(ax, out / "hypervolume_evaluations.png")
    known = all(np.isfinite(r.history["energy_kwh"]).all() for runs in results.values() for r in runs)
    if known and all(t.size for runs in traces.values() for t in runs):  # skipped for tables without energy
        energy = {
            name: [
                {"hypervolume": t, "energy_kwh": r.history["energy_kwh"]}
                for t, r in zip(traces[name], runs, strict=True)
            ]
            for name, runs in results.items()
        }
        ax = plots.plot_hypervolume(energy, "energy", log_x=True)
        ax.set_title("Hypervolume against simulated energy spent (median, IQR)")
        files["hypervolume_energy.png"] = _save_figure(ax, out / "hypervolume_energy.png")
    return files


def _write_outputs(comparison: Comparison, plots: bool) -> None:
    out = comparison.out
    files = comparison.files
    files["summary.md"] = atomic_write_text(out / "summary.md", comparison.markdown())
    files["summary.csv"] = atomic_write_text(out / "summary.csv", _summary_csv(comparison.summary))
    files["runs.csv"] = atomic_write_text(out / "runs.csv", _runs_csv(comparison.summary))
    if plots:
        files.update(write_figures(comparison))
    runs = {
        name: [str(Path("runs") / name / f"seed{r.seed}.json") for r in results]
        for name, results in comparison.results.items()
    }
    document = {
        "format": "ecnas-comparison",
        "format_version": 1,
        "config": comparison.config,
        "summary": comparison.summary,
        "runs": runs,
        "files": {name: str(path.relative_to(out)) for name, path in files.items()},
    }
    files["comparison.json"] = atomic_write_text(out / "comparison.json", json.dumps(jsonable(document), indent=1))


def load_comparison(out: str | os.PathLike[str]) -> Comparison:
    """Reopen a comparison written by :func:`compare` (its ``comparison.json`` and run files).

    Raises:
        ValueError: ``out`` holds no readable comparison.
    """
    out = Path(out)
    try:
        document = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{out}: no readable comparison.json ({error})") from None
    if document.get("format") != "ecnas-comparison":
        raise ValueError(f"{out / 'comparison.json'} is not an ecnas comparison")
    results = {name: [Result.load(out / path) for path in paths] for name, paths in document["runs"].items()}
    files = {name: out / path for name, path in document.get("files", {}).items()}
    return Comparison(out=out, config=document["config"], results=results, summary=document["summary"], files=files)
