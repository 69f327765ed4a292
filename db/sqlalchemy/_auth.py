"""Who may call what: the context checks of the backend.

``@require_admin_context`` is for functions that manage the fleet itself
(services, networks, flavors, quotas...), ``@require_context`` for those a
project's user may call on its own rows.  The ``authorize_*`` helpers
check, for a user context, that the row or argument belongs to it.  Admin
contexts pass every check.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from db import context as context_mod
from db import exception

F = TypeVar("F", bound=Callable[..., Any])


def _context_of(args: tuple, kwargs: dict) -> Any:
    if "context" in kwargs:
        return kwargs["context"]
    if args:
        return args[0]
    raise exception.InvalidInput(reason="a context is required")


def require_admin_context(func: F) -> F:
    """Raise AdminRequired unless the call's context is an admin's."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        context = _context_of(args, kwargs)
        if not getattr(context, "is_admin", False):
            raise exception.AdminRequired()
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def require_context(func: F) -> F:
    """Raise NotAuthorized unless the context is an admin's or a user's."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        context = _context_of(args, kwargs)
        if not isinstance(context, context_mod.RequestContext):
            raise exception.InvalidInput(
                reason="the first argument must be a RequestContext, not "
                f"{type(context).__name__}"
            )
        if not context.is_admin and not context_mod.is_user_context(
            context
        ):
            raise exception.NotAuthorized()
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def authorize_project_context(context, project_id: str | None) -> None:
    """Raise NotAuthorized if a user context asks for another project."""
    if context_mod.is_user_context(context):
        if not context.project_id or context.project_id != project_id:
            raise exception.NotAuthorized()


def authorize_user_context(context, user_id: str | None) -> None:
    """Raise NotAuthorized if a user context asks for another user."""
    if context_mod.is_user_context(context):
        if not context.user_id or context.user_id != user_id:
            raise exception.NotAuthorized()


def authorize_quota_class_context(context, class_name: str | None) -> None:
    """Raise NotAuthorized if a user context asks for another quota class."""
    if context_mod.is_user_context(context):
        if not context.quota_class or context.quota_class != class_name:
            raise exception.NotAuthorized()
