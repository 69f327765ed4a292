"""Small resources: key pairs, certificates, S3 image ids, task logs,
agent builds and bandwidth usage.

Each "exists" check is the table's unique constraint, not a read before
the write: the insert happens first, inside a savepoint, and a violation
becomes the resource's own error (KeyPairExists, TaskAlreadyRunning,
AgentBuildExists), so two concurrent callers can never both succeed.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db import exception
from db.rows import Row
from db.sqlalchemy import _auth, _query, _session, models
from db.sqlalchemy.types import as_utc, utcnow

LOG = logging.getLogger(__name__)

__all__ = [
    "agent_build_create",
    "agent_build_destroy",
    "agent_build_get_all",
    "agent_build_get_by_triple",
    "agent_build_update",
    "bw_usage_get_by_uuids",
    "bw_usage_update",
    "certificate_create",
    "certificate_get_all_by_project",
    "certificate_get_all_by_user",
    "certificate_get_all_by_user_and_project",
    "key_pair_count_by_user",
    "key_pair_create",
    "key_pair_destroy",
    "key_pair_destroy_all_by_user",
    "key_pair_get",
    "key_pair_get_all_by_user",
    "s3_image_create",
    "s3_image_get",
    "s3_image_get_by_uuid",
    "task_log_begin_task",
    "task_log_end_task",
    "task_log_get",
    "task_log_get_all",
]

KeyPair = models.KeyPair
Certificate = models.Certificate
S3Image = models.S3Image
TaskLog = models.TaskLog
AgentBuild = models.AgentBuild
BandwidthUsage = models.BandwidthUsage


# --------------------------------------------------------------------------
# Helpers


def _live(context, model):
    return _query.model_query(context, model, read_deleted="no")


# --------------------------------------------------------------------------
# Key pairs


def _key_pair_query(context, user_id: str, name: str):
    return _query.model_query(context, KeyPair).where(
        KeyPair.user_id == user_id, KeyPair.name == name
    )


@_auth.require_context
def key_pair_create(context, values: Mapping[str, Any]) -> Row:
    """Create a key pair from ``values`` (``user_id``, ``name``, ...).

    Raises KeyPairExists when the user already has a live key pair of
    that name (the original had no check and stored duplicates),
    NotAuthorized when a user context creates one for another user.
    """
    checked = _query.check_values(KeyPair, values)
    _query.require_text(checked.get("user_id"), "user_id")
    _query.require_text(checked.get("name"), "name")
    _auth.authorize_user_context(context, checked["user_id"])

    with _session.writer() as session:
        ref = KeyPair(**checked)
        _session.insert(
            session,
            ref,
            duplicate=lambda: exception.KeyPairExists(
                key_name=checked["name"]
            ),
        )
        return _query.to_row(ref)


@_auth.require_context
def key_pair_get(context, user_id: str, name: str) -> Row:
    """Return the user's key pair called ``name``.

    Raises KeypairNotFound(user_id=, name=).
    """
    _query.require_text(user_id, "user_id")
    _query.require_text(name, "name")
    _auth.authorize_user_context(context, user_id)

    with _session.reader() as session:
        ref = session.scalars(_key_pair_query(context, user_id, name)).first()
        if ref is None:
            raise exception.KeypairNotFound(user_id=user_id, name=name)
        return _query.to_row(ref)


@_auth.require_context
def key_pair_destroy(context, user_id: str, name: str) -> None:
    """Soft-delete the user's key pair called ``name``.

    Raises KeypairNotFound(user_id=, name=).
    """
    _query.require_text(user_id, "user_id")
    _query.require_text(name, "name")
    _auth.authorize_user_context(context, user_id)

    with _session.writer() as session:
        deleted = _query.soft_delete_where(
            session, KeyPair, KeyPair.user_id == user_id, KeyPair.name == name
        )
        if not deleted:
            raise exception.KeypairNotFound(user_id=user_id, name=name)


@_auth.require_context
def key_pair_destroy_all_by_user(context, user_id: str) -> None:
    """Soft-delete every live key pair of the user."""
    _query.require_text(user_id, "user_id")
    _auth.authorize_user_context(context, user_id)

    with _session.writer() as session:
        _query.soft_delete_where(session, KeyPair, KeyPair.user_id == user_id)


@_auth.require_context
def key_pair_get_all_by_user(context, user_id: str) -> list[Row]:
    """Return the user's live key pairs, oldest first."""
    _query.require_text(user_id, "user_id")
    _auth.authorize_user_context(context, user_id)

    with _session.reader() as session:
        stmt = (
            _live(context, KeyPair)
            .where(KeyPair.user_id == user_id)
            .order_by(KeyPair.id)
        )
        return _query.to_rows(session.scalars(stmt))


@_auth.require_context
def key_pair_count_by_user(context, user_id: str) -> int:
    """Count the user's live key pairs."""
    _query.require_text(user_id, "user_id")
    _auth.authorize_user_context(context, user_id)

    with _session.reader() as session:
        stmt = _live(context, KeyPair).where(KeyPair.user_id == user_id)
        return session.scalar(
            select(func.count()).select_from(stmt.subquery())
        )


# --------------------------------------------------------------------------
# Certificates


@_auth.require_admin_context
def certificate_create(context, values: Mapping[str, Any]) -> Row:
    """Record a certificate (``user_id``, ``project_id``, ``file_name``)."""
    checked = _query.check_values(Certificate, values)

    with _session.writer() as session:
        ref = Certificate(**checked)
        _session.insert(session, ref)
        return _query.to_row(ref)


def _certificates(context, *where) -> list[Row]:
    with _session.reader() as session:
        stmt = _live(context, Certificate).where(*where)
        return _query.to_rows(session.scalars(stmt.order_by(Certificate.id)))


@_auth.require_admin_context
def certificate_get_all_by_project(context, project_id: str) -> list[Row]:
    """Return the project's live certificates."""
    _query.require_text(project_id, "project_id")
    return _certificates(context, Certificate.project_id == project_id)


@_auth.require_admin_context
def certificate_get_all_by_user(context, user_id: str) -> list[Row]:
    """Return the user's live certificates."""
    _query.require_text(user_id, "user_id")
    return _certificates(context, Certificate.user_id == user_id)


@_auth.require_admin_context
def certificate_get_all_by_user_and_project(
    context, user_id: str, project_id: str
) -> list[Row]:
    """Return the user's live certificates within the project."""
    _query.require_text(user_id, "user_id")
    _query.require_text(project_id, "project_id")
    return _certificates(
        context,
        Certificate.user_id == user_id,
        Certificate.project_id == project_id,
    )


# --------------------------------------------------------------------------
# S3 image ids: the integer EC2 ids of image uuids


def s3_image_create(context, image_uuid: str) -> Row:
    """Map ``image_uuid`` to a new integer id; returns the mapping row
    (``id``, ``uuid``).  Raises InvalidUUID for a malformed uuid."""
    _query.validate_uuid(image_uuid)

    with _session.writer() as session:
        ref = S3Image(uuid=image_uuid)
        _session.insert(session, ref)
        return _query.to_row(ref)


def s3_image_get(context, image_id: int) -> Row:
    """Return the mapping with integer id ``image_id``, deleted or not.

    Raises ImageNotFound(image_id=).
    """
    key = _query.as_id(image_id)

    with _session.reader() as session:
        ref = None
        if key is not None:
            ref = session.get(S3Image, key)
        if ref is None:
            raise exception.ImageNotFound(image_id=image_id)
        return _query.to_row(ref)


def s3_image_get_by_uuid(context, image_uuid: str) -> Row:
    """Return the (first) mapping of ``image_uuid``, deleted or not.

    Raises ImageNotFound(image_id=image_uuid), also for a value that is
    no uuid at all.
    """
    with _session.reader() as session:
        ref = None
        if _query.is_uuid_like(image_uuid):
            stmt = (
                select(S3Image)
                .where(S3Image.uuid == image_uuid)
                .order_by(S3Image.id)
            )
            ref = session.scalars(stmt).first()
        if ref is None:
            raise exception.ImageNotFound(image_id=image_uuid)
        return _query.to_row(ref)


# --------------------------------------------------------------------------
# Task log: one row per (task, host, audit period)


def _period(name: str, value: Any) -> datetime.datetime:
    try:
        return as_utc(value)
    except exception.InvalidValue as exc:
        raise exception.InvalidValue(
            column=f"task_log.{name}", reason=exc.kwargs["reason"]
        ) from None


def _task_where(
    task_name: str,
    period_beginning: Any,
    period_ending: Any,
    host: str | None,
    state: str | None = None,
) -> list:
    """The WHERE clauses naming one task's rows; None host/state match
    any.  Periods compare as timestamps, whatever form they came in."""
    _query.require_text(task_name, "task_name")
    _query.require_text(host, "host", nullable=True)
    _query.require_text(state, "state", nullable=True)
    where = [
        TaskLog.task_name == task_name,
        TaskLog.period_beginning == _period(
            "period_beginning", period_beginning
        ),
        TaskLog.period_ending == _period("period_ending", period_ending),
    ]
    if host is not None:
        where.append(TaskLog.host == host)
    if state is not None:
        where.append(TaskLog.state == state)
    return where


@_auth.require_admin_context
def task_log_begin_task(
    context,
    task_name: str,
    period_beginning: Any,
    period_ending: Any,
    host: str,
    task_items: int | None = None,
    message: str | None = None,
) -> Row:
    """Record that ``task_name`` started on ``host`` for the period.

    Inserts a 'RUNNING' row and returns it.  Raises TaskAlreadyRunning
    if the task has a row for that host and period, whatever its state:
    a finished period is not run again.  Periods are datetimes (naive
    means UTC) or ISO-8601 strings.
    """
    _query.require_text(host, "host")
    checked = _query.check_values(TaskLog, {
        "task_name": task_name,
        "host": host,
        "period_beginning": period_beginning,
        "period_ending": period_ending,
        "state": "RUNNING",
        "message": message or "",
        "task_items": task_items or 0,
    })

    with _session.writer() as session:
        ref = TaskLog(**checked)
        _session.insert(
            session,
            ref,
            duplicate=lambda: exception.TaskAlreadyRunning(
                task_name=task_name, host=host
            ),
        )
        return _query.to_row(ref)


@_auth.require_admin_context
def task_log_end_task(
    context,
    task_name: str,
    period_beginning: Any,
    period_ending: Any,
    host: str,
    errors: int,
    message: str | None = None,
) -> None:
    """Mark the task's row for ``host`` and the period 'DONE'.

    Records ``errors`` and, when given, ``message``.  Raises
    TaskNotRunning when :func:`task_log_begin_task` never recorded it.
    """
    _query.require_text(host, "host")
    values = {"state": "DONE", "errors": errors}
    if message:
        values["message"] = message
    checked = _query.check_values(TaskLog, values)
    where = _task_where(task_name, period_beginning, period_ending, host)

    with _session.writer() as session:
        result = session.execute(
            update(TaskLog)
            .where(TaskLog.deleted == 0, *where)
            .values(updated_at=utcnow(), **checked)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:
            raise exception.TaskNotRunning(task_name=task_name, host=host)


def _task_logs(context, where: list):
    return _query.model_query(context, TaskLog).where(*where).order_by(
        TaskLog.id
    )


@_auth.require_admin_context
def task_log_get(
    context,
    task_name: str,
    period_beginning: Any,
    period_ending: Any,
    host: str | None,
    state: str | None = None,
) -> Row | None:
    """Return the task's row for ``host``, the period and (if given)
    ``state``, or None.  A None ``host`` matches any host."""
    where = _task_where(
        task_name, period_beginning, period_ending, host, state
    )

    with _session.reader() as session:
        ref = session.scalars(_task_logs(context, where)).first()
        return _query.to_row(ref)


@_auth.require_admin_context
def task_log_get_all(
    context,
    task_name: str,
    period_beginning: Any,
    period_ending: Any,
    host: str | None = None,
    state: str | None = None,
) -> list[Row]:
    """Return the task's rows for the period, optionally only those of
    ``host`` and/or in ``state``."""
    where = _task_where(
        task_name, period_beginning, period_ending, host, state
    )

    with _session.reader() as session:
        return _query.to_rows(session.scalars(_task_logs(context, where)))


# --------------------------------------------------------------------------
# Agent builds: one guest agent per (hypervisor, os, architecture)


def _agent_build_exists(values: Mapping[str, Any]) -> exception.Duplicate:
    return exception.AgentBuildExists(
        hypervisor=values.get("hypervisor"),
        os=values.get("os"),
        architecture=values.get("architecture"),
    )


def _agent_build(session: Session, context, agent_build_id: Any):
    """Load the live agent build; raises AgentBuildNotFound(id=)."""
    key = _query.as_id(agent_build_id)
    ref = None
    if key is not None:
        ref = session.scalars(
            _live(context, AgentBuild).where(AgentBuild.id == key)
        ).first()
    if ref is None:
        raise exception.AgentBuildNotFound(id=agent_build_id)
    return ref


@_auth.require_admin_context
def agent_build_create(context, values: Mapping[str, Any]) -> Row:
    """Create an agent build and return it.

    Raises AgentBuildExists when a live build has the same hypervisor,
    os and architecture.
    """
    checked = _query.check_values(AgentBuild, values)

    with _session.writer() as session:
        ref = AgentBuild(**checked)
        _session.insert(
            session, ref, duplicate=lambda: _agent_build_exists(checked)
        )
        return _query.to_row(ref)


@_auth.require_admin_context
def agent_build_get_by_triple(
    context, hypervisor: str, os: str, architecture: str
) -> Row | None:
    """Return the live build for the triple, or None if there is none."""
    for name, value in (("hypervisor", hypervisor), ("os", os),
                        ("architecture", architecture)):
        _query.require_text(value, name, nullable=True)

    with _session.reader() as session:
        stmt = _live(context, AgentBuild).where(
            AgentBuild.hypervisor == hypervisor,
            AgentBuild.os == os,
            AgentBuild.architecture == architecture,
        )
        return _query.to_row(session.scalars(stmt).first())


@_auth.require_admin_context
def agent_build_get_all(context) -> list[Row]:
    """Return every live agent build."""
    with _session.reader() as session:
        stmt = _live(context, AgentBuild).order_by(AgentBuild.id)
        return _query.to_rows(session.scalars(stmt))


@_auth.require_admin_context
def agent_build_update(
    context, agent_build_id: int, values: Mapping[str, Any]
) -> Row:
    """Update the live agent build from ``values`` and return it.

    Raises AgentBuildNotFound(id=) when there is no such build (the
    original crashed with AttributeError), AgentBuildExists when the new
    triple is taken.
    """
    checked = _query.check_values(AgentBuild, values)

    with _session.writer() as session:
        ref = _agent_build(session, context, agent_build_id)
        exists = _agent_build_exists(checked)
        with _session.savepoint(session, duplicate=lambda: exists):
            for key, value in checked.items():
                setattr(ref, key, value)
        return _query.to_row(ref)


@_auth.require_admin_context
def agent_build_destroy(context, agent_update_id: int) -> None:
    """Soft-delete the agent build with id ``agent_update_id``.

    Raises AgentBuildNotFound(id=) (the original crashed with
    AttributeError).
    """
    with _session.writer() as session:
        _query.soft_delete(_agent_build(session, context, agent_update_id))


# --------------------------------------------------------------------------
# Bandwidth usage: counters per (instance, mac, audit period)


def _bw_key(uuid: Any, mac: Any, start_period: Any) -> dict[str, Any]:
    _query.validate_uuid(uuid)
    _query.require_text(mac, "mac")
    key = {"uuid": uuid, "mac": mac, "start_period": start_period}
    return _query.check_values(BandwidthUsage, key)


def _bw_update(session: Session, key: dict, values: dict) -> bool:
    """UPDATE the live row of ``key``; False if there is none."""
    result = session.execute(
        update(BandwidthUsage)
        .where(
            BandwidthUsage.deleted == 0,
            BandwidthUsage.uuid == key["uuid"],
            BandwidthUsage.mac == key["mac"],
            BandwidthUsage.start_period == key["start_period"],
        )
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


@_auth.require_context
@_session.retry_on_deadlock
def bw_usage_update(
    context,
    uuid: str,
    mac: str,
    start_period: Any,
    bw_in: int | None,
    bw_out: int | None,
    last_refreshed: Any = None,
) -> None:
    """Store the counters of instance ``uuid``'s interface ``mac`` for the
    audit period starting at ``start_period``.

    Updates the period's row, or creates it.  ``last_refreshed`` defaults
    to now.  Concurrent first updates of a period cannot create two rows:
    the loser of the insert race (the unique constraint) updates the
    winner's row instead.
    """
    key = _bw_key(uuid, mac, start_period)
    values = _query.check_values(BandwidthUsage, {
        "bw_in": bw_in,
        "bw_out": bw_out,
        "last_refreshed": utcnow() if last_refreshed is None
        else last_refreshed,
    })

    with _session.writer() as session:
        if _bw_update(session, key, values):
            return
        try:
            _session.insert(session, BandwidthUsage(**key, **values))
        except exception.DBDuplicateEntry:
            if not _bw_update(session, key, values):
                # The row that beat us is gone again: start over.
                raise exception.DBDeadlock(
                    reason=f"bw_usage row of {uuid} {mac} kept changing"
                ) from None


@_auth.require_context
def bw_usage_get_by_uuids(
    context, uuids: Iterable[str], start_period: Any
) -> list[Row]:
    """Return the live rows of the instances ``uuids`` for the audit
    period starting at ``start_period``, ordered by uuid and mac."""
    if isinstance(uuids, (str, bytes, Mapping)) or not isinstance(
        uuids, Iterable
    ):
        raise exception.InvalidInput(reason="uuids must be a list of uuids")
    uuids = list(uuids)
    for uuid in uuids:
        _query.require_text(uuid, "uuid")
    start = _query.check_values(
        BandwidthUsage, {"start_period": start_period}
    )["start_period"]
    if not uuids:
        return []

    with _session.reader() as session:
        stmt = (
            _live(context, BandwidthUsage)
            .where(
                BandwidthUsage.uuid.in_(uuids),
                BandwidthUsage.start_period == start,
            )
            .order_by(BandwidthUsage.uuid, BandwidthUsage.mac)
        )
        return _query.to_rows(session.scalars(stmt))
