"""The conductor's own RPC carrier, directly on kombu.

Wire: requests go through the default exchange to the durable topic queue
``dbconductor.<topic>`` with ``mandatory`` set, a per-message
``expiration`` equal to the caller's remaining timeout, a
``correlation_id`` and a ``reply_to``.  On RabbitMQ the reply comes back
through direct reply-to (``amq.rabbitmq.reply-to``, no queue per call);
on kombu's ``memory://`` transport through a private reply queue.

Threading: AMQP channels are not thread-safe, so each client and each
server owns one connection driven by one I/O thread (:class:`_Loop`).
Other threads hand it work as *operations*, closures run on the I/O
thread, and wake it through a pipe (sockets) or a process-wide bell
(``memory://``).  That thread also services heartbeats, so a long
database call never costs the connection, and it reconnects with
back-off after a broker failure.

Client: one direct reply-to consumer per connection; replies are matched
to callers by correlation id.  A message the broker returns as unroutable
fails its call at once with :class:`NoConductor`.  A lost connection fails
the calls waiting for a reply with :class:`ReplyLost` (the reply channel
is gone); calls not yet sent wait for the reconnect, up to their timeout.

Server: the I/O thread hands each delivery to a pool of
``worker_threads`` threads; ``basic.qos(prefetch_count)`` bounds what a
worker process holds.  **Delivery is at most once**: a request is acked,
and the ack written, *before* its call starts; by the I/O thread when a
worker thread is free to start it at once, else by the worker thread
that takes it up later (waiting for the I/O thread to write the ack).
A request still waiting for a thread when the conductor dies or loses
its connection is redelivered (it never started); one whose call started
is never run twice, because database writes are not idempotent
(``instance_create`` would make two instances) and the caller has a
timeout to tell it the outcome is unknown.  A request that expired while
queued, in the broker or here, is dropped unrun.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import logging
import os
import random
import select
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from typing import Any, Protocol

import kombu

from conductor import _url
from conductor import exception as rpc_exception
from conductor.drivers._settings import BrokerSettings

LOG = logging.getLogger(__name__)

CONTENT_TYPE = "application/x-msgpack"
QUEUE_PREFIX = "dbconductor."
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
#: Events handled per drain before queued operations get their turn.
_DRAIN_BATCH = 64

Operation = Callable[[Any], None]


def queue_name(topic: str) -> str:
    """Return the AMQP queue of a topic."""
    return QUEUE_PREFIX + topic


class _Bell:
    """Wake every ``memory://`` loop of the process (they have no socket).

    A generation counter makes the wait race-free: a loop notes the
    generation, drains, and sleeps only if nobody rang meanwhile.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.generation = 0

    def ring(self) -> None:
        with self._condition:
            self.generation += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        with self._condition:
            if self.generation == seen:
                self._condition.wait(timeout)


_MEMORY_BELL = _Bell()


class _Pipe:
    """A self-pipe that wakes a loop blocked in ``select``.

    Its descriptors close when the object is collected, never while a
    thread could still write to them (a reused descriptor number would
    get the byte otherwise).
    """

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        finalizer = weakref.finalize(
            self, _close_fds, self._read, self._write
        )
        finalizer.atexit = False  # the I/O thread may still run at exit

    def fileno(self) -> int:
        return self._read

    def wake(self) -> None:
        try:
            os.write(self._write, b"x")
        except OSError:  # full (a wake-up is pending anyway) or closed
            pass

    def clear(self) -> None:
        try:
            while os.read(self._read, 4096):
                pass
        except OSError:  # empty
            pass


def _close_fds(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


class _Loop:
    """A thread that owns one broker connection and all its channel I/O.

    Subclasses declare and consume in :meth:`_on_connected`, clean up in
    :meth:`_on_lost`, and say in :meth:`_wants_connection` whether to
    connect now (a client connects only when it has work).
    """

    def __init__(
        self, url: _url.TransportURL, settings: BrokerSettings, name: str
    ) -> None:
        self.url = url
        self.settings = settings
        self.memory = url.is_memory
        self.generation = 0
        self.channel: Any = None
        self._conn: kombu.Connection | None = None
        self._ops: collections.deque[tuple[Operation, int | None]] = (
            collections.deque()
        )
        self._pipe = None if self.memory else _Pipe()
        self._closing = False
        self._finished = False
        self._close_requested = threading.Event()
        self._failures = 0
        self._outage_since: float | None = None
        self._host_index = 0
        self.last_error: str | None = None
        self._last_beat = 0.0
        self._thread = threading.Thread(target=self._run, name=name)
        self._thread.daemon = True

    # -- used by other threads ---------------------------------------

    def start(self) -> None:
        self._thread.start()

    def post(
        self, operation: Operation, generation: int | None = None
    ) -> None:
        """Run ``operation(channel)`` on the I/O thread.

        An operation bound to a ``generation`` is called with ``None``
        instead if that connection is gone by then.
        """
        if self._finished:
            _call_safely(operation, None)
            return
        self._ops.append((operation, generation))
        self.wake()

    def wake(self) -> None:
        if self._pipe is None:
            _MEMORY_BELL.ring()
        else:
            self._pipe.wake()

    def close(self, timeout: float | None = 10.0) -> None:
        """Flush queued operations, close the connection, end the thread."""
        self._closing = True
        self._close_requested.set()
        self.wake()
        if self._thread.is_alive() and (
            threading.current_thread() is not self._thread
        ):
            self._thread.join(timeout)

    @property
    def connected(self) -> bool:
        return self.channel is not None

    @property
    def alive(self) -> bool:
        """False once the I/O thread has ended."""
        return not self._finished

    def endpoint(self) -> str:
        if self.memory:
            return "memory://"
        host = self.url.hosts[self._host_index % len(self.url.hosts)]
        return host.endpoint(self.url.default_port)

    # -- hooks ---------------------------------------------------------

    def _wants_connection(self) -> bool:
        return True

    def _on_connected(self, channel: Any) -> None:
        """Declare and consume on a new connection's channel."""

    def _on_lost(self, generation: int) -> None:
        """Clean up after connection ``generation`` was lost."""

    def _on_closing(self, channel: Any) -> None:
        """Last words on the channel before a clean close."""

    def _connected_message(self) -> str:
        return ""

    # -- the I/O thread ------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._closing:
                if self.channel is None:
                    if self._wants_connection():
                        self._connect()
                    else:
                        self._wait(None, 1.0)
                    continue
                try:
                    self._serve_once()
                except Exception as exc:  # the loop must survive anything
                    self._lose(exc)
        finally:
            self._shutdown()

    def _serve_once(self) -> None:
        self._run_ops()
        self._wait(self._conn, self._tick())
        self._heartbeat()

    def _tick(self) -> float:
        if self.memory or not self.settings.heartbeat:
            return 1.0
        return max(0.25, min(1.0, self.settings.heartbeat / 4.0))

    def _wait(self, conn: kombu.Connection | None, timeout: float) -> None:
        """Sleep until there is I/O or work, then handle the I/O."""
        if self._pipe is None:
            seen = _MEMORY_BELL.generation
            if conn is not None:
                self._drain(conn)
            if not self._ops and not self._closing:
                _MEMORY_BELL.wait(seen, timeout)
            if conn is not None:
                self._drain(conn)
            return
        fds: list[Any] = [self._pipe]
        if conn is not None:
            fds.append(conn.connection.sock)
        ready, _, _ = select.select(fds, [], [], 0 if self._ops else timeout)
        if self._pipe in ready:
            self._pipe.clear()
        if conn is not None and any(fd is not self._pipe for fd in ready):
            self._drain(conn)

    def _drain(self, conn: kombu.Connection) -> None:
        for _ in range(_DRAIN_BATCH):
            try:
                conn.drain_events(timeout=0)
            except TimeoutError:
                return

    def _heartbeat(self) -> None:
        if self.memory or not self.settings.heartbeat:
            return
        now = time.monotonic()
        if now - self._last_beat >= self._tick():
            self._last_beat = now
            self._conn.heartbeat_check(rate=2)

    def _run_ops(self) -> None:
        while self._ops:
            operation, generation = self._ops.popleft()
            if generation is not None and generation != self.generation:
                _call_safely(operation, None)
                continue
            try:
                operation(self.channel)
            except Exception as exc:
                if _is_connection_error(exc):
                    raise
                LOG.exception("AMQP operation failed")

    def _fail_stale_ops(self, keep_current: bool) -> None:
        """Call the operations bound to a lost connection with None."""
        kept = []
        while self._ops:
            operation, generation = self._ops.popleft()
            stale = generation is not None and (
                not keep_current or generation != self.generation
            )
            if stale:
                _call_safely(operation, None)
            else:
                kept.append((operation, generation))
        self._ops.extendleft(reversed(kept))

    # -- connecting ----------------------------------------------------

    def _connection(self) -> kombu.Connection:
        if self.memory:
            return kombu.Connection("memory://")
        host = self.url.hosts[self._host_index % len(self.url.hosts)]
        return kombu.Connection(
            hostname=host.hostname,
            port=host.port or self.url.default_port,
            userid=host.username if host.username is not None else "guest",
            password=host.password if host.password is not None else "guest",
            virtual_host=self.url.virtual_host,
            transport="pyamqp",
            heartbeat=self.settings.heartbeat or None,
            ssl=self.settings.ssl_options(self.url),
            connect_timeout=self.settings.connect_timeout,
            transport_options={
                "on_blocked": self._on_blocked,
                "on_unblocked": self._on_unblocked,
            },
        )

    def _on_blocked(self, reason: str) -> None:
        LOG.error(
            "AMQP broker %s blocked this connection (%s): publishing is "
            "paused", self.endpoint(), reason,
        )

    def _on_unblocked(self) -> None:
        LOG.info("AMQP broker %s unblocked this connection", self.endpoint())

    def _connect(self) -> None:
        conn = self._connection()
        try:
            conn.ensure_connection(max_retries=0)
            channel = conn.channel()
            self.generation += 1
            self._conn, self.channel = conn, channel
            self._on_connected(channel)
        except Exception as exc:  # any failure: back off and retry
            self._conn = self.channel = None
            _collect(conn)
            self._backoff(exc)
            return
        self._report_connected()

    def _report_connected(self) -> None:
        self._failures = 0
        self.last_error = None
        if self._outage_since is None:
            LOG.info(
                "Connected to AMQP broker %s%s",
                self.endpoint(), self._connected_message(),
            )
        else:
            LOG.info(
                "Reconnected to AMQP broker %s after %.1fs%s",
                self.endpoint(), time.monotonic() - self._outage_since,
                self._connected_message(),
            )
        self._outage_since = None

    def _backoff(self, exc: BaseException) -> None:
        self._failures += 1
        if self._outage_since is None:
            self._outage_since = time.monotonic()
        self.last_error = _describe(exc)
        delay = min(
            self.settings.retry_interval * 2 ** (self._failures - 1),
            self.settings.retry_max_interval,
        ) * random.uniform(0.8, 1.2)
        LOG.warning(
            "AMQP broker %s unreachable (%s); retry %d in %.1fs",
            self.endpoint(), self.last_error, self._failures, delay,
        )
        if len(self.url.hosts) > 1:
            self._host_index += 1
        self._fail_stale_ops(keep_current=False)
        self._close_requested.wait(delay)

    def _lose(self, exc: BaseException) -> None:
        generation = self.generation
        if not self._closing:
            LOG.warning(
                "Lost the connection to AMQP broker %s (%s); reconnecting",
                self.endpoint(), _describe(exc),
            )
            if not _is_connection_error(exc):
                LOG.exception("Unexpected error on the AMQP I/O thread")
        conn, self._conn, self.channel = self._conn, None, None
        _collect(conn)
        self._outage_since = time.monotonic()
        self.last_error = _describe(exc)
        self._fail_stale_ops(keep_current=False)
        self._on_lost(generation)

    def _shutdown(self) -> None:
        """Flush what is queued, say goodbye, close (on the I/O thread)."""
        try:
            if self.channel is not None:
                self._run_ops()
                self._on_closing(self.channel)
        except Exception as exc:  # closing: report, never raise
            LOG.debug("Error while closing AMQP channel: %s", exc)
        self.channel = None
        self._finished = True
        while self._ops:
            operation, _ = self._ops.popleft()
            _call_safely(operation, None)
        if self._conn is not None:
            try:
                self._conn.release()
            except Exception as exc:  # closing: report, never raise
                LOG.debug("Error while closing AMQP connection: %s", exc)
                _collect(self._conn)
            self._conn = None


def _call_safely(operation: Operation, channel: Any) -> None:
    try:
        operation(channel)
    except Exception:  # an operation's own error must not stop the loop
        LOG.exception("AMQP operation failed")


def _collect(conn: kombu.Connection | None) -> None:
    if conn is None:
        return
    try:
        conn.collect()
    except Exception as exc:  # a dead connection: nothing left to do
        LOG.debug("Error while discarding AMQP connection: %s", exc)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text}" if text and text != name else name


def _is_connection_error(exc: BaseException) -> bool:
    import amqp.exceptions

    return isinstance(
        exc,
        (OSError, amqp.exceptions.AMQPError, EOFError),
    )


# --------------------------------------------------------------------------
# Client


class _Pending:
    """One call waiting for its reply."""

    __slots__ = ("method", "event", "body", "error", "generation")

    def __init__(self, method: str) -> None:
        self.method = method
        self.event = threading.Event()
        self.body: bytes | None = None
        self.error: BaseException | None = None
        self.generation: int | None = None

    def resolve(self, body: bytes) -> None:
        self.body = body
        self.event.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.event.set()


class _ClientLoop(_Loop):
    def __init__(
        self,
        client: KombuClient,
        url: _url.TransportURL,
        settings: BrokerSettings,
    ) -> None:
        super().__init__(url, settings, name=f"rpc-client-{client.topic}")
        self.client = client
        self.reply_to = DIRECT_REPLY_TO

    def _wants_connection(self) -> bool:
        return bool(self.client.pending)

    def _connected_message(self) -> str:
        return f" (client of topic {self.client.topic!r})"

    def _on_connected(self, channel: Any) -> None:
        if self._conn.transport.driver_type == "amqp":
            self.reply_to = DIRECT_REPLY_TO
            channel.events["basic_return"].add(self._on_return)
        else:
            self.reply_to = f"{QUEUE_PREFIX}reply.{uuid.uuid4().hex}"
            channel.queue_declare(
                queue=self.reply_to, exclusive=True, auto_delete=True
            )
        channel.basic_consume(
            queue=self.reply_to,
            no_ack=True,
            callback=self._on_reply,
            consumer_tag=f"reply-{uuid.uuid4().hex}",
        )

    def _on_reply(self, message: Any) -> None:
        correlation_id = message.properties.get("correlation_id")
        pending = self.client.pending.get(correlation_id)
        if pending is None:
            LOG.debug("Reply %s came after its caller gave up", correlation_id)
            return
        pending.resolve(message.body)

    def _on_return(
        self, exc: Exception, exchange: str, routing_key: str, message: Any
    ) -> None:
        """Fail the call whose request the broker could not route."""
        correlation_id = message.properties.get("correlation_id")
        pending = self.client.pending.get(correlation_id)
        if pending is not None:
            pending.fail(
                rpc_exception.NoConductor(
                    topic=self.client.topic, method=pending.method
                )
            )

    def _on_lost(self, generation: int) -> None:
        for pending in list(self.client.pending.values()):
            if pending.generation == generation and not pending.event.is_set():
                pending.fail(
                    rpc_exception.ReplyLost(
                        method=pending.method, topic=self.client.topic
                    )
                )

    def _on_closing(self, channel: Any) -> None:
        if self.memory:
            channel.queue_delete(queue=self.reply_to)


class KombuClient:
    """Send calls to the conductors of one topic and wait for replies.

    Safe to share between threads; the connection is made on the first
    call and kept (with heartbeats) until :meth:`close`.
    """

    def __init__(
        self,
        transport_url: str,
        topic: str,
        settings: BrokerSettings | None = None,
    ) -> None:
        self.topic = topic
        self.queue = queue_name(topic)
        self.url = _url.parse(transport_url)
        self.settings = settings or BrokerSettings.from_conf()
        self.pending: dict[str, _Pending] = {}
        self._loop = _ClientLoop(self, self.url, self.settings)
        self._start_lock = threading.Lock()
        self._started = False

    def call(self, method: str, body: bytes, timeout: float) -> bytes:
        """Send one request and return its reply body.

        Raises MessagingTimeout, NoConductor or ReplyLost.
        """
        self._ensure_started()
        deadline = time.monotonic() + timeout
        correlation_id = uuid.uuid4().hex
        pending = _Pending(method)
        self.pending[correlation_id] = pending
        try:
            self._loop.post(
                lambda channel: self._publish(
                    channel, correlation_id, body, deadline, pending
                )
            )
            if not pending.event.wait(timeout):
                raise rpc_exception.MessagingTimeout(
                    timeout=timeout,
                    method=method,
                    topic=self.topic,
                    detail=self._outage_detail(),
                )
        finally:
            self.pending.pop(correlation_id, None)
        if pending.error is not None:
            raise pending.error
        return pending.body

    def close(self) -> None:
        """Close the connection; calls still waiting fail."""
        with self._start_lock:
            if self._started:
                self._loop.close()
        for pending in list(self.pending.values()):
            pending.fail(rpc_exception.RPCError(reason="the client closed"))

    def _ensure_started(self) -> None:
        if self._started:
            return
        with self._start_lock:
            if not self._started:
                self._loop.start()
                self._started = True

    def _outage_detail(self) -> str:
        loop = self._loop
        if loop.connected or not loop.last_error:
            return ""
        return (
            f" (AMQP broker {loop.endpoint()} unreachable: "
            f"{loop.last_error})"
        )

    def _publish(
        self,
        channel: Any,
        correlation_id: str,
        body: bytes,
        deadline: float,
        pending: _Pending,
    ) -> None:
        if channel is None:
            pending.fail(rpc_exception.RPCError(reason="the client closed"))
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0 or pending.event.is_set():
            return
        pending.generation = self._loop.generation
        message = channel.prepare_message(
            body,
            content_type=CONTENT_TYPE,
            content_encoding="binary",
            properties={
                "correlation_id": correlation_id,
                "reply_to": self._loop.reply_to,
                "expiration": str(max(1, int(remaining * 1000))),
                "app_id": self.settings.app_id,
            },
        )
        channel.basic_publish(
            message, exchange="", routing_key=self.queue, mandatory=True
        )
        if self._loop.memory:
            _MEMORY_BELL.ring()


# --------------------------------------------------------------------------
# Server


class Handler(Protocol):
    """What a server needs from the dispatch (ConductorManager)."""

    def parse(self, body: bytes) -> Any: ...

    def execute(self, request: Any) -> bytes: ...


class _Delivery:
    """A request handed to a worker thread."""

    __slots__ = ("generation", "tag", "body", "properties", "received")

    def __init__(self, generation: int, message: Any) -> None:
        self.generation = generation
        self.tag = message.delivery_tag
        self.body = message.body
        self.properties = message.properties
        self.received = time.monotonic()

    @property
    def reply_to(self) -> str | None:
        return self.properties.get("reply_to")

    @property
    def correlation_id(self) -> str | None:
        return self.properties.get("correlation_id")

    def origin(self) -> str:
        return (
            f"{self.properties.get('app_id') or 'unknown sender'} "
            f"(correlation_id {self.correlation_id})"
        )

    def expired(self) -> bool:
        """True if the caller's timeout passed while this waited here."""
        try:
            ttl = float(self.properties.get("expiration")) / 1000.0
        except (TypeError, ValueError):
            return False
        return time.monotonic() > self.received + ttl


class _ServerLoop(_Loop):
    def __init__(
        self,
        server: KombuServer,
        url: _url.TransportURL,
        settings: BrokerSettings,
    ) -> None:
        super().__init__(url, settings, name=f"rpc-server-{server.topic}")
        self.server = server
        self.consumer_tag = f"conductor-{uuid.uuid4().hex}"
        self.consuming = False
        self.ready = threading.Event()

    def _connected_message(self) -> str:
        return f"; consuming topic {self.server.topic!r}"

    def _on_connected(self, channel: Any) -> None:
        server = self.server
        channel.basic_qos(0, server.prefetch, False)
        channel.queue_declare(
            queue=server.queue,
            durable=True,
            auto_delete=False,
            arguments={
                "x-expires": int(self.settings.idle_queue_timeout * 1000)
            },
        )
        self.consuming = False
        if not server.stopping:
            channel.basic_consume(
                queue=server.queue,
                no_ack=False,
                callback=self._on_message,
                consumer_tag=self.consumer_tag,
            )
            self.consuming = True
            self.ready.set()

    def _on_message(self, message: Any) -> None:
        self.server.submit(_Delivery(self.generation, message), self.channel)

    def cancel(self, channel: Any) -> None:
        if channel is not None and self.consuming:
            channel.basic_cancel(self.consumer_tag)
            self.consuming = False


class KombuServer:
    """Consume one topic and run its calls in a pool of threads."""

    def __init__(
        self,
        transport_url: str,
        topic: str,
        handler: Handler,
        threads: int = 4,
        prefetch: int = 0,
        settings: BrokerSettings | None = None,
    ) -> None:
        self.topic = topic
        self.queue = queue_name(topic)
        self.url = _url.parse(transport_url)
        self.settings = settings or BrokerSettings.from_conf()
        self.handler = handler
        self.threads = threads
        self.prefetch = prefetch or threads
        self.stopping = False
        #: Deliveries handed to the pool and not finished (the I/O thread
        #: counts one in before the pool can start it).
        self._load = 0
        self._load_lock = threading.Condition()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix=f"conductor-{topic}"
        )
        self._loop = _ServerLoop(self, self.url, self.settings)

    @property
    def in_flight(self) -> int:
        """Calls received and not finished yet."""
        return self._load

    def start(self) -> None:
        """Connect and consume, in the background."""
        self._loop.start()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the server consumes its topic; False on timeout."""
        return self._loop.ready.wait(timeout)

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop consuming, let the calls in flight finish, and close.

        Returns True if every call finished within ``timeout`` seconds.
        Requests received but not started are given back to the broker.
        """
        self.stopping = True
        self._loop.post(self._loop.cancel)
        with self._load_lock:
            drained = self._load_lock.wait_for(
                lambda: self._load == 0, timeout
            )
            left = self._load
        if not drained:
            LOG.warning(
                "%d calls still running after %.0fs; closing anyway",
                left, timeout,
            )
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._loop.close()
        return drained

    def wait(self, timeout: float | None = None) -> None:
        """Block until the server's I/O thread has ended."""
        self._loop._thread.join(timeout)

    def submit(self, delivery: _Delivery, channel: Any) -> None:
        """Hand a delivery to a worker thread (called on the I/O thread).

        If a thread is free the call starts at once, so it is parsed and
        acked right here, before it is handed over; otherwise it waits
        unacked, and the thread that takes it acks it first.
        """
        with self._load_lock:
            free = self._load < self.threads and not self.stopping
            self._load += 1
        if not free:
            self._start(self._process, delivery)
            return
        request = self._parse(delivery)
        if request is None:
            self._done()
            return
        channel.basic_ack(delivery.tag)
        self._start(self._run_acked, request, delivery)

    def _start(self, function: Callable[..., None], *args: Any) -> None:
        try:
            self._executor.submit(function, *args)
        except RuntimeError:  # shutting down: the broker redelivers it
            self._done()

    def _done(self) -> None:
        with self._load_lock:
            self._load -= 1
            if not self._load:
                self._load_lock.notify_all()

    # -- worker threads --------------------------------------------------

    # NOTE(db-conductor): a worker frees its slot (_done) before it posts
    # the reply, so the caller's next request finds the thread free and
    # takes the fast path.

    def _run_acked(self, request: Any, delivery: _Delivery) -> None:
        reply = None
        try:
            reply = self.handler.execute(request)
        except Exception:  # a worker thread must survive any message
            LOG.exception(
                "Unexpected error handling a message from %s",
                delivery.origin(),
            )
        finally:
            self._done()
        if reply is not None:
            self._reply(delivery, reply)

    def _process(self, delivery: _Delivery) -> None:
        reply = None
        try:
            reply = self._process_one(delivery)
        except Exception:  # a worker thread must survive any message
            LOG.exception(
                "Unexpected error handling a message from %s",
                delivery.origin(),
            )
        finally:
            self._done()
        if reply is not None:
            self._reply(delivery, reply)

    def _process_one(self, delivery: _Delivery) -> bytes | None:
        """Settle, ack and run a delivery that waited for a thread."""
        if self.stopping:
            self._settle(delivery, requeue=True)
            return None
        if delivery.expired():
            LOG.warning(
                "Dropped a request from %s: its caller's timeout passed "
                "before a worker thread was free", delivery.origin(),
            )
            self._settle(delivery, requeue=False, ack=True)
            return None

        request = self._parse(delivery)
        if request is None or not self._ack(delivery):
            return None
        return self.handler.execute(request)

    def _parse(self, delivery: _Delivery) -> Any:
        from conductor.manager import MalformedRequest

        try:
            return self.handler.parse(delivery.body)
        except MalformedRequest as exc:
            LOG.warning(
                "Rejected a malformed message on topic %r from %s: %s",
                self.topic, delivery.origin(), exc,
            )
            self._settle(delivery, requeue=False)
            self._reply(delivery, exc.reply)
            return None

    def _ack(self, delivery: _Delivery) -> bool:
        """Ack and wait until the ack is written (at-most-once)."""
        done = threading.Event()
        acked: list[bool] = []

        def operation(channel: Any) -> None:
            try:
                if channel is not None:
                    channel.basic_ack(delivery.tag)
                    acked.append(True)
            finally:
                done.set()

        self._loop.post(operation, generation=delivery.generation)
        while not done.wait(1.0):
            if not self._loop.alive:
                break
        if not acked:
            LOG.info(
                "Connection lost before a call from %s started; the broker "
                "will deliver it again", delivery.origin(),
            )
        return bool(acked)

    def _settle(
        self, delivery: _Delivery, requeue: bool, ack: bool = False
    ) -> None:
        def operation(channel: Any) -> None:
            if channel is None:
                return
            if ack:
                channel.basic_ack(delivery.tag)
            else:
                channel.basic_reject(delivery.tag, requeue=requeue)

        self._loop.post(operation, generation=delivery.generation)

    def _reply(self, delivery: _Delivery, body: bytes) -> None:
        reply_to, correlation_id = delivery.reply_to, delivery.correlation_id
        if not reply_to or not correlation_id:
            return

        def operation(channel: Any) -> None:
            if channel is None:
                LOG.info(
                    "Could not send the reply to %s: shutting down",
                    delivery.origin(),
                )
                return
            message = channel.prepare_message(
                body,
                content_type=CONTENT_TYPE,
                content_encoding="binary",
                properties={"correlation_id": correlation_id},
            )
            channel.basic_publish(message, exchange="", routing_key=reply_to)
            if self._loop.memory:
                _MEMORY_BELL.ring()

        self._loop.post(operation)


#: The names :mod:`conductor.drivers` looks up.
Client = KombuClient
Server = KombuServer
