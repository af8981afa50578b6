"""A real, throwaway PostgreSQL 15 server for the integration tests.

The server is started once per test session: `initdb` into a temporary folder,
`pg_ctl start` on a free port, listening on 127.0.0.1 only, with its unix socket
in the same temporary folder. When the tests run as root, PostgreSQL (which
refuses to run as root) is run as the `postgres` system user via `runuser`.
If the server cannot be started, every test that needs it FAILS with the reason
and the end of the server log; it is never skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg2
import pytest

from scripts.local_services import LocalPostgres, ServiceError, tail


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway PostgreSQL server (superuser `postgres`, trust auth on 127.0.0.1)."""

    host: str
    port: int
    user: str
    version: str
    local: LocalPostgres | None = None  # restart() for the fault tests

    def url(self, database: str) -> str:
        """A SQLAlchemy URL for a database of this server."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def _admin(self) -> psycopg2.extensions.connection:
        connection = psycopg2.connect(host=self.host, port=self.port, user=self.user,
                                      dbname="postgres", connect_timeout=10)
        connection.autocommit = True
        return connection

    def create_database(self, prefix: str = "test") -> str:
        """Create an empty database; return its name."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        connection = self._admin()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting anyone still using it."""
        connection = self._admin()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            connection.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start a throwaway PostgreSQL server for the session; stop it and delete it at the end."""
    # fsync off only speeds up the throwaway cluster; the store's durability
    # comes from committing before returning, which the tests check.
    local = LocalPostgres(fsync=False)
    try:
        try:
            local.start()
            server = PostgresServer(host="127.0.0.1", port=local.port, user="postgres",
                                    version=local.version(), local=local)
            server._admin().close()
        except ServiceError as exc:
            pytest.fail(str(exc), pytrace=False)
        except psycopg2.Error as exc:
            pytest.fail(f"PostgreSQL started but refuses connections on 127.0.0.1:{local.port}: "
                        f"{exc}\n--- server log ---\n{tail(local.log)}", pytrace=False)
        yield server
    finally:
        local.remove()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a database created on the session's throwaway PostgreSQL server."""
    name = postgres_server.create_database("reports")
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture
def fresh_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new empty database for one test (dropped afterwards, even if still connected)."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)
