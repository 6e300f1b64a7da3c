"""Figures of an optimizer comparison, in the style of EC-NAS Figure 2 (all objectives minimised).

Each figure has a pure ``*_data`` function that computes what is drawn (testable, reusable in tables) and a
``plot_*`` function that draws it and returns the matplotlib ``Axes``. Every ``plot_*`` accepts ``ax``; without
one it creates a standalone ``Figure`` on the non-interactive Agg canvas (no display, no pyplot state), so
save it with ``ax.figure.savefig(path)``. In a notebook, pass ``ax`` from ``plt.subplots()`` instead.

- :func:`plot_attainment`: median attainment surface and inter-quartile band over seeds, per algorithm.
- :func:`plot_front`: one run's points, its Pareto front, the extremes ``r_0``, ``r_1`` and the knee.
- :func:`plot_radar`: T, P_v, E, |θ| of chosen architectures (extremes and knee) on normalised axes.
- :func:`plot_hypervolume`: hypervolume against evaluations or against simulated energy spent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas import indicators
from ecnas.indicators import as_points

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "OBJECTIVE_LABELS",
    "RADAR_METRICS",
    "attainment_data",
    "front_data",
    "hypervolume_data",
    "plot_attainment",
    "plot_front",
    "plot_hypervolume",
    "plot_radar",
    "radar_data",
]

#: Axis labels of the two EC-NAS objectives.
OBJECTIVE_LABELS: tuple[str, str] = ("1 − $P_v$", "E (kWh)")
#: Radar axes: row key → (label with unit, scale applied to the raw value).
RADAR_METRICS: dict[str, tuple[str, float]] = {
    "training_time": ("T (s)", 1.0),
    "validation_accuracy": ("$P_v$", 1.0),
    "energy_kwh": ("E (kWh)", 1.0),
    "parameters": ("|θ| (M)", 1e-6),
}
_RADAR_ALIASES = {"trainable_parameters": "parameters"}
#: EC-NAS colours: r_0 blue, r_1 green, knee yellow.
_EXTREME_STYLE = (("$r_0$", "#00008B"), ("$r_1$", "#006400"), ("knee $r_k$", "#FFD700"))


def _new_axes(polar: bool = False) -> Axes:
    """A fresh Axes on its own Agg-backed Figure (never touches pyplot or the global backend)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        raise ImportError("ecnas.plots needs matplotlib: pip install 'matplotlib>=3.7'.") from exc
    figure = Figure(figsize=(5.5, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    return figure.add_subplot(projection="polar" if polar else None)


def _check_runs(results: object, name: str) -> dict[str, list[np.ndarray]]:
    if not isinstance(results, Mapping) or not results:
        raise ValueError(f"`{name}` must be a non-empty mapping algorithm name → list of runs; got {results!r:.80}.")
    checked = {}
    for label, runs in results.items():
        if isinstance(runs, np.ndarray) or not isinstance(runs, Sequence) or len(runs) == 0:
            raise ValueError(f"`{name}[{label!r}]` must be a non-empty list with one entry per run (seed).")
        checked[str(label)] = list(runs)
    return checked


# ----------------------------------------------------------------------------------------- attainment
def attainment_data(
    results_by_algorithm: Mapping[str, Sequence[object]],
    *,
    percentiles: Sequence[float] = (25.0, 50.0, 75.0),
    upper: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Attainment surfaces of every algorithm as step curves closed at a common upper bound.

    Args:
        results_by_algorithm: Algorithm name → one `n_i x 2` array of objective values per run (seed).
        percentiles: Surfaces to compute (see :func:`ecnas.indicators.attainment_surfaces`).
        upper: Upper-right corner closing the curves; default: the largest value of each objective over
            every point given.

    Returns:
        ``{"upper": (2,) array, "surfaces": {name: {percentile: AttainmentSurface}},
        "curves": {name: {percentile: (x, y)}}}``; an empty surface has empty ``x``, ``y``.
    """
    results = _check_runs(results_by_algorithm, "results_by_algorithm")
    fronts = {
        name: [as_points(run, f"results_by_algorithm[{name!r}][{i}]", n_obj=2) for i, run in enumerate(runs)]
        for name, runs in results.items()
    }
    if upper is None:
        stacked = np.vstack([run for runs in fronts.values() for run in runs])
        if stacked.shape[0] == 0:
            raise ValueError("`results_by_algorithm` holds no points at all; nothing to plot.")
        bound = stacked.max(axis=0)
    else:
        bound = np.asarray(upper, dtype=float)
    surfaces = {name: indicators.attainment_surfaces(runs, percentiles) for name, runs in fronts.items()}
    curves = {name: {p: surface.staircase(bound) for p, surface in by_p.items()} for name, by_p in surfaces.items()}
    return {"upper": bound, "surfaces": surfaces, "curves": curves}


def plot_attainment(
    results_by_algorithm: Mapping[str, Sequence[object]],
    *,
    median: float = 50.0,
    band: tuple[float, float] | None = (25.0, 75.0),
    upper: Sequence[float] | None = None,
    labels: tuple[str, str] = OBJECTIVE_LABELS,
    ax: Axes | None = None,
) -> Axes:
    """Median attainment curve and inter-quartile band over seeds, one colour per algorithm.

    Args:
        results_by_algorithm: Algorithm name → list of per-run `n_i x 2` objective arrays.
        median: Percentile drawn as a line.
        band: Percentiles bounding the shaded band, or None for no band.
        upper: Upper-right corner closing the curves (default: data maximum).
        labels: Axis labels (objective 0, objective 1).
        ax: Axes to draw into; a new Agg figure when None.

    Returns:
        The Axes drawn into.
    """
    levels = (median,) if band is None else (band[0], median, band[1])
    data = attainment_data(results_by_algorithm, percentiles=levels, upper=upper)
    ax = ax if ax is not None else _new_axes()
    corner = data["upper"]
    for i, (name, curves) in enumerate(data["curves"].items()):
        colour = f"C{i % 10}"
        x, y = curves[median]
        ax.plot(x, y, color=colour, linewidth=1.6, label=f"{name} ({median:g}%)")
        if band is not None:
            (x_lo, y_lo), (x_hi, y_hi) = curves[band[0]], curves[band[1]]
            if x_lo.size:
                if not x_hi.size:  # nobody attains the pessimistic level: the band reaches the corner
                    x_hi, y_hi = corner[:1], corner[1:]
                ax.fill(
                    np.concatenate([x_lo, x_hi[::-1]]),
                    np.concatenate([y_lo, y_hi[::-1]]),
                    color=colour,
                    alpha=0.2,
                    linewidth=0,
                )
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    return ax


# ---------------------------------------------------------------------------------------------- front
def front_data(F: object, extremes: tuple[int, int] | None = None, knee: int | None = None) -> dict[str, Any]:
    """Split one run's points into front and dominated, and locate the extremes and the knee.

    Args:
        F: `n x 2` objective values of one run, `n >= 1`.
        extremes: Row indices ``(r0, r1)``; computed with :func:`ecnas.indicators.extremes` when None.
        knee: Row index of the knee; computed with :func:`ecnas.indicators.knee_point` when None.

    Returns:
        ``{"front": k x 2 sorted by objective 0, "dominated": rows not on the front, "r0", "r1", "knee":
        points (2,), "indices": (r0, r1, knee)}``.
    """
    points = as_points(F, "F", n_obj=2, min_rows=1)
    r0, r1 = indicators.extremes(points) if extremes is None else extremes
    k = indicators.knee_point(points) if knee is None else knee
    for name, idx in (("extremes[0]", r0), ("extremes[1]", r1), ("knee", k)):
        if not 0 <= int(idx) < points.shape[0]:
            raise ValueError(f"`{name}` must be a row index of `F` in [0, {points.shape[0]}); got {idx}.")
    mask = indicators.is_nondominated(points, keep_duplicates=True)
    front = points[mask]
    front = front[np.lexsort((front[:, 1], front[:, 0]))]
    return {
        "front": front,
        "dominated": points[~mask],
        "r0": points[int(r0)],
        "r1": points[int(r1)],
        "knee": points[int(k)],
        "indices": (int(r0), int(r1), int(k)),
    }


def plot_front(
    F: object,
    extremes: tuple[int, int] | None = None,
    knee: int | None = None,
    *,
    labels: tuple[str, str] = OBJECTIVE_LABELS,
    show_dominated: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """One run's Pareto front with its extremes (blue ``r_0``, green ``r_1``) and knee (yellow).

    Args:
        F: `n x 2` objective values of every architecture the run evaluated.
        extremes: Row indices ``(r0, r1)`` (default: computed).
        knee: Row index of the knee (default: computed).
        labels: Axis labels.
        show_dominated: Also draw the dominated points (light grey).
        ax: Axes to draw into; a new Agg figure when None.

    Returns:
        The Axes drawn into.
    """
    data = front_data(F, extremes, knee)
    ax = ax if ax is not None else _new_axes()
    if show_dominated and data["dominated"].size:
        ax.scatter(*data["dominated"].T, s=8, color="#C0C0C0", label="dominated")
    front = data["front"]
    ax.step(front[:, 0], front[:, 1], where="post", color="#808080", linewidth=0.8)
    ax.scatter(*front.T, s=16, color="#505050", label="Pareto front", zorder=3)
    for (name, colour), key in zip(_EXTREME_STYLE, ("r0", "r1", "knee"), strict=True):
        ax.scatter(*data[key], marker="^", s=90, color=colour, edgecolor="black", linewidth=0.6, label=name, zorder=4)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    return ax


# ---------------------------------------------------------------------------------------------- radar
def radar_data(
    rows: Mapping[str, Mapping[str, float]], ranges: Mapping[str, tuple[float, float]] | None = None
) -> dict[str, Any]:
    """Normalised radar coordinates of T, P_v, E and |θ| for a few architectures.

    Normalisation, per axis: with ``(lo, hi)`` the range of that metric, the radius is
    ``0.1 + 0.9 * (v - lo) / (hi - lo)``, so the smallest value sits on the inner ring (0.1, kept off the
    centre to stay visible) and the largest on the outer ring (1.0); all rows get 1.0 when ``hi == lo``.
    Values are raw (higher P_v and higher costs both reach further out, as in EC-NAS Figure 2).
    ``ranges`` defaults to the min/max over ``rows``; pass benchmark-wide ranges to compare plots.

    Args:
        rows: Label → mapping with ``training_time`` (s), ``validation_accuracy`` (fraction),
            ``energy_kwh`` and ``parameters`` (count; ``trainable_parameters`` is accepted too).
        ranges: Optional metric → ``(lo, hi)`` in raw units; must contain every row's value.

    Returns:
        ``{"metrics": keys, "axis_labels": labels with ranges, "angles": (4,), "radii": {label: (4,)},
        "values": {label: (4,) raw}, "ranges": {metric: (lo, hi)}}``.
    """
    if not isinstance(rows, Mapping) or not rows:
        raise ValueError(f"`rows` must be a non-empty mapping label → metrics; got {rows!r:.80}.")
    metrics = list(RADAR_METRICS)
    values: dict[str, np.ndarray] = {}
    for label, row in rows.items():
        if not isinstance(row, Mapping):
            raise TypeError(f"`rows[{label!r}]` must be a mapping metric → value; got {type(row).__name__}.")
        row = {_RADAR_ALIASES.get(k, k): v for k, v in row.items()}
        missing = [m for m in metrics if m not in row]
        if missing:
            raise ValueError(f"`rows[{label!r}]` lacks {missing}; it needs {metrics}.")
        vec = np.array([float(row[m]) for m in metrics])
        if not np.isfinite(vec).all():
            got = dict(zip(metrics, vec.tolist(), strict=True))
            raise ValueError(f"`rows[{label!r}]` must hold finite values; got {got}.")
        values[str(label)] = vec
    table = np.vstack(list(values.values()))
    lo, hi = table.min(axis=0), table.max(axis=0)
    for j, metric in enumerate(metrics):
        given = (ranges or {}).get(metric)
        if given is not None:
            g_lo, g_hi = float(given[0]), float(given[1])
            if not (g_lo <= lo[j] and hi[j] <= g_hi):
                raise ValueError(
                    f"`ranges[{metric!r}]` = {(g_lo, g_hi)} must contain every row's value "
                    f"(they span {lo[j]:g}..{hi[j]:g})."
                )
            lo[j], hi[j] = g_lo, g_hi
    span = hi - lo
    safe = np.where(span > 0, span, 1.0)
    radii = {label: np.where(span > 0, 0.1 + 0.9 * (vec - lo) / safe, 1.0) for label, vec in values.items()}
    axis_labels = []
    for j, metric in enumerate(metrics):
        name, scale = RADAR_METRICS[metric]
        axis_labels.append(f"{name}\n{lo[j] * scale:.4g}–{hi[j] * scale:.4g}")
    angles = np.linspace(0.0, 2.0 * np.pi, len(metrics), endpoint=False)
    return {
        "metrics": metrics,
        "axis_labels": axis_labels,
        "angles": angles,
        "radii": radii,
        "values": values,
        "ranges": {m: (float(lo[j]), float(hi[j])) for j, m in enumerate(metrics)},
    }


def plot_radar(
    rows: Mapping[str, Mapping[str, float]],
    *,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    colors: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Radar plot of training time, P_v, energy and parameters (see :func:`radar_data` for the scaling).

    Args:
        rows: Label → metrics, e.g. ``{"r0": {...}, "r1": {...}, "knee": {...}}``.
        ranges: Optional metric → ``(lo, hi)``.
        colors: One colour per row (default: EC-NAS blue, green, yellow, then the matplotlib cycle).
        ax: A polar Axes to draw into; a new Agg figure when None.

    Returns:
        The Axes drawn into.
    """
    if ax is not None and getattr(ax, "name", None) != "polar":
        raise ValueError(
            "`ax` must be a polar Axes (e.g. fig.add_subplot(projection='polar')); "
            f"got a {getattr(ax, 'name', type(ax).__name__)!r} Axes."
        )
    data = radar_data(rows, ranges)
    if colors is not None and len(colors) < len(data["radii"]):
        raise ValueError(f"`colors` must give one colour per row ({len(data['radii'])}); got {len(colors)}.")
    palette = list(colors) if colors is not None else [c for _, c in _EXTREME_STYLE] + [f"C{i}" for i in range(10)]
    ax = ax if ax is not None else _new_axes(polar=True)
    closed = np.append(data["angles"], data["angles"][0])
    for i, (label, radius) in enumerate(data["radii"].items()):
        colour = palette[i % len(palette)]
        r = np.append(radius, radius[0])
        ax.plot(closed, r, color=colour, linewidth=1.2, label=label)
        ax.fill(closed, r, color=colour, alpha=0.3)
    ax.set_xticks(data["angles"])
    ax.set_xticklabels(data["axis_labels"], fontsize="small")
    ax.tick_params(axis="x", pad=14)
    ax.set_ylim(0.0, 1.0)
    ax.set_yticks([0.1, 0.55, 1.0])
    ax.set_yticklabels([])
    ax.legend(loc="upper right", bbox_to_anchor=(1.25, 1.12), fontsize="small")
    return ax


# ----------------------------------------------------------------------------------------- hypervolume
def _trace_arrays(run: object, name: str, need_energy: bool) -> tuple[np.ndarray, np.ndarray | None]:
    if isinstance(run, Mapping):
        if "hypervolume" not in run:
            raise ValueError(f"`{name}` must have a 'hypervolume' entry (one value per evaluation).")
        hv, energy = run["hypervolume"], run.get("energy_kwh")
    else:
        hv, energy = run, None
    hv = as_points(np.reshape(np.asarray(hv, dtype=float), (-1, 1)), f"{name}['hypervolume']", min_rows=1)[:, 0]
    if energy is None:
        if need_energy:
            raise ValueError(f"`{name}` needs an 'energy_kwh' entry (energy of each evaluation) for x='energy'.")
        return hv, None
    spent = as_points(np.reshape(np.asarray(energy, dtype=float), (-1, 1)), f"{name}['energy_kwh']")[:, 0]
    if spent.shape != hv.shape or (spent < 0).any():
        raise ValueError(
            f"`{name}['energy_kwh']` must be {hv.size} non-negative per-evaluation energies; "
            f"got {spent.size} values, min {spent.min() if spent.size else 'n/a'}."
        )
    return hv, spent


def _value_at(hv: np.ndarray, cumulative: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Step function: the hypervolume after the last evaluation finished by each grid energy (0 before)."""
    last = np.searchsorted(cumulative, grid, side="right") - 1
    return np.where(last >= 0, hv[np.maximum(last, 0)], 0.0)


def hypervolume_data(traces: Mapping[str, Sequence[object]], x: str = "evaluations") -> dict[str, dict[str, Any]]:
    """Median and quartiles over seeds of hypervolume against evaluations or energy spent.

    A run is a 1-D hypervolume trace (one value per evaluation, e.g. from
    :func:`ecnas.indicators.hypervolume_trace`) or a mapping with ``hypervolume`` and ``energy_kwh`` (the
    simulated energy of each evaluation; it is accumulated here). Runs are put on a common grid as step
    functions: a run keeps its last value after it ends, and has hypervolume 0 before its first
    evaluation completes (energy axis).

    Args:
        traces: Algorithm name → list of runs.
        x: ``"evaluations"`` (grid 1..longest run) or ``"energy"`` (grid: every cumulative energy reached).

    Returns:
        Name → ``{"x", "median", "q25", "q75"}`` arrays of equal length and ``"n_runs"``.
    """
    if x not in ("evaluations", "energy"):
        raise ValueError(f"`x` must be 'evaluations' or 'energy'; got {x!r}.")
    results = _check_runs(traces, "traces")
    out: dict[str, dict[str, Any]] = {}
    for name, runs in results.items():
        arrays = [_trace_arrays(run, f"traces[{name!r}][{i}]", x == "energy") for i, run in enumerate(runs)]
        if x == "evaluations":
            grid = np.arange(1, max(hv.size for hv, _ in arrays) + 1, dtype=float)
            table = np.vstack([np.append(hv, np.full(grid.size - hv.size, hv[-1])) for hv, _ in arrays])
        else:
            spent = [np.cumsum(energy) for _, energy in arrays]
            grid = np.unique(np.concatenate([[0.0], *spent]))
            table = np.vstack([_value_at(hv, cum, grid) for (hv, _), cum in zip(arrays, spent, strict=True)])
        q25, median, q75 = np.percentile(table, [25.0, 50.0, 75.0], axis=0)
        out[name] = {"x": grid, "median": median, "q25": q25, "q75": q75, "n_runs": len(arrays)}
    return out


def plot_hypervolume(
    traces: Mapping[str, Sequence[object]],
    x: str = "evaluations",
    *,
    log_x: bool = False,
    ylabel: str = "Hypervolume",
    ax: Axes | None = None,
) -> Axes:
    """Hypervolume (median line, inter-quartile band over seeds) against evaluations or energy spent.

    Args:
        traces: Algorithm name → list of runs (see :func:`hypervolume_data`).
        x: ``"evaluations"`` or ``"energy"`` (simulated energy of the queried evaluations, kWh).
        log_x: Logarithmic x axis.
        ylabel: Label of the y axis.
        ax: Axes to draw into; a new Agg figure when None.

    Returns:
        The Axes drawn into.
    """
    data = hypervolume_data(traces, x)
    ax = ax if ax is not None else _new_axes()
    for i, (name, curve) in enumerate(data.items()):
        colour = f"C{i % 10}"
        ax.step(curve["x"], curve["median"], where="post", color=colour, label=f"{name} (n={curve['n_runs']})")
        ax.fill_between(curve["x"], curve["q25"], curve["q75"], step="post", color=colour, alpha=0.2, linewidth=0)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel("Evaluations" if x == "evaluations" else "Simulated energy spent E (kWh)")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return ax
