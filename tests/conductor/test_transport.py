"""Calls over the kombu driver, on memory:// and on a real RabbitMQ."""

import datetime
import logging
import threading
import time

import kombu
import pytest

from conductor import _broker, _client, _wire, codec, rpcapi
from conductor import exception as rpc_exception
from conductor.drivers import kombu_driver
from conductor.drivers._settings import BrokerSettings
from db import context as context_mod
from db import exception
from db.rows import Row
from tests.conductor.conftest import FAST
from tests.conftest import RABBIT_URL, require_server

UTC = datetime.UTC


@pytest.fixture(params=["memory", "rabbit"])
def url(request):
    if request.param == "memory":
        return "memory://"
    return require_server("RabbitMQ", RABBIT_URL)


def test_results_keep_their_types_across_the_wire(serve, url, ctx):
    when = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    old, new = Row(vm_state="building"), Row(vm_state="active",
                                              launched_at=when)
    serve(
        url,
        instance_update_and_get_original=lambda context, instance_uuid,
        values: (old, new),
        aggregate_metadata_get_by_host=lambda context, host, key=None: {
            "availability_zone": {"az1", "az2"}
        },
        instance_get=lambda context, instance_id: Row(
            id=instance_id, instance_type=Row(name="m1.tiny"),
            metadata=[Row(key="k", value="v")],
        ),
    )

    pair = rpcapi.instance_update_and_get_original(ctx, "u", {})
    metadata = rpcapi.aggregate_metadata_get_by_host(ctx, "h")
    inst = rpcapi.instance_get(ctx, 3)

    assert type(pair) is tuple and pair == (old, new)
    assert pair[1].launched_at == when and pair[1].launched_at.tzinfo is UTC
    assert type(metadata["availability_zone"]) is set
    assert type(inst) is Row and inst.instance_type.name == "m1.tiny"
    assert type(inst.metadata[0]) is Row


def test_arguments_keep_their_types_too(serve, url, ctx):
    seen = {}

    def instance_get_active_by_window(context, begin, end=None,
                                      project_id=None, host=None):
        seen.update(begin=begin, end=end, context=context.to_dict())
        return []

    serve(url, instance_get_active_by_window=instance_get_active_by_window)
    begin = datetime.datetime(2024, 1, 1, tzinfo=UTC)
    naive = datetime.datetime(2024, 1, 2)

    rpcapi.instance_get_active_by_window(ctx, begin, naive)

    assert seen["begin"] == begin and seen["begin"].tzinfo is UTC
    assert seen["end"] == naive and seen["end"].tzinfo is None
    assert seen["context"] == ctx.to_dict()


def test_db_errors_arrive_as_the_local_class(serve, url, ctx):
    def service_get(context, service_id):
        raise exception.ServiceNotFound(service_id=service_id)

    serve(url, service_get=service_get)
    local = exception.ServiceNotFound(service_id=42)

    with pytest.raises(exception.ServiceNotFound) as info:
        rpcapi.service_get(ctx, 42)

    assert type(info.value) is type(local)
    assert str(info.value) == str(local)
    assert info.value.kwargs == local.kwargs


def test_other_errors_arrive_as_remote_error(serve, url, ctx):
    def service_get(context, service_id):
        raise ZeroDivisionError("division by zero")

    serve(url, service_get=service_get)

    with pytest.raises(rpc_exception.RemoteError) as info:
        rpcapi.service_get(ctx, 1)
    assert info.value.exc_type == "ZeroDivisionError"


def test_bad_arguments_are_an_invalid_request(serve, url, ctx):
    serve(url)

    with pytest.raises(exception.InvalidRequest) as info:
        _client.call(ctx, "service_get", nonsense=1)
    assert "service_get" in str(info.value)
    with pytest.raises(exception.InvalidRequest):
        _client.call(ctx, "drop_all_tables")


def test_unencodable_arguments_fail_before_sending(serve, url, ctx):
    served = serve(url)

    with pytest.raises(rpc_exception.SerializationError) as info:
        rpcapi.instance_create(ctx, {"host": object()})
    assert "the arguments of instance_create" in str(info.value)
    assert served.server.in_flight == 0


def test_concurrent_callers_get_their_own_replies(serve, url, ctx):
    serve(url, threads=4, service_get=lambda context, service_id: (
        service_id, context.request_id
    ))
    results, errors = {}, []

    def caller(n):
        try:
            for i in range(20):
                context = context_mod.RequestContext(
                    "u", "p", is_admin=True, request_id=f"req-{n}-{i}"
                )
                results[(n, i)] = rpcapi.service_get(context, n * 100 + i)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert results == {
        (n, i): (n * 100 + i, f"req-{n}-{i}")
        for n in range(6) for i in range(20)
    }


def test_a_call_without_reply_in_time_names_method_topic_timeout(
    serve, url, ctx
):
    release = threading.Event()
    served = serve(url, timeout=0.3, service_get=lambda context,
                   service_id: release.wait(5))

    started = time.monotonic()
    with pytest.raises(rpc_exception.MessagingTimeout) as info:
        rpcapi.service_get(ctx, 1)
    elapsed = time.monotonic() - started
    release.set()

    assert 0.25 < elapsed < 2.0
    message = str(info.value)
    assert "service_get" in message
    assert repr(served.topic) in message
    assert "0.3s" in message


def test_a_request_that_expired_in_the_queue_never_runs(serve, url, ctx):
    """One worker thread, busy: the second call's caller gives up while
    its request waits, so the conductor must drop it unrun."""
    ran, release = [], threading.Event()

    def service_get(context, service_id):
        if service_id == 1:
            release.wait(5)
        ran.append(service_id)
        return service_id

    served = serve(url, threads=1, service_get=service_get)
    slow = threading.Thread(target=rpcapi.service_get, args=(ctx, 1))
    slow.start()
    time.sleep(0.2)

    with _client.call_timeout(0.2), pytest.raises(
        rpc_exception.MessagingTimeout
    ):
        rpcapi.service_get(ctx, 2)
    time.sleep(0.1)
    release.set()
    slow.join(5)
    assert rpcapi.service_get(ctx, 3) == 3

    assert ran == [1, 3]
    assert served.server.in_flight == 0


def test_a_malformed_message_is_rejected_and_the_consumer_lives(
    serve, url, ctx, caplog
):
    served = serve(url, service_get=lambda context, service_id: service_id)
    client = served.client()
    caplog.set_level(logging.WARNING, logger="conductor.drivers")

    try:
        with pytest.raises(exception.InvalidRequest):
            _reply(client.call("x", b"\xc1\x00 not msgpack", 5))
        with pytest.raises(exception.InvalidRequest):
            _reply(client.call("x", codec.dumps({"v": "9.0"}), 5))
        _publish_without_reply_to(served)
        assert rpcapi.service_get(ctx, 7) == 7
    finally:
        client.close()

    rejected = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(rejected) == 3
    assert all("correlation_id" in r.getMessage() for r in rejected)


def _reply(body):
    return _wire.decode_reply(body, "x")


def _publish_without_reply_to(served):
    with kombu.Connection(served.url) as conn:
        channel = conn.channel()
        message = channel.prepare_message(
            b"garbage", content_type="application/x-msgpack",
            content_encoding="binary", properties={"app_id": "stray"},
        )
        channel.basic_publish(
            message, exchange="",
            routing_key=kombu_driver.queue_name(served.topic),
        )
        kombu_driver._MEMORY_BELL.ring()


def test_a_topic_nobody_consumes_fails_at_once(rabbit_url, ctx):
    client = kombu_driver.KombuClient(
        rabbit_url, "nobody-consumes-this-topic", FAST
    )
    try:
        started = time.monotonic()
        with pytest.raises(rpc_exception.NoConductor) as info:
            client.call("service_get", b"x", timeout=10)
    finally:
        client.close()

    assert time.monotonic() - started < 2.0
    assert "nobody-consumes-this-topic" in str(info.value)
    assert "service_get" in str(info.value)


def test_a_call_while_the_broker_is_down_retries_until_its_timeout():
    url = f"amqp://guest:guest@127.0.0.1:{_broker.free_port()}//"
    client = kombu_driver.KombuClient(url, "t", FAST)
    try:
        started = time.monotonic()
        with pytest.raises(rpc_exception.MessagingTimeout) as info:
            client.call("service_get", b"x", timeout=1.0)
    finally:
        client.close()

    assert time.monotonic() - started >= 0.95
    assert "unreachable" in str(info.value)
    assert "guest" not in str(info.value)


def test_heartbeats_flow_during_a_long_call(serve, rabbit_url, ctx, caplog):
    settings = BrokerSettings(**{**vars(FAST), "heartbeat": 1})
    served = serve(rabbit_url, timeout=10,
                   service_get=lambda context, service_id: time.sleep(3.5))
    client = kombu_driver.KombuClient(rabbit_url, served.topic, settings)
    server = kombu_driver.KombuServer(
        rabbit_url, served.topic, served.server.handler, threads=1,
        settings=settings,
    )
    served.server.stop(1)
    server.start()
    assert server.wait_ready(5)
    caplog.set_level(logging.WARNING, logger="conductor.drivers")
    try:
        body = _wire.encode_request(ctx, "service_get", {"service_id": 1})
        assert _reply(client.call("service_get", body, 10)) is None
    finally:
        client.close()
        server.stop(2)

    assert not [r for r in caplog.records if "Lost" in r.getMessage()]
