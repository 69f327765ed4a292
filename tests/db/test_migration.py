"""The migrated schema is exactly what the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from db import migration
from db.sqlalchemy import _session, models


def test_models_and_migrations_agree(database):
    with _session.get_engine().connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": False}
        )
        diff = compare_metadata(context, models.Base.metadata)
    assert diff == [], "run tools/gen_migration.py"


def test_version_is_the_newest(database):
    assert migration.db_version() == migration.head_version() == "0001"


def test_every_table_exists(database):
    names = set(models.Base.metadata.tables)
    assert len(names) == 49
    from sqlalchemy import inspect

    assert names <= set(inspect(_session.get_engine()).get_table_names())
