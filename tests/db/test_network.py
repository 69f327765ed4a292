"""Networks, through the database API."""

import uuid

import pytest

from db import exception
from tests.db._builders import make_fixed_ips as _ips
from tests.db._builders import make_instance as _instance
from tests.db._builders import make_network as _network
from tests.db._builders import new_uuid as _uuid

# --------------------------------------------------------------------------
# Create, update, delete


def test_create_safe_returns_the_row_with_a_uuid(api, ctx):
    net = _network(api, ctx, cidr="10.0.0.0/24", cidr_v6="2001:DB8::/64",
                   vlan=100, gateway="10.0.0.1")

    assert uuid.UUID(net["uuid"])
    assert (net["cidr"], net["cidr_v6"]) == ("10.0.0.0/24", "2001:db8::/64")
    assert net["vlan"] == 100 and net["project_id"] is None
    assert net["network_index"] is None
    assert api.network_get(ctx, net["id"]) == net
    given = _uuid()
    assert _network(api, ctx, cidr="10.0.1.0/24", uuid=given)["uuid"] == given


def test_create_safe_refuses_a_live_vlan(api, ctx):
    _network(api, ctx, vlan=100)

    with pytest.raises(exception.DuplicateVlan) as info:
        _network(api, ctx, cidr="10.0.1.0/29", vlan=100)
    assert info.value.kwargs == {"vlan": 100}
    assert api.network_count(ctx) == 1


def test_create_safe_returns_none_when_the_network_exists(api, ctx):
    """As documented: a create that violates a constraint because the
    network exists raises nothing (the original's IntegrityError branch
    never ran, the error came wrapped; ours does) and returns None."""
    _network(api, ctx, cidr="10.0.0.0/29")

    assert _network(api, ctx, cidr="10.0.0.0/29") is None
    assert api.network_count(ctx) == 1
    assert _network(api, ctx, cidr="10.0.1.0/29")["cidr"] == "10.0.1.0/29"


@pytest.mark.parametrize(
    "values, error",
    [
        ({"cidr": "10.0.0.0/33"}, exception.InvalidCidr),
        ({"cidr": "10.0.0.1/24"}, exception.InvalidCidr),
        ({"cidr": "2001:db8::/64"}, exception.InvalidCidr),
        ({"cidr_v6": "10.0.0.0/24"}, exception.InvalidCidr),
        ({"gateway": "10.0.0.256"}, exception.InvalidIpAddress),
        ({"vlan": "ten"}, exception.InvalidValue),
        ({"uuid": "nope"}, exception.InvalidUUID),
        ({"colour": "red"}, exception.InvalidColumn),
        ({"network_index": 3}, exception.InvalidInput),
    ],
)
def test_create_safe_rejects_bad_values_before_writing(
    api, ctx, values, error
):
    with pytest.raises(error):
        _network(api, ctx, **values)
    assert api.network_count(ctx) == 0


def test_create_needs_an_admin(api, user_ctx):
    with pytest.raises(exception.AdminRequired):
        _network(api, user_ctx)


def test_update_returns_the_row(api, ctx):
    net = _network(api, ctx, vlan=1)
    _network(api, ctx, cidr="10.0.1.0/29", vlan=2)

    row = api.network_update(ctx, net["id"], {"label": "new", "dns1": "::1"})

    assert (row["label"], row["dns1"]) == ("new", "::1")
    assert api.network_get(ctx, net["id"]) == row
    with pytest.raises(exception.DuplicateVlan) as info:
        api.network_update(ctx, net["id"], {"vlan": 2})
    assert info.value.kwargs == {"vlan": 2}
    with pytest.raises(exception.NetworkExists):
        api.network_update(ctx, net["id"], {"cidr": "10.0.1.0/29"})
    with pytest.raises(exception.InvalidColumn):
        api.network_update(ctx, net["id"], {"label": "x", "colour": "red"})
    assert api.network_get(ctx, net["id"]) == row
    with pytest.raises(exception.NetworkNotFound) as info:
        api.network_update(ctx, net["id"] + 10, {"label": "x"})
    assert info.value.kwargs == {"network_id": net["id"] + 10}


def test_user_updates_only_its_projects_networks(api, ctx, user_ctx):
    """The original looked the network up with project_only='allow_none',
    so any user could change a shared (project-less) network; only the
    project's own networks are a user's to update."""
    shared = _network(api, ctx)
    mine = _network(api, ctx, cidr="10.0.1.0/29", project_id="fake-project")

    assert api.network_update(user_ctx, mine["id"], {"label": "m"})
    with pytest.raises(exception.NetworkNotFound):
        api.network_update(user_ctx, shared["id"], {"label": "x"})
    assert api.network_get(user_ctx, shared["id"])["label"] == "private"


def test_delete_safe_soft_deletes_ips_and_hard_deletes_the_network(
    api, ctx
):
    net = _network(api, ctx)
    _ips(api, ctx, net["id"], "10.0.0.2", "10.0.0.3")

    assert api.network_delete_safe(ctx, net["id"]) is None

    with pytest.raises(exception.NetworkNotFound):
        api.network_get(ctx.elevated(read_deleted="yes"), net["id"])
    rows = api.fixed_ip_get_all(ctx)
    assert all(r["deleted"] == r["id"] for r in rows) and len(rows) == 2
    with pytest.raises(exception.NetworkNotFound):
        api.network_delete_safe(ctx, net["id"])


def test_delete_safe_refuses_a_network_in_use(api, ctx):
    net = _network(api, ctx)
    _ips(api, ctx, net["id"], "10.0.0.2")
    _ips(api, ctx, net["id"], "10.0.0.3", allocated=True)

    with pytest.raises(exception.NetworkInUse) as info:
        api.network_delete_safe(ctx, net["id"])

    assert info.value.kwargs == {"network_id": net["id"]}
    assert api.network_get(ctx, net["id"]) == net
    assert [r["deleted"] for r in api.fixed_ip_get_all(ctx)] == [0, 0]


def test_disassociate_clears_project_and_host(api, ctx):
    net = _network(api, ctx, project_id="p1", host="h1")

    assert api.network_disassociate(ctx, net["id"]) is None

    row = api.network_get(ctx, net["id"])
    assert (row["project_id"], row["host"]) == (None, None)
    with pytest.raises(exception.NetworkNotFound):
        api.network_disassociate(ctx, net["id"] + 1)


# --------------------------------------------------------------------------
# Getters


def test_get_not_found_and_project_visibility(api, ctx, user_ctx):
    shared = _network(api, ctx)
    mine = _network(api, ctx, cidr="10.0.1.0/29", project_id="fake-project")
    theirs = _network(api, ctx, cidr="10.0.2.0/29", project_id="other")

    assert api.network_get(user_ctx, shared["id"]) == shared
    assert api.network_get(user_ctx, mine["id"]) == mine
    with pytest.raises(exception.NetworkNotFound) as info:
        api.network_get(user_ctx, theirs["id"])
    assert info.value.kwargs == {"network_id": theirs["id"]}
    with pytest.raises(exception.NetworkNotFound):
        api.network_get(user_ctx, shared["id"], project_only=True)
    assert api.network_get(ctx, theirs["id"]) == theirs
    for missing in (theirs["id"] + 1, "x", 2**40):
        with pytest.raises(exception.NetworkNotFound):
            api.network_get(ctx, missing)


def test_get_all_and_count(api, ctx):
    """network_get_all keeps the original's NoNetworksFound when empty."""
    with pytest.raises(exception.NoNetworksFound):
        api.network_get_all(ctx)
    assert api.network_count(ctx) == 0
    first = _network(api, ctx)
    second = _network(api, ctx, cidr="10.0.1.0/29")

    assert api.network_get_all(ctx) == [first, second]
    assert api.network_count(ctx) == 2


def test_get_all_by_uuids(api, ctx, user_ctx):
    first = _network(api, ctx)
    second = _network(api, ctx, cidr="10.0.1.0/29")
    theirs = _network(api, ctx, cidr="10.0.2.0/29", project_id="other")

    assert api.network_get_all_by_uuids(
        ctx, [second["uuid"], first["uuid"]]
    ) == [second, first]
    with pytest.raises(exception.NoNetworksFound):
        api.network_get_all_by_uuids(ctx, [_uuid()])
    with pytest.raises(exception.NetworkNotFoundForProject) as info:
        api.network_get_all_by_uuids(
            user_ctx, [first["uuid"], theirs["uuid"]]
        )
    assert info.value.kwargs == {
        "network_uuid": theirs["uuid"], "project_id": "fake-project",
    }
    missing = _uuid()
    with pytest.raises(exception.NetworkNotFound) as info:
        api.network_get_all_by_uuids(
            ctx, [first["uuid"], missing], project_only=False
        )
    assert info.value.kwargs == {"network_id": missing}
    with pytest.raises(exception.InvalidInput):
        api.network_get_all_by_uuids(ctx, first["uuid"])


def test_get_by_bridge_cidr_and_uuid(api, ctx):
    net = _network(api, ctx, bridge="br100", cidr_v6="2001:db8::/64")

    assert api.network_get_by_bridge(ctx, "br100") == net
    assert api.network_get_by_cidr(ctx, "10.0.0.0/29") == net
    assert api.network_get_by_cidr(ctx, "2001:DB8:0::/64") == net
    assert api.network_get_by_uuid(ctx, net["uuid"]) == net
    for call, arg, error, kwargs in (
        (api.network_get_by_bridge, "br1", exception.NetworkNotFoundForBridge,
         {"bridge": "br1"}),
        (api.network_get_by_cidr, "10.0.9.0/29",
         exception.NetworkNotFoundForCidr, {"cidr": "10.0.9.0/29"}),
        (api.network_get_by_uuid, "u1", exception.NetworkNotFoundForUUID,
         {"uuid": "u1"}),
    ):
        with pytest.raises(error) as info:
            call(ctx, arg)
        assert info.value.kwargs == kwargs
    with pytest.raises(exception.InvalidCidr):
        api.network_get_by_cidr(ctx, "10.0.0.0/99")


def test_get_by_instance_goes_through_fixed_ips(api, ctx):
    """The original filtered networks on an ``instance_id`` column they do
    not have, so both functions always failed; they find the networks in
    which the instance (by uuid) has a live fixed IP."""
    first = _network(api, ctx)
    second = _network(api, ctx, cidr="10.0.1.0/29")
    _network(api, ctx, cidr="10.0.2.0/29")
    inst = _uuid()
    _ips(api, ctx, second["id"], "10.0.1.2", instance_uuid=inst)
    _ips(api, ctx, first["id"], "10.0.0.2", "10.0.0.3", instance_uuid=inst)

    assert api.network_get_by_instance(ctx, inst) == first
    assert api.network_get_all_by_instance(ctx, inst) == [first, second]
    other = _uuid()
    for call in (api.network_get_by_instance,
                 api.network_get_all_by_instance):
        with pytest.raises(exception.NetworkNotFoundForInstance) as info:
            call(ctx, other)
        assert info.value.kwargs == {"instance_id": other}
        with pytest.raises(exception.InvalidUUID):
            call(ctx, "not-a-uuid")


def test_get_by_instance_accepts_the_integer_id(api, ctx):
    net = _network(api, ctx)
    inst = _instance(api, ctx)
    _ips(api, ctx, net["id"], "10.0.0.2", instance_uuid=inst["uuid"])

    assert api.network_get_by_instance(ctx, inst["id"]) == net


def test_get_all_by_host(api, ctx):
    by_host = _network(api, ctx, host="h1")
    by_ip = _network(api, ctx, cidr="10.0.1.0/29", host="h2")
    _network(api, ctx, cidr="10.0.2.0/29", host="h2")
    _ips(api, ctx, by_ip["id"], "10.0.1.2", host="h1")

    assert api.network_get_all_by_host(ctx, "h1") == [by_host, by_ip]
    assert api.network_get_all_by_host(ctx, "h3") == []


def test_get_associated_fixed_ips(api, ctx):
    net = _network(api, ctx)
    on_h1 = _instance(api, ctx, host="h1", hostname="vm1")
    on_h2 = _instance(api, ctx, host="h2", hostname="vm2")
    vif1 = api.virtual_interface_create(
        ctx, {"address": "aa:01", "instance_uuid": on_h1["uuid"]}
    )
    vif2 = api.virtual_interface_create(
        ctx, {"address": "aa:02", "instance_uuid": on_h2["uuid"]}
    )
    _ips(api, ctx, net["id"], "10.0.0.2", instance_uuid=on_h1["uuid"],
         virtual_interface_id=vif1["id"], allocated=True)
    _ips(api, ctx, net["id"], "10.0.0.3", instance_uuid=on_h2["uuid"],
         virtual_interface_id=vif2["id"], allocated=True)
    _ips(api, ctx, net["id"], "10.0.0.4", instance_uuid=on_h2["uuid"])

    rows = api.network_get_associated_fixed_ips(ctx, net["id"])

    assert [r["address"] for r in rows] == ["10.0.0.2", "10.0.0.3"]
    assert rows[0] == {
        "address": "10.0.0.2",
        "instance_uuid": on_h1["uuid"],
        "network_id": net["id"],
        "vif_id": vif1["id"],
        "vif_address": "aa:01",
        "instance_hostname": "vm1",
        "instance_updated": on_h1["updated_at"],
        "instance_created": on_h1["created_at"],
    }
    assert isinstance(rows[0], dict)
    assert rows[0]["instance_created"].tzinfo is not None
    only_h2 = api.network_get_associated_fixed_ips(ctx, net["id"], host="h2")
    assert [r["address"] for r in only_h2] == ["10.0.0.3"]
    assert api.network_get_associated_fixed_ips(ctx, net["id"] + 1) == []


def test_count_reserved_ips(api, ctx):
    net = _network(api, ctx)
    _ips(api, ctx, net["id"], "10.0.0.0", "10.0.0.1", reserved=True)
    _ips(api, ctx, net["id"], "10.0.0.2")

    assert api.network_count_reserved_ips(ctx, net["id"]) == 2
    assert api.network_count_reserved_ips(ctx, net["id"] + 1) == 0


# --------------------------------------------------------------------------
# Association, hosts, indexes


def test_associate_keeps_a_projects_network_unless_forced(api, ctx):
    first = _network(api, ctx)
    second = _network(api, ctx, cidr="10.0.1.0/29")

    got = api.network_associate(ctx, "p1")
    assert (got["id"], got["project_id"]) == (first["id"], "p1")
    assert api.network_associate(ctx, "p1")["id"] == first["id"]

    forced = api.network_associate(ctx, "p1", force=True)
    assert (forced["id"], forced["project_id"]) == (second["id"], "p1")
    with pytest.raises(exception.NoMoreNetworks):
        api.network_associate(ctx, "p2")
    with pytest.raises(exception.InvalidInput):
        api.network_associate(ctx, None)


def test_associate_a_given_network(api, ctx):
    _network(api, ctx)
    second = _network(api, ctx, cidr="10.0.1.0/29")

    got = api.network_associate(ctx, "p1", network_id=second["id"])

    assert got["id"] == second["id"]
    with pytest.raises(exception.NoMoreNetworks):
        api.network_associate(ctx, "p2", second["id"], force=True)


def test_project_get_networks_associates_on_demand(api, ctx, user_ctx):
    net = _network(api, ctx)

    assert api.project_get_networks(ctx, "p1", associate=False) == []
    got = api.project_get_networks(ctx, "p1")

    assert [n["id"] for n in got] == [net["id"]]
    assert api.project_get_networks(ctx, "p1") == got
    with pytest.raises(exception.NotAuthorized):
        api.project_get_networks(user_ctx, "p1")
    with pytest.raises(exception.NoMoreNetworks):
        api.project_get_networks(ctx, "p2")


def test_project_get_networks_association_needs_an_admin(
    api, ctx, user_ctx
):
    """The association step is network_associate, an admin function (as in
    the original, which callers used with elevated contexts): a user only
    reads its project's networks."""
    _network(api, ctx)

    assert api.project_get_networks(user_ctx, "fake-project", False) == []
    with pytest.raises(exception.AdminRequired):
        api.project_get_networks(user_ctx, "fake-project")
    api.network_associate(ctx, "fake-project")
    assert len(api.project_get_networks(user_ctx, "fake-project")) == 1


def test_set_host_only_when_unset(api, ctx):
    net = _network(api, ctx)

    assert api.network_set_host(ctx, net["id"], "h1") == "h1"
    assert api.network_set_host(ctx, net["id"], "h2") == "h1"
    assert api.network_get(ctx, net["id"])["host"] == "h1"
    with pytest.raises(exception.NetworkNotFound):
        api.network_set_host(ctx, net["id"] + 1, "h1")
    with pytest.raises(exception.InvalidInput):
        api.network_set_host(ctx, net["id"], "")


def test_get_index_is_lowest_free_and_stable(api, ctx):
    """The original had no implementation (AttributeError): each live
    network gets the lowest index >= 0 no other live network holds, and
    keeps it."""
    nets = [
        _network(api, ctx, cidr=f"10.0.{i}.0/29") for i in range(3)
    ]

    assert [api.network_get_index(ctx, n["id"]) for n in nets] == [0, 1, 2]
    assert api.network_get_index(ctx, nets[1]["id"]) == 1
    assert api.network_get(ctx, nets[2]["id"])["network_index"] == 2

    api.network_delete_safe(ctx, nets[1]["id"])
    fresh = _network(api, ctx, cidr="10.0.9.0/29")
    assert api.network_get_index(ctx, fresh["id"]) == 1
    with pytest.raises(exception.NetworkNotFound):
        api.network_get_index(ctx, nets[1]["id"])


# --------------------------------------------------------------------------
# CIDRs and their fixed IPs


def test_set_cidr_sets_the_derived_fields(api, ctx):
    """Not implemented by the original (AttributeError)."""
    net = _network(api, ctx, dhcp_start="10.0.0.3",
                   vpn_private_address="10.0.0.2")

    row = api.network_set_cidr(ctx, net["id"], "192.168.4.0/22")

    assert row["cidr"] == "192.168.4.0/22"
    assert row["netmask"] == "255.255.252.0"
    assert row["gateway"] == "192.168.4.1"
    assert row["broadcast"] == "192.168.7.255"
    assert row["dhcp_start"] == "192.168.4.2"
    assert row["vpn_private_address"] is None
    assert api.network_get(ctx, net["id"]) == row

    row = api.network_set_cidr(ctx, net["id"], "2001:db8:1::/64")
    assert row["cidr_v6"] == "2001:db8:1::/64"
    assert (row["netmask_v6"], row["gateway_v6"]) == ("64", "2001:db8:1::1")
    assert row["cidr"] == "192.168.4.0/22"


def test_set_cidr_keeps_addresses_inside_the_new_range(api, ctx):
    net = _network(api, ctx, cidr="10.0.0.0/29", dhcp_start="10.0.0.3")

    row = api.network_set_cidr(ctx, net["id"], "10.0.0.0/24")

    assert row["dhcp_start"] == "10.0.0.3"


@pytest.mark.parametrize(
    "cidr", ["10.0.0.0/33", "10.0.0.1/24", "10.0.0.0/31", "2001:db8::/127",
             "nonsense", 42],
)
def test_set_cidr_rejects_bad_cidrs(api, ctx, cidr):
    net = _network(api, ctx)

    with pytest.raises(exception.InvalidCidr):
        api.network_set_cidr(ctx, net["id"], cidr)
    assert api.network_get(ctx, net["id"]) == net


def test_set_cidr_refuses_to_strand_fixed_ips(api, ctx):
    net = _network(api, ctx)
    empty = _network(api, ctx, cidr="10.0.1.0/29")
    _ips(api, ctx, net["id"], "10.0.0.2")

    with pytest.raises(exception.NetworkInUse) as info:
        api.network_set_cidr(ctx, net["id"], "10.0.2.0/29")
    assert info.value.kwargs == {"network_id": net["id"]}
    with pytest.raises(exception.NetworkExists):
        api.network_set_cidr(ctx, empty["id"], "10.0.0.0/29")
    with pytest.raises(exception.NetworkNotFound):
        api.network_set_cidr(ctx, net["id"] + 5, "10.0.5.0/29")
    assert api.network_set_cidr(ctx, net["id"], "10.0.0.0/28")["cidr"] == (
        "10.0.0.0/28"
    )


def test_create_fixed_ips_reserves_network_gateway_vpn_and_broadcast(
    api, ctx
):
    """Not implemented by the original (AttributeError).  Reserved: the
    network address, the gateway, the VPN server (vpn_private_address)
    and, below the broadcast address, num_vpn_clients addresses."""
    net = _network(api, ctx, cidr="10.0.0.0/28", gateway="10.0.0.1",
                   vpn_private_address="10.0.0.2")

    assert api.network_create_fixed_ips(ctx, net["id"], 2) == 16

    rows = api.fixed_ip_get_all(ctx)
    reserved = [r["address"] for r in rows if r["reserved"]]
    assert reserved == ["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.13",
                        "10.0.0.14", "10.0.0.15"]
    assert {r["network_id"] for r in rows} == {net["id"]}
    assert api.network_count_reserved_ips(ctx, net["id"]) == 6
    assert api.fixed_ip_associate_pool(ctx, net["id"], host="h") == "10.0.0.3"


def test_create_fixed_ips_of_an_ipv6_range(api, ctx):
    net = _network(api, ctx, cidr=None, cidr_v6="2001:db8::/124")

    assert api.network_create_fixed_ips(ctx, net["id"], 0) == 16

    reserved = [r["address"] for r in api.fixed_ip_get_all(ctx)
                if r["reserved"]]
    assert reserved == ["2001:db8::", "2001:db8::1"]


def test_create_fixed_ips_twice_fails_without_writing(api, ctx):
    net = _network(api, ctx)
    api.network_create_fixed_ips(ctx, net["id"], 0)

    with pytest.raises(exception.FixedIpExists) as info:
        api.network_create_fixed_ips(ctx, net["id"], 0)

    assert info.value.kwargs == {"address": "10.0.0.0"}
    assert len(api.fixed_ip_get_all(ctx)) == 8


def test_create_fixed_ips_a_larger_range_in_bulk(api, ctx):
    net = _network(api, ctx, cidr="10.1.0.0/20")

    assert api.network_create_fixed_ips(ctx, net["id"], 0) == 4096
    assert api.network_count_reserved_ips(ctx, net["id"]) == 3


@pytest.mark.parametrize(
    "values, clients, error",
    [
        ({"cidr": "10.0.0.0/15"}, 0, exception.InvalidCidr),
        ({"cidr": None, "cidr_v6": "2001:db8::/64"}, 0, exception.InvalidCidr),
        ({"cidr": None}, 0, exception.InvalidCidr),
        ({}, -1, exception.InvalidInput),
        ({}, "2", exception.InvalidInput),
        ({}, 6, exception.InvalidInput),
    ],
)
def test_create_fixed_ips_rejects_bad_input(api, ctx, values, clients, error):
    net = _network(api, ctx, **values)

    with pytest.raises(error):
        api.network_create_fixed_ips(ctx, net["id"], clients)
    with pytest.raises(exception.NoFixedIpsDefined):
        api.fixed_ip_get_all(ctx)


def test_create_fixed_ips_of_a_missing_network(api, ctx):
    with pytest.raises(exception.NetworkNotFound) as info:
        api.network_create_fixed_ips(ctx, 7, 0)
    assert info.value.kwargs == {"network_id": 7}
