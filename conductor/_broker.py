"""Find a RabbitMQ that answers, or start a private one on loopback.

The demo, the benchmark and the broker-restart test use this: a private
broker gets its own node name, ports, data directory and Erlang port
mapper, so it never touches a broker that is already running (the same
approach as ``tools/test-services``).  The Debian package's own start is
refused on machines without systemd, so the server scripts are run
directly, as the calling user.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import socket
import subprocess
import time

import kombu

from conductor import _url

RABBIT_BIN = pathlib.Path("/usr/lib/rabbitmq/bin")


def probe(transport_url: str, timeout: float = 2.0) -> str | None:
    """Return None if a broker of ``transport_url`` accepts a login,
    else why not (one line, no credentials)."""
    url = _url.parse(transport_url)
    if url.is_memory:
        return None
    reason = "no broker host"
    for host in url.hosts:
        port = host.port or url.default_port
        try:
            with socket.create_connection((host.hostname, port), timeout):
                pass
            conn = kombu.Connection(
                hostname=host.hostname, port=port,
                userid=host.username or "guest",
                password=host.password or "guest",
                virtual_host=url.virtual_host, transport="pyamqp",
                connect_timeout=timeout,
                ssl=url.use_ssl,
            )
            try:
                conn.ensure_connection(max_retries=0)
            finally:
                conn.release()
            return None
        except Exception as exc:  # any failure means "not usable"
            reason = f"{host.endpoint(port)}: {type(exc).__name__}"
    return reason


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateBroker:
    """A RabbitMQ node of our own, on 127.0.0.1, in ``directory``."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = pathlib.Path(directory)
        self.node = f"dbc{os.getpid()}{free_port()}@localhost"
        self.port = free_port()
        self._dist_port = free_port()
        self._epmd_port = free_port()

    @staticmethod
    def available() -> bool:
        """True if rabbitmq-server is installed here."""
        return (RABBIT_BIN / "rabbitmq-server").exists() and bool(
            shutil.which("epmd") or (RABBIT_BIN / "rabbitmqctl").exists()
        )

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def env(self) -> dict[str, str]:
        """The environment of the node's server and control scripts."""
        base = self.directory
        erl_args = "-kernel inet_dist_use_interface {127,0,0,1}"
        env = dict(os.environ)
        env.update(
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self._dist_port),
            ERL_EPMD_ADDRESS="127.0.0.1",
            ERL_EPMD_PORT=str(self._epmd_port),
            RABBITMQ_MNESIA_BASE=str(base / "mnesia"),
            RABBITMQ_LOG_BASE=str(base / "log"),
            RABBITMQ_PID_FILE=str(base / "rabbit.pid"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(base / "enabled_plugins"),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=erl_args,
            RABBITMQ_CTL_ERL_ARGS=erl_args,
        )
        return env

    def ctl(self, *args: str, timeout: float = 60.0) -> int:
        """Run ``rabbitmqctl -n <node> args``; return its exit status."""
        return subprocess.run(
            [str(RABBIT_BIN / "rabbitmqctl"), "-q", "-n", self.node, *args],
            env=self.env(), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, timeout=timeout,
        ).returncode

    def start(self, timeout: float = 90.0) -> str:
        """Start the node and wait until it serves; return its URL."""
        for sub in ("mnesia", "log"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        (self.directory / "enabled_plugins").write_text("[].\n")
        with open(self.directory / "start.log", "wb") as log:
            subprocess.run(
                [str(RABBIT_BIN / "rabbitmq-server"), "-detached"],
                env=self.env(), stdout=log, stderr=log, timeout=60,
            )
        self.wait_serving(timeout)
        return self.url

    def wait_serving(self, timeout: float) -> None:
        """Wait until the node accepts AMQP logins."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            remaining = max(1.0, deadline - time.monotonic())
            if self.ctl("await_startup", timeout=remaining) == 0 and (
                probe(self.url) is None
            ):
                return
            time.sleep(0.5)
        raise RuntimeError(
            f"private RabbitMQ did not start; see {self.directory}/log"
        )

    def stop_app(self) -> None:
        """Stop the broker application (connections drop; node stays)."""
        self.ctl("stop_app")

    def start_app(self, timeout: float = 60.0) -> None:
        """Start the broker application again and wait until it serves."""
        self.ctl("start_app", timeout=timeout)
        self.wait_serving(timeout)

    def stop(self) -> None:
        """Stop the node and its port mapper."""
        try:
            self.ctl("stop", timeout=60)
        finally:
            epmd = shutil.which("epmd")
            if epmd:
                subprocess.run(
                    [epmd, "-port", str(self._epmd_port), "-kill"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    timeout=30,
                )
