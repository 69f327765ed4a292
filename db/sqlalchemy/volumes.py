"""Volumes, their metadata, snapshots, iSCSI targets and EC2 id mappings.

Volume rows carry ``name`` (from ``volume_name_template``), their live
metadata as ``volume_metadata`` (a list of rows with ``key`` and
``value``) and their ``volume_type`` (a row, or None).  Snapshot rows carry
``name`` and ``volume_name``.

Deliberate differences from the original, each pinned by a test:

- ``volume_create`` and ``volume_update`` write the metadata (and the EC2
  id mapping) in the same transaction as the volume, and never change the
  caller's ``values`` dict.
- ``volume_destroy``, ``snapshot_destroy`` and ``volume_metadata_delete``
  raise their NotFound error instead of silently doing nothing.
- ``volume_allocate_iscsi_target`` gives a volume one target: a second
  call returns the same ``target_num``.
- ``volume_get_by_ec2_id`` exists (the original declared it only).
- ``ec2_volume_create`` / ``ec2_snapshot_create`` return the uuid's
  existing mapping instead of adding a second one.

The block device mappings live in :mod:`db.sqlalchemy.block_devices`.
"""

from __future__ import annotations

import datetime
import logging
import uuid as uuid_lib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, func, or_, select, text, update
from sqlalchemy.orm import Session, selectinload

from db import exception
from db.rows import Row
from db.sqlalchemy import _session, models
from db.sqlalchemy._auth import (
    authorize_project_context,
    require_admin_context,
    require_context,
)
from db.sqlalchemy._query import (
    check_items,
    check_values,
    claim,
    int_id,
    model_query,
    require_dict,
    soft_delete,
    soft_delete_where,
    to_row,
    to_rows,
    validate_uuid,
)
from db.sqlalchemy.types import as_utc, utcnow

__all__ = [
    "ec2_snapshot_create",
    "ec2_volume_create",
    "get_ec2_snapshot_id_by_uuid",
    "get_ec2_volume_id_by_uuid",
    "get_snapshot_uuid_by_ec2_id",
    "get_volume_uuid_by_ec2_id",
    "iscsi_target_count_by_host",
    "iscsi_target_create_safe",
    "snapshot_create",
    "snapshot_destroy",
    "snapshot_get",
    "snapshot_get_all",
    "snapshot_get_all_by_project",
    "snapshot_get_all_for_volume",
    "snapshot_update",
    "volume_allocate_iscsi_target",
    "volume_attached",
    "volume_create",
    "volume_data_get_for_project",
    "volume_destroy",
    "volume_detached",
    "volume_get",
    "volume_get_active_by_window",
    "volume_get_all",
    "volume_get_all_by_host",
    "volume_get_all_by_instance_uuid",
    "volume_get_all_by_project",
    "volume_get_by_ec2_id",
    "volume_get_iscsi_target_num",
    "volume_metadata_delete",
    "volume_metadata_get",
    "volume_metadata_update",
    "volume_update",
]

LOG = logging.getLogger(__name__)

#: Relationships every volume row carries.
_VOLUME_JOINS = ("volume_metadata", "volume_type")


def _new_id(fields: dict[str, Any]) -> dict[str, Any]:
    """Give ``fields`` a fresh uuid ``id`` unless the caller chose one."""
    if not fields.get("id"):
        fields["id"] = str(uuid_lib.uuid4())
    return fields


# --------------------------------------------------------------------------
# Volumes


def _volume_query(
    context, read_deleted: str | None = None, project_only: bool = True
) -> Select:
    """Return the volume select with the joins every volume row carries."""
    return model_query(
        context,
        models.Volume,
        read_deleted=read_deleted,
        project_only=project_only,
    ).options(
        selectinload(models.Volume.volume_metadata),
        selectinload(models.Volume.volume_type),
    )


def _volume_rows(session: Session, stmt: Select) -> list[Row]:
    stmt = stmt.order_by(models.Volume.created_at, models.Volume.id)
    return to_rows(session.scalars(stmt), *_VOLUME_JOINS)


def _get_volume(
    session: Session,
    context,
    volume_id: Any,
    read_deleted: str | None = None,
) -> models.Volume:
    """Return the volume the context may see, or raise VolumeNotFound."""
    stmt = _volume_query(context, read_deleted=read_deleted).where(
        models.Volume.id == str(volume_id)
    )
    volume = session.scalars(stmt).first()
    if volume is None:
        raise exception.VolumeNotFound(volume_id=volume_id)
    return volume


def _lock_volume(session: Session, context, volume_id: Any) -> None:
    """Lock the live volume's row for this transaction (VolumeNotFound).

    Writers that must not interleave for one volume (target allocation,
    metadata replacement) take this row lock first; SQLite's writer lock
    already serialises them.
    """
    stmt = (
        model_query(
            context,
            models.Volume,
            models.Volume.id,
            read_deleted="no",
            project_only=True,
        )
        .where(models.Volume.id == str(volume_id))
        .with_for_update()
    )
    if session.execute(stmt).first() is None:
        raise exception.VolumeNotFound(volume_id=volume_id)


def _reload_volume(session: Session, context, volume_id: str) -> Row:
    """Return the volume's row as written by this transaction."""
    session.flush()
    stmt = (
        _volume_query(context, read_deleted="yes", project_only=False)
        .where(models.Volume.id == volume_id)
        .execution_options(populate_existing=True)
    )
    return to_row(session.scalars(stmt).one(), *_VOLUME_JOINS)


@require_context
def volume_create(context, values: Mapping[str, Any]) -> Row:
    """Create a volume and return its row.

    ``values`` holds volume columns plus an optional ``metadata`` dict,
    written as the volume's metadata.  A missing ``id`` becomes a new
    uuid.  The volume, its metadata and its EC2 id mapping are written in
    one transaction.  A duplicate ``id`` raises DBDuplicateEntry.
    """
    values = require_dict(values)
    metadata = _checked_metadata(values.get("metadata") or {})
    fields = _new_id(check_values(models.Volume, values, ignore=("metadata",)))

    with _session.writer() as session:
        volume = models.Volume(**fields)
        session.add(volume)
        session.flush()

        _write_metadata(session, volume.id, metadata, delete=False)
        _ensure_ec2_mapping(session, models.VolumeIdMapping, volume.id)
        return _reload_volume(session, context, volume.id)


@require_context
def volume_get(context, volume_id: str) -> Row:
    """Return the volume, or raise VolumeNotFound.

    A user context sees only its project's volumes; the context's
    ``read_deleted`` decides whether deleted volumes are found.
    """
    with _session.reader() as session:
        return to_row(_get_volume(session, context, volume_id), *_VOLUME_JOINS)


@require_admin_context
def volume_get_all(context) -> list[Row]:
    """Return every volume, oldest first."""
    with _session.reader() as session:
        return _volume_rows(session, _volume_query(context))


@require_admin_context
def volume_get_all_by_host(context, host: str) -> list[Row]:
    """Return the volumes served by ``host``."""
    with _session.reader() as session:
        stmt = _volume_query(context).where(models.Volume.host == host)
        return _volume_rows(session, stmt)


@require_admin_context
def volume_get_all_by_instance_uuid(context, instance_uuid: str) -> list[Row]:
    """Return the volumes attached to the instance ([] when none)."""
    with _session.reader() as session:
        stmt = _volume_query(context).where(
            models.Volume.instance_uuid == instance_uuid
        )
        return _volume_rows(session, stmt)


@require_context
def volume_get_all_by_project(context, project_id: str) -> list[Row]:
    """Return the project's volumes (NotAuthorized for another project)."""
    authorize_project_context(context, project_id)
    with _session.reader() as session:
        stmt = _volume_query(context).where(
            models.Volume.project_id == project_id
        )
        return _volume_rows(session, stmt)


@require_admin_context
def volume_get_active_by_window(
    context,
    begin: datetime.datetime,
    end: datetime.datetime | None = None,
    project_id: str | None = None,
) -> list[Row]:
    """Return the volumes that existed at some point in [begin, end).

    That is the volumes not deleted before ``begin`` (deleted ones
    included) and, when ``end`` is given, created before ``end``;
    optionally only those of ``project_id``.
    """
    begin = as_utc(begin)
    stmt = _volume_query(context, read_deleted="yes").where(
        or_(
            models.Volume.deleted_at.is_(None),
            models.Volume.deleted_at > begin,
        )
    )
    if end is not None:
        stmt = stmt.where(models.Volume.created_at < as_utc(end))
    if project_id is not None:
        stmt = stmt.where(models.Volume.project_id == project_id)

    with _session.reader() as session:
        return _volume_rows(session, stmt)


@require_admin_context
def volume_data_get_for_project(context, project_id: str) -> tuple[int, int]:
    """Return ``(number of volumes, total size in GB)`` of live volumes.

    Both are 0 (never None) for a project without volumes.
    """
    stmt = model_query(
        context,
        models.Volume,
        func.count(models.Volume.id),
        func.coalesce(func.sum(models.Volume.size), 0),
        read_deleted="no",
    ).where(models.Volume.project_id == project_id)

    with _session.reader() as session:
        count, total = session.execute(stmt).one()
    return int(count), int(total)


@require_context
def volume_update(context, volume_id: str, values: Mapping[str, Any]) -> Row:
    """Set ``values`` on the volume and return its row.

    A ``metadata`` dict in ``values`` replaces the volume's metadata
    (keys it lacks are deleted), in the same transaction as the columns.
    Raises VolumeNotFound for a volume the context cannot see.
    """
    values = require_dict(values)
    metadata = values.get("metadata")
    if metadata is not None:
        metadata = _checked_metadata(metadata)
    fields = check_values(models.Volume, values, ignore=("metadata",))
    if fields.get("id", volume_id) != volume_id:
        raise exception.InvalidInput(reason="a volume's id cannot change")

    with _session.writer() as session:
        if metadata is not None:
            _lock_volume(session, context, volume_id)
        volume = _get_volume(session, context, volume_id, read_deleted="no")
        for key, value in fields.items():
            setattr(volume, key, value)

        if metadata is not None:
            _write_metadata(session, volume.id, metadata, delete=True)
        return _reload_volume(session, context, volume.id)


@require_admin_context
def volume_attached(
    context, volume_id: str, instance_id: str, mountpoint: str
) -> Row:
    """Mark the volume attached to the instance at ``mountpoint``.

    ``instance_id`` is the instance's uuid (InvalidUUID otherwise).  Sets
    status 'in-use', attach_status 'attached' and attach_time now, and
    returns the volume's row.
    """
    validate_uuid(instance_id)
    check_values(models.Volume, {"mountpoint": mountpoint})

    with _session.writer() as session:
        volume = _get_volume(session, context, volume_id, read_deleted="no")
        volume.status = "in-use"
        volume.attach_status = "attached"
        volume.mountpoint = mountpoint
        volume.instance_uuid = instance_id
        volume.attach_time = utcnow()
        return _reload_volume(session, context, volume.id)


@require_admin_context
def volume_detached(context, volume_id: str) -> Row:
    """Mark the volume detached and available, and return its row.

    Clears the instance, mountpoint and attach_time.
    """
    with _session.writer() as session:
        volume = _get_volume(session, context, volume_id, read_deleted="no")
        volume.status = "available"
        volume.attach_status = "detached"
        volume.mountpoint = None
        volume.instance_uuid = None
        volume.attach_time = None
        return _reload_volume(session, context, volume.id)


@require_admin_context
def volume_destroy(context, volume_id: str) -> None:
    """Soft-delete the volume and its metadata and free its iSCSI target.

    Raises VolumeNotFound when there is no such live volume.  The EC2 id
    mapping stays, so old EC2 ids keep resolving.
    """
    with _session.writer() as session:
        volume = _get_volume(session, context, volume_id, read_deleted="no")
        soft_delete(volume)

        soft_delete_where(
            session,
            models.VolumeMetadata,
            models.VolumeMetadata.volume_id == volume.id,
        )
        session.execute(
            update(models.IscsiTarget)
            .where(models.IscsiTarget.volume_id == volume.id)
            .values(volume_id=None)
            .execution_options(synchronize_session=False)
        )


@require_context
def volume_get_by_ec2_id(context, ec2_id: int) -> Row:
    """Return the volume whose EC2 id is ``ec2_id``, or VolumeNotFound.

    The original declared this function but never implemented it.
    """
    with _session.reader() as session:
        uuid = _uuid_by_ec2_id(
            session, context, models.VolumeIdMapping, ec2_id
        )
        volume = None
        if uuid is not None:
            stmt = _volume_query(context).where(models.Volume.id == uuid)
            volume = session.scalars(stmt).first()
        if volume is None:
            raise exception.VolumeNotFound(volume_id=ec2_id)
        return to_row(volume, *_VOLUME_JOINS)


# --------------------------------------------------------------------------
# Volume metadata


def _checked_metadata(metadata: Any) -> dict[str, str | None]:
    """Return ``metadata`` as a dict of str keys, or raise InvalidInput."""
    return check_items(
        models.VolumeMetadata, metadata, "metadata", _check_metadata_key
    )


def _check_metadata_key(key: Any) -> None:
    if key is None or key == "":
        raise exception.InvalidInput(
            reason="metadata keys must be non-empty strings"
        )


def _metadata_items(
    session: Session, volume_id: str
) -> dict[str, models.VolumeMetadata]:
    stmt = select(models.VolumeMetadata).where(
        models.VolumeMetadata.volume_id == volume_id,
        models.VolumeMetadata.deleted == 0,
    )
    return {item.key: item for item in session.scalars(stmt)}


def _write_metadata(
    session: Session,
    volume_id: str,
    metadata: dict[str, str | None],
    delete: bool,
) -> dict[str, str | None]:
    """Upsert ``metadata``; with ``delete``, drop the keys it lacks.

    Returns the volume's metadata afterwards.
    """
    existing = _metadata_items(session, volume_id)
    if delete:
        for key, item in existing.items():
            if key not in metadata:
                soft_delete(item)

    for key, value in metadata.items():
        item = existing.get(key)
        if item is None:
            session.add(
                models.VolumeMetadata(
                    volume_id=volume_id, key=key, value=value
                )
            )
        elif item.value != value:
            item.value = value
    session.flush()
    return {
        key: item.value
        for key, item in _metadata_items(session, volume_id).items()
    }


@require_context
def volume_metadata_get(context, volume_id: str) -> dict[str, str | None]:
    """Return the volume's metadata as ``{key: value}`` (VolumeNotFound)."""
    with _session.reader() as session:
        volume = _get_volume(session, context, volume_id, read_deleted="no")
        return {
            key: item.value
            for key, item in _metadata_items(session, volume.id).items()
        }


@require_context
def volume_metadata_delete(context, volume_id: str, key: str) -> None:
    """Soft-delete one metadata item of the volume.

    Raises VolumeNotFound for an unknown volume and VolumeMetadataNotFound
    when the volume has no such key.
    """
    with _session.writer() as session:
        volume = _get_volume(session, context, volume_id, read_deleted="no")
        deleted = soft_delete_where(
            session,
            models.VolumeMetadata,
            models.VolumeMetadata.volume_id == volume.id,
            models.VolumeMetadata.key == key,
        )
        if not deleted:
            raise exception.VolumeMetadataNotFound(
                volume_id=volume_id, metadata_key=key
            )


@require_context
def volume_metadata_update(
    context, volume_id: str, metadata: Mapping[str, Any], delete: bool
) -> dict[str, str | None]:
    """Add or change the ``metadata`` items of the volume.

    With ``delete`` true, keys missing from ``metadata`` are deleted too
    (a replace).  Returns the volume's whole metadata afterwards.  Raises
    VolumeNotFound for an unknown volume.
    """
    metadata = _checked_metadata(metadata)
    if not isinstance(delete, (bool, int)):
        raise exception.InvalidInput(
            reason=f"delete must be a boolean, not {delete!r}"
        )

    with _session.writer() as session:
        _lock_volume(session, context, volume_id)
        return _write_metadata(session, volume_id, metadata, bool(delete))


# --------------------------------------------------------------------------
# iSCSI targets


@require_admin_context
def iscsi_target_count_by_host(context, host: str) -> int:
    """Return how many iSCSI targets ``host`` has, free or in use."""
    stmt = model_query(
        context,
        models.IscsiTarget,
        func.count(models.IscsiTarget.id),
        read_deleted="no",
    ).where(models.IscsiTarget.host == host)
    with _session.reader() as session:
        return int(session.execute(stmt).scalar_one())


@require_admin_context
def iscsi_target_create_safe(context, values: Mapping[str, Any]) -> Row | None:
    """Create an iSCSI target and return its row.

    "Safe" means a target that already exists (the same ``target_num`` on
    the same ``host``) is not an error: the call returns None and leaves
    the existing target alone, so hosts can seed their pool repeatedly.
    """
    fields = check_values(models.IscsiTarget, values)

    with _session.writer() as session:
        target = models.IscsiTarget(**fields)
        try:
            _session.insert(session, target)
        except exception.DBDuplicateEntry:
            LOG.debug(
                "iSCSI target %s exists on host %s",
                fields.get("target_num"),
                fields.get("host"),
            )
            return None
        return to_row(target)


def _held_target(
    session: Session, volume_id: str
) -> models.IscsiTarget | None:
    stmt = select(models.IscsiTarget).where(
        models.IscsiTarget.volume_id == volume_id,
        models.IscsiTarget.deleted == 0,
    )
    return session.scalars(stmt.order_by(models.IscsiTarget.id)).first()


def _claim_free_target(session: Session, volume_id: str, host: str) -> int:
    """Give the volume the free target of ``host`` with the lowest number.

    Returns its ``target_num``; raises NoMoreTargets when ``host`` has no
    free target.  :func:`db.sqlalchemy._query.claim` makes sure two
    racing callers never take the same target.
    """
    target = models.IscsiTarget
    target_id = claim(
        session,
        target,
        where=(target.host == host, target.volume_id.is_(None)),
        values={"volume_id": volume_id},
        order_by=(target.target_num,),
    )
    if target_id is None:
        raise exception.NoMoreTargets()
    return session.scalar(
        select(target.target_num).where(target.id == target_id)
    )


@require_admin_context
@_session.retry_on_deadlock
def volume_allocate_iscsi_target(context, volume_id: str, host: str) -> int:
    """Give the volume a free iSCSI target of ``host``; return target_num.

    A volume holds at most one target: if it already holds one on
    ``host`` that target's number is returned again; one held on another
    host is released first.  Two volumes never get the same target, even
    from concurrent calls.  Raises VolumeNotFound for an unknown volume
    and NoMoreTargets when ``host`` has no free target.
    """
    with _session.writer() as session:
        _lock_volume(session, context, volume_id)
        held = _held_target(session, volume_id)
        if held is not None and held.host == host:
            return held.target_num
        if held is not None:
            LOG.debug(
                "Volume %s moves from target %s on %s to host %s",
                volume_id,
                held.target_num,
                held.host,
                host,
            )
            held.volume_id = None
            session.flush()

        return _claim_free_target(session, volume_id, host)


@require_admin_context
def volume_get_iscsi_target_num(context, volume_id: str) -> int:
    """Return the target_num held by the volume.

    Raises ISCSITargetNotFoundForVolume when it holds none.
    """
    with _session.reader() as session:
        target = _held_target(session, volume_id)
        if target is None:
            raise exception.ISCSITargetNotFoundForVolume(volume_id=volume_id)
        return target.target_num


# --------------------------------------------------------------------------
# Snapshots


def _get_snapshot(
    session: Session,
    context,
    snapshot_id: Any,
    read_deleted: str | None = None,
) -> models.Snapshot:
    """Return the snapshot the context may see, or SnapshotNotFound."""
    stmt = model_query(
        context,
        models.Snapshot,
        read_deleted=read_deleted,
        project_only=True,
    ).where(models.Snapshot.id == str(snapshot_id))
    snapshot = session.scalars(stmt).first()
    if snapshot is None:
        raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
    return snapshot


def _snapshot_rows(session: Session, stmt: Select) -> list[Row]:
    stmt = stmt.order_by(models.Snapshot.created_at, models.Snapshot.id)
    return to_rows(session.scalars(stmt))


@require_context
def snapshot_create(context, values: Mapping[str, Any]) -> Row:
    """Create a snapshot and return its row (a missing id becomes a uuid).

    A duplicate ``id`` raises DBDuplicateEntry.
    """
    fields = _new_id(check_values(models.Snapshot, values))
    with _session.writer() as session:
        snapshot = models.Snapshot(**fields)
        session.add(snapshot)
        session.flush()
        return to_row(snapshot)


@require_context
def snapshot_get(context, snapshot_id: str) -> Row:
    """Return the snapshot, or raise SnapshotNotFound.

    A user context sees only its project's snapshots.
    """
    with _session.reader() as session:
        return to_row(_get_snapshot(session, context, snapshot_id))


@require_admin_context
def snapshot_get_all(context) -> list[Row]:
    """Return every snapshot, oldest first."""
    with _session.reader() as session:
        return _snapshot_rows(session, model_query(context, models.Snapshot))


@require_context
def snapshot_get_all_by_project(context, project_id: str) -> list[Row]:
    """Return the project's snapshots (NotAuthorized for another one)."""
    authorize_project_context(context, project_id)
    stmt = model_query(context, models.Snapshot).where(
        models.Snapshot.project_id == project_id
    )
    with _session.reader() as session:
        return _snapshot_rows(session, stmt)


@require_context
def snapshot_get_all_for_volume(context, volume_id: str) -> list[Row]:
    """Return the live snapshots of the volume that the context may see."""
    stmt = model_query(
        context, models.Snapshot, read_deleted="no", project_only=True
    ).where(models.Snapshot.volume_id == volume_id)
    with _session.reader() as session:
        return _snapshot_rows(session, stmt)


@require_context
def snapshot_update(
    context, snapshot_id: str, values: Mapping[str, Any]
) -> Row:
    """Set ``values`` on the snapshot and return its row.

    Raises SnapshotNotFound for a snapshot the context cannot see.
    """
    fields = check_values(models.Snapshot, values)
    if fields.get("id", snapshot_id) != snapshot_id:
        raise exception.InvalidInput(reason="a snapshot's id cannot change")

    with _session.writer() as session:
        snapshot = _get_snapshot(
            session, context, snapshot_id, read_deleted="no"
        )
        for key, value in fields.items():
            setattr(snapshot, key, value)
        session.flush()
        return to_row(snapshot)


@require_admin_context
def snapshot_destroy(context, snapshot_id: str) -> None:
    """Soft-delete the snapshot, or raise SnapshotNotFound."""
    with _session.writer() as session:
        soft_delete(
            _get_snapshot(session, context, snapshot_id, read_deleted="no")
        )


# --------------------------------------------------------------------------
# EC2 id mappings (always read with read_deleted='yes': a mapping outlives
# its volume or snapshot, and rows migrated from old schemas may look
# deleted)


def _mapping_of(session: Session, model, uuid: str, latest: bool = False):
    """Return the oldest mapping of ``uuid``, deleted or not, or None.

    ``latest`` reads the newest committed rows even where a transaction
    reads from a snapshot (MySQL's repeatable read), with a shared lock.
    """
    stmt = select(model).where(model.uuid == uuid).order_by(model.id)
    if latest:
        stmt = stmt.with_for_update(read=True)
    return session.scalars(stmt).first()


def _bump_sequence(session: Session, model, forced_id: int) -> None:
    """Move PostgreSQL's id sequence past a forced id, never backwards.

    Without this, a later mapping with a generated id would collide with
    the forced one.  SQLite and MySQL continue after the largest id by
    themselves.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text(
            "SELECT setval(seq, :forced) FROM (SELECT CAST("
            "pg_get_serial_sequence(:table, 'id') AS regclass) AS seq) AS s"
            " WHERE :forced > COALESCE(pg_sequence_last_value(seq), 0)"
        ),
        {"table": model.__tablename__, "forced": forced_id},
    )


def _reuse_mapping(existing, forced_id: int | None, uuid: str):
    """Return ``existing`` unless ``forced_id`` asks for another id."""
    if forced_id not in (None, existing.id):
        raise exception.InvalidInput(
            reason=f"{uuid} already has EC2 id {existing.id}"
        )
    return existing


def _ensure_ec2_mapping(
    session: Session, model, uuid: str, forced_id: Any = None
):
    """Return the uuid's mapping, creating it (with ``forced_id``) if new.

    Raises InvalidInput when the uuid is already mapped to another id,
    and DBDuplicateEntry when ``forced_id`` belongs to another uuid.  The
    unique uuid makes a concurrent first mapping of the same uuid lose
    its insert; it then returns the winner's mapping.
    """
    fields = check_values(model, {"uuid": uuid, "id": forced_id})
    existing = _mapping_of(session, model, fields["uuid"])
    if existing is not None:
        return _reuse_mapping(existing, fields["id"], uuid)

    mapping = model(**fields)
    try:
        _session.insert(session, mapping)
    except exception.DBDuplicateEntry as error:
        if "uuid" not in error.kwargs.get("columns", ()):
            raise
        winner = _mapping_of(session, model, fields["uuid"], latest=True)
        if winner is None:
            raise
        return _reuse_mapping(winner, fields["id"], uuid)

    if fields["id"] is not None:
        _bump_sequence(session, model, mapping.id)
    return mapping


def _ec2_id_of(session: Session, model, uuid: Any) -> int | None:
    if not isinstance(uuid, str):
        return None
    mapping = _mapping_of(session, model, uuid)
    return None if mapping is None else mapping.id


def _uuid_by_ec2_id(session: Session, context, model, ec2_id: Any):
    """Return the uuid mapped to ``ec2_id``, or None.

    Raises InvalidID when ``ec2_id`` is not an integer.
    """
    key = int_id(ec2_id, bounded=True)
    if key is None:
        return None
    stmt = model_query(context, model, read_deleted="yes").where(
        model.id == key
    )
    mapping = session.scalars(stmt).first()
    return None if mapping is None else mapping.uuid


@require_context
def ec2_volume_create(context, volume_id: str, forced_id: Any = None) -> Row:
    """Map the volume uuid to an EC2 integer id and return the mapping.

    ``forced_id`` chooses the id.  A uuid that is already mapped returns
    its mapping (InvalidInput if ``forced_id`` asks for another id).
    """
    with _session.writer() as session:
        return to_row(
            _ensure_ec2_mapping(
                session, models.VolumeIdMapping, volume_id, forced_id
            )
        )


@require_context
def ec2_snapshot_create(
    context, snapshot_id: str, forced_id: Any = None
) -> Row:
    """Map the snapshot uuid to an EC2 integer id and return the mapping.

    Same rules as :func:`ec2_volume_create`.
    """
    with _session.writer() as session:
        return to_row(
            _ensure_ec2_mapping(
                session, models.SnapshotIdMapping, snapshot_id, forced_id
            )
        )


@require_context
def get_ec2_volume_id_by_uuid(context, volume_id: str) -> int:
    """Return the volume's EC2 id, or raise VolumeNotFound."""
    with _session.reader() as session:
        ec2_id = _ec2_id_of(session, models.VolumeIdMapping, volume_id)
    if ec2_id is None:
        raise exception.VolumeNotFound(volume_id=volume_id)
    return ec2_id


@require_context
def get_volume_uuid_by_ec2_id(context, ec2_id: int) -> str:
    """Return the volume uuid of an EC2 id, or raise VolumeNotFound."""
    with _session.reader() as session:
        uuid = _uuid_by_ec2_id(
            session, context, models.VolumeIdMapping, ec2_id
        )
    if uuid is None:
        raise exception.VolumeNotFound(volume_id=ec2_id)
    return uuid


@require_context
def get_ec2_snapshot_id_by_uuid(context, snapshot_id: str) -> int:
    """Return the snapshot's EC2 id, or raise SnapshotNotFound."""
    with _session.reader() as session:
        ec2_id = _ec2_id_of(session, models.SnapshotIdMapping, snapshot_id)
    if ec2_id is None:
        raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
    return ec2_id


@require_context
def get_snapshot_uuid_by_ec2_id(context, ec2_id: int) -> str:
    """Return the snapshot uuid of an EC2 id, or raise SnapshotNotFound."""
    with _session.reader() as session:
        uuid = _uuid_by_ec2_id(
            session, context, models.SnapshotIdMapping, ec2_id
        )
    if uuid is None:
        raise exception.SnapshotNotFound(snapshot_id=ec2_id)
    return uuid
