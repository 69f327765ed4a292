"""Volume types with extra specs, and the SM flavor / backend / volume
tables."""

import pytest

from db import exception

# --------------------------------------------------------------------------
# Volume types


def _type(api, ctx, name="gold", **specs):
    return api.volume_type_create(ctx, {"name": name, "extra_specs": specs})


def test_volume_type_create_returns_a_row_with_spec_dict(api, ctx):
    created = _type(api, ctx, "gold", tier="1", replicated="yes")

    assert isinstance(created, dict)
    assert created["name"] == "gold"
    assert isinstance(created["id"], int)
    assert created["extra_specs"] == {"tier": "1", "replicated": "yes"}
    assert api.volume_type_get(ctx, created["id"]) == created
    assert api.volume_type_get_by_name(ctx, "gold") == created


def test_volume_type_create_duplicate_name(api, ctx):
    _type(api, ctx, "gold", tier="1")

    with pytest.raises(exception.VolumeTypeExists) as info:
        _type(api, ctx, "gold", tier="2")
    assert info.value.kwargs == {"name": "gold"}
    assert api.volume_type_get_by_name(ctx, "gold")["extra_specs"] == {
        "tier": "1"
    }


def test_volume_type_create_bad_input_writes_nothing(api, ctx):
    bad = [
        {"extra_specs": {"a": "b"}},
        {"name": ""},
        {"name": "x", "extra_specs": ["a"]},
        {"name": "x", "extra_specs": {"": "b"}},
        {"name": "x", "colour": "red"},
        {"name": "x", "extra_specs": {"k": "v" * 300}},
    ]
    for values in bad:
        with pytest.raises(exception.Invalid):
            api.volume_type_create(ctx, values)
    assert api.volume_type_get_all(ctx) == {}


def test_volume_type_get_missing(api, ctx):
    with pytest.raises(exception.VolumeTypeNotFound) as info:
        api.volume_type_get(ctx, 999)
    assert info.value.kwargs == {"volume_type_id": 999}
    with pytest.raises(exception.VolumeTypeNotFoundByName) as info:
        api.volume_type_get_by_name(ctx, "nope")
    assert info.value.kwargs == {"volume_type_name": "nope"}
    with pytest.raises(exception.InvalidValue):
        api.volume_type_get(ctx, "abc")


def test_volume_type_get_all_and_destroy(api, ctx, user_ctx):
    gold = _type(api, ctx, "gold", tier="1")
    _type(api, ctx, "silver")

    everything = api.volume_type_get_all(user_ctx)
    assert sorted(everything) == ["gold", "silver"]
    assert everything["gold"] == gold

    api.volume_type_destroy(ctx, "gold")
    assert sorted(api.volume_type_get_all(ctx)) == ["silver"]
    with pytest.raises(exception.VolumeTypeNotFound):
        api.volume_type_get(ctx, gold["id"])
    with pytest.raises(exception.VolumeTypeNotFoundByName):
        api.volume_type_destroy(ctx, "gold")

    inactive = api.volume_type_get_all(ctx, inactive=True)
    assert sorted(inactive) == ["gold", "silver"]
    assert inactive["gold"]["deleted"] != 0
    assert inactive["gold"]["extra_specs"] == {}


def test_destroyed_name_can_be_reused_and_inactive_shows_the_live_one(
    api, ctx
):
    _type(api, ctx, "gold", tier="old")
    api.volume_type_destroy(ctx, "gold")
    new = _type(api, ctx, "gold", tier="new")

    assert api.volume_type_get_by_name(ctx, "gold") == new
    assert api.volume_type_get_all(ctx, inactive=True)["gold"] == new


def test_volume_type_writes_are_admin_only(api, ctx, user_ctx):
    """The original let any user context change a type's extra specs,
    which every project shares; the writers now need an admin."""
    gold = _type(api, ctx, "gold", tier="1")

    for call in (
        lambda: _type(api, user_ctx, "mine"),
        lambda: api.volume_type_destroy(user_ctx, "gold"),
        lambda: api.volume_type_extra_specs_update_or_create(
            user_ctx, gold["id"], {"tier": "2"}
        ),
        lambda: api.volume_type_extra_specs_delete(
            user_ctx, gold["id"], "tier"
        ),
    ):
        with pytest.raises(exception.AdminRequired):
            call()
    assert api.volume_type_extra_specs_get(user_ctx, gold["id"]) == {
        "tier": "1"
    }


def test_extra_specs_update_or_create_upserts_and_revives(api, ctx):
    gold = _type(api, ctx, "gold", tier="1", speed="fast")
    type_id = gold["id"]

    api.volume_type_extra_specs_delete(ctx, type_id, "speed")
    assert api.volume_type_extra_specs_get(ctx, type_id) == {"tier": "1"}

    result = api.volume_type_extra_specs_update_or_create(
        ctx, type_id, {"tier": "2", "speed": "slow", "size": 5}
    )
    assert result == {"tier": "2", "speed": "slow", "size": "5"}
    assert api.volume_type_extra_specs_get(ctx, type_id) == result
    assert api.volume_type_get(ctx, type_id)["extra_specs"] == result


def test_extra_specs_delete_missing_key_raises(api, ctx):
    """The original's delete was a bulk update that silently did nothing
    for a missing key; it raises VolumeTypeExtraSpecsNotFound now."""
    gold = _type(api, ctx, "gold", tier="1")

    with pytest.raises(exception.VolumeTypeExtraSpecsNotFound) as info:
        api.volume_type_extra_specs_delete(ctx, gold["id"], "speed")
    assert info.value.kwargs == {
        "volume_type_id": gold["id"], "extra_specs_key": "speed"
    }
    api.volume_type_extra_specs_delete(ctx, gold["id"], "tier")
    with pytest.raises(exception.VolumeTypeExtraSpecsNotFound):
        api.volume_type_extra_specs_delete(ctx, gold["id"], "tier")


def test_extra_specs_of_a_missing_type_raise(api, ctx):
    """The original returned {} for a type that does not exist (and its
    upsert failed on the foreign key); every extra-spec call raises
    VolumeTypeNotFound now."""
    for call in (
        lambda: api.volume_type_extra_specs_get(ctx, 42),
        lambda: api.volume_type_extra_specs_delete(ctx, 42, "k"),
        lambda: api.volume_type_extra_specs_update_or_create(
            ctx, 42, {"k": "v"}
        ),
    ):
        with pytest.raises(exception.VolumeTypeNotFound) as info:
            call()
        assert info.value.kwargs == {"volume_type_id": 42}


def test_extra_specs_update_bad_input_writes_nothing(api, ctx):
    gold = _type(api, ctx, "gold", tier="1")

    for specs in ({"tier": {"nested": 1}}, "tier=2", {None: "x"}):
        with pytest.raises(exception.Invalid):
            api.volume_type_extra_specs_update_or_create(
                ctx, gold["id"], specs
            )
    assert api.volume_type_extra_specs_get(ctx, gold["id"]) == {"tier": "1"}


# --------------------------------------------------------------------------
# SM flavors


def test_sm_flavor_crud(api, ctx):
    flavor = api.sm_flavor_create(ctx, {"label": "gold", "description": "g"})
    assert flavor["label"] == "gold"

    assert api.sm_flavor_get(ctx, flavor["id"]) == flavor
    assert api.sm_flavor_get_by_label(ctx, "gold") == flavor
    updated = api.sm_flavor_update(ctx, flavor["id"], {"description": "G"})
    assert updated["description"] == "G"
    assert [f["label"] for f in api.sm_flavor_get_all(ctx)] == ["gold"]

    api.sm_flavor_delete(ctx, flavor["id"])
    assert api.sm_flavor_get_all(ctx) == []
    with pytest.raises(exception.SMFlavorNotFound) as info:
        api.sm_flavor_get(ctx, flavor["id"])
    assert info.value.kwargs == {"sm_flavor_id": flavor["id"]}
    with pytest.raises(exception.SMFlavorNotFound) as info:
        api.sm_flavor_get_by_label(ctx, "gold")
    assert info.value.kwargs == {"sm_flavor_id": "gold"}


def test_sm_flavor_duplicate_label(api, ctx):
    """The original raised a bare Duplicate('Flavor exists'); it is
    SMFlavorExists(label=) now, also when an update takes a label."""
    api.sm_flavor_create(ctx, {"label": "gold"})
    silver = api.sm_flavor_create(ctx, {"label": "silver"})

    with pytest.raises(exception.SMFlavorExists) as info:
        api.sm_flavor_create(ctx, {"label": "gold"})
    assert info.value.kwargs == {"label": "gold"}
    with pytest.raises(exception.SMFlavorExists):
        api.sm_flavor_update(ctx, silver["id"], {"label": "gold"})
    assert api.sm_flavor_get(ctx, silver["id"])["label"] == "silver"


def test_sm_flavor_update_and_delete_missing(api, ctx):
    """The original's update raised NotFound with a malformed format
    string, and its delete silently did nothing; both raise
    SMFlavorNotFound(sm_flavor_id=) now."""
    for call in (
        lambda: api.sm_flavor_update(ctx, 5, {"label": "x"}),
        lambda: api.sm_flavor_delete(ctx, 5),
    ):
        with pytest.raises(exception.SMFlavorNotFound) as info:
            call()
        assert info.value.kwargs == {"sm_flavor_id": 5}
        assert "5" in str(info.value)


def test_sm_flavor_bad_input(api, ctx):
    for values in ({}, {"label": ""}, {"label": "x", "colour": "red"}):
        with pytest.raises(exception.Invalid):
            api.sm_flavor_create(ctx, values)
    assert api.sm_flavor_get_all(ctx) == []


# --------------------------------------------------------------------------
# SM backend configs


def _backend(api, ctx, sr_uuid="sr-1", flavor_id=None):
    if flavor_id is None:
        flavor_id = api.sm_flavor_create(ctx, {"label": sr_uuid})["id"]
    return api.sm_backend_conf_create(
        ctx,
        {"flavor_id": flavor_id, "sr_uuid": sr_uuid, "sr_type": "nfs",
         "config_params": "server=1.2.3.4"},
    )


def test_sm_backend_conf_crud(api, ctx):
    backend = _backend(api, ctx)
    assert (backend["sr_uuid"], backend["sr_type"]) == ("sr-1", "nfs")

    assert api.sm_backend_conf_get(ctx, backend["id"]) == backend
    assert api.sm_backend_conf_get_by_sr(ctx, "sr-1") == backend
    updated = api.sm_backend_conf_update(
        ctx, backend["id"], {"config_params": "server=5.6.7.8"}
    )
    assert updated["config_params"] == "server=5.6.7.8"
    assert api.sm_backend_conf_get_all(ctx) == [updated]

    api.sm_backend_conf_delete(ctx, backend["id"])
    assert api.sm_backend_conf_get_all(ctx) == []
    with pytest.raises(exception.SMBackendConfNotFound) as info:
        api.sm_backend_conf_get(ctx, backend["id"])
    assert info.value.kwargs == {"sm_backend_id": backend["id"]}
    with pytest.raises(exception.SMBackendConfNotFound) as info:
        api.sm_backend_conf_get_by_sr(ctx, "sr-1")
    assert info.value.kwargs == {"sm_backend_id": "sr-1"}


def test_sm_backend_conf_duplicate_sr_uuid(api, ctx):
    """The original raised a bare Duplicate('Backend exists'), comparing
    config_params; a backend is identified by its storage repository now
    (unique sr_uuid) and the error is SMBackendConfExists(sr_uuid=)."""
    first = _backend(api, ctx, "sr-1")
    second = _backend(api, ctx, "sr-2")

    with pytest.raises(exception.SMBackendConfExists) as info:
        _backend(api, ctx, "sr-1", flavor_id=first["flavor_id"])
    assert info.value.kwargs == {"sr_uuid": "sr-1"}
    with pytest.raises(exception.SMBackendConfExists):
        api.sm_backend_conf_update(ctx, second["id"], {"sr_uuid": "sr-1"})
    assert api.sm_backend_conf_get(ctx, second["id"])["sr_uuid"] == "sr-2"


def test_sm_backend_conf_references_and_missing(api, ctx):
    with pytest.raises(exception.SMFlavorNotFound):
        _backend(api, ctx, "sr-1", flavor_id=77)
    with pytest.raises(exception.InvalidInput):
        api.sm_backend_conf_create(ctx, {"sr_uuid": "sr-1"})
    backend = _backend(api, ctx)
    with pytest.raises(exception.SMFlavorNotFound):
        api.sm_backend_conf_update(ctx, backend["id"], {"flavor_id": 77})
    with pytest.raises(exception.DBReferenceError):
        api.sm_flavor_delete(ctx, backend["flavor_id"])

    for call in (
        lambda: api.sm_backend_conf_update(ctx, 99, {"sr_type": "x"}),
        lambda: api.sm_backend_conf_delete(ctx, 99),
    ):
        with pytest.raises(exception.SMBackendConfNotFound):
            call()
    assert len(api.sm_backend_conf_get_all(ctx)) == 1


def test_sm_functions_are_admin_only(api, ctx, user_ctx):
    flavor = api.sm_flavor_create(ctx, {"label": "gold"})
    for call in (
        lambda: api.sm_flavor_get(user_ctx, flavor["id"]),
        lambda: api.sm_flavor_get_all(user_ctx),
        lambda: api.sm_flavor_create(user_ctx, {"label": "x"}),
        lambda: api.sm_backend_conf_get_all(user_ctx),
        lambda: api.sm_volume_get_all(user_ctx),
        lambda: api.sm_volume_create(user_ctx, {"id": "x"}),
    ):
        with pytest.raises(exception.AdminRequired):
            call()


# --------------------------------------------------------------------------
# SM volumes


def test_sm_volume_crud(api, ctx):
    backend = _backend(api, ctx)
    other = _backend(api, ctx, "sr-2")
    volume = api.volume_create(ctx, {"size": 1, "project_id": "p"})

    created = api.sm_volume_create(
        ctx,
        {"id": volume["id"], "backend_id": backend["id"], "vdi_uuid": "v1"},
    )
    assert (created["id"], created["vdi_uuid"]) == (volume["id"], "v1")
    assert api.sm_volume_get(ctx, volume["id"]) == created
    updated = api.sm_volume_update(
        ctx, volume["id"], {"backend_id": other["id"], "vdi_uuid": "v2"}
    )
    assert (updated["backend_id"], updated["vdi_uuid"]) == (
        other["id"], "v2"
    )
    assert api.sm_volume_get_all(ctx) == [updated]
    with pytest.raises(exception.DBReferenceError):
        api.sm_backend_conf_delete(ctx, other["id"])

    api.sm_volume_delete(ctx, volume["id"])
    with pytest.raises(exception.SMVolumeNotFound) as info:
        api.sm_volume_get(ctx, volume["id"])
    assert info.value.kwargs == {"volume_id": volume["id"]}
    api.sm_backend_conf_delete(ctx, other["id"])


def test_sm_volume_create_checks_references_and_duplicates(api, ctx):
    backend = _backend(api, ctx)
    volume = api.volume_create(ctx, {"size": 1, "project_id": "p"})
    values = {"id": volume["id"], "backend_id": backend["id"]}

    with pytest.raises(exception.VolumeNotFound):
        api.sm_volume_create(ctx, dict(values, id="missing-volume"))
    with pytest.raises(exception.SMBackendConfNotFound):
        api.sm_volume_create(ctx, dict(values, backend_id=404))
    with pytest.raises(exception.InvalidInput):
        api.sm_volume_create(ctx, {"id": volume["id"]})
    api.sm_volume_create(ctx, values)
    with pytest.raises(exception.SMVolumeExists) as info:
        api.sm_volume_create(ctx, values)
    assert info.value.kwargs == {"volume_id": volume["id"]}


def test_sm_volume_update_and_delete_missing(api, ctx):
    """The original's sm_volume_delete silently did nothing for a missing
    record; update and delete raise SMVolumeNotFound now."""
    for call in (
        lambda: api.sm_volume_update(ctx, "nope", {"vdi_uuid": "x"}),
        lambda: api.sm_volume_delete(ctx, "nope"),
    ):
        with pytest.raises(exception.SMVolumeNotFound) as info:
            call()
        assert info.value.kwargs == {"volume_id": "nope"}


def test_sm_volume_id_cannot_change(api, ctx):
    backend = _backend(api, ctx)
    volume = api.volume_create(ctx, {"size": 1, "project_id": "p"})
    api.sm_volume_create(
        ctx, {"id": volume["id"], "backend_id": backend["id"]}
    )

    with pytest.raises(exception.InvalidInput):
        api.sm_volume_update(ctx, volume["id"], {"id": "other"})
    assert api.sm_volume_get(ctx, volume["id"])["id"] == volume["id"]
