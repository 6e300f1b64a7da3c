"""Input scaling and target transforms of the MLP surrogate, fitted on training data, stored as numbers.

Each transform is a pair of pure functions over numpy arrays plus the few numbers fitted on the
training data (offset and scale), so a saved surrogate reproduces them exactly after loading.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "INPUT_SCALINGS",
    "PARAMETER_COLUMN",
    "TARGET_TRANSFORMS",
    "fit_input_scaling",
    "fit_target_transform",
    "forward_input",
    "forward_target",
    "inverse_target",
]

#: Column of the EC-NAS features holding the trainable parameters (in millions).
#: ``log-standard`` logs the last feature column: NB101's features end with the parameter count in millions.
PARAMETER_COLUMN = -1

#: ``none``: raw features (EC-NAS). ``standard``: zero mean, unit variance per column.
#: ``log-standard``: the parameter column is log-transformed first (it spans 0.2-50 M), then standard.
INPUT_SCALINGS: tuple[str, ...] = ("none", "standard", "log-standard")

#: ``scale``: divide by the mean absolute target (EC-NAS's kWh→Wh scaling, made unit-free).
#: ``standard``: zero mean, unit variance. ``log``: standardised natural log (targets must be > 0).
TARGET_TRANSFORMS: tuple[str, ...] = ("scale", "standard", "log")


def _log_parameters(features: np.ndarray) -> np.ndarray:
    out = np.array(features, dtype=np.float64, copy=True)
    out[:, PARAMETER_COLUMN] = np.log(np.maximum(out[:, PARAMETER_COLUMN], 1e-6))
    return out


def fit_input_scaling(kind: str, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offset and scale per column such that ``(x - offset) / scale`` is the network input."""
    width = features.shape[1]
    if kind == "none":
        return np.zeros(width), np.ones(width)
    data = _log_parameters(features) if kind == "log-standard" else features
    offset = data.mean(axis=0)
    scale = data.std(axis=0)
    scale[scale < 1e-12] = 1.0  # constant columns (e.g. the input op code) pass through centred
    return offset, scale


def forward_input(kind: str, features: np.ndarray, offset: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Network input (float32) from raw features."""
    data = _log_parameters(features) if kind == "log-standard" else features
    return ((data - offset) / scale).astype(np.float32)


def fit_target_transform(kind: str, targets: np.ndarray) -> tuple[float, float]:
    """``(offset, scale)`` of the transform ``t = (g(y) - offset) / scale``.

    Raises:
        ValueError: ``kind="log"`` with a target <= 0.
    """
    if kind == "scale":
        scale = float(np.mean(np.abs(targets)))
        return 0.0, scale if scale > 0 else 1.0
    if kind == "log":
        if np.any(targets <= 0):
            raise ValueError(
                f"target_transform='log' needs targets > 0, found min {float(np.min(targets))!r}; "
                "use target_transform='standard' for metrics that can be zero or negative"
            )
        targets = np.log(targets)
    scale = float(np.std(targets))
    return float(np.mean(targets)), scale if scale > 1e-12 else 1.0


def forward_target(kind: str, targets: np.ndarray, offset: float, scale: float) -> np.ndarray:
    """Transformed targets (float64)."""
    values = np.log(targets) if kind == "log" else np.asarray(targets, dtype=np.float64)
    return (values - offset) / scale


def inverse_target(kind: str, values: np.ndarray, offset: float, scale: float) -> np.ndarray:
    """Targets in original units from network outputs (float64)."""
    out = np.asarray(values, dtype=np.float64) * scale + offset
    if kind == "log":
        with np.errstate(over="ignore"):
            out = np.exp(out)
    return out
