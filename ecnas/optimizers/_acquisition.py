"""Acquisition functions: exact two-objective expected hypervolume improvement, expected improvement.

EHVI (minimisation) with independent Gaussian predictions ``Y_k ~ N(mu_k, sigma_k^2)``:
``EHVI = ∫_A P(Y_1 <= z_1) P(Y_2 <= z_2) dz`` over the region ``A`` below the reference point that the front
does not dominate. Sorting the front by the first objective splits ``A`` into vertical stripes
``[x_j, x_{j+1}) x (-inf, u_j)``, and with ``G(u) = ∫_{-inf}^u Phi((z - mu) / sigma) dz
= sigma * (t Phi(t) + phi(t))``, ``t = (u - mu) / sigma``, the integral is exactly
``sum_j (G_1(x_{j+1}) - G_1(x_j)) * G_2(u_j)`` — the closed form of Emmerich et al. (2006) / Yang et al.
(2019) in O(k) per candidate after one sort.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from ecnas import indicators

__all__ = ["PAREGO_RHO", "augmented_tchebycheff", "expected_hypervolume_improvement", "expected_improvement"]

#: ParEGO's augmentation weight (Knowles 2006): small enough that the max term decides, large enough to
#: break ties towards balanced points.
PAREGO_RHO = 0.05

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _psi(t: np.ndarray) -> np.ndarray:
    """∫_{-inf}^t Phi(s) ds = t Phi(t) + phi(t) (never negative)."""
    return np.maximum(t * ndtr(t) + _INV_SQRT_2PI * np.exp(-0.5 * t * t), 0.0)


def _integrated_cdf(u: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``G(u) = ∫_{-inf}^u P(Y <= z) dz`` for ``Y ~ N(mean, std^2)``; `n x s` for `s` bounds ``u``."""
    mean, std = mean[:, None], std[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        value = std * _psi((u[None, :] - mean) / std)
    exact = np.maximum(u[None, :] - mean, 0.0)  # the limit for std -> 0
    value = np.where(np.isfinite(value), value, exact)
    return np.where(np.isneginf(u)[None, :], 0.0, value)


def expected_hypervolume_improvement(
    mean: np.ndarray, std: np.ndarray, front: np.ndarray, ref: np.ndarray
) -> np.ndarray:
    """Exact EHVI of candidates with independent Gaussian predictions, two minimised objectives.

    Args:
        mean: `n x 2` predictive means.
        std: `n x 2` predictive standard deviations (>= 0).
        front: `k x 2` points observed so far (dominated points and points beyond ``ref`` are ignored).
        ref: reference point, length 2.

    Returns:
        `n` expected improvements of the hypervolume bounded by ``ref``.
    """
    mean = np.asarray(mean, dtype=np.float64)
    std = np.maximum(np.asarray(std, dtype=np.float64), 1e-12)
    ref = np.asarray(ref, dtype=np.float64)
    points = np.asarray(front, dtype=np.float64).reshape(-1, 2)
    points = points[(points < ref).all(axis=1)]
    if points.shape[0]:
        points = indicators.nondominated(points)
        points = points[np.argsort(points[:, 0], kind="stable")]
    x = np.concatenate([[-np.inf], points[:, 0], [ref[0]]])
    u = np.concatenate([[ref[1]], points[:, 1]])
    G1 = _integrated_cdf(x, mean[:, 0], std[:, 0])
    G2 = _integrated_cdf(u, mean[:, 1], std[:, 1])
    return np.maximum(((G1[:, 1:] - G1[:, :-1]) * G2).sum(axis=1), 0.0)


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """Expected improvement below ``best`` (minimisation) of Gaussian predictions."""
    std = np.maximum(np.asarray(std, dtype=np.float64), 1e-12)
    t = (best - np.asarray(mean, dtype=np.float64)) / std
    return std * _psi(t)


def augmented_tchebycheff(normalised: np.ndarray, weights: np.ndarray, rho: float = PAREGO_RHO) -> np.ndarray:
    """ParEGO's scalarisation of `n x m` normalised objectives: ``max_k w_k f_k + rho * sum_k w_k f_k``."""
    weighted = np.asarray(normalised) * np.asarray(weights)
    return weighted.max(axis=1) + rho * weighted.sum(axis=1)
