"""``ecnas search NAME``: run one multi-objective optimizer on a table and show its Pareto front."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ecnas._io import jsonable
from ecnas.cli._common import noise_option, view_option
from ecnas.cli._plugins import plugin_option
from ecnas.errors import EcnasError

if TYPE_CHECKING:
    pass

_F = TypeVar("_F", bound=Callable[..., Any])


def objectives_option(function: _F) -> _F:
    """``--objectives a,b``: minimised objectives (validated against the registry of objectives)."""
    return click.option(
        "--objectives",
        default=None,
        metavar="A,B",
        help="Comma-separated minimised objectives (default: validation_error,energy_kwh); see --list-objectives "
        "of `ecnas search`.",
    )(function)


def validate_algorithms(
    values: Sequence[str], param_hint: str = "ALGORITHMS / --algorithms", *, peers: bool = False
) -> list[str]:
    """Split space/comma-separated names and check them against the registry (BadParameter otherwise).

    With ``peers``, the peer optimizers of :mod:`ecnas.peers` are valid names too.
    """
    from ecnas.optimizers import optimizer_names

    names = [part.strip() for value in values for part in value.split(",") if part.strip()]
    valid = optimizer_names()
    if peers:
        from ecnas.peers import peer_names

        valid = valid + peer_names()
    unknown = [name for name in names if name not in valid]
    if unknown:
        raise click.BadParameter(f"unknown optimizer(s) {unknown}; valid names are {valid}", param_hint=param_hint)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise click.BadParameter(f"{duplicates} listed more than once", param_hint=param_hint)
    return names


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return text


def options_from(option_args: Sequence[str], names: Sequence[str] | None) -> list[tuple[str | None, str, Any]]:
    """Parse ``-O [ALGO.]KEY=VALUE`` into ``(algorithm or None, key, value)``."""
    parsed = []
    for text in option_args:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{text!r} must look like KEY=VALUE", param_hint="--option")
        algorithm = None
        if names is not None:
            algorithm, dot, key = key.partition(".")
            if not dot or algorithm not in names:
                raise click.BadParameter(
                    f"{text!r} must look like ALGO.KEY=VALUE with ALGO among {list(names)}", param_hint="--option"
                )
        parsed.append((algorithm, key, _value(value)))
    return parsed


def _list_objectives(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from ecnas.optimizers import OBJECTIVES

    for name, objective in OBJECTIVES.items():
        what = f"1 - {objective.metric}" if objective.complement else objective.metric
        click.echo(f"{name:22s} {what}")
    ctx.exit()


def _list_algorithms(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from ecnas.optimizers import get_optimizer, optimizer_names, optimizer_options

    for name in optimizer_names():
        cls = get_optimizer(name)
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        click.echo(f"{name:10s} {summary}")
        click.echo(f"{'':10s} options: {optimizer_options(name)}")
    ctx.exit()


@click.command("search", help="Run one multi-objective optimizer NAME on a table and print its Pareto front.")
@click.argument("name", metavar="NAME")
@click.option(
    "--table",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="ecnas table: a file or an embedded table's name, e.g. ecnas-5v (`ecnas info --list`); "
    "default: the embedded default table.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the run.")
@click.option(
    "--budget",
    type=int,
    default=None,
    help="Epochs of the reported front, the top budget for multi-fidelity optimizers (default: largest).",
)
@click.option("--max-evaluations", type=int, default=None, help="Table queries allowed (default: the optimizer's).")
@view_option
@noise_option
@objectives_option
@plugin_option
@click.option(
    "-O",
    "--option",
    "option_args",
    multiple=True,
    metavar="KEY=VALUE",
    help="Optimizer option, e.g. -O population_size=20 (VALUE parsed as JSON when possible).",
)
@click.option(
    "-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Save the full result as JSON."
)
@click.option("--json", "as_json", is_flag=True, help="Print the front as JSON instead of a table.")
@click.option(
    "--list-objectives",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_list_objectives,
    help="List the objectives and exit.",
)
@click.option(
    "--list-algorithms",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_list_algorithms,
    help="List the optimizers with their options and exit.",
)
def command(
    name: str,
    table: Path | None,
    seed: int,
    budget: int | None,
    max_evaluations: int | None,
    view: str,
    noise: bool,
    objectives: str | None,
    option_args: tuple[str, ...],
    out: Path | None,
    as_json: bool,
) -> None:
    """Run the search; the front's cells are printed with their source and the surrogate's spreads."""
    from ecnas.cli._common import budget_for, open_benchmark
    from ecnas.optimizers import get_optimizer, optimizer_options, reference_point
    from ecnas.units import energy_unit, format_value, parameter_unit

    validate_algorithms([name], "NAME")
    if seed < 0:
        raise click.BadParameter(f"must be >= 0, got {seed}", param_hint="--seed")
    if max_evaluations is not None and max_evaluations < 1:
        raise click.BadParameter(f"must be >= 1, got {max_evaluations}", param_hint="--max-evaluations")
    options = {key: value for _, key, value in options_from(option_args, None)}
    unknown = sorted(set(options) - set(optimizer_options(name)))
    if unknown:
        raise click.BadParameter(
            f"{name} has no option(s) {unknown}; its options are {optimizer_options(name)}", param_hint="--option"
        )
    with open_benchmark(table, view=view, noise=noise, seed=seed) as bench:
        budget = budget_for(bench, budget)
        try:
            optimizer = get_optimizer(name)(
                bench, seed=seed, max_evaluations=max_evaluations, budget=budget, objectives=objectives, **options
            )
        except (TypeError, ValueError) as error:
            raise click.ClickException(str(error)) from None
        try:
            result = optimizer.run()
        except (EcnasError, ValueError) as error:
            raise click.ClickException(f"{name} failed: {error}") from None
        ref = reference_point(bench, result.objectives, budget)
        front_keys = [str(key) for key in result.front_hashes]
        spread = bench.query_many(front_keys, budget=budget) if front_keys else {}
    if out is not None:
        try:
            result.save(out)
        except OSError as error:
            raise click.ClickException(f"could not write {out}: {error.strerror or error}") from None
    rows = [result.row(int(i)) for i in result.front_index]
    for k, row in enumerate(rows):  # where each reported value comes from, and its spread (NaN: measured or none)
        row["source"] = str(spread["source"][k])
        for metric in ("training_time", "validation_accuracy", "test_accuracy", "energy_kwh"):
            row[f"{metric}_std"] = float(spread[f"{metric}_std"][k])
    if as_json:
        document = {
            "view": view,
            "noise": noise,
            "front": rows,
            "hypervolume": result.hypervolume(ref),
            "ref_point": ref,
            "search_cost": result.search_cost,
            "rejections": result.rejections,
        }
        click.echo(json.dumps(jsonable(document), indent=1, allow_nan=False))
        return
    click.echo(
        f"{name} on {bench.path.name}, seed {seed}: {len(result)} evaluations, {len(rows)} Pareto-optimal "
        f"cells at {budget} epochs ({view} view{', with measured noise' if noise else ''}; ± = the surrogate's "
        "standard deviation, – for measured values)"
    )
    # Each quantity once: the objectives that are already columns (P_v, E, T, |θ|) are not repeated.
    shown = {"validation_error", "energy_kwh", "training_time", "trainable_parameters"}
    extra = [o for o in result.objectives if o not in shown]
    energy = energy_unit([row["energy_kwh"] for row in rows])
    params = parameter_unit([row["trainable_parameters"] for row in rows])
    header = (
        f"{'hash':32s}  {'source':11s}  {'|θ| (' + params.name + ')':>9s}  {'T (s)':>9s}  {'P_v':>14s}  "
        f"{'E (' + energy.name + ')':>19s}" + "".join(f"  {o:>16s}" for o in extra)
    )
    click.echo(header)

    def spread_text(value: float, text: Any) -> str:
        return "–" if value != value else text(value)

    for row in rows:
        p_v = f"{row['validation_accuracy']:.3f} ± " + spread_text(row["validation_accuracy_std"], lambda v: f"{v:.3f}")
        e = f"{format_value(float(energy(row['energy_kwh'])))} ± " + spread_text(
            row["energy_kwh_std"], lambda v: format_value(float(energy(v)))
        )
        click.echo(
            f"{row['hash']:32s}  {row['source']:11s}  {format_value(float(params(row['trainable_parameters']))):>9s}  "
            f"{format_value(row['training_time']):>9s}  {p_v:>14s}  {e:>19s}"
            + "".join(f"  {row[o]:16.6g}" for o in extra)
        )
    cost = result.search_cost
    click.echo(f"hypervolume {result.hypervolume(ref):.6g} (reference point {[float(f'{v:.4g}') for v in ref]})")
    spent = energy_unit([cost["energy_kwh"]])
    click.echo(
        f"search cost: {cost['training_time_s'] / 3600:.3g} h simulated training, "
        f"{format_value(float(spent(cost['energy_kwh'])))} {spent.name} "
        f"({bench.info()['provenance'].get('energy_method', 'energy method unknown')})"
    )
    click.echo(f"rejected proposals: {result.rejections}")
    if out is not None:
        click.echo(f"wrote {out}")
