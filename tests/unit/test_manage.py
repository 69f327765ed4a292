"""``conductor-manage`` as an operator runs it."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def manage(tmp_path, *args):
    config = tmp_path / "conductor.conf"
    config.write_text(
        "[DEFAULT]\n"
        f"sql_connection = sqlite:///{tmp_path / 'db.sqlite'}\n"
    )
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "bin" / "conductor-manage"),
            "--config-file",
            str(config),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_db_version_sync_version(tmp_path):
    before = manage(tmp_path, "db", "version")
    assert before.returncode == 0, before.stderr
    assert before.stdout.strip() == "None"

    sync = manage(tmp_path, "db", "sync")
    assert sync.returncode == 0, sync.stderr
    assert "0001" in sync.stdout

    after = manage(tmp_path, "db", "version")
    assert after.stdout.strip() == "0001"


def test_unknown_version_is_a_one_line_error(tmp_path):
    result = manage(tmp_path, "db", "sync", "--version", "9999")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == (
        "conductor-manage: Invalid input received: unknown schema version "
        "'9999'"
    )


def test_unknown_command_is_a_usage_error(tmp_path):
    result = manage(tmp_path, "db", "frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_password_never_logged(tmp_path):
    config = tmp_path / "conductor.conf"
    config.write_text(
        "[DEFAULT]\n"
        "sql_connection = postgresql+psycopg://u:s3cret@127.0.0.1:1/x\n"
        "[database]\nmax_retries = 0\n"
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "conductor-manage"),
         "--config-file", str(config), "db", "version"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "s3cret" not in result.stderr + result.stdout
    assert "Database connection failed" in result.stderr
