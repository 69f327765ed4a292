"""The client behind every ``conductor.rpcapi`` function.

:func:`call` encodes one request, sends it with the configured driver and
returns the decoded result, or raises the error the reply carries.  The
transport URL, topic, timeout and driver come from the options
(``[DEFAULT] transport_url``, ``[conductor] topic``, ``rpc_timeout``,
``driver``), read on the first call, or from :func:`configure`.  One
client (one broker connection, one I/O thread) serves all threads of a
process; a forked child makes its own on its first call.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import logging
import os
import threading
from collections.abc import Iterator
from typing import Any

from conductor import _url, _wire, drivers, opts
from db import context as context_mod

LOG = logging.getLogger(__name__)
CONF = opts.CONF

_lock = threading.Lock()
_overrides: dict[str, Any] = {}
_client: Any = None
_client_pid: int | None = None
_client_timeout = 60.0
_call_timeout: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "conductor_call_timeout", default=None
)


def configure(
    transport_url: str | None = None,
    topic: str | None = None,
    timeout: float | None = None,
    driver: str | None = None,
) -> None:
    """Choose where calls go; ``None`` means "read the option".

    The current connection, if any, is closed; the next call opens one
    with the new settings.  ``timeout`` is in seconds.  An invalid URL
    raises :class:`db.exception.InvalidInput` here, not on first use.
    """
    if transport_url is not None:
        _url.parse(transport_url)
    if driver is not None:
        drivers.load(driver)
    with _lock:
        _overrides.update(
            transport_url=transport_url,
            topic=topic,
            timeout=timeout,
            driver=driver,
        )
        _close_locked()


def settings() -> dict[str, Any]:
    """Return the transport URL, topic, timeout and driver in effect."""
    group = CONF.conductor
    return {
        "transport_url": _overrides.get("transport_url")
        or CONF.transport_url,
        "topic": _overrides.get("topic") or group.topic,
        "timeout": _overrides.get("timeout") or group.rpc_timeout,
        "driver": _overrides.get("driver") or group.driver,
    }


@contextlib.contextmanager
def call_timeout(seconds: float) -> Iterator[None]:
    """Give the calls made inside the block their own timeout.

    For calls that must fail faster than the default, such as a
    heartbeat that has to stay below the service-down time.
    """
    token = _call_timeout.set(seconds)
    try:
        yield
    finally:
        _call_timeout.reset(token)


def call(
    context: context_mod.RequestContext | None, method: str, /, **kwargs: Any
) -> Any:
    """Run the db API function ``method`` on a conductor and return its
    result (or raise its error, rebuilt as the same class)."""
    body = _wire.encode_request(context, method, kwargs)
    client, timeout = _get_client()
    timeout = _call_timeout.get() or timeout
    reply = client.call(method, body, timeout)
    return _wire.decode_reply(reply, method)


def close() -> None:
    """Close this process's connection (the next call opens a new one)."""
    with _lock:
        _close_locked()


def _get_client() -> tuple[Any, float]:
    global _client, _client_pid, _client_timeout
    client, pid = _client, _client_pid
    if client is not None and pid == os.getpid():
        return client, _client_timeout
    with _lock:
        if _client is None or _client_pid != os.getpid():
            current = settings()
            module = drivers.load(current["driver"])
            _client = module.Client(current["transport_url"], current["topic"])
            _client_pid = os.getpid()
            _client_timeout = float(current["timeout"])
            LOG.debug(
                "RPC client for topic %r via %s on %s",
                current["topic"], current["driver"],
                _url.parse(current["transport_url"]).masked(),
            )
        return _client, _client_timeout


def _close_locked() -> None:
    global _client, _client_pid
    client, _client = _client, None
    if client is not None and _client_pid == os.getpid():
        client.close()
    _client_pid = None


atexit.register(close)
