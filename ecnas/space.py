"""Moved to :mod:`ecnas.spaces.nb101.cells`; this name stays so existing imports keep working."""

from ecnas.spaces.nb101.cells import *  # noqa: F403
from ecnas.spaces.nb101.cells import __all__ as _moved
from ecnas.spaces.nb101.enumeration import enumerate_space

__all__ = [*_moved, "enumerate_space"]
