"""Race-freedom of the insert-first functions of db/sqlalchemy/misc.py."""

from __future__ import annotations

import datetime
import threading

import pytest

import db
from db import exception

WORKERS = 6
TIMEOUT = 15
INSTANCE = "11111111-2222-3333-4444-555555555555"
BEGIN = datetime.datetime(2012, 10, 1, tzinfo=datetime.UTC)
END = datetime.datetime(2012, 11, 1, tzinfo=datetime.UTC)


@pytest.fixture
def local_database(target, database):
    """The database, on the local targets only (the RPC targets would
    only repeat these tests)."""
    if target[2] != "local":
        pytest.skip("concurrency tests run on the local targets")
    return database


def _race(call) -> tuple[list, list[BaseException]]:
    """Run ``call(n)`` in WORKERS threads released at once."""
    barrier = threading.Barrier(WORKERS, timeout=TIMEOUT)
    results: list = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait()
            results.append(call(n))
        except BaseException as exc:  # noqa: B036 - returned to the test
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,))
               for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "hung"
    return results, errors


def test_concurrent_first_bw_usage_updates_make_one_row(local_database, ctx):
    """The original's update-then-insert could insert one row per racer;
    the losers of the insert now update the winner's row."""
    results, errors = _race(
        lambda n: db.bw_usage_update(ctx, INSTANCE, "aa:01", BEGIN, n, n)
    )

    assert errors == []
    rows = db.bw_usage_get_by_uuids(ctx, [INSTANCE], BEGIN)
    assert len(rows) == 1
    assert rows[0]["bw_in"] in range(WORKERS)


def test_concurrent_task_begins_let_exactly_one_run(local_database, ctx):
    """The original checked, then inserted: two racers could both start
    the task.  Insert-first lets one win; the others get
    TaskAlreadyRunning."""
    results, errors = _race(
        lambda n: db.task_log_begin_task(ctx, "usage", BEGIN, END, "h1")
    )

    assert len(results) == 1
    assert len(errors) == WORKERS - 1
    assert all(isinstance(e, exception.TaskAlreadyRunning) for e in errors)
    assert len(db.task_log_get_all(ctx, "usage", BEGIN, END)) == 1


def test_concurrent_key_pair_creates_let_exactly_one_win(local_database, ctx):
    results, errors = _race(
        lambda n: db.key_pair_create(
            ctx, {"user_id": "u", "name": "kp", "fingerprint": str(n)}
        )
    )

    assert len(results) == 1
    assert all(isinstance(e, exception.KeyPairExists) for e in errors)
    assert db.key_pair_count_by_user(ctx, "u") == 1
