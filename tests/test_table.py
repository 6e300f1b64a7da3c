from __future__ import annotations

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from ecnas.cli import main
from ecnas.errors import TableFormatError, TableNotFoundError
from ecnas.table import METRICS, check_cell_hashes, read_table, verify_table, write_table
from tests.tables import synthetic_contents, write_synthetic


def test_round_trip_sorted_by_hash(tmp_path):
    path, contents = write_synthetic(tmp_path / "t.h5")
    table = read_table(path)
    order = np.argsort(np.asarray(contents.hashes).astype("S32"))
    assert list(table.hashes) == sorted(np.asarray(contents.hashes).astype("S32").tolist())
    for name in METRICS:
        np.testing.assert_array_equal(table.metrics[name], contents.metrics[name][order])
    np.testing.assert_array_equal(table.trainable_parameters, contents.trainable_parameters[order])
    assert table.budgets == (4, 12) and table.repeats == 3
    assert table.provenance["carbon_intensity"] == 200.0
    assert "created" in table.provenance
    assert len(verify_table(path)) >= len(METRICS) + 5


def test_self_describing_attributes(tmp_path):
    path, _ = write_synthetic(tmp_path / "t.h5")
    with h5py.File(path) as h5:
        assert h5.attrs["format"] == "ecnas-table"
        assert h5.attrs["format_version"] == 3  # v3: keys as 16 raw bytes (v1 and v2 files still open)
        assert h5.attrs["search_space"] == "nb101"
        assert h5["metrics/energy_kwh"].attrs["unit"] == "kWh"
        assert h5["metrics/energy_kwh"].fletcher32


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: setattr(c, "budgets", (12, 4)), "ascending"),
        (lambda c: setattr(c, "repeats", 0), "repeats"),
        (lambda c: c.metrics.pop("energy_kwh"), "missing"),
        (lambda c: c.metrics.__setitem__("bogus", c.metrics["energy_kwh"]), "unknown metrics"),
        (lambda c: setattr(c, "source", np.full(len(c), 9, np.uint8)), "source"),
        (lambda c: setattr(c, "hashes", np.array([c.hashes[0]] * len(c))), "duplicate"),
        (lambda c: setattr(c, "provenance", {"x": object()}), "JSON"),
        (lambda c: setattr(c, "hashes", np.array([h + "0" for h in c.hashes])), "32-character"),
        (lambda c: setattr(c, "hashes", np.array(["Z" * 32, *list(c.hashes[1:])])), "hex"),
    ],
)
def test_bad_contents_rejected_and_nothing_written(tmp_path, mutate, message):
    contents = synthetic_contents()
    mutate(contents)
    with pytest.raises((ValueError, TypeError), match=message):
        write_table(tmp_path / "t.h5", contents)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_keeps_previous_file(tmp_path):
    path, _ = write_synthetic(tmp_path / "t.h5")
    before = path.read_bytes()

    def boom(h5):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_table(path, synthetic_contents(seed=1), extras=boom)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.h5"]


def test_missing_file(tmp_path):
    with pytest.raises(TableNotFoundError, match="no such table"):
        read_table(tmp_path / "absent.h5")


def test_truncated_file_rejected(tmp_path):
    path, _ = write_synthetic(tmp_path / "t.h5")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TableFormatError, match=str(path.name)):
        read_table(path)


def test_not_a_table(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h5:
        h5["x"] = 1
    with pytest.raises(TableFormatError, match="not an ecnas table"):
        read_table(path)
    text = tmp_path / "text.h5"
    text.write_text("hello")
    with pytest.raises(TableFormatError, match="text.h5"):
        read_table(text)


def test_flipped_bytes_detected(tmp_path):
    path, contents = write_synthetic(tmp_path / "t.h5")
    with h5py.File(path) as h5:
        chunk = h5["metrics/validation_accuracy"].id.get_chunk_info(0)
        offset, size = chunk.byte_offset, chunk.size
    data = bytearray(path.read_bytes())
    for k in range(offset + 4, offset + size - 4, max(1, size // 8)):
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(TableFormatError, match="corrupt"):
        read_table(path)
    with pytest.raises(TableFormatError, match="t.h5"):
        verify_table(path)


def test_nan_in_provenance_is_written_as_strict_json(tmp_path):
    contents = synthetic_contents()
    contents.provenance["surrogate"] = {"pearson": float("nan")}
    write_table(tmp_path / "t.h5", contents)
    with h5py.File(tmp_path / "t.h5") as h5:
        assert "NaN" not in h5.attrs["provenance"]
    assert read_table(tmp_path / "t.h5").provenance["surrogate"]["pearson"] is None


def test_tampered_shapes_and_order_are_rejected(tmp_path):
    from ecnas import Benchmark

    path, _ = write_synthetic(tmp_path / "t.h5")
    with h5py.File(path, "r+") as h5:
        h5.attrs["num_cells"] = 6
    with pytest.raises(TableFormatError, match="shape"):
        read_table(path)
    path, _ = write_synthetic(tmp_path / "u.h5")
    with h5py.File(path, "r+") as h5:
        hashes = h5["cells/hash"][:]
        h5["cells/hash"][:] = hashes[::-1]
    with pytest.raises(TableFormatError, match="not strictly sorted"):
        Benchmark(path)


def test_check_cell_hashes_finds_a_cell_stored_under_another_hash(tmp_path):
    path, contents = write_synthetic(tmp_path / "good.h5")
    assert check_cell_hashes(path) == len(contents)
    bad = synthetic_contents()
    hashes = bad.hashes.astype("U32")
    real = hashes[2]
    hashes[2] = "0" * 32  # a valid hash, but not of this row's cell
    bad.hashes = hashes.astype("S32")
    write_table(tmp_path / "bad.h5", bad)
    with pytest.raises(TableFormatError, match=f"row 0 is stored under {'0' * 32} but its cell hashes to {real}"):
        check_cell_hashes(tmp_path / "bad.h5")
    out = CliRunner().invoke(main, ["info", str(tmp_path / "bad.h5"), "--verify"])
    assert out.exit_code != 0 and "hashes to" in out.output and "Traceback" not in out.output


def test_check_cell_hashes_names_a_malformed_row(tmp_path):
    contents = synthetic_contents()
    row = int(np.flatnonzero(np.count_nonzero(contents.columns["op_codes"], axis=1) == 3)[0])
    contents.columns["op_codes"][row, 1] = 5  # an "output" op inside the cell
    write_table(tmp_path / "bad.h5", contents)
    with pytest.raises(TableFormatError, match=r"row \d+ \([0-9a-f]{32}\): .*output"):
        check_cell_hashes(tmp_path / "bad.h5")


def test_surrogate_values_round_trip_and_shape_checked(tmp_path):
    contents = synthetic_contents()
    rng = np.random.default_rng(0)
    n, b = len(contents), len(contents.budgets)
    served = rng.random((n, b))
    served[3, 1] = np.nan
    contents.surrogate_values = {"validation_accuracy": served}
    contents.uncertainty = {"validation_accuracy": rng.random((n, b)) / 10}
    write_table(tmp_path / "t.h5", contents)
    back = read_table(tmp_path / "t.h5")
    order = np.argsort(contents.hashes.astype("S32"), kind="stable")
    np.testing.assert_array_equal(back.surrogate_values["validation_accuracy"], served[order])
    spread = contents.uncertainty["validation_accuracy"]
    np.testing.assert_array_equal(back.uncertainty["validation_accuracy"], spread[order])
    contents.surrogate_values = {"validation_accuracy": served[:, :1]}
    with pytest.raises(ValueError, match="surrogate_values 'validation_accuracy' must be a metric name with shape"):
        write_table(tmp_path / "u.h5", contents)
    assert not (tmp_path / "u.h5").exists()
