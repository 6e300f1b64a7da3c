"""The MLP surrogate of EC-NAS (36 features → one per-budget metric), with a seed ensemble on top.

EC-NAS's energy model is an MLP with hidden layers 128-64-32-32 and GELU, trained with Adam
(learning rate 5e-3, batch 32) on an L1 loss for 200 epochs with a 70/10/20 train/validation/test
split and targets scaled (kWh × 1000). :data:`ECNAS_BASELINE` reproduces it. The defaults of
:class:`MLPSurrogate` keep that network and training and add what measurably paid on EC-NAS's own
3,448 seven-vertex measurements (``benchmarks/bench_surrogate.py``; 20% held out, 3 seeds, MAE in Wh):

- an ensemble of 5 independently initialised members, each with its own validation split
  (MAE 0.322 → 0.268, Pearson 0.9978 → 0.9984) — the gain; 3 members: 0.285, 10 members: 0.267
  (no further gain, twice the prediction cost);
- early stopping with patience 40 (same quality, less time).

Tried and rejected on the same data: standardised inputs (0.384), log-scaled parameter input
(0.362), log targets (0.333), standardised targets (0.328), batch 64 (0.277 with 5 members);
a cosine learning-rate decay helps one network (0.313) but not the ensemble (0.272). These remain
available as options (``input_scaling``, ``target_transform``, ``lr_schedule``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from ecnas._validation import check_int
from ecnas.errors import NotFittedError
from ecnas.surrogate import _network as N
from ecnas.surrogate import _transforms as T
from ecnas.surrogate._calibration import CALIBRATION_METHODS, StdCalibration, fit_std_calibration, split_conformal
from ecnas.surrogate._metrics import regression_metrics
from ecnas.surrogate._network import ACTIVATIONS, LOSSES

__all__ = [
    "ACTIVATIONS", "CALIBRATIONS", "ECNAS_BASELINE", "HOLDOUTS", "LOSSES", "LR_SCHEDULES", "MLPSurrogate",
    "check_features",
]  # fmt: skip

LR_SCHEDULES: tuple[str, ...] = ("constant", "cosine")
#: ``random``: member k holds out its own random validation rows (early stopping, best epoch kept).
#: ``folds``: cross-fitting: the rows are split into ``n_members`` folds, member k never sees fold k
#: (no early stopping: it trains ``max_epochs`` and keeps its last weights), so every row gets an
#: out-of-fold prediction from a member that never saw it (:attr:`MLPSurrogate.oof_prediction_`).
HOLDOUTS: tuple[str, ...] = ("random", "folds")
#: ``none`` or a method of :func:`~ecnas.surrogate.fit_std_calibration`, fitted on out-of-fold residuals.
CALIBRATIONS: tuple[str, ...] = ("none", *CALIBRATION_METHODS)
#: Fewest rows the split-conformal step (``calibration_fraction``) holds out; with fewer the ensemble
#: mean's std falls back to the out-of-fold calibration with the ensemble correction.
MIN_SPLIT_ROWS = 50

#: EC-NAS's configuration: one network, raw features, targets scaled to O(1), 200 epochs of Adam at
#: a constant 5e-3 on an L1 loss, batch 32, weights of the best validation epoch kept.
ECNAS_BASELINE: dict[str, Any] = {
    "hidden_layers": (128, 64, 32, 32),
    "activation": "gelu",
    "learning_rate": 5e-3,
    "lr_schedule": "constant",
    "batch_size": 32,
    "max_epochs": 200,
    "patience": None,
    "loss": "l1",
    "weight_decay": 0.0,
    "input_scaling": "none",
    "target_transform": "scale",
    "n_members": 1,
    "holdout": "random",
    "calibration": "none",
}


@contextlib.contextmanager
def _torch_threads(num_threads: int | None) -> Iterator[None]:
    """Set torch's intra-op thread count for the block and restore it afterwards."""
    previous = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _check_choice(name: str, value: Any, choices: Any) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")


def check_features(features: Any, name: str = "features", width: int | None = None) -> np.ndarray:
    """`n x d` finite float64 array (``d = width`` when given), or ValueError naming the problem.

    The width comes from the data at ``fit`` (the search space's :attr:`~ecnas.spaces.SearchSpace.num_features`;
    36 for NB101's EC-NAS features) and must match it at ``predict``.
    """
    wanted = "d" if width is None else str(width)
    try:
        array = np.asarray(features, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a numeric `n x {wanted}` array: {error}") from None
    if array.ndim != 2 or array.shape[1] < 1 or (width is not None and array.shape[1] != width):
        raise ValueError(
            f"{name} must have shape (n, {wanted}) (rows of the space's features, e.g. CellSpec.features()), "
            f"got {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite; found NaN or inf in {int((~np.isfinite(array)).sum())} entries")
    return array


class MLPSurrogate:
    """Regressor from EC-NAS cell features to one metric (energy, time or accuracy at one budget).

    sklearn's contract: the constructor only stores its arguments, :meth:`fit` returns ``self``,
    learned state ends in ``_``, :meth:`predict` before :meth:`fit` raises
    :class:`~ecnas.errors.NotFittedError`. Training runs on the CPU and is deterministic for a seed:
    torch's global RNG and thread count are restored afterwards.

    Args:
        seed: seed of the validation splits, weight initialisation and batch order.
        n_members: ensemble size; member ``k`` has its own validation split and initialisation, and
            the ensemble's standard deviation is the prediction's uncertainty.
        hidden_layers: widths of the hidden layers.
        activation: one of :data:`ACTIVATIONS`.
        learning_rate: Adam's initial learning rate.
        lr_schedule: ``"constant"`` or ``"cosine"`` (decay to zero over ``max_epochs``).
        batch_size: training batch size.
        max_epochs: training epochs (upper bound when early stopping).
        patience: stop after this many epochs without a better validation MAE; ``None`` runs all
            epochs. The weights of the best validation epoch are kept either way.
        validation_fraction: share of the data given to :meth:`fit` held out for early stopping
            (0.125 of a 80% training share is EC-NAS's 10% of the total); 0 trains on everything
            for ``max_epochs`` and keeps the last weights.
        loss: training loss on the transformed targets, one of :data:`LOSSES`.
        weight_decay: Adam weight decay.
        input_scaling: one of :data:`~ecnas.surrogate._transforms.INPUT_SCALINGS`.
        target_transform: one of :data:`~ecnas.surrogate._transforms.TARGET_TRANSFORMS`.
        num_threads: torch threads while training and predicting; ``None`` keeps the current
            setting. 1 (default) is fastest for this small network: on a shared 2-core machine a
            second thread made predicting the whole space 4x slower (waits on a busy core).
        holdout: one of :data:`HOLDOUTS` — how members hold rows out (random validation splits, or
            cross-fitting folds giving every row an out-of-fold prediction).
        calibration: one of :data:`CALIBRATIONS`: how ``predict(return_std=True)`` turns the
            members' spread into a calibrated standard deviation, fitted on the held-out rows'
            residuals (:class:`~ecnas.surrogate.StdCalibration`); ``none`` returns the raw spread.
        calibration_fraction: with ``holdout="folds"``, calibrate the ensemble mean's std by split
            conformal prediction: a second ensemble with these settings is fitted without this share of
            the rows and its errors there give the multipliers (:func:`~ecnas.surrogate.split_conformal`);
            fitting takes twice as long. 0 (or fewer than :data:`MIN_SPLIT_ROWS` rows): the out-of-fold
            calibration with the ensemble correction, which missed nominal coverage by up to 7 points.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        n_members: int = 5,
        hidden_layers: tuple[int, ...] = (128, 64, 32, 32),
        activation: str = "gelu",
        learning_rate: float = 5e-3,
        lr_schedule: str = "constant",
        batch_size: int = 32,
        max_epochs: int = 200,
        patience: int | None = 40,
        validation_fraction: float = 0.125,
        loss: str = "l1",
        weight_decay: float = 0.0,
        input_scaling: str = "none",
        target_transform: str = "scale",
        num_threads: int | None = 1,
        holdout: str = "random",
        calibration: str = "scale-floor",
        calibration_fraction: float = 0.0,
    ) -> None:
        self.seed = seed
        self.n_members = n_members
        self.hidden_layers = hidden_layers
        self.activation = activation
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.loss = loss
        self.weight_decay = weight_decay
        self.input_scaling = input_scaling
        self.target_transform = target_transform
        self.num_threads = num_threads
        self.holdout = holdout
        self.calibration = calibration
        self.calibration_fraction = calibration_fraction

    # -- sklearn-style parameters -------------------------------------------------------------------
    _PARAMS: tuple[str, ...] = (
        "seed", "n_members", "hidden_layers", "activation", "learning_rate", "lr_schedule", "batch_size",
        "max_epochs", "patience", "validation_fraction", "loss", "weight_decay", "input_scaling",
        "target_transform", "num_threads", "holdout", "calibration", "calibration_fraction",
    )  # fmt: skip

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments as a JSON-able dict."""
        params = {name: getattr(self, name) for name in self._PARAMS}
        params["hidden_layers"] = [int(width) for width in params["hidden_layers"]]
        return params

    @classmethod
    def ecnas_baseline(cls, *, seed: int = 0, **overrides: Any) -> MLPSurrogate:
        """EC-NAS's original configuration (:data:`ECNAS_BASELINE`), for comparisons."""
        return cls(seed=seed, **{**ECNAS_BASELINE, **overrides})

    def _validate_params(self) -> None:
        check_int("seed", self.seed, 0)
        check_int("n_members", self.n_members, 1)
        check_int("batch_size", self.batch_size, 1)
        check_int("max_epochs", self.max_epochs, 1)
        if self.patience is not None:
            check_int("patience", self.patience, 1)
        if self.num_threads is not None:
            check_int("num_threads", self.num_threads, 1)
        if not self.hidden_layers or any(
            isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 for w in self.hidden_layers
        ):
            raise ValueError(f"hidden_layers must be a non-empty sequence of positive ints, got {self.hidden_layers!r}")
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_choice("loss", self.loss, LOSSES)
        _check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _check_choice("input_scaling", self.input_scaling, T.INPUT_SCALINGS)
        _check_choice("target_transform", self.target_transform, T.TARGET_TRANSFORMS)
        _check_choice("holdout", self.holdout, HOLDOUTS)
        _check_choice("calibration", self.calibration, CALIBRATIONS)
        if self.holdout == "folds" and self.n_members < 2:
            raise ValueError(f"holdout='folds' needs n_members >= 2 (one fold per member), got {self.n_members}")
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number, got {self.learning_rate!r}")
        if not (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be a number >= 0, got {self.weight_decay!r}")
        if not (isinstance(self.validation_fraction, (int, float)) and 0 <= self.validation_fraction < 1):
            raise ValueError(f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}")
        fraction = self.calibration_fraction
        if isinstance(fraction, bool) or not (isinstance(fraction, (int, float)) and 0 <= fraction < 0.5):
            raise ValueError(f"calibration_fraction must be a number in [0, 0.5), got {fraction!r}")
        if fraction > 0 and (self.holdout != "folds" or self.calibration == "none"):
            raise ValueError(
                f"calibration_fraction={fraction} needs holdout='folds' and a calibration (the split-conformal "
                "multipliers are in units of the out-of-fold std); set them or calibration_fraction=0"
            )

    # -- fitting -------------------------------------------------------------------------------------
    def fit(self, features: Any, targets: Any) -> MLPSurrogate:
        """Train the ensemble.

        Args:
            features: `n x d` rows of the space's features (NB101: the 36 of :meth:`CellSpec.features`).
            targets: `n` finite values of the metric, in its own unit (e.g. kWh).

        Returns:
            ``self``, fitted.

        Raises:
            ValueError: bad shapes, non-finite values, too few rows, or an invalid parameter.
        """
        self._validate_params()
        x = check_features(features)
        y = np.asarray(targets, dtype=np.float64).reshape(-1)
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"targets must have one value per features row: {y.shape[0]} values for {x.shape[0]} rows")
        if not np.isfinite(y).all():
            raise ValueError(f"targets must be finite; found NaN or inf in {int((~np.isfinite(y)).sum())} values")
        n_validation = round(self.validation_fraction * len(y)) if self.holdout == "random" else 0
        if self.holdout == "folds" and len(y) < 2 * self.n_members:
            raise ValueError(
                f"too few rows to fit: holdout='folds' needs at least 2 rows per member, got {len(y)} rows "
                f"for n_members={self.n_members}"
            )
        no_validation = self.holdout == "random" and self.validation_fraction > 0 and n_validation < 1
        if len(y) - n_validation < 2 or no_validation:
            raise ValueError(
                f"too few rows to fit: {len(y)} with validation_fraction={self.validation_fraction} "
                "leaves fewer than 2 training or 1 validation rows"
            )
        self.input_offset_, self.input_scale_ = T.fit_input_scaling(self.input_scaling, x)
        self.target_offset_, self.target_scale_ = T.fit_target_transform(self.target_transform, y)
        inputs = torch.from_numpy(T.forward_input(self.input_scaling, x, self.input_offset_, self.input_scale_))
        outputs = torch.from_numpy(
            T.forward_target(self.target_transform, y, self.target_offset_, self.target_scale_).astype(np.float32)
        )
        rng = np.random.default_rng(self.seed)
        if self.holdout == "folds":
            held_out, train_idx = _folds(len(y), self.n_members, rng)
            val_idx = np.empty((self.n_members, 0), dtype=np.int64)
        else:  # member k holds out its own validation rows: together the members see every row
            orders = np.stack([rng.permutation(len(y)) for _ in range(self.n_members)])
            val_idx, train_idx = np.sort(orders[:, :n_validation], axis=1), np.sort(orders[:, n_validation:], axis=1)
            held_out = list(val_idx)
        generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
        with _torch_threads(self.num_threads):
            layers, best_epochs, best_mae = self._train(inputs, outputs, y, train_idx, val_idx, generator)
        self.layers_: list[tuple[np.ndarray, np.ndarray]] = layers
        self.best_epochs_: list[int] = best_epochs
        self.validation_mae_: list[float] = best_mae
        self.n_features_in_ = x.shape[1]
        self.n_samples_fit_ = len(y)
        self.metadata_: dict[str, Any] = {}
        self.calibration_: StdCalibration | None = None
        self.out_of_fold_calibration_: StdCalibration | None = None
        members = self.predict_members(x)
        self.oof_prediction_ = _out_of_fold(members, held_out)
        known = np.isfinite(self.oof_prediction_)
        if self.calibration == "none" or known.sum() < 10:
            return self
        n_split = round(self.calibration_fraction * len(y))
        split = n_split >= MIN_SPLIT_ROWS and len(y) - n_split >= max(10, 2 * self.n_members)
        self.out_of_fold_calibration_ = fit_std_calibration(
            y[known], self.oof_prediction_[known], members.std(axis=0)[known], method=self.calibration
        )
        self.calibration_ = (
            self._split_conformal(x, y, n_split)
            if split
            else replace(self.out_of_fold_calibration_, ensemble_correction=self.holdout == "folds")
        )
        return self

    def _split_conformal(self, x: np.ndarray, y: np.ndarray, n_split: int) -> StdCalibration:
        """The out-of-fold calibration with multipliers from a second ensemble's errors on ``n_split`` unseen rows."""
        order = np.random.default_rng([self.seed, 1]).permutation(len(y))  # its own stream: the main fit is unchanged
        held, kept = order[:n_split], order[n_split:]
        second = MLPSurrogate(**{**self.get_params(), "calibration_fraction": 0.0}).fit(x[kept], y[kept])
        assert second.out_of_fold_calibration_ is not None  # folds + a calibration method, >= 10 rows
        members = second.predict_members(x[held])
        conformal = split_conformal(second.out_of_fold_calibration_, y[held], members.mean(axis=0), members.std(axis=0))
        assert self.out_of_fold_calibration_ is not None
        return replace(
            self.out_of_fold_calibration_, source=conformal.source, ensemble_scale=conformal.ensemble_scale,
            ensemble_z95=conformal.ensemble_z95, n_split=conformal.n_split,
            held_out_coverage=conformal.held_out_coverage,
        )  # fmt: skip

    def _train(
        self,
        inputs: torch.Tensor,
        outputs: torch.Tensor,
        y: np.ndarray,
        train_idx: np.ndarray,
        val_idx: np.ndarray,
        generator: torch.Generator,
    ) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[int], list[float]]:
        """Train all members together; keep each member's weights of its best validation epoch."""
        members, n_train = train_idx.shape
        layers = N.init_layers(members, N.layer_sizes(inputs.shape[1], tuple(self.hidden_layers)), generator)
        parameters = [tensor for pair in layers for tensor in pair]
        optimizer = N.Adam(parameters, lr=self.learning_rate, weight_decay=self.weight_decay)
        loss_fn = LOSSES[self.loss]
        train_rows = torch.from_numpy(train_idx)
        val_inputs, val_truth = inputs[torch.from_numpy(val_idx)], y[val_idx]
        validate = val_truth.shape[1] > 0
        batch = self.batch_size
        total_steps = math.ceil(n_train / batch) * self.max_epochs
        best = [(w.detach().numpy().copy(), b.detach().numpy().copy()) for w, b in layers]
        best_mae = np.full(members, np.inf)
        best_epoch = np.full(members, self.max_epochs - 1)
        waited = np.zeros(members, dtype=np.int64)
        step = 0
        for epoch in range(self.max_epochs):
            order = torch.gather(train_rows, 1, torch.argsort(torch.rand(members, n_train, generator=generator), 1))
            for start in range(0, n_train, batch):
                if self.lr_schedule == "cosine":
                    optimizer.lr = 0.5 * self.learning_rate * (1 + math.cos(math.pi * step / total_steps))
                rows = order[:, start : start + batch]
                loss = loss_fn(N.forward(layers, inputs[rows], self.activation), outputs[rows]).mean(1).sum()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                step += 1
            if not validate:
                continue
            with torch.no_grad():
                predicted = self._inverse(N.forward(layers, val_inputs, self.activation).numpy())
            mae = np.abs(predicted - val_truth).mean(axis=1)
            improved = mae < best_mae
            for k in np.flatnonzero(improved):
                for (weight, bias), (best_w, best_b) in zip(layers, best, strict=True):
                    best_w[k], best_b[k] = weight[k].detach().numpy(), bias[k].detach().numpy()
            best_mae = np.where(improved, mae, best_mae)
            best_epoch = np.where(improved, epoch, best_epoch)
            waited = np.where(improved, 0, waited + 1)
            if self.patience is not None and np.all(waited >= self.patience):
                break
        if not validate:
            best = [(w.detach().numpy().copy(), b.detach().numpy().copy()) for w, b in layers]
            best_mae = np.full(members, np.nan)
        return best, [int(e) for e in best_epoch], [float(m) for m in best_mae]

    # -- prediction ----------------------------------------------------------------------------------
    def _inverse(self, values: np.ndarray) -> np.ndarray:
        return T.inverse_target(self.target_transform, values, self.target_offset_, self.target_scale_)

    def _check_fitted(self) -> None:
        if not hasattr(self, "layers_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(features, targets) or "
                f"{type(self).__name__}.load(path) before predict"
            )

    def predict_members(self, features: Any) -> np.ndarray:
        """Every member's prediction, `n_members x n`, in the metric's unit."""
        self._check_fitted()
        x = check_features(features, width=self.n_features_in_)
        inputs = torch.from_numpy(T.forward_input(self.input_scaling, x, self.input_offset_, self.input_scale_))
        members = len(self.layers_[0][0])
        with _torch_threads(self.num_threads):
            outputs = [N.predict_member(self.layers_, k, inputs, self.activation) for k in range(members)]
        return np.stack([self._inverse(output) for output in outputs])

    def predict(self, features: Any, *, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Predicted metric per row: the ensemble mean (and, with ``return_std``, its spread).

        Args:
            features: `n x d` rows of the space's features (NB101: the 36 of :meth:`CellSpec.features`).
            return_std: also return the standard deviation: the members' spread calibrated by
                :attr:`calibration_` (fitted on out-of-fold residuals at :meth:`fit`; the raw spread,
                0 for a single network, when the model has no calibration).

        Returns:
            `n` predictions, or ``(mean, std)``.

        Raises:
            NotFittedError: called before :meth:`fit` or :meth:`load`.
            ValueError: ``features`` is not a finite `n x 36` array.
        """
        members = self.predict_members(features)
        mean = members.mean(axis=0)
        if not return_std:
            return mean
        spread = members.std(axis=0)
        return mean, (spread if self.calibration_ is None else self.calibration_.apply(spread, ensemble=True))

    def predict_interval(self, features: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """``(lower, upper)`` of the calibrated ``level`` interval around the ensemble mean.

        ``mean ± z·std`` with ``z`` = :meth:`StdCalibration.z` — at 95% the split-conformal multiplier
        (1.8-3.2 on the default table, mostly above the Gaussian 1.96: heavy-tailed errors).

        Raises:
            NotFittedError: before :meth:`fit` or :meth:`load`.
            ValueError: the model has no calibration, or ``level`` is not a calibrated level (0.6827, 0.95).
        """
        if self.calibration_ is None:
            self._check_fitted()
            raise ValueError("this surrogate has no calibration (calibration='none'): it has no intervals")
        mean, std = self.predict(features, return_std=True)
        half = self.calibration_.z(level) * std
        return mean - half, mean + half

    def predict_out_of_fold(self, features: Any) -> tuple[np.ndarray, np.ndarray]:
        """Out-of-fold ``(mean, std)`` of the rows :meth:`fit` saw, in their order (NaN where none).

        ``mean`` is :attr:`oof_prediction_` (each row predicted by the members that never trained on
        it); ``std`` is the spread of the whole ensemble at the row calibrated for one member's
        out-of-fold value (:attr:`out_of_fold_calibration_`; 1.96 std is its 95% half-width).

        Args:
            features: the `n x d` features given to :meth:`fit`, same rows and order.

        Raises:
            NotFittedError: not fitted in this session (a loaded model has no out-of-fold predictions).
            ValueError: ``features`` does not have the fitted row count.
        """
        self._check_fitted()
        if not hasattr(self, "oof_prediction_"):
            raise NotFittedError("out-of-fold predictions exist only right after fit(); a loaded model has none")
        x = check_features(features, width=self.n_features_in_)
        if len(x) != len(self.oof_prediction_):
            raise ValueError(f"features must be the {len(self.oof_prediction_)} rows given to fit, got {len(x)}")
        spread = self.predict_members(x).std(axis=0)
        calibration = self.out_of_fold_calibration_
        std = spread if calibration is None else calibration.apply(spread)
        return self.oof_prediction_.copy(), np.where(np.isfinite(self.oof_prediction_), std, np.nan)

    def score(self, features: Any, targets: Any) -> dict[str, float]:
        """Pearson, MAE, RMSE and Kendall tau of the predictions against ``targets``."""
        return regression_metrics(targets, self.predict(features))

    # -- storage (HDF5, see ecnas.surrogate._storage) ------------------------------------------------
    def save(self, target: Any, *, metadata: dict[str, Any] | None = None) -> None:
        """Write the fitted surrogate into an HDF5 group, or into a new standalone file (atomically).

        Args:
            target: an open ``h5py.Group`` (written in place), or a path (file replaced atomically).
            metadata: JSON-able extras stored with the weights (e.g. held-out metrics, metric name);
                defaults to :attr:`metadata_`.
        """
        from ecnas.surrogate._storage import save_surrogate

        self._check_fitted()
        save_surrogate(self, target, metadata=self.metadata_ if metadata is None else metadata)

    @classmethod
    def load(cls, source: Any) -> MLPSurrogate:
        """Read a surrogate written by :meth:`save` from an ``h5py.Group`` or a file path.

        Raises:
            TableFormatError: the group or file is missing, incomplete or corrupt.
        """
        from ecnas.surrogate._storage import load_surrogate

        return load_surrogate(cls, source)

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != _DEFAULTS.get(k)}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"


_DEFAULTS: dict[str, Any] = MLPSurrogate().get_params()


def _folds(n: int, k: int, rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
    """``k`` disjoint folds covering ``range(n)`` and a `k x m` array: member j's training rows (no fold-j row).

    Members train on equally many rows (stacked tensors): where folds differ in size by one, a
    member's training set drops one random row of its complement (that row is simply unused by it).
    """
    folds = [np.sort(fold) for fold in np.array_split(rng.permutation(n), k)]
    size = n - max(len(fold) for fold in folds)
    train = []
    for fold in folds:
        rest = np.setdiff1d(np.arange(n), fold, assume_unique=True)
        train.append(np.sort(rng.permutation(rest)[:size]))
    return folds, np.stack(train)


def _out_of_fold(members: np.ndarray, held_out: list[np.ndarray]) -> np.ndarray:
    """Per row, the mean prediction of the members that held it out (NaN when none did)."""
    total = np.zeros(members.shape[1])
    count = np.zeros(members.shape[1])
    for member, rows in enumerate(held_out):
        total[rows] += members[member, rows]
        count[rows] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
