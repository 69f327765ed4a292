"""Services, compute nodes and migrations.

All of these manage the fleet itself, so nearly every function needs an
admin context; ``compute_node_get`` and ``compute_node_get_by_host`` only
need a valid one, as in the original.  Host aggregates live in
``aggregates.py``.

Row shapes:

- a service row carries its columns; ``service_get`` and
  ``service_get_all_compute_by_host`` add ``compute_node``, the list of the
  service's live compute node rows.
- a compute node row carries ``service`` (the live service row, or None)
  and ``stats``, a list of rows with ``key`` and ``value`` (strings).

Deliberate departures from the original, each pinned by a test in
``tests/db/test_compute.py``:

- ``service_update`` returns the updated row (the original returned None).
- ``service_get_all_{compute,volume}_sorted`` order by the coalesced sum,
  so a host without instances or volumes sorts as 0 on every dialect.
- ``compute_node_update`` without a ``stats`` key leaves the stats alone,
  even with ``prune_stats``; it always moves ``updated_at``.
- ``compute_node_search_by_hypervisor`` matches the caller's text
  literally (``%`` and ``_`` are not wildcards), ignoring case everywhere.
- ``migration_get_by_instance_and_status`` returns the newest match;
  ``migration_get_unconfirmed_by_dest_compute`` uses ``created_at`` for a
  row that was never updated.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, false, func, select
from sqlalchemy.orm import Session, selectinload

from db import exception, options
from db.rows import Row
from db.sqlalchemy import _auth, _query, _session, models
from db.sqlalchemy.types import utcnow

LOG = logging.getLogger(__name__)
CONF = options.CONF

__all__ = [
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
    service_id = _query.int_id(service_id)
    stmt = (
        _service_stmt(context, "no")
        .where(models.Service.id == service_id)
        .with_for_update()
    )
    service = _query.first(session, stmt)
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
    service_id = _query.int_id(service_id)
    stmt = (
        _service_stmt(context)
        .where(models.Service.id == service_id)
        .options(selectinload(models.Service.compute_node))
    )
    with _session.reader() as session:
        service = _query.first(session, stmt)
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
        service = _query.first(session, stmt)
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
        return _query.to_row(_query.first(session, stmt))


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
    _query.require_dict(values)
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
        with _session.savepoint(
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
    compute_id = _query.int_id(compute_id)
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
    match = _query.require_str(hypervisor_match, "hypervisor_match")
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
    compute_id = _query.int_id(compute_id)
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
        node = _query.first(session, stmt)
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
# Migrations


def _migration_get(session: Session, context,
                   migration_id: Any) -> models.Migration:
    """Return a migration, deleted or not, or raise MigrationNotFound."""
    migration_id = _query.int_id(migration_id)
    stmt = _query.model_query(
        context, models.Migration, read_deleted="yes"
    ).where(models.Migration.id == migration_id)
    migration = _query.first(session, stmt)
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
        with _session.savepoint(
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
        migration = _query.first(session, stmt)
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
        with _session.savepoint(
            session,
            missing=lambda: exception.InstanceNotFound(
                instance_id=checked.get("instance_uuid")
            ),
        ):
            for key, value in checked.items():
                setattr(migration, key, value)
        return _query.to_row(migration)
