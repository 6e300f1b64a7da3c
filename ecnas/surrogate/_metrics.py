"""Quality figures of a regression surrogate: Pearson, MAE, Kendall tau (as EC-NAS reports them)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["regression_metrics"]


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """Agreement between measured and predicted values.

    Args:
        y_true: `n` measured values.
        y_pred: `n` predicted values, same order.

    Returns:
        ``{"n", "pearson", "mae", "rmse", "kendall_tau", "max_abs_error"}``; correlations are NaN
        when either side is constant.

    Raises:
        ValueError: the arrays differ in length, are empty or hold non-finite values.
    """
    from scipy.stats import kendalltau

    truth = np.asarray(y_true, dtype=np.float64).reshape(-1)
    pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if truth.shape != pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {truth.size} and {pred.size}")
    if truth.size == 0:
        raise ValueError("y_true and y_pred are empty: need at least one value to score")
    if not (np.isfinite(truth).all() and np.isfinite(pred).all()):
        raise ValueError("y_true and y_pred must be finite (no NaN or inf)")
    error = np.abs(pred - truth)
    constant = truth.size < 2 or np.ptp(truth) == 0 or np.ptp(pred) == 0
    pearson = float("nan") if constant else float(np.corrcoef(truth, pred)[0, 1])
    tau = float("nan") if constant else float(kendalltau(truth, pred).statistic)
    return {
        "n": int(truth.size),
        "pearson": pearson,
        "mae": float(error.mean()),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "kendall_tau": tau,
        "max_abs_error": float(error.max()),
    }
