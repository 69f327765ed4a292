"""Many reservers, one project: the quota holds and nothing is lost.

Threads (on every database) and separate processes (PostgreSQL, where
several connections really run at once) reserve, commit and roll back
against one limit.  The usage rows do not exist at the start, so every
worker also races to create them.
"""

import datetime

import pytest

import db
from db import context as context_mod
from db import exception
from tests.db._concurrency import in_processes, race, split

PROJECT = "race-project"
LIMIT = 7
ATTEMPTS = 6
LATER = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)


class ZeroSync:
    """Counts nothing: ``in_use`` starts at 0 and moves only by commits."""

    def sync(self, context, project_id):
        return {"instances": 0, "cores": 0}


def _attempts(worker: int, attempts: int) -> dict:
    """Reserve ``attempts`` times; commit, roll back or keep in turn.

    Returns the tally of outcomes and the largest total seen after a
    successful reservation.
    """
    context = context_mod.RequestContext(f"user-{worker}", PROJECT)
    resources = {"instances": ZeroSync(), "cores": ZeroSync()}
    tally = {"committed": 0, "rolled_back": 0, "pending": 0, "over": 0,
             "max_total": 0}
    for attempt in range(attempts):
        try:
            uuids = db.quota_reserve(
                context, resources, {"instances": LIMIT, "cores": -1},
                {"instances": 1, "cores": 2}, LATER, None, 0,
            )
        except exception.OverQuota:
            tally["over"] += 1
            continue
        usage = db.quota_usage_get(context, PROJECT, "instances")
        tally["max_total"] = max(tally["max_total"], usage["total"])
        choice = (worker + attempt) % 3
        if choice == 0:
            db.reservation_commit(context, uuids)
            tally["committed"] += 1
        elif choice == 1:
            db.reservation_rollback(context, uuids)
            tally["rolled_back"] += 1
        else:
            tally["pending"] += 1
    return tally


def _process_worker(url: str, worker: int, barrier, results) -> None:
    """Entry point of a spawned child: its own engine, same database.

    The child warms up (imports, mapper set-up, first connection) before
    the barrier, so the reservations of all children really overlap.
    """
    db.configure(sql_connection=url, db_backend="sqlalchemy")
    context = context_mod.RequestContext(f"user-{worker}", PROJECT)
    db.quota_usage_get_all_by_project(context, PROJECT)
    try:
        barrier.wait(timeout=30)
        results.put((worker, _attempts(worker, ATTEMPTS)))
    except Exception as exc:  # reported by the parent
        results.put((worker, repr(exc)))


def _check(ctx, tallies: list[dict], workers: int) -> None:
    total = {key: sum(t[key] for t in tallies) for key in tallies[0]}
    assert sum(
        total[k] for k in ("committed", "rolled_back", "pending", "over")
    ) == workers * ATTEMPTS
    assert max(t["max_total"] for t in tallies) <= LIMIT
    assert total["committed"] + total["pending"] <= LIMIT

    usages = db.quota_usage_get_all_by_project(ctx, PROJECT)
    assert usages["instances"] == {
        "in_use": total["committed"], "reserved": total["pending"]
    }
    assert usages["cores"] == {
        "in_use": 2 * total["committed"], "reserved": 2 * total["pending"]
    }
    pending = db.reservation_get_all_by_project(ctx, PROJECT)
    assert len(pending.get("instances", {})) == total["pending"]
    assert len(pending.get("cores", {})) == total["pending"]
    # The quota was the only limit: some attempt must have hit it.
    assert total["over"] > 0


def test_threads_never_exceed_the_quota(database, ctx):
    workers = 6

    outcomes = race(workers, lambda n: _attempts(n, ATTEMPTS), timeout=30)

    tallies, _ = split(outcomes)
    _check(ctx, tallies, workers)


def test_processes_never_exceed_the_quota(database, ctx):
    if database.kind == "sqlite":
        pytest.skip("one process covers SQLite's single writer lock")
    workers = 3

    outcomes = dict(
        in_processes(
            _process_worker, [(database.url, n) for n in range(workers)]
        )
    )

    tallies = list(outcomes.values())
    assert all(isinstance(t, dict) for t in tallies), tallies
    _check(ctx, tallies, workers)
