"""``ecnas build``: regenerate a table on this hardware (sample → measure → fit → fill).

Examples::

    ecnas build run --profile tiny --max-vertices 4 --sample-fraction 1.0 --seed 0 --out T.h5
    ecnas build run --recipe builders/tiny-default.toml            # the embedded default table
    ecnas build sample --recipe builders/tiny-default.toml          # then, e.g. on a cluster:
    ecnas build measure --workdir runs/tiny-7v --shard 3/16         # one shard (see builders/slurm-array.sh)
    ecnas build merge --workdir runs/tiny-7v && ecnas build status --workdir runs/tiny-7v
    ecnas build fit --workdir runs/tiny-7v && ecnas build fill --workdir runs/tiny-7v --out T.h5
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from ecnas.errors import EcnasError

__all__ = ["command"]


def _user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn package and argument errors into click errors (message, exit code 1, no traceback)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (EcnasError, ValueError) as error:
            raise click.ClickException(str(error)) from None

    return wrapper


def _parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="'--option'")
        key, value = pair.split("=", 1)
        options[key.strip()] = value.strip()
    return options


def _selection_options(func: Callable[..., Any]) -> Callable[..., Any]:
    decorators = [
        click.option(
            "--recipe", type=click.Path(dir_okay=False), help="TOML recipe (see builders/); flags override it."
        ),
        click.option("--profile", help="Build profile: tiny or nb101-cifar10."),
        click.option(
            "-O",
            "--option",
            "options",
            multiple=True,
            metavar="KEY=VALUE",
            help="Profile option override, e.g. -O budgets=1,2,4 or -O data_dir=/data/cifar10 (repeatable).",
        ),
        click.option("--max-vertices", type=click.IntRange(2, 7), help="Largest cells of the space [7]."),
        click.option("--sample-fraction", type=float, help="Fraction of the space to measure [0.01]."),
        click.option("--hashes", type=click.Path(dir_okay=False), help="File of cell hashes to measure instead."),
        click.option("--seed", type=int, help="Seed of the sample and of every training run [0]."),
        click.option("--workdir", type=click.Path(file_okay=False), help="Build directory (plan, records)."),
        click.option("--carbon-intensity", type=float, help="gCO2/kWh recorded with the energy."),
        click.option("--country", help="ISO country code for the carbon intensity (instead of a number)."),
        click.option("--pue", type=float, help="Power usage effectiveness applied to CO2 [1.0]."),
        click.option("--watts-per-thread", type=float, help="W per busy thread for the CPU estimate [4.0]."),
        click.option("--meter", help='Energy meter: "auto" (measure where possible, else estimate) or a name [auto].'),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Recipe values overridden by the flags that were given."""
    from ecnas.build.plan import read_hash_list
    from ecnas.build.recipe import Recipe, load_recipe

    recipe = load_recipe(kwargs["recipe"]) if kwargs.get("recipe") else None
    if recipe is None:
        if not kwargs.get("profile"):
            raise click.UsageError("give --profile (tiny or nb101-cifar10) or --recipe FILE.")
        recipe = Recipe(profile=kwargs["profile"])
    options = dict(recipe.profile_options)
    options.update(_parse_options(kwargs.get("options") or ()))
    energy = dict(recipe.energy)
    for key in ("meter", "carbon_intensity", "country", "pue", "watts_per_thread"):
        if kwargs.get(key) is not None:
            energy[key] = kwargs[key]
    hashes_file = kwargs.get("hashes") or recipe.hashes
    fraction = kwargs.get("sample_fraction")
    if fraction is None:
        fraction = None if kwargs.get("hashes") else recipe.sample_fraction
    settings = {
        "profile": kwargs.get("profile") or recipe.profile,
        "profile_options": options,
        "max_vertices": kwargs.get("max_vertices") or recipe.max_vertices,
        "sample_fraction": fraction if not hashes_file else None,
        "hashes": read_hash_list(hashes_file) if hashes_file else None,
        "seed": kwargs["seed"] if kwargs.get("seed") is not None else recipe.seed,
        "energy": energy,
    }
    extra = {
        "workdir": kwargs.get("workdir") or recipe.workdir,
        "out": kwargs.get("out") or recipe.out,
        "workers": kwargs.get("workers") or recipe.workers,
        "threads": kwargs.get("threads") or recipe.threads,
        "fit": recipe.fit,
        "compact": {
            "compact_bits": kwargs.get("compact_bits") or recipe.compact_bits,
            "max_table_mb": kwargs.get("max_mb") or recipe.max_table_mb,
            "embed_surrogates": recipe.embed_surrogates
            if kwargs.get("embed_surrogates") is None
            else kwargs["embed_surrogates"],
        },
    }
    return {**settings, "_extra": extra}


def _compact_options(func: Callable[..., Any]) -> Callable[..., Any]:
    decorators = [
        click.option(
            "--compact-bits",
            type=click.IntRange(1, 52),
            default=None,
            help="Round predicted values to this many significant bits (smaller file).",
        ),
        click.option("--max-mb", type=float, default=None, help="Drop bits until the table is at most this size."),
        click.option(
            "--embed-surrogates/--no-embed-surrogates",
            default=None,
            help="Keep the surrogate weights inside the table [recipe, else yes].",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


@click.group(name="build")
def command() -> None:
    """Measure, fit and fill a table on this hardware (resumable, shardable)."""


@command.command("run")
@_selection_options
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Table to write (.h5).")
@click.option("--workers", type=click.IntRange(min=1), help="Local measure processes [1].")
@click.option("--threads", type=click.IntRange(min=1), help="Torch threads per process [1].")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@_compact_options
@_user_errors
def run(**kwargs: Any) -> None:
    """Sample → measure → merge → fit → fill in one command (rerun to resume)."""
    from ecnas.build.pipeline import run_build

    settings = _settings(kwargs)
    extra = settings.pop("_extra")
    if not extra["out"]:
        raise click.UsageError("give --out TABLE.h5 (or out = ... in the recipe's [build]).")
    run_build(
        extra["out"],
        **settings,
        workdir=extra["workdir"],
        workers=extra["workers"],
        threads=extra["threads"],
        fit_options=extra["fit"],
        progress=not kwargs["no_progress"],
        report=click.echo,
        **extra["compact"],
    )


@command.command("sample")
@_selection_options
@_user_errors
def sample(**kwargs: Any) -> None:
    """Choose the cells to measure and write WORKDIR/plan.json (idempotent)."""
    from ecnas.build.pipeline import plan_build

    settings = _settings(kwargs)
    extra = settings.pop("_extra")
    if not extra["workdir"]:
        raise click.UsageError("give --workdir DIR (or workdir = ... in the recipe's [build]).")
    plan = plan_build(extra["workdir"], **settings)
    click.echo(f"plan: {len(plan)} cells of {plan.space_size} ({plan.sample_method}) in {extra['workdir']}")


_WORKDIR = click.option("--workdir", required=True, type=click.Path(file_okay=False), help="Build directory.")


@command.command("measure")
@_WORKDIR
@click.option("--shard", default="0/1", show_default=True, help="Shard i/N of the plan to measure (i from 0).")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Instead of --shard: run this many local worker processes.",
)
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="Torch threads.")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="Stop after this many cells.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@_user_errors
def measure(workdir: str, shard: str, workers: int | None, threads: int, limit: int | None, no_progress: bool) -> None:
    """Train and measure the not-yet-measured cells of one shard (resumes after a kill)."""
    from ecnas.build.plan import parse_shard

    if workers is not None:
        from ecnas.build.pipeline import measure_stage

        seconds = measure_stage(workdir, workers=workers, threads=threads, progress=not no_progress)
        click.echo(f"measure: {seconds:.1f} s wall with {workers} worker(s)")
        return
    from ecnas.build.measure import measure_shard

    summary = measure_shard(workdir, shard=parse_shard(shard), threads=threads, limit=limit, progress=not no_progress)
    click.echo(
        f"shard {shard}: {summary.planned} planned, {summary.already_done} already done, "
        f"{summary.measured} measured in {summary.seconds:.1f} s"
    )


@command.command("merge")
@_WORKDIR
@_user_errors
def merge(workdir: str) -> None:
    """Merge the shard record files into WORKDIR/records.jsonl (idempotent)."""
    from ecnas.build.status import merge_records

    path, cells = merge_records(workdir)
    click.echo(f"merged {cells} complete cells into {path}")


@command.command("status")
@_WORKDIR
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_user_errors
def status(workdir: str, as_json: bool) -> None:
    """Show how far a build got (per shard, rate, time left)."""
    from ecnas.build.status import build_status

    info = build_status(workdir)
    click.echo(json.dumps(info.as_dict(), indent=1) if as_json else "\n".join(info.lines()))


_OPTIONAL_WORKDIR = click.option("--workdir", type=click.Path(file_okay=False), help="Build directory.")


@command.command("fit")
@_OPTIONAL_WORKDIR
@click.option(
    "--records",
    "records_path",
    type=click.Path(exists=True),
    help="Record file(s) or build directory to fit on, instead of --workdir (needs --out).",
)
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Surrogate file to write (.h5), with --records.")
@click.option("--seed", type=int, default=None, help="Seed of the surrogates [the plan's seed, else 0].")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@_user_errors
def fit(workdir: str | None, records_path: str | None, out: str | None, seed: int | None, no_progress: bool) -> None:
    """Fit the surrogates: of a build (--workdir → WORKDIR/surrogates.h5) or of records (--records R --out S.h5)."""
    if (workdir is None) == (records_path is None):
        raise click.UsageError("give either --workdir, or --records with --out")
    if records_path is not None:
        from ecnas.build.fit import fit_surrogates
        from ecnas.build.records import load_records

        if out is None:
            raise click.UsageError("--records needs --out S.h5")
        records = load_records(records_path)
        if not records:
            raise click.ClickException(f"{records_path}: no complete records found")
        fit_surrogates(records, seed=0 if seed is None else seed, out_path=out, progress=not no_progress)
        click.echo(f"surrogates written: {out} ({len(records)} records)")
        return
    from ecnas.build.pipeline import fit_stage

    options = {} if seed is None else {"seed": seed}
    path = fit_stage(workdir, fit_options=options, progress=not no_progress)
    if path is None:
        click.echo("every cell of the space is measured at every budget: no surrogate fitted (fill writes them as is)")
        return
    click.echo(f"surrogates written: {path}")


@command.command("fill")
@_OPTIONAL_WORKDIR
@click.option(
    "--surrogate",
    type=click.Path(exists=True, dir_okay=False),
    help="Surrogate file (from `ecnas build fit`) to fill from, instead of --workdir.",
)
@click.option(
    "--max-vertices",
    type=click.IntRange(2, 7),
    default=7,
    show_default=True,
    help="Size of the space to fill, with --surrogate.",
)
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="Table to write (.h5).")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@_compact_options
@_user_errors
def fill(
    workdir: str | None,
    surrogate: str | None,
    max_vertices: int,
    out: str,
    no_progress: bool,
    compact_bits: int | None,
    max_mb: float | None,
    embed_surrogates: bool | None,
) -> None:
    """Predict every cell with the surrogates and write the table (of a build, or of a surrogate file)."""
    if (workdir is None) == (surrogate is None):
        raise click.UsageError("give either --workdir or --surrogate")
    if surrogate is not None:
        from ecnas.build.compact import compact_table
        from ecnas.build.fill import fill_table

        table = fill_table(surrogate, out, max_vertices=max_vertices, progress=not no_progress)
        if compact_bits is not None or max_mb is not None:
            compact_table(
                table,
                bits=compact_bits or 10,
                keep_models=embed_surrogates is not False,
                max_bytes=None if max_mb is None else int(max_mb * 1e6),
            )
    else:
        from ecnas.build.pipeline import fill_stage

        table = fill_stage(
            workdir,
            out,
            progress=not no_progress,
            compact_bits=compact_bits,
            max_table_mb=max_mb,
            embed_surrogates=True if embed_surrogates is None else embed_surrogates,
        )
    click.echo(f"table written: {table} ({table.stat().st_size / 1e6:.1f} MB)")


@command.command("refit")
@click.option(
    "--table", "table", required=True, type=click.Path(exists=True, dir_okay=False), help="Filled table to refit."
)
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="Refitted table to write (.h5).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the surrogates.")
@click.option(
    "--max-mb", type=float, default=30.0, show_default=True, help="Size cap of the compacted table (0: no cap)."
)
@click.option(
    "--compact-bits",
    type=click.IntRange(10, 52),
    default=12,
    show_default=True,
    help="Significant bits of predicted values (the size cap may lower them to 10).",
)
@click.option("--bundle", "bundle_out", type=click.Path(dir_okay=False), help="Also write the fitted surrogates here.")
@click.option(
    "--max-epochs", type=click.IntRange(1), default=None, help="Training epochs per model [the surrogate's 200]."
)
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@_user_errors
def refit(
    table: str,
    out: str,
    seed: int,
    max_mb: float,
    compact_bits: int,
    bundle_out: str | None,
    max_epochs: int | None,
    no_progress: bool,
) -> None:
    """Refit a table's surrogate part from its own measured rows (measured rows unchanged)."""
    from ecnas.build.refit import refit_table

    path = refit_table(
        table, out, seed=seed, max_bytes=max_mb * 1e6 if max_mb > 0 else None, compact_bits=compact_bits,
        bundle_out=bundle_out,
        surrogate_params=None if max_epochs is None else {"max_epochs": max_epochs}, progress=not no_progress,
    )  # fmt: skip
    click.echo(f"refitted table written: {path}")
