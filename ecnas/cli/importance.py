"""``ecnas importance``: which design decisions matter for which objective (fANOVA and MO-fANOVA).

Two inputs: a table at a budget (``--table``, rows sampled) or the saved optimizer runs of a folder written by
``ecnas compare`` (``--run DIR``: every ``runs/*/seed*.json``) or one file written by ``ecnas search -o``.
Writes ``importances.json``, ``importances.csv``, ``bars_<objective>.png`` and ``weights.png`` into ``--out``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ecnas.errors import EcnasError

if TYPE_CHECKING:
    from ecnas.optimizers import Result


def _load_runs(run: Path) -> list[Result]:
    """Every optimizer result in ``run`` (a result file, or a folder searched recursively)."""
    from ecnas.optimizers import Result

    if not run.exists():
        raise click.BadParameter(f"{run} does not exist", param_hint="--run")
    paths = [run] if run.is_file() else sorted(run.rglob("*.json"))
    results = []
    for path in paths:
        try:
            results.append(Result.load(path))
        except ValueError:
            if run.is_file():
                raise click.BadParameter(f"{run} is not an ecnas optimizer result", param_hint="--run") from None
    if not results:
        raise click.BadParameter(
            f"no optimizer results (JSON written by `ecnas search -o` or `ecnas compare`) under {run}",
            param_hint="--run",
        )
    return results


@click.command("importance", help="fANOVA / MO-fANOVA importance of each design decision for each objective.")
@click.option(
    "--table",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="ecnas table (default: the embedded one; with --run: the table the runs recorded).",
)
@click.option(
    "--run",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of `ecnas compare` or a result file of `ecnas search -o`: analyse the runs' histories.",
)
@click.option("--budget", type=int, default=None, help="Epochs (table input; default: the largest).")
@click.option(
    "--objectives", default=None, help="Comma-separated objectives (table input; default validation_error,energy_kwh)."
)
@click.option(
    "--weights",
    type=int,
    default=11,
    show_default=True,
    help="Grid of w from 0 to 1 for w·obj1 + (1−w)·obj2 (0: no grid).",
)
@click.option("--no-pareto", is_flag=True, help="Skip the Pareto weightings (DeepCAVE's MO-fANOVA).")
@click.option(
    "--samples",
    type=int,
    default=None,
    help="Table rows sampled (default: ecnas.importance.DEFAULT_SAMPLES; 0: every row).",
)
@click.option(
    "--view",
    type=click.Choice(["configspace", "derived"]),
    default="configspace",
    show_default=True,
    help="Raw ConfigSpace hyperparameters, or derived features (NB101: vertices, edges, op counts, depth).",
)
@click.option("--trees", type=int, default=None, help="Trees per forest (default: ecnas.importance.DEFAULT_TREES).")
@click.option(
    "--pairs",
    type=int,
    default=5,
    show_default=True,
    help="Pairwise interactions among this many most important inputs.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the row sample and the forests.")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def command(
    table: Path | None,
    run: Path | None,
    budget: int | None,
    objectives: str | None,
    weights: int,
    no_pareto: bool,
    samples: int | None,
    view: str,
    trees: int | None,
    pairs: int,
    seed: int,
    out: Path,
    no_progress: bool,
) -> None:
    """Run the analysis and write its files."""
    from ecnas import importance
    from ecnas.cli._common import budget_for, open_benchmark

    if weights < 0 or weights == 1:
        raise click.BadParameter(f"must be 0 (no grid) or >= 2, got {weights}", param_hint="--weights")
    if samples is not None and (samples < 0 or samples == 1):
        raise click.BadParameter(f"must be 0 (every row) or >= 2, got {samples}", param_hint="--samples")
    if trees is not None and trees < 1:
        raise click.BadParameter(f"must be >= 1, got {trees}", param_hint="--trees")
    if pairs < 0:
        raise click.BadParameter(f"must be >= 0, got {pairs}", param_hint="--pairs")
    if seed < 0:
        raise click.BadParameter(f"must be >= 0, got {seed}", param_hint="--seed")
    try:
        if run is not None:
            if objectives is not None or budget is not None or samples is not None:
                raise click.UsageError("--objectives, --budget and --samples apply to table input, not to --run")
            results = _load_runs(run)
            recorded = results[0].table.get("path")
            with open_benchmark(table if table is not None else recorded) as bench:
                data = importance.from_result(results, bench, view=view)
        else:
            with open_benchmark(table) as bench:
                budget = budget_for(bench, budget)
                n = importance.DEFAULT_SAMPLES if samples is None else (None if samples == 0 else samples)
                data = importance.from_table(
                    bench, budget=budget, objectives=objectives, samples=n, seed=seed, view=view
                )
        report = importance.analyse(
            data,
            weights=weights or None,
            pareto=not no_pareto,
            n_trees=trees or importance.DEFAULT_TREES,
            top_pairs=pairs,
            seed=seed,
            progress=not no_progress,
        )
        files = importance.write_report(report, out)
    except ImportError as error:
        raise click.ClickException(str(error)) from None
    except (EcnasError, ValueError, KeyError) as error:
        raise click.ClickException(str(error).strip("'\"")) from None
    except OSError as error:
        raise click.ClickException(f"could not write into {out}: {error.strerror or error}") from None
    source = data.source
    click.echo(
        f"{source.get('rows')} configurations ({source.get('input')}, view {view}"
        + (f", budget {source['budget']}" if "budget" in source else "")
        + f"); energy: {', '.join(source.get('energy_method') or ['n/a'])}"
    )
    for name, top in importance.top_inputs(report, 3).items():
        listed = ", ".join(f"{n} {m:.3f}±{s:.3f}" for n, m, s in top)
        click.echo(f"most important for {name}: {listed}")
    for kind, path in files.items():
        click.echo(f"wrote {path} ({kind})")
