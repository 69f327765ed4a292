"""The generic endpoint: allowlist, argument binding, logging."""

import logging

import pytest

from conductor import _logging, _wire
from conductor.manager import LOCAL_ONLY, ConductorManager, MalformedRequest
from db import api as db_api
from db import context as context_mod
from db import exception
from tests.conductor.conftest import make_backend


def manager(**functions):
    return ConductorManager(backend=make_backend(**functions),
                            slow_call_warning=0)


def test_the_allowlist_is_the_spec_minus_the_local_builders():
    served = manager().methods

    assert served == set(db_api.__all__) - LOCAL_ONLY
    assert {"constraint", "equal_any", "not_equal"} == set(LOCAL_ONLY)


@pytest.mark.parametrize(
    "method",
    ["no_such_function", "__init__", "__class__", "LOG", "_missing",
     "IMPL", "constraint", "os.system", "", 42, None],
)
def test_anything_outside_the_allowlist_is_an_invalid_request(method):
    with pytest.raises(exception.InvalidRequest) as info:
        manager().dispatch(None, method, {})
    assert "no such method" in str(info.value)


@pytest.mark.parametrize(
    "kwargs,words",
    [
        ({}, "missing a required argument: 'instance_id'"),
        ({"instance_id": 1, "colour": "red"}, "unexpected keyword"),
        ({"instance_id": 1, "session": object()}, "session"),
        ({"instance_id": 1, "context": None}, "multiple values"),
    ],
)
def test_arguments_that_do_not_fit_are_an_invalid_request(kwargs, words):
    with pytest.raises(exception.InvalidRequest) as info:
        manager(instance_get=lambda context, instance_id: 1).dispatch(
            None, "instance_get", kwargs
        )
    assert "instance_get" in str(info.value)
    assert words in str(info.value)


def test_binding_follows_the_spec_even_for_a_catch_all_backend():
    """A backend function taking **kwargs (a stub) cannot widen the API:
    arguments are bound against the spec's signature."""
    called = []
    m = manager(instance_get=lambda context, **kw: called.append(kw))

    with pytest.raises(exception.InvalidRequest):
        m.dispatch(None, "instance_get", {"anything": 1})
    assert called == []


def test_the_function_gets_the_context_and_keyword_arguments():
    seen = {}

    def task_log_get(context, **kwargs):
        seen.update(context=context, **kwargs)
        return "found"

    context = context_mod.get_admin_context()

    result = manager(task_log_get=task_log_get).dispatch(
        context, "task_log_get",
        {"task_name": "t", "period_beginning": "b", "period_ending": "e",
         "host": "h"},
    )

    assert result == "found"
    assert seen == {"context": context, "task_name": "t",
                    "period_beginning": "b", "period_ending": "e",
                    "host": "h"}


def request(context, method, **kwargs):
    return _wire.encode_request(context, method, kwargs)


def test_parse_rejects_a_malformed_message_with_an_error_reply():
    with pytest.raises(MalformedRequest) as info:
        manager().parse(b"\xc1")

    with pytest.raises(exception.InvalidRequest):
        _wire.decode_reply(info.value.reply, "x")


def test_handle_encodes_results_and_errors():
    def instance_get(context, instance_id):
        if instance_id == 1:
            return {"id": 1}
        raise exception.InstanceNotFound(instance_id=instance_id)

    m = manager(instance_get=instance_get)
    context = context_mod.get_admin_context()

    ok = m.handle(request(context, "instance_get", instance_id=1))
    missing = m.handle(request(context, "instance_get", instance_id=2))

    assert _wire.decode_reply(ok, "instance_get") == {"id": 1}
    with pytest.raises(exception.InstanceNotFound):
        _wire.decode_reply(missing, "instance_get")


def test_expected_errors_are_not_logged_as_faults(caplog):
    def instance_get(context, instance_id):
        raise exception.InstanceNotFound(instance_id=instance_id)

    caplog.set_level(logging.DEBUG, logger="conductor.manager")
    manager(instance_get=instance_get).handle(
        request(None, "instance_get", instance_id=5)
    )

    levels = {r.levelno for r in caplog.records}
    assert levels == {logging.DEBUG}


def test_unexpected_errors_are_logged_once_with_a_traceback(caplog):
    def instance_get(context, instance_id):
        raise RuntimeError("boom")

    caplog.set_level(logging.DEBUG, logger="conductor.manager")
    manager(instance_get=instance_get).handle(
        request(None, "instance_get", instance_id=5)
    )

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert "instance_get" in errors[0].getMessage()


def test_a_slow_call_warns_with_its_request_id(caplog):
    context = context_mod.RequestContext("u", "p", request_id="req-slow-1")
    m = ConductorManager(
        backend=make_backend(instance_get=lambda context, instance_id: 1),
        slow_call_warning=1e-9,
    )

    caplog.set_level(logging.WARNING, logger="conductor.manager")
    m.handle(request(context, "instance_get", instance_id=1))

    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "Slow DB call instance_get" in record.getMessage()
    assert "req-slow-1" in record.getMessage()


def test_log_lines_written_during_a_call_carry_its_request_id(caplog):
    log = logging.getLogger("db.sqlalchemy.fake")

    def instance_get(context, instance_id):
        log.warning("inside the call")
        return _logging.current_request_id()

    context = context_mod.RequestContext("u", "p", request_id="req-abc")
    caplog.set_level(logging.WARNING)
    caplog.handler.addFilter(_logging.RequestIdFilter())

    body = manager(instance_get=instance_get).handle(
        request(context, "instance_get", instance_id=1)
    )

    assert _wire.decode_reply(body, "instance_get") == "req-abc"
    (record,) = [r for r in caplog.records if r.name == log.name]
    assert record.request_id == "req-abc"
    assert _logging.current_request_id() is None
