"""Hypervolume over a run — against evaluations or simulated energy — median and quartiles over seeds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas.indicators import as_points
from ecnas.plots._common import check_runs, line_style, new_axes
from ecnas.units import DisplayUnit

if TYPE_CHECKING:
    from matplotlib.axes import Axes


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
        x: ``"evaluations"`` (grid 1..longest run) or ``"energy"`` (grid: every cumulative energy reached, kWh).

    Returns:
        Name → ``{"x", "median", "q25", "q75"}`` arrays of equal length and ``"n_runs"``.
    """
    if x not in ("evaluations", "energy"):
        raise ValueError(f"`x` must be 'evaluations' or 'energy'; got {x!r}.")
    results = check_runs(traces, "traces")
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
    normaliser: float | None = None,
    energy_unit: DisplayUnit | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Hypervolume (median line, inter-quartile band over seeds) against evaluations or energy spent.

    Each algorithm gets its own colour and dash pattern (thick solid first, thinner dashed on top), so
    algorithms whose curves coincide remain distinguishable. The y axis never uses an offset label.

    Args:
        traces: Algorithm name → list of runs (see :func:`hypervolume_data`).
        x: ``"evaluations"`` or ``"energy"`` (simulated energy of the queried evaluations).
        log_x: Logarithmic x axis.
        ylabel: Label of the y axis.
        normaliser: Divide every hypervolume by it (e.g. the true front's hypervolume: the curve becomes the
            fraction of the best attainable); the y axis then spans 0–1.
        energy_unit: Display unit of the energy axis (default kWh).
        ax: Axes to draw into; a new Agg figure when None.

    Returns:
        The Axes drawn into.
    """
    if normaliser is not None and not (np.isfinite(normaliser) and normaliser > 0):
        raise ValueError(f"`normaliser` must be a finite number > 0, got {normaliser!r}.")
    data = hypervolume_data(traces, x)
    unit = energy_unit or DisplayUnit("kWh", 1.0)
    factor = 1.0 / normaliser if normaliser else 1.0
    ax = ax if ax is not None else new_axes()
    for i, (name, curve) in enumerate(data.items()):
        style = line_style(i)
        grid = curve["x"] * (unit.factor if x == "energy" else 1.0)
        ax.step(grid, curve["median"] * factor, where="post", label=f"{name} (n={curve['n_runs']})", **style)
        ax.fill_between(
            grid,
            curve["q25"] * factor,
            curve["q75"] * factor,
            step="post",
            color=style["color"],
            alpha=0.12,
            linewidth=0,
        )
    if log_x:
        ax.set_xscale("log")
    if normaliser:
        ax.set_ylim(0.0, 1.02)
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    ax.set_xlabel("Evaluations (table queries)" if x == "evaluations" else f"Simulated energy spent E ({unit.name})")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    # Below the axes: the curves rise into every corner of a normalised plot, a legend inside would hide one.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize="small")
    return ax
