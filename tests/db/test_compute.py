"""Services, compute nodes and migrations, through ``api``."""

from __future__ import annotations

import datetime

import pytest

from db import exception, options
from tests.db._builders import make_instance

UTC = datetime.UTC


def _service(api, ctx, host="host1", topic="compute", **values):
    values = {"host": host, "binary": f"nova-{topic}", "topic": topic,
              **values}
    return api.service_create(ctx, values)


def _node(api, ctx, service, **values):
    return api.compute_node_create(
        ctx, {"service_id": service["id"], "vcpus": 4, **values}
    )


def _stats(node):
    return {stat["key"]: stat["value"] for stat in node["stats"]}


# --------------------------------------------------------------------------
# Access


@pytest.mark.parametrize(
    "name,args",
    [
        ("service_create", ({"host": "h"},)),
        ("service_get_all", ()),
        ("service_get_all_compute_sorted", ()),
        ("compute_node_get_all", ()),
        ("compute_node_statistics", ()),
        ("migration_create", ({},)),
        ("migration_get", (1,)),
    ],
)
def test_fleet_management_needs_an_admin(api, user_ctx, name, args):
    with pytest.raises(exception.AdminRequired):
        getattr(api, name)(user_ctx, *args)


# --------------------------------------------------------------------------
# Services


def test_service_create_returns_the_row_with_defaults(api, ctx):
    service = _service(api, ctx)

    assert isinstance(service, dict)
    assert service["host"] == "host1"
    assert service["disabled"] is False
    assert service["report_count"] == 0
    assert service["availability_zone"] == "nova"
    assert isinstance(service["created_at"], datetime.datetime)
    got = api.service_get(ctx, service["id"])
    assert got["topic"] == "compute"
    assert got["compute_node"] == []


def test_service_create_honours_enable_new_services(api, ctx):
    options.CONF.set_override("enable_new_services", False)
    try:
        service = _service(api, ctx, disabled=False)
    finally:
        options.CONF.clear_override("enable_new_services")

    assert service["disabled"] is True
    assert api.service_get(ctx, service["id"])["disabled"] is True


@pytest.mark.parametrize(
    "values,error",
    [
        ({"host": "h", "no_such_column": 1}, exception.InvalidColumn),
        ({"host": "h", "report_count": "lots"}, exception.InvalidValue),
        ({"host": {"a": 1}}, exception.InvalidValue),
        (["host", "h"], exception.InvalidInput),
    ],
)
def test_service_create_rejects_bad_values_and_writes_nothing(
    api, ctx, values, error
):
    with pytest.raises(error):
        api.service_create(ctx, values)
    assert api.service_get_all(ctx) == []


def test_service_get_raises_service_not_found(api, ctx):
    with pytest.raises(exception.ServiceNotFound) as info:
        api.service_get(ctx, 4242)
    assert info.value.kwargs["service_id"] == 4242


def test_service_get_rejects_a_non_integer_id(api, ctx):
    with pytest.raises(exception.InvalidID):
        api.service_get(ctx, "not-an-id")


def test_service_get_all_filters_disabled_and_follows_read_deleted(
    api, ctx
):
    enabled = _service(api, ctx, host="a")
    disabled = _service(api, ctx, host="b", disabled=True)
    gone = _service(api, ctx, host="c")
    api.service_destroy(ctx, gone["id"])

    assert [s["id"] for s in api.service_get_all(ctx)] == [
        enabled["id"], disabled["id"]
    ]
    assert [s["id"] for s in api.service_get_all(ctx, disabled=True)] == [
        disabled["id"]
    ]
    assert [s["id"] for s in api.service_get_all(ctx, False)] == [
        enabled["id"]
    ]
    everything = api.service_get_all(ctx.elevated(read_deleted="yes"))
    assert {s["id"] for s in everything} == {
        enabled["id"], disabled["id"], gone["id"]
    }


def test_service_get_all_by_topic_skips_disabled_and_deleted(api, ctx):
    live = _service(api, ctx, host="a")
    _service(api, ctx, host="b", disabled=True)
    gone = _service(api, ctx, host="c")
    api.service_destroy(ctx, gone["id"])
    _service(api, ctx, host="a", topic="volume")

    rows = api.service_get_all_by_topic(
        ctx.elevated(read_deleted="yes"), "compute"
    )
    assert [s["id"] for s in rows] == [live["id"]]


def test_service_get_all_by_host_includes_disabled(api, ctx):
    one = _service(api, ctx, host="a")
    two = _service(api, ctx, host="a", topic="volume", disabled=True)
    _service(api, ctx, host="b")

    rows = api.service_get_all_by_host(ctx, "a")
    assert [s["id"] for s in rows] == [one["id"], two["id"]]


def test_service_get_by_host_and_topic_returns_none_when_missing(
    api, ctx
):
    """The original returned None rather than raising; so do we."""
    service = _service(api, ctx, host="a")
    _service(api, ctx, host="b", disabled=True)

    assert api.service_get_by_host_and_topic(ctx, "a", "compute")[
        "id"
    ] == service["id"]
    assert api.service_get_by_host_and_topic(ctx, "a", "volume") is None
    assert api.service_get_by_host_and_topic(ctx, "b", "compute") is None


def test_service_get_all_compute_by_host_raises_when_empty(api, ctx):
    service = _service(api, ctx, host="a")
    node = _node(api, ctx, service)
    _service(api, ctx, host="b", topic="volume")

    rows = api.service_get_all_compute_by_host(ctx, "a")
    assert [s["id"] for s in rows] == [service["id"]]
    assert [n["id"] for n in rows[0]["compute_node"]] == [node["id"]]
    with pytest.raises(exception.ComputeHostNotFound) as info:
        api.service_get_all_compute_by_host(ctx, "b")
    assert info.value.kwargs["host"] == "b"


def test_service_get_by_args_raises_host_binary_not_found(api, ctx):
    service = _service(api, ctx, host="a")
    gone = _service(api, ctx, host="b")
    api.service_destroy(ctx, gone["id"])

    assert api.service_get_by_args(ctx, "a", "nova-compute")[
        "id"
    ] == service["id"]
    with pytest.raises(exception.HostBinaryNotFound) as info:
        api.service_get_by_args(ctx, "b", "nova-compute")
    assert info.value.kwargs == {"host": "b", "binary": "nova-compute"}
    deleted = api.service_get_by_args(
        ctx.elevated(read_deleted="yes"), "b", "nova-compute"
    )
    assert deleted["id"] == gone["id"]


def test_service_update_returns_the_updated_row(api, ctx):
    """The original returned None; we return the updated row."""
    service = _service(api, ctx)

    updated = api.service_update(
        ctx, service["id"], {"report_count": 3, "disabled": True}
    )

    assert updated["id"] == service["id"]
    assert updated["report_count"] == 3
    assert updated["disabled"] is True
    assert updated["updated_at"] is not None
    assert api.service_get(ctx, service["id"])["report_count"] == 3


def test_service_update_errors(api, ctx):
    service = _service(api, ctx)
    with pytest.raises(exception.ServiceNotFound):
        api.service_update(ctx, 999, {"report_count": 1})
    with pytest.raises(exception.InvalidColumn):
        api.service_update(ctx, service["id"], {"bogus": 1})
    assert api.service_get(ctx, service["id"])["report_count"] == 0


def test_service_destroy_takes_the_compute_nodes_along(api, ctx):
    compute = _service(api, ctx, host="a")
    node = _node(api, ctx, compute)
    other = _service(api, ctx, host="b", topic="volume")
    kept = _node(api, ctx, other)

    api.service_destroy(ctx, compute["id"])
    api.service_destroy(ctx, other["id"])

    assert [n["id"] for n in api.compute_node_get_all(ctx)] == [kept["id"]]
    with pytest.raises(exception.ComputeHostNotFound):
        api.compute_node_get(ctx, node["id"])
    deleted = api.compute_node_get(
        ctx.elevated(read_deleted="yes"), node["id"]
    )
    assert deleted["deleted"] == node["id"]
    with pytest.raises(exception.ServiceNotFound):
        api.service_destroy(ctx, compute["id"])


def test_service_get_all_compute_sorted_orders_by_coalesced_vcpus(
    api, ctx
):
    """The original ordered by the uncoalesced SUM, so a host without
    instances (NULL) sorted first on SQLite/MySQL and last on PostgreSQL.
    We order by the coalesced value: an idle host is 0, everywhere."""
    busy = _service(api, ctx, host="busy")
    idle = _service(api, ctx, host="idle")
    light = _service(api, ctx, host="light")
    _service(api, ctx, host="off", disabled=True)
    _service(api, ctx, host="busy", topic="volume")
    make_instance(api, ctx, host="busy", vcpus=4)
    make_instance(api, ctx, host="busy", vcpus=2)
    make_instance(api, ctx, host="light", vcpus=1)
    make_instance(api, ctx, host="nowhere", vcpus=8)

    result = api.service_get_all_compute_sorted(ctx)

    assert all(isinstance(item, tuple) for item in result)
    assert [(s["id"], n) for s, n in result] == [
        (idle["id"], 0), (light["id"], 1), (busy["id"], 6)
    ]
    assert all(type(n) is int for _, n in result)


def test_service_get_all_volume_sorted_orders_by_gigabytes(api, ctx):
    """Same NULL-ordering fix as the compute variant, for volume size."""
    big = _service(api, ctx, host="big", topic="volume")
    empty = _service(api, ctx, host="empty", topic="volume")
    small = _service(api, ctx, host="small", topic="volume")
    _service(api, ctx, host="big")
    api.volume_create(ctx, {"host": "big", "size": 100})
    api.volume_create(ctx, {"host": "small", "size": 5})
    api.volume_create(ctx, {"host": "small", "size": 5})

    result = api.service_get_all_volume_sorted(ctx)

    assert [(s["id"], n) for s, n in result] == [
        (empty["id"], 0), (small["id"], 10), (big["id"], 100)
    ]
    assert isinstance(result[0], tuple)


# --------------------------------------------------------------------------
# Compute nodes


def test_compute_node_create_turns_stats_into_rows(api, ctx):
    service = _service(api, ctx)

    node = _node(api, ctx, service, hypervisor_hostname="hv1",
                 stats={"num_instances": 3, "io_workload": "0"})

    assert node["vcpus"] == 4
    assert node["service"]["id"] == service["id"]
    assert isinstance(node["stats"], list)
    assert {s["key"] for s in node["stats"]} == {"num_instances",
                                                 "io_workload"}
    assert _stats(node) == {"num_instances": "3", "io_workload": "0"}
    got = api.compute_node_get(ctx, node["id"])
    assert _stats(got) == _stats(node)
    assert got["service"]["host"] == "host1"


@pytest.mark.parametrize(
    "values,error",
    [
        ({"stats": ["a", "b"]}, exception.InvalidValue),
        ({"vcpus": "many"}, exception.InvalidValue),
        ({"bogus": 1}, exception.InvalidColumn),
        ({"stats": {"k": {"nested": 1}}}, exception.InvalidValue),
    ],
)
def test_compute_node_create_rejects_bad_values(api, ctx, values, error):
    with pytest.raises(error):
        api.compute_node_create(ctx, values)
    assert api.compute_node_get_all(ctx) == []


def test_compute_node_create_for_an_unknown_service(api, ctx):
    with pytest.raises(exception.ServiceNotFound) as info:
        api.compute_node_create(ctx, {"service_id": 777})
    assert info.value.kwargs["service_id"] == 777


def test_compute_node_get_raises_compute_host_not_found_with_the_id(
    api, ctx
):
    """The original raised ComputeHostNotFound(host=<id>); so do we."""
    with pytest.raises(exception.ComputeHostNotFound) as info:
        api.compute_node_get(ctx, 31)
    assert info.value.kwargs == {"host": 31}


def test_compute_node_get_needs_only_a_valid_context(api, ctx, user_ctx):
    """compute_node_get and _get_by_host were not admin-only originally."""
    node = _node(api, ctx, _service(api, ctx, host="h"))

    assert api.compute_node_get(user_ctx, node["id"])["id"] == node["id"]
    assert api.compute_node_get_by_host(user_ctx, "h")["id"] == node["id"]


def test_compute_node_update_updates_adds_and_keeps_stats(api, ctx):
    node = _node(api, ctx, _service(api, ctx),
                 stats={"a": "1", "b": "2"})

    updated = api.compute_node_update(
        ctx, node["id"], {"vcpus_used": 2, "stats": {"a": 10, "c": "3"}}
    )

    assert updated["vcpus_used"] == 2
    assert _stats(updated) == {"a": "10", "b": "2", "c": "3"}
    assert updated["updated_at"] is not None
    assert _stats(api.compute_node_get(ctx, node["id"])) == _stats(updated)


def test_compute_node_update_prunes_untouched_stats_when_asked(api, ctx):
    node = _node(api, ctx, _service(api, ctx),
                 stats={"a": "1", "b": "2"})

    updated = api.compute_node_update(
        ctx, node["id"], {"stats": {"b": "5"}}, prune_stats=True
    )

    assert _stats(updated) == {"b": "5"}
    assert _stats(api.compute_node_get(ctx, node["id"])) == {"b": "5"}


def test_compute_node_update_without_stats_leaves_them_alone(api, ctx):
    """The original popped a missing ``stats`` as {} and, with
    prune_stats, deleted every stat.  Without a ``stats`` key we leave
    the stats alone; ``stats: {}`` with prune_stats clears them."""
    node = _node(api, ctx, _service(api, ctx), stats={"a": "1"})

    kept = api.compute_node_update(
        ctx, node["id"], {"running_vms": 1}, prune_stats=True
    )
    assert _stats(kept) == {"a": "1"}
    cleared = api.compute_node_update(
        ctx, node["id"], {"stats": {}}, prune_stats=True
    )
    assert cleared["stats"] == []


def test_compute_node_update_always_moves_updated_at(api, ctx):
    """The node reports through updated_at: an update with no change
    still moves it (the ORM alone would not write an unchanged row)."""
    node = _node(api, ctx, _service(api, ctx), running_vms=1)

    first = api.compute_node_update(ctx, node["id"], {"running_vms": 1})
    second = api.compute_node_update(ctx, node["id"], {"running_vms": 1})

    assert first["updated_at"] is not None
    assert second["updated_at"] >= first["updated_at"]
    assert second["updated_at"].tzinfo is not None


def test_compute_node_update_errors(api, ctx):
    node = _node(api, ctx, _service(api, ctx), stats={"a": "1"})
    with pytest.raises(exception.ComputeHostNotFound):
        api.compute_node_update(ctx, 999, {"vcpus": 1})
    with pytest.raises(exception.InvalidValue):
        api.compute_node_update(
            ctx, node["id"], {"vcpus": 8, "stats": "a=1"}
        )
    assert api.compute_node_get(ctx, node["id"])["vcpus"] == 4


def test_compute_node_get_by_host_picks_a_live_service(api, ctx):
    gone = _service(api, ctx, host="h")
    _node(api, ctx, gone)
    api.service_destroy(ctx, gone["id"])
    assert api.compute_node_get_by_host(ctx, "h") is None

    service = _service(api, ctx, host="h")
    first = _node(api, ctx, service)
    _node(api, ctx, service)

    got = api.compute_node_get_by_host(ctx, "h")
    assert got["id"] == first["id"]
    assert got["service"]["host"] == "h"
    assert api.compute_node_get_by_host(ctx, "other") is None


def test_compute_node_search_matches_the_text_literally(api, ctx):
    """The original put the text into LIKE '%...%' unescaped, so '_' and
    '%' were wildcards.  We escape them; case is ignored on every
    dialect."""
    service = _service(api, ctx)
    for name in ("node_1.example", "nodeX1.example", "50%.example", "x"):
        _node(api, ctx, service, hypervisor_hostname=name)

    def search(text):
        rows = api.compute_node_search_by_hypervisor(ctx, text)
        return {row["hypervisor_hostname"] for row in rows}

    assert search("node") == {"node_1.example", "nodeX1.example"}
    assert search("e_1") == {"node_1.example"}
    assert search("%") == {"50%.example"}
    assert search("NODEX") == {"nodeX1.example"}
    assert search("missing") == set()
    with pytest.raises(exception.InvalidInput):
        api.compute_node_search_by_hypervisor(ctx, None)


def test_compute_node_statistics_are_zero_ints_when_empty(api, ctx):
    stats = api.compute_node_statistics(ctx)

    assert isinstance(stats, dict)
    assert stats["count"] == 0
    assert set(stats) >= {"vcpus", "memory_mb", "local_gb", "vcpus_used",
                          "running_vms", "disk_available_least"}
    assert all(value == 0 and type(value) is int for value in
               stats.values())


def test_compute_node_statistics_sum_the_live_nodes(api, ctx):
    service = _service(api, ctx)
    _node(api, ctx, service, vcpus=4, memory_mb=1024, running_vms=2)
    _node(api, ctx, service, vcpus=8, memory_mb=None, running_vms=1)
    gone = _service(api, ctx, host="gone")
    _node(api, ctx, gone, vcpus=100)
    api.service_destroy(ctx, gone["id"])

    stats = api.compute_node_statistics(ctx)

    assert stats["count"] == 2
    assert stats["vcpus"] == 12
    assert stats["memory_mb"] == 1024
    assert stats["running_vms"] == 3
    assert stats["local_gb"] == 0


# --------------------------------------------------------------------------
# Migrations


def _long_ago(seconds):
    return datetime.datetime.now(UTC) - datetime.timedelta(seconds=seconds)


def test_migration_create_get_update(api, ctx):
    migration = api.migration_create(
        ctx, {"source_compute": "a", "dest_compute": "b",
              "status": "migrating"}
    )

    assert migration["status"] == "migrating"
    assert api.migration_get(ctx, migration["id"]) == migration
    updated = api.migration_update(ctx, migration["id"],
                                   {"status": "finished"})
    assert updated["status"] == "finished"
    assert updated["id"] == migration["id"]
    assert api.migration_get(ctx, migration["id"])["status"] == "finished"


def test_migration_errors(api, ctx):
    with pytest.raises(exception.MigrationNotFound) as info:
        api.migration_get(ctx, 12)
    assert info.value.kwargs == {"migration_id": 12}
    with pytest.raises(exception.MigrationNotFound):
        api.migration_update(ctx, 12, {"status": "x"})
    with pytest.raises(exception.InvalidColumn):
        api.migration_create(ctx, {"colour": "red"})
    uuid = "1bd39b2a-3f7c-4b4c-9e35-8b4b0fdbc9e0"
    with pytest.raises(exception.InstanceNotFound) as info:
        api.migration_create(ctx, {"instance_uuid": uuid})
    assert info.value.kwargs == {"instance_id": uuid}


def test_migration_get_reads_deleted_rows(api, ctx):
    migration = api.migration_create(ctx, {"status": "done"})
    api.migration_update(ctx, migration["id"], {
        "deleted": migration["id"], "deleted_at": _long_ago(0)
    })

    assert api.migration_get(ctx, migration["id"])["deleted"] != 0


def test_migration_get_by_instance_and_status(api, ctx):
    """The original returned an arbitrary first match; we return the
    newest (highest id)."""
    instance = make_instance(api, ctx)
    uuid = instance["uuid"]
    api.migration_create(ctx, {"instance_uuid": uuid, "status": "done"})
    newest = api.migration_create(
        ctx, {"instance_uuid": uuid, "status": "done"}
    )
    api.migration_create(ctx, {"instance_uuid": uuid, "status": "other"})

    got = api.migration_get_by_instance_and_status(ctx, uuid, "done")
    assert got["id"] == newest["id"]
    with pytest.raises(exception.MigrationNotFoundByStatus) as info:
        api.migration_get_by_instance_and_status(ctx, uuid, "finished")
    assert info.value.kwargs == {"instance_id": uuid, "status": "finished"}


def test_migration_get_unconfirmed_by_dest_compute(api, ctx):
    def make(dest, status, age):
        return api.migration_create(ctx, {
            "dest_compute": dest, "status": status,
            "updated_at": _long_ago(age),
        })["id"]

    old = make("b", "finished", 600)
    recent = make("b", "finished", 10)
    make("b", "confirmed", 600)
    make("c", "finished", 600)

    rows = api.migration_get_unconfirmed_by_dest_compute(ctx, 300, "b")

    assert [m["id"] for m in rows] == [old]
    assert [m["id"] for m in api.migration_get_unconfirmed_by_dest_compute(
        ctx, 0, "b")] == [old, recent]
    with pytest.raises(exception.InvalidInput):
        api.migration_get_unconfirmed_by_dest_compute(ctx, "300", "b")


def test_migration_unconfirmed_uses_created_at_when_never_updated(
    api, ctx
):
    """A row never updated has updated_at NULL, which the original's
    ``updated_at <= cutoff`` never matched; we use created_at then."""
    old = api.migration_create(ctx, {
        "dest_compute": "b", "status": "finished",
        "created_at": _long_ago(600),
    })
    api.migration_create(ctx, {"dest_compute": "b", "status": "finished"})

    rows = api.migration_get_unconfirmed_by_dest_compute(ctx, 300, "b")

    assert [m["id"] for m in rows] == [old["id"]]
    assert rows[0]["updated_at"] is None
