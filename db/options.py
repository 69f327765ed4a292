"""Configuration options of the database layer.

``[DEFAULT] db_backend``, ``sql_connection`` and ``enable_new_services``
keep the names operators of the original know; the engine and pool options
sit in ``[database]``.  :func:`list_opts` feeds ``oslo-config-generator``.
"""

from __future__ import annotations

import os

from oslo_config import cfg

CONF = cfg.CONF


def _default_state_path() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(base, "db-conductor")


default_opts = [
    cfg.StrOpt(
        "db_backend",
        default="sqlalchemy",
        choices=[
            ("sqlalchemy", "Run queries here, against sql_connection."),
            ("conductor", "Send every call to a conductor over RPC."),
        ],
        help="The backend the db API forwards to.",
    ),
    cfg.StrOpt(
        "state_path",
        default=_default_state_path(),
        sample_default="$XDG_STATE_HOME/db-conductor",
        help="Directory for the embedded SQLite database and other state.",
    ),
    cfg.StrOpt(
        "sqlite_db",
        default="conductor.sqlite",
        help="File name of the embedded SQLite database, under state_path.",
    ),
    cfg.StrOpt(
        "sql_connection",
        default="sqlite:///$state_path/$sqlite_db",
        secret=True,
        help="SQLAlchemy URL of the database, e.g. "
        "postgresql+psycopg://user:pass@host/db or "
        "mysql+pymysql://user:pass@host/db.",
    ),
    cfg.BoolOpt(
        "enable_new_services",
        default=True,
        help="Whether a newly created service row is enabled.",
    ),
    cfg.StrOpt(
        "instance_name_template",
        default="instance-%08x",
        help="Template of an instance's name, filled with its integer id.",
    ),
    cfg.StrOpt(
        "volume_name_template",
        default="volume-%s",
        help="Template of a volume's name, filled with its id.",
    ),
    cfg.StrOpt(
        "snapshot_name_template",
        default="snapshot-%s",
        help="Template of a snapshot's name, filled with its id.",
    ),
]

database_group = cfg.OptGroup(
    "database", help="Engine and connection pool of the SQL backend."
)

database_opts = [
    cfg.IntOpt(
        "idle_timeout",
        default=3600,
        min=-1,
        help="Seconds after which a pooled connection is recycled.",
    ),
    cfg.IntOpt(
        "max_pool_size",
        default=10,
        min=1,
        help="Connections kept open in the pool (not used for SQLite).",
    ),
    cfg.IntOpt(
        "max_overflow",
        default=20,
        min=0,
        help="Connections allowed beyond max_pool_size under load.",
    ),
    cfg.IntOpt(
        "pool_timeout",
        default=30,
        min=1,
        help="Seconds to wait for a free pooled connection.",
    ),
    cfg.IntOpt(
        "max_retries",
        default=10,
        min=-1,
        help="Attempts to reach the database at start-up; -1 means "
        "forever.",
    ),
    cfg.FloatOpt(
        "retry_interval",
        default=2.0,
        min=0,
        help="Seconds between start-up connection attempts.",
    ),
    cfg.IntOpt(
        "max_deadlock_retries",
        default=5,
        min=0,
        help="Times a call that hit a deadlock or serialization failure "
        "is retried, with jittered back-off, before the error is raised.",
    ),
    cfg.BoolOpt(
        "sqlite_synchronous",
        default=True,
        help="Whether SQLite waits for data to reach the disk on commit.",
    ),
    cfg.FloatOpt(
        "sqlite_busy_timeout",
        default=30.0,
        min=0,
        help="Seconds an SQLite writer waits for the database lock.",
    ),
    cfg.IntOpt(
        "connection_debug",
        default=0,
        min=0,
        max=100,
        help="SQL logging: 0 none, 50 statements, 100 statements and rows.",
    ),
    cfg.FloatOpt(
        "slow_query_warning",
        default=1.0,
        min=0,
        help="Seconds after which a database API call logs a warning; "
        "0 disables it.",
    ),
]

CONF.register_opts(default_opts)
CONF.register_group(database_group)
CONF.register_opts(database_opts, group=database_group)


def list_opts():
    """Return the options of the database layer for the generator."""
    return [(None, default_opts), (database_group, database_opts)]
