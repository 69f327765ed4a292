"""What hangs off an instance: metadata, info cache, faults, EC2 ids.

This module also holds the lookups that :mod:`db.sqlalchemy.instances`
shares with it; that module re-exports the functions here, so both are one
group of the API.

Visibility, as in the original:

- An instance is looked up with the context's ``read_deleted``, and a user
  context only sees instances of its own project; every function that
  takes an instance uuid raises ``InstanceNotFound`` when the caller
  cannot see the instance.
- Functions that write raise ``InvalidUUID`` for an argument that is not
  a uuid, before anything else; getters answer "not found" instead.
- Metadata and system metadata functions only ever see live items (the
  original's system-metadata queries followed the context's
  ``read_deleted`` and so could return deleted items).
- The EC2 id lookups read deleted mappings too (``read_deleted="yes"``):
  an EC2 id stays bound to its instance forever.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import context as context_mod
from db import exception
from db.rows import Row
from db.sqlalchemy import _auth, _query, _session
from db.sqlalchemy.models import (
    Instance,
    InstanceFault,
    InstanceIdMapping,
    InstanceInfoCache,
    InstanceMetadata,
    InstanceSystemMetadata,
    SecurityGroup,
    SecurityGroupInstanceAssociation,
)

LOG = logging.getLogger(__name__)

__all__ = [
    "ec2_instance_create",
    "get_ec2_instance_id_by_uuid",
    "get_instance_uuid_by_ec2_id",
    "instance_add_security_group",
    "instance_data_get_for_project",
    "instance_fault_create",
    "instance_fault_get_by_instance_uuids",
    "instance_info_cache_create",
    "instance_info_cache_delete",
    "instance_info_cache_get",
    "instance_info_cache_update",
    "instance_metadata_delete",
    "instance_metadata_get",
    "instance_metadata_update",
    "instance_remove_security_group",
    "instance_system_metadata_delete",
    "instance_system_metadata_get",
    "instance_system_metadata_update",
]


# --------------------------------------------------------------------------
# Shared lookups and argument checks


def _instance_query(context, *where: Any, read_deleted: str | None = None):
    """Return the SELECT of the instances the context may see."""
    return _query.model_query(
        context, Instance, read_deleted=read_deleted, project_only=True
    ).where(*where)


def _require_instance(
    session: Session,
    context,
    instance_uuid: Any,
    read_deleted: str | None = None,
    lock: bool = False,
) -> Instance:
    """Return the instance (its columns), or raise InstanceNotFound.

    ``lock`` takes the row with ``SELECT ... FOR UPDATE``, so writers of
    one instance's state, metadata or groups queue behind each other.
    """
    inst = None
    if isinstance(instance_uuid, str):
        stmt = _instance_query(
            context, Instance.uuid == instance_uuid, read_deleted=read_deleted
        )
        if lock:
            stmt = stmt.with_for_update()
        inst = session.scalars(stmt).first()
    if inst is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    return inst


def _check_uuids(values: Any, what: str) -> list[str]:
    """Return a list of uuid strings, or raise InvalidInput."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(
        values, Iterable
    ):
        raise exception.InvalidInput(
            reason=f"{what} must be a list of uuids, not "
            f"{type(values).__name__}"
        )
    values = list(values)
    for value in values:
        if not isinstance(value, str):
            raise exception.InvalidInput(
                reason=f"{what} must hold uuid strings, not {value!r}"
            )
    return values


# --------------------------------------------------------------------------
# Metadata and system metadata


def _check_metadata(model, metadata: Any) -> dict[str, str | None]:
    """Return ``metadata`` with keys and values checked as strings.

    Numbers become strings, as the columns hold; a key that is None,
    containers and over-long strings raise before anything is written.
    """
    if not isinstance(metadata, Mapping):
        raise exception.InvalidInput(
            reason=f"{model.__tablename__} must be given as a dict, not "
            f"{type(metadata).__name__}"
        )

    def check_key(key: Any) -> None:
        if key is None:
            raise exception.InvalidValue(
                column=f"{model.__tablename__}.key", reason="may not be null"
            )

    return _query.check_items(model, metadata, "metadata", check_key)


def _live_items(session: Session, model, instance_uuid: str) -> list:
    stmt = (
        select(model)
        .where(model.instance_uuid == instance_uuid, model.deleted == 0)
        .order_by(model.id)
    )
    return list(session.scalars(stmt))


def _set_metadata(
    session: Session,
    model,
    instance_uuid: str,
    metadata: Mapping[str, str | None],
    delete: bool,
) -> dict[str, str | None]:
    """Upsert ``metadata`` (checked) and return the instance's items.

    With ``delete`` the live keys missing from ``metadata`` are
    soft-deleted, so the result is exactly ``metadata``.
    """
    current = {item.key: item for item in _live_items(
        session, model, instance_uuid
    )}
    for key, item in current.items():
        if key in metadata:
            item.value = metadata[key]
        elif delete:
            _query.soft_delete(item)
    for key in metadata.keys() - current.keys():
        session.add(
            model(instance_uuid=instance_uuid, key=key, value=metadata[key])
        )
    session.flush()
    return {
        item.key: item.value
        for item in _live_items(session, model, instance_uuid)
    }


def _metadata_get(context, model, instance_uuid: str) -> dict:
    with _session.reader() as session:
        inst = _require_instance(session, context, instance_uuid)
        items = _live_items(session, model, inst.uuid)
        return {item.key: item.value for item in items}


def _metadata_update(
    context, model, instance_uuid: str, metadata: Any, delete: Any
) -> dict:
    _query.validate_uuid(instance_uuid)
    checked = _check_metadata(model, metadata)
    with _session.writer() as session:
        _require_instance(session, context, instance_uuid, lock=True)
        return _set_metadata(
            session, model, instance_uuid, checked, bool(delete)
        )


def _metadata_delete(context, model, instance_uuid: str, key: Any):
    _query.validate_uuid(instance_uuid)
    with _session.writer() as session:
        _require_instance(session, context, instance_uuid, lock=True)
        count = 0
        if isinstance(key, str):
            count = _query.soft_delete_where(
                session,
                model,
                model.instance_uuid == instance_uuid,
                model.key == key,
            )
    if not count:
        missing = (
            exception.InstanceMetadataNotFound
            if model is InstanceMetadata
            else exception.InstanceSystemMetadataNotFound
        )
        raise missing(instance_uuid=instance_uuid, metadata_key=key)


@_auth.require_context
def instance_metadata_get(context, instance_uuid: str) -> dict:
    """Return the instance's live metadata as a ``{key: value}`` dict."""
    return _metadata_get(context, InstanceMetadata, instance_uuid)


@_auth.require_context
def instance_metadata_delete(context, instance_uuid: str, key: str) -> None:
    """Soft-delete one metadata item.

    Raises InstanceMetadataNotFound when the instance has no live item
    with that key (the original silently did nothing).
    """
    _metadata_delete(context, InstanceMetadata, instance_uuid, key)


@_auth.require_context
def instance_metadata_update(
    context, instance_uuid: str, metadata: Mapping, delete: bool
) -> dict:
    """Add or change the items of ``metadata``; return all live items.

    With ``delete`` true the instance's other items are soft-deleted, so
    its metadata becomes exactly ``metadata``.  Values are stored as
    strings.  One transaction, serialised per instance.
    """
    return _metadata_update(
        context, InstanceMetadata, instance_uuid, metadata, delete
    )


@_auth.require_context
def instance_system_metadata_get(context, instance_uuid: str) -> dict:
    """Return the instance's live system metadata as a dict."""
    return _metadata_get(context, InstanceSystemMetadata, instance_uuid)


@_auth.require_context
def instance_system_metadata_delete(
    context, instance_uuid: str, key: str
) -> None:
    """Soft-delete one system metadata item.

    Raises InstanceSystemMetadataNotFound when there is no such live item.
    """
    _metadata_delete(context, InstanceSystemMetadata, instance_uuid, key)


@_auth.require_context
def instance_system_metadata_update(
    context, instance_uuid: str, metadata: Mapping, delete: bool
) -> dict:
    """Upsert system metadata like :func:`instance_metadata_update`."""
    return _metadata_update(
        context, InstanceSystemMetadata, instance_uuid, metadata, delete
    )


# --------------------------------------------------------------------------
# Network info cache


def _check_cache_values(values: Any, instance_uuid: str) -> dict[str, Any]:
    """Check cache ``values``; the cache always belongs to the instance."""
    _query.require_dict(values)
    owner = values.get("instance_uuid", instance_uuid)
    if owner != instance_uuid:
        raise exception.InvalidInput(
            reason="an info cache cannot move to another instance"
        )
    return _query.check_values(
        InstanceInfoCache, values, ignore=("instance_uuid",)
    )


def _cache_of(session: Session, context, instance_uuid: Any):
    """Return the instance's cache row, deleted or not, or None.

    A user context only sees caches of its project's instances.
    """
    if not isinstance(instance_uuid, str):
        return None
    stmt = select(InstanceInfoCache).where(
        InstanceInfoCache.instance_uuid == instance_uuid
    )
    if context_mod.is_user_context(context):
        stmt = stmt.join(
            Instance, Instance.uuid == InstanceInfoCache.instance_uuid
        ).where(Instance.project_id == context.project_id)
    return session.scalars(stmt).first()


def _add_cache(
    session: Session, instance_uuid: str, values: Mapping[str, Any]
) -> InstanceInfoCache:
    """Insert a cache, or return the one a concurrent caller inserted.

    The first writer wins: on a duplicate our values are dropped.
    """
    cache = InstanceInfoCache(instance_uuid=instance_uuid, **values)
    try:
        _session.insert(session, cache)
    except exception.DBDuplicateEntry:
        LOG.debug("Info cache of %s was created concurrently", instance_uuid)
        stmt = select(InstanceInfoCache).where(
            InstanceInfoCache.instance_uuid == instance_uuid
        )
        return session.scalars(stmt).one()
    return cache


@_auth.require_context
def instance_info_cache_create(context, values: Mapping[str, Any]) -> Row:
    """Create the network info cache of ``values['instance_uuid']``.

    Raises InstanceNotFound for an instance the caller cannot see, and
    DBDuplicateEntry if the instance has a cache already (every instance
    gets one when it is created).
    """
    _query.require_dict(values)
    instance_uuid = _query.validate_uuid(values.get("instance_uuid"))
    checked = _check_cache_values(values, instance_uuid)
    with _session.writer() as session:
        _require_instance(session, context, instance_uuid)
        cache = InstanceInfoCache(instance_uuid=instance_uuid, **checked)
        session.add(cache)
        session.flush()
        return _query.to_row(cache)


@_auth.require_context
def instance_info_cache_get(context, instance_uuid: str) -> Row | None:
    """Return the instance's info cache, even a deleted one, or None."""
    with _session.reader() as session:
        return _query.to_row(_cache_of(session, context, instance_uuid))


@_auth.require_context
def instance_info_cache_update(
    context, instance_uuid: str, values: Mapping[str, Any]
) -> Row:
    """Update the instance's info cache, creating it if it is missing.

    A deleted cache (its instance was destroyed) is left as it is and
    returned.  Two concurrent creators cannot make two caches: the first
    one's values win.
    """
    _query.validate_uuid(instance_uuid)
    checked = _check_cache_values(values, instance_uuid)
    with _session.writer() as session:
        cache = _cache_of(session, context, instance_uuid)
        if cache is None:
            _require_instance(session, context, instance_uuid)
            cache = _add_cache(session, instance_uuid, checked)
        elif cache.deleted == 0:
            for key, value in checked.items():
                setattr(cache, key, value)
            session.flush()
        return _query.to_row(cache)


@_auth.require_context
def instance_info_cache_delete(context, instance_uuid: str) -> None:
    """Soft-delete the instance's info cache.

    Raises InstanceInfoCacheNotFound when it has no live cache (the
    original created a deleted one instead).
    """
    _query.validate_uuid(instance_uuid)
    with _session.writer() as session:
        _require_instance(session, context, instance_uuid)
        count = _query.soft_delete_where(
            session,
            InstanceInfoCache,
            InstanceInfoCache.instance_uuid == instance_uuid,
        )
    if not count:
        raise exception.InstanceInfoCacheNotFound(instance_uuid=instance_uuid)


# --------------------------------------------------------------------------
# Faults


def _check_fault(values: Any) -> dict[str, Any]:
    checked = _query.check_values(InstanceFault, values)
    _query.validate_uuid(checked.get("instance_uuid"))
    if checked.get("code") is None:
        raise exception.InvalidValue(
            column="instance_faults.code", reason="is required"
        )
    return checked


@_auth.require_context
def instance_fault_create(context, values: Mapping[str, Any]) -> Row:
    """Record a fault of ``values['instance_uuid']`` and return it.

    ``code`` is required.  The instance may already be deleted (faults
    are often recorded while it is torn down), but it must exist and be
    the caller's.
    """
    checked = _check_fault(values)
    with _session.writer() as session:
        _require_instance(
            session, context, checked["instance_uuid"], read_deleted="yes"
        )
        fault = InstanceFault(**checked)
        session.add(fault)
        session.flush()
        return _query.to_row(fault)


@_auth.require_context
def instance_fault_get_by_instance_uuids(
    context, instance_uuids: Iterable[str]
) -> dict[str, list[Row]]:
    """Return ``{uuid: [faults, newest first]}`` for each uuid given.

    A uuid without faults (or unknown, or another project's for a user
    context) maps to an empty list.  Ties in time keep the later fault
    first.
    """
    uuids = _check_uuids(instance_uuids, "instance_uuids")
    result: dict[str, list[Row]] = {uuid: [] for uuid in uuids}
    if not uuids:
        return result
    stmt = (
        _query.model_query(context, InstanceFault, read_deleted="no")
        .where(InstanceFault.instance_uuid.in_(set(uuids)))
        .order_by(InstanceFault.created_at.desc(), InstanceFault.id.desc())
    )
    if context_mod.is_user_context(context):
        stmt = stmt.join(
            Instance, Instance.uuid == InstanceFault.instance_uuid
        ).where(Instance.project_id == context.project_id)
    with _session.reader() as session:
        for fault in session.scalars(stmt):
            result[fault.instance_uuid].append(_query.to_row(fault))
    return result


# --------------------------------------------------------------------------
# EC2 id mappings


def _add_ec2_mapping(
    session: Session, instance_uuid: str
) -> InstanceIdMapping:
    """Return the uuid's EC2 mapping, creating it if there is none.

    The table's unique constraint makes this safe against a concurrent
    creator: the loser reads the winner's row.
    """
    stmt = (
        select(InstanceIdMapping)
        .where(InstanceIdMapping.uuid == instance_uuid)
        .order_by(InstanceIdMapping.deleted, InstanceIdMapping.id)
    )
    existing = session.scalars(stmt).first()
    if existing is not None:
        return existing
    mapping = InstanceIdMapping(uuid=instance_uuid)
    try:
        _session.insert(session, mapping)
    except exception.DBDuplicateEntry:
        return session.scalars(stmt).one()
    return mapping


@_auth.require_context
def ec2_instance_create(context, instance_ec2_id: str) -> Row:
    """Give the instance uuid ``instance_ec2_id`` an EC2 id; return it.

    Despite its name (kept from the original's facade), the argument is
    the instance's uuid.  Idempotent: a uuid that already has a mapping
    gets the same one back (the original added a second one), so an
    instance has one EC2 id for ever.
    """
    instance_uuid = _query.validate_uuid(instance_ec2_id)
    with _session.writer() as session:
        return _query.to_row(_add_ec2_mapping(session, instance_uuid))


@_auth.require_context
def get_ec2_instance_id_by_uuid(context, instance_id: str) -> int:
    """Return the EC2 id of the instance uuid ``instance_id``.

    Raises InstanceNotFound when the uuid has no mapping.
    """
    mapping_id = None
    if isinstance(instance_id, str):
        stmt = (
            _query.model_query(
                context, InstanceIdMapping, InstanceIdMapping.id,
                read_deleted="yes",
            )
            .where(InstanceIdMapping.uuid == instance_id)
            .order_by(InstanceIdMapping.id)
        )
        with _session.reader() as session:
            mapping_id = session.scalars(stmt).first()
    if mapping_id is None:
        raise exception.InstanceNotFound(instance_id=instance_id)
    return mapping_id


@_auth.require_context
def get_instance_uuid_by_ec2_id(context, ec2_id: int) -> str:
    """Return the instance uuid of an EC2 id (an integer).

    Raises InvalidID for a non-integer and InstanceNotFound for an id
    that has no mapping.
    """
    uuid = None
    key = _query.int_id(ec2_id, bounded=True)
    if key is not None:
        stmt = _query.model_query(
            context, InstanceIdMapping, InstanceIdMapping.uuid,
            read_deleted="yes",
        ).where(InstanceIdMapping.id == key)
        with _session.reader() as session:
            uuid = session.scalars(stmt).first()
    if uuid is None:
        raise exception.InstanceNotFound(instance_id=ec2_id)
    return uuid


# --------------------------------------------------------------------------
# Security group membership and project totals


def _require_group(session: Session, context, security_group_id: Any):
    key = _query.int_id(security_group_id, bounded=True)
    group = None
    if key is not None:
        stmt = _query.model_query(
            context, SecurityGroup, read_deleted="no", project_only=True
        ).where(SecurityGroup.id == key)
        group = session.scalars(stmt).first()
    if group is None:
        raise exception.SecurityGroupNotFound(
            security_group_id=security_group_id
        )
    return group


def _membership(instance_uuid: str, group_id: int) -> list:
    return [
        SecurityGroupInstanceAssociation.instance_uuid == instance_uuid,
        SecurityGroupInstanceAssociation.security_group_id == group_id,
        SecurityGroupInstanceAssociation.deleted == 0,
    ]


@_auth.require_context
def instance_add_security_group(
    context, instance_id: str, security_group_id: int
) -> None:
    """Put the instance (uuid ``instance_id``) into a security group.

    As in the original the argument is the instance's uuid.  Raises
    InvalidUUID, InstanceNotFound or SecurityGroupNotFound.  Adding a
    group the instance is already in changes nothing (the original added
    a duplicate association).
    """
    instance_uuid = _query.validate_uuid(instance_id)
    with _session.writer() as session:
        _require_instance(session, context, instance_uuid, lock=True)
        group = _require_group(session, context, security_group_id)
        stmt = select(SecurityGroupInstanceAssociation.id).where(
            *_membership(instance_uuid, group.id)
        )
        if session.scalars(stmt).first() is None:
            session.add(
                SecurityGroupInstanceAssociation(
                    instance_uuid=instance_uuid, security_group_id=group.id
                )
            )
            session.flush()


@_auth.require_context
def instance_remove_security_group(
    context, instance_id: str, security_group_id: int
) -> None:
    """Take the instance (uuid ``instance_id``) out of a security group.

    Soft-deletes the association; removing a group the instance is not in
    changes nothing.  Raises InvalidUUID or InstanceNotFound.
    """
    instance_uuid = _query.validate_uuid(instance_id)
    group_id = _query.int_id(security_group_id, bounded=True)
    with _session.writer() as session:
        _require_instance(session, context, instance_uuid, lock=True)
        if group_id is not None:
            _query.soft_delete_where(
                session,
                SecurityGroupInstanceAssociation,
                *_membership(instance_uuid, group_id),
            )


@_auth.require_context
def instance_data_get_for_project(
    context, project_id: str
) -> tuple[int, int, int]:
    """Return ``(instances, vcpus, memory_mb)`` of a project's instances.

    Counts live instances only; sums of nothing are 0, not None.  A user
    context may only ask about its own project.
    """
    _auth.authorize_project_context(context, project_id)
    stmt = select(
        func.count(Instance.id),
        func.coalesce(func.sum(Instance.vcpus), 0),
        func.coalesce(func.sum(Instance.memory_mb), 0),
    ).where(Instance.project_id == project_id, Instance.deleted == 0)
    with _session.reader() as session:
        count, vcpus, memory_mb = session.execute(stmt).one()
    return (int(count), int(vcpus), int(memory_mb))
