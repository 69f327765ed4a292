"""Context, exceptions, rows, conditions and configure()."""

import datetime
import pickle

import pytest

import db
from db import context as context_mod
from db import exception
from db.conditions import Constraint, EqualityCondition, InequalityCondition
from db.rows import Row


def test_context_round_trips_through_a_dict():
    ctx = context_mod.RequestContext(
        "u", "p", roles=["member"], remote_address="10.0.0.1",
        request_id="req-1", quota_class="gold",
    )
    again = context_mod.RequestContext.from_dict(ctx.to_dict())
    assert again == ctx
    assert again.request_id == "req-1"
    assert again.timestamp.tzinfo is not None
    assert not again.is_admin


def test_context_admin_from_roles_and_elevated_copy():
    assert context_mod.RequestContext("u", "p", roles=["admin"]).is_admin
    ctx = context_mod.RequestContext("u", "p", read_deleted="yes")
    admin = ctx.elevated()
    assert admin.is_admin and not ctx.is_admin
    assert admin.read_deleted == "yes"
    assert "admin" in admin.roles and "admin" not in ctx.roles
    assert ctx.elevated(read_deleted="only").read_deleted == "only"


def test_context_rejects_bad_read_deleted():
    with pytest.raises(exception.InvalidReadDeleted) as info:
        context_mod.RequestContext("u", "p", read_deleted="maybe")
    assert info.value.kwargs == {"read_deleted": "maybe"}
    assert "'maybe'" in str(info.value)


def test_from_dict_needs_user_and_project_keys():
    with pytest.raises(exception.InvalidInput):
        context_mod.RequestContext.from_dict({"is_admin": True})


def test_admin_context():
    ctx = context_mod.get_admin_context(read_deleted="yes")
    assert ctx.is_admin and ctx.read_deleted == "yes"
    assert ctx.request_id.startswith("req-")
    assert not context_mod.is_user_context(ctx)
    assert context_mod.is_user_context(
        context_mod.RequestContext("u", "p")
    )


def test_exception_formats_from_kwargs_and_keeps_them():
    exc = exception.InstanceNotFound(instance_id="abc")
    assert str(exc) == "Instance abc could not be found."
    assert exc.kwargs == {"instance_id": "abc"}
    assert exc.format_message() == str(exc)
    assert isinstance(exc, exception.NotFound)
    assert exc.code == 404


def test_exception_with_unfitting_kwargs_keeps_the_template():
    exc = exception.InstanceNotFound(wrong="x")
    assert str(exc) == exception.InstanceNotFound.msg_fmt


def test_exception_pickles_to_the_same_class_and_message():
    exc = exception.OverQuota(overs=["ram"], quotas={"ram": 1}, usages={})
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is exception.OverQuota
    assert str(again) == str(exc)
    assert again.kwargs == exc.kwargs


def test_lookup_only_returns_this_modules_exceptions():
    assert exception.lookup("InstanceNotFound") is exception.InstanceNotFound
    assert exception.lookup("LOG") is None
    assert exception.lookup("Exception") is None
    assert exception.lookup("Any") is None
    assert exception.lookup("lookup") is None


def test_original_names_exist():
    for name in (
        "NotFound", "InstanceNotFound", "FixedIpNotFoundForAddress",
        "QuotaNotFound", "NoMoreNetworks", "NoMoreTargets",
        "ConstraintNotMet", "OverQuota", "DBNotAllowed", "MarkerNotFound",
        "InvalidSortKey", "DBDuplicateEntry", "DBDeadlock",
    ):
        assert exception.lookup(name) is not None, name


def test_row_is_a_dict_with_attributes():
    row = Row(host="h", nested=Row(name="n"))
    assert row["host"] == row.host == row.get("host") == "h"
    assert "host" in row and "nope" not in row
    assert row.nested.name == "n"
    assert dict(row.items())["host"] == "h"
    with pytest.raises(AttributeError):
        row.nope  # noqa: B018
    assert pickle.loads(pickle.dumps(row)) == row
    assert type(pickle.loads(pickle.dumps(row))) is Row


def test_conditions_build_and_compare():
    built = db.constraint(
        vm_state=db.equal_any("active", "error"),
        task_state=db.not_equal("deleting"),
    )
    assert isinstance(built, Constraint)
    assert built == Constraint({
        "vm_state": EqualityCondition(["active", "error"]),
        "task_state": InequalityCondition(["deleting"]),
    })
    with pytest.raises(exception.InvalidInput):
        db.constraint(vm_state="active")


def test_configure_points_the_library_at_a_database(tmp_path):
    from db import migration, options

    url = f"sqlite:///{tmp_path / 'one.sqlite'}"
    try:
        db.configure(sql_connection=url, enable_new_services=False)
        assert options.CONF.sql_connection == url
        assert options.CONF.enable_new_services is False
        assert migration.db_sync() == "0001"
        assert (tmp_path / "one.sqlite").exists()
    finally:
        db.configure(sql_connection=None, enable_new_services=None)
    assert options.CONF.enable_new_services is True


def test_default_database_is_sqlite_under_the_state_path():
    from db import options

    default = options.CONF.sql_connection
    assert default.startswith("sqlite:///")
    assert default.endswith("/conductor.sqlite")
    assert options.CONF.state_path in default


def test_datetime_inputs_are_normalised_to_utc():
    from db.sqlalchemy.types import as_utc

    naive = datetime.datetime(2026, 1, 1, 12, 0)
    assert as_utc(naive).tzinfo is datetime.UTC
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    aware = datetime.datetime(2026, 1, 1, 14, 0, tzinfo=plus2)
    assert as_utc(aware) == as_utc(naive)
    assert as_utc("2026-01-01T12:00:00") == as_utc(naive)
    with pytest.raises(exception.InvalidValue):
        as_utc("yesterday")
