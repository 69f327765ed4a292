"""Floating IPs: creation, allocation, association and the lookups."""

from __future__ import annotations

import datetime
import uuid

import pytest

from db import exception

INSTANCE = "11111111-2222-3333-4444-555555555555"


def _create(api, ctx, address="10.0.0.1", **values):
    values.setdefault("pool", "nova")
    return api.floating_ip_create(ctx, {"address": address, **values})


def _fixed(api, ctx, address="192.168.0.2", instance_uuid=INSTANCE):
    return api.fixed_ip_create(
        ctx, {"address": address, "instance_uuid": instance_uuid}
    )


def _addresses(rows):
    return [row["address"] for row in rows]


# --------------------------------------------------------------------------
# floating_ip_create / bulk_create / destroy / bulk_destroy


def test_create_returns_the_address_and_stores_the_row(api, ctx):
    assert _create(api, ctx, interface="eth0") == "10.0.0.1"

    row = api.floating_ip_get_by_address(ctx, "10.0.0.1")
    assert isinstance(row, dict)
    assert row["address"] == row.address == "10.0.0.1"
    assert row["pool"] == "nova"
    assert row["interface"] == "eth0"
    assert row["project_id"] is None
    assert row["fixed_ip_id"] is None
    assert row["auto_assigned"] is False
    assert isinstance(row["id"], int)
    assert isinstance(row["created_at"], datetime.datetime)


def test_create_stores_the_canonical_form_of_an_ipv6_address(api, ctx):
    assert _create(api, ctx, "2001:DB8:0:0::1") == "2001:db8::1"

    row = api.floating_ip_get_by_address(ctx, "2001:db8:0::0:1")
    assert row["address"] == "2001:db8::1"


def test_create_duplicate_live_address_raises_floating_ip_exists(api, ctx):
    _create(api, ctx)

    with pytest.raises(exception.FloatingIpExists) as info:
        _create(api, ctx, pool="other")
    assert info.value.kwargs == {"address": "10.0.0.1"}
    assert len(api.floating_ip_get_all(ctx)) == 1


def test_create_after_destroy_reuses_the_address(api, ctx):
    _create(api, ctx)
    api.floating_ip_destroy(ctx, "10.0.0.1")

    assert _create(api, ctx) == "10.0.0.1"
    assert len(api.floating_ip_get_all(ctx)) == 1


@pytest.mark.parametrize("address", [None, "", "10.0.0.300", "nova", 42])
def test_create_rejects_a_bad_address(api, ctx, address):
    with pytest.raises(exception.InvalidIpAddress):
        api.floating_ip_create(ctx, {"address": address})
    with pytest.raises(exception.NoFloatingIpsDefined):
        api.floating_ip_get_all(ctx)


def test_create_rejects_unknown_columns_and_bad_values(api, ctx):
    with pytest.raises(exception.InvalidColumn):
        _create(api, ctx, colour="red")
    with pytest.raises(exception.InvalidValue):
        _create(api, ctx, auto_assigned="maybe")
    with pytest.raises(exception.NoFloatingIpsDefined):
        api.floating_ip_get_all(ctx)


def test_bulk_create_creates_every_address(api, ctx):
    ips = [{"address": f"10.0.1.{n}", "pool": "bulk"} for n in range(1, 6)]

    assert api.floating_ip_bulk_create(ctx, ips) is None

    rows = api.floating_ip_get_all(ctx)
    assert _addresses(rows) == [f"10.0.1.{n}" for n in range(1, 6)]
    assert {row["pool"] for row in rows} == {"bulk"}


def test_bulk_create_is_all_or_nothing_on_an_existing_address(api, ctx):
    _create(api, ctx, "10.0.1.3")
    ips = [{"address": f"10.0.1.{n}"} for n in range(1, 6)]

    with pytest.raises(exception.FloatingIpExists) as info:
        api.floating_ip_bulk_create(ctx, ips)
    assert info.value.kwargs == {"address": "10.0.1.3"}
    assert _addresses(api.floating_ip_get_all(ctx)) == ["10.0.1.3"]


def test_bulk_create_rejects_an_address_repeated_in_the_list(api, ctx):
    ips = [{"address": "10.0.1.1"}, {"address": "10.0.1.2"},
           {"address": "10.0.1.1"}]

    with pytest.raises(exception.FloatingIpExists) as info:
        api.floating_ip_bulk_create(ctx, ips)
    assert info.value.kwargs == {"address": "10.0.1.1"}
    with pytest.raises(exception.NoFloatingIpsDefined):
        api.floating_ip_get_all(ctx)


def test_bulk_create_checks_every_entry_before_writing(api, ctx):
    ips = [{"address": "10.0.1.1"}, {"address": "not-an-ip"}]

    with pytest.raises(exception.InvalidIpAddress):
        api.floating_ip_bulk_create(ctx, ips)
    with pytest.raises(exception.InvalidInput):
        api.floating_ip_bulk_create(ctx, {"address": "10.0.1.1"})
    with pytest.raises(exception.NoFloatingIpsDefined):
        api.floating_ip_get_all(ctx)


def test_bulk_destroy_soft_deletes_across_chunks(api, ctx):
    """More than one 256-address IN clause; dicts or plain strings."""
    addresses = [f"10.1.{n // 250}.{n % 250 + 1}" for n in range(300)]
    api.floating_ip_bulk_create(ctx, [{"address": a} for a in addresses])

    doomed = [{"address": a} for a in addresses[:200]] + addresses[200:280]
    assert api.floating_ip_bulk_destroy(ctx, doomed) is None

    assert _addresses(api.floating_ip_get_all(ctx)) == addresses[280:]
    with pytest.raises(exception.FloatingIpNotFoundForAddress):
        api.floating_ip_get_by_address(ctx, addresses[0])
    deleted = api.floating_ip_get_by_address(
        ctx.elevated(read_deleted="yes"), addresses[0]
    )
    assert deleted["deleted"] != 0
    assert isinstance(deleted["deleted_at"], datetime.datetime)


def test_destroy_soft_deletes_and_raises_when_missing(api, ctx):
    _create(api, ctx)

    assert api.floating_ip_destroy(ctx, "10.0.0.1") is None

    with pytest.raises(exception.FloatingIpNotFoundForAddress) as info:
        api.floating_ip_destroy(ctx, "10.0.0.1")
    assert info.value.kwargs == {"address": "10.0.0.1"}


# --------------------------------------------------------------------------
# floating_ip_allocate_address / deallocate


def test_allocate_hands_out_free_addresses_of_the_pool_then_raises(
    api, ctx
):
    _create(api, ctx, "10.0.0.1")
    _create(api, ctx, "10.0.0.2")
    _create(api, ctx, "10.0.0.3", pool="other")

    first = api.floating_ip_allocate_address(ctx, "proj", "nova")
    second = api.floating_ip_allocate_address(ctx, "proj", "nova")

    assert {first, second} == {"10.0.0.1", "10.0.0.2"}
    assert isinstance(first, str)
    with pytest.raises(exception.NoMoreFloatingIps):
        api.floating_ip_allocate_address(ctx, "proj", "nova")
    assert api.floating_ip_get_by_address(ctx, first)["project_id"] == "proj"
    assert api.floating_ip_get_by_address(ctx, "10.0.0.3")[
        "project_id"
    ] is None


def test_allocate_skips_associated_and_deleted_addresses(api, ctx):
    _fixed(api, ctx)
    _create(api, ctx, "10.0.0.1")
    _create(api, ctx, "10.0.0.2")
    _create(api, ctx, "10.0.0.3")
    api.floating_ip_fixed_ip_associate(ctx, "10.0.0.1", "192.168.0.2", "h")
    api.floating_ip_destroy(ctx, "10.0.0.2")

    assert api.floating_ip_allocate_address(ctx, "p", "nova") == "10.0.0.3"
    with pytest.raises(exception.NoMoreFloatingIps):
        api.floating_ip_allocate_address(ctx, "p", "nova")


def test_allocate_from_an_unknown_pool_raises_no_more_floating_ips(
    api, ctx
):
    _create(api, ctx)

    with pytest.raises(exception.NoMoreFloatingIps) as info:
        api.floating_ip_allocate_address(ctx, "proj", "elsewhere")
    assert isinstance(info.value, exception.FloatingIpNotFound)


def test_allocate_authorises_the_project_of_a_user_context(
    api, ctx, user_ctx
):
    _create(api, ctx, "10.0.0.1")

    with pytest.raises(exception.NotAuthorized):
        api.floating_ip_allocate_address(user_ctx, "other-project", "nova")
    assert api.floating_ip_allocate_address(
        user_ctx, "fake-project", "nova"
    ) == "10.0.0.1"


def test_allocate_rejects_a_missing_project(api, ctx):
    _create(api, ctx)

    with pytest.raises(exception.InvalidInput):
        api.floating_ip_allocate_address(ctx, None, "nova")
    assert api.floating_ip_get_by_address(ctx, "10.0.0.1")[
        "project_id"
    ] is None


def test_deallocate_clears_project_host_and_auto_assigned(api, ctx):
    _fixed(api, ctx)
    _create(api, ctx)
    api.floating_ip_allocate_address(ctx, "proj", "nova")
    api.floating_ip_set_auto_assigned(ctx, "10.0.0.1")
    api.floating_ip_fixed_ip_associate(ctx, "10.0.0.1", "192.168.0.2", "h")

    assert api.floating_ip_deallocate(ctx, "10.0.0.1") is None

    row = api.floating_ip_get_by_address(ctx, "10.0.0.1")
    assert (row["project_id"], row["host"], row["auto_assigned"]) == (
        None, None, False,
    )
    # The association is floating_ip_disassociate's business.
    assert row["fixed_ip_id"] is not None
    with pytest.raises(exception.FloatingIpNotFoundForAddress):
        api.floating_ip_deallocate(ctx, "10.9.9.9")


# --------------------------------------------------------------------------
# Association


def test_associate_sets_fixed_ip_and_host_and_returns_the_fixed_ip(
    api, ctx
):
    _fixed(api, ctx)
    _create(api, ctx)

    fixed = api.floating_ip_fixed_ip_associate(
        ctx, "10.0.0.1", "192.168.0.2", "net-host"
    )

    assert isinstance(fixed, dict)
    assert fixed["address"] == "192.168.0.2"
    row = api.floating_ip_get_by_address(ctx, "10.0.0.1")
    assert row["fixed_ip_id"] == fixed["id"]
    assert row["host"] == "net-host"


def test_associate_again_with_the_same_fixed_ip_is_a_no_op(api, ctx):
    """The original rewrote the row every time; we change nothing and
    return None, so the caller knows there is nothing to plumb."""
    _fixed(api, ctx)
    _create(api, ctx)
    api.floating_ip_fixed_ip_associate(ctx, "10.0.0.1", "192.168.0.2", "h")
    before = api.floating_ip_get_by_address(ctx, "10.0.0.1")

    assert api.floating_ip_fixed_ip_associate(
        ctx, "10.0.0.1", "192.168.0.2", "h"
    ) is None
    assert api.floating_ip_get_by_address(ctx, "10.0.0.1") == before


def test_associate_with_the_same_fixed_ip_on_a_new_host_moves_it(
    api, ctx
):
    _fixed(api, ctx)
    _create(api, ctx)
    api.floating_ip_fixed_ip_associate(ctx, "10.0.0.1", "192.168.0.2", "h1")

    fixed = api.floating_ip_fixed_ip_associate(
        ctx, "10.0.0.1", "192.168.0.2", "h2"
    )

    assert fixed["address"] == "192.168.0.2"
    assert api.floating_ip_get_by_address(ctx, "10.0.0.1")["host"] == "h2"


def test_associate_moves_an_associated_ip(api, ctx):
    _fixed(api, ctx, "192.168.0.2")
    _fixed(api, ctx, "192.168.0.3")
    _create(api, ctx)
    api.floating_ip_fixed_ip_associate(ctx, "10.0.0.1", "192.168.0.2", "h1")

    fixed = api.floating_ip_fixed_ip_associate(
        ctx, "10.0.0.1", "192.168.0.3", "h2"
    )

    assert fixed["address"] == "192.168.0.3"
    row = api.floating_ip_get_by_address(ctx, "10.0.0.1")
    assert (row["fixed_ip_id"], row["host"]) == (fixed["id"], "h2")


def test_associate_raises_for_unknown_addresses(api, ctx):
    _fixed(api, ctx)
    _create(api, ctx)

    with pytest.raises(exception.FloatingIpNotFoundForAddress) as info:
        api.floating_ip_fixed_ip_associate(
            ctx, "10.9.9.9", "192.168.0.2", "h"
        )
    assert info.value.kwargs == {"address": "10.9.9.9"}
    with pytest.raises(exception.FixedIpNotFoundForAddress) as info:
        api.floating_ip_fixed_ip_associate(
            ctx, "10.0.0.1", "192.168.9.9", "h"
        )
    assert info.value.kwargs == {"address": "192.168.9.9"}
    assert api.floating_ip_get_by_address(ctx, "10.0.0.1")[
        "fixed_ip_id"
    ] is None


def test_associate_authorises_the_fixed_ips_instance_for_a_user(
    api, ctx, user_ctx
):
    api.instance_create(
        ctx, {"uuid": INSTANCE, "project_id": "other-project",
              "user_id": "other-user"},
    )
    _fixed(api, ctx)
    _create(api, ctx)

    with pytest.raises(exception.NotAuthorized):
        api.floating_ip_fixed_ip_associate(
            user_ctx, "10.0.0.1", "192.168.0.2", "h"
        )
    assert api.floating_ip_get_by_address(ctx, "10.0.0.1")[
        "fixed_ip_id"
    ] is None


def test_disassociate_returns_the_fixed_address_and_clears_the_link(
    api, ctx
):
    _fixed(api, ctx)
    _create(api, ctx)
    api.floating_ip_allocate_address(ctx, "proj", "nova")
    api.floating_ip_fixed_ip_associate(ctx, "10.0.0.1", "192.168.0.2", "h")

    assert api.floating_ip_disassociate(ctx, "10.0.0.1") == "192.168.0.2"

    row = api.floating_ip_get_by_address(ctx, "10.0.0.1")
    assert (row["fixed_ip_id"], row["host"]) == (None, None)
    assert row["project_id"] == "proj"


def test_disassociate_an_unassociated_ip_returns_none(api, ctx):
    """The original looked up fixed_ip_get(None) and so raised
    FixedIpNotFound for an IP that was not associated; we return None."""
    _create(api, ctx)

    assert api.floating_ip_disassociate(ctx, "10.0.0.1") is None
    with pytest.raises(exception.FloatingIpNotFoundForAddress):
        api.floating_ip_disassociate(ctx, "10.9.9.9")


# --------------------------------------------------------------------------
# Lookups


def test_get_by_id_and_not_found(api, ctx):
    _create(api, ctx)
    row = api.floating_ip_get_by_address(ctx, "10.0.0.1")

    assert api.floating_ip_get(ctx, row["id"]) == row
    for missing in (row["id"] + 1, "junk", 2**40, None):
        with pytest.raises(exception.FloatingIpNotFound) as info:
            api.floating_ip_get(ctx, missing)
        assert info.value.kwargs == {"id": missing}


def test_get_by_address_authorises_an_allocated_ip_for_a_user(
    api, ctx, user_ctx
):
    _create(api, ctx, "10.0.0.1")
    _create(api, ctx, "10.0.0.2")
    api.floating_ip_update(ctx, "10.0.0.1", {"project_id": "other-project"})

    with pytest.raises(exception.NotAuthorized):
        api.floating_ip_get_by_address(user_ctx, "10.0.0.1")
    # An unallocated address is anyone's to look at.
    assert api.floating_ip_get_by_address(user_ctx, "10.0.0.2")[
        "address"
    ] == "10.0.0.2"


def test_get_by_address_rejects_a_non_string(api, ctx):
    with pytest.raises(exception.InvalidIpAddress):
        api.floating_ip_get_by_address(ctx, 10)
    with pytest.raises(exception.FloatingIpNotFoundForAddress):
        api.floating_ip_get_by_address(ctx, "not-an-ip")


def test_get_all_raises_no_floating_ips_defined_when_empty(api, ctx):
    with pytest.raises(exception.NoFloatingIpsDefined):
        api.floating_ip_get_all(ctx)
    _create(api, ctx, "10.0.0.2")
    _create(api, ctx, "10.0.0.1")

    rows = api.floating_ip_get_all(ctx)
    assert isinstance(rows, list)
    assert _addresses(rows) == ["10.0.0.2", "10.0.0.1"]


def test_get_all_and_get_all_by_host_need_an_admin(api, user_ctx):
    with pytest.raises(exception.AdminRequired):
        api.floating_ip_get_all(user_ctx)
    with pytest.raises(exception.AdminRequired):
        api.floating_ip_get_all_by_host(user_ctx, "h")


def test_get_all_by_host_raises_when_the_host_has_none(api, ctx):
    _create(api, ctx, "10.0.0.1", host="h1")
    _create(api, ctx, "10.0.0.2", host="h2")

    assert _addresses(api.floating_ip_get_all_by_host(ctx, "h1")) == [
        "10.0.0.1"
    ]
    with pytest.raises(exception.FloatingIpNotFoundForHost) as info:
        api.floating_ip_get_all_by_host(ctx, "h3")
    assert info.value.kwargs == {"host": "h3"}


def test_get_all_by_project_and_count_exclude_auto_assigned(api, ctx):
    for n in range(1, 5):
        _create(api, ctx, f"10.0.0.{n}")
    for _ in range(3):
        api.floating_ip_allocate_address(ctx, "proj", "nova")
    api.floating_ip_set_auto_assigned(ctx, "10.0.0.2")

    rows = api.floating_ip_get_all_by_project(ctx, "proj")
    assert _addresses(rows) == ["10.0.0.1", "10.0.0.3"]
    assert api.floating_ip_count_by_project(ctx, "proj") == 2
    assert api.floating_ip_count_by_project(ctx, "nobody") == 0
    assert api.floating_ip_get_all_by_project(ctx, "nobody") == []


def test_project_queries_authorise_a_user_context(api, ctx, user_ctx):
    _create(api, ctx)
    api.floating_ip_allocate_address(ctx, "fake-project", "nova")

    assert api.floating_ip_count_by_project(user_ctx, "fake-project") == 1
    assert len(api.floating_ip_get_all_by_project(user_ctx,
                                                  "fake-project")) == 1
    with pytest.raises(exception.NotAuthorized):
        api.floating_ip_count_by_project(user_ctx, "other-project")
    with pytest.raises(exception.NotAuthorized):
        api.floating_ip_get_all_by_project(user_ctx, "other-project")


def test_get_by_fixed_address(api, ctx):
    _fixed(api, ctx, "192.168.0.2")
    _fixed(api, ctx, "192.168.0.3")
    _create(api, ctx, "10.0.0.1")
    _create(api, ctx, "10.0.0.2")
    api.floating_ip_fixed_ip_associate(ctx, "10.0.0.1", "192.168.0.2", "h")
    api.floating_ip_fixed_ip_associate(ctx, "10.0.0.2", "192.168.0.2", "h")

    rows = api.floating_ip_get_by_fixed_address(ctx, "192.168.0.2")
    assert _addresses(rows) == ["10.0.0.1", "10.0.0.2"]
    assert api.floating_ip_get_by_fixed_address(ctx, "192.168.0.3") == []
    with pytest.raises(exception.FixedIpNotFoundForAddress) as info:
        api.floating_ip_get_by_fixed_address(ctx, "192.168.9.9")
    assert info.value.kwargs == {"address": "192.168.9.9"}


def test_get_by_fixed_ip_id(api, ctx):
    _fixed(api, ctx)
    _create(api, ctx)
    fixed = api.floating_ip_fixed_ip_associate(
        ctx, "10.0.0.1", "192.168.0.2", "h"
    )

    rows = api.floating_ip_get_by_fixed_ip_id(ctx, fixed["id"])
    assert _addresses(rows) == ["10.0.0.1"]
    assert api.floating_ip_get_by_fixed_ip_id(ctx, fixed["id"] + 1) == []
    assert api.floating_ip_get_by_fixed_ip_id(ctx, "junk") == []


def test_get_pools_lists_each_pool_once(api, ctx):
    assert api.floating_ip_get_pools(ctx) == []
    _create(api, ctx, "10.0.0.1", pool="public")
    _create(api, ctx, "10.0.0.2", pool="nova")
    _create(api, ctx, "10.0.0.3", pool="public")

    pools = api.floating_ip_get_pools(ctx)
    assert pools == [{"name": "nova"}, {"name": "public"}]
    assert all(type(pool) is dict for pool in pools)


def test_set_auto_assigned(api, ctx):
    _create(api, ctx)

    assert api.floating_ip_set_auto_assigned(ctx, "10.0.0.1") is None
    assert api.floating_ip_get_by_address(ctx, "10.0.0.1")[
        "auto_assigned"
    ] is True
    with pytest.raises(exception.FloatingIpNotFoundForAddress):
        api.floating_ip_set_auto_assigned(ctx, "10.9.9.9")


def test_update_returns_the_row_and_checks_its_values(api, ctx):
    """The original returned None; we return the updated row."""
    _create(api, ctx, "10.0.0.1")
    _create(api, ctx, "10.0.0.2")

    row = api.floating_ip_update(ctx, "10.0.0.1", {"host": "h", "pool": "p"})
    assert (row["address"], row["host"], row["pool"]) == ("10.0.0.1", "h",
                                                         "p")
    assert api.floating_ip_get_by_address(ctx, "10.0.0.1") == row

    with pytest.raises(exception.FloatingIpExists) as info:
        api.floating_ip_update(ctx, "10.0.0.1", {"address": "10.0.0.2"})
    assert info.value.kwargs == {"address": "10.0.0.2"}
    with pytest.raises(exception.InvalidColumn):
        api.floating_ip_update(ctx, "10.0.0.1", {"colour": "red"})
    with pytest.raises(exception.FloatingIpNotFoundForAddress):
        api.floating_ip_update(ctx, "10.9.9.9", {"host": "h"})
    assert api.floating_ip_get_by_address(ctx, "10.0.0.1") == row


# --------------------------------------------------------------------------
# instance_get_floating_address


def test_instance_floating_address_is_the_first_of_the_first_fixed_ip(
    api, ctx
):
    _fixed(api, ctx, "192.168.0.2")
    _fixed(api, ctx, "192.168.0.3")
    _create(api, ctx, "10.0.0.1")
    _create(api, ctx, "10.0.0.2")
    _create(api, ctx, "10.0.0.3")
    api.floating_ip_fixed_ip_associate(ctx, "10.0.0.3", "192.168.0.3", "h")

    assert api.instance_get_floating_address(ctx, INSTANCE) is None

    api.floating_ip_fixed_ip_associate(ctx, "10.0.0.2", "192.168.0.2", "h")
    api.floating_ip_fixed_ip_associate(ctx, "10.0.0.1", "192.168.0.2", "h")
    assert api.instance_get_floating_address(ctx, INSTANCE) == "10.0.0.1"


def test_instance_floating_address_raises_without_fixed_ips(api, ctx):
    """The original raised FixedIpNotFoundForInstance here (through
    fixed_ip_get_by_instance) although it meant to return None; that is
    the contract callers rely on, so it stays."""
    other = str(uuid.uuid4())

    with pytest.raises(exception.FixedIpNotFoundForInstance) as info:
        api.instance_get_floating_address(ctx, other)
    assert info.value.kwargs == {"instance_uuid": other}
    with pytest.raises(exception.InvalidUUID):
        api.instance_get_floating_address(ctx, "not-a-uuid")
