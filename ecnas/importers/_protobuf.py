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
    _table: dict[int, tuple[Any, ...]] = field(init=False, repr=False, compare=False)
    _repeated: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _writers: tuple[tuple[Any, ...], ...] = field(init=False, repr=False, compare=False)
    _names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_table", _compile(self))
        object.__setattr__(self, "_repeated", tuple(f.name for f in self.fields.values() if f.repeated))
        object.__setattr__(self, "_writers", _compile_writers(self))
        object.__setattr__(self, "_names", frozenset(f.name for f in self.fields.values()))


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


def _compile(schema: Schema) -> dict[int, tuple[Any, ...]]:
    """Field number → (name, wire type, kind, repeated, sub-schema, struct unpacker or None)."""
    table = {}
    for number, spec in schema.fields.items():
        unpack = struct.Struct(_STRUCT[spec.kind]).unpack_from if spec.kind in _STRUCT else None
        table[number] = (spec.name, KINDS[spec.kind], spec.kind, spec.repeated, spec.message, unpack)
    return table


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
    table = schema._table
    result: dict[str, Any] = {name: [] for name in schema._repeated}
    pos = 0
    end = len(buf)
    value = 0
    while pos < end:
        start = pos
        key = buf[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = read_varint(buf, pos)
        number = key >> 3
        wire = key & 7
        if wire in (_I64, _I32):
            stop = pos + (8 if wire == _I64 else 4)
            if stop > end:
                raise CorruptRecordError(
                    f"{_path or schema.name}: field {number} truncated at byte {start}: corrupt message"
                )
        elif wire == _LEN:
            if pos < end and buf[pos] < 0x80:
                length = buf[pos]
                pos += 1
            else:
                length, pos = read_varint(buf, pos)
            stop = pos + length
            if stop > end:
                raise CorruptRecordError(
                    f"{_path or schema.name}: field {number} claims {length} bytes at byte {start} but only "
                    f"{end - pos} remain: corrupt message"
                )
        elif wire == _VARINT:
            value, stop = read_varint(buf, pos)
        else:
            stop = -1
        if number == 0 or stop < 0:
            raise CorruptRecordError(
                f"{_path or schema.name}: invalid field key {key} (field {number}, wire type {wire}) at byte {start}: "
                "corrupt message"
            )
        entry = table.get(number)
        if entry is None:
            if unknown is not None:
                unknown.add(number)
            pos = stop
            continue
        name, expected, kind, repeated, message, unpack = entry
        if wire == expected:
            if unpack is not None:
                item: Any = unpack(buf, pos)[0]
            elif kind == "message":
                item = decode(buf[pos:stop], message, unknown=unknown, _path=f"{_path or schema.name}.{name}")
                if not repeated and name in result:
                    item = {**result[name], **item}  # proto merges repeated occurrences of a message
            elif wire == _VARINT:
                item = _scalar_from_varint(kind, value)
            elif kind == "string":
                try:
                    item = buf[pos:stop].decode("utf-8")
                except UnicodeDecodeError:
                    raise CorruptRecordError(
                        f"{_path or schema.name}.{name}: string is not valid UTF-8: corrupt message"
                    ) from None
            else:
                item = bytes(buf[pos:stop])
        elif wire == _LEN and repeated:  # a packed repeated scalar
            result[name].extend(_unpack(kind, buf[pos:stop], f"{_path or schema.name}.{name}"))
            pos = stop
            continue
        elif wire == _LEN:
            raise CorruptRecordError(
                f"{_path or schema.name}.{name}: got a length-delimited value for a singular {kind}"
            )
        else:
            raise CorruptRecordError(
                f"{_path or schema.name}.{name}: wire type {_WIRE_NAMES[wire]} does not match kind {kind} at byte "
                f"{start}: corrupt message or wrong schema"
            )
        if repeated:
            result[name].append(item)
        else:
            result[name] = item
        pos = stop
    return result


_SMALL = [bytes((n,)) for n in range(0x80)]


def _varint(value: int) -> bytes:
    if 0 <= value < 0x80:
        return _SMALL[value]
    value &= (1 << 64) - 1
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _compile_writers(schema: Schema) -> tuple[tuple[Any, ...], ...]:
    """Per field in number order: (name, key bytes, kind, repeated, sub-schema, struct packer or None)."""
    writers = []
    for number, spec in sorted(schema.fields.items()):
        pack = struct.Struct(_STRUCT[spec.kind]).pack if spec.kind in _STRUCT else None
        key = _varint(number << 3 | KINDS[spec.kind])
        writers.append((spec.name, key, spec.kind, spec.repeated, spec.message, pack))
    return tuple(writers)


def encode(values: Mapping[str, Any], schema: Schema) -> bytes:
    """Serialize a dict shaped like :func:`decode`'s output (fields in number order, repeated unpacked).

    Raises:
        ValueError: a key is not a field of the schema.
    """
    if not values.keys() <= schema._names:
        unknown = sorted(set(values) - schema._names)
        raise ValueError(f"{schema.name}: unknown fields {unknown}; valid fields are {sorted(schema._names)}")
    parts: list[bytes] = []
    append = parts.append
    for name, key, kind, repeated, message, pack in schema._writers:
        if name not in values:
            continue
        value = values[name]
        for item in value if repeated else (value,):
            if pack is not None:
                append(key + pack(item))
                continue
            if kind == "message":
                payload = encode(item, message)
            elif kind == "string":
                payload = item.encode("utf-8")
            elif kind == "bytes":
                payload = bytes(item)
            else:
                if kind in ("sint32", "sint64"):
                    item = (item << 1) ^ (item >> 63)
                append(key + _varint(int(item)))
                continue
            append(key + _varint(len(payload)) + payload)
    return b"".join(parts)
