"""Search spaces as plug-ins: every layer of ecnas reaches configurations only through :class:`SearchSpace`.

>>> from ecnas.spaces import get_space, space_names
>>> space_names()                                     # doctest: +SKIP
['nb101', ...]
>>> space = get_space("nb101")
>>> cs = space.configspace()                          # edge_0..edge_20, op_node_0..op_node_4

Register a new space with :func:`register_space` (see ``docs/adding-a-search-space.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ecnas._registry import Registry
from ecnas.spaces._base import Column, SearchSpace
from ecnas.spaces._params import Categorical, Float, HyperparameterSpace, Integer, ParamConfig
from ecnas.spaces.nb101 import NB101Space

__all__ = [
    "Categorical",
    "Column",
    "Float",
    "HyperparameterSpace",
    "Integer",
    "NB101Space",
    "ParamConfig",
    "SearchSpace",
    "get_space",
    "register_space",
    "space_names",
]

_S = TypeVar("_S", bound=type[SearchSpace])
_SPACES: Registry[type[SearchSpace]] = Registry("search space", base=SearchSpace)
#: Names older table files give their space.
_ALIASES = {"nasbench101": "nb101"}


def register_space(name: str) -> Callable[[_S], _S]:
    """Class decorator adding a :class:`SearchSpace` subclass to the registry under ``name``.

    Raises:
        ValueError: the name is taken; TypeError: the class is not a SearchSpace.
    """
    return _SPACES.class_decorator(name)


def space_names() -> list[str]:
    """Names of every registered search space, in registration order."""
    _load_builtin()
    return _SPACES.names()


def get_space(name: str, **options: Any) -> SearchSpace:
    """The search space registered under ``name`` (``options`` go to its constructor).

    Raises:
        ValueError: unknown name; the message lists the registered ones.
    """
    _load_builtin()
    return _SPACES.get(_ALIASES.get(name, name))(**options)


def _load_builtin() -> None:
    # Spaces whose modules need optional heavy imports register themselves when first asked for.
    import ecnas.spaces._builtin  # noqa: F401


register_space("nb101")(NB101Space)
