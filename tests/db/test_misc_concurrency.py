"""Race-freedom of the insert-first functions of db/sqlalchemy/misc.py."""

from __future__ import annotations

import datetime

import db
from db import exception
from tests.db._concurrency import race, split

WORKERS = 6
INSTANCE = "11111111-2222-3333-4444-555555555555"
BEGIN = datetime.datetime(2012, 10, 1, tzinfo=datetime.UTC)
END = datetime.datetime(2012, 11, 1, tzinfo=datetime.UTC)


def test_concurrent_first_bw_usage_updates_make_one_row(local_database, ctx):
    """The original's update-then-insert could insert one row per racer;
    the losers of the insert now update the winner's row."""
    outcomes = race(
        WORKERS,
        lambda n: db.bw_usage_update(ctx, INSTANCE, "aa:01", BEGIN, n, n),
    )

    split(outcomes)

    rows = db.bw_usage_get_by_uuids(ctx, [INSTANCE], BEGIN)
    assert len(rows) == 1
    assert rows[0]["bw_in"] in range(WORKERS)


def test_concurrent_task_begins_let_exactly_one_run(local_database, ctx):
    """The original checked, then inserted: two racers could both start
    the task.  Insert-first lets one win; the others get
    TaskAlreadyRunning."""
    outcomes = race(
        WORKERS,
        lambda n: db.task_log_begin_task(ctx, "usage", BEGIN, END, "h1"),
    )

    wins, losses = split(outcomes, exception.TaskAlreadyRunning)
    assert len(wins) == 1
    assert len(losses) == WORKERS - 1
    assert len(db.task_log_get_all(ctx, "usage", BEGIN, END)) == 1


def test_concurrent_key_pair_creates_let_exactly_one_win(local_database, ctx):
    outcomes = race(
        WORKERS,
        lambda n: db.key_pair_create(
            ctx, {"user_id": "u", "name": "kp", "fingerprint": str(n)}
        ),
    )

    wins, _ = split(outcomes, exception.KeyPairExists)
    assert len(wins) == 1
    assert db.key_pair_count_by_user(ctx, "u") == 1
