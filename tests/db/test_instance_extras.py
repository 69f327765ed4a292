"""What hangs off an instance: metadata, info cache, faults, EC2 ids,
security group membership and project totals."""

import uuid

import pytest

from db import exception
from tests.db._builders import make_instance


def make_group(api, ctx, name="web"):
    return api.security_group_create(
        ctx,
        {
            "name": name,
            "description": name,
            "project_id": ctx.project_id,
            "user_id": ctx.user_id,
        },
    )


# --------------------------------------------------------------------------
# Metadata and system metadata


def test_metadata_update_merges_or_replaces(api, ctx):
    inst = make_instance(api, ctx, metadata={"a": "1", "b": "2"})

    merged = api.instance_metadata_update(
        ctx, inst["uuid"], {"b": 3, "c": "x"}, False
    )
    assert merged == {"a": "1", "b": "3", "c": "x"}
    assert api.instance_metadata_get(ctx, inst["uuid"]) == merged

    replaced = api.instance_metadata_update(
        ctx, inst["uuid"], {"c": "y"}, True
    )
    assert replaced == {"c": "y"}
    assert api.instance_metadata_get(ctx, inst["uuid"]) == {"c": "y"}


def test_metadata_delete_is_soft_and_raises_for_a_missing_key(api, ctx):
    """Original: deleting a missing key did nothing.  Ours:
    InstanceMetadataNotFound, as the spec's NotFound convention says."""
    inst = make_instance(api, ctx, metadata={"a": "1", "b": "2"})

    api.instance_metadata_delete(ctx, inst["uuid"], "a")

    assert api.instance_metadata_get(ctx, inst["uuid"]) == {"b": "2"}
    with pytest.raises(exception.InstanceMetadataNotFound) as info:
        api.instance_metadata_delete(ctx, inst["uuid"], "a")
    assert info.value.kwargs == {
        "instance_uuid": inst["uuid"],
        "metadata_key": "a",
    }
    # Re-adding a deleted key works (the old item stays deleted).
    assert api.instance_metadata_update(
        ctx, inst["uuid"], {"a": "new"}, False
    ) == {"a": "new", "b": "2"}


def test_metadata_needs_a_visible_instance(api, ctx, user_ctx):
    inst = make_instance(api, ctx, metadata={"a": "1"})
    missing = str(uuid.uuid4())

    with pytest.raises(exception.InstanceNotFound):
        api.instance_metadata_get(ctx, missing)
    with pytest.raises(exception.InstanceNotFound):
        api.instance_metadata_update(ctx, missing, {"a": "1"}, False)
    with pytest.raises(exception.InstanceNotFound):
        api.instance_metadata_get(user_ctx, inst["uuid"])
    with pytest.raises(exception.InvalidUUID):
        api.instance_metadata_update(ctx, "bad", {"a": "1"}, False)
    with pytest.raises(exception.InvalidInput):
        api.instance_metadata_update(ctx, inst["uuid"], ["a"], False)
    with pytest.raises(exception.InvalidValue):
        api.instance_metadata_update(
            ctx, inst["uuid"], {"a": "x" * 300}, False
        )
    assert api.instance_metadata_get(ctx, inst["uuid"]) == {"a": "1"}


def test_system_metadata_never_shows_deleted_items(api, ctx):
    """Original: system metadata followed the context's read_deleted, so
    a read_deleted='yes' context also got deleted items.  Ours: only
    live items."""
    inst = make_instance(api, ctx, system_metadata={"a": "1", "b": "2"})

    assert api.instance_system_metadata_update(
        ctx, inst["uuid"], {"b": "3"}, True
    ) == {"b": "3"}
    with pytest.raises(exception.InstanceSystemMetadataNotFound):
        api.instance_system_metadata_delete(ctx, inst["uuid"], "a")

    seeing_deleted = ctx.elevated(read_deleted="yes")
    assert api.instance_system_metadata_get(
        seeing_deleted, inst["uuid"]
    ) == {"b": "3"}
    api.instance_system_metadata_delete(ctx, inst["uuid"], "b")
    assert api.instance_system_metadata_get(ctx, inst["uuid"]) == {}


# --------------------------------------------------------------------------
# Info cache


def test_info_cache_update_and_delete(api, ctx):
    inst = make_instance(api, ctx)

    updated = api.instance_info_cache_update(
        ctx, inst["uuid"], {"network_info": '[{"id": 1}]'}
    )
    assert isinstance(updated, dict)
    assert updated["network_info"] == '[{"id": 1}]'
    assert api.instance_info_cache_get(ctx, inst["uuid"]) == updated

    api.instance_info_cache_delete(ctx, inst["uuid"])
    deleted = api.instance_info_cache_get(ctx, inst["uuid"])
    assert deleted["deleted"] != 0 and deleted["deleted_at"] is not None
    with pytest.raises(exception.InstanceInfoCacheNotFound):
        api.instance_info_cache_delete(ctx, inst["uuid"])

    # A deleted cache is left alone by update.
    again = api.instance_info_cache_update(
        ctx, inst["uuid"], {"network_info": "[]"}
    )
    assert again["network_info"] == '[{"id": 1}]'
    assert again["deleted"] != 0


def test_info_cache_create_and_errors(api, ctx, user_ctx):
    inst = make_instance(api, ctx)

    with pytest.raises(exception.DBDuplicateEntry):
        api.instance_info_cache_create(
            ctx, {"instance_uuid": inst["uuid"], "network_info": "[]"}
        )
    with pytest.raises(exception.InstanceNotFound):
        api.instance_info_cache_create(
            ctx, {"instance_uuid": str(uuid.uuid4())}
        )
    with pytest.raises(exception.InvalidUUID):
        api.instance_info_cache_create(ctx, {"network_info": "[]"})
    with pytest.raises(exception.InvalidColumn):
        api.instance_info_cache_update(ctx, inst["uuid"], {"bogus": 1})
    with pytest.raises(exception.InvalidInput):
        api.instance_info_cache_update(
            ctx, inst["uuid"], {"instance_uuid": str(uuid.uuid4())}
        )


def test_info_cache_get_is_none_when_missing_or_not_yours(
    api, ctx, user_ctx
):
    """Original: any context could read any instance's cache.  Ours: a
    user context only sees its project's (others are None)."""
    inst = make_instance(api, ctx)

    assert api.instance_info_cache_get(ctx, str(uuid.uuid4())) is None
    assert api.instance_info_cache_get(user_ctx, inst["uuid"]) is None
    with pytest.raises(exception.InstanceNotFound):
        api.instance_info_cache_update(
            user_ctx, inst["uuid"], {"network_info": "[]"}
        )


# --------------------------------------------------------------------------
# Faults


def test_faults_by_instance_newest_first(api, ctx):
    inst = make_instance(api, ctx)
    quiet = make_instance(api, ctx)

    first = api.instance_fault_create(
        ctx, {"instance_uuid": inst["uuid"], "code": 500, "message": "a"}
    )
    second = api.instance_fault_create(
        ctx,
        {"instance_uuid": inst["uuid"], "code": 404, "message": "b",
         "details": "trace"},
    )
    assert isinstance(first, dict) and first["code"] == 500
    assert first["created_at"].tzinfo is not None

    faults = api.instance_fault_get_by_instance_uuids(
        ctx, [inst["uuid"], quiet["uuid"], "unknown"]
    )
    assert [f["id"] for f in faults[inst["uuid"]]] == [
        second["id"], first["id"]
    ]
    assert faults[quiet["uuid"]] == []
    assert faults["unknown"] == []
    assert api.instance_fault_get_by_instance_uuids(ctx, []) == {}


def test_fault_errors_and_visibility(api, ctx, user_ctx):
    inst = make_instance(api, ctx)
    api.instance_fault_create(ctx, {"instance_uuid": inst["uuid"], "code": 1})

    with pytest.raises(exception.InvalidValue):
        api.instance_fault_create(ctx, {"instance_uuid": inst["uuid"]})
    with pytest.raises(exception.InstanceNotFound):
        api.instance_fault_create(
            ctx, {"instance_uuid": str(uuid.uuid4()), "code": 1}
        )
    with pytest.raises(exception.InvalidInput):
        api.instance_fault_get_by_instance_uuids(ctx, inst["uuid"])
    assert api.instance_fault_get_by_instance_uuids(
        user_ctx, [inst["uuid"]]
    ) == {inst["uuid"]: []}

    api.instance_destroy(ctx, inst["uuid"])
    api.instance_fault_create(ctx, {"instance_uuid": inst["uuid"], "code": 2})
    assert len(api.instance_fault_get_by_instance_uuids(
        ctx, [inst["uuid"]]
    )[inst["uuid"]]) == 2


# --------------------------------------------------------------------------
# EC2 ids


def test_ec2_mapping_is_created_once(api, ctx):
    """Original: each call added another mapping for the uuid.  Ours:
    the same mapping comes back, so an instance keeps one EC2 id."""
    instance_uuid = str(uuid.uuid4())

    first = api.ec2_instance_create(ctx, instance_uuid)
    second = api.ec2_instance_create(ctx, instance_uuid)

    assert first["id"] == second["id"]
    assert first["uuid"] == instance_uuid
    assert api.get_ec2_instance_id_by_uuid(ctx, instance_uuid) == first["id"]
    assert api.get_instance_uuid_by_ec2_id(ctx, first["id"]) == instance_uuid
    assert api.get_instance_uuid_by_ec2_id(ctx, str(first["id"])) == (
        instance_uuid
    )


def test_ec2_lookups_raise(api, ctx):
    with pytest.raises(exception.InvalidUUID):
        api.ec2_instance_create(ctx, "not-a-uuid")
    with pytest.raises(exception.InstanceNotFound):
        api.get_ec2_instance_id_by_uuid(ctx, str(uuid.uuid4()))
    with pytest.raises(exception.InstanceNotFound) as info:
        api.get_instance_uuid_by_ec2_id(ctx, 12345)
    assert info.value.kwargs == {"instance_id": 12345}
    with pytest.raises(exception.InstanceNotFound):
        api.get_instance_uuid_by_ec2_id(ctx, 2**40)
    with pytest.raises(exception.InvalidID):
        api.get_instance_uuid_by_ec2_id(ctx, "i-0000001")


def test_ec2_mapping_survives_the_instance(api, ctx):
    inst = make_instance(api, ctx)
    ec2_id = api.get_ec2_instance_id_by_uuid(ctx, inst["uuid"])

    api.instance_destroy(ctx, inst["uuid"])

    assert api.get_instance_uuid_by_ec2_id(ctx, ec2_id) == inst["uuid"]
    assert api.ec2_instance_create(ctx, inst["uuid"])["id"] == ec2_id


# --------------------------------------------------------------------------
# Security group membership


def test_add_and_remove_a_security_group(api, user_ctx):
    inst = make_instance(api, user_ctx)
    group = make_group(api, user_ctx)

    api.instance_add_security_group(user_ctx, inst["uuid"], group["id"])
    api.instance_add_security_group(user_ctx, inst["uuid"], group["id"])

    row = api.instance_get_by_uuid(user_ctx, inst["uuid"])
    assert [g["name"] for g in row["security_groups"]] == ["web"]
    assert row["security_groups"][0]["rules"] == []

    api.instance_remove_security_group(user_ctx, inst["uuid"], group["id"])
    api.instance_remove_security_group(user_ctx, inst["uuid"], group["id"])
    assert api.instance_get_by_uuid(user_ctx, inst["uuid"])[
        "security_groups"
    ] == []


def test_adding_twice_keeps_one_membership(api, user_ctx):
    """Original: a second add made a duplicate association, so the group
    showed twice.  Ours: the add is idempotent."""
    inst = make_instance(api, user_ctx)
    group = make_group(api, user_ctx)

    for _ in range(3):
        api.instance_add_security_group(user_ctx, inst["uuid"], group["id"])

    row = api.instance_get_by_uuid(user_ctx, inst["uuid"])
    assert len(row["security_groups"]) == 1


def test_security_group_membership_errors(api, ctx, user_ctx, other_ctx):
    inst = make_instance(api, user_ctx)
    theirs = make_group(api, other_ctx, name="theirs")

    with pytest.raises(exception.InvalidUUID):
        api.instance_add_security_group(user_ctx, 1, theirs["id"])
    with pytest.raises(exception.InstanceNotFound):
        api.instance_add_security_group(
            user_ctx, str(uuid.uuid4()), theirs["id"]
        )
    with pytest.raises(exception.SecurityGroupNotFound) as info:
        api.instance_add_security_group(user_ctx, inst["uuid"], 999)
    assert info.value.kwargs == {"security_group_id": 999}
    with pytest.raises(exception.SecurityGroupNotFound):
        api.instance_add_security_group(user_ctx, inst["uuid"], theirs["id"])
    with pytest.raises(exception.InstanceNotFound):
        api.instance_remove_security_group(
            other_ctx, inst["uuid"], theirs["id"]
        )


# --------------------------------------------------------------------------
# Project totals


def test_data_get_for_project(api, ctx, user_ctx):
    assert api.instance_data_get_for_project(ctx, "fake-project") == (0, 0, 0)

    make_instance(api, user_ctx, vcpus=2, memory_mb=512)
    make_instance(api, user_ctx, vcpus=4, memory_mb=1024)
    make_instance(api, user_ctx)
    gone = make_instance(api, user_ctx, vcpus=8, memory_mb=8192)
    api.instance_destroy(user_ctx, gone["uuid"])
    make_instance(api, ctx, vcpus=16, memory_mb=1)

    totals = api.instance_data_get_for_project(user_ctx, "fake-project")
    assert isinstance(totals, tuple)
    assert totals == (3, 6, 1536)
    with pytest.raises(exception.NotAuthorized):
        api.instance_data_get_for_project(user_ctx, "admin-project")


def test_metadata_values_are_strings(api, ctx):
    inst = make_instance(api, ctx)

    result = api.instance_metadata_update(
        ctx, inst["uuid"], {"n": 5, "f": 1.5, "none": None}, False
    )

    assert result == {"n": "5", "f": "1.5", "none": None}
    assert api.instance_metadata_get(ctx, inst["uuid"]) == result
