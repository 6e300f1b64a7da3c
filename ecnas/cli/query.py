"""``ecnas query``: metrics of one configuration (NB101: one cell) from a table."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

import click

from ecnas.cli._common import budget_for, noise_option, open_benchmark, to_json, view_option
from ecnas.errors import InvalidConfigError, ViewUnavailableError
from ecnas.metrics import FRACTIONS, NOMINAL_LEVELS

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark


def _parse_matrix(text: str) -> list[list[int]]:
    try:
        matrix = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise click.BadParameter(f"not valid JSON ({error}); e.g. '[[0,1],[0,0]]'", param_hint="--matrix") from None
    return matrix


def _parse_config(text: str) -> dict:
    try:
        config = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise click.BadParameter(f"not valid JSON ({error})", param_hint="--config") from None
    if not isinstance(config, dict):
        raise click.BadParameter("must be a JSON object of parameter names to values", param_hint="--config")
    return config


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
@click.option(
    "--config",
    "config_text",
    help="A configuration of the table's space as a JSON object (e.g. edge_k/op_node_k for NB101, or the "
    "parameter values of a hyperparameter space).",
)
@click.option("--budget", type=int, default=None, help="Training budget in epochs (default: the largest).")
@click.option("--repeat", default=None, help="Repeat index, or 'random' (default: mean over repeats).")
@click.option("--seed", type=int, default=None, help="Seed for --repeat random.")
@click.option("--carbon-intensity", type=float, default=None, help="gCO2/kWh to price CO2 (default: the table's).")
@click.option("--table", type=click.Path(dir_okay=False), default=None, help="Table file (default: embedded table).")
@view_option
@noise_option
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def command(
    cell_hash: str | None,
    matrix: str | None,
    ops: str | None,
    config_text: str | None,
    budget: int | None,
    repeat: str | None,
    seed: int | None,
    carbon_intensity: float | None,
    table: str | None,
    view: str,
    noise: bool,
    as_json: bool,
) -> None:
    """Look up one configuration, given by --hash, by --matrix and --ops (NB101), or by --config.

    Each metric is followed by its ``_std``: the surrogate's standard deviation of the value (NaN for a measured
    or imported cell in the measured view, and for tables that store no spread), and, where the std is known, its
    ``_ci95``: the calibrated 95% interval (``Benchmark.interval_z``: the table's split-conformal multiplier for
    predicted values, 1.96 for out-of-fold ones), clipped to the metric's range; ``source`` says whether the
    values are measured, predicted (``surrogate``) or an out-of-fold prediction of a measured cell.
    """
    from ecnas.spaces.nb101.cells import CellSpec

    if sum(given is not None for given in (cell_hash, matrix, config_text)) != 1:
        raise click.UsageError("give exactly one of --hash, --matrix (with --ops) or --config")
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
    bench = open_benchmark(table, carbon_intensity=carbon_intensity, seed=seed, view=view, noise=noise)
    budget = budget_for(bench, budget)
    try:
        if config_text is not None:
            cell = _parse_config(config_text)
        elif cell_hash is not None:
            cell = cell_hash
        else:
            cell = CellSpec(_parse_matrix(matrix or ""), _parse_ops(ops or ""))
        result = bench.query(cell, budget=budget, repeat=parsed_repeat)
    except InvalidConfigError as error:
        what = "cell" if bench.space.name == "nb101" else f"configuration of space {bench.space.name!r}"
        raise click.ClickException(f"invalid {what}: {error}") from None
    except KeyError as error:
        raise click.ClickException(str(error.args[0])) from None
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    first = ("hash", "budget", "repeat", "source", "trainable_parameters")
    ordered = {key: result[key] for key in first}
    z95 = _interval_z(bench, result)
    for key, value in result.items():  # each metric followed by its spread and its 95% interval
        if key not in ordered and not key.endswith("_std"):
            ordered[key] = value
            if f"{key}_std" in result:
                std = result[f"{key}_std"]
                ordered[f"{key}_std"] = std
                if key in z95 and math.isfinite(std):  # clipped to what the metric can be
                    high = 1.0 if key in FRACTIONS else math.inf
                    ordered[f"{key}_ci95"] = [max(value - z95[key] * std, 0.0), min(value + z95[key] * std, high)]
    ordered["view"] = view
    result = ordered | {k: v for k, v in result.items() if k not in ordered}
    if as_json:
        click.echo(to_json(result))
        return
    width = max(len(k) for k in result)
    for key, value in result.items():
        click.echo(f"{key:<{width}}  {value}")


def _interval_z(bench: Benchmark, result: dict) -> dict[str, float]:
    """95% multipliers of the std for this result (none where the table records no calibration).

    The table's split-conformal multipliers for predicted values, 1.96 for out-of-fold values of measured cells.
    """
    if result["source"] == "out-of-fold":
        return dict.fromkeys(result, NOMINAL_LEVELS[0.95])
    try:
        return bench.interval_z(result["budget"])
    except ViewUnavailableError:
        return {}
