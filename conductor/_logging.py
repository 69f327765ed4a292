"""Logging of the conductor's programs: the request id on every line.

While the conductor runs a call, :func:`request_scope` holds the caller's
``request_id`` in a context variable; :class:`RequestIdFilter` copies it
into every log record as ``%(request_id)s`` (``-`` outside a call), so
the lines the database layer writes for a call carry its id too.
:func:`setup` is what the daemon, the compute worker and the demo use.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
from collections.abc import Iterator

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "conductor_request_id", default=None
)

FORMAT = (
    "%(asctime)s %(process)d %(levelname)-7s %(name)s "
    "[%(request_id)s] %(message)s"
)


@contextlib.contextmanager
def request_scope(request_id: str | None) -> Iterator[None]:
    """Mark the log lines written inside the block with ``request_id``."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


def current_request_id() -> str | None:
    """Return the request id of the call running in this thread, if any."""
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    """Give each record a ``request_id`` attribute (``-`` if none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get() or "-"
        return True


def setup(debug: bool = False, verbose: bool = True) -> None:
    """Log to stderr in the programs' format (idempotent).

    ``debug`` shows DEBUG lines; ``verbose=False`` shows warnings only.
    """
    level = (
        logging.DEBUG if debug else logging.INFO if verbose else (
            logging.WARNING
        )
    )
    root = logging.getLogger()
    root.setLevel(level)
    for handler in root.handlers:
        if getattr(handler, "_conductor", False):
            return
    handler = logging.StreamHandler(sys.stderr)
    handler._conductor = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    for noisy in ("amqp", "kombu", "oslo_messaging", "alembic"):
        logging.getLogger(noisy).setLevel(
            max(level, logging.WARNING)
        )
