"""Console pools (a proxy host's pool per compute host) and consoles.

A console pool row carries ``consoles``, the list of its console rows; a
console row carries ``pool``, its pool's row.  As in the original these
functions need a valid context but not an admin one (the console proxy
calls them for its own pools).  Consoles are hard-deleted, so reading
"deleted ones too", as the original's getters did, changes nothing.

Departures from the original, pinned by ``tests/db/test_consoles.py``:

- ``console_pool_create`` raises ConsolePoolExists for a second live pool
  of the same (host, console_type, compute_host); the original inserted a
  duplicate.
- ``console_delete`` raises ConsoleNotFound for an unknown id; the
  original silently deleted nothing.
- ``console_create`` raises ConsolePoolNotFound for an unknown pool.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, delete
from sqlalchemy.orm import selectinload

from db import exception
from db.rows import Row
from db.sqlalchemy import _auth, _query, _session, models

LOG = logging.getLogger(__name__)

__all__ = [
    "console_create",
    "console_delete",
    "console_get",
    "console_get_all_by_instance",
    "console_get_by_pool_instance",
    "console_pool_create",
    "console_pool_get_all_by_host_type",
    "console_pool_get_by_host_type",
]


def _equals(column, value: Any):
    """``column = value``, or ``column IS NULL`` for None."""
    return column.is_(None) if value is None else column == value


# --------------------------------------------------------------------------
# Console pools


def _pool_stmt(context, host: Any, console_type: Any) -> Select:
    pool = models.ConsolePool
    return (
        _query.model_query(context, pool, read_deleted="no")
        .where(
            _equals(pool.host, host),
            _equals(pool.console_type, console_type),
        )
        .options(selectinload(pool.consoles))
        .order_by(pool.id)
    )


@_auth.require_context
def console_pool_create(context, values: Mapping[str, Any]) -> Row:
    """Create a console pool and return it (with no consoles).

    Raises ConsolePoolExists if a live pool already serves the same
    compute host with the same console type on the same proxy host.
    """
    checked = _query.check_values(models.ConsolePool, values)
    host = checked.get("host")
    console_type = checked.get("console_type")
    compute_host = checked.get("compute_host")
    duplicate = exception.ConsolePoolExists(
        host=host, console_type=console_type, compute_host=compute_host
    )

    with _session.writer() as session:
        # NOTE(db-conductor): the unique constraint catches concurrent
        # duplicates, but not with a NULL column; this check covers those.
        same = _pool_stmt(context, host, console_type).where(
            _equals(models.ConsolePool.compute_host, compute_host)
        )
        if session.scalars(same.limit(1)).first() is not None:
            raise duplicate
        pool = models.ConsolePool(**checked)
        _session.insert(session, pool, duplicate=lambda: duplicate)
        LOG.debug("Created console pool %d for %s", pool.id, compute_host)
        row = _query.to_row(pool)
        row["consoles"] = []
        return row


@_auth.require_context
def console_pool_get_all_by_host_type(context, host: str,
                                      console_type: str) -> list[Row]:
    """Return the live pools of ``console_type`` on proxy ``host``."""
    with _session.reader() as session:
        pools = session.scalars(_pool_stmt(context, host, console_type))
        return _query.to_rows(pools, "consoles")


@_auth.require_context
def console_pool_get_by_host_type(context, compute_host: str,
                                  proxy_host: str, console_type: str) -> Row:
    """Return the live pool of ``console_type`` for ``compute_host``
    on ``proxy_host``, with its consoles.

    Raises ConsolePoolNotFoundForHostType.
    """
    stmt = _pool_stmt(context, proxy_host, console_type).where(
        _equals(models.ConsolePool.compute_host, compute_host)
    )
    with _session.reader() as session:
        pool = session.scalars(stmt.limit(1)).first()
        if pool is None:
            raise exception.ConsolePoolNotFoundForHostType(
                host=proxy_host,
                console_type=console_type,
                compute_host=compute_host,
            )
        return _query.to_row(pool, "consoles")


# --------------------------------------------------------------------------
# Consoles


def _console_stmt(context) -> Select:
    return (
        _query.model_query(context, models.Console, read_deleted="yes")
        .options(selectinload(models.Console.pool))
        .order_by(models.Console.id)
    )


@_auth.require_context
def console_create(context, values: Mapping[str, Any]) -> Row:
    """Create a console and return it with its ``pool``.

    Raises ConsolePoolNotFound if ``pool_id`` names no pool.
    """
    checked = _query.check_values(models.Console, values)
    pool_id = checked.get("pool_id")

    with _session.writer() as session:
        console = models.Console(**checked)
        _session.insert(
            session,
            console,
            missing=lambda: exception.ConsolePoolNotFound(pool_id=pool_id),
        )
        stmt = _console_stmt(context).where(models.Console.id == console.id)
        return _query.to_row(session.scalars(stmt).one(), "pool")


@_auth.require_context
def console_delete(context, console_id: Any) -> None:
    """Delete a console for good (not a soft delete).

    Raises ConsoleNotFound if there is no such console.
    """
    console_id = _query.int_id(console_id)
    with _session.writer() as session:
        result = session.execute(
            delete(models.Console).where(models.Console.id == console_id)
        )
        if not result.rowcount:
            raise exception.ConsoleNotFound(console_id=console_id)


@_auth.require_context
def console_get(context, console_id: Any,
                instance_uuid: str | None = None) -> Row:
    """Return a console with its ``pool``, deleted or not.

    With ``instance_uuid`` the console must also belong to that instance.
    Raises ConsoleNotFoundForInstance (with ``instance_uuid``) or
    ConsoleNotFound.
    """
    console_id = _query.int_id(console_id)
    stmt = _console_stmt(context).where(models.Console.id == console_id)
    if instance_uuid is not None:
        stmt = stmt.where(models.Console.instance_uuid == instance_uuid)

    with _session.reader() as session:
        console = session.scalars(stmt.limit(1)).first()
        if console is not None:
            return _query.to_row(console, "pool")
    if instance_uuid is not None:
        raise exception.ConsoleNotFoundForInstance(
            console_id=console_id, instance_uuid=instance_uuid
        )
    raise exception.ConsoleNotFound(console_id=console_id)


@_auth.require_context
def console_get_all_by_instance(context, instance_uuid: str) -> list[Row]:
    """Return the consoles of an instance, with their pools, by id."""
    stmt = _console_stmt(context).where(
        models.Console.instance_uuid == instance_uuid
    )
    with _session.reader() as session:
        return _query.to_rows(session.scalars(stmt), "pool")


@_auth.require_context
def console_get_by_pool_instance(context, pool_id: Any,
                                 instance_uuid: str) -> Row:
    """Return the console of an instance in a pool, with its ``pool``.

    Raises ConsoleNotFoundInPoolForInstance.
    """
    pool_id = _query.int_id(pool_id)
    stmt = _console_stmt(context).where(
        models.Console.pool_id == pool_id,
        models.Console.instance_uuid == instance_uuid,
    )
    with _session.reader() as session:
        console = session.scalars(stmt.limit(1)).first()
        if console is None:
            raise exception.ConsoleNotFoundInPoolForInstance(
                pool_id=pool_id, instance_uuid=instance_uuid
            )
        return _query.to_row(console, "pool")
