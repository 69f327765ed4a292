"""The main job: conductor-demo runs a conductor and compute workers."""

import os
import pathlib
import subprocess
import sys

from tests.conftest import RABBIT_URL, require_server

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_demo(tmp_path, *args):
    return subprocess.run(
        [sys.executable, str(ROOT / "bin" / "conductor-demo"),
         "--state-dir", str(tmp_path), "--workers", "2", "--instances", "2",
         "--duration", "1", *args],
        capture_output=True, text=True, timeout=180, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )


def check_output(result, workers=2, instances=2):
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for n in range(1, workers + 1):
        assert f"[compute-{n}] service" in out
    assert out.count("-> ok") == workers
    assert out.count("read back") == workers * instances
    assert f"holds {workers} services" in out
    assert "Traceback" not in out + result.stderr
    assert "WARNING" not in out


def test_demo_with_processes_on_rabbitmq(tmp_path):
    url = require_server("RabbitMQ", RABBIT_URL)

    result = run_demo(tmp_path, "--transport-url", url)

    check_output(result)
    assert "Conductor daemon exited with status 0" in result.stdout
    assert "(no database access)" in result.stdout
    compute_conf = (tmp_path / "compute.conf").read_text()
    assert "db_backend = conductor" in compute_conf
    assert "sql_connection" not in compute_conf


def test_demo_in_one_process_on_memory(tmp_path):
    result = run_demo(tmp_path, "--transport-url", "memory://")

    check_output(result)
    assert "in this process" in result.stdout
