"""DNS domains: which zone or project a DNS domain serves.

A domain is either *private* (scope ``'private'``, serving the instances
of one availability zone) or *public* (scope ``'public'``, owned by one
project).  The domain name is the table's primary key, so there is at
most one row per domain; registering is a race-free get-or-create that
re-scopes an existing row, and unregistering deletes the row for good.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from db import exception
from db.rows import Row
from db.sqlalchemy import _auth, _query, _session, models

LOG = logging.getLogger(__name__)

__all__ = [
    "dnsdomain_get",
    "dnsdomain_list",
    "dnsdomain_register_for_project",
    "dnsdomain_register_for_zone",
    "dnsdomain_unregister",
]

DNSDomain = models.DNSDomain


def _check_domain(fqdomain: Any) -> str:
    _query.require_text(fqdomain, "a DNS domain")
    _query.check_values(DNSDomain, {"domain": fqdomain})
    return fqdomain


def _lock_domain(session: Session, fqdomain: str) -> models.DNSDomain | None:
    """Load the domain's row, deleted or not, locked for update."""
    stmt = select(DNSDomain).where(DNSDomain.domain == fqdomain)
    return session.scalars(stmt.with_for_update()).first()


def _insert_domain(session: Session, fqdomain: str) -> None:
    """Insert an empty row for ``fqdomain`` unless one appeared since."""
    try:
        _session.insert(session, DNSDomain(domain=fqdomain))
    except exception.DBDuplicateEntry:
        LOG.debug("DNS domain %s was registered concurrently", fqdomain)


def _register(fqdomain: str, **values: Any) -> Row:
    """Get or create the domain's row and set ``values`` on it.

    A concurrent registration of the same domain makes our insert fail on
    the primary key; the row is then read again (its creator has
    committed by then) and updated, so the last registration wins and
    neither caller sees an error.
    """
    checked = _query.check_values(DNSDomain, values)

    with _session.writer() as session:
        ref = _lock_domain(session, fqdomain)
        if ref is None:
            _insert_domain(session, fqdomain)
            ref = _lock_domain(session, fqdomain)
        if ref.deleted:
            _query.revive(ref)
        for key, value in checked.items():
            setattr(ref, key, value)
        session.flush()
        return _query.to_row(ref)


@_auth.require_context
def dnsdomain_get(context, fqdomain: str) -> Row | None:
    """Return the live row of ``fqdomain``, or None if it is unknown.

    The original locked the row FOR UPDATE here; a read that commits at
    once gains nothing from a lock, so this one does not take it (the
    register functions lock what they change).
    """
    _check_domain(fqdomain)

    with _session.reader() as session:
        stmt = _query.model_query(
            context, DNSDomain, read_deleted="no"
        ).where(DNSDomain.domain == fqdomain)
        return _query.to_row(session.scalars(stmt).first())


@_auth.require_admin_context
def dnsdomain_register_for_zone(context, fqdomain: str, zone: str) -> Row:
    """Make ``fqdomain`` the private domain of availability zone ``zone``.

    Creates the domain or re-scopes an existing one: scope ``'private'``,
    ``availability_zone = zone``, and no project (the original left a
    previous ``project_id`` behind).  Returns the domain's row.
    """
    _check_domain(fqdomain)
    _query.require_text(zone, "zone")

    return _register(
        fqdomain, scope="private", availability_zone=zone, project_id=None
    )


@_auth.require_admin_context
def dnsdomain_register_for_project(
    context, fqdomain: str, project: str
) -> Row:
    """Make ``fqdomain`` the public domain of project ``project``.

    Creates the domain or re-scopes an existing one: scope ``'public'``,
    ``project_id = project``, and no availability zone (the original left
    a previous zone behind).  Returns the domain's row.
    """
    _check_domain(fqdomain)
    _query.require_text(project, "project")

    return _register(
        fqdomain, scope="public", project_id=project, availability_zone=None
    )


@_auth.require_admin_context
def dnsdomain_unregister(context, fqdomain: str) -> None:
    """Delete ``fqdomain``'s row for good (a hard delete, as the original
    did); an unknown domain is not an error."""
    _check_domain(fqdomain)

    with _session.writer() as session:
        session.execute(delete(DNSDomain).where(DNSDomain.domain == fqdomain))


@_auth.require_context
def dnsdomain_list(context) -> list[str]:
    """Return the names of every live domain, public and private, sorted."""
    with _session.reader() as session:
        stmt = (
            _query.model_query(
                context, DNSDomain, DNSDomain.domain, read_deleted="no"
            )
            .order_by(DNSDomain.domain)
        )
        return list(session.scalars(stmt))
