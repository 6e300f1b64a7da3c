"""``ecnas info [TABLE]``: format, size, provenance, version and checksum of a table; ``--list`` the embedded ones."""

from __future__ import annotations

import math
from typing import Any

import click

from ecnas.cli._common import open_benchmark, to_json
from ecnas.errors import ViewUnavailableError


def _number(value: object) -> str:
    """A readable number: 4 significant digits, thousands separators for integers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.4g}" if value == 0 or 1e-3 <= abs(value) < 1e6 else f"{value:.3e}"


def _text(value: Any) -> str:
    """A provenance entry as one line of text (mappings as ``key value, ...``; numbers readable)."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return _number(value)


def _mae(model: str, mae: object) -> str:
    """A surrogate's MAE in its metric's unit (energy in J/Wh/kWh, chosen from the value)."""
    from ecnas.metrics import METRIC_TABLE
    from ecnas.units import energy_unit

    if not isinstance(mae, (int, float)):
        return "?"
    metric = METRIC_TABLE.get(model.split("@")[0])
    if metric is not None and metric.unit == "kWh":
        unit = energy_unit([mae])
        return f"{float(unit(mae)):.4g} {unit.name}"
    if metric is not None and metric.unit == "s":
        return f"{mae:.4g} s"
    return f"{mae:.4g}"


def _origin(origin: Any) -> str:
    if not isinstance(origin, dict):
        return _text(origin)
    size = origin.get("size_bytes")
    size_text = f", {size / 1024:,.1f} KiB" if isinstance(size, (int, float)) else ""
    return f"{origin.get('name', '?')}{size_text}, sha256 {origin.get('sha256', '?')}"


def _list_tables() -> None:
    from ecnas.errors import EcnasError
    from ecnas.tables import EMBEDDED, embedded_manifest, embedded_path

    manifest = embedded_manifest()
    for name, table in EMBEDDED.items():
        try:
            path = embedded_path(name)
            size = f"{path.stat().st_size / 1024:,.0f} KiB"
        except EcnasError:  # a registered table whose file is not installed is reported, not raised
            size = "not installed"
        release = manifest.get(name, {}).get("release")
        click.echo(f"{name:24s} {size:>12s}  {table.summary}" + (f" [release {release}]" if release else ""))
        click.echo(f"{'':24s} {'':>12s}  hardware: {table.hardware}")
    click.echo("\nOpen one with `ecnas info NAME`, `--table NAME` or ecnas.Benchmark(NAME); README: 'Which table?'.")


@click.command("info")
@click.argument("table", required=False, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--list", "list_tables", is_flag=True, help="List the embedded tables (names usable as TABLE).")
@click.option(
    "--carbon-intensity",
    type=float,
    default=None,
    metavar="G_PER_KWH",
    help="Price CO2 with this grid intensity (gCO2/kWh) instead of the table's.",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Also read every dataset and check its sha256, and re-hash every cell (~15 s for 423,624 cells).",
)
def command(table: str | None, as_json: bool, list_tables: bool, carbon_intensity: float | None, verify: bool) -> None:
    """Show what TABLE holds and where its numbers come from (default: the embedded default table).

    TABLE is a file or the name of an embedded table (see --list).
    """
    if list_tables:
        _list_tables()
        return
    if carbon_intensity is not None and not (math.isfinite(carbon_intensity) and carbon_intensity >= 0):
        raise click.BadParameter(
            f"must be a finite number >= 0 (gCO2/kWh), got {carbon_intensity}", param_hint="--carbon-intensity"
        )
    from ecnas.embedding import file_sha256
    from ecnas.tables import EMBEDDED, embedded_manifest

    bench = open_benchmark(table, carbon_intensity=carbon_intensity)
    info = bench.info()
    info["sha256"] = file_sha256(bench.path)
    embedded = next((n for n, t in EMBEDDED.items() if bench.path.name == t.file), None)
    entry = embedded_manifest().get(embedded or "", {})
    if embedded and entry.get("sha256") == info["sha256"]:
        info["embedded"] = {"name": embedded, "release": entry.get("release")}
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
    version = f"{info['format']} format v{info['format_version']} ({info['search_space']} space)"
    if "embedded" in info:
        version += f"; embedded table {info['embedded']['name']}, release {info['embedded']['release']}"
    click.echo(f"version:     {version}")
    click.echo(f"sha256:      {info['sha256']}")
    sources = ", ".join(f"{n:,} {k}" for k, n in info["rows_by_source"].items() if n)
    click.echo(f"cells:       {info['num_cells']:,} ({sources})")
    click.echo(f"budgets:     {', '.join(map(str, info['budgets']))} epochs × {info['repeats']} repeat(s)")
    if "surrogate" in info["views"]:
        views = "measured (default), surrogate (every cell by the surrogate, measured ones out-of-fold): --view"
    else:
        views = "measured only (no surrogate values stored, so no --view surrogate)"
    click.echo(f"views:       {views}")
    spread = ", ".join(info["uncertainty"]) or "none stored (<metric>_std columns are NaN)"
    click.echo(f"std:         surrogate spread of {spread}")
    if info["uncertainty"]:
        click.echo(f"intervals:   {_interval_text(bench)}")
    compaction = provenance.get("compaction")
    if isinstance(compaction, dict) and "predicted_significant_bits" in compaction:
        click.echo(
            f"precision:   predicted values {compaction['predicted_significant_bits']} significant bits, spreads "
            f"{compaction.get('uncertainty_significant_bits', '?')}; measured values exact"
        )
    click.echo(f"energy:      {provenance.get('energy_method', 'unknown')}")
    click.echo(
        f"intensity:   {_number(info['carbon_intensity'])} gCO2/kWh, {info['intensity_source']}; "
        f"PUE {_number(info['pue'])}"
    )
    hardware = provenance.get("hardware")
    if isinstance(hardware, dict):
        gpus = ", ".join(str(gpu) for gpu in (hardware.get("gpus") or [])) or "no GPU"
        cores = hardware.get("logical_cores", "?")
        click.echo(f"hardware:    {hardware.get('cpu_model', 'unknown CPU')} ({cores} logical cores), {gpus}")
    elif hardware:
        click.echo(f"hardware:    {hardware}")
    source = provenance.get("embedded")
    if isinstance(source, dict):
        click.echo(f"source:      {source.get('benchmark')}")
        click.echo(f"             {source.get('repository')}")
        click.echo(f"licence:     {source.get('licence')}")
    if "origin_file" in provenance:
        click.echo(f"origin file: {_origin(provenance['origin_file'])}")
    if isinstance(provenance.get("sample_fraction"), (int, float)):
        provenance = {**provenance, "sample_fraction": f"{100 * provenance['sample_fraction']:.3g}% of the space"}
    for key in ("dataset", "profile", "sample_fraction", "created"):
        if key in provenance:
            click.echo(f"{key + ':':<12} {_text(provenance[key])}")
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
                    f"  {name:<24} {holdout.get('pearson', float('nan')):.3f} / {_mae(name, holdout.get('mae'))}"
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


def _interval_text(bench: Any) -> str:
    """The 95% interval rule of the table's predicted values (``Benchmark.interval_z`` at the largest budget)."""
    try:
        z = bench.interval_z()
    except ViewUnavailableError:
        return "no calibration recorded: <metric>_std is the raw ensemble spread, not an error bar"
    listed = ", ".join(f"{metric} {value:.2f}" for metric, value in z.items() if metric != "co2eq_g")
    return (
        f"68%: value ± std; 95%: value ± z·std with z = {listed} at {bench.budgets[-1]} epochs for predicted "
        "values (split conformal; `ecnas query` prints the intervals), 1.96 for out-of-fold values"
    )
