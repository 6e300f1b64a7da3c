"""The field's optimizers on ecnas tables: adapters for SMAC3, Optuna and pymoo, and peers ``ecnas compare`` runs.

Adapters (for your own code):

- :class:`TableTarget`: a table as an objective function — rejects invalid configurations through the space's
  ``is_valid`` before any query, maps fractional budgets to the nearest table budget at or below, answers repeats
  for free, keeps the paid history and returns an ecnas :class:`~ecnas.optimizers.Result`;
- :func:`smac_target_function` (SMAC3), :func:`optuna_objective` (Optuna),
  :func:`ecnas.optimizers.as_pymoo_problem` (pymoo);
- :meth:`ecnas.optimizers.Result.from_history`: any outside history (configurations, budgets) as a Result.

Peers (``ecnas compare --algorithms smac-parego-hb ...``; need ``pip install 'ecnas[peers]'``):
``smac-parego``, ``smac-parego-hb``, ``optuna-nsga2``, ``optuna-tpe``, ``pymoo-nsga2``. A peer whose package
is missing raises :class:`PeerUnavailableError` naming it.

    >>> from ecnas import Benchmark                                   # doctest: +SKIP
    >>> from ecnas.peers import TableTarget, smac_target_function     # doctest: +SKIP
    >>> target = TableTarget(Benchmark(None), max_evaluations=100)    # doctest: +SKIP
    >>> train = smac_target_function(target)  # pass to a SMAC facade; stop when target.done  # doctest: +SKIP
    >>> target.result(algorithm="my-smac").front                      # doctest: +SKIP
"""

from __future__ import annotations

from ecnas.peers._base import Peer, PeerUnavailableError, get_peer, peer_names, register_peer, require
from ecnas.peers._optuna import OptunaNSGA2, OptunaTPE, optuna_objective, suggest_configuration
from ecnas.peers._pymoo import PymooNSGA2
from ecnas.peers._smac import SMACParEGO, SMACParEGOHyperband, smac_target_function
from ecnas.peers._target import TableTarget

__all__ = [
    "OptunaNSGA2",
    "OptunaTPE",
    "Peer",
    "PeerUnavailableError",
    "PymooNSGA2",
    "SMACParEGO",
    "SMACParEGOHyperband",
    "TableTarget",
    "get_peer",
    "optuna_objective",
    "peer_names",
    "register_peer",
    "require",
    "smac_target_function",
    "suggest_configuration",
]
