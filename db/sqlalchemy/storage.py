"""Volume types with their extra specs, and the storage manager (SM) tables.

Volume types are soft-deleted like most rows; a live type's name is unique
(``VolumeTypeExists``) and its extra specs come back as a ``{key: value}``
dict under ``extra_specs``.

The SM tables (flavors, backend configs, SM volumes) describe storage
backends for the storage-manager volume driver.  Their deletes are hard,
as in the original, so their queries ignore ``read_deleted``.  A flavor's
label and a backend's ``sr_uuid`` are unique; an SM volume is keyed by the
id of its volume.

Volume type readers take any context; everything that writes, and every
SM function, needs an admin context.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from db import exception
from db.rows import Row
from db.sqlalchemy import _auth, _query, _session, models

LOG = logging.getLogger(__name__)

__all__ = [
    "sm_backend_conf_create",
    "sm_backend_conf_delete",
    "sm_backend_conf_get",
    "sm_backend_conf_get_all",
    "sm_backend_conf_get_by_sr",
    "sm_backend_conf_update",
    "sm_flavor_create",
    "sm_flavor_delete",
    "sm_flavor_get",
    "sm_flavor_get_all",
    "sm_flavor_get_by_label",
    "sm_flavor_update",
    "sm_volume_create",
    "sm_volume_delete",
    "sm_volume_get",
    "sm_volume_get_all",
    "sm_volume_update",
    "volume_type_create",
    "volume_type_destroy",
    "volume_type_extra_specs_delete",
    "volume_type_extra_specs_get",
    "volume_type_extra_specs_update_or_create",
    "volume_type_get",
    "volume_type_get_all",
    "volume_type_get_by_name",
]


# --------------------------------------------------------------------------
# Shared helpers


def _duplicate_of(error: exception.DBDuplicateEntry, column: str) -> bool:
    """Return True if ``error`` is a violation involving ``column``."""
    return column in error.kwargs.get("columns", ())


def _check_id(value: Any, column: str) -> int:
    """Return an integer id; digit strings (from URLs) are accepted."""
    return _query.int_id(
        value,
        invalid=lambda bad: exception.InvalidValue(
            column=column, reason=f"expected an integer id, got {bad!r}"
        ),
    )


# --------------------------------------------------------------------------
# Volume types


def _type_query(context, read_deleted: str | None = None):
    return _query.model_query(
        context, models.VolumeTypes, read_deleted=read_deleted
    ).options(selectinload(models.VolumeTypes.extra_specs))


def _type_row(vtype: models.VolumeTypes, specs=None) -> Row:
    """Return the type as a Row with its live extra specs as a dict."""
    row = _query.to_row(vtype)
    if specs is None:
        specs = {spec.key: spec.value for spec in vtype.extra_specs}
    row["extra_specs"] = dict(specs)
    return row


def _check_specs(extra_specs: Any) -> dict[str, str | None]:
    """Return ``extra_specs`` checked: string keys, string values."""
    return _query.check_items(
        models.VolumeTypeExtraSpecs,
        extra_specs,
        "extra_specs",
        lambda key: _query.require_text(key, "an extra spec key"),
    )


def _live_type(session: Session, volume_type_id: Any, lock=False):
    """Return the live volume type, or raise VolumeTypeNotFound."""
    type_id = _check_id(volume_type_id, "volume_types.id")
    stmt = _query.model_query(
        None, models.VolumeTypes, read_deleted="no"
    ).where(models.VolumeTypes.id == type_id)
    if lock:
        stmt = stmt.with_for_update()
    vtype = session.scalars(stmt).first()
    if vtype is None:
        raise exception.VolumeTypeNotFound(volume_type_id=volume_type_id)
    return vtype


def _type_by_name(session: Session, context, name: str):
    stmt = _type_query(context).where(models.VolumeTypes.name == name)
    vtype = session.scalars(stmt.order_by(models.VolumeTypes.id)).first()
    if vtype is None:
        raise exception.VolumeTypeNotFoundByName(volume_type_name=name)
    return vtype


@_auth.require_admin_context
def volume_type_create(context, values):
    """Create a volume type and return it (with ``extra_specs`` a dict).

    ``values`` holds the type's columns (``name`` is required) and an
    optional ``extra_specs`` dict, written as rows.  Raises
    VolumeTypeExists when a live type has the name.
    """
    if not isinstance(values, Mapping):
        raise exception.InvalidInput(reason="values must be a dict")
    specs = _check_specs(values.get("extra_specs") or {})
    checked = _query.check_values(
        models.VolumeTypes, values, ignore=("extra_specs",)
    )
    name = _query.require_text(checked.get("name"), "name")
    vtype = models.VolumeTypes(**checked)

    with _session.writer() as session:
        try:
            with _session.savepoint(session):
                session.add(vtype)
        except exception.DBDuplicateEntry as exc:
            if not _duplicate_of(exc, "name"):
                raise
            raise exception.VolumeTypeExists(name=name) from None
        session.add_all(
            models.VolumeTypeExtraSpecs(
                volume_type_id=vtype.id, key=key, value=value
            )
            for key, value in specs.items()
        )
        session.flush()
        return _type_row(vtype, specs)


@_auth.require_context
def volume_type_get_all(context, inactive=False):
    """Return ``{name: volume type}`` of every live type.

    With ``inactive`` true, soft-deleted types are included; when a
    deleted and a live type share a name, the live one (the newest) is
    the one returned.
    """
    read_deleted = "yes" if inactive else "no"

    with _session.reader() as session:
        stmt = _type_query(context, read_deleted).order_by(
            models.VolumeTypes.name, models.VolumeTypes.id
        )
        return {
            vtype.name: _type_row(vtype) for vtype in session.scalars(stmt)
        }


@_auth.require_context
def volume_type_get(context, id):
    """Return the volume type ``id``, or raise VolumeTypeNotFound.

    Follows the context's ``read_deleted``.
    """
    type_id = _check_id(id, "volume_types.id")

    with _session.reader() as session:
        stmt = _type_query(context).where(models.VolumeTypes.id == type_id)
        vtype = session.scalars(stmt).first()
        if vtype is None:
            raise exception.VolumeTypeNotFound(volume_type_id=id)
        return _type_row(vtype)


@_auth.require_context
def volume_type_get_by_name(context, name):
    """Return the volume type called ``name``.

    Raises VolumeTypeNotFoundByName.  Follows the context's
    ``read_deleted``.
    """
    _query.require_text(name, "name")

    with _session.reader() as session:
        return _type_row(_type_by_name(session, context, name))


@_auth.require_admin_context
def volume_type_destroy(context, name):
    """Soft-delete the live volume type ``name`` and its extra specs.

    Raises VolumeTypeNotFoundByName.
    """
    _query.require_text(name, "name")

    with _session.writer() as session:
        stmt = _query.model_query(
            None, models.VolumeTypes, read_deleted="no"
        ).where(models.VolumeTypes.name == name)
        vtype = session.scalars(stmt).first()
        if vtype is None:
            raise exception.VolumeTypeNotFoundByName(volume_type_name=name)
        _query.soft_delete_where(
            session,
            models.VolumeTypeExtraSpecs,
            models.VolumeTypeExtraSpecs.volume_type_id == vtype.id,
        )
        _query.soft_delete(vtype)


@_auth.require_context
def volume_type_extra_specs_get(context, volume_type_id):
    """Return the live extra specs of the type as ``{key: value}``.

    Raises VolumeTypeNotFound for a type that is not live (the original
    returned ``{}``).
    """
    with _session.reader() as session:
        vtype = _live_type(session, volume_type_id)
        stmt = _query.model_query(
            None, models.VolumeTypeExtraSpecs, read_deleted="no"
        ).where(models.VolumeTypeExtraSpecs.volume_type_id == vtype.id)
        return {spec.key: spec.value for spec in session.scalars(stmt)}


@_auth.require_admin_context
def volume_type_extra_specs_delete(context, volume_type_id, key):
    """Soft-delete the type's extra spec ``key``.

    Raises VolumeTypeNotFound for an unknown type and
    VolumeTypeExtraSpecsNotFound when the type has no live spec ``key``
    (the original silently did nothing).
    """
    _query.require_text(key, "key")

    with _session.writer() as session:
        vtype = _live_type(session, volume_type_id)
        deleted = _query.soft_delete_where(
            session,
            models.VolumeTypeExtraSpecs,
            models.VolumeTypeExtraSpecs.volume_type_id == vtype.id,
            models.VolumeTypeExtraSpecs.key == key,
        )
        if not deleted:
            raise exception.VolumeTypeExtraSpecsNotFound(
                volume_type_id=volume_type_id, extra_specs_key=key
            )


def _upsert_spec(session: Session, rows: list, type_id: int, key, value):
    """Set one spec: update the live row, or revive a deleted one, or add.

    ``rows`` are the type's spec rows for ``key``, oldest first.
    """
    live = [row for row in rows if row.deleted == 0]
    if live:
        live[0].value = value
    elif rows:
        _query.revive(rows[-1])
        rows[-1].value = value
    else:
        session.add(
            models.VolumeTypeExtraSpecs(
                volume_type_id=type_id, key=key, value=value
            )
        )


@_auth.require_admin_context
def volume_type_extra_specs_update_or_create(
    context, volume_type_id, extra_specs
):
    """Set the given extra specs of the type; other keys stay as they are.

    A key that was deleted is revived.  The type row is locked, so
    concurrent calls for one type serialise.  Returns the specs set, as
    stored.  Raises VolumeTypeNotFound.
    """
    specs = _check_specs(extra_specs)

    with _session.writer() as session:
        vtype = _live_type(session, volume_type_id, lock=True)
        stmt = (
            select(models.VolumeTypeExtraSpecs)
            .where(
                models.VolumeTypeExtraSpecs.volume_type_id == vtype.id,
                models.VolumeTypeExtraSpecs.key.in_(list(specs)),
            )
            .order_by(models.VolumeTypeExtraSpecs.id)
        )
        by_key: dict[str, list] = {key: [] for key in specs}
        for row in session.scalars(stmt):
            by_key[row.key].append(row)
        for key, value in specs.items():
            _upsert_spec(session, by_key[key], vtype.id, key, value)
        session.flush()
        return dict(specs)


# --------------------------------------------------------------------------
# SM flavors


def _sm_flavor(session: Session, sm_flavor_id: Any) -> models.SMFlavors:
    flavor = session.get(
        models.SMFlavors, _check_id(sm_flavor_id, "sm_flavors.id")
    )
    if flavor is None:
        raise exception.SMFlavorNotFound(sm_flavor_id=sm_flavor_id)
    return flavor


def _write_sm_flavor(session: Session, flavor, values) -> Row:
    """Apply ``values`` to ``flavor`` (new or loaded) and write it."""
    try:
        with _session.savepoint(session):
            _query.apply_values(flavor, values)
            session.add(flavor)
    except exception.DBDuplicateEntry as exc:
        if not _duplicate_of(exc, "label"):
            raise
        raise exception.SMFlavorExists(label=flavor.label) from None
    return _query.to_row(flavor)


@_auth.require_admin_context
def sm_flavor_create(context, values):
    """Create an SM flavor (``label`` required) and return it.

    Raises SMFlavorExists when the label is taken (the original raised a
    bare Duplicate).
    """
    _query.check_values(models.SMFlavors, values)
    _query.require_text(values.get("label"), "label")

    with _session.writer() as session:
        return _write_sm_flavor(session, models.SMFlavors(), values)


@_auth.require_admin_context
def sm_flavor_update(context, sm_flavor_id, values):
    """Update the SM flavor and return it.

    Raises SMFlavorNotFound (the original's message here was a malformed
    format string) and SMFlavorExists for a label that is taken.
    """
    _query.check_values(models.SMFlavors, values)
    if "label" in values:
        _query.require_text(values["label"], "label")

    with _session.writer() as session:
        flavor = _sm_flavor(session, sm_flavor_id)
        return _write_sm_flavor(session, flavor, values)


@_auth.require_admin_context
def sm_flavor_delete(context, sm_flavor_id):
    """Delete the SM flavor for good.

    Raises SMFlavorNotFound (the original silently did nothing), and
    DBReferenceError while a backend config still uses the flavor.
    """
    with _session.writer() as session:
        flavor = _sm_flavor(session, sm_flavor_id)
        with _session.savepoint(session):
            session.delete(flavor)


@_auth.require_admin_context
def sm_flavor_get(context, sm_flavor_id):
    """Return the SM flavor, or raise SMFlavorNotFound."""
    with _session.reader() as session:
        return _query.to_row(_sm_flavor(session, sm_flavor_id))


@_auth.require_admin_context
def sm_flavor_get_all(context):
    """Return every SM flavor, in id order."""
    with _session.reader() as session:
        stmt = select(models.SMFlavors).order_by(models.SMFlavors.id)
        return _query.to_rows(session.scalars(stmt))


@_auth.require_admin_context
def sm_flavor_get_by_label(context, sm_flavor_label):
    """Return the SM flavor labelled ``sm_flavor_label``.

    Raises SMFlavorNotFound with the label as ``sm_flavor_id``.
    """
    _query.require_text(sm_flavor_label, "sm_flavor_label")

    with _session.reader() as session:
        stmt = select(models.SMFlavors).where(
            models.SMFlavors.label == sm_flavor_label
        )
        flavor = session.scalars(stmt).first()
        if flavor is None:
            raise exception.SMFlavorNotFound(sm_flavor_id=sm_flavor_label)
        return _query.to_row(flavor)


# --------------------------------------------------------------------------
# SM backend configs


def _sm_backend(session: Session, backend_id: Any) -> models.SMBackendConf:
    backend = session.get(
        models.SMBackendConf, _check_id(backend_id, "sm_backend_config.id")
    )
    if backend is None:
        raise exception.SMBackendConfNotFound(sm_backend_id=backend_id)
    return backend


def _write_sm_backend(session: Session, backend, values) -> Row:
    """Apply ``values`` to ``backend`` (new or loaded) and write it."""
    if values.get("flavor_id") is not None:
        _sm_flavor(session, values["flavor_id"])
    try:
        with _session.savepoint(session):
            _query.apply_values(backend, values)
            session.add(backend)
    except exception.DBDuplicateEntry as exc:
        if not _duplicate_of(exc, "sr_uuid"):
            raise
        raise exception.SMBackendConfExists(
            sr_uuid=backend.sr_uuid
        ) from None
    return _query.to_row(backend)


@_auth.require_admin_context
def sm_backend_conf_create(context, values):
    """Create an SM backend config and return it.

    ``flavor_id`` must name an SM flavor (SMFlavorNotFound).  Raises
    SMBackendConfExists when another backend has the ``sr_uuid`` (the
    original raised a bare Duplicate, comparing ``config_params``).
    """
    _query.check_values(models.SMBackendConf, values)
    if values.get("flavor_id") is None:
        raise exception.InvalidInput(reason="flavor_id is required")

    with _session.writer() as session:
        return _write_sm_backend(session, models.SMBackendConf(), values)


@_auth.require_admin_context
def sm_backend_conf_update(context, sm_backend_conf_id, values):
    """Update the SM backend config and return it.

    Raises SMBackendConfNotFound, SMFlavorNotFound for an unknown new
    flavor, and SMBackendConfExists for an ``sr_uuid`` that is taken.
    """
    _query.check_values(models.SMBackendConf, values)

    with _session.writer() as session:
        backend = _sm_backend(session, sm_backend_conf_id)
        return _write_sm_backend(session, backend, values)


@_auth.require_admin_context
def sm_backend_conf_delete(context, sm_backend_conf_id):
    """Delete the SM backend config for good.

    Raises SMBackendConfNotFound (the original silently did nothing), and
    DBReferenceError while an SM volume still uses the backend.
    """
    with _session.writer() as session:
        backend = _sm_backend(session, sm_backend_conf_id)
        with _session.savepoint(session):
            session.delete(backend)


@_auth.require_admin_context
def sm_backend_conf_get(context, sm_backend_conf_id):
    """Return the SM backend config, or raise SMBackendConfNotFound."""
    with _session.reader() as session:
        return _query.to_row(_sm_backend(session, sm_backend_conf_id))


@_auth.require_admin_context
def sm_backend_conf_get_all(context):
    """Return every SM backend config, in id order."""
    with _session.reader() as session:
        stmt = select(models.SMBackendConf).order_by(models.SMBackendConf.id)
        return _query.to_rows(session.scalars(stmt))


@_auth.require_admin_context
def sm_backend_conf_get_by_sr(context, sr_uuid):
    """Return the SM backend config of the storage repository ``sr_uuid``.

    Raises SMBackendConfNotFound with the sr_uuid as ``sm_backend_id``.
    """
    _query.require_text(sr_uuid, "sr_uuid")

    with _session.reader() as session:
        stmt = select(models.SMBackendConf).where(
            models.SMBackendConf.sr_uuid == sr_uuid
        )
        backend = session.scalars(stmt).first()
        if backend is None:
            raise exception.SMBackendConfNotFound(sm_backend_id=sr_uuid)
        return _query.to_row(backend)


# --------------------------------------------------------------------------
# SM volumes


def _sm_volume(session: Session, volume_id: Any) -> models.SMVolume:
    _query.require_text(volume_id, "volume_id")
    sm_volume = session.get(models.SMVolume, volume_id)
    if sm_volume is None:
        raise exception.SMVolumeNotFound(volume_id=volume_id)
    return sm_volume


def _check_sm_volume_refs(session: Session, values: Mapping) -> None:
    """Raise VolumeNotFound / SMBackendConfNotFound for missing targets."""
    if "id" in values:
        stmt = select(models.Volume.id).where(
            models.Volume.id == values["id"], models.Volume.deleted == 0
        )
        if session.scalar(stmt) is None:
            raise exception.VolumeNotFound(volume_id=values["id"])
    if values.get("backend_id") is not None:
        _sm_backend(session, values["backend_id"])


@_auth.require_admin_context
def sm_volume_create(context, values):
    """Create the SM record of a volume and return it.

    ``values['id']`` is the id of a live volume (VolumeNotFound) and
    ``backend_id`` that of an SM backend config (SMBackendConfNotFound).
    Raises SMVolumeExists when the volume already has an SM record.
    """
    checked = _query.check_values(models.SMVolume, values)
    volume_id = _query.require_text(checked.get("id"), "id")
    if checked.get("backend_id") is None:
        raise exception.InvalidInput(reason="backend_id is required")

    with _session.writer() as session:
        _check_sm_volume_refs(session, checked)
        sm_volume = models.SMVolume(**checked)
        try:
            with _session.savepoint(session):
                session.add(sm_volume)
        except exception.DBDuplicateEntry:
            raise exception.SMVolumeExists(volume_id=volume_id) from None
        return _query.to_row(sm_volume)


@_auth.require_admin_context
def sm_volume_update(context, volume_id, values):
    """Update the SM record of the volume and return it.

    Its ``id`` cannot change.  Raises SMVolumeNotFound, and
    SMBackendConfNotFound for an unknown new backend.
    """
    checked = _query.check_values(models.SMVolume, values)
    if checked.get("id", volume_id) != volume_id:
        raise exception.InvalidInput(
            reason="the id of an SM volume cannot change"
        )

    with _session.writer() as session:
        sm_volume = _sm_volume(session, volume_id)
        _check_sm_volume_refs(
            session, {"backend_id": checked.get("backend_id")}
        )
        with _session.savepoint(session):
            _query.apply_values(sm_volume, checked)
        return _query.to_row(sm_volume)


@_auth.require_admin_context
def sm_volume_delete(context, volume_id):
    """Delete the SM record of the volume for good.

    Raises SMVolumeNotFound (the original silently did nothing).
    """
    with _session.writer() as session:
        sm_volume = _sm_volume(session, volume_id)
        with _session.savepoint(session):
            session.delete(sm_volume)


@_auth.require_admin_context
def sm_volume_get(context, volume_id):
    """Return the SM record of the volume, or raise SMVolumeNotFound."""
    with _session.reader() as session:
        return _query.to_row(_sm_volume(session, volume_id))


@_auth.require_admin_context
def sm_volume_get_all(context):
    """Return every SM volume record, in id order."""
    with _session.reader() as session:
        stmt = select(models.SMVolume).order_by(models.SMVolume.id)
        return _query.to_rows(session.scalars(stmt))
