"""Networks: the address ranges fixed IPs come from, and their owners.

A network belongs to a project once associated (``project_id``) and is
served by a network host (``host``).  CIDRs are stored in canonical
:mod:`ipaddress` text; ``cidr`` holds the IPv4 range and ``cidr_v6`` the
IPv6 one.  Unique constraints among live networks cover the vlan, each
CIDR, the VPN endpoint and the index of :func:`network_get_index`.

Handing out networks (:func:`network_associate`), network hosts
(:func:`network_set_host`) and indexes (:func:`network_get_index`) is safe
under concurrent callers in several processes, without table locks.

Deletion is a hard delete of the network row (its fixed IPs are
soft-deleted), as the original did.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import uuid as uuid_lib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session

from db import exception
from db.rows import Row
from db.sqlalchemy import _auth, _ipam, _query, _session, models

LOG = logging.getLogger(__name__)

__all__ = [
    "network_associate",
    "network_count",
    "network_count_reserved_ips",
    "network_create_fixed_ips",
    "network_create_safe",
    "network_delete_safe",
    "network_disassociate",
    "network_get",
    "network_get_all",
    "network_get_all_by_host",
    "network_get_all_by_instance",
    "network_get_all_by_uuids",
    "network_get_associated_fixed_ips",
    "network_get_by_bridge",
    "network_get_by_cidr",
    "network_get_by_instance",
    "network_get_by_uuid",
    "network_get_index",
    "network_set_cidr",
    "network_set_host",
    "network_update",
    "project_get_networks",
]

FixedIp = models.FixedIp
Instance = models.Instance
Network = models.Network
VirtualInterface = models.VirtualInterface

#: Columns holding one IP address each (checked and normalised on write).
_ADDRESS_COLUMNS = (
    "gateway",
    "gateway_v6",
    "netmask",
    "broadcast",
    "dns1",
    "dns2",
    "vpn_public_address",
    "vpn_private_address",
    "dhcp_start",
)
#: Columns callers may not set: the database and network_get_index do.
_ASSIGNED_COLUMNS = ("id", "deleted", "deleted_at", "network_index")
#: network_create_fixed_ips refuses larger ranges (one row per address).
_MAX_FIXED_IPS = 65536
#: network_get_index: attempts at a free index before giving up.
_INDEX_ATTEMPTS = 16


# --------------------------------------------------------------------------
# Input checks and shared queries


def _check_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check a network's ``values`` for a write; normalise addresses.

    Raises InvalidColumn / InvalidValue (unknown column, wrong type),
    InvalidCidr, InvalidIpAddress, InvalidUUID, and InvalidInput for the
    columns the database assigns.
    """
    checked = _query.check_values(Network, values)
    for key in _ASSIGNED_COLUMNS:
        if key in checked:
            raise exception.InvalidInput(
                reason=f"{key} of a network is not set by the caller"
            )
    if checked.get("cidr") is not None:
        checked["cidr"] = str(_ipam.network(checked["cidr"], 4))
    if checked.get("cidr_v6") is not None:
        checked["cidr_v6"] = str(_ipam.network(checked["cidr_v6"], 6))
    for key in _ADDRESS_COLUMNS:
        if checked.get(key) is not None:
            checked[key] = _ipam.address(checked[key])
    if checked.get("uuid") is not None:
        _query.validate_uuid(checked["uuid"])
    return checked


def _live():
    return select(Network).where(Network.deleted == 0)


def _get(
    session: Session,
    context,
    network_id: Any,
    project_only: Any = False,
    read_deleted: str | None = "no",
) -> models.Network:
    """Load the network ``network_id`` (a live one unless ``read_deleted``
    says otherwise; None follows the context); raise NetworkNotFound."""
    key = _query.as_id(network_id)
    ref = None
    if key is not None:
        ref = session.scalars(
            _query.model_query(
                context, Network, read_deleted=read_deleted,
                project_only=project_only,
            ).where(Network.id == key)
        ).first()
    if ref is None:
        raise exception.NetworkNotFound(network_id=network_id)
    return ref


def _first(stmt, not_found: exception.NotFound) -> Row:
    with _session.reader() as session:
        ref = session.scalars(stmt.order_by(Network.id)).first()
        if ref is None:
            raise not_found
        return _query.to_row(ref)


@contextlib.contextmanager
def _unique(session: Session, values: Mapping[str, Any]) -> Iterator[None]:
    """Run the block's writes in a savepoint; turn a unique violation
    into DuplicateVlan or NetworkExists."""
    try:
        with _session.savepoint(session):
            yield
    except exception.DBDuplicateEntry as exc:
        raise _duplicate(exc, values) from None


def _duplicate(
    error: exception.DBDuplicateEntry, values: Mapping[str, Any]
) -> exception.Duplicate:
    columns = [c for c in error.kwargs["columns"] if c != "deleted"]
    if "vlan" in columns and values.get("vlan") is not None:
        return exception.DuplicateVlan(vlan=values["vlan"])
    return exception.NetworkExists(columns=", ".join(columns) or "these")


# --------------------------------------------------------------------------
# Create, update, delete


@_auth.require_admin_context
def network_create_safe(context, values: Mapping[str, Any]) -> Row | None:
    """Create a network from ``values``; return its row.

    A uuid is generated unless given.  Raises DuplicateVlan when a live
    network has the vlan (checked first, and again by the unique
    constraint, so concurrent creators cannot both win).  As documented,
    a create that violates another constraint because the network exists
    already (same CIDR, VPN endpoint, ...) raises nothing and returns
    None.
    """
    checked = _check_values(values)
    if checked.get("uuid") is None:
        checked["uuid"] = str(uuid_lib.uuid4())

    with _session.writer() as session:
        vlan = checked.get("vlan")
        if vlan is not None and session.scalar(
            _live().with_only_columns(Network.id).where(Network.vlan == vlan)
        ):
            raise exception.DuplicateVlan(vlan=vlan)

        ref = Network(**checked)
        try:
            with _unique(session, checked):
                session.add(ref)
        except exception.NetworkExists as exc:
            LOG.debug("Network not created: %s", exc.format_message())
            return None
        return _query.to_row(ref)


@_auth.require_context
def network_update(
    context, network_id: int, values: Mapping[str, Any]
) -> Row:
    """Set ``values`` on the network; return the updated row.

    Raises NetworkNotFound, DuplicateVlan or NetworkExists on a unique
    violation, and InvalidColumn / InvalidValue / InvalidCidr before
    writing anything.  A user context may only update its project's
    networks (the original let users change shared networks too).
    """
    checked = _check_values(values)
    with _session.writer() as session:
        ref = _get(session, context, network_id, project_only=True)
        with _unique(session, checked):
            for key, value in checked.items():
                setattr(ref, key, value)
        return _query.to_row(ref)


@_auth.require_admin_context
def network_delete_safe(context, network_id: int) -> None:
    """Delete the network unless one of its fixed IPs is allocated.

    Its live fixed IPs are soft-deleted and the network row is deleted for
    good.  Raises NetworkNotFound, and NetworkInUse (changing nothing)
    when a live fixed IP of it is allocated.
    """
    with _session.writer() as session:
        ref = _get(session, context, network_id)

        # Taking the free IPs first (row locks on them) leaves no window
        # for a concurrent allocation between the check and the delete.
        _query.soft_delete_where(
            session, FixedIp,
            FixedIp.network_id == ref.id,
            FixedIp.allocated.is_not(True),
        )
        in_use = session.scalar(
            select(func.count(FixedIp.id)).where(
                FixedIp.network_id == ref.id,
                FixedIp.deleted == 0,
                FixedIp.allocated.is_(True),
            )
        )
        if in_use:
            raise exception.NetworkInUse(network_id=network_id)
        session.delete(ref)


@_auth.require_admin_context
def network_disassociate(context, network_id: int) -> None:
    """Clear the project and the host of the network.

    Raises NetworkNotFound.
    """
    with _session.writer() as session:
        ref = _get(session, context, network_id)
        ref.project_id = None
        ref.host = None


# --------------------------------------------------------------------------
# Handing out networks, hosts and indexes


def _serialize_project(session: Session, project_id: str) -> None:
    """Make concurrent associations of one project take turns.

    On PostgreSQL a transaction-scoped advisory lock keyed by the project
    does it (not a table lock); SQLite writers are serial already.
    """
    if session.get_bind().dialect.name != "postgresql":
        # TODO(db-conductor): MySQL has no transaction-scoped advisory
        # lock; two first associations of one project may race there and
        # give it two networks (each network still goes to one project).
        return
    digest = hashlib.blake2b(
        f"network_associate:{project_id}".encode(), digest_size=8
    ).digest()
    key = int.from_bytes(digest, "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


@_auth.require_admin_context
@_session.retry_on_deadlock
def network_associate(
    context, project_id: str, network_id: int | None = None,
    force: bool = False,
) -> Row:
    """Associate a free network with the project; return the network.

    Unless ``force``, a project that has a network already gets that one.
    Otherwise a live network with no project (``network_id`` if given)
    is claimed; each network goes to one project even when callers race.
    Raises NoMoreNetworks when there is none free.
    """
    _query.require_text(project_id, "project_id")
    with _session.writer() as session:
        if not force:
            _serialize_project(session, project_id)
            ref = session.scalars(
                _live().where(Network.project_id == project_id)
                .order_by(Network.id)
            ).first()
            if ref is not None:
                return _query.to_row(ref)

        where = [Network.project_id.is_(None)]
        if network_id is not None:
            key = _query.as_id(network_id)
            if key is None:
                raise exception.NoMoreNetworks()
            where.append(Network.id == key)
        picked = _query.claim(
            session, Network, where, {"project_id": project_id}
        )
        if picked is None:
            raise exception.NoMoreNetworks()
        return _query.to_row(_reload(session, picked))


def _reload(session: Session, network_id: int) -> models.Network:
    """Read the network again (a Core UPDATE changed it under the ORM)."""
    return session.scalars(
        select(Network).where(Network.id == network_id)
        .execution_options(populate_existing=True)
    ).one()


@_auth.require_admin_context
@_session.retry_on_deadlock
def network_set_host(context, network_id: int, host_id: str) -> str:
    """Make ``host_id`` the network's host unless it has one already.

    Returns the host that serves the network afterwards: ``host_id``, or
    the one set before (also by a concurrent caller that got there
    first).  Raises NetworkNotFound.
    """
    _query.require_text(host_id, "host_id")
    key = _query.as_id(network_id)
    if key is None:
        raise exception.NetworkNotFound(network_id=network_id)
    with _session.writer() as session:
        session.execute(
            update(Network)
            .where(
                Network.id == key,
                Network.deleted == 0,
                Network.host.is_(None),
            )
            .values(host=host_id)
            .execution_options(synchronize_session=False)
        )
        host = session.execute(
            select(Network.host).where(
                Network.id == key, Network.deleted == 0
            )
        ).first()
        if host is None:
            raise exception.NetworkNotFound(network_id=network_id)
        return host[0]


@_auth.require_admin_context
@_session.retry_on_deadlock
def network_get_index(context, network_id: int) -> int:
    """Return the network's index: a small integer no other live network
    has (the lowest free one, from 0, given on first call and kept).

    The index is stored in ``networks.network_index`` under a unique
    constraint, so concurrent callers never share one.  Raises
    NetworkNotFound.
    """
    key = _query.as_id(network_id)
    if key is None:
        raise exception.NetworkNotFound(network_id=network_id)
    with _session.writer() as session:
        for _ in range(_INDEX_ATTEMPTS):
            current = session.execute(
                select(Network.network_index).where(
                    Network.id == key, Network.deleted == 0
                )
            ).first()
            if current is None:
                raise exception.NetworkNotFound(network_id=network_id)
            if current[0] is not None:
                return current[0]
            index = _lowest_free_index(session)
            if _set_index(session, key, index):
                return index
    raise exception.DBDeadlock(reason="kept losing network index races")


def _lowest_free_index(session: Session) -> int:
    used = session.scalars(
        select(Network.network_index)
        .where(Network.deleted == 0, Network.network_index.is_not(None))
        .order_by(Network.network_index)
    )
    index = 0
    for taken in used:
        if taken > index:
            break
        index = taken + 1
    return index


def _set_index(session: Session, network_id: int, index: int) -> bool:
    """Give the network ``index`` if it has none; False if that lost a
    race (the index was taken, or the network got one meanwhile)."""
    try:
        with _session.savepoint(session):
            result = session.execute(
                update(Network)
                .where(
                    Network.id == network_id,
                    Network.deleted == 0,
                    Network.network_index.is_(None),
                )
                .values(network_index=index)
                .execution_options(synchronize_session=False)
            )
    except exception.DBDuplicateEntry:
        return False
    return result.rowcount == 1


# --------------------------------------------------------------------------
# CIDRs and their fixed IPs


def _new_cidr(cidr: Any) -> _ipam.Network:
    """Parse a CIDR for network_set_cidr; refuse ranges too small for a
    network address, a gateway, a broadcast and one usable address."""
    net = _ipam.network(cidr)
    if net.num_addresses < 4:
        raise exception.InvalidCidr(
            cidr=cidr, reason="a network needs at least 4 addresses"
        )
    return net


def _inside(value: str | None, net: _ipam.Network) -> bool:
    if value is None:
        return False
    try:
        return ipaddress.ip_address(value) in net
    except ValueError:
        return False


def _check_fixed_ips_inside(
    session: Session, network_id: int, net: _ipam.Network
) -> None:
    addresses = session.scalars(
        select(FixedIp.address).where(
            FixedIp.network_id == network_id, FixedIp.deleted == 0
        )
    )
    for text_address in addresses:
        address = ipaddress.ip_address(text_address)
        if address.version == net.version and address not in net:
            raise exception.NetworkInUse(network_id=network_id)


def _apply_cidr(ref: models.Network, net: _ipam.Network) -> None:
    """Set the CIDR and every field derived from it."""
    if net.version == 6:
        ref.cidr_v6 = str(net)
        ref.netmask_v6 = str(net.prefixlen)
        ref.gateway_v6 = str(net[1])
        return
    ref.cidr = str(net)
    ref.netmask = str(net.netmask)
    ref.gateway = str(net[1])
    ref.broadcast = str(net.broadcast_address)
    if not _inside(ref.dhcp_start, net):
        ref.dhcp_start = str(net[2])
    if not _inside(ref.vpn_private_address, net):
        ref.vpn_private_address = None


@_auth.require_admin_context
def network_set_cidr(context, network_id: int, cidr: str) -> Row:
    """Set the network's CIDR (IPv4 ``cidr`` or IPv6 ``cidr_v6``).

    The derived fields follow: netmask, gateway (the first host) and
    broadcast for IPv4, netmask_v6 (the prefix length) and gateway_v6 for
    IPv6; ``dhcp_start`` moves to the second host and
    ``vpn_private_address`` is cleared when outside the new range.
    Returns the updated row.  Raises InvalidCidr (bad text, host bits
    set, fewer than 4 addresses), NetworkNotFound, NetworkExists when a
    live network has that CIDR, and NetworkInUse when a live fixed IP of
    the network would fall outside it.
    """
    net = _new_cidr(cidr)
    with _session.writer() as session:
        ref = _get(session, context, network_id)
        _check_fixed_ips_inside(session, ref.id, net)
        with _unique(session, {}):
            _apply_cidr(ref, net)
        return _query.to_row(ref)


def _fixed_ip_range(ref: models.Network) -> _ipam.Network:
    """The range network_create_fixed_ips fills: ``cidr``, else
    ``cidr_v6``; at most 65536 addresses."""
    cidr = ref.cidr or ref.cidr_v6
    if cidr is None:
        raise exception.InvalidCidr(cidr=None, reason="the network has none")
    net = _new_cidr(cidr)
    if net.num_addresses > _MAX_FIXED_IPS:
        raise exception.InvalidCidr(
            cidr=cidr,
            reason=f"more than {_MAX_FIXED_IPS} addresses to create",
        )
    return net


def _reserved_indexes(
    ref: models.Network, net: _ipam.Network, num_vpn_clients: int
) -> set[int]:
    """Offsets into ``net`` of the addresses to create reserved.

    The network address, the gateway (the network's own if inside, else
    the first host), the VPN server's ``vpn_private_address`` if inside,
    and at the top of the range ``num_vpn_clients`` addresses for VPN
    clients, below the IPv4 broadcast address (also reserved).
    """
    size = net.num_addresses
    top = size - 1 if net.version == 4 else size
    if num_vpn_clients > top - 2:
        raise exception.InvalidInput(
            reason=f"{num_vpn_clients} VPN clients do not fit in {net}"
        )

    def offset(address: str) -> int:
        return int(ipaddress.ip_address(address)) - int(net.network_address)

    gateway = ref.gateway if net.version == 4 else ref.gateway_v6
    reserved = {0, offset(gateway) if _inside(gateway, net) else 1}
    if net.version == 4:
        reserved.add(top)
    if _inside(ref.vpn_private_address, net):
        reserved.add(offset(ref.vpn_private_address))
    reserved.update(range(top - num_vpn_clients, top))
    return reserved


@_auth.require_admin_context
def network_create_fixed_ips(
    context, network_id: int, num_vpn_clients: int
) -> int:
    """Create a fixed IP for every address of the network's range.

    The range is ``cidr`` (else ``cidr_v6``); the reserved addresses are
    those of :func:`_reserved_indexes`.  The rows go in with multi-row
    INSERTs, all or none.  Returns how many were created.  Raises
    NetworkNotFound, InvalidCidr (no range, or more than 65536
    addresses), InvalidInput for a bad ``num_vpn_clients``, and
    FixedIpExists when an address exists already.
    """
    if isinstance(num_vpn_clients, bool) or not isinstance(
        num_vpn_clients, int
    ) or num_vpn_clients < 0:
        raise exception.InvalidInput(
            reason="num_vpn_clients must be an integer >= 0"
        )
    with _session.writer() as session:
        ref = _get(session, context, network_id)
        net = _fixed_ip_range(ref)
        reserved = _reserved_indexes(ref, net, num_vpn_clients)
        rows = [
            {
                "address": str(address),
                "network_id": ref.id,
                "reserved": offset in reserved,
            }
            for offset, address in enumerate(net)
        ]
        return _ipam.insert_fixed_ips(session, rows)


@_auth.require_admin_context
def network_count_reserved_ips(context, network_id: int) -> int:
    """Count the live reserved fixed IPs of the network."""
    key = _query.as_id(network_id)
    with _session.reader() as session:
        return session.scalar(
            select(func.count(FixedIp.id)).where(
                FixedIp.network_id == key,
                FixedIp.deleted == 0,
                FixedIp.reserved.is_(True),
            )
        )


# --------------------------------------------------------------------------
# Getters


@_auth.require_admin_context
def network_count(context) -> int:
    """Return the number of live networks."""
    with _session.reader() as session:
        return session.scalar(
            select(func.count(Network.id)).where(Network.deleted == 0)
        )


@_auth.require_context
def network_get(
    context, network_id: int, project_only: Any = "allow_none"
) -> Row:
    """Return the network, or raise NetworkNotFound.

    With the default ``project_only="allow_none"`` a user context sees
    its project's networks and those of no project.  Deleted networks
    show as the context's ``read_deleted`` says.
    """
    with _session.reader() as session:
        ref = _get(session, context, network_id, project_only, None)
        return _query.to_row(ref)


@_auth.require_admin_context
def network_get_all(context) -> list[Row]:
    """Return every live network by id; raise NoNetworksFound if none."""
    with _session.reader() as session:
        refs = session.scalars(_live().order_by(Network.id)).all()
        if not refs:
            raise exception.NoNetworksFound()
        return _query.to_rows(refs)


def _check_uuids(network_uuids: Any) -> list[str]:
    if isinstance(network_uuids, (str, bytes, Mapping)) or not isinstance(
        network_uuids, Iterable
    ):
        raise exception.InvalidInput(
            reason="network_uuids must be a list of uuids"
        )
    uuids = list(dict.fromkeys(network_uuids))
    for value in uuids:
        if not isinstance(value, str):
            raise exception.InvalidUUID(uuid=value)
    return uuids


@_auth.require_context
def network_get_all_by_uuids(
    context, network_uuids: Iterable[str], project_only: Any = "allow_none"
) -> list[Row]:
    """Return the networks with these uuids, in the order asked.

    Raises NoNetworksFound when none is found, else
    NetworkNotFoundForProject for the first uuid not found (with
    ``project_only`` false, NetworkNotFound).
    """
    uuids = _check_uuids(network_uuids)
    with _session.reader() as session:
        refs = session.scalars(
            _query.model_query(
                context, Network, read_deleted="no",
                project_only=project_only,
            ).where(Network.uuid.in_(uuids)).order_by(Network.id)
        ).all()
        if not refs:
            raise exception.NoNetworksFound()
        by_uuid = {}
        for ref in refs:
            by_uuid.setdefault(ref.uuid, ref)
        for value in uuids:
            if value not in by_uuid:
                raise _missing_uuid(context, value, project_only)
        return [_query.to_row(by_uuid[value]) for value in uuids]


def _missing_uuid(context, value: str, project_only: Any):
    if project_only:
        return exception.NetworkNotFoundForProject(
            network_uuid=value, project_id=context.project_id
        )
    return exception.NetworkNotFound(network_id=value)


@_auth.require_admin_context
def network_get_by_bridge(context, bridge: str) -> Row:
    """Return the network on ``bridge``; raise NetworkNotFoundForBridge."""
    return _first(
        _live().where(Network.bridge == bridge),
        exception.NetworkNotFoundForBridge(bridge=bridge),
    )


@_auth.require_admin_context
def network_get_by_cidr(context, cidr: str) -> Row:
    """Return the network whose ``cidr`` or ``cidr_v6`` is ``cidr``.

    Raises InvalidCidr for a bad CIDR, NetworkNotFoundForCidr.
    """
    canonical = str(_ipam.network(cidr))
    return _first(
        _live().where(
            or_(Network.cidr == canonical, Network.cidr_v6 == canonical)
        ),
        exception.NetworkNotFoundForCidr(cidr=cidr),
    )


@_auth.require_admin_context
def network_get_by_uuid(context, uuid: str) -> Row:
    """Return the network with ``uuid``; raise NetworkNotFoundForUUID."""
    return _first(
        _live().where(Network.uuid == uuid),
        exception.NetworkNotFoundForUUID(uuid=uuid),
    )


def _instance_networks(session: Session, instance_id: Any) -> list:
    """The live networks in which the instance has a live fixed IP.

    ``instance_id`` is the instance's uuid, or its integer id.  (The
    original filtered networks on a column they do not have.)
    """
    key = _query.as_id(instance_id)
    if key is not None:
        instance_uuid = session.scalar(
            select(Instance.uuid).where(Instance.id == key)
        )
    else:
        instance_uuid = _query.validate_uuid(instance_id)
    ips = select(FixedIp.network_id).where(
        FixedIp.instance_uuid == instance_uuid, FixedIp.deleted == 0
    )
    return session.scalars(
        _live().where(Network.id.in_(ips)).order_by(Network.id)
    ).all()


@_auth.require_admin_context
def network_get_by_instance(context, instance_id: str) -> Row:
    """Return the first network of the instance (by its fixed IPs).

    Raises InvalidUUID, and NetworkNotFoundForInstance when it has none.
    """
    with _session.reader() as session:
        refs = _instance_networks(session, instance_id)
        if not refs:
            raise exception.NetworkNotFoundForInstance(instance_id=instance_id)
        return _query.to_row(refs[0])


@_auth.require_admin_context
def network_get_all_by_instance(context, instance_id: str) -> list[Row]:
    """Return every network of the instance (by its fixed IPs), by id.

    Raises InvalidUUID, and NetworkNotFoundForInstance when it has none.
    """
    with _session.reader() as session:
        refs = _instance_networks(session, instance_id)
        if not refs:
            raise exception.NetworkNotFoundForInstance(instance_id=instance_id)
        return _query.to_rows(refs)


@_auth.require_admin_context
def network_get_all_by_host(context, host: str) -> list[Row]:
    """Return the live networks served by ``host``: those whose host it
    is, and those with a live fixed IP on it."""
    on_host = select(FixedIp.network_id).where(
        FixedIp.host == host, FixedIp.deleted == 0
    )
    with _session.reader() as session:
        refs = session.scalars(
            _live()
            .where(or_(Network.host == host, Network.id.in_(on_host)))
            .order_by(Network.id)
        ).all()
        return _query.to_rows(refs)


@_auth.require_admin_context
def network_get_associated_fixed_ips(
    context, network_id: int, host: str | None = None
) -> list[dict[str, Any]]:
    """Return the network's allocated IPs with their interface and
    instance, as dicts, ordered by address id.

    Each dict has address, instance_uuid, network_id, vif_id,
    vif_address, instance_hostname, instance_updated and
    instance_created.  Only live IPs with a live interface and a live
    instance count; ``host`` keeps those whose instance is on it.
    """
    stmt = (
        select(
            FixedIp.address, FixedIp.instance_uuid, FixedIp.network_id,
            FixedIp.virtual_interface_id, VirtualInterface.address,
            Instance.hostname, Instance.updated_at, Instance.created_at,
        )
        .join(VirtualInterface, _vif_of_ip())
        .join(Instance, _instance_of_ip())
        .where(
            FixedIp.deleted == 0,
            FixedIp.network_id == _query.as_id(network_id),
            FixedIp.allocated.is_(True),
        )
        .order_by(FixedIp.id)
    )
    if host is not None:
        stmt = stmt.where(Instance.host == host)
    with _session.reader() as session:
        return [_associated(row) for row in session.execute(stmt)]


def _vif_of_ip():
    return (VirtualInterface.id == FixedIp.virtual_interface_id) & (
        VirtualInterface.deleted == 0
    )


def _instance_of_ip():
    return (Instance.uuid == FixedIp.instance_uuid) & (Instance.deleted == 0)


def _associated(row) -> dict[str, Any]:
    keys = (
        "address", "instance_uuid", "network_id", "vif_id", "vif_address",
        "instance_hostname", "instance_updated", "instance_created",
    )
    return dict(zip(keys, row, strict=True))


@_auth.require_context
def project_get_networks(
    context, project_id: str, associate: bool = True
) -> list[Row]:
    """Return the project's live networks, by id.

    When it has none and ``associate`` is true, a free network is
    associated with it (network_associate, which needs an admin context:
    AdminRequired for a user) and returned in the list; otherwise the
    list is empty (the spec's "returns None" was never the original's
    behaviour).  Raises NoMoreNetworks when none is free.
    """
    _auth.authorize_project_context(context, project_id)
    with _session.reader() as session:
        refs = session.scalars(
            _live().where(Network.project_id == project_id)
            .order_by(Network.id)
        ).all()
        rows = _query.to_rows(refs)
    if rows or not associate:
        return rows
    return [network_associate(context, project_id)]
