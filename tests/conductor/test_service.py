"""ConductorService in-process, the daemon and its signals, and the
compute side's refusal to touch a database."""

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest

from conductor import _client, rpcapi
from conductor.service import ConductorService
from tests.conductor.conftest import make_backend
from tests.conftest import RABBIT_URL, require_server

ROOT = pathlib.Path(__file__).resolve().parents[2]


def topic():
    return f"test-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def test_stop_drains_the_calls_in_flight(ctx):
    started, release = threading.Event(), threading.Event()

    def service_get(context, service_id):
        started.set()
        release.wait(5)
        return "finished"

    name = topic()
    service = ConductorService(
        "memory://", name, workers=1, threads=2,
        backend=make_backend(service_get=service_get),
    )
    service.start()
    _client.configure(transport_url="memory://", topic=name, timeout=10)
    result = {}
    caller = threading.Thread(
        target=lambda: result.update(value=rpcapi.service_get(ctx, 1))
    )
    caller.start()
    assert started.wait(5)

    stopper = threading.Thread(target=lambda: result.update(
        clean=service.stop(timeout=5)
    ))
    stopper.start()
    time.sleep(0.2)
    assert service.in_flight == 1 and stopper.is_alive()
    release.set()
    stopper.join(10)
    caller.join(10)
    _client.close()

    assert result == {"value": "finished", "clean": True}
    assert service.wait(0)


def test_memory_transport_always_serves_in_process():
    service = ConductorService("memory://", topic(), workers=4,
                               backend=make_backend())

    assert service.workers == 1 and service.in_process


def _run(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
        capture_output=True, text=True, timeout=timeout,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )


def test_a_compute_node_cannot_open_a_database():
    """With db_backend = conductor the facade uses the proxy, and any
    attempt to make an engine raises DBNotAllowed (in a subprocess: the
    switch is process-wide)."""
    result = _run("""
        import db
        import db.sqlalchemy.api
        from conductor import _client, rpcapi
        from conductor.service import ConductorService
        from conductor.worker import become_compute_node
        from db import context, exception
        from db.sqlalchemy import _session
        from tests.conductor.conftest import make_backend

        backend = make_backend(
            service_get=lambda context, service_id: ("remote", service_id))
        ConductorService("memory://", "t", workers=1,
                         backend=backend).start()
        _client.configure(transport_url="memory://", topic="t", timeout=5)
        become_compute_node("compute-worker")

        ctx = context.get_admin_context()
        print(db.service_get(ctx, 7))
        for attempt in (_session.get_engine,
                        lambda: db.sqlalchemy.api.service_get(ctx, 7)):
            try:
                attempt()
            except exception.DBNotAllowed as exc:
                print("refused:", exc)
        """)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "('remote', 7)"
    assert lines[1:] == [
        "refused: compute-worker attempted direct database access which "
        "is not allowed by policy"
    ] * 2


def test_db_backend_conductor_alone_refuses_an_engine():
    result = _run("""
        import db
        from db import exception
        from db.sqlalchemy import _session

        db.configure(db_backend="conductor")
        try:
            _session.get_engine()
        except exception.DBNotAllowed as exc:
            print("refused")
        """)

    assert result.stdout.strip() == "refused", result.stderr


def _write_conf(tmp_path, url, workers=1):
    conf = tmp_path / "conductor.conf"
    conf.write_text(textwrap.dedent(f"""\
        [DEFAULT]
        transport_url = {url}
        sql_connection = sqlite:///{tmp_path}/db.sqlite

        [conductor]
        topic = {topic()}
        workers = {workers}
        """))
    return conf


def _daemon(tmp_path, url, workers=1, conf=None):
    conf = conf or _write_conf(tmp_path, url, workers)
    return subprocess.Popen(
        [sys.executable, str(ROOT / "bin" / "conductor"),
         "--config-file", str(conf)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=ROOT,
    ), conf


def _wait_for(process, text, timeout=30.0):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return seen
    process.kill()
    pytest.fail(f"{text!r} not logged:\n{''.join(seen)}")


def test_sigterm_stops_the_daemon_cleanly(tmp_path):
    process, _ = _daemon(tmp_path, "memory://")
    _wait_for(process, "consuming topic")

    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)

    assert process.returncode == 0, output
    assert "Shutdown requested (SIGTERM)" in output
    assert "Conductor stopped cleanly" in output


def test_a_second_signal_exits_at_once(tmp_path):
    process, _ = _daemon(tmp_path, "memory://")
    _wait_for(process, "consuming topic")

    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)

    # Both arrive before the first is handled, in either order.
    assert process.returncode in (128 + signal.SIGINT,
                                  128 + signal.SIGTERM), output
    assert "exiting immediately" in output
    assert "Conductor stopped cleanly" not in output


def test_the_daemon_with_worker_processes_serves_and_stops(tmp_path, ctx):
    url = require_server("RabbitMQ", RABBIT_URL)
    conf = _write_conf(tmp_path, url, workers=2)
    subprocess.run(
        [sys.executable, str(ROOT / "bin" / "conductor-manage"),
         "--config-file", str(conf), "db", "sync"],
        check=True, capture_output=True, timeout=60,
    )
    process, _ = _daemon(tmp_path, url, conf=conf)
    name = conf.read_text().split("topic = ")[1].split()[0]
    try:
        _wait_for(process, "Started worker 1")
        _client.configure(transport_url=url, topic=name, timeout=30)
        made = _retry_first_call(lambda: rpcapi.service_create(
            ctx, {"host": "h", "binary": "nova-compute", "topic": "compute"}
        ))
        assert rpcapi.service_get(ctx, made["id"])["host"] == "h"
    finally:
        _client.close()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)

    assert process.returncode == 0, output
    assert output.count("Conductor stopped cleanly") == 3


def _retry_first_call(call, timeout=30.0):
    from conductor.exception import NoConductor

    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except NoConductor:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
