"""A broker restart: the conductor resumes consuming, and a call made
while the broker is down waits for it instead of failing at once.

This test starts a RabbitMQ node of its own (about 10 s), so restarting
it disturbs nobody else's broker.
"""

import threading
import time

import pytest

from conductor import _broker, _client, rpcapi
from conductor import exception as rpc_exception
from tests.conftest import IN_CI

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]


@pytest.fixture(scope="module")
def private_broker(tmp_path_factory):
    if not _broker.PrivateBroker.available():
        message = "rabbitmq-server is not installed"
        if IN_CI:
            pytest.fail(message + " (CI=true: servers are required)")
        pytest.skip(message)
    broker = _broker.PrivateBroker(tmp_path_factory.mktemp("rabbitmq"))
    broker.start()
    yield broker
    broker.stop()


def test_conductor_and_client_survive_a_broker_restart(
    private_broker, serve, ctx
):
    served = serve(
        private_broker.url, timeout=30,
        service_get=lambda context, service_id: service_id,
    )
    assert rpcapi.service_get(ctx, 1) == 1

    private_broker.stop_app()
    _wait_until_disconnected()
    with _client.call_timeout(1.0), pytest.raises(
        rpc_exception.MessagingTimeout
    ) as info:
        rpcapi.service_get(ctx, 2)
    assert "unreachable" in str(info.value)

    result = {}

    def call_across_the_outage():
        started = time.monotonic()
        result["value"] = rpcapi.service_get(ctx, 3)
        result["elapsed"] = time.monotonic() - started

    caller = threading.Thread(target=call_across_the_outage)
    caller.start()
    time.sleep(1.0)
    private_broker.start_app()
    caller.join(30)

    assert result.get("value") == 3
    assert result["elapsed"] > 1.0
    assert rpcapi.service_get(ctx, 4) == 4
    assert served.server.in_flight == 0


def _wait_until_disconnected(timeout: float = 10.0) -> None:
    """Wait until the proxy's client has seen the broker go away (a call
    sent just before would rightly fail with ReplyLost instead)."""
    loop = _client._get_client()[0]._loop
    deadline = time.monotonic() + timeout
    while loop.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not loop.connected
