"""Shared pieces of the figures: a fresh Agg Axes, run validation, styles that keep coinciding curves visible."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: EC-NAS colours: r_0 blue, r_1 green, knee yellow.
EXTREME_STYLE = (("$r_0$", "#00008B"), ("$r_1$", "#006400"), ("knee $r_k$", "#FFD700"))
#: One (line style, width) per algorithm: thick solid underneath, thinner dashed on top, so that curves of
#: different algorithms that coincide (e.g. two optimizers sharing a random initial population) stay visible.
LINE_STYLES: tuple[tuple[object, float], ...] = (
    ("-", 2.6),
    ((0, (5, 2)), 2.0),
    ((0, (1, 1.5)), 2.2),
    ((0, (6, 2, 1, 2)), 1.6),
    ((0, (2, 2)), 1.3),
    ("-", 0.9),
)


def line_style(i: int) -> dict[str, object]:
    """Colour, dash pattern and width of the ``i``-th algorithm's curve (later ones drawn on top)."""
    style, width = LINE_STYLES[i % len(LINE_STYLES)]
    return {"color": f"C{i % 10}", "linestyle": style, "linewidth": width, "zorder": 2 + i}


def new_figure(figsize: tuple[float, float] = (5.5, 4.5)) -> Figure:
    """A fresh Figure on its own Agg canvas (never touches pyplot or the global backend)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        raise ImportError("ecnas.plots needs matplotlib: pip install 'matplotlib>=3.7'.") from exc
    figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def new_axes(polar: bool = False) -> Axes:
    """A fresh Axes on its own Agg-backed Figure."""
    return new_figure().add_subplot(projection="polar" if polar else None)


def check_runs(results: object, name: str) -> dict[str, list[np.ndarray]]:
    """``results`` as algorithm name → list of runs; ValueError naming ``name`` otherwise."""
    if not isinstance(results, Mapping) or not results:
        raise ValueError(f"`{name}` must be a non-empty mapping algorithm name → list of runs; got {results!r:.80}.")
    checked = {}
    for label, runs in results.items():
        if isinstance(runs, np.ndarray) or not isinstance(runs, Sequence) or len(runs) == 0:
            raise ValueError(f"`{name}[{label!r}]` must be a non-empty list with one entry per run (seed).")
        checked[str(label)] = list(runs)
    return checked


def data_limits(points: Sequence[np.ndarray], margin: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper corner of every finite point given, widened by ``margin`` of the span on each side."""
    stacked = np.vstack([np.asarray(p, dtype=float).reshape(-1, 2) for p in points if np.size(p)])
    stacked = stacked[np.isfinite(stacked).all(axis=1)]
    lo, hi = stacked.min(axis=0), stacked.max(axis=0)
    span = np.where(hi > lo, hi - lo, np.maximum(np.abs(hi), 1e-12))
    return lo - margin * span, hi + margin * span


def scaled(points: object, scale: Sequence[float] | None) -> np.ndarray:
    """`n x 2` points multiplied column-wise by ``scale`` (display units); unchanged when None."""
    array = np.asarray(points, dtype=float)
    return array if scale is None else array * np.asarray(scale, dtype=float)
