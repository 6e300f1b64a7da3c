"""The NAS-Bench-101 cell space: cells and NB101 hashes, enumeration, channel plans, the NB101 network.

Modules: :mod:`~ecnas.spaces.nb101.cells` (:class:`CellSpec`, hashing), :mod:`~ecnas.spaces.nb101.enumeration`,
:mod:`~ecnas.spaces.nb101.channels` (parameter counts), :mod:`~ecnas.spaces.nb101.network` (torch, loaded on
use), :mod:`~ecnas.spaces.nb101.lookup` (hash and structure indexes of a table).
"""

from __future__ import annotations

from ecnas.spaces.nb101._space import CONFIGSPACE_OPS, NB101Space
from ecnas.spaces.nb101.cells import CellSpec

__all__ = ["CONFIGSPACE_OPS", "CellSpec", "NB101Space"]
