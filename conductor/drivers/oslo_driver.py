"""The oslo.messaging carrier, for deployments that standardise on it.

Same dispatch and codec as the kombu driver: the msgpack request travels
base64-encoded as the one argument of one RPC method, ``dispatch``, and
the msgpack reply comes back the same way, so results and errors are
rebuilt by :mod:`conductor._wire` exactly as on the default driver
(oslo's own exception serialisation is never used).

oslo.messaging gets a private :class:`oslo_config.cfg.ConfigOpts`, so
its options never clash with ours; the ones that matter (heartbeat, TLS,
prefetch, thread pool, retry interval) are set from ``[conductor]``.  Our
URLs are passed in its ``rabbit://`` form (its ``amqp://`` means AMQP
1.0), and ``memory://`` becomes its in-process ``fake://`` driver.
Messages go to the exchange ``dbconductor``.  Differences from the kombu
driver: a call to a topic nobody consumes waits for its timeout (oslo
has no mandatory flag for requests), and its delivery is oslo's
(acknowledged on receipt: at most once).
"""

from __future__ import annotations

import base64
import logging
import threading
import urllib.parse
import warnings
from typing import Any

from oslo_config import cfg

from conductor import _url
from conductor import exception as rpc_exception
from conductor._url import quote_vhost
from conductor.drivers._settings import BrokerSettings

with warnings.catch_warnings():
    # oslo.messaging's imports warn about eventlet, which we do not use.
    warnings.simplefilter("ignore")
    import oslo_messaging

LOG = logging.getLogger(__name__)

EXCHANGE = "dbconductor"
VERSION = "1.0"


def oslo_url(url: _url.TransportURL) -> str:
    """Return ``url`` in the form oslo.messaging understands."""
    if url.is_memory:
        return "fake://"
    hosts = []
    for host in url.hosts:
        auth = ""
        if host.username is not None:
            auth = urllib.parse.quote(host.username, safe="")
            if host.password is not None:
                auth += ":" + urllib.parse.quote(host.password, safe="")
            auth += "@"
        hosts.append(auth + host.endpoint(url.default_port))
    vhost = quote_vhost(url.virtual_host)
    return f"rabbit://{','.join(hosts)}/{vhost}"


def _transport(
    transport_url: str, settings: BrokerSettings, prefetch: int = 0
) -> tuple[Any, cfg.ConfigOpts]:
    url = _url.parse(transport_url)
    conf = cfg.ConfigOpts()
    conf([], project="db-conductor-oslo", default_config_files=[])
    _register_global_only_opts(conf)
    transport = oslo_messaging.get_rpc_transport(conf, url=oslo_url(url))
    conf.set_override("control_exchange", EXCHANGE)
    if not url.is_memory:
        group = "oslo_messaging_rabbit"
        conf.set_override(
            "heartbeat_timeout_threshold", settings.heartbeat, group=group
        )
        conf.set_override("rabbit_qos_prefetch_count", prefetch, group=group)
        conf.set_override(
            "rabbit_retry_interval",
            max(1, int(settings.retry_interval)),
            group=group,
        )
        use_ssl = settings.ssl_options(url)
        conf.set_override("ssl", bool(use_ssl), group=group)
        for name in ("ssl_ca_file", "ssl_cert_file", "ssl_key_file"):
            value = getattr(settings, name)
            if value:
                conf.set_override(name, value, group=group)
    return transport, conf


def _register_global_only_opts(conf: cfg.ConfigOpts) -> None:
    # NOTE(db-conductor): oslo.messaging 18 registers its tracing and
    # metrics options on the global CONF only, yet reads them from the
    # conf it is given.
    from oslo_messaging._metrics import client as metrics
    from oslo_messaging._tracing import client as tracing

    conf.register_opts(
        tracing.oslo_messaging_tracing, group="oslo_messaging_tracing"
    )
    conf.register_opts(
        metrics.oslo_messaging_metrics, group="oslo_messaging_metrics"
    )


def _encode(body: bytes) -> str:
    return base64.b64encode(body).decode("ascii")


def _decode(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


class OsloClient:
    """Send calls through oslo.messaging's RPC client."""

    def __init__(
        self,
        transport_url: str,
        topic: str,
        settings: BrokerSettings | None = None,
    ) -> None:
        self.topic = topic
        self._settings = settings or BrokerSettings.from_conf()
        self._transport, _ = _transport(transport_url, self._settings)
        target = oslo_messaging.Target(
            exchange=EXCHANGE, topic=topic, version=VERSION
        )
        self._client = oslo_messaging.get_rpc_client(self._transport, target)

    def call(self, method: str, body: bytes, timeout: float) -> bytes:
        """Send one request and return its reply body."""
        try:
            reply = self._client.prepare(timeout=timeout).call(
                {}, "dispatch", payload=_encode(body)
            )
        except oslo_messaging.MessagingTimeout:
            raise rpc_exception.MessagingTimeout(
                timeout=timeout, method=method, topic=self.topic
            ) from None
        except oslo_messaging.MessagingException as exc:
            raise rpc_exception.RPCError(
                reason=f"{method} on topic {self.topic!r}: {exc}"
            ) from None
        return _decode(reply)

    def close(self) -> None:
        self._transport.cleanup()


class _Endpoint:
    """The one method the oslo server exposes: ``dispatch``."""

    target = oslo_messaging.Target(version=VERSION)

    def __init__(self, handler: Any, topic: str) -> None:
        self._handler = handler
        self._topic = topic
        self._lock = threading.Lock()
        self.in_flight = 0

    def dispatch(self, ctxt: Any, payload: str) -> str:
        from conductor.manager import MalformedRequest

        with self._lock:
            self.in_flight += 1
        try:
            try:
                request = self._handler.parse(_decode(payload))
            except (ValueError, TypeError, AttributeError) as exc:
                LOG.warning(
                    "Rejected a malformed message on topic %r: %s",
                    self._topic, exc,
                )
                raise oslo_messaging.ExpectedException() from None
            except MalformedRequest as exc:
                LOG.warning(
                    "Rejected a malformed message on topic %r: %s",
                    self._topic, exc,
                )
                return _encode(exc.reply)
            return _encode(self._handler.execute(request))
        finally:
            with self._lock:
                self.in_flight -= 1


class OsloServer:
    """Consume one topic through oslo.messaging's RPC server."""

    def __init__(
        self,
        transport_url: str,
        topic: str,
        handler: Any,
        threads: int = 4,
        prefetch: int = 0,
        settings: BrokerSettings | None = None,
    ) -> None:
        self.topic = topic
        settings = settings or BrokerSettings.from_conf()
        self._transport, conf = _transport(
            transport_url, settings, prefetch=prefetch or threads
        )
        self._endpoint = _Endpoint(handler, topic)
        target = oslo_messaging.Target(
            exchange=EXCHANGE, topic=topic, server=settings.app_id
        )
        self._server = oslo_messaging.get_rpc_server(
            self._transport,
            target,
            [self._endpoint],
            access_policy=oslo_messaging.DefaultRPCAccessPolicy,
        )
        # The server registers the pool option; it is read on start().
        conf.set_override("executor_thread_pool_size", threads)
        self._ready = threading.Event()
        self._done = threading.Event()

    @property
    def in_flight(self) -> int:
        return self._endpoint.in_flight

    def start(self) -> None:
        """Start consuming (oslo connects before this returns)."""
        self._server.start()
        self._ready.set()
        LOG.info("oslo.messaging server consuming topic %r", self.topic)

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop consuming and wait up to ``timeout`` for calls in flight."""
        self._server.stop()
        waiter = threading.Thread(target=self._wait_server, daemon=True)
        waiter.start()
        waiter.join(timeout)
        clean = not waiter.is_alive()
        self._transport.cleanup()
        self._done.set()
        return clean

    def _wait_server(self) -> None:
        self._server.wait()

    def wait(self, timeout: float | None = None) -> None:
        self._done.wait(timeout)


#: The names :mod:`conductor.drivers` looks up.
Client = OsloClient
Server = OsloServer
