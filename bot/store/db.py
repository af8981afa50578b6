"""Database engines and migrations for the report store.

SQLite (the embedded default, under var/) runs in WAL mode with
synchronous=FULL so a committed report survives a crash; PostgreSQL is used when
DATABASE_URL says so. Migrations are Alembic scripts in bot/store/migrations,
run in code by `migrate(url)`; no alembic.ini is needed. To write a new one:
change models.py, then add a script to migrations/versions/ with the next
revision number (tests compare the migrated schema with the models).
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(database_url: str) -> Engine:
    """An engine for the URL; creates the SQLite file's folder when needed."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(database_url, future=True,
                               connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(database_url, future=True, pool_pre_ping=True)


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration built in code for this database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def migrate(database_url: str) -> None:
    """Bring the database schema up to the newest migration."""
    command.upgrade(alembic_config(database_url), "head")
