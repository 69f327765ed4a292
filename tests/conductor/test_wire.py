"""Requests and replies: errors rebuild as the same class, and nothing
outside db.exception is ever instantiated from wire data."""

import pytest

from conductor import _wire, codec
from conductor.exception import RemoteError, RPCError
from db import context as context_mod
from db import exception


def carried(exc):
    """The exception a caller gets for ``exc`` raised on the conductor."""
    with pytest.raises(Exception) as info:
        _wire.decode_reply(_wire.encode_error(exc), "some_call")
    return info.value


@pytest.mark.parametrize(
    "local",
    [
        exception.InstanceNotFound(instance_id="abc"),
        exception.ServiceNotFound(service_id=7),
        exception.InvalidUUID(uuid="nope"),
        exception.DBDuplicateEntry(columns=["name", "deleted"]),
        exception.AggregateNameExists(aggregate_name="agg"),
        exception.InvalidInput(message="a message of its own"),
        exception.DBDeadlock(reason="deadlock found"),
        exception.HostBinaryNotFound(host="h", binary="b"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_db_errors_arrive_as_the_same_class_message_and_kwargs(local):
    remote = carried(local)

    assert type(remote) is type(local)
    assert str(remote) == str(local)
    assert remote.kwargs == local.kwargs
    assert remote.format_message() == local.format_message()


def test_remote_message_is_kept_even_if_the_template_differs():
    """The caller sees the conductor's text, not a re-filled template
    (so a newer conductor's wording survives an older client)."""
    error = {"class": "InstanceNotFound", "module": "db.exception",
             "message": "Instance x is gone for good.",
             "kwargs": {"instance_id": "x"}}

    rebuilt = _wire.rebuild_error(error)

    assert type(rebuilt) is exception.InstanceNotFound
    assert str(rebuilt) == "Instance x is gone for good."


@pytest.mark.parametrize(
    "local", [ValueError("bad value"), KeyError("k"),
              NotImplementedError("not yet")],
    ids=lambda e: type(e).__name__,
)
def test_other_errors_arrive_as_remote_error(local):
    remote = carried(local)

    assert type(remote) is RemoteError
    assert remote.exc_type == type(local).__name__
    assert remote.value == str(local)
    assert type(local).__name__ in str(remote)


@pytest.mark.parametrize(
    "error",
    [
        {"class": "system", "module": "os", "message": "rm -rf",
         "kwargs": {}},
        {"class": "Popen", "module": "subprocess", "message": "x",
         "kwargs": {"args": ["sh"]}},
        {"class": "lookup", "module": "db.exception", "message": "x",
         "kwargs": {}},
        {"class": "Any", "module": "db.exception", "message": "x",
         "kwargs": {}},
        {"class": "LOG", "module": "db.exception", "message": "x",
         "kwargs": {}},
        {"class": "InstanceNotFound", "module": "os", "message": "x",
         "kwargs": {}},
        {"class": "InstanceNotFound", "module": "db.exception",
         "message": "x", "kwargs": ["not", "a", "map"]},
        {"class": "RemoteError", "module": "conductor.exception",
         "message": "x", "kwargs": {}},
    ],
    ids=["os.system", "subprocess", "function", "typing", "logger",
         "wrong-module", "bad-kwargs", "conductor-class"],
)
def test_wire_data_cannot_pick_a_class_outside_db_exception(error):
    rebuilt = _wire.rebuild_error(error)

    assert type(rebuilt) is RemoteError
    assert rebuilt.exc_type == error["class"]


def test_unencodable_error_kwargs_are_sent_as_repr():
    local = exception.InvalidInput(reason="x")
    local.kwargs["thing"] = object()

    remote = carried(local)

    assert type(remote) is exception.InvalidInput
    assert remote.kwargs["thing"].startswith("<object object")
    assert str(remote) == str(local)


def test_an_unencodable_result_becomes_a_remote_error():
    body = _wire.encode_result("instance_get", {"x": object()})

    with pytest.raises(RemoteError) as info:
        _wire.decode_reply(body, "instance_get")
    assert info.value.exc_type == "SerializationError"
    assert "the result of instance_get" in str(info.value)


def test_a_request_carries_method_context_and_kwargs():
    context = context_mod.RequestContext(
        "u", "p", request_id="req-1", read_deleted="yes"
    )

    request = _wire.decode_request(
        _wire.encode_request(context, "instance_get", {"instance_id": 3})
    )

    assert request.method == "instance_get"
    assert request.kwargs == {"instance_id": 3}
    assert request.context.to_dict() == context.to_dict()


def test_a_context_must_be_a_request_context():
    with pytest.raises(exception.InvalidInput):
        _wire.encode_request({"user_id": "x"}, "instance_get", {})


@pytest.mark.parametrize(
    "message,reason",
    [
        (b"\xc1garbage", "undecodable"),
        ([1, 2], "not a map"),
        ({"v": "2.0", "method": "x", "kwargs": {}}, "not served"),
        ({"v": "1.99", "method": "x", "kwargs": {}}, "not served"),
        ({"v": "one", "method": "x", "kwargs": {}}, "bad RPC API version"),
        ({"v": "1.0", "kwargs": {}}, "no method"),
        ({"v": "1.0", "method": "x", "kwargs": [1]}, "kwargs"),
        ({"v": "1.0", "method": "x", "kwargs": {1: 2}}, "kwargs"),
        ({"v": "1.0", "method": "x", "kwargs": {}, "context": [1]},
         "context"),
        ({"v": "1.0", "method": "x", "kwargs": {},
          "context": {"read_deleted": "sometimes"}}, "context"),
    ],
)
def test_malformed_requests_are_invalid_requests(message, reason):
    body = message if isinstance(message, bytes) else codec.dumps(message)

    with pytest.raises(exception.InvalidRequest) as info:
        _wire.decode_request(body)
    assert reason in str(info.value)


def test_a_malformed_reply_is_an_rpc_error():
    for body in (b"\xc1", codec.dumps([1]), codec.dumps({"other": 1})):
        with pytest.raises(RPCError):
            _wire.decode_reply(body, "instance_get")
