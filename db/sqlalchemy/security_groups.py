"""Security groups, their ingress rules, and provider firewall rules.

A security group row is a :class:`db.rows.Row` of the group's columns;
the functions that document it also nest ``rules`` (the group's own live
ingress rules, ``parent_group_id == id``) and ``instances`` (the live
instances associated with it).  A rule's ``group_id``, when set, names
the *grantee*: the group whose members the rule admits.

Group names are unique among a project's live groups (a unique
constraint), which is what makes :func:`security_group_ensure_default`
safe when several instances of a new project boot at once.

For a user context, groups are visible only within the context's
project; admin contexts see every project.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from db import exception
from db.rows import Row
from db.sqlalchemy import _auth, _query, _session
from db.sqlalchemy.models import (
    Instance,
    ProviderFirewallRule,
    SecurityGroup,
    SecurityGroupIngressRule,
    SecurityGroupInstanceAssociation,
)

LOG = logging.getLogger(__name__)

__all__ = [
    "provider_fw_rule_create",
    "provider_fw_rule_destroy",
    "provider_fw_rule_get_all",
    "security_group_count_by_project",
    "security_group_create",
    "security_group_destroy",
    "security_group_ensure_default",
    "security_group_exists",
    "security_group_get",
    "security_group_get_all",
    "security_group_get_by_instance",
    "security_group_get_by_name",
    "security_group_get_by_project",
    "security_group_in_use",
    "security_group_rule_count_by_group",
    "security_group_rule_create",
    "security_group_rule_destroy",
    "security_group_rule_get",
    "security_group_rule_get_by_security_group",
    "security_group_rule_get_by_security_group_grantee",
]

DEFAULT_GROUP = "default"
_JOINS = {
    "instances": SecurityGroup.instances,
    "rules": SecurityGroup.rules,
}


# --------------------------------------------------------------------------
# Argument checks


def _joins(columns_to_join: Iterable[str] | None) -> tuple[str, ...]:
    """Return the relationships a group lookup should nest."""
    if columns_to_join is None:
        return ("instances", "rules")
    if isinstance(columns_to_join, str):
        columns_to_join = [columns_to_join]
    joins = tuple(columns_to_join)
    for name in joins:
        if name not in _JOINS:
            raise exception.InvalidInput(
                reason=f"cannot join {name!r} to a security group; "
                f"choose from {sorted(_JOINS)}"
            )
    return joins


# --------------------------------------------------------------------------
# Security groups


def _group_query(context, *where, joins=("rules",), **visibility):
    stmt = _query.model_query(context, SecurityGroup, **visibility)
    for name in joins:
        stmt = stmt.options(selectinload(_JOINS[name]))
    return stmt.where(*where).order_by(SecurityGroup.id)


def _group_rows(session: Session, stmt, joins=("rules",)) -> list[Row]:
    return _query.to_rows(session.scalars(stmt), *joins)


def _find_group(
    session: Session,
    context,
    project_id: str,
    name: str,
    joins: tuple[str, ...] = (),
    latest: bool = False,
) -> SecurityGroup | None:
    """Return the live group ``name`` of ``project_id``, if there is one.

    ``latest`` makes it a locking read, which sees rows committed after
    the transaction's snapshot was taken (MySQL's REPEATABLE READ would
    otherwise hide a group a concurrent call just created).
    """
    stmt = _group_query(
        context,
        SecurityGroup.project_id == project_id,
        SecurityGroup.name == name,
        joins=joins,
        read_deleted="no",
    )
    if latest:
        stmt = stmt.with_for_update(read=True)
    return session.scalars(stmt.limit(1)).first()


def _insert_group(session: Session, values: dict[str, Any]) -> SecurityGroup:
    """Insert a group inside a savepoint.

    Raises SecurityGroupExists when the project already has a live group
    of that name; the savepoint keeps the caller's transaction usable.
    """
    group = SecurityGroup(**values)
    _session.insert(
        session,
        group,
        duplicate=lambda: exception.SecurityGroupExists(
            project_id=values.get("project_id"),
            security_group_name=values.get("name"),
        ),
    )
    return group


@_auth.require_context
def security_group_create(context, values: Mapping[str, Any]) -> Row:
    """Create a security group and return its Row.

    ``name`` and ``project_id`` are required (a user context may only
    create groups of its own project).  The Row carries empty ``rules``
    and ``instances`` lists.  Raises SecurityGroupExists when the project
    already has a live group of that name.
    """
    checked = _query.check_values(SecurityGroup, values, ignore=("id",))
    for key in ("name", "project_id"):
        if not checked.get(key):
            raise exception.InvalidInput(
                reason=f"a security group needs a {key}"
            )
    _auth.authorize_project_context(context, checked["project_id"])
    with _session.writer() as session:
        group = _insert_group(session, checked)
        LOG.debug("Created security group %s", group.id)
        row = _query.to_row(group)
        row["rules"] = []
        row["instances"] = []
        return row


@_session.retry_on_deadlock
@_auth.require_context
def security_group_ensure_default(context) -> Row:
    """Return the context project's ``default`` group, creating it if need be.

    Safe under concurrency: the insert runs in a savepoint, and when a
    concurrent call created the group first (the unique constraint
    rejects ours), that group is read and returned.  Joins the caller's
    transaction when called inside one (``instance_create``).  The Row
    holds the group's columns only.  Raises InvalidInput for a context
    without a project.
    """
    project_id = context.project_id
    if not project_id:
        raise exception.InvalidInput(
            reason="only a context with a project has a default group"
        )
    with _session.writer() as session:
        group = _find_group(session, context, project_id, DEFAULT_GROUP)
        if group is None:
            values = {
                "name": DEFAULT_GROUP,
                "description": DEFAULT_GROUP,
                "user_id": context.user_id,
                "project_id": project_id,
            }
            try:
                group = _insert_group(session, values)
                LOG.debug("Created default group of project %s", project_id)
            except exception.SecurityGroupExists:
                group = _find_group(
                    session, context, project_id, DEFAULT_GROUP, latest=True
                )
        return _query.to_row(group)


@_auth.require_context
def security_group_get(context, security_group_id: Any) -> Row:
    """Return a group with its ``rules`` and ``instances``.

    Follows the context's ``read_deleted``; a user context sees only its
    project's groups.  Raises SecurityGroupNotFound.
    """
    key = _query.int_id(security_group_id, bounded=True)
    with _session.reader() as session:
        group = None
        if key is not None:
            stmt = _group_query(
                context,
                SecurityGroup.id == key,
                joins=("rules", "instances"),
                project_only=True,
            )
            group = session.scalars(stmt).first()
        if group is None:
            raise exception.SecurityGroupNotFound(
                security_group_id=security_group_id
            )
        return _query.to_row(group, "rules", "instances")


@_auth.require_context
def security_group_get_by_name(
    context, project_id: str, group_name: str, columns_to_join=None
) -> Row:
    """Return the live group ``group_name`` of ``project_id``.

    ``columns_to_join`` names what to nest (``"instances"``, ``"rules"``;
    both by default).  Raises SecurityGroupNotFoundForProject, or
    NotAuthorized when a user context asks for another project.
    """
    _auth.authorize_project_context(context, project_id)
    joins = _joins(columns_to_join)
    with _session.reader() as session:
        group = None
        if isinstance(project_id, str) and isinstance(group_name, str):
            group = _find_group(
                session, context, project_id, group_name, joins
            )
        if group is None:
            raise exception.SecurityGroupNotFoundForProject(
                project_id=project_id, security_group_id=group_name
            )
        return _query.to_row(group, *joins)


@_auth.require_context
def security_group_exists(context, project_id: str, group_name: str) -> bool:
    """Return whether ``project_id`` has a live group ``group_name``."""
    _auth.authorize_project_context(context, project_id)
    with _session.reader() as session:
        stmt = _query.model_query(
            context, SecurityGroup, SecurityGroup.id, read_deleted="no"
        ).where(
            SecurityGroup.project_id == project_id,
            SecurityGroup.name == group_name,
        )
        return session.execute(stmt.limit(1)).first() is not None


@_auth.require_context
def security_group_get_all(context) -> list[Row]:
    """Return all groups with their ``rules``.

    Follows the context's ``read_deleted``; a user context gets only its
    own project's groups.
    """
    with _session.reader() as session:
        stmt = _group_query(context, project_only=True)
        return _group_rows(session, stmt)


@_auth.require_context
def security_group_get_by_project(context, project_id: str) -> list[Row]:
    """Return the live groups of ``project_id`` with their ``rules``."""
    _auth.authorize_project_context(context, project_id)
    with _session.reader() as session:
        stmt = _group_query(
            context,
            SecurityGroup.project_id == project_id,
            read_deleted="no",
        )
        return _group_rows(session, stmt)


@_auth.require_context
def security_group_get_by_instance(context, instance_id: Any) -> list[Row]:
    """Return the live groups of the instance with the integer id.

    Each group carries its ``rules``.  An unknown or deleted instance has
    no groups.
    """
    key = _query.int_id(instance_id, bounded=True)
    if key is None:
        return []
    with _session.reader() as session:
        stmt = (
            _group_query(context, read_deleted="no", project_only=True)
            .join(
                SecurityGroupInstanceAssociation,
                SecurityGroupInstanceAssociation.security_group_id
                == SecurityGroup.id,
            )
            .join(
                Instance,
                Instance.uuid
                == SecurityGroupInstanceAssociation.instance_uuid,
            )
            .where(
                SecurityGroupInstanceAssociation.deleted == 0,
                Instance.deleted == 0,
                Instance.id == key,
            )
        )
        return _group_rows(session, stmt)


@_auth.require_context
def security_group_in_use(context, group_id: Any) -> bool:
    """Return whether a live instance is still in the group."""
    key = _query.int_id(group_id, bounded=True)
    if key is None:
        return False
    with _session.reader() as session:
        stmt = (
            select(SecurityGroupInstanceAssociation.id)
            .join(
                Instance,
                Instance.uuid
                == SecurityGroupInstanceAssociation.instance_uuid,
            )
            .where(
                SecurityGroupInstanceAssociation.security_group_id == key,
                SecurityGroupInstanceAssociation.deleted == 0,
                Instance.deleted == 0,
            )
        )
        return session.execute(stmt.limit(1)).first() is not None


@_auth.require_context
def security_group_count_by_project(context, project_id: str) -> int:
    """Return how many live groups ``project_id`` has."""
    _auth.authorize_project_context(context, project_id)
    with _session.reader() as session:
        stmt = _query.model_query(
            context,
            SecurityGroup,
            func.count(SecurityGroup.id),
            read_deleted="no",
        ).where(SecurityGroup.project_id == project_id)
        return int(session.execute(stmt).scalar_one())


def _soft_delete_group_links(session: Session, group_id: int) -> None:
    """Soft-delete what points at a group: associations and rules.

    A rule goes whether it names the group as its owner
    (``parent_group_id``) or as its grantee (``group_id``).
    """
    association = SecurityGroupInstanceAssociation
    _query.soft_delete_where(
        session, association, association.security_group_id == group_id
    )
    rule = SecurityGroupIngressRule
    _query.soft_delete_where(
        session,
        rule,
        or_(rule.parent_group_id == group_id, rule.group_id == group_id),
    )


@_auth.require_context
def security_group_destroy(context, security_group_id: Any) -> None:
    """Soft-delete a group, its instance associations and its rules.

    Both kinds of rule go: the group's own (``parent_group_id``) and
    those of other groups that grant to it (``group_id``).  Raises
    SecurityGroupNotFound when there is no such live group (or, for a
    user context, none in its project).
    """
    key = _query.int_id(security_group_id, bounded=True)
    with _session.writer() as session:
        group = None
        if key is not None:
            stmt = _group_query(
                context,
                SecurityGroup.id == key,
                joins=(),
                read_deleted="no",
                project_only=True,
            )
            group = session.scalars(stmt).first()
        if group is None:
            raise exception.SecurityGroupNotFound(
                security_group_id=security_group_id
            )

        _query.soft_delete(group)
        _soft_delete_group_links(session, key)
        LOG.debug("Deleted security group %s", key)


# --------------------------------------------------------------------------
# Ingress rules


def _rule_query(context, *where, **visibility):
    stmt = _query.model_query(context, SecurityGroupIngressRule, **visibility)
    return stmt.where(*where).order_by(SecurityGroupIngressRule.id)


def _require_live_group(session: Session, group_id: Any) -> None:
    """Raise SecurityGroupNotFound unless ``group_id`` is a live group."""
    key = _query.int_id(group_id, bounded=True)
    found = None
    if key is not None:
        stmt = select(SecurityGroup.id).where(
            SecurityGroup.id == key, SecurityGroup.deleted == 0
        )
        found = session.execute(stmt).first()
    if found is None:
        raise exception.SecurityGroupNotFound(security_group_id=group_id)


@_auth.require_context
def security_group_rule_create(context, values: Mapping[str, Any]) -> Row:
    """Create an ingress rule and return its Row.

    ``parent_group_id`` (the group the rule belongs to) is required and,
    like the optional grantee ``group_id``, must be a live group, else
    SecurityGroupNotFound.
    """
    checked = _query.check_values(
        SecurityGroupIngressRule, values, ignore=("id",)
    )
    if checked.get("parent_group_id") is None:
        raise exception.InvalidInput(reason="a rule needs a parent_group_id")
    with _session.writer() as session:
        _require_live_group(session, checked["parent_group_id"])
        if checked.get("group_id") is not None:
            _require_live_group(session, checked["group_id"])

        rule = SecurityGroupIngressRule(**checked)
        session.add(rule)
        session.flush()
        return _query.to_row(rule)


@_auth.require_context
def security_group_rule_get(context, security_group_rule_id: Any) -> Row:
    """Return an ingress rule.

    Follows the context's ``read_deleted``.  Raises
    SecurityGroupNotFoundForRule.
    """
    key = _query.int_id(security_group_rule_id, bounded=True)
    with _session.reader() as session:
        rule = None
        if key is not None:
            stmt = _rule_query(context, SecurityGroupIngressRule.id == key)
            rule = session.scalars(stmt).first()
        if rule is None:
            raise exception.SecurityGroupNotFoundForRule(
                rule_id=security_group_rule_id
            )
        return _query.to_row(rule)


@_auth.require_context
def security_group_rule_get_by_security_group(
    context, security_group_id: Any
) -> list[Row]:
    """Return the rules of a group (``parent_group_id``).

    Each rule nests its ``grantee_group`` (None for a CIDR rule) with the
    grantee's ``instances``, and each of those its ``instance_type``: what
    a compute host needs to build the group's firewall.
    """
    key = _query.int_id(security_group_id, bounded=True)
    if key is None:
        return []
    grantee = selectinload(SecurityGroupIngressRule.grantee_group)
    instances = grantee.selectinload(SecurityGroup.instances)
    with _session.reader() as session:
        stmt = _rule_query(
            context, SecurityGroupIngressRule.parent_group_id == key
        ).options(instances.selectinload(Instance.instance_type))
        return _query.to_rows(
            session.scalars(stmt), "grantee_group.instances.instance_type"
        )


@_auth.require_context
def security_group_rule_get_by_security_group_grantee(
    context, security_group_id: Any
) -> list[Row]:
    """Return the rules that grant access to a group (``group_id``)."""
    key = _query.int_id(security_group_id, bounded=True)
    if key is None:
        return []
    with _session.reader() as session:
        stmt = _rule_query(context, SecurityGroupIngressRule.group_id == key)
        return _query.to_rows(session.scalars(stmt))


@_auth.require_context
def security_group_rule_destroy(context, security_group_rule_id: Any) -> None:
    """Soft-delete an ingress rule.

    Raises SecurityGroupNotFoundForRule when there is no such live rule.
    """
    key = _query.int_id(security_group_rule_id, bounded=True)
    with _session.writer() as session:
        rule = None
        if key is not None:
            stmt = _rule_query(
                context,
                SecurityGroupIngressRule.id == key,
                read_deleted="no",
            )
            rule = session.scalars(stmt).first()
        if rule is None:
            raise exception.SecurityGroupNotFoundForRule(
                rule_id=security_group_rule_id
            )
        _query.soft_delete(rule)


@_auth.require_context
def security_group_rule_count_by_group(context, security_group_id: Any) -> int:
    """Return how many live rules the group has (``parent_group_id``)."""
    key = _query.int_id(security_group_id, bounded=True)
    if key is None:
        return 0
    with _session.reader() as session:
        stmt = _query.model_query(
            context,
            SecurityGroupIngressRule,
            func.count(SecurityGroupIngressRule.id),
            read_deleted="no",
        ).where(SecurityGroupIngressRule.parent_group_id == key)
        return int(session.execute(stmt).scalar_one())


# --------------------------------------------------------------------------
# Provider firewall rules


@_auth.require_admin_context
def provider_fw_rule_create(context, rule: Mapping[str, Any]) -> Row:
    """Create a firewall rule that applies to every host and instance."""
    checked = _query.check_values(ProviderFirewallRule, rule, ignore=("id",))
    with _session.writer() as session:
        fw_rule = ProviderFirewallRule(**checked)
        session.add(fw_rule)
        session.flush()
        return _query.to_row(fw_rule)


@_auth.require_admin_context
def provider_fw_rule_get_all(context) -> list[Row]:
    """Return the live provider firewall rules, oldest first."""
    with _session.reader() as session:
        stmt = _query.model_query(
            context, ProviderFirewallRule, read_deleted="no"
        ).order_by(ProviderFirewallRule.id)
        return _query.to_rows(session.scalars(stmt))


@_auth.require_admin_context
def provider_fw_rule_destroy(context, rule_id: Any) -> None:
    """Soft-delete a provider firewall rule.

    Raises ProviderFirewallRuleNotFound when there is no such live rule.
    """
    key = _query.int_id(rule_id, bounded=True)
    with _session.writer() as session:
        deleted = 0
        if key is not None:
            deleted = _query.soft_delete_where(
                session, ProviderFirewallRule, ProviderFirewallRule.id == key
            )
        if not deleted:
            raise exception.ProviderFirewallRuleNotFound(rule_id=rule_id)
