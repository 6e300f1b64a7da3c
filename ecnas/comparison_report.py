"""The report of an optimizer comparison: EC-NAS's Table 2, CSVs, figures and the saved ``comparison.json``.

Written by :func:`ecnas.compare.compare` after its runs; :func:`load_comparison` reopens one from disk.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas import indicators
from ecnas._io import atomic_write_text, jsonable
from ecnas.optimizers import Result

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark

__all__ = [
    "COLUMNS",
    "FIGURES",
    "MODELS",
    "Comparison",
    "load_comparison",
    "model_labels",
    "reported_sources",
    "run_models",
    "summarise",
    "summary_markdown",
    "write_figures",
    "write_outputs",
]

#: The three architectures Table 2 reports per run: both extremes and the knee of the front.
MODELS: tuple[tuple[str, str], ...] = (
    ("r0", "A_r0 (best objective 0)"),
    ("r1", "A_r1 (best objective 1)"),
    ("knee", "A_rk (knee)"),
)
#: What the best architecture of each objective is called in summaries and figures.
_BEST_NAMES = {
    "validation_error": "highest accuracy",
    "test_error": "highest test accuracy",
    "train_error": "highest train accuracy",
    "energy_kwh": "lowest energy",
    "total_energy_kwh": "lowest total energy",
    "training_time": "shortest training",
    "co2eq_g": "lowest CO2",
    "trainable_parameters": "fewest parameters",
}


def model_labels(objectives: Sequence[str]) -> dict[str, str]:
    """Row names of the three reported architectures: the best of each objective and the knee.

    For EC-NAS's objectives: ``{"r0": "highest accuracy", "r1": "lowest energy", "knee": "knee"}``.
    """
    names = [_BEST_NAMES.get(str(o), f"best {o}") for o in list(objectives)[:2]]
    names += [f"best objective {j}" for j in range(len(names), 2)]
    return {"r0": names[0], "r1": names[1], "knee": "knee"}


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


#: How a reported cell's values were obtained, by the ``source`` a Benchmark gives its row: measured (trained
#: here or imported from measurements) or predicted (by the surrogate; ``out-of-fold`` in the surrogate view).
_KIND = {"measured": "measured", "imported": "measured", "surrogate": "predicted", "out-of-fold": "predicted"}


def reported_sources(bench: Benchmark, results: Mapping[str, Sequence[Result]], budget: int) -> dict[str, str]:
    """``source`` (in ``bench``'s view) of every cell a summary reports: each run's extremes and knee.

    Reading the table for it is not a query of any run (the runs' counters are theirs).
    """
    keys = sorted(
        {str(r.history["hash"][i]) for runs in results.values() for r in runs for i in (run_models(r) or {}).values()}
    )
    if not keys:
        return {}
    saved = dict(bench.counters)
    try:
        columns = bench.query_many(keys, budget=budget)
    finally:
        bench.counters.update(saved)
    return dict(zip(keys, (str(s) for s in columns["source"]), strict=True))


def _source_counts(labels: Sequence[str]) -> dict[str, int]:
    """Counts of measured and predicted reported values (``out_of_fold``: predicted values of measured cells)."""
    return {
        "measured": sum(_KIND.get(s) == "measured" for s in labels),
        "predicted": sum(_KIND.get(s) == "predicted" for s in labels),
        "out_of_fold": sum(s == "out-of-fold" for s in labels),
    }


_RUN_STATISTICS = ("hypervolume", "front_size", "evaluations", "search_energy_kwh", "search_time_s", "elapsed_s")


def summarise(
    results: Mapping[str, Sequence[Result]],
    ref: Sequence[float],
    true_hypervolume: float | None = None,
    *,
    sources: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Table-2 rows and per-algorithm statistics (mean ± std over seeds).

    With ``true_hypervolume`` (of the table's exact front, :meth:`ecnas.Benchmark.pareto_front`), each run also
    gets ``hypervolume_fraction`` (its hypervolume / the true front's; 1 = the whole true front found) and
    ``hypervolume_regret`` (true − found). Every run records ``top_budget_evaluations`` (distinct cells evaluated
    at the target budget), ``stop_reason`` and ``stop_detail``.

    With ``sources`` (hash → ``source`` of the row in the comparison's view, :func:`reported_sources`), each
    Table-2 row says how many of its reported cells are measured and how many predicted (``measured``,
    ``predicted``, ``out_of_fold`` and per seed ``sources``), and each run the source of its ``r0``/``r1``/``knee``.

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
            if sources is not None:
                labels = [
                    sources.get(str(r.history["hash"][p[model]]), "?") for r, p in zip(runs, picks, strict=True) if p
                ]
                row["sources"] = labels
                row.update(_source_counts(labels))
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
                    "top_budget_evaluations": result.top_budget_evaluations,
                    "stop_reason": result.stop_reason,
                    "stop_detail": result.stop_detail,
                    "view": result.view,
                }
            )
            if sources is not None:
                picked = run_models(result) or {}
                for model, _ in MODELS:
                    key = str(result.history["hash"][picked[model]]) if model in picked else None
                    per_run[-1][f"{model}_source"] = sources.get(key, "?") if key else ""
            hv = per_run[-1]["hypervolume"]
            fraction = hv / true_hypervolume if true_hypervolume else math.nan
            per_run[-1]["hypervolume_fraction"] = fraction
            per_run[-1]["hypervolume_regret"] = true_hypervolume - hv if true_hypervolume else math.nan
        stats: dict[str, Any] = {"runs": per_run}
        for key in (*_RUN_STATISTICS, "hypervolume_fraction", "hypervolume_regret", "top_budget_evaluations"):
            stats[f"{key}_mean"], stats[f"{key}_std"] = _mean_std([r[key] for r in per_run])
        stats["hypervolume_median"] = float(np.median([r["hypervolume"] for r in per_run]))
        stats["hypervolume_fraction_median"] = float(np.median([r["hypervolume_fraction"] for r in per_run]))
        stats["early_stops"] = [
            {"seed": r["seed"], "stop_reason": r["stop_reason"], "stop_detail": r["stop_detail"]}
            for r in per_run
            if r["stop_reason"] == "exhausted"
        ]
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


def _display_columns(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, float, str]]:
    """Table-2 columns as ``(key, header, factor, format)``, in units chosen from the rows.

    |θ| in k or M and E in J, Wh or kWh, so that small networks never print ``0.00 ± 0.00``.
    """
    from ecnas.units import energy_unit, parameter_unit

    columns = []
    for key, header, _, _, spec in COLUMNS:
        factor = 1.0
        if key == "params_m":
            unit = parameter_unit([row[f"{key}_mean"] * 1e6 for row in rows])
            header, factor, spec = f"|θ| ({unit.name})", unit.factor * 1e6, "sig"
        elif key == "time_s":
            spec = "sig"  # sub-second training times (tiny table) keep their digits
        elif key == "energy_kwh":
            unit = energy_unit([row[f"{key}_mean"] for row in rows])
            header, factor = f"E ({unit.name})", unit.factor
        columns.append((key, header, factor, spec))
    return columns


def summary_markdown(summary: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    """Markdown: the Table-2 rows, then hypervolume and search cost per algorithm."""
    table = config.get("table", {})
    objectives = config.get("objectives", ["objective 0", "objective 1"])
    seeds = config.get("seeds", [])
    evaluations = sorted({round(stats["evaluations_mean"]) for stats in summary["algorithms"].values()})
    budget_text = (
        f"{evaluations[0]} table queries per run for every algorithm"
        if len(evaluations) == 1
        else f"table queries per run differ between algorithms ({evaluations}): costs are not equal"
    )
    view = config.get("view", table.get("view", "measured"))
    lines = [
        f"Table: {table.get('name', '?')} ({table.get('num_cells', '?')} cells), {view} view, budget "
        f"{config.get('budget')} epochs, objectives {objectives} (minimised), {len(seeds)} seed(s), {budget_text}; "
        "mean ± std over seeds.",
        "",
    ]
    columns = _display_columns(summary["rows"])
    with_sources = any("measured" in row for row in summary["rows"])
    lines += [
        "| Architecture | Strategy | "
        + " | ".join(header for _, header, _, _ in columns)
        + (" | Values (runs) |" if with_sources else " |"),
        "|---|---|" + "---:|" * len(columns) + ("---|" if with_sources else ""),
    ]
    labels = model_labels(objectives)
    for row in summary["rows"]:
        cells = [_pm(row[f"{key}_mean"] * f, row[f"{key}_std"] * f, spec) for key, _, f, spec in columns]
        if with_sources:
            cells.append(_source_text(row))
        lines.append(f"| {labels[row['model']]} | {row['algorithm']} | " + " | ".join(cells) + " |")
    if with_sources:
        lines += [
            "",
            "Values (runs): how many of each row's reported cells (one per run) carry measured values and how many "
            + (
                "carry the surrogate's (surrogate view: every value is predicted; out-of-fold = the prediction of a "
                "measured cell by a model that never saw it)."
                if view == "surrogate"
                else "carry the surrogate's (measured view: measured cells keep their measurement noise, predicted "
                "ones do not)."
            ),
        ]
    ref = config.get("ref_point")
    lines += [
        "",
        f"Hypervolume reference point {[float(f'{v:.4g}') for v in ref] if ref else '?'}; search cost = simulated "
        "training time and energy of every evaluation the run made (lower budgets at their own cost).",
        "",
        "| Strategy | Hypervolume | HV median | HV / true front (median) | Front size | Evaluations "
        "| Top-budget evals | Search E (kWh) | Search T (h) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for name, stats in summary["algorithms"].items():
        fraction = stats.get("hypervolume_fraction_median", math.nan)
        top = stats.get("top_budget_evaluations_mean", math.nan)
        lines.append(
            f"| {name} | {_pm(stats['hypervolume_mean'], stats['hypervolume_std'], 'sig')} | "
            f"{_pm(stats['hypervolume_median'], 0.0, 'sig').split(' ± ')[0]} | "
            f"{'–' if not math.isfinite(fraction) else f'{fraction:.4f}'} | "
            f"{_pm(stats['front_size_mean'], stats['front_size_std'], '.1f')} | "
            f"{stats['evaluations_mean']:.0f} | "
            f"{'–' if not math.isfinite(top) else f'{top:.0f}'} | "
            f"{_pm(stats['search_energy_kwh_mean'], stats['search_energy_kwh_std'], 'sig')} | "
            f"{_pm(stats['search_time_s_mean'] / 3600, stats['search_time_s_std'] / 3600, 'sig')} |"
        )
        for stop in stats.get("early_stops", []):
            notes.append(f"- {name} seed {stop['seed']} stopped early ({stop['stop_reason']}): {stop['stop_detail']}")
    true_front = config.get("true_front")
    if true_front:
        lines += [
            "",
            f"True front (exact, whole table): {true_front['size']} cells, hypervolume "
            f"{_pm(true_front['hypervolume'], 0.0, 'sig').split(' ± ')[0]}; regret = true − found hypervolume.",
        ]
    if notes:
        lines += ["", "Runs that ended before their evaluation or energy budget:", *notes]
    return "\n".join(lines) + "\n"


def _source_text(row: Mapping[str, Any]) -> str:
    """``3 measured, 7 predicted`` (``(2 out-of-fold)`` in the surrogate view); ``–`` without sources."""
    if "measured" not in row:
        return "–"
    text = f"{row['measured']} measured, {row['predicted']} predicted"
    return text + (f" ({row['out_of_fold']} out-of-fold)" if row.get("out_of_fold") else "")


# ------------------------------------------------------------------------------------------ outputs
def _summary_csv(summary: Mapping[str, Any]) -> str:
    import io

    buffer = io.StringIO()
    fields = ["algorithm", "model", "runs"] + [f"{key}_{s}" for key, *_ in COLUMNS for s in ("mean", "std")]
    fields += ["measured", "predicted", "out_of_fold", "sources"]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in summary["rows"]:
        values = {k: row.get(k, "") for k in fields}
        values["sources"] = ";".join(row.get("sources", []))
        writer.writerow(values)
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
        "hypervolume_fraction",
        "hypervolume_regret",
        "top_budget_evaluations",
        "stop_reason",
        "stop_detail",
        "view",
        "r0_source",
        "r1_source",
        "knee_source",
    ]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for name, stats in summary["algorithms"].items():
        for run in stats["runs"]:
            writer.writerow({"algorithm": name, **{k: run.get(k, "") for k in fields[1:]}})
    return buffer.getvalue()


def write_figures(comparison: Comparison) -> dict[str, Path]:
    """Write the five figures of a comparison into its output directory (see :mod:`ecnas.comparison_figures`).

    Returns:
        File name → path.
    """
    from ecnas.comparison_figures import write_figures as write

    return write(comparison)


def write_outputs(comparison: Comparison, plots: bool) -> None:
    """Write the summary (Markdown, CSV), the per-run CSV, figures and ``comparison.json`` into ``comparison.out``."""
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
    except (OSError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{out}: no readable comparison.json ({error})") from None
    if document.get("format") != "ecnas-comparison":
        raise ValueError(f"{out / 'comparison.json'} is not an ecnas comparison")
    results = {name: [Result.load(out / path) for path in paths] for name, paths in document["runs"].items()}
    files = {name: out / path for name, path in document.get("files", {}).items()}
    return Comparison(out=out, config=document["config"], results=results, summary=document["summary"], files=files)
