"""floating_ip_allocate_address under contention: threads and processes.

Every allocator loops until the pool is exhausted.  Whatever the timing,
each address must be handed out exactly once (no duplicates), every
address handed out must be recorded for the project that got it (no lost
allocations), and once the pool is empty the next call must raise
NoMoreFloatingIps.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_mod
import threading

import pytest

import db
from db import exception
from db.sqlalchemy import _ipam
from tests.db import _floating_ip_allocator as allocator

POOL = "race"
ADDRESSES = 40
THREADS = 8
PROCESSES = 3
#: Upper bound on one worker's calls, so a bug cannot loop forever.
MAX_CALLS = ADDRESSES + 2
#: Seconds the race itself may take, and (generous, for loaded machines)
#: the time spawned children may take to import and connect.
TIMEOUT = 15
STARTUP_TIMEOUT = 90


@pytest.fixture
def local_database(target, database):
    """The database, on the local targets only: these tests drive the
    backend directly, so the RPC targets would only repeat them."""
    if target[2] != "local":
        pytest.skip("concurrency tests run on the local targets")
    return database


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
        monkeypatch.setattr(_ipam, "supports_skip_locked", lambda s: False)
    seeded = _seed(ctx)
    barrier = threading.Barrier(THREADS, timeout=TIMEOUT)
    results: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def worker(project_id: str) -> None:
        try:
            barrier.wait()
            results[project_id] = allocator.allocate_all(
                project_id, POOL, MAX_CALLS
            )
        except BaseException as exc:  # noqa: B036 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"p{n}",))
               for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT)

    assert not any(thread.is_alive() for thread in threads), "hung"
    assert errors == []
    _check(ctx, seeded, results)


def _collect(results_queue, count: int, timeout: float) -> dict:
    collected = {}
    for _ in range(count):
        key, value = results_queue.get(timeout=timeout)
        if isinstance(value, BaseException):
            raise AssertionError(f"{key} failed: {value!r}")
        collected[key] = value
    return collected


def test_processes_never_share_an_address(local_database, ctx):
    if local_database.kind == "sqlite":
        pytest.skip("SQLite serialises writers; the thread test covers it")
    seeded = _seed(ctx)
    spawn = multiprocessing.get_context("spawn")
    go = spawn.Event()
    results_queue = spawn.Queue()
    children = [
        spawn.Process(
            target=allocator.child,
            args=(local_database.url, f"p{n}", POOL, MAX_CALLS, go,
                  results_queue, STARTUP_TIMEOUT),
        )
        for n in range(PROCESSES)
    ]
    for child in children:
        child.start()

    try:
        ready = _collect(results_queue, PROCESSES, STARTUP_TIMEOUT)
        assert set(ready) == {"ready"}
        go.set()
        results = _collect(results_queue, PROCESSES, TIMEOUT)
    except queue_mod.Empty:
        pytest.fail("an allocating process hung")
    finally:
        go.set()
        for child in children:
            child.join(timeout=TIMEOUT)
            if child.is_alive():
                child.terminate()

    _check(ctx, seeded, results)
