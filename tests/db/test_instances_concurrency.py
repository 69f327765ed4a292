"""Instance writers under concurrency: state checks are atomic.

The original's ``instance_test_and_set`` locked nothing on SQLite, and
``expected_task_state`` was checked on a row read before the write, so
two callers expecting the same state could both win.  Here exactly one
racer wins and the others get the documented exception; get-or-create
writers (info cache, EC2 id, metadata, group membership) leave one row.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete

import db
from db import exception
from db.sqlalchemy import _session, models
from tests.db._concurrency import count_rows, race, split

WORKERS = 6

pytestmark = pytest.mark.slow


def _instance(ctx, **values):
    values.setdefault("project_id", ctx.project_id)
    return db.instance_create(ctx, values)


def test_one_test_and_set_wins(database, ctx):
    inst = _instance(ctx)

    results = race(
        WORKERS,
        lambda i: db.instance_test_and_set(
            ctx, inst["uuid"], "task_state", [None], f"task-{i}"
        ),
    )

    wins, losses = split(results, exception.InstanceInvalidState)
    assert len(wins) == 1
    state = db.instance_get_by_uuid(ctx, inst["uuid"])["task_state"]
    assert {loss.kwargs["state"] for loss in losses} == {state}


def test_one_update_expecting_a_task_state_wins(database, ctx):
    inst = _instance(ctx, task_state="scheduling")

    results = race(
        WORKERS,
        lambda i: db.instance_update(
            ctx,
            inst["uuid"],
            {"task_state": f"task-{i}", "expected_task_state": "scheduling"},
        ),
    )

    wins, losses = split(results, exception.UnexpectedTaskStateError)
    assert len(wins) == 1
    assert db.instance_get_by_uuid(ctx, inst["uuid"])["task_state"] == (
        wins[0]["task_state"]
    )


def test_a_missing_info_cache_is_created_once(database, ctx):
    inst = _instance(ctx)
    with _session.writer() as session:
        session.execute(delete(models.InstanceInfoCache))

    results = race(
        WORKERS,
        lambda i: db.instance_info_cache_update(
            ctx, inst["uuid"], {"network_info": f"[{i}]"}
        ),
    )

    wins, _ = split(results)
    assert len({row["id"] for row in wins}) == 1
    assert count_rows(models.InstanceInfoCache) == 1
    cache = db.instance_info_cache_get(ctx, inst["uuid"])
    assert cache["network_info"] in {f"[{i}]" for i in range(WORKERS)}


def test_concurrent_ec2_mappings_of_one_uuid_agree(database, ctx):
    instance_uuid = str(uuid.uuid4())

    results = race(
        WORKERS, lambda i: db.ec2_instance_create(ctx, instance_uuid)
    )

    wins, _ = split(results)
    assert len({row["id"] for row in wins}) == 1
    assert count_rows(models.InstanceIdMapping) == 1


def test_concurrent_metadata_upserts_keep_one_item_per_key(database, ctx):
    inst = _instance(ctx)

    results = race(
        WORKERS,
        lambda i: db.instance_metadata_update(
            ctx, inst["uuid"], {"shared": str(i), f"own{i}": "x"}, False
        ),
    )

    split(results)
    live = models.InstanceMetadata.deleted == 0
    assert count_rows(models.InstanceMetadata, live) == WORKERS + 1
    metadata = db.instance_metadata_get(ctx, inst["uuid"])
    assert len(metadata) == WORKERS + 1


def test_concurrent_adds_to_a_group_keep_one_membership(database, user_ctx):
    inst = _instance(user_ctx)
    group = db.security_group_create(
        user_ctx,
        {"name": "g", "description": "g", "project_id": "fake-project"},
    )

    results = race(
        WORKERS,
        lambda i: db.instance_add_security_group(
            user_ctx, inst["uuid"], group["id"]
        ),
    )

    split(results)
    live = models.SecurityGroupInstanceAssociation.deleted == 0
    assert count_rows(models.SecurityGroupInstanceAssociation, live) == 1
