"""``conductor-manage``: administration commands for the database.

Usage::

    conductor-manage [--config-file F] db sync [--version V]
    conductor-manage [--config-file F] db version

``db sync`` creates or upgrades the schema of ``sql_connection`` to the
newest version (or to ``--version``); ``db version`` prints the version the
database is at (``None`` for an empty database).  Errors print one line on
stderr and exit with status 1.
"""

from __future__ import annotations

import logging
import sys

from oslo_config import cfg

from db import exception, options

LOG = logging.getLogger(__name__)
CONF = options.CONF


def _db_sync() -> int:
    from db import migration

    version = migration.db_sync(CONF.command.version)
    print(f"Database schema is at version {version}")
    return 0


def _db_version() -> int:
    from db import migration

    print(migration.db_version())
    return 0


def _add_parsers(subparsers) -> None:
    db_parser = subparsers.add_parser("db", help="Database schema commands")
    actions = db_parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    sync = actions.add_parser(
        "sync", help="Create or upgrade the schema to the newest version"
    )
    sync.add_argument(
        "--version", help="Schema version to move to (default: newest)"
    )
    sync.set_defaults(func=_db_sync)

    version = actions.add_parser(
        "version", help="Print the schema version of the database"
    )
    version.set_defaults(func=_db_version)


command_opt = cfg.SubCommandOpt(
    "command",
    title="Commands",
    help="Available commands",
    handler=_add_parsers,
)

cli_opts = [
    cfg.BoolOpt("debug", short="d", default=False, help="Log at DEBUG."),
]


def main(argv: list[str] | None = None) -> int:
    """Run one ``conductor-manage`` command; return the exit status."""
    CONF.register_cli_opt(command_opt)
    CONF.register_cli_opts(cli_opts)
    try:
        CONF(
            sys.argv[1:] if argv is None else argv,
            project="db-conductor",
            prog="conductor-manage",
        )
    except cfg.Error as exc:
        print(f"conductor-manage: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if CONF.debug else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s  %(message)s",
    )
    if not CONF.debug:
        logging.getLogger("alembic").setLevel(logging.WARNING)

    try:
        return CONF.command.func()
    except exception.DBConductorError as exc:
        print(f"conductor-manage: {exc.format_message()}", file=sys.stderr)
        return 1
    finally:
        CONF.reset()
        CONF.unregister_opt(command_opt)
        CONF.unregister_opts(cli_opts)


if __name__ == "__main__":
    sys.exit(main())
