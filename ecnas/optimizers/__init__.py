"""Multi-objective optimizers over the cells of an ecnas table (accuracy vs energy, EC-NAS Section 4).

>>> from ecnas.optimizers import run
>>> result = run("semoa", "table.h5", seed=0)          # doctest: +SKIP
>>> result.front, result.front_hashes, result.search_cost  # doctest: +SKIP

Registered algorithms (:func:`optimizer_names`): ``semoa`` (steady-state evolution with hypervolume
selection), ``shemoa`` (evolution with successive halving over budgets), ``msehvi`` (Bayesian
optimisation with exact 2-D expected hypervolume improvement), ``rs`` (random search) and ``parego-hb``
(ParEGO inside Hyperband). Every optimizer follows the ask/tell contract of :class:`Optimizer`; new ones
register with :func:`register`. :func:`as_pymoo_problem` runs any pymoo algorithm on a table.
"""

from __future__ import annotations

from typing import Any

from ecnas.optimizers._acquisition import augmented_tchebycheff, expected_hypervolume_improvement, expected_improvement
from ecnas.optimizers._base import (
    Candidate,
    Optimizer,
    get_optimizer,
    optimizer_names,
    optimizer_options,
    register,
    run,
)
from ecnas.optimizers._gp import GaussianProcess, single_threaded_blas
from ecnas.optimizers._msehvi import MSEHVI
from ecnas.optimizers._multifidelity import hyperband_brackets
from ecnas.optimizers._operators import rank_select
from ecnas.optimizers._parego_hb import ParEGOHyperband, simplex_lattice
from ecnas.optimizers._problem import (
    DEFAULT_OBJECTIVES,
    OBJECTIVES,
    TableProblem,
    TableSpace,
    check_objectives,
    reference_point,
)
from ecnas.optimizers._random import RandomSearch
from ecnas.optimizers._result import STOP_REASONS, Result
from ecnas.optimizers._semoa import SEMOA
from ecnas.optimizers._shemoa import SHEMOA

__all__ = [
    "DEFAULT_OBJECTIVES",
    "MSEHVI",
    "OBJECTIVES",
    "SEMOA",
    "SHEMOA",
    "STOP_REASONS",
    "Candidate",
    "GaussianProcess",
    "Optimizer",
    "ParEGOHyperband",
    "RandomSearch",
    "Result",
    "TableProblem",
    "TableSpace",
    "as_pymoo_problem",
    "augmented_tchebycheff",
    "check_objectives",
    "expected_hypervolume_improvement",
    "expected_improvement",
    "get_optimizer",
    "hyperband_brackets",
    "optimizer_names",
    "optimizer_options",
    "rank_select",
    "reference_point",
    "register",
    "run",
    "simplex_lattice",
    "single_threaded_blas",
]


def as_pymoo_problem(*args: Any, **kwargs: Any) -> Any:
    """A pymoo ``Problem`` over a table (see :func:`ecnas.optimizers._pymoo.as_pymoo_problem`)."""
    from ecnas.optimizers._pymoo import as_pymoo_problem as build

    return build(*args, **kwargs)
