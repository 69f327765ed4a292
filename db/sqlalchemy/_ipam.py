"""Address management helpers shared by the fixed IP and network modules.

- :func:`insert_fixed_ips` writes many fixed IP rows with multi-row
  ``INSERT`` statements (no per-row flush).
- :func:`address`, :func:`lookup_address` and :func:`network` check and
  normalise IP addresses and CIDRs with :mod:`ipaddress`.

Claiming one free row of a pool is :func:`db.sqlalchemy._query.claim`.
"""

from __future__ import annotations

import collections
import ipaddress
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from db import exception
from db.sqlalchemy import _session, models
from db.sqlalchemy.types import utcnow

LOG = logging.getLogger(__name__)

#: Bind parameters one INSERT may carry (SQLite before 3.32 allows 999).
_PARAM_BUDGET = 32000
_OLD_SQLITE_PARAM_BUDGET = 999
_MAX_ROWS_PER_INSERT = 1000

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


# --------------------------------------------------------------------------
# Addresses and CIDRs


def address(value: Any) -> str:
    """Return the canonical text of the IP address ``value`` (for writes).

    Raises InvalidIpAddress for anything that is not an IPv4 or IPv6
    address string.
    """
    if isinstance(value, str):
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            pass
    raise exception.InvalidIpAddress(address=value)


def lookup_address(value: Any) -> str:
    """Return the text to look the address ``value`` up by.

    A valid address is normalised the way :func:`address` stores it; any
    other string is kept (it is simply not found); a non-string raises
    InvalidIpAddress.
    """
    if not isinstance(value, str):
        raise exception.InvalidIpAddress(address=value)
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return value


def network(value: Any, version: int | None = None) -> Network:
    """Parse the CIDR ``value`` strictly (no host bits may be set).

    :param version: 4 or 6 to require that address family.
    Raises InvalidCidr.
    """
    if not isinstance(value, str):
        raise exception.InvalidCidr(cidr=value, reason="not a string")
    try:
        parsed = ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as exc:
        raise exception.InvalidCidr(cidr=value, reason=str(exc)) from None
    if version is not None and parsed.version != version:
        raise exception.InvalidCidr(
            cidr=value, reason=f"expected an IPv{version} network"
        )
    return parsed


# --------------------------------------------------------------------------
# Bulk insert of fixed IPs

_FIXED_IP_DEFAULTS: dict[str, Any] = {
    "address": None,
    "network_id": None,
    "virtual_interface_id": None,
    "instance_uuid": None,
    "allocated": False,
    "leased": False,
    "reserved": False,
    "host": None,
}


def _rows_per_insert(session: Session, width: int) -> int:
    dialect = session.get_bind().dialect
    budget = _PARAM_BUDGET
    if dialect.name == "sqlite" and (
        getattr(dialect, "dbapi", None) is not None
        and dialect.dbapi.sqlite_version_info < (3, 32)
    ):
        budget = _OLD_SQLITE_PARAM_BUDGET
    return max(1, min(_MAX_ROWS_PER_INSERT, budget // width))


def _complete(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Give every row the same keys (a multi-row INSERT needs that)."""
    now = utcnow()
    keys = set(_FIXED_IP_DEFAULTS).union(*(row.keys() for row in rows))
    base = {key: None for key in keys}
    base.update(_FIXED_IP_DEFAULTS, created_at=now, deleted=0)
    return [{**base, **row} for row in rows]


def insert_fixed_ips(
    session: Session, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Insert checked fixed IP rows with multi-row INSERTs; return count.

    ``rows`` must already be checked (``_query.check_values``) and carry
    canonical ``address`` values.  Raises FixedIpExists, naming one
    address, when an address is repeated or already live; nothing is
    written then (the statements run in a savepoint).
    """
    addresses = [row["address"] for row in rows]
    repeated = _first_repeated(addresses)
    if repeated is not None:
        raise exception.FixedIpExists(address=repeated)
    if not rows:
        return 0

    complete = _complete(rows)
    size = _rows_per_insert(session, len(complete[0]))
    try:
        with _session.savepoint(session):
            for start in range(0, len(complete), size):
                session.execute(
                    insert(models.FixedIp.__table__).values(
                        complete[start:start + size]
                    )
                )
    except exception.DBDuplicateEntry:
        raise exception.FixedIpExists(
            address=_first_live(session, addresses)
        ) from None
    return len(complete)


def _first_repeated(addresses: Sequence[str]) -> str | None:
    counts = collections.Counter(addresses)
    return next((a for a in addresses if counts[a] > 1), None)


def _first_live(session: Session, addresses: Sequence[str]) -> str:
    """Return the first of ``addresses`` a live fixed IP already has."""
    fixed_ip = models.FixedIp
    for start in range(0, len(addresses), _MAX_ROWS_PER_INSERT):
        chunk = addresses[start:start + _MAX_ROWS_PER_INSERT]
        found = set(
            session.scalars(
                select(fixed_ip.address).where(
                    fixed_ip.deleted == 0, fixed_ip.address.in_(chunk)
                )
            )
        )
        for candidate in chunk:
            if candidate in found:
                return candidate
    return addresses[0]
