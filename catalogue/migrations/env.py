"""Alembic's environment: the catalogue's models are the target; the connection comes from
catalogue.migrations (or, for the `alembic` command, from alembic.ini / CATALOGUE_DATABASE_URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

import catalogue.auth.models
import catalogue.events
import catalogue.services.models  # noqa: F401 - registers every table on Base.metadata
from catalogue.config import Config
from catalogue.db import Base


def _configure(**options: object) -> None:
    # Batch mode lets autogenerate write column changes SQLite can apply (by copying the table).
    context.configure(target_metadata=Base.metadata, render_as_batch=True, compare_type=True, **options)  # type: ignore[arg-type]


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    return context.config.get_main_option("sqlalchemy.url") or Config.from_env().database_url


if context.is_offline_mode():  # `alembic upgrade head --sql`: print the SQL for a DBA to review
    _configure(url=_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := context.config.attributes.get("connection")) is not None:
    _run(given)
else:
    engine = create_engine(_url())
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()
