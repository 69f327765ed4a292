"""Concurrent service writes: a service is destroyed only once.

Each test starts a few threads on a barrier so their transactions
overlap.  On SQLite writers serialise (BEGIN IMMEDIATE), so the tests
check the same outcome there; on PostgreSQL the overlap is real.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import db
from db import exception

THREADS = 4


def _race(func_, *args):
    """Run ``func_(*args)`` in THREADS threads at once; return outcomes."""
    barrier = threading.Barrier(THREADS, timeout=10)

    def one(index):
        barrier.wait()
        try:
            return func_(index, *args)
        except exception.DBConductorError as exc:
            return exc

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(THREADS), timeout=30))


def _split(outcomes, error):
    wins = [o for o in outcomes if not isinstance(o, Exception)]
    losses = [o for o in outcomes if isinstance(o, Exception)]
    assert all(isinstance(o, error) for o in losses), losses
    return wins, losses


def test_concurrent_destroys_of_one_service_destroy_it_once(database, ctx):
    service = db.service_create(ctx, {"host": "h", "topic": "compute"})

    def destroy(index):
        return db.service_destroy(ctx, service["id"])

    wins, losses = _split(_race(destroy), exception.ServiceNotFound)

    assert len(wins) == 1 and len(losses) == THREADS - 1

