"""RPC carriers: the conductor's own on kombu, and one on oslo.messaging.

A driver moves opaque request and reply bytes (made by
:mod:`conductor._wire`); dispatch and codec are the same on both, so the
benchmark compares the carriers on identical work.  A client driver has
``call(method, body, timeout) -> bytes`` and ``close()``; a server driver
has ``start()``, ``stop(timeout)``, ``wait()`` and ``in_flight``.
"""

from __future__ import annotations

import importlib
from typing import Any

from db import exception

DRIVERS = {
    "kombu": "conductor.drivers.kombu_driver",
    "oslo": "conductor.drivers.oslo_driver",
}


def load(name: str) -> Any:
    """Return the driver module called ``name``."""
    if name not in DRIVERS:
        raise exception.InvalidInput(
            reason=f"unknown conductor driver {name!r}: choose one of "
            f"{', '.join(sorted(DRIVERS))}"
        )
    return importlib.import_module(DRIVERS[name])
