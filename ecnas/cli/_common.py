"""Helpers shared by CLI commands: opening tables with user-facing errors, printing JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ecnas._io import jsonable
from ecnas.errors import EcnasError

if TYPE_CHECKING:
    from ecnas.benchmark import Benchmark


def open_benchmark(table: str | Path | None, **kwargs: Any) -> Benchmark:
    """Open a table (or the default one), turning ecnas errors into a clean CLI message."""
    from ecnas.benchmark import Benchmark

    try:
        return Benchmark(table, **kwargs)
    except (EcnasError, ValueError, OSError) as error:
        raise click.ClickException(str(error)) from None


def view_option(function: Any) -> Any:
    """``--view measured|surrogate``: which values of the table to serve (:data:`ecnas.benchmark.VIEWS`)."""
    from ecnas.benchmark import VIEWS

    return click.option(
        "--view",
        type=click.Choice(VIEWS),
        default="measured",
        show_default=True,
        help="measured: measured cells as measured, the rest predicted (the table as stored); surrogate: every "
        "cell by the surrogate, measured cells by an out-of-fold prediction (needs a table with surrogate values).",
    )(function)


def noise_option(function: Any) -> Any:
    """``--noise``: add measured noise (from the repeats' spread) to the surrogate view's evaluations."""
    return click.option(
        "--noise",
        is_flag=True,
        help="With --view surrogate: add measured noise sampled from the spread between repeats (needs a table "
        "with repeats; one-repeat tables are refused with the reason). Seeded by --seed.",
    )(function)


def to_json(value: Any) -> str:
    """Strict JSON (NaN written as null) of a query result or table description."""
    return json.dumps(jsonable(value), indent=2)


def budget_for(bench: Benchmark, budget: int | None) -> int:
    """Check ``--budget`` against the table's budgets (None → the largest)."""
    try:
        return bench.check_budget(budget)
    except ValueError:
        raise click.BadParameter(
            f"{budget} is not a budget of {bench.path.name}; its budgets are {list(bench.budgets)} epochs",
            param_hint="--budget",
        ) from None
