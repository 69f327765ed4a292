"""Instances: create, read, list, update, destroy.

An instance row is a :class:`db.rows.Row` of the ``instances`` columns
plus ``name`` (from ``instance_name_template``) and, unless a function
says otherwise, these relationships:

- ``instance_type``: the flavor row (with its ``extra_specs`` dict), even
  when the flavor has since been deleted;
- ``info_cache``: the network info cache row (or None);
- ``metadata`` and ``system_metadata``: lists of the live item rows, each
  with ``key`` and ``value``;
- ``security_groups``: the live groups, each with its ``rules``.

Visibility: a user context only ever sees its own project's instances.
Most getters follow the context's ``read_deleted``.  As in the original,
these include deleted instances whatever the context says:
``instance_get_all_by_filters`` (unless filtered on ``deleted``),
``instance_get_active_by_window[_joined]`` and
``instance_get_all_hung_in_rebooting``.

Writers check their arguments (``InvalidUUID``, ``InvalidColumn``,
``InvalidValue``...) before anything is written, and each call is one
transaction.  The metadata, info cache, fault, EC2 id and security group
functions of the group live in :mod:`db.sqlalchemy.instance_extras`; the
filters, sort order and paging of
``instance_get_all_by_filters`` are in
:mod:`db.sqlalchemy._instance_filters`.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import uuid as uuid_lib
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from db import conditions, exception
from db.rows import Row
from db.sqlalchemy import _auth, _query, _session
from db.sqlalchemy import _instance_filters as _filters
from db.sqlalchemy import instance_extras as _extras
from db.sqlalchemy.models import (
    Instance,
    InstanceInfoCache,
    InstanceMetadata,
    InstanceSystemMetadata,
    InstanceTypes,
    SecurityGroup,
    SecurityGroupInstanceAssociation,
)
from db.sqlalchemy.types import as_utc, utcnow

LOG = logging.getLogger(__name__)

__all__ = sorted(
    [
        "instance_create",
        "instance_destroy",
        "instance_get",
        "instance_get_active_by_window",
        "instance_get_active_by_window_joined",
        "instance_get_all",
        "instance_get_all_by_filters",
        "instance_get_all_by_host",
        "instance_get_all_by_host_and_not_type",
        "instance_get_all_by_project",
        "instance_get_all_by_reservation",
        "instance_get_all_hung_in_rebooting",
        "instance_get_by_uuid",
        "instance_test_and_set",
        "instance_update",
        "instance_update_and_get_original",
    ]
)

#: Relationship loaders, by the name a row exposes the relationship as.
_LOADERS = {
    "info_cache": joinedload(Instance.info_cache),
    "instance_type": joinedload(Instance.instance_type).selectinload(
        InstanceTypes.extra_specs
    ),
    "metadata": selectinload(Instance.metadata_items),
    "security_groups": selectinload(Instance.security_groups).selectinload(
        SecurityGroup.rules
    ),
    "system_metadata": selectinload(Instance.system_metadata_items),
}
_ALL_JOINS = tuple(sorted(_LOADERS))
#: Row key -> the ``to_row`` path that fills it (instance_type apart).
_ROW_PATHS = {
    "info_cache": "info_cache",
    "metadata": "metadata_items",
    "security_groups": "security_groups.rules",
    "system_metadata": "system_metadata_items",
}
#: ``values`` keys of instance_create that are not columns.
_CREATE_EXTRAS = (
    "info_cache",
    "instance_type",
    "metadata",
    "security_groups",
    "system_metadata",
)
#: Columns instance_test_and_set may not touch.
_PROTECTED = frozenset({"id", "uuid", "deleted", "deleted_at", "created_at"})
_CONTAINERS = (list, tuple, set, frozenset)
_UNSET: Any = object()


# --------------------------------------------------------------------------
# Rows


def _flavor_row(flavor: InstanceTypes | None) -> Row | None:
    """A flavor as the flavor functions return it: extra_specs a dict."""
    row = _query.to_row(flavor)
    if row is not None:
        row["extra_specs"] = {
            spec.key: spec.value for spec in flavor.extra_specs
        }
    return row


def _instance_row(inst: Instance, joins: Iterable[str] = _ALL_JOINS) -> Row:
    """Return the Row of ``inst`` with the relationships in ``joins``."""
    joins = tuple(joins)
    row = _query.to_row(
        inst, *(_ROW_PATHS[name] for name in joins if name in _ROW_PATHS)
    )
    if "instance_type" in joins:
        row["instance_type"] = _flavor_row(inst.instance_type)
    return row


def _with_joins(stmt, joins: Iterable[str] = _ALL_JOINS):
    """Add the eager loads of ``joins`` to an instance SELECT."""
    return stmt.options(*(_LOADERS[name] for name in joins))


def _load(session: Session, instance_id: int) -> Instance:
    """Re-read an instance with every relationship, fresh from the DB."""
    stmt = (
        _with_joins(select(Instance).where(Instance.id == instance_id))
        .execution_options(populate_existing=True)
    )
    return session.scalars(stmt).one()


def _rows(stmt, joins: Iterable[str] = _ALL_JOINS) -> list[Row]:
    """Run an instance SELECT and return its rows, ordered by id."""
    joins = tuple(joins)
    stmt = _with_joins(stmt, joins).order_by(Instance.id)
    with _session.reader() as session:
        return [_instance_row(inst, joins) for inst in session.scalars(stmt)]


def _check_joins(columns_to_join: Any) -> tuple[str, ...]:
    """Return the relationship names of ``columns_to_join`` (None: all)."""
    if columns_to_join is None:
        return _ALL_JOINS
    if not isinstance(columns_to_join, _CONTAINERS) or not all(
        isinstance(name, str) for name in columns_to_join
    ):
        raise exception.InvalidInput(
            reason="columns_to_join must be a list of relationship names"
        )
    unknown = sorted(set(columns_to_join) - set(_LOADERS))
    if unknown:
        raise exception.InvalidInput(
            reason=f"cannot join {unknown}: choose from {list(_ALL_JOINS)}"
        )
    return tuple(sorted(set(columns_to_join)))


# --------------------------------------------------------------------------
# Getters


@_auth.require_context
def instance_get(context, instance_id: int) -> Row:
    """Return the instance with integer id ``instance_id``.

    Raises InstanceNotFound, or InvalidID for an id that is no integer.
    """
    key = _query.int_id(instance_id, bounded=True)
    with _session.reader() as session:
        inst = None
        if key is not None:
            stmt = _extras._instance_query(context, Instance.id == key)
            inst = session.scalars(_with_joins(stmt)).first()
        if inst is None:
            raise exception.InstanceNotFound(instance_id=instance_id)
        return _instance_row(inst)


@_auth.require_context
def instance_get_by_uuid(context, uuid: str) -> Row:
    """Return the instance with that uuid, or raise InstanceNotFound.

    A value that is not a uuid cannot name an instance, so it raises
    InstanceNotFound too.
    """
    with _session.reader() as session:
        inst = _extras._require_instance(session, context, uuid)
        return _instance_row(_load(session, inst.id))


@_auth.require_context
def instance_get_all(context, columns_to_join: Any = None) -> list[Row]:
    """Return every instance the context may see, ordered by id.

    ``columns_to_join`` names the relationships rows carry (default: all
    of them); unknown names raise InvalidInput.
    """
    joins = _check_joins(columns_to_join)
    return _rows(_extras._instance_query(context), joins)


@_auth.require_admin_context
def instance_get_all_by_host(context, host: str) -> list[Row]:
    """Return the instances on compute host ``host`` (admin only)."""
    return _rows(_extras._instance_query(context, Instance.host == host))


@_auth.require_admin_context
def instance_get_all_by_host_and_not_type(
    context, host: str, type_id: int | None = None
) -> list[Row]:
    """Return the live instances on ``host`` whose flavor is not type_id.

    An instance without a flavor counts as different (the original's
    ``!=`` dropped it); ``type_id=None`` keeps those with a flavor.
    """
    return _rows(
        _extras._instance_query(
            context,
            Instance.host == host,
            Instance.instance_type_id.is_distinct_from(type_id),
            read_deleted="no",
        )
    )


@_auth.require_context
def instance_get_all_by_project(context, project_id: str) -> list[Row]:
    """Return a project's instances; a user may only ask for its own."""
    _auth.authorize_project_context(context, project_id)
    return _rows(
        _extras._instance_query(context, Instance.project_id == project_id)
    )


@_auth.require_context
def instance_get_all_by_reservation(
    context, reservation_id: str
) -> list[Row]:
    """Return the instances booted by one reservation (one request)."""
    return _rows(
        _extras._instance_query(
            context, Instance.reservation_id == reservation_id
        )
    )


def _window_query(context, begin, end, project_id, host):
    """Instances not terminated before ``begin`` nor launched after
    ``end``; deleted ones included."""
    try:
        begin = as_utc(begin)
        end = None if end is None else as_utc(end)
    except exception.InvalidValue as exc:
        raise exception.InvalidValue(
            column="begin/end", reason=exc.kwargs["reason"]
        ) from None
    stmt = _extras._instance_query(
        context,
        or_(Instance.terminated_at.is_(None), Instance.terminated_at > begin),
        read_deleted="yes",
    )
    if end is not None:
        stmt = stmt.where(Instance.launched_at < end)
    if project_id is not None:
        stmt = stmt.where(Instance.project_id == project_id)
    if host is not None:
        stmt = stmt.where(Instance.host == host)
    return stmt


@_auth.require_context
def instance_get_active_by_window(
    context, begin, end=None, project_id: str | None = None,
    host: str | None = None,
) -> list[Row]:
    """Return the instances active at some time between begin and end.

    Active means not terminated before ``begin`` and, if ``end`` is
    given, launched before it; deleted instances count.  Rows carry no
    relationships.  A user context only sees its own project (the
    original let it read any project's).
    """
    if project_id is not None:
        _auth.authorize_project_context(context, project_id)
    stmt = _window_query(context, begin, end, project_id, host)
    return _rows(stmt, joins=())


@_auth.require_admin_context
def instance_get_active_by_window_joined(
    context, begin, end=None, project_id: str | None = None,
    host: str | None = None,
) -> list[Row]:
    """Like :func:`instance_get_active_by_window`, with relationships."""
    return _rows(_window_query(context, begin, end, project_id, host))


@_auth.require_admin_context
def instance_get_all_hung_in_rebooting(
    context, reboot_window: int
) -> list[Row]:
    """Return instances rebooting, unchanged for ``reboot_window`` s.

    As in the original, deleted instances are included.
    """
    number = isinstance(reboot_window, (int, float)) and not isinstance(
        reboot_window, bool
    )
    if not number or reboot_window < 0:
        raise exception.InvalidInput(
            reason="reboot_window must be a number of seconds >= 0, not "
            f"{reboot_window!r}"
        )
    cutoff = utcnow() - datetime.timedelta(seconds=reboot_window)
    return _rows(
        _extras._instance_query(
            context,
            Instance.task_state == "rebooting",
            Instance.updated_at <= cutoff,
            read_deleted="yes",
        )
    )


def _after_marker(session: Session, context, marker: Any, keys, ascending):
    """The rows after the marker instance in the sort order.

    Raises MarkerNotFound for a uuid the caller cannot see (deleted
    instances are fine markers, since the listing includes them).
    """
    inst = None
    if isinstance(marker, str):
        stmt = _extras._instance_query(
            context, Instance.uuid == marker, read_deleted="yes"
        )
        inst = session.scalars(stmt).first()
    if inst is None:
        raise exception.MarkerNotFound(marker=marker)
    return _filters.after(
        keys, [getattr(inst, key) for key in keys], ascending
    )


@_auth.require_context
def instance_get_all_by_filters(
    context,
    filters: Mapping[str, Any],
    sort_key: str = "created_at",
    sort_dir: str = "desc",
    limit: int | None = None,
    marker: str | None = None,
) -> list[Row]:
    """Return the instances matching every filter, sorted and paged.

    Deleted instances are included unless ``deleted`` is filtered (the
    context's ``read_deleted`` does not apply, as in the original).
    Filters:

    - ``changes-since``: created, updated or deleted after that time;
    - ``deleted``: true for deleted or soft-deleted, false for neither;
    - ``metadata`` / ``system_metadata``: a dict (or list of dicts) of
      items the instance must have, each key with its value;
    - project_id, user_id, image_ref, vm_state, task_state, host,
      instance_type_id, uuid, and every non-text column: equality, with a
      list, tuple or set meaning "any of";
    - any other text column: a regular expression (``re.search`` style;
      NULL never matches).

    An unknown filter raises InvalidFilter (the original ignored it and
    returned unfiltered rows).  A user context only sees its project.
    Paging: ``marker`` is the uuid of the last instance of the previous
    page (MarkerNotFound if unknown); ties sort by created_at, then id.
    """
    clauses = _filters.filter_clauses(context, filters)
    keys = _filters.sort_keys(sort_key)
    ascending = _filters.ascending(sort_dir)
    limit = _filters.check_limit(limit)
    stmt = _query.model_query(context, Instance, read_deleted="yes")
    with _session.reader() as session:
        if marker is not None:
            clauses.append(
                _after_marker(session, context, marker, keys, ascending)
            )
        stmt = _with_joins(stmt.where(*clauses)).order_by(
            *_filters.order_by(keys, ascending)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        return [_instance_row(inst) for inst in session.scalars(stmt)]


# --------------------------------------------------------------------------
# instance_create


def _check_group_names(names: Any) -> list[str]:
    """Return the security group names, without repeats."""
    if names is None:
        return []
    if isinstance(names, str) or not isinstance(names, _CONTAINERS) or not (
        all(isinstance(name, str) and name for name in names)
    ):
        raise exception.InvalidInput(
            reason="security_groups must be a list of group names"
        )
    return list(dict.fromkeys(names))


def _check_create(values: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (columns, extras) of instance_create's ``values``."""
    columns = _query.check_values(Instance, values, ignore=_CREATE_EXTRAS)
    if columns.get("uuid") is None:
        columns["uuid"] = str(uuid_lib.uuid4())
    _query.validate_uuid(columns["uuid"])
    extras = {
        "metadata": _extras._check_metadata(
            InstanceMetadata, values.get("metadata") or {}
        ),
        "system_metadata": _extras._check_metadata(
            InstanceSystemMetadata, values.get("system_metadata") or {}
        ),
        "info_cache": _extras._check_cache_values(
            values.get("info_cache") or {}, columns["uuid"]
        ),
        "security_groups": _check_group_names(values.get("security_groups")),
    }
    return columns, extras


def _group_ids(context, names: list[str]) -> list[int]:
    """Resolve group names in the context's project, in this transaction.

    'default' is created if the project has none yet; another unknown
    name raises SecurityGroupNotFoundForProject.
    """
    from db.sqlalchemy import api as sqla_api

    ids = []
    for name in names:
        if name == "default":
            group = sqla_api.security_group_ensure_default(context=context)
        else:
            # Only the id is needed: don't load the group's instances.
            group = sqla_api.security_group_get_by_name(
                context=context, project_id=context.project_id,
                group_name=name, columns_to_join=[],
            )
        ids.append(group["id"])
    return list(dict.fromkeys(ids))


def _add_children(
    session: Session, uuid: str, extras: Mapping[str, Any], groups: list[int]
) -> None:
    """Insert what a new instance owns: items, cache, groups, EC2 id."""
    for model, key in (
        (InstanceMetadata, "metadata"),
        (InstanceSystemMetadata, "system_metadata"),
    ):
        for item_key, value in extras[key].items():
            session.add(model(instance_uuid=uuid, key=item_key, value=value))
    session.add(InstanceInfoCache(instance_uuid=uuid, **extras["info_cache"]))
    for group_id in groups:
        session.add(
            SecurityGroupInstanceAssociation(
                instance_uuid=uuid, security_group_id=group_id
            )
        )
    session.flush()
    _extras._add_ec2_mapping(session, uuid)


@_auth.require_context
def instance_create(context, values: Mapping[str, Any]) -> Row:
    """Create an instance from ``values`` and return its row.

    Besides columns, ``values`` may hold ``metadata`` and
    ``system_metadata`` dicts, ``info_cache`` (columns of the cache every
    instance gets) and ``security_groups`` (names in the context's
    project; 'default' is created on first use).  A nested
    ``instance_type`` is ignored: ``instance_type_id`` names the flavor.
    A uuid is generated unless given.  Everything, the EC2 id mapping
    included, is written in one transaction (the original mapped the EC2
    id in a second one).  A duplicate uuid raises DBDuplicateEntry.
    ``user_id`` and ``project_id`` default to the context's, so that the
    instance a user creates is one that user can read back.
    """
    columns, extras = _check_create(values)
    for key in ("user_id", "project_id"):
        if key not in columns and getattr(context, key, None):
            columns[key] = getattr(context, key)
    with _session.writer() as session:
        groups = _group_ids(context, extras["security_groups"])
        inst = Instance(**columns)
        session.add(inst)
        session.flush()
        _add_children(session, inst.uuid, extras, groups)
        return _instance_row(_load(session, inst.id))


# --------------------------------------------------------------------------
# instance_update


@dataclasses.dataclass
class _Change:
    """The checked ``values`` of an instance update."""

    columns: dict[str, Any]
    metadata: dict[str, str | None] | None = None
    system_metadata: dict[str, str | None] | None = None
    expected: Any = _UNSET


def _check_update(instance_uuid: str, values: Any) -> _Change:
    """Check update ``values`` without changing the caller's dict."""
    values = _query.require_dict(values)
    change = _Change(columns={})
    change.expected = values.pop("expected_task_state", _UNSET)
    for key, model in (
        ("metadata", InstanceMetadata),
        ("system_metadata", InstanceSystemMetadata),
    ):
        items = values.pop(key, None)
        if items is not None:
            setattr(change, key, _extras._check_metadata(model, items))
    if values.get("uuid", instance_uuid) != instance_uuid:
        raise exception.InvalidInput(reason="an instance's uuid is fixed")
    change.columns = _query.check_values(Instance, values)
    return change


def _check_task_state(inst: Instance, expected: Any) -> None:
    """Raise UnexpectedTaskStateError unless task_state is expected."""
    if expected is _UNSET:
        return
    states = (
        list(expected) if isinstance(expected, _CONTAINERS) else [expected]
    )
    if inst.task_state not in states:
        raise exception.UnexpectedTaskStateError(
            actual=inst.task_state, expected=states
        )


def _apply_change(session: Session, inst: Instance, change: _Change) -> None:
    if change.columns.get("id", inst.id) != inst.id:
        raise exception.InvalidInput(reason="an instance's id is fixed")
    for items, model in (
        (change.metadata, InstanceMetadata),
        (change.system_metadata, InstanceSystemMetadata),
    ):
        if items is not None:
            _extras._set_metadata(session, model, inst.uuid, items, True)
    for key, value in change.columns.items():
        setattr(inst, key, value)
    session.flush()


def _update(
    context, instance_uuid: str, values: Any, want_old: bool
) -> tuple[Row | None, Row]:
    """Update in one transaction; return (old row or None, new row).

    The instance row is locked (SELECT ... FOR UPDATE) before the task
    state is checked, so two updates expecting the same state cannot both
    succeed.
    """
    _query.validate_uuid(instance_uuid)
    change = _check_update(instance_uuid, values)
    with _session.writer() as session:
        inst = _extras._require_instance(
            session, context, instance_uuid, lock=True
        )
        _check_task_state(inst, change.expected)
        old = _instance_row(_load(session, inst.id)) if want_old else None
        _apply_change(session, inst, change)
        return old, _instance_row(_load(session, inst.id))


@_auth.require_context
def instance_update(context, instance_uuid: str, values: Mapping) -> Row:
    """Set ``values`` on the instance and return its new row.

    ``metadata`` / ``system_metadata`` dicts replace the instance's items
    wholesale.  ``expected_task_state`` (a state, None, or a list of
    them) makes the update conditional: if the instance's task_state is
    not one of them, UnexpectedTaskStateError is raised and nothing
    changes.  Raises InvalidUUID, then InstanceNotFound.  ``values`` is
    not modified (the original popped keys from it).
    """
    return _update(context, instance_uuid, values, want_old=False)[1]


@_auth.require_context
def instance_update_and_get_original(
    context, instance_uuid: str, values: Mapping
) -> tuple[Row, Row]:
    """Like :func:`instance_update`; return ``(old_row, new_row)``.

    The old row is the instance as it was just before this update, in
    the same transaction, relationships included.
    """
    return _update(context, instance_uuid, values, want_old=True)


# --------------------------------------------------------------------------
# instance_destroy and instance_test_and_set


def _constraint_clauses(constraint: Any) -> list:
    if constraint is None:
        return []
    if not isinstance(constraint, conditions.Constraint):
        raise exception.InvalidInput(
            reason="constraint must be built with db.constraint()"
        )
    return constraint.clauses(Instance)


@_auth.require_context
def instance_destroy(context, instance_uuid: str, constraint=None) -> Row:
    """Soft-delete the instance, its group memberships and info cache.

    ``constraint`` (``db.constraint(vm_state=db.equal_any(...))``) is
    checked in the same UPDATE that deletes: if the instance does not
    match, ConstraintNotMet is raised and nothing changes.  Metadata,
    system metadata and block devices are left alone, as in the original.
    Returns the destroyed instance: its relationships as they were, its
    ``deleted`` / ``deleted_at`` as written.  Raises InvalidUUID, then
    InstanceNotFound (also for an instance that is deleted already).
    """
    _query.validate_uuid(instance_uuid)
    guard = _constraint_clauses(constraint)
    with _session.writer() as session:
        inst = _extras._require_instance(session, context, instance_uuid)
        if inst.deleted:
            raise exception.InstanceNotFound(instance_id=instance_uuid)
        row = _instance_row(_load(session, inst.id))
        stmt = _query.soft_delete_stmt(
            Instance, Instance.id == inst.id, *guard
        )
        if session.execute(stmt).rowcount != 1:
            raise exception.ConstraintNotMet()
        for model in (SecurityGroupInstanceAssociation, InstanceInfoCache):
            _query.soft_delete_where(
                session, model, model.instance_uuid == instance_uuid
            )
        stmt = select(Instance.deleted, Instance.deleted_at).where(
            Instance.id == inst.id
        )
        row.update(session.execute(stmt).one()._asdict())
    LOG.debug("Destroyed instance %s", instance_uuid)
    return row


def _state_clause(attr: Any, ok_states: Any):
    """``attr IN ok_states``, with None in ok_states matching NULL."""
    if not isinstance(attr, str) or attr not in Instance.__table__.columns:
        raise exception.InvalidColumn(table="instances", column=attr)
    if attr in _PROTECTED:
        raise exception.InvalidInput(
            reason=f"instance_test_and_set cannot change {attr}"
        )
    states = (
        list(ok_states) if isinstance(ok_states, _CONTAINERS) else [ok_states]
    )
    column = getattr(Instance, attr)
    wanted = [
        _query.check_values(Instance, {attr: state})[attr]
        for state in states
        if state is not None
    ]
    clause = column.in_(wanted)
    if any(state is None for state in states):
        clause = or_(clause, column.is_(None))
    return clause


@_auth.require_context
def instance_test_and_set(
    context, instance_uuid: str, attr: str, ok_states: Any, new_state: Any
) -> None:
    """Set ``attr`` to ``new_state`` if it is one of ``ok_states``.

    One compare-and-swap UPDATE, so of two concurrent callers only one
    wins.  ``ok_states`` is a list, tuple or set (a single state is taken
    as a list of one); None in it matches NULL.  Raises InvalidUUID,
    InvalidColumn for an ``attr`` that is no column, InstanceNotFound,
    or InstanceInvalidState when the instance is in another state.
    """
    _query.validate_uuid(instance_uuid)
    guard = _state_clause(attr, ok_states)
    value = _query.check_values(Instance, {attr: new_state})[attr]
    with _session.writer() as session:
        where = [Instance.uuid == instance_uuid, Instance.deleted == 0]
        if not context.is_admin:
            where.append(Instance.project_id == context.project_id)
        stmt = (
            update(Instance)
            .where(*where, guard)
            .values({attr: value})
            .execution_options(synchronize_session=False)
        )
        if session.execute(stmt).rowcount == 1:
            return
        inst = _extras._require_instance(
            session, context, instance_uuid, read_deleted="no"
        )
        raise exception.InstanceInvalidState(
            instance_uuid=instance_uuid,
            attr=attr,
            state=getattr(inst, attr),
            method="instance_test_and_set",
        )
