"""Radar plot of training time, P_v, energy and parameters of chosen architectures (EC-NAS Figure 2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas.plots._common import EXTREME_STYLE, new_axes
from ecnas.units import DisplayUnit, energy_unit, format_value, parameter_unit

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Radar axes: row key → (label, unit chooser: None = shown as stored).
RADAR_METRICS: dict[str, tuple[str, Any]] = {
    "training_time": ("T (s)", None),
    "validation_accuracy": ("$P_v$", None),
    "energy_kwh": ("E", energy_unit),
    "parameters": ("|θ|", parameter_unit),
}
_ALIASES = {"trainable_parameters": "parameters"}


def _axis_label(metric: str, lo: float, hi: float) -> str:
    name, chooser = RADAR_METRICS[metric]
    unit = chooser([lo, hi]) if chooser is not None else DisplayUnit("", 1.0)
    if unit.name:
        name = f"{name} ({unit.name})"
    return f"{name}\n{format_value(lo * unit.factor, 3)}–{format_value(hi * unit.factor, 3)}"


def radar_data(
    rows: Mapping[str, Mapping[str, float]], ranges: Mapping[str, tuple[float, float]] | None = None
) -> dict[str, Any]:
    """Normalised radar coordinates of T, P_v, E and |θ| for a few architectures.

    Normalisation, per axis: with ``(lo, hi)`` the range of that metric, the radius is
    ``0.1 + 0.9 * (v - lo) / (hi - lo)``, so the smallest value sits on the inner ring (0.1, kept off the
    centre to stay visible) and the largest on the outer ring (1.0); all rows get 1.0 when ``hi == lo``.
    Values are raw (higher P_v and higher costs both reach further out, as in EC-NAS Figure 2).
    ``ranges`` defaults to the min/max over ``rows``, which puts the smallest row at the centre by
    construction: pass the table's ranges (as :func:`ecnas.compare` does) to read positions as "where in the
    table".

    Args:
        rows: Label → mapping with ``training_time`` (s), ``validation_accuracy`` (fraction),
            ``energy_kwh`` and ``parameters`` (count; ``trainable_parameters`` is accepted too).
        ranges: Optional metric → ``(lo, hi)`` in raw units; must contain every row's value.

    Returns:
        ``{"metrics": keys, "axis_labels": labels with ranges in display units, "angles": (4,),
        "radii": {label: (4,)}, "values": {label: (4,) raw}, "ranges": {metric: (lo, hi)}}``.
    """
    if not isinstance(rows, Mapping) or not rows:
        raise ValueError(f"`rows` must be a non-empty mapping label → metrics; got {rows!r:.80}.")
    metrics = list(RADAR_METRICS)
    values: dict[str, np.ndarray] = {}
    for label, row in rows.items():
        if not isinstance(row, Mapping):
            raise TypeError(f"`rows[{label!r}]` must be a mapping metric → value; got {type(row).__name__}.")
        row = {_ALIASES.get(k, k): v for k, v in row.items()}
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
        given = (ranges or {}).get(metric) or (ranges or {}).get({v: k for k, v in _ALIASES.items()}.get(metric, ""))
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
    angles = np.linspace(0.0, 2.0 * np.pi, len(metrics), endpoint=False)
    return {
        "metrics": metrics,
        "axis_labels": [_axis_label(m, float(lo[j]), float(hi[j])) for j, m in enumerate(metrics)],
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
    legend: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Radar plot of training time, P_v, energy and parameters (see :func:`radar_data` for the scaling).

    Axis names and ranges are written outside the outer ring, aligned away from it; the legend sits below
    the plot, clear of every axis.

    Args:
        rows: Label → metrics, e.g. ``{"r0": {...}, "r1": {...}, "knee": {...}}``.
        ranges: Optional metric → ``(lo, hi)`` (e.g. the table's range of each metric).
        colors: One colour per row (default: EC-NAS blue, green, yellow, then the matplotlib cycle).
        legend: Draw the legend (below the plot).
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
    palette = list(colors) if colors is not None else [c for _, c in EXTREME_STYLE] + [f"C{i}" for i in range(10)]
    ax = ax if ax is not None else new_axes(polar=True)
    ax.set_theta_offset(np.pi / 2)  # first axis (T) at the top, then clockwise
    ax.set_theta_direction(-1)
    closed = np.append(data["angles"], data["angles"][0])
    for i, (label, radius) in enumerate(data["radii"].items()):
        colour = palette[i % len(palette)]
        r = np.append(radius, radius[0])
        # Later rows thinner and dashed: a knee that coincides with an extreme leaves both visible.
        width, dash = max(2.8 - 0.8 * i, 1.0), "-" if i == 0 else (0, (4, 1.5 + i))
        ax.plot(closed, r, color=colour, linewidth=width, linestyle=dash, label=label, marker="o", markersize=3)
        ax.fill(closed, r, color=colour, alpha=0.2)
    ax.set_xticks(data["angles"])
    ax.set_xticklabels([])
    for angle, text in zip(data["angles"], data["axis_labels"], strict=True):
        x = np.sin(angle)  # horizontal position after the offset/direction above
        y = np.cos(angle)
        ha = "center" if abs(x) < 0.3 else ("left" if x > 0 else "right")
        va = "center" if abs(y) < 0.3 else ("bottom" if y > 0 else "top")
        ax.text(angle, 1.1, text, ha=ha, va=va, fontsize="small", linespacing=1.1)
    ax.set_ylim(0.0, 1.0)
    ax.set_yticks([0.1, 0.55, 1.0])
    ax.set_yticklabels([])
    if legend:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=min(3, len(data["radii"])), fontsize="small")
    return ax
