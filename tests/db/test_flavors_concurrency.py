"""Flavor writers under concurrency: the unique constraints decide.

The original checked for an existing name or flavorid, then inserted;
two concurrent creates could both pass the check.  Here every racer but
one must get the documented exception, and the data must stay single.
"""

from __future__ import annotations

import pytest

import db
from db import exception
from db.sqlalchemy import models
from tests.db._concurrency import count_rows, race, split

WORKERS = 6

pytestmark = pytest.mark.slow


def _flavor(ctx, name="m1.race", flavorid="r1"):
    return db.instance_type_create(
        ctx,
        {"name": name, "flavorid": flavorid, "memory_mb": 64, "vcpus": 1},
    )


def test_concurrent_creates_of_one_name_make_one_flavor(database, ctx):
    results = race(WORKERS, lambda i: _flavor(ctx, flavorid=f"r{i}"))

    wins, _ = split(results, exception.InstanceTypeExists)
    assert len(wins) == 1
    assert count_rows(models.InstanceTypes) == 1


def test_concurrent_creates_of_one_flavorid_make_one_flavor(database, ctx):
    results = race(WORKERS, lambda i: _flavor(ctx, name=f"m1.race{i}"))

    wins, _ = split(results, exception.InstanceTypeExists)
    assert len(wins) == 1
    assert count_rows(models.InstanceTypes) == 1


def test_concurrent_access_adds_grant_once(database, ctx):
    _flavor(ctx)

    results = race(
        WORKERS,
        lambda i: db.instance_type_access_add(ctx, "r1", "project"),
    )

    wins, _ = split(results, exception.FlavorAccessExists)
    assert len(wins) == 1
    assert count_rows(models.InstanceTypeProjects) == 1


def test_concurrent_extra_spec_upserts_keep_one_live_row(database, ctx):
    _flavor(ctx)

    results = race(
        WORKERS,
        lambda i: db.instance_type_extra_specs_update_or_create(
            ctx, "r1", {"key": str(i)}
        ),
    )

    wins, _ = split(results, exception.DBConductorError)
    assert len(wins) == WORKERS
    spec = models.InstanceTypeExtraSpecs
    assert count_rows(spec, spec.deleted == 0) == 1
    value = db.instance_type_extra_specs_get(ctx, "r1")["key"]
    assert value in {str(i) for i in range(WORKERS)}
