"""The backend's shared machinery, on every database."""

import datetime

import pytest
from sqlalchemy import select

from db import exception
from db.rows import Row
from db.sqlalchemy import _query, _session, models


def test_transaction_commits_and_rows_are_dict_and_attribute_like(
    database, ctx
):
    with _session.writer() as session:
        service = models.Service(host="h1", binary="b", topic="t")
        session.add(service)
        session.flush()
        row = _query.to_row(service)

    assert isinstance(row, Row)
    assert row["host"] == row.host == row.get("host") == "h1"
    assert "report_count" in row
    assert row.deleted == 0
    assert row.created_at.tzinfo is datetime.UTC
    with _session.reader() as session:
        stmt = _query.model_query(ctx, models.Service)
        assert [s.host for s in session.scalars(stmt)] == ["h1"]


def test_error_rolls_back_the_whole_call(database, ctx):
    with pytest.raises(RuntimeError):
        with _session.writer() as session:
            session.add(models.Service(host="h1"))
            session.flush()
            raise RuntimeError("boom")

    with _session.reader() as session:
        assert session.scalars(select(models.Service)).all() == []


def test_nested_blocks_join_one_transaction(database):
    with pytest.raises(RuntimeError):
        with _session.writer() as outer:
            with _session.writer() as inner:
                assert inner is outer
                inner.add(models.Service(host="h1"))
            raise RuntimeError("boom")

    with _session.reader() as session:
        assert session.scalars(select(models.Service)).all() == []


def test_unique_violation_names_its_columns(database):
    with _session.writer() as session:
        session.add(models.KeyPair(user_id="u", name="k"))

    with pytest.raises(exception.DBDuplicateEntry) as info:
        with _session.writer() as session:
            session.add(models.KeyPair(user_id="u", name="k"))
    assert set(info.value.kwargs["columns"]) >= {"user_id", "name"}


def test_soft_delete_frees_the_unique_key_and_keeps_updated_at(
    database, ctx
):
    with _session.writer() as session:
        first = models.KeyPair(user_id="u", name="k")
        session.add(first)
        session.flush()
        updated = first.updated_at
        _query.soft_delete(first)
        session.flush()
        assert first.deleted == first.id
        assert first.updated_at == updated
        session.add(models.KeyPair(user_id="u", name="k"))

    with _session.reader() as session:
        live = session.scalars(_query.model_query(ctx, models.KeyPair))
        assert len(live.all()) == 1
        both = session.scalars(
            _query.model_query(ctx, models.KeyPair, read_deleted="yes")
        )
        assert len(both.all()) == 2


def test_foreign_key_violation_is_a_reference_error(database):
    with pytest.raises(exception.DBReferenceError):
        with _session.writer() as session:
            session.add(
                models.InstanceMetadata(
                    instance_uuid="00000000-0000-0000-0000-000000000000",
                    key="k",
                    value="v",
                )
            )


def test_check_values_rejects_unknown_columns_and_wrong_types():
    with pytest.raises(exception.InvalidColumn):
        _query.check_values(models.Service, {"no_such_column": 1})
    with pytest.raises(exception.InvalidValue):
        _query.check_values(models.Service, {"report_count": "many"})
    with pytest.raises(exception.InvalidValue):
        _query.check_values(models.Service, {"host": {"a": 1}})
    with pytest.raises(exception.InvalidValue):
        _query.check_values(models.Instance, {"launched_at": 12})
    checked = _query.check_values(
        models.Instance, {"launched_at": "2026-01-02T03:04:05"}
    )
    assert checked["launched_at"].tzinfo is datetime.UTC


def test_project_only_filters_user_contexts(database, user_ctx, ctx):
    with _session.writer() as session:
        session.add(models.Network(label="mine", project_id="fake-project"))
        session.add(models.Network(label="theirs", project_id="other"))
        session.add(models.Network(label="nobody's", project_id=None))

    def labels(context, project_only):
        with _session.reader() as session:
            stmt = _query.model_query(
                context, models.Network, project_only=project_only
            )
            return sorted(n.label for n in session.scalars(stmt))

    assert labels(user_ctx, True) == ["mine"]
    assert labels(user_ctx, "allow_none") == ["mine", "nobody's"]
    assert labels(ctx, True) == ["mine", "nobody's", "theirs"]
