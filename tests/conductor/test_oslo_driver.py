"""The oslo.messaging carrier: same dispatch and codec, same results."""

import datetime
import os
import threading
import uuid

import pytest

from conductor import _client, rpcapi
from conductor import exception as rpc_exception
from conductor.service import ConductorService
from db import exception
from db.rows import Row
from tests.conductor.conftest import make_backend
from tests.conftest import RABBIT_URL, require_server

UTC = datetime.UTC


@pytest.fixture(params=["memory", "rabbit"])
def oslo(request):
    """Return ``start(**functions)`` serving them over the oslo driver."""
    url = "memory://" if request.param == "memory" else require_server(
        "RabbitMQ", RABBIT_URL
    )
    services = []

    def start(timeout=10.0, **functions):
        topic = f"test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        service = ConductorService(
            url, topic, workers=1, threads=2, driver="oslo",
            backend=make_backend(**functions),
        )
        service.start()
        services.append(service)
        _client.configure(
            transport_url=url, topic=topic, timeout=timeout, driver="oslo"
        )
        return topic

    yield start
    _client.configure()
    for service in services:
        service.stop(timeout=5)


def test_results_and_errors_match_the_kombu_driver(oslo, ctx):
    when = datetime.datetime(2024, 3, 4, 5, 6, 7, tzinfo=UTC)

    def service_get(context, service_id):
        if service_id == 0:
            raise exception.ServiceNotFound(service_id=0)
        return (Row(id=service_id, created_at=when), {"set"})

    oslo(service_get=service_get)

    row, members = rpcapi.service_get(ctx, 5)
    with pytest.raises(exception.ServiceNotFound) as info:
        rpcapi.service_get(ctx, 0)

    assert type(row) is Row and row.created_at == when
    assert row.created_at.tzinfo is UTC
    assert members == {"set"}
    assert str(info.value) == str(exception.ServiceNotFound(service_id=0))
    assert info.value.kwargs == {"service_id": 0}


def test_bad_calls_are_invalid_requests(oslo, ctx):
    oslo()

    with pytest.raises(exception.InvalidRequest):
        _client.call(ctx, "no_such_function")


def test_a_slow_reply_is_a_messaging_timeout(oslo, ctx):
    release = threading.Event()
    topic = oslo(timeout=0.5, service_get=lambda context, service_id:
                 release.wait(5))

    try:
        with pytest.raises(rpc_exception.MessagingTimeout) as info:
            rpcapi.service_get(ctx, 1)
    finally:
        release.set()
    assert "service_get" in str(info.value) and topic in str(info.value)
