"""Instance types (flavors), their extra specs and their project access.

A flavor row is a :class:`db.rows.Row` of the ``instance_types`` columns
plus ``extra_specs``, a plain ``{key: value}`` dict of its live specs.

Two keys identify a flavor: its integer ``id`` (what instances store in
``instance_type_id``) and its string ``flavorid`` (what users see and what
the extra-spec and access functions take).  Names and flavorids are unique
among live flavors; the table's unique constraints enforce that, so two
concurrent creates cannot both succeed.

Getters follow the context's ``read_deleted``, so a context made with
``read_deleted="yes"`` still finds the flavor a deleted instance was built
from.  Writers only ever touch live flavors.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from db import exception
from db.rows import Row
from db.sqlalchemy import _auth, _query, _session
from db.sqlalchemy.models import (
    InstanceTypeExtraSpecs,
    InstanceTypeProjects,
    InstanceTypes,
)

LOG = logging.getLogger(__name__)

__all__ = [
    "instance_type_access_add",
    "instance_type_access_get_by_flavor_id",
    "instance_type_access_remove",
    "instance_type_create",
    "instance_type_destroy",
    "instance_type_extra_specs_delete",
    "instance_type_extra_specs_get",
    "instance_type_extra_specs_update_or_create",
    "instance_type_get",
    "instance_type_get_all",
    "instance_type_get_by_flavor_id",
    "instance_type_get_by_name",
]

_REQUIRED = ("name", "flavorid", "memory_mb", "vcpus")
#: column -> smallest value a flavor may have there.
_MINIMUM = {
    "memory_mb": 1,
    "vcpus": 1,
    "root_gb": 0,
    "ephemeral_gb": 0,
    "swap": 0,
}
_FILTERS = ("disabled", "is_public", "min_memory_mb", "min_root_gb")


# --------------------------------------------------------------------------
# Argument checks


def _flavorid(value: Any) -> str:
    """Return a flavorid argument as the string the column holds."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise exception.FlavorNotFound(flavor_id=value)
    return value


def _check_specs(specs: Any) -> dict[str, str | None]:
    """Return an extra-specs dict with its keys and values checked.

    Values are stored as strings (numbers are converted); containers,
    empty keys and over-long keys or values raise before anything is
    written.
    """
    return _query.check_items(
        InstanceTypeExtraSpecs,
        specs,
        "extra_specs",
        lambda key: _query.require_text(key, "an extra spec key"),
    )


def _check_flavor(values: Any) -> tuple[dict[str, Any], dict]:
    """Return the checked columns and extra specs of a new flavor."""
    columns = _query.check_values(
        InstanceTypes, values, ignore=("extra_specs", "id")
    )
    for key in _REQUIRED:
        if columns.get(key) in (None, ""):
            raise exception.InvalidInput(reason=f"a flavor needs a {key}")
    for key, minimum in _MINIMUM.items():
        if columns.get(key) is not None and columns[key] < minimum:
            raise exception.InvalidValue(
                column=f"instance_types.{key}",
                reason=f"must be at least {minimum}, not {columns[key]}",
            )
    if columns.get("rxtx_factor") is not None and columns["rxtx_factor"] <= 0:
        raise exception.InvalidValue(
            column="instance_types.rxtx_factor", reason="must be positive"
        )
    return columns, _check_specs(values.get("extra_specs") or {})


# --------------------------------------------------------------------------
# Queries and rows


def _flavor_row(flavor: InstanceTypes, specs=None) -> Row:
    """Return a flavor's Row with ``extra_specs`` as a dict.

    ``specs`` defaults to the flavor's loaded ``extra_specs``.
    """
    row = _query.to_row(flavor)
    if specs is None:
        specs = flavor.extra_specs
    row["extra_specs"] = {spec.key: spec.value for spec in specs}
    return row


def _flavor_query(context, *where, read_deleted: str | None = None):
    return (
        _query.model_query(context, InstanceTypes, read_deleted=read_deleted)
        .where(*where)
        .options(selectinload(InstanceTypes.extra_specs))
    )


def _first(session: Session, stmt) -> Any:
    return session.scalars(stmt.order_by(InstanceTypes.id).limit(1)).first()


def _live_flavor(session: Session, context, flavor_id: Any) -> InstanceTypes:
    """Return the live flavor with ``flavor_id``, else FlavorNotFound."""
    flavorid = _flavorid(flavor_id)
    flavor = _first(
        session,
        _flavor_query(
            context, InstanceTypes.flavorid == flavorid, read_deleted="no"
        ),
    )
    if flavor is None:
        raise exception.FlavorNotFound(flavor_id=flavor_id)
    return flavor


def _get_all_query(context, inactive: bool, filters: Any):
    """Return the query of ``instance_type_get_all`` with its filters."""
    _query.require_dict(filters, "filters")
    for name in filters:
        if name not in _FILTERS:
            raise exception.InvalidFilter(
                filter=name, valid=", ".join(_FILTERS)
            )
    stmt = _flavor_query(context, read_deleted="yes" if inactive else "no")

    for name, column in (
        ("min_memory_mb", InstanceTypes.memory_mb),
        ("min_root_gb", InstanceTypes.root_gb),
    ):
        if name in filters:
            minimum = _filter_value(name, column.key, filters[name])
            stmt = stmt.where(column >= minimum)
    if "disabled" in filters:
        disabled = _filter_value("disabled", "disabled", filters["disabled"])
        stmt = stmt.where(InstanceTypes.disabled == disabled)
    if filters.get("is_public") is not None:
        stmt = stmt.where(_public_clause(context, filters["is_public"]))
    return stmt.order_by(InstanceTypes.name, InstanceTypes.id)


def _filter_value(name: str, column: str, value: Any) -> Any:
    """Return a filter's value checked against the column it compares."""
    if value is None:
        raise exception.InvalidInput(reason=f"filter {name} needs a value")
    return _query.check_values(InstanceTypes, {column: value})[column]


def _public_clause(context, wanted: Any):
    """The ``is_public`` filter: True also admits the project's flavors."""
    wanted = _filter_value("is_public", "is_public", wanted)
    clause = InstanceTypes.is_public == wanted
    if wanted and getattr(context, "project_id", None) is not None:
        granted = InstanceTypes.projects.any(
            InstanceTypeProjects.project_id == context.project_id
        )
        clause = or_(clause, granted)
    return clause


# --------------------------------------------------------------------------
# Flavors


@_auth.require_admin_context
def instance_type_create(context, values: Mapping[str, Any]) -> Row:
    """Create a flavor and its ``extra_specs`` (a dict) in one step.

    ``name``, ``flavorid``, ``memory_mb`` and ``vcpus`` are required.
    Raises InstanceTypeExists when a live flavor already has the name or
    the flavorid; the check is the table's unique constraints, so it
    holds under concurrent creates.  Returns the new flavor's Row.
    """
    columns, specs = _check_flavor(values)

    with _session.writer() as session:
        flavor = InstanceTypes(**columns)
        _session.insert(
            session,
            flavor,
            duplicate=lambda: exception.InstanceTypeExists(
                name=columns["name"], flavorid=columns["flavorid"]
            ),
        )

        rows = [
            InstanceTypeExtraSpecs(
                instance_type_id=flavor.id, key=key, value=value
            )
            for key, value in specs.items()
        ]
        session.add_all(rows)
        session.flush()
        LOG.debug("Created flavor %s (id %s)", flavor.name, flavor.id)
        return _flavor_row(flavor, rows)


@_auth.require_admin_context
def instance_type_destroy(context, name: str) -> None:
    """Soft-delete the live flavor called ``name``.

    Its extra specs and project access rows go with it, so a new flavor
    of the same name or flavorid starts clean.  Raises
    InstanceTypeNotFoundByName when there is no such live flavor.
    """
    with _session.writer() as session:
        flavor = None
        if isinstance(name, str):
            flavor = _first(
                session,
                _query.model_query(
                    context, InstanceTypes, read_deleted="no"
                ).where(InstanceTypes.name == name),
            )
        if flavor is None:
            raise exception.InstanceTypeNotFoundByName(instance_type_name=name)

        _query.soft_delete(flavor)
        for model in (InstanceTypeExtraSpecs, InstanceTypeProjects):
            _query.soft_delete_where(
                session, model, model.instance_type_id == flavor.id
            )
        LOG.debug("Deleted flavor %s (id %s)", name, flavor.id)


@_auth.require_context
def instance_type_get(context, id: Any) -> Row:
    """Return the flavor with the integer ``id``.

    Follows the context's ``read_deleted``.  Raises
    InstanceTypeNotFound.
    """
    key = _query.int_id(id, bounded=True)
    with _session.reader() as session:
        flavor = None
        if key is not None:
            flavor = _first(
                session, _flavor_query(context, InstanceTypes.id == key)
            )
        if flavor is None:
            raise exception.InstanceTypeNotFound(instance_type_id=id)
        return _flavor_row(flavor)


@_auth.require_context
def instance_type_get_by_name(context, name: str) -> Row:
    """Return the flavor called ``name``.

    Follows the context's ``read_deleted``; when deleted flavors are
    visible and several share the name, the oldest is returned.  Raises
    InstanceTypeNotFoundByName.
    """
    with _session.reader() as session:
        flavor = None
        if isinstance(name, str):
            flavor = _first(
                session, _flavor_query(context, InstanceTypes.name == name)
            )
        if flavor is None:
            raise exception.InstanceTypeNotFoundByName(instance_type_name=name)
        return _flavor_row(flavor)


@_auth.require_context
def instance_type_get_by_flavor_id(context, id: Any) -> Row:
    """Return the flavor whose ``flavorid`` is ``id`` (a string).

    Follows the context's ``read_deleted`` (the oldest match first).
    Raises FlavorNotFound.
    """
    flavorid = _flavorid(id)
    with _session.reader() as session:
        flavor = _first(
            session,
            _flavor_query(context, InstanceTypes.flavorid == flavorid),
        )
        if flavor is None:
            raise exception.FlavorNotFound(flavor_id=id)
        return _flavor_row(flavor)


@_auth.require_context
def instance_type_get_all(
    context, inactive: bool = False, filters: Mapping | None = None
) -> list[Row]:
    """Return the flavors, ordered by name.

    ``inactive`` includes deleted flavors (whatever the context's
    ``read_deleted``).  ``filters`` may hold ``min_memory_mb``,
    ``min_root_gb``, ``disabled`` and ``is_public``; ``is_public=True``
    also admits private flavors the context's project was given access
    to, and ``is_public=None`` means no filter.  Any other filter raises
    InvalidFilter.  The caller's ``filters`` dict is left unchanged.
    """
    stmt = _get_all_query(context, bool(inactive), filters or {})
    with _session.reader() as session:
        return [_flavor_row(flavor) for flavor in session.scalars(stmt)]


# --------------------------------------------------------------------------
# Project access to private flavors


def _access_row(session: Session, flavor_pk: int, project_id: str, live):
    """Return the newest access row of a project, live or deleted."""
    stmt = select(InstanceTypeProjects).where(
        InstanceTypeProjects.instance_type_id == flavor_pk,
        InstanceTypeProjects.project_id == project_id,
    )
    if live:
        stmt = stmt.where(InstanceTypeProjects.deleted == 0)
    else:
        stmt = stmt.where(InstanceTypeProjects.deleted != 0)
    order = InstanceTypeProjects.id.desc()
    return session.scalars(stmt.order_by(order).limit(1)).first()


@_auth.require_admin_context
def instance_type_access_get_by_flavor_id(context, flavor_id: Any) -> list:
    """Return the live access rows of the flavor with ``flavor_id``.

    Each row names a project (``project_id``) allowed to use the private
    flavor (``instance_type_id``).  Raises FlavorNotFound when no live
    flavor has that flavorid.
    """
    with _session.reader() as session:
        flavor = _live_flavor(session, context, flavor_id)
        stmt = (
            select(InstanceTypeProjects)
            .where(
                InstanceTypeProjects.instance_type_id == flavor.id,
                InstanceTypeProjects.deleted == 0,
            )
            .order_by(InstanceTypeProjects.id)
        )
        return _query.to_rows(session.scalars(stmt))


@_auth.require_admin_context
def instance_type_access_add(context, flavor_id: Any, project_id: str) -> Row:
    """Give ``project_id`` access to the flavor with ``flavor_id``.

    A soft-deleted grant of the same pair is revived rather than copied.
    Raises FlavorNotFound, or FlavorAccessExists when the project already
    has access (also when a concurrent call just granted it).  Returns
    the access row.
    """
    _query.require_text(project_id, "project_id")
    with _session.writer() as session:
        flavor = _live_flavor(session, context, flavor_id)
        exists = exception.FlavorAccessExists(
            flavor_id=flavor_id, project_id=project_id
        )
        if _access_row(session, flavor.id, project_id, live=True):
            raise exists

        access = _access_row(session, flavor.id, project_id, live=False)
        with _session.savepoint(session, duplicate=lambda: exists):
            if access is None:
                access = InstanceTypeProjects(
                    instance_type_id=flavor.id, project_id=project_id
                )
                session.add(access)
            else:
                _query.revive(access)
        return _query.to_row(access)


@_auth.require_admin_context
def instance_type_access_remove(
    context, flavor_id: Any, project_id: str
) -> None:
    """Take ``project_id``'s access to the flavor away (a soft delete).

    Raises FlavorNotFound, or FlavorAccessNotFound when the project has
    no live grant.
    """
    with _session.writer() as session:
        flavor = _live_flavor(session, context, flavor_id)
        access = None
        if isinstance(project_id, str):
            access = _access_row(session, flavor.id, project_id, live=True)
        if access is None:
            raise exception.FlavorAccessNotFound(
                flavor_id=flavor_id, project_id=project_id
            )
        _query.soft_delete(access)


# --------------------------------------------------------------------------
# Extra specs, keyed by flavorid


def _live_spec(session: Session, flavor_pk: int, key: str):
    stmt = select(InstanceTypeExtraSpecs).where(
        InstanceTypeExtraSpecs.instance_type_id == flavor_pk,
        InstanceTypeExtraSpecs.key == key,
        InstanceTypeExtraSpecs.deleted == 0,
    )
    return session.scalars(stmt.limit(1)).first()


def _deleted_spec(session: Session, flavor_pk: int, key: str):
    stmt = select(InstanceTypeExtraSpecs).where(
        InstanceTypeExtraSpecs.instance_type_id == flavor_pk,
        InstanceTypeExtraSpecs.key == key,
        InstanceTypeExtraSpecs.deleted != 0,
    )
    order = InstanceTypeExtraSpecs.id.desc()
    return session.scalars(stmt.order_by(order).limit(1)).first()


def _set_spec(session: Session, flavor_pk: int, key: str, value) -> None:
    """Set one spec: update the live row, else revive or insert one.

    The insert runs in a savepoint: if a concurrent call created the
    live row first, the unique constraint rejects ours and the winner's
    row is updated instead.
    """
    spec = _live_spec(session, flavor_pk, key)
    if spec is None:
        try:
            with _session.savepoint(session):
                spec = _deleted_spec(session, flavor_pk, key)
                if spec is None:
                    spec = InstanceTypeExtraSpecs(
                        instance_type_id=flavor_pk, key=key, value=value
                    )
                    session.add(spec)
                else:
                    _query.revive(spec)
                    spec.value = value
            return
        except exception.DBDuplicateEntry:
            spec = _live_spec(session, flavor_pk, key)
    spec.value = value


@_auth.require_context
def instance_type_extra_specs_get(context, flavor_id: Any) -> dict:
    """Return the live extra specs of a flavor as ``{key: value}``.

    Raises FlavorNotFound when no live flavor has ``flavor_id``.
    """
    with _session.reader() as session:
        flavor = _live_flavor(session, context, flavor_id)
        return {spec.key: spec.value for spec in flavor.extra_specs}


@_auth.require_context
def instance_type_extra_specs_delete(
    context, flavor_id: Any, key: str
) -> None:
    """Soft-delete one extra spec of a flavor.

    Raises FlavorNotFound, or InstanceTypeExtraSpecsNotFound when the
    flavor has no live spec ``key``.
    """
    with _session.writer() as session:
        flavor = _live_flavor(session, context, flavor_id)
        spec = None
        if isinstance(key, str):
            spec = _live_spec(session, flavor.id, key)
        if spec is None:
            raise exception.InstanceTypeExtraSpecsNotFound(
                instance_type_id=flavor_id, extra_specs_key=key
            )
        _query.soft_delete(spec)


@_auth.require_context
def instance_type_extra_specs_update_or_create(
    context, flavor_id: Any, extra_specs: Mapping[str, Any]
) -> dict:
    """Add or change the given extra specs of a flavor; keep the others.

    A key deleted earlier is revived with its new value.  Values are
    stored as strings.  Raises FlavorNotFound.  Returns the given specs
    as stored.
    """
    specs = _check_specs(extra_specs)
    with _session.writer() as session:
        flavor = _live_flavor(session, context, flavor_id)
        for key, value in specs.items():
            _set_spec(session, flavor.id, key, value)
        return specs
