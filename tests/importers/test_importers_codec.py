"""CRC-32C, the protobuf wire-format codec and the TFRecord reader/writer."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from nb101_fixture_writer import crc32c_bitwise, double, frame, int32, key, masked, nested, string, varint

from ecnas.errors import CorruptRecordError
from ecnas.importers import _crc32c
from ecnas.importers._crc32c import available_backends, crc32c, crc32c_many, mask, masked_crc32c, unmask
from ecnas.importers._protobuf import Field, Schema, decode, encode
from ecnas.importers._tfrecord import frame_record, iter_records, write_records

BACKENDS = available_backends()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(_crc32c, "BACKEND", request.param)
    return request.param


# ---------------------------------------------------------------- CRC-32C
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"123456789", 0xE3069283),  # the standard check value
        (bytes(32), 0x8A9136AA),  # RFC 3720 B.4 test vectors
        (b"\xff" * 32, 0x62A8AB43),
        (bytes(range(32)), 0x46DD794E),
        (bytes(range(31, -1, -1)), 0x113FDB5C),
        (b"", 0x0),
    ],
)
@pytest.mark.parametrize("name", BACKENDS)
def test_crc32c_known_vectors(data: bytes, expected: int, name: str) -> None:
    assert crc32c(data, backend=name) == expected
    assert crc32c_many([data], backend=name)[0] == expected


@pytest.mark.parametrize("name", BACKENDS)
def test_crc32c_backends_agree_with_bitwise_reference(name: str) -> None:
    rng = np.random.default_rng(7)
    sizes = [*range(12), 255, 256, 257, 1000, 4099, *rng.integers(0, 3000, 60).tolist()]
    buffers = [rng.bytes(int(n)) for n in sizes]
    expected = [crc32c_bitwise(b) for b in buffers]
    assert crc32c_many(buffers, backend=name).tolist() == expected
    assert [crc32c(b, backend=name) for b in buffers[:20]] == expected[:20]
    assert crc32c(buffers[-1] * 3, backend=name) == crc32c_bitwise(buffers[-1] * 3)


def test_crc32c_many_handles_many_groups() -> None:
    rng = np.random.default_rng(3)
    buffers = [rng.bytes(int(n)) for n in rng.integers(0, 40, 9000)]  # > one 4096-row group
    assert crc32c_many(buffers, backend="numpy").tolist() == [crc32c_bitwise(b) for b in buffers]


def test_mask_matches_tfrecord_definition_and_inverts() -> None:
    for crc in (0, 1, 0xE3069283, 0xFFFFFFFF, 0x12345678):
        expected = ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF
        assert mask(crc) == expected
        assert unmask(expected) == crc
    values = np.array([0, 1, 0xE3069283, 0xFFFFFFFF], dtype=np.uint32)
    assert mask(values).tolist() == [mask(int(v)) for v in values]
    assert masked_crc32c(b"abc") == masked(b"abc")


def test_unknown_backend_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        crc32c(b"x", backend="zlib")


# ---------------------------------------------------------------- protobuf
INNER = Schema("Inner", {1: Field("value", "double"), 3: Field("name", "string")})
OUTER = Schema(
    "Outer",
    {
        1: Field("items", "message", repeated=True, message=INNER),
        2: Field("count", "int32"),
        3: Field("total", "double"),
        4: Field("numbers", "double", repeated=True),
        5: Field("flags", "int64", repeated=True),
        6: Field("single", "message", message=INNER),
        7: Field("signed", "sint64"),
        8: Field("ratio", "float"),
        9: Field("ok", "bool"),
        10: Field("blob", "bytes"),
    },
)


def test_decode_hand_encoded_message_with_packed_and_unpacked_repeated_fields() -> None:
    payload = (
        nested(1, double(1, 1.5) + string(3, "gpu"))
        + int32(2, 3468426)
        + nested(1, double(1, -0.25))
        + double(3, 746.1661584377289)
        + double(4, 1.0)  # unpacked repeated double
        + nested(4, struct.pack("<2d", 2.0, 3.0))  # packed repeated double
        + nested(5, varint(1) + varint(300) + varint(-2))  # packed varints
        + int32(5, 7)
        + key(99, 0) + varint(5)  # unknown field
        + nested(6, double(1, 1.0))
        + nested(6, string(3, "merged"))  # a singular message seen twice is merged
        + key(7, 0) + varint(3)  # zigzag: -2
        + key(8, 5) + struct.pack("<f", 0.5)
        + key(9, 0) + varint(1)
        + nested(10, b"\x00\xff")
    )  # fmt: skip
    unknown: set[int] = set()
    message = decode(payload, OUTER, unknown=unknown)
    assert message["items"] == [{"value": 1.5, "name": "gpu"}, {"value": -0.25}]
    assert message["count"] == 3468426
    assert message["total"] == 746.1661584377289
    assert message["numbers"] == [1.0, 2.0, 3.0]
    assert message["flags"] == [1, 300, -2, 7]
    assert message["single"] == {"value": 1.0, "name": "merged"}
    assert message["signed"] == -2
    assert message["ratio"] == 0.5
    assert message["ok"] is True
    assert message["blob"] == b"\x00\xff"
    assert unknown == {99}


def test_negative_int32_uses_ten_byte_varint() -> None:
    assert decode(int32(2, -5), OUTER) == {"items": [], "numbers": [], "flags": [], "count": -5}


def test_absent_fields_are_left_out_and_last_singular_value_wins() -> None:
    message = decode(double(3, 1.0) + double(3, 2.0), OUTER)
    assert message == {"items": [], "numbers": [], "flags": [], "total": 2.0}


def test_encode_round_trips_through_decode() -> None:
    values = {
        "items": [{"value": 0.1, "name": "a"}, {}],
        "count": -1,
        "total": float("nan"),
        "numbers": [1e300, -0.0],
        "flags": [0, 2**40],
        "single": {"name": "x"},
        "signed": -(2**40),
        "ok": False,
        "blob": b"\x01",
    }
    decoded = decode(encode(values, OUTER), OUTER)
    assert np.isnan(decoded.pop("total"))
    expected = {k: v for k, v in values.items() if k != "total"}
    assert decoded == expected
    with pytest.raises(ValueError, match="unknown fields"):
        encode({"nope": 1}, OUTER)


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (double(3, 1.0)[:-1], "truncated"),
        (key(1, 2) + varint(50) + b"abc", "claims 50 bytes"),
        (b"\xff" * 11, "varint"),
        (key(3, 0) + varint(1), "wire type"),  # a varint where a double is expected
        (key(2, 3), "invalid field key"),  # groups are not supported
        (key(0, 0) + varint(1), "invalid field key"),
        (key(3, 2) + varint(8) + bytes(8), "length-delimited value for a singular"),
        (nested(4, bytes(7)), "not a multiple of 8"),
        (nested(1, string(3, "ok")[:-1] + b"\xff"), "UTF-8"),
    ],
)
def test_malformed_messages_raise_corrupt_record_error(payload: bytes, match: str) -> None:
    with pytest.raises(CorruptRecordError, match=match):
        decode(payload, OUTER)


def test_schema_rejects_bad_fields() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        Field("x", "complex")
    with pytest.raises(ValueError, match="schema is required"):
        Field("x", "message")


# ---------------------------------------------------------------- TFRecord
PAYLOADS = [b"", b"a", b"hello world" * 50, bytes(range(256)) * 9, b'["json", 1]']


def test_reader_reads_independently_framed_records(tmp_path, backend) -> None:
    path = tmp_path / "x.tfrecord"
    path.write_bytes(b"".join(frame(p) for p in PAYLOADS))
    records = list(iter_records(path))
    assert [data for _, data in records] == PAYLOADS
    offsets = np.cumsum([0] + [16 + len(p) for p in PAYLOADS[:-1]]).tolist()
    assert [offset for offset, _ in records] == offsets
    # tiny buffers exercise records spanning reads
    assert [data for _, data in iter_records(path, buffer_size=7)] == PAYLOADS


def test_writer_output_matches_independent_framing(tmp_path, backend) -> None:
    path = tmp_path / "w.tfrecord"
    assert write_records(path, PAYLOADS, batch=2) == len(PAYLOADS)
    assert path.read_bytes() == b"".join(frame(p) for p in PAYLOADS)
    assert frame_record(PAYLOADS[2]) == frame(PAYLOADS[2])
    assert not list(tmp_path.glob(".*.tmp"))


def test_progress_callback_counts_every_byte(tmp_path) -> None:
    path = tmp_path / "p.tfrecord"
    path.write_bytes(b"".join(frame(p) for p in PAYLOADS))
    seen: list[int] = []
    list(iter_records(path, progress=seen.append, buffer_size=100))
    assert sum(seen) == path.stat().st_size


def test_every_flipped_byte_is_detected_with_offset(tmp_path, backend) -> None:
    payloads = [b"first record", b"second, longer record " * 3]
    original = b"".join(frame(p) for p in payloads)
    second = 16 + len(payloads[0])
    for position in range(len(original)):
        corrupt = bytearray(original)
        corrupt[position] ^= 0x20
        path = tmp_path / "flip.tfrecord"
        path.write_bytes(bytes(corrupt))
        with pytest.raises(CorruptRecordError) as info:
            list(iter_records(path))
        message = str(info.value)
        assert str(path) in message
        assert "CRC" in message or "corrupt" in message
        record_offset = 0 if position < second else second
        if position - record_offset >= 8:  # a flip in the length field may make the length point anywhere
            assert f"offset {record_offset}" in message


def test_every_truncation_is_detected(tmp_path, backend) -> None:
    payloads = [b"first record", b"second record!"]
    original = b"".join(frame(p) for p in payloads)
    boundaries = {0, 16 + len(payloads[0]), len(original)}
    for cut in range(1, len(original)):
        if cut in boundaries:
            continue
        path = tmp_path / "cut.tfrecord"
        path.write_bytes(original[:cut])
        with pytest.raises(CorruptRecordError, match=r"offset \d+.*(truncated|corrupt)"):
            list(iter_records(path))


def test_empty_file_is_an_error(tmp_path) -> None:
    path = tmp_path / "empty.tfrecord"
    path.write_bytes(b"")
    with pytest.raises(CorruptRecordError, match="empty"):
        list(iter_records(path))


def test_verify_false_skips_crc_but_not_framing(tmp_path) -> None:
    data = bytearray(frame(b"payload"))
    data[-1] ^= 1
    path = tmp_path / "v.tfrecord"
    path.write_bytes(bytes(data))
    assert [d for _, d in iter_records(path, verify=False)] == [b"payload"]
    with pytest.raises(CorruptRecordError, match="data CRC mismatch"):
        list(iter_records(path))
