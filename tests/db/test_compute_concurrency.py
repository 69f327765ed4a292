"""Concurrent service writes: a service is destroyed only once.

Each test starts a few threads on a barrier so their transactions
overlap.  On SQLite writers serialise (BEGIN IMMEDIATE), so the tests
check the same outcome there; on PostgreSQL the overlap is real.
"""

from __future__ import annotations

import db
from db import exception
from tests.db._concurrency import race, split

THREADS = 4


def test_concurrent_destroys_of_one_service_destroy_it_once(database, ctx):
    service = db.service_create(ctx, {"host": "h", "topic": "compute"})

    def destroy(index):
        return db.service_destroy(ctx, service["id"])

    wins, losses = split(race(THREADS, destroy), exception.ServiceNotFound)

    assert len(wins) == 1 and len(losses) == THREADS - 1

