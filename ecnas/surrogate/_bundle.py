"""A set of surrogates, one per (metric, measured budget), plus the rule that covers the other budgets.

When a build measured only some budgets (EC-NAS measured 7-vertex cells at 4 epochs only), the
budgets without a fitted model follow :data:`BUDGET_SCALING`:

- ``linear`` (training time and energies): the value at the nearest measured budget ``b0`` times
  ``b / b0`` — EC-NAS's rule (energy and time proportional to the number of epochs);
- ``nearest`` (accuracies): the value at the nearest measured budget, unchanged (no honest
  extrapolation of accuracy over epochs exists without measurements).

Ties between two nearest measured budgets go to the smaller one. Measured budgets each have their
own fit. The bundle also keeps the measured values themselves, so a filled table can keep them.

File layout (``format = "ecnas-surrogate-bundle"``): root attributes ``budgets``, ``scaling`` and
``provenance`` (JSON); ``/surrogate/<metric>/budget_<b>/`` one :mod:`~ecnas.surrogate._storage`
group per model; ``/measured/`` (attribute ``space``, default ``nb101``) ``hash`` (`S32 [n]`), the space's
columns (NB101: ``matrix``, uint8 `[n, 7, 7]`, and ``op_codes``, int8 `[n, 7]`), ``trainable_parameters``
(int64 `[n]`) and one float64 `[n, B, R]` dataset per metric; ``/measured/out_of_fold/<metric>`` and
``/measured/out_of_fold_std/<metric>`` (float64 `[n, B]`, NaN where none) the cross-fitted
out-of-fold prediction and calibrated standard deviation of every measured cell.

Each model's ``metadata`` names its feature set (``feature_set``; absent: the space's ``features``,
EC-NAS's 36 for NB101), its out-of-fold scores and its calibration.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ecnas._io import ATTRIBUTES_DIGEST, atomic_h5, tree_sha256
from ecnas.errors import TableFormatError, TableNotFoundError
from ecnas.metrics import METRIC_TABLE
from ecnas.spaces import get_space
from ecnas.surrogate._mlp import MLPSurrogate
from ecnas.surrogate._storage import check_group_digest, read_dataset, write_dataset
from ecnas.table import FORMAT_NAME as TABLE_FORMAT

__all__ = ["BUDGET_SCALING", "MeasuredValues", "SurrogateBundle"]

BUNDLE_FORMAT = "ecnas-surrogate-bundle"
BUNDLE_VERSION = 1

#: Metric → rule for budgets without their own fit (see the module docstring).
BUDGET_SCALING: dict[str, str] = {m.name: m.budget_scaling for m in METRIC_TABLE.values() if m.budget_scaling}


@dataclass
class MeasuredValues:
    """Measured cells of a build, in table layout.

    Attributes:
        hashes: `n` keys of the space (`S32`; NB101 hashes).
        columns: the space's stored columns of the measured configurations (NB101: ``matrix``, ``op_codes``).
        trainable_parameters: `n` parameters of the network that was trained.
        metrics: metric → `n x B x R` float64 (NaN where not measured), budgets of the bundle.
        space: registry name of the search space.
        out_of_fold: metric → `n x B` out-of-fold predictions of the fitted budgets (NaN elsewhere).
        out_of_fold_std: metric → `n x B` calibrated standard deviations of those predictions.
    """

    hashes: np.ndarray
    columns: dict[str, np.ndarray]
    trainable_parameters: np.ndarray
    metrics: dict[str, np.ndarray]
    space: str = "nb101"
    out_of_fold: dict[str, np.ndarray] = field(default_factory=dict)
    out_of_fold_std: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def repeats(self) -> int:
        """Repeats `R` per (cell, budget)."""
        return next(iter(self.metrics.values())).shape[2] if self.metrics else 1


@dataclass
class SurrogateBundle:
    """Fitted surrogates by ``(metric, budget)``, the table's budgets, measured values and provenance.

    Attributes:
        budgets: budgets (epochs) of the table to fill.
        models: ``(metric, budget) → MLPSurrogate`` for every measured (metric, budget).
        measured: the measured cells, or None.
        provenance: JSON-able facts copied from the records (hardware, energy method, profile, ...).
    """

    budgets: tuple[int, ...]
    models: dict[tuple[str, int], MLPSurrogate]
    measured: MeasuredValues | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def metrics(self) -> tuple[str, ...]:
        """Metrics with at least one fitted budget."""
        return tuple(dict.fromkeys(metric for metric, _ in self.models))

    def feature_set_of(self, metric: str, budget: int) -> str:
        """The space's feature set a model was fitted on (``features`` for models that predate feature sets)."""
        return str(self.models[(metric, budget)].metadata_.get("feature_set", "features"))

    @property
    def feature_sets(self) -> dict[str, str]:
        """Per metric, the feature set its models were fitted on.

        Raises:
            ValueError: the budgets of one metric disagree (models of one metric are fitted together).
        """
        out: dict[str, str] = {}
        for metric, budget in self.models:
            name = self.feature_set_of(metric, budget)
            if out.setdefault(metric, name) != name:
                raise ValueError(f"the models of {metric!r} use different feature sets; refit them together")
        return out

    @property
    def feature_set(self) -> str:
        """The one feature set of every model, or ``mixed: metric=set, ...`` when metrics use their own."""
        sets = self.feature_sets
        names = set(sets.values())
        if len(names) == 1:
            return names.pop()
        return "mixed: " + ", ".join(f"{metric}={name}" for metric, name in sorted(sets.items()))

    def features(self, space: Any, columns: Any, parameters: Any, feature_set: str | None = None) -> np.ndarray:
        """`n x d` inputs in ``feature_set`` (default: the bundle's only one) for stored rows of ``space``.

        ``parameters``: the default network's counts.

        Raises:
            ValueError: no ``feature_set`` given and the metrics use different ones.
        """
        name = feature_set if feature_set is not None else self.feature_set
        if name.startswith("mixed: "):
            raise ValueError(f"the bundle's metrics use different feature sets ({name}): pass feature_set")
        return np.asarray(space.surrogate_features(columns, parameters, name), dtype=np.float64)

    def fitted_budgets(self, metric: str) -> tuple[int, ...]:
        """Budgets of ``metric`` that have their own model."""
        return tuple(sorted(budget for name, budget in self.models if name == metric))

    def source(self, metric: str, budget: int) -> tuple[int, str] | None:
        """``(fitted budget, rule)`` giving ``metric`` at ``budget``; rule is ``fitted``, ``linear`` or ``nearest``.

        None when ``metric`` was never fitted.
        """
        fitted = self.fitted_budgets(metric)
        if not fitted:
            return None
        if budget in fitted:
            return budget, "fitted"
        nearest = min(fitted, key=lambda b: (abs(b - budget), b))
        return nearest, BUDGET_SCALING.get(metric, "nearest")

    @staticmethod
    def scale(values: np.ndarray, rule: str, from_budget: int, to_budget: int) -> np.ndarray:
        """Apply a budget-scaling rule to values at ``from_budget``."""
        return values * (to_budget / from_budget) if rule == "linear" else values

    def predict(self, metric: str, budget: int, features: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)`` of ``metric`` at ``budget`` for `n x 36` features, scaling rule applied.

        Raises:
            KeyError: ``metric`` has no fitted model.
        """
        found = self.source(metric, budget)
        if found is None:
            raise KeyError(f"no surrogate fitted for metric {metric!r}; fitted metrics: {list(self.metrics)}")
        source, rule = found
        mean, std = self.models[(metric, source)].predict(features, return_std=True)
        return self.scale(mean, rule, source, budget), self.scale(std, rule, source, budget)

    def scaling_summary(self) -> dict[str, dict[str, str]]:
        """Per metric and budget, where the value comes from (for provenance)."""
        summary: dict[str, dict[str, str]] = {}
        for metric in self.metrics:
            summary[metric] = {}
            for budget in self.budgets:
                source, rule = self.source(metric, budget) or (budget, "none")
                summary[metric][str(budget)] = rule if rule == "fitted" else f"{rule} from budget {source}"
        return summary

    def model_summary(self) -> dict[str, Any]:
        """Settings and held-out metrics of every model (for provenance)."""
        return {
            f"{metric}@{budget}": {
                "params": model.get_params(),
                "n_samples_fit": model.n_samples_fit_,
                **{
                    k: v
                    for k, v in model.metadata_.items()
                    if k in ("holdout", "n_cells", "feature_set", "out_of_fold", "calibration")
                },
            }
            for (metric, budget), model in sorted(self.models.items())
        }

    # -- storage -------------------------------------------------------------------------------------
    def write_models(self, group: h5py.Group) -> None:
        """Write every model under ``group/<metric>/budget_<b>`` with budgets and scaling as attributes."""
        group.attrs["budgets"] = np.asarray(self.budgets, dtype=np.int64)
        group.attrs["scaling"] = json.dumps(BUDGET_SCALING, sort_keys=True)
        for (metric, budget), model in sorted(self.models.items()):
            model.save(group.require_group(metric).create_group(f"budget_{budget}"))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the bundle to ``path`` atomically (temporary file + rename)."""
        path = Path(path)
        with atomic_h5(path) as h5:  # built in memory: a full disk is one clean WriteError, never a crash
            h5.attrs["format"] = BUNDLE_FORMAT
            h5.attrs["format_version"] = BUNDLE_VERSION
            h5.attrs["budgets"] = np.asarray(self.budgets, dtype=np.int64)
            h5.attrs["provenance"] = json.dumps(self.provenance, sort_keys=True)
            self.write_models(h5.create_group("surrogate"))
            if self.measured is not None:
                measured = h5.create_group("measured")
                measured.attrs["space"] = self.measured.space
                write_dataset(measured, "hash", np.asarray(self.measured.hashes, dtype="S32"))
                for column in get_space(self.measured.space).columns:
                    write_dataset(measured, column.name, self.measured.columns[column.name].astype(column.dtype))
                write_dataset(measured, "trainable_parameters", self.measured.trainable_parameters.astype(np.int64))
                values = measured.create_group("metrics")
                for name, array in self.measured.metrics.items():
                    write_dataset(values, name, array.astype(np.float64))
                for key in ("out_of_fold", "out_of_fold_std"):
                    arrays = getattr(self.measured, key)
                    if arrays:
                        oof = measured.create_group(key)
                        for name, array in arrays.items():
                            write_dataset(oof, name, array.astype(np.float64))
            h5.attrs[ATTRIBUTES_DIGEST] = tree_sha256(h5)  # budgets, provenance and every model's parameters
            h5.attrs["complete"] = True
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SurrogateBundle:
        """Read a bundle written by :meth:`save`, or the ``/surrogate`` group of a filled ecnas table.

        A table holds the models but not the measured values (those are its measured rows).

        Raises:
            TableNotFoundError: no file at ``path``.
            TableFormatError: not a complete, readable surrogate bundle.
        """
        path = Path(path)
        if not path.is_file():
            raise TableNotFoundError(f"no surrogate file at {str(path)!r} (write one with `ecnas build fit`)")
        try:
            with h5py.File(path, "r") as h5:
                return cls._read(h5, str(path))
        except RecursionError:
            raise TableFormatError(f"{path}: metadata nested too deeply to be an ecnas surrogate file") from None
        except (OSError, RuntimeError, KeyError) as error:  # h5py on damaged metadata
            raise TableFormatError(f"{path}: not a readable HDF5 file ({error})") from None

    @classmethod
    def _read(cls, h5: h5py.File, where: str) -> SurrogateBundle:
        kind = h5.attrs.get("format")
        if kind not in (BUNDLE_FORMAT, TABLE_FORMAT):  # a filled table carries the same /surrogate group
            raise TableFormatError(f"{where}: not an ecnas surrogate file or table (format={kind!r})")
        if kind == BUNDLE_FORMAT and int(h5.attrs.get("format_version", 0)) > BUNDLE_VERSION:
            raise TableFormatError(f"{where}: surrogate file format is newer than this ecnas reads; upgrade ecnas")
        if not h5.attrs.get("complete", False):
            raise TableFormatError(f"{where}: the file was not completely written (no 'complete' flag)")
        if "surrogate" not in h5:
            raise TableFormatError(
                f"{where}: group '/surrogate' is missing (a table filled by `ecnas build fill` has it)"
            )
        if kind == BUNDLE_FORMAT:
            check_group_digest(h5, where)
        else:
            from ecnas.table import check_attributes_digest

            check_attributes_digest(h5, where, int(h5.attrs.get("format_version", 0)))
        attrs = h5.attrs if kind == BUNDLE_FORMAT else h5["surrogate"].attrs
        if "budgets" not in attrs:
            raise TableFormatError(f"{where}: attribute 'budgets' is missing")
        try:
            budgets = tuple(int(b) for b in np.atleast_1d(attrs["budgets"]))
            provenance = json.loads(h5.attrs.get("provenance", "{}"))
        except (TypeError, ValueError, OverflowError, RecursionError) as error:
            raise TableFormatError(f"{where}: attribute 'budgets' or 'provenance' is invalid: {error}") from None
        if not budgets or list(budgets) != sorted(set(budgets)) or budgets[0] <= 0:
            raise TableFormatError(f"{where}: attribute budgets must be distinct positive epochs, got {budgets}")
        if not isinstance(provenance, dict) or not isinstance(provenance.get("network") or {}, dict):
            raise TableFormatError(f"{where}: attribute 'provenance' must be a JSON object (network an object)")
        models: dict[tuple[str, int], MLPSurrogate] = {}
        for metric, group in h5["surrogate"].items():
            for name, member in group.items():
                if not name.startswith("budget_"):
                    raise TableFormatError(f"{where}: unexpected group {member.name!r}")
                budget = name.removeprefix("budget_")
                if not budget.isdigit() or int(budget) not in budgets:
                    raise TableFormatError(f"{where}: group {member.name!r} is not one of the budgets {budgets}")
                models[(metric, int(budget))] = MLPSurrogate.load(member)
        if not models:
            raise TableFormatError(f"{where}: the file holds no fitted surrogate")
        measured = None
        if kind == BUNDLE_FORMAT and "measured" in h5:
            group = h5["measured"]
            n = group["hash"].shape[0] if "hash" in group else 0
            metrics = {}
            for name, dataset in group.get("metrics", {}).items():
                if dataset.shape[:2] != (n, len(budgets)):
                    raise TableFormatError(
                        f"{where}: {dataset.name} has shape {dataset.shape}, expected ({n}, {len(budgets)}, R)"
                    )
                metrics[name] = read_dataset(group["metrics"], name, dataset.shape, where, finite=False)
            try:
                space = get_space(str(group.attrs.get("space", "nb101")))
            except ValueError as error:
                raise TableFormatError(f"{where}: {error}") from None
            oof: dict[str, dict[str, np.ndarray]] = {"out_of_fold": {}, "out_of_fold_std": {}}
            for key, arrays in oof.items():
                for name, dataset in group.get(key, {}).items():
                    if dataset.shape != (n, len(budgets)):
                        raise TableFormatError(
                            f"{where}: {dataset.name} has shape {dataset.shape}, expected ({n}, {len(budgets)})"
                        )
                    arrays[name] = read_dataset(group[key], name, dataset.shape, where, finite=False)
            measured = MeasuredValues(
                hashes=_read_checked(group, "hash", (n,), where),
                columns={c.name: _read_checked(group, c.name, (n, *c.shape), where) for c in space.columns},
                trainable_parameters=_read_checked(group, "trainable_parameters", (n,), where),
                metrics=metrics,
                space=space.name,
                out_of_fold=oof["out_of_fold"],
                out_of_fold_std=oof["out_of_fold_std"],
            )
        return cls(budgets=budgets, models=models, measured=measured, provenance=provenance)


def _read_checked(group: h5py.Group, name: str, shape: tuple[int, ...], where: str) -> np.ndarray:
    return read_dataset(group, name, shape, f"{where}:{group.name}", finite=name != "hash")
