"""Schema migrations of the SQL backend (alembic).

``db_sync()`` brings the database to the newest schema (or to
``version``); ``db_version()`` tells the revision it is at, or None for an
empty database.  ``conductor-manage db sync`` and ``db version`` call them.
"""

from __future__ import annotations

import logging
import pathlib

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from db import exception

LOG = logging.getLogger(__name__)
_MIGRATIONS = pathlib.Path(__file__).parent / "sqlalchemy" / "migrations"


def _config(connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def db_sync(version: str | None = None) -> str | None:
    """Upgrade (or downgrade) the schema to ``version``, default newest.

    Returns the revision the database is at afterwards.
    """
    from db.sqlalchemy import _session

    target = version or "head"
    script = ScriptDirectory.from_config(_config())
    try:
        script.get_revision(target)
    except Exception:  # alembic raises several unrelated types here
        raise exception.InvalidInput(
            reason=f"unknown schema version {version!r}"
        ) from None
    current = db_version()
    with _session.get_engine().begin() as connection:
        config = _config(connection)
        if current is not None and target != "head" and (
            target in _ancestors(script, current)
        ):
            command.downgrade(config, target)
        else:
            command.upgrade(config, target)
    now = db_version()
    LOG.info("Database schema at version %s", now)
    return now


def _ancestors(script: ScriptDirectory, revision: str) -> set[str]:
    return {
        rev.revision
        for rev in script.walk_revisions("base", revision)
        if rev.revision != revision
    }


def db_version() -> str | None:
    """Return the schema revision of the database, None if it has none."""
    from db.sqlalchemy import _session

    with _session.get_engine().connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_version() -> str:
    """Return the newest revision the code knows."""
    return ScriptDirectory.from_config(_config()).get_current_head()
