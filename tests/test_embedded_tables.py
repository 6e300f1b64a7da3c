"""The embedded tables: each opens by name, verifies, matches its manifest and a fresh conversion of its source."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import ecnas
from ecnas.cli import main
from ecnas.embedding import content_digest, convert, file_sha256
from ecnas.table import check_cell_hashes, verify_table
from ecnas.tables import EMBEDDED, embedded_manifest, embedded_path, resolve_table, table_names
from tests.reference import reference_file

ECNAS_TABLES = [name for name, table in EMBEDDED.items() if table.source is not None]
#: What EC-NAS's files hold (docs/importers.md): cells, budgets, repeats.
SHAPES = {
    "ecnas-5v": (2532, (4,), 1),
    "ecnas-4v": (91, (4, 12, 36, 108), 3),
    "ecnas-4v-quadrortx6000": (91, (4, 12, 36, 108), 1),
    "ecnas-4v-rtx3060": (88, (4, 12, 36, 108), 1),
    "ecnas-4v-rtx3090": (91, (4, 12, 36, 108), 1),
    "ecnas-4v-titanxp": (91, (4, 12, 36, 108), 1),
}


def test_registry_names_the_issue_tables():
    assert set(SHAPES) <= set(table_names()) and table_names()[0] == "ecnas-tiny-7v"


@pytest.mark.parametrize("name", ECNAS_TABLES)
def test_embedded_ecnas_table_opens_verifies_and_matches_manifest(name):
    path = embedded_path(name)
    assert path.stat().st_size < 1_000_000, "embedded EC-NAS tables must stay small"
    with ecnas.Benchmark(name) as bench:
        cells, budgets, repeats = SHAPES[name]
        assert (len(bench), bench.budgets, bench.repeats) == (cells, budgets, repeats)
        provenance = bench.info()["provenance"]
        assert provenance["embedded"]["name"] == name and "MIT" in provenance["embedded"]["licence"]
        assert provenance["origin_file"]["name"] == EMBEDDED[name].source
        row = bench.query(bench.hashes[0], budget=4)
        assert row["source"] == "imported" and row["energy_kwh"] > 0 and row["energy_method"].startswith("measured")
    assert verify_table(path) and check_cell_hashes(path) == cells
    entry = embedded_manifest()[name]
    assert entry["sha256"] == file_sha256(path) and entry["content_digest"] == content_digest(path)


@pytest.mark.parametrize("name", ECNAS_TABLES)
def test_embedded_table_matches_fresh_conversion(name, tmp_path):
    source = reference_file(str(EMBEDDED[name].source))
    entry = embedded_manifest()[name]
    assert file_sha256(source) == entry["source"]["sha256"], "the reference file changed since the table was embedded"
    fresh = convert(name, source.parent, tmp_path)
    assert content_digest(fresh) == content_digest(embedded_path(name))
    with ecnas.Benchmark(fresh) as a, ecnas.Benchmark(name) as b:
        x, y = a.query_many(a.hash_array, budget=4), b.query_many(b.hash_array, budget=4)
        np.testing.assert_array_equal(x["energy_kwh"], y["energy_kwh"])
        np.testing.assert_array_equal(x["validation_accuracy"], y["validation_accuracy"])


def test_default_table_is_embedded_by_name():
    with ecnas.Benchmark("ecnas-tiny-7v") as bench:
        assert bench.path.name == EMBEDDED["ecnas-tiny-7v"].file and len(bench) == 423_624


def test_resolve_table_prefers_an_existing_file(tmp_path, monkeypatch):
    assert resolve_table("some/table.h5").as_posix() == "some/table.h5"
    assert resolve_table("ecnas-5v") == embedded_path("ecnas-5v")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ecnas-5v").write_bytes(b"mine")
    assert resolve_table("ecnas-5v").resolve() == (tmp_path / "ecnas-5v").resolve()
    with pytest.raises(ValueError, match="embedded tables are"):
        embedded_path("ecnas-6v")


def test_info_lists_and_describes_embedded_tables():
    runner = CliRunner()
    out = runner.invoke(main, ["info", "--list"])
    assert out.exit_code == 0, out.output
    for name in table_names():
        assert name in out.output
    out = runner.invoke(main, ["info", "ecnas-4v-rtx3090", "--carbon-intensity", "50"])
    assert out.exit_code == 0, out.output
    text = out.output
    assert "embedded table ecnas-4v-rtx3090, release 1" in text
    assert f"sha256:      {file_sha256(embedded_path('ecnas-4v-rtx3090'))}" in text
    assert "origin file: ecnas_energy_4V9E_rtx3090.tfrecord" in text and "{" not in text
    assert "intensity:   50 gCO2/kWh" in text and "licence:     MIT" in text
    out = runner.invoke(main, ["info", "ecnas-5v", "--json"])
    assert json.loads(out.output)["embedded"] == {"name": "ecnas-5v", "release": 1}
    out = runner.invoke(main, ["info", "ecnas-5v", "--carbon-intensity", "-1"])
    assert out.exit_code != 0 and "--carbon-intensity" in out.output


def test_info_summary_reflects_configured_intensity():
    with ecnas.Benchmark("ecnas-5v", carbon_intensity=12.5) as bench:
        assert "12.5 gCO2/kWh" in bench.info()["summary"]
    assert "Benchmark" in dir(ecnas)


def test_search_runs_on_an_embedded_table_by_name():
    out = CliRunner().invoke(main, ["search", "rs", "--table", "ecnas-4v-rtx3090", "--max-evaluations", "20"])
    assert out.exit_code == 0, out.output
    assert "ecnas-4v-rtx3090" in out.output
