"""Engine, transactions and the one boundary where database errors change.

Every backend function runs its work inside :func:`writer` or
:func:`reader`::

    def thing_update(context, thing_id, values):
        with _session.writer() as session:
            ...

The outermost block opens a session and a transaction, commits on success
and rolls back on any exception, so each API call is all or nothing.  A
block entered while another is open (one API function calling another)
joins the open transaction.  Errors of the driver and of SQLAlchemy are
translated into :mod:`db.exception` classes here and nowhere else.

On SQLite a writer starts with ``BEGIN IMMEDIATE``: it takes the database's
single write lock up front, so concurrent allocations serialise instead of
failing with "database is locked" half-way.  Readers use a plain ``BEGIN``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import sqlalchemy
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from db import exception, options

LOG = logging.getLogger(__name__)
CONF = options.CONF

_engine: Engine | None = None
_engine_lock = threading.Lock()
_current: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "db_session", default=None
)
_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "db_sqlite_immediate", default=False
)
#: Set by :func:`forbid` on compute nodes: the binary that must not open
#: an engine.
_forbidden_for: str | None = None
#: Set by :func:`allow`: this process serves calls (a conductor) even if
#: its own facade is configured with ``db_backend = conductor``.
_serving = False

F = TypeVar("F", bound=Callable[..., Any])


def forbid(binary: str) -> None:
    """Make every later attempt to open an engine raise DBNotAllowed."""
    global _forbidden_for
    _forbidden_for = binary
    dispose()


def allow() -> None:
    """Let this process open an engine: it serves database calls."""
    global _forbidden_for, _serving
    _forbidden_for = None
    _serving = True


def _check_allowed() -> None:
    if _forbidden_for is not None:
        raise exception.DBNotAllowed(binary=_forbidden_for)
    if CONF.db_backend == "conductor" and not _serving:
        raise exception.DBNotAllowed(binary=_program_name())


def _program_name() -> str:
    import sys

    return os.path.basename(sys.argv[0] or "python") or "python"


def masked_url(url: str | sqlalchemy.URL) -> str:
    """Return ``url`` with its password hidden, fit for a log line."""
    try:
        return sqlalchemy.make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return "<unparseable database URL>"


def get_engine() -> Engine:
    """Return the process's engine, creating it on first use."""
    global _engine
    if _engine is not None:
        return _engine
    with _engine_lock:
        if _engine is None:
            _check_allowed()
            _engine = _create_engine(CONF.sql_connection)
    return _engine


def dispose() -> None:
    """Close the engine's connections; the next call makes a new engine."""
    global _engine
    with _engine_lock:
        if _engine is not None:
            _engine.dispose()
            _engine = None


def _create_engine(url_text: str) -> Engine:
    try:
        url = sqlalchemy.make_url(url_text)
    except sa_exc.ArgumentError as exc:
        raise exception.InvalidInput(
            reason=f"sql_connection is not a database URL: {exc}"
        ) from None
    group = CONF.database
    kwargs: dict[str, Any] = {"future": True}
    if group.connection_debug >= 100:
        kwargs["echo"] = "debug"
    elif group.connection_debug >= 50:
        kwargs["echo"] = True

    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            kwargs["poolclass"] = StaticPool
        elif database:
            os.makedirs(os.path.dirname(os.path.abspath(database)),
                        exist_ok=True)
        kwargs["connect_args"] = {
            "check_same_thread": False,
            "timeout": group.sqlite_busy_timeout,
        }
    else:
        kwargs.update(
            pool_pre_ping=True,
            pool_recycle=group.idle_timeout,
            pool_size=group.max_pool_size,
            max_overflow=group.max_overflow,
            pool_timeout=group.pool_timeout,
        )
    try:
        engine = sqlalchemy.create_engine(url, **kwargs)
    except (ImportError, sa_exc.ArgumentError) as exc:
        raise exception.InvalidInput(
            reason=f"cannot use {masked_url(url)}: {exc}"
        ) from None
    if url.get_backend_name() == "sqlite":
        _setup_sqlite(engine, memory=kwargs.get("poolclass") is StaticPool)
    _wait_for_database(engine)
    LOG.info("Database ready: %s", masked_url(url))
    return engine


def _setup_sqlite(engine: Engine, memory: bool) -> None:
    synchronous = "FULL" if CONF.database.sqlite_synchronous else "OFF"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, record):
        # Let SQLAlchemy's "begin" event, below, emit BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        mode = "BEGIN IMMEDIATE" if _immediate.get() else "BEGIN"
        connection.exec_driver_sql(mode)


def _wait_for_database(engine: Engine) -> None:
    attempts = CONF.database.max_retries
    interval = CONF.database.retry_interval
    attempt = 0
    while True:
        attempt += 1
        try:
            with engine.connect():
                return
        except sa_exc.OperationalError as exc:
            if attempts != -1 and attempt > attempts:
                LOG.error(
                    "Database %s unreachable after %d attempts; giving up",
                    masked_url(engine.url), attempt,
                )
                raise exception.DBConnectionError(
                    reason=str(exc.orig).strip()
                ) from None
            LOG.warning(
                "Database %s unreachable (%s); retry %d in %.1fs",
                masked_url(engine.url), type(exc.orig).__name__, attempt,
                interval,
            )
            time.sleep(interval)


def current() -> Session | None:
    """Return the session of the transaction open in this context, if any."""
    return _current.get()


@contextlib.contextmanager
def _transaction(write: bool) -> Iterator[Session]:
    session = _current.get()
    if session is not None:
        yield session
        return

    engine = get_engine()
    session = Session(bind=engine, expire_on_commit=False, autoflush=True)
    token = _current.set(session)
    mode = _immediate.set(write)
    try:
        with session.begin():
            yield session
    except exception.DBConductorError:
        raise
    except Exception as exc:
        translated = translate(exc)
        if translated is exc:
            raise
        raise translated from exc
    finally:
        _immediate.reset(mode)
        _current.reset(token)
        session.close()


def writer() -> contextlib.AbstractContextManager[Session]:
    """Open (or join) a read-write transaction for one API call."""
    return _transaction(write=True)


def reader() -> contextlib.AbstractContextManager[Session]:
    """Open (or join) a transaction for one API call that only reads."""
    return _transaction(write=False)


# --------------------------------------------------------------------------
# Savepoints: insert-first writes inside a call's transaction

#: Builds the caller's own error for a failure :func:`savepoint` names.
ErrorFactory = Callable[[], Exception]


@contextlib.contextmanager
def savepoint(
    session: Session,
    duplicate: ErrorFactory | None = None,
    missing: ErrorFactory | None = None,
) -> Iterator[None]:
    """Run the block, then flush it, inside a savepoint.

    Make the ORM changes (``add``, attribute writes, deletes) *inside* the
    block.  A database error then rolls back only the savepoint, so the
    rest of the call's transaction stays usable (the caller may re-read
    a concurrent winner's row, or carry on), and is raised translated
    (``DBDuplicateEntry``, ``DBReferenceError``...).  When given,
    ``duplicate()`` is raised instead of a unique violation and
    ``missing()`` instead of a foreign key violation.
    """
    try:
        with session.begin_nested():
            yield
            session.flush()
    except sa_exc.SQLAlchemyError as exc:
        error = translate(exc)
        if duplicate and isinstance(error, exception.DBDuplicateEntry):
            raise duplicate() from None
        if missing and isinstance(error, exception.DBReferenceError):
            raise missing() from None
        raise error from None


def insert(
    session: Session,
    *objs: Any,
    duplicate: ErrorFactory | None = None,
    missing: ErrorFactory | None = None,
) -> None:
    """Add and flush the new ORM objects ``objs`` in a :func:`savepoint`.

    ``duplicate`` and ``missing`` name the failures as there.
    """
    with savepoint(session, duplicate=duplicate, missing=missing):
        session.add_all(objs)


# --------------------------------------------------------------------------
# Error translation: the one boundary

_DEADLOCK_SQLSTATES = {"40001", "40P01"}
_MYSQL_DEADLOCK_CODES = {1213, 1205}
_MYSQL_DISCONNECT_CODES = {2002, 2003, 2006, 2013, 2014, 2045, 2055}
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)$")
_PG_KEY = re.compile(r"Key \((.+?)\)=")
_MYSQL_KEY = re.compile(r"Duplicate entry '.*' for key '(?:[^.']+\.)?(.+?)'")


def translate(exc: BaseException) -> BaseException:
    """Return the :mod:`db.exception` error that stands for ``exc``.

    Unique violations become ``DBDuplicateEntry(columns=[...])``, foreign
    key violations ``DBReferenceError``, deadlocks and serialization
    failures ``DBDeadlock``, lost connections ``DBConnectionError``, bad
    values ``InvalidValue``; other database errors ``DBError``.  Errors
    that are not the database's are returned unchanged.
    """
    if isinstance(exc, exception.DBConductorError):
        return exc
    if isinstance(exc, sa_exc.StatementError):
        orig = exc.orig
        if isinstance(orig, exception.DBConductorError):
            return orig
        if isinstance(orig, (TypeError, ValueError)) and not isinstance(
            exc, sa_exc.DBAPIError
        ):
            return exception.InvalidValue(column="value", reason=str(orig))
    if isinstance(exc, sa_exc.DBAPIError):
        return _translate_dbapi(exc)
    if isinstance(exc, (sa_exc.InvalidRequestError, sa_exc.ArgumentError)):
        return exception.InvalidInput(reason=str(exc).splitlines()[0])
    return exc


def _sqlstate(orig: Any) -> str | None:
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def _translate_dbapi(exc: sa_exc.DBAPIError) -> exception.DBConductorError:
    orig = exc.orig
    text = str(orig).strip()
    state = _sqlstate(orig)
    code = orig.args[0] if getattr(orig, "args", None) else None

    if exc.connection_invalidated or (
        isinstance(code, int) and code in _MYSQL_DISCONNECT_CODES
    ):
        return exception.DBConnectionError(reason=text.splitlines()[0])
    if state in _DEADLOCK_SQLSTATES or (
        isinstance(code, int) and code in _MYSQL_DEADLOCK_CODES
    ):
        return exception.DBDeadlock(reason=text.splitlines()[0])
    if isinstance(exc, sa_exc.IntegrityError):
        columns = _duplicate_columns(text, state)
        if columns is not None:
            return exception.DBDuplicateEntry(columns=columns)
        if state == "23503" or "FOREIGN KEY" in text.upper() or (
            code == 1452
        ):
            return exception.DBReferenceError(reason=text.splitlines()[0])
        return exception.InvalidValue(
            column="row", reason=text.splitlines()[0]
        )
    if isinstance(exc, sa_exc.DataError):
        return exception.InvalidValue(
            column="value", reason=text.splitlines()[0]
        )
    if isinstance(exc, sa_exc.OperationalError) and (
        "database is locked" in text
    ):
        return exception.DBDeadlock(reason=text)
    if isinstance(exc, sa_exc.OperationalError) and state is None and (
        "connect" in text.lower() or "closed" in text.lower()
    ):
        return exception.DBConnectionError(reason=text.splitlines()[0])
    return exception.DBError(reason=text.splitlines()[0])


def _duplicate_columns(text: str, state: str | None) -> list[str] | None:
    match = _SQLITE_UNIQUE.search(text.splitlines()[0])
    if match:
        return [c.strip().split(".")[-1] for c in match.group(1).split(",")]
    if state == "23505":
        match = _PG_KEY.search(text)
        if match:
            return [c.strip().strip('"') for c in match.group(1).split(",")]
        return []
    match = _MYSQL_KEY.search(text)
    if match:
        key = match.group(1)
        if key.startswith("uniq_"):
            return key.split("0")[1:]
        return [key]
    return None


# --------------------------------------------------------------------------
# Deadlock retry


def retry_on_deadlock(func: F) -> F:
    """Re-run ``func`` when its transaction hit a deadlock.

    Only the outermost call retries (a nested call is part of someone
    else's transaction, which must roll back whole).  Attempts are bounded
    by ``[database] max_deadlock_retries`` and spaced by jittered,
    doubling sleeps.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _current.get() is not None:
            return func(*args, **kwargs)
        retries = CONF.database.max_deadlock_retries
        delay = 0.01
        for attempt in range(retries + 1):
            try:
                return func(*args, **kwargs)
            except exception.DBDeadlock:
                if attempt == retries:
                    raise
                LOG.debug(
                    "Deadlock in %s; retry %d of %d",
                    func.__name__, attempt + 1, retries,
                )
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.5)
        raise AssertionError("unreachable")

    return wrapper  # type: ignore[return-value]


def dialect_name() -> str:
    """Return the dialect of the engine (``sqlite``, ``postgresql``...)."""
    return get_engine().dialect.name


def supports_skip_locked(session: Session) -> bool:
    """Whether the session's database has ``FOR UPDATE SKIP LOCKED``.

    PostgreSQL has it, MySQL from 8.0.1 and MariaDB from 10.6; SQLite
    has no row locks at all.
    """
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        return True
    if dialect.name == "mysql":
        version = dialect.server_version_info or (0,)
        if getattr(dialect, "is_mariadb", False):
            return version >= (10, 6)
        return version >= (8, 0, 1)
    return False
