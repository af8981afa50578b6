"""Alembic environment for the report store (driven by `bot.store.db.migrate`).

`migrate()` passes an open connection (inside its transaction) through
`config.attributes["connection"]`; without one, an engine is made from the
`sqlalchemy.url` option. Offline (`--sql`) mode renders SQL for the URL's dialect.
"""

from __future__ import annotations

import logging

from alembic import context
from sqlalchemy.engine import Connection

from bot.store.db import make_engine
from bot.store.models import Base

logger = logging.getLogger(__name__)

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things: later migrations use batch mode there.
        render_as_batch=connection.dialect.name == "sqlite",
        # SQLite does support transactional DDL: keep each upgrade all-or-nothing.
        transactional_ddl=True,
    )


def run_migrations_online() -> None:
    """Run the migrations on the caller's connection, or on a new engine."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as own_connection:
            _configure(own_connection)
            with context.begin_transaction():
                context.run_migrations()
            if own_connection.in_transaction():
                own_connection.commit()
    finally:
        engine.dispose()


def run_migrations_offline() -> None:
    """Emit the migrations as SQL text instead of running them."""
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True,
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
