#!/usr/bin/env python3
"""Side-by-side benchmark: one db call, directly and over both carriers.

Usage::

    .venv/bin/python bench/rpc_bench.py [--url AMQP_URL] [--seconds 8]
                                        [--threads 1] [--call NAME]

The same call (by default ``instance_info_cache_get``, a lookup of one
row by indexed instance uuid on SQLite; ``--call instance_get_by_uuid``
reads a whole instance with its relationships) runs three ways in one
run:

* ``direct``: the ``db`` function in this process;
* ``kombu``:  through ``conductor.rpcapi`` to a conductor daemon (one
  worker process, one thread) on the default kombu driver;
* ``oslo``:   the same, with ``[conductor] driver = oslo``.

For each it prints calls/s, p50 and p99 latency, and the CPU time per
call of this process (the client) and of the conductor, then the ratios.
The broker: ``--url``, else ``$DBC_BENCH_RABBIT_URL`` or
``$DBC_TEST_RABBIT_URL``, else the ``transport_url`` default if it
answers, else a private RabbitMQ started on loopback for the run.  Every
phase is bounded; the whole run takes well under a minute (plus about
10 s to start a private broker).  This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import db  # noqa: E402
from conductor import _broker, _client, _url, opts, rpcapi  # noqa: E402
from conductor.exception import RPCError  # noqa: E402
from db import context as context_mod  # noqa: E402
from db import migration  # noqa: E402

CLOCK_TICK = os.sysconf("SC_CLK_TCK")
#: The calls --call can pick; each takes the instance uuid.
CALLS = ("instance_info_cache_get", "instance_get_by_uuid",
         "get_ec2_instance_id_by_uuid")


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid``."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)
    values = fields[1].split()
    return (int(values[11]) + int(values[12])) / CLOCK_TICK


def _measure(
    call: Callable[[], object], seconds: float, threads: int,
    server_pid: int | None,
) -> dict[str, float]:
    """Run ``call`` in ``threads`` threads for ``seconds``."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    stop = time.monotonic() + seconds

    def loop(out: list[float]) -> None:
        while time.monotonic() < stop:
            started = time.perf_counter()
            call()
            out.append(time.perf_counter() - started)

    client_before = sum(os.times()[:2])
    server_before = _process_cpu(server_pid) if server_pid else 0.0
    started = time.monotonic()
    workers = [threading.Thread(target=loop, args=(out,))
               for out in latencies]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(seconds + 30)
    elapsed = time.monotonic() - started
    client_cpu = sum(os.times()[:2]) - client_before
    server_cpu = (
        _process_cpu(server_pid) - server_before if server_pid else 0.0
    )

    every = sorted(x for out in latencies for x in out)
    count = len(every)
    return {
        "calls": count,
        "rate": count / elapsed,
        "p50": statistics.median(every) * 1000,
        "p99": every[min(count - 1, int(count * 0.99))] * 1000,
        "client_us": client_cpu / count * 1e6,
        "server_us": server_cpu / count * 1e6 if server_pid else 0.0,
    }


def _prepare_database(state: pathlib.Path) -> tuple[str, str]:
    database = f"sqlite:///{state / 'bench.sqlite'}"
    db.configure(sql_connection=database, db_backend="sqlalchemy")
    migration.db_sync()
    inst = db.instance_create(
        context_mod.get_admin_context(),
        {"host": "bench", "display_name": "bench", "project_id": "p",
         "user_id": "u", "vm_state": "active", "memory_mb": 512,
         "vcpus": 1},
    )
    return database, inst["uuid"]


@contextlib.contextmanager
def _conductor(
    state: pathlib.Path, database: str, url: str, driver: str
) -> Iterator[tuple[int, str]]:
    """Run a conductor daemon on ``driver``; yield (pid, topic)."""
    topic = f"bench-{driver}-{os.getpid()}"
    conf = state / f"conductor-{driver}.conf"
    conf.write_text(textwrap.dedent(f"""\
        [DEFAULT]
        transport_url = {url}
        sql_connection = {database}

        [conductor]
        topic = {topic}
        driver = {driver}
        workers = 1
        worker_threads = 1

        [database]
        slow_query_warning = 0
        """))
    with open(state / f"conductor-{driver}.log", "wb") as log:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "conductor.cmd", "--config-file",
             str(conf)],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
    try:
        yield daemon.pid, topic
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


def _wait_until_served(call: Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            call()
            return
        except RPCError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _remote(
    args: argparse.Namespace, state: pathlib.Path, database: str,
    url: str, driver: str, uuid: str,
) -> dict[str, float]:
    ctx = context_mod.get_admin_context()
    function = getattr(rpcapi, args.call)
    with _conductor(state, database, url, driver) as (pid, topic):
        _client.configure(
            transport_url=url, topic=topic, timeout=5.0, driver=driver
        )

        def call() -> object:
            return function(ctx, uuid)

        try:
            _wait_until_served(call, 30.0)
            _measure(call, 1.0, args.threads, pid)
            return _measure(call, args.seconds, args.threads, pid)
        finally:
            _client.close()


@contextlib.contextmanager
def _broker_url(
    given: str | None, state: pathlib.Path
) -> Iterator[str]:
    candidates = [
        given, os.environ.get("DBC_BENCH_RABBIT_URL"),
        os.environ.get("DBC_TEST_RABBIT_URL"), opts.CONF.transport_url,
    ]
    for url in filter(None, candidates):
        if _broker.probe(url) is None:
            print(f"broker: {_url.parse(url).masked()}")
            yield url
            return
    if not _broker.PrivateBroker.available():
        raise SystemExit("no RabbitMQ answers and rabbitmq-server is not "
                         "installed; pass --url")
    broker = _broker.PrivateBroker(state / "rabbitmq")
    print("broker: starting a private RabbitMQ on 127.0.0.1 ...")
    try:
        yield broker.start()
    finally:
        broker.stop()


def _table(results: dict[str, dict[str, float]]) -> None:
    print()
    print(f"{'variant':<8} {'calls':>7} {'calls/s':>9} {'p50 ms':>8} "
          f"{'p99 ms':>8} {'client us/call':>15} {'server us/call':>15}")
    for name, r in results.items():
        server = f"{r['server_us']:15.0f}" if r["server_us"] else (
            f"{'-':>15}"
        )
        print(f"{name:<8} {r['calls']:>7.0f} {r['rate']:>9.0f} "
              f"{r['p50']:>8.3f} {r['p99']:>8.3f} {r['client_us']:>15.0f} "
              f"{server}")
    kombu, oslo, direct = results["kombu"], results["oslo"], results["direct"]
    print()
    print(f"kombu / oslo   calls/s {kombu['rate'] / oslo['rate']:.2f}x   "
          f"p50 {oslo['p50'] / kombu['p50']:.2f}x lower   client CPU "
          f"{oslo['client_us'] / kombu['client_us']:.2f}x less   server "
          f"CPU {oslo['server_us'] / kombu['server_us']:.2f}x less")
    print(f"direct / kombu calls/s {direct['rate'] / kombu['rate']:.2f}x")
    print(f"direct / oslo  calls/s {direct['rate'] / oslo['rate']:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="AMQP URL of the broker to use")
    parser.add_argument("--seconds", type=float, default=8.0,
                        help="measured seconds per variant (default 8)")
    parser.add_argument("--threads", type=int, default=1,
                        help="client threads (default 1)")
    parser.add_argument("--call", choices=CALLS, default=CALLS[0],
                        help="the db function to call (default %(default)s)")
    args = parser.parse_args(argv)

    state = pathlib.Path(tempfile.mkdtemp(prefix="rpc-bench-"))
    database, uuid = _prepare_database(state)
    print(f"call: {args.call} on SQLite, {args.threads} client "
          f"thread(s), {args.seconds:.0f}s per variant")
    results = {}
    ctx = context_mod.get_admin_context()
    function = getattr(db, args.call)
    direct = lambda: function(ctx, uuid)  # noqa: E731
    _measure(direct, 1.0, args.threads, None)
    results["direct"] = _measure(direct, args.seconds, args.threads, None)
    with _broker_url(args.url, state) as url:
        for driver in ("kombu", "oslo"):
            results[driver] = _remote(args, state, database, url, driver,
                                      uuid)
    _table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
