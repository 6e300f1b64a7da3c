"""Attainment surfaces over seeds and one run's Pareto front, optionally against the table's true front."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas import indicators
from ecnas.indicators import as_points
from ecnas.plots._common import EXTREME_STYLE, check_runs, data_limits, line_style, new_axes, scaled
from ecnas.units import energy_unit

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Axis labels of the two EC-NAS objectives (energy in the unit the caller scales to).
OBJECTIVE_LABELS: tuple[str, str] = ("1 − $P_v$", "E (kWh)")


def _finish_axes(ax: Any, shown: list[np.ndarray], scale: Any, labels: Sequence[str]) -> None:
    """Axis ranges that follow the drawn points (scaled to the display unit), labels and grid."""
    lo, hi = data_limits([scaled(p, scale) for p in shown])
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.grid(True, alpha=0.3)


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
        "curves": {name: {percentile: (x, y)}}, "points": every run's points stacked}``; an empty surface has
        empty ``x``, ``y``.
    """
    results = check_runs(results_by_algorithm, "results_by_algorithm")
    fronts = {
        name: [as_points(run, f"results_by_algorithm[{name!r}][{i}]", n_obj=2) for i, run in enumerate(runs)]
        for name, runs in results.items()
    }
    stacked = np.vstack([run for runs in fronts.values() for run in runs])
    if upper is None:
        if stacked.shape[0] == 0:
            raise ValueError("`results_by_algorithm` holds no points at all; nothing to plot.")
        bound = stacked.max(axis=0)
    else:
        bound = np.asarray(upper, dtype=float)
    surfaces = {name: indicators.attainment_surfaces(runs, percentiles) for name, runs in fronts.items()}
    curves = {name: {p: surface.staircase(bound) for p, surface in by_p.items()} for name, by_p in surfaces.items()}
    return {"upper": bound, "surfaces": surfaces, "curves": curves, "points": stacked}


def _default_units(
    points: np.ndarray, labels: tuple[str, str], scale: Sequence[float] | None
) -> tuple[tuple[str, str], Sequence[float] | None]:
    """With the default EC-NAS labels and no ``scale``, show energy (kWh) in J, Wh or kWh chosen from the data."""
    if scale is not None or tuple(labels) != OBJECTIVE_LABELS or not points.size:
        return labels, scale
    unit = energy_unit(points[:, 1])
    return (labels[0], f"E ({unit.name})"), (1.0, unit.factor)


def _draw_reference(ax: Axes, reference: object, scale: Sequence[float] | None, upper: np.ndarray) -> np.ndarray:
    front = as_points(reference, "reference", n_obj=2, min_rows=1)
    front = front[np.lexsort((front[:, 1], front[:, 0]))]
    x = np.concatenate([front[:, :1].ravel(), [upper[0]]])
    y = np.concatenate([front[:, 1], [front[-1, 1]]])
    xy = scaled(np.c_[x, y], scale)
    ax.step(
        xy[:, 0],
        xy[:, 1],
        where="post",
        color="black",
        linestyle=(0, (4, 2)),
        linewidth=1.0,
        label="true front (table)",
        zorder=10,
    )
    return front


def plot_attainment(
    results_by_algorithm: Mapping[str, Sequence[object]],
    *,
    median: float = 50.0,
    band: tuple[float, float] | None = (25.0, 75.0),
    upper: Sequence[float] | None = None,
    labels: tuple[str, str] = OBJECTIVE_LABELS,
    reference: object | None = None,
    scale: Sequence[float] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Median attainment curve and inter-quartile band over seeds, one colour and dash pattern per algorithm.

    The axes span the points of the runs (and ``reference``), not the reference point of the hypervolume.

    Args:
        results_by_algorithm: Algorithm name → list of per-run `n_i x 2` objective arrays.
        median: Percentile drawn as a line.
        band: Percentiles bounding the shaded band, or None for no band.
        upper: Upper-right corner closing the curves (default: data maximum).
        labels: Axis labels (objective 0, objective 1), in display units. With the default labels and no
            ``scale``, energy is shown in J, Wh or kWh chosen from the data.
        reference: Optional `k x 2` true front of the table, drawn dashed black.
        scale: Per-objective factors to display units (e.g. ``(1, 3.6e6)`` for kWh → J); None = as given.
        ax: Axes to draw into; a new Agg figure when None.

    Returns:
        The Axes drawn into.
    """
    levels = (median,) if band is None else (band[0], median, band[1])
    data = attainment_data(results_by_algorithm, percentiles=levels, upper=upper)
    labels, scale = _default_units(data["points"], labels, scale)
    ax = ax if ax is not None else new_axes()
    corner = data["upper"]
    for i, (name, curves) in enumerate(data["curves"].items()):
        style = line_style(i)
        x, y = curves[median]
        if x.size:
            xy = scaled(np.c_[x, y], scale)
            ax.plot(xy[:, 0], xy[:, 1], label=f"{name} ({median:g}% attainment)", **style)
        if band is not None:
            (x_lo, y_lo), (x_hi, y_hi) = curves[band[0]], curves[band[1]]
            if x_lo.size:
                if not x_hi.size:  # nobody attains the pessimistic level: the band reaches the corner
                    x_hi, y_hi = corner[:1], corner[1:]
                polygon = scaled(np.c_[np.concatenate([x_lo, x_hi[::-1]]), np.concatenate([y_lo, y_hi[::-1]])], scale)
                ax.fill(polygon[:, 0], polygon[:, 1], color=style["color"], alpha=0.15, linewidth=0)
    shown = [data["points"]]
    if reference is not None:
        shown.append(_draw_reference(ax, reference, scale, corner))
    _finish_axes(ax, shown, scale, labels)
    ax.legend(loc="upper right", fontsize="small")
    return ax


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
    reference: object | None = None,
    scale: Sequence[float] | None = None,
    extreme_labels: Sequence[str] | None = None,
    legend: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """One run's Pareto front with its extremes (blue ``r_0``, green ``r_1``) and knee (yellow).

    Args:
        F: `n x 2` objective values of every architecture the run evaluated.
        extremes: Row indices ``(r0, r1)`` (default: computed).
        knee: Row index of the knee (default: computed).
        labels: Axis labels, in display units (default: EC-NAS's, energy in a unit chosen from the data).
        show_dominated: Also draw the dominated points (light grey).
        reference: Optional `k x 2` true front of the table, drawn dashed black.
        scale: Per-objective factors to display units; None = as given.
        extreme_labels: What ``r_0``, ``r_1`` and the knee are, for the legend (e.g. "highest accuracy"; "" for
            none).
        legend: Draw the legend.
        ax: Axes to draw into; a new Agg figure when None.

    Returns:
        The Axes drawn into.
    """
    data = front_data(F, extremes, knee)
    labels, scale = _default_units(np.asarray(F, dtype=float), labels, scale)
    ax = ax if ax is not None else new_axes()
    if show_dominated and data["dominated"].size:
        ax.scatter(*scaled(data["dominated"], scale).T, s=8, color="#C0C0C0", label="dominated")
    front = scaled(data["front"], scale)
    ax.step(front[:, 0], front[:, 1], where="post", color="#808080", linewidth=0.8)
    ax.scatter(*front.T, s=16, color="#505050", label="run's front", zorder=3)
    shown = [np.asarray(F, dtype=float)]
    if reference is not None:
        shown.append(_draw_reference(ax, reference, scale, np.max(shown[0], axis=0)))
    names = [f"{n} ({x})" if x else n for (n, _), x in zip(EXTREME_STYLE, extreme_labels or [""] * 3, strict=True)]
    for i, ((name, colour), key) in enumerate(zip(EXTREME_STYLE, ("r0", "r1", "knee"), strict=True)):
        name = names[i]
        point = scaled(data[key][None, :], scale)[0]
        ax.scatter(*point, marker="^", s=90, color=colour, edgecolor="black", linewidth=0.6, label=name, zorder=12)
    _finish_axes(ax, shown, scale, labels)
    if legend:
        ax.legend(loc="upper right", fontsize="small")
    return ax
