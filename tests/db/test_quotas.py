"""Quotas, quota classes, usages, reservations and quota_reserve.

Every test goes through the ``api`` fixture, so resources are passed to
quota_reserve as registered names (strings), never as sync objects.
Tests that need no recount pre-create the usages with quota_usage_create
(a usage that exists, is not negative and has no countdown or age limit
is not recounted).
"""

import datetime
import uuid

import pytest

from db import context as context_mod
from db import exception

NOW = datetime.datetime.now(datetime.UTC)
LATER = NOW + datetime.timedelta(days=1)
EARLIER = NOW - datetime.timedelta(days=1)
PROJECT = "fake-project"


def _reserve(api, context, deltas, quotas, expire=LATER,
             until_refresh=None, max_age=0):
    return api.quota_reserve(
        context,
        resources=list(deltas),
        quotas=quotas,
        deltas=deltas,
        expire=expire,
        until_refresh=until_refresh,
        max_age=max_age,
    )


def _usages(api, ctx, project_id=PROJECT):
    result = api.quota_usage_get_all_by_project(ctx, project_id)
    assert result.pop("project_id") == project_id
    return result


def _seed(api, ctx, project_id=PROJECT, **in_use):
    for resource, value in in_use.items():
        api.quota_usage_create(ctx, project_id, resource, value, 0, None)


# --------------------------------------------------------------------------
# Project quotas


def test_quota_crud(api, ctx):
    created = api.quota_create(ctx, PROJECT, "instances", 10)
    assert created["hard_limit"] == 10
    assert created.project_id == PROJECT

    got = api.quota_get(ctx, PROJECT, "instances")
    assert isinstance(got, dict)
    assert (got["resource"], got["hard_limit"]) == ("instances", 10)

    updated = api.quota_update(ctx, PROJECT, "instances", -1)
    assert updated["hard_limit"] == -1
    assert api.quota_get(ctx, PROJECT, "instances")["hard_limit"] == -1

    api.quota_destroy(ctx, PROJECT, "instances")
    with pytest.raises(exception.ProjectQuotaNotFound) as info:
        api.quota_get(ctx, PROJECT, "instances")
    assert info.value.kwargs == {"project_id": PROJECT}


def test_quota_create_duplicate_raises_quota_exists(api, ctx):
    """The unique constraint on (project, resource) backs QuotaExists."""
    api.quota_create(ctx, PROJECT, "cores", 20)

    with pytest.raises(exception.QuotaExists) as info:
        api.quota_create(ctx, PROJECT, "cores", 30)
    assert info.value.kwargs == {"resource": "cores", "owner": PROJECT}
    assert api.quota_get(ctx, PROJECT, "cores")["hard_limit"] == 20

    api.quota_destroy(ctx, PROJECT, "cores")
    assert api.quota_create(ctx, PROJECT, "cores", 5)["hard_limit"] == 5


def test_quota_missing_raises_not_found(api, ctx):
    for call in (
        lambda: api.quota_get(ctx, PROJECT, "ram"),
        lambda: api.quota_update(ctx, PROJECT, "ram", 1),
        lambda: api.quota_destroy(ctx, PROJECT, "ram"),
    ):
        with pytest.raises(exception.ProjectQuotaNotFound) as info:
            call()
        assert info.value.kwargs == {"project_id": PROJECT}


def test_quota_get_all_by_project_shape(api, ctx):
    api.quota_create(ctx, PROJECT, "instances", 10)
    api.quota_create(ctx, PROJECT, "ram", 512)
    api.quota_create(ctx, "other-project", "ram", 1)
    api.quota_create(ctx, PROJECT, "cores", 4)
    api.quota_destroy(ctx, PROJECT, "cores")

    assert api.quota_get_all_by_project(ctx, PROJECT) == {
        "project_id": PROJECT,
        "instances": 10,
        "ram": 512,
    }
    assert api.quota_get_all_by_project(ctx, "nobody") == {
        "project_id": "nobody"
    }


def test_quota_bad_input_writes_nothing(api, ctx):
    for limit in ("10", None, 1.5, True):
        with pytest.raises(exception.InvalidValue):
            api.quota_create(ctx, PROJECT, "instances", limit)
    with pytest.raises(exception.InvalidInput):
        api.quota_create(ctx, "", "instances", 1)
    with pytest.raises(exception.InvalidInput):
        api.quota_create(ctx, PROJECT, None, 1)
    assert api.quota_get_all_by_project(ctx, PROJECT) == {
        "project_id": PROJECT
    }


def test_quota_user_context_reads_only_its_project(
    api, ctx, user_ctx, other_ctx
):
    api.quota_create(ctx, PROJECT, "instances", 10)

    assert api.quota_get(user_ctx, PROJECT, "instances")["hard_limit"] == 10
    assert api.quota_get_all_by_project(user_ctx, PROJECT)["instances"] == 10
    with pytest.raises(exception.NotAuthorized):
        api.quota_get(other_ctx, PROJECT, "instances")
    with pytest.raises(exception.NotAuthorized):
        api.quota_get_all_by_project(other_ctx, PROJECT)
    for call in (
        lambda: api.quota_create(user_ctx, PROJECT, "cores", 1),
        lambda: api.quota_update(user_ctx, PROJECT, "instances", 99),
        lambda: api.quota_destroy(user_ctx, PROJECT, "instances"),
        lambda: api.quota_destroy_all_by_project(user_ctx, PROJECT),
    ):
        with pytest.raises(exception.AdminRequired):
            call()
    assert api.quota_get(ctx, PROJECT, "instances")["hard_limit"] == 10


# --------------------------------------------------------------------------
# Quota classes


def test_quota_class_crud(api, ctx):
    created = api.quota_class_create(ctx, "gold", "instances", 50)
    assert (created["class_name"], created["hard_limit"]) == ("gold", 50)
    api.quota_class_create(ctx, "gold", "cores", 100)
    api.quota_class_create(ctx, "silver", "cores", 10)

    assert api.quota_class_get(ctx, "gold", "cores")["hard_limit"] == 100
    assert api.quota_class_update(ctx, "gold", "cores", 200)[
        "hard_limit"
    ] == 200
    assert api.quota_class_get_all_by_name(ctx, "gold") == {
        "class_name": "gold",
        "instances": 50,
        "cores": 200,
    }

    api.quota_class_destroy(ctx, "gold", "instances")
    with pytest.raises(exception.QuotaClassNotFound) as info:
        api.quota_class_get(ctx, "gold", "instances")
    assert info.value.kwargs == {"class_name": "gold"}

    api.quota_class_destroy_all_by_name(ctx, "gold")
    assert api.quota_class_get_all_by_name(ctx, "gold") == {
        "class_name": "gold"
    }
    assert api.quota_class_get(ctx, "silver", "cores")["hard_limit"] == 10


def test_quota_class_duplicate_and_missing(api, ctx):
    api.quota_class_create(ctx, "gold", "ram", 1024)
    with pytest.raises(exception.QuotaExists) as info:
        api.quota_class_create(ctx, "gold", "ram", 1)
    assert info.value.kwargs == {"resource": "ram", "owner": "gold"}

    for call in (
        lambda: api.quota_class_update(ctx, "gold", "cores", 1),
        lambda: api.quota_class_destroy(ctx, "gold", "cores"),
    ):
        with pytest.raises(exception.QuotaClassNotFound):
            call()


def test_quota_class_user_context_reads_only_its_class(api, ctx):
    api.quota_class_create(ctx, "gold", "ram", 1024)
    member = context_mod.RequestContext("u", "p", quota_class="gold")
    outsider = context_mod.RequestContext("u", "p", quota_class="silver")

    assert api.quota_class_get(member, "gold", "ram")["hard_limit"] == 1024
    assert api.quota_class_get_all_by_name(member, "gold")["ram"] == 1024
    with pytest.raises(exception.NotAuthorized):
        api.quota_class_get(outsider, "gold", "ram")
    with pytest.raises(exception.AdminRequired):
        api.quota_class_create(member, "gold", "cores", 1)


# --------------------------------------------------------------------------
# Quota usages


def test_quota_usage_crud(api, ctx):
    created = api.quota_usage_create(ctx, PROJECT, "instances", 2, 1, 5)
    assert (created["in_use"], created["reserved"]) == (2, 1)
    assert created["until_refresh"] == 5

    got = api.quota_usage_get(ctx, PROJECT, "instances")
    assert got["total"] == 3
    updated = api.quota_usage_update(ctx, PROJECT, "instances", 4, 0, None)
    assert (updated["in_use"], updated["reserved"]) == (4, 0)
    assert updated["until_refresh"] is None
    assert _usages(api, ctx) == {"instances": {"in_use": 4, "reserved": 0}}

    api.quota_usage_destroy(ctx, PROJECT, "instances")
    with pytest.raises(exception.QuotaUsageNotFound) as info:
        api.quota_usage_get(ctx, PROJECT, "instances")
    assert info.value.kwargs == {"project_id": PROJECT}
    assert _usages(api, ctx) == {}


def test_quota_usage_duplicate_missing_and_bad_input(api, ctx, other_ctx):
    api.quota_usage_create(ctx, PROJECT, "ram", 0, 0, None)
    with pytest.raises(exception.QuotaUsageExists) as info:
        api.quota_usage_create(ctx, PROJECT, "ram", 1, 1, None)
    assert info.value.kwargs == {"project_id": PROJECT, "resource": "ram"}

    with pytest.raises(exception.QuotaUsageNotFound):
        api.quota_usage_update(ctx, PROJECT, "cores", 1, 0, None)
    with pytest.raises(exception.QuotaUsageNotFound):
        api.quota_usage_destroy(ctx, PROJECT, "cores")
    with pytest.raises(exception.InvalidValue):
        api.quota_usage_update(ctx, PROJECT, "ram", "many", 0, None)
    with pytest.raises(exception.NotAuthorized):
        api.quota_usage_get_all_by_project(other_ctx, PROJECT)
    assert _usages(api, ctx) == {"ram": {"in_use": 0, "reserved": 0}}


# --------------------------------------------------------------------------
# Reservations one by one


def test_reservation_crud(api, ctx, user_ctx, other_ctx):
    usage = api.quota_usage_create(ctx, PROJECT, "instances", 0, 0, None)
    rid = str(uuid.uuid4())

    created = api.reservation_create(
        ctx, rid, usage, PROJECT, "instances", 2, LATER
    )
    assert (created["uuid"], created["delta"]) == (rid, 2)
    assert created["usage_id"] == usage["id"]
    assert created["expire"] == LATER
    assert api.reservation_get(user_ctx, rid)["resource"] == "instances"
    with pytest.raises(exception.NotAuthorized):
        api.reservation_get(other_ctx, rid)
    with pytest.raises(exception.ReservationExists) as info:
        api.reservation_create(
            ctx, rid, usage["id"], PROJECT, "instances", 1, LATER
        )
    assert info.value.kwargs == {"uuid": rid}

    api.reservation_destroy(ctx, rid)
    with pytest.raises(exception.ReservationNotFound) as info:
        api.reservation_get(ctx, rid)
    assert info.value.kwargs == {"uuid": rid}
    with pytest.raises(exception.ReservationNotFound):
        api.reservation_destroy(ctx, rid)
    assert _usages(api, ctx)["instances"] == {"in_use": 0, "reserved": 0}


def test_reservation_create_checks_usage_and_input(api, ctx):
    usage = api.quota_usage_create(ctx, PROJECT, "instances", 0, 0, None)

    with pytest.raises(exception.QuotaUsageNotFound):
        api.reservation_create(
            ctx, str(uuid.uuid4()), usage, PROJECT, "cores", 1, LATER
        )
    with pytest.raises(exception.InvalidUUID):
        api.reservation_create(
            ctx, "not-a-uuid", usage, PROJECT, "instances", 1, LATER
        )
    with pytest.raises(exception.InvalidValue):
        api.reservation_create(
            ctx, str(uuid.uuid4()), usage, PROJECT, "instances", 1, "soon"
        )
    assert api.reservation_get_all_by_project(ctx, PROJECT) == {
        "project_id": PROJECT
    }


def test_reservation_get_all_by_project_reads_reservations(api, ctx):
    """The original queried the usages table here (it had no uuid or
    delta columns), so the function always failed; it now returns
    ``{'project_id': p, resource: {uuid: delta}}``."""
    _seed(api, ctx, instances=0, cores=0)
    first = _reserve(api, ctx_of(PROJECT), {"instances": 1, "cores": 2},
                     {"instances": 10, "cores": 10})
    second = _reserve(api, ctx_of(PROJECT), {"instances": -1},
                      {"instances": 10})

    assert api.reservation_get_all_by_project(ctx, PROJECT) == {
        "project_id": PROJECT,
        "instances": {first[0]: 1, second[0]: -1},
        "cores": {first[1]: 2},
    }
    assert api.reservation_get_all_by_project(ctx, "other") == {
        "project_id": "other"
    }


def ctx_of(project_id):
    """A user context of ``project_id`` (quota_reserve uses its project)."""
    return context_mod.RequestContext("some-user", project_id)


# --------------------------------------------------------------------------
# quota_reserve, commit, rollback, expire


def test_reserve_then_commit(api, ctx, user_ctx):
    _seed(api, ctx, instances=1, cores=2)

    uuids = _reserve(api, user_ctx, {"instances": 1, "cores": 4},
                     {"instances": 10, "cores": 10})
    assert isinstance(uuids, list) and len(uuids) == 2
    assert all(isinstance(u, str) for u in uuids)
    assert _usages(api, ctx) == {
        "instances": {"in_use": 1, "reserved": 1},
        "cores": {"in_use": 2, "reserved": 4},
    }
    reservation = api.reservation_get(ctx, uuids[1])
    assert (reservation["resource"], reservation["delta"]) == ("cores", 4)
    assert reservation["expire"] == LATER

    api.reservation_commit(user_ctx, uuids)
    assert _usages(api, ctx) == {
        "instances": {"in_use": 2, "reserved": 0},
        "cores": {"in_use": 6, "reserved": 0},
    }
    with pytest.raises(exception.ReservationNotFound):
        api.reservation_get(ctx, uuids[0])


def test_commit_twice_counts_once(api, ctx, user_ctx):
    """Settled or unknown uuids are ignored, so a retried commit (say,
    after a lost reply) cannot count the delta twice."""
    _seed(api, ctx, instances=0)
    uuids = _reserve(api, user_ctx, {"instances": 3}, {"instances": 10})

    api.reservation_commit(user_ctx, uuids)
    api.reservation_commit(user_ctx, uuids + [str(uuid.uuid4())])
    api.reservation_rollback(user_ctx, uuids)
    assert _usages(api, ctx)["instances"] == {"in_use": 3, "reserved": 0}


def test_reserve_then_rollback(api, ctx, user_ctx):
    _seed(api, ctx, instances=1)
    uuids = _reserve(api, user_ctx, {"instances": 2}, {"instances": 10})

    api.reservation_rollback(user_ctx, uuids)
    assert _usages(api, ctx)["instances"] == {"in_use": 1, "reserved": 0}
    assert api.reservation_get_all_by_project(ctx, PROJECT) == {
        "project_id": PROJECT
    }


def test_negative_delta_is_never_over_and_frees_on_commit(
    api, ctx, user_ctx
):
    _seed(api, ctx, instances=5)
    uuids = _reserve(api, user_ctx, {"instances": -2}, {"instances": 1})

    assert _usages(api, ctx)["instances"] == {"in_use": 5, "reserved": 0}
    api.reservation_commit(user_ctx, uuids)
    assert _usages(api, ctx)["instances"] == {"in_use": 3, "reserved": 0}


def test_admin_commits_and_rolls_back_a_users_reservations(
    api, ctx, user_ctx
):
    """The original settled reservations against the usages of
    ``context.project_id``, so an admin or service context committing a
    user's reservations failed (KeyError).  The reservations' own project
    is used now."""
    _seed(api, ctx, instances=0, cores=0)
    first = _reserve(api, user_ctx, {"instances": 1}, {"instances": 5})
    second = _reserve(api, user_ctx, {"cores": 2}, {"cores": 5})

    api.reservation_commit(ctx, first)
    api.reservation_rollback(context_mod.get_admin_context(), second)
    assert _usages(api, ctx) == {
        "instances": {"in_use": 1, "reserved": 0},
        "cores": {"in_use": 0, "reserved": 0},
    }


def test_user_cannot_settle_another_projects_reservations(
    api, ctx, user_ctx, other_ctx
):
    _seed(api, ctx, instances=0)
    uuids = _reserve(api, user_ctx, {"instances": 1}, {"instances": 5})

    with pytest.raises(exception.NotAuthorized):
        api.reservation_commit(other_ctx, uuids)
    with pytest.raises(exception.NotAuthorized):
        api.reservation_rollback(other_ctx, uuids)
    assert _usages(api, ctx)["instances"] == {"in_use": 0, "reserved": 1}


def test_over_quota_raises_with_plain_data_and_reserves_nothing(
    api, ctx, user_ctx
):
    _seed(api, ctx, instances=3, cores=1, ram=0)
    _reserve(api, user_ctx, {"instances": 1}, {"instances": 5})

    with pytest.raises(exception.OverQuota) as info:
        _reserve(api, user_ctx, {"instances": 2, "cores": 1, "ram": 0},
                 {"instances": 5, "cores": 1, "ram": 0})
    assert info.value.kwargs == {
        "overs": ["cores", "instances"],
        "quotas": {"instances": 5, "cores": 1, "ram": 0},
        "usages": {
            "cores": {"in_use": 1, "reserved": 0},
            "instances": {"in_use": 3, "reserved": 1},
            "ram": {"in_use": 0, "reserved": 0},
        },
    }
    assert "cores" in str(info.value)
    reservations = api.reservation_get_all_by_project(ctx, PROJECT)
    assert set(reservations) == {"project_id", "instances"}
    assert len(reservations["instances"]) == 1


def test_reserving_exactly_up_to_the_quota_succeeds(api, ctx, user_ctx):
    _seed(api, ctx, instances=3)
    assert len(_reserve(api, user_ctx, {"instances": 2},
                        {"instances": 5})) == 1
    with pytest.raises(exception.OverQuota):
        _reserve(api, user_ctx, {"instances": 1}, {"instances": 5})


def test_zero_delta_is_never_over(api, ctx, user_ctx):
    """The original counted a delta of 0 as over when the usage already
    exceeded a (lowered) quota (``delta >= 0``), so a no-op reservation
    failed; only positive deltas can be over now."""
    _seed(api, ctx, instances=7)

    uuids = _reserve(api, user_ctx, {"instances": 0}, {"instances": 5})
    assert len(uuids) == 1
    assert api.reservation_get(ctx, uuids[0])["delta"] == 0
    assert _usages(api, ctx)["instances"] == {"in_use": 7, "reserved": 0}


def test_negative_quota_is_unlimited(api, ctx, user_ctx):
    _seed(api, ctx, instances=10**6)
    uuids = _reserve(api, user_ctx, {"instances": 10**6},
                     {"instances": -1})
    assert len(uuids) == 1


def test_reserve_with_no_deltas_returns_empty_list(api, user_ctx):
    assert _reserve(api, user_ctx, {}, {}) == []


def test_reserve_rejects_unknown_resources_before_writing(
    api, ctx, user_ctx
):
    with pytest.raises(exception.QuotaResourceUnknown) as info:
        _reserve(api, user_ctx, {"bananas": 1, "instances": 1},
                 {"bananas": 1, "instances": 1})
    assert info.value.kwargs == {"unknown": ["bananas"]}

    with pytest.raises(exception.QuotaResourceUnknown) as info:
        api.quota_reserve(user_ctx, {"instances": "instances"},
                          {"cores": 1}, {"cores": 1}, LATER, None, 0)
    assert info.value.kwargs == {"unknown": ["cores"]}
    assert _usages(api, ctx) == {}


def test_reserve_rejects_bad_arguments_before_writing(api, ctx, user_ctx):
    _seed(api, ctx, instances=0)
    bad = [
        ({"instances": "1"}, {"instances": 5}, LATER, None, 0),
        ({"instances": 1}, {"instances": None}, LATER, None, 0),
        ({"instances": 1}, {}, LATER, None, 0),
        ({"instances": 1}, {"instances": 5}, None, None, 0),
        ({"instances": 1}, {"instances": 5}, LATER, -1, 0),
        ({"instances": 1}, {"instances": 5}, LATER, None, "old"),
        (["instances"], {"instances": 5}, LATER, None, 0),
    ]
    for deltas, quotas, expire, until_refresh, max_age in bad:
        with pytest.raises(exception.Invalid):
            api.quota_reserve(user_ctx, ["instances"], quotas, deltas,
                              expire, until_refresh, max_age)
    with pytest.raises(exception.InvalidInput):
        api.quota_reserve(user_ctx, {"instances": 7}, {"instances": 5},
                          {"instances": 1}, LATER, None, 0)
    assert _usages(api, ctx) == {"instances": {"in_use": 0, "reserved": 0}}


def test_reserve_needs_a_project(api):
    admin = context_mod.get_admin_context()
    with pytest.raises(exception.InvalidInput):
        _reserve(api, admin, {"instances": 1}, {"instances": 5})


def test_reservation_expire_releases_only_expired(api, ctx, user_ctx):
    _seed(api, ctx, instances=0)
    expired = _reserve(api, user_ctx, {"instances": 2}, {"instances": 10},
                       expire=EARLIER)
    pending = _reserve(api, user_ctx, {"instances": 3}, {"instances": 10})
    assert _usages(api, ctx)["instances"] == {"in_use": 0, "reserved": 5}

    api.reservation_expire(ctx)
    assert _usages(api, ctx)["instances"] == {"in_use": 0, "reserved": 3}
    with pytest.raises(exception.ReservationNotFound):
        api.reservation_get(ctx, expired[0])
    assert api.reservation_get(ctx, pending[0])["delta"] == 3


def test_reservation_expire_by_a_user_keeps_to_its_project(
    api, ctx, user_ctx, other_ctx
):
    _seed(api, ctx, instances=0)
    _seed(api, ctx, project_id="other-project", instances=0)
    _reserve(api, user_ctx, {"instances": 1}, {"instances": 5},
             expire=EARLIER)
    _reserve(api, other_ctx, {"instances": 1}, {"instances": 5},
             expire=EARLIER)

    api.reservation_expire(other_ctx)
    assert _usages(api, ctx)["instances"]["reserved"] == 1
    assert _usages(api, ctx, "other-project")["instances"]["reserved"] == 0


def test_quota_destroy_all_by_project(api, ctx, user_ctx):
    api.quota_create(ctx, PROJECT, "instances", 5)
    api.quota_create(ctx, "other-project", "instances", 5)
    _seed(api, ctx, instances=0)
    uuids = _reserve(api, user_ctx, {"instances": 1}, {"instances": 5})

    api.quota_destroy_all_by_project(ctx, PROJECT)
    assert api.quota_get_all_by_project(ctx, PROJECT) == {
        "project_id": PROJECT
    }
    assert _usages(api, ctx) == {}
    with pytest.raises(exception.ReservationNotFound):
        api.reservation_get(ctx, uuids[0])
    assert api.quota_get(ctx, "other-project", "instances")
    api.reservation_commit(ctx, uuids)
    assert _usages(api, ctx) == {}


# --------------------------------------------------------------------------
# Recounts through the registered syncs


def test_new_usage_is_counted_by_the_registered_sync(api, ctx, user_ctx):
    for name in ("web", "db"):
        api.security_group_create(
            ctx, {"name": name, "project_id": PROJECT, "user_id": "u"}
        )
    api.security_group_create(
        ctx, {"name": "x", "project_id": "other", "user_id": "u"}
    )

    _reserve(api, user_ctx, {"security_groups": 1},
             {"security_groups": 10})
    assert _usages(api, ctx)["security_groups"] == {
        "in_use": 2, "reserved": 1
    }
    with pytest.raises(exception.OverQuota) as info:
        _reserve(api, user_ctx, {"security_groups": 1},
                 {"security_groups": 3})
    assert info.value.kwargs["usages"]["security_groups"] == {
        "in_use": 2, "reserved": 1
    }


def test_negative_in_use_is_recounted(api, ctx, user_ctx):
    api.quota_usage_create(ctx, PROJECT, "floating_ips", -4, 0, None)
    api.floating_ip_create(
        ctx, {"address": "10.0.0.1", "project_id": PROJECT}
    )

    _reserve(api, user_ctx, {"floating_ips": 1}, {"floating_ips": 5})
    assert _usages(api, ctx)["floating_ips"] == {"in_use": 1, "reserved": 1}


def test_until_refresh_counts_down_to_a_recount(api, ctx, user_ctx):
    api.quota_usage_create(ctx, PROJECT, "security_groups", 7, 0, 2)
    api.security_group_create(
        ctx, {"name": "web", "project_id": PROJECT, "user_id": "u"}
    )

    _reserve(api, user_ctx, {"security_groups": 0},
             {"security_groups": 10}, until_refresh=3)
    usage = api.quota_usage_get(ctx, PROJECT, "security_groups")
    assert (usage["in_use"], usage["until_refresh"]) == (7, 1)

    _reserve(api, user_ctx, {"security_groups": 0},
             {"security_groups": 10}, until_refresh=3)
    usage = api.quota_usage_get(ctx, PROJECT, "security_groups")
    assert (usage["in_use"], usage["until_refresh"]) == (1, 3)


def test_max_age_does_not_recount_a_fresh_usage(api, ctx, user_ctx):
    """The original tested ``(updated_at - now).seconds >= max_age``:
    inverted, and wrapping to nearly a day, so a usage written a moment
    ago was recounted for any max_age below a day.  Now only a usage
    last written ``max_age`` seconds ago or more is recounted (the old
    case is in test_quotas_local.py, which can age a row)."""
    api.quota_usage_create(ctx, PROJECT, "security_groups", 7, 0, None)
    api.security_group_create(
        ctx, {"name": "web", "project_id": PROJECT, "user_id": "u"}
    )

    _reserve(api, user_ctx, {"security_groups": 0},
             {"security_groups": 10}, max_age=3600)
    assert _usages(api, ctx)["security_groups"]["in_use"] == 7


def test_volume_syncs_count_volumes_and_gigabytes(api, ctx, user_ctx):
    api.volume_create(ctx, {"project_id": PROJECT, "size": 10})
    api.volume_create(ctx, {"project_id": PROJECT, "size": 5})

    _reserve(api, user_ctx, {"volumes": 1}, {"volumes": 10})
    assert _usages(api, ctx) == {
        "volumes": {"in_use": 2, "reserved": 1},
        "gigabytes": {"in_use": 15, "reserved": 0},
    }


def test_instance_syncs_count_instances_cores_and_ram(api, ctx, user_ctx):
    for _ in range(2):
        api.instance_create(
            ctx, {"project_id": PROJECT, "vcpus": 2, "memory_mb": 512}
        )

    _reserve(api, user_ctx, {"cores": 2, "ram": 256},
             {"cores": 10, "ram": 4096})
    assert _usages(api, ctx) == {
        "instances": {"in_use": 2, "reserved": 0},
        "cores": {"in_use": 4, "reserved": 2},
        "ram": {"in_use": 1024, "reserved": 256},
    }


def test_fixed_ip_sync_counts_the_projects_instances_addresses(
    api, ctx, user_ctx
):
    mine = api.instance_create(ctx, {"project_id": PROJECT})
    theirs = api.instance_create(ctx, {"project_id": "other-project"})
    api.fixed_ip_create(
        ctx, {"address": "10.0.0.2", "instance_uuid": mine["uuid"]}
    )
    api.fixed_ip_create(
        ctx, {"address": "10.0.0.3", "instance_uuid": theirs["uuid"]}
    )

    _reserve(api, user_ctx, {"fixed_ips": 1}, {"fixed_ips": 5})
    assert _usages(api, ctx)["fixed_ips"] == {"in_use": 1, "reserved": 1}
