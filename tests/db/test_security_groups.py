"""Security groups, ingress rules and provider firewall rules."""

from __future__ import annotations

import datetime

import pytest

from db import context as context_mod
from db import exception


def _group(api, context, name="web", project_id=None, **extra):
    values = {
        "name": name,
        "description": f"{name} servers",
        "user_id": context.user_id,
        "project_id": project_id or context.project_id,
    }
    values.update(extra)
    return api.security_group_create(context, values)


def _rule(api, context, parent, grantee=None, **extra):
    values = {
        "parent_group_id": parent["id"],
        "protocol": "tcp",
        "from_port": 80,
        "to_port": 80,
    }
    if grantee is None:
        values["cidr"] = "0.0.0.0/0"
    else:
        values["group_id"] = grantee["id"]
    values.update(extra)
    return api.security_group_rule_create(context, values)


@pytest.fixture
def flavor(api, ctx):
    return api.instance_type_create(
        ctx,
        {"name": "m1.tiny", "flavorid": "1", "memory_mb": 512, "vcpus": 1},
    )


def _boot(api, context, flavor, *groups):
    """Create an instance of the context's project in ``groups``."""
    instance = api.instance_create(
        context,
        {
            "user_id": context.user_id,
            "project_id": context.project_id,
            "instance_type_id": flavor["id"],
            "host": "compute1",
        },
    )
    for group in groups:
        api.instance_add_security_group(context, instance["uuid"], group["id"])
    return instance


# --------------------------------------------------------------------------
# security_group_create / get


def test_create_returns_the_group_row(api, user_ctx):
    group = _group(api, user_ctx)

    assert isinstance(group, dict)
    assert isinstance(group["id"], int)
    assert group["name"] == group.name == "web"
    assert group["project_id"] == "fake-project"
    assert group["user_id"] == "fake-user"
    assert group["deleted"] == 0
    assert isinstance(group["created_at"], datetime.datetime)
    assert group["rules"] == []
    assert group["instances"] == []


def test_create_duplicate_name_in_a_project_raises(api, user_ctx, ctx):
    """The original had no unique constraint and created duplicates."""
    _group(api, user_ctx)

    with pytest.raises(exception.SecurityGroupExists) as info:
        _group(api, user_ctx)
    assert info.value.kwargs == {
        "project_id": "fake-project",
        "security_group_name": "web",
    }
    # The same name in another project is another group.
    assert _group(api, ctx, project_id="admin-project")["name"] == "web"
    assert api.security_group_count_by_project(user_ctx, "fake-project") == 1


def test_a_destroyed_groups_name_can_be_reused(api, user_ctx):
    old = _group(api, user_ctx)
    api.security_group_destroy(user_ctx, old["id"])

    assert _group(api, user_ctx)["id"] != old["id"]


@pytest.mark.parametrize(
    "values, error",
    [
        (
            {"name": "x", "project_id": "fake-project", "bogus": 1},
            exception.InvalidColumn,
        ),
        ({"project_id": "fake-project"}, exception.InvalidInput),
        ({"name": "x"}, exception.InvalidInput),
        (
            {"name": ["x"], "project_id": "fake-project"},
            exception.InvalidValue,
        ),
        (
            {"name": "x", "project_id": "other-project"},
            exception.NotAuthorized,
        ),
    ],
)
def test_create_rejects_bad_values_before_writing(
    api, user_ctx, ctx, values, error
):
    with pytest.raises(error):
        api.security_group_create(user_ctx, values)
    assert api.security_group_get_all(ctx) == []


def test_get_joins_rules_and_instances(api, user_ctx, flavor):
    group = _group(api, user_ctx)
    rule = _rule(api, user_ctx, group)
    instance = _boot(api, user_ctx, flavor, group)

    found = api.security_group_get(user_ctx, group["id"])
    assert found["name"] == "web"
    assert [r["id"] for r in found["rules"]] == [rule["id"]]
    assert found["rules"][0]["cidr"] == "0.0.0.0/0"
    assert [i["uuid"] for i in found["instances"]] == [instance["uuid"]]


def test_get_raises_security_group_not_found(api, user_ctx):
    with pytest.raises(exception.SecurityGroupNotFound) as info:
        api.security_group_get(user_ctx, 12345)
    assert info.value.kwargs == {"security_group_id": 12345}
    with pytest.raises(exception.InvalidID):
        api.security_group_get(user_ctx, "web")


def test_get_is_project_only_for_user_contexts(api, user_ctx, other_ctx, ctx):
    group = _group(api, user_ctx)

    with pytest.raises(exception.SecurityGroupNotFound):
        api.security_group_get(other_ctx, group["id"])
    assert api.security_group_get(ctx, group["id"])["id"] == group["id"]


def test_get_follows_the_contexts_read_deleted(api, user_ctx):
    group = _group(api, user_ctx)
    api.security_group_destroy(user_ctx, group["id"])

    with pytest.raises(exception.SecurityGroupNotFound):
        api.security_group_get(user_ctx, group["id"])
    historic = user_ctx.elevated(read_deleted="yes")
    assert api.security_group_get(historic, group["id"])["deleted"] != 0


# --------------------------------------------------------------------------
# By name, project, instance


def test_get_by_name_joins_instances_and_rules(api, user_ctx, flavor):
    group = _group(api, user_ctx)
    _rule(api, user_ctx, group)
    _boot(api, user_ctx, flavor, group)

    found = api.security_group_get_by_name(user_ctx, "fake-project", "web")
    assert found["id"] == group["id"]
    assert len(found["rules"]) == 1
    assert len(found["instances"]) == 1


def test_get_by_name_raises_not_found_for_project(api, user_ctx):
    with pytest.raises(exception.SecurityGroupNotFoundForProject) as info:
        api.security_group_get_by_name(user_ctx, "fake-project", "nope")
    assert info.value.kwargs == {
        "project_id": "fake-project",
        "security_group_id": "nope",
    }


def test_project_reads_refuse_another_project_for_users(api, user_ctx, ctx):
    """The original let any user read any project's groups by name or
    project id; like security_group_get, ours keeps a user context in
    its own project (admins see all)."""
    _group(api, ctx, project_id="other-project")

    with pytest.raises(exception.NotAuthorized):
        api.security_group_get_by_name(user_ctx, "other-project", "web")
    with pytest.raises(exception.NotAuthorized):
        api.security_group_get_by_project(user_ctx, "other-project")
    with pytest.raises(exception.NotAuthorized):
        api.security_group_exists(user_ctx, "other-project", "web")
    with pytest.raises(exception.NotAuthorized):
        api.security_group_count_by_project(user_ctx, "other-project")
    assert api.security_group_exists(ctx, "other-project", "web") is True


def test_exists_returns_a_bool(api, user_ctx):
    group = _group(api, user_ctx)

    assert api.security_group_exists(user_ctx, "fake-project", "web") is True
    assert api.security_group_exists(user_ctx, "fake-project", "x") is False
    api.security_group_destroy(user_ctx, group["id"])
    assert api.security_group_exists(user_ctx, "fake-project", "web") is (
        False
    )


def test_get_all_and_get_by_project_carry_rules(api, ctx, user_ctx, other_ctx):
    """The original's get_all showed a user every project's groups."""
    web = _group(api, user_ctx)
    _rule(api, user_ctx, web)
    _group(api, user_ctx, name="db")
    _group(api, other_ctx)

    everything = api.security_group_get_all(ctx)
    assert isinstance(everything, list)
    assert len(everything) == 3
    mine = api.security_group_get_all(user_ctx)
    assert [g["name"] for g in mine] == ["web", "db"]
    assert len(mine[0]["rules"]) == 1 and mine[1]["rules"] == []

    by_project = api.security_group_get_by_project(user_ctx, "fake-project")
    assert [g["name"] for g in by_project] == ["web", "db"]
    assert len(by_project[0]["rules"]) == 1
    assert api.security_group_get_by_project(ctx, "nobody") == []


def test_count_by_project_counts_live_groups(api, user_ctx):
    first = _group(api, user_ctx)
    _group(api, user_ctx, name="db")
    api.security_group_destroy(user_ctx, first["id"])

    count = api.security_group_count_by_project(user_ctx, "fake-project")
    assert count == 1 and isinstance(count, int)


def test_get_by_instance_takes_the_integer_id(api, user_ctx, flavor):
    web = _group(api, user_ctx)
    db_group = _group(api, user_ctx, name="db")
    _rule(api, user_ctx, web)
    instance = _boot(api, user_ctx, flavor, web, db_group)
    _boot(api, user_ctx, flavor, web)

    groups = api.security_group_get_by_instance(user_ctx, instance["id"])
    assert [g["name"] for g in groups] == ["web", "db"]
    assert len(groups[0]["rules"]) == 1
    assert api.security_group_get_by_instance(user_ctx, 99999) == []

    api.security_group_destroy(user_ctx, db_group["id"])
    groups = api.security_group_get_by_instance(user_ctx, instance["id"])
    assert [g["name"] for g in groups] == ["web"]


def test_in_use_means_a_live_instance_is_in_the_group(api, user_ctx, flavor):
    group = _group(api, user_ctx)
    assert api.security_group_in_use(user_ctx, group["id"]) is False

    instance = _boot(api, user_ctx, flavor, group)
    assert api.security_group_in_use(user_ctx, group["id"]) is True

    api.instance_destroy(user_ctx, instance["uuid"])
    assert api.security_group_in_use(user_ctx, group["id"]) is False


# --------------------------------------------------------------------------
# security_group_ensure_default


def test_ensure_default_creates_the_group_once(api, user_ctx, ctx):
    first = api.security_group_ensure_default(user_ctx)

    assert isinstance(first, dict)
    assert first["name"] == "default"
    assert first["description"] == "default"
    assert first["project_id"] == "fake-project"
    assert first["user_id"] == "fake-user"
    second = api.security_group_ensure_default(user_ctx)
    assert second["id"] == first["id"]
    assert api.security_group_count_by_project(ctx, "fake-project") == 1


def test_ensure_default_finds_a_group_made_by_create(api, user_ctx):
    made = _group(api, user_ctx, name="default")

    assert api.security_group_ensure_default(user_ctx)["id"] == made["id"]


def test_ensure_default_is_per_project(api, user_ctx, other_ctx):
    mine = api.security_group_ensure_default(user_ctx)
    theirs = api.security_group_ensure_default(other_ctx)

    assert mine["id"] != theirs["id"]
    assert theirs["project_id"] == "other-project"


def test_ensure_default_needs_a_project(api):
    service = context_mod.RequestContext(None, None, is_admin=True)

    with pytest.raises(exception.InvalidInput):
        api.security_group_ensure_default(service)


# --------------------------------------------------------------------------
# security_group_destroy


def test_destroy_deletes_associations_own_rules_and_grants(
    api, user_ctx, flavor
):
    """The original soft-deleted only the rules granting *to* the group
    (group_id == id) and left the group's own rules (parent_group_id ==
    id) live; ours deletes both."""
    web = _group(api, user_ctx)
    app = _group(api, user_ctx, name="app")
    own = _rule(api, user_ctx, web)
    grant = _rule(api, user_ctx, app, grantee=web)
    unrelated = _rule(api, user_ctx, app, from_port=22, to_port=22)
    _boot(api, user_ctx, flavor, web)

    assert api.security_group_destroy(user_ctx, web["id"]) is None

    for rule in (own, grant):
        with pytest.raises(exception.SecurityGroupNotFoundForRule):
            api.security_group_rule_get(user_ctx, rule["id"])
    assert (
        api.security_group_rule_get(user_ctx, unrelated["id"])["id"]
        == (unrelated["id"])
    )
    assert api.security_group_in_use(user_ctx, web["id"]) is False
    assert api.security_group_rule_count_by_group(user_ctx, app["id"]) == 1


def test_destroy_of_a_missing_group_raises(api, user_ctx, other_ctx):
    """The original's destroy matched nothing silently, and let any user
    delete any project's group."""
    group = _group(api, user_ctx)

    with pytest.raises(exception.SecurityGroupNotFound) as info:
        api.security_group_destroy(other_ctx, group["id"])
    assert info.value.kwargs == {"security_group_id": group["id"]}
    api.security_group_destroy(user_ctx, group["id"])
    with pytest.raises(exception.SecurityGroupNotFound):
        api.security_group_destroy(user_ctx, group["id"])


# --------------------------------------------------------------------------
# Rules


def test_rule_create_and_get(api, user_ctx):
    group = _group(api, user_ctx)

    rule = _rule(api, user_ctx, group, from_port="443", to_port=443)
    assert isinstance(rule, dict)
    assert rule["parent_group_id"] == group["id"]
    assert rule["from_port"] == 443 and rule["to_port"] == 443
    assert rule["group_id"] is None
    assert api.security_group_rule_get(user_ctx, rule["id"]) == rule


def test_rule_get_raises_not_found_for_rule(api, user_ctx):
    with pytest.raises(exception.SecurityGroupNotFoundForRule) as info:
        api.security_group_rule_get(user_ctx, 777)
    assert info.value.kwargs == {"rule_id": 777}


@pytest.mark.parametrize(
    "extra, error",
    [
        ({"protocol": "tcp-or-udp"}, exception.InvalidValue),
        ({"from_port": "eighty"}, exception.InvalidValue),
        ({"colour": "red"}, exception.InvalidColumn),
        ({"parent_group_id": None}, exception.InvalidInput),
        ({"parent_group_id": 4242}, exception.SecurityGroupNotFound),
        ({"group_id": 4242}, exception.SecurityGroupNotFound),
    ],
)
def test_rule_create_rejects_bad_values_before_writing(
    api, user_ctx, extra, error
):
    """The original wrote whatever it got; a rule of a missing group
    failed, if at all, with a raw foreign-key error."""
    group = _group(api, user_ctx)

    with pytest.raises(error):
        _rule(api, user_ctx, group, **extra)
    assert api.security_group_rule_count_by_group(user_ctx, group["id"]) == 0


def test_rule_create_refuses_a_deleted_parent(api, user_ctx):
    group = _group(api, user_ctx)
    api.security_group_destroy(user_ctx, group["id"])

    with pytest.raises(exception.SecurityGroupNotFound) as info:
        _rule(api, user_ctx, group)
    assert info.value.kwargs == {"security_group_id": group["id"]}


def test_rules_by_group_nest_grantee_instances_and_flavor(
    api, user_ctx, flavor
):
    web = _group(api, user_ctx)
    app = _group(api, user_ctx, name="app")
    cidr_rule = _rule(api, user_ctx, web)
    grant = _rule(
        api, user_ctx, web, grantee=app, from_port=8080, to_port=8080
    )
    instance = _boot(api, user_ctx, flavor, app)

    rules = api.security_group_rule_get_by_security_group(user_ctx, web["id"])
    assert [r["id"] for r in rules] == [cidr_rule["id"], grant["id"]]
    assert rules[0]["grantee_group"] is None
    grantee = rules[1]["grantee_group"]
    assert grantee["id"] == app["id"]
    assert [i["uuid"] for i in grantee["instances"]] == [instance["uuid"]]
    assert grantee["instances"][0]["instance_type"]["name"] == "m1.tiny"
    assert (
        api.security_group_rule_get_by_security_group(user_ctx, app["id"])
        == []
    )


def test_rules_by_grantee(api, user_ctx):
    web = _group(api, user_ctx)
    app = _group(api, user_ctx, name="app")
    _rule(api, user_ctx, web)
    grant = _rule(api, user_ctx, web, grantee=app)

    rules = api.security_group_rule_get_by_security_group_grantee(
        user_ctx, app["id"]
    )
    assert [r["id"] for r in rules] == [grant["id"]]
    assert rules[0]["parent_group_id"] == web["id"]
    assert (
        api.security_group_rule_get_by_security_group_grantee(
            user_ctx, web["id"]
        )
        == []
    )


def test_rule_destroy_and_count(api, user_ctx):
    group = _group(api, user_ctx)
    first = _rule(api, user_ctx, group)
    _rule(api, user_ctx, group, from_port=22, to_port=22)
    assert api.security_group_rule_count_by_group(user_ctx, group["id"]) == 2

    assert api.security_group_rule_destroy(user_ctx, first["id"]) is None
    count = api.security_group_rule_count_by_group(user_ctx, group["id"])
    assert count == 1 and isinstance(count, int)
    with pytest.raises(exception.SecurityGroupNotFoundForRule) as info:
        api.security_group_rule_destroy(user_ctx, first["id"])
    assert info.value.kwargs == {"rule_id": first["id"]}
    historic = user_ctx.elevated(read_deleted="yes")
    assert (
        api.security_group_rule_get(historic, first["id"])["deleted"]
        == first["id"]
    )


# --------------------------------------------------------------------------
# Provider firewall rules


def test_provider_fw_rules_create_list_and_destroy(api, ctx):
    rule = api.provider_fw_rule_create(
        ctx,
        {
            "protocol": "tcp",
            "from_port": 22,
            "to_port": 22,
            "cidr": "10.0.0.0/8",
        },
    )
    other = api.provider_fw_rule_create(
        ctx,
        {
            "protocol": "udp",
            "from_port": 53,
            "to_port": 53,
            "cidr": "0.0.0.0/0",
        },
    )
    assert isinstance(rule, dict)
    assert rule["cidr"] == "10.0.0.0/8"
    assert [r["id"] for r in api.provider_fw_rule_get_all(ctx)] == [
        rule["id"],
        other["id"],
    ]

    assert api.provider_fw_rule_destroy(ctx, rule["id"]) is None
    assert [r["id"] for r in api.provider_fw_rule_get_all(ctx)] == [
        other["id"]
    ]


def test_provider_fw_rule_destroy_of_a_missing_rule_raises(api, ctx):
    """The original's destroy matched nothing silently."""
    rule = api.provider_fw_rule_create(ctx, {"protocol": "icmp"})
    api.provider_fw_rule_destroy(ctx, rule["id"])

    with pytest.raises(exception.ProviderFirewallRuleNotFound) as info:
        api.provider_fw_rule_destroy(ctx, rule["id"])
    assert info.value.kwargs == {"rule_id": rule["id"]}


def test_provider_fw_rules_are_admin_only_and_checked(api, ctx, user_ctx):
    with pytest.raises(exception.AdminRequired):
        api.provider_fw_rule_create(user_ctx, {"protocol": "tcp"})
    with pytest.raises(exception.AdminRequired):
        api.provider_fw_rule_get_all(user_ctx)
    with pytest.raises(exception.AdminRequired):
        api.provider_fw_rule_destroy(user_ctx, 1)
    with pytest.raises(exception.InvalidValue):
        api.provider_fw_rule_create(ctx, {"from_port": "ssh"})
    assert api.provider_fw_rule_get_all(ctx) == []
