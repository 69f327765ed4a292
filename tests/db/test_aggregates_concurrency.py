"""Concurrent aggregate writes: unique names, hosts and metadata keys.

Each test starts a few threads on a barrier so their transactions
overlap.  On SQLite writers serialise (BEGIN IMMEDIATE), so the tests
check the same outcome there; on PostgreSQL the overlap is real.
"""

from __future__ import annotations

import db
from db import exception
from db.sqlalchemy import models
from tests.db._concurrency import count_rows, race, split

THREADS = 4


def test_concurrent_creates_of_one_name_make_one_aggregate(database, ctx):
    def create(index):
        return db.aggregate_create(
            ctx, {"name": "race", "availability_zone": f"z{index}"}
        )

    wins, losses = split(race(THREADS, create), exception.AggregateNameExists)

    assert len(wins) == 1 and len(losses) == THREADS - 1
    assert [a["id"] for a in db.aggregate_get_all(ctx)] == [wins[0]["id"]]


def test_concurrent_revivals_of_one_name_revive_once(database, ctx):
    for _ in range(2):
        dead = db.aggregate_create(
            ctx, {"name": "race", "availability_zone": "z"}
        )
        db.aggregate_delete(ctx, dead["id"])

    def create(index):
        return db.aggregate_create(
            ctx, {"name": "race", "availability_zone": f"z{index}"}
        )

    wins, losses = split(race(THREADS, create), exception.AggregateNameExists)

    assert len(wins) == 1 and len(losses) == THREADS - 1
    assert len(db.aggregate_get_all(ctx)) == 1


def test_concurrent_adds_of_one_host_add_it_once(database, ctx):
    aggregate = db.aggregate_create(
        ctx, {"name": "a", "availability_zone": "z"}
    )

    def add(index):
        return db.aggregate_host_add(ctx, aggregate["id"], "h1")

    wins, losses = split(race(THREADS, add), exception.AggregateHostExists)

    assert len(wins) == 1 and len(losses) == THREADS - 1
    assert db.aggregate_host_get_all(ctx, aggregate["id"]) == ["h1"]


def test_concurrent_metadata_adds_leave_one_live_key(database, ctx):
    aggregate = db.aggregate_create(
        ctx, {"name": "a", "availability_zone": "z"}
    )

    def add(index):
        return db.aggregate_metadata_add(
            ctx, aggregate["id"], {"key": str(index)}
        )

    split(race(THREADS, add))

    metadata = db.aggregate_metadata_get(ctx, aggregate["id"])
    assert metadata["key"] in {str(i) for i in range(THREADS)}
    live = models.AggregateMetadata.deleted == 0
    assert count_rows(models.AggregateMetadata, live) == 1


def test_concurrent_revivals_of_one_host_revive_it_once(database, ctx):
    aggregate = db.aggregate_create(
        ctx, {"name": "a", "availability_zone": "z"}
    )
    db.aggregate_host_add(ctx, aggregate["id"], "h1")
    db.aggregate_host_delete(ctx, aggregate["id"], "h1")

    def add(index):
        return db.aggregate_host_add(ctx, aggregate["id"], "h1")

    wins, losses = split(race(THREADS, add), exception.AggregateHostExists)

    assert len(wins) == 1 and len(losses) == THREADS - 1
    assert db.aggregate_host_get_all(ctx, aggregate["id"]) == ["h1"]
