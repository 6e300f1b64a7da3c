"""The five figures of ``ecnas compare``, ready for a paper.

Every title names the table, budget and view; energy is in a unit chosen from the data; the table's true
Pareto front is the reference.

- ``attainment.png``: median attainment and inter-quartile band per algorithm, the true front dashed; axes span
  the runs' points.
- ``front.png``: one panel per algorithm — its median-hypervolume run, extremes and knee — with the true front.
- ``radar.png``: one radar per algorithm: the extremes and the knee, mean over seeds, on axes spanning the
  table's range of each metric at the budget.
- ``hypervolume_evaluations.png`` / ``hypervolume_energy.png``: hypervolume as a fraction of the true front's
  (same reference point), against evaluations and against simulated energy spent.

The table is reopened from the path recorded in the comparison; when it is gone the figures are still drawn,
without the true front and with raw hypervolume.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas import indicators
from ecnas._io import atomic_path
from ecnas.metrics import METRIC_TABLE, OBJECTIVES
from ecnas.units import DisplayUnit, energy_unit, parameter_unit

if TYPE_CHECKING:
    from ecnas.comparison_report import Comparison

__all__ = ["FigureContext", "figure_context", "write_figures"]

_RADAR_COLUMNS = ("training_time", "validation_accuracy", "energy_kwh", "trainable_parameters")


@dataclass
class FigureContext:
    """What every figure of a comparison shares.

    Attributes:
        table: the table's name (an embedded table's name, else its file name).
        budget: epochs of the fronts.
        objectives: the two minimised objectives.
        seeds: number of seeds per algorithm.
        ref: hypervolume reference point (raw units).
        scale: per-objective factor to display units.
        labels: per-objective axis label in display units.
        true_front: `k x 2` exact front of the table at ``budget`` (raw units), or None.
        true_hypervolume: its hypervolume w.r.t. ``ref``, or None.
        radar_ranges: metric → (min, max) over the table at ``budget``, or None.
        energy: how the table's energies at ``budget`` were obtained, e.g. ``E measured (carbontracker)``.
    """

    table: str
    budget: int
    objectives: tuple[str, str]
    seeds: int
    ref: np.ndarray
    scale: tuple[float, float]
    labels: tuple[str, str]
    true_front: np.ndarray | None = None
    true_hypervolume: float | None = None
    radar_ranges: dict[str, tuple[float, float]] | None = None
    energy: str = "energy method unknown"
    table_view: str = "measured"

    def caption(self, view: str) -> str:
        """The title lines under the headline: table and view, budget, energy measured or estimated; ``view``.

        The table's view (measured/surrogate) follows its name; ``view`` is the objectives a figure shows.
        """
        return f"{self.table} ({self.table_view} view) · {self.budget} epochs · {self.energy}\n{view}"


def _display(objective: str, values: np.ndarray) -> tuple[float, str]:
    spec = OBJECTIVES[objective]
    label = spec.label
    unit: DisplayUnit | None = None
    if METRIC_TABLE[spec.metric].unit == "kWh":
        unit = energy_unit(values)
        label = label.replace("(kWh)", f"({unit.name})")
    elif spec.metric == "trainable_parameters":
        unit = parameter_unit(values)
        label = f"{label} ({unit.name})"
    return (unit.factor if unit else 1.0), label


def _energy_method(provenance: dict[str, Any], budget: int) -> str:
    """``E measured (...)`` / ``E estimated (...)`` at ``budget`` from a table's provenance (per budget if known)."""
    method = str((provenance.get("energy_method_by_budget") or {}).get(str(budget)) or provenance.get("energy_method"))
    kind, _, detail = method.partition(":")
    if kind not in ("measured", "estimated"):
        return f"E: {method}" if method != "None" else "energy method unknown"
    detail = detail.split(";")[0].strip()
    for raw, text in (("linear-scaling-from-", "linear scaling from "), ("copied-from-", "copied from ")):
        detail = detail.replace(raw, text)
    detail = detail.replace("-epochs", " epochs").replace("cpu-time", "CPU time")
    return f"E {kind} ({detail})" if detail else f"E {kind}"


def _table_name(path: str | None, fallback: str) -> str:
    from ecnas.tables import EMBEDDED

    name = Path(path).name if path else fallback
    return next((n for n, t in EMBEDDED.items() if t.file == name), name)


def figure_context(comparison: Comparison) -> FigureContext:
    """Units, labels, the true front and the table's ranges for the figures of ``comparison``."""
    from ecnas.benchmark import Benchmark
    from ecnas.errors import EcnasError

    config = comparison.config
    objectives = tuple(config["objectives"])
    budget = int(config["budget"])
    ref = np.asarray(comparison.ref_point, dtype=float)
    table = config.get("table", {})
    true_front = ranges = None
    energy = "energy method unknown"
    try:
        with Benchmark(table.get("path"), view=config.get("view", "measured")) as bench:
            energy = _energy_method(bench.info()["provenance"], budget)
            true_front = bench.pareto_front(objectives, budget)["F"]
            columns = bench.query_many(bench.hash_array, budget=budget)
            ranges = {}
            for metric in _RADAR_COLUMNS:
                finite = np.asarray(columns[metric], dtype=float)
                finite = finite[np.isfinite(finite)]
                if finite.size:
                    ranges[metric] = (float(finite.min()), float(finite.max()))
    except (EcnasError, OSError, ValueError, TypeError):
        pass  # the table moved or is unreadable: figures without the true front
    points = [r.front for runs in comparison.results.values() for r in runs if r.front.size]
    if true_front is not None and true_front.size:
        points.append(true_front)
    stacked = np.vstack(points) if points else np.zeros((0, 2))
    scale, labels = zip(*(_display(name, stacked[:, j]) for j, name in enumerate(objectives)), strict=True)
    true_hv = indicators.hypervolume(true_front, ref) if true_front is not None and true_front.size else None
    return FigureContext(
        table=_table_name(table.get("path"), table.get("name", "?")),
        budget=budget,
        objectives=(objectives[0], objectives[1]),
        seeds=len(config.get("seeds", [])),
        ref=ref,
        scale=(float(scale[0]), float(scale[1])),
        labels=(labels[0], labels[1]),
        true_front=true_front,
        true_hypervolume=true_hv if true_hv and math.isfinite(true_hv) and true_hv > 0 else None,
        radar_ranges=ranges or None,
        energy=energy,
        table_view=str(config.get("view", "measured")),
    )


def _save(figure: Any, path: Path) -> Path:
    with atomic_path(path, suffix=path.suffix) as temporary:
        figure.savefig(temporary, dpi=150)
    return path


def _median_run(runs: Sequence[Any], ref: np.ndarray) -> Any:
    hv = [r.hypervolume(ref) for r in runs]
    return runs[int(np.argsort(hv, kind="stable")[(len(hv) - 1) // 2])]


def _grid(n: int) -> tuple[int, int]:
    cols = min(n, 3)
    return math.ceil(n / cols), cols


def write_figures(comparison: Comparison) -> dict[str, Path]:
    """Write the five figures of a comparison into its output directory.

    Returns:
        File name → path of every figure written.
    """
    from ecnas import plots
    from ecnas.comparison_report import model_labels, run_models

    context = figure_context(comparison)
    out, ref, results = comparison.out, context.ref, comparison.results
    view = f"{context.labels[0]} vs {context.labels[1]}"
    files: dict[str, Path] = {}

    ax = plots.plot_attainment(
        {name: [r.front for r in runs] for name, runs in results.items()},
        upper=ref,
        labels=context.labels,
        reference=context.true_front,
        scale=context.scale,
    )
    ax.set_title(f"Median attainment and IQR over {context.seeds} seeds\n{context.caption(view)}", fontsize="medium")
    files["attainment.png"] = _save(ax.figure, out / "attainment.png")

    labels = model_labels(context.objectives)
    chosen = {name: _median_run(runs, ref) for name, runs in results.items()}
    chosen = {name: r for name, r in chosen.items() if (r.history["budget"] == r.budget).any()}
    if chosen:
        rows, cols = _grid(len(chosen))
        figure = plots.new_figure((3.6 * cols + 0.4, 3.2 * rows + 0.9))
        axes = figure.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
        shown = []
        for ax, (name, result) in zip(axes, chosen.items(), strict=False):
            F = result.history["F"][result.history["budget"] == result.budget]
            plots.plot_front(
                F,
                labels=context.labels,
                reference=context.true_front,
                scale=context.scale,
                extreme_labels=(labels["r0"], labels["r1"], ""),
                legend=False,
                ax=ax,
            )
            share = (
                f", {result.hypervolume(ref) / context.true_hypervolume:.1%} of true HV"
                if context.true_hypervolume
                else ""
            )
            ax.set_title(f"{name} (seed {result.seed}{share})", fontsize="small")
            shown.append(F)
            if ax is not axes[0]:
                ax.set_ylabel("")
        for ax in axes[len(chosen) :]:
            ax.set_visible(False)
        if context.true_front is not None:
            shown.append(context.true_front)
        lo = np.min([np.min(p, axis=0) for p in shown], axis=0) * np.asarray(context.scale)
        hi = np.max([np.max(p, axis=0) for p in shown], axis=0) * np.asarray(context.scale)
        pad = 0.05 * np.where(hi > lo, hi - lo, 1.0)
        axes[0].set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        axes[0].set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        handles, names = axes[0].get_legend_handles_labels()
        figure.legend(handles, names, loc="outside lower center", ncol=len(names), fontsize="small")
        figure.suptitle(f"Median-hypervolume run of each algorithm\n{context.caption(view)}", fontsize="medium")
        files["front.png"] = _save(figure, out / "front.png")

    radar_rows: dict[str, dict[str, dict[str, float]]] = {}
    for name, runs in results.items():
        pooled: dict[str, dict[str, list[float]]] = {}
        for result in runs:
            picks = run_models(result)
            for model, index in (picks or {}).items():
                for metric in _RADAR_COLUMNS:
                    pooled.setdefault(model, {}).setdefault(metric, []).append(float(result.history[metric][index]))
        rows_ = {labels[m]: {k: float(np.mean(v)) for k, v in pooled[m].items()} for m in labels if m in pooled}
        if rows_ and all(np.isfinite(list(row.values())).all() for row in rows_.values()):
            radar_rows[name] = rows_
    if radar_rows:
        ranges = None
        if context.radar_ranges:
            ranges = dict(context.radar_ranges)
            for rows_ in radar_rows.values():  # a mean over runs lies inside the table's range; guard rounding
                for row in rows_.values():
                    for metric, value in row.items():
                        lo_, hi_ = ranges.get(metric, (value, value))
                        ranges[metric] = (min(lo_, value), max(hi_, value))
        rows, cols = _grid(len(radar_rows))
        figure = plots.new_figure((3.9 * cols + 0.6, 3.9 * rows + 1.1))
        axes = figure.subplots(rows, cols, subplot_kw={"projection": "polar"}, squeeze=False).ravel()
        for ax, (name, rows_) in zip(axes, radar_rows.items(), strict=False):
            plots.plot_radar(rows_, ranges=ranges, legend=False, ax=ax)
            ax.set_title(name, fontsize="medium", pad=30)
        for ax in axes[len(radar_rows) :]:
            ax.set_visible(False)
        handles, names = axes[0].get_legend_handles_labels()
        figure.legend(handles, names, loc="outside lower center", ncol=len(names), fontsize="small")
        span = "axes span the table's range" if ranges else "axes span the plotted points"
        figure.suptitle(
            f"Extremes and knee per algorithm, mean over {context.seeds} seeds ({span})\n"
            f"{context.caption('T, $P_v$, E, |θ|')}",
            fontsize="medium",
        )
        files["radar.png"] = _save(figure, out / "radar.png")

    traces = {name: [r.hypervolume_trace(ref) for r in runs] for name, runs in results.items()}
    if all(t.size for runs in traces.values() for t in runs):
        normaliser = context.true_hypervolume
        ylabel = "Hypervolume / true front's" if normaliser else "Hypervolume"
        which = "fraction of the true front's hypervolume" if normaliser else "hypervolume"
        ax = plots.plot_hypervolume(traces, "evaluations", log_x=True, ylabel=ylabel, normaliser=normaliser)
        ax.set_title(f"Median and IQR over {context.seeds} seeds\n{context.caption(which)}", fontsize="medium")
        files["hypervolume_evaluations.png"] = _save(ax.figure, out / "hypervolume_evaluations.png")
        known = all(np.isfinite(r.history["energy_kwh"]).all() for runs in results.values() for r in runs)
        if known:  # skipped for tables without energy
            energy = {
                name: [
                    {"hypervolume": t, "energy_kwh": r.history["energy_kwh"]}
                    for t, r in zip(traces[name], runs, strict=True)
                ]
                for name, runs in results.items()
            }
            spent = [float(np.sum(r.history["energy_kwh"])) for runs in results.values() for r in runs]
            ax = plots.plot_hypervolume(
                energy, "energy", log_x=True, ylabel=ylabel, normaliser=normaliser, energy_unit=energy_unit(spent)
            )
            ax.set_title(
                f"Against simulated energy spent, median and IQR over {context.seeds} seeds\n{context.caption(which)}",
                fontsize="medium",
            )
            files["hypervolume_energy.png"] = _save(ax.figure, out / "hypervolume_energy.png")
    return files
