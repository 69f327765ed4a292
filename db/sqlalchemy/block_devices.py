"""Block device mappings: which volume, snapshot, swap or ephemeral disk
an instance sees at which device name.

A mapping is keyed by ``(instance_uuid, device_name)`` among live rows;
``virtual_name`` names swap (``swap``) and ephemeral (``ephemeral0``,
``ephemeral1``...) disks.  Every delete is soft.

Deliberate differences from the original, each pinned by a test:

- ``block_device_mapping_create``, ``_update`` and ``_update_or_create``
  return the mapping's row (the original returned None).
- ``block_device_mapping_update_or_create`` treats a missing
  ``virtual_name`` as None instead of failing with KeyError, and
  serialises concurrent calls for one instance.
- ``block_device_mapping_update`` and ``_destroy`` raise
  BlockDeviceMappingNotFound for an unknown id instead of doing nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import exception
from db.rows import Row
from db.sqlalchemy import _session, models
from db.sqlalchemy._auth import require_context
from db.sqlalchemy._query import (
    check_values,
    int_id,
    model_query,
    soft_delete,
    soft_delete_where,
    to_row,
    to_rows,
    validate_uuid,
)

__all__ = [
    "block_device_mapping_create",
    "block_device_mapping_destroy",
    "block_device_mapping_destroy_by_instance_and_device",
    "block_device_mapping_destroy_by_instance_and_volume",
    "block_device_mapping_get_all_by_instance",
    "block_device_mapping_update",
    "block_device_mapping_update_or_create",
]

LOG = logging.getLogger(__name__)

_BDM = models.BlockDeviceMapping
_SWAP_OR_EPHEMERAL = re.compile(r"swap|ephemeral(0|[1-9][0-9]*)")


def _is_swap_or_ephemeral(virtual_name: str | None) -> bool:
    """True for ``swap`` and ``ephemeral<N>`` virtual names."""
    return bool(virtual_name) and bool(
        _SWAP_OR_EPHEMERAL.fullmatch(virtual_name)
    )


def _require_key(fields: dict[str, Any]) -> None:
    """Raise unless ``fields`` names the instance (a uuid) and device."""
    missing = [
        key
        for key in ("instance_uuid", "device_name")
        if fields.get(key) is None
    ]
    if missing:
        raise exception.InvalidInput(
            reason="a block device mapping needs " + " and ".join(missing)
        )
    validate_uuid(fields["instance_uuid"])


def _check_instance(
    session: Session, context, instance_uuid: str, lock: bool = False
) -> None:
    """Raise InstanceNotFound unless the instance is live.

    With ``lock``, hold the instance's row until the transaction ends, so
    that keyed upserts of one instance's mappings run one at a time.
    """
    stmt = model_query(
        context, models.Instance, models.Instance.id, read_deleted="no"
    ).where(models.Instance.uuid == instance_uuid)
    if lock:
        stmt = stmt.with_for_update()
    if session.execute(stmt).first() is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)


def _not_found(bdm_id: Any) -> Exception:
    return exception.BlockDeviceMappingNotFound(bdm_id=bdm_id)


def _get_bdm(
    session: Session, context, bdm_id: Any
) -> models.BlockDeviceMapping:
    """Return the live mapping, or raise BlockDeviceMappingNotFound."""
    stmt = model_query(context, _BDM, read_deleted="no").where(
        _BDM.id == int_id(bdm_id, invalid=_not_found)
    )
    bdm = session.scalars(stmt).first()
    if bdm is None:
        raise _not_found(bdm_id)
    return bdm


def _set_fields(
    bdm: models.BlockDeviceMapping, fields: dict[str, Any]
) -> None:
    """Set checked ``fields`` on ``bdm``; its id cannot change."""
    if fields.get("id", bdm.id) != bdm.id:
        raise exception.InvalidInput(
            reason="a block device mapping's id cannot change"
        )
    for key, value in fields.items():
        setattr(bdm, key, value)


@require_context
def block_device_mapping_create(context, values: Mapping[str, Any]) -> Row:
    """Create a mapping and return its row.

    ``values`` must name a live instance (``instance_uuid``, else
    InvalidUUID or InstanceNotFound) and a ``device_name``.
    """
    fields = check_values(_BDM, values)
    _require_key(fields)

    with _session.writer() as session:
        _check_instance(session, context, fields["instance_uuid"])
        bdm = _BDM(**fields)
        session.add(bdm)
        session.flush()
        return to_row(bdm)


@require_context
def block_device_mapping_update(
    context, bdm_id: int, values: Mapping[str, Any]
) -> Row:
    """Set ``values`` on the mapping and return its row.

    Raises BlockDeviceMappingNotFound for an unknown or deleted id.
    """
    fields = check_values(_BDM, values)
    if "instance_uuid" in fields:
        validate_uuid(fields["instance_uuid"])

    with _session.writer() as session:
        bdm = _get_bdm(session, context, bdm_id)
        _set_fields(bdm, fields)
        session.flush()
        return to_row(bdm)


def _upsert(
    session: Session, fields: dict[str, Any]
) -> models.BlockDeviceMapping:
    """Update the live mapping of the key in ``fields``, or create it."""
    stmt = (
        select(_BDM)
        .where(
            _BDM.instance_uuid == fields["instance_uuid"],
            _BDM.device_name == fields["device_name"],
            _BDM.deleted == 0,
        )
        .order_by(_BDM.id)
    )
    bdm = session.scalars(stmt).first()
    if bdm is None:
        bdm = _BDM(**fields)
        session.add(bdm)
    else:
        _set_fields(bdm, fields)
    session.flush()
    return bdm


@require_context
@_session.retry_on_deadlock
def block_device_mapping_update_or_create(
    context, values: Mapping[str, Any]
) -> Row:
    """Update the mapping of ``(instance_uuid, device_name)`` or create it.

    Both keys are required.  When ``values`` gives a swap or ephemeral
    ``virtual_name``, the instance's other live mappings with that
    virtual name (on other devices) are deleted: a disk sits on one
    device.  A ``virtual_name`` left out of ``values`` counts as None: it
    deletes nothing and leaves an existing mapping's virtual name alone.
    Returns the mapping's row.
    """
    fields = check_values(_BDM, values)
    _require_key(fields)
    virtual_name = fields.get("virtual_name")

    with _session.writer() as session:
        _check_instance(session, context, fields["instance_uuid"], lock=True)
        bdm = _upsert(session, fields)

        if _is_swap_or_ephemeral(virtual_name):
            moved = soft_delete_where(
                session,
                _BDM,
                _BDM.instance_uuid == bdm.instance_uuid,
                _BDM.virtual_name == virtual_name,
                _BDM.device_name != bdm.device_name,
            )
            if moved:
                LOG.debug(
                    "%s of instance %s moved to %s",
                    virtual_name,
                    bdm.instance_uuid,
                    bdm.device_name,
                )
        return to_row(bdm)


@require_context
def block_device_mapping_get_all_by_instance(
    context, instance_uuid: str
) -> list[Row]:
    """Return the instance's live mappings in creation order ([] if none)."""
    stmt = (
        model_query(context, _BDM, read_deleted="no")
        .where(_BDM.instance_uuid == instance_uuid)
        .order_by(_BDM.id)
    )
    with _session.reader() as session:
        return to_rows(session.scalars(stmt))


@require_context
def block_device_mapping_destroy(context, bdm_id: int) -> None:
    """Soft-delete the mapping, or raise BlockDeviceMappingNotFound."""
    with _session.writer() as session:
        soft_delete(_get_bdm(session, context, bdm_id))


@require_context
def block_device_mapping_destroy_by_instance_and_device(
    context, instance_uuid: str, device_name: str
) -> None:
    """Soft-delete the instance's mapping at ``device_name``, if any."""
    with _session.writer() as session:
        soft_delete_where(
            session,
            _BDM,
            _BDM.instance_uuid == instance_uuid,
            _BDM.device_name == device_name,
        )


@require_context
def block_device_mapping_destroy_by_instance_and_volume(
    context, instance_uuid: str, volume_id: str
) -> None:
    """Soft-delete the instance's mappings of ``volume_id``, if any."""
    with _session.writer() as session:
        soft_delete_where(
            session,
            _BDM,
            _BDM.instance_uuid == instance_uuid,
            _BDM.volume_id == volume_id,
        )
