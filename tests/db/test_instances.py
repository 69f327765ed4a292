"""Instances: create, get, list, update, destroy, test-and-set."""

import datetime
import uuid

import pytest

from db import exception
from tests.db._builders import make_instance

UTC = datetime.UTC


def now():
    return datetime.datetime.now(UTC)


def make_flavor(api, ctx, name="m1.small", flavorid="2"):
    return api.instance_type_create(
        ctx,
        {
            "name": name,
            "flavorid": flavorid,
            "memory_mb": 2048,
            "vcpus": 1,
            "root_gb": 20,
            "extra_specs": {"cpu_arch": "x86_64"},
        },
    )


# --------------------------------------------------------------------------
# instance_create and the getters


def test_create_returns_a_full_row(api, ctx):
    flavor = make_flavor(api, ctx)
    inst = make_instance(
        api,
        ctx,
        instance_type_id=flavor["id"],
        host="node1",
        metadata={"role": "web", "tier": 1},
        system_metadata={"image_os": "linux"},
        info_cache={"network_info": "[]"},
    )

    assert isinstance(inst, dict)
    uuid.UUID(inst["uuid"])
    assert inst.name == inst["name"] == f"instance-{inst['id']:08x}"
    assert inst["deleted"] == 0
    assert inst["created_at"].tzinfo is not None
    assert inst["instance_type"]["name"] == "m1.small"
    assert inst["instance_type"]["extra_specs"] == {"cpu_arch": "x86_64"}
    assert inst["info_cache"]["network_info"] == "[]"
    assert sorted((m["key"], m["value"]) for m in inst["metadata"]) == [
        ("role", "web"),
        ("tier", "1"),
    ]
    assert [(m.key, m.value) for m in inst["system_metadata"]] == [
        ("image_os", "linux")
    ]
    assert inst["security_groups"] == []
    assert api.instance_get_by_uuid(ctx, inst["uuid"]) == inst
    assert api.instance_get(ctx, inst["id"]) == inst


def test_create_always_makes_an_info_cache(api, ctx):
    inst = make_instance(api, ctx)

    cache = api.instance_info_cache_get(ctx, inst["uuid"])
    assert cache["instance_uuid"] == inst["uuid"]
    assert cache["network_info"] is None
    assert inst["info_cache"]["id"] == cache["id"]


def test_create_checks_values_before_writing(api, ctx):
    with pytest.raises(exception.InvalidColumn):
        make_instance(api, ctx, no_such_column=1)
    with pytest.raises(exception.InvalidUUID):
        make_instance(api, ctx, uuid="not-a-uuid")
    with pytest.raises(exception.InvalidValue):
        make_instance(api, ctx, vcpus="many")
    with pytest.raises(exception.InvalidInput):
        make_instance(api, ctx, metadata=["a", "b"])
    with pytest.raises(exception.InvalidInput):
        make_instance(api, ctx, security_groups="default")
    with pytest.raises(exception.InvalidValue):
        make_instance(api, ctx, metadata={"k": {"nested": 1}})

    assert api.instance_get_all(ctx) == []


def test_create_keeps_a_given_uuid_and_rejects_a_duplicate(api, ctx):
    wanted = str(uuid.uuid4())
    assert make_instance(api, ctx, uuid=wanted)["uuid"] == wanted

    with pytest.raises(exception.DBDuplicateEntry):
        make_instance(api, ctx, uuid=wanted)
    assert len(api.instance_get_all(ctx)) == 1


def test_create_maps_an_ec2_id_in_the_same_transaction(api, ctx):
    """Original: the EC2 mapping was written after the instance's commit.
    Ours: one transaction, so a failed create leaves neither behind."""
    inst = make_instance(api, ctx)
    ec2_id = api.get_ec2_instance_id_by_uuid(ctx, inst["uuid"])
    assert api.get_instance_uuid_by_ec2_id(ctx, ec2_id) == inst["uuid"]

    wanted = str(uuid.uuid4())
    with pytest.raises(exception.SecurityGroupNotFoundForProject):
        make_instance(api, ctx, uuid=wanted, security_groups=["nope"])
    with pytest.raises(exception.InstanceNotFound):
        api.get_ec2_instance_id_by_uuid(ctx, wanted)
    assert [i["uuid"] for i in api.instance_get_all(ctx)] == [inst["uuid"]]


def test_create_resolves_security_group_names(api, user_ctx):
    web = api.security_group_create(
        user_ctx,
        {
            "name": "web",
            "description": "web",
            "project_id": user_ctx.project_id,
            "user_id": user_ctx.user_id,
        },
    )
    api.security_group_rule_create(
        user_ctx,
        {
            "parent_group_id": web["id"],
            "protocol": "tcp",
            "from_port": 80,
            "to_port": 80,
            "cidr": "0.0.0.0/0",
        },
    )

    first = make_instance(api, user_ctx, security_groups=["default", "web"])
    second = make_instance(api, user_ctx, security_groups=["default"])

    groups = {g["name"]: g for g in first["security_groups"]}
    assert sorted(groups) == ["default", "web"]
    assert [r["from_port"] for r in groups["web"]["rules"]] == [80]
    assert second["security_groups"][0]["id"] == groups["default"]["id"]


def test_a_deleted_flavor_still_shows_on_its_instances(api, ctx):
    flavor = make_flavor(api, ctx)
    inst = make_instance(api, ctx, instance_type_id=flavor["id"])

    api.instance_type_destroy(ctx, "m1.small")

    again = api.instance_get_by_uuid(ctx, inst["uuid"])
    assert again["instance_type"]["id"] == flavor["id"]
    assert again["instance_type"]["deleted"] != 0


def test_getters_raise_instance_not_found(api, ctx, user_ctx):
    inst = make_instance(api, ctx, project_id="other-project")

    with pytest.raises(exception.InstanceNotFound) as info:
        api.instance_get_by_uuid(ctx, str(uuid.uuid4()))
    assert "instance_id" in info.value.kwargs
    with pytest.raises(exception.InstanceNotFound):
        api.instance_get_by_uuid(ctx, "garbage")
    with pytest.raises(exception.InstanceNotFound):
        api.instance_get(ctx, inst["id"] + 100)
    with pytest.raises(exception.InvalidID):
        api.instance_get(ctx, "abc")
    # A user context only sees its own project.
    with pytest.raises(exception.InstanceNotFound):
        api.instance_get_by_uuid(user_ctx, inst["uuid"])
    with pytest.raises(exception.InstanceNotFound):
        api.instance_get(user_ctx, inst["id"])


def test_getters_follow_read_deleted(api, ctx):
    inst = make_instance(api, ctx)
    api.instance_destroy(ctx, inst["uuid"])

    with pytest.raises(exception.InstanceNotFound):
        api.instance_get_by_uuid(ctx, inst["uuid"])
    seen = api.instance_get_by_uuid(
        ctx.elevated(read_deleted="yes"), inst["uuid"]
    )
    assert seen["deleted"] == seen["id"]


# --------------------------------------------------------------------------
# Lists


def test_lists_by_host_project_and_reservation(api, ctx, user_ctx):
    mine = make_instance(
        api, user_ctx, host="node1", reservation_id="r-1"
    )
    other = make_instance(
        api, ctx, project_id="other-project", host="node1",
        reservation_id="r-1",
    )
    make_instance(api, ctx, host="node2")

    on_node1 = api.instance_get_all_by_host(ctx, "node1")
    assert [i["uuid"] for i in on_node1] == [mine["uuid"], other["uuid"]]
    assert on_node1[0]["instance_type"] is None
    with pytest.raises(exception.AdminRequired):
        api.instance_get_all_by_host(user_ctx, "node1")

    by_project = api.instance_get_all_by_project(user_ctx, "fake-project")
    assert [i["uuid"] for i in by_project] == [mine["uuid"]]
    with pytest.raises(exception.NotAuthorized):
        api.instance_get_all_by_project(user_ctx, "other-project")

    by_reservation = api.instance_get_all_by_reservation(user_ctx, "r-1")
    assert [i["uuid"] for i in by_reservation] == [mine["uuid"]]
    assert len(api.instance_get_all_by_reservation(ctx, "r-1")) == 2


def test_get_all_joins_only_what_is_asked(api, ctx, user_ctx):
    make_instance(api, ctx, metadata={"a": "1"})
    make_instance(api, ctx, project_id="fake-project")

    full = api.instance_get_all(ctx)
    assert len(full) == 2
    assert {"instance_type", "info_cache", "metadata", "system_metadata",
            "security_groups"} <= set(full[0])

    bare = api.instance_get_all(ctx, columns_to_join=[])
    assert "metadata" not in bare[0] and "name" in bare[0]
    some = api.instance_get_all(ctx, columns_to_join=["metadata"])
    assert [m["key"] for m in some[0]["metadata"]] == ["a"]
    assert "info_cache" not in some[0]
    with pytest.raises(exception.InvalidInput):
        api.instance_get_all(ctx, columns_to_join=["bogus"])

    assert len(api.instance_get_all(user_ctx)) == 1


def test_by_host_and_not_type_counts_a_missing_flavor_as_different(
    api, ctx
):
    """Original: ``instance_type_id != :id`` dropped NULL flavors.
    Ours: an instance without a flavor has a different one."""
    small = make_flavor(api, ctx)
    big = make_flavor(api, ctx, name="m1.big", flavorid="3")
    make_instance(api, ctx, host="h", instance_type_id=small["id"])
    other = make_instance(api, ctx, host="h", instance_type_id=big["id"])
    untyped = make_instance(api, ctx, host="h")
    gone = make_instance(api, ctx, host="h", instance_type_id=big["id"])
    api.instance_destroy(ctx, gone["uuid"])

    found = api.instance_get_all_by_host_and_not_type(ctx, "h", small["id"])

    assert sorted(i["uuid"] for i in found) == sorted(
        [other["uuid"], untyped["uuid"]]
    )


def test_active_by_window(api, ctx, user_ctx):
    t0 = now() - datetime.timedelta(days=10)
    day = datetime.timedelta(days=1)
    ended_early = make_instance(
        api, ctx, launched_at=t0, terminated_at=t0 + day
    )
    running = make_instance(api, ctx, launched_at=t0 + 2 * day)
    started_late = make_instance(api, ctx, launched_at=t0 + 8 * day)
    deleted = make_instance(
        api, ctx, launched_at=t0 + 3 * day, terminated_at=t0 + 5 * day
    )
    api.instance_destroy(ctx, deleted["uuid"])

    begin, end = t0 + 4 * day, t0 + 6 * day
    found = api.instance_get_active_by_window(ctx, begin, end)
    assert sorted(i["uuid"] for i in found) == sorted(
        [running["uuid"], deleted["uuid"]]
    )
    assert "metadata" not in found[0]
    joined = api.instance_get_active_by_window_joined(ctx, begin)
    assert sorted(i["uuid"] for i in joined) == sorted(
        [running["uuid"], started_late["uuid"], deleted["uuid"]]
    )
    assert "metadata" in joined[0]
    assert ended_early["uuid"] not in {i["uuid"] for i in joined}

    assert api.instance_get_active_by_window(
        ctx, begin, end, project_id="elsewhere"
    ) == []
    with pytest.raises(exception.InvalidValue):
        api.instance_get_active_by_window(ctx, "yesterday")
    with pytest.raises(exception.NotAuthorized):
        api.instance_get_active_by_window(
            user_ctx, begin, project_id="admin-project"
        )
    assert api.instance_get_active_by_window(user_ctx, begin) == []
    with pytest.raises(exception.AdminRequired):
        api.instance_get_active_by_window_joined(user_ctx, begin)


def test_hung_in_rebooting_includes_deleted_instances(api, ctx):
    """As in the original, deleted instances are included."""
    long_ago = now() - datetime.timedelta(hours=2)
    hung = make_instance(api, ctx)
    api.instance_update(
        ctx, hung["uuid"], {"task_state": "rebooting", "updated_at": long_ago}
    )
    fresh = make_instance(api, ctx)
    api.instance_update(ctx, fresh["uuid"], {"task_state": "rebooting"})
    gone = make_instance(api, ctx, task_state="rebooting")
    api.instance_update(ctx, gone["uuid"], {"updated_at": long_ago})
    api.instance_destroy(ctx, gone["uuid"])

    found = api.instance_get_all_hung_in_rebooting(ctx, 3600)

    assert sorted(i["uuid"] for i in found) == sorted(
        [hung["uuid"], gone["uuid"]]
    )
    with pytest.raises(exception.InvalidInput):
        api.instance_get_all_hung_in_rebooting(ctx, -1)


# --------------------------------------------------------------------------
# instance_get_all_by_filters


def uuids(rows):
    return [row["uuid"] for row in rows]


def test_filters_include_deleted_instances_by_default(api, ctx):
    """As in the original, deleted instances are listed unless the
    ``deleted`` filter says otherwise; the context's read_deleted does
    not apply."""
    live = make_instance(api, ctx, vm_state="active")
    nameless = make_instance(api, ctx)
    soft = make_instance(api, ctx, vm_state="soft-delete")
    gone = make_instance(api, ctx, vm_state="active")
    api.instance_destroy(ctx, gone["uuid"])

    everything = api.instance_get_all_by_filters(ctx, {})
    assert len(everything) == 4
    assert sorted(uuids(api.instance_get_all_by_filters(
        ctx, {"deleted": True}
    ))) == sorted([soft["uuid"], gone["uuid"]])
    assert sorted(uuids(api.instance_get_all_by_filters(
        ctx, {"deleted": False}
    ))) == sorted([live["uuid"], nameless["uuid"]])


def test_filter_deleted_false_keeps_a_null_vm_state(api, ctx):
    """Original: ``vm_state != 'soft-delete'`` dropped NULL vm_states.
    Ours: an instance without a vm_state is not soft-deleted."""
    inst = make_instance(api, ctx)

    found = api.instance_get_all_by_filters(ctx, {"deleted": "false"})

    assert uuids(found) == [inst["uuid"]]
    with pytest.raises(exception.InvalidValue):
        api.instance_get_all_by_filters(ctx, {"deleted": "maybe"})


def test_exact_filters_and_lists(api, ctx):
    a = make_instance(api, ctx, vm_state="active", host="node1")
    b = make_instance(api, ctx, vm_state="error", host="node10")
    make_instance(api, ctx, vm_state="building")

    assert uuids(api.instance_get_all_by_filters(
        ctx, {"vm_state": "active"}
    )) == [a["uuid"]]
    assert sorted(uuids(api.instance_get_all_by_filters(
        ctx, {"vm_state": ["active", "error"]}
    ))) == sorted([a["uuid"], b["uuid"]])
    assert api.instance_get_all_by_filters(ctx, {"uuid": set()}) == []
    assert uuids(api.instance_get_all_by_filters(
        ctx, {"uuid": (b["uuid"],), "vm_state": "error"}
    )) == [b["uuid"]]


def test_host_filter_is_exact(api, ctx):
    """Original: host was a regular expression, so 'node1' also matched
    'node10'.  Ours: host (like task_state) is compared for equality."""
    a = make_instance(api, ctx, host="node1")
    make_instance(api, ctx, host="node10")

    assert uuids(api.instance_get_all_by_filters(
        ctx, {"host": "node1"}
    )) == [a["uuid"]]


def test_non_text_columns_are_compared_for_equality(api, ctx):
    """Original: every non-exact key was a regex on the column, which
    PostgreSQL rejects for integers and booleans.  Ours: numbers,
    booleans and times compare for equality."""
    on = make_instance(api, ctx, power_state=1, locked=True)
    make_instance(api, ctx, power_state=11, locked=False)

    assert uuids(api.instance_get_all_by_filters(
        ctx, {"power_state": 1}
    )) == [on["uuid"]]
    assert uuids(api.instance_get_all_by_filters(
        ctx, {"locked": True, "power_state": [1, 4]}
    )) == [on["uuid"]]
    with pytest.raises(exception.InvalidValue):
        api.instance_get_all_by_filters(ctx, {"power_state": "on"})


def test_regex_filters_never_match_null(api, ctx):
    """Original on SQLite: NULL was matched as the text 'None'.
    Ours: NULL matches no pattern, on every database."""
    web = make_instance(api, ctx, display_name="web-1")
    make_instance(api, ctx, display_name="db-1")
    nameless = make_instance(api, ctx)

    assert uuids(api.instance_get_all_by_filters(
        ctx, {"display_name": "^web"}
    )) == [web["uuid"]]
    assert len(api.instance_get_all_by_filters(
        ctx, {"display_name": "-1"}
    )) == 2
    assert api.instance_get_all_by_filters(
        ctx, {"display_name": "None"}
    ) == []
    assert uuids(api.instance_get_all_by_filters(
        ctx, {"display_name": None}
    )) == [nameless["uuid"]]
    with pytest.raises(exception.InvalidValue):
        api.instance_get_all_by_filters(ctx, {"display_name": "(oops"})


def test_metadata_filter_matches_key_and_value_of_one_item(api, ctx):
    """Original: two independent EXISTS, so key of one item plus value
    of another matched.  Ours: each key/value pair is one item."""
    both = make_instance(api, ctx, metadata={"role": "web", "tier": "1"})
    make_instance(api, ctx, metadata={"role": "1", "tier": "web"})

    assert uuids(api.instance_get_all_by_filters(
        ctx, {"metadata": {"role": "web"}}
    )) == [both["uuid"]]
    assert uuids(api.instance_get_all_by_filters(
        ctx, {"metadata": [{"role": "web"}, {"tier": 1}]}
    )) == [both["uuid"]]
    assert api.instance_get_all_by_filters(
        ctx, {"metadata": {"role": "db"}}
    ) == []
    with pytest.raises(exception.InvalidValue):
        api.instance_get_all_by_filters(ctx, {"metadata": "role=web"})


def test_unknown_filter_raises(api, ctx):
    """Original: unknown keys (and properties like 'name') were dropped,
    returning unfiltered rows.  Ours: InvalidFilter."""
    make_instance(api, ctx)

    for key in ("no_such_column", "name", "security_groups"):
        with pytest.raises(exception.InvalidFilter) as info:
            api.instance_get_all_by_filters(ctx, {key: "x"})
        assert info.value.kwargs["filter"] == key


def test_filters_pin_a_user_to_its_project(api, ctx, user_ctx):
    mine = make_instance(api, user_ctx)
    make_instance(api, ctx, project_id="other-project")

    found = api.instance_get_all_by_filters(
        user_ctx, {"project_id": "other-project"}
    )
    assert uuids(found) == [mine["uuid"]]
    assert len(api.instance_get_all_by_filters(ctx, {})) == 2


def test_changes_since_sees_creates_and_deletes(api, ctx):
    """Original: only ``updated_at > t``, missing instances created or
    deleted after t but not updated since.  Ours: any of the three."""
    long_ago = now() - datetime.timedelta(days=2)
    since = now() - datetime.timedelta(days=1)
    make_instance(api, ctx, created_at=long_ago)
    created = make_instance(api, ctx)
    deleted = make_instance(api, ctx, created_at=long_ago)
    api.instance_update(ctx, deleted["uuid"], {"updated_at": long_ago})
    api.instance_destroy(ctx, deleted["uuid"])
    updated = make_instance(api, ctx, created_at=long_ago)
    api.instance_update(ctx, updated["uuid"], {"host": "h"})

    found = api.instance_get_all_by_filters(
        ctx, {"changes-since": since.isoformat()}
    )

    assert sorted(uuids(found)) == sorted(
        [created["uuid"], deleted["uuid"], updated["uuid"]]
    )
    with pytest.raises(exception.InvalidValue):
        api.instance_get_all_by_filters(ctx, {"changes-since": "soon"})


def test_filter_rows_carry_relationships(api, ctx):
    make_instance(api, ctx, metadata={"a": "b"})

    (row,) = api.instance_get_all_by_filters(ctx, {})

    assert row["metadata"][0]["value"] == "b"
    assert row["info_cache"]["instance_uuid"] == row["uuid"]
    assert row["name"].startswith("instance-")


def pages(api, ctx, size, **kwargs):
    seen, marker = [], None
    for _ in range(20):
        page = api.instance_get_all_by_filters(
            ctx, {}, limit=size, marker=marker, **kwargs
        )
        seen.extend(uuids(page))
        if len(page) < size:
            return seen
        marker = page[-1]["uuid"]
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("sort_dir", ["asc", "desc"])
def test_pages_cover_everything_once_even_with_null_sort_values(
    api, ctx, sort_dir
):
    """Original: ``col > :marker_value`` never matched when the marker's
    value was NULL, losing rows.  Ours: NULL sorts as the smallest value
    on every database and pages through."""
    base = now() - datetime.timedelta(days=1)
    made = [
        make_instance(
            api, ctx,
            launched_at=None if n % 2 else base + datetime.timedelta(hours=n),
        )
        for n in range(5)
    ]

    full = api.instance_get_all_by_filters(
        ctx, {}, sort_key="launched_at", sort_dir=sort_dir
    )
    paged = pages(api, ctx, 2, sort_key="launched_at", sort_dir=sort_dir)

    assert paged == uuids(full)
    assert sorted(paged) == sorted(i["uuid"] for i in made)
    nulls = [row["launched_at"] is None for row in full]
    assert nulls == ([True, True, False, False, False] if sort_dir == "asc"
                     else [False, False, False, True, True])


def test_default_order_is_newest_first(api, ctx):
    first = make_instance(api, ctx, created_at=now() - datetime.timedelta(1))
    second = make_instance(api, ctx)

    assert uuids(api.instance_get_all_by_filters(ctx, {})) == [
        second["uuid"], first["uuid"]
    ]
    assert uuids(api.instance_get_all_by_filters(
        ctx, {}, sort_dir="asc", limit=1
    )) == [first["uuid"]]
    assert api.instance_get_all_by_filters(ctx, {}, limit=0) == []


def test_paging_arguments_are_checked(api, ctx):
    make_instance(api, ctx)

    with pytest.raises(exception.MarkerNotFound) as info:
        api.instance_get_all_by_filters(ctx, {}, marker=str(uuid.uuid4()))
    assert "marker" in info.value.kwargs
    with pytest.raises(exception.InvalidSortKey):
        api.instance_get_all_by_filters(ctx, {}, sort_key="name")
    with pytest.raises(exception.InvalidSortDir):
        api.instance_get_all_by_filters(ctx, {}, sort_dir="up")
    with pytest.raises(exception.InvalidInput):
        api.instance_get_all_by_filters(ctx, {}, limit=-1)


# --------------------------------------------------------------------------
# instance_update and instance_update_and_get_original


def test_update_returns_the_new_row_and_leaves_values_alone(api, ctx):
    """Original: popped metadata and expected_task_state from the
    caller's dict.  Ours: the dict is not modified."""
    inst = make_instance(api, ctx, metadata={"a": "1", "b": "2"})
    values = {
        "host": "node2",
        "metadata": {"b": "3", "c": "4"},
        "expected_task_state": None,
    }
    snapshot = dict(values)

    new = api.instance_update(ctx, inst["uuid"], values)

    assert values == snapshot
    assert new["host"] == "node2"
    assert sorted((m["key"], m["value"]) for m in new["metadata"]) == [
        ("b", "3"),
        ("c", "4"),
    ]
    assert new["updated_at"] is not None
    assert api.instance_metadata_get(ctx, inst["uuid"]) == {"b": "3", "c": "4"}


def test_update_and_get_original_returns_a_tuple(api, ctx):
    inst = make_instance(api, ctx, host="node1", system_metadata={"x": "1"})

    result = api.instance_update_and_get_original(
        ctx, inst["uuid"], {"host": "node2", "system_metadata": {"y": "2"}}
    )

    assert isinstance(result, tuple) and len(result) == 2
    old, new = result
    assert old["host"] == "node1" and new["host"] == "node2"
    assert [m["key"] for m in old["system_metadata"]] == ["x"]
    assert [m["key"] for m in new["system_metadata"]] == ["y"]
    assert old["id"] == new["id"]


def test_update_with_unexpected_task_state_changes_nothing(api, ctx):
    inst = make_instance(api, ctx, task_state="spawning")

    with pytest.raises(exception.UnexpectedTaskStateError) as info:
        api.instance_update(
            ctx, inst["uuid"],
            {"host": "x", "expected_task_state": ["deleting", None]},
        )
    assert info.value.kwargs["actual"] == "spawning"
    assert list(info.value.kwargs["expected"]) == ["deleting", None]
    assert api.instance_get_by_uuid(ctx, inst["uuid"])["host"] is None

    new = api.instance_update(
        ctx, inst["uuid"], {"task_state": None,
                            "expected_task_state": "spawning"}
    )
    assert new["task_state"] is None
    with pytest.raises(exception.UnexpectedTaskStateError):
        api.instance_update(
            ctx, inst["uuid"], {"expected_task_state": "spawning"}
        )


def test_update_errors(api, ctx, user_ctx):
    inst = make_instance(api, ctx)

    with pytest.raises(exception.InvalidUUID):
        api.instance_update(ctx, "nope", {"host": "x"})
    with pytest.raises(exception.InstanceNotFound):
        api.instance_update(ctx, str(uuid.uuid4()), {"host": "x"})
    with pytest.raises(exception.InstanceNotFound):
        api.instance_update(user_ctx, inst["uuid"], {"host": "x"})
    with pytest.raises(exception.InvalidColumn):
        api.instance_update(ctx, inst["uuid"], {"colour": "red"})
    with pytest.raises(exception.InvalidInput):
        api.instance_update(ctx, inst["uuid"], {"uuid": str(uuid.uuid4())})
    with pytest.raises(exception.InvalidValue):
        api.instance_update(
            ctx, inst["uuid"], {"host": "x", "metadata": {"k": ["v"]}}
        )
    assert api.instance_get_by_uuid(ctx, inst["uuid"])["host"] is None


def test_update_of_the_flavor_reloads_it(api, ctx):
    small = make_flavor(api, ctx)
    big = make_flavor(api, ctx, name="m1.big", flavorid="3")
    inst = make_instance(api, ctx, instance_type_id=small["id"])

    new = api.instance_update(
        ctx, inst["uuid"], {"instance_type_id": big["id"]}
    )

    assert new["instance_type"]["name"] == "m1.big"


# --------------------------------------------------------------------------
# instance_destroy


def test_destroy_soft_deletes_groups_and_cache_and_returns_the_row(
    api, ctx, user_ctx
):
    updated = now() - datetime.timedelta(hours=1)
    inst = make_instance(api, user_ctx, security_groups=["default"])
    api.instance_update(user_ctx, inst["uuid"], {"updated_at": updated})

    row = api.instance_destroy(user_ctx, inst["uuid"])

    assert row["uuid"] == inst["uuid"]
    assert row["deleted"] == row["id"]
    assert row["deleted_at"] is not None
    assert [g["name"] for g in row["security_groups"]] == ["default"]
    with pytest.raises(exception.InstanceNotFound):
        api.instance_get_by_uuid(user_ctx, inst["uuid"])
    gone = api.instance_get_by_uuid(
        ctx.elevated(read_deleted="yes"), inst["uuid"]
    )
    assert gone["updated_at"] == updated
    assert gone["security_groups"] == []
    assert api.instance_info_cache_get(ctx, inst["uuid"])["deleted"] != 0
    with pytest.raises(exception.InstanceNotFound):
        api.instance_destroy(ctx.elevated(read_deleted="yes"), inst["uuid"])


def test_destroy_keeps_metadata(api, ctx):
    """As in the original, metadata and system metadata stay."""
    inst = make_instance(api, ctx, metadata={"a": "1"},
                         system_metadata={"b": "2"})
    api.instance_destroy(ctx, inst["uuid"])

    seeing_deleted = ctx.elevated(read_deleted="yes")
    assert api.instance_metadata_get(seeing_deleted, inst["uuid"]) == {
        "a": "1"
    }
    assert api.instance_system_metadata_get(
        seeing_deleted, inst["uuid"]
    ) == {"b": "2"}


def test_destroy_with_a_constraint(api, ctx):
    inst = make_instance(api, ctx, vm_state="active", task_state="deleting")

    unmet = api.constraint(vm_state=api.equal_any("error", "stopped"))
    with pytest.raises(exception.ConstraintNotMet):
        api.instance_destroy(ctx, inst["uuid"], constraint=unmet)
    with pytest.raises(exception.ConstraintNotMet):
        api.instance_destroy(
            ctx, inst["uuid"],
            constraint=api.constraint(task_state=api.not_equal("deleting")),
        )
    assert api.instance_get_by_uuid(ctx, inst["uuid"])["deleted"] == 0
    assert api.instance_info_cache_get(ctx, inst["uuid"])["deleted"] == 0

    met = api.constraint(
        vm_state=api.equal_any("active", "error"),
        task_state=api.not_equal("migrating"),
    )
    assert api.instance_destroy(ctx, inst["uuid"], constraint=met)[
        "deleted"
    ] != 0


def test_destroy_errors(api, ctx):
    inst = make_instance(api, ctx)

    with pytest.raises(exception.InvalidUUID):
        api.instance_destroy(ctx, "123")
    with pytest.raises(exception.InstanceNotFound):
        api.instance_destroy(ctx, str(uuid.uuid4()))
    with pytest.raises(exception.InvalidColumn):
        api.instance_destroy(
            ctx, inst["uuid"], api.constraint(colour=api.equal_any("red"))
        )
    with pytest.raises(exception.InvalidInput):
        api.instance_destroy(ctx, inst["uuid"], {"vm_state": "active"})
    assert api.instance_get_by_uuid(ctx, inst["uuid"])["deleted"] == 0


# --------------------------------------------------------------------------
# instance_test_and_set


def test_test_and_set_swaps_only_from_an_ok_state(api, ctx):
    inst = make_instance(api, ctx, task_state="spawning")

    assert api.instance_test_and_set(
        ctx, inst["uuid"], "task_state", ["spawning", "error"], "deleting"
    ) is None
    assert api.instance_get_by_uuid(ctx, inst["uuid"])["task_state"] == (
        "deleting"
    )

    with pytest.raises(exception.InstanceInvalidState) as info:
        api.instance_test_and_set(
            ctx, inst["uuid"], "task_state", ("spawning",), "deleting"
        )
    assert info.value.kwargs == {
        "instance_uuid": inst["uuid"],
        "attr": "task_state",
        "state": "deleting",
        "method": "instance_test_and_set",
    }


def test_test_and_set_matches_none_as_null(api, ctx):
    inst = make_instance(api, ctx)

    api.instance_test_and_set(
        ctx, inst["uuid"], "vm_state", [None], "building"
    )
    api.instance_test_and_set(ctx, inst["uuid"], "power_state", {None, 1}, 4)
    # A single state is a list of one (the original tested substrings).
    api.instance_test_and_set(
        ctx, inst["uuid"], "vm_state", "building", "active"
    )
    with pytest.raises(exception.InstanceInvalidState):
        api.instance_test_and_set(
            ctx, inst["uuid"], "vm_state", "activ", "error"
        )

    row = api.instance_get_by_uuid(ctx, inst["uuid"])
    assert (row["vm_state"], row["power_state"]) == ("active", 4)


def test_test_and_set_errors(api, ctx, user_ctx):
    inst = make_instance(api, ctx, vm_state="active")

    with pytest.raises(exception.InvalidUUID):
        api.instance_test_and_set(ctx, "x", "vm_state", ["active"], "y")
    with pytest.raises(exception.InvalidColumn):
        api.instance_test_and_set(
            ctx, inst["uuid"], "name", ["active"], "y"
        )
    with pytest.raises(exception.InvalidValue):
        api.instance_test_and_set(
            ctx, inst["uuid"], "power_state", [1], "on"
        )
    with pytest.raises(exception.InstanceNotFound):
        api.instance_test_and_set(
            ctx, str(uuid.uuid4()), "vm_state", ["active"], "y"
        )
    with pytest.raises(exception.InstanceNotFound):
        api.instance_test_and_set(
            user_ctx, inst["uuid"], "vm_state", ["active"], "y"
        )
    assert api.instance_get_by_uuid(ctx, inst["uuid"])["vm_state"] == (
        "active"
    )


def test_create_defaults_owner_to_the_context(api, user_ctx):
    """The original stored NULL owners when values named none, so a user
    could not read back the instance it had just created; ours takes the
    context's user and project unless values name them."""
    inst = api.instance_create(user_ctx, {"host": "h"})

    assert (inst["user_id"], inst["project_id"]) == (
        "fake-user", "fake-project",
    )
    assert api.instance_get_by_uuid(user_ctx, inst["uuid"])["host"] == "h"
    given = api.instance_create(user_ctx, {"project_id": None})
    assert given["project_id"] is None
