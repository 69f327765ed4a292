"""Fixtures shared by every test.

The behaviour suite is written once against the ``api`` fixture: a module
with the database API's functions.  ``api`` is parametrised over the
*targets* in :data:`TARGETS`; each target names a database (an SQLite file,
or a database of its own on a real PostgreSQL server) and a way to reach it
(``local``: the ``db`` facade in this process).  The conductor's tests add
RPC targets, so the same assertions also run through ``conductor.rpcapi``.

PostgreSQL comes from ``DBC_TEST_POSTGRESQL_URL`` (``tools/test-services``
starts a private server and prints it).  Without it the PostgreSQL targets
skip locally and **fail** under ``CI=true``: CI must test the real thing.
Each pytest run creates its own database on that server and drops it at
the end, so runs can share a server.

The RPC targets run an in-process :class:`conductor.service.ConductorService`
on the target's database and hand the tests ``conductor.rpcapi``:
``sqlite-rpc-memory`` on kombu's ``memory://`` transport, and
``postgresql-rpc-rabbit`` on the RabbitMQ of ``DBC_TEST_RABBIT_URL``
(skipped locally and failing under CI when absent, like PostgreSQL).
Each run consumes a topic of its own, so runs can share a broker.  Tests
that use ``database`` without ``api`` (concurrency tests on internals)
would only repeat a local target there, so they are deselected on the
RPC targets.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy

import db
import db.options
from db import context as context_mod
from db import migration
from db.sqlalchemy import _session, models

IN_CI = os.environ.get("CI") == "true"
PG_URL = os.environ.get("DBC_TEST_POSTGRESQL_URL")
RABBIT_URL = os.environ.get("DBC_TEST_RABBIT_URL")

#: target name -> (database, transport); transport "local" is db.* here.
TARGETS = {
    "sqlite": ("sqlite", "local"),
    "postgresql": ("postgresql", "local"),
    "sqlite-rpc-memory": ("sqlite", "rpc-memory"),
    "postgresql-rpc-rabbit": ("postgresql", "rpc-rabbit"),
}


def require_server(name: str, url: str | None) -> str:
    """Return ``url``, or skip (fail under CI) when the server is absent."""
    if url:
        return url
    message = (
        f"{name} is not available: run `eval \"$(tools/test-services "
        f"start)\"` to start one"
    )
    if IN_CI:
        pytest.fail(message + " (CI=true: servers are required)")
    pytest.skip(message)


class Database:
    """One test database: its URL and a fast way to empty it."""

    def __init__(self, kind: str, url: str, drop=None) -> None:
        self.kind = kind
        self.url = url
        self._drop = drop

    def configure(self) -> None:
        """Point the db library of this process at this database."""
        conf = db.options.CONF
        if conf.sql_connection != self.url or conf.db_backend != "sqlalchemy":
            db.configure(sql_connection=self.url, db_backend="sqlalchemy")

    def clear(self) -> None:
        """Delete every row of every table (the schema stays)."""
        engine = _session.get_engine()
        tables = models.Base.metadata.sorted_tables
        with engine.begin() as connection:
            if self.kind == "postgresql":
                names = ", ".join(t.name for t in tables)
                connection.exec_driver_sql(
                    f"TRUNCATE {names} RESTART IDENTITY CASCADE"
                )
            else:
                for table in reversed(tables):
                    connection.execute(table.delete())

    def drop(self) -> None:
        if self._drop:
            self._drop()


def _make_sqlite(tmp_path_factory) -> Database:
    path = tmp_path_factory.mktemp("sqlite") / "test.sqlite"
    return Database("sqlite", f"sqlite:///{path}")


def _make_postgresql() -> Database:
    server = require_server("PostgreSQL", PG_URL)
    name = f"dbc_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sqlalchemy.make_url(server).set(database=name)

    def drop() -> None:
        _session.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            )
        admin.dispose()

    return Database(
        "postgresql", url.render_as_string(hide_password=False), drop
    )


_databases: dict[str, Database] = {}


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    """Make each kind of test database once per run, on first use."""

    def get(kind: str) -> Database:
        if kind not in _databases:
            made = (
                _make_sqlite(tmp_path_factory)
                if kind == "sqlite"
                else _make_postgresql()
            )
            made.configure()
            migration.db_sync()
            _databases[kind] = made
        return _databases[kind]

    yield get
    for made in _databases.values():
        made.drop()
    _databases.clear()


@pytest.fixture(scope="session", params=sorted(TARGETS))
def target(request, databases):
    """The database and transport a test runs against (session-scoped,
    so pytest groups the tests of each target together)."""
    kind, transport = TARGETS[request.param]
    database = databases(kind)
    database.configure()
    return request.param, database, transport


def _local_api(database):
    return db


#: RPC transport -> (service, transport URL, topic), started on first use.
_rpc_services: dict[str, tuple] = {}


def _rpc_api(transport: str):
    """Return a factory that serves the API over ``transport``."""

    def factory(database):
        from conductor import _client, rpcapi

        if transport not in _rpc_services:
            _rpc_services[transport] = _start_conductor(transport)
        _, url, topic = _rpc_services[transport]
        current = _client.settings()
        if (current["transport_url"], current["topic"]) != (url, topic):
            _client.configure(transport_url=url, topic=topic, timeout=30)
        return rpcapi

    return factory


def _start_conductor(transport: str) -> tuple:
    from conductor.service import ConductorService

    if transport == "rpc-rabbit":
        url = require_server("RabbitMQ", RABBIT_URL)
    else:
        url = "memory://"
    topic = f"test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    service = ConductorService(url, topic, workers=1, threads=2)
    service.start()
    return service, url, topic


@pytest.fixture(scope="session", autouse=True)
def _stop_conductors():
    """Stop the in-process conductors of the RPC targets at the end."""
    yield
    from conductor import _client

    _client.close()
    for service, _, _ in _rpc_services.values():
        service.stop(timeout=5)
    _rpc_services.clear()


#: transport -> callable(database) returning the API module to test.
API_FACTORIES = {
    "local": _local_api,
    "rpc-memory": _rpc_api("rpc-memory"),
    "rpc-rabbit": _rpc_api("rpc-rabbit"),
}


def pytest_collection_modifyitems(config, items):
    """Deselect, on the RPC targets, tests that do not use ``api``."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        name = callspec.params.get("target") if callspec else None
        remote = name is not None and TARGETS[name][1] != "local"
        if remote and "api" not in item.fixturenames:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def database(target):
    """The empty test database of the current target."""
    _, database, _ = target
    database.configure()
    database.clear()
    yield database


@pytest.fixture
def api(target, database):
    """The database API under test: ``db`` or ``conductor.rpcapi``."""
    _, _, transport = target
    return API_FACTORIES[transport](database)


@pytest.fixture
def ctx():
    """An admin context with a user and project of its own."""
    return context_mod.RequestContext(
        "admin-user", "admin-project", is_admin=True
    )


@pytest.fixture
def user_ctx():
    """A plain user context of project ``fake-project``."""
    return context_mod.RequestContext("fake-user", "fake-project")


@pytest.fixture
def other_ctx():
    """A plain user context of another project."""
    return context_mod.RequestContext("other-user", "other-project")
