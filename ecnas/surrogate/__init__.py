"""The MLP surrogate: EC-NAS's energy model (and any per-budget metric) from 36 cell features.

- :class:`MLPSurrogate` — fit / predict / save / load (HDF5, no pickle),
- :data:`ECNAS_BASELINE` — EC-NAS's original settings, for comparison,
- :class:`SurrogateBundle` — one model per (metric, measured budget) plus the budget-scaling rule
  (:data:`BUDGET_SCALING`) for the others, with the measured values, stored in one HDF5 file,
- :func:`regression_metrics` — Pearson, MAE, Kendall tau,
- :class:`StdCalibration`, :func:`fit_std_calibration`, :func:`coverage` — the calibrated standard
  deviation (scale and floor fitted on out-of-fold residuals) and its coverage,
- :func:`read_measurements_csv` — cells and measured values from EC-NAS's CSV layout.
"""

from __future__ import annotations

from ecnas.surrogate._bundle import BUDGET_SCALING, MeasuredValues, SurrogateBundle
from ecnas.surrogate._calibration import (
    CALIBRATION_METHODS,
    CALIBRATION_SOURCES,
    StdCalibration,
    conformal_quantile,
    coverage,
    fit_std_calibration,
    split_conformal,
)
from ecnas.surrogate._data import MeasuredCells, cell_features, read_measurements_csv
from ecnas.surrogate._metrics import regression_metrics
from ecnas.surrogate._mlp import ECNAS_BASELINE, MLPSurrogate

__all__ = [
    "BUDGET_SCALING",
    "CALIBRATION_METHODS",
    "CALIBRATION_SOURCES",
    "ECNAS_BASELINE",
    "MLPSurrogate",
    "MeasuredCells",
    "MeasuredValues",
    "StdCalibration",
    "SurrogateBundle",
    "cell_features",
    "conformal_quantile",
    "coverage",
    "fit_std_calibration",
    "read_measurements_csv",
    "regression_metrics",
    "split_conformal",
]
