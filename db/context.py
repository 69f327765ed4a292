"""The request context that every database API call takes first.

A context says on whose behalf a call runs (user, project, admin or not),
which soft-deleted rows it may see (``read_deleted``), and carries a
``request_id`` that the conductor writes into its log lines for the call.
It travels with every RPC call as :meth:`RequestContext.to_dict`.
"""

from __future__ import annotations

import copy
import datetime
import uuid
from typing import Any

from db import exception

READ_DELETED_CHOICES = ("no", "yes", "only")


def generate_request_id() -> str:
    """Return a new request id of the usual ``req-<uuid>`` form."""
    return f"req-{uuid.uuid4()}"


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class RequestContext:
    """Security and visibility settings of one API request.

    :param is_admin: ``None`` means "admin if ``roles`` has ``admin``".
    :param read_deleted: ``"no"`` hides soft-deleted rows, ``"yes"`` shows
        them too, ``"only"`` shows nothing else.
    """

    def __init__(
        self,
        user_id: str | None,
        project_id: str | None,
        is_admin: bool | None = None,
        read_deleted: str = "no",
        roles: list[str] | None = None,
        remote_address: str | None = None,
        request_id: str | None = None,
        timestamp: datetime.datetime | str | None = None,
        auth_token: str | None = None,
        quota_class: str | None = None,
        service_catalog: list[Any] | None = None,
        user_name: str | None = None,
        project_name: str | None = None,
    ) -> None:
        self.user_id = user_id
        self.project_id = project_id
        self.roles = list(roles or [])
        self.is_admin = (
            "admin" in (r.lower() for r in self.roles)
            if is_admin is None
            else bool(is_admin)
        )
        self.read_deleted = read_deleted
        self.remote_address = remote_address
        self.request_id = request_id or generate_request_id()
        if isinstance(timestamp, str):
            timestamp = datetime.datetime.fromisoformat(timestamp)
        if timestamp is not None and timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=datetime.UTC)
        self.timestamp = timestamp or _utcnow()
        self.auth_token = auth_token
        self.quota_class = quota_class
        self.service_catalog = list(service_catalog or [])
        self.user_name = user_name
        self.project_name = project_name

    @property
    def read_deleted(self) -> str:
        return self._read_deleted

    @read_deleted.setter
    def read_deleted(self, value: str) -> None:
        if value not in READ_DELETED_CHOICES:
            raise exception.InvalidReadDeleted(read_deleted=value)
        self._read_deleted = value

    def to_dict(self) -> dict[str, Any]:
        """Return the context as plain data, for RPC or logging."""
        return {
            "user_id": self.user_id,
            "project_id": self.project_id,
            "is_admin": self.is_admin,
            "read_deleted": self.read_deleted,
            "roles": list(self.roles),
            "remote_address": self.remote_address,
            "request_id": self.request_id,
            "timestamp": self.timestamp.isoformat(),
            "auth_token": self.auth_token,
            "quota_class": self.quota_class,
            "service_catalog": list(self.service_catalog),
            "user_name": self.user_name,
            "project_name": self.project_name,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RequestContext:
        """Rebuild a context from :meth:`to_dict` output.

        Unknown keys are ignored, so an older peer can read a newer
        context.
        """
        known = {
            key: values[key]
            for key in (
                "user_id",
                "project_id",
                "is_admin",
                "read_deleted",
                "roles",
                "remote_address",
                "request_id",
                "timestamp",
                "auth_token",
                "quota_class",
                "service_catalog",
                "user_name",
                "project_name",
            )
            if key in values
        }
        if "user_id" not in known or "project_id" not in known:
            raise exception.InvalidInput(
                reason="a context needs user_id and project_id"
            )
        return cls(**known)

    def elevated(self, read_deleted: str | None = None) -> RequestContext:
        """Return an admin copy of this context.

        The copy keeps this context's ``read_deleted`` unless another one
        is given.
        """
        context = copy.copy(self)
        context.roles = list(self.roles)
        context.is_admin = True
        if "admin" not in context.roles:
            context.roles.append("admin")
        if read_deleted is not None:
            context.read_deleted = read_deleted
        return context

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, RequestContext)
            and self.to_dict() == other.to_dict()
        )

    def __repr__(self) -> str:
        return (
            f"<RequestContext user={self.user_id} project={self.project_id}"
            f" admin={self.is_admin} read_deleted={self.read_deleted}"
            f" request_id={self.request_id}>"
        )


def get_admin_context(read_deleted: str = "no") -> RequestContext:
    """Return an admin context that belongs to no user or project."""
    return RequestContext(
        user_id=None,
        project_id=None,
        is_admin=True,
        read_deleted=read_deleted,
    )


def is_user_context(context: RequestContext) -> bool:
    """Return True for a non-admin context with a user and a project."""
    if context is None or context.is_admin:
        return False
    return bool(context.user_id and context.project_id)
