"""The wire codec: msgpack, with an extension type per non-JSON value.

A value that crosses RPC must come back equal in value *and* type, so the
codec packs with ``strict_types``: anything that is not exactly a ``dict``,
``list``, ``str``, ``bytes``, ``int``, ``float``, ``bool`` or ``None`` goes
through :func:`_default` and becomes one of the extension types below, or
fails on the sending side with :class:`SerializationError` naming the type.
Nothing is truncated and there is no depth limit beyond the interpreter's:
extension payloads are packed recursively with the same rules.

==  ====================  ===============================================
id  Python type           payload
==  ====================  ===============================================
1   datetime.datetime     ISO-8601 text; naive stays naive, aware keeps
                          its UTC offset (zone names become fixed offsets)
2   datetime.date         ISO-8601 text
3   datetime.time         ISO-8601 text
4   datetime.timedelta    [days, seconds, microseconds]
5   set                   packed list of the members
6   frozenset             packed list of the members
7   tuple                 packed list of the items
8   db.rows.Row           packed map (nested rows stay rows)
9   decimal.Decimal       text
10  uuid.UUID             16 bytes
11  EqualityCondition     packed list of the values
12  InequalityCondition   packed list of the values
13  Constraint            packed map of column -> condition
14  int beyond 64 bits    decimal text
==  ====================  ===============================================
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Callable
from typing import Any

import msgpack

from conductor.exception import SerializationError
from db import conditions
from db.rows import Row

DATETIME, DATE, TIME, TIMEDELTA = 1, 2, 3, 4
SET, FROZENSET, TUPLE, ROW = 5, 6, 7, 8
DECIMAL, UUID = 9, 10
EQUAL_ANY, NOT_EQUAL, CONSTRAINT = 11, 12, 13
BIGINT = 14


class DecodeError(ValueError):
    """The bytes are not a message of this codec."""


def _pack(value: Any) -> bytes:
    return msgpack.packb(
        value, default=_default, use_bin_type=True, strict_types=True
    )


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(
        data,
        ext_hook=_ext_hook,
        raw=False,
        strict_map_key=False,
        timestamp=0,
    )


def _default(value: Any) -> msgpack.ExtType:
    encode = _ENCODERS.get(type(value))
    if encode is None:
        raise TypeError(
            f"no wire encoding for {type(value).__module__}."
            f"{type(value).__qualname__}"
        )
    code, payload = encode(value)
    return msgpack.ExtType(code, payload)


def _text(code: int) -> Callable[[Any], tuple[int, bytes]]:
    return lambda value: (code, value.isoformat().encode())


_ENCODERS: dict[type, Callable[[Any], tuple[int, bytes]]] = {
    datetime.datetime: _text(DATETIME),
    datetime.date: _text(DATE),
    datetime.time: _text(TIME),
    datetime.timedelta: lambda v: (
        TIMEDELTA,
        _pack([v.days, v.seconds, v.microseconds]),
    ),
    set: lambda v: (SET, _pack(list(v))),
    frozenset: lambda v: (FROZENSET, _pack(list(v))),
    tuple: lambda v: (TUPLE, _pack(list(v))),
    Row: lambda v: (ROW, _pack(dict(v))),
    decimal.Decimal: lambda v: (DECIMAL, str(v).encode()),
    uuid.UUID: lambda v: (UUID, v.bytes),
    conditions.EqualityCondition: lambda v: (EQUAL_ANY, _pack(list(v.values))),
    conditions.InequalityCondition: lambda v: (
        NOT_EQUAL,
        _pack(list(v.values)),
    ),
    conditions.Constraint: lambda v: (CONSTRAINT, _pack(v.conditions)),
    int: lambda v: (BIGINT, str(v).encode()),
}

_DECODERS: dict[int, Callable[[bytes], Any]] = {
    DATETIME: lambda d: datetime.datetime.fromisoformat(d.decode()),
    DATE: lambda d: datetime.date.fromisoformat(d.decode()),
    TIME: lambda d: datetime.time.fromisoformat(d.decode()),
    TIMEDELTA: lambda d: datetime.timedelta(*_unpack(d)),
    SET: lambda d: set(_unpack(d)),
    FROZENSET: lambda d: frozenset(_unpack(d)),
    TUPLE: lambda d: tuple(_unpack(d)),
    ROW: lambda d: Row(_unpack(d)),
    DECIMAL: lambda d: decimal.Decimal(d.decode()),
    UUID: lambda d: uuid.UUID(bytes=d),
    EQUAL_ANY: lambda d: conditions.EqualityCondition(_unpack(d)),
    NOT_EQUAL: lambda d: conditions.InequalityCondition(_unpack(d)),
    CONSTRAINT: lambda d: conditions.Constraint(_unpack(d)),
    BIGINT: lambda d: int(d.decode()),
}


def _ext_hook(code: int, data: bytes) -> Any:
    decode = _DECODERS.get(code)
    if decode is None:
        raise DecodeError(f"unknown extension type {code}")
    return decode(data)


def dumps(value: Any, what: str = "a value") -> bytes:
    """Encode ``value``; raise :class:`SerializationError` if it can't be.

    ``what`` names the value in the error ("the arguments of
    instance_create"), so the sender learns which call carried it.
    """
    try:
        return _pack(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise SerializationError(what=what, reason=str(exc)) from None


def loads(data: bytes) -> Any:
    """Decode bytes made by :func:`dumps`; raise :class:`DecodeError`."""
    try:
        return _unpack(data)
    except DecodeError:
        raise
    except Exception as exc:  # msgpack raises many unrelated types
        raise DecodeError(f"{type(exc).__name__}: {exc}") from None
