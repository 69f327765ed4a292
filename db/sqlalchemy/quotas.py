"""Quotas, quota classes, quota usages and reservations.

Four tables work together:

- ``quotas`` holds a project's hard limit per resource, ``quota_classes``
  the limits of a named class of projects.  A negative limit means
  unlimited.
- ``quota_usages`` holds, per project and resource, what is ``in_use`` and
  what is ``reserved`` by pending reservations.  ``until_refresh`` counts
  reservations down to the next resynchronisation of ``in_use``.
- ``reservations`` are pending changes (``delta``) against one usage, each
  with an ``expire`` time.

:func:`quota_reserve` checks deltas against limits and writes
reservations; :func:`reservation_commit` moves them into ``in_use``,
:func:`reservation_rollback` and :func:`reservation_expire` release them.
Each runs in one transaction that locks the project's usage rows first and
the reservations second (``SELECT ... FOR UPDATE`` on PostgreSQL and MySQL;
SQLite's writer holds the database's single write lock), so concurrent
callers serialise per project and never deadlock on each other's order.

All the getters read live rows only, whatever the context's
``read_deleted``.
"""

from __future__ import annotations

import logging
import uuid as uuid_lib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import exception
from db.sqlalchemy import _auth, _query, _session, models
from db.sqlalchemy.types import as_utc, utcnow

LOG = logging.getLogger(__name__)

__all__ = [
    "quota_class_create",
    "quota_class_destroy",
    "quota_class_destroy_all_by_name",
    "quota_class_get",
    "quota_class_get_all_by_name",
    "quota_class_update",
    "quota_create",
    "quota_destroy",
    "quota_destroy_all_by_project",
    "quota_get",
    "quota_get_all_by_project",
    "quota_reserve",
    "quota_update",
    "quota_usage_create",
    "quota_usage_destroy",
    "quota_usage_get",
    "quota_usage_get_all_by_project",
    "quota_usage_update",
    "reservation_commit",
    "reservation_create",
    "reservation_destroy",
    "reservation_expire",
    "reservation_get",
    "reservation_get_all_by_project",
    "reservation_rollback",
]

#: A sync: ``sync(elevated_context, project_id) -> {resource: in_use}``.
_Sync = Callable[[Any, str], Mapping[str, int]]


# --------------------------------------------------------------------------
# Input checks (all of them run before anything is written)


def _check_key(value: Any, name: str) -> str:
    """Return ``value`` if it is a usable name (project, resource...)."""
    _query.require_text(value, name)
    if len(value) > 255:
        raise exception.InvalidInput(
            reason=f"{name} is longer than 255 characters"
        )
    return value


def _check_int(value: Any, name: str, minimum: int | None = None) -> int:
    """Return ``value`` if it is an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise exception.InvalidValue(
            column=name, reason=f"expected an integer, got {value!r}"
        )
    if minimum is not None and value < minimum:
        raise exception.InvalidValue(
            column=name, reason=f"must be at least {minimum}, got {value}"
        )
    return value


def _check_optional_int(value: Any, name: str) -> int | None:
    """Return None for None or 0, else a positive integer."""
    if value is None:
        return None
    return _check_int(value, name, minimum=0) or None


def _check_int_map(values: Any, name: str) -> dict[str, int]:
    """Return ``values`` as a dict if it maps names to integers."""
    _query.require_dict(values, name)
    return {
        _check_key(key, f"{name} key"): _check_int(value, f"{name}[{key}]")
        for key, value in values.items()
    }


def _check_uuids(values: Any, name: str) -> list[str]:
    """Return ``values`` as a list of uuid strings."""
    if isinstance(values, (str, bytes)) or not isinstance(
        values, Iterable
    ):
        raise exception.InvalidInput(
            reason=f"{name} must be a list of uuids, not {values!r}"
        )
    return [_query.validate_uuid(value) for value in values]


# --------------------------------------------------------------------------
# Project quotas and quota classes share the shape "owner, resource, limit"


def _limit_query(model, owner_column, owner: str, resource: str | None):
    stmt = _query.model_query(None, model, read_deleted="no").where(
        owner_column == owner
    )
    if resource is not None:
        stmt = stmt.where(model.resource == resource)
    return stmt.order_by(model.id)


def _project_quota(session: Session, project_id: str, resource: str):
    stmt = _limit_query(
        models.Quota, models.Quota.project_id, project_id, resource
    )
    quota = session.scalars(stmt).first()
    if quota is None:
        raise exception.ProjectQuotaNotFound(project_id=project_id)
    return quota


def _class_quota(session: Session, class_name: str, resource: str):
    stmt = _limit_query(
        models.QuotaClass, models.QuotaClass.class_name, class_name, resource
    )
    quota = session.scalars(stmt).first()
    if quota is None:
        raise exception.QuotaClassNotFound(class_name=class_name)
    return quota


def _insert_limit(session: Session, obj: models.Base, owner: str) -> None:
    _session.insert(
        session,
        obj,
        duplicate=lambda: exception.QuotaExists(
            resource=obj.resource, owner=owner
        ),
    )


@_auth.require_context
def quota_get(context, project_id, resource):
    """Return the project's quota row for ``resource``.

    Raises ProjectQuotaNotFound when the project has no live quota for it;
    a user context may only read its own project's quotas.
    """
    _check_key(project_id, "project_id")
    _check_key(resource, "resource")
    _auth.authorize_project_context(context, project_id)

    with _session.reader() as session:
        return _query.to_row(_project_quota(session, project_id, resource))


@_auth.require_context
def quota_get_all_by_project(context, project_id):
    """Return ``{'project_id': project_id, resource: hard_limit, ...}``."""
    _check_key(project_id, "project_id")
    _auth.authorize_project_context(context, project_id)

    with _session.reader() as session:
        stmt = _limit_query(
            models.Quota, models.Quota.project_id, project_id, None
        )
        result: dict[str, Any] = {"project_id": project_id}
        for quota in session.scalars(stmt):
            result[quota.resource] = quota.hard_limit
        return result


@_auth.require_admin_context
def quota_create(context, project_id, resource, limit):
    """Create the project's quota for ``resource`` and return it.

    Raises QuotaExists if the project already has a live quota for the
    resource.  A negative ``limit`` means unlimited.
    """
    quota = models.Quota(
        project_id=_check_key(project_id, "project_id"),
        resource=_check_key(resource, "resource"),
        hard_limit=_check_int(limit, "quotas.hard_limit"),
    )

    with _session.writer() as session:
        _insert_limit(session, quota, project_id)
        return _query.to_row(quota)


@_auth.require_admin_context
def quota_update(context, project_id, resource, limit):
    """Set the project's limit for ``resource``; return the quota row.

    Raises ProjectQuotaNotFound when there is no such quota.
    """
    _check_key(project_id, "project_id")
    _check_key(resource, "resource")
    _check_int(limit, "quotas.hard_limit")

    with _session.writer() as session:
        quota = _project_quota(session, project_id, resource)
        quota.hard_limit = limit
        session.flush()
        return _query.to_row(quota)


@_auth.require_admin_context
def quota_destroy(context, project_id, resource):
    """Soft-delete the project's quota for ``resource``.

    Raises ProjectQuotaNotFound when there is no such quota.
    """
    _check_key(project_id, "project_id")
    _check_key(resource, "resource")

    with _session.writer() as session:
        _query.soft_delete(_project_quota(session, project_id, resource))


@_auth.require_context
def quota_class_get(context, class_name, resource):
    """Return the quota class row of ``class_name`` for ``resource``.

    Raises QuotaClassNotFound; a user context may only read the quota
    class it belongs to.
    """
    _check_key(class_name, "class_name")
    _check_key(resource, "resource")
    _auth.authorize_quota_class_context(context, class_name)

    with _session.reader() as session:
        return _query.to_row(_class_quota(session, class_name, resource))


@_auth.require_context
def quota_class_get_all_by_name(context, class_name):
    """Return ``{'class_name': class_name, resource: hard_limit, ...}``."""
    _check_key(class_name, "class_name")
    _auth.authorize_quota_class_context(context, class_name)

    with _session.reader() as session:
        stmt = _limit_query(
            models.QuotaClass, models.QuotaClass.class_name, class_name, None
        )
        result: dict[str, Any] = {"class_name": class_name}
        for quota in session.scalars(stmt):
            result[quota.resource] = quota.hard_limit
        return result


@_auth.require_admin_context
def quota_class_create(context, class_name, resource, limit):
    """Create the limit of ``class_name`` for ``resource`` and return it.

    Raises QuotaExists if the class already has a live limit for it.
    """
    quota = models.QuotaClass(
        class_name=_check_key(class_name, "class_name"),
        resource=_check_key(resource, "resource"),
        hard_limit=_check_int(limit, "quota_classes.hard_limit"),
    )

    with _session.writer() as session:
        _insert_limit(session, quota, class_name)
        return _query.to_row(quota)


@_auth.require_admin_context
def quota_class_update(context, class_name, resource, limit):
    """Set the limit of ``class_name`` for ``resource``; return the row.

    Raises QuotaClassNotFound when there is no such limit.
    """
    _check_key(class_name, "class_name")
    _check_key(resource, "resource")
    _check_int(limit, "quota_classes.hard_limit")

    with _session.writer() as session:
        quota = _class_quota(session, class_name, resource)
        quota.hard_limit = limit
        session.flush()
        return _query.to_row(quota)


@_auth.require_admin_context
def quota_class_destroy(context, class_name, resource):
    """Soft-delete the limit of ``class_name`` for ``resource``.

    Raises QuotaClassNotFound when there is no such limit.
    """
    _check_key(class_name, "class_name")
    _check_key(resource, "resource")

    with _session.writer() as session:
        _query.soft_delete(_class_quota(session, class_name, resource))


@_auth.require_admin_context
def quota_class_destroy_all_by_name(context, class_name):
    """Soft-delete every limit of ``class_name`` (none is not an error)."""
    _check_key(class_name, "class_name")

    with _session.writer() as session:
        _query.soft_delete_where(
            session,
            models.QuotaClass,
            models.QuotaClass.class_name == class_name,
        )


@_auth.require_admin_context
def quota_destroy_all_by_project(context, project_id):
    """Soft-delete the project's quotas, usages and reservations.

    The usages are locked first, so a reservation being made or
    committed for the project finishes before (or starts after) this.
    """
    _check_key(project_id, "project_id")

    with _session.writer() as session:
        _lock_usages(session, [project_id])
        for model in (models.Reservation, models.QuotaUsage, models.Quota):
            _query.soft_delete_where(
                session, model, model.project_id == project_id
            )


# --------------------------------------------------------------------------
# Quota usages


def _usage(session: Session, project_id: str, resource: str, lock=False):
    stmt = (
        _query.model_query(None, models.QuotaUsage, read_deleted="no")
        .where(
            models.QuotaUsage.project_id == project_id,
            models.QuotaUsage.resource == resource,
        )
    )
    if lock:
        stmt = stmt.with_for_update()
    usage = session.scalars(stmt).first()
    if usage is None:
        raise exception.QuotaUsageNotFound(project_id=project_id)
    return usage


def _usage_values(in_use: Any, reserved: Any, until_refresh: Any) -> dict:
    return {
        "in_use": _check_int(in_use, "quota_usages.in_use"),
        "reserved": _check_int(reserved, "quota_usages.reserved"),
        "until_refresh": (
            None
            if until_refresh is None
            else _check_int(until_refresh, "quota_usages.until_refresh")
        ),
    }


@_auth.require_context
def quota_usage_get(context, project_id, resource):
    """Return the project's usage row of ``resource``.

    The row also carries ``total`` (in_use + reserved).  Raises
    QuotaUsageNotFound; a user context may only read its own project.
    """
    _check_key(project_id, "project_id")
    _check_key(resource, "resource")
    _auth.authorize_project_context(context, project_id)

    with _session.reader() as session:
        return _query.to_row(_usage(session, project_id, resource))


@_auth.require_context
def quota_usage_get_all_by_project(context, project_id):
    """Return ``{'project_id': p, resource: {'in_use', 'reserved'}}``."""
    _check_key(project_id, "project_id")
    _auth.authorize_project_context(context, project_id)

    with _session.reader() as session:
        stmt = (
            _query.model_query(None, models.QuotaUsage, read_deleted="no")
            .where(models.QuotaUsage.project_id == project_id)
            .order_by(models.QuotaUsage.id)
        )
        result: dict[str, Any] = {"project_id": project_id}
        for usage in session.scalars(stmt):
            result[usage.resource] = {
                "in_use": usage.in_use,
                "reserved": usage.reserved,
            }
        return result


@_auth.require_admin_context
def quota_usage_create(
    context, project_id, resource, in_use, reserved, until_refresh
):
    """Create the project's usage of ``resource`` and return it.

    Raises QuotaUsageExists if the project already has a live usage of
    the resource.  ``until_refresh`` may be None (no countdown).
    """
    usage = models.QuotaUsage(
        project_id=_check_key(project_id, "project_id"),
        resource=_check_key(resource, "resource"),
        **_usage_values(in_use, reserved, until_refresh),
    )

    with _session.writer() as session:
        _session.insert(
            session,
            usage,
            duplicate=lambda: exception.QuotaUsageExists(
                project_id=project_id, resource=resource
            ),
        )
        return _query.to_row(usage)


@_auth.require_admin_context
def quota_usage_update(
    context, project_id, resource, in_use, reserved, until_refresh
):
    """Set all three counters of the project's usage; return the row.

    Raises QuotaUsageNotFound when there is no such usage.
    """
    _check_key(project_id, "project_id")
    _check_key(resource, "resource")
    values = _usage_values(in_use, reserved, until_refresh)

    with _session.writer() as session:
        usage = _usage(session, project_id, resource)
        for key, value in values.items():
            setattr(usage, key, value)
        session.flush()
        return _query.to_row(usage)


@_auth.require_admin_context
def quota_usage_destroy(context, project_id, resource):
    """Soft-delete the project's usage of ``resource``.

    Its pending reservations are soft-deleted with it: without their
    usage they could never be committed or released.  Raises
    QuotaUsageNotFound when there is no such usage.
    """
    _check_key(project_id, "project_id")
    _check_key(resource, "resource")

    with _session.writer() as session:
        # Usage first, then its reservations: the order every writer uses.
        usage = _usage(session, project_id, resource, lock=True)
        _query.soft_delete_where(
            session,
            models.Reservation,
            models.Reservation.usage_id == usage.id,
        )
        _query.soft_delete(usage)


# --------------------------------------------------------------------------
# Reservations (one at a time)


def _reservation(session: Session, uuid: str):
    stmt = _query.model_query(
        None, models.Reservation, read_deleted="no"
    ).where(models.Reservation.uuid == uuid)
    reservation = session.scalars(stmt).first()
    if reservation is None:
        raise exception.ReservationNotFound(uuid=uuid)
    return reservation


def _usage_id(usage: Any) -> int:
    """Return the id of ``usage``: a usage row (dict) or an integer id."""
    if isinstance(usage, Mapping):
        usage = usage.get("id")
    return _check_int(usage, "reservations.usage_id")


@_auth.require_context
def reservation_get(context, uuid):
    """Return the live reservation ``uuid``.

    Raises ReservationNotFound; a user context may only read its own
    project's reservations (NotAuthorized otherwise).
    """
    _query.validate_uuid(uuid)

    with _session.reader() as session:
        reservation = _reservation(session, uuid)
        _auth.authorize_project_context(context, reservation.project_id)
        return _query.to_row(reservation)


@_auth.require_context
def reservation_get_all_by_project(context, project_id):
    """Return the project's pending reservations.

    The shape is ``{'project_id': project_id, resource: {uuid: delta}}``,
    like the other ``*_get_all_by_project`` of quotas.  (The original
    queried the usages table here and could not work.)
    """
    _check_key(project_id, "project_id")
    _auth.authorize_project_context(context, project_id)

    with _session.reader() as session:
        stmt = (
            _query.model_query(None, models.Reservation, read_deleted="no")
            .where(models.Reservation.project_id == project_id)
            .order_by(models.Reservation.id)
        )
        result: dict[str, Any] = {"project_id": project_id}
        for reservation in session.scalars(stmt):
            result.setdefault(reservation.resource, {})[
                reservation.uuid
            ] = reservation.delta
        return result


@_auth.require_admin_context
def reservation_create(
    context, uuid, usage, project_id, resource, delta, expire
):
    """Create one reservation against ``usage`` and return it.

    ``usage`` is the usage row (or its id); it must be the live usage of
    ``project_id`` and ``resource`` (QuotaUsageNotFound otherwise).  The
    usage's ``reserved`` is left alone: :func:`quota_reserve` does that
    accounting.  Raises ReservationExists for a uuid already used.
    """
    reservation = models.Reservation(
        uuid=_query.validate_uuid(uuid),
        usage_id=_usage_id(usage),
        project_id=_check_key(project_id, "project_id"),
        resource=_check_key(resource, "resource"),
        delta=_check_int(delta, "reservations.delta"),
        expire=as_utc(expire),
    )

    with _session.writer() as session:
        if _usage(session, project_id, resource).id != reservation.usage_id:
            raise exception.QuotaUsageNotFound(project_id=project_id)
        _session.insert(
            session,
            reservation,
            duplicate=lambda: exception.ReservationExists(uuid=uuid),
        )
        return _query.to_row(reservation)


@_auth.require_admin_context
def reservation_destroy(context, uuid):
    """Soft-delete the reservation ``uuid`` without touching its usage.

    Raises ReservationNotFound.  To release what it reserved, use
    :func:`reservation_rollback` instead.
    """
    _query.validate_uuid(uuid)

    with _session.writer() as session:
        _query.soft_delete(_reservation(session, uuid))


# --------------------------------------------------------------------------
# Locking: usages first, then reservations


def _lock_usages(
    session: Session, project_ids: Iterable[str]
) -> dict[int, models.QuotaUsage]:
    """Lock and return the live usages of ``project_ids``, by id.

    Rows are locked in id order, the same order every caller uses.
    """
    stmt = (
        select(models.QuotaUsage)
        .where(
            models.QuotaUsage.project_id.in_(sorted(set(project_ids))),
            models.QuotaUsage.deleted == 0,
        )
        .order_by(models.QuotaUsage.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {usage.id: usage for usage in session.scalars(stmt)}


def _lock_reservations(session: Session, *where) -> list:
    """Lock and return the live reservations matching ``where``."""
    stmt = (
        select(models.Reservation)
        .where(models.Reservation.deleted == 0, *where)
        .order_by(models.Reservation.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(stmt))


def _settle(session: Session, context, commit: bool, *where) -> None:
    """Commit or release the live reservations matching ``where``.

    The projects come from the reservations themselves, never from the
    context, so an admin or a service may settle a user's reservations.
    A user context may only settle its own project's (NotAuthorized).
    """
    projects = set(
        session.scalars(
            select(models.Reservation.project_id)
            .where(models.Reservation.deleted == 0, *where)
            .distinct()
        )
    )
    for project_id in projects:
        _auth.authorize_project_context(context, project_id)
    if not projects:
        return

    usages = _lock_usages(session, projects)
    for reservation in _lock_reservations(session, *where):
        usage = usages.get(reservation.usage_id)
        if usage is None:
            LOG.warning(
                "Reservation %s has no live usage; dropping it",
                reservation.uuid,
            )
        else:
            if reservation.delta >= 0:
                usage.reserved -= reservation.delta
            if commit:
                usage.in_use += reservation.delta
        _query.soft_delete(reservation)


@_auth.require_context
@_session.retry_on_deadlock
def reservation_commit(context, reservations):
    """Apply the reservations (a list of uuids) to their usages.

    Each positive delta moves from ``reserved`` to ``in_use``; a negative
    one lowers ``in_use``.  The reservations are then soft-deleted.  Uuids
    that match no live reservation (already committed, rolled back or
    expired) are ignored, so a repeated commit changes nothing.
    """
    uuids = _check_uuids(reservations, "reservations")
    if not uuids:
        return

    with _session.writer() as session:
        _settle(
            session, context, True, models.Reservation.uuid.in_(uuids)
        )


@_auth.require_context
@_session.retry_on_deadlock
def reservation_rollback(context, reservations):
    """Release the reservations (a list of uuids) without applying them.

    Positive deltas leave ``reserved``; the reservations are soft-deleted.
    Unknown or settled uuids are ignored, as in :func:`reservation_commit`.
    """
    uuids = _check_uuids(reservations, "reservations")
    if not uuids:
        return

    with _session.writer() as session:
        _settle(
            session, context, False, models.Reservation.uuid.in_(uuids)
        )


@_auth.require_context
@_session.retry_on_deadlock
def reservation_expire(context):
    """Release every reservation whose ``expire`` time has passed.

    An admin context expires them for every project, a user context only
    for its own project.
    """
    where = [models.Reservation.expire < utcnow()]
    if not context.is_admin:
        where.append(models.Reservation.project_id == context.project_id)

    with _session.writer() as session:
        _settle(session, context, False, *where)


# --------------------------------------------------------------------------
# quota_reserve: resources and their syncs


class _Registered(NamedTuple):
    """A sync the conductor knows by name, and the resources it counts."""

    sync: _Sync
    counts: tuple[str, ...]


def _sqla_api():
    # Imported at call time: db.sqlalchemy.api imports this module.
    from db.sqlalchemy import api as sqla_api

    return sqla_api


def _sync_instances(context, project_id: str) -> dict[str, int]:
    count, cores, ram = _sqla_api().instance_data_get_for_project(
        context=context, project_id=project_id
    )
    return {"instances": count, "cores": cores, "ram": ram}


def _sync_volumes(context, project_id: str) -> dict[str, int]:
    count, gigabytes = _sqla_api().volume_data_get_for_project(
        context=context, project_id=project_id
    )
    return {"volumes": count, "gigabytes": gigabytes}


def _counter(function: str, resource: str) -> _Sync:
    """Return a sync reporting ``resource`` from a ``*_count_by_project``."""

    def sync(context, project_id: str) -> dict[str, int]:
        count = getattr(_sqla_api(), function)(
            context=context, project_id=project_id
        )
        return {resource: count}

    sync.__name__ = f"_sync_{resource}"
    return sync


_INSTANCES = _Registered(_sync_instances, ("instances", "cores", "ram"))
_VOLUMES = _Registered(_sync_volumes, ("volumes", "gigabytes"))

#: Resource name -> the sync that counts it, for callers (such as every
#: caller through the conductor) that name resources instead of passing
#: sync callables.
_RESOURCE_SYNCS: dict[str, _Registered] = {
    "instances": _INSTANCES,
    "cores": _INSTANCES,
    "ram": _INSTANCES,
    "volumes": _VOLUMES,
    "gigabytes": _VOLUMES,
    "floating_ips": _Registered(
        _counter("floating_ip_count_by_project", "floating_ips"),
        ("floating_ips",),
    ),
    "fixed_ips": _Registered(
        _counter("fixed_ip_count_by_project", "fixed_ips"), ("fixed_ips",)
    ),
    "security_groups": _Registered(
        _counter("security_group_count_by_project", "security_groups"),
        ("security_groups",),
    ),
}


def _resolve_resources(resources: Any) -> dict[str, _Sync]:
    """Return ``{resource: sync}`` for the ``resources`` argument."""
    if isinstance(resources, (list, tuple, set, frozenset)):
        resources = {name: name for name in resources}
    if not isinstance(resources, Mapping):
        raise exception.InvalidInput(
            reason="resources must be a dict or a list of names, not "
            f"{type(resources).__name__}"
        )
    syncs: dict[str, _Sync] = {}
    unknown = []
    for name, spec in resources.items():
        _check_key(name, "resource")
        if isinstance(spec, str):
            entry = _RESOURCE_SYNCS.get(spec)
            if entry is None or name not in entry.counts:
                unknown.append(name)
            else:
                syncs[name] = entry.sync
        elif callable(getattr(spec, "sync", None)):
            syncs[name] = spec.sync
        else:
            raise exception.InvalidInput(
                reason=f"resource {name!r} is neither a registered name "
                "nor an object with a sync method"
            )
    if unknown:
        raise exception.QuotaResourceUnknown(unknown=sorted(unknown))
    return syncs


def _check_reserve_args(
    resources: Any, quotas: Any, deltas: Any
) -> tuple[dict[str, _Sync], dict[str, int], dict[str, int]]:
    """Validate what :func:`quota_reserve` got, before it writes."""
    deltas = _check_int_map(deltas, "deltas")
    quotas = _check_int_map(quotas, "quotas")
    syncs = _resolve_resources(resources)

    unknown = sorted(set(deltas) - set(syncs))
    if unknown:
        raise exception.QuotaResourceUnknown(unknown=unknown)
    unlimited = sorted(set(deltas) - set(quotas))
    if unlimited:
        raise exception.InvalidInput(
            reason=f"no quota given for resources {unlimited}"
        )
    return syncs, quotas, deltas


# --------------------------------------------------------------------------
# quota_reserve: usages, refresh, overs


def _project_usages(session: Session, project_id: str) -> dict[str, Any]:
    """Lock the project's usages and return them by resource."""
    locked = _lock_usages(session, [project_id])
    return {usage.resource: usage for usage in locked.values()}


def _add_usage(session: Session, project_id: str, resource: str):
    """Create the usage (0 in use) or, if another caller won, lock theirs.

    Returns ``(usage, created)``.
    """
    usage = models.QuotaUsage(
        project_id=project_id, resource=resource, in_use=0, reserved=0
    )
    try:
        _session.insert(session, usage)
        return usage, True
    except exception.DBDuplicateEntry:
        pass

    stmt = (
        select(models.QuotaUsage)
        .where(
            models.QuotaUsage.project_id == project_id,
            models.QuotaUsage.resource == resource,
            models.QuotaUsage.deleted == 0,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    winner = session.scalars(stmt).first()
    if winner is None:
        # The row that beat us is gone again: start the call over.
        raise exception.DBDeadlock(reason=f"usage {resource} vanished")
    return winner, False


def _ensure_usages(
    session: Session, project_id: str, usages: dict, names: Iterable[str]
) -> set[str]:
    """Add a usage for each of ``names`` that lacks one; return the new."""
    created = set()
    for name in sorted(set(names) - set(usages)):
        usages[name], new = _add_usage(session, project_id, name)
        if new:
            created.add(name)
    return created


def _is_stale(usage, until_refresh, max_age, now) -> bool:
    """Decide whether ``usage`` must be recounted before this reservation.

    It must when ``in_use`` is negative (out of step), when its
    ``until_refresh`` countdown reaches zero, or when it was last written
    ``max_age`` seconds ago or more.  (The original computed the age as
    ``(updated_at - now).seconds``: inverted and wrapping, so it almost
    always refreshed.)
    """
    stale = usage.in_use < 0
    if usage.until_refresh is not None:
        usage.until_refresh -= 1
        stale = stale or usage.until_refresh <= 0
    if max_age:
        written = usage.updated_at or usage.created_at
        stale = stale or written is None or (
            (now - written).total_seconds() >= max_age
        )
    return stale


def _run_sync(sync: _Sync, context, project_id: str, resource: str):
    """Call ``sync`` and check that it counted ``resource``."""
    counts = sync(context.elevated(read_deleted="no"), project_id)
    if not isinstance(counts, Mapping) or resource not in counts:
        raise exception.InvalidInput(
            reason=f"the sync of {resource!r} did not count it"
        )
    return _check_int_map(counts, f"sync result of {resource}")


def _refresh(session: Session, context, project_id, usages, syncs, deltas,
             until_refresh, max_age) -> None:
    """Recount the usages of ``deltas`` that are new or stale."""
    now = utcnow()
    created = _ensure_usages(session, project_id, usages, deltas)
    stale = [
        name for name in sorted(deltas)
        if name in created
        or _is_stale(usages[name], until_refresh, max_age, now)
    ]

    recounted: set[str] = set()
    for name in stale:
        if name in recounted:
            continue
        counts = _run_sync(syncs[name], context, project_id, name)
        _ensure_usages(session, project_id, usages, counts)
        for resource, in_use in counts.items():
            usage = usages[resource]
            usage.in_use = in_use
            usage.until_refresh = until_refresh
            usage.updated_at = now
            recounted.add(resource)


def _overs(quotas, deltas, usages) -> list[str]:
    """Return the resources whose delta would exceed the quota, sorted.

    A negative quota is unlimited; a delta of 0 or less is never over,
    even when the usage already exceeds a lowered quota.
    """
    overs = []
    for resource, delta in deltas.items():
        quota = quotas[resource]
        usage = usages[resource]
        if usage.in_use + delta < 0:
            LOG.debug(
                "Reservation of %d %s would make usage negative",
                delta, resource,
            )
        if quota >= 0 and delta > 0 and (
            quota < delta + usage.in_use + usage.reserved
        ):
            overs.append(resource)
    return sorted(overs)


def _write_reservations(
    session: Session, project_id, usages, deltas, expire
) -> list[str]:
    uuids = []
    for resource, delta in deltas.items():
        usage = usages[resource]
        reservation = models.Reservation(
            uuid=str(uuid_lib.uuid4()),
            usage_id=usage.id,
            project_id=project_id,
            resource=resource,
            delta=delta,
            expire=expire,
        )
        session.add(reservation)
        if delta > 0:
            usage.reserved += delta
        uuids.append(reservation.uuid)
    session.flush()
    return uuids


def _snapshot(usages: dict) -> dict[str, dict[str, int]]:
    return {
        resource: {"in_use": usage.in_use, "reserved": usage.reserved}
        for resource, usage in sorted(usages.items())
    }


@_auth.require_context
@_session.retry_on_deadlock
def quota_reserve(
    context, resources, quotas, deltas, expire, until_refresh, max_age
):
    """Check ``deltas`` against ``quotas`` and reserve them.

    Reserves for ``context.project_id``.  Returns the list of new
    reservation uuids, one per delta, for :func:`reservation_commit` or
    :func:`reservation_rollback`.

    :param resources: how to recount each resource's ``in_use``.  A dict
        maps each resource name to either

        - a string naming a registered resource (normally the key
          itself): ``instances``, ``cores`` and ``ram`` (counted together
          by instance_data_get_for_project), ``volumes`` and
          ``gigabytes`` (volume_data_get_for_project), ``floating_ips``,
          ``fixed_ips``, ``security_groups`` (their
          ``*_count_by_project``); or
        - for local callers only, an object whose ``sync(context,
          project_id)`` returns ``{resource: in_use}`` for one or more
          resources.  It is called with an admin copy of ``context``,
          inside the transaction.

        A list, tuple or set of names is short for ``{name: name}``.
        Only strings can cross the conductor.  A name that is not
        registered raises QuotaResourceUnknown, as does a delta whose
        resource is missing here.
    :param quotas: ``{resource: limit}``; a negative limit is unlimited.
        Every resource of ``deltas`` needs one.
    :param deltas: ``{resource: change}``.
    :param expire: when the reservations expire (a datetime).
    :param until_refresh: after a recount, recount again after this many
        reservations (None or 0: never by count).
    :param max_age: recount a usage last written this many seconds ago
        or earlier (None or 0: never by age).

    In one transaction the project's usages are locked, missing usages
    are created, and the usages of ``deltas`` that are new or stale
    (negative ``in_use``, countdown at zero, or older than ``max_age``)
    are recounted by their syncs, which join the transaction.  A
    resource is over when its quota is not negative, its delta is
    positive and ``delta + in_use + reserved`` exceeds the quota.  If
    any is over, the recounted usages are committed, no reservation is
    written and OverQuota is raised with ``overs`` (sorted names),
    ``quotas`` and ``usages`` (``{resource: {'in_use', 'reserved'}}``).
    Otherwise each delta gets a reservation and positive deltas are
    added to ``reserved``.
    """
    syncs, quotas, deltas = _check_reserve_args(resources, quotas, deltas)
    project_id = _check_key(context.project_id, "context.project_id")
    expire = as_utc(expire)
    until_refresh = _check_optional_int(until_refresh, "until_refresh")
    max_age = _check_optional_int(max_age, "max_age")
    if not deltas:
        return []

    with _session.writer() as session:
        usages = _project_usages(session, project_id)
        _refresh(session, context, project_id, usages, syncs, deltas,
                 until_refresh, max_age)
        overs = _overs(quotas, deltas, usages)
        uuids = []
        if not overs:
            uuids = _write_reservations(
                session, project_id, usages, deltas, expire
            )
        session.flush()
        snapshot = _snapshot(usages)

    if overs:
        raise exception.OverQuota(
            overs=overs, quotas=quotas, usages=snapshot
        )
    return uuids
