"""Console pools and consoles, through ``api``."""

from __future__ import annotations

import pytest

from db import exception

UUID1 = "6b7a3a0e-30c4-4a4d-8d0b-5d0c6b7c1a01"
UUID2 = "6b7a3a0e-30c4-4a4d-8d0b-5d0c6b7c1a02"


def _pool(api, ctx, host="proxy1", console_type="vnc",
          compute_host="compute1", **values):
    return api.console_pool_create(ctx, {
        "host": host, "console_type": console_type,
        "compute_host": compute_host, "address": "10.0.0.1", **values,
    })


def _console(api, ctx, pool, instance_uuid=UUID1, **values):
    return api.console_create(ctx, {
        "pool_id": pool["id"], "instance_uuid": instance_uuid,
        "instance_name": "instance-1", "port": 5900, **values,
    })


def test_console_pool_create_and_get_by_host_type(api, ctx):
    pool = _pool(api, ctx)

    assert pool["host"] == "proxy1"
    assert pool["consoles"] == []
    got = api.console_pool_get_by_host_type(ctx, "compute1", "proxy1",
                                            "vnc")
    assert got["id"] == pool["id"]
    assert got["consoles"] == []


def test_console_pool_create_refuses_a_duplicate(api, ctx):
    """The original inserted a second identical pool; we raise
    ConsolePoolExists (also when a column is NULL)."""
    _pool(api, ctx)
    with pytest.raises(exception.ConsolePoolExists) as info:
        _pool(api, ctx, address="10.0.0.2")
    assert info.value.kwargs == {"host": "proxy1", "console_type": "vnc",
                                 "compute_host": "compute1"}

    _pool(api, ctx, compute_host=None)
    with pytest.raises(exception.ConsolePoolExists):
        _pool(api, ctx, compute_host=None)

    _pool(api, ctx, compute_host="compute2")
    assert len(api.console_pool_get_all_by_host_type(ctx, "proxy1",
                                                     "vnc")) == 3


def test_console_pool_create_rejects_bad_values(api, ctx):
    with pytest.raises(exception.InvalidColumn):
        api.console_pool_create(ctx, {"host": "p", "flavour": "x"})
    with pytest.raises(exception.InvalidInput):
        api.console_pool_create(ctx, "host=p")
    assert api.console_pool_get_all_by_host_type(ctx, "p", None) == []


def test_console_pool_get_by_host_type_raises(api, ctx):
    _pool(api, ctx)
    with pytest.raises(exception.ConsolePoolNotFoundForHostType) as info:
        api.console_pool_get_by_host_type(ctx, "compute1", "proxy1", "spice")
    assert info.value.kwargs == {"host": "proxy1", "console_type": "spice",
                                 "compute_host": "compute1"}


def test_console_pool_get_all_by_host_type_lists_with_consoles(api, ctx):
    one = _pool(api, ctx, compute_host="c1")
    two = _pool(api, ctx, compute_host="c2")
    _pool(api, ctx, console_type="spice")
    _pool(api, ctx, host="proxy2")
    console = _console(api, ctx, one)

    pools = api.console_pool_get_all_by_host_type(ctx, "proxy1", "vnc")

    assert [p["id"] for p in pools] == [one["id"], two["id"]]
    assert [c["id"] for c in pools[0]["consoles"]] == [console["id"]]
    assert pools[1]["consoles"] == []


def test_console_create_and_get(api, ctx):
    pool = _pool(api, ctx)

    console = _console(api, ctx, pool)

    assert console["port"] == 5900
    assert console["pool"]["id"] == pool["id"]
    assert api.console_get(ctx, console["id"]) == console
    assert api.console_get(ctx, console["id"], UUID1) == console


def test_console_create_in_an_unknown_pool(api, ctx):
    with pytest.raises(exception.ConsolePoolNotFound) as info:
        api.console_create(ctx, {"pool_id": 404, "instance_uuid": UUID1})
    assert info.value.kwargs == {"pool_id": 404}


def test_console_get_raises_the_fitting_not_found(api, ctx):
    console = _console(api, ctx, _pool(api, ctx))

    with pytest.raises(exception.ConsoleNotFound) as info:
        api.console_get(ctx, console["id"] + 1)
    assert type(info.value) is exception.ConsoleNotFound
    assert info.value.kwargs == {"console_id": console["id"] + 1}
    with pytest.raises(exception.ConsoleNotFoundForInstance) as info:
        api.console_get(ctx, console["id"], UUID2)
    assert info.value.kwargs["instance_uuid"] == UUID2


def test_console_get_all_by_instance(api, ctx):
    pool = _pool(api, ctx)
    other_pool = _pool(api, ctx, compute_host="compute2")
    one = _console(api, ctx, pool)
    two = _console(api, ctx, other_pool)
    _console(api, ctx, pool, instance_uuid=UUID2)

    consoles = api.console_get_all_by_instance(ctx, UUID1)

    assert [c["id"] for c in consoles] == [one["id"], two["id"]]
    assert consoles[1]["pool"]["compute_host"] == "compute2"
    assert api.console_get_all_by_instance(ctx, "nobody") == []


def test_console_get_by_pool_instance(api, ctx):
    pool = _pool(api, ctx)
    other_pool = _pool(api, ctx, compute_host="compute2")
    console = _console(api, ctx, pool)

    got = api.console_get_by_pool_instance(ctx, pool["id"], UUID1)
    assert got["id"] == console["id"]
    assert got["pool"]["host"] == "proxy1"
    with pytest.raises(exception.ConsoleNotFoundInPoolForInstance) as info:
        api.console_get_by_pool_instance(ctx, other_pool["id"], UUID1)
    assert info.value.kwargs == {"pool_id": other_pool["id"],
                                 "instance_uuid": UUID1}


def test_console_delete_is_a_hard_delete(api, ctx):
    """Deleted consoles are gone, even for console_get, which reads
    soft-deleted rows too."""
    pool = _pool(api, ctx)
    console = _console(api, ctx, pool)
    kept = _console(api, ctx, pool, instance_uuid=UUID2)

    api.console_delete(ctx, console["id"])

    with pytest.raises(exception.ConsoleNotFound):
        api.console_get(ctx, console["id"])
    assert api.console_get_all_by_instance(ctx, UUID1) == []
    assert api.console_get(ctx, kept["id"])["id"] == kept["id"]


def test_console_delete_of_a_missing_console_raises(api, ctx):
    """The original silently deleted nothing; we raise ConsoleNotFound."""
    with pytest.raises(exception.ConsoleNotFound) as info:
        api.console_delete(ctx, 77)
    assert info.value.kwargs == {"console_id": 77}


def test_consoles_need_only_a_valid_context(api, user_ctx):
    """The original did not require an admin for console calls."""
    pool = _pool(api, user_ctx)
    console = _console(api, user_ctx, pool)

    assert api.console_get(user_ctx, console["id"])["id"] == console["id"]
    api.console_delete(user_ctx, console["id"])
