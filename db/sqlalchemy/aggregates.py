"""Host aggregates: named groups of hosts with metadata.

Every function needs an admin context, as in the original.  An aggregate
row carries ``hosts`` (a list of host names) and ``metadetails`` (a dict
of its metadata).

Deliberate departures from the original, each pinned by a test in
``tests/db/test_aggregates.py``:

- ``aggregate_create`` writes the metadata in the same transaction;
  ``aggregate_delete`` also deletes the aggregate's hosts and metadata, so
  a revived aggregate starts empty.
- ``aggregate_metadata_get_by_host`` with ``key`` returns only that key,
  as a plain dict (missing keys raise KeyError, not an empty set).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Select, and_, exists, select
from sqlalchemy.orm import Session, selectinload

from db import exception
from db.rows import Row
from db.sqlalchemy import _auth, _query, _session, models

LOG = logging.getLogger(__name__)

__all__ = [
    "aggregate_create",
    "aggregate_delete",
    "aggregate_get",
    "aggregate_get_all",
    "aggregate_get_by_host",
    "aggregate_host_add",
    "aggregate_host_delete",
    "aggregate_host_get_all",
    "aggregate_metadata_add",
    "aggregate_metadata_delete",
    "aggregate_metadata_get",
    "aggregate_metadata_get_by_host",
    "aggregate_update",
]

_AGGREGATE_LOADS = (
    selectinload(models.Aggregate._hosts),
    selectinload(models.Aggregate._metadata),
)


def _aggregate_stmt(context, read_deleted: str | None = None) -> Select:
    return (
        _query.model_query(
            context, models.Aggregate, read_deleted=read_deleted
        )
        .options(*_AGGREGATE_LOADS)
        .order_by(models.Aggregate.id)
    )


def _aggregate_get(session: Session, context, aggregate_id: Any,
                   read_deleted: str | None = None,
                   for_update: bool = False) -> models.Aggregate:
    """Return the aggregate (hosts and metadata loaded) or raise.

    ``for_update`` locks the row: writers of one aggregate then run one
    after the other, and each sees what the previous one committed.
    """
    aggregate_id = _query.int_id(aggregate_id)
    stmt = _aggregate_stmt(context, read_deleted).where(
        models.Aggregate.id == aggregate_id
    )
    if for_update:
        stmt = stmt.with_for_update()
    aggregate = _query.first(session, stmt)
    if aggregate is None:
        raise exception.AggregateNotFound(aggregate_id=aggregate_id)
    return aggregate


def _aggregate_row(session: Session, aggregate_id: int) -> Row:
    """Read an aggregate afresh (after writes in this session)."""
    stmt = (
        select(models.Aggregate)
        .where(models.Aggregate.id == aggregate_id)
        .options(*_AGGREGATE_LOADS)
        .execution_options(populate_existing=True)
    )
    return _query.to_row(session.scalars(stmt).one())


def _check_metadata(metadata: Any) -> dict[str, str]:
    """Return ``metadata`` checked and coerced to strings."""
    return _query.check_items(models.AggregateMetadata, metadata, "metadata")


def _name_exists(name: str | None) -> Callable[[], Exception]:
    return lambda: exception.AggregateNameExists(aggregate_name=name)


def _aggregate_insert_or_revive(session: Session,
                                values: dict[str, Any]) -> int:
    """Create the aggregate, or revive a deleted one of the same name.

    Returns its id.  Raises AggregateNameExists if a live aggregate has
    the name, including one created or revived concurrently.
    """
    name = values["name"]
    live = select(models.Aggregate.id).where(
        models.Aggregate.name == name, models.Aggregate.deleted == 0
    )
    if session.scalar(live.limit(1)) is not None:
        raise _name_exists(name)()

    dead_stmt = (
        select(models.Aggregate)
        .where(models.Aggregate.name == name, models.Aggregate.deleted != 0)
        .order_by(models.Aggregate.id.desc())
        .with_for_update()
    )
    aggregate = _query.first(session, dead_stmt)
    with _session.savepoint(session, duplicate=_name_exists(name)):
        if aggregate is None:
            aggregate = models.Aggregate(**values)
            session.add(aggregate)
        else:
            LOG.debug("Reviving deleted aggregate %d (%s)",
                      aggregate.id, name)
            _query.revive(aggregate)
            for key, value in values.items():
                if key != "id":
                    setattr(aggregate, key, value)
    return aggregate.id


def _newest_deleted_metadata(session: Session, aggregate_id: int,
                             keys: list[str]) -> dict[str, Any]:
    """Return the newest deleted metadata row of each of ``keys``."""
    if not keys:
        return {}
    stmt = (
        select(models.AggregateMetadata)
        .where(
            models.AggregateMetadata.aggregate_id == aggregate_id,
            models.AggregateMetadata.key.in_(keys),
            models.AggregateMetadata.deleted != 0,
        )
        .order_by(models.AggregateMetadata.id.desc())
    )
    newest: dict[str, Any] = {}
    for row in session.scalars(stmt):
        newest.setdefault(row.key, row)
    return newest


def _live_metadata(session: Session,
                   aggregate_id: int) -> list[models.AggregateMetadata]:
    stmt = (
        select(models.AggregateMetadata)
        .where(
            models.AggregateMetadata.aggregate_id == aggregate_id,
            models.AggregateMetadata.deleted == 0,
        )
        .order_by(models.AggregateMetadata.id)
    )
    return list(session.scalars(stmt))


def _insert_metadata(session: Session, aggregate_id: int, key: str,
                     value: str) -> None:
    """Insert one metadata row; if a concurrent call won, update it."""
    try:
        _session.insert(session, models.AggregateMetadata(
            aggregate_id=aggregate_id, key=key, value=value
        ))
    except exception.DBDuplicateEntry:
        live = {m.key: m for m in _live_metadata(session, aggregate_id)}
        live[key].value = value


def _metadata_add(session: Session, aggregate_id: int,
                  metadata: dict[str, str], set_delete: bool) -> None:
    """Upsert ``metadata``; with ``set_delete`` delete the other keys."""
    live: dict[str, models.AggregateMetadata] = {}
    for row in _live_metadata(session, aggregate_id):
        if row.key in live or (set_delete and row.key not in metadata):
            _query.soft_delete(row)
        else:
            live[row.key] = row
    dead = _newest_deleted_metadata(
        session, aggregate_id, [k for k in metadata if k not in live]
    )
    session.flush()

    for key, value in metadata.items():
        row = live.get(key) or dead.get(key)
        if row is None:
            _insert_metadata(session, aggregate_id, key, value)
            continue
        if row.deleted:
            _query.revive(row)
        row.value = value
    session.flush()


@_auth.require_admin_context
def aggregate_create(context, values: Mapping[str, Any],
                     metadata: Mapping[str, Any] | None = None) -> Row:
    """Create an aggregate, with ``metadata``, and return it.

    ``values["name"]`` is required and unique among live aggregates: a
    deleted aggregate of that name is revived (with no hosts and only the
    given metadata), a live one raises AggregateNameExists.  The metadata
    is written in the same transaction (the original wrote it after).
    """
    checked = _query.check_values(models.Aggregate, values)
    if checked.get("name") is None:
        raise exception.InvalidInput(reason="an aggregate needs a name")
    checked_metadata = _check_metadata(metadata or {})

    with _session.writer() as session:
        aggregate_id = _aggregate_insert_or_revive(session, checked)
        if checked_metadata:
            _metadata_add(session, aggregate_id, checked_metadata, False)
        return _aggregate_row(session, aggregate_id)


@_auth.require_admin_context
def aggregate_delete(context, aggregate_id: Any) -> None:
    """Soft-delete a live aggregate with its hosts and metadata.

    Raises AggregateNotFound.  (The original left the hosts and metadata
    live, so reviving the name brought them back.)
    """
    with _session.writer() as session:
        aggregate = _aggregate_get(
            session, context, aggregate_id, "no", for_update=True
        )
        for model in (models.AggregateHost, models.AggregateMetadata):
            _query.soft_delete_where(
                session, model, model.aggregate_id == aggregate.id
            )
        _query.soft_delete(aggregate)


@_auth.require_admin_context
def aggregate_get(context, aggregate_id: Any) -> Row:
    """Return an aggregate; follows ``read_deleted``.

    Raises AggregateNotFound.
    """
    with _session.reader() as session:
        return _query.to_row(_aggregate_get(session, context, aggregate_id))


@_auth.require_admin_context
def aggregate_get_all(context) -> list[Row]:
    """Return every aggregate (per ``read_deleted``), by id."""
    with _session.reader() as session:
        return _query.to_rows(session.scalars(_aggregate_stmt(context)))


def _has_host(host: str):
    return exists().where(
        models.AggregateHost.aggregate_id == models.Aggregate.id,
        models.AggregateHost.host == host,
        models.AggregateHost.deleted == 0,
    )


@_auth.require_admin_context
def aggregate_get_by_host(context, host: str,
                          key: str | None = None) -> list[Row]:
    """Return the live aggregates that contain ``host``.

    With ``key``, only those that also have metadata ``key``.
    """
    stmt = _aggregate_stmt(context, "no").where(_has_host(host))
    if key is not None:
        stmt = stmt.where(
            exists().where(
                models.AggregateMetadata.aggregate_id == models.Aggregate.id,
                models.AggregateMetadata.key == key,
                models.AggregateMetadata.deleted == 0,
            )
        )
    with _session.reader() as session:
        return _query.to_rows(session.scalars(stmt))


@_auth.require_admin_context
def aggregate_host_add(context, aggregate_id: Any, host: str) -> Row:
    """Add ``host`` to a live aggregate and return the host row.

    Revives a deleted membership; raises AggregateHostExists if the host
    is already a member and AggregateNotFound.
    """
    host = _query.require_str(host, "host")
    with _session.writer() as session:
        aggregate = _aggregate_get(
            session, context, aggregate_id, "no", for_update=True
        )
        member = _query.first(session, (
            select(models.AggregateHost)
            .where(
                models.AggregateHost.aggregate_id == aggregate.id,
                models.AggregateHost.host == host,
            )
            .order_by(models.AggregateHost.deleted, models.AggregateHost.id)
        ))

        def exists_error() -> Exception:
            return exception.AggregateHostExists(
                aggregate_id=aggregate.id, host=host
            )

        if member is not None and not member.deleted:
            raise exists_error()
        with _session.savepoint(session, duplicate=exists_error):
            if member is None:
                member = models.AggregateHost(
                    aggregate_id=aggregate.id, host=host
                )
                session.add(member)
            else:
                _query.revive(member)
        return _query.to_row(member)


@_auth.require_admin_context
def aggregate_host_delete(context, aggregate_id: Any, host: str) -> None:
    """Remove ``host`` from an aggregate (a soft delete).

    Raises AggregateNotFound, or AggregateHostNotFound if the host is not
    a member.
    """
    with _session.writer() as session:
        aggregate = _aggregate_get(
            session, context, aggregate_id, "no", for_update=True
        )
        count = _query.soft_delete_where(
            session,
            models.AggregateHost,
            models.AggregateHost.aggregate_id == aggregate.id,
            models.AggregateHost.host == host,
        )
        if not count:
            raise exception.AggregateHostNotFound(
                aggregate_id=aggregate.id, host=host
            )


@_auth.require_admin_context
def aggregate_host_get_all(context, aggregate_id: Any) -> list[str]:
    """Return the host names of a live aggregate, in the order added.

    Raises AggregateNotFound.
    """
    with _session.reader() as session:
        aggregate = _aggregate_get(session, context, aggregate_id, "no")
        return list(aggregate.hosts)


@_auth.require_admin_context
def aggregate_metadata_add(context, aggregate_id: Any,
                           metadata: Mapping[str, Any],
                           set_delete: bool = False) -> dict[str, str]:
    """Add or update an aggregate's metadata; return what was written.

    Keys that exist are updated, deleted ones revived, others added.
    With ``set_delete`` the metadata *replaces* the aggregate's: keys
    not in ``metadata`` are deleted.  Values are stored (and returned)
    as strings.  Raises AggregateNotFound.
    """
    checked = _check_metadata(metadata)
    with _session.writer() as session:
        aggregate = _aggregate_get(
            session, context, aggregate_id, "no", for_update=True
        )
        _metadata_add(session, aggregate.id, checked, bool(set_delete))
    return checked


@_auth.require_admin_context
def aggregate_metadata_delete(context, aggregate_id: Any, key: str) -> None:
    """Delete one metadata key of an aggregate (a soft delete).

    Raises AggregateNotFound or AggregateMetadataNotFound.
    """
    with _session.writer() as session:
        aggregate = _aggregate_get(
            session, context, aggregate_id, "no", for_update=True
        )
        count = _query.soft_delete_where(
            session,
            models.AggregateMetadata,
            models.AggregateMetadata.aggregate_id == aggregate.id,
            models.AggregateMetadata.key == key,
        )
        if not count:
            raise exception.AggregateMetadataNotFound(
                aggregate_id=aggregate.id, metadata_key=key
            )


@_auth.require_admin_context
def aggregate_metadata_get(context, aggregate_id: Any) -> dict[str, str]:
    """Return a live aggregate's metadata as a dict.

    Raises AggregateNotFound.
    """
    with _session.reader() as session:
        aggregate = _aggregate_get(session, context, aggregate_id, "no")
        return dict(aggregate.metadetails)


@_auth.require_admin_context
def aggregate_metadata_get_by_host(
    context, host: str, key: str | None = None
) -> dict[str, set[str]]:
    """Return ``{key: {values}}`` over the live aggregates of ``host``.

    A key set differently by two aggregates has both values.  With
    ``key``, only that key is returned (the original returned every key
    of the aggregates that had it).  A plain dict: a key no aggregate
    sets is absent.
    """
    meta = models.AggregateMetadata
    stmt = (
        select(meta.key, meta.value)
        .join(models.Aggregate, and_(
            models.Aggregate.id == meta.aggregate_id,
            models.Aggregate.deleted == 0,
        ))
        .where(meta.deleted == 0, _has_host(host))
    )
    if key is not None:
        stmt = stmt.where(meta.key == key)

    result: dict[str, set[str]] = {}
    with _session.reader() as session:
        for meta_key, value in session.execute(stmt):
            result.setdefault(meta_key, set()).add(value)
    return result


@_auth.require_admin_context
def aggregate_update(context, aggregate_id: Any,
                     values: Mapping[str, Any]) -> Row:
    """Set ``values`` on a live aggregate and return it.

    ``values["metadata"]``, if given, replaces the metadata (as
    ``aggregate_metadata_add(..., set_delete=True)``).  Raises
    AggregateNotFound, or AggregateNameExists when renaming onto a live
    aggregate's name.
    """
    checked = _query.check_values(
        models.Aggregate, values, ignore=("metadata",)
    )
    if "name" in checked and checked["name"] is None:
        raise exception.InvalidInput(reason="an aggregate needs a name")
    metadata = values.get("metadata")
    checked_metadata = None if metadata is None else _check_metadata(
        metadata
    )

    with _session.writer() as session:
        aggregate = _aggregate_get(
            session, context, aggregate_id, "no", for_update=True
        )
        name_exists = _name_exists(checked.get("name"))
        with _session.savepoint(session, duplicate=name_exists):
            for key, value in checked.items():
                setattr(aggregate, key, value)
        if checked_metadata is not None:
            _metadata_add(session, aggregate.id, checked_metadata, True)
        return _aggregate_row(session, aggregate.id)
