"""One importance analysis end to end — per-objective fANOVA and MO-fANOVA — and the files it writes.

:func:`analyse` runs fANOVA on each objective and on weighted sums (a grid of ``w`` and DeepCAVE's Pareto
weightings); :func:`write_report` saves ``importances.json`` (everything, with the data's provenance),
``importances.csv`` (one row per input or pair and analysis), ``bars_<objective>.png`` and
``weights.png`` (the Figure-5 chart). Energy objectives are labelled with the table's energy method
(measured or estimated) in the figures and files.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecnas._io import atomic_path, atomic_write_text, jsonable
from ecnas.importance._data import ImportanceData
from ecnas.importance._fanova import DEFAULT_MAX_DEPTH, DEFAULT_TREES, Importances, fanova
from ecnas.importance._multi import WeightedImportances, normalise, pareto_weightings, weighted_importances

__all__ = ["ImportanceReport", "analyse", "top_inputs", "write_report"]

_ENERGY_OBJECTIVES = ("energy_kwh", "total_energy_kwh", "co2eq_g")


@dataclass(frozen=True)
class ImportanceReport:
    """Results of :func:`analyse`.

    Attributes:
        objectives: analysed objective names.
        per_objective: fANOVA of each objective alone.
        grid: MO-fANOVA over the weight grid (two objectives), or None.
        pareto: MO-fANOVA over the Pareto weightings, or None.
        source: provenance of the data (:attr:`ImportanceData.source`).
        settings: forest and weighting settings.
    """

    objectives: tuple[str, ...]
    per_objective: dict[str, Importances]
    grid: WeightedImportances | None
    pareto: WeightedImportances | None
    source: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def energy_note(self, objective: str) -> str:
        """``" (measured:…)"`` / ``" (estimated:…)"`` for energy objectives, else ``""``."""
        methods = self.source.get("energy_method") or []
        if objective in _ENERGY_OBJECTIVES and methods:
            return f" ({', '.join(methods)})"
        return ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able view of everything."""
        return {
            "format": "ecnas-importance",
            "format_version": 1,
            "objectives": list(self.objectives),
            "source": self.source,
            "settings": self.settings,
            "per_objective": {name: imp.to_dict() for name, imp in self.per_objective.items()},
            "grid": self.grid.to_dict() if self.grid is not None else None,
            "pareto": self.pareto.to_dict() if self.pareto is not None else None,
        }


def analyse(
    data: ImportanceData,
    *,
    weights: int | None = 11,
    pareto: bool = True,
    n_trees: int = DEFAULT_TREES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    top_pairs: int = 5,
    seed: int | None = 0,
    progress: bool = False,
) -> ImportanceReport:
    """Run fANOVA per objective, then MO-fANOVA over a weight grid and over the Pareto weightings.

    Args:
        data: the rows to analyse (:func:`~ecnas.importance.from_table`, :func:`~ecnas.importance.from_result`,
            :func:`~ecnas.importance.from_configs`).
        weights: grid size for two objectives (11 = steps of 0.1); None or fewer than two objectives: no grid.
        pareto: also analyse DeepCAVE's Pareto weightings (needs two or more objectives).
        n_trees: trees per forest (one forest per response).
        max_depth: maximum tree depth.
        seed: seeds every forest.
        top_pairs: pairs among this many most important inputs, per objective (weightings: none).
        progress: show a tqdm bar over the forests.
    """
    m = len(data.objectives)
    grid_size = weights if (weights is not None and m == 2) else None
    pareto_rows = pareto_weightings(normalise(data.F, data.directions)).shape[0] if pareto and m >= 2 else 0
    total = m + (grid_size or 0) + pareto_rows
    from tqdm.auto import tqdm

    with tqdm(total=total, desc="forests", unit="forest", disable=not progress) as bar:
        per_objective = {}
        for k, name in enumerate(data.objectives):
            per_objective[name] = fanova(
                data.design,
                data.F[:, k],
                n_trees=n_trees,
                max_depth=max_depth,
                top_pairs=top_pairs,
                seed=seed,
                label=name,
            )
            bar.update(1)
        options = {"directions": data.directions, "n_trees": n_trees, "max_depth": max_depth, "seed": seed}
        grid = (
            weighted_importances(data.design, data.F, data.objectives, grid_size, progress=bar.update, **options)
            if grid_size is not None
            else None
        )
        front = (
            weighted_importances(data.design, data.F, data.objectives, "pareto", progress=bar.update, **options)
            if pareto_rows
            else None
        )
    settings = {"n_trees": n_trees, "max_depth": max_depth, "top_pairs": top_pairs, "seed": seed, "weights": grid_size}
    settings["pareto"] = bool(pareto_rows)
    return ImportanceReport(tuple(data.objectives), per_objective, grid, front, dict(data.source), settings)


def _csv_rows(report: ImportanceReport) -> list[list[Any]]:
    rows: list[list[Any]] = []

    def add(analysis: str, label: str, w: float | None, imp: Importances) -> None:
        for name, mean, std in imp.ranking():
            rows.append([analysis, label, w, "individual", name, mean, std])
        for a, b, mean, std in imp.pairs:
            rows.append([analysis, label, w, "pair", f"{a} x {b}", mean, std])

    for name, imp in report.per_objective.items():
        add("objective", name + report.energy_note(name), None, imp)
    for analysis, weighted in (("grid", report.grid), ("pareto", report.pareto)):
        if weighted is not None:
            for w, imp in zip(weighted.weights, weighted.results, strict=True):
                add(analysis, imp.label, float(w[0]), imp)
    return rows


def write_report(report: ImportanceReport, out: str | os.PathLike[str], *, figures: bool = True) -> dict[str, Path]:
    """Write the JSON, CSV and figures into directory ``out`` (created), each file atomically.

    Returns:
        File kind → path written.
    """
    from ecnas.importance._plots import plot_importance_bars, plot_weight_curve

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": atomic_write_text(out / "importances.json", json.dumps(jsonable(report.to_dict()), indent=1))}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["analysis", "label", f"w_{report.objectives[0]}", "kind", "name", "importance", "std"])
    writer.writerows(_csv_rows(report))
    files["csv"] = atomic_write_text(out / "importances.csv", buffer.getvalue())
    if not figures:
        return files
    view = report.source.get("view", "")
    for name, imp in report.per_objective.items():
        title = f"fANOVA importance w.r.t. {name}{report.energy_note(name)}\n{view} view, {imp.n} configurations"
        ax = plot_importance_bars(imp, title=title)
        files[f"bars_{name}"] = _save(ax, out / f"bars_{name}.png")
    if report.grid is not None or report.pareto is not None:
        curve = report.grid if report.grid is not None else report.pareto
        assert curve is not None
        notes = "".join(report.energy_note(o) for o in report.objectives)
        title = f"MO-fANOVA: {' vs '.join(report.objectives)}{notes}\n{view} view, {curve.results[0].n} configurations"
        ax = plot_weight_curve(curve, pareto=report.pareto if curve is report.grid else None, title=title)
        files["weights"] = _save(ax, out / "weights.png")
    return files


def _save(ax: Any, path: Path) -> Path:
    with atomic_path(path, suffix=".png") as temporary:
        ax.figure.savefig(temporary, dpi=130, format="png")
    return path


def top_inputs(report: ImportanceReport, k: int = 3) -> dict[str, list[tuple[str, float, float]]]:
    """The ``k`` most important inputs per objective: ``(name, mean, std)``."""
    return {name: imp.ranking()[:k] for name, imp in report.per_objective.items()}
