"""The ``ecnas`` command line.

Each sub-command lives in its own module of this package and exposes a click command named
``command``; modules load only when their command runs, so ``ecnas --help`` stays fast.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

__all__ = ["describe_environment_error", "main"]

#: Sub-command name → module (under ``ecnas.cli``) that defines ``command``.
_COMMANDS: dict[str, tuple[str, str]] = {
    "space": ("ecnas.cli.space", "Enumerate the NB101 cell space."),
    "info": ("ecnas.cli.info", "Show a table's format, size and provenance."),
    "query": ("ecnas.cli.query", "Look up one cell in a table."),
    "import": ("ecnas.cli.imports", "Convert NB101 / EC-NAS TFRecord files into ecnas tables."),
    "build": ("ecnas.cli.build", "Measure, fit and fill a table on this hardware."),
    "search": ("ecnas.cli.search", "Run one multi-objective optimizer on a table."),
    "compare": ("ecnas.cli.compare", "Compare optimizers over seeds: attainment, plots, summary."),
    "importance": ("ecnas.cli.importance", "Which design decisions matter for which objective (fANOVA)."),
    "dsnn": ("ecnas.cli.dsnn", "Deep Shift networks: live MFMO search of loss vs inference emissions."),
}


def describe_environment_error(error: BaseException) -> str:
    """One line for an error of the environment (file system, permissions, input nested too deeply)."""
    import errno

    from ecnas.errors import EcnasError

    if isinstance(error, RecursionError):
        return "input is nested too deeply (JSON or records beyond any real file's depth); check the input file"
    if isinstance(error, EcnasError):
        return str(error)
    assert isinstance(error, OSError)
    where = error.filename if error.filename is not None else "a file"
    if isinstance(error, PermissionError):
        return f"permission denied: {where}; choose a path you can read and write"
    if error.errno == errno.ELOOP:
        return f"{where}: too many levels of symbolic links (a link loop?)"
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"cannot write {where}: no space left on the device; free some space or write elsewhere"
    if error.errno == errno.EROFS:
        return f"cannot write {where}: read-only file system; write elsewhere"
    return f"{where}: {error.strerror or error}"


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, (module, _) in _COMMANDS.items() if importlib.util.find_spec(module))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        module_name, _ = _COMMANDS[cmd_name]
        if importlib.util.find_spec(module_name) is None:
            return None
        return importlib.import_module(module_name).command

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; environment errors a command did not handle become one message, not a traceback."""
        try:
            return super().invoke(ctx)
        except (OSError, RecursionError) as error:
            raise click.ClickException(describe_environment_error(error)) from None
        except RuntimeError as error:
            if not str(error).startswith("Symlink loop"):  # pathlib's resolve() on a link loop
                raise
            where = str(error).removeprefix("Symlink loop from ")
            raise click.ClickException(f"{where}: a symbolic link loop") from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ecnas")
def main() -> None:
    """ecnas: energy-aware NAS benchmark on the NAS-Bench-101 cell space."""
