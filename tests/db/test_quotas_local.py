"""quota_reserve with local sync objects, and cases that need internals.

These tests call ``db`` directly (a sync object holds a Python callable,
which cannot cross RPC), on every database.
"""

import datetime
import json

import pytest
from sqlalchemy import update

import db
from db import context as context_mod
from db import exception
from db.sqlalchemy import _session, models, quotas

LATER = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
PROJECT = "fake-project"


class CountingSync:
    """A resource whose ``sync`` reports fixed counts and records calls."""

    def __init__(self, **counts):
        self.counts = counts
        self.calls = []

    def sync(self, context, project_id):
        self.calls.append(
            (context.is_admin, project_id, _session.current() is not None)
        )
        return dict(self.counts)


def _reserve(context, resources, deltas, quota_values, **kwargs):
    args = {"expire": LATER, "until_refresh": None, "max_age": 0}
    args.update(kwargs)
    return db.quota_reserve(
        context, resources, quota_values, deltas, **args
    )


def _usages(ctx, project_id=PROJECT):
    result = db.quota_usage_get_all_by_project(ctx, project_id)
    result.pop("project_id")
    return result


def test_sync_runs_elevated_inside_the_transaction(database, user_ctx):
    counter = CountingSync(instances=3)

    _reserve(user_ctx, {"instances": counter}, {"instances": 1},
             {"instances": 10})
    assert counter.calls == [(True, PROJECT, True)]
    assert _usages(user_ctx) == {"instances": {"in_use": 3, "reserved": 1}}


def test_one_sync_call_recounts_every_resource_it_reports(
    database, user_ctx
):
    counter = CountingSync(instances=1, cores=2, ram=512)
    resources = {"instances": counter, "cores": counter, "ram": counter}

    _reserve(user_ctx, resources, {"instances": 1, "cores": 1},
             {"instances": 10, "cores": 10})
    assert len(counter.calls) == 1
    assert _usages(user_ctx) == {
        "instances": {"in_use": 1, "reserved": 1},
        "cores": {"in_use": 2, "reserved": 1},
        "ram": {"in_use": 512, "reserved": 0},
    }


def test_over_quota_keeps_the_recount_and_crosses_as_plain_data(
    database, ctx, user_ctx
):
    """As in the original, the recounted usages are committed before
    OverQuota is raised, so the next call starts from fresh counts; no
    reservation is written."""
    counter = CountingSync(instances=9)

    with pytest.raises(exception.OverQuota) as info:
        _reserve(user_ctx, {"instances": counter}, {"instances": 2},
                 {"instances": 10})
    kwargs = info.value.kwargs
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs["usages"] == {"instances": {"in_use": 9, "reserved": 0}}
    assert _usages(ctx) == {"instances": {"in_use": 9, "reserved": 0}}
    assert db.reservation_get_all_by_project(ctx, PROJECT) == {
        "project_id": PROJECT
    }


def _age_usage(resource, seconds):
    then = datetime.datetime.now(datetime.UTC) - datetime.timedelta(
        seconds=seconds
    )
    with _session.writer() as session:
        session.execute(
            update(models.QuotaUsage)
            .where(models.QuotaUsage.resource == resource)
            .values(updated_at=then)
        )


def test_max_age_recounts_a_usage_written_long_enough_ago(
    database, ctx, user_ctx
):
    db.quota_usage_create(ctx, PROJECT, "instances", 7, 0, None)
    counter = CountingSync(instances=2)

    _age_usage("instances", 30)
    _reserve(user_ctx, {"instances": counter}, {"instances": 0},
             {"instances": 10}, max_age=60)
    assert counter.calls == []

    _age_usage("instances", 61)
    _reserve(user_ctx, {"instances": counter}, {"instances": 0},
             {"instances": 10}, max_age=60)
    assert len(counter.calls) == 1
    usage = db.quota_usage_get(ctx, PROJECT, "instances")
    assert usage["in_use"] == 2
    age = datetime.datetime.now(datetime.UTC) - usage["updated_at"]
    assert age.total_seconds() < 30


def test_bad_sync_result_rolls_everything_back(database, ctx, user_ctx):
    for counts in ({"cores": 1}, {"instances": "3"}):
        with pytest.raises(exception.Invalid):
            _reserve(user_ctx, {"instances": CountingSync(**counts)},
                     {"instances": 1}, {"instances": 10})
    assert _usages(ctx) == {}


def test_failing_sync_rolls_everything_back(database, ctx, user_ctx):
    class Broken:
        def sync(self, context, project_id):
            raise RuntimeError("count failed")

    with pytest.raises(RuntimeError):
        _reserve(user_ctx, {"instances": Broken(), "cores": "cores"},
                 {"instances": 1}, {"instances": 10})
    assert _usages(ctx) == {}


def test_sync_objects_and_registered_names_mix(database, ctx, user_ctx):
    db.security_group_create(
        ctx, {"name": "web", "project_id": PROJECT, "user_id": "u"}
    )
    counter = CountingSync(instances=4)

    _reserve(user_ctx,
             {"instances": counter, "security_groups": "security_groups"},
             {"instances": 1, "security_groups": 1},
             {"instances": 10, "security_groups": 10})
    assert _usages(ctx) == {
        "instances": {"in_use": 4, "reserved": 1},
        "security_groups": {"in_use": 1, "reserved": 1},
    }


def test_registry_covers_every_reservable_resource():
    assert set(quotas._RESOURCE_SYNCS) == {
        "instances", "cores", "ram", "volumes", "gigabytes",
        "floating_ips", "fixed_ips", "security_groups",
    }
    for name, entry in quotas._RESOURCE_SYNCS.items():
        assert name in entry.counts


def test_object_without_sync_is_rejected(database, user_ctx):
    with pytest.raises(exception.InvalidInput):
        _reserve(user_ctx, {"instances": object()}, {"instances": 1},
                 {"instances": 10})


def test_commit_of_a_reservation_whose_usage_is_gone(database, ctx):
    """quota_usage_destroy takes the usage's reservations with it, so a
    later commit finds nothing to do instead of failing."""
    user = context_mod.RequestContext("u", PROJECT)
    uuids = _reserve(user, {"instances": CountingSync(instances=0)},
                     {"instances": 1}, {"instances": 10})

    db.quota_usage_destroy(ctx, PROJECT, "instances")
    db.reservation_commit(ctx, uuids)
    with pytest.raises(exception.ReservationNotFound):
        db.reservation_get(ctx, uuids[0])
    assert _usages(ctx) == {}
