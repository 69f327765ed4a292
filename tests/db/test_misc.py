"""Key pairs, certificates, S3 image ids, task logs, agent builds and
bandwidth usage."""

from __future__ import annotations

import datetime
import uuid

import pytest

from db import exception

UTC = datetime.UTC
INSTANCE = "11111111-2222-3333-4444-555555555555"
BEGIN = datetime.datetime(2012, 10, 1, tzinfo=UTC)
END = datetime.datetime(2012, 11, 1, tzinfo=UTC)


# --------------------------------------------------------------------------
# Key pairs


def _key_pair(api, ctx, user_id="fake-user", name="kp", **values):
    values = {"user_id": user_id, "name": name, "fingerprint": "fp",
              "public_key": "ssh-rsa AAA", **values}
    return api.key_pair_create(ctx, values)


def test_key_pair_create_and_get(api, ctx):
    row = _key_pair(api, ctx)

    assert isinstance(row, dict)
    assert (row["user_id"], row["name"], row["fingerprint"]) == (
        "fake-user", "kp", "fp",
    )
    assert isinstance(row["id"], int)
    assert isinstance(row["created_at"], datetime.datetime)
    assert api.key_pair_get(ctx, "fake-user", "kp") == row


def test_key_pair_create_duplicate_raises_key_pair_exists(api, ctx):
    """The original stored a second key pair of the same name (the
    compute API checked first, racily); the unique constraint refuses."""
    _key_pair(api, ctx)

    with pytest.raises(exception.KeyPairExists) as info:
        _key_pair(api, ctx, fingerprint="other")
    assert info.value.kwargs == {"key_name": "kp"}
    assert api.key_pair_count_by_user(ctx, "fake-user") == 1
    # Another user may use the name, and a deleted name is free again.
    _key_pair(api, ctx, user_id="other-user")
    api.key_pair_destroy(ctx, "fake-user", "kp")
    assert _key_pair(api, ctx)["fingerprint"] == "fp"


def test_key_pair_get_raises_keypair_not_found(api, ctx):
    with pytest.raises(exception.KeypairNotFound) as info:
        api.key_pair_get(ctx, "fake-user", "nope")
    assert info.value.kwargs == {"user_id": "fake-user", "name": "nope"}


def test_key_pair_destroy_soft_deletes_and_raises_when_missing(api, ctx):
    _key_pair(api, ctx)

    assert api.key_pair_destroy(ctx, "fake-user", "kp") is None

    with pytest.raises(exception.KeypairNotFound):
        api.key_pair_get(ctx, "fake-user", "kp")
    deleted = api.key_pair_get(
        ctx.elevated(read_deleted="yes"), "fake-user", "kp"
    )
    assert deleted["deleted"] != 0
    with pytest.raises(exception.KeypairNotFound) as info:
        api.key_pair_destroy(ctx, "fake-user", "kp")
    assert info.value.kwargs == {"user_id": "fake-user", "name": "kp"}


def test_key_pair_get_all_count_and_destroy_all_by_user(api, ctx):
    _key_pair(api, ctx, name="b")
    _key_pair(api, ctx, name="a")
    _key_pair(api, ctx, user_id="other-user", name="c")

    rows = api.key_pair_get_all_by_user(ctx, "fake-user")
    assert [row["name"] for row in rows] == ["b", "a"]
    assert api.key_pair_count_by_user(ctx, "fake-user") == 2

    assert api.key_pair_destroy_all_by_user(ctx, "fake-user") is None
    assert api.key_pair_get_all_by_user(ctx, "fake-user") == []
    assert api.key_pair_count_by_user(ctx, "fake-user") == 0
    assert api.key_pair_count_by_user(ctx, "other-user") == 1


def test_every_key_pair_call_authorises_the_user(api, ctx, user_ctx):
    """Including create, which the original left unchecked."""
    _key_pair(api, ctx, user_id="other-user")
    calls = [
        lambda: _key_pair(api, user_ctx, user_id="other-user", name="x"),
        lambda: api.key_pair_get(user_ctx, "other-user", "kp"),
        lambda: api.key_pair_destroy(user_ctx, "other-user", "kp"),
        lambda: api.key_pair_destroy_all_by_user(user_ctx, "other-user"),
        lambda: api.key_pair_get_all_by_user(user_ctx, "other-user"),
        lambda: api.key_pair_count_by_user(user_ctx, "other-user"),
    ]
    for call in calls:
        with pytest.raises(exception.NotAuthorized):
            call()
    assert api.key_pair_count_by_user(ctx, "other-user") == 1

    assert _key_pair(api, user_ctx)["user_id"] == "fake-user"
    assert api.key_pair_count_by_user(user_ctx, "fake-user") == 1


def test_key_pair_create_checks_its_values_before_writing(api, ctx):
    with pytest.raises(exception.InvalidInput):
        api.key_pair_create(ctx, {"user_id": "fake-user"})
    with pytest.raises(exception.InvalidColumn):
        _key_pair(api, ctx, colour="red")
    with pytest.raises(exception.InvalidInput):
        api.key_pair_get(ctx, 42, "kp")
    assert api.key_pair_count_by_user(ctx, "fake-user") == 0


# --------------------------------------------------------------------------
# Certificates


def test_certificates_by_user_and_project(api, ctx):
    first = api.certificate_create(
        ctx, {"user_id": "u1", "project_id": "p1", "file_name": "a.pem"}
    )
    api.certificate_create(
        ctx, {"user_id": "u1", "project_id": "p2", "file_name": "b.pem"}
    )
    api.certificate_create(
        ctx, {"user_id": "u2", "project_id": "p1", "file_name": "c.pem"}
    )

    assert isinstance(first, dict) and isinstance(first["id"], int)
    assert first["file_name"] == "a.pem"

    def names(rows):
        return [row["file_name"] for row in rows]

    assert names(api.certificate_get_all_by_user(ctx, "u1")) == [
        "a.pem", "b.pem",
    ]
    assert names(api.certificate_get_all_by_project(ctx, "p1")) == [
        "a.pem", "c.pem",
    ]
    assert names(
        api.certificate_get_all_by_user_and_project(ctx, "u1", "p1")
    ) == ["a.pem"]
    assert api.certificate_get_all_by_user(ctx, "nobody") == []


def test_certificates_need_an_admin_and_valid_values(api, ctx, user_ctx):
    with pytest.raises(exception.AdminRequired):
        api.certificate_create(user_ctx, {"user_id": "fake-user"})
    with pytest.raises(exception.AdminRequired):
        api.certificate_get_all_by_user(user_ctx, "fake-user")
    with pytest.raises(exception.InvalidColumn):
        api.certificate_create(ctx, {"user_id": "u1", "colour": "red"})
    assert api.certificate_get_all_by_user(ctx, "u1") == []


# --------------------------------------------------------------------------
# S3 image ids


def test_s3_image_create_maps_a_uuid_to_an_integer_id(api, ctx):
    image = str(uuid.uuid4())

    row = api.s3_image_create(ctx, image)

    assert isinstance(row, dict)
    assert isinstance(row["id"], int)
    assert row["uuid"] == image
    assert api.s3_image_get(ctx, row["id"]) == row
    assert api.s3_image_get_by_uuid(ctx, image) == row
    second = api.s3_image_create(ctx, str(uuid.uuid4()))
    assert second["id"] > row["id"]


def test_s3_image_lookups_raise_image_not_found(api, ctx):
    row = api.s3_image_create(ctx, str(uuid.uuid4()))
    missing = str(uuid.uuid4())

    for image_id in (row["id"] + 1, "junk", 2**40):
        with pytest.raises(exception.ImageNotFound) as info:
            api.s3_image_get(ctx, image_id)
        assert info.value.kwargs == {"image_id": image_id}
    for image_uuid in (missing, "not-a-uuid", 7):
        with pytest.raises(exception.ImageNotFound) as info:
            api.s3_image_get_by_uuid(ctx, image_uuid)
        assert info.value.kwargs == {"image_id": image_uuid}


def test_s3_image_create_rejects_a_malformed_uuid(api, ctx):
    """The original stored anything and wrapped failures in DBError."""
    with pytest.raises(exception.InvalidUUID):
        api.s3_image_create(ctx, "not-a-uuid")
    with pytest.raises(exception.ImageNotFound):
        api.s3_image_get(ctx, 1)


# --------------------------------------------------------------------------
# Task log


def test_task_log_begin_get_and_end(api, ctx):
    row = api.task_log_begin_task(ctx, "usage", BEGIN, END, "h1",
                                  task_items=5, message="go")

    assert isinstance(row, dict)
    assert (row["state"], row["task_items"], row["message"]) == (
        "RUNNING", 5, "go",
    )
    assert row["period_beginning"] == BEGIN
    got = api.task_log_get(ctx, "usage", BEGIN, END, "h1")
    assert got == row

    assert api.task_log_end_task(ctx, "usage", BEGIN, END, "h1", 2,
                                 message="done") is None

    done = api.task_log_get(ctx, "usage", BEGIN, END, "h1")
    assert (done["state"], done["errors"], done["message"]) == (
        "DONE", 2, "done",
    )
    assert api.task_log_get(ctx, "usage", BEGIN, END, "h1",
                            state="RUNNING") is None
    assert api.task_log_get(ctx, "usage", BEGIN, END, "h2") is None


def test_task_log_begin_twice_raises_task_already_running(api, ctx):
    """Also for a finished period, as the original did; but the check is
    the unique constraint (insert first), not a racy read."""
    api.task_log_begin_task(ctx, "usage", BEGIN, END, "h1")

    with pytest.raises(exception.TaskAlreadyRunning) as info:
        api.task_log_begin_task(ctx, "usage", BEGIN, END, "h1")
    assert info.value.kwargs == {"task_name": "usage", "host": "h1"}

    api.task_log_end_task(ctx, "usage", BEGIN, END, "h1", 0)
    with pytest.raises(exception.TaskAlreadyRunning):
        api.task_log_begin_task(ctx, "usage", BEGIN, END, "h1")
    # Another host, period or task is a task of its own.
    api.task_log_begin_task(ctx, "usage", BEGIN, END, "h2")
    api.task_log_begin_task(ctx, "usage", END, END, "h1")
    api.task_log_begin_task(ctx, "other", BEGIN, END, "h1")
    assert len(api.task_log_get_all(ctx, "usage", BEGIN, END)) == 2


def test_task_log_begin_without_a_message_stores_an_empty_one(api, ctx):
    """The message column is NOT NULL and the original left it unset when
    no message was given, which a strict database refused."""
    row = api.task_log_begin_task(ctx, "usage", BEGIN, END, "h1")

    assert row["message"] == ""
    assert row["task_items"] == 0
    assert row["errors"] == 0


def test_task_log_end_without_begin_raises_task_not_running(api, ctx):
    with pytest.raises(exception.TaskNotRunning) as info:
        api.task_log_end_task(ctx, "usage", BEGIN, END, "h1", 0)
    assert info.value.kwargs == {"task_name": "usage", "host": "h1"}
    assert api.task_log_get_all(ctx, "usage", BEGIN, END) == []


def test_task_log_end_keeps_the_message_when_none_is_given(api, ctx):
    api.task_log_begin_task(ctx, "usage", BEGIN, END, "h1", message="go")

    api.task_log_end_task(ctx, "usage", BEGIN, END, "h1", 0)

    assert api.task_log_get(ctx, "usage", BEGIN, END, "h1")[
        "message"
    ] == "go"


def test_task_log_periods_compare_as_timestamps(api, ctx):
    """The original stored periods as strings, so '2012-10-01 00:00:00'
    and '2012-10-01T00:00:00' were different periods; we compare the
    instants, whatever form (naive UTC, aware, ISO string) they came in.
    """
    api.task_log_begin_task(ctx, "usage", "2012-10-01 00:00:00",
                            "2012-11-01T00:00:00+00:00", "h1")

    naive = datetime.datetime(2012, 10, 1)
    paris = datetime.datetime(2012, 11, 1, 1,
                              tzinfo=datetime.timezone(
                                  datetime.timedelta(hours=1)))
    row = api.task_log_get(ctx, "usage", naive, paris, "h1")
    assert row is not None
    assert row["period_beginning"] == BEGIN
    assert row["period_ending"] == END
    with pytest.raises(exception.TaskAlreadyRunning):
        api.task_log_begin_task(ctx, "usage", BEGIN, END, "h1")
    api.task_log_end_task(ctx, "usage", "2012-10-01T00:00:00", END, "h1", 1)
    assert api.task_log_get(ctx, "usage", BEGIN, END, "h1")[
        "state"
    ] == "DONE"


def test_task_log_get_all_filters_by_host_and_state(api, ctx):
    for host in ("h1", "h2", "h3"):
        api.task_log_begin_task(ctx, "usage", BEGIN, END, host)
    api.task_log_end_task(ctx, "usage", BEGIN, END, "h2", 0)

    def hosts(**filters):
        rows = api.task_log_get_all(ctx, "usage", BEGIN, END, **filters)
        return [row["host"] for row in rows]

    assert hosts() == ["h1", "h2", "h3"]
    assert hosts(host="h2") == ["h2"]
    assert hosts(state="RUNNING") == ["h1", "h3"]
    assert hosts(host="h1", state="DONE") == []
    assert api.task_log_get_all(ctx, "other", BEGIN, END) == []


def test_task_log_rejects_bad_input_and_needs_an_admin(api, ctx, user_ctx):
    with pytest.raises(exception.InvalidValue):
        api.task_log_begin_task(ctx, "usage", "yesterday", END, "h1")
    with pytest.raises(exception.InvalidInput):
        api.task_log_begin_task(ctx, "usage", BEGIN, END, None)
    with pytest.raises(exception.InvalidValue):
        api.task_log_end_task(ctx, "usage", BEGIN, END, "h1", "many")
    with pytest.raises(exception.AdminRequired):
        api.task_log_begin_task(user_ctx, "usage", BEGIN, END, "h1")
    with pytest.raises(exception.AdminRequired):
        api.task_log_get_all(user_ctx, "usage", BEGIN, END)
    assert api.task_log_get_all(ctx, "usage", BEGIN, END) == []


# --------------------------------------------------------------------------
# Agent builds


def _agent(api, ctx, **values):
    values = {"hypervisor": "xen", "os": "linux", "architecture": "x86_64",
              "version": "1.0", "url": "http://a/1", "md5hash": "abc",
              **values}
    return api.agent_build_create(ctx, values)


def test_agent_build_create_get_by_triple_and_get_all(api, ctx):
    build = _agent(api, ctx)
    _agent(api, ctx, os="windows")

    assert isinstance(build, dict) and isinstance(build["id"], int)
    assert api.agent_build_get_by_triple(ctx, "xen", "linux",
                                         "x86_64") == build
    assert api.agent_build_get_by_triple(ctx, "kvm", "linux",
                                         "x86_64") is None
    assert [b["os"] for b in api.agent_build_get_all(ctx)] == [
        "linux", "windows",
    ]


def test_agent_build_create_duplicate_triple_raises(api, ctx):
    _agent(api, ctx)

    with pytest.raises(exception.AgentBuildExists) as info:
        _agent(api, ctx, version="2.0")
    assert info.value.kwargs == {"hypervisor": "xen", "os": "linux",
                                 "architecture": "x86_64"}
    assert len(api.agent_build_get_all(ctx)) == 1


def test_agent_build_update_returns_the_row(api, ctx):
    build = _agent(api, ctx)

    updated = api.agent_build_update(ctx, build["id"], {"version": "2.0"})

    assert updated["version"] == "2.0"
    assert api.agent_build_get_by_triple(ctx, "xen", "linux",
                                         "x86_64") == updated


def test_agent_build_update_of_a_missing_build_raises_not_found(api, ctx):
    """The original crashed with AttributeError on None."""
    build = _agent(api, ctx)
    api.agent_build_destroy(ctx, build["id"])

    for missing in (build["id"], build["id"] + 1, "junk"):
        with pytest.raises(exception.AgentBuildNotFound) as info:
            api.agent_build_update(ctx, missing, {"version": "2.0"})
        assert info.value.kwargs == {"id": missing}


def test_agent_build_update_checks_values_and_the_triple(api, ctx):
    build = _agent(api, ctx)
    _agent(api, ctx, os="windows")

    with pytest.raises(exception.AgentBuildExists):
        api.agent_build_update(ctx, build["id"], {"os": "windows"})
    with pytest.raises(exception.InvalidColumn):
        api.agent_build_update(ctx, build["id"], {"colour": "red"})
    assert api.agent_build_get_by_triple(ctx, "xen", "linux",
                                         "x86_64") == build


def test_agent_build_destroy_soft_deletes_and_raises_when_missing(
    api, ctx
):
    """The original crashed with AttributeError on a missing id."""
    build = _agent(api, ctx)

    assert api.agent_build_destroy(ctx, build["id"]) is None

    assert api.agent_build_get_all(ctx) == []
    with pytest.raises(exception.AgentBuildNotFound) as info:
        api.agent_build_destroy(ctx, build["id"])
    assert info.value.kwargs == {"id": build["id"]}
    # The triple is free again.
    assert _agent(api, ctx)["id"] != build["id"]


def test_agent_builds_need_an_admin(api, user_ctx):
    with pytest.raises(exception.AdminRequired):
        api.agent_build_get_all(user_ctx)
    with pytest.raises(exception.AdminRequired):
        _agent(api, user_ctx)


# --------------------------------------------------------------------------
# Bandwidth usage


def test_bw_usage_update_creates_then_updates_one_row(api, ctx):
    refreshed = datetime.datetime(2012, 10, 2, 3, 4, 5, tzinfo=UTC)

    assert api.bw_usage_update(ctx, INSTANCE, "aa:bb", BEGIN, 10, 20,
                               last_refreshed=refreshed) is None
    api.bw_usage_update(ctx, INSTANCE, "aa:bb", BEGIN, 30, 40)

    rows = api.bw_usage_get_by_uuids(ctx, [INSTANCE], BEGIN)
    assert len(rows) == 1
    row = rows[0]
    assert isinstance(row, dict)
    assert (row["uuid"], row["mac"], row["bw_in"], row["bw_out"]) == (
        INSTANCE, "aa:bb", 30, 40,
    )
    assert row["start_period"] == BEGIN
    # last_refreshed defaults to now.
    assert row["last_refreshed"] > refreshed


def test_bw_usage_rows_are_per_mac_and_period(api, ctx):
    other = str(uuid.uuid4())
    api.bw_usage_update(ctx, INSTANCE, "aa:02", BEGIN, 1, 2)
    api.bw_usage_update(ctx, INSTANCE, "aa:01", BEGIN, 3, 4)
    api.bw_usage_update(ctx, INSTANCE, "aa:01", END, 5, 6)
    api.bw_usage_update(ctx, other, "bb:01", BEGIN, 7, 8)

    rows = api.bw_usage_get_by_uuids(ctx, [INSTANCE], BEGIN)
    assert [(r["mac"], r["bw_in"]) for r in rows] == [
        ("aa:01", 3), ("aa:02", 1),
    ]
    both = api.bw_usage_get_by_uuids(ctx, [INSTANCE, other], BEGIN)
    assert len(both) == 3
    assert api.bw_usage_get_by_uuids(ctx, [], BEGIN) == []
    # The period is an instant: a naive datetime is UTC.
    naive = api.bw_usage_get_by_uuids(ctx, [INSTANCE],
                                      datetime.datetime(2012, 11, 1))
    assert [r["bw_in"] for r in naive] == [5]


def test_bw_usage_rejects_bad_input_before_writing(api, ctx):
    with pytest.raises(exception.InvalidUUID):
        api.bw_usage_update(ctx, "not-a-uuid", "aa:01", BEGIN, 1, 2)
    with pytest.raises(exception.InvalidInput):
        api.bw_usage_update(ctx, INSTANCE, None, BEGIN, 1, 2)
    with pytest.raises(exception.InvalidValue):
        api.bw_usage_update(ctx, INSTANCE, "aa:01", "soon", 1, 2)
    with pytest.raises(exception.InvalidValue):
        api.bw_usage_update(ctx, INSTANCE, "aa:01", BEGIN, "lots", 2)
    with pytest.raises(exception.InvalidInput):
        api.bw_usage_get_by_uuids(ctx, INSTANCE, BEGIN)
    assert api.bw_usage_get_by_uuids(ctx, [INSTANCE], BEGIN) == []
