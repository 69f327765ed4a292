"""security_group_ensure_default under concurrency, and internal options.

The original looked the default group up and created it when missing,
with no unique constraint behind it, so the first instances of a new
project booting at once each made a "default" group.  These tests start
the calls together (threads, then separate processes) and count the rows.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

import db
from db import context as context_mod
from db import exception
from db.sqlalchemy import _session, models, security_groups
from db.sqlalchemy import api as backend
from tests.db._concurrency import (
    SPAWN_TIMEOUT,
    count_rows,
    in_processes,
    race,
    split,
)

WORKERS = 6
#: Fewer processes than threads: each one spends a second importing.
PROCESSES = 3


def _user(project_id: str) -> context_mod.RequestContext:
    return context_mod.RequestContext(f"{project_id}-user", project_id)


def _default_rows(project_id: str) -> int:
    """Count default groups of a project, deleted or not."""
    return count_rows(
        models.SecurityGroup,
        models.SecurityGroup.project_id == project_id,
        models.SecurityGroup.name == "default",
    )


def _default_id(context) -> int:
    return db.security_group_ensure_default(context)["id"]


@pytest.mark.slow
def test_concurrent_threads_create_one_default_group(database):
    for round_number in range(3):
        project_id = f"threads-{round_number}"
        context = _user(project_id)

        results = race(WORKERS, lambda i, c=context: _default_id(c))

        wins, _ = split(results)
        assert len(wins) == WORKERS
        assert len(set(wins)) == 1
        assert _default_rows(project_id) == 1


def _ensure_in_child(url: str, project_id: str, barrier, out) -> None:
    """Run in a spawned process: configure, wait, then ensure."""
    try:
        db.configure(sql_connection=url, db_backend="sqlalchemy")
        db.instance_type_get_all(context_mod.get_admin_context())
        barrier.wait(SPAWN_TIMEOUT)
        group = db.security_group_ensure_default(_user(project_id))
        out.put(group["id"])
    except Exception as exc:
        out.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.slow
def test_concurrent_processes_create_one_default_group(database):
    results = in_processes(
        _ensure_in_child, [(database.url, "processes")] * PROCESSES
    )

    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    assert _default_rows("processes") == 1


def _lose_the_race_once(monkeypatch) -> None:
    """Make the first lookup miss, as if another call had not committed
    yet when it ran (the group is in fact there)."""
    real = security_groups._find_group
    calls = []

    def find(*args, **kwargs):
        calls.append(args)
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(security_groups, "_find_group", find)


def test_losing_the_insert_race_returns_the_winners_group(
    database, monkeypatch
):
    context = _user("late")
    winner = db.security_group_ensure_default(context)
    _lose_the_race_once(monkeypatch)

    assert db.security_group_ensure_default(context)["id"] == winner["id"]
    assert _default_rows("late") == 1


def test_losing_the_race_inside_a_callers_transaction_keeps_it_usable(
    database, monkeypatch
):
    """instance_create calls ensure_default inside its own transaction:
    the failed insert must roll back to its savepoint only (on
    PostgreSQL a plain failure would abort the caller's transaction)."""
    context = _user("nested")
    winner = db.security_group_ensure_default(context)
    _lose_the_race_once(monkeypatch)

    with _session.writer() as session:
        session.add(models.Service(host="h1", binary="b", topic="t"))
        session.flush()
        group = db.security_group_ensure_default(context)
        session.add(models.Service(host="h2", binary="b", topic="t"))

    assert group["id"] == winner["id"]
    with _session.reader() as session:
        hosts = session.scalars(select(models.Service.host)).all()
    assert sorted(hosts) == ["h1", "h2"]
    assert _default_rows("nested") == 1


def test_nested_ensure_default_rolls_back_with_its_caller(database):
    context = _user("rolled-back")

    with pytest.raises(RuntimeError):
        with _session.writer():
            db.security_group_ensure_default(context)
            raise RuntimeError("the caller failed")

    assert _default_rows("rolled-back") == 0


def test_get_by_name_joins_only_the_requested_columns(database):
    """Internal callers (instance_create) pass columns_to_join; the RPC
    facade has no such parameter and always gets both."""
    context = _user("joins")
    group = db.security_group_ensure_default(context)

    bare = backend.security_group_get_by_name(
        context, "joins", "default", columns_to_join=[]
    )
    assert bare["id"] == group["id"]
    assert "rules" not in bare and "instances" not in bare
    rules_only = backend.security_group_get_by_name(
        context, "joins", "default", columns_to_join=["rules"]
    )
    assert rules_only["rules"] == [] and "instances" not in rules_only
    with pytest.raises(exception.InvalidInput):
        backend.security_group_get_by_name(
            context, "joins", "default", columns_to_join=["owner"]
        )
