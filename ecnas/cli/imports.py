"""``ecnas import NAME FILE -o TABLE``: convert an NB101 / EC-NAS TFRecord file into an ecnas table.

One sub-command per registered importer (``nasbench101``, ``ecnas``). Every record is read, its CRCs
checked, decoded and validated before anything is written; the table is written atomically, so a
corrupt or truncated input exits non-zero with a message naming the file and offset and leaves no
output file behind.
"""

from __future__ import annotations

from pathlib import Path

import click

from ecnas.errors import EcnasError, WriteError

_HELP = {
    "nasbench101": "Import a NAS-Bench-101 TFRecord file (accuracies, training time; no energy).",
    "ecnas": "Import an EC-NAS-Bench energy TFRecord file (any space, measured or scaled, any GPU).",
}


def _make_command(name: str) -> click.Command:
    @click.command(name, help=_HELP.get(name, f"Import a {name} file."))
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option(
        "-o",
        "--out",
        "--output",
        "output",
        required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Table to write (.h5).",
    )
    @click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
    @click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
    def run(file: Path, output: Path, force: bool, progress: bool) -> None:
        from ecnas.importers import get_importer
        from ecnas.table import provenance_summary

        if not file.is_file():
            raise click.BadParameter(f"{file}: no such file", param_hint="FILE")
        if output.exists() and not force:
            raise click.BadParameter(f"{output} already exists; pass --force to replace it", param_hint="--output")
        if output.resolve() == file.resolve():
            raise click.BadParameter("OUTPUT must differ from FILE", param_hint="--output")
        importer = get_importer(name, progress=progress)
        try:
            table = importer.read(file)  # every record read and checked before anything is written
        except (EcnasError, OSError) as error:
            raise click.ClickException(f"import failed: {error}") from None
        try:
            table.write(output, description=f" ({importer.format})")
        except WriteError as error:  # already says "cannot write <path>: why"
            raise click.ClickException(str(error)) from None
        except (EcnasError, OSError, ValueError) as error:
            raise click.ClickException(f"cannot write {output}: {error}") from None
        contents = table.contents
        click.echo(
            f"{file.name}: {table.num_records:,} records → {output}: {len(contents):,} cells, budgets "
            f"{list(contents.budgets)} epochs, {contents.repeats} repeat(s)"
        )
        click.echo(provenance_summary(contents.provenance))

    return run


class _ImportGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        from ecnas.importers import available_importers

        return list(available_importers())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from ecnas.importers import available_importers

        if cmd_name not in available_importers():
            return None
        return _make_command(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        from ecnas.importers import available_importers

        if args and args[0] not in available_importers() and not args[0].startswith("-"):
            raise click.UsageError(
                f"unknown format {args[0]!r}; valid formats are {list(available_importers())}", ctx=ctx
            )
        return super().resolve_command(ctx, args)


@click.group("import", cls=_ImportGroup)
def command() -> None:
    """Convert NB101 / EC-NAS TFRecord files into ecnas tables (no TensorFlow needed)."""
