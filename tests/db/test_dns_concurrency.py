"""DNS domain registration under concurrency, and the hard delete."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

import db
from db.sqlalchemy import _session, models

WORKERS = 6


@pytest.fixture
def local_database(target, database):
    """The database, on the local targets only (the RPC targets would
    only repeat these tests)."""
    if target[2] != "local":
        pytest.skip("concurrency tests run on the local targets")
    return database


def test_concurrent_registrations_of_one_domain_all_succeed(
    local_database, ctx
):
    """Get-or-create races on the primary key: every caller succeeds and
    exactly one row remains, holding one of the registrations."""
    barrier = threading.Barrier(WORKERS, timeout=10)
    errors: list[BaseException] = []

    def register(n: int) -> None:
        try:
            barrier.wait()
            if n % 2:
                db.dnsdomain_register_for_zone(ctx, "race.example.org",
                                               f"az{n}")
            else:
                db.dnsdomain_register_for_project(ctx, "race.example.org",
                                                  f"p{n}")
        except BaseException as exc:  # noqa: B036 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(n,))
               for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert not any(thread.is_alive() for thread in threads), "hung"

    assert errors == []
    assert db.dnsdomain_list(ctx) == ["race.example.org"]
    row = db.dnsdomain_get(ctx, "race.example.org")
    assert (row["scope"] == "private") == (row["project_id"] is None)
    assert (row["scope"] == "public") == (row["availability_zone"] is None)


def test_unregister_is_a_hard_delete(local_database, ctx):
    db.dnsdomain_register_for_zone(ctx, "gone.example.org", "az1")

    db.dnsdomain_unregister(ctx, "gone.example.org")

    with _session.reader() as session:
        assert session.scalars(select(models.DNSDomain)).all() == []
