"""ParEGO's choice of new configurations of the ``dsnn`` space (Knowles 2006), for the live MFMO run.

Per choice: a weight vector from the simplex lattice, the augmented Tchebycheff scalarisation (``rho = 0.05``)
of the min-max normalised objectives observed at the model's budget, a GP on the space's features and the
candidate of largest expected improvement among random configurations and mutants of the five best. The
lattice, ``rho``, the expected improvement and the GP are the table optimizer's (``ecnas.optimizers``),
imported from its public building blocks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ecnas.optimizers import GaussianProcess, augmented_tchebycheff, expected_improvement, simplex_lattice
from ecnas.spaces import get_space

__all__ = ["ParEGOSelector"]


class ParEGOSelector:
    """ParEGO's choice of new configurations over the space's features (Knowles 2006)."""

    def __init__(self, rng: np.random.Generator, *, initial_design: int, pool_size: int, mutants: int) -> None:
        self.space = get_space("dsnn")
        self.rng = rng
        self.initial_design = initial_design
        self.pool_size = pool_size
        self.mutants = mutants
        self.weights = simplex_lattice(2)
        self.model = GaussianProcess()
        self._model_key: tuple[int, int] | None = None

    def _features(self, configs: Sequence[Any]) -> np.ndarray:
        return self.space.features(self.space.encode(configs), np.zeros(len(configs)))

    def select(self, n: int, observed: Mapping[int, list[tuple[Any, np.ndarray | None]]], seen: set[str]) -> list[Any]:
        """``n`` distinct configurations not in ``seen`` (keys), random until a budget has enough observations."""
        model_budget = next(
            (b for b in sorted(observed, reverse=True) if len(observed[b]) >= self.initial_design), None
        )
        if model_budget is None:
            return self._random(n, seen)
        configs = [c for c, _ in observed[model_budget]]
        ok = [f for _, f in observed[model_budget] if f is not None]
        if not ok:
            return self._random(n, seen)
        worst = np.array([1.0, max(f[1] for f in ok)])
        F = np.array([f if f is not None else worst for _, f in observed[model_budget]], dtype=np.float64)
        low, high = F.min(axis=0), F.max(axis=0)
        normalised = (F - low) / np.where(high > low, high - low, 1.0)
        X = self._features(configs)
        chosen: list[Any] = []
        taken = set(seen)
        for _ in range(n):
            weights = self.weights[self.rng.integers(len(self.weights))]
            scalar = augmented_tchebycheff(normalised, weights)
            candidates = self._candidates([configs[i] for i in np.argsort(scalar)[:5]], taken)
            key = (model_budget, len(configs))
            if key != self._model_key:
                self.model.fit(X, scalar)
                self._model_key = key
            else:
                self.model.set_targets(scalar)
            mean, std = self.model.predict(self._features(candidates))
            score = expected_improvement(mean, std, float(scalar.min()))
            top = np.flatnonzero(score >= score.max() * (1 - 1e-9))
            pick = candidates[int(self.rng.choice(top))]
            chosen.append(pick)
            taken.add(pick.key)
        return chosen

    def _random(self, n: int, seen: set[str]) -> list[Any]:
        out: list[Any] = []
        taken = set(seen)
        while len(out) < n:
            for config in self.space.sample(n - len(out), seed=self.rng):
                if config.key not in taken:
                    out.append(config)
                    taken.add(config.key)
        return out

    def _candidates(self, parents: list[Any], taken: set[str]) -> list[Any]:
        pool = {c.key: c for c in self.space.sample(self.pool_size, seed=self.rng) if c.key not in taken}
        for k in range(self.mutants):
            child = self.space.mutate(parents[k % len(parents)], self.rng)
            if child is not None and child.key not in taken:
                pool.setdefault(child.key, child)
        return list(pool.values())
