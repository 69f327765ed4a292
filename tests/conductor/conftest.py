"""Fixtures of the conductor's own tests.

Most of these tests run the RPC layer against a *fake backend*: a module
with every spec function, each raising unless a test gives it a body, so
timing, errors and types are under the test's control and no database is
needed.  ``serve`` starts a conductor on such a backend, on ``memory://``
or on the RabbitMQ of ``DBC_TEST_RABBIT_URL``, with a topic of its own,
and points ``conductor.rpcapi`` at it.
"""

from __future__ import annotations

import os
import types
import uuid

import pytest

from conductor import _client
from conductor.drivers import kombu_driver
from conductor.drivers._settings import BrokerSettings
from conductor.manager import ConductorManager
from db import api as db_api
from tests.conftest import RABBIT_URL, require_server


def make_backend(**functions) -> types.ModuleType:
    """Return a module with every spec function; unnamed ones raise."""
    backend = types.ModuleType("fake_backend")

    def unexpected(name):
        def function(context, **kwargs):
            raise AssertionError(f"unexpected call of {name}")

        return function

    for name in db_api.__all__:
        setattr(backend, name, unexpected(name))
    for name, function in functions.items():
        setattr(backend, name, function)
    return backend


class Served:
    """A running conductor on a fake backend, and how to reach it."""

    def __init__(self, url, topic, server, backend, settings) -> None:
        self.url = url
        self.topic = topic
        self.server = server
        self.backend = backend
        self.settings = settings

    def client(self, **overrides) -> kombu_driver.KombuClient:
        """A client of its own (the rpcapi's is configured already)."""
        settings = BrokerSettings(**{**vars(self.settings), **overrides})
        return kombu_driver.KombuClient(self.url, self.topic, settings)


FAST = BrokerSettings(
    heartbeat=10, retry_interval=0.1, retry_max_interval=0.5,
    connect_timeout=2.0, idle_queue_timeout=30.0,
)


@pytest.fixture
def rabbit_url():
    return require_server("RabbitMQ", RABBIT_URL)


@pytest.fixture
def serve(request):
    """Return ``serve(url="memory://", threads=2, **functions)``."""
    started = []

    def start(url="memory://", threads=2, timeout=5.0, **functions):
        backend = make_backend(**functions)
        topic = f"test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        server = kombu_driver.KombuServer(
            url, topic, ConductorManager(backend=backend), threads=threads,
            settings=FAST,
        )
        server.start()
        started.append(server)
        assert server.wait_ready(10), "the test conductor did not start"
        _client.configure(transport_url=url, topic=topic, timeout=timeout)
        return Served(url, topic, server, backend, FAST)

    yield start
    _client.close()
    for server in started:
        server.stop(timeout=5)

