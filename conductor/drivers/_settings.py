"""Broker settings shared by the drivers, read from ``[conductor]``."""

from __future__ import annotations

import dataclasses
import os
import socket
import ssl
import sys
from typing import Any

from conductor import opts
from conductor._url import TransportURL


def default_app_id() -> str:
    """Return ``program@host:pid``: who sent a message, for log lines."""
    program = os.path.basename(sys.argv[0] or "python") or "python"
    return f"{program}@{socket.gethostname()}:{os.getpid()}"


@dataclasses.dataclass(frozen=True)
class BrokerSettings:
    """How to talk to the broker, apart from where it is."""

    heartbeat: int = 60
    retry_interval: float = 1.0
    retry_max_interval: float = 30.0
    connect_timeout: float = 5.0
    idle_queue_timeout: float = 60.0
    use_ssl: bool = False
    ssl_ca_file: str | None = None
    ssl_cert_file: str | None = None
    ssl_key_file: str | None = None
    app_id: str = dataclasses.field(default_factory=default_app_id)

    @classmethod
    def from_conf(cls) -> BrokerSettings:
        """Return the settings of the ``[conductor]`` options."""
        group = opts.CONF.conductor
        return cls(
            heartbeat=group.heartbeat_timeout,
            retry_interval=group.retry_interval,
            retry_max_interval=max(
                group.retry_max_interval, group.retry_interval
            ),
            idle_queue_timeout=group.idle_queue_timeout,
            use_ssl=group.use_ssl,
            ssl_ca_file=group.ssl_ca_file,
            ssl_cert_file=group.ssl_cert_file,
            ssl_key_file=group.ssl_key_file,
        )

    def ssl_options(self, url: TransportURL) -> bool | dict[str, Any]:
        """Return kombu's ``ssl`` argument for ``url`` (False: plain)."""
        if not (self.use_ssl or url.use_ssl):
            return False
        if not (self.ssl_ca_file or self.ssl_cert_file):
            return True
        options: dict[str, Any] = {"cert_reqs": ssl.CERT_REQUIRED}
        if self.ssl_ca_file:
            options["ca_certs"] = self.ssl_ca_file
        if self.ssl_cert_file:
            options["certfile"] = self.ssl_cert_file
        if self.ssl_key_file:
            options["keyfile"] = self.ssl_key_file
        return options
