"""DNS domains: registration for a zone or a project, lookup, removal."""

from __future__ import annotations

import pytest

from db import exception


def test_get_returns_none_for_an_unknown_domain(api, ctx):
    assert api.dnsdomain_get(ctx, "example.org") is None


def test_register_for_zone_creates_a_private_domain(api, ctx):
    row = api.dnsdomain_register_for_zone(ctx, "zone.example.org", "az1")

    assert isinstance(row, dict)
    got = api.dnsdomain_get(ctx, "zone.example.org")
    assert got == row
    assert got["domain"] == got.domain == "zone.example.org"
    assert (got["scope"], got["availability_zone"], got["project_id"]) == (
        "private", "az1", None,
    )


def test_register_for_project_creates_a_public_domain(api, ctx):
    api.dnsdomain_register_for_project(ctx, "proj.example.org", "proj")

    got = api.dnsdomain_get(ctx, "proj.example.org")
    assert (got["scope"], got["availability_zone"], got["project_id"]) == (
        "public", None, "proj",
    )


def test_registering_again_updates_the_one_row(api, ctx):
    api.dnsdomain_register_for_zone(ctx, "d.example.org", "az1")
    api.dnsdomain_register_for_zone(ctx, "d.example.org", "az2")

    assert api.dnsdomain_list(ctx) == ["d.example.org"]
    assert api.dnsdomain_get(ctx, "d.example.org")[
        "availability_zone"
    ] == "az2"


def test_rescoping_a_domain_clears_the_other_scopes_field(api, ctx):
    """The original kept project_id when a public domain was registered
    for a zone (and the zone the other way round), so a private domain
    could still claim an owner project; we clear it."""
    api.dnsdomain_register_for_project(ctx, "d.example.org", "proj")
    api.dnsdomain_register_for_zone(ctx, "d.example.org", "az1")

    got = api.dnsdomain_get(ctx, "d.example.org")
    assert (got["scope"], got["availability_zone"], got["project_id"]) == (
        "private", "az1", None,
    )

    api.dnsdomain_register_for_project(ctx, "d.example.org", "proj2")
    got = api.dnsdomain_get(ctx, "d.example.org")
    assert (got["scope"], got["availability_zone"], got["project_id"]) == (
        "public", None, "proj2",
    )


def test_unregister_deletes_the_domain(api, ctx):
    api.dnsdomain_register_for_zone(ctx, "d.example.org", "az1")

    assert api.dnsdomain_unregister(ctx, "d.example.org") is None

    assert api.dnsdomain_get(ctx, "d.example.org") is None
    assert api.dnsdomain_list(ctx) == []
    # Unknown domains are not an error, and the name can be registered
    # again.
    api.dnsdomain_unregister(ctx, "d.example.org")
    api.dnsdomain_register_for_project(ctx, "d.example.org", "proj")
    assert api.dnsdomain_get(ctx, "d.example.org")["scope"] == "public"


def test_list_returns_the_domain_names_sorted(api, ctx, user_ctx):
    assert api.dnsdomain_list(ctx) == []
    api.dnsdomain_register_for_zone(ctx, "b.example.org", "az1")
    api.dnsdomain_register_for_project(ctx, "a.example.org", "proj")

    names = api.dnsdomain_list(user_ctx)
    assert names == ["a.example.org", "b.example.org"]
    assert all(type(name) is str for name in names)


def test_register_and_unregister_need_an_admin(api, ctx, user_ctx):
    with pytest.raises(exception.AdminRequired):
        api.dnsdomain_register_for_zone(user_ctx, "d.example.org", "az1")
    with pytest.raises(exception.AdminRequired):
        api.dnsdomain_register_for_project(
            user_ctx, "d.example.org", "fake-project"
        )
    api.dnsdomain_register_for_zone(ctx, "d.example.org", "az1")
    with pytest.raises(exception.AdminRequired):
        api.dnsdomain_unregister(user_ctx, "d.example.org")
    assert api.dnsdomain_get(user_ctx, "d.example.org")["scope"] == "private"


@pytest.mark.parametrize("domain", [None, "", 42, "x" * 513])
def test_bad_domain_names_are_rejected_before_writing(api, ctx, domain):
    with pytest.raises(exception.Invalid):
        api.dnsdomain_register_for_zone(ctx, domain, "az1")
    with pytest.raises(exception.Invalid):
        api.dnsdomain_get(ctx, domain)
    assert api.dnsdomain_list(ctx) == []


def test_bad_zone_or_project_is_rejected_before_writing(api, ctx):
    with pytest.raises(exception.InvalidInput):
        api.dnsdomain_register_for_zone(ctx, "d.example.org", None)
    with pytest.raises(exception.InvalidInput):
        api.dnsdomain_register_for_project(ctx, "d.example.org", ["p"])
    assert api.dnsdomain_list(ctx) == []
