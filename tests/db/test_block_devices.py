"""Block device mappings."""

import uuid

import pytest

from db import exception


@pytest.fixture
def instance(api, ctx):
    """The uuid of a live instance to map devices of."""
    row = api.instance_create(
        ctx, {"project_id": "fake-project", "user_id": "fake-user"}
    )
    return row["uuid"]


def bdm(api, ctx, instance, device, **values):
    return api.block_device_mapping_create(
        ctx, {"instance_uuid": instance, "device_name": device, **values}
    )


def devices(api, ctx, instance):
    rows = api.block_device_mapping_get_all_by_instance(ctx, instance)
    return {row["device_name"]: row for row in rows}


def test_create_returns_the_row(api, ctx, instance):
    """The original's create returned None; we return the new row."""
    row = bdm(api, ctx, instance, "/dev/vdb", volume_id="vol-1")

    assert isinstance(row, dict)
    assert isinstance(row["id"], int)
    assert row["instance_uuid"] == instance
    assert row["volume_id"] == "vol-1"
    assert row["delete_on_termination"] is False
    assert row["deleted"] == 0
    assert devices(api, ctx, instance) == {"/dev/vdb": row}


def test_create_rejects_bad_input_before_writing(api, ctx, instance):
    with pytest.raises(exception.InvalidInput):
        api.block_device_mapping_create(ctx, {"instance_uuid": instance})
    with pytest.raises(exception.InvalidUUID):
        bdm(api, ctx, "not-a-uuid", "/dev/vdb")
    with pytest.raises(exception.InstanceNotFound):
        bdm(api, ctx, str(uuid.uuid4()), "/dev/vdb")
    with pytest.raises(exception.InvalidColumn):
        bdm(api, ctx, instance, "/dev/vdb", bogus=1)
    with pytest.raises(exception.InvalidValue):
        bdm(api, ctx, instance, "/dev/vdb", volume_size="big")
    with pytest.raises(exception.InvalidInput):
        api.block_device_mapping_create(ctx, ["not", "a", "dict"])

    assert devices(api, ctx, instance) == {}


def test_get_all_by_instance(api, ctx, instance):
    assert api.block_device_mapping_get_all_by_instance(ctx, instance) == []
    first = bdm(api, ctx, instance, "/dev/vda")
    second = bdm(api, ctx, instance, "/dev/vdb")
    api.block_device_mapping_destroy(ctx, second["id"])

    rows = api.block_device_mapping_get_all_by_instance(ctx, instance)
    assert isinstance(rows, list)
    assert [row["id"] for row in rows] == [first["id"]]


def test_update_returns_the_row(api, ctx, instance):
    row = bdm(api, ctx, instance, "/dev/vdb")

    updated = api.block_device_mapping_update(
        ctx, row["id"], {"connection_info": '{"driver": "iscsi"}'}
    )
    assert updated["connection_info"] == '{"driver": "iscsi"}'
    assert devices(api, ctx, instance)["/dev/vdb"] == updated
    assert api.block_device_mapping_update(ctx, row["id"], updated) == updated
    with pytest.raises(exception.InvalidInput):
        api.block_device_mapping_update(ctx, row["id"], {"id": row["id"] + 1})


def test_update_of_a_missing_mapping_raises(api, ctx, instance):
    """The original's bulk UPDATE silently changed nothing for an unknown
    id; we raise BlockDeviceMappingNotFound (deleted ids included)."""
    with pytest.raises(exception.BlockDeviceMappingNotFound) as info:
        api.block_device_mapping_update(ctx, 12345, {"volume_id": "v"})
    assert info.value.kwargs == {"bdm_id": 12345}

    row = bdm(api, ctx, instance, "/dev/vdb")
    api.block_device_mapping_destroy(ctx, row["id"])
    with pytest.raises(exception.BlockDeviceMappingNotFound):
        api.block_device_mapping_update(ctx, row["id"], {"volume_id": "v"})
    with pytest.raises(exception.InvalidColumn):
        api.block_device_mapping_update(ctx, row["id"], {"bogus": 1})


def test_update_or_create_creates_then_updates(api, ctx, instance):
    created = api.block_device_mapping_update_or_create(
        ctx,
        {
            "instance_uuid": instance,
            "device_name": "/dev/vdb",
            "volume_id": "vol-1",
            "virtual_name": None,
        },
    )
    updated = api.block_device_mapping_update_or_create(
        ctx,
        {
            "instance_uuid": instance,
            "device_name": "/dev/vdb",
            "volume_id": "vol-2",
            "virtual_name": None,
        },
    )

    assert updated["id"] == created["id"]
    assert updated["volume_id"] == "vol-2"
    assert list(devices(api, ctx, instance)) == ["/dev/vdb"]


def test_update_or_create_requires_the_key(api, ctx, instance):
    with pytest.raises(exception.InvalidInput):
        api.block_device_mapping_update_or_create(
            ctx, {"instance_uuid": instance}
        )
    with pytest.raises(exception.InvalidInput):
        api.block_device_mapping_update_or_create(
            ctx, {"device_name": "/dev/vdb"}
        )
    with pytest.raises(exception.InstanceNotFound):
        api.block_device_mapping_update_or_create(
            ctx, {"instance_uuid": str(uuid.uuid4()), "device_name": "/dev/x"}
        )


def test_update_or_create_without_virtual_name(api, ctx, instance):
    """The original read ``values['virtual_name']`` and failed with
    KeyError when it was left out; we treat it as None: nothing else is
    deleted and an existing mapping keeps its virtual name."""
    bdm(api, ctx, instance, "/dev/vdc", virtual_name="swap")
    row = api.block_device_mapping_update_or_create(
        ctx, {"instance_uuid": instance, "device_name": "/dev/vdb"}
    )
    assert row["virtual_name"] is None

    kept = api.block_device_mapping_update_or_create(
        ctx,
        {
            "instance_uuid": instance,
            "device_name": "/dev/vdc",
            "volume_size": 2,
        },
    )
    assert kept["virtual_name"] == "swap"
    assert kept["volume_size"] == 2
    assert set(devices(api, ctx, instance)) == {"/dev/vdb", "/dev/vdc"}


@pytest.mark.parametrize("virtual_name", ["swap", "ephemeral0", "ephemeral12"])
def test_update_or_create_moves_swap_and_ephemeral(
    api, ctx, instance, virtual_name
):
    old = bdm(api, ctx, instance, "/dev/vdc", virtual_name=virtual_name)
    other_instance = api.instance_create(
        ctx, {"project_id": "fake-project", "user_id": "fake-user"}
    )["uuid"]
    bdm(api, ctx, other_instance, "/dev/vdc", virtual_name=virtual_name)

    new = api.block_device_mapping_update_or_create(
        ctx,
        {
            "instance_uuid": instance,
            "device_name": "/dev/vdd",
            "virtual_name": virtual_name,
        },
    )

    assert new["id"] != old["id"]
    assert list(devices(api, ctx, instance)) == ["/dev/vdd"]
    assert list(devices(api, ctx, other_instance)) == ["/dev/vdc"]


@pytest.mark.parametrize("virtual_name", ["ephemeral", "ephemeral01", "ami"])
def test_update_or_create_keeps_other_virtual_names(
    api, ctx, instance, virtual_name
):
    bdm(api, ctx, instance, "/dev/vdc", virtual_name=virtual_name)
    api.block_device_mapping_update_or_create(
        ctx,
        {
            "instance_uuid": instance,
            "device_name": "/dev/vdd",
            "virtual_name": virtual_name,
        },
    )
    assert set(devices(api, ctx, instance)) == {"/dev/vdc", "/dev/vdd"}


def test_destroy_is_soft_and_raises_for_unknown_ids(api, ctx, instance):
    """The original's destroy was a bulk soft delete that ignored unknown
    ids; an id names one mapping, so we raise BlockDeviceMappingNotFound."""
    row = bdm(api, ctx, instance, "/dev/vdb")

    assert api.block_device_mapping_destroy(ctx, row["id"]) is None
    assert devices(api, ctx, instance) == {}
    with pytest.raises(exception.BlockDeviceMappingNotFound):
        api.block_device_mapping_destroy(ctx, row["id"])
    with pytest.raises(exception.BlockDeviceMappingNotFound):
        api.block_device_mapping_destroy(ctx, "not-an-id")
    again = bdm(api, ctx, instance, "/dev/vdb")
    assert again["id"] != row["id"]


def test_destroy_by_instance_and_device(api, ctx, instance):
    bdm(api, ctx, instance, "/dev/vdb")
    keep = bdm(api, ctx, instance, "/dev/vdc")

    api.block_device_mapping_destroy_by_instance_and_device(
        ctx, instance, "/dev/vdb"
    )
    api.block_device_mapping_destroy_by_instance_and_device(
        ctx, instance, "/dev/none"
    )
    assert list(devices(api, ctx, instance)) == ["/dev/vdc"]
    assert devices(api, ctx, instance)["/dev/vdc"]["id"] == keep["id"]


def test_destroy_by_instance_and_volume(api, ctx, instance):
    bdm(api, ctx, instance, "/dev/vdb", volume_id="vol-1")
    bdm(api, ctx, instance, "/dev/vdc", volume_id="vol-2")

    api.block_device_mapping_destroy_by_instance_and_volume(
        ctx, instance, "vol-1"
    )
    api.block_device_mapping_destroy_by_instance_and_volume(
        ctx, instance, "vol-unknown"
    )
    assert list(devices(api, ctx, instance)) == ["/dev/vdc"]
