"""``conductor-demo``: a conductor and a few compute workers, for real.

Usage::

    conductor-demo [--transport-url URL] [--workers 3] [--instances 3]
                   [--conductor-workers 2] [--state-dir DIR]

Creates an SQLite database in a fresh state directory and brings its
schema up to date (what ``conductor-manage db sync`` does), starts the
``conductor`` daemon on it, then a few ``compute-worker`` processes that
hold no database credentials and do all their work through the proxy:
register a service, heartbeat, create, update and read back instances.
It prints what they did and what the conductor's database holds
afterwards, stops the daemon with SIGTERM, and exits 0 if everything
checked out.  Every wait is bounded.

The broker: the RabbitMQ at ``--transport-url`` (default: the
``transport_url`` option) if one answers; else, if ``rabbitmq-server`` is
installed, a private one started on loopback for this run; else the
conductor and the workers run in this one process on ``memory://``, and
the demo says so.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator

from conductor import _broker, _client, _url, opts
from db import context as context_mod

CONF = opts.CONF
ROOT = pathlib.Path(__file__).resolve().parent.parent
#: Upper bound of the whole run, in seconds.
RUN_TIMEOUT = 120.0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="conductor-demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--transport-url", default=None)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--conductor-workers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=2.5,
                        help="seconds each worker keeps heartbeating")
    parser.add_argument("--state-dir", default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return 0 when every worker checked out."""
    args = _parse(argv)
    state = pathlib.Path(
        args.state_dir or tempfile.mkdtemp(prefix="conductor-demo-")
    )
    state.mkdir(parents=True, exist_ok=True)
    print(f"State directory: {state}")
    database = f"sqlite:///{state / 'conductor.sqlite'}"
    _sync_schema(database)

    with _broker_for(args.transport_url, state) as url:
        if url is None:
            return _run_in_process(args, database)
        return _run_processes(args, state, database, url)


def _sync_schema(database: str) -> None:
    import db
    from db import migration

    db.configure(sql_connection=database, db_backend="sqlalchemy")
    version = migration.db_sync()
    print(f"Database {database}: schema at version {version}")


@contextlib.contextmanager
def _broker_for(
    transport_url: str | None, state: pathlib.Path
) -> Iterator[str | None]:
    """Yield a broker URL that answers, or None for ``memory://``."""
    url = transport_url or CONF.transport_url
    if _url.parse(url).is_memory:
        print("memory:// works inside one process: running the conductor "
              "and the workers in this process")
        yield None
        return
    masked = _url.parse(url).masked()
    problem = _broker.probe(url)
    if problem is None:
        print(f"Using the RabbitMQ at {masked}")
        yield url
        return
    if not _broker.PrivateBroker.available():
        print(
            f"No RabbitMQ answers at {masked} ({problem}) and "
            "rabbitmq-server is not installed: running the conductor and "
            "the workers in this process on memory:// instead"
        )
        yield None
        return
    print(f"No RabbitMQ answers at {masked} ({problem}): starting a "
          "private one on 127.0.0.1 for this run")
    broker = _broker.PrivateBroker(state / "rabbitmq")
    started = time.monotonic()
    try:
        private = broker.start()
        print(f"Private RabbitMQ ready on {_url.parse(private).masked()} "
              f"after {time.monotonic() - started:.1f}s")
        yield private
    finally:
        broker.stop()
        print("Private RabbitMQ stopped")


def _write_configs(
    args: argparse.Namespace, state: pathlib.Path, database: str, url: str,
    topic: str,
) -> tuple[pathlib.Path, pathlib.Path]:
    conductor_conf = state / "conductor.conf"
    conductor_conf.write_text(textwrap.dedent(f"""\
        [DEFAULT]
        transport_url = {url}
        sql_connection = {database}

        [conductor]
        topic = {topic}
        workers = {args.conductor_workers}
        graceful_shutdown_timeout = 10
        """))
    compute_conf = state / "compute.conf"
    compute_conf.write_text(textwrap.dedent(f"""\
        # A compute node: no database credentials at all.
        [DEFAULT]
        transport_url = {url}
        db_backend = conductor

        [conductor]
        topic = {topic}
        rpc_timeout = 20

        [compute_worker]
        report_interval = 1.0
        report_timeout = 3.0
        """))
    return conductor_conf, compute_conf


def _run_processes(
    args: argparse.Namespace, state: pathlib.Path, database: str, url: str
) -> int:
    topic = f"demo-{os.getpid()}"
    conductor_conf, compute_conf = _write_configs(
        args, state, database, url, topic
    )
    log_path = state / "conductor.log"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with open(log_path, "wb") as log:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "conductor.cmd",
             "--config-file", str(conductor_conf)],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    print(f"Started the conductor daemon (pid {daemon.pid}, "
          f"{args.conductor_workers} worker processes, log {log_path})")
    try:
        ok = _run_workers(args, compute_conf, env)
        _print_fleet(url, topic)
    finally:
        status = _stop_daemon(daemon)
    print(f"Conductor daemon exited with status {status}")
    return 0 if ok and status == 0 else 1


def _run_workers(
    args: argparse.Namespace, compute_conf: pathlib.Path, env: dict
) -> bool:
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "conductor.worker",
             "--config-file", str(compute_conf),
             "--host", f"compute-{index + 1}",
             "--instances", str(args.instances),
             "--duration", str(args.duration)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
            text=True,
        )
        for index in range(args.workers)
    ]
    print(f"Started {len(workers)} compute workers (no database access)")
    deadline = time.monotonic() + RUN_TIMEOUT
    ok = True
    for worker in workers:
        try:
            output, _ = worker.communicate(
                timeout=max(1.0, deadline - time.monotonic())
            )
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
            output += "\n(killed: it did not finish in time)"
        for line in output.strip().splitlines():
            print(f"  {line}")
        ok = ok and worker.returncode == 0
    return ok


def _print_fleet(url: str, topic: str) -> None:
    """Ask the conductor, through the proxy, what the fleet looks like."""
    from conductor import rpcapi

    _client.configure(transport_url=url, topic=topic, timeout=20)
    ctx = context_mod.get_admin_context()
    services = rpcapi.service_get_all(ctx)
    print(f"The conductor's database now holds {len(services)} services:")
    for service in services:
        instances = rpcapi.instance_get_all_by_host(ctx, service["host"])
        states = sorted({inst["vm_state"] for inst in instances})
        print(
            f"  {service['host']}: {service['binary']}, report_count "
            f"{service['report_count']}, {len(instances)} instances "
            f"({', '.join(states) or 'none'})"
        )
    _client.close()


def _stop_daemon(daemon: subprocess.Popen) -> int:
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
    try:
        return daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        daemon.kill()
        return daemon.wait()


def _run_in_process(args: argparse.Namespace, database: str) -> int:
    from conductor import rpcapi
    from conductor.service import ConductorService
    from conductor.worker import ComputeWorker

    topic = f"demo-{os.getpid()}"
    service = ConductorService("memory://", topic, workers=1)
    service.start()
    _client.configure(transport_url="memory://", topic=topic, timeout=20)
    workers = [
        ComputeWorker(f"compute-{index + 1}", instances=args.instances,
                      report_interval=1.0, report_timeout=3.0, api=rpcapi,
                      out=lambda line: print(f"  {line}"))
        for index in range(args.workers)
    ]
    threads = [
        threading.Thread(target=w.run, args=(args.duration, 20.0))
        for w in workers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RUN_TIMEOUT)
    _print_fleet("memory://", topic)
    clean = service.stop(timeout=10)
    ok = all(w.summary.ok for w in workers)
    return 0 if ok and clean else 1


if __name__ == "__main__":
    sys.exit(main())
