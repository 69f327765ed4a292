"""The public surface matches the spec and cannot drift from it."""

import ast
import inspect
import pathlib
import subprocess
import sys

import pytest

import db
import db.api
from db.sqlalchemy import api as sqla_api

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = ROOT / "tools" / "spec" / "db-api-signatures.txt"


def spec_entries():
    for line in SPEC.read_text().splitlines():
        name, _, rest = line.partition("(")
        args = ast.parse(f"def {name}({rest[:-1]}): pass").body[0].args
        yield name, args


SPEC_NAMES = [name for name, _ in spec_entries()]


def test_generated_modules_are_up_to_date():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_api.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_spec_has_299_functions():
    assert len(SPEC_NAMES) == 299


def test_db_exports_exactly_the_spec():
    assert sorted(db.api.__all__) == sorted(SPEC_NAMES)
    assert set(db.__all__) == set(SPEC_NAMES) | {"configure"}
    for name in SPEC_NAMES:
        assert getattr(db, name) is getattr(db.api, name)


def test_backend_provides_exactly_the_spec():
    assert sorted(sqla_api.__all__) == sorted(SPEC_NAMES)
    for name in SPEC_NAMES:
        assert callable(getattr(sqla_api, name))


@pytest.mark.parametrize("name,args", list(spec_entries()))
def test_facade_signature_matches_spec(name, args):
    params = list(inspect.signature(getattr(db, name)).parameters.values())
    plain = args.args
    defaults = [None] * (len(plain) - len(args.defaults)) + list(
        args.defaults
    )
    want = [
        (a.arg, None if d is None else ast.literal_eval(d))
        for a, d in zip(plain, defaults, strict=True)
    ]
    have = [
        (p.name, None if p.default is inspect.Parameter.empty else p.default)
        for p in params
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    assert have == want


def test_facade_forwards_by_keyword_and_drops_session(monkeypatch):
    seen = {}

    class Recorder:
        def __getattr__(self, name):
            def record(**kwargs):
                seen[name] = kwargs
                return "result"

            return record

    monkeypatch.setattr(db.api, "IMPL", Recorder())
    assert db.task_log_get("ctx", "t", "b", "e", "h", session="s") == (
        "result"
    )
    assert seen["task_log_get"] == {
        "context": "ctx",
        "task_name": "t",
        "period_beginning": "b",
        "period_ending": "e",
        "host": "h",
        "state": None,
    }


def test_unknown_backend_is_a_clear_error():
    from db import _backend, exception

    db.configure(db_backend=None)
    pluggable = _backend.LazyPluggable("db_backend", {"other": "x"})
    with pytest.raises(exception.InvalidBackend) as info:
        pluggable.anything  # noqa: B018
    assert "sqlalchemy" in str(info.value)
    assert "other" in str(info.value)
