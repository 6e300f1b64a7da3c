"""``ecnas space``: enumerate the NB101 cell space into NB101's generated-graphs JSON."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import click

from ecnas.space import MAX_EDGES, MAX_VERTICES


@click.group("space")
def command() -> None:
    """Enumerate the NB101 cell space."""


@command.command("enumerate", short_help="Write every unique cell to a generated-graphs JSON file.")
@click.option(
    "--max-vertices",
    type=click.IntRange(2, MAX_VERTICES),
    default=MAX_VERTICES,
    show_default=True,
    help="Largest cell, input and output included (2..7).",
)
@click.option(
    "--max-edges",
    type=click.IntRange(1, MAX_EDGES),
    default=MAX_EDGES,
    show_default=True,
    help="Most edges in a cell (1..9).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file to write: {hash: [matrix, labeling]}, NB101's generated_graphs.json format.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes hashing in parallel.",
)
@click.option("--no-cache", is_flag=True, help="Recompute even if a cached enumeration exists.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bars.")
def enumerate_command(
    max_vertices: int, max_edges: int, output: Path, jobs: int, no_cache: bool, no_progress: bool
) -> None:
    """Write every unique cell of the space to OUTPUT (the format of NB101's generate_graphs.py).

    The file is written atomically: a temporary file next to OUTPUT, renamed when complete.
    """
    from tqdm.auto import tqdm

    from ecnas.enumeration import enumerate_cells

    folder = output.parent
    if not folder.is_dir():
        raise click.BadParameter(f"folder {str(folder)!r} does not exist; create it first", param_hint="--output")
    space = enumerate_cells(
        max_vertices, max_edges, show_progress_bar=not no_progress, use_cache=not no_cache, n_jobs=jobs
    )
    temporary = None
    try:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=folder, prefix=f".{output.name}.", suffix=".tmp", delete=False
        ) as file:
            temporary = Path(file.name)
            items = tqdm(
                space.generated_graphs_items(),
                total=len(space),
                desc=f"Writing {output.name}",
                unit=" cells",
                unit_scale=True,
                disable=no_progress,
            )
            # json.dump(..., sort_keys=True) byte for byte, streamed (the keys are already in order).
            file.write("{")
            for index, (cell_hash, value) in enumerate(items):
                file.write(f"{', ' if index else ''}{json.dumps(cell_hash)}: {json.dumps(value)}")
            file.write("}")
        umask = os.umask(0)
        os.umask(umask)
        temporary.chmod(0o666 & ~umask)  # a temporary file is private; the result follows the umask
        os.replace(temporary, output)
    except OSError as error:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise click.ClickException(f"could not write {output}: {error.strerror or error}") from None
    click.echo(f"Wrote {len(space):,} cells (≤{max_vertices} vertices, ≤{max_edges} edges) to {output}")
