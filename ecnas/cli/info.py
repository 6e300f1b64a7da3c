"""``ecnas info [TABLE]``: format, size and provenance of a table."""

from __future__ import annotations

import click

from ecnas.cli._common import open_benchmark, to_json


@click.command("info")
@click.argument("table", required=False, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option(
    "--verify",
    is_flag=True,
    help="Also read every dataset and check its sha256, and re-hash every cell (~15 s for 423,624 cells).",
)
def command(table: str | None, as_json: bool, verify: bool) -> None:
    """Show what TABLE holds and where its numbers come from (default: the embedded table)."""
    bench = open_benchmark(table)
    info = bench.info()
    if verify:
        from ecnas.errors import TableFormatError
        from ecnas.table import check_cell_hashes, verify_table

        try:
            verified = verify_table(bench.path)
            info["verified_attributes"] = verified.pop("@attributes")
            info["verified_datasets"] = len(verified)
            info["rehashed_cells"] = check_cell_hashes(bench.path)
        except TableFormatError as error:
            raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(to_json(info))
        return
    provenance = info["provenance"]
    click.echo(f"table:       {info['path']}")
    click.echo(f"format:      {info['format']} v{info['format_version']} ({info['search_space']})")
    click.echo(f"cells:       {info['num_cells']:,}  by source: {info['rows_by_source']}")
    click.echo(f"budgets:     {info['budgets']} epochs × {info['repeats']} repeat(s)")
    click.echo(f"energy:      {provenance.get('energy_method', 'unknown')}")
    click.echo(f"intensity:   {info['carbon_intensity']} gCO2/kWh ({info['intensity_source']}), PUE {info['pue']}")
    hardware = provenance.get("hardware")
    if isinstance(hardware, dict):
        gpus = ", ".join(str(gpu) for gpu in (hardware.get("gpus") or [])) or "no GPU"
        cores = hardware.get("logical_cores", "?")
        click.echo(f"hardware:    {hardware.get('cpu_model', 'unknown CPU')} ({cores} logical cores), {gpus}")
    elif hardware:
        click.echo(f"hardware:    {hardware}")
    for key in ("dataset", "profile", "sample_fraction", "origin_file", "created"):
        if key in provenance:
            value = provenance[key]
            text = to_json(value).replace("\n", " ") if isinstance(value, (dict, list)) else value
            click.echo(f"{key + ':':<12} {text}")
    surrogate = provenance.get("surrogate")
    if isinstance(surrogate, dict) and isinstance(surrogate.get("models") or {}, dict):
        click.echo("surrogate:   held-out Pearson / MAE per metric@budget (use --json for all settings)")
        for name, model in sorted((surrogate.get("models") or {}).items()):
            holdout = model.get("holdout") if isinstance(model, dict) else None
            numbers = isinstance(holdout, dict) and all(
                isinstance(holdout.get(key, 0.0), (int, float)) for key in ("pearson", "mae")
            )
            if holdout and numbers:
                click.echo(
                    f"  {name:<24} {holdout.get('pearson', float('nan')):.3f} / {holdout.get('mae', float('nan')):.4g}"
                    f"  (n={holdout.get('n', '?')} of {model.get('n_cells', '?')} cells)"
                )
    if verify:
        click.echo(
            f"verified:    {info['verified_datasets']} datasets, sha256 OK; "
            f"all {info['rehashed_cells']:,} cells hash to their stored hash"
        )
        attributes = info["verified_attributes"]
        if attributes.startswith("absent"):
            click.echo("attributes:  not checksummed (format v1 predates it; values validated only)")
        else:
            click.echo(f"attributes:  checksum OK ({attributes[:16]}…)")
