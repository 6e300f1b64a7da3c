"""``ecnas query``: metrics of one cell from a table."""

from __future__ import annotations

import json

import click

from ecnas.cli._common import budget_for, open_benchmark, to_json
from ecnas.errors import InvalidCellError


def _parse_matrix(text: str) -> list[list[int]]:
    try:
        matrix = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise click.BadParameter(f"not valid JSON ({error}); e.g. '[[0,1],[0,0]]'", param_hint="--matrix") from None
    return matrix


def _parse_ops(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:
            raise click.BadParameter(f"not valid JSON ({error})", param_hint="--ops") from None
    return [op.strip() for op in text.split(",")]


@click.command("query")
@click.option("--hash", "cell_hash", help="NB101 hash of the cell.")
@click.option("--matrix", help="Adjacency matrix as JSON, e.g. '[[0,1],[0,0]]'.")
@click.option("--ops", help="Comma-separated op names (or a JSON list), input and output included.")
@click.option("--budget", type=int, default=None, help="Training budget in epochs (default: the largest).")
@click.option("--repeat", default=None, help="Repeat index, or 'random' (default: mean over repeats).")
@click.option("--seed", type=int, default=None, help="Seed for --repeat random.")
@click.option("--carbon-intensity", type=float, default=None, help="gCO2/kWh to price CO2 (default: the table's).")
@click.option("--table", type=click.Path(dir_okay=False), default=None, help="Table file (default: embedded table).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def command(
    cell_hash: str | None,
    matrix: str | None,
    ops: str | None,
    budget: int | None,
    repeat: str | None,
    seed: int | None,
    carbon_intensity: float | None,
    table: str | None,
    as_json: bool,
) -> None:
    """Look up one cell, given by --hash or by --matrix and --ops."""
    from ecnas.spaces.nb101.cells import CellSpec

    if (cell_hash is None) == (matrix is None):
        raise click.UsageError("give exactly one of --hash or --matrix (with --ops)")
    if matrix is not None and ops is None:
        raise click.UsageError("--matrix needs --ops")
    if carbon_intensity is not None and carbon_intensity < 0:
        raise click.BadParameter("must be >= 0 gCO2/kWh", param_hint="--carbon-intensity")
    parsed_repeat: int | str | None = None
    if repeat is not None:
        if repeat == "random":
            parsed_repeat = "random"
        elif repeat.isdigit():
            parsed_repeat = int(repeat)
        else:
            raise click.BadParameter(f"must be an int >= 0 or 'random', got {repeat!r}", param_hint="--repeat")
    bench = open_benchmark(table, carbon_intensity=carbon_intensity, seed=seed)
    budget = budget_for(bench, budget)
    try:
        cell = cell_hash if cell_hash is not None else CellSpec(_parse_matrix(matrix or ""), _parse_ops(ops or ""))
        result = bench.query(cell, budget=budget, repeat=parsed_repeat)
    except InvalidCellError as error:
        raise click.ClickException(f"invalid cell: {error}") from None
    except KeyError as error:
        raise click.ClickException(str(error.args[0])) from None
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    first = ("hash", "budget", "repeat", "source", "trainable_parameters")
    result = {key: result[key] for key in first} | {k: v for k, v in result.items() if k not in first}
    if as_json:
        click.echo(to_json(result))
        return
    width = max(len(k) for k in result)
    for key, value in result.items():
        click.echo(f"{key:<{width}}  {value}")
