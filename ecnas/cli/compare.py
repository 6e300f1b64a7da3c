"""``ecnas compare``: several optimizers × seeds on one table → summary, figures, saved runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ecnas.cli._common import budget_for, view_option
from ecnas.cli._plugins import plugin_option
from ecnas.cli.search import objectives_option, options_from, validate_algorithms


def peer_options(cls: Any) -> dict[str, Any]:
    """Keyword options of a peer class and their defaults (besides the common ones)."""
    import inspect

    common = {"self", "bench", "seed", "max_evaluations", "budget", "objectives", "max_energy", "kwargs"}
    options: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if "__init__" in vars(klass):
            for parameter in inspect.signature(vars(klass)["__init__"]).parameters.values():
                if parameter.name not in common and parameter.kind is parameter.KEYWORD_ONLY:
                    options[parameter.name] = parameter.default
    return options


@click.command(
    "compare",
    help="Compare optimizers over seeds on a table (EC-NAS Figure 2 / Table 2).\n\n"
    "ALGORITHMS may follow --algorithms or stand alone, space- or comma-separated, e.g. "
    "`ecnas compare --algorithms semoa shemoa msehvi rs parego-hb --seeds 10 --out DIR`. "
    "Writes OUT/summary.md, summary.csv, runs.csv, comparison.json, runs/ALGORITHM/seedN.json and five "
    "figures, and prints the summary. `ecnas search --list-algorithms` lists the optimizers and their options. "
    "Peers (the field's optimizers, "
    "`pip install 'ecnas[peers]'`): smac-parego, smac-parego-hb, optuna-nsga2, optuna-tpe, pymoo-nsga2. "
    "summary.md and runs.csv give each run's hypervolume as a fraction of the table's true front, its top-budget "
    "evaluations and why it stopped.",
)
@click.argument("algorithm_args", metavar="[ALGORITHMS]...", nargs=-1)
@click.option(
    "-a",
    "--algorithms",
    "algorithm_opts",
    multiple=True,
    metavar="NAME",
    help="Optimizer to compare (repeatable; default: every registered optimizer).",
)
@click.option("--seeds", type=int, default=10, show_default=True, help="Seeds per algorithm (0 … N-1).")
@click.option(
    "--table",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="ecnas table: a file or an embedded table's name, e.g. ecnas-5v (`ecnas info --list`); "
    "default: the embedded default table.",
)
@click.option("--budget", type=int, default=None, help="Epochs of the reported fronts (default: the table's largest).")
@click.option(
    "--max-evaluations",
    type=int,
    default=None,
    help="Table queries per run for every algorithm (default: each algorithm's own).",
)
@click.option(
    "--max-energy",
    type=float,
    default=None,
    help="Simulated kWh every run may spend (equal-energy protocol for multi-fidelity methods; default: none).",
)
@view_option
@objectives_option
@plugin_option
@click.option(
    "-O",
    "--option",
    "option_args",
    multiple=True,
    metavar="ALGO.KEY=VALUE",
    help="Algorithm option, e.g. -O semoa.population_size=20 (VALUE parsed as JSON when possible).",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("compare-out"),
    show_default=True,
    help="Output directory.",
)
@click.option("--jobs", type=int, default=None, help="Worker processes (default: min(2, CPUs)).")
@click.option("--resume", is_flag=True, help="Reuse saved runs in OUT whose settings match.")
@click.option("--plots/--no-plots", default=True, show_default=True, help="Write the figures.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def command(
    algorithm_args: tuple[str, ...],
    algorithm_opts: tuple[str, ...],
    seeds: int,
    table: Path | None,
    budget: int | None,
    max_evaluations: int | None,
    max_energy: float | None,
    view: str,
    objectives: str | None,
    option_args: tuple[str, ...],
    out: Path,
    jobs: int | None,
    resume: bool,
    plots: bool,
    progress: bool,
) -> None:
    """Run the comparison."""
    from ecnas.cli._common import open_benchmark
    from ecnas.compare import algorithm_class, compare
    from ecnas.optimizers import optimizer_names, optimizer_options
    from ecnas.peers import PeerUnavailableError

    names = validate_algorithms([*algorithm_opts, *algorithm_args], peers=True) or optimizer_names()
    if max_energy is not None and not max_energy > 0:
        raise click.BadParameter(f"must be > 0 (simulated kWh), got {max_energy}", param_hint="--max-energy")
    if seeds < 1:
        raise click.BadParameter(f"must be >= 1 (runs per algorithm), got {seeds}", param_hint="--seeds")
    if max_evaluations is not None and max_evaluations < 1:
        raise click.BadParameter(f"must be >= 1, got {max_evaluations}", param_hint="--max-evaluations")
    if jobs is not None and jobs < 1:
        raise click.BadParameter(f"must be >= 1, got {jobs}", param_hint="--jobs")
    if out.exists() and not out.is_dir():
        raise click.BadParameter(f"{out} exists and is not a directory", param_hint="--out")
    options: dict[str, dict[str, Any]] = {}
    for name, key, value in options_from(option_args, names):
        valid = optimizer_options(name) if name in optimizer_names() else peer_options(algorithm_class(name))
        if key not in valid:
            raise click.BadParameter(f"{name} has no option {key!r}; its options are {valid}", param_hint="--option")
        options.setdefault(name, {})[key] = value
    with open_benchmark(table, view=view) as bench:
        budget = budget_for(bench, budget)
        table_path = bench.path
    try:
        comparison = compare(
            names,
            seeds=seeds,
            table=table_path,
            budget=budget,
            max_evaluations=max_evaluations,
            max_energy=max_energy,
            objectives=objectives,
            options=options,
            out=out,
            jobs=jobs,
            resume=resume,
            progress=progress,
            plots=plots,
            view=view,
        )
    except (ValueError, TypeError, PeerUnavailableError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(comparison.markdown())
    click.echo(f"reference point: {[float(f'{v:.4g}') for v in comparison.ref_point]}")
    for name, path in comparison.files.items():
        click.echo(f"wrote {name}: {path}")
