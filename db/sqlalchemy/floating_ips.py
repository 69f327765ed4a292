"""Floating IPs: the public addresses a project allocates and associates.

A floating IP is *allocated* when its ``project_id`` is set and
*associated* when its ``fixed_ip_id`` points at a fixed IP (and ``host``
names the network host that serves it).  Addresses are stored in
canonical form (``_ipam.address``) and are unique among live rows
(``uniq_floating_ips0address0deleted``), so creation needs no
check-then-insert.

Allocation must hand out each free address once, however many conductors
ask at the same moment.  :func:`db.sqlalchemy._query.claim` does it without
table locks (Galera clusters reject them): where the database can skip
locked rows (PostgreSQL, MySQL 8, MariaDB 10.6) an allocator locks the
first free row nobody else holds; elsewhere it takes a row with a guarded
``UPDATE ... WHERE id = :picked AND project_id IS NULL`` and retries,
bounded, when it lost the race.  On SQLite the writer's ``BEGIN
IMMEDIATE`` already serialises allocations.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import context as context_mod
from db import exception
from db.rows import Row
from db.sqlalchemy import _auth, _ipam, _query, _session, models
from db.sqlalchemy.types import utcnow

LOG = logging.getLogger(__name__)

__all__ = [
    "floating_ip_allocate_address",
    "floating_ip_bulk_create",
    "floating_ip_bulk_destroy",
    "floating_ip_count_by_project",
    "floating_ip_create",
    "floating_ip_deallocate",
    "floating_ip_destroy",
    "floating_ip_disassociate",
    "floating_ip_fixed_ip_associate",
    "floating_ip_get",
    "floating_ip_get_all",
    "floating_ip_get_all_by_host",
    "floating_ip_get_all_by_project",
    "floating_ip_get_by_address",
    "floating_ip_get_by_fixed_address",
    "floating_ip_get_by_fixed_ip_id",
    "floating_ip_get_pools",
    "floating_ip_set_auto_assigned",
    "floating_ip_update",
    "instance_get_floating_address",
]

FloatingIp = models.FloatingIp
FixedIp = models.FixedIp

#: Addresses per ``IN (...)`` clause of the bulk functions.
_CHUNK = 256


# --------------------------------------------------------------------------
# Input checks and shared queries


def _get_by_address(
    session: Session, context, address: Any, lock: bool = False
) -> models.FloatingIp:
    """Load the floating IP with ``address`` visible to ``context``.

    Raises FloatingIpNotFoundForAddress; a user context must own the IP
    if it is allocated (NotAuthorized otherwise).
    """
    stmt = _query.model_query(context, FloatingIp).where(
        FloatingIp.address == _ipam.lookup_address(address)
    )
    if lock:
        stmt = stmt.with_for_update()
    # With read_deleted="yes" the live row, if any, comes first.
    stmt = stmt.order_by(FloatingIp.deleted, FloatingIp.id)
    ref = session.scalars(stmt).first()
    if ref is None:
        raise exception.FloatingIpNotFoundForAddress(address=address)
    if ref.project_id and context_mod.is_user_context(context):
        _auth.authorize_project_context(context, ref.project_id)
    return ref


def _fixed_ip_by_address(
    session: Session, context, address: Any
) -> models.FixedIp:
    """Load the live fixed IP with ``address`` (the fixed_ips table).

    Raises FixedIpNotFoundForAddress.  For a user context, an IP that
    belongs to an instance must belong to an instance of its project.
    """
    stmt = _query.model_query(context, FixedIp, read_deleted="no").where(
        FixedIp.address == _ipam.lookup_address(address)
    )
    ref = session.scalars(stmt).first()
    if ref is None:
        raise exception.FixedIpNotFoundForAddress(address=address)
    if ref.instance_uuid and context_mod.is_user_context(context):
        project_id = session.scalar(
            select(models.Instance.project_id).where(
                models.Instance.uuid == ref.instance_uuid
            )
        )
        _auth.authorize_project_context(context, project_id)
    return ref


def _by_fixed_ip_id(session: Session, context, fixed_ip_id: Any) -> list:
    key = _query.as_id(fixed_ip_id)
    if key is None:
        return []
    stmt = (
        _query.model_query(context, FloatingIp)
        .where(FloatingIp.fixed_ip_id == key)
        .order_by(FloatingIp.id)
    )
    return _query.to_rows(session.scalars(stmt))


def _as_list(ips: Any) -> list:
    """Return the bulk functions' ``ips`` as a list; InvalidInput if it
    is not a list-like of entries (a lone dict or string is not)."""
    if isinstance(ips, (str, bytes, Mapping)) or not isinstance(
        ips, Iterable
    ):
        raise exception.InvalidInput(
            reason="ips must be a list of floating ip dicts"
        )
    return list(ips)


def _addresses_of(ips: Any) -> list[str]:
    """The addresses of the bulk functions' ``ips``: dicts with an
    ``address`` key (as the original took) or bare address strings."""
    addresses = []
    for ip in _as_list(ips):
        if isinstance(ip, Mapping):
            ip = ip.get("address")
        addresses.append(_ipam.address(ip))
    return addresses


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


# --------------------------------------------------------------------------
# Allocation


def _claim_free_ip(
    session: Session, project_id: str, pool: str | None
) -> str | None:
    """Give one free address of ``pool`` to the project; None if none.

    A free address is live, unallocated and unassociated.
    :func:`_query.claim` makes sure two racing callers never get the same
    row (SKIP LOCKED where the database has it, else a guarded UPDATE).
    """
    ip_id = _query.claim(
        session,
        FloatingIp,
        where=(
            FloatingIp.pool == pool,
            FloatingIp.project_id.is_(None),
            FloatingIp.fixed_ip_id.is_(None),
        ),
        values={"project_id": project_id, "updated_at": utcnow()},
    )
    if ip_id is None:
        return None
    return session.scalar(
        select(FloatingIp.address).where(FloatingIp.id == ip_id)
    )


@_auth.require_context
@_session.retry_on_deadlock
def floating_ip_allocate_address(
    context, project_id: str, pool: str | None
) -> str:
    """Allocate a free floating IP of ``pool`` to ``project_id``.

    Returns the address.  Each address is handed out once even when many
    callers race (see the module docstring).  Raises NoMoreFloatingIps
    when the pool has no free address, NotAuthorized when a user context
    allocates for another project.
    """
    _query.require_text(project_id, "project_id")
    _query.require_text(pool, "pool", nullable=True)
    _auth.authorize_project_context(context, project_id)

    with _session.writer() as session:
        address = _claim_free_ip(session, project_id, pool)
    if address is None:
        raise exception.NoMoreFloatingIps()
    return address


# --------------------------------------------------------------------------
# Creation and destruction


@_auth.require_context
def floating_ip_create(context, values: Mapping[str, Any]) -> str:
    """Create a floating IP from ``values`` and return its address.

    Raises FloatingIpExists if a live floating IP has the address,
    InvalidIpAddress if ``values['address']`` is not an IP address.
    """
    checked = _query.check_values(FloatingIp, values)
    address = checked["address"] = _ipam.address(checked.get("address"))

    with _session.writer() as session:
        _session.insert(
            session,
            FloatingIp(**checked),
            duplicate=lambda: exception.FloatingIpExists(address=address),
        )
    return address


def _raise_if_taken(session: Session, context, addresses: list[str]) -> None:
    seen: set[str] = set()
    for address in addresses:
        if address in seen:
            raise exception.FloatingIpExists(address=address)
        seen.add(address)
    for chunk in _chunks(addresses):
        taken = session.scalars(
            _query.model_query(
                context, FloatingIp, FloatingIp.address, read_deleted="no"
            )
            .where(FloatingIp.address.in_(chunk))
            .order_by(FloatingIp.id)
        ).first()
        if taken is not None:
            raise exception.FloatingIpExists(address=taken)


@_auth.require_context
def floating_ip_bulk_create(context, ips: Iterable[Mapping]) -> None:
    """Create one floating IP per dict of ``ips``, all or none.

    Raises FloatingIpExists(address=) naming an address that a live
    floating IP (or another entry of ``ips``) already has; nothing is
    created then.
    """
    rows = [_query.check_values(FloatingIp, ip) for ip in _as_list(ips)]
    for row in rows:
        row["address"] = _ipam.address(row.get("address"))
    addresses = [row["address"] for row in rows]

    with _session.writer() as session:
        _raise_if_taken(session, context, addresses)
        try:
            _session.insert(session, *(FloatingIp(**row) for row in rows))
        except exception.DBDuplicateEntry:
            # Another caller created one of them since the check.
            _raise_if_taken(session, context, addresses)
            raise exception.FloatingIpExists(address=addresses[0]) from None


@_auth.require_context
def floating_ip_bulk_destroy(context, ips: Iterable[Any]) -> None:
    """Soft-delete the live floating IPs with the addresses of ``ips``.

    ``ips`` holds dicts with an ``address`` key (or address strings);
    addresses that match nothing are ignored.
    """
    addresses = _addresses_of(ips)

    with _session.writer() as session:
        for chunk in _chunks(addresses):
            _query.soft_delete_where(
                session, FloatingIp, FloatingIp.address.in_(chunk)
            )


@_auth.require_context
def floating_ip_destroy(context, address: str) -> None:
    """Soft-delete the floating IP with ``address``.

    Raises FloatingIpNotFoundForAddress.
    """
    with _session.writer() as session:
        ref = _get_by_address(session, context, address, lock=True)
        _query.soft_delete(ref)


# --------------------------------------------------------------------------
# Association with fixed IPs


@_auth.require_context
@_session.retry_on_deadlock
def floating_ip_fixed_ip_associate(
    context, floating_address: str, fixed_address: str, host: str | None
) -> Row | None:
    """Point the floating IP at the fixed IP with ``fixed_address``.

    Sets ``fixed_ip_id`` and ``host`` and returns the fixed IP's row.
    Idempotent: when the floating IP is already associated with that
    fixed IP on that host nothing changes and None is returned (so the
    caller knows there is nothing to plumb).  An IP associated elsewhere
    moves.  Raises FloatingIpNotFoundForAddress or
    FixedIpNotFoundForAddress.
    """
    _query.require_text(host, "host", nullable=True)

    with _session.writer() as session:
        floating = _get_by_address(
            session, context, floating_address, lock=True
        )
        fixed = _fixed_ip_by_address(session, context, fixed_address)
        if floating.fixed_ip_id == fixed.id and floating.host == host:
            return None
        floating.fixed_ip_id = fixed.id
        floating.host = host
        session.flush()
        return _query.to_row(fixed)


@_auth.require_context
@_session.retry_on_deadlock
def floating_ip_disassociate(context, address: str) -> str | None:
    """Detach the floating IP from its fixed IP and host.

    Returns the address of the fixed IP it was associated with, or None
    when it was not associated.  Raises FloatingIpNotFoundForAddress.
    """
    with _session.writer() as session:
        floating = _get_by_address(session, context, address, lock=True)
        fixed_address = None
        if floating.fixed_ip_id is not None:
            # Read deleted rows too: the association names that row.
            fixed_address = session.scalar(
                select(FixedIp.address).where(
                    FixedIp.id == floating.fixed_ip_id
                )
            )
        floating.fixed_ip_id = None
        floating.host = None
        session.flush()
    return fixed_address


@_auth.require_context
def floating_ip_deallocate(context, address: str) -> None:
    """Return the floating IP to its pool.

    Clears ``project_id`` and ``host`` and resets ``auto_assigned``; the
    association with a fixed IP, if any, is left to
    :func:`floating_ip_disassociate`.  Raises
    FloatingIpNotFoundForAddress.
    """
    with _session.writer() as session:
        ref = _get_by_address(session, context, address, lock=True)
        ref.project_id = None
        ref.host = None
        ref.auto_assigned = False


@_auth.require_context
def floating_ip_set_auto_assigned(context, address: str) -> None:
    """Flag the floating IP as assigned automatically at boot.

    Raises FloatingIpNotFoundForAddress.
    """
    with _session.writer() as session:
        ref = _get_by_address(session, context, address, lock=True)
        ref.auto_assigned = True


@_auth.require_context
def floating_ip_update(
    context, address: str, values: Mapping[str, Any]
) -> Row:
    """Update the floating IP with ``address`` from ``values``.

    Returns the updated row.  Raises FloatingIpNotFoundForAddress, and
    FloatingIpExists when ``values`` renames it to a live address.
    """
    checked = _query.check_values(FloatingIp, values)
    if "address" in checked:
        checked["address"] = _ipam.address(checked["address"])

    with _session.writer() as session:
        ref = _get_by_address(session, context, address, lock=True)
        exists = exception.FloatingIpExists(
            address=checked.get("address", address)
        )
        with _session.savepoint(session, duplicate=lambda: exists):
            for key, value in checked.items():
                setattr(ref, key, value)
        return _query.to_row(ref)


# --------------------------------------------------------------------------
# Reads


@_auth.require_context
def floating_ip_get(context, id: int) -> Row:
    """Return the floating IP with ``id``.  Raises FloatingIpNotFound."""
    key = _query.as_id(id)

    with _session.reader() as session:
        ref = None
        if key is not None:
            ref = session.scalars(
                _query.model_query(context, FloatingIp).where(
                    FloatingIp.id == key
                )
            ).first()
        if ref is None:
            raise exception.FloatingIpNotFound(id=id)
        return _query.to_row(ref)


@_auth.require_context
def floating_ip_get_by_address(context, address: str) -> Row:
    """Return the floating IP with ``address``.

    Raises FloatingIpNotFoundForAddress; NotAuthorized when a user
    context asks for an IP allocated to another project.
    """
    with _session.reader() as session:
        return _query.to_row(_get_by_address(session, context, address))


@_auth.require_admin_context
def floating_ip_get_all(context) -> list[Row]:
    """Return every live floating IP.  Raises NoFloatingIpsDefined."""
    with _session.reader() as session:
        stmt = _query.model_query(
            context, FloatingIp, read_deleted="no"
        ).order_by(FloatingIp.id)
        rows = _query.to_rows(session.scalars(stmt))
    if not rows:
        raise exception.NoFloatingIpsDefined()
    return rows


@_auth.require_admin_context
def floating_ip_get_all_by_host(context, host: str) -> list[Row]:
    """Return the live floating IPs served by ``host``.

    Raises FloatingIpNotFoundForHost when there are none.
    """
    _query.require_text(host, "host")

    with _session.reader() as session:
        stmt = (
            _query.model_query(context, FloatingIp, read_deleted="no")
            .where(FloatingIp.host == host)
            .order_by(FloatingIp.id)
        )
        rows = _query.to_rows(session.scalars(stmt))
    if not rows:
        raise exception.FloatingIpNotFoundForHost(host=host)
    return rows


def _by_project(context, project_id: str):
    """The live floating IPs the project allocated itself (auto-assigned
    ones, which the user never asked for, are not counted)."""
    return _query.model_query(context, FloatingIp, read_deleted="no").where(
        FloatingIp.project_id == project_id,
        FloatingIp.auto_assigned.is_(False),
    )


@_auth.require_context
def floating_ip_get_all_by_project(context, project_id: str) -> list[Row]:
    """Return the project's live floating IPs, except auto-assigned ones.

    Raises NotAuthorized for a user context of another project.
    """
    _query.require_text(project_id, "project_id")
    _auth.authorize_project_context(context, project_id)

    with _session.reader() as session:
        stmt = _by_project(context, project_id).order_by(FloatingIp.id)
        return _query.to_rows(session.scalars(stmt))


@_auth.require_context
def floating_ip_count_by_project(context, project_id: str) -> int:
    """Count the project's live floating IPs, except auto-assigned ones
    (the quota counts what users allocated).

    Raises NotAuthorized for a user context of another project.
    """
    _query.require_text(project_id, "project_id")
    _auth.authorize_project_context(context, project_id)

    with _session.reader() as session:
        stmt = _by_project(context, project_id).subquery()
        return session.scalar(select(func.count()).select_from(stmt))


@_auth.require_context
def floating_ip_get_by_fixed_address(
    context, fixed_address: str
) -> list[Row]:
    """Return the floating IPs associated with the fixed IP at
    ``fixed_address`` (possibly none).

    Raises FixedIpNotFoundForAddress when no live fixed IP has that
    address.
    """
    with _session.reader() as session:
        fixed = _fixed_ip_by_address(session, context, fixed_address)
        return _by_fixed_ip_id(session, context, fixed.id)


@_auth.require_context
def floating_ip_get_by_fixed_ip_id(context, fixed_ip_id: int) -> list[Row]:
    """Return the floating IPs associated with the fixed IP ``fixed_ip_id``
    (an empty list when there are none or the id is unknown)."""
    with _session.reader() as session:
        return _by_fixed_ip_id(session, context, fixed_ip_id)


@_auth.require_context
def floating_ip_get_pools(context) -> list[dict[str, str | None]]:
    """Return the pools of the visible floating IPs as
    ``[{'name': pool}, ...]``, sorted by name (a pool-less address shows
    as ``None``, last)."""
    with _session.reader() as session:
        stmt = _query.model_query(
            context, FloatingIp, FloatingIp.pool
        ).distinct()
        pools = set(session.scalars(stmt))
    ordered = sorted(pools, key=lambda name: (name is None, name or ""))
    return [{"name": name} for name in ordered]


def _instance_uuid(session: Session, instance_id: Any) -> str:
    """Resolve ``instance_id``: an instance uuid, or an integer id."""
    if _query.is_uuid_like(instance_id):
        return instance_id
    key = None if isinstance(instance_id, str) else _query.as_id(instance_id)
    if key is None:
        raise exception.InvalidUUID(uuid=instance_id)
    uuid = session.scalar(
        select(models.Instance.uuid).where(models.Instance.id == key)
    )
    if uuid is None:
        raise exception.InstanceNotFound(instance_id=instance_id)
    return uuid


@_auth.require_context
def instance_get_floating_address(context, instance_id: str) -> str | None:
    """Return the first floating address of the instance's first fixed IP.

    ``instance_id`` is the instance's uuid (what callers pass despite the
    name); an integer instance id is also accepted.  "First" means lowest
    id.  Returns None when the fixed IP has no floating IP.  Raises
    FixedIpNotFoundForInstance when the instance has no live fixed IP,
    InvalidUUID for a malformed uuid.
    """
    with _session.reader() as session:
        uuid = _instance_uuid(session, instance_id)
        fixed_ip_id = session.scalar(
            _query.model_query(context, FixedIp, FixedIp.id,
                               read_deleted="no")
            .where(FixedIp.instance_uuid == uuid)
            .order_by(FixedIp.id)
            .limit(1)
        )
        if fixed_ip_id is None:
            raise exception.FixedIpNotFoundForInstance(instance_uuid=uuid)
        return session.scalar(
            _query.model_query(context, FloatingIp, FloatingIp.address,
                               read_deleted="no")
            .where(FloatingIp.fixed_ip_id == fixed_ip_id)
            .order_by(FloatingIp.id)
            .limit(1)
        )
