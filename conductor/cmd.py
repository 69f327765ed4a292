"""``conductor``: the conductor daemon.

Usage::

    conductor [--config-file etc/conductor.conf] [--debug]

Serves the database API on ``[conductor] topic`` at ``transport_url``
until SIGTERM or SIGINT: the first signal stops consuming and waits up to
``graceful_shutdown_timeout`` seconds for the calls in flight, a second
one exits at once.  Exit status: 0 after a clean stop, 1 if calls were
cut short or the service could not start.
"""

from __future__ import annotations

import logging
import sys

from oslo_config import cfg

from conductor import _logging, opts
from conductor.service import ConductorService, install_signal_handlers
from conductor.service import version as conductor_version
from db import exception

LOG = logging.getLogger(__name__)
CONF = opts.CONF

cli_opts = [
    cfg.BoolOpt(
        "debug", short="d", default=False, help="Log DEBUG lines too."
    ),
]


def parse_args(argv: list[str] | None, prog: str) -> None:
    """Load the command line and config files into ``CONF``."""
    for opt in cli_opts:
        try:
            CONF.register_cli_opt(opt)
        except cfg.ArgsAlreadyParsedError:
            pass
    CONF(
        sys.argv[1:] if argv is None else argv,
        project="db-conductor",
        prog=prog,
        version=conductor_version(),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the conductor until signalled; return the exit status."""
    parse_args(argv, "conductor")
    _logging.setup(debug=CONF.debug)

    try:
        service = ConductorService()
        stop = install_signal_handlers(service)
        service.start()
    except exception.DBConductorError as exc:
        LOG.error("Cannot start the conductor: %s", exc.format_message())
        return 1

    while not stop.wait(1.0):
        pass
    return 0 if service.stop(reason=stop.reason) else 1


if __name__ == "__main__":
    sys.exit(main())
