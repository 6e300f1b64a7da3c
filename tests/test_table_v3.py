"""Format version 3: keys as 16 raw bytes, compact surrogate values, and reading versions 1 and 2."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from ecnas._io import ATTRIBUTES_DIGEST, array_sha256, tree_sha256
from ecnas.benchmark import Benchmark
from ecnas.errors import TableFormatError
from ecnas.table import (
    FORMAT_VERSION,
    METRICS,
    check_cell_hashes,
    hash_bytes,
    hash_hex,
    read_table,
    verify_table,
    write_table,
)
from tests.integrity_cases import as_v1, as_v2
from tests.tables import surrogate_contents


def _same(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_hash_bytes_round_trip_keeps_order():
    rng = np.random.default_rng(0)
    keys = np.sort(np.array([bytes(rng.integers(0, 256, 16, dtype=np.uint8)).hex() for _ in range(500)], "S32"))
    keys[0] = b"00" * 16  # trailing and leading zero bytes survive (no NUL stripping)
    keys[-1] = b"ff" * 16
    raw = hash_bytes(keys)
    assert raw.shape == (500, 16) and raw.dtype == np.uint8
    assert bytes(raw[1]).hex().encode() == keys[1]
    np.testing.assert_array_equal(hash_hex(raw), keys)
    assert [bytes(r) for r in raw] == sorted(bytes(r) for r in raw)  # byte order = hex order
    with pytest.raises(ValueError, match="hex"):
        hash_bytes(np.array(["X" * 32]))


def test_v3_stores_keys_as_bytes_and_only_differing_surrogate_rows(tmp_path):
    contents = surrogate_contents(repeats=3)
    path = write_table(tmp_path / "t.h5", contents)
    with h5py.File(path, "r") as h5:
        assert FORMAT_VERSION == 3 and h5.attrs["format_version"] == 3
        assert h5["cells/hash"].dtype == np.uint8 and h5["cells/hash"].shape == (5, 16)
        rows = h5["surrogate_values/rows"][()]
        assert len(rows) == 2  # the two measured rows; predicted rows equal repeat 0 and are not stored
        assert h5["surrogate_values/validation_accuracy"].shape == (2, 2)
        for name in METRICS:
            assert h5[f"metrics/{name}"].compression == "gzip" and h5[f"metrics/{name}"].shuffle
    back = read_table(path)
    order = np.argsort(contents.hashes.astype("S32"), kind="stable")
    np.testing.assert_array_equal(back.hashes, contents.hashes.astype("S32")[order])
    _same(back.surrogate_values, {k: v[order] for k, v in contents.surrogate_values.items()})
    _same(back.uncertainty, {k: v[order] for k, v in contents.uncertainty.items()})
    assert len(verify_table(path)) > 20 and check_cell_hashes(path) == 5


def test_v3_surrogate_values_exact_where_predicted_rows_differ_or_are_nan(tmp_path):
    contents = surrogate_contents()
    served = contents.surrogate_values["energy_kwh"]
    served[1, 0] = np.nan  # the surrogate gives no value for a predicted row
    served[3, 1] = -0.0 if served[3, 1] == 0 else np.nextafter(served[3, 1], 2)  # one ulp off
    path = write_table(tmp_path / "t.h5", contents)
    back = read_table(path)
    order = np.argsort(contents.hashes.astype("S32"), kind="stable")
    np.testing.assert_array_equal(back.surrogate_values["energy_kwh"], served[order])
    with h5py.File(path, "r") as h5:
        assert len(h5["surrogate_values/rows"]) == 4


@pytest.mark.parametrize("version", [1, 2])
def test_older_versions_still_read(tmp_path, version):
    contents = surrogate_contents(repeats=2)
    path = write_table(tmp_path / "t.h5", contents)
    expected = read_table(path)
    (as_v1 if version == 1 else as_v2)(path)
    with h5py.File(path, "r") as h5:
        assert h5.attrs["format_version"] == version and h5["cells/hash"].dtype == np.dtype("S32")
    back = read_table(path)
    np.testing.assert_array_equal(back.hashes, expected.hashes)
    _same(back.metrics, expected.metrics)
    _same(back.surrogate_values, expected.surrogate_values)
    assert check_cell_hashes(path) == 5 and verify_table(path)
    with Benchmark(path) as bench:
        assert bench.hashes == expected.hashes.astype("U32").tolist()
        assert bench.query(bench.hashes[0])["hash"] == bench.hashes[0]


def test_corrupt_v3_layouts_are_refused(tmp_path):
    path = write_table(tmp_path / "t.h5", surrogate_contents())
    with h5py.File(path, "r+") as h5:
        h5["surrogate_values/rows"][0] = 99  # out of range (its sha256 now differs, but opening reads no data)
    with pytest.raises(TableFormatError, match="surrogate_values/rows"):
        read_table(path)
    path = write_table(tmp_path / "u.h5", surrogate_contents())
    with h5py.File(path, "r+") as h5:
        del h5["surrogate_values/rows"]
    with pytest.raises(TableFormatError):
        Benchmark(path)


def test_v3_key_bytes_are_checked(tmp_path):
    path = write_table(tmp_path / "t.h5", surrogate_contents())
    with h5py.File(path, "r+") as h5:
        raw = h5["cells/hash"][()]
        raw[2, 15] ^= 1  # one bit of one key
        h5["cells/hash"][:] = raw
    with pytest.raises(TableFormatError, match="cells/hash is corrupt"):
        verify_table(path)
    with pytest.raises(TableFormatError, match="hashes to"):
        check_cell_hashes(path)
    path = write_table(tmp_path / "u.h5", surrogate_contents())
    with h5py.File(path, "r+") as h5:  # hex keys in a v3 file: the layout does not match the version
        keys = hash_hex(h5["cells/hash"][()])
        del h5["cells/hash"]
        h5.create_dataset("cells/hash", data=keys).attrs["sha256"] = array_sha256(keys)
        h5.attrs[ATTRIBUTES_DIGEST] = tree_sha256(h5)  # a writer that knows the digest, not the layout
    with pytest.raises(TableFormatError, match=r"cells/hash has shape \(5,\), expected \(5, 16\)"):
        Benchmark(path)
