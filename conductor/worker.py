"""``compute-worker``: a small program that acts like a compute node.

Usage::

    compute-worker [--config-file F] [--host NAME] [--instances N]
                   [--duration SECONDS] [--debug]

It holds no database credentials: it sets ``db_backend = conductor`` and
forbids any database engine in this process, then uses the ``db`` API
exactly as compute code would, every call going through the conductor.
It waits for a conductor to answer, registers (or finds) its service,
heartbeats with ``service_update`` every ``[compute_worker]
report_interval`` seconds (each beat with a timeout below the service-down
time), creates ``--instances`` instances, moves each from *building* to
*active* with a guarded update, reads them back, and prints what it did.
Exit status 0 when every step checked out.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from oslo_config import cfg

import db
from conductor import _client, _logging, cmd, opts
from conductor import exception as rpc_exception
from db import context as context_mod
from db import exception
from db.sqlalchemy import _session

LOG = logging.getLogger(__name__)
CONF = opts.CONF

BINARY = "nova-compute"
TOPIC = "compute"

worker_cli_opts = [
    cfg.StrOpt("host", help="Host name to register (default: the "
               "[compute_worker] host option)."),
    cfg.IntOpt("instances", default=3, min=0,
               help="Instances to create and update."),
    cfg.FloatOpt("duration", default=0.0, min=0,
                 help="Seconds to keep heartbeating after the instance "
                 "work (at least one heartbeat is always sent)."),
    cfg.FloatOpt("startup-timeout", default=60.0, min=0,
                 help="Seconds to wait for a conductor to answer."),
]


@dataclasses.dataclass
class Summary:
    """What a worker did, and whether it all checked out."""

    host: str
    service_id: int | None = None
    heartbeats: int = 0
    heartbeat_errors: int = 0
    created: int = 0
    updated: int = 0
    verified: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.heartbeats > 0

    def line(self) -> str:
        status = "ok" if self.ok else "FAILED: " + "; ".join(self.problems)
        return (
            f"[{self.host}] service {self.service_id}: "
            f"{self.heartbeats} heartbeats, {self.created} instances "
            f"created, {self.updated} updated, {self.verified} verified "
            f"-> {status}"
        )


def _admin() -> context_mod.RequestContext:
    """A fresh admin context: each call gets a request id of its own."""
    return context_mod.get_admin_context()


class ComputeWorker:
    """The work of one compute node, done through ``api`` (``db``)."""

    def __init__(
        self,
        host: str,
        instances: int = 3,
        report_interval: float = 10.0,
        report_timeout: float = 5.0,
        api: Any = db,
        out: Callable[[str], None] = print,
    ) -> None:
        self.api = api
        self.out = out
        self.instances = instances
        self.report_interval = report_interval
        self.report_timeout = report_timeout
        self.summary = Summary(host)
        self._stop = threading.Event()

    @property
    def host(self) -> str:
        return self.summary.host

    def run(
        self, duration: float = 0.0, startup_timeout: float = 60.0
    ) -> Summary:
        """Do the whole round of work and return the :class:`Summary`."""
        service = self.wait_for_conductor(startup_timeout)
        service = service or self.register()
        self.summary.service_id = service["id"]
        beats = threading.Thread(
            target=self._heartbeat_loop, name=f"heartbeat-{self.host}",
            daemon=True,
        )
        beats.start()
        try:
            for index in range(self.instances):
                self.boot(index)
            self._stop.wait(duration)
        finally:
            self._stop.set()
            beats.join()
        self.heartbeat()
        self.out(self.summary.line())
        return self.summary

    def wait_for_conductor(self, timeout: float) -> Any:
        """Return this host's service row (or None) once a conductor
        answers; retry with back-off while none does."""
        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            try:
                return self.api.service_get_by_args(
                    _admin(), self.host, BINARY
                )
            except exception.HostBinaryNotFound:
                return None
            except (rpc_exception.NoConductor,
                    rpc_exception.MessagingTimeout) as exc:
                if time.monotonic() + delay > deadline:
                    raise
                LOG.info("Waiting for a conductor: %s", exc)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def register(self) -> Any:
        """Create this host's service row."""
        service = self.api.service_create(
            _admin(),
            {"host": self.host, "binary": BINARY, "topic": TOPIC,
             "report_count": 0},
        )
        self.out(f"[{self.host}] registered service {service['id']}")
        return service

    def heartbeat(self) -> None:
        """Bump ``report_count`` (one beat), within ``report_timeout``."""
        try:
            with _client.call_timeout(self.report_timeout):
                row = self.api.service_update(
                    _admin(), self.summary.service_id,
                    {"report_count": self.summary.heartbeats + 1},
                )
        except exception.DBConductorError as exc:
            self.summary.heartbeat_errors += 1
            LOG.warning("Heartbeat of %s failed: %s", self.host, exc)
            return
        self.summary.heartbeats = row["report_count"]

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.report_interval):
            self.heartbeat()

    def boot(self, index: int) -> None:
        """Create one instance, make it active, and read it back."""
        try:
            uuid = self._create(index)
            launched = self._activate(uuid)
            self._verify(uuid, launched)
        except exception.DBConductorError as exc:
            self.summary.problems.append(
                f"instance {index}: {type(exc).__name__}: {exc}"
            )

    def _create(self, index: int) -> str:
        inst = self.api.instance_create(
            _admin(),
            {"host": self.host, "display_name": f"{self.host}-vm{index}",
             "project_id": "demo-project", "user_id": "demo-user",
             "vm_state": "building", "task_state": "spawning",
             "power_state": 0, "memory_mb": 512, "vcpus": 1},
        )
        self.summary.created += 1
        self.out(
            f"[{self.host}] created instance {inst['uuid']} "
            f"({inst['display_name']}, {inst['vm_state']})"
        )
        return inst["uuid"]

    def _activate(self, uuid: str) -> datetime.datetime:
        launched = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        old, new = self.api.instance_update_and_get_original(
            _admin(), uuid,
            {"vm_state": "active", "task_state": None, "power_state": 1,
             "launched_at": launched, "expected_task_state": "spawning"},
        )
        self.summary.updated += 1
        self.out(
            f"[{self.host}] updated {uuid}: {old['vm_state']} -> "
            f"{new['vm_state']}"
        )
        return launched

    def _verify(self, uuid: str, launched: datetime.datetime) -> None:
        inst = self.api.instance_get_by_uuid(_admin(), uuid)
        if inst["vm_state"] != "active" or inst["launched_at"] != launched:
            self.summary.problems.append(
                f"{uuid} read back as {inst['vm_state']} launched at "
                f"{inst['launched_at']!r}"
            )
            return
        self.summary.verified += 1
        self.out(
            f"[{self.host}] read back {uuid}: {inst['vm_state']}, "
            f"launched {inst['launched_at'].isoformat()}"
        )


def become_compute_node(binary: str = "compute-worker") -> None:
    """Route ``db`` through the conductor and forbid any engine here."""
    CONF.set_override("db_backend", "conductor")
    db.api.IMPL.reset()
    _session.forbid(binary)


def main(argv: list[str] | None = None) -> int:
    """Run one compute worker; return the exit status."""
    for opt in worker_cli_opts:
        CONF.register_cli_opt(opt)
    cmd.parse_args(argv, "compute-worker")
    _logging.setup(debug=CONF.debug, verbose=False)
    become_compute_node()

    group = CONF.compute_worker
    worker = ComputeWorker(
        CONF.host or group.host,
        instances=CONF.instances,
        report_interval=group.report_interval,
        report_timeout=group.report_timeout,
    )
    try:
        summary = worker.run(CONF.duration, CONF.startup_timeout)
    except exception.DBConductorError as exc:
        print(f"[{worker.host}] FAILED: {type(exc).__name__}: {exc}")
        return 1
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
