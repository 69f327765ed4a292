"""Fixed IPs and virtual interfaces, through the database API."""

import datetime
import uuid

import pytest

from db import exception
from db.context import RequestContext
from tests.db._builders import make_fixed_ips as _ips
from tests.db._builders import make_instance as _instance
from tests.db._builders import make_network as _network
from tests.db._builders import new_uuid as _uuid

NOW = datetime.datetime.now(datetime.UTC)


# --------------------------------------------------------------------------
# Create


def test_create_returns_the_canonical_address(api, ctx):
    address = api.fixed_ip_create(ctx, {"address": "2001:DB8:0::0001"})

    assert address == "2001:db8::1"
    assert isinstance(address, str)
    row = api.fixed_ip_get_by_address(ctx, "2001:db8:0000::1")
    assert row["address"] == "2001:db8::1"
    assert row["reserved"] is False and row["allocated"] is False
    assert row["instance_uuid"] is None
    assert row["created_at"].tzinfo is not None


@pytest.mark.parametrize(
    "values, error",
    [
        ({}, exception.InvalidIpAddress),
        ({"address": "10.0.0.300"}, exception.InvalidIpAddress),
        ({"address": "10.0.0.1", "colour": "red"}, exception.InvalidColumn),
        ({"address": "10.0.0.1", "reserved": "yes"}, exception.InvalidValue),
        ({"address": "10.0.0.1", "instance_uuid": "x"}, exception.InvalidUUID),
        ({"address": "10.0.0.1", "id": 7}, exception.InvalidInput),
    ],
)
def test_create_rejects_bad_values_before_writing(api, ctx, values, error):
    with pytest.raises(error):
        api.fixed_ip_create(ctx, values)

    with pytest.raises(exception.NoFixedIpsDefined):
        api.fixed_ip_get_all(ctx)


def test_create_refuses_a_live_address(api, ctx):
    api.fixed_ip_create(ctx, {"address": "10.0.0.1"})

    with pytest.raises(exception.FixedIpExists) as info:
        api.fixed_ip_create(ctx, {"address": "10.0.0.1"})
    assert info.value.kwargs == {"address": "10.0.0.1"}


def test_create_needs_an_admin(api, user_ctx):
    with pytest.raises(exception.AdminRequired):
        api.fixed_ip_create(user_ctx, {"address": "10.0.0.1"})


def test_bulk_create_writes_all_or_nothing(api, ctx):
    api.fixed_ip_bulk_create(ctx, [{"address": "10.0.0.1"}])

    with pytest.raises(exception.FixedIpExists) as info:
        api.fixed_ip_bulk_create(
            ctx, [{"address": "10.0.0.2"}, {"address": "10.0.0.1"}]
        )
    assert info.value.kwargs == {"address": "10.0.0.1"}
    with pytest.raises(exception.FixedIpExists) as info:
        api.fixed_ip_bulk_create(
            ctx, [{"address": "10.0.0.3"}, {"address": "10.0.0.3"}]
        )
    assert info.value.kwargs == {"address": "10.0.0.3"}
    with pytest.raises(exception.InvalidIpAddress):
        api.fixed_ip_bulk_create(
            ctx, [{"address": "10.0.0.4"}, {"address": "nope"}]
        )
    assert [r["address"] for r in api.fixed_ip_get_all(ctx)] == ["10.0.0.1"]

    api.fixed_ip_bulk_create(
        ctx, [{"address": "10.0.0.2", "reserved": True}, {"address": "::1"}]
    )
    rows = api.fixed_ip_get_all(ctx)
    assert [(r["address"], r["reserved"]) for r in rows] == [
        ("10.0.0.1", False), ("10.0.0.2", True), ("::1", False),
    ]


def test_bulk_create_needs_a_list_of_dicts(api, ctx):
    with pytest.raises(exception.InvalidInput):
        api.fixed_ip_bulk_create(ctx, {"address": "10.0.0.1"})


# --------------------------------------------------------------------------
# Getters


def test_get_by_id_and_its_not_found(api, ctx):
    api.fixed_ip_create(ctx, {"address": "10.0.0.1"})
    row = api.fixed_ip_get_all(ctx)[0]

    assert api.fixed_ip_get(ctx, row["id"]) == row
    for missing in (row["id"] + 1, "x", None):
        with pytest.raises(exception.FixedIpNotFound) as info:
            api.fixed_ip_get(ctx, missing)
        assert info.value.kwargs == {"id": missing}


def test_get_by_address_not_found(api, ctx):
    for missing in ("10.9.9.9", "not-an-ip"):
        with pytest.raises(exception.FixedIpNotFoundForAddress) as info:
            api.fixed_ip_get_by_address(ctx, missing)
        assert info.value.kwargs == {"address": missing}
    with pytest.raises(exception.InvalidIpAddress):
        api.fixed_ip_get_by_address(ctx, 10)


def test_get_all_includes_deleted_rows_and_raises_when_empty(api, ctx):
    """As the original: read_deleted='yes', NoFixedIpsDefined if empty."""
    with pytest.raises(exception.NoFixedIpsDefined):
        api.fixed_ip_get_all(ctx)
    net = _network(api, ctx)
    _ips(api, ctx, net["id"], "10.0.0.2", "10.0.0.3")

    api.network_delete_safe(ctx, net["id"])

    rows = api.fixed_ip_get_all(ctx)
    assert [r["address"] for r in rows] == ["10.0.0.2", "10.0.0.3"]
    assert all(r["deleted"] == r["id"] for r in rows)


def test_get_by_instance(api, ctx):
    inst = _uuid()
    api.fixed_ip_create(ctx, {"address": "10.0.0.2", "instance_uuid": inst})
    api.fixed_ip_create(ctx, {"address": "10.0.0.1", "instance_uuid": inst})
    api.fixed_ip_create(ctx, {"address": "10.0.0.3"})

    rows = api.fixed_ip_get_by_instance(ctx, inst)

    assert isinstance(rows, list)
    assert [r["address"] for r in rows] == ["10.0.0.2", "10.0.0.1"]
    other = _uuid()
    with pytest.raises(exception.FixedIpNotFoundForInstance) as info:
        api.fixed_ip_get_by_instance(ctx, other)
    assert info.value.kwargs == {"instance_uuid": other}
    with pytest.raises(exception.InvalidUUID):
        api.fixed_ip_get_by_instance(ctx, "not-a-uuid")


def test_get_by_network_host_takes_an_id_or_a_uuid(api, ctx):
    """The spec names the parameter network_uuid while the original (and
    its callers) used the integer id: both work."""
    net = _network(api, ctx)
    _ips(api, ctx, net["id"], "10.0.0.2", "10.0.0.3", host="h1")

    by_id = api.fixed_ip_get_by_network_host(ctx, net["id"], "h1")
    by_uuid = api.fixed_ip_get_by_network_host(ctx, net["uuid"], "h1")

    assert by_id == by_uuid
    assert by_id["address"] == "10.0.0.2"
    with pytest.raises(exception.FixedIpNotFoundForNetworkHost) as info:
        api.fixed_ip_get_by_network_host(ctx, net["id"], "h2")
    assert info.value.kwargs == {"network_id": net["id"], "host": "h2"}


def test_get_network_returns_the_network_row(api, ctx):
    """The original read a ``network`` relationship the model did not
    have, so it always failed; it returns the network's row."""
    net = _network(api, ctx)
    _ips(api, ctx, net["id"], "10.0.0.2")
    api.fixed_ip_create(ctx, {"address": "10.0.1.2"})

    assert api.fixed_ip_get_network(ctx, "10.0.0.2") == net
    with pytest.raises(exception.NetworkNotFound):
        api.fixed_ip_get_network(ctx, "10.0.1.2")
    with pytest.raises(exception.FixedIpNotFoundForAddress):
        api.fixed_ip_get_network(ctx, "10.0.2.2")


def test_update_returns_the_row_and_checks_before_writing(api, ctx):
    api.fixed_ip_create(ctx, {"address": "10.0.0.1"})
    api.fixed_ip_create(ctx, {"address": "10.0.0.2"})

    row = api.fixed_ip_update(ctx, "10.0.0.1", {"leased": True, "host": "h"})

    assert row["leased"] is True and row["host"] == "h"
    assert api.fixed_ip_get_by_address(ctx, "10.0.0.1") == row
    with pytest.raises(exception.InvalidColumn):
        api.fixed_ip_update(ctx, "10.0.0.1", {"host": "x", "colour": "r"})
    with pytest.raises(exception.FixedIpExists):
        api.fixed_ip_update(ctx, "10.0.0.1", {"address": "10.0.0.2"})
    assert api.fixed_ip_get_by_address(ctx, "10.0.0.1")["host"] == "h"
    with pytest.raises(exception.FixedIpNotFoundForAddress):
        api.fixed_ip_update(ctx, "10.0.0.9", {"host": "h"})


def test_fixed_ips_by_virtual_interface_is_a_list(api, ctx):
    """The spec says "or raise if none exist", but the original returned
    the (possibly empty) list, which its callers iterate over."""
    api.fixed_ip_bulk_create(ctx, [
        {"address": "10.0.0.2", "virtual_interface_id": 5},
        {"address": "10.0.0.1", "virtual_interface_id": 5},
    ])

    rows = api.fixed_ips_by_virtual_interface(ctx, 5)

    assert [r["address"] for r in rows] == ["10.0.0.2", "10.0.0.1"]
    assert api.fixed_ips_by_virtual_interface(ctx, 6) == []


# --------------------------------------------------------------------------
# Association


def test_associate_returns_the_address_and_adopts_the_network(api, ctx):
    net = _network(api, ctx)
    api.fixed_ip_create(ctx, {"address": "10.0.0.2"})
    inst = _uuid()

    address = api.fixed_ip_associate(ctx, "10.0.0.2", inst, net["id"])

    assert address == "10.0.0.2"
    row = api.fixed_ip_get_by_address(ctx, "10.0.0.2")
    assert row["instance_uuid"] == inst
    assert row["network_id"] == net["id"]
    assert row["updated_at"] is not None


def test_associate_checks_the_uuid_first(api, ctx):
    with pytest.raises(exception.InvalidUUID):
        api.fixed_ip_associate(ctx, "10.9.9.9", "not-a-uuid")


def test_associate_not_found_names_address_and_network(api, ctx):
    """The original raised FixedIpNotFoundForNetwork with kwargs its
    message template did not use; ours fill it."""
    net = _network(api, ctx)
    other = _network(api, ctx, cidr="10.0.1.0/29")
    _ips(api, ctx, net["id"], "10.0.0.2")
    _ips(api, ctx, net["id"], "10.0.0.3", reserved=True)

    for address, network_id, reserved in (
        ("10.0.0.2", other["id"], False),
        ("10.0.0.2", None, False),
        ("10.0.0.3", net["id"], False),
        ("10.0.0.2", net["id"], True),
    ):
        with pytest.raises(exception.FixedIpNotFoundForNetwork) as info:
            api.fixed_ip_associate(
                ctx, address, _uuid(), network_id, reserved
            )
        assert info.value.kwargs == {
            "address": address, "network_id": network_id,
        }
        assert address in info.value.format_message()

    assert api.fixed_ip_associate(
        ctx, "10.0.0.3", _uuid(), net["id"], reserved=True
    ) == "10.0.0.3"


def test_associate_in_use_names_the_holder(api, ctx):
    """The original raised FixedIpAlreadyInUse with the address only,
    leaving its template's instance_uuid unfilled."""
    api.fixed_ip_create(ctx, {"address": "10.0.0.2"})
    holder = _uuid()
    api.fixed_ip_associate(ctx, "10.0.0.2", holder)

    with pytest.raises(exception.FixedIpAlreadyInUse) as info:
        api.fixed_ip_associate(ctx, "10.0.0.2", _uuid())
    assert info.value.kwargs == {
        "address": "10.0.0.2", "instance_uuid": holder,
    }
    assert holder in info.value.format_message()


def test_associate_pool_sets_the_network_id(api, ctx):
    """The original set a non-column ``network`` attribute, so an IP taken
    from the network-less pool stayed outside the network."""
    net = _network(api, ctx)
    api.fixed_ip_create(ctx, {"address": "10.0.0.2"})
    inst = _uuid()

    address = api.fixed_ip_associate_pool(ctx, net["id"], inst, "h1")

    assert address == "10.0.0.2"
    row = api.fixed_ip_get_by_address(ctx, address)
    assert (row["network_id"], row["instance_uuid"], row["host"]) == (
        net["id"], inst, "h1",
    )


def test_associate_pool_takes_only_free_ips_then_raises(api, ctx):
    net = _network(api, ctx)
    other = _network(api, ctx, cidr="10.0.1.0/29")
    _ips(api, ctx, net["id"], "10.0.0.1", reserved=True)
    _ips(api, ctx, net["id"], "10.0.0.2", host="taken")
    _ips(api, ctx, net["id"], "10.0.0.3", instance_uuid=_uuid())
    _ips(api, ctx, other["id"], "10.0.1.2")
    _ips(api, ctx, net["id"], "10.0.0.5", "10.0.0.4")

    got = {api.fixed_ip_associate_pool(ctx, net["id"], _uuid())}
    got.add(api.fixed_ip_associate_pool(ctx, net["id"], host="h1"))

    assert got == {"10.0.0.4", "10.0.0.5"}
    with pytest.raises(exception.NoMoreFixedIps):
        api.fixed_ip_associate_pool(ctx, net["id"], _uuid())


def test_associate_pool_needs_an_instance_or_a_host(api, ctx):
    """The original would "associate" an IP with nothing, leaving it free
    to be handed out again; that is refused."""
    net = _network(api, ctx)
    _ips(api, ctx, net["id"], "10.0.0.2")

    with pytest.raises(exception.InvalidInput):
        api.fixed_ip_associate_pool(ctx, net["id"])
    with pytest.raises(exception.InvalidUUID):
        api.fixed_ip_associate_pool(ctx, net["id"], "bad-uuid")
    assert api.fixed_ip_get_by_address(ctx, "10.0.0.2")["host"] is None


def test_disassociate_clears_the_instance(api, ctx):
    api.fixed_ip_create(ctx, {"address": "10.0.0.2"})
    api.fixed_ip_associate(ctx, "10.0.0.2", _uuid())

    assert api.fixed_ip_disassociate(ctx, "10.0.0.2") is None

    row = api.fixed_ip_get_by_address(ctx, "10.0.0.2")
    assert row["instance_uuid"] is None
    with pytest.raises(exception.FixedIpNotFoundForAddress):
        api.fixed_ip_disassociate(ctx, "10.0.0.9")


def test_disassociate_all_by_timeout(api, ctx):
    served = _network(api, ctx, host="h1")
    multi = _network(api, ctx, cidr="10.0.1.0/29", multi_host=True)
    elsewhere = _network(api, ctx, cidr="10.0.2.0/29", host="h2")
    on_h1 = _instance(api, ctx, host="h1")["uuid"]
    on_h2 = _instance(api, ctx, host="h2")["uuid"]
    _ips(api, ctx, served["id"], "10.0.0.2", instance_uuid=on_h2)
    _ips(api, ctx, served["id"], "10.0.0.3", instance_uuid=on_h2,
         allocated=True)
    _ips(api, ctx, multi["id"], "10.0.1.2", instance_uuid=on_h1, leased=True)
    _ips(api, ctx, multi["id"], "10.0.1.3", instance_uuid=on_h2)
    _ips(api, ctx, elsewhere["id"], "10.0.2.2", instance_uuid=on_h1)
    for address in ("10.0.0.2", "10.0.0.3", "10.0.1.2", "10.0.1.3",
                    "10.0.2.2"):
        api.fixed_ip_update(ctx, address, {"host": "x"})

    assert api.fixed_ip_disassociate_all_by_timeout(
        ctx, "h1", NOW - datetime.timedelta(hours=1)
    ) == 0
    count = api.fixed_ip_disassociate_all_by_timeout(
        ctx, "h1", datetime.datetime.now(datetime.UTC)
        + datetime.timedelta(seconds=5)
    )

    assert count == 2
    released = {
        r["address"]: (r["instance_uuid"], r["leased"])
        for r in api.fixed_ip_get_all(ctx)
    }
    assert released["10.0.0.2"] == (None, False)
    assert released["10.0.1.2"] == (None, False)
    assert released["10.0.0.3"][0] == on_h2
    assert released["10.0.1.3"][0] == on_h2
    assert released["10.0.2.2"][0] == on_h1


def test_disassociate_all_by_timeout_checks_the_time(api, ctx):
    with pytest.raises(exception.InvalidValue):
        api.fixed_ip_disassociate_all_by_timeout(ctx, "h1", "yesterday")


def test_count_by_project_counts_live_instances_ips(api, ctx):
    """The original's first version compared the instance *uuid* with the
    project id, so it counted nothing; this counts the live fixed IPs of
    the project's live instances."""
    mine = _instance(api, ctx, project_id="p1")["uuid"]
    theirs = _instance(api, ctx, project_id="p2")["uuid"]
    api.fixed_ip_create(ctx, {"address": "10.0.0.2", "instance_uuid": mine})
    api.fixed_ip_create(ctx, {"address": "10.0.0.3", "instance_uuid": mine})
    api.fixed_ip_create(ctx, {"address": "10.0.0.4", "instance_uuid": theirs})

    assert api.fixed_ip_count_by_project(ctx, "p1") == 2
    assert api.fixed_ip_count_by_project(ctx, "p3") == 0
    p1 = RequestContext("u", "p1")
    assert api.fixed_ip_count_by_project(p1, "p1") == 2
    with pytest.raises(exception.NotAuthorized):
        api.fixed_ip_count_by_project(p1, "p2")


def test_user_reads_only_ips_of_its_instances(api, ctx, user_ctx, other_ctx):
    """For a user context, an IP of an instance must be of its project."""
    inst = _instance(api, ctx, project_id="fake-project")["uuid"]
    api.fixed_ip_create(ctx, {"address": "10.0.0.2", "instance_uuid": inst})
    api.fixed_ip_create(ctx, {"address": "10.0.0.3"})
    ip_id = api.fixed_ip_get_by_address(ctx, "10.0.0.2")["id"]

    assert api.fixed_ip_get(user_ctx, ip_id)["address"] == "10.0.0.2"
    assert api.fixed_ip_get_by_address(user_ctx, "10.0.0.2")["id"] == ip_id
    assert api.fixed_ip_get_by_address(other_ctx, "10.0.0.3")
    with pytest.raises(exception.NotAuthorized):
        api.fixed_ip_get(other_ctx, ip_id)
    with pytest.raises(exception.NotAuthorized):
        api.fixed_ip_get_by_address(other_ctx, "10.0.0.2")
    with pytest.raises(exception.NotAuthorized):
        api.fixed_ip_get_by_instance(other_ctx, inst)


# --------------------------------------------------------------------------
# Virtual interfaces


def test_vif_create_and_getters(api, ctx):
    inst = _uuid()
    vif = api.virtual_interface_create(
        ctx, {"address": "aa:bb:cc:00:00:01", "network_id": 1,
              "instance_uuid": inst},
    )

    assert uuid.UUID(vif["uuid"])
    assert vif["instance_uuid"] == inst
    assert api.virtual_interface_get(ctx, vif["id"]) == vif
    assert api.virtual_interface_get_by_address(
        ctx, "aa:bb:cc:00:00:01"
    ) == vif
    assert api.virtual_interface_get_by_uuid(ctx, vif["uuid"]) == vif
    assert api.virtual_interface_get_all(ctx) == [vif]


def test_vif_getters_return_none_when_missing(api, ctx):
    assert api.virtual_interface_get(ctx, 42) is None
    assert api.virtual_interface_get(ctx, "x") is None
    assert api.virtual_interface_get_by_address(ctx, "aa:aa") is None
    assert api.virtual_interface_get_by_uuid(ctx, _uuid()) is None
    assert api.virtual_interface_get_all(ctx) == []


def test_vif_create_duplicate_address_fails_cleanly(api, ctx):
    """The original's IntegrityError branch was dead (the error arrived
    wrapped as DBError); the duplicate now raises the documented class."""
    api.virtual_interface_create(ctx, {"address": "aa:bb:cc:00:00:01"})

    with pytest.raises(exception.VirtualInterfaceCreateException):
        api.virtual_interface_create(ctx, {"address": "aa:bb:cc:00:00:01"})
    with pytest.raises(exception.InvalidUUID):
        api.virtual_interface_create(ctx, {"address": "a", "uuid": "nope"})
    with pytest.raises(exception.InvalidColumn):
        api.virtual_interface_create(ctx, {"address": "a", "mac": "b"})
    assert len(api.virtual_interface_get_all(ctx)) == 1


def test_vif_delete_is_hard(api, ctx):
    vif = api.virtual_interface_create(ctx, {"address": "aa:01"})

    api.virtual_interface_delete(ctx, vif["id"])
    api.virtual_interface_delete(ctx, vif["id"])

    assert api.virtual_interface_get(ctx, vif["id"]) is None
    deleted_too = ctx.elevated(read_deleted="yes")
    assert api.virtual_interface_get_all(deleted_too) == []
    assert api.virtual_interface_create(ctx, {"address": "aa:01"})


def test_vif_delete_by_instance_needs_no_instance(api, ctx):
    """The original went through get_by_instance, so cleaning up after a
    deleted instance raised InstanceNotFound; this deletes in one
    statement whether the instance exists or not."""
    inst = _uuid()
    api.virtual_interface_create(ctx, {"address": "aa:01",
                                       "instance_uuid": inst})
    api.virtual_interface_create(ctx, {"address": "aa:02",
                                       "instance_uuid": inst})
    keep = api.virtual_interface_create(ctx, {"address": "aa:03",
                                              "instance_uuid": _uuid()})

    api.virtual_interface_delete_by_instance(ctx, inst)

    assert api.virtual_interface_get_all(ctx) == [keep]
    with pytest.raises(exception.InvalidUUID):
        api.virtual_interface_delete_by_instance(ctx, "nope")


def test_vif_get_by_instance_requires_the_instance(api, ctx):
    inst = _instance(api, ctx)["uuid"]
    first = api.virtual_interface_create(
        ctx, {"address": "aa:01", "instance_uuid": inst, "network_id": 1}
    )
    second = api.virtual_interface_create(
        ctx, {"address": "aa:02", "instance_uuid": inst, "network_id": 2}
    )

    assert api.virtual_interface_get_by_instance(ctx, inst) == [first, second]
    assert api.virtual_interface_get_by_instance_and_network(
        ctx, inst, 2
    ) == second
    assert api.virtual_interface_get_by_instance_and_network(
        ctx, inst, 3
    ) is None
    missing = _uuid()
    with pytest.raises(exception.InstanceNotFound) as info:
        api.virtual_interface_get_by_instance(ctx, missing)
    assert info.value.kwargs == {"instance_id": missing}
    with pytest.raises(exception.InstanceNotFound):
        api.virtual_interface_get_by_instance_and_network(ctx, missing, 1)
    with pytest.raises(exception.InvalidUUID):
        api.virtual_interface_get_by_instance(ctx, "nope")
