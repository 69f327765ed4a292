"""One-call configuration for tests and embedding programs."""

from __future__ import annotations

from typing import Any

from db import _backend, options

_UNSET: Any = object()


def configure(
    sql_connection: str | None = _UNSET,
    db_backend: str | None = _UNSET,
    enable_new_services: bool | None = _UNSET,
    **database: Any,
) -> None:
    """Override the database options and drop the lazily made engine.

    Arguments left out keep their current value; ``None`` restores an
    option's default.  Extra keyword arguments override options of the
    ``[database]`` group (``max_pool_size=5``).  The next call of any
    ``db`` function reads the new settings, so a test or an embedding
    program can point the library at a database in one call::

        db.configure(sql_connection="sqlite:///tmp/test.sqlite")
    """
    conf = options.CONF
    for name, value in (
        ("sql_connection", sql_connection),
        ("db_backend", db_backend),
        ("enable_new_services", enable_new_services),
    ):
        if value is _UNSET:
            continue
        if value is None:
            conf.clear_override(name)
        else:
            conf.set_override(name, value)
    for name, value in database.items():
        if value is None:
            conf.clear_override(name, group="database")
        else:
            conf.set_override(name, value, group="database")

    _backend.IMPL.reset()
    from db.sqlalchemy import _session

    _session.dispose()
