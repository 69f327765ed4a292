"""The server side of the conductor: one generic endpoint for the db API.

Instead of a method per database function, :class:`ConductorManager` has
one :meth:`~ConductorManager.dispatch`: the method name is looked up in an
allowlist built at start-up from the spec's function names (never
``getattr`` on wire input), the keyword arguments are bound against the
spec's signature, and the backend function runs with the caller's context.
A name that is not in the allowlist, or arguments that do not fit, give
:class:`db.exception.InvalidRequest` back to the caller.

:meth:`~ConductorManager.parse` and :meth:`~ConductorManager.execute`
wrap that for a driver: request bytes in, reply bytes out, with the error
of any call encoded into the reply (the kombu driver acks in between).  The
broker sees one method name for every call, so the per-call log lines
name the database function and the ``request_id``.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import logging
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from conductor import _logging, _wire
from db import api as db_api
from db import context as context_mod
from db import exception, options

LOG = logging.getLogger(__name__)
CONF = options.CONF

#: Spec functions the rpcapi builds locally; they are never called here.
LOCAL_ONLY = frozenset({"constraint", "equal_any", "not_equal"})


class MalformedRequest(Exception):
    """A message that is not a request of this API (the driver rejects
    it); ``reply`` is the error reply for its sender, if it has one."""

    def __init__(self, reason: str, reply: bytes) -> None:
        super().__init__(reason)
        self.reply = reply


def _spec_signature(name: str) -> inspect.Signature:
    signature = inspect.signature(getattr(db_api, name))
    return signature.replace(
        parameters=[
            p for p in signature.parameters.values() if p.name != "session"
        ]
    )


class ConductorManager:
    """Run database API calls received over RPC.

    :param backend: the module whose functions run the calls; default
        ``db.sqlalchemy.api``, never the ``db`` facade (on a node whose
        ``db_backend`` is ``conductor`` that would call itself).
    :param slow_call_warning: seconds after which a call logs a warning;
        default ``[database] slow_query_warning`` (0 disables it).
    """

    def __init__(
        self,
        backend: ModuleType | None = None,
        slow_call_warning: float | None = None,
    ) -> None:
        if backend is None:
            backend = importlib.import_module("db.sqlalchemy.api")
        names = [n for n in db_api.__all__ if n not in LOCAL_ONLY]
        self._functions: dict[str, Callable[..., Any]] = {
            name: getattr(backend, name) for name in names
        }
        self._signatures = {name: _spec_signature(name) for name in names}
        if slow_call_warning is None:
            slow_call_warning = CONF.database.slow_query_warning
        self.slow_call_warning = slow_call_warning

    @property
    def methods(self) -> frozenset[str]:
        """The names this manager serves."""
        return frozenset(self._functions)

    def dispatch(
        self,
        context: context_mod.RequestContext | None,
        method: str,
        kwargs: dict[str, Any],
    ) -> Any:
        """Run ``method`` with ``kwargs``; raise what the function raises.

        Raises :class:`db.exception.InvalidRequest` when ``method`` is not
        a served function or ``kwargs`` do not fit its parameters.
        """
        function = self._functions.get(method) if isinstance(
            method, str
        ) else None
        if function is None:
            raise exception.InvalidRequest(
                reason=f"no such method {str(method)[:80]!r}"
            )
        # TODO(db-conductor): the conductor trusts the caller's context
        # (is_admin included), as nova's did; bind compute credentials to a
        # per-host identity and check host ownership before serving writes.
        try:
            bound = self._signatures[method].bind(context, **kwargs)
        except TypeError as exc:
            raise exception.InvalidRequest(reason=f"{method}: {exc}") from None
        return function(**bound.arguments)

    def parse(self, body: bytes) -> _wire.Request:
        """Decode a request, or raise :class:`MalformedRequest`."""
        try:
            return _wire.decode_request(body)
        except exception.InvalidRequest as exc:
            raise MalformedRequest(
                exc.format_message(), _wire.encode_error(exc)
            ) from None

    def execute(self, request: _wire.Request) -> bytes:
        """Run a decoded request and return the encoded reply.

        The call's error, if any, is encoded into the reply; the log
        lines written meanwhile carry the caller's ``request_id``.
        """
        request_id = getattr(request.context, "request_id", None)
        with _logging.request_scope(request_id):
            return self._run(request, request_id)

    def handle(self, body: bytes) -> bytes:
        """Decode, run and answer one request (an error reply for a
        malformed one, which is also logged)."""
        try:
            request = self.parse(body)
        except MalformedRequest as exc:
            LOG.warning("Rejected a malformed request: %s", exc)
            return exc.reply
        return self.execute(request)

    def _run(self, request: _wire.Request, request_id: str | None) -> bytes:
        method = request.method
        with self._timed(method, request_id):
            try:
                result = self.dispatch(
                    request.context, method, request.kwargs
                )
            except Exception as exc:
                _log_failure(method, request_id, exc)
                return _wire.encode_error(exc)
        return _wire.encode_result(method, result)

    @contextlib.contextmanager
    def _timed(self, method: str, request_id: str | None) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            elapsed = time.monotonic() - start
            limit = self.slow_call_warning
            if limit and elapsed > limit:
                LOG.warning(
                    "Slow DB call %s: %.3fs > %.1fs (%s)",
                    method, elapsed, limit, request_id,
                )
            elif LOG.isEnabledFor(logging.DEBUG):
                LOG.debug(
                    "Called %s in %.4fs (%s)", method, elapsed, request_id
                )


def is_expected(exc: BaseException) -> bool:
    """Tell an error the caller caused (NotFound, Invalid, Exists, ...)
    from a fault of the conductor or its database (DBError and anything
    that is not a db.exception)."""
    return isinstance(exc, exception.DBConductorError) and not isinstance(
        exc, exception.DBError
    )


def _log_failure(method: str, request_id: str | None, exc: Exception) -> None:
    if is_expected(exc):
        LOG.debug(
            "%s raised %s: %s (%s)",
            method, type(exc).__name__, exc, request_id,
        )
    elif isinstance(exc, exception.DBError):
        LOG.error(
            "%s failed: %s: %s (%s)",
            method, type(exc).__name__, exc, request_id,
        )
    else:
        LOG.exception("%s failed unexpectedly (%s)", method, request_id)
