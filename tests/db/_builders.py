"""Builders of test data shared by the behaviour tests of ``tests/db``.

Each takes the ``api`` fixture (``db`` or ``conductor.rpcapi``) and a
context, and creates what a test needs through the API only, so the same
tests run unchanged over RPC.  Not a test module.
"""

from __future__ import annotations

import uuid
from typing import Any


def new_uuid() -> str:
    """Return a fresh random uuid string."""
    return str(uuid.uuid4())


def make_instance(api, ctx, **values: Any):
    """Create an instance; ``project_id``/``user_id`` default to ``ctx``'s.
    """
    values.setdefault("project_id", ctx.project_id)
    values.setdefault("user_id", ctx.user_id)
    return api.instance_create(ctx, values)


def make_network(api, ctx, **values: Any):
    """Create a network (a ``10.0.0.0/29`` labelled ``private`` unless
    ``values`` say otherwise) and return its row."""
    values.setdefault("cidr", "10.0.0.0/29")
    values.setdefault("label", "private")
    return api.network_create_safe(ctx, values)


def make_fixed_ips(api, ctx, network_id, *addresses: str, **values: Any):
    """Create one fixed IP of ``network_id`` per address, with ``values``.
    """
    api.fixed_ip_bulk_create(
        ctx,
        [
            {"address": a, "network_id": network_id, **values}
            for a in addresses
        ],
    )
