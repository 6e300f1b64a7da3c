"""Build stage *fill*: predict every cell and budget of the space and write a complete ecnas table.

Rules of the filled table:

- features are EC-NAS's 36 values, whose parameter count is that of the DEFAULT NB101 network
  (what the surrogate was trained on); the table's ``trainable_parameters`` column is the count of
  the network that was actually trained (the profile's network, from the surrogate file's
  provenance, or ``network_options``);
- predicted cells hold the surrogate's ensemble mean in repeat 0 and NaN in the other repeats
  (``Benchmark.query(repeat=None)`` takes the NaN-mean over repeats, so it returns the prediction);
  the ensemble's calibrated standard deviation goes to ``uncertainty``;
- measured cells keep their measured repeats as they are, flagged ``measured``; a measured cell's
  budget without measurements gets the budget-scaling rule applied to its own measured value
  (e.g. 4-epoch energy × 108 / 4), like the predicted cells;
- ``surrogate_values`` holds the surrogate's value of every row: the prediction for predicted
  rows, and for measured rows the **out-of-fold** prediction of the cross-fitted ensemble (from
  the member that never trained on the row; NaN where the bundle has none); ``uncertainty`` of a
  measured row is the calibrated standard deviation of that out-of-fold value;
- budgets without their own fit follow :data:`ecnas.surrogate.BUDGET_SCALING`;
- accuracies are clipped to [0, 1]; times and energies are physical quantities and stay strictly
  positive: a non-positive prediction (the model extrapolating) is raised to the smallest positive
  prediction of the same metric and budget, never left at 0 (a free cell would look optimal);
- a run's total energy includes its training, so where the two independent surrogates disagree
  ``total_energy_kwh`` is raised to ``energy_kwh``; how many values each rule touched is recorded in the
  provenance (``surrogate.adjustments``);
- the surrogate's weights are copied into the table's ``/surrogate`` group, its settings and held-out
  metrics into the provenance.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ecnas.build.fit import measured_values
from ecnas.metrics import FRACTIONS, METRICS
from ecnas.surrogate import MeasuredValues, SurrogateBundle

__all__ = ["fill_table", "predict_space"]

_ACCURACIES = FRACTIONS
_INTERNAL_KEYS = ("budget_scaling",)


def _clip(metric: str, values: np.ndarray) -> np.ndarray:
    return np.clip(values, 0.0, 1.0) if metric in _ACCURACIES else np.maximum(values, 0.0)


def _make_physical(means: dict[str, np.ndarray]) -> dict[str, int]:
    """Keep predicted times/energies > 0 and total energy >= training energy (in place); count the fixes."""
    adjustments: dict[str, int] = {}
    for metric, values in means.items():
        if metric in _ACCURACIES:
            continue
        low = values <= 0
        if low.any():
            positive = np.where(values > 0, values, np.inf).min(axis=0)
            values[:] = np.where(low, positive[None, :], values)
            adjustments[f"{metric}: non-positive raised to smallest positive prediction"] = int(low.sum())
    if "energy_kwh" in means and "total_energy_kwh" in means:
        below = means["total_energy_kwh"] < means["energy_kwh"]
        if below.any():
            np.maximum(means["total_energy_kwh"], means["energy_kwh"], out=means["total_energy_kwh"])
            adjustments["total_energy_kwh: raised to energy_kwh"] = int(below.sum())
    return adjustments


def _check_finite(metric: str, budget: int, mean: np.ndarray, std: np.ndarray) -> None:
    """A surrogate predicting NaN or inf is broken (or tampered with): refuse it rather than fill with it."""
    bad = ~(np.isfinite(mean) & np.isfinite(std))
    if bad.any():
        from ecnas.errors import TableFormatError

        raise TableFormatError(
            f"the surrogate of {metric} at budget {budget} predicts NaN or inf for {int(bad.sum())} of {bad.size} "
            "cells; refusing to fill a table with them (refit with `ecnas build fit`)"
        )


def predict_space(
    bundle: SurrogateBundle, features: np.ndarray | Mapping[str, np.ndarray], *, progress: bool = False
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every fitted metric at every budget of ``bundle`` for `N x d` features.

    ``features``: one array for a bundle of one feature set, or feature set → array (every set of
    :attr:`SurrogateBundle.feature_sets`). Each fitted model runs once; budgets without their own model
    reuse the prediction of their source budget with the scaling rule.

    Returns:
        ``(means, stds)``: metric → `N x B` arrays, clipped to the metric's range.
    """
    means: dict[str, np.ndarray] = {}
    stds: dict[str, np.ndarray] = {}
    tasks = [(metric, budget) for metric in bundle.metrics for budget in bundle.fitted_budgets(metric)]
    predicted: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    for metric, budget in tqdm(tasks, desc="predict", unit="model", disable=not progress):
        inputs = features[bundle.feature_set_of(metric, budget)] if isinstance(features, Mapping) else features
        predicted[(metric, budget)] = bundle.models[(metric, budget)].predict(inputs, return_std=True)
        _check_finite(metric, budget, *predicted[(metric, budget)])
    n_rows = len(next(iter(features.values()))) if isinstance(features, Mapping) else len(features)
    for metric in bundle.metrics:
        mean = np.empty((n_rows, len(bundle.budgets)))
        std = np.empty_like(mean)
        for column, budget in enumerate(bundle.budgets):
            source, rule = bundle.source(metric, budget)  # type: ignore[misc]
            mean[:, column] = bundle.scale(predicted[(metric, source)][0], rule, source, budget)
            std[:, column] = bundle.scale(predicted[(metric, source)][1], rule, source, budget)
        means[metric], stds[metric] = _clip(metric, mean), std
    return means, stds


def _apply_out_of_fold(
    bundle: SurrogateBundle,
    measured: MeasuredValues,
    rows: np.ndarray,
    served: dict[str, np.ndarray],
    uncertainty: dict[str, np.ndarray],
) -> None:
    """Measured rows' surrogate values and std (in place): out-of-fold, budget-scaled; NaN where none."""
    for metric in served:
        served[metric][rows] = np.nan
        uncertainty[metric][rows] = np.nan
        oof, oof_std = measured.out_of_fold.get(metric), measured.out_of_fold_std.get(metric)
        if oof is None or oof_std is None:
            continue
        for column, budget in enumerate(bundle.budgets):
            found = bundle.source(metric, budget)
            if found is None:
                continue
            source, rule = found
            index = bundle.budgets.index(source)
            served[metric][rows, column] = _clip(metric, bundle.scale(oof[:, index], rule, source, budget))
            uncertainty[metric][rows, column] = bundle.scale(oof_std[:, index], rule, source, budget)


def _apply_measured(
    bundle: SurrogateBundle,
    measured: MeasuredValues,
    rows: np.ndarray,
    metrics: dict[str, np.ndarray],
) -> None:
    """Overwrite measured cells (in place) with their repeats; unmeasured budgets by the scaling rule."""
    budgets = bundle.budgets
    for metric in METRICS:
        values = measured.metrics.get(metric)
        if values is None:
            continue
        target = metrics[metric]
        for column, budget in enumerate(budgets):
            own = values[:, column, :]
            has = np.isfinite(own).any(axis=1)
            found = bundle.source(metric, budget)
            if found is not None and found[1] != "fitted":
                source, rule = found
                scaled = bundle.scale(values[:, budgets.index(source), :], rule, source, budget)
                use = ~has & np.isfinite(scaled).any(axis=1)
                own = np.where(use[:, None], scaled, own)
                has = has | use
            target[rows[has], column, :] = _clip(metric, own[has])


def _provenance(
    bundle: SurrogateBundle,
    features_description: str,
    surrogate_path: Path,
    n_cells: int,
    n_measured: int,
    options: Mapping[str, int] | None,
    extra: Mapping[str, Any] | None,
    adjustments: Mapping[str, int],
) -> dict[str, Any]:
    base = {key: value for key, value in bundle.provenance.items() if key not in _INTERNAL_KEYS}
    return {
        **base,
        "network": dict(options) if options else None,
        "sample_fraction": n_measured / n_cells,
        "num_measured_cells": n_measured,
        "surrogate": {
            "model": "MLPSurrogate",
            "file": surrogate_path.name,
            "features": features_description,
            "budget_scaling": bundle.scaling_summary(),
            "feature_set": bundle.feature_set,
            "repeats": "predicted cells: repeat 0 = ensemble mean, other repeats NaN; uncertainty = calibrated std",
            "surrogate_values": (
                "predicted rows: the prediction; measured rows: the cross-fitted out-of-fold prediction "
                "(from ensemble members that never trained on the row), NaN where none"
            ),
            "calibration": calibration_summary(bundle),
            "models": bundle.model_summary(),
            "adjustments": dict(adjustments),
        },
        **dict(extra or {}),
    }


def calibration_summary(bundle: SurrogateBundle) -> dict[str, Any]:
    """Per ``metric@budget``: the std calibration, its coverage and the 95% interval rule (for provenance).

    Predicted rows' std is the ensemble mean's (split-conformal: ``value ± ensemble_z95·std`` is the 95%
    interval); measured rows' out-of-fold std is one held-out member's (``value ± 1.96·std``).
    """
    summary: dict[str, Any] = {}
    for (metric, budget), model in sorted(bundle.models.items()):
        calibration = model.metadata_.get("calibration")
        oof = model.metadata_.get("out_of_fold") or {}
        z95 = (calibration or {}).get("ensemble_z95")
        summary[f"{metric}@{budget}"] = {
            "calibration": calibration,
            "out_of_fold_coverage": oof.get("coverage"),
            "held_out_coverage": (calibration or {}).get("held_out_coverage"),
            "nominal": {"68": 0.6827, "95": 0.95},
            "interval_95": {
                "predicted": f"value +- {z95 if z95 is not None else 1.96:.4g} * std",
                "out-of-fold": "value +- 1.96 * std",
            },
        }
    return summary


def fill_contents(
    bundle: SurrogateBundle,
    measured: MeasuredValues | None,
    space: Any,
    hash_bytes: np.ndarray,
    columns: dict[str, np.ndarray],
    *,
    options: Mapping[str, int] | None,
    provenance: Mapping[str, Any] | None = None,
    surrogate_name: str = "surrogates.h5",
    progress: bool = False,
) -> Any:
    """Every row of ``hash_bytes``/``columns`` (the space, sorted by key) filled: a :class:`~ecnas.table.TableContents`.

    Raises:
        ValueError: a measured cell is not among the rows, or its parameter count disagrees with ``options``.
    """
    from ecnas.spaces.nb101.lookup import HashIndex
    from ecnas.table import SOURCE_MEASURED, SOURCE_SURROGATE, TableContents

    n_cells = len(hash_bytes)
    default_params = space.num_parameters(columns)
    names = set(bundle.feature_sets.values())
    features = {name: bundle.features(space, columns, default_params, name) for name in names}
    try:
        trained_params = space.num_parameters(columns, **options) if options else default_params
    except TypeError as error:  # unknown or malformed keys in the surrogate file's "network" provenance
        raise ValueError(f"network options {options!r} are invalid ({error}); pass network_options") from None
    means, stds = predict_space(bundle, features, progress=progress)
    adjustments = _make_physical(means)
    repeats = measured.repeats if measured is not None and len(measured) else 1
    budgets = bundle.budgets
    metrics = {name: np.full((n_cells, len(budgets), repeats), np.nan) for name in METRICS}
    for name, mean in means.items():
        metrics[name][:, :, 0] = mean
    served = {name: mean.copy() for name, mean in means.items()}
    source = np.full(n_cells, SOURCE_SURROGATE, dtype=np.uint8)
    n_measured = 0
    if measured is not None and len(measured):
        rows = HashIndex(hash_bytes).find(measured.hashes)  # the enumerated space is sorted by key
        missing = rows < 0
        if missing.any():
            raise ValueError(
                f"{int(missing.sum())} measured cell(s) (e.g. {measured.hashes[missing][0].decode()}) are not in "
                f"the space with max_vertices={getattr(space, 'max_vertices', '?')}; raise max_vertices"
            )
        wrong = trained_params[rows] != measured.trainable_parameters
        if wrong.any():
            raise ValueError(
                f"{int(wrong.sum())} measured cell(s) report trainable_parameters different from the network "
                f"options {options or 'NB101 default'} (e.g. {int(measured.trainable_parameters[wrong][0])} vs "
                f"{int(trained_params[rows][wrong][0])}); pass the trained network's network_options"
            )
        _apply_measured(bundle, measured, rows, metrics)
        _apply_out_of_fold(bundle, measured, rows, served, stds)
        source[rows] = SOURCE_MEASURED
        n_measured = len(measured)
    return TableContents(
        hashes=hash_bytes,
        budgets=budgets,
        repeats=repeats,
        space=space.name,
        columns=columns,
        trainable_parameters=np.asarray(trained_params, dtype=np.int64),
        source=source,
        metrics=metrics,
        uncertainty=stds,
        surrogate_values=served,
        provenance=_provenance(
            bundle,
            _features_description(space, bundle.feature_set),
            Path(surrogate_name),
            n_cells,
            n_measured,
            options,
            provenance,
            adjustments,
        ),
    )


def _features_description(space: Any, feature_set: str) -> str:
    if feature_set.startswith("mixed: "):
        return f"per metric, feature sets of space {space.name!r} (SearchSpace.surrogate_features): {feature_set[7:]}"
    if feature_set == "features":
        return space.features_description
    return f"feature set {feature_set!r} of space {space.name!r} (SearchSpace.surrogate_features)"


def fill_table(
    surrogate_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    max_vertices: int = 7,
    records: Sequence[Mapping[str, Any]] | None = None,
    provenance: Mapping[str, Any] | None = None,
    network_options: Mapping[str, int] | None = None,
    progress: bool = True,
) -> Path:
    """Write a complete table: every cell of the space at every budget, measured or predicted.

    Args:
        surrogate_path: the file written by :func:`ecnas.build.fit.fit_surrogates` (or ``ecnas build fit``).
        out_path: the table to write (replaced atomically).
        max_vertices: for NB101, the size of the space (7 = all 423,624 cells).
        records: measured records to keep (default: the measured values stored in the surrogate file).
        provenance: entries overriding the provenance copied from the surrogate file.
        network_options: options of the trained network for the ``trainable_parameters`` column
            (default: the surrogate file's ``network`` provenance; the NB101 default network if absent).
        progress: show progress bars.

    Returns:
        The written table's path.

    Raises:
        TableNotFoundError, TableFormatError: the surrogate file is missing or corrupt.
        ValueError: a measured cell is not in the space (``max_vertices`` too small) or bad arguments.
    """
    from ecnas.build.plan import build_space
    from ecnas.table import write_table

    surrogate_path = Path(surrogate_path)
    bundle = SurrogateBundle.load(surrogate_path)
    measured = measured_values(records, bundle.budgets)[0] if records is not None else bundle.measured
    space = build_space(measured.space if measured is not None else "nb101", max_vertices)
    if not space.can_enumerate:
        raise space.unsupported(
            "cannot be filled: it is not finite, so a table of it holds its measured configurations only"
        )
    hash_bytes, columns = space.enumerated_columns()
    options = dict(network_options) if network_options is not None else bundle.provenance.get("network")
    contents = fill_contents(
        bundle, measured, space, hash_bytes, columns, options=options, provenance=provenance,
        surrogate_name=surrogate_path.name, progress=progress,
    )  # fmt: skip
    return write_table(out_path, contents, extras=lambda h5: bundle.write_models(h5.create_group("surrogate")))
