"""Instance types (flavors), their extra specs and their project access."""

from __future__ import annotations

import datetime

import pytest

from db import context as context_mod
from db import exception


def _values(**overrides):
    values = {
        "name": "m1.small",
        "flavorid": "2",
        "memory_mb": 2048,
        "vcpus": 1,
        "root_gb": 20,
        "ephemeral_gb": 0,
        "swap": 0,
        "rxtx_factor": 1.0,
    }
    values.update(overrides)
    return values


def _create(api, ctx, **overrides):
    return api.instance_type_create(ctx, _values(**overrides))


# --------------------------------------------------------------------------
# instance_type_create


def test_create_returns_a_row_with_extra_specs_as_a_dict(api, ctx):
    flavor = _create(api, ctx, extra_specs={"cpu_arch": "x86_64", "n": 2})

    assert isinstance(flavor, dict)
    assert flavor["name"] == flavor.name == "m1.small"
    assert flavor["flavorid"] == "2"
    assert isinstance(flavor["id"], int)
    assert flavor["memory_mb"] == 2048
    assert flavor["is_public"] is True
    assert flavor["disabled"] is False
    assert flavor["deleted"] == 0
    assert isinstance(flavor["created_at"], datetime.datetime)
    assert type(flavor["extra_specs"]) is dict
    assert flavor["extra_specs"] == {"cpu_arch": "x86_64", "n": "2"}
    assert api.instance_type_get(ctx, flavor["id"]) == flavor


def test_create_duplicate_name_raises_instance_type_exists(api, ctx):
    _create(api, ctx)

    with pytest.raises(exception.InstanceTypeExists) as info:
        _create(api, ctx, flavorid="other")
    assert info.value.kwargs["name"] == "m1.small"
    assert len(api.instance_type_get_all(ctx)) == 1


def test_create_duplicate_flavorid_raises_instance_type_exists(api, ctx):
    """The original raised InstanceTypeExists(name=...) for a duplicate
    flavorid too, after a racy check-then-insert; ours comes from the
    unique constraint and also carries the flavorid."""
    _create(api, ctx)

    with pytest.raises(exception.InstanceTypeExists) as info:
        _create(api, ctx, name="m1.other")
    assert info.value.kwargs["name"] == "m1.other"
    assert info.value.kwargs["flavorid"] == "2"


def test_create_failure_writes_nothing(api, ctx):
    _create(api, ctx)

    with pytest.raises(exception.InstanceTypeExists):
        _create(api, ctx, flavorid="9", extra_specs={"k": "v"})
    assert api.instance_type_get_by_name(ctx, "m1.small")["extra_specs"] == {}
    with pytest.raises(exception.FlavorNotFound):
        api.instance_type_get_by_flavor_id(ctx, "9")


def test_name_and_flavorid_are_reusable_after_destroy(api, ctx):
    old = _create(api, ctx)
    api.instance_type_destroy(ctx, "m1.small")

    new = _create(api, ctx)
    assert new["id"] != old["id"]


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"name": None}, exception.InvalidInput),
        ({"flavorid": ""}, exception.InvalidInput),
        ({"memory_mb": 0}, exception.InvalidValue),
        ({"vcpus": "many"}, exception.InvalidValue),
        ({"root_gb": -1}, exception.InvalidValue),
        ({"rxtx_factor": 0}, exception.InvalidValue),
        ({"is_public": "maybe"}, exception.InvalidValue),
        ({"no_such_column": 1}, exception.InvalidColumn),
        ({"extra_specs": ["k"]}, exception.InvalidInput),
        ({"extra_specs": {"": "v"}}, exception.InvalidInput),
        ({"extra_specs": {"k": {"nested": 1}}}, exception.InvalidValue),
    ],
)
def test_create_rejects_bad_values_before_writing(api, ctx, overrides, error):
    with pytest.raises(error):
        _create(api, ctx, **overrides)
    assert api.instance_type_get_all(ctx, inactive=True) == []


def test_create_without_a_required_column_raises_invalid_input(api, ctx):
    values = _values()
    del values["vcpus"]

    with pytest.raises(exception.InvalidInput):
        api.instance_type_create(ctx, values)


def test_writers_of_flavors_are_admin_only(api, ctx, user_ctx):
    _create(api, ctx)

    with pytest.raises(exception.AdminRequired):
        _create(api, user_ctx, name="x", flavorid="x")
    with pytest.raises(exception.AdminRequired):
        api.instance_type_destroy(user_ctx, "m1.small")
    with pytest.raises(exception.AdminRequired):
        api.instance_type_access_add(user_ctx, "2", "fake-project")
    with pytest.raises(exception.AdminRequired):
        api.instance_type_access_remove(user_ctx, "2", "fake-project")
    with pytest.raises(exception.AdminRequired):
        api.instance_type_access_get_by_flavor_id(user_ctx, "2")
    assert api.instance_type_get_by_flavor_id(user_ctx, "2")["name"] == (
        "m1.small"
    )


# --------------------------------------------------------------------------
# Getters


def test_getters_raise_their_not_found(api, ctx):
    with pytest.raises(exception.InstanceTypeNotFound) as info:
        api.instance_type_get(ctx, 42)
    assert info.value.kwargs == {"instance_type_id": 42}
    with pytest.raises(exception.InstanceTypeNotFoundByName) as info:
        api.instance_type_get_by_name(ctx, "nope")
    assert info.value.kwargs == {"instance_type_name": "nope"}
    with pytest.raises(exception.FlavorNotFound) as info:
        api.instance_type_get_by_flavor_id(ctx, "nope")
    assert info.value.kwargs == {"flavor_id": "nope"}


def test_get_rejects_an_id_that_is_not_an_integer(api, ctx):
    with pytest.raises(exception.InvalidID):
        api.instance_type_get(ctx, "abc")
    with pytest.raises(exception.InstanceTypeNotFound):
        api.instance_type_get(ctx, 2**40)


def test_get_by_flavor_id_accepts_an_integer_flavorid(api, ctx):
    _create(api, ctx, flavorid="7")

    assert api.instance_type_get_by_flavor_id(ctx, 7)["flavorid"] == "7"


def test_getters_follow_the_contexts_read_deleted(api, ctx):
    """Callers read the flavor of a deleted instance with a 'yes'
    context, as in the original."""
    flavor = _create(api, ctx, extra_specs={"k": "v"})
    api.instance_type_destroy(ctx, "m1.small")

    with pytest.raises(exception.InstanceTypeNotFound):
        api.instance_type_get(ctx, flavor["id"])
    with pytest.raises(exception.InstanceTypeNotFoundByName):
        api.instance_type_get_by_name(ctx, "m1.small")

    historic = ctx.elevated(read_deleted="yes")
    found = api.instance_type_get(historic, flavor["id"])
    assert found["deleted"] == flavor["id"]
    assert found["deleted_at"] is not None
    assert (
        api.instance_type_get_by_name(historic, "m1.small")["id"]
        == (flavor["id"])
    )
    assert (
        api.instance_type_get_by_flavor_id(historic, "2")["id"]
        == (flavor["id"])
    )


# --------------------------------------------------------------------------
# instance_type_get_all


def test_get_all_is_ordered_by_name_and_skips_deleted(api, ctx):
    _create(api, ctx, name="c", flavorid="c")
    _create(api, ctx, name="a", flavorid="a", extra_specs={"k": "v"})
    _create(api, ctx, name="b", flavorid="b")
    api.instance_type_destroy(ctx, "b")

    flavors = api.instance_type_get_all(ctx)
    assert isinstance(flavors, list)
    assert [f["name"] for f in flavors] == ["a", "c"]
    assert flavors[0]["extra_specs"] == {"k": "v"}


def test_get_all_inactive_includes_deleted_whatever_the_context(api, ctx):
    """``inactive`` decides, as in the original: False hides deleted
    flavors even for a read_deleted='yes' context."""
    _create(api, ctx, name="a", flavorid="a")
    _create(api, ctx, name="b", flavorid="b")
    api.instance_type_destroy(ctx, "b")

    names = [f["name"] for f in api.instance_type_get_all(ctx, True)]
    assert names == ["a", "b"]
    historic = ctx.elevated(read_deleted="yes")
    assert [f["name"] for f in api.instance_type_get_all(historic)] == ["a"]


def test_get_all_filters_by_size_and_disabled(api, ctx):
    _create(api, ctx, name="tiny", flavorid="1", memory_mb=512, root_gb=1)
    _create(api, ctx, name="big", flavorid="3", memory_mb=8192, root_gb=80)
    _create(
        api,
        ctx,
        name="off",
        flavorid="4",
        memory_mb=8192,
        root_gb=80,
        disabled=True,
    )

    def names(**filters):
        return [
            f["name"] for f in api.instance_type_get_all(ctx, filters=filters)
        ]

    assert names(min_memory_mb=1024) == ["big", "off"]
    assert names(min_root_gb=80, disabled=False) == ["big"]
    assert names(disabled=True) == ["off"]
    assert names(min_memory_mb=512, min_root_gb=1) == ["big", "off", "tiny"]


def test_get_all_is_public_admits_flavors_granted_to_the_project(
    api, ctx, user_ctx, other_ctx
):
    _create(api, ctx, name="public", flavorid="1")
    _create(api, ctx, name="private", flavorid="2", is_public=False)
    _create(api, ctx, name="secret", flavorid="3", is_public=False)
    api.instance_type_access_add(ctx, "2", "fake-project")

    def names(context, **filters):
        return [
            f["name"]
            for f in api.instance_type_get_all(context, filters=filters)
        ]

    assert names(user_ctx, is_public=True) == ["private", "public"]
    assert names(other_ctx, is_public=True) == ["public"]
    assert names(user_ctx, is_public=False) == ["private", "secret"]
    assert names(user_ctx, is_public=None) == [
        "private",
        "public",
        "secret",
    ]


def test_get_all_does_not_change_the_callers_filters(api, ctx):
    """The original deleted ``is_public`` from the caller's dict."""
    filters = {"is_public": True}

    api.instance_type_get_all(ctx, filters=filters)
    assert filters == {"is_public": True}


def test_get_all_rejects_unknown_and_bad_filters(api, ctx):
    """The original ignored unknown filter keys silently."""
    with pytest.raises(exception.InvalidFilter) as info:
        api.instance_type_get_all(ctx, filters={"name": "m1.small"})
    assert info.value.kwargs["filter"] == "name"
    with pytest.raises(exception.InvalidValue):
        api.instance_type_get_all(ctx, filters={"min_memory_mb": "lots"})
    with pytest.raises(exception.InvalidInput):
        api.instance_type_get_all(ctx, filters=["is_public"])


# --------------------------------------------------------------------------
# instance_type_destroy


def test_destroy_soft_deletes_flavor_specs_and_access(api, ctx, user_ctx):
    """The original left the access rows of a destroyed flavor live."""
    flavor = _create(api, ctx, is_public=False, extra_specs={"k": "v"})
    api.instance_type_access_add(ctx, "2", "fake-project")

    assert api.instance_type_destroy(ctx, "m1.small") is None

    historic = ctx.elevated(read_deleted="yes")
    gone = api.instance_type_get(historic, flavor["id"])
    assert gone["deleted"] != 0
    assert gone["extra_specs"] == {}
    assert (
        api.instance_type_get_all(user_ctx, filters={"is_public": True}) == []
    )
    # A new flavor with the old flavorid starts without the old grants.
    _create(api, ctx, is_public=False)
    assert api.instance_type_access_get_by_flavor_id(ctx, "2") == []
    assert api.instance_type_extra_specs_get(ctx, "2") == {}


def test_destroy_of_a_missing_flavor_raises(api, ctx):
    _create(api, ctx)
    api.instance_type_destroy(ctx, "m1.small")

    with pytest.raises(exception.InstanceTypeNotFoundByName) as info:
        api.instance_type_destroy(ctx, "m1.small")
    assert info.value.kwargs == {"instance_type_name": "m1.small"}


# --------------------------------------------------------------------------
# Access


def test_access_add_get_and_remove(api, ctx):
    flavor = _create(api, ctx, is_public=False)

    access = api.instance_type_access_add(ctx, "2", "p1")
    api.instance_type_access_add(ctx, "2", "p2")
    assert isinstance(access, dict)
    assert access["project_id"] == "p1"
    assert access["instance_type_id"] == flavor["id"]

    rows = api.instance_type_access_get_by_flavor_id(ctx, "2")
    assert isinstance(rows, list)
    assert [r["project_id"] for r in rows] == ["p1", "p2"]

    assert api.instance_type_access_remove(ctx, "2", "p1") is None
    rows = api.instance_type_access_get_by_flavor_id(ctx, "2")
    assert [r["project_id"] for r in rows] == ["p2"]


def test_access_add_twice_raises_flavor_access_exists(api, ctx):
    _create(api, ctx, is_public=False)
    api.instance_type_access_add(ctx, "2", "p1")

    with pytest.raises(exception.FlavorAccessExists) as info:
        api.instance_type_access_add(ctx, "2", "p1")
    assert info.value.kwargs == {"flavor_id": "2", "project_id": "p1"}


def test_access_add_revives_a_removed_grant(api, ctx):
    _create(api, ctx, is_public=False)
    first = api.instance_type_access_add(ctx, "2", "p1")
    api.instance_type_access_remove(ctx, "2", "p1")

    again = api.instance_type_access_add(ctx, "2", "p1")
    assert again["id"] == first["id"]
    assert again["deleted"] == 0
    assert again["deleted_at"] is None


def test_access_remove_of_a_missing_grant_raises(api, ctx):
    """The original's FlavorAccessNotFound template was malformed
    (``%(flavor_id) / %(project_id)``) and it "removed" an already
    removed grant again; ours formats and raises."""
    _create(api, ctx, is_public=False)
    api.instance_type_access_add(ctx, "2", "p1")
    api.instance_type_access_remove(ctx, "2", "p1")

    with pytest.raises(exception.FlavorAccessNotFound) as info:
        api.instance_type_access_remove(ctx, "2", "p1")
    assert info.value.kwargs == {"flavor_id": "2", "project_id": "p1"}
    assert "2" in str(info.value) and "p1" in str(info.value)


def test_access_functions_raise_flavor_not_found(api, ctx):
    """The original's access_get_by_flavor_id failed with AttributeError
    for an unknown flavorid."""
    for call in (
        lambda: api.instance_type_access_get_by_flavor_id(ctx, "x"),
        lambda: api.instance_type_access_add(ctx, "x", "p1"),
        lambda: api.instance_type_access_remove(ctx, "x", "p1"),
    ):
        with pytest.raises(exception.FlavorNotFound) as info:
            call()
        assert info.value.kwargs == {"flavor_id": "x"}


def test_access_add_rejects_a_bad_project_id(api, ctx):
    _create(api, ctx, is_public=False)

    with pytest.raises(exception.InvalidInput):
        api.instance_type_access_add(ctx, "2", None)
    assert api.instance_type_access_get_by_flavor_id(ctx, "2") == []


# --------------------------------------------------------------------------
# Extra specs


def test_extra_specs_get_update_or_create_and_delete(api, ctx):
    _create(api, ctx, extra_specs={"a": "1", "b": "2"})

    assert api.instance_type_extra_specs_get(ctx, "2") == {"a": "1", "b": "2"}
    result = api.instance_type_extra_specs_update_or_create(
        ctx, "2", {"b": 3, "c": "new"}
    )
    assert result == {"b": "3", "c": "new"}
    specs = api.instance_type_extra_specs_get(ctx, "2")
    assert type(specs) is dict
    assert specs == {"a": "1", "b": "3", "c": "new"}

    assert api.instance_type_extra_specs_delete(ctx, "2", "a") is None
    assert api.instance_type_extra_specs_get(ctx, "2") == {
        "b": "3",
        "c": "new",
    }
    assert api.instance_type_get_by_flavor_id(ctx, "2")["extra_specs"] == {
        "b": "3",
        "c": "new",
    }


def test_extra_specs_update_revives_a_deleted_key(api, ctx):
    _create(api, ctx, extra_specs={"a": "1"})
    api.instance_type_extra_specs_delete(ctx, "2", "a")

    api.instance_type_extra_specs_update_or_create(ctx, "2", {"a": "2"})
    api.instance_type_extra_specs_update_or_create(ctx, "2", {"a": "3"})
    assert api.instance_type_extra_specs_get(ctx, "2") == {"a": "3"}


def test_extra_specs_delete_of_a_missing_key_raises(api, ctx):
    """The original's delete silently matched no row."""
    _create(api, ctx)

    with pytest.raises(exception.InstanceTypeExtraSpecsNotFound) as info:
        api.instance_type_extra_specs_delete(ctx, "2", "nope")
    assert info.value.kwargs == {
        "instance_type_id": "2",
        "extra_specs_key": "nope",
    }


def test_extra_specs_of_an_unknown_flavor_raise_flavor_not_found(api, ctx):
    """The original's extra_specs_get returned {} for an unknown
    flavorid; ours raises FlavorNotFound like update_or_create."""
    with pytest.raises(exception.FlavorNotFound):
        api.instance_type_extra_specs_get(ctx, "x")
    with pytest.raises(exception.FlavorNotFound):
        api.instance_type_extra_specs_update_or_create(ctx, "x", {"a": "1"})
    with pytest.raises(exception.FlavorNotFound):
        api.instance_type_extra_specs_delete(ctx, "x", "a")


def test_extra_specs_of_a_destroyed_flavor_are_not_found(api, ctx):
    _create(api, ctx, extra_specs={"a": "1"})
    api.instance_type_destroy(ctx, "m1.small")

    historic = ctx.elevated(read_deleted="yes")
    with pytest.raises(exception.FlavorNotFound):
        api.instance_type_extra_specs_get(historic, "2")


def test_extra_specs_update_rejects_bad_specs_before_writing(api, ctx):
    _create(api, ctx, extra_specs={"a": "1"})

    with pytest.raises(exception.InvalidInput):
        api.instance_type_extra_specs_update_or_create(ctx, "2", ["a"])
    with pytest.raises(exception.InvalidValue):
        api.instance_type_extra_specs_update_or_create(
            ctx, "2", {"a": "2", "b": "x" * 256}
        )
    assert api.instance_type_extra_specs_get(ctx, "2") == {"a": "1"}


def test_a_user_context_reads_flavors(api, ctx):
    _create(api, ctx, extra_specs={"a": "1"})
    user = context_mod.RequestContext("u", "p")

    assert api.instance_type_get_by_name(user, "m1.small")["flavorid"] == "2"
    assert api.instance_type_extra_specs_get(user, "2") == {"a": "1"}
