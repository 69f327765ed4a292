"""Filters, sort order and paging of ``instance_get_all_by_filters``.

:func:`filter_clauses` turns a filters dict into WHERE clauses,
:func:`order_by` and :func:`after` give the sort order and the "rows after
the marker" condition.  NULL sorts as the smallest value on every
database, so pages are the same on SQLite, PostgreSQL and MySQL (whose
native NULL orders differ) and a NULL sort value never loses rows (the
original's ``col > NULL`` matched nothing).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, case, false, or_
from sqlalchemy.sql.sqltypes import String, Text

from db import exception
from db.sqlalchemy import _query
from db.sqlalchemy import instance_extras as _extras
from db.sqlalchemy.models import (
    Instance,
    InstanceMetadata,
    InstanceSystemMetadata,
)
from db.sqlalchemy.types import as_utc

_SOFT_DELETED = "soft-delete"
_CONTAINERS = (list, tuple, set, frozenset)


# --------------------------------------------------------------------------
# Filters


#: Filters compared for equality (a list, tuple or set means IN); every
#: other string column is a regular expression, other columns are exact.
_EXACT_FILTERS = frozenset(
    {
        "host",
        "image_ref",
        "instance_type_id",
        "project_id",
        "task_state",
        "user_id",
        "uuid",
        "vm_state",
    }
)
_SPECIAL_FILTERS = ("changes-since", "deleted", "metadata", "system_metadata")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _truth(value: Any, what: str) -> bool:
    """Read a boolean filter value: a bool, 0/1, or 'true'/'no'/..."""
    if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise exception.InvalidValue(
        column=what, reason=f"expected a boolean, got {value!r}"
    )


def _changes_since(value: Any):
    """Changed since ``value``: created, updated or deleted after it.

    The original compared ``updated_at`` only, so it missed instances
    created or deleted after the time but never updated since.
    """
    try:
        since = as_utc(value)
    except exception.InvalidValue as exc:
        raise exception.InvalidValue(
            column="changes-since", reason=exc.kwargs["reason"]
        ) from None
    return or_(
        Instance.updated_at > since,
        Instance.created_at > since,
        Instance.deleted_at > since,
    )


def _deleted_filter(value: Any):
    """True: deleted or soft-deleted; false: neither (NULL vm_state is
    not soft-deleted, which the original's ``!=`` got wrong)."""
    if _truth(value, "deleted"):
        return or_(Instance.deleted != 0, Instance.vm_state == _SOFT_DELETED)
    return and_(
        Instance.deleted == 0,
        or_(Instance.vm_state.is_(None), Instance.vm_state != _SOFT_DELETED),
    )


def _metadata_filter(key: str, value: Any) -> list:
    """One EXISTS per pair: key and value must match the SAME item.

    The original tested the key and the value in two independent EXISTS,
    so a key of one item and the value of another matched.
    """
    items = [value] if isinstance(value, Mapping) else value
    if not isinstance(items, (list, tuple)) or not all(
        isinstance(item, Mapping) for item in items
    ):
        raise exception.InvalidValue(
            column=key, reason="expected a dict or a list of dicts"
        )
    if key == "metadata":
        relation, model = Instance.metadata_items, InstanceMetadata
    else:
        relation = Instance.system_metadata_items
        model = InstanceSystemMetadata
    clauses = []
    for item in items:
        for key_, value_ in _extras._check_metadata(model, item).items():
            clauses.append(
                relation.any(and_(model.key == key_, model.value == value_))
            )
    return clauses


def _exact_filter(key: str, value: Any):
    """``column == value``; a list, tuple or set means IN (an empty one
    matches nothing), and None matches NULL."""
    column = getattr(Instance, key)
    values = list(value) if isinstance(value, _CONTAINERS) else [value]
    wanted = [
        _query.check_values(Instance, {key: item})[key]
        for item in values
        if item is not None
    ]
    clauses = []
    if isinstance(value, _CONTAINERS):
        clauses.append(column.in_(wanted))
    elif wanted:
        clauses.append(column == wanted[0])
    if any(item is None for item in values):
        clauses.append(column.is_(None))
    return or_(*clauses)


def _regex_filter(key: str, value: Any):
    """``column`` matches the regular expression ``str(value)``.

    NULL never matches (the original's SQLite function matched it as the
    text "None").  None asks for NULL.
    """
    column = getattr(Instance, key)
    if value is None:
        return column.is_(None)
    if isinstance(value, (*_CONTAINERS, Mapping)):
        raise exception.InvalidValue(
            column=key, reason="expected one regular expression"
        )
    pattern = str(value)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            re.compile(pattern)
    except re.error as exc:
        raise exception.InvalidValue(
            column=key, reason=f"not a regular expression: {exc}"
        ) from None
    return column.regexp_match(pattern)


def _filter_clause(key: Any, value: Any) -> list:
    """The clauses of one filter; InvalidFilter for an unknown key."""
    if key == "changes-since":
        return [_changes_since(value)]
    if key == "deleted":
        return [_deleted_filter(value)]
    if key in ("metadata", "system_metadata"):
        return _metadata_filter(key, value)
    column = (
        Instance.__table__.columns.get(key) if isinstance(key, str) else None
    )
    if column is None:
        raise exception.InvalidFilter(
            filter=key,
            valid=", ".join(_SPECIAL_FILTERS) + " and the instances columns",
        )
    if key in _EXACT_FILTERS or not isinstance(column.type, (String, Text)):
        return [_exact_filter(key, value)]
    return [_regex_filter(key, value)]


def filter_clauses(context, filters: Any) -> list:
    """Return the WHERE clauses of ``filters`` (not modified).

    A user context's filters are pinned to its own project.
    """
    if filters is None:
        filters = {}
    filters = _query.require_dict(filters, "filters")
    if not context.is_admin:
        filters["project_id"] = context.project_id
    clauses = []
    for key, value in filters.items():
        clauses.extend(_filter_clause(key, value))
    return clauses


# --------------------------------------------------------------------------
# Sorting and pages


def sort_keys(sort_key: Any) -> list[str]:
    """The sort columns: ``sort_key``, then created_at and id as ties."""
    key = "created_at" if sort_key is None else sort_key
    if not isinstance(key, str) or key not in Instance.__table__.columns:
        raise exception.InvalidSortKey(sort_key=sort_key)
    return list(dict.fromkeys([key, "created_at", "id"]))


def ascending(sort_dir: Any) -> bool:
    """Return True for 'asc', False for 'desc' (the default)."""
    direction = "desc" if sort_dir is None else sort_dir
    if not isinstance(direction, str) or direction.lower() not in (
        "asc",
        "desc",
    ):
        raise exception.InvalidSortDir(sort_dir=sort_dir)
    return direction.lower() == "asc"


def check_limit(limit: Any) -> int | None:
    """Return ``limit`` (None: no limit), or raise InvalidInput."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise exception.InvalidInput(
            reason=f"limit must be an integer >= 0, not {limit!r}"
        )
    return limit


def order_by(keys: list[str], ascending: bool) -> list:
    """ORDER BY ``keys``, NULL sorting as the smallest value everywhere."""
    clauses = []
    for key in keys:
        column = getattr(Instance, key)
        if Instance.__table__.columns[key].nullable:
            rank = case((column.is_(None), 0), else_=1)
            clauses.append(rank.asc() if ascending else rank.desc())
        clauses.append(column.asc() if ascending else column.desc())
    return clauses


def _same(key: str, value: Any):
    """The rows whose ``key`` equals ``value`` (NULL included)."""
    column = getattr(Instance, key)
    return column.is_(None) if value is None else column == value


def _beyond(key: str, value: Any, ascending: bool):
    """The rows strictly after ``value`` in the order of :func:`order_by`."""
    column = getattr(Instance, key)
    if ascending:
        return column.is_not(None) if value is None else column > value
    if value is None:
        return false()
    return or_(column < value, column.is_(None))


def after(keys: list[str], values: list[Any], ascending: bool):
    """The rows after the one whose sort ``values`` are given.

    A lexicographic OR of ANDs over ``keys``: equal on the first i keys
    and strictly beyond on key i.
    """
    branches = []
    for index, key in enumerate(keys):
        same = [_same(keys[i], values[i]) for i in range(index)]
        branches.append(and_(*same, _beyond(key, values[index], ascending)))
    return or_(*branches)
