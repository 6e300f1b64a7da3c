"""Silent metadata changes: every attribute that changes a number is covered by a checksum and validated."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from ecnas import Benchmark
from ecnas._io import ATTRIBUTES_DIGEST, tree_sha256
from ecnas.cli import main
from ecnas.errors import TableFormatError
from ecnas.table import open_table, verify_table
from tests.tables import write_synthetic


def _provenance_edit(key: str, value: object):
    def edit(h5: h5py.File) -> None:
        provenance = json.loads(h5.attrs["provenance"])
        provenance[key] = value
        h5.attrs["provenance"] = json.dumps(provenance)

    return edit


def _set(name: str, value: object):
    def edit(h5: h5py.File) -> None:
        h5.attrs[name] = value

    return edit


#: One edit per attribute that changes a number (or how a number is read).
EDITS = {
    "carbon_intensity one digit": _provenance_edit("carbon_intensity", 280.0),
    "pue one digit": _provenance_edit("pue", 1.6),
    "energy_method": _provenance_edit("energy_method", "measured:carbontracker[rapl]"),
    "budgets relabelled": _set("budgets", np.array([4, 36])),
    "repeats": _set("repeats", 2),
    "metrics units": _set("metrics", json.dumps({"training_time": "h"})),
    "search_space": _set("search_space", "nasbench101"),
    "space_columns": _set("space_columns", "{}"),
    "source_names": _set("source_names", json.dumps({"0": "surrogate", "1": "measured", "2": "imported"})),
    "dataset unit": lambda h5: h5["metrics/energy_kwh"].attrs.__setitem__("unit", "Wh"),
    "dataset sha256 deleted": lambda h5: h5["metrics/energy_kwh"].attrs.__delitem__("sha256"),
    "new attribute": _set("num_cells_override", 3),
    "digest deleted": lambda h5: h5.attrs.__delitem__(ATTRIBUTES_DIGEST),
}


def _edited(tmp_path: Path, edit) -> Path:
    path, _ = write_synthetic(tmp_path / "t.h5")
    with h5py.File(path, "r+") as h5:
        edit(h5)
    return path


@pytest.mark.parametrize("name", sorted(EDITS))
def test_attribute_edits_are_refused_at_open_and_by_verify(tmp_path, name):
    path = _edited(tmp_path, EDITS[name])
    with pytest.raises(TableFormatError, match="attribute"):
        open_table(path).close()
    with pytest.raises(TableFormatError):
        Benchmark(path)
    out = CliRunner().invoke(main, ["info", str(path), "--verify"])
    assert out.exit_code != 0 and "Traceback" not in out.output and "sha256 OK" not in out.output


def test_intact_table_verifies_with_attribute_checksum(tmp_path):
    path, _ = write_synthetic(tmp_path / "t.h5")
    verified = verify_table(path)
    assert len(verified.pop("@attributes")) == 64 and len(verified) == 11
    out = CliRunner().invoke(main, ["info", str(path), "--verify"])
    assert out.exit_code == 0 and "attributes:  checksum OK" in out.output


def _as_v1(path: Path) -> None:
    """Turn a written table into the version-1 layout (no space attributes, no attribute digest)."""
    with h5py.File(path, "r+") as h5:
        h5.attrs["format_version"] = 1
        h5.attrs["search_space"] = "nasbench101"
        del h5.attrs["space_columns"], h5.attrs[ATTRIBUTES_DIGEST]


def test_v1_without_digest_opens_and_verify_says_so(tmp_path):
    path, _ = write_synthetic(tmp_path / "t.h5")
    _as_v1(path)
    with Benchmark(path) as bench:
        assert bench.info()["format_version"] == 1
    assert verify_table(path)["@attributes"] == "absent (format v1)"
    out = CliRunner().invoke(main, ["info", str(path), "--verify"])
    assert out.exit_code == 0 and "not checksummed" in out.output


def test_v1_dataset_without_sha256_fails_verify(tmp_path):
    path, _ = write_synthetic(tmp_path / "t.h5")
    _as_v1(path)
    with h5py.File(path, "r+") as h5:
        del h5["cells/source"].attrs["sha256"]
    with pytest.raises(TableFormatError, match="no sha256"):
        verify_table(path)


def test_shipped_v1_table_still_opens():
    shipped = Path(__file__).resolve().parents[1] / "data" / "ecnas-tiny-7v.h5"
    if not shipped.is_file():
        pytest.skip("embedded default table not in this checkout")
    with Benchmark(shipped) as bench:
        assert bench.info()["format_version"] == 1 and bench.carbon_intensity == 445.0


BAD_VALUES = {
    "negative intensity": ("carbon_intensity", -445.0),
    "string intensity": ("carbon_intensity", "445"),
    "nan intensity": ("carbon_intensity", float("nan")),
    "inf intensity": ("carbon_intensity", float("inf")),
    "huge intensity": ("carbon_intensity", 10**400),
    "bool intensity": ("carbon_intensity", True),
    "pue below 1": ("pue", 0.5),
    "negative pue": ("pue", -1.0),
    "string pue": ("pue", "1.2"),
    "dict energy_method": ("energy_method", {"a": 1}),
}


@pytest.mark.parametrize("restamp", [False, True], ids=["v1", "v2-restamped"])
@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_values_from_file_follow_user_input_rules(tmp_path, name, restamp):
    path, _ = write_synthetic(tmp_path / "t.h5")
    if not restamp:
        _as_v1(path)
    key, value = BAD_VALUES[name]
    with h5py.File(path, "r+") as h5:
        provenance = json.loads(h5.attrs["provenance"])
        provenance[key] = value
        h5.attrs["provenance"] = json.dumps(provenance)  # NaN/inf/10**400 as Python's json writes them
        if restamp:  # a writer that recomputed the digest still cannot bring in a bad value
            h5.attrs[ATTRIBUTES_DIGEST] = tree_sha256(h5)
    with pytest.raises(TableFormatError, match=key):
        Benchmark(path)


@pytest.mark.parametrize(
    "provenance",
    ["[1, 2]", '"text"', "[" * 100_000 + "]" * 100_000, "{not json"],
    ids=["list", "string", "deeply-nested", "invalid"],
)
def test_malformed_provenance_is_a_clear_error(tmp_path, provenance):
    path, _ = write_synthetic(tmp_path / "t.h5")
    _as_v1(path)
    with h5py.File(path, "r+") as h5:
        h5.attrs["provenance"] = provenance
    with pytest.raises(TableFormatError):
        Benchmark(path)
    out = CliRunner().invoke(main, ["info", str(path)])
    assert out.exit_code == 1 and isinstance(out.exception, SystemExit), out.output


@pytest.mark.parametrize("budgets", [[4, 4], [12, 4], [0, 4], [-4, 12]])
def test_invalid_budgets_from_file(tmp_path, budgets):
    path, _ = write_synthetic(tmp_path / "t.h5")
    _as_v1(path)
    with h5py.File(path, "r+") as h5:
        h5.attrs["budgets"] = np.array(budgets)
    with pytest.raises(TableFormatError, match="budgets"):
        Benchmark(path)


def test_huge_carbon_intensity_argument_is_a_value_error(tmp_path):
    path, _ = write_synthetic(tmp_path / "t.h5")
    with pytest.raises(ValueError, match="carbon_intensity"):
        Benchmark(path, carbon_intensity=10**400)


def test_copy_keeps_digest(tmp_path):
    path, _ = write_synthetic(tmp_path / "t.h5")
    copy = shutil.copy(path, tmp_path / "copy.h5")
    assert verify_table(copy)["@attributes"] == verify_table(path)["@attributes"]
