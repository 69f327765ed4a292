"""volume_allocate_iscsi_target under concurrent callers.

Threads share this process's engine; processes (started with 'spawn', so
each has an engine of its own) are the real deployment: several conductor
workers allocating from one pool.  Every allocation must give distinct
volumes distinct targets, the same volume one target, and NoMoreTargets
only once the host's pool is really used up.
"""


import pytest
from sqlalchemy import select

import db
from db import context as context_mod
from db import exception
from db.sqlalchemy import _session, models
from tests.db._concurrency import SPAWN_TIMEOUT, in_processes, race, split

HOST = "volume-host"

#: These tests reach the database directly: once per local target.
pytestmark = pytest.mark.usefixtures("local_database")


def seed(ctx, targets: int, volumes_: int) -> list[str]:
    """Create ``targets`` targets on HOST and return ``volumes_`` ids."""
    for number in range(1, targets + 1):
        db.iscsi_target_create_safe(ctx, {"target_num": number, "host": HOST})
    return [db.volume_create(ctx, {"size": 1})["id"] for _ in range(volumes_)]


def allocate(ctx, volume_id: str):
    try:
        return db.volume_allocate_iscsi_target(ctx, volume_id, HOST)
    except exception.NoMoreTargets:
        return "none"


def held_targets() -> dict[str, list[int]]:
    """Return ``{volume_id: [target_num, ...]}`` of every held target."""
    with _session.reader() as session:
        rows = session.execute(
            select(models.IscsiTarget.volume_id, models.IscsiTarget.target_num)
            .where(models.IscsiTarget.volume_id.is_not(None))
            .order_by(models.IscsiTarget.target_num)
        ).all()
    held: dict[str, list[int]] = {}
    for volume_id, number in rows:
        held.setdefault(volume_id, []).append(number)
    return held


def check_pool(results: list, volume_ids: list[str], targets: int) -> None:
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    numbers = [r for r in results if r != "none"]
    assert sorted(numbers) == list(range(1, targets + 1))
    assert results.count("none") == len(volume_ids) - targets
    held = held_targets()
    assert all(len(nums) == 1 for nums in held.values())
    assert {v: n[0] for v, n in held.items()} == {
        v: r for v, r in zip(volume_ids, results, strict=True) if r != "none"
    }


@pytest.fixture(params=["skip_locked", "for_update"])
def locking(request, database, monkeypatch):
    """Run with SKIP LOCKED where the dialect has it, and without."""
    if request.param == "for_update":
        if database.kind == "sqlite":
            pytest.skip("SQLite has no row locks: one variant is enough")
        monkeypatch.setattr(_session, "supports_skip_locked", lambda s: False)
    return request.param


def test_threads_never_share_a_target(database, ctx, locking):
    volume_ids = seed(ctx, targets=6, volumes_=9)

    results = race(len(volume_ids), lambda i: allocate(ctx, volume_ids[i]))

    check_pool(results, volume_ids, targets=6)


def test_threads_on_one_volume_get_one_target(database, ctx, locking):
    (volume_id,) = seed(ctx, targets=4, volumes_=1)

    results = race(8, lambda i: allocate(ctx, volume_id))

    assert len(set(results)) == 1
    assert held_targets() == {volume_id: [results[0]]}


def test_threads_map_one_uuid_to_one_ec2_id(database, ctx):
    volume_id = "2f0b8f1e-3c5d-4e8a-9b61-8d7f0c2a4e10"

    results = race(6, lambda i: db.ec2_volume_create(ctx, volume_id)["id"])

    wins, _ = split(results)
    assert len(set(wins)) == 1, results
    with _session.reader() as session:
        rows = session.scalars(
            select(models.VolumeIdMapping.id).where(
                models.VolumeIdMapping.uuid == volume_id
            )
        ).all()
    assert rows == [wins[0]]


def _child(url: str, volume_ids: list[str], barrier, out) -> None:
    """Run in a spawned process: allocate for each id, report results."""
    db.configure(sql_connection=url, db_backend="sqlalchemy")
    ctx = context_mod.get_admin_context()
    try:
        # Load the backend and connect before the start line, so that the
        # allocations themselves overlap.
        db.iscsi_target_count_by_host(ctx, HOST)
        barrier.wait(timeout=SPAWN_TIMEOUT)
        out.put([(v, allocate(ctx, v)) for v in volume_ids])
    except Exception as exc:
        out.put(repr(exc))


def test_processes_never_share_a_target(database, ctx):
    volume_ids = seed(ctx, targets=10, volumes_=12)
    # Every volume twice, split over the processes: a retried allocation
    # in another worker must see the target the first one took.
    work = volume_ids + volume_ids[::-1]
    workers = 3

    reports = in_processes(
        _child, [(database.url, work[i::workers]) for i in range(workers)]
    )

    assert all(isinstance(r, list) for r in reports), reports
    by_volume: dict[str, set] = {}
    for report in reports:
        for volume_id, result in report:
            by_volume.setdefault(volume_id, set()).add(result)
    assert all(len(results) == 1 for results in by_volume.values())
    results = [by_volume[v].pop() for v in volume_ids]
    check_pool(results, volume_ids, targets=10)
