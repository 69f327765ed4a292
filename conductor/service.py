"""The conductor service: consume the topic and run the calls.

:class:`ConductorService` is the whole server, usable in-process (tests,
embedding programs) and by the ``conductor`` daemon::

    service = ConductorService(transport_url="memory://", workers=1)
    service.start()
    ...
    service.stop()      # drains the calls in flight

With one worker the service serves in this process: one broker
connection, ``[conductor] worker_threads`` threads running calls.  With
more, it starts that many worker processes (spawned, each a competing
consumer with its own connection and database pool) and supervises them:
a worker that dies is started again after a back-off.  ``memory://``
cannot cross processes, so on it the service always serves in-process.
"""

from __future__ import annotations

import configparser
import contextlib
import importlib.metadata
import logging
import multiprocessing
import os
import pathlib
import signal
import threading
import time
from types import ModuleType
from typing import Any

from conductor import _logging, _url, drivers, opts
from conductor.manager import ConductorManager
from db.sqlalchemy import _session

LOG = logging.getLogger(__name__)
CONF = opts.CONF


def version() -> str:
    """Return db-conductor's version (from its metadata or setup.cfg)."""
    try:
        return importlib.metadata.version("db-conductor")
    except importlib.metadata.PackageNotFoundError:
        setup = pathlib.Path(__file__).resolve().parent.parent / "setup.cfg"
        parser = configparser.ConfigParser()
        parser.read(setup)
        return parser.get("metadata", "version", fallback="unknown")


class ConductorService:
    """Serve the database API on a topic until stopped.

    Arguments left as ``None`` come from the options: ``[DEFAULT]
    transport_url``, ``[conductor] topic``, ``workers`` (default: the
    number of CPUs), ``worker_threads`` and ``driver``.  ``backend`` is
    the module whose functions run the calls (tests pass a fake one).
    """

    def __init__(
        self,
        transport_url: str | None = None,
        topic: str | None = None,
        workers: int | None = None,
        *,
        threads: int | None = None,
        driver: str | None = None,
        backend: ModuleType | None = None,
        worker_index: int | None = None,
    ) -> None:
        group = CONF.conductor
        self.worker_index = worker_index
        self.transport_url = transport_url or CONF.transport_url
        self.url = _url.parse(self.transport_url)
        self.topic = topic or group.topic
        self.workers = workers or group.workers or os.cpu_count() or 1
        self.threads = threads or group.worker_threads
        self.driver = driver or group.driver
        self._driver = drivers.load(self.driver)
        self._backend = backend
        self._servers: list[Any] = []
        self._children: _Children | None = None
        self._stopped = threading.Event()
        self._started = False
        if self.url.is_memory and self.workers > 1:
            LOG.info(
                "memory:// works inside one process: serving in-process "
                "instead of %d worker processes", self.workers,
            )
            self.workers = 1

    @property
    def in_process(self) -> bool:
        return self.workers == 1

    @property
    def in_flight(self) -> int:
        """Calls running now (in-process service only; else 0)."""
        return sum(server.in_flight for server in self._servers)

    def start(self, ready_timeout: float = 10.0) -> None:
        """Start serving; in-process, wait until the topic is consumed.

        A broker that does not answer within ``ready_timeout`` seconds
        is not an error: the service keeps retrying in the background.
        """
        if self._started:
            return
        self._started = True
        if self.worker_index is None:
            LOG.info(
                "Starting conductor %s: topic=%s workers=%d threads=%d "
                "driver=%s backend=%s",
                version(), self.topic, self.workers, self.threads,
                self.driver, getattr(self._backend, "__name__", "sqlalchemy"),
            )
        else:
            LOG.info(
                "Worker %d serving topic %s with %d threads",
                self.worker_index, self.topic, self.threads,
            )
        if not self.in_process:
            self._children = _Children(self)
            self._children.start()
            return
        _session.allow()
        if self._backend is None:
            _session.get_engine()
        server = self._make_server()
        self._servers.append(server)
        server.start()
        if not server.wait_ready(ready_timeout):
            LOG.warning(
                "Not consuming topic %r after %.0fs; still trying",
                self.topic, ready_timeout,
            )

    def _make_server(self) -> Any:
        group = CONF.conductor
        return self._driver.Server(
            self.transport_url,
            self.topic,
            ConductorManager(backend=self._backend),
            threads=self.threads,
            prefetch=group.prefetch_count,
        )

    def stop(self, timeout: float | None = None, reason: str = "") -> bool:
        """Stop consuming, wait for the calls in flight, then close.

        Returns True when everything finished within ``timeout`` seconds
        (default ``[conductor] graceful_shutdown_timeout``).
        """
        if timeout is None:
            timeout = CONF.conductor.graceful_shutdown_timeout
        if self._stopped.is_set():
            return True
        what = (
            f"{self.in_flight} calls in flight" if self.in_process
            else f"{self.workers} worker processes"
        )
        LOG.info(
            "Shutdown requested%s: %s, waiting up to %.0fs",
            f" ({reason})" if reason else "", what, timeout,
        )
        clean = True
        if self._children is not None:
            clean = self._children.stop(timeout)
        for server in self._servers:
            clean = server.stop(timeout) and clean
        self._stopped.set()
        if clean:
            LOG.info("Conductor stopped cleanly")
        else:
            LOG.warning("Conductor stopped with calls unfinished")
        return clean

    def kill(self) -> None:
        """Stop at once: worker processes are killed, nothing drains."""
        if self._children is not None:
            self._children.kill()
        self._stopped.set()

    def child_pids(self) -> list[int]:
        """The worker processes' pids (none when serving in-process)."""
        children = self._children
        if children is None:
            return []
        return [p.pid for p in children.processes if p is not None]

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the service has stopped; False on timeout."""
        return self._stopped.wait(timeout)


# --------------------------------------------------------------------------
# Worker processes


def _conf_snapshot() -> dict[tuple[str | None, str], Any]:
    """Return every option's current value, to replay in a child."""
    snapshot = {}
    for group, group_opts in opts.list_opts():
        name = getattr(group, "name", group)
        section = CONF if name is None else CONF[name]
        for opt in group_opts:
            snapshot[(name, opt.dest)] = section[opt.dest]
    return snapshot


def _child_main(
    index: int,
    snapshot: dict[tuple[str | None, str], Any],
    settings: dict[str, Any],
    log_level: int,
) -> None:
    """Run one worker process: an in-process service until signalled."""
    for (group, name), value in snapshot.items():
        CONF.set_override(name, value, group=group)
    _logging.setup(debug=log_level <= logging.DEBUG)
    service = ConductorService(workers=1, worker_index=index, **settings)
    stop = install_signal_handlers(service)
    service.start()
    while not stop.wait(1.0):
        pass
    service.stop(reason=stop.reason)


class StopRequest:
    """What the signal handlers saw: the first signal's name, and how many
    came.  Set without taking any lock, so a handler can never deadlock
    on a lock the interrupted main thread holds."""

    def __init__(self) -> None:
        self.reason = ""
        self.count = 0

    def is_set(self) -> bool:
        return self.count > 0

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds or until a signal came."""
        deadline = time.monotonic() + timeout
        while not self.count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(0.2, remaining))
        return True


def install_signal_handlers(service: ConductorService) -> StopRequest:
    """First SIGTERM or SIGINT: graceful stop; a second one: exit now.

    Returns what the main thread polls before calling ``service.stop()``.
    """
    stop = StopRequest()

    def handler(signum: int, frame: Any) -> None:
        stop.count += 1
        name = signal.Signals(signum).name
        if stop.count == 1:
            stop.reason = name
            return
        LOG.warning("Second %s: exiting immediately", name)
        for pid in service.child_pids():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


class _Children:
    """Start, watch and stop the worker processes of a service."""

    def __init__(self, service: ConductorService) -> None:
        self._service = service
        self._context = multiprocessing.get_context("spawn")
        self.processes: list[Any] = [None] * service.workers
        self._stopping = threading.Event()
        self._settings = {
            "transport_url": service.transport_url,
            "topic": service.topic,
            "threads": service.threads,
            "driver": service.driver,
        }
        self._watcher = threading.Thread(
            target=self._watch, name="conductor-workers", daemon=True
        )

    def start(self) -> None:
        for index in range(len(self.processes)):
            self._spawn(index)
        self._watcher.start()

    def _spawn(self, index: int) -> None:
        process = self._context.Process(
            target=_child_main,
            args=(
                index,
                _conf_snapshot(),
                self._settings,
                logging.getLogger().getEffectiveLevel(),
            ),
            name=f"conductor-worker-{index}",
        )
        process.start()
        self.processes[index] = process
        LOG.info("Started worker %d (pid %d)", index, process.pid)

    def _watch(self) -> None:
        delays = [1.0] * len(self.processes)
        while not self._stopping.wait(0.5):
            for index, process in enumerate(self.processes):
                if process.is_alive() or self._stopping.is_set():
                    continue
                LOG.warning(
                    "Worker %d (pid %d) exited with status %s; restarting "
                    "in %.0fs", index, process.pid, process.exitcode,
                    delays[index],
                )
                if self._stopping.wait(delays[index]):
                    return
                delays[index] = min(delays[index] * 2, 30.0)
                self._spawn(index)

    def stop(self, timeout: float) -> bool:
        self._stopping.set()
        for process in self.processes:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout + 5.0
        clean = True
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                LOG.warning("Worker pid %d did not stop; killing it",
                            process.pid)
                process.kill()
                process.join(5.0)
                clean = False
            elif process.exitcode != 0:
                clean = False
        return clean

    def kill(self) -> None:
        self._stopping.set()
        for process in self.processes:
            if process is not None and process.is_alive():
                process.kill()
