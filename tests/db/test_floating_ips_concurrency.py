"""floating_ip_allocate_address under contention: threads and processes.

Every allocator loops until the pool is exhausted.  Whatever the timing,
each address must be handed out exactly once (no duplicates), every
address handed out must be recorded for the project that got it (no lost
allocations), and once the pool is empty the next call must raise
NoMoreFloatingIps.
"""

from __future__ import annotations

import pytest

import db
from db import exception
from db.sqlalchemy import _session
from tests.db import _floating_ip_allocator as allocator
from tests.db._concurrency import SPAWN_TIMEOUT, in_processes, race, split

POOL = "race"
ADDRESSES = 40
THREADS = 8
PROCESSES = 3
#: Upper bound on one worker's calls, so a bug cannot loop forever.
MAX_CALLS = ADDRESSES + 2


def _seed(ctx, count: int = ADDRESSES) -> set[str]:
    addresses = [f"10.20.{n // 200}.{n % 200 + 1}" for n in range(count)]
    db.floating_ip_bulk_create(
        ctx, [{"address": a, "pool": POOL} for a in addresses]
    )
    # A free address of another pool must not be handed out.
    db.floating_ip_create(ctx, {"address": "10.99.0.1", "pool": "other"})
    return set(addresses)


def _check(ctx, seeded: set[str], results: dict[str, list[str]]) -> None:
    handed_out = [a for got in results.values() for a in got]
    assert len(handed_out) == len(set(handed_out)), "duplicate allocation"
    assert set(handed_out) == seeded, "lost or foreign allocation"
    for project_id, got in results.items():
        for address in got:
            row = db.floating_ip_get_by_address(ctx, address)
            assert row["project_id"] == project_id
    with pytest.raises(exception.NoMoreFloatingIps):
        db.floating_ip_allocate_address(ctx, "late", POOL)
    other = db.floating_ip_get_by_address(ctx, "10.99.0.1")
    assert other["project_id"] is None


@pytest.mark.parametrize("strategy", ["native", "guarded"])
def test_threads_never_share_an_address(
    local_database, ctx, monkeypatch, strategy
):
    if strategy == "guarded":
        if local_database.kind == "sqlite":
            pytest.skip("SQLite always uses the guarded UPDATE")
        monkeypatch.setattr(_session, "supports_skip_locked", lambda s: False)
    seeded = _seed(ctx)

    outcomes = race(
        THREADS,
        lambda n: allocator.allocate_all(f"p{n}", POOL, MAX_CALLS),
    )

    split(outcomes)
    _check(ctx, seeded, {f"p{n}": got for n, got in enumerate(outcomes)})


def test_processes_never_share_an_address(local_database, ctx):
    if local_database.kind == "sqlite":
        pytest.skip("SQLite serialises writers; the thread test covers it")
    seeded = _seed(ctx)

    reports = in_processes(
        allocator.child,
        [
            (local_database.url, f"p{n}", POOL, MAX_CALLS, SPAWN_TIMEOUT)
            for n in range(PROCESSES)
        ],
    )

    failed = [r for r in reports if isinstance(r[1], BaseException)]
    assert not failed, failed
    _check(ctx, seeded, dict(reports))
