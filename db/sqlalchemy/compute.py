"""Services, compute nodes, host aggregates and migrations.

All of these manage the fleet itself, so nearly every function needs an
admin context; ``compute_node_get`` and ``compute_node_get_by_host`` only
need a valid one, as in the original.

Row shapes:

- a service row carries its columns; ``service_get`` and
  ``service_get_all_compute_by_host`` add ``compute_node``, the list of the
  service's live compute node rows.
- a compute node row carries ``service`` (the live service row, or None)
  and ``stats``, a list of rows with ``key`` and ``value`` (strings).
- an aggregate row carries ``hosts`` (a list of host names) and
  ``metadetails`` (a dict of its metadata).

Deliberate departures from the original, each pinned by a test in
``tests/db/test_compute.py``:

- ``service_update`` returns the updated row (the original returned None).
- ``service_get_all_{compute,volume}_sorted`` order by the coalesced sum,
  so a host without instances or volumes sorts as 0 on every dialect.
- ``compute_node_update`` without a ``stats`` key leaves the stats alone,
  even with ``prune_stats``; it always moves ``updated_at``.
- ``compute_node_search_by_hypervisor`` matches the caller's text
  literally (``%`` and ``_`` are not wildcards), ignoring case everywhere.
- ``aggregate_create`` writes the metadata in the same transaction;
  ``aggregate_delete`` also deletes the aggregate's hosts and metadata, so
  a revived aggregate starts empty.
- ``aggregate_metadata_get_by_host`` with ``key`` returns only that key,
  as a plain dict (missing keys raise KeyError, not an empty set).
- ``migration_get_by_instance_and_status`` returns the newest match;
  ``migration_get_unconfirmed_by_dest_compute`` uses ``created_at`` for a
  row that was never updated.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sqlalchemy import Select, and_, exists, false, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, selectinload

from db import exception, options
from db.rows import Row
from db.sqlalchemy import _auth, _query, _session, models
from db.sqlalchemy.types import utcnow

LOG = logging.getLogger(__name__)
CONF = options.CONF

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
    "compute_node_create",
    "compute_node_get",
    "compute_node_get_all",
    "compute_node_get_by_host",
    "compute_node_search_by_hypervisor",
    "compute_node_statistics",
    "compute_node_update",
    "migration_create",
    "migration_get",
    "migration_get_by_instance_and_status",
    "migration_get_unconfirmed_by_dest_compute",
    "migration_update",
    "service_create",
    "service_destroy",
    "service_get",
    "service_get_all",
    "service_get_all_by_host",
    "service_get_all_by_topic",
    "service_get_all_compute_by_host",
    "service_get_all_compute_sorted",
    "service_get_all_volume_sorted",
    "service_get_by_args",
    "service_get_by_host_and_topic",
    "service_update",
]

_COMPUTE_TOPIC = "compute"
_VOLUME_TOPIC = "volume"


# --------------------------------------------------------------------------
# Shared helpers


def _int_id(value: Any) -> int:
    """Return ``value`` as an integer id, or raise InvalidID."""
    if isinstance(value, bool):
        raise exception.InvalidID(id=value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise exception.InvalidID(id=value)


def _require_str(value: Any, name: str) -> str:
    """Return ``value`` if it is a string, else raise InvalidInput."""
    if not isinstance(value, str):
        raise exception.InvalidInput(
            reason=f"{name} must be a string, not {type(value).__name__}"
        )
    return value


@contextlib.contextmanager
def _savepoint(
    session: Session,
    duplicate: Callable[[], Exception] | None = None,
    missing: Callable[[], Exception] | None = None,
) -> Iterator[None]:
    """Run a block and flush it in a savepoint, naming its failures.

    A unique violation raises ``duplicate()`` and a foreign key violation
    ``missing()``, when given; the savepoint's rollback leaves the rest of
    the call's transaction intact.  Other errors propagate unchanged.
    """
    try:
        with session.begin_nested():
            yield
            session.flush()
    except sa_exc.IntegrityError as exc:
        error = _session.translate(exc)
        if duplicate and isinstance(error, exception.DBDuplicateEntry):
            raise duplicate() from None
        if missing and isinstance(error, exception.DBReferenceError):
            raise missing() from None
        raise


def _first(session: Session, stmt: Select) -> Any:
    """Return the first ORM object ``stmt`` selects, or None."""
    return session.scalars(stmt.limit(1)).first()


# --------------------------------------------------------------------------
# Services


def _service_stmt(context, read_deleted: str | None = None) -> Select:
    return _query.model_query(
        context, models.Service, read_deleted=read_deleted
    ).order_by(models.Service.id)


def _enabled_service_stmt(context) -> Select:
    """Live, enabled services: the ones the scheduler may pick."""
    return _service_stmt(context, read_deleted="no").where(
        models.Service.disabled == false()
    )


def _service_get_for_update(session: Session, context,
                            service_id: Any) -> models.Service:
    """Lock and return a live service, or raise ServiceNotFound.

    The row lock makes a concurrent writer of the same service wait and
    then see this call's outcome (e.g. a second destroy finds nothing).
    """
    service_id = _int_id(service_id)
    stmt = (
        _service_stmt(context, "no")
        .where(models.Service.id == service_id)
        .with_for_update()
    )
    service = _first(session, stmt)
    if service is None:
        raise exception.ServiceNotFound(service_id=service_id)
    return service


@_auth.require_admin_context
def service_create(context, values: Mapping[str, Any]) -> Row:
    """Create a service row from ``values`` and return it.

    When ``enable_new_services`` is False the service starts disabled,
    whatever ``values`` says.
    """
    checked = _query.check_values(models.Service, values)
    if not CONF.enable_new_services:
        checked["disabled"] = True

    with _session.writer() as session:
        service = models.Service(**checked)
        session.add(service)
        session.flush()
        return _query.to_row(service)


@_auth.require_admin_context
def service_destroy(context, instance_id: Any) -> None:
    """Soft-delete the service whose id is ``instance_id``.

    The parameter keeps the spec's (misleading) name: it is the *service*
    id.  A compute service takes its compute nodes with it.  Raises
    ServiceNotFound for an unknown or already deleted service.
    """
    with _session.writer() as session:
        service = _service_get_for_update(session, context, instance_id)
        _query.soft_delete(service)
        if service.topic == _COMPUTE_TOPIC:
            count = _query.soft_delete_where(
                session,
                models.ComputeNode,
                models.ComputeNode.service_id == service.id,
            )
            LOG.debug(
                "Deleted service %d with %d compute nodes", service.id, count
            )


@_auth.require_admin_context
def service_get(context, service_id: Any) -> Row:
    """Return the service with its live ``compute_node`` rows.

    Follows the context's ``read_deleted``; raises ServiceNotFound.
    """
    service_id = _int_id(service_id)
    stmt = (
        _service_stmt(context)
        .where(models.Service.id == service_id)
        .options(selectinload(models.Service.compute_node))
    )
    with _session.reader() as session:
        service = _first(session, stmt)
        if service is None:
            raise exception.ServiceNotFound(service_id=service_id)
        return _query.to_row(service, "compute_node")


@_auth.require_admin_context
def service_get_all(context, disabled: bool | None = None) -> list[Row]:
    """Return every service, or only the (not) disabled ones.

    Follows the context's ``read_deleted``.
    """
    stmt = _service_stmt(context)
    if disabled is not None:
        if not isinstance(disabled, bool):
            raise exception.InvalidInput(
                reason=f"disabled must be a boolean, not {disabled!r}"
            )
        stmt = stmt.where(models.Service.disabled == disabled)

    with _session.reader() as session:
        return _query.to_rows(session.scalars(stmt))


@_auth.require_admin_context
def service_get_all_by_host(context, host: str) -> list[Row]:
    """Return the live services of ``host``, disabled ones included."""
    stmt = _service_stmt(context, "no").where(models.Service.host == host)
    with _session.reader() as session:
        return _query.to_rows(session.scalars(stmt))


@_auth.require_admin_context
def service_get_all_by_topic(context, topic: str) -> list[Row]:
    """Return the live, enabled services listening on ``topic``."""
    stmt = _enabled_service_stmt(context).where(
        models.Service.topic == topic
    )
    with _session.reader() as session:
        return _query.to_rows(session.scalars(stmt))


@_auth.require_admin_context
def service_get_all_compute_by_host(context, host: str) -> list[Row]:
    """Return the live compute services of ``host`` with their nodes.

    Disabled services are included.  Raises ComputeHostNotFound when the
    host has none.
    """
    stmt = (
        _service_stmt(context, "no")
        .where(
            models.Service.host == host,
            models.Service.topic == _COMPUTE_TOPIC,
        )
        .options(selectinload(models.Service.compute_node))
    )
    with _session.reader() as session:
        rows = _query.to_rows(session.scalars(stmt), "compute_node")
    if not rows:
        raise exception.ComputeHostNotFound(host=host)
    return rows


def _services_sorted(context, topic: str, usage_col) -> list[tuple]:
    """List live enabled services of ``topic`` by their hosts' usage.

    ``usage_col`` is the column summed over the host's live rows of its
    table.  Returns ``(service_row, total)`` tuples, least used first,
    ties by service id; a host without rows counts 0.
    """
    table = usage_col.class_
    usage = (
        select(table.host.label("host"), func.sum(usage_col).label("total"))
        .where(table.deleted == 0)
        .group_by(table.host)
        .subquery()
    )
    total = func.coalesce(usage.c.total, 0)
    stmt = (
        _enabled_service_stmt(context)
        .add_columns(total)
        .outerjoin(usage, models.Service.host == usage.c.host)
        .where(models.Service.topic == topic)
        .order_by(None)
        .order_by(total, models.Service.id)
    )

    with _session.reader() as session:
        return [
            (_query.to_row(service), int(count))
            for service, count in session.execute(stmt)
        ]


@_auth.require_admin_context
def service_get_all_compute_sorted(context) -> list[tuple]:
    """Return ``(service, vcpus in use)`` tuples, least loaded first.

    Covers live, enabled compute services; the count is the sum of the
    ``vcpus`` of the live instances on the service's host (0 if none).
    """
    return _services_sorted(context, _COMPUTE_TOPIC, models.Instance.vcpus)


@_auth.require_admin_context
def service_get_all_volume_sorted(context) -> list[tuple]:
    """Return ``(service, GB allocated)`` tuples, least loaded first.

    Covers live, enabled volume services; the count is the sum of the
    ``size`` of the live volumes on the service's host (0 if none).
    """
    return _services_sorted(context, _VOLUME_TOPIC, models.Volume.size)


@_auth.require_admin_context
def service_get_by_args(context, host: str, binary: str) -> Row:
    """Return the service running ``binary`` on ``host``.

    Follows the context's ``read_deleted``; raises HostBinaryNotFound.
    """
    stmt = _service_stmt(context).where(
        models.Service.host == host, models.Service.binary == binary
    )
    with _session.reader() as session:
        service = _first(session, stmt)
        if service is None:
            raise exception.HostBinaryNotFound(host=host, binary=binary)
        return _query.to_row(service)


@_auth.require_admin_context
def service_get_by_host_and_topic(context, host: str, topic: str) -> Row:
    """Return the live, enabled ``topic`` service of ``host``, or None."""
    stmt = _enabled_service_stmt(context).where(
        models.Service.host == host, models.Service.topic == topic
    )
    with _session.reader() as session:
        return _query.to_row(_first(session, stmt))


@_auth.require_admin_context
def service_update(context, service_id: Any, values: Mapping) -> Row:
    """Set ``values`` on a live service and return the updated row.

    The original returned None; returning the row saves the caller a
    read.  Raises ServiceNotFound.
    """
    checked = _query.check_values(models.Service, values)
    with _session.writer() as session:
        service = _service_get_for_update(session, context, service_id)
        for key, value in checked.items():
            setattr(service, key, value)
        session.flush()
        return _query.to_row(service)


# --------------------------------------------------------------------------
# Compute nodes

_NODE_LOADS = (
    selectinload(models.ComputeNode.service),
    selectinload(models.ComputeNode.stats),
)


def _node_stmt(context, read_deleted: str | None = None) -> Select:
    return (
        _query.model_query(
            context, models.ComputeNode, read_deleted=read_deleted
        )
        .options(*_NODE_LOADS)
        .order_by(models.ComputeNode.id)
    )


def _node_rows(session: Session, stmt: Select) -> list[Row]:
    return _query.to_rows(session.scalars(stmt), "service", "stats")


def _node_row(session: Session, node_id: int) -> Row:
    """Read a node afresh (after writes in this session) as a row."""
    stmt = (
        select(models.ComputeNode)
        .where(models.ComputeNode.id == node_id)
        .options(*_NODE_LOADS)
        .execution_options(populate_existing=True)
    )
    return _query.to_row(session.scalars(stmt).one(), "service", "stats")


def _check_stats(values: Mapping[str, Any]) -> dict[str, Any] | None:
    """Return the checked ``stats`` of ``values``, or None if absent."""
    if not isinstance(values, Mapping):
        raise exception.InvalidInput(
            reason=f"values must be a dict, not {type(values).__name__}"
        )
    stats = values.get("stats")
    if stats is None:
        return None
    if not isinstance(stats, Mapping):
        raise exception.InvalidValue(
            column="compute_nodes.stats",
            reason=f"expected a dict, got {type(stats).__name__}",
        )
    checked = {}
    for key, value in stats.items():
        pair = _query.check_values(
            models.ComputeNodeStat, {"key": key, "value": value}
        )
        checked[pair["key"]] = pair["value"]
    return checked


def _update_stats(session: Session, node_id: int, stats: Mapping[str, Any],
                  prune: bool) -> None:
    """Set ``stats`` on a node: update, add, and prune untouched keys."""
    stmt = (
        select(models.ComputeNodeStat)
        .where(
            models.ComputeNodeStat.compute_node_id == node_id,
            models.ComputeNodeStat.deleted == 0,
        )
        .order_by(models.ComputeNodeStat.id)
    )
    current: dict[str, models.ComputeNodeStat] = {}
    for stat in session.scalars(stmt):
        if stat.key in current:
            # A duplicate key can only come from a race: keep the oldest.
            _query.soft_delete(stat)
        else:
            current[stat.key] = stat

    for key, value in stats.items():
        stat = current.pop(key, None)
        if stat is None:
            session.add(models.ComputeNodeStat(
                compute_node_id=node_id, key=key, value=value
            ))
        elif stat.value != value:
            stat.value = value

    if prune:
        for stat in current.values():
            _query.soft_delete(stat)


@_auth.require_admin_context
def compute_node_create(context, values: Mapping[str, Any]) -> Row:
    """Create a compute node and return it with ``service`` and ``stats``.

    ``values["stats"]``, a dict, becomes one stat row per key (values are
    stored as strings).  Raises ServiceNotFound for an unknown
    ``service_id``.
    """
    stats = _check_stats(values) or {}
    checked = _query.check_values(
        models.ComputeNode, values, ignore=("stats",)
    )

    with _session.writer() as session:
        node = models.ComputeNode(**checked)
        with _savepoint(
            session,
            missing=lambda: exception.ServiceNotFound(
                service_id=checked.get("service_id")
            ),
        ):
            session.add(node)
        _update_stats(session, node.id, stats, prune=False)
        session.flush()
        return _node_row(session, node.id)


@_auth.require_context
def compute_node_get(context, compute_id: Any) -> Row:
    """Return a compute node with its ``service`` and ``stats``.

    Follows the context's ``read_deleted``.  Raises
    ``ComputeHostNotFound(host=compute_id)``, as the original did.
    """
    compute_id = _int_id(compute_id)
    stmt = _node_stmt(context).where(models.ComputeNode.id == compute_id)
    with _session.reader() as session:
        rows = _node_rows(session, stmt.limit(1))
    if not rows:
        raise exception.ComputeHostNotFound(host=compute_id)
    return rows[0]


@_auth.require_admin_context
def compute_node_get_all(context) -> list[Row]:
    """Return every compute node (per ``read_deleted``), by id."""
    with _session.reader() as session:
        return _node_rows(session, _node_stmt(context))


@_auth.require_context
def compute_node_get_by_host(context, host: str) -> Row | None:
    """Return the first live node whose live service runs on ``host``.

    Returns None when there is none.
    """
    stmt = (
        _node_stmt(context, "no")
        .join(models.ComputeNode.service)
        .where(models.Service.host == host)
        .limit(1)
    )
    with _session.reader() as session:
        rows = _node_rows(session, stmt)
    return rows[0] if rows else None


@_auth.require_admin_context
def compute_node_search_by_hypervisor(context,
                                      hypervisor_match: str) -> list[Row]:
    """Return live nodes whose hypervisor hostname contains the text.

    The text is matched literally and without regard to case: ``%`` and
    ``_`` are not wildcards.
    """
    match = _require_str(hypervisor_match, "hypervisor_match")
    stmt = _node_stmt(context, "no").where(
        models.ComputeNode.hypervisor_hostname.icontains(
            match, autoescape=True
        )
    )
    with _session.reader() as session:
        return _node_rows(session, stmt)


_STAT_FIELDS = (
    "vcpus",
    "memory_mb",
    "local_gb",
    "vcpus_used",
    "memory_mb_used",
    "local_gb_used",
    "free_ram_mb",
    "free_disk_gb",
    "current_workload",
    "running_vms",
    "disk_available_least",
)


@_auth.require_admin_context
def compute_node_statistics(context) -> dict[str, int]:
    """Return ``count`` and the sum of each capacity field of live nodes.

    Every value is an int; an empty fleet gives zeros, not None.
    """
    node = models.ComputeNode
    columns = [func.count(node.id)] + [
        func.sum(getattr(node, field)) for field in _STAT_FIELDS
    ]
    stmt = _query.model_query(context, node, *columns, read_deleted="no")

    with _session.reader() as session:
        result = session.execute(stmt).one()
    return {
        field: int(value or 0)
        for field, value in zip(("count", *_STAT_FIELDS), result,
                                strict=True)
    }


@_auth.require_admin_context
def compute_node_update(context, compute_id: Any, values: Mapping[str, Any],
                        prune_stats: bool = False) -> Row:
    """Set ``values`` on a live compute node and return it.

    ``values["stats"]`` updates the stats of the keys it names and adds
    new ones; with ``prune_stats`` the keys it does not name are deleted.
    Without a ``stats`` key the stats are left alone.  ``updated_at``
    moves on every call (the node reports through it).  Raises
    ComputeHostNotFound.
    """
    compute_id = _int_id(compute_id)
    stats = _check_stats(values)
    checked = _query.check_values(
        models.ComputeNode, values, ignore=("stats",)
    )

    with _session.writer() as session:
        # The row lock serialises updates of one node, so two reports
        # cannot both add the same new stat key.
        stmt = (
            _node_stmt(context, "no")
            .where(models.ComputeNode.id == compute_id)
            .with_for_update()
        )
        node = _first(session, stmt)
        if node is None:
            raise exception.ComputeHostNotFound(host=compute_id)
        for key, value in checked.items():
            setattr(node, key, value)
        node.updated_at = checked.get("updated_at") or utcnow()
        if stats is not None:
            _update_stats(session, node.id, stats, bool(prune_stats))
        session.flush()
        return _node_row(session, node.id)


# --------------------------------------------------------------------------
# Aggregates

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
    aggregate_id = _int_id(aggregate_id)
    stmt = _aggregate_stmt(context, read_deleted).where(
        models.Aggregate.id == aggregate_id
    )
    if for_update:
        stmt = stmt.with_for_update()
    aggregate = _first(session, stmt)
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
    if not isinstance(metadata, Mapping):
        raise exception.InvalidInput(
            reason=f"metadata must be a dict, not {type(metadata).__name__}"
        )
    checked = {}
    for key, value in metadata.items():
        pair = _query.check_values(
            models.AggregateMetadata, {"key": key, "value": value}
        )
        checked[pair["key"]] = pair["value"]
    return checked


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
    aggregate = _first(session, dead_stmt)
    with _savepoint(session, duplicate=_name_exists(name)):
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
        with _savepoint(session):
            session.add(models.AggregateMetadata(
                aggregate_id=aggregate_id, key=key, value=value
            ))
    except sa_exc.IntegrityError as exc:
        error = _session.translate(exc)
        if not isinstance(error, exception.DBDuplicateEntry):
            raise
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
    host = _require_str(host, "host")
    with _session.writer() as session:
        aggregate = _aggregate_get(
            session, context, aggregate_id, "no", for_update=True
        )
        member = _first(session, (
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
        with _savepoint(session, duplicate=exists_error):
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
        with _savepoint(session, duplicate=_name_exists(checked.get("name"))):
            for key, value in checked.items():
                setattr(aggregate, key, value)
        if checked_metadata is not None:
            _metadata_add(session, aggregate.id, checked_metadata, True)
        return _aggregate_row(session, aggregate.id)


# --------------------------------------------------------------------------
# Migrations


def _migration_get(session: Session, context,
                   migration_id: Any) -> models.Migration:
    """Return a migration, deleted or not, or raise MigrationNotFound."""
    migration_id = _int_id(migration_id)
    stmt = _query.model_query(
        context, models.Migration, read_deleted="yes"
    ).where(models.Migration.id == migration_id)
    migration = _first(session, stmt)
    if migration is None:
        raise exception.MigrationNotFound(migration_id=migration_id)
    return migration


@_auth.require_admin_context
def migration_create(context, values: Mapping[str, Any]) -> Row:
    """Record a migration and return it.

    Raises InstanceNotFound if ``instance_uuid`` names no instance.
    """
    checked = _query.check_values(models.Migration, values)
    with _session.writer() as session:
        migration = models.Migration(**checked)
        with _savepoint(
            session,
            missing=lambda: exception.InstanceNotFound(
                instance_id=checked.get("instance_uuid")
            ),
        ):
            session.add(migration)
        return _query.to_row(migration)


@_auth.require_admin_context
def migration_get(context, migration_id: Any) -> Row:
    """Return a migration, deleted ones included.

    Raises MigrationNotFound.
    """
    with _session.reader() as session:
        return _query.to_row(_migration_get(session, context, migration_id))


@_auth.require_admin_context
def migration_get_by_instance_and_status(context, instance_uuid: str,
                                         status: str) -> Row:
    """Return the newest migration of an instance in ``status``.

    Follows ``read_deleted``.  Raises ``MigrationNotFoundByStatus``
    (with ``instance_id`` set to the uuid).
    """
    stmt = (
        _query.model_query(context, models.Migration)
        .where(
            models.Migration.instance_uuid == instance_uuid,
            models.Migration.status == status,
        )
        .order_by(models.Migration.id.desc())
    )
    with _session.reader() as session:
        migration = _first(session, stmt)
        if migration is None:
            raise exception.MigrationNotFoundByStatus(
                instance_id=instance_uuid, status=status
            )
        return _query.to_row(migration)


def _window_start(confirm_window: Any) -> datetime.datetime:
    """Return now minus ``confirm_window`` seconds."""
    if isinstance(confirm_window, bool) or not isinstance(
        confirm_window, (int, float)
    ):
        raise exception.InvalidInput(
            reason=f"confirm_window must be a number of seconds, not "
            f"{confirm_window!r}"
        )
    return utcnow() - datetime.timedelta(seconds=confirm_window)


@_auth.require_admin_context
def migration_get_unconfirmed_by_dest_compute(
    context, confirm_window: int, dest_compute: str
) -> list[Row]:
    """Return ``finished`` migrations to ``dest_compute`` left unconfirmed.

    A migration qualifies when its last change is at least
    ``confirm_window`` seconds old.  The last change is ``updated_at``,
    or ``created_at`` for a row never updated (the original skipped
    those).  Follows ``read_deleted``; ordered by id.
    """
    cutoff = _window_start(confirm_window)
    changed = func.coalesce(
        models.Migration.updated_at, models.Migration.created_at
    )
    stmt = (
        _query.model_query(context, models.Migration)
        .where(
            changed <= cutoff,
            models.Migration.status == "finished",
            models.Migration.dest_compute == dest_compute,
        )
        .order_by(models.Migration.id)
    )
    with _session.reader() as session:
        return _query.to_rows(session.scalars(stmt))


@_auth.require_admin_context
def migration_update(context, id: Any, values: Mapping[str, Any]) -> Row:
    """Set ``values`` on a migration and return the updated row.

    Finds the row as ``migration_get`` does; raises MigrationNotFound, or
    InstanceNotFound for an unknown ``instance_uuid``.
    """
    checked = _query.check_values(models.Migration, values)
    with _session.writer() as session:
        migration = _migration_get(session, context, id)
        with _savepoint(
            session,
            missing=lambda: exception.InstanceNotFound(
                instance_id=checked.get("instance_uuid")
            ),
        ):
            for key, value in checked.items():
                setattr(migration, key, value)
        return _query.to_row(migration)
