"""Volumes, volume metadata, iSCSI targets, snapshots and EC2 id maps."""

import datetime
import uuid

import pytest

from db import exception

UTC = datetime.UTC
INSTANCE = "5e1f0b8e-7a8c-4a57-9d0b-3f9a3f7a7c11"


def make_volume(api, ctx, **values):
    values.setdefault("project_id", "fake-project")
    values.setdefault("user_id", "fake-user")
    values.setdefault("size", 1)
    return api.volume_create(ctx, values)


def make_targets(api, ctx, host, *numbers):
    for number in numbers:
        api.iscsi_target_create_safe(ctx, {"target_num": number, "host": host})


# --------------------------------------------------------------------------
# volume_create / volume_get


def test_create_generates_uuid_and_returns_row_with_joins(api, ctx):
    volume = make_volume(api, ctx, display_name="v1")

    assert isinstance(volume, dict)
    assert str(uuid.UUID(volume["id"])) == volume["id"]
    assert volume.name == f"volume-{volume['id']}"
    assert volume["display_name"] == "v1"
    assert volume["volume_metadata"] == []
    assert volume["volume_type"] is None
    assert volume["deleted"] == 0
    assert volume["created_at"].tzinfo is not None
    assert api.volume_get(ctx, volume["id"]) == volume


def test_create_keeps_a_given_id_and_rejects_a_duplicate(api, ctx):
    volume = make_volume(api, ctx, id="vol-given")
    assert volume["id"] == "vol-given"

    with pytest.raises(exception.DBDuplicateEntry):
        make_volume(api, ctx, id="vol-given")


def test_create_writes_metadata_rows(api, ctx):
    volume = make_volume(api, ctx, metadata={"a": "1", "b": 2})

    items = {m["key"]: m["value"] for m in volume["volume_metadata"]}
    assert items == {"a": "1", "b": "2"}
    assert {m["volume_id"] for m in volume["volume_metadata"]} == {
        volume["id"]
    }
    assert api.volume_metadata_get(ctx, volume["id"]) == {"a": "1", "b": "2"}


def test_rows_carry_the_volume_type(api, ctx):
    vtype = api.volume_type_create(ctx, {"name": "gold"})
    volume = make_volume(api, ctx, volume_type_id=vtype["id"])

    assert volume["volume_type"]["name"] == "gold"
    assert api.volume_get_all(ctx)[0]["volume_type"]["id"] == vtype["id"]


def test_create_rejects_bad_values_before_writing(api, ctx):
    with pytest.raises(exception.InvalidColumn):
        make_volume(api, ctx, no_such_column=1)
    with pytest.raises(exception.InvalidValue):
        make_volume(api, ctx, size="big")
    with pytest.raises(exception.InvalidInput):
        make_volume(api, ctx, metadata=["not", "a", "dict"])
    with pytest.raises(exception.InvalidInput):
        api.volume_create(ctx, "not a dict")

    assert api.volume_get_all(ctx) == []


def test_create_makes_the_ec2_mapping_in_the_same_call(api, ctx):
    """The original's volume_create wrote no EC2 mapping: the EC2 API made
    one lazily later.  We write it with the volume, so the EC2 id exists as
    soon as the volume does."""
    volume = make_volume(api, ctx)

    ec2_id = api.get_ec2_volume_id_by_uuid(ctx, volume["id"])
    assert isinstance(ec2_id, int)
    assert api.get_volume_uuid_by_ec2_id(ctx, ec2_id) == volume["id"]
    assert api.volume_get_by_ec2_id(ctx, ec2_id)["id"] == volume["id"]


def test_get_is_project_only(api, ctx, user_ctx, other_ctx):
    volume = make_volume(api, ctx)

    assert api.volume_get(user_ctx, volume["id"])["id"] == volume["id"]
    with pytest.raises(exception.VolumeNotFound) as info:
        api.volume_get(other_ctx, volume["id"])
    assert info.value.kwargs == {"volume_id": volume["id"]}


def test_get_missing_and_deleted(api, ctx):
    with pytest.raises(exception.VolumeNotFound):
        api.volume_get(ctx, "missing")

    volume = make_volume(api, ctx)
    api.volume_destroy(ctx, volume["id"])
    with pytest.raises(exception.VolumeNotFound):
        api.volume_get(ctx, volume["id"])
    deleted = api.volume_get(ctx.elevated(read_deleted="yes"), volume["id"])
    assert deleted["deleted"] != 0
    assert deleted["deleted_at"] is not None


# --------------------------------------------------------------------------
# listings


def test_get_all_variants(api, ctx):
    v1 = make_volume(api, ctx, host="h1", project_id="p1")
    v2 = make_volume(api, ctx, host="h2", project_id="p1")
    v3 = make_volume(api, ctx, host="h1", project_id="p2")
    gone = make_volume(api, ctx, host="h1", project_id="p1")
    api.volume_destroy(ctx, gone["id"])

    def ids(rows):
        return {row["id"] for row in rows}

    assert ids(api.volume_get_all(ctx)) == {v1["id"], v2["id"], v3["id"]}
    assert ids(api.volume_get_all_by_host(ctx, "h1")) == {v1["id"], v3["id"]}
    assert ids(api.volume_get_all_by_project(ctx, "p1")) == {
        v1["id"],
        v2["id"],
    }
    assert api.volume_get_all_by_host(ctx, "nowhere") == []
    assert all("volume_metadata" in row for row in api.volume_get_all(ctx))


def test_get_all_is_admin_only_and_by_project_authorizes(api, user_ctx):
    with pytest.raises(exception.AdminRequired):
        api.volume_get_all(user_ctx)
    with pytest.raises(exception.NotAuthorized):
        api.volume_get_all_by_project(user_ctx, "other-project")
    assert api.volume_get_all_by_project(user_ctx, "fake-project") == []


def test_get_all_by_instance_uuid_returns_empty_list(api, ctx):
    assert api.volume_get_all_by_instance_uuid(ctx, INSTANCE) == []

    volume = make_volume(api, ctx)
    api.volume_attached(ctx, volume["id"], INSTANCE, "/dev/vdb")
    rows = api.volume_get_all_by_instance_uuid(ctx, INSTANCE)
    assert [row["id"] for row in rows] == [volume["id"]]


def test_data_get_for_project_is_a_tuple_of_ints(api, ctx):
    assert api.volume_data_get_for_project(ctx, "p1") == (0, 0)

    make_volume(api, ctx, project_id="p1", size=5)
    make_volume(api, ctx, project_id="p1", size=7)
    gone = make_volume(api, ctx, project_id="p1", size=100)
    make_volume(api, ctx, project_id="p2", size=11)
    api.volume_destroy(ctx, gone["id"])

    result = api.volume_data_get_for_project(ctx, "p1")
    assert isinstance(result, tuple)
    assert result == (2, 12)


def test_get_active_by_window(api, ctx):
    early = make_volume(api, ctx, project_id="p1")
    gone = make_volume(api, ctx, project_id="p1")
    api.volume_destroy(ctx, gone["id"])
    deleted_at = api.volume_get(ctx.elevated(read_deleted="yes"), gone["id"])[
        "deleted_at"
    ]
    other = make_volume(api, ctx, project_id="p2")

    before = deleted_at - datetime.timedelta(hours=1)
    after = deleted_at + datetime.timedelta(hours=1)

    def ids(rows):
        return {row["id"] for row in rows}

    assert ids(api.volume_get_active_by_window(ctx, before)) == {
        early["id"],
        gone["id"],
        other["id"],
    }
    assert ids(api.volume_get_active_by_window(ctx, after)) == {
        early["id"],
        other["id"],
    }
    assert ids(
        api.volume_get_active_by_window(ctx, before, project_id="p1")
    ) == {early["id"], gone["id"]}
    assert (
        api.volume_get_active_by_window(
            ctx, before, end=early["created_at"] - datetime.timedelta(hours=1)
        )
        == []
    )


# --------------------------------------------------------------------------
# volume_update / attach / detach / destroy


def test_update_sets_columns_and_returns_row(api, ctx):
    volume = make_volume(api, ctx)
    updated = api.volume_update(ctx, volume["id"], {"status": "creating"})

    assert updated["status"] == "creating"
    assert api.volume_get(ctx, volume["id"])["status"] == "creating"


def test_update_replaces_metadata_in_the_same_transaction(api, ctx):
    """The original applied ``metadata`` in a transaction of its own before
    the column update, so a failing update still changed the metadata, and
    it popped ``metadata`` out of the caller's dict.  We replace it inside
    the update's transaction and leave the caller's dict alone."""
    volume = make_volume(api, ctx, metadata={"a": "1", "b": "2"})

    values = {"display_name": "new", "metadata": {"b": "3", "c": "4"}}
    updated = api.volume_update(ctx, volume["id"], values)
    assert values == {"display_name": "new", "metadata": {"b": "3", "c": "4"}}
    items = {m["key"]: m["value"] for m in updated["volume_metadata"]}
    assert items == {"b": "3", "c": "4"}

    with pytest.raises(exception.InvalidColumn):
        api.volume_update(
            ctx, volume["id"], {"metadata": {"z": "9"}, "bogus": 1}
        )
    assert api.volume_metadata_get(ctx, volume["id"]) == {"b": "3", "c": "4"}


def test_update_missing_or_foreign_volume(api, ctx, other_ctx):
    volume = make_volume(api, ctx)
    with pytest.raises(exception.VolumeNotFound):
        api.volume_update(ctx, "missing", {"status": "x"})
    with pytest.raises(exception.VolumeNotFound):
        api.volume_update(other_ctx, volume["id"], {"metadata": {"a": "1"}})
    with pytest.raises(exception.InvalidInput):
        api.volume_update(ctx, volume["id"], {"id": "another"})


def test_attached_and_detached(api, ctx):
    """The original's volume_attached and volume_detached returned None;
    we return the volume's row as written."""
    volume = make_volume(api, ctx)

    attached = api.volume_attached(ctx, volume["id"], INSTANCE, "/dev/vdb")
    assert attached["status"] == "in-use"
    assert attached["attach_status"] == "attached"
    assert attached["instance_uuid"] == INSTANCE
    assert attached["mountpoint"] == "/dev/vdb"
    assert isinstance(attached["attach_time"], datetime.datetime)
    assert attached["attach_time"].tzinfo is not None

    detached = api.volume_detached(ctx, volume["id"])
    assert detached["status"] == "available"
    assert detached["attach_status"] == "detached"
    assert detached["instance_uuid"] is None
    assert detached["mountpoint"] is None
    assert detached["attach_time"] is None
    assert api.volume_get(ctx, volume["id"])["status"] == "available"


def test_attached_validates_the_instance_uuid_first(api, ctx):
    """The facade's parameter is called ``instance_id`` but, as in the
    original's implementation, it holds the instance uuid and is checked as
    one before anything is written."""
    volume = make_volume(api, ctx)

    with pytest.raises(exception.InvalidUUID) as info:
        api.volume_attached(ctx, volume["id"], "not-a-uuid", "/dev/vdb")
    assert info.value.kwargs == {"uuid": "not-a-uuid"}
    assert api.volume_get(ctx, volume["id"])["attach_status"] is None
    with pytest.raises(exception.VolumeNotFound):
        api.volume_attached(ctx, "missing", INSTANCE, "/dev/vdb")


def test_attach_and_detach_are_admin_only(api, ctx, user_ctx):
    volume = make_volume(api, ctx)
    with pytest.raises(exception.AdminRequired):
        api.volume_attached(user_ctx, volume["id"], INSTANCE, "/dev/vdb")
    with pytest.raises(exception.AdminRequired):
        api.volume_detached(user_ctx, volume["id"])


def test_destroy_deletes_volume_metadata_and_frees_the_target(api, ctx):
    make_targets(api, ctx, "h1", 1)
    volume = make_volume(api, ctx, metadata={"a": "1"})
    assert api.volume_allocate_iscsi_target(ctx, volume["id"], "h1") == 1

    assert api.volume_destroy(ctx, volume["id"]) is None

    with pytest.raises(exception.VolumeNotFound):
        api.volume_get(ctx, volume["id"])
    with pytest.raises(exception.ISCSITargetNotFoundForVolume):
        api.volume_get_iscsi_target_num(ctx, volume["id"])
    deleted = api.volume_get(ctx.elevated(read_deleted="yes"), volume["id"])
    assert deleted["volume_metadata"] == []
    other = make_volume(api, ctx)
    assert api.volume_allocate_iscsi_target(ctx, other["id"], "h1") == 1


def test_destroy_missing_volume_raises(api, ctx, user_ctx):
    """The original ran its UPDATEs and returned None for a volume that did
    not exist; the spec says destroy raises, so we raise VolumeNotFound
    (also for a volume already deleted)."""
    with pytest.raises(exception.VolumeNotFound):
        api.volume_destroy(ctx, "missing")

    volume = make_volume(api, ctx)
    with pytest.raises(exception.AdminRequired):
        api.volume_destroy(user_ctx, volume["id"])
    api.volume_destroy(ctx, volume["id"])
    with pytest.raises(exception.VolumeNotFound):
        api.volume_destroy(ctx, volume["id"])


def test_destroy_keeps_the_ec2_mapping(api, ctx):
    volume = make_volume(api, ctx)
    ec2_id = api.get_ec2_volume_id_by_uuid(ctx, volume["id"])
    api.volume_destroy(ctx, volume["id"])

    assert api.get_volume_uuid_by_ec2_id(ctx, ec2_id) == volume["id"]
    with pytest.raises(exception.VolumeNotFound) as info:
        api.volume_get_by_ec2_id(ctx, ec2_id)
    assert info.value.kwargs == {"volume_id": ec2_id}


# --------------------------------------------------------------------------
# volume metadata


def test_metadata_get_update_and_delete(api, ctx):
    volume = make_volume(api, ctx, metadata={"a": "1"})

    merged = api.volume_metadata_update(ctx, volume["id"], {"b": "2"}, False)
    assert merged == {"a": "1", "b": "2"}
    replaced = api.volume_metadata_update(
        ctx, volume["id"], {"b": "3", "c": "4"}, True
    )
    assert replaced == {"b": "3", "c": "4"}

    api.volume_metadata_delete(ctx, volume["id"], "b")
    result = api.volume_metadata_get(ctx, volume["id"])
    assert isinstance(result, dict)
    assert result == {"c": "4"}
    rows = api.volume_get(ctx, volume["id"])["volume_metadata"]
    assert [(m["key"], m["value"]) for m in rows] == [("c", "4")]


def test_metadata_update_returns_the_whole_metadata(api, ctx):
    """The original returned the ``metadata`` argument itself; we return
    the volume's metadata after the update, which is the same dict when
    ``delete`` is true and a superset when it is false."""
    volume = make_volume(api, ctx, metadata={"keep": "k"})
    assert api.volume_metadata_update(
        ctx, volume["id"], {"new": "n"}, False
    ) == {"keep": "k", "new": "n"}


def test_metadata_delete_of_a_missing_key_raises(api, ctx):
    """The original soft-deleted with a bulk UPDATE and said nothing when
    the key did not exist; we raise VolumeMetadataNotFound."""
    volume = make_volume(api, ctx, metadata={"a": "1"})

    with pytest.raises(exception.VolumeMetadataNotFound) as info:
        api.volume_metadata_delete(ctx, volume["id"], "nope")
    assert info.value.kwargs == {
        "volume_id": volume["id"],
        "metadata_key": "nope",
    }
    api.volume_metadata_delete(ctx, volume["id"], "a")
    with pytest.raises(exception.VolumeMetadataNotFound):
        api.volume_metadata_delete(ctx, volume["id"], "a")


def test_metadata_calls_require_the_volume(api, ctx, other_ctx):
    volume = make_volume(api, ctx, metadata={"a": "1"})

    with pytest.raises(exception.VolumeNotFound):
        api.volume_metadata_get(ctx, "missing")
    with pytest.raises(exception.VolumeNotFound):
        api.volume_metadata_update(ctx, "missing", {"a": "1"}, False)
    with pytest.raises(exception.VolumeNotFound):
        api.volume_metadata_delete(ctx, "missing", "a")
    with pytest.raises(exception.VolumeNotFound):
        api.volume_metadata_get(other_ctx, volume["id"])


def test_metadata_update_rejects_bad_input(api, ctx):
    volume = make_volume(api, ctx, metadata={"a": "1"})

    with pytest.raises(exception.InvalidInput):
        api.volume_metadata_update(ctx, volume["id"], "a=1", False)
    with pytest.raises(exception.InvalidInput):
        api.volume_metadata_update(ctx, volume["id"], {"b": "2"}, "yes")
    with pytest.raises(exception.InvalidValue):
        api.volume_metadata_update(ctx, volume["id"], {"b": "x" * 300}, True)
    assert api.volume_metadata_get(ctx, volume["id"]) == {"a": "1"}


# --------------------------------------------------------------------------
# iSCSI targets


def test_target_create_safe_returns_row_or_none_on_duplicate(api, ctx):
    """The original meant to return None for a duplicate target but its
    IntegrityError branch was dead (flush errors arrived as DBError); we
    honour the documented "safe" contract."""
    target = api.iscsi_target_create_safe(ctx, {"target_num": 1, "host": "h"})
    assert target["target_num"] == 1
    assert target["host"] == "h"
    assert target["volume_id"] is None

    again = api.iscsi_target_create_safe(ctx, {"target_num": 1, "host": "h"})
    assert again is None
    assert (
        api.iscsi_target_create_safe(ctx, {"target_num": 1, "host": "other"})[
            "host"
        ]
        == "other"
    )
    assert api.iscsi_target_count_by_host(ctx, "h") == 1


def test_target_create_safe_rejects_bad_values(api, ctx, user_ctx):
    with pytest.raises(exception.InvalidColumn):
        api.iscsi_target_create_safe(ctx, {"target_num": 1, "hots": "h"})
    with pytest.raises(exception.InvalidValue):
        api.iscsi_target_create_safe(ctx, {"target_num": "one", "host": "h"})
    with pytest.raises(exception.AdminRequired):
        api.iscsi_target_create_safe(user_ctx, {"target_num": 1})


def test_target_count_by_host(api, ctx):
    assert api.iscsi_target_count_by_host(ctx, "h1") == 0
    make_targets(api, ctx, "h1", 1, 2, 3)
    make_targets(api, ctx, "h2", 1)

    count = api.iscsi_target_count_by_host(ctx, "h1")
    assert isinstance(count, int)
    assert count == 3


def test_allocate_gives_distinct_targets_then_no_more(api, ctx):
    make_targets(api, ctx, "h1", 1, 2)
    make_targets(api, ctx, "h2", 7)
    v1, v2, v3 = (make_volume(api, ctx) for _ in range(3))

    got = {
        api.volume_allocate_iscsi_target(ctx, v1["id"], "h1"),
        api.volume_allocate_iscsi_target(ctx, v2["id"], "h1"),
    }
    assert got == {1, 2}
    with pytest.raises(exception.NoMoreTargets):
        api.volume_allocate_iscsi_target(ctx, v3["id"], "h1")
    assert api.volume_allocate_iscsi_target(ctx, v3["id"], "h2") == 7
    assert api.volume_get_iscsi_target_num(ctx, v3["id"]) == 7


def test_allocate_twice_returns_the_same_target(api, ctx):
    """The original locked and took another free target on every call, so
    a retried export leaked targets; a volume now holds one target."""
    make_targets(api, ctx, "h1", 1, 2)
    volume = make_volume(api, ctx)

    first = api.volume_allocate_iscsi_target(ctx, volume["id"], "h1")
    second = api.volume_allocate_iscsi_target(ctx, volume["id"], "h1")
    assert first == second
    assert api.volume_get_iscsi_target_num(ctx, volume["id"]) == first


def test_allocate_on_another_host_moves_the_target(api, ctx):
    make_targets(api, ctx, "h1", 1)
    make_targets(api, ctx, "h2", 5)
    volume = make_volume(api, ctx)
    other = make_volume(api, ctx)

    assert api.volume_allocate_iscsi_target(ctx, volume["id"], "h1") == 1
    assert api.volume_allocate_iscsi_target(ctx, volume["id"], "h2") == 5
    assert api.volume_get_iscsi_target_num(ctx, volume["id"]) == 5
    assert api.volume_allocate_iscsi_target(ctx, other["id"], "h1") == 1


def test_allocate_checks_volume_and_admin(api, ctx, user_ctx):
    make_targets(api, ctx, "h1", 1)
    with pytest.raises(exception.VolumeNotFound):
        api.volume_allocate_iscsi_target(ctx, "missing", "h1")
    volume = make_volume(api, ctx)
    with pytest.raises(exception.AdminRequired):
        api.volume_allocate_iscsi_target(user_ctx, volume["id"], "h1")
    with pytest.raises(exception.NoMoreTargets):
        api.volume_allocate_iscsi_target(ctx, volume["id"], "empty-host")


def test_get_iscsi_target_num_without_target(api, ctx):
    volume = make_volume(api, ctx)
    with pytest.raises(exception.ISCSITargetNotFoundForVolume) as info:
        api.volume_get_iscsi_target_num(ctx, volume["id"])
    assert info.value.kwargs == {"volume_id": volume["id"]}


# --------------------------------------------------------------------------
# snapshots


def make_snapshot(api, ctx, **values):
    values.setdefault("project_id", "fake-project")
    values.setdefault("user_id", "fake-user")
    return api.snapshot_create(ctx, values)


def test_snapshot_create_and_get(api, ctx, user_ctx, other_ctx):
    snapshot = make_snapshot(api, ctx, volume_id="vol-1", volume_size=3)

    assert str(uuid.UUID(snapshot["id"])) == snapshot["id"]
    assert snapshot.name == f"snapshot-{snapshot['id']}"
    assert snapshot["volume_name"] == "volume-vol-1"
    assert api.snapshot_get(user_ctx, snapshot["id"]) == snapshot
    with pytest.raises(exception.SnapshotNotFound) as info:
        api.snapshot_get(other_ctx, snapshot["id"])
    assert info.value.kwargs == {"snapshot_id": snapshot["id"]}
    with pytest.raises(exception.InvalidColumn):
        make_snapshot(api, ctx, bogus=1)


def test_snapshot_listings(api, ctx, user_ctx):
    s1 = make_snapshot(api, ctx, volume_id="vol-1")
    s2 = make_snapshot(api, ctx, volume_id="vol-2")
    s3 = make_snapshot(api, ctx, volume_id="vol-1", project_id="p2")
    gone = make_snapshot(api, ctx, volume_id="vol-1")
    api.snapshot_destroy(ctx, gone["id"])

    def ids(rows):
        return {row["id"] for row in rows}

    assert ids(api.snapshot_get_all(ctx)) == {s1["id"], s2["id"], s3["id"]}
    assert ids(api.snapshot_get_all_by_project(ctx, "fake-project")) == {
        s1["id"],
        s2["id"],
    }
    assert ids(api.snapshot_get_all_for_volume(ctx, "vol-1")) == {
        s1["id"],
        s3["id"],
    }
    assert ids(api.snapshot_get_all_for_volume(user_ctx, "vol-1")) == {
        s1["id"]
    }
    with pytest.raises(exception.AdminRequired):
        api.snapshot_get_all(user_ctx)
    with pytest.raises(exception.NotAuthorized):
        api.snapshot_get_all_by_project(user_ctx, "p2")


def test_snapshot_update_returns_row(api, ctx, other_ctx):
    """The original's snapshot_update returned None; we return the row."""
    snapshot = make_snapshot(api, ctx)

    updated = api.snapshot_update(
        ctx, snapshot["id"], {"status": "available", "progress": "100%"}
    )
    assert updated["status"] == "available"
    assert api.snapshot_get(ctx, snapshot["id"])["progress"] == "100%"
    with pytest.raises(exception.SnapshotNotFound):
        api.snapshot_update(other_ctx, snapshot["id"], {"status": "x"})
    with pytest.raises(exception.InvalidColumn):
        api.snapshot_update(ctx, snapshot["id"], {"bogus": "x"})


def test_snapshot_destroy_is_soft_admin_only_and_raises(api, ctx, user_ctx):
    """The original bulk-updated the row and returned None whether or not
    it existed; we raise SnapshotNotFound for a missing snapshot."""
    snapshot = make_snapshot(api, ctx)

    with pytest.raises(exception.AdminRequired):
        api.snapshot_destroy(user_ctx, snapshot["id"])
    api.snapshot_destroy(ctx, snapshot["id"])
    with pytest.raises(exception.SnapshotNotFound):
        api.snapshot_get(ctx, snapshot["id"])
    deleted = api.snapshot_get(
        ctx.elevated(read_deleted="yes"), snapshot["id"]
    )
    assert deleted["deleted"] != 0
    with pytest.raises(exception.SnapshotNotFound):
        api.snapshot_destroy(ctx, snapshot["id"])


# --------------------------------------------------------------------------
# EC2 id mappings


@pytest.mark.parametrize("kind", ["volume", "snapshot"])
def test_ec2_mapping_round_trip(api, ctx, kind):
    create = getattr(api, f"ec2_{kind}_create")
    to_ec2 = getattr(api, f"get_ec2_{kind}_id_by_uuid")
    to_uuid = getattr(api, f"get_{kind}_uuid_by_ec2_id")
    missing = (
        exception.VolumeNotFound
        if kind == "volume"
        else exception.SnapshotNotFound
    )
    item = str(uuid.uuid4())

    mapping = create(ctx, item)
    assert mapping["uuid"] == item
    assert isinstance(mapping["id"], int)
    assert to_ec2(ctx, item) == mapping["id"]
    assert to_uuid(ctx, mapping["id"]) == item

    forced = create(ctx, str(uuid.uuid4()), forced_id=1000)
    assert forced["id"] == 1000
    with pytest.raises(missing):
        to_ec2(ctx, str(uuid.uuid4()))
    with pytest.raises(missing):
        to_uuid(ctx, 999999)
    with pytest.raises(exception.InvalidID):
        to_uuid(ctx, "vol-00000001")


@pytest.mark.parametrize("kind", ["volume", "snapshot"])
def test_ec2_create_returns_the_existing_mapping(api, ctx, kind):
    """The original added a second mapping (a second EC2 id) for a uuid
    that already had one; we return the existing mapping."""
    create = getattr(api, f"ec2_{kind}_create")
    item = str(uuid.uuid4())

    first = create(ctx, item)
    assert create(ctx, item)["id"] == first["id"]
    assert create(ctx, item, forced_id=first["id"])["id"] == first["id"]
    with pytest.raises(exception.InvalidInput):
        create(ctx, item, forced_id=first["id"] + 50)


def test_ec2_forced_id_conflicts_and_later_ids_do_not_collide(api, ctx):
    forced = api.ec2_volume_create(ctx, str(uuid.uuid4()), forced_id=5)
    with pytest.raises(exception.DBDuplicateEntry):
        api.ec2_volume_create(ctx, str(uuid.uuid4()), forced_id=5)

    generated = [
        api.ec2_volume_create(ctx, str(uuid.uuid4()))["id"] for _ in range(6)
    ]
    assert forced["id"] not in generated
    assert len(set(generated)) == 6


def test_ec2_mappings_read_deleted_rows(api, ctx):
    """EC2 mappings are read with read_deleted='yes' (the original's Folsom
    fix): a context that hides deleted rows still resolves them."""
    volume = make_volume(api, ctx)
    ec2_id = api.get_ec2_volume_id_by_uuid(ctx, volume["id"])
    only_deleted = ctx.elevated(read_deleted="only")

    assert api.get_volume_uuid_by_ec2_id(only_deleted, ec2_id) == volume["id"]
    assert api.get_ec2_volume_id_by_uuid(only_deleted, volume["id"]) == ec2_id


def test_volume_get_by_ec2_id(api, ctx, user_ctx, other_ctx):
    """The original declared volume_get_by_ec2_id without implementing it
    (AttributeError); it resolves the EC2 id and returns the volume."""
    volume = make_volume(api, ctx, metadata={"a": "1"})
    ec2_id = api.get_ec2_volume_id_by_uuid(ctx, volume["id"])

    found = api.volume_get_by_ec2_id(user_ctx, ec2_id)
    assert found["id"] == volume["id"]
    assert found["volume_metadata"][0]["key"] == "a"
    with pytest.raises(exception.VolumeNotFound):
        api.volume_get_by_ec2_id(other_ctx, ec2_id)
    with pytest.raises(exception.VolumeNotFound) as info:
        api.volume_get_by_ec2_id(ctx, ec2_id + 1000)
    assert info.value.kwargs == {"volume_id": ec2_id + 1000}
