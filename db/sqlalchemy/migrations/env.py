"""Alembic environment: runs migrations on the backend's engine."""

from alembic import context

from db.sqlalchemy import models

config = context.config
target_metadata = models.Base.metadata


def run_migrations() -> None:
    """Run the migrations on the connection handed in by db.migration."""
    connection = config.attributes.get("connection")
    if connection is None:
        from db.sqlalchemy import _session

        with _session.get_engine().begin() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
