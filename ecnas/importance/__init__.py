"""Which design decisions matter for which objective: fANOVA and MO-fANOVA over any search space.

Functional ANOVA (Hutter et al., 2014) fits a random forest to the response over the space's ConfigSpace
encoding and splits the forest's variance into the shares explained by each hyperparameter and each pair.
The multi-objective extension (DeepCAVE's MO-fANOVA, used in Section 5.2.2 / Figure 5 of the DSNN paper)
repeats it on weighted sums of the min-max normalised objectives.

>>> from ecnas import importance
>>> data = importance.from_table("table.h5", budget=4, samples=2000, seed=0)   # doctest: +SKIP
>>> report = importance.analyse(data, weights=11)                              # doctest: +SKIP
>>> report.per_objective["energy_kwh"].ranking()[:3]                           # doctest: +SKIP
>>> importance.write_report(report, "out/")                                    # doctest: +SKIP

Inputs: :func:`from_table` (sampled rows at a budget), :func:`from_result` (optimizer runs' histories),
:func:`from_configs` (any configurations and objective matrix, e.g. a DSNN history). The forest and main
effects come from optuna's fANOVA (optional extra: ``pip install 'ecnas[importance]'``); pairwise interactions
are computed exactly on the same trees (:mod:`ecnas.importance._marginals`). See ``docs/importance.md``.
"""

from __future__ import annotations

from ecnas.importance._data import DEFAULT_SAMPLES, VIEWS, ImportanceData, from_configs, from_result, from_table
from ecnas.importance._derived import NB101_DERIVED, derived_design
from ecnas.importance._design import Design, encode_configurations, numeric_design
from ecnas.importance._fanova import DEFAULT_MAX_DEPTH, DEFAULT_TREES, Importances, fanova
from ecnas.importance._multi import (
    WeightedImportances,
    normalise,
    pareto_weightings,
    weight_grid,
    weighted_importances,
)
from ecnas.importance._plots import importance_bar_data, plot_importance_bars, plot_weight_curve, weight_curve_data
from ecnas.importance._report import ImportanceReport, analyse, top_inputs, write_report
from ecnas.importance._stability import stability_curve

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_SAMPLES",
    "DEFAULT_TREES",
    "NB101_DERIVED",
    "VIEWS",
    "Design",
    "ImportanceData",
    "ImportanceReport",
    "Importances",
    "WeightedImportances",
    "analyse",
    "derived_design",
    "encode_configurations",
    "fanova",
    "from_configs",
    "from_result",
    "from_table",
    "importance_bar_data",
    "normalise",
    "numeric_design",
    "pareto_weightings",
    "plot_importance_bars",
    "plot_weight_curve",
    "stability_curve",
    "top_inputs",
    "weight_curve_data",
    "weight_grid",
    "weighted_importances",
    "write_report",
]
