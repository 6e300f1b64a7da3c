"""``ecnas dsnn``: the MFMO system of the DSNN paper — run the search, write its report, the LR experiment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ecnas.errors import EcnasError


def _options(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="--option")
        try:
            out[name] = json.loads(value)
        except json.JSONDecodeError:
            out[name] = value
        if isinstance(out[name], list):
            out[name] = tuple(out[name])
    return out


def _energy(carbon_intensity: float | None, country: str | None) -> dict[str, Any]:
    energy: dict[str, Any] = {}
    if carbon_intensity is not None:
        energy["carbon_intensity"] = carbon_intensity
    if country is not None:
        energy["country"] = country
    return energy


_profile = click.option("--profile", default="tiny", show_default=True, help="DSNN profile: tiny or cifar10.")
_option = click.option(
    "--option", "options", multiple=True, metavar="NAME=VALUE", help="Profile option, e.g. data_dir=/data/cifar10."
)
_intensity = click.option(
    "--carbon-intensity",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="gCO2eq/kWh (default: Carbontracker's world average).",
)
_country = click.option("--country", default=None, help="ISO country code for the carbon intensity.")
_workers = click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Local evaluation processes."
)


@click.group("dsnn")
def command() -> None:
    """Deep Shift networks: multi-fidelity multi-objective HPO of loss vs inference emissions."""


@command.command("run")
@_profile
@click.option("--optimizer", type=click.Choice(["parego-hb", "smac-parego-hb"]), default="parego-hb", show_default=True)
@click.option(
    "--trials", type=click.IntRange(min=1), default=60, show_default=True, help="(configuration, budget) evaluations."
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Run directory (resumable)."
)
@_workers
@click.option(
    "--default-repeats",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Evaluations of the Table 1 default at the top budget (the star).",
)
@_option
@_intensity
@_country
@click.option(
    "--emissions",
    type=click.Choice(["measured", "analytic"]),
    default="measured",
    show_default=True,
    help="Second objective: inference emissions measured here, or the 45 nm per-operation estimate.",
)
@click.option("--quiet", is_flag=True, help="No line per trial.")
def run_command(
    profile: str,
    optimizer: str,
    trials: int,
    seed: int,
    out: Path,
    workers: int,
    default_repeats: int,
    options: tuple[str, ...],
    carbon_intensity: float | None,
    country: str | None,
    emissions: str,
    quiet: bool,
) -> None:
    """Search the dsnn space with ParEGO inside Hyperband, then write OUT/report/."""
    from ecnas.dsnn.mfmo import run
    from ecnas.dsnn.report import write_report

    def show(record: dict[str, Any]) -> None:
        if quiet:
            return
        text = (
            f"loss {record['loss']:.4f}  inference {record['inference_co2eq_g']:.3g} gCO2eq"
            if record.get("status") == "ok"
            else f"FAILED: {record.get('reason')}"
        )
        click.echo(
            f"trial {record['trial']:4d} [{record['kind']}] {record['budget']:3d} epochs  {text}  "
            f"({record.get('seconds', 0.0):.1f} s)"
        )

    try:
        result = run(
            out,
            profile=profile,
            optimizer=optimizer,
            trials=trials,
            seed=seed,
            workers=workers,
            default_repeats=default_repeats,
            profile_options=_options(options),
            energy=_energy(carbon_intensity, country),
            emissions=emissions,
            progress=show,
        )
        summary = write_report(out)
    except (EcnasError, ValueError, ImportError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"{len(result.search_trials())} trials ({result.evaluated} evaluated now) in {result.seconds:.0f} s, "
        f"optimizer {result.optimizer_seconds:.1f} s; front of {summary['front_size']}, "
        f"dominates the default: {summary['front_dominates_default']}; report in {out / 'report'}"
    )


@command.command("report")
@click.option("--out", type=click.Path(file_okay=False, exists=True, path_type=Path), required=True)
@click.option(
    "--intensity",
    "intensities",
    type=float,
    multiple=True,
    help="Carbon intensities (gCO2eq/kWh) of the re-priced fronts (default 30, 445, 800).",
)
def report_command(out: Path, intensities: tuple[float, ...]) -> None:
    """(Re)write OUT/report/ from the trials of a run."""
    from ecnas.dsnn.report import write_report

    try:
        summary = write_report(out, intensities=intensities or (30.0, 445.0, 800.0))
    except (EcnasError, ValueError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(summary, indent=2, default=str))


@command.command("lr-variability")
@_profile
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("-n", "n", type=click.IntRange(min=1), default=20, show_default=True, help="Evaluations per group.")
@click.option("--budget", type=click.IntRange(min=1), default=None, help="Epochs (default: the smallest budget).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@_workers
@_option
@_intensity
@_country
def lr_command(
    profile: str,
    out: Path,
    n: int,
    budget: int | None,
    seed: int,
    workers: int,
    options: tuple[str, ...],
    carbon_intensity: float | None,
    country: str | None,
) -> None:
    """Figure 4: inference emissions of the default with random vs the default learning rate."""
    from ecnas.dsnn.mfmo import lr_variability

    try:
        data = lr_variability(
            out,
            profile=profile,
            n=n,
            budget=budget,
            seed=seed,
            workers=workers,
            profile_options=_options(options),
            energy=_energy(carbon_intensity, country),
        )
    except (EcnasError, ValueError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"random learning rate: {data['varied_mean']:.3g} ± {data['varied_std']:.2g} gCO2eq; "
        f"default learning rate: {data['fixed_mean']:.3g} ± {data['fixed_std']:.2g} gCO2eq "
        f"({data['failed']} failed); written to {out / 'lr_variability.json'}"
    )
