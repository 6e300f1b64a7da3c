"""SMAC3 peers: ``smac-parego`` (HPO facade + ParEGO) and ``smac-parego-hb`` (MultiFidelityFacade + ParEGO + Hyperband).

:func:`smac_target_function` is the adapter for your own SMAC code: ``train(config, seed=0, budget=None)`` returns
the objective values as a list (SMAC3's multi-objective cost). Budgets SMAC asks for (e.g. ``4/3`` epochs) are
served by the nearest table budget at or below them; invalid or absent configurations get the penalty vector
without a query (see :mod:`ecnas.peers._target`).

SMAC 2.4 with ParEGO must select incumbents at the highest budget (``incumbent_selection="highest_budget"``;
SMAC issue 1050: the default ``highest_observed_budget`` mixes budgets in the multi-objective comparison).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecnas._validation import check_int
from ecnas.peers._base import Peer, register_peer
from ecnas.peers._target import TableTarget

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark

__all__ = ["SMACParEGO", "SMACParEGOHyperband", "smac_target_function"]


def smac_target_function(target: TableTarget) -> Callable[..., list[float]]:
    """A SMAC3 target function over a table: ``(config, seed=0, budget=None) -> [objective values]``."""

    def train(config: Any, seed: int = 0, budget: float | None = None) -> list[float]:
        return target.evaluate(config, budget).tolist()

    return train


class _SMACPeer(Peer):
    package = "smac"

    def __init__(self, bench: Benchmark, *, initial_design: int | None = None, **kwargs: Any) -> None:
        super().__init__(bench, **kwargs)
        self.initial_design = None if initial_design is None else check_int("initial_design", initial_design, 1)

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "initial_design": self.initial_design}

    def _facade(self, scenario: Any, train: Callable[..., list[float]], directory: Path) -> Any:
        raise NotImplementedError

    def _scenario(self, target: TableTarget, directory: Path, **budgets: Any) -> Any:
        from smac import Scenario

        return Scenario(
            target.configspace(seed=self.seed),
            objectives=list(target.objectives),
            deterministic=True,
            n_trials=self.max_proposals(),
            seed=self.seed,
            output_directory=directory,
            **budgets,
        )

    def _n_initial(self, n_hyperparameters: int) -> int:
        """SMAC's own rule (10 per hyperparameter, at most 25 % of the trials) applied to the paid evaluations."""
        if self.initial_design is not None:
            return self.initial_design
        return max(1, min(10 * n_hyperparameters, int(0.25 * self.expected_evaluations())))

    def _optimize(self, target: TableTarget) -> None:
        from smac.main.exceptions import ConfigurationSpaceExhaustedException
        from smac.runhistory import TrialValue

        train = smac_target_function(target)
        for name in ("smac", "dask", "distributed"):
            logging.getLogger(name).setLevel(logging.ERROR)
        with tempfile.TemporaryDirectory(prefix="ecnas-smac-") as directory:
            smac = self._facade(target, train, Path(directory))
            proposals, limit = 0, self.max_proposals()
            while not target.done:
                if proposals >= limit:
                    target.stop("exhausted", f"SMAC made {limit} proposals ({target.n_evaluations} new) and stopped")
                    return
                try:
                    info = smac.ask()
                except ConfigurationSpaceExhaustedException:  # a small table's space: every configuration tried
                    target.stop("exhausted", f"SMAC exhausted the configuration space ({target.n_evaluations} paid)")
                    return
                cost = train(info.config, info.seed or 0, info.budget)
                smac.tell(info, TrialValue(cost=cost, time=0.0))
                proposals += 1


@register_peer("smac-parego")
class SMACParEGO(_SMACPeer):
    """SMAC3's HyperparameterOptimizationFacade (random forest, EI) with ParEGO scalarisation, top budget only.

    Args:
        bench: the table.
        initial_design: Sobol initial configurations (None: SMAC's rule on the paid evaluations).
        **kwargs: ``seed``, ``max_evaluations``, ``budget``, ``objectives``, ``max_energy``.
    """

    def _facade(self, target: TableTarget, train: Callable[..., list[float]], directory: Path) -> Any:
        from smac import HyperparameterOptimizationFacade as Facade
        from smac.multi_objective.parego import ParEGO

        scenario = self._scenario(target, directory)
        return Facade(
            scenario,
            train,
            multi_objective_algorithm=ParEGO(scenario),
            intensifier=Facade.get_intensifier(scenario, max_config_calls=1),
            initial_design=Facade.get_initial_design(scenario, n_configs=self._n_initial(len(scenario.configspace))),
            overwrite=True,
            logging_level=logging.ERROR,
        )


@register_peer("smac-parego-hb")
class SMACParEGOHyperband(_SMACPeer):
    """SMAC3's MultiFidelityFacade with ParEGO and Hyperband over ``[smallest table budget, budget]``.

    SMAC's budgets ``budget * eta**-k`` are served by the nearest table budget at or below them.

    Args:
        bench: the table.
        eta: Hyperband's halving rate (SMAC's default 3).
        initial_design: random initial configurations (None: SMAC's rule on the paid evaluations).
        **kwargs: ``seed``, ``max_evaluations``, ``budget``, ``objectives``, ``max_energy``.
    """

    multi_fidelity = True

    def __init__(self, bench: Benchmark, *, eta: int = 3, **kwargs: Any) -> None:
        super().__init__(bench, **kwargs)
        self.eta = check_int("eta", eta, 2)

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "eta": self.eta}

    def _facade(self, target: TableTarget, train: Callable[..., list[float]], directory: Path) -> Any:
        from smac import MultiFidelityFacade as Facade
        from smac.multi_objective.parego import ParEGO

        scenario = self._scenario(target, directory, min_budget=target.budgets[0], max_budget=self.budget)
        return Facade(
            scenario,
            train,
            multi_objective_algorithm=ParEGO(scenario),
            intensifier=Facade.get_intensifier(scenario, eta=self.eta, incumbent_selection="highest_budget"),
            initial_design=Facade.get_initial_design(scenario, n_configs=self._n_initial(len(scenario.configspace))),
            overwrite=True,
            logging_level=logging.ERROR,
        )
