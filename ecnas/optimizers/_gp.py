"""A small exact Gaussian process in numpy (Matérn-5/2 ARD kernel, type-II maximum likelihood).

Enough for Bayesian optimisation over a few hundred observations: hyperparameters are fitted with
L-BFGS-B on the exact log marginal likelihood and its analytic gradient, warm-started from the previous
fit. Targets are standardised inside; predictions are of the latent function (no observation noise).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from scipy.linalg import cho_solve, solve_triangular
from scipy.optimize import minimize

from ecnas.errors import NotFittedError

__all__ = ["GaussianProcess", "single_threaded_blas"]

_SQRT5 = np.sqrt(5.0)
_LOG_LENGTHSCALE = (np.log(0.05), np.log(20.0))
_LOG_SIGNAL = (np.log(0.05), np.log(20.0))
_LOG_NOISE = (np.log(1e-6), np.log(1.0))


_CONTROLLER: Any = None


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run BLAS on one thread: small matrices are 10x slower when threads fight over shared cores."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    with _CONTROLLER.limit(limits=1, user_api="blas"):
        yield


def _sq_dist(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    d = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.maximum(d, 0.0)


class GaussianProcess:
    """Exact GP regression with a Matérn-5/2 ARD kernel plus white noise.

    Hyperparameters (log lengthscales, log signal variance, log noise variance) end in ``theta_`` after
    :meth:`fit`.
    """

    def __init__(self) -> None:
        self.theta_: np.ndarray | None = None

    # ------------------------------------------------------------------ likelihood
    def _kernel_parts(self, theta: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        d = X.shape[1]
        lengthscale = np.exp(theta[:d])
        Z = X / lengthscale
        r = np.sqrt(_sq_dist(Z, Z))
        e = np.exp(-_SQRT5 * r)
        M = (1.0 + _SQRT5 * r + 5.0 / 3.0 * r * r) * e
        A = 5.0 / 3.0 * (1.0 + _SQRT5 * r) * e  # -(dM/dr)/r
        return M, A, Z

    def _nll(self, theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        n, d = X.shape
        signal, noise = np.exp(theta[d]), np.exp(theta[d + 1])
        M, A, Z = self._kernel_parts(theta, X)
        K = signal * M
        K[np.diag_indices(n)] += noise
        try:
            L = np.linalg.cholesky(K)
        except np.linalg.LinAlgError:
            return 1e25, np.zeros_like(theta)
        alpha = cho_solve((L, True), y, check_finite=False)
        nll = 0.5 * y @ alpha + np.log(np.diag(L)).sum() + 0.5 * n * np.log(2 * np.pi)
        W = np.outer(alpha, alpha) - cho_solve((L, True), np.eye(n), check_finite=False)
        grad = np.empty_like(theta)
        B = W * A * signal
        # sum_ab B_ab (z_ai - z_bi)^2 for every dimension i, without an n x n x d tensor.
        grad[:d] = -0.5 * 2.0 * ((Z * Z).T @ B.sum(1) - ((B @ Z) * Z).sum(0))
        grad[d] = -0.5 * np.sum(W * K) + 0.5 * noise * np.trace(W)
        grad[d + 1] = -0.5 * noise * np.trace(W)
        return float(nll), grad

    # ------------------------------------------------------------------ public
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        optimise: bool = True,
        restarts: int = 0,
        rng: np.random.Generator | None = None,
    ) -> GaussianProcess:
        """Fit hyperparameters by maximum marginal likelihood (warm-started from the previous fit).

        Args:
            X: `n x d` inputs.
            y: `n` targets.
            optimise: False keeps the current hyperparameters and only conditions on the data.
            restarts: starts besides the previous optimum (when there is one): the default hyperparameters,
                then jittered ones. Without a previous optimum the default start is always used.
            rng: generator for the jitter.

        Returns:
            self.
        """
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        d = X.shape[1]
        self._standardise(y)
        ys = (y - self._y_mean) / self._y_std
        if not optimise and self.theta_ is not None and self.theta_.size == d + 2:
            self._factorise(X, ys)
            return self
        bounds = [_LOG_LENGTHSCALE] * d + [_LOG_SIGNAL, _LOG_NOISE]
        default = np.concatenate([np.zeros(d), [0.0, np.log(1e-2)]])
        warm = self.theta_ is not None and self.theta_.size == d + 2
        starts = [self.theta_] if warm else []
        if not warm or restarts > 0:
            starts.append(default)
        for _ in range(max(0, restarts - 1)):
            jitter = rng.normal(0.0, 0.5, size=d + 2) if rng is not None else 0.0
            starts.append(default + jitter)
        best, best_value = default, np.inf
        low, high = np.array(bounds).T
        for start in starts:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                solution = minimize(
                    self._nll,
                    np.clip(start, low, high),
                    args=(X, ys),
                    jac=True,
                    method="L-BFGS-B",
                    bounds=bounds,
                    options={"maxiter": 100},
                )
            if solution.fun < best_value:
                best, best_value = solution.x, float(solution.fun)
        self.theta_ = best
        self._factorise(X, ys)
        return self

    def set_targets(self, y: np.ndarray) -> GaussianProcess:
        """Same inputs and hyperparameters, new targets (one solve, no refit)."""
        if self.theta_ is None:
            raise NotFittedError("GaussianProcess.set_targets needs a fitted model; call fit first")
        y = np.asarray(y, dtype=np.float64)
        self._standardise(y)
        self._alpha = cho_solve((self._L, True), (y - self._y_mean) / self._y_std)
        return self

    def predict(self, Xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the latent function at `m x d` inputs."""
        if self.theta_ is None:
            raise NotFittedError("GaussianProcess.predict needs a fitted model; call fit first")
        d = self._X.shape[1]
        lengthscale = np.exp(self.theta_[:d])
        signal = np.exp(self.theta_[d])
        r = np.sqrt(_sq_dist(np.asarray(Xs, dtype=np.float64) / lengthscale, self._X / lengthscale))
        Ks = signal * (1.0 + _SQRT5 * r + 5.0 / 3.0 * r * r) * np.exp(-_SQRT5 * r)
        mean = Ks @ self._alpha
        v = solve_triangular(self._L, Ks.T, lower=True)
        var = np.maximum(signal - (v * v).sum(0), 1e-12)
        return mean * self._y_std + self._y_mean, np.sqrt(var) * self._y_std

    def _standardise(self, y: np.ndarray) -> None:
        self._y_mean = float(y.mean())
        spread = float(y.std())
        self._y_std = spread if spread > 1e-12 else 1.0

    def _factorise(self, X: np.ndarray, ys: np.ndarray) -> None:
        d = X.shape[1]
        M, _, _ = self._kernel_parts(self.theta_, X)
        K = np.exp(self.theta_[d]) * M
        K[np.diag_indices(X.shape[0])] += np.exp(self.theta_[d + 1]) + 1e-10
        self._X = X
        self._L = np.linalg.cholesky(K)
        self._alpha = cho_solve((self._L, True), ys)
