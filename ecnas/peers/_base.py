"""The peer contract: an outside library's optimizer run on a table, returning an ecnas Result.

A :class:`Peer` has the constructor of :class:`ecnas.optimizers.Optimizer` (``bench, seed, max_evaluations,
budget, objectives, max_energy`` plus its own keyword options), :meth:`Peer.settings` and :meth:`Peer.run`, so
``ecnas compare`` runs peers beside ecnas's own optimizers. Peers live in their own registry (they need optional
packages; the optimizer contract suite covers ecnas's ask/tell optimizers only).

Limits: ``max_evaluations`` counts distinct paid table queries (invalid, absent and repeated proposals are free
answers, counted in ``rejections``); single-fidelity peers default to 110 (as SEMOA/MS-EHVI). Multi-fidelity
peers default to the simulated epochs of 110 top-budget evaluations (as ``parego-hb``); ``max_energy``
(simulated kWh) ends any run once spent.
"""

from __future__ import annotations

import abc
import importlib.util
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ecnas._registry import Registry
from ecnas._validation import check_int
from ecnas.errors import EcnasError
from ecnas.optimizers._base import _check_energy, _resolve_seed
from ecnas.peers._target import TableTarget

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark
    from ecnas.optimizers import Result

__all__ = ["Peer", "PeerUnavailableError", "get_peer", "peer_names", "register_peer", "require"]

_P = TypeVar("_P", bound="type[Peer]")

#: pip extra installing every peer's package.
EXTRA = "ecnas[peers]"


class PeerUnavailableError(EcnasError, ImportError):
    """A peer's package is not installed (the message names the package and the pip command)."""


def require(package: str, peer: str) -> None:
    """Raise :class:`PeerUnavailableError` unless ``package`` can be imported."""
    if importlib.util.find_spec(package) is None:
        raise PeerUnavailableError(
            f"peer optimizer {peer!r} needs the package {package!r}, which is not installed; "
            f"install it with `pip install '{EXTRA}'` (or `pip install {package}`)"
        )


def register_peer(name: str) -> Callable[[_P], _P]:
    """Class decorator adding a :class:`Peer` to the peer registry under ``name``."""
    return _PEERS.class_decorator(name)


def peer_names() -> list[str]:
    """Names of every registered peer (whether or not its package is installed)."""
    return list(_PEERS)


def get_peer(name: str) -> type[Peer]:
    """The peer class registered under ``name`` (ValueError listing the valid names otherwise)."""
    return _PEERS.get(name)


class Peer(abc.ABC):
    """An outside optimizer run against a :class:`~ecnas.peers.TableTarget`.

    Args:
        bench: the open table.
        seed: the library's seed (None draws one, recorded).
        max_evaluations: distinct paid queries; None = 110 (single-fidelity) / unlimited (multi-fidelity,
            which stop at the simulated epochs of 110 top-budget evaluations).
        budget: target budget; None = the table's largest.
        objectives: minimised objectives; None = validation error and energy.
        max_energy: simulated kWh the run may spend; None = no energy limit.

    Raises:
        PeerUnavailableError: the library is not installed (raised at construction, before any run).
        ValueError: an argument is out of range.
    """

    name: ClassVar[str] = ""
    #: Importable package the peer needs.
    package: ClassVar[str] = ""
    #: True when the peer evaluates lower budgets too.
    multi_fidelity: ClassVar[bool] = False
    default_max_evaluations: ClassVar[int] = 110

    def __init__(
        self,
        bench: Benchmark,
        *,
        seed: int | None = None,
        max_evaluations: int | None = None,
        budget: int | None = None,
        objectives: Sequence[str] | None = None,
        max_energy: float | None = None,
    ) -> None:
        require(self.package, self.name)
        self.bench = bench
        self.seed = _resolve_seed(seed)
        self.budget = int(bench.check_budget(budget))
        self.objectives = objectives
        self.max_energy = _check_energy(max_energy)
        self.max_evaluations = None if max_evaluations is None else check_int("max_evaluations", max_evaluations)
        self.max_epochs: float | None = None
        if self.max_evaluations is None and self.max_energy is None:
            if self.multi_fidelity:
                self.max_epochs = float(self.default_max_evaluations * self.budget)
            else:
                self.max_evaluations = self.default_max_evaluations

    def settings(self) -> dict[str, Any]:
        """The run's options (JSON-able), recorded in the result."""
        settings: dict[str, Any] = {"max_evaluations": self.max_evaluations, "budget": self.budget}
        if self.max_energy is not None:
            settings["max_energy"] = self.max_energy
        if self.max_epochs is not None:
            settings["max_epochs"] = self.max_epochs
        return settings

    def target(self) -> TableTarget:
        """A fresh :class:`TableTarget` with this run's limits."""
        return TableTarget(
            self.bench,
            objectives=self.objectives,
            budget=self.budget,
            max_evaluations=self.max_evaluations,
            max_energy=self.max_energy,
            max_epochs=self.max_epochs,
        )

    def expected_evaluations(self) -> int:
        """Paid evaluations the run expects (sizes initial designs): ``max_evaluations`` or 110."""
        return self.max_evaluations or self.default_max_evaluations

    def max_proposals(self) -> int:
        """Proposals (paid and free) after which a run that makes no progress is stopped as ``exhausted``."""
        return 20 * self.expected_evaluations() + 200

    def run(self) -> Result:
        """Run the library until a limit is reached; the paid history as an ecnas Result."""
        target = self.target()
        self._optimize(target)
        return target.result(algorithm=self.name, seed=self.seed, settings=self.settings())

    @abc.abstractmethod
    def _optimize(self, target: TableTarget) -> None:
        """Run the library against ``target`` until ``target.done`` (or record why it stopped first)."""


#: Registered plug-ins by name (defined after their base class, which it checks).
_PEERS: Registry[type[Peer]] = Registry("peer optimizer", base=Peer)
