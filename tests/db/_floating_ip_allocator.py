"""The child process of tests/db/test_floating_ips_concurrency.py.

Kept apart from the test module so that a spawned child imports only
``db`` (not pytest and the test module's fixtures) before it races.
"""

from __future__ import annotations

import db
from db import context as context_mod
from db import exception


def allocate_all(project_id: str, pool: str, max_calls: int) -> list[str]:
    """Allocate for ``project_id`` until ``pool`` is exhausted.

    Raises AssertionError if the pool never runs out within
    ``max_calls`` calls, so a bug cannot loop forever.
    """
    ctx = context_mod.get_admin_context()
    got = []
    for _ in range(max_calls):
        try:
            got.append(db.floating_ip_allocate_address(ctx, project_id, pool))
        except exception.NoMoreFloatingIps:
            return got
    raise AssertionError(f"{project_id} never saw the pool run out")


def child(url, project_id, pool, max_calls, timeout, barrier, out) -> None:
    """Connect to ``url`` like a conductor of its own, wait on ``barrier``
    for the other children, then allocate and put ``(project_id,
    addresses)`` (or the exception) on ``out``.

    The signature is the one ``tests.db._concurrency.in_processes`` calls.
    """
    try:
        db.configure(sql_connection=url, db_backend="sqlalchemy")
        db.floating_ip_get_pools(context_mod.get_admin_context())
        barrier.wait(timeout)
        out.put((project_id, allocate_all(project_id, pool, max_calls)))
    except BaseException as exc:  # noqa: B036 - sent to the parent
        out.put((project_id, exc))
