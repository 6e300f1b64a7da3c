"""A minimal protobuf wire-format codec: enough for NB101's and EC-NAS's metric messages.

No generated code and no protobuf package: a message is described by a :class:`Schema` (field
number → :class:`Field`), and :func:`decode` walks the wire format (varint, 64-bit, length-delimited,
32-bit). Proto semantics are followed: unknown fields are skipped (and can be collected), a
repeated scalar may be packed or not, the last value of a singular field wins, and sub-messages of a
singular message field are merged. Anything malformed raises :class:`~ecnas.errors.CorruptRecordError`
with the byte offset inside the message.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ecnas.errors import CorruptRecordError

__all__ = ["KINDS", "Field", "Schema", "decode", "encode", "read_varint"]

_VARINT, _I64, _LEN, _SGROUP, _EGROUP, _I32 = 0, 1, 2, 3, 4, 5
_WIRE_NAMES = {0: "varint", 1: "64-bit", 2: "length-delimited", 3: "start-group", 4: "end-group", 5: "32-bit"}

#: Scalar kinds → wire type (``message``, ``string`` and ``bytes`` are length-delimited).
KINDS: dict[str, int] = {
    "double": _I64, "fixed64": _I64, "sfixed64": _I64,
    "float": _I32, "fixed32": _I32, "sfixed32": _I32,
    "int32": _VARINT, "int64": _VARINT, "uint32": _VARINT, "uint64": _VARINT,
    "sint32": _VARINT, "sint64": _VARINT, "bool": _VARINT, "enum": _VARINT,
    "string": _LEN, "bytes": _LEN, "message": _LEN,
}  # fmt: skip
_STRUCT = {"double": "<d", "fixed64": "<Q", "sfixed64": "<q", "float": "<f", "fixed32": "<I", "sfixed32": "<i"}


@dataclass(frozen=True)
class Field:
    """One field of a message.

    Attributes:
        name: key of the field in the decoded dict.
        kind: one of :data:`KINDS`.
        repeated: the decoded value is a list (empty when the field is absent).
        message: the schema of a ``message`` field.
    """

    name: str
    kind: str
    repeated: bool = False
    message: Schema | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Field {self.name!r}: kind must be one of {sorted(KINDS)}, got {self.kind!r}")
        if (self.kind == "message") != (self.message is not None):
            raise ValueError(f"Field {self.name!r}: a schema is required for kind 'message' and only for it")


@dataclass(frozen=True)
class Schema:
    """A message type: its name (for error messages) and its fields by number."""

    name: str
    fields: Mapping[int, Field] = field(default_factory=dict)


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode a base-128 varint at ``pos``; return ``(value, next position)``."""
    result = 0
    shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise CorruptRecordError(f"truncated varint at byte {pos}: the message is corrupt")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise CorruptRecordError(f"varint longer than 10 bytes at byte {pos}: the message is corrupt")


def _scalar_from_varint(kind: str, value: int) -> int | bool:
    if kind == "bool":
        return value != 0
    if kind in ("sint32", "sint64"):
        return (value >> 1) ^ -(value & 1)
    if kind in ("int32", "int64", "enum"):
        value &= (1 << 64) - 1
        return value - (1 << 64) if value >= 1 << 63 else value
    if kind == "uint32":
        return value & 0xFFFFFFFF
    return value & ((1 << 64) - 1)


def _unpack(kind: str, payload: bytes, where: str) -> list[Any]:
    """Values of a packed repeated scalar field."""
    wire = KINDS[kind]
    if wire == _VARINT:
        values = []
        pos = 0
        while pos < len(payload):
            raw, pos = read_varint(payload, pos)
            values.append(_scalar_from_varint(kind, raw))
        return values
    size = 8 if wire == _I64 else 4
    if len(payload) % size:
        raise CorruptRecordError(f"{where}: packed {kind} field has {len(payload)} bytes, not a multiple of {size}")
    return list(struct.unpack(f"<{len(payload) // size}{_STRUCT[kind][1]}", payload))


def decode(buf: bytes, schema: Schema, *, unknown: set[int] | None = None, _path: str = "") -> dict[str, Any]:
    """Decode one message.

    Args:
        buf: the serialized message.
        schema: its type.
        unknown: if given, the numbers of fields not in the schema (at any depth) are added to it.

    Returns:
        Field name → value; repeated fields → list; absent singular fields are left out.

    Raises:
        CorruptRecordError: malformed wire data, or a wire type that contradicts the schema.
    """
    where = _path or schema.name
    result: dict[str, Any] = {f.name: [] for f in schema.fields.values() if f.repeated}
    pos = 0
    end = len(buf)
    while pos < end:
        start = pos
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0 or wire not in _WIRE_NAMES or wire in (_SGROUP, _EGROUP):
            raise CorruptRecordError(
                f"{where}: invalid field key {key} (field {number}, wire type {wire}) at byte {start}: corrupt message"
            )
        if wire == _VARINT:
            value, pos = read_varint(buf, pos)
        elif wire in (_I64, _I32):
            size = 8 if wire == _I64 else 4
            if pos + size > end:
                raise CorruptRecordError(f"{where}: field {number} truncated at byte {start}: corrupt message")
            value = buf[pos : pos + size]
            pos += size
        else:
            length, pos = read_varint(buf, pos)
            if pos + length > end:
                raise CorruptRecordError(
                    f"{where}: field {number} claims {length} bytes at byte {start} but only {end - pos} remain: "
                    "corrupt message"
                )
            value = buf[pos : pos + length]
            pos += length
        spec = schema.fields.get(number)
        if spec is None:
            if unknown is not None:
                unknown.add(number)
            continue
        expected = KINDS[spec.kind]
        path = f"{where}.{spec.name}"
        if wire == _LEN and expected != _LEN:
            if not spec.repeated:
                raise CorruptRecordError(f"{path}: got a length-delimited value for a singular {spec.kind}")
            result[spec.name].extend(_unpack(spec.kind, value, path))
            continue
        if wire != expected:
            raise CorruptRecordError(
                f"{path}: wire type {_WIRE_NAMES[wire]} does not match kind {spec.kind} at byte {start}: "
                "corrupt message or wrong schema"
            )
        if spec.kind == "message":
            item: Any = decode(value, spec.message, unknown=unknown, _path=path)  # type: ignore[arg-type]
            if not spec.repeated and spec.name in result:
                item = {**result[spec.name], **item}  # proto merges repeated occurrences of a message
        elif spec.kind == "string":
            try:
                item = value.decode("utf-8")
            except UnicodeDecodeError:
                raise CorruptRecordError(f"{path}: string is not valid UTF-8: corrupt message") from None
        elif spec.kind == "bytes":
            item = bytes(value)
        elif wire == _VARINT:
            item = _scalar_from_varint(spec.kind, value)
        else:
            item = struct.unpack(_STRUCT[spec.kind], value)[0]
        if spec.repeated:
            result[spec.name].append(item)
        else:
            result[spec.name] = item
    return result


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _encode_value(spec: Field, number: int, value: Any) -> bytes:
    wire = KINDS[spec.kind]
    key = _varint(number << 3 | wire)
    if spec.kind == "message":
        payload = encode(value, spec.message)  # type: ignore[arg-type]
    elif spec.kind == "string":
        payload = value.encode("utf-8")
    elif spec.kind == "bytes":
        payload = bytes(value)
    elif wire == _VARINT:
        if spec.kind in ("sint32", "sint64"):
            value = (value << 1) ^ (value >> 63)
        return key + _varint(int(value))
    else:
        return key + struct.pack(_STRUCT[spec.kind], value)
    return key + _varint(len(payload)) + payload


def encode(values: Mapping[str, Any], schema: Schema) -> bytes:
    """Serialize a dict shaped like :func:`decode`'s output (fields in number order, repeated unpacked).

    Raises:
        ValueError: a key is not a field of the schema.
    """
    by_name = {spec.name: (number, spec) for number, spec in schema.fields.items()}
    unknown = set(values) - set(by_name)
    if unknown:
        raise ValueError(f"{schema.name}: unknown fields {sorted(unknown)}; valid fields are {sorted(by_name)}")
    parts = []
    for number, spec in sorted(schema.fields.items()):
        if spec.name not in values:
            continue
        value = values[spec.name]
        items = value if spec.repeated else [value]
        parts.extend(_encode_value(spec, number, item) for item in items)
    return b"".join(parts)
