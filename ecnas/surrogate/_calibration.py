"""Calibration of a surrogate's standard deviation from out-of-fold residuals.

An ensemble's spread measures how much its members disagree, not how far the prediction is from
a measurement: it misses the measurement noise (a cell trained twice gives two energies) and the
error all members share. On EC-NAS's 862 held-out 7-vertex cells, ±1σ of the raw spread covered
46-50% of measured energies (nominal 68%). The calibrated standard deviation is

    σ_cal = sqrt((scale · σ_raw)² + floor²)

with ``scale`` and ``floor`` (metric units) fitted on out-of-fold residuals (predictions of rows by
members that never saw them) so that ±σ_cal covers 68.27% and ±1.96σ_cal covers 95% of them.
The floor is the homoscedastic part (measurement noise), the scale the part that follows the
ensemble's disagreement. ``method="scale"`` fits the scale alone (floor 0), a one-parameter
variance scaling; neither matches both levels when the residuals are heavier-tailed than a
Gaussian of the spread, which ``benchmarks/bench_calibration.py`` measures.

Cross-fitted out-of-fold values are single-member predictions; the ensemble mean of ``K`` members
errs less: with member variance ``I`` and shared error ``S``, a member's error variance is ``S + I``
and the mean's ``S + I/K``, and the members' population variance at a cell estimates ``I (K-1)/K``.
So the ensemble mean's standard deviation is ``sqrt(σ_cal² − σ_raw²)`` (``ensemble_correction``;
bounded below by ``σ_cal / 2``), while the out-of-fold values of measured rows keep ``σ_cal``. On
EC-NAS's 7-vertex energies the correction moved held-out ±1σ coverage from 77% to 71% (seed 0).

The correction is an approximation, and a single Gaussian σ cannot meet both levels: the residuals
are heavier-tailed than a Gaussian (the 95% quantile of the absolute error is 2.3-2.5 times the 68%
quantile, a Gaussian's 1.96) and nothing at hand predicts which cells err (Spearman ≤ 0.28 between
the absolute error and the spread, the prediction, or a residual model). Over 3 seeds of EC-NAS's and
the default table's data the corrected σ missed ±4 points in 10 of 36 (level, case) pairs, most at
95%. The builder's models therefore use **split-conformal** intervals (``source="split-conformal"``,
``MLPSurrogate(calibration_fraction=...)``): a second ensemble, fitted without a random share of the
rows, predicts them; the quantiles of its absolute errors in units of its own ``σ_cal`` at 68.27% and
95% (with the finite-sample rank ``ceil((n+1)p)``) are the ensemble mean's multipliers:

    std     = ensemble_scale · σ_cal            (mean ± std covers 68.27%)
    95% CI  = mean ± ensemble_z95 · std         (ensemble_z95: 1.8-3.2 on the default table)

The multipliers transfer to the model fitted on every row because both are in units of each model's
own out-of-fold ``σ_cal``. ``held_out_coverage`` is the coverage of the procedure measured honestly:
the calibration rows are halved, multipliers fitted on one half are scored on the other, both ways.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ecnas.metrics import NOMINAL_LEVELS, check_level

__all__ = [
    "CALIBRATION_METHODS", "CALIBRATION_SOURCES", "NOMINAL_LEVELS", "StdCalibration", "conformal_quantile", "coverage",
    "fit_std_calibration", "split_conformal",
]  # fmt: skip

#: ``scale-floor`` (default): fitted scale and floor. ``scale``: fitted scale, floor 0.
CALIBRATION_METHODS: tuple[str, ...] = ("scale-floor", "scale")
#: What the ensemble mean's std is calibrated on: single-member out-of-fold residuals (with or
#: without the ensemble correction), or split-conformal multipliers on top of them.
CALIBRATION_SOURCES: tuple[str, ...] = ("out-of-fold", "split-conformal")


def coverage(truth: Any, mean: Any, std: Any, *, z95: float = NOMINAL_LEVELS[0.95]) -> dict[str, float]:
    """Share of ``truth`` inside ``mean ± std`` (``"68"``) and ``mean ± z95·std`` (``"95"``).

    ``z95`` defaults to the Gaussian 1.96; pass :meth:`StdCalibration.z` for a calibration's own.
    """
    truth, mean, std = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (truth, mean, std))
    error = np.abs(truth - mean)
    return {"68": float(np.mean(error <= std)), "95": float(np.mean(error <= z95 * std))}


def conformal_quantile(scores: Any, level: float) -> float:
    """Split-conformal quantile: the ``ceil((n+1)·level)``-th smallest of ``n`` scores (the largest if beyond n).

    With exchangeable rows, a new score is at most this value with probability ≥ ``level``.
    """
    ordered = np.sort(np.asarray(scores, dtype=np.float64).reshape(-1))
    if not ordered.size:
        raise ValueError("conformal_quantile needs at least one score")
    rank = min(ordered.size, int(np.ceil((ordered.size + 1) * level)))
    return float(ordered[rank - 1])


@dataclass(frozen=True)
class StdCalibration:
    """``σ_cal = sqrt((scale · σ_raw)² + floor²)``, fitted on out-of-fold residuals.

    Attributes:
        method: one of :data:`CALIBRATION_METHODS`.
        scale: multiplier of the raw spread (>= 0).
        floor: standard deviation added in quadrature, in the metric's unit (>= 0).
        n: out-of-fold residuals it was fitted on.
        coverage_before: out-of-fold coverage of the raw spread, ``{"68": .., "95": ..}``.
        coverage_after: out-of-fold coverage of the calibrated std (in-sample for the two parameters).
        ensemble_correction: fitted on single-member out-of-fold residuals, to be applied to an
            ensemble mean: :meth:`apply` with ``ensemble=True`` subtracts the members' variance.
        source: one of :data:`CALIBRATION_SOURCES`.
        ensemble_scale: split-conformal multiplier of ``σ_cal`` giving the ensemble mean's std
            (``mean ± std`` covers 68.27%); ``None`` without a split calibration.
        ensemble_z95: the ensemble mean's 95% half-width in units of that std (``None``: 1.96).
        n_split: calibration rows of the split-conformal step.
        held_out_coverage: coverage of the split-conformal procedure on rows it was not fitted on
            (see the module docstring), ``{"68": .., "95": ..}``.
    """

    method: str
    scale: float
    floor: float
    n: int = 0
    coverage_before: dict[str, float] | None = None
    coverage_after: dict[str, float] | None = None
    ensemble_correction: bool = False
    source: str = "out-of-fold"
    ensemble_scale: float | None = None
    ensemble_z95: float | None = None
    n_split: int = 0
    held_out_coverage: dict[str, float] | None = None

    def apply(self, std: Any, *, ensemble: bool = False) -> np.ndarray:
        """Calibrated standard deviations from raw ensemble spreads.

        Args:
            std: raw spreads (population standard deviation over the members).
            ensemble: the std of the ensemble mean (rather than of one held-out member's value);
                changes anything only with :attr:`ensemble_scale` or :attr:`ensemble_correction`.
        """
        raw = np.asarray(std, dtype=np.float64)
        calibrated = np.sqrt((self.scale * raw) ** 2 + self.floor**2)
        if ensemble and self.ensemble_scale is not None:
            return self.ensemble_scale * calibrated
        if ensemble and self.ensemble_correction:
            return np.sqrt(np.maximum(calibrated**2 - raw**2, 0.25 * calibrated**2))
        return calibrated

    def z(self, level: float, *, ensemble: bool = True) -> float:
        """Half-width of the ``level`` interval in units of the std :meth:`apply` returns.

        1 at 68.27%; at 95% the split-conformal :attr:`ensemble_z95` for the ensemble mean (1.96 without).

        Raises:
            ValueError: a level other than the calibrated 0.6827 and 0.95.
        """
        if check_level(level) == 0.95 and ensemble and self.ensemble_z95 is not None:
            return float(self.ensemble_z95)
        return NOMINAL_LEVELS[check_level(level)]

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict (for HDF5 attributes and table provenance)."""
        return {
            "method": self.method,
            "formula": "std = sqrt((scale * ensemble_std)**2 + floor**2)",
            "scale": self.scale,
            "floor": self.floor,
            "n": self.n,
            "coverage_before": self.coverage_before,
            "coverage_after": self.coverage_after,
            "ensemble_correction": self.ensemble_correction,
            "source": self.source,
            "ensemble_scale": self.ensemble_scale,
            "ensemble_z95": self.ensemble_z95,
            "interval_95": "mean +- ensemble_z95 * std" if self.ensemble_z95 is not None else "mean +- 1.96 * std",
            "n_split": self.n_split,
            "held_out_coverage": self.held_out_coverage,
        }

    @classmethod
    def from_json(cls, data: Any) -> StdCalibration:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: missing keys, an unknown method or negative/non-finite parameters.
        """
        if not isinstance(data, dict):
            raise ValueError(f"a calibration must be a JSON object, got {type(data).__name__}")
        try:
            method, scale, floor = str(data["method"]), float(data["scale"]), float(data["floor"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"a calibration needs method, scale and floor: {error!r}") from None
        source = data.get("source", "out-of-fold")
        multipliers = [data.get("ensemble_scale"), data.get("ensemble_z95")]
        if (
            method not in CALIBRATION_METHODS
            or source not in CALIBRATION_SOURCES
            or not (np.isfinite(scale) and np.isfinite(floor))
            or min(scale, floor) < 0
            or any(m is not None and not (isinstance(m, (int, float)) and 0 < m < np.inf) for m in multipliers)
        ):
            raise ValueError(
                f"invalid calibration: method={method!r}, scale={scale!r}, floor={floor!r}, source={source!r}, "
                f"ensemble_scale/ensemble_z95={multipliers!r}"
            )
        return cls(
            method, scale, floor, int(data.get("n", 0)), data.get("coverage_before"), data.get("coverage_after"),
            bool(data.get("ensemble_correction", False)), str(source),
            None if multipliers[0] is None else float(multipliers[0]),
            None if multipliers[1] is None else float(multipliers[1]),
            int(data.get("n_split", 0)), data.get("held_out_coverage"),
        )  # fmt: skip


def _coverage_grid(error: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """`G x L` coverage of ``|error| <= z·σ`` for `G x n` candidate σ, one column per nominal level."""
    return np.stack([(error[None, :] <= z * sigma).mean(axis=1) for z in NOMINAL_LEVELS.values()], axis=1)


def fit_std_calibration(
    truth: Any, mean: Any, std: Any, *, method: str = "scale-floor", ensemble_correction: bool = False
) -> StdCalibration:
    """Fit ``scale`` (and ``floor``) so that out-of-fold coverage matches 68.27% and 95%.

    The fit minimises the largest deviation from nominal over both levels on a grid (scale: 90
    log-spaced values in [0.01, 50] and 0; floor: 0 and 80 log-spaced multiples of the median
    absolute residual in [0.01, 5]), ties broken by the smaller mean σ (the sharper).

    Args:
        truth: `n` measured values.
        mean: `n` out-of-fold predictions.
        std: `n` raw spreads at those rows (>= 0).
        method: one of :data:`CALIBRATION_METHODS`.
        ensemble_correction: ``mean`` are single-member out-of-fold values and the calibration will
            also serve the ensemble mean (see :class:`StdCalibration`).

    Returns:
        The fitted calibration, with coverage before and after.

    Raises:
        ValueError: unknown method, fewer than 10 rows, mismatched lengths or non-finite values.
    """
    if method not in CALIBRATION_METHODS:
        raise ValueError(f"method must be one of {list(CALIBRATION_METHODS)}, got {method!r}")
    truth, mean, std = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (truth, mean, std))
    if not (truth.shape == mean.shape == std.shape):
        raise ValueError(f"truth, mean and std must have one length, got {truth.size}, {mean.size}, {std.size}")
    if truth.size < 10:
        raise ValueError(f"calibration needs at least 10 out-of-fold residuals, got {truth.size}")
    if not (np.isfinite(truth).all() and np.isfinite(mean).all() and np.isfinite(std).all()) or (std < 0).any():
        raise ValueError("truth, mean and std must be finite and std >= 0")
    error = np.abs(truth - mean)
    typical = float(np.median(error)) or float(np.mean(error)) or 1.0
    scales = np.concatenate([[0.0], np.geomspace(0.01, 50, 90)])
    floors = np.concatenate([[0.0], typical * np.geomspace(0.01, 5, 80)]) if method == "scale-floor" else np.zeros(1)
    if not std.any():  # a single network: no spread to scale, the floor is everything
        scales = np.zeros(1)
        floors = typical * np.geomspace(0.01, 5, 400)
    grid_s, grid_f = (g.reshape(-1) for g in np.meshgrid(scales, floors, indexing="ij"))
    keep = (grid_s > 0) | (grid_f > 0)
    grid_s, grid_f = grid_s[keep], grid_f[keep]
    best: tuple[float, float, float, float] | None = None
    nominal = np.array(list(NOMINAL_LEVELS))
    for start in range(0, len(grid_s), 512):  # bounded memory: 512 candidates x n rows at a time
        s, f = grid_s[start : start + 512, None], grid_f[start : start + 512, None]
        sigma = np.sqrt((s * std[None, :]) ** 2 + f**2)
        worst = np.abs(_coverage_grid(error, sigma) - nominal[None, :]).max(axis=1)
        sharp = sigma.mean(axis=1)
        index = int(np.lexsort((sharp, np.round(worst, 4)))[0])
        candidate = (round(float(worst[index]), 4), float(sharp[index]), float(s[index, 0]), float(f[index, 0]))
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    assert best is not None
    scale, floor = best[2], best[3]
    calibrated = np.sqrt((scale * std) ** 2 + floor**2)
    return StdCalibration(
        method, scale, floor, int(truth.size), coverage(truth, mean, std), coverage(truth, mean, calibrated),
        ensemble_correction,
    )  # fmt: skip


def split_conformal(calibration: StdCalibration, truth: Any, mean: Any, std: Any) -> StdCalibration:
    """``calibration`` with split-conformal multipliers for the ensemble mean (see the module docstring).

    Args:
        calibration: the out-of-fold calibration of the ensemble that predicted ``mean`` (its
            ``σ_cal`` is the unit of the multipliers).
        truth: `n` measured values of rows that ensemble never trained on.
        mean: its `n` ensemble means there.
        std: its `n` raw spreads there.

    Returns:
        A copy with ``source="split-conformal"``, ``ensemble_scale``, ``ensemble_z95``, ``n_split``
        and ``held_out_coverage`` (multipliers fitted on one half of the rows, scored on the other,
        both ways, averaged).

    Raises:
        ValueError: fewer than 20 rows, mismatched lengths or non-finite values.
    """
    truth, mean, std = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (truth, mean, std))
    if not (truth.shape == mean.shape == std.shape) or truth.size < 20:
        raise ValueError(
            f"split_conformal needs >= 20 rows of truth, mean and std of one length, got {truth.size}, {mean.size}, "
            f"{std.size}"
        )
    if not (np.isfinite(truth).all() and np.isfinite(mean).all() and np.isfinite(std).all()):
        raise ValueError("truth, mean and std must be finite")
    unit = np.maximum(calibration.apply(std), np.finfo(np.float64).tiny)
    scores = np.abs(truth - mean) / unit

    def multipliers(rows: np.ndarray) -> tuple[float, float]:
        scale = max(conformal_quantile(scores[rows], 0.6827), np.finfo(np.float64).tiny)
        return scale, max(conformal_quantile(scores[rows], 0.95) / scale, 1.0)

    half = np.arange(truth.size) % 2 == 0  # rows arrive in random order
    held_out = []
    for fit_rows, test_rows in ((half, ~half), (~half, half)):
        scale, z95 = multipliers(fit_rows)
        held_out.append([np.mean(scores[test_rows] <= scale), np.mean(scores[test_rows] <= scale * z95)])
    scale, z95 = multipliers(np.ones(truth.size, dtype=bool))
    mean_coverage = np.mean(held_out, axis=0)
    return replace(
        calibration, source="split-conformal", ensemble_scale=scale, ensemble_z95=z95, n_split=int(truth.size),
        held_out_coverage={"68": float(mean_coverage[0]), "95": float(mean_coverage[1])}, ensemble_correction=False,
    )  # fmt: skip
