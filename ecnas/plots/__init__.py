"""Figures of an optimizer comparison, in the style of EC-NAS Figure 2 (all objectives minimised).

Each figure has a pure ``*_data`` function that computes what is drawn (testable, reusable in tables) and a
``plot_*`` function that draws it and returns the matplotlib ``Axes``. Every ``plot_*`` accepts ``ax``; without
one it creates a standalone ``Figure`` on the non-interactive Agg canvas (no display, no pyplot state), so
save it with ``ax.figure.savefig(path)``. In a notebook, pass ``ax`` from ``plt.subplots()`` instead.

- :func:`plot_attainment`: median attainment surface and inter-quartile band over seeds, per algorithm.
- :func:`plot_front`: one run's points, its Pareto front, the extremes ``r_0``, ``r_1`` and the knee.
- :func:`plot_radar`: T, P_v, E, |θ| of chosen architectures (extremes and knee) on normalised axes.
- :func:`plot_hypervolume`: hypervolume against evaluations or against simulated energy spent.

Values are plotted in the units given; ``scale=`` (and ``energy_unit=``) convert to display units, e.g. kWh to
J or Wh with :func:`ecnas.units.energy_unit`. :mod:`ecnas.comparison_figures` composes them into the figures of
``ecnas compare`` (table, budget and view in every title; the table's true front as reference).
"""

from __future__ import annotations

from ecnas.plots._common import new_axes, new_figure
from ecnas.plots._fronts import OBJECTIVE_LABELS, attainment_data, front_data, plot_attainment, plot_front
from ecnas.plots._hypervolume import hypervolume_data, plot_hypervolume
from ecnas.plots._radar import RADAR_METRICS, plot_radar, radar_data

__all__ = [
    "OBJECTIVE_LABELS",
    "RADAR_METRICS",
    "attainment_data",
    "front_data",
    "hypervolume_data",
    "new_axes",
    "new_figure",
    "plot_attainment",
    "plot_front",
    "plot_hypervolume",
    "plot_radar",
    "radar_data",
]
