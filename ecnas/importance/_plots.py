"""Figures of an importance analysis (DSNN paper Figures 2, 3 and 5).

A bar chart per objective (Figures 2-3) and importance against the weight of the first objective (Figure 5).

Each figure has a pure ``*_data`` function (what is drawn) and a ``plot_*`` function that draws it and returns
the matplotlib ``Axes``; without ``ax`` it draws on a standalone Agg-backed Figure (no pyplot state).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ecnas.plots import _new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ecnas.importance._fanova import Importances
    from ecnas.importance._multi import WeightedImportances

__all__ = ["importance_bar_data", "plot_importance_bars", "plot_weight_curve", "weight_curve_data"]


def _standalone() -> Axes:
    ax = _new_axes()
    ax.figure.set_size_inches(7.0, 5.0)
    return ax


def importance_bar_data(importances: Importances, *, top: int | None = 12, pairs: int = 3) -> dict[str, Any]:
    """Bars, most important first: the ``top`` individual inputs, then the ``pairs`` strongest interactions.

    Returns:
        ``{"labels": [...], "mean": array, "std": array, "is_pair": bool array, "title": str}``.
    """
    ranking = importances.ranking()[: top if top is not None else None]
    labels = [name for name, _, _ in ranking]
    mean = [m for _, m, _ in ranking]
    std = [s for _, _, s in ranking]
    chosen = list(importances.pairs[: max(pairs, 0)])
    labels += [f"{a} × {b}" for a, b, _, _ in chosen]
    mean += [m for _, _, m, _ in chosen]
    std += [s for _, _, _, s in chosen]
    return {
        "labels": labels,
        "mean": np.asarray(mean, dtype=float),
        "std": np.asarray(std, dtype=float),
        "is_pair": np.array([False] * len(ranking) + [True] * len(chosen)),
        "title": importances.label,
    }


def plot_importance_bars(
    importances: Importances, *, top: int | None = 12, pairs: int = 3, title: str | None = None, ax: Axes | None = None
) -> Axes:
    """Horizontal bars of fANOVA importance (fraction of variance) with the spread over trees as error bars."""
    data = importance_bar_data(importances, top=top, pairs=pairs)
    ax = ax if ax is not None else _standalone()
    y = np.arange(len(data["labels"]))[::-1]
    colours = np.where(data["is_pair"], "#E69F00", "#0072B2")
    ax.barh(y, data["mean"], xerr=data["std"], color=colours, ecolor="0.3", capsize=2)
    ax.set_yticks(y, data["labels"], fontsize=8)
    ax.set_xlabel("fANOVA importance (fraction of variance; ±1 sd over trees)", fontsize=8)
    ax.set_xlim(left=0)
    ax.set_title(title if title is not None else f"importance w.r.t. {data['title']}", fontsize=9)
    return ax


def weight_curve_data(weighted: WeightedImportances, *, top: int = 8) -> dict[str, Any]:
    """Series of importance against the weight of the first objective, for the ``top`` inputs.

    Inputs are chosen by their largest importance over all weightings.

    Returns:
        ``{"w": k array (weight of objectives[0], sorted), "series": {name: (mean k array, std k array)},
        "objectives": (...), "kind": str}``.
    """
    if not weighted.results:
        raise ValueError("weighted importances hold no weightings; nothing to plot")
    order = np.argsort(weighted.weights[:, 0], kind="stable")
    mean, std = weighted.mean[order], weighted.std[order]
    chosen = np.argsort(-mean.max(axis=0), kind="stable")[:top]
    return {
        "w": weighted.weights[order, 0],
        "series": {weighted.names[i]: (mean[:, i], std[:, i]) for i in chosen},
        "objectives": weighted.objectives,
        "kind": weighted.kind,
    }


def plot_weight_curve(
    weighted: WeightedImportances,
    *,
    pareto: WeightedImportances | None = None,
    top: int = 8,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Figure 5: importance of each of the ``top`` inputs against the weight ``w`` of the first objective.

    Lines with a ±1 sd band over trees; with ``pareto``, the importances at the Pareto weightings as markers
    in the same colours.
    """
    data = weight_curve_data(weighted, top=top)
    ax = ax if ax is not None else _standalone()
    colours: dict[str, Any] = {}
    for name, (mean, std) in data["series"].items():
        (line,) = ax.plot(data["w"], mean, marker=".", label=name)
        colours[name] = line.get_color()
        ax.fill_between(data["w"], mean - std, mean + std, color=line.get_color(), alpha=0.15, linewidth=0)
    if pareto is not None and pareto.results:
        points = weight_curve_data(pareto, top=len(pareto.names))
        for name, colour in colours.items():
            if name in points["series"]:
                ax.plot(points["w"], points["series"][name][0], linestyle="none", marker="x", color=colour)
        ax.plot([], [], linestyle="none", marker="x", color="0.3", label="Pareto weightings")
    first, second = data["objectives"][:2]
    ax.set_xlabel(f"w (weight of {first}; {second} gets 1 − w)")
    ax.set_ylabel("fANOVA importance")
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, ncols=2)
    ax.set_title(title if title is not None else f"MO-fANOVA: {first} vs {second}", fontsize=9)
    return ax
