"""Host aggregates, their hosts and metadata, through ``api``."""

from __future__ import annotations

import pytest

from db import exception


@pytest.mark.parametrize(
    "name,args",
    [
        ("aggregate_create", ({"name": "a", "availability_zone": "z"},)),
        ("aggregate_get_all", ()),
    ],
)
def test_aggregates_need_an_admin(api, user_ctx, name, args):
    with pytest.raises(exception.AdminRequired):
        getattr(api, name)(user_ctx, *args)


def _aggregate(api, ctx, name="agg1", metadata=None, **values):
    values = {"name": name, "availability_zone": "zone1", **values}
    return api.aggregate_create(ctx, values, metadata)


def test_aggregate_create_returns_hosts_and_metadetails(api, ctx):
    aggregate = _aggregate(api, ctx, metadata={"ssd": "true", "n": 1})

    assert aggregate["name"] == "agg1"
    assert aggregate["hosts"] == []
    assert aggregate["metadetails"] == {"ssd": "true", "n": "1"}
    assert api.aggregate_get(ctx, aggregate["id"]) == aggregate


def test_aggregate_create_refuses_a_live_name(api, ctx):
    _aggregate(api, ctx)
    with pytest.raises(exception.AggregateNameExists) as info:
        _aggregate(api, ctx, availability_zone="zone2")
    assert info.value.kwargs == {"aggregate_name": "agg1"}
    assert len(api.aggregate_get_all(ctx)) == 1


def test_aggregate_create_revives_a_deleted_name_empty(api, ctx):
    """The original revived a deleted aggregate of the same name and,
    since delete left its hosts and metadata live, brought them back.
    We delete them with the aggregate: the revived one starts empty."""
    old = _aggregate(api, ctx, metadata={"old": "1"})
    api.aggregate_host_add(ctx, old["id"], "h1")
    api.aggregate_delete(ctx, old["id"])

    new = _aggregate(api, ctx, metadata={"new": "2"},
                     availability_zone="zone2")

    assert new["id"] == old["id"]
    assert new["deleted"] == 0
    assert new["availability_zone"] == "zone2"
    assert new["hosts"] == []
    assert new["metadetails"] == {"new": "2"}


def test_aggregate_create_checks_metadata_before_writing(api, ctx):
    """The original created the aggregate, then added the metadata
    outside its transaction, so bad metadata left a bare aggregate.  We
    write both in one transaction."""
    with pytest.raises(exception.InvalidValue):
        _aggregate(api, ctx, metadata={"key": None})
    with pytest.raises(exception.InvalidInput):
        _aggregate(api, ctx, metadata=["key"])
    assert api.aggregate_get_all(ctx) == []


def test_aggregate_create_needs_a_name(api, ctx):
    with pytest.raises(exception.InvalidInput):
        api.aggregate_create(ctx, {"availability_zone": "z"})
    with pytest.raises(exception.InvalidValue):
        api.aggregate_create(ctx, {"name": "a"})


def test_aggregate_get_update_delete_raise_not_found(api, ctx):
    aggregate = _aggregate(api, ctx)
    api.aggregate_delete(ctx, aggregate["id"])

    for call in (
        lambda: api.aggregate_get(ctx, aggregate["id"]),
        lambda: api.aggregate_update(ctx, aggregate["id"], {"name": "x"}),
        lambda: api.aggregate_delete(ctx, aggregate["id"]),
        lambda: api.aggregate_host_add(ctx, aggregate["id"], "h"),
        lambda: api.aggregate_metadata_get(ctx, aggregate["id"]),
    ):
        with pytest.raises(exception.AggregateNotFound) as info:
            call()
        assert info.value.kwargs == {"aggregate_id": aggregate["id"]}
    historic = ctx.elevated(read_deleted="yes")
    deleted = api.aggregate_get(historic, aggregate["id"])
    assert deleted["deleted"] == aggregate["id"]
    assert api.aggregate_get_all(ctx) == []
    assert len(api.aggregate_get_all(historic)) == 1


def test_aggregate_update_replaces_metadata_and_returns_the_row(api, ctx):
    aggregate = _aggregate(api, ctx, metadata={"a": "1", "b": "2"})

    updated = api.aggregate_update(
        ctx, aggregate["id"],
        {"availability_zone": "zone9", "metadata": {"b": "3", "c": "4"}},
    )

    assert updated["availability_zone"] == "zone9"
    assert updated["metadetails"] == {"b": "3", "c": "4"}
    assert api.aggregate_metadata_get(ctx, aggregate["id"]) == {
        "b": "3", "c": "4"
    }


def test_aggregate_update_onto_a_live_name(api, ctx):
    _aggregate(api, ctx, name="taken")
    aggregate = _aggregate(api, ctx, name="mine")
    with pytest.raises(exception.AggregateNameExists):
        api.aggregate_update(ctx, aggregate["id"], {"name": "taken"})
    assert api.aggregate_get(ctx, aggregate["id"])["name"] == "mine"


def test_aggregate_metadata_add_merges_by_default(api, ctx):
    aggregate = _aggregate(api, ctx, metadata={"a": "1", "b": "2"})

    written = api.aggregate_metadata_add(
        ctx, aggregate["id"], {"b": 20, "c": "3"}
    )

    assert written == {"b": "20", "c": "3"}
    assert api.aggregate_metadata_get(ctx, aggregate["id"]) == {
        "a": "1", "b": "20", "c": "3"
    }


def test_aggregate_metadata_add_with_set_delete_replaces(api, ctx):
    """The spec text says set_delete=True "adds only"; the original (and
    we) delete the keys absent from the new metadata."""
    aggregate = _aggregate(api, ctx, metadata={"a": "1", "b": "2"})

    api.aggregate_metadata_add(ctx, aggregate["id"], {"b": "9"},
                               set_delete=True)

    assert api.aggregate_metadata_get(ctx, aggregate["id"]) == {"b": "9"}


def test_aggregate_metadata_delete_and_revive(api, ctx):
    aggregate = _aggregate(api, ctx, metadata={"a": "1"})

    api.aggregate_metadata_delete(ctx, aggregate["id"], "a")
    assert api.aggregate_metadata_get(ctx, aggregate["id"]) == {}
    with pytest.raises(exception.AggregateMetadataNotFound) as info:
        api.aggregate_metadata_delete(ctx, aggregate["id"], "a")
    assert info.value.kwargs == {"aggregate_id": aggregate["id"],
                                 "metadata_key": "a"}

    api.aggregate_metadata_add(ctx, aggregate["id"], {"a": "2"})
    assert api.aggregate_metadata_get(ctx, aggregate["id"]) == {"a": "2"}


def test_aggregate_hosts_add_get_delete(api, ctx):
    aggregate = _aggregate(api, ctx)

    added = api.aggregate_host_add(ctx, aggregate["id"], "h1")
    api.aggregate_host_add(ctx, aggregate["id"], "h2")

    assert added["host"] == "h1"
    assert added["aggregate_id"] == aggregate["id"]
    assert api.aggregate_host_get_all(ctx, aggregate["id"]) == ["h1", "h2"]
    assert api.aggregate_get(ctx, aggregate["id"])["hosts"] == ["h1", "h2"]
    with pytest.raises(exception.AggregateHostExists) as info:
        api.aggregate_host_add(ctx, aggregate["id"], "h1")
    assert info.value.kwargs == {"aggregate_id": aggregate["id"],
                                 "host": "h1"}

    api.aggregate_host_delete(ctx, aggregate["id"], "h1")
    assert api.aggregate_host_get_all(ctx, aggregate["id"]) == ["h2"]
    with pytest.raises(exception.AggregateHostNotFound) as info:
        api.aggregate_host_delete(ctx, aggregate["id"], "h1")
    assert info.value.kwargs == {"aggregate_id": aggregate["id"],
                                 "host": "h1"}

    revived = api.aggregate_host_add(ctx, aggregate["id"], "h1")
    assert revived["id"] == added["id"]
    assert sorted(api.aggregate_host_get_all(ctx, aggregate["id"])) == [
        "h1", "h2"
    ]


def test_aggregate_host_calls_on_a_missing_aggregate(api, ctx):
    with pytest.raises(exception.AggregateNotFound):
        api.aggregate_host_get_all(ctx, 5)
    with pytest.raises(exception.AggregateNotFound):
        api.aggregate_host_delete(ctx, 5, "h")
    with pytest.raises(exception.AggregateNotFound):
        api.aggregate_metadata_add(ctx, 5, {"a": "b"})


def test_aggregate_get_by_host_with_and_without_key(api, ctx):
    one = _aggregate(api, ctx, name="one", metadata={"ssd": "1"})
    two = _aggregate(api, ctx, name="two", metadata={"gpu": "1"})
    other = _aggregate(api, ctx, name="other", metadata={"ssd": "1"})
    for aggregate in (one, two):
        api.aggregate_host_add(ctx, aggregate["id"], "h1")
    api.aggregate_host_add(ctx, other["id"], "h2")

    rows = api.aggregate_get_by_host(ctx, "h1")
    assert [a["id"] for a in rows] == [one["id"], two["id"]]
    assert rows[0]["hosts"] == ["h1"]
    assert rows[0]["metadetails"] == {"ssd": "1"}
    keyed = api.aggregate_get_by_host(ctx, "h1", key="ssd")
    assert [a["id"] for a in keyed] == [one["id"]]
    assert api.aggregate_get_by_host(ctx, "nowhere") == []


def test_aggregate_metadata_get_by_host_is_a_dict_of_sets(api, ctx):
    one = _aggregate(api, ctx, name="one",
                     metadata={"zone": "a", "ssd": "1"})
    two = _aggregate(api, ctx, name="two", metadata={"zone": "b"})
    other = _aggregate(api, ctx, name="other", metadata={"zone": "c"})
    for aggregate in (one, two):
        api.aggregate_host_add(ctx, aggregate["id"], "h1")
    api.aggregate_host_add(ctx, other["id"], "h2")

    metadata = api.aggregate_metadata_get_by_host(ctx, "h1")

    assert type(metadata) is dict
    assert metadata == {"zone": {"a", "b"}, "ssd": {"1"}}
    assert all(isinstance(values, set) for values in metadata.values())
    assert "gpu" not in metadata
    assert api.aggregate_metadata_get_by_host(ctx, "nowhere") == {}


def test_aggregate_metadata_get_by_host_key_returns_only_that_key(
    api, ctx
):
    """With a key, the original selected the aggregates having it but
    returned all of their keys; we return only that key."""
    one = _aggregate(api, ctx, name="one",
                     metadata={"zone": "a", "ssd": "1"})
    api.aggregate_host_add(ctx, one["id"], "h1")

    assert api.aggregate_metadata_get_by_host(ctx, "h1", key="zone") == {
        "zone": {"a"}
    }
    assert api.aggregate_metadata_get_by_host(ctx, "h1", key="gpu") == {}


def test_deleted_aggregates_do_not_count_for_a_host(api, ctx):
    aggregate = _aggregate(api, ctx, metadata={"zone": "a"})
    api.aggregate_host_add(ctx, aggregate["id"], "h1")
    api.aggregate_delete(ctx, aggregate["id"])

    assert api.aggregate_get_by_host(ctx, "h1") == []
    assert api.aggregate_metadata_get_by_host(ctx, "h1") == {}
