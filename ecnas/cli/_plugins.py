"""``--plugin MODULE``: import a user's module that registers optimizers before ``search``/``compare`` run.

A plug-in is any importable module whose import registers an optimizer (``@ecnas.optimizers.register("name")``
on an :class:`~ecnas.optimizers.Optimizer` subclass), e.g. ``--plugin mypkg.myopt``. The current directory
is searchable, as with ``python -m``. Worker processes of ``compare`` import the same module (the run task
names the optimizer class's module), so plug-ins work with ``--jobs N`` too.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = ["import_plugins", "plugin_option"]

_F = TypeVar("_F", bound=Callable[..., Any])


def import_plugins(modules: tuple[str, ...] | list[str]) -> list[str]:
    """Import each module (dotted name); the names of optimizers they registered.

    Raises:
        click.BadParameter: a module cannot be imported (the message names it and the error).
    """
    from ecnas.optimizers import optimizer_names

    before = set(optimizer_names())
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise click.BadParameter(
                f"cannot import plug-in module {module!r}: {error}; give a dotted module name importable from "
                "the current directory or the Python path (e.g. mypkg.myopt)",
                param_hint="--plugin",
            ) from None
        except Exception as error:  # a user's module failing on import is reported, never a traceback
            raise click.BadParameter(
                f"plug-in module {module!r} failed while importing: {type(error).__name__}: {error}",
                param_hint="--plugin",
            ) from None
    return [name for name in optimizer_names() if name not in before]


def _callback(ctx: click.Context, _: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    if value and not ctx.resilient_parsing:
        import_plugins(value)
    return value


def plugin_option(function: _F) -> _F:
    """``--plugin MODULE`` (repeatable, processed before the other options)."""
    return click.option(
        "--plugin",
        "plugins",
        multiple=True,
        metavar="MODULE",
        is_eager=True,
        expose_value=False,
        callback=_callback,
        help="Import MODULE first (e.g. mypkg.myopt), so that the optimizers it registers can be named; repeatable.",
    )(function)
