#!/usr/bin/env python3
"""Regenerate the initial schema migration from ``db/sqlalchemy/models.py``.

Until the first release the schema is one migration, ``0001``, written by
alembic's autogenerate from the models; run this after changing a model.
``tests/db/test_migration.py`` fails when the models and the migrated
schema differ, so a forgotten run cannot go unnoticed.  After a release,
add new revisions with ``alembic revision --autogenerate`` instead.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
VERSIONS = ROOT / "db" / "sqlalchemy" / "migrations" / "versions"
TARGET = VERSIONS / "0001_initial_schema.py"
MESSAGE = "Initial schema: the 49 tables of the database API"


def main() -> int:
    """Write a fresh 0001 migration and format it."""
    sys.path.insert(0, str(ROOT))
    from alembic import command

    import db
    from db import migration
    from db.sqlalchemy import _session

    TARGET.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db.configure(sql_connection=f"sqlite:///{tmp}/gen.sqlite")
        with _session.get_engine().begin() as connection:
            command.revision(
                migration._config(connection),
                message=MESSAGE,
                autogenerate=True,
                rev_id="0001",
            )
        _session.dispose()
    made = next(VERSIONS.glob("0001_*.py"))
    text = made.read_text()
    text = text.replace("db.sqlalchemy.types.UTCDateTime()", "sa.DateTime()")
    text = "\n".join(
        line for line in text.splitlines() if "# ###" not in line
    )
    text = text.replace("Revises: \n", "Revises: none\n")
    made.unlink()
    TARGET.write_text(text + "\n")
    ruff = [sys.executable, "-m", "ruff"]
    subprocess.run([*ruff, "format", "-q", str(TARGET)], check=True)
    subprocess.run([*ruff, "check", "-q", "--fix", str(TARGET)], check=True)
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
