"""Column types shared by the models."""

from __future__ import annotations

import datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

from db import exception

UTC = datetime.UTC


def utcnow() -> datetime.datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.datetime.now(UTC)


def as_utc(value: datetime.datetime | str) -> datetime.datetime:
    """Return ``value`` as an aware UTC datetime.

    Naive datetimes are taken to be UTC already; ISO-8601 strings (as the
    original's callers sometimes sent) are parsed.  Anything else raises
    :class:`db.exception.InvalidValue`.
    """
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise exception.InvalidValue(
                column="datetime", reason=f"{value!r} is not ISO-8601"
            ) from None
    if not isinstance(value, datetime.datetime):
        raise exception.InvalidValue(
            column="datetime",
            reason=f"expected a datetime, got {type(value).__name__}",
        )
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and returned as aware UTC.

    Storing naive UTC works the same on SQLite, MySQL and PostgreSQL;
    returning aware datetimes makes results compare correctly with any
    caller's clock, locally and after crossing RPC.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return as_utc(value).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)
