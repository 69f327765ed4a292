"""Transport URLs in the forms operators know, and how to log them.

Accepted forms:

* oslo.messaging's ``rabbit://user:pass@host1:5672,user:pass@host2:5672/
  vhost?ssl=1``: several hosts, tried in turn on (re)connect;
* kombu's ``amqp://user:pass@host:5672/vhost`` (also ``pyamqp://``) and
  ``amqps://`` for TLS;
* ``memory://``: kombu's in-process transport, for tests and embedding.

The vhost is the path without its first slash (``//`` is the vhost
``/``; an empty path is the default vhost ``/`` too).  User names and
passwords may be percent-encoded.  :meth:`TransportURL.masked` and
:meth:`TransportURL.endpoints` are what log lines use: never the password.
"""

from __future__ import annotations

import dataclasses
import urllib.parse

from db import exception

AMQP_SCHEMES = {"rabbit", "amqp", "amqps", "pyamqp"}
MEMORY_SCHEMES = {"memory"}
_TRUE = {"1", "true", "yes", "on"}


@dataclasses.dataclass(frozen=True)
class Host:
    """One broker of a transport URL."""

    hostname: str
    port: int | None = None
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)

    def endpoint(self, default_port: int) -> str:
        """Return ``host:port`` (brackets around an IPv6 address)."""
        name = f"[{self.hostname}]" if ":" in self.hostname else (
            self.hostname
        )
        return f"{name}:{self.port or default_port}"


@dataclasses.dataclass(frozen=True)
class TransportURL:
    """A parsed ``transport_url``."""

    scheme: str
    hosts: tuple[Host, ...]
    virtual_host: str = "/"
    query: tuple[tuple[str, str], ...] = ()

    @property
    def is_memory(self) -> bool:
        return self.scheme in MEMORY_SCHEMES

    @property
    def use_ssl(self) -> bool:
        """True for ``amqps://`` or an ``ssl=1`` query parameter."""
        params = dict(self.query)
        return self.scheme == "amqps" or (
            params.get("ssl", "").lower() in _TRUE
        )

    @property
    def default_port(self) -> int:
        return 5671 if self.use_ssl else 5672

    def endpoints(self) -> str:
        """Return the brokers as ``host:port`` list, for log lines."""
        if self.is_memory:
            return "memory://"
        return ",".join(h.endpoint(self.default_port) for h in self.hosts)

    def masked(self) -> str:
        """Return the URL with every password replaced by ``***``."""
        if self.is_memory:
            return f"{self.scheme}://"
        hosts = []
        for host in self.hosts:
            user = ""
            if host.username is not None:
                user = urllib.parse.quote(host.username, safe="")
                user += ":***@" if host.password is not None else "@"
            hosts.append(user + host.endpoint(self.default_port))
        vhost = quote_vhost(self.virtual_host)
        return f"{self.scheme}://{','.join(hosts)}/{vhost}"


def quote_vhost(vhost: str) -> str:
    return "/" if vhost == "/" else urllib.parse.quote(vhost, safe="")


def parse(url: str) -> TransportURL:
    """Parse a transport URL, or raise :class:`db.exception.InvalidInput`."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        raise _invalid(url, str(exc)) from None
    scheme = parts.scheme.lower()
    if scheme in MEMORY_SCHEMES:
        return TransportURL(scheme=scheme, hosts=())
    if scheme not in AMQP_SCHEMES:
        raise _invalid(
            url,
            f"unsupported scheme {parts.scheme!r} (use rabbit://, "
            "amqp://, amqps:// or memory://)",
        )

    netloc = parts.netloc
    hosts = tuple(_parse_host(url, item) for item in netloc.split(","))
    if not hosts:
        raise _invalid(url, "no broker host")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    vhost = urllib.parse.unquote(path) or "/"
    query = tuple(urllib.parse.parse_qsl(parts.query))
    return TransportURL(scheme, hosts, vhost, query)


def _parse_host(url: str, item: str) -> Host:
    userinfo, _, hostport = item.rpartition("@")
    username = password = None
    if userinfo:
        user, colon, secret = userinfo.partition(":")
        username = urllib.parse.unquote(user)
        password = urllib.parse.unquote(secret) if colon else None
    hostname, port = _split_port(url, hostport)
    if not hostname:
        hostname = "localhost"
    return Host(hostname, port, username, password)


def _split_port(url: str, hostport: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        name, _, rest = hostport[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        name, _, port_text = hostport.partition(":")
    if not port_text:
        return name, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise _invalid(url, f"bad port {port_text!r}")
    return name, int(port_text)


def _invalid(url: str, reason: str) -> exception.InvalidInput:
    safe = url.split("@")[-1] if "@" in url else url
    return exception.InvalidInput(
        reason=f"transport_url ...{safe} is not usable: {reason}"
    )
