"""Address management helpers shared by the fixed IP and network modules.

- :func:`claim` hands out one free row of a pool (a fixed IP, a network)
  exactly once, however many transactions ask at the same moment, without
  table locks (Galera clusters reject them).  Where the database can skip
  locked rows (PostgreSQL, MySQL 8, MariaDB 10.6) it locks the first free
  row nobody else holds; elsewhere it claims a row with a guarded
  ``UPDATE ... WHERE id = :picked AND <still free>`` and checks the
  rowcount, retrying a bounded number of times when it lost the race.  On
  SQLite a writer's ``BEGIN IMMEDIATE`` already serialises the claims.
- :func:`insert_fixed_ips` writes many fixed IP rows with multi-row
  ``INSERT`` statements (no per-row flush).
- :func:`savepoint` runs a write in a savepoint, so a unique violation
  surfaces as ``DBDuplicateEntry`` with the transaction still usable.
- :func:`address`, :func:`lookup_address` and :func:`network` check and
  normalise IP addresses and CIDRs with :mod:`ipaddress`.
"""

from __future__ import annotations

import collections
import contextlib
import ipaddress
import logging
import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from db import exception
from db.sqlalchemy import _session, models
from db.sqlalchemy.types import utcnow

LOG = logging.getLogger(__name__)

#: Guarded-UPDATE claims: rounds of candidates tried before giving up
#: (the deadlock retry then restarts the whole transaction), and free rows
#: considered per round.
_CLAIM_ROUNDS = 8
_CLAIM_CANDIDATES = 16
#: Bind parameters one INSERT may carry (SQLite before 3.32 allows 999).
_PARAM_BUDGET = 32000
_OLD_SQLITE_PARAM_BUDGET = 999
_MAX_ROWS_PER_INSERT = 1000

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


# --------------------------------------------------------------------------
# Ids, addresses and CIDRs


def as_id(value: Any) -> int | None:
    """Return ``value`` as a row id, or None if no row can have it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and 0 < value < 2**31:
        return value
    return None


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
# Savepoints


@contextlib.contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """Run the block, then flush, inside a savepoint.

    Make the ORM changes (``add``, attribute writes) *inside* the block:
    a database error rolls back only the savepoint and is raised
    translated (``DBDuplicateEntry``, ``DBReferenceError``...), so the
    caller may turn it into its own error or carry on.
    """
    try:
        with session.begin_nested():
            yield
            session.flush()
    except sa_exc.SQLAlchemyError as exc:
        raise _session.translate(exc) from None


# --------------------------------------------------------------------------
# Claiming one free row of a pool


def supports_skip_locked(session: Session) -> bool:
    """Whether the database has ``SELECT ... FOR UPDATE SKIP LOCKED``."""
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        return True
    if dialect.name == "mysql":
        version = dialect.server_version_info or (0,)
        if getattr(dialect, "is_mariadb", False):
            return version >= (10, 6)
        return version >= (8, 0, 1)
    return False


def claim(
    session: Session,
    model: type[models.Base],
    where: Sequence[Any],
    values: Mapping[str, Any],
    order_by: Sequence[Any] = (),
) -> int | None:
    """Set ``values`` on one live row of ``model`` that matches ``where``.

    ``where`` must only use ``model``'s columns and must stop matching
    once ``values`` are set (it is what makes a row "free").  Returns the
    id of the claimed row, or None when no free row exists.  Raises
    DBDeadlock if it kept losing races (the outermost call's deadlock
    retry then starts over with a fresh transaction).
    """
    where = (model.deleted == 0, *where)
    pick = select(model.id).where(*where).order_by(*order_by, model.id)
    if supports_skip_locked(session):
        return _claim_locked(session, model, pick, where, values)
    return _claim_guarded(session, model, pick, where, values)


def _take(session: Session, model, row_id: int, where, values) -> bool:
    """Run the guarded UPDATE of one picked row; True if it was still free.
    """
    result = session.execute(
        update(model)
        .where(model.id == row_id, *where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _claim_locked(session: Session, model, pick, where, values):
    """Lock a free row that no other transaction holds, and take it.

    When every free row is locked by others, wait on them with a plain
    FOR UPDATE: the database re-checks each row once its holder ends, so
    "none left" is exact even if a holder rolls back.
    """
    pick = pick.limit(1)
    for _ in range(_CLAIM_ROUNDS):
        row_id = session.scalar(pick.with_for_update(skip_locked=True))
        if row_id is None:
            row_id = session.scalar(pick.with_for_update())
        if row_id is None:
            return None
        if _take(session, model, row_id, where, values):
            return row_id
    raise exception.DBDeadlock(
        reason=f"kept losing claims on {model.__tablename__}"
    )


def _claim_guarded(session: Session, model, pick, where, values):
    """Claim with guarded UPDATEs only (no row locks at all).

    Every racer tries the first free row, then the other candidates in a
    random order, so concurrent claimers seldom collide twice.
    """
    for round_number in range(_CLAIM_ROUNDS):
        candidates = list(session.scalars(pick.limit(_CLAIM_CANDIDATES)))
        if not candidates:
            return None

        first, others = candidates[0], candidates[1:]
        random.shuffle(others)
        for row_id in (first, *others):
            if _take(session, model, row_id, where, values):
                return row_id
        LOG.debug(
            "Lost every claim on %s in round %d; retrying",
            model.__tablename__, round_number + 1,
        )
    raise exception.DBDeadlock(
        reason=f"kept losing claims on {model.__tablename__}"
    )


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
        with savepoint(session):
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
