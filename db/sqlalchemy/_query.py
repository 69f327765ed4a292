"""Query helpers shared by the resource modules.

- :func:`model_query` starts a ``select()`` with the context's visibility
  rules: ``read_deleted`` ("no", "yes", "only") and ``project_only``.
- :func:`soft_delete` and :func:`soft_delete_where` mark rows deleted the
  way every table expects (``deleted = id``, ``deleted_at = now``) and leave
  ``updated_at`` alone.
- :func:`to_row` turns an ORM object, and the relationships a function
  documents, into a :class:`db.rows.Row` while the session is still open.
- :func:`apply_values` checks a caller's ``values`` dict against a model's
  columns and types before anything is written; :func:`check_items`
  does so for metadata-like dicts; :func:`int_id`, :func:`as_id`,
  :func:`require_str`, :func:`require_text` and :func:`require_dict`
  check single arguments.
- :func:`claim` hands out one free row of a pool (a fixed IP, a network,
  an iSCSI target...) exactly once, however many transactions ask at the
  same moment, without table locks (Galera clusters reject them).
"""

from __future__ import annotations

import datetime
import logging
import random
import uuid as uuid_lib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, Update, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.sql.sqltypes import (
    Boolean,
    DateTime,
    Float,
    Integer,
    String,
    Text,
)

from db import context as context_mod
from db import exception
from db.rows import Row
from db.sqlalchemy import _session, models
from db.sqlalchemy.types import UTCDateTime, as_utc, utcnow

LOG = logging.getLogger(__name__)

#: Integer ids are 32-bit signed in every dialect's schema.
MAX_ID = 2**31 - 1
#: :func:`claim`: rounds of candidates tried before giving up (the
#: deadlock retry then restarts the whole transaction), and free rows
#: considered per round.
_CLAIM_ROUNDS = 8
_CLAIM_CANDIDATES = 16


def read_deleted_clause(model, read_deleted: str):
    """Return the WHERE clause for ``read_deleted``, or None for 'yes'."""
    if read_deleted == "no":
        return model.deleted == 0
    if read_deleted == "only":
        return model.deleted != 0
    if read_deleted == "yes":
        return None
    raise exception.InvalidReadDeleted(read_deleted=read_deleted)


def model_query(
    context,
    model,
    *columns,
    read_deleted: str | None = None,
    project_only: bool | str = False,
) -> Select:
    """Return ``select(model)`` (or of ``columns``) with visibility rules.

    :param read_deleted: overrides ``context.read_deleted``.
    :param project_only: for a user context, keep only rows of the
        context's project; ``"allow_none"`` also keeps rows with no
        project.  Admin contexts see every project.
    """
    stmt = select(*columns) if columns else select(model)
    clause = read_deleted_clause(
        model, read_deleted or getattr(context, "read_deleted", "no")
    )
    if clause is not None:
        stmt = stmt.where(clause)
    if project_only and context_mod.is_user_context(context):
        mine = model.project_id == context.project_id
        if project_only == "allow_none":
            mine = or_(mine, model.project_id.is_(None))
        stmt = stmt.where(mine)
    return stmt


def first(session: Session, stmt: Select) -> Any:
    """Return the first ORM object ``stmt`` selects, or None."""
    return session.scalars(stmt.limit(1)).first()


def _deleted_marker(model):
    """The value ``deleted`` takes on delete: the id, or 1 for str keys."""
    pk = model.__table__.primary_key.columns.values()[0]
    if isinstance(pk.type, Integer):
        return pk
    return 1


def soft_delete(obj: models.Base) -> None:
    """Mark one loaded row deleted, keeping its ``updated_at``."""
    pk = type(obj).__table__.primary_key.columns.values()[0]
    obj.deleted = getattr(obj, pk.key) if isinstance(pk.type, Integer) else 1
    obj.deleted_at = utcnow()
    # Writing updated_at back keeps the column's onupdate from firing.
    obj.updated_at = obj.updated_at
    flag_modified(obj, "updated_at")


def soft_delete_stmt(model, *where) -> Update:
    """Return an UPDATE that soft-deletes the live rows matching ``where``."""
    return (
        update(model)
        .where(model.deleted == 0, *where)
        .values(
            deleted=_deleted_marker(model),
            deleted_at=utcnow(),
            updated_at=model.updated_at,
        )
        .execution_options(synchronize_session=False)
    )


def soft_delete_where(session: Session, model, *where) -> int:
    """Soft-delete the live rows of ``model`` matching ``where``.

    Returns the number of rows deleted.
    """
    return session.execute(soft_delete_stmt(model, *where)).rowcount


def revive(obj: models.Base) -> None:
    """Bring a soft-deleted row back to life."""
    obj.deleted = 0
    obj.deleted_at = None


def validate_uuid(value: Any) -> str:
    """Return ``value`` if it is a uuid string, else raise InvalidUUID."""
    if isinstance(value, str):
        try:
            uuid_lib.UUID(value)
            return value
        except ValueError:
            pass
    raise exception.InvalidUUID(uuid=value)


def is_uuid_like(value: Any) -> bool:
    """Return True if ``value`` is a string holding a uuid."""
    try:
        validate_uuid(value)
        return True
    except exception.InvalidUUID:
        return False


def _invalid_id(value: Any) -> Exception:
    return exception.InvalidID(id=value)


def int_id(
    value: Any,
    invalid: Callable[[Any], Exception] = _invalid_id,
    bounded: bool = False,
) -> int | None:
    """Return ``value`` as an integer row id.

    An int, or a string of decimal digits (ids arrive from URLs too),
    counts; a bool does not.  Anything else raises ``invalid(value)``:
    InvalidID unless the caller names its own error (a NotFound...).
    With ``bounded``, a number outside the id columns' range (1 to
    :data:`MAX_ID`) can name no row and gives None instead of a query
    the database might reject.
    """
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(value)
    if bounded and not 0 < value <= MAX_ID:
        return None
    return value


def as_id(value: Any) -> int | None:
    """Return ``value`` as a row id, or None if no row can have it.

    Like ``int_id(value, bounded=True)``, but a value that is no integer
    at all gives None too: it is simply not found.  Never raises.
    """
    try:
        return int_id(value, bounded=True)
    except exception.InvalidID:
        return None


def require_str(value: Any, name: str) -> str:
    """Return ``value`` if it is a string (maybe empty), else InvalidInput.
    """
    if not isinstance(value, str):
        raise exception.InvalidInput(
            reason=f"{name} must be a string, not {type(value).__name__}"
        )
    return value


def require_text(value: Any, name: str, nullable: bool = False) -> Any:
    """Return ``value`` if it is a non-empty string, else InvalidInput.

    With ``nullable``, None is accepted (and returned) too.
    """
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not value:
        raise exception.InvalidInput(
            reason=f"{name} must be a non-empty string, not {value!r}"
        )
    return value


def require_dict(value: Any, name: str = "values") -> dict[str, Any]:
    """Return a copy of the mapping ``value``; InvalidInput if it is none.
    """
    if not isinstance(value, Mapping):
        raise exception.InvalidInput(
            reason=f"{name} must be a dict, not {type(value).__name__}"
        )
    return dict(value)


def _check_value(model, column, value: Any) -> Any:
    if value is None:
        if not column.nullable and column.default is None and not (
            column.primary_key
        ):
            raise exception.InvalidValue(
                column=f"{model.__tablename__}.{column.key}",
                reason="may not be null",
            )
        return None
    kind = column.type
    name = f"{model.__tablename__}.{column.key}"
    if isinstance(kind, (UTCDateTime, DateTime)):
        try:
            return as_utc(value)
        except exception.InvalidValue as exc:
            raise exception.InvalidValue(
                column=name, reason=exc.kwargs["reason"]
            ) from None
    if isinstance(kind, Boolean):
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise exception.InvalidValue(
            column=name, reason=f"expected a boolean, got {value!r}"
        )
    if isinstance(kind, Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                return int(value)
            raise exception.InvalidValue(
                column=name, reason=f"expected an integer, got {value!r}"
            )
        return value
    if isinstance(kind, Float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                return float(value)
            except (TypeError, ValueError):
                raise exception.InvalidValue(
                    column=name, reason=f"expected a number, got {value!r}"
                ) from None
        return value
    if isinstance(kind, (String, Text)):
        if isinstance(value, (dict, list, tuple, set, bytes)):
            raise exception.InvalidValue(
                column=name,
                reason=f"expected a string, got {type(value).__name__}",
            )
        value = value if isinstance(value, str) else str(value)
        length = getattr(kind, "length", None)
        if length and len(value) > length:
            raise exception.InvalidValue(
                column=name, reason=f"longer than {length} characters"
            )
        return value
    return value


def check_values(
    model, values: Mapping[str, Any], ignore: Iterable[str] = ()
) -> dict[str, Any]:
    """Return ``values`` checked and coerced for ``model``'s columns.

    Keys in ``ignore`` are left out (a caller handles them itself); any
    other key that is not a column raises ``InvalidColumn``, and a value of
    the wrong type raises ``InvalidValue``, before anything is written.
    """
    require_dict(values)
    columns = model.__table__.columns
    skip = set(ignore)
    checked = {}
    for key, value in values.items():
        if key in skip:
            continue
        if key not in columns:
            raise exception.InvalidColumn(
                table=model.__tablename__, column=key
            )
        checked[key] = _check_value(model, columns[key], value)
    return checked


def check_items(
    model,
    items: Any,
    name: str,
    check_key: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """Return the key/value dict ``items`` checked for a key/value table.

    ``items`` (metadata, extra specs...) must be a dict (``name`` says
    what it is in the error); each pair is checked as ``model``'s ``key``
    and ``value`` columns (numbers become strings, containers and
    over-long strings raise), after ``check_key(key)`` when given.
    Nothing is written.
    """
    require_dict(items, name)
    checked = {}
    for key, value in items.items():
        if check_key is not None:
            check_key(key)
        pair = check_values(model, {"key": key, "value": value})
        checked[pair["key"]] = pair["value"]
    return checked


def apply_values(
    obj: models.Base, values: Mapping[str, Any], ignore: Iterable[str] = ()
) -> models.Base:
    """Check ``values`` (see :func:`check_values`) and set them on ``obj``."""
    for key, value in check_values(type(obj), values, ignore).items():
        setattr(obj, key, value)
    return obj


def _row_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC)
    return value


def to_row(obj: models.Base | None, *paths: str) -> Row | None:
    """Return ``obj``'s columns, extra keys and ``paths`` as a Row.

    ``paths`` name relationships to include, dotted for nested ones:
    ``to_row(inst, "instance_type", "security_groups.rules")``.  A
    relationship is exposed under its alias (``Instance.metadata_items``
    as ``metadata``).  Call it inside the session; eager-load the paths in
    the query so this costs no extra round trip.
    """
    if obj is None:
        return None
    row = Row()
    for column in obj.__table__.columns:
        row[column.key] = _row_value(getattr(obj, column.key))
    for key in obj._extra_keys:
        row[key] = getattr(obj, key)

    nested: dict[str, list[str]] = {}
    for path in paths:
        head, _, rest = path.partition(".")
        nested.setdefault(head, [])
        if rest:
            nested[head].append(rest)
    for attr, subpaths in nested.items():
        value = getattr(obj, attr)
        key = obj._row_aliases.get(attr, attr)
        if isinstance(value, list):
            row[key] = [to_row(item, *subpaths) for item in value]
        else:
            row[key] = to_row(value, *subpaths)
    return row


def to_rows(objs: Iterable[models.Base], *paths: str) -> list[Row]:
    """Return :func:`to_row` of each object, in order."""
    return [to_row(obj, *paths) for obj in objs]


# --------------------------------------------------------------------------
# Claiming one free row of a pool


def claim(
    session: Session,
    model: type[models.Base],
    where: Sequence[Any],
    values: Mapping[str, Any],
    order_by: Sequence[Any] = (),
) -> int | None:
    """Set ``values`` on one live row of ``model`` that matches ``where``.

    ``where`` must only use ``model``'s columns and must stop matching
    once ``values`` are set (it is what makes a row "free").  Returns the
    id of the claimed row, or None when no free row exists.  Raises
    DBDeadlock if it kept losing races (the outermost call's deadlock
    retry then starts over with a fresh transaction).
    """
    where = (model.deleted == 0, *where)
    pick = select(model.id).where(*where).order_by(*order_by, model.id)
    if _session.supports_skip_locked(session):
        return _claim_locked(session, model, pick, where, values)
    return _claim_guarded(session, model, pick, where, values)


def _take(session: Session, model, row_id: int, where, values) -> bool:
    """Run the guarded UPDATE of one picked row; True if it was still free.
    """
    result = session.execute(
        update(model)
        .where(model.id == row_id, *where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _claim_locked(session: Session, model, pick, where, values):
    """Lock a free row that no other transaction holds, and take it.

    When every free row is locked by others, wait on them with a plain
    FOR UPDATE: the database re-checks each row once its holder ends, so
    "none left" is exact even if a holder rolls back.
    """
    pick = pick.limit(1)
    for _ in range(_CLAIM_ROUNDS):
        row_id = session.scalar(pick.with_for_update(skip_locked=True))
        if row_id is None:
            row_id = session.scalar(pick.with_for_update())
        if row_id is None:
            return None
        if _take(session, model, row_id, where, values):
            return row_id
    raise exception.DBDeadlock(
        reason=f"kept losing claims on {model.__tablename__}"
    )


def _claim_guarded(session: Session, model, pick, where, values):
    """Claim with guarded UPDATEs only (no row locks at all).

    Every racer tries the first free row, then the other candidates in a
    random order, so concurrent claimers seldom collide twice.
    """
    for round_number in range(_CLAIM_ROUNDS):
        candidates = list(session.scalars(pick.limit(_CLAIM_CANDIDATES)))
        if not candidates:
            return None

        first, others = candidates[0], candidates[1:]
        random.shuffle(others)
        for row_id in (first, *others):
            if _take(session, model, row_id, where, values):
                return row_id
        LOG.debug(
            "Lost every claim on %s in round %d; retrying",
            model.__tablename__, round_number + 1,
        )
    raise exception.DBDeadlock(
        reason=f"kept losing claims on {model.__tablename__}"
    )
