"""Optuna peers: ``optuna-nsga2`` (NSGAIISampler) and ``optuna-tpe`` (multi-objective TPESampler).

:func:`optuna_objective` is the adapter for your own Optuna code: it suggests every hyperparameter of the table's
ConfigSpace (categoricals, integers and floats, log scale kept) and returns the objective values as a tuple for
a study with one ``"minimize"`` direction per objective. Invalid configurations (NB101: most random edge sets)
get the penalty vector without a query.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ecnas._validation import check_int
from ecnas.peers._base import Peer, register_peer
from ecnas.peers._target import TableTarget

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark

__all__ = ["OptunaNSGA2", "OptunaTPE", "optuna_objective"]


def suggest_configuration(trial: Any, configspace: Any) -> dict[str, Any]:
    """A configuration dict suggested by an Optuna trial, one ``suggest_*`` per ConfigSpace hyperparameter."""
    from ConfigSpace import (
        CategoricalHyperparameter,
        Constant,
        OrdinalHyperparameter,
        UniformFloatHyperparameter,
        UniformIntegerHyperparameter,
    )

    config: dict[str, Any] = {}
    for hp in configspace.values():
        if isinstance(hp, CategoricalHyperparameter):
            choices = [c.item() if hasattr(c, "item") else c for c in hp.choices]
            config[hp.name] = trial.suggest_categorical(hp.name, choices)
        elif isinstance(hp, OrdinalHyperparameter):
            choices = [c.item() if hasattr(c, "item") else c for c in hp.sequence]
            config[hp.name] = trial.suggest_categorical(hp.name, choices)
        elif isinstance(hp, UniformIntegerHyperparameter):
            config[hp.name] = trial.suggest_int(hp.name, int(hp.lower), int(hp.upper), log=bool(hp.log))
        elif isinstance(hp, UniformFloatHyperparameter):
            config[hp.name] = trial.suggest_float(hp.name, float(hp.lower), float(hp.upper), log=bool(hp.log))
        elif isinstance(hp, Constant):
            config[hp.name] = hp.value
        else:
            raise TypeError(f"optuna_objective cannot suggest {type(hp).__name__} hyperparameter {hp.name!r}")
    return config


def optuna_objective(target: TableTarget) -> Callable[[Any], tuple[float, ...]]:
    """An Optuna objective over a table: ``objective(trial) -> tuple of objective values`` (all minimised)."""
    configspace = target.configspace()

    def objective(trial: Any) -> tuple[float, ...]:
        return tuple(target.evaluate(suggest_configuration(trial, configspace)).tolist())

    return objective


class _OptunaPeer(Peer):
    package = "optuna"

    def _sampler(self) -> Any:
        raise NotImplementedError

    def _optimize(self, target: TableTarget) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        logging.getLogger("optuna").setLevel(logging.ERROR)
        study = optuna.create_study(directions=["minimize"] * len(target.objectives), sampler=self._sampler())
        objective = optuna_objective(target)
        proposals, limit = 0, self.max_proposals()
        while not target.done:
            if proposals >= limit:
                target.stop("exhausted", f"Optuna made {limit} proposals ({target.n_evaluations} new) and stopped")
                return
            trial = study.ask()
            study.tell(trial, objective(trial))
            proposals += 1


@register_peer("optuna-nsga2")
class OptunaNSGA2(_OptunaPeer):
    """Optuna's NSGAIISampler.

    Args:
        bench: the table.
        population_size: NSGA-II's population (Optuna's default 50).
        **kwargs: ``seed``, ``max_evaluations``, ``budget``, ``objectives``, ``max_energy``.
    """

    def __init__(self, bench: Benchmark, *, population_size: int = 50, **kwargs: Any) -> None:
        super().__init__(bench, **kwargs)
        self.population_size = check_int("population_size", population_size, 2)

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "population_size": self.population_size}

    def _sampler(self) -> Any:
        import optuna

        return optuna.samplers.NSGAIISampler(population_size=self.population_size, seed=self.seed)


@register_peer("optuna-tpe")
class OptunaTPE(_OptunaPeer):
    """Optuna's TPESampler (multi-objective, MOTPE).

    Args:
        bench: the table.
        n_startup_trials: random trials before TPE (Optuna's default 10).
        **kwargs: ``seed``, ``max_evaluations``, ``budget``, ``objectives``, ``max_energy``.
    """

    def __init__(self, bench: Benchmark, *, n_startup_trials: int = 10, **kwargs: Any) -> None:
        super().__init__(bench, **kwargs)
        self.n_startup_trials = check_int("n_startup_trials", n_startup_trials, 1)

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "n_startup_trials": self.n_startup_trials}

    def _sampler(self) -> Any:
        import optuna

        return optuna.samplers.TPESampler(n_startup_trials=self.n_startup_trials, seed=self.seed)
