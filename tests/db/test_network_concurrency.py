"""Handing out fixed IPs, networks, hosts and indexes under concurrency.

Many threads, and separate processes (each with its own engine, as
several conductors would have), ask at the same moment; every address,
network and index must be handed out once, none may be lost, and an
exhausted pool must raise its documented exception.
"""

from __future__ import annotations

import collections
import uuid

import pytest

import db
from db import context as context_mod
from db import exception
from tests.db._concurrency import SPAWN_TIMEOUT, in_processes, race

pytestmark = pytest.mark.slow



def _admin():
    return context_mod.get_admin_context()


def _pool(ctx, cidr: str = "10.0.0.0/27"):
    """A project's network whose range is created: 29 free IPs for a /27.
    """
    net = db.network_create_safe(
        ctx, {"cidr": cidr, "label": "race", "project_id": "pool-owner"}
    )
    db.network_create_fixed_ips(ctx, net["id"], 0)
    return net


def _drain(network_id: int, limit: int) -> list[tuple[str, str | None]]:
    """Allocate from the pool until it is empty (at most ``limit`` times).

    Returns (instance_uuid, address) pairs; the last address is None when
    the pool ran out.
    """
    ctx = _admin()
    got = []
    for _ in range(limit):
        instance_uuid = str(uuid.uuid4())
        try:
            address = db.fixed_ip_associate_pool(
                ctx, network_id, instance_uuid=instance_uuid
            )
        except exception.NoMoreFixedIps:
            got.append((instance_uuid, None))
            break
        got.append((instance_uuid, address))
    return got


def _check_pool_outcome(ctx, runs: list[list], free: int) -> None:
    """Every free address went to exactly one caller, as recorded in the
    database, and every caller finally saw NoMoreFixedIps."""
    pairs = [pair for run in runs for pair in run]
    won = {address: inst for inst, address in pairs if address is not None}
    assert len(won) == len([p for p in pairs if p[1] is not None])
    assert len(won) == free
    assert all(run[-1][1] is None for run in runs)

    rows = db.fixed_ip_get_all(ctx)
    held = {r["address"]: r["instance_uuid"] for r in rows
            if r["instance_uuid"] is not None}
    assert held == won


# --------------------------------------------------------------------------
# Threads


def test_pool_hands_each_address_out_once_across_threads(database):
    ctx = _admin()
    net = _pool(ctx)

    runs = race(12, lambda i: _drain(net["id"], 30))

    assert not [r for r in runs if isinstance(r, Exception)], runs
    _check_pool_outcome(ctx, runs, free=29)


def test_one_address_goes_to_one_instance(database):
    ctx = _admin()
    db.fixed_ip_create(ctx, {"address": "10.0.0.5"})
    instances = [str(uuid.uuid4()) for _ in range(8)]

    results = race(
        8, lambda i: db.fixed_ip_associate(ctx, "10.0.0.5", instances[i])
    )

    winners = [i for i, r in enumerate(results) if r == "10.0.0.5"]
    assert len(winners) == 1
    holder = instances[winners[0]]
    losers = [r for r in results if r != "10.0.0.5"]
    assert all(isinstance(r, exception.FixedIpAlreadyInUse) for r in losers)
    assert {r.kwargs["instance_uuid"] for r in losers} == {holder}
    assert db.fixed_ip_get_by_address(ctx, "10.0.0.5")[
        "instance_uuid"
    ] == holder


def test_networks_go_to_one_project_each(database):
    ctx = _admin()
    nets = [
        db.network_create_safe(ctx, {"cidr": f"10.0.{i}.0/29"})
        for i in range(6)
    ]

    results = race(10, lambda i: db.network_associate(ctx, f"project-{i}"))

    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert sorted(r["id"] for r in won) == sorted(n["id"] for n in nets)
    assert len(lost) == 4
    assert all(isinstance(r, exception.NoMoreNetworks) for r in lost)
    owners = {n["id"]: n["project_id"] for n in db.network_get_all(ctx)}
    assert owners == {r["id"]: r["project_id"] for r in won}


def test_first_association_of_a_project_is_shared(database):
    ctx = _admin()
    for i in range(4):
        db.network_create_safe(ctx, {"cidr": f"10.0.{i}.0/29"})

    results = race(8, lambda i: db.network_associate(ctx, "project"))

    assert {r["id"] for r in results} == {results[0]["id"]}
    assert len(db.project_get_networks(ctx, "project", False)) == 1


def test_network_host_is_set_once(database):
    ctx = _admin()
    net = db.network_create_safe(ctx, {"cidr": "10.0.0.0/29"})

    results = race(8, lambda i: db.network_set_host(ctx, net["id"], f"h{i}"))

    assert len(set(results)) == 1
    assert db.network_get(ctx, net["id"])["host"] == results[0]


def test_network_indexes_are_distinct(database):
    ctx = _admin()
    nets = [
        db.network_create_safe(ctx, {"cidr": f"10.0.{i}.0/29"})
        for i in range(6)
    ]

    results = race(
        12, lambda i: db.network_get_index(ctx, nets[i % 6]["id"])
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[:6] == results[6:]
    assert sorted(results[:6]) == list(range(6))


# --------------------------------------------------------------------------
# Processes


def _child(url: str, network_id: int, projects, barrier, out) -> None:
    """Entry point of a spawned process: its own engine, then the races.

    It drains the fixed IP pool of ``network_id``, then associates a
    network with each of ``projects`` (None where none was left).
    """
    try:
        db.configure(sql_connection=url, db_backend="sqlalchemy")
        ctx = _admin()
        db.network_count(ctx)
        barrier.wait(SPAWN_TIMEOUT)

        drained = _drain(network_id, 30)
        associated = []
        for name in projects:
            try:
                associated.append(db.network_associate(ctx, name)["id"])
            except exception.NoMoreNetworks:
                associated.append(None)
        out.put((drained, associated))
    except Exception as exc:
        out.put(repr(exc))


def test_allocations_across_processes(database):
    ctx = _admin()
    pool = _pool(ctx, cidr="10.9.0.0/27")
    for i in range(4):
        db.network_create_safe(ctx, {"cidr": f"10.0.{i}.0/29"})
    projects = [[f"p{proc}-{i}" for i in range(3)] for proc in range(3)]

    runs = in_processes(
        _child, [(database.url, pool["id"], names) for names in projects]
    )

    assert all(isinstance(r, tuple) for r in runs), runs
    _check_pool_outcome(ctx, [drained for drained, _ in runs], free=29)
    got = [net_id for _, associated in runs for net_id in associated]
    won = [net_id for net_id in got if net_id is not None]
    assert len(won) == len(set(won)) == 4
    assert collections.Counter(got)[None] == 5
    owners = {
        n["id"]: n["project_id"] for n in db.network_get_all(ctx)
        if n["id"] != pool["id"]
    }
    assert sorted(owners) == sorted(won)
    assert len(set(owners.values())) == 4 and None not in owners.values()
