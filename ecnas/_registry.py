"""One registry shape for every extension point (spaces, optimizers, meters, importers, profiles).

A registry maps names to plug-ins; registering a taken name is refused, and a lookup miss lists the valid
names, so a typo on the command line tells the user what exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["Registry"]

_T = TypeVar("_T")


class Registry(Generic[_T]):
    """Plug-ins of one kind by name, in registration order.

    Args:
        kind: what the plug-ins are ("search space", "optimizer", …), used in error messages.
        sort_names: list names sorted instead of in registration order.
    """

    def __init__(self, kind: str, *, sort_names: bool = False, base: type | None = None) -> None:
        self.kind = kind
        self._sort = sort_names
        self._base = base
        self._entries: dict[str, _T] = {}

    def add(self, name: str, entry: _T) -> _T:
        """Register ``entry`` under ``name``.

        Raises:
            ValueError: ``name`` is empty, not a string, or already taken.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        if name in self._entries:
            taken = self._entries[name]
            raise ValueError(
                f"a {self.kind} named {name!r} is already registered ({getattr(taken, '__qualname__', taken)!r}); "
                "choose another name"
            )
        self._entries[name] = entry
        return entry

    def decorator(self, name: str) -> Callable[[_T], _T]:
        """``@registry.decorator("name")``: register the decorated object under ``name``."""

        def decorate(entry: _T) -> _T:
            return self.add(name, entry)

        return decorate

    def class_decorator(self, name: str) -> Callable[[_T], _T]:
        """``@registry.class_decorator("name")`` for plug-in classes.

        It checks the class derives from the registry's ``base``, registers it and sets its ``name`` attribute.

        Raises:
            TypeError: the decorated object is not a subclass of ``base``; ValueError: the name is taken.
        """

        def decorate(cls: _T) -> _T:
            if self._base is not None and not (isinstance(cls, type) and issubclass(cls, self._base)):
                raise TypeError(
                    f"a {self.kind} registered as {name!r} must be a {self._base.__name__} subclass, got {cls!r}"
                )
            self.add(name, cls)
            cls.name = name  # type: ignore[attr-defined]
            return cls

        return decorate

    def get(self, name: str) -> _T:
        """The plug-in registered under ``name``.

        Raises:
            ValueError: unknown name; the message lists the valid ones.
        """
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise ValueError(f"unknown {self.kind} {name!r}; valid names are {self.names()}") from None

    def names(self) -> list[str]:
        """Registered names (registration order, or sorted when the registry was made so)."""
        return sorted(self._entries) if self._sort else list(self._entries)

    def __getitem__(self, name: str) -> _T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
