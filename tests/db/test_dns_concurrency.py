"""DNS domain registration under concurrency, and the hard delete."""

from __future__ import annotations

from sqlalchemy import select

import db
from db.sqlalchemy import _session, models
from tests.db._concurrency import race, split

WORKERS = 6


def test_concurrent_registrations_of_one_domain_all_succeed(
    local_database, ctx
):
    """Get-or-create races on the primary key: every caller succeeds and
    exactly one row remains, holding one of the registrations."""

    def register(n: int) -> None:
        if n % 2:
            db.dnsdomain_register_for_zone(ctx, "race.example.org", f"az{n}")
        else:
            db.dnsdomain_register_for_project(
                ctx, "race.example.org", f"p{n}"
            )

    split(race(WORKERS, register))

    assert db.dnsdomain_list(ctx) == ["race.example.org"]
    row = db.dnsdomain_get(ctx, "race.example.org")
    assert (row["scope"] == "private") == (row["project_id"] is None)
    assert (row["scope"] == "public") == (row["availability_zone"] is None)


def test_unregister_is_a_hard_delete(local_database, ctx):
    db.dnsdomain_register_for_zone(ctx, "gone.example.org", "az1")

    db.dnsdomain_unregister(ctx, "gone.example.org")

    with _session.reader() as session:
        assert session.scalars(select(models.DNSDomain)).all() == []
