"""``ecnas space``: list the search spaces, export one as ConfigSpace JSON, enumerate NB101's cells."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np

from ecnas._io import atomic_path, atomic_write_text
from ecnas.spaces.nb101.cells import LABEL_OF_CODE, MAX_EDGES, MAX_VERTICES

if TYPE_CHECKING:
    from ecnas.spaces.nb101.enumeration import EnumeratedSpace

_BATCH = 8192


def _json_entries(space: EnumeratedSpace) -> Iterator[tuple[int, str]]:
    """``(cells, '"hash": [matrix, labeling], ...')`` per batch, as ``json.dump(..., sort_keys=True)`` writes them.

    The space holds a few thousand distinct matrices and labelings: each is rendered once.
    """
    # Pack each matrix (21 upper-triangular bits + size) and each op-code row (7 × 3 bits) into an int64.
    rows, cols = np.triu_indices(7, k=1)
    matrix_keys = (space.matrices[:, rows, cols].astype(np.int64) << np.arange(rows.size)).sum(axis=1)
    matrix_keys |= space.num_vertices.astype(np.int64) << rows.size
    _, first, matrix_of = np.unique(matrix_keys, return_index=True, return_inverse=True)
    matrix_text = [
        json.dumps(space.matrices[i, :size, :size].tolist())
        for i, size in zip(first.tolist(), space.num_vertices[first].tolist(), strict=True)
    ]
    labeling_keys = (space.op_codes.astype(np.int64) << (3 * np.arange(7))).sum(axis=1)
    _, first, labeling_of = np.unique(labeling_keys, return_index=True, return_inverse=True)
    labeling_text = [
        json.dumps([LABEL_OF_CODE[code] for code in codes if code]) for codes in space.op_codes[first].tolist()
    ]
    matrix_of, labeling_of = matrix_of.ravel().tolist(), labeling_of.ravel().tolist()
    hashes = space.hashes
    for start in range(0, len(space), _BATCH):
        batch = range(start, min(start + _BATCH, len(space)))
        yield (
            len(batch),
            ", ".join(f'"{hashes[i]}": [{matrix_text[matrix_of[i]]}, {labeling_text[labeling_of[i]]}]' for i in batch),
        )


@click.group("space")
def command() -> None:
    """Search spaces: list them, export one as ConfigSpace JSON, enumerate NB101's cells."""


@command.command("list", short_help="The registered search spaces.")
def list_command() -> None:
    """Print every registered search space with what it can do."""
    from ecnas.spaces import get_space, space_names

    for name in space_names():
        space = get_space(name)
        flags = (("enumerable", space.can_enumerate), ("mutable", space.can_mutate))
        abilities = [word for word, able in flags if able]
        click.echo(f"{name}: {space.description} [{', '.join(abilities) or 'sample only'}]")


@command.command("configspace", short_help="Write a space as ConfigSpace JSON.")
@click.argument("name")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="JSON file (default: stdout).")
def configspace_command(name: str, out: Path | None) -> None:
    """Write search space NAME as a ConfigSpace JSON file (for SMAC3, DeepCAVE, HPOBench-style code).

    Read it back with ``ConfigSpace.ConfigurationSpace.from_json(path)``.
    """
    from ecnas.spaces import get_space

    try:
        space = get_space(name)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="NAME") from None
    text = json.dumps(space.configspace().to_serialized_dict(), indent=1)
    if out is None:
        click.echo(text)
        return
    if not out.parent.is_dir():
        raise click.BadParameter(f"folder {str(out.parent)!r} does not exist; create it first", param_hint="--out")
    try:
        atomic_write_text(out, text + "\n")
    except OSError as error:
        raise click.ClickException(f"could not write {out}: {error.strerror or error}") from None
    click.echo(f"Wrote the {name} space ({len(space.configspace())} hyperparameters) to {out}")


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
    "--out",
    "--output",
    "output",
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

    from ecnas.spaces.nb101.enumeration import enumerate_cells

    folder = output.parent
    if not folder.is_dir():
        raise click.BadParameter(f"folder {str(folder)!r} does not exist; create it first", param_hint="--output")
    space = enumerate_cells(
        max_vertices, max_edges, show_progress_bar=not no_progress, use_cache=not no_cache, n_jobs=jobs
    )
    try:
        with atomic_path(output) as temporary, open(temporary, "w", encoding="utf-8") as file:
            file.write("{")
            with tqdm(
                total=len(space), desc=f"Writing {output.name}", unit=" cells", unit_scale=True, disable=no_progress
            ) as bar:
                for index, (count, text) in enumerate(_json_entries(space)):
                    file.write((", " if index else "") + text)
                    bar.update(count)
            file.write("}")
    except OSError as error:
        raise click.ClickException(f"could not write {output}: {error.strerror or error}") from None
    click.echo(f"Wrote {len(space):,} cells (≤{max_vertices} vertices, ≤{max_edges} edges) to {output}")
