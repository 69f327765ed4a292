"""The messages of the conductor's RPC, the same on every driver.

A request is one msgpack map::

    {"v": "1.0", "method": "instance_get", "context": {...},
     "kwargs": {"instance_id": 1}}

``v`` is :data:`conductor.rpcapi.RPC_API_VERSION`; a conductor serves a
request whose major version equals its own and whose minor version is not
newer.  ``context`` is :meth:`db.context.RequestContext.to_dict` (or nil).
A reply is ``{"result": value}`` or ``{"error": {"class", "module",
"message", "kwargs"}}``.  Only a class of :mod:`db.exception` is ever
rebuilt from an error reply, through :func:`db.exception.lookup`; anything
else becomes :class:`conductor.exception.RemoteError`.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from typing import Any

from conductor import codec
from conductor import exception as rpc_exception
from db import context as context_mod
from db import exception

LOG = logging.getLogger(__name__)


@functools.cache
def version() -> str:
    """Return the RPC API version this code speaks."""
    from conductor import rpcapi

    return rpcapi.RPC_API_VERSION


@dataclasses.dataclass
class Request:
    """A decoded request: what to call, for whom, with which arguments."""

    method: str
    context: context_mod.RequestContext | None
    kwargs: dict[str, Any]


def encode_request(
    context: context_mod.RequestContext | None,
    method: str,
    kwargs: dict[str, Any],
) -> bytes:
    """Return the request body of one call (raises SerializationError)."""
    if context is not None and not isinstance(
        context, context_mod.RequestContext
    ):
        raise exception.InvalidInput(
            reason=f"{method} needs a RequestContext, got "
            f"{type(context).__name__}"
        )
    message = {
        "v": version(),
        "method": method,
        "context": None if context is None else context.to_dict(),
        "kwargs": kwargs,
    }
    return codec.dumps(message, what=f"the arguments of {method}")


def decode_request(body: bytes) -> Request:
    """Decode a request, or raise :class:`db.exception.InvalidRequest`."""
    try:
        message = codec.loads(body)
    except codec.DecodeError as exc:
        raise exception.InvalidRequest(
            reason=f"undecodable message ({exc})"
        ) from None
    if not isinstance(message, dict):
        raise exception.InvalidRequest(reason="message is not a map")
    _check_version(message.get("v"))

    method = message.get("method")
    kwargs = message.get("kwargs", {})
    if not isinstance(method, str):
        raise exception.InvalidRequest(reason="no method name")
    if not isinstance(kwargs, dict) or not all(
        isinstance(key, str) for key in kwargs
    ):
        raise exception.InvalidRequest(
            reason=f"{method}: kwargs must be a map of names"
        )
    return Request(method, _decode_context(message.get("context")), kwargs)


def _check_version(value: Any) -> None:
    ours = version()
    try:
        major, minor = (int(part) for part in str(value).split("."))
    except ValueError:
        raise exception.InvalidRequest(
            reason=f"bad RPC API version {value!r}"
        ) from None
    our_major, our_minor = (int(part) for part in ours.split("."))
    if major != our_major or minor > our_minor:
        raise exception.InvalidRequest(
            reason=f"RPC API version {value} is not served here "
            f"(this conductor speaks {ours})"
        )


def _decode_context(
    values: Any,
) -> context_mod.RequestContext | None:
    if values is None:
        return None
    if not isinstance(values, dict):
        raise exception.InvalidRequest(reason="context is not a map")
    try:
        return context_mod.RequestContext.from_dict(values)
    except exception.DBConductorError as exc:
        raise exception.InvalidRequest(
            reason=f"bad context: {exc.format_message()}"
        ) from None
    except (TypeError, ValueError) as exc:
        raise exception.InvalidRequest(reason=f"bad context: {exc}") from None


def encode_result(method: str, value: Any) -> bytes:
    """Return the reply body for a result.

    A result the codec cannot carry is a fault of the conductor: it is
    logged here and the caller gets a :class:`RemoteError` saying so.
    """
    try:
        return codec.dumps({"result": value}, what=f"the result of {method}")
    except rpc_exception.SerializationError as exc:
        LOG.error("Cannot send the result of %s: %s", method, exc)
        return encode_error(exc)


def encode_error(exc: BaseException) -> bytes:
    """Return the reply body that carries ``exc`` to the caller."""
    cls = type(exc)
    if isinstance(exc, exception.DBConductorError):
        message, kwargs = exc.format_message(), dict(exc.kwargs)
    else:
        message, kwargs = str(exc), {}
    error = {
        "class": cls.__name__,
        "module": cls.__module__,
        "message": message,
        "kwargs": kwargs,
    }
    try:
        return codec.dumps({"error": error}, what="an error")
    except rpc_exception.SerializationError:
        error["kwargs"] = {key: repr(value) for key, value in kwargs.items()}
        LOG.warning(
            "%s carries kwargs the codec cannot send; sending their repr",
            cls.__name__,
        )
        return codec.dumps({"error": error}, what="an error")


def decode_reply(body: bytes, method: str) -> Any:
    """Return the result of a reply, or raise the error it carries."""
    try:
        reply = codec.loads(body)
    except codec.DecodeError as exc:
        raise rpc_exception.RPCError(
            reason=f"undecodable reply to {method} ({exc})"
        ) from None
    if isinstance(reply, dict) and "result" in reply:
        return reply["result"]
    if isinstance(reply, dict) and isinstance(reply.get("error"), dict):
        raise rebuild_error(reply["error"])
    raise rpc_exception.RPCError(reason=f"malformed reply to {method}")


def rebuild_error(error: dict[str, Any]) -> exception.DBConductorError:
    """Return the exception an error reply stands for.

    Only :mod:`db.exception` classes are rebuilt, with the remote message
    and kwargs as they were (no template is filled again, so ``str()`` is
    the remote ``str()``).  Every other name gives a RemoteError.
    """
    name = str(error.get("class", "Exception"))
    message = str(error.get("message", ""))
    kwargs = error.get("kwargs")
    cls = exception.lookup(name) if error.get("module") == (
        exception.__name__
    ) else None
    if cls is None or not isinstance(kwargs, dict):
        return rpc_exception.RemoteError(exc_type=name, value=message)
    exc = cls.__new__(cls)
    exc.kwargs = kwargs
    exc.message = message
    Exception.__init__(exc, message)
    return exc
