"""Errors of the RPC layer itself, as a caller of ``conductor.rpcapi`` sees
them.

A ``db`` function's own error crosses the wire and is raised again on the
caller as the same :mod:`db.exception` class.  The classes here stand for
what can go wrong on the way: no reply in time, nobody consuming the topic,
the broker connection lost with a call in flight, a value the codec cannot
carry, or an error on the conductor that is not a :mod:`db.exception`
(:class:`RemoteError`).  They derive from
:class:`db.exception.DBConductorError`, so ``except DBConductorError``
still catches every failure of a database API call; none of them is ever
built from wire data by name.
"""

from __future__ import annotations

from db import exception


class RPCError(exception.DBConductorError):
    """Base class of the failures of the RPC transport."""

    msg_fmt = "RPC failed: %(reason)s"


class MessagingTimeout(RPCError):
    """No reply came within the call's timeout."""

    msg_fmt = (
        "Timed out after %(timeout).1fs waiting for a reply to "
        "%(method)s on topic %(topic)r%(detail)s"
    )

    def __init__(self, message: str | None = None, **kwargs) -> None:
        kwargs.setdefault("detail", "")
        super().__init__(message, **kwargs)


class NoConductor(RPCError):
    """The broker had no queue for the topic: no conductor consumes it."""

    msg_fmt = (
        "No conductor is consuming topic %(topic)r: %(method)s was not "
        "delivered"
    )


class ReplyLost(RPCError):
    """The broker connection broke while a call waited for its reply."""

    msg_fmt = (
        "Connection to the AMQP broker was lost while %(method)s waited "
        "for its reply on topic %(topic)r; the call may or may not have run"
    )


class SerializationError(RPCError, TypeError):
    """A value cannot be encoded for the wire (raised by the sender)."""

    msg_fmt = "Cannot encode %(what)s for RPC: %(reason)s"


class RemoteError(RPCError):
    """The conductor raised an error that is not a ``db.exception`` class.

    ``exc_type`` is the remote class name and ``value`` its message; no
    class is looked up or instantiated from them.
    """

    msg_fmt = "Remote error: %(exc_type)s %(value)s"

    @property
    def exc_type(self) -> str:
        return self.kwargs.get("exc_type", "")

    @property
    def value(self) -> str:
        return self.kwargs.get("value", "")
