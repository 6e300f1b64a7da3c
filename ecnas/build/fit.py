"""Build stage *fit*: one cross-fitted MLP surrogate per measured (metric, budget) from the builder's records.

Records are plain dicts (one per cell, budget and repeat, see :data:`ecnas.build.records.RECORD_KEYS`).
Per (metric, budget) the target of a cell is the mean over its measured repeats.

Cross-fitting (the default, ``holdout="folds"`` of :class:`~ecnas.surrogate.MLPSurrogate`): the
measured cells are split into as many folds as the ensemble has members and member k never sees
fold k. One fit thus gives every measured cell an **out-of-fold** prediction (from the member that
never trained on it) — the held-out quality figures (Pearson, MAE, Kendall tau, coverage) and the
surrogate's value of measured rows in a filled table (``surrogate_values``) — and the residuals the
standard deviation is calibrated on (:class:`~ecnas.surrogate.StdCalibration`). The whole ensemble
predicts the unmeasured cells. A separate held-out split (``holdout_fraction > 0``, EC-NAS's way)
remains available and costs a second fit. Budgets without their own measurements follow
:data:`ecnas.surrogate.BUDGET_SCALING`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ecnas.build.records import records_provenance
from ecnas.errors import InvalidConfigError
from ecnas.metrics import FRACTIONS, METRICS
from ecnas.spaces import SearchSpace, get_space
from ecnas.surrogate import (
    BUDGET_SCALING,
    MeasuredValues,
    MLPSurrogate,
    SurrogateBundle,
    coverage,
    regression_metrics,
)

__all__ = [
    "CROSSFIT_SETTINGS", "METRICS", "MIN_CELLS_HOLDOUT", "MIN_CELLS_TO_FIT", "fit_measured", "fit_surrogates",
    "measured_values", "record_space",
]  # fmt: skip

#: Surrogate settings of the builder on top of :class:`~ecnas.surrogate.MLPSurrogate`'s defaults:
#: cross-fitting folds (no early stopping, so a cosine decay to zero over the 200 epochs) and the
#: scale-and-floor calibration of the standard deviation, with split-conformal multipliers for the
#: ensemble mean from a second ensemble fitted without 20% of the cells (``benchmarks/bench_calibration.py``).
CROSSFIT_SETTINGS: dict[str, Any] = {
    "holdout": "folds", "lr_schedule": "cosine", "calibration": "scale-floor", "calibration_fraction": 0.2,
}  # fmt: skip

#: Fewest measured cells a (metric, budget) needs to get a model.
MIN_CELLS_TO_FIT = 8
#: Fewest measured cells for a held-out quality estimate (below: the model is fitted, not scored).
MIN_CELLS_HOLDOUT = 25
_ACCURACIES = FRACTIONS


def _config(space: SearchSpace, record: Mapping[str, Any], index: int) -> Any:
    try:
        config = space.config_from_json(record)
    except InvalidConfigError as error:
        raise ValueError(
            f"records[{index}] (hash {record.get('hash')!r}) holds an invalid {space.name} configuration: {error}"
        ) from None
    if space.key(config) != record["hash"]:
        raise ValueError(
            f"records[{index}]: hash {record['hash']!r} does not match its {' and '.join(space.config_fields)} "
            f"(key {space.key(config)}); the record is corrupt"
        )
    return config


def record_space(records: Sequence[Mapping[str, Any]]) -> SearchSpace:
    """The search space records were measured in (their ``space`` field; records without one are ``nb101``).

    Raises:
        ValueError: records of several spaces, or a space not registered here.
    """
    names = {str(record.get("space", "nb101")) for record in records}
    if len(names) > 1:
        raise ValueError(f"records come from several search spaces {sorted(names)}; fit each space separately")
    return get_space(names.pop() if names else "nb101")


def _value(record: Mapping[str, Any], metric: str, index: int) -> float:
    value = record.get(metric)
    if value is None:
        return float("nan")
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"records[{index}]: {metric} must be a number or null, got {value!r}") from None
    if np.isinf(number):
        raise ValueError(f"records[{index}]: {metric} is infinite")
    low, high = _PLAUSIBLE.get(metric, (-np.inf, np.inf))
    if not low <= number <= high:  # NaN passes: it means "not measured"
        raise ValueError(
            f"records[{index}]: {metric} = {number!r} is outside [{low:g}, {high:g}]; a measurement cannot give "
            "it (a corrupt or hand-edited record?)"
        )
    return number


#: Range a measured value can take: fractions for accuracies; seconds and kWh >= 0, below a century of training.
_PLAUSIBLE: dict[str, tuple[float, float]] = {
    "train_accuracy": (0.0, 1.0),
    "validation_accuracy": (0.0, 1.0),
    "test_accuracy": (0.0, 1.0),
    "training_time": (0.0, 3.2e9),
    "energy_kwh": (0.0, 1e9),
    "total_energy_kwh": (0.0, 1e9),
}


def measured_values(records: Sequence[Mapping[str, Any]], budgets: Sequence[int]) -> tuple[MeasuredValues, list[Any]]:
    """Records → table-layout arrays (`n x B x R` per metric, NaN where absent) and the configurations.

    Raises:
        ValueError: a record misses a key, holds an invalid configuration, a hash not matching it, a
            budget not in ``budgets`` or a negative repeat, or two records share (hash, budget, repeat).
    """
    space = record_space(records)
    required = ("hash", "budget", "repeat", *space.config_fields, "trainable_parameters")
    column = {int(b): i for i, b in enumerate(budgets)}
    cells: dict[str, int] = {}
    specs: list[Any] = []
    params: list[int] = []
    for index, record in enumerate(records):
        missing = [key for key in required if key not in record]
        if missing:
            raise ValueError(f"records[{index}] misses key(s) {missing}; records come from `ecnas build measure`")
        if int(record["budget"]) not in column:
            raise ValueError(f"records[{index}]: budget {record['budget']!r} is not one of budgets {list(budgets)}")
        if int(record["repeat"]) < 0:
            raise ValueError(f"records[{index}]: repeat must be >= 0, got {record['repeat']!r}")
        if record["hash"] not in cells:
            cells[record["hash"]] = len(specs)
            specs.append(_config(space, record, index))
            params.append(int(record["trainable_parameters"]))
    repeats = 1 + max((int(r["repeat"]) for r in records), default=0)
    arrays = {metric: np.full((len(specs), len(budgets), repeats), np.nan) for metric in METRICS}
    seen: set[tuple[str, int, int]] = set()
    for index, record in enumerate(records):
        key = (record["hash"], int(record["budget"]), int(record["repeat"]))
        if key in seen:
            raise ValueError(f"records[{index}] repeats (hash, budget, repeat) = {key}; de-duplicate the records")
        seen.add(key)
        row, col, rep = cells[key[0]], column[key[1]], key[2]
        for metric in METRICS:
            arrays[metric][row, col, rep] = _value(record, metric, index)
    hashes = np.array([space.key(spec) for spec in specs], dtype="S32")
    measured = MeasuredValues(
        hashes, space.encode(specs), np.asarray(params, dtype=np.int64), arrays, space=space.name
    )
    return measured, specs


def _network_options(provenance: Mapping[str, Any]) -> dict[str, int] | None:
    """Network options of the records' profile, when the builder's profile registry knows it."""
    try:
        from ecnas.build.profiles import get_profile

        options = dict(provenance.get("profile_options") or {})
        profile = get_profile(str(provenance["profile"]), options)
    except (ImportError, KeyError, TypeError, ValueError):
        return None
    return dict(profile.network_options())


def _settings(
    metric: str, seed: int, overrides: Mapping[str, Any], space_settings: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Default surrogate settings per metric: accuracies (a narrow band near their mean) standardised.

    ``space_settings`` (:meth:`~ecnas.spaces.SearchSpace.surrogate_setup`) come before the caller's ``overrides``.
    """
    transform = "standard" if metric in _ACCURACIES else "scale"
    settings = {**CROSSFIT_SETTINGS, "target_transform": transform, **(space_settings or {}), **overrides, "seed": seed}
    if "holdout" not in overrides and int(settings.get("n_members", 5)) < 2:  # one network: nothing to cross-fit
        settings.update(
            holdout="random",
            lr_schedule=overrides.get("lr_schedule", "constant"),
            calibration_fraction=overrides.get("calibration_fraction", 0.0),
        )
    return settings


def _out_of_fold_summary(model: MLPSurrogate, targets: np.ndarray, mean: np.ndarray, std: np.ndarray) -> dict:
    known = np.isfinite(mean)
    summary: dict[str, Any] = {"kind": "out-of-fold", "folds": model.n_members if model.holdout == "folds" else None}
    if known.sum() >= 2:
        summary.update(regression_metrics(targets[known], mean[known]))
        summary["coverage"] = coverage(targets[known], mean[known], std[known])
    else:
        summary["n"] = int(known.sum())
    return summary


def fit_measured(
    measured: MeasuredValues,
    budgets: Sequence[int],
    *,
    metrics: Sequence[str] = METRICS,
    seed: int = 0,
    holdout_fraction: float = 0.0,
    refit: bool = True,
    surrogate_params: Mapping[str, Any] | None = None,
    feature_set: str | None = None,
    progress: bool = False,
) -> dict[tuple[str, int], MLPSurrogate]:
    """One fitted surrogate per (metric, budget) of ``measured`` with at least :data:`MIN_CELLS_TO_FIT` cells.

    Each model keeps its out-of-fold predictions and calibrated standard deviations of the measured
    rows it saw (``oof_prediction_``, ``oof_std_``, in the order of ``oof_rows_``, an index into
    ``measured``; :func:`out_of_fold_arrays` lays them out); its ``metadata_`` holds the feature set,
    the out-of-fold scores and coverage, and the calibration.

    Args:
        measured: measured values in table layout (budgets ``budgets``).
        budgets: budgets of the measured arrays' second axis.
        metrics: metrics to fit.
        seed: seed of every model (and of the held-out split).
        holdout_fraction: see :func:`fit_surrogates`.
        refit: see :func:`fit_surrogates`.
        surrogate_params: see :func:`fit_surrogates`.
        feature_set: see :func:`fit_surrogates`.
        progress: show a progress bar.

    Raises:
        ValueError: an unknown feature set or surrogate setting.
    """
    space = get_space(measured.space)
    parameters = space.num_parameters(measured.columns)
    feature_cache: dict[str, np.ndarray] = {}

    def setup(metric: str) -> tuple[str, np.ndarray, dict[str, Any]]:
        name, space_settings = (feature_set, {}) if feature_set else space.surrogate_setup(metric)
        if name not in feature_cache:
            feature_cache[name] = space.surrogate_features(measured.columns, parameters, name)
        return name, feature_cache[name], space_settings

    overrides = dict(surrogate_params or {})
    tasks = [
        (metric, budget)
        for metric in metrics
        for budget in budgets
        if metric in measured.metrics and np.isfinite(measured.metrics[metric][:, budgets.index(budget)]).any()
    ]
    models: dict[tuple[str, int], MLPSurrogate] = {}
    for metric, budget in tqdm(tasks, desc="fit surrogates", unit="model", disable=not progress):
        values = measured.metrics[metric][:, budgets.index(budget)]
        rows = np.flatnonzero(np.isfinite(values).any(axis=1))
        if len(rows) < MIN_CELLS_TO_FIT:
            continue
        targets = np.nanmean(values[rows], axis=1)
        name, features, space_settings = setup(metric)
        settings = _settings(metric, seed, overrides, space_settings)
        if settings["holdout"] == "folds":  # few cells: fewer folds (members), each with >= 2 rows
            settings["n_members"] = min(int(settings.get("n_members", 5)), len(rows) // 2)
        metadata: dict[str, Any] = {"metric": metric, "budget": budget, "n_cells": len(rows), "feature_set": name}
        model = None
        if holdout_fraction > 0 and len(rows) >= MIN_CELLS_HOLDOUT:
            order = np.random.default_rng([seed, budget, METRICS.index(metric)]).permutation(len(rows))
            n_test = max(1, round(holdout_fraction * len(rows)))
            test, train = order[:n_test], order[n_test:]
            trial = MLPSurrogate(**settings).fit(features[rows[train]], targets[train])
            scores = regression_metrics(targets[test], trial.predict(features[rows[test]]))
            metadata["holdout"] = {"fraction": holdout_fraction, "refit_on_all_cells": refit, **scores}
            model = None if refit else trial
            if not refit:
                rows = rows[train]
                targets = targets[train]
        if model is None:
            model = MLPSurrogate(**settings).fit(features[rows], targets)
        mean, std = model.predict_out_of_fold(features[rows])
        metadata["out_of_fold"] = _out_of_fold_summary(model, targets, mean, std)
        metadata.setdefault("holdout", metadata["out_of_fold"])
        metadata["calibration"] = None if model.calibration_ is None else model.calibration_.to_json()
        oof_calibration = model.out_of_fold_calibration_
        metadata["out_of_fold_calibration"] = None if oof_calibration is None else oof_calibration.to_json()
        model.metadata_ = metadata
        model.oof_rows_, model.oof_std_ = rows, std
        models[(metric, budget)] = model
    if not models:
        raise ValueError(
            f"no (metric, budget) has {MIN_CELLS_TO_FIT} or more measured cells; measure more cells before fitting"
        )
    return models


def out_of_fold_arrays(
    models: Mapping[tuple[str, int], MLPSurrogate], measured: MeasuredValues, budgets: Sequence[int]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Out-of-fold ``(mean, std)`` per metric as `n x B` arrays over ``measured`` (NaN where none).

    Only fitted budgets are filled; :func:`ecnas.build.fill.fill_table` applies the budget scaling.
    """
    means: dict[str, np.ndarray] = {}
    stds: dict[str, np.ndarray] = {}
    for (metric, budget), model in models.items():
        rows = getattr(model, "oof_rows_", None)
        if rows is None:
            continue
        mean = means.setdefault(metric, np.full((len(measured), len(budgets)), np.nan))
        std = stds.setdefault(metric, np.full((len(measured), len(budgets)), np.nan))
        column = list(budgets).index(budget)
        mean[rows, column] = model.oof_prediction_
        std[rows, column] = model.oof_std_
    return means, stds


def fit_surrogates(
    records: Sequence[Mapping[str, Any]],
    *,
    budgets: Sequence[int] | None = None,
    metrics: Sequence[str] | None = None,
    seed: int = 0,
    holdout_fraction: float = 0.0,
    refit: bool = True,
    surrogate_params: Mapping[str, Any] | None = None,
    feature_set: str | None = None,
    network_options: Mapping[str, int] | None = None,
    provenance: Mapping[str, Any] | None = None,
    out_path: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> SurrogateBundle:
    """Fit one surrogate per measured (metric, budget) and optionally write them to one HDF5 file.

    Args:
        records: measured records (dicts with the keys of ``ecnas.build.records.RECORD_KEYS``).
        budgets: budgets of the table to fill (default: the profile's ``budgets`` option, else the
            measured ones). Budgets without measurements follow :data:`~ecnas.surrogate.BUDGET_SCALING`.
        metrics: metrics to fit (default: every metric of the table the records measure).
        seed: seed of the held-out split and of every model.
        holdout_fraction: share of cells held out in a separate split to score each model (a second
            fit; default 0: the out-of-fold predictions of cross-fitting score it at no extra cost).
        refit: with ``holdout_fraction > 0``, fit the final model on every measured cell after scoring
            (default); False keeps the scored model, trained without the held-out cells (EC-NAS's way).
        surrogate_params: :class:`~ecnas.surrogate.MLPSurrogate` settings overriding
            :data:`CROSSFIT_SETTINGS` and the defaults.
        feature_set: one of the space's surrogate feature sets for every metric
            (:attr:`~ecnas.spaces.SearchSpace.surrogate_feature_sets`); default: each metric's own, with its
            settings (:meth:`~ecnas.spaces.SearchSpace.surrogate_setup`; NB101: ``cost`` for energies and time,
            ``graph`` for accuracies).
        network_options: options of the trained network (for the table's parameter column); default
            from the records' profile.
        provenance: extra provenance entries (override those copied from the records).
        out_path: write the bundle there atomically.
        progress: show a progress bar.

    Returns:
        The fitted bundle (models, measured values, provenance).

    Raises:
        ValueError: no records, malformed records, an unknown metric, or a bad fraction.
    """
    if not records:
        raise ValueError("records is empty: measure some cells first (`ecnas build measure`)")
    if not 0 <= holdout_fraction < 1:
        raise ValueError(f"holdout_fraction must be in [0, 1), got {holdout_fraction!r}")
    chosen = tuple(metrics) if metrics is not None else METRICS
    unknown = sorted(set(chosen) - set(METRICS))
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {list(METRICS)}")
    info = records_provenance(records)
    measured_budgets = sorted({int(r["budget"]) for r in records})
    if budgets is None:
        budgets = (info.get("profile_options") or {}).get("budgets") or measured_budgets
    budgets = tuple(sorted({int(b) for b in budgets}))
    measured, _ = measured_values(records, budgets)
    models = fit_measured(
        measured, budgets, metrics=chosen, seed=seed, holdout_fraction=holdout_fraction, refit=refit,
        surrogate_params=surrogate_params, feature_set=feature_set, progress=progress,
    )  # fmt: skip
    options = dict(network_options) if network_options is not None else _network_options(info)
    bundle_provenance = {
        **info,
        "network": options,
        "measured_budgets": measured_budgets,
        "num_measured_cells": len(measured),
        "budget_scaling": BUDGET_SCALING,
        **dict(provenance or {}),
    }
    bundle = SurrogateBundle(budgets=budgets, models=models, measured=measured, provenance=bundle_provenance)
    bundle.measured.out_of_fold, bundle.measured.out_of_fold_std = out_of_fold_arrays(models, measured, budgets)
    if out_path is not None:
        bundle.save(out_path)
    return bundle
