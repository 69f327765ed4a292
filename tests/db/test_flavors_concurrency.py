"""Flavor writers under concurrency: the unique constraints decide.

The original checked for an existing name or flavorid, then inserted;
two concurrent creates could both pass the check.  Here every racer but
one must get the documented exception, and the data must stay single.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

import db
from db import exception
from db.sqlalchemy import _session, models

WORKERS = 6
TIMEOUT = 20

pytestmark = pytest.mark.slow


def _race(call: Callable[[int], object]) -> list:
    """Run ``call(i)`` in WORKERS threads at once; return the outcomes."""
    barrier = threading.Barrier(WORKERS, timeout=TIMEOUT)
    results: list = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait()
            outcome = call(index)
        except Exception as exc:  # collected and asserted on
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads)
    return results


def _count(model, *where) -> int:
    with _session.reader() as session:
        stmt = select(func.count()).select_from(model).where(*where)
        return session.execute(stmt).scalar_one()


def _flavor(ctx, name="m1.race", flavorid="r1"):
    return db.instance_type_create(
        ctx,
        {"name": name, "flavorid": flavorid, "memory_mb": 64, "vcpus": 1},
    )


def _split(results: list, error: type) -> tuple[list, list]:
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, error)]
    assert len(wins) + len(losses) == len(results), results
    return wins, losses


def test_concurrent_creates_of_one_name_make_one_flavor(database, ctx):
    results = _race(lambda i: _flavor(ctx, flavorid=f"r{i}"))

    wins, _ = _split(results, exception.InstanceTypeExists)
    assert len(wins) == 1
    assert _count(models.InstanceTypes) == 1


def test_concurrent_creates_of_one_flavorid_make_one_flavor(database, ctx):
    results = _race(lambda i: _flavor(ctx, name=f"m1.race{i}"))

    wins, _ = _split(results, exception.InstanceTypeExists)
    assert len(wins) == 1
    assert _count(models.InstanceTypes) == 1


def test_concurrent_access_adds_grant_once(database, ctx):
    _flavor(ctx)

    results = _race(
        lambda i: db.instance_type_access_add(ctx, "r1", "project")
    )

    wins, _ = _split(results, exception.FlavorAccessExists)
    assert len(wins) == 1
    assert _count(models.InstanceTypeProjects) == 1


def test_concurrent_extra_spec_upserts_keep_one_live_row(database, ctx):
    _flavor(ctx)

    results = _race(
        lambda i: db.instance_type_extra_specs_update_or_create(
            ctx, "r1", {"key": str(i)}
        )
    )

    wins, _ = _split(results, exception.DBConductorError)
    assert len(wins) == WORKERS
    spec = models.InstanceTypeExtraSpecs
    assert _count(spec, spec.deleted == 0) == 1
    value = db.instance_type_extra_specs_get(ctx, "r1")["key"]
    assert value in {str(i) for i in range(WORKERS)}
