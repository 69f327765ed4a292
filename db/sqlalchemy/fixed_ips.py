"""Fixed IPs (the private addresses of instances) and virtual interfaces.

A fixed IP is *associated* when its ``instance_uuid`` is set and
*allocated* when a virtual interface uses it (``allocated`` and
``virtual_interface_id``).  Reserved IPs (network, gateway, broadcast,
VPN) are never handed out by the pool.  Addresses are stored in their
canonical :mod:`ipaddress` text and are unique among live rows
(``uniq_fixed_ips0address0deleted``).

Association hands out each address once, however many conductors ask at
the same moment, without table locks (see :mod:`db.sqlalchemy._ipam`).

Virtual interfaces are read with ``read_deleted="yes"`` (as the original
did: their deletes are hard anyway).
"""

from __future__ import annotations

import logging
import uuid as uuid_lib
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from db import context as context_mod
from db import exception
from db.rows import Row
from db.sqlalchemy import _auth, _ipam, _query, _session, models
from db.sqlalchemy.types import as_utc

LOG = logging.getLogger(__name__)

__all__ = [
    "fixed_ip_associate",
    "fixed_ip_associate_pool",
    "fixed_ip_bulk_create",
    "fixed_ip_count_by_project",
    "fixed_ip_create",
    "fixed_ip_disassociate",
    "fixed_ip_disassociate_all_by_timeout",
    "fixed_ip_get",
    "fixed_ip_get_all",
    "fixed_ip_get_by_address",
    "fixed_ip_get_by_instance",
    "fixed_ip_get_by_network_host",
    "fixed_ip_get_network",
    "fixed_ip_update",
    "fixed_ips_by_virtual_interface",
    "virtual_interface_create",
    "virtual_interface_delete",
    "virtual_interface_delete_by_instance",
    "virtual_interface_get",
    "virtual_interface_get_all",
    "virtual_interface_get_by_address",
    "virtual_interface_get_by_instance",
    "virtual_interface_get_by_instance_and_network",
    "virtual_interface_get_by_uuid",
]

FixedIp = models.FixedIp
Instance = models.Instance
Network = models.Network
VirtualInterface = models.VirtualInterface

#: Ids per ``IN (...)`` clause of the bulk updates.
_CHUNK = 500


# --------------------------------------------------------------------------
# Input checks and shared queries


def _check_fixed_ip_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check a fixed IP's ``values`` for a write; normalise the address.

    Raises InvalidColumn / InvalidValue for unknown columns and wrong
    types, InvalidIpAddress for a bad address, InvalidUUID for a bad
    instance uuid, and InvalidInput for keys the database assigns.
    """
    checked = _query.check_values(FixedIp, values)
    for key in ("id", "deleted", "deleted_at"):
        if key in checked:
            raise exception.InvalidInput(
                reason=f"{key} of a fixed ip is set by the database"
            )
    if "address" in checked:
        checked["address"] = _ipam.address(checked["address"])
    if checked.get("instance_uuid") is not None:
        _query.validate_uuid(checked["instance_uuid"])
    return checked


def _check_new_fixed_ip(values: Any) -> dict[str, Any]:
    checked = _check_fixed_ip_values(values)
    if checked.get("address") is None:
        raise exception.InvalidIpAddress(address=None)
    return checked


def _authorize_instance(session: Session, context, instance_uuid) -> None:
    """For a user context, require the instance (deleted or not) to be of
    its project; an IP without an instance is anyone's to read."""
    if instance_uuid is None or not context_mod.is_user_context(context):
        return
    project_id = session.scalar(
        select(Instance.project_id).where(Instance.uuid == instance_uuid)
    )
    _auth.authorize_project_context(context, project_id)


def _by_address(
    session: Session, context, address: Any, read_deleted: str | None = None
) -> models.FixedIp:
    """Load the fixed IP with ``address``; authorise a user context.

    Raises FixedIpNotFoundForAddress.
    """
    stmt = _query.model_query(
        context, FixedIp, read_deleted=read_deleted
    ).where(FixedIp.address == _ipam.lookup_address(address))
    ref = session.scalars(stmt.order_by(FixedIp.id)).first()
    if ref is None:
        raise exception.FixedIpNotFoundForAddress(address=address)
    _authorize_instance(session, context, ref.instance_uuid)
    return ref


def _network_key(session: Session, network: Any) -> int | None:
    """Return the id of ``network``, given as an id or a network uuid."""
    key = _query.as_id(network)
    if key is not None or not _query.is_uuid_like(network):
        return key
    return session.scalar(
        select(Network.id).where(Network.uuid == network, Network.deleted == 0)
    )


def _check_instance_exists(session: Session, context, instance_uuid) -> str:
    """Raise InvalidUUID or InstanceNotFound unless the instance is there.

    The lookup follows the context like instance_get_by_uuid: its
    ``read_deleted`` and, for a user context, its project.
    """
    _query.validate_uuid(instance_uuid)
    found = session.scalar(
        _query.model_query(
            context, Instance, Instance.id, project_only=True
        ).where(Instance.uuid == instance_uuid)
    )
    if found is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    return instance_uuid


# --------------------------------------------------------------------------
# Association


@_auth.require_admin_context
@_session.retry_on_deadlock
def fixed_ip_associate(
    context,
    address: str,
    instance_uuid: str,
    network_id: int | None = None,
    reserved: bool = False,
) -> str:
    """Associate the fixed IP ``address`` with the instance.

    The IP must have ``reserved`` exactly as given and be in the network
    ``network_id`` or in none (it then joins that network).  Returns the
    address.  Raises InvalidUUID (checked first), FixedIpNotFoundForNetwork
    when no such IP exists, and FixedIpAlreadyInUse when an instance holds
    it already, also when a concurrent caller took it a moment earlier:
    the claim is a guarded UPDATE, so an address is never given twice.
    """
    _query.validate_uuid(instance_uuid)
    with _session.writer() as session:
        ref = _associable(session, context, address, network_id, reserved)
        if ref.instance_uuid is not None:
            raise exception.FixedIpAlreadyInUse(
                address=ref.address, instance_uuid=ref.instance_uuid
            )

        _take_for_instance(
            session, ref, instance_uuid, _query.as_id(network_id)
        )
        return ref.address


def _take_for_instance(
    session: Session, ref, instance_uuid: str, network_id: int | None
) -> None:
    """Set the instance (and the network, if the IP has none) with an
    UPDATE guarded by "no instance yet"; raise FixedIpAlreadyInUse, naming
    the winner, if a concurrent call won."""
    values: dict[str, Any] = {"instance_uuid": instance_uuid}
    if ref.network_id is None and network_id is not None:
        values["network_id"] = network_id
    taken = session.execute(
        update(FixedIp)
        .where(FixedIp.id == ref.id, FixedIp.instance_uuid.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        holder = session.scalar(
            select(FixedIp.instance_uuid).where(FixedIp.id == ref.id)
        )
        raise exception.FixedIpAlreadyInUse(
            address=ref.address, instance_uuid=holder
        )


def _associable(session, context, address, network_id, reserved):
    """Load the live IP fixed_ip_associate may take, or raise
    FixedIpNotFoundForNetwork."""
    if not isinstance(reserved, bool):
        raise exception.InvalidInput(reason="reserved must be a boolean")
    key = _query.as_id(network_id)
    in_network = FixedIp.network_id.is_(None)
    if key is not None:
        in_network = or_(FixedIp.network_id == key, in_network)
    elif network_id is not None:
        raise exception.FixedIpNotFoundForNetwork(
            address=address, network_id=network_id
        )
    stmt = _query.model_query(context, FixedIp, read_deleted="no").where(
        FixedIp.address == _ipam.lookup_address(address),
        FixedIp.reserved.is_(reserved),
        in_network,
    )
    ref = session.scalars(stmt).first()
    if ref is None:
        raise exception.FixedIpNotFoundForNetwork(
            address=address, network_id=network_id
        )
    return ref


@_auth.require_admin_context
@_session.retry_on_deadlock
def fixed_ip_associate_pool(
    context,
    network_id: int | None,
    instance_uuid: str | None = None,
    host: str | None = None,
) -> str:
    """Associate a free IP of the network with an instance and/or a host.

    A free IP is live, unreserved, has no instance and no host, and is in
    the network or in none (it then joins the network; the original set a
    non-column ``network`` attribute instead, so the IP stayed outside).
    Returns the address; each address is handed out once even under
    concurrent callers.  Raises InvalidUUID, InvalidInput when neither an
    instance nor a host is given (nothing would mark the IP taken), and
    NoMoreFixedIps when the network has no free IP.
    """
    _check_pool_args(instance_uuid, host)
    key = _query.as_id(network_id)
    if key is None and network_id is not None:
        raise exception.NoMoreFixedIps()
    with _session.writer() as session:
        picked = _query.claim(
            session,
            FixedIp,
            _free_in_pool(key),
            _pool_values(key, instance_uuid, host),
            order_by=(FixedIp.network_id.is_(None),),
        )
        if picked is None:
            raise exception.NoMoreFixedIps()
        return session.scalar(
            select(FixedIp.address).where(FixedIp.id == picked)
        )


def _check_pool_args(instance_uuid: Any, host: Any) -> None:
    if instance_uuid is not None:
        _query.validate_uuid(instance_uuid)
    if instance_uuid is None and host is None:
        raise exception.InvalidInput(
            reason="fixed_ip_associate_pool needs an instance_uuid or a host"
        )
    if host is not None and (not isinstance(host, str) or not host):
        raise exception.InvalidInput(reason="host must be a non-empty string")


def _free_in_pool(network_id: int | None) -> tuple:
    in_network = FixedIp.network_id.is_(None)
    if network_id is not None:
        in_network = or_(FixedIp.network_id == network_id, in_network)
    return (
        in_network,
        FixedIp.reserved.is_not(True),
        FixedIp.instance_uuid.is_(None),
        FixedIp.host.is_(None),
    )


def _pool_values(network_id, instance_uuid, host) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if network_id is not None:
        values["network_id"] = network_id
    if instance_uuid is not None:
        values["instance_uuid"] = instance_uuid
    if host is not None:
        values["host"] = host
    return values


@_auth.require_context
def fixed_ip_disassociate(context, address: str) -> None:
    """Clear the instance of the fixed IP ``address``.

    Raises FixedIpNotFoundForAddress.
    """
    with _session.writer() as session:
        ref = _by_address(session, context, address)
        ref.instance_uuid = None


@_auth.require_admin_context
def fixed_ip_disassociate_all_by_timeout(context, host: str, time) -> int:
    """Release the stale associations served by ``host``; return how many.

    Stale: live, not allocated, last updated before ``time``, in a live
    network whose host is ``host``, or multi-host with the instance on
    ``host``.  Each is released (no instance, not leased).
    """
    cutoff = as_utc(time)
    stale = (
        FixedIp.deleted == 0,
        FixedIp.allocated.is_not(True),
        FixedIp.updated_at < cutoff,
    )
    with _session.writer() as session:
        ids = _served_by(session, host, stale)
        count = 0
        for start in range(0, len(ids), _CHUNK):
            count += session.execute(
                update(FixedIp)
                .where(FixedIp.id.in_(ids[start:start + _CHUNK]), *stale)
                .values(instance_uuid=None, leased=False)
                .execution_options(synchronize_session=False)
            ).rowcount
        return count


def _served_by(session: Session, host: str, where: tuple) -> list[int]:
    """Ids of the IPs matching ``where`` whose network ``host`` serves:
    its host, or multi-host with the instance on ``host``."""
    return list(
        session.scalars(
            select(FixedIp.id)
            .join(Network, Network.id == FixedIp.network_id)
            .join(Instance, Instance.uuid == FixedIp.instance_uuid)
            .where(
                *where,
                Network.deleted == 0,
                or_(
                    and_(Instance.host == host, Network.multi_host.is_(True)),
                    Network.host == host,
                ),
            )
        )
    )


# --------------------------------------------------------------------------
# Create, update


@_auth.require_admin_context
def fixed_ip_create(context, values: Mapping[str, Any]) -> str:
    """Create a fixed IP from ``values``; return its address.

    Raises InvalidIpAddress when the address is missing or bad, and
    FixedIpExists when a live fixed IP has it already.
    """
    checked = _check_new_fixed_ip(values)
    with _session.writer() as session:
        _ipam.insert_fixed_ips(session, [checked])
        return checked["address"]


@_auth.require_admin_context
def fixed_ip_bulk_create(context, ips: Iterable[Mapping[str, Any]]) -> None:
    """Create a fixed IP from each dict of ``ips``, all or none.

    Every dict is checked before anything is written; the rows go in with
    multi-row INSERTs.  Raises FixedIpExists (naming the address) when an
    address is repeated or already live.
    """
    if isinstance(ips, (str, bytes, Mapping)) or not isinstance(
        ips, Iterable
    ):
        raise exception.InvalidInput(reason="ips must be a list of dicts")
    rows = [_check_new_fixed_ip(ip) for ip in ips]
    with _session.writer() as session:
        _ipam.insert_fixed_ips(session, rows)


@_auth.require_context
def fixed_ip_update(context, address: str, values: Mapping[str, Any]) -> Row:
    """Set ``values`` on the fixed IP ``address``; return the updated row.

    Raises FixedIpNotFoundForAddress, FixedIpExists when the new address
    is taken, and InvalidColumn / InvalidValue before writing anything.
    """
    checked = _check_fixed_ip_values(values)
    with _session.writer() as session:
        ref = _by_address(session, context, address)
        try:
            with _session.savepoint(session):
                for key, value in checked.items():
                    setattr(ref, key, value)
        except exception.DBDuplicateEntry:
            raise exception.FixedIpExists(
                address=checked.get("address")
            ) from None
        return _query.to_row(ref)


# --------------------------------------------------------------------------
# Getters


@_auth.require_context
def fixed_ip_get(context, id: int) -> Row:
    """Return the fixed IP with ``id``, or raise FixedIpNotFound.

    For a user context an IP of an instance must be of its project
    (NotAuthorized otherwise).
    """
    key = _query.as_id(id)
    if key is None:
        raise exception.FixedIpNotFound(id=id)
    with _session.reader() as session:
        ref = session.scalars(
            _query.model_query(context, FixedIp).where(FixedIp.id == key)
        ).first()
        if ref is None:
            raise exception.FixedIpNotFound(id=id)
        _authorize_instance(session, context, ref.instance_uuid)
        return _query.to_row(ref)


@_auth.require_admin_context
def fixed_ip_get_all(context) -> list[Row]:
    """Return every fixed IP, deleted ones included, ordered by id.

    Raises NoFixedIpsDefined when there are none.
    """
    with _session.reader() as session:
        refs = session.scalars(
            _query.model_query(context, FixedIp, read_deleted="yes")
            .order_by(FixedIp.id)
        ).all()
        if not refs:
            raise exception.NoFixedIpsDefined()
        return _query.to_rows(refs)


@_auth.require_context
def fixed_ip_get_by_address(context, address: str) -> Row:
    """Return the fixed IP ``address``; raise FixedIpNotFoundForAddress.

    For a user context an IP of an instance must be of its project
    (NotAuthorized otherwise).
    """
    with _session.reader() as session:
        return _query.to_row(_by_address(session, context, address))


@_auth.require_context
def fixed_ip_get_by_instance(context, instance_uuid: str) -> list[Row]:
    """Return the live fixed IPs of the instance, ordered by id.

    Raises InvalidUUID, and FixedIpNotFoundForInstance when it has none.
    A user context must own the instance (NotAuthorized otherwise).
    """
    _query.validate_uuid(instance_uuid)
    with _session.reader() as session:
        refs = session.scalars(
            _query.model_query(context, FixedIp, read_deleted="no")
            .where(FixedIp.instance_uuid == instance_uuid)
            .order_by(FixedIp.id)
        ).all()
        if not refs:
            raise exception.FixedIpNotFoundForInstance(
                instance_uuid=instance_uuid
            )
        _authorize_instance(session, context, instance_uuid)
        return _query.to_rows(refs)


@_auth.require_admin_context
def fixed_ip_get_by_network_host(context, network_uuid, host: str) -> Row:
    """Return the first live fixed IP of ``host`` in the network.

    The spec names the parameter ``network_uuid`` but the original's
    callers passed the network's integer id: both are accepted.  Raises
    FixedIpNotFoundForNetworkHost.
    """
    with _session.reader() as session:
        key = _network_key(session, network_uuid)
        ref = None
        if key is not None:
            ref = session.scalars(
                _query.model_query(context, FixedIp, read_deleted="no")
                .where(FixedIp.network_id == key, FixedIp.host == host)
                .order_by(FixedIp.id)
            ).first()
        if ref is None:
            raise exception.FixedIpNotFoundForNetworkHost(
                network_id=network_uuid, host=host
            )
        return _query.to_row(ref)


@_auth.require_context
def fixed_ip_get_network(context, address: str) -> Row:
    """Return the network row of the fixed IP ``address``.

    (The original read a relationship the model did not have, so it
    always failed.)  Raises FixedIpNotFoundForAddress, and NetworkNotFound
    when the IP is in no live network.
    """
    with _session.reader() as session:
        ref = _by_address(session, context, address, read_deleted="no")
        network = None
        if ref.network_id is not None:
            network = session.scalars(
                select(Network).where(
                    Network.id == ref.network_id, Network.deleted == 0
                )
            ).first()
        if network is None:
            raise exception.NetworkNotFound(network_id=ref.network_id)
        return _query.to_row(network)


@_auth.require_context
def fixed_ip_count_by_project(context, project_id: str) -> int:
    """Count the live fixed IPs of the project's live instances.

    (The original's first version compared the instance uuid with the
    project id, so it always counted 0.)
    """
    _auth.authorize_project_context(context, project_id)
    with _session.reader() as session:
        return session.scalar(
            select(func.count(FixedIp.id))
            .join(Instance, Instance.uuid == FixedIp.instance_uuid)
            .where(
                FixedIp.deleted == 0,
                Instance.deleted == 0,
                Instance.project_id == project_id,
            )
        )


@_auth.require_context
def fixed_ips_by_virtual_interface(context, vif_id: int) -> list[Row]:
    """Return the live fixed IPs of the virtual interface, by id.

    An empty list when it has none: the spec's "or raise" was never what
    the original did, and its callers iterate over the result.
    """
    key = _query.as_id(vif_id)
    if key is None:
        return []
    with _session.reader() as session:
        refs = session.scalars(
            _query.model_query(context, FixedIp, read_deleted="no")
            .where(FixedIp.virtual_interface_id == key)
            .order_by(FixedIp.id)
        ).all()
        return _query.to_rows(refs)


# --------------------------------------------------------------------------
# Virtual interfaces


def _vif_query(context):
    return _query.model_query(context, VirtualInterface, read_deleted="yes")


def _first_vif(stmt) -> Row | None:
    with _session.reader() as session:
        ref = session.scalars(stmt.order_by(VirtualInterface.id)).first()
        return _query.to_row(ref)


@_auth.require_context
def virtual_interface_create(context, values: Mapping[str, Any]) -> Row:
    """Create a virtual interface from ``values``; return its row.

    A uuid is generated unless given.  Raises InvalidUUID for a bad uuid
    or instance uuid, and VirtualInterfaceCreateException when the MAC
    address is already used by a live interface.
    """
    checked = _query.check_values(VirtualInterface, values)
    checked.setdefault("uuid", str(uuid_lib.uuid4()))
    _query.validate_uuid(checked["uuid"])
    if checked.get("instance_uuid") is not None:
        _query.validate_uuid(checked["instance_uuid"])

    with _session.writer() as session:
        ref = VirtualInterface(**checked)
        _session.insert(
            session, ref, duplicate=exception.VirtualInterfaceCreateException
        )
        return _query.to_row(ref)


@_auth.require_context
def virtual_interface_get(context, vif_id: int) -> Row | None:
    """Return the virtual interface with ``vif_id``, or None."""
    key = _query.as_id(vif_id)
    if key is None:
        return None
    return _first_vif(
        _vif_query(context).where(VirtualInterface.id == key)
    )


@_auth.require_context
def virtual_interface_get_by_address(context, address: str) -> Row | None:
    """Return the virtual interface with the MAC ``address``, or None."""
    return _first_vif(
        _vif_query(context).where(VirtualInterface.address == address)
    )


@_auth.require_context
def virtual_interface_get_by_uuid(context, vif_uuid: str) -> Row | None:
    """Return the virtual interface with ``vif_uuid``, or None."""
    return _first_vif(
        _vif_query(context).where(VirtualInterface.uuid == vif_uuid)
    )


@_auth.require_context
def virtual_interface_get_by_instance(context, instance_id: str) -> list[Row]:
    """Return the virtual interfaces of the instance, ordered by id.

    ``instance_id`` is the instance's uuid (the original's parameter name
    notwithstanding).  Raises InvalidUUID, and InstanceNotFound when the
    instance is not visible to the context.
    """
    with _session.reader() as session:
        _check_instance_exists(session, context, instance_id)
        refs = session.scalars(
            _vif_query(context)
            .where(VirtualInterface.instance_uuid == instance_id)
            .order_by(VirtualInterface.id)
        ).all()
        return _query.to_rows(refs)


@_auth.require_context
def virtual_interface_get_by_instance_and_network(
    context, instance_id: str, network_id: int
) -> Row | None:
    """Return the instance's virtual interface on the network, or None.

    ``instance_id`` is the instance's uuid.  Raises InvalidUUID, and
    InstanceNotFound when the instance is not visible to the context.
    """
    key = _query.as_id(network_id)
    with _session.reader() as session:
        _check_instance_exists(session, context, instance_id)
        if key is None and network_id is not None:
            return None
        ref = session.scalars(
            _vif_query(context)
            .where(
                VirtualInterface.instance_uuid == instance_id,
                VirtualInterface.network_id == key,
            )
            .order_by(VirtualInterface.id)
        ).first()
        return _query.to_row(ref)


@_auth.require_context
def virtual_interface_get_all(context) -> list[Row]:
    """Return every virtual interface, ordered by id."""
    with _session.reader() as session:
        refs = session.scalars(
            _vif_query(context).order_by(VirtualInterface.id)
        ).all()
        return _query.to_rows(refs)


@_auth.require_context
def virtual_interface_delete(context, vif_id: int) -> None:
    """Delete (for good) the virtual interface ``vif_id``; no-op if gone."""
    key = _query.as_id(vif_id)
    if key is None:
        return
    with _session.writer() as session:
        session.execute(
            delete(VirtualInterface).where(VirtualInterface.id == key)
        )


@_auth.require_context
def virtual_interface_delete_by_instance(context, instance_id: str) -> None:
    """Delete (for good) every virtual interface of the instance uuid.

    Raises InvalidUUID.  Unlike the original, which looked the interfaces
    up through virtual_interface_get_by_instance (so cleaning up after an
    already deleted instance raised InstanceNotFound) and deleted them
    one transaction each, this is one statement and works whether or not
    the instance still exists.
    """
    _query.validate_uuid(instance_id)
    with _session.writer() as session:
        session.execute(
            delete(VirtualInterface).where(
                VirtualInterface.instance_uuid == instance_id
            )
        )
