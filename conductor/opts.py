"""Configuration options of the conductor, its client and the worker.

``[DEFAULT] transport_url`` and ``[conductor] topic`` / ``workers`` keep
the names operators know; everything else about the broker sits in
``[conductor]`` too.  :func:`list_opts` feeds ``oslo-config-generator``
(entry point ``db-conductor``) and includes the database layer's options,
so one sample covers a whole conductor.
"""

from __future__ import annotations

import socket

from oslo_config import cfg

import db.options

CONF = cfg.CONF

default_opts = [
    cfg.StrOpt(
        "transport_url",
        default="rabbit://guest:guest@localhost:5672/",
        secret=True,
        help="Where the AMQP broker is.  oslo.messaging's form "
        "rabbit://user:pass@host1:5672,user:pass@host2:5672/vhost "
        "lists brokers tried in turn; kombu's amqp://user:pass@host/vhost "
        "and amqps:// (TLS) work too, and memory:// is an in-process "
        "transport for tests and embedding programs.",
    ),
]

conductor_group = cfg.OptGroup(
    "conductor", help="The conductor daemon and its RPC client."
)

conductor_opts = [
    cfg.StrOpt(
        "topic",
        default="conductor",
        help="The topic the conductor consumes and clients call.",
    ),
    cfg.IntOpt(
        "workers",
        min=1,
        sample_default="<number of CPUs>",
        help="Worker processes of the conductor daemon, each a competing "
        "consumer of the topic.  Default: the number of CPUs.",
    ),
    cfg.IntOpt(
        "worker_threads",
        default=4,
        min=1,
        help="Calls each worker process runs at once, in threads, to "
        "overlap database I/O.  Size it to the database, not to the "
        "CPUs: it helps a network database, not SQLite.",
    ),
    cfg.IntOpt(
        "prefetch_count",
        default=0,
        min=0,
        help="Calls the broker hands a worker process before they start "
        "(AMQP basic.qos); 0 means worker_threads.",
    ),
    cfg.StrOpt(
        "driver",
        default="kombu",
        choices=[
            ("kombu", "The conductor's own RPC on kombu: topic queue, "
             "direct reply-to, msgpack bodies."),
            ("oslo", "oslo.messaging RPC, with the same dispatch and "
             "codec."),
        ],
        help="The RPC carrier.  Conductor and clients must use the same.",
    ),
    cfg.FloatOpt(
        "rpc_timeout",
        default=60.0,
        min=0.1,
        help="Seconds a client waits for a reply, including the time "
        "spent reconnecting to the broker.  A request that waits in the "
        "queue longer is dropped by the broker unrun.",
    ),
    cfg.FloatOpt(
        "idle_queue_timeout",
        default=60.0,
        min=1.0,
        help="Seconds the topic queue outlives its last consuming "
        "conductor (AMQP x-expires).  Calls made meanwhile wait in it for "
        "a conductor to come back, up to their timeout; afterwards they "
        "fail at once with NoConductor.",
    ),
    cfg.FloatOpt(
        "graceful_shutdown_timeout",
        default=30.0,
        min=0,
        help="Seconds a stopping conductor waits for the calls in flight.",
    ),
    cfg.IntOpt(
        "heartbeat_timeout",
        default=60,
        min=0,
        help="AMQP heartbeat timeout in seconds (0 disables heartbeats). "
        "Heartbeats are serviced while database calls run.",
    ),
    cfg.FloatOpt(
        "retry_interval",
        default=1.0,
        min=0.01,
        help="Seconds before the first reconnect attempt; each further "
        "attempt doubles it, with jitter.",
    ),
    cfg.FloatOpt(
        "retry_max_interval",
        default=30.0,
        min=0.01,
        help="Longest wait in seconds between reconnect attempts.",
    ),
    cfg.BoolOpt(
        "use_ssl",
        default=False,
        help="Connect to the broker with TLS (also implied by amqps:// "
        "or ssl=1 in transport_url).",
    ),
    cfg.StrOpt(
        "ssl_ca_file",
        help="CA bundle that verifies the broker's TLS certificate.",
    ),
    cfg.StrOpt(
        "ssl_cert_file",
        help="Client certificate for TLS, if the broker asks for one.",
    ),
    cfg.StrOpt(
        "ssl_key_file",
        help="Private key of ssl_cert_file.",
    ),
]

worker_group = cfg.OptGroup(
    "compute_worker", help="The compute-worker program."
)

worker_opts = [
    cfg.StrOpt(
        "host",
        default=socket.gethostname(),
        sample_default="<hostname>",
        help="Host name the worker registers its service under.",
    ),
    cfg.FloatOpt(
        "report_interval",
        default=10.0,
        min=0.1,
        help="Seconds between the worker's service_update heartbeats.",
    ),
    cfg.FloatOpt(
        "report_timeout",
        default=5.0,
        min=0.1,
        help="RPC timeout in seconds of a heartbeat; keep it below the "
        "time after which a service counts as down.",
    ),
]

CONF.register_opts(default_opts)
CONF.register_group(conductor_group)
CONF.register_opts(conductor_opts, group=conductor_group)
CONF.register_group(worker_group)
CONF.register_opts(worker_opts, group=worker_group)


def list_opts() -> list[tuple[cfg.OptGroup | None, list[cfg.Opt]]]:
    """Return every option of db-conductor for ``oslo-config-generator``."""
    by_group: dict = {}
    for group, opts in db.options.list_opts() + [
        (None, default_opts),
        (conductor_group, conductor_opts),
        (worker_group, worker_opts),
    ]:
        key = getattr(group, "name", group)
        by_group.setdefault(key, (group, []))[1].extend(opts)
    return list(by_group.values())
