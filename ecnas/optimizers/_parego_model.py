"""ParEGO's model with one Gaussian process per objective (qParEGO, Daulton et al. 2020).

Knowles' ParEGO (2006) fits one GP to the scalarised values ``s = max_k w_k f_k + rho * sum_k w_k f_k`` of a
freshly drawn weight vector ``w``. That target is a kink-ridden maximum of functions of very different kinds
(on an NB101 table: the validation error, noisy and hard to predict, and the energy, a smooth function of the
architecture), and a new weight needs a new target. Modelling each normalised objective with its own GP and
scalarising the *posterior* instead keeps ParEGO's search — one random weight per proposal, expected
improvement of the scalarised value over the best observed one — while each GP learns one objective's shape,
and the GPs are fitted once per data set instead of once per weight.

The scalarised posterior has no closed form; its expected improvement is a Monte Carlo mean over draws of the
independent per-objective Gaussians, with common random numbers (the same standard normal draws for every
candidate and weight), so rankings are smooth and the search stays deterministic under the run's seed.
"""

from __future__ import annotations

import numpy as np

from ecnas.errors import NotFittedError
from ecnas.optimizers._acquisition import PAREGO_RHO
from ecnas.optimizers._gp import GaussianProcess

__all__ = ["ObjectiveModels", "scalarised_expected_improvement"]


class ObjectiveModels:
    """One :class:`~ecnas.optimizers._gp.GaussianProcess` per objective, sharing the inputs.

    Each GP keeps its hyperparameters between fits (warm start), so refitting after a few more observations
    is cheap.
    """

    def __init__(self) -> None:
        self.models_: list[GaussianProcess] | None = None

    def fit(self, X: np.ndarray, Y: np.ndarray) -> ObjectiveModels:
        """Fit one GP per column of ``Y``.

        Args:
            X: `n x d` inputs.
            Y: `n x m` objective values (one column per objective).

        Returns:
            self.
        """
        Y = np.asarray(Y, dtype=np.float64)
        if self.models_ is None or len(self.models_) != Y.shape[1]:
            self.models_ = [GaussianProcess() for _ in range(Y.shape[1])]
        for k, model in enumerate(self.models_):
            model.fit(X, Y[:, k])
        return self

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior means and standard deviations, each `n x m`.

        Raises:
            NotFittedError: :meth:`fit` has not been called.
        """
        if self.models_ is None:
            raise NotFittedError("ObjectiveModels.predict needs a fitted model; call fit first")
        means, stds = zip(*(model.predict(X) for model in self.models_), strict=True)
        return np.column_stack(means), np.column_stack(stds)


def scalarised_expected_improvement(
    mean: np.ndarray,
    std: np.ndarray,
    weights: np.ndarray,
    best: float,
    normal: np.ndarray,
    *,
    rho: float = PAREGO_RHO,
    screen: int = 512,
) -> np.ndarray:
    """Expected improvement of ParEGO's augmented Tchebycheff value below ``best``, by Monte Carlo.

    With independent Gaussian predictions ``f_k ~ N(mean_k, std_k^2)``, the value of a candidate is
    ``E[max(best - s(f), 0)]``, ``s(f) = max_k w_k f_k + rho * sum_k w_k f_k``, averaged over the draws
    ``f = mean + std * normal``.

    Only the ``screen`` candidates with the smallest optimistic value ``s(mean - 4 std)`` are integrated; the
    others (whose improvement is negligible next to theirs) score 0.

    Args:
        mean: `n x m` predicted (normalised) objective means.
        std: `n x m` predicted standard deviations (>= 0).
        weights: `m` scalarisation weights.
        best: the smallest scalarised value observed so far.
        normal: `S x m` standard normal draws (common to every candidate).
        rho: augmentation weight.
        screen: candidates integrated.

    Returns:
        `n` expected improvements (>= 0).
    """
    mean = np.asarray(mean, dtype=np.float64)
    std = np.maximum(np.asarray(std, dtype=np.float64), 0.0)
    weights = np.asarray(weights, dtype=np.float64)
    optimistic = (mean - 4.0 * std) * weights
    optimistic = optimistic.max(axis=1) + rho * optimistic.sum(axis=1)
    score = np.zeros(mean.shape[0])
    n = mean.shape[0]
    keep = np.argpartition(optimistic, screen - 1)[:screen] if n > screen else np.arange(n)
    keep = keep[optimistic[keep] < best]
    if keep.size == 0:
        return score
    draws = (mean[keep][None, :, :] + std[keep][None, :, :] * np.asarray(normal)[:, None, :]) * weights
    scalar = draws.max(axis=2) + rho * draws.sum(axis=2)
    score[keep] = np.maximum(best - scalar, 0.0).mean(axis=0)
    return score
