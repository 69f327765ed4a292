"""conductor.rpcapi mirrors the spec, forwards by keyword, and is what
``db`` uses when ``db_backend = conductor``."""

import ast
import inspect
import pathlib

import pytest

import db
from conductor import _client, rpcapi
from db import conditions, exception

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = ROOT / "tools" / "spec" / "db-api-signatures.txt"


def spec_entries():
    for line in SPEC.read_text().splitlines():
        name, _, rest = line.partition("(")
        yield name, ast.parse(f"def {name}({rest[:-1]}): pass").body[0].args


def expected(args):
    plain = args.args
    defaults = [inspect.Parameter.empty] * (
        len(plain) - len(args.defaults)
    ) + [ast.literal_eval(d) for d in args.defaults]
    params = [
        (a.arg, "POSITIONAL_OR_KEYWORD", d)
        for a, d in zip(plain, defaults, strict=True)
        if a.arg != "session"
    ]
    empty = inspect.Parameter.empty
    if args.vararg:
        params.append((args.vararg.arg, "VAR_POSITIONAL", empty))
    if args.kwarg:
        params.append((args.kwarg.arg, "VAR_KEYWORD", empty))
    return params


def test_every_function_has_the_spec_signature_minus_session():
    wrong = []
    for name, args in spec_entries():
        function = getattr(rpcapi, name, None)
        if function is None:
            wrong.append(f"{name}: missing")
            continue
        have = [
            (p.name, p.kind.name, p.default)
            for p in inspect.signature(function).parameters.values()
        ]
        if have != expected(args):
            wrong.append(f"{name}: {have} != {expected(args)}")

    assert wrong == []


def test_exports_exactly_the_spec_and_configure():
    names = {name for name, _ in spec_entries()}

    assert set(rpcapi.__all__) == names | {"configure"}
    assert rpcapi.configure is _client.configure


def test_each_function_forwards_by_keyword(monkeypatch):
    seen = []
    monkeypatch.setattr(
        rpcapi, "_call",
        lambda context, method, **kwargs: seen.append(
            (context, method, kwargs)
        ) or "result",
    )

    assert rpcapi.task_log_get("ctx", "t", "b", "e", "h") == "result"
    assert rpcapi.instance_get_all_by_filters(
        "ctx", {"host": "h"}, limit=5
    ) == "result"

    assert seen == [
        ("ctx", "task_log_get",
         {"task_name": "t", "period_beginning": "b", "period_ending": "e",
          "host": "h", "state": None}),
        ("ctx", "instance_get_all_by_filters",
         {"filters": {"host": "h"}, "sort_key": "created_at",
          "sort_dir": "desc", "limit": 5, "marker": None}),
    ]


def test_condition_builders_work_locally(monkeypatch):
    def no_call(*args, **kwargs):
        raise AssertionError("must not call the conductor")

    monkeypatch.setattr(rpcapi, "_call", no_call)

    built = rpcapi.constraint(
        vm_state=rpcapi.equal_any("active", "error"),
        task_state=rpcapi.not_equal("deleting"),
    )

    assert built == db.constraint(
        vm_state=db.equal_any("active", "error"),
        task_state=db.not_equal("deleting"),
    )
    assert type(built) is conditions.Constraint


def test_configure_rejects_a_bad_url_at_once():
    with pytest.raises(exception.InvalidInput) as info:
        _client.configure(transport_url="http://host/")
    assert "unsupported scheme" in str(info.value)
    with pytest.raises(exception.InvalidInput):
        _client.configure(driver="carrier-pigeon")


def test_the_db_facade_goes_through_rpcapi_with_db_backend_conductor(
    monkeypatch,
):
    seen = []
    monkeypatch.setattr(
        rpcapi, "_call",
        lambda context, method, **kwargs: seen.append((method, kwargs)),
    )
    db.configure(db_backend="conductor")
    try:
        db.service_get("ctx", 5)
    finally:
        db.configure(db_backend="sqlalchemy")

    assert seen == [("service_get", {"service_id": 5})]
