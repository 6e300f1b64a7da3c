"""Moved to :mod:`ecnas.spaces.nb101.network`; this name stays so existing imports keep working."""

from ecnas.spaces.nb101.network import *  # noqa: F403
from ecnas.spaces.nb101.network import __all__ as _moved

__all__ = [*_moved]
