"""Database engines, sessions and migrations for the report store.

Nothing is created at import time: call `make_engine(url)` / `migrate(url)`.

SQLite (the embedded default, `var/reports.db`) runs in WAL mode with
`synchronous=FULL`, so a committed report survives a crash or power loss, and
with foreign keys enforced. Write transactions start with `BEGIN IMMEDIATE`
(see `writer()`), which serialises writers up front instead of failing halfway.
PostgreSQL is used when DATABASE_URL says so (e.g.
`postgresql://user:password@host:5432/reports`).

Migrations are Alembic scripts in `bot/store/migrations/`, run in code by
`migrate(url)` with a `Config` built here: no alembic.ini is needed. Concurrent
starts are safe (a PostgreSQL advisory lock, or SQLite's write lock, is held
while migrating). Without an alembic.ini, the usual commands are run from Python::

    .venv/bin/python -c "from bot.store.db import migrate; migrate('sqlite:///var/reports.db')"

    # A new migration after changing models.py: autogenerate a draft from a
    # database that is at head, then review it by hand (and keep the next number).
    .venv/bin/python -c "
    from alembic import command; from bot.store.db import alembic_config
    command.revision(alembic_config('sqlite:///var/reports.db'), autogenerate=True,
                     rev_id='0002', message='describe the change')"

    # Current revision, history, downgrade:
    .venv/bin/python -c "
    from alembic import command; from bot.store.db import alembic_config
    command.current(alembic_config('sqlite:///var/reports.db'), verbose=True)"

`tests/integration/test_store.py` checks on SQLite and PostgreSQL that the
migrated schema equals the models, so a forgotten migration fails the tests.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_SECONDS = 30
POSTGRES_CONNECT_TIMEOUT_SECONDS = 10
# Execution option asking SQLite for BEGIN IMMEDIATE (ignored by other databases).
IMMEDIATE = "lapor_begin_immediate"
# Arbitrary constant identifying this project's migration lock in pg_advisory_xact_lock.
_MIGRATION_LOCK_ID = 0x4C50_5354  # "LPST"


def is_sqlite(database_url: str) -> bool:
    """True for a SQLite URL."""
    return make_url(database_url).get_backend_name() == "sqlite"


def make_engine(database_url: str, **options: Any) -> Engine:
    """An engine for the URL; creates the SQLite file's folder (e.g. var/) when needed."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        connect_args: dict[str, Any] = {}
        if url.get_backend_name() == "postgresql":
            connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_SECONDS
        return create_engine(url, future=True, pool_pre_ping=True,
                             connect_args=connect_args, **options)

    in_memory = url.database in (None, "", ":memory:")
    if not in_memory:
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    if in_memory:
        options.setdefault("poolclass", StaticPool)
    engine = create_engine(
        url, future=True,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        **options,
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy (the "begin" listener) emit BEGIN instead of pysqlite, which
    # would start transactions late and never for SELECTs.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        mode = switch_to_wal(cursor)
        if str(mode).lower() not in ("wal", "memory"):
            logger.warning("SQLite could not switch to WAL mode (journal_mode=%s)", mode)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def switch_to_wal(cursor: Any, attempts: int = 50) -> str:
    """Enable WAL (persistent in the file). Changing the journal mode does not wait
    for other connections' locks, so a first start with several processes retries."""
    mode = str(cursor.execute("PRAGMA journal_mode").fetchone()[0])
    for attempt in range(attempts):
        if mode.lower() in ("wal", "memory"):
            return mode
        try:
            mode = str(cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        except sqlite3.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05)
    return mode


def _sqlite_on_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def writer(engine: Engine) -> Engine:
    """The same engine (same pool) whose transactions take SQLite's write lock at BEGIN."""
    return engine.execution_options(**{IMMEDIATE: True})


def make_session_factory(engine: Engine) -> sessionmaker:
    """A factory of 1.4 "future" sessions whose objects stay readable after commit."""
    return sessionmaker(bind=engine, class_=Session, future=True, expire_on_commit=False)


def alembic_config(database_url: str, connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code (no alembic.ini) for this database.

    With `connection`, migrations run on it inside the caller's transaction.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    # ConfigParser interpolation: a literal % (e.g. in a password) must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(database_url: str, engine: Engine | None = None) -> None:
    """Bring the database schema up to the newest migration (safe to call concurrently)."""
    own_engine = engine is None
    active = engine if engine is not None else make_engine(database_url)
    try:
        # One transaction for the lock and every migration: all or nothing.
        with writer(active).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:lock_id)"),
                                   {"lock_id": _MIGRATION_LOCK_ID})
            command.upgrade(alembic_config(database_url, connection), "head")
    finally:
        if own_engine:
            active.dispose()
    logger.info("Report database schema is up to date (%s)", active.dialect.name)
