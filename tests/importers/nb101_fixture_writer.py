"""A small writer of NB101-format TFRecord files, independent of ecnas.importers (for fixtures).

Bitwise CRC-32C, hand-rolled protobuf encoding and NB101's JSON record layout, written from the
format description only, so that the reader is checked against a second implementation.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path


def crc32c_bitwise(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def masked(data: bytes) -> int:
    crc = crc32c_bitwise(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = b""
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out += bytes([low | 0x80])
        else:
            return out + bytes([low])


def key(number: int, wire: int) -> bytes:
    return varint((number << 3) | wire)


def double(number: int, value: float) -> bytes:
    return key(number, 1) + struct.pack("<d", value)


def int32(number: int, value: int) -> bytes:
    return key(number, 0) + varint(value)


def nested(number: int, payload: bytes) -> bytes:
    return key(number, 2) + varint(len(payload)) + payload


def string(number: int, text: str) -> bytes:
    return nested(number, text.encode("utf-8"))


def evaluation(epoch: float, time: float, train: float, valid: float, test: float, checkpoint: str) -> bytes:
    return (
        double(1, epoch) + double(2, time) + double(3, train) + double(4, valid) + double(5, test)
        + string(6, checkpoint)
    )  # fmt: skip


def model_metrics(evaluations: list[bytes], parameters: int | None, total_time: float) -> bytes:
    body = b"".join(nested(1, e) for e in evaluations)
    if parameters is not None:
        body += int32(2, parameters)
    return body + double(3, total_time)


def record(module_hash: str, epochs: int, matrix: list[list[int]], ops: list[str], metrics: bytes) -> bytes:
    adjacency = "".join(str(v) for row in matrix for v in row)
    # NB101 used base64.encodestring: line breaks every 76 characters.
    encoded = base64.encodebytes(metrics).decode("ascii")
    return json.dumps([module_hash, epochs, adjacency, ",".join(ops), encoded]).encode("utf-8")


def frame(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked(length)) + data + struct.pack("<I", masked(data))


def write(path: Path, records: list[bytes]) -> Path:
    path.write_bytes(b"".join(frame(r) for r in records))
    return path
