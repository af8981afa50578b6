"""Alembic environment: runs migrations against the URL set by bot.store.db."""

from __future__ import annotations

import logging

from alembic import context

from bot.store.db import make_engine
from bot.store.models import Base

logger = logging.getLogger(__name__)

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run the migrations with a live connection."""
    url = config.get_main_option("sqlalchemy.url")
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
