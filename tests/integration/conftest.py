"""A real, throwaway PostgreSQL 15 server for the integration tests.

The server is started once per test session: `initdb` into a temporary folder,
`pg_ctl start` on a free port, listening on 127.0.0.1 only, with its unix socket
in the same temporary folder. When the tests run as root, PostgreSQL (which
refuses to run as root) is run as the `postgres` system user via `runuser`.
If the server cannot be started, every test that needs it FAILS with the reason
and the end of the server log; it is never skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

PG_MAJOR = "15"
PG_BIN_DIRS = (Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin"),
               *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))
START_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway PostgreSQL server (superuser `postgres`, trust auth on 127.0.0.1)."""

    host: str
    port: int
    user: str
    version: str

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


def _pg_bin() -> Path:
    for candidate in PG_BIN_DIRS:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    pytest.fail(
        "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql: "
        "install Debian's `postgresql` package (scripts/system_deps.sh does).",
        pytrace=False,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start a throwaway PostgreSQL server for the session; stop it and delete it at the end."""
    bin_dir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="pgtest-"))
    data, sockets, log = root / "data", root / "sockets", root / "server.log"
    sockets.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: run it as the `postgres` system user.
        if shutil.which("runuser") is None:
            pytest.fail("Running as root needs `runuser` to start PostgreSQL as `postgres`.",
                        pytrace=False)
        try:
            for path in (root, sockets):
                shutil.chown(path, "postgres", "postgres")
        except LookupError:
            pytest.fail("Running as root needs a `postgres` system user to start PostgreSQL "
                        "(Debian's postgresql package creates it).", pytrace=False)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    started = False

    def run(*args: str) -> str:
        try:
            result = subprocess.run([*prefix, *args], capture_output=True, text=True,
                                    timeout=START_TIMEOUT_SECONDS + 30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.fail(f"Could not run {Path(args[0]).name}: {exc}", pytrace=False)
        if result.returncode != 0:
            pytest.fail(
                f"PostgreSQL could not be started: {Path(args[0]).name} exited with "
                f"{result.returncode}.\n{result.stderr or result.stdout}\n"
                f"--- server log ---\n{_tail(log)}",
                pytrace=False,
            )
        return result.stdout

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--locale=C", "--no-sync")
        # fsync off only speeds up the throwaway cluster; the store's durability
        # comes from committing before returning, which the tests check.
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
            "-t", str(START_TIMEOUT_SECONDS),
            "-o", f"-p {port} -k '{sockets}' -c listen_addresses=127.0.0.1 -c fsync=off",
            "start")
        started = True
        version = run(str(bin_dir / "postgres"), "--version").strip()
        server = PostgresServer(host="127.0.0.1", port=port, user="postgres", version=version)
        try:
            server._admin().close()
        except psycopg2.Error as exc:
            pytest.fail(f"PostgreSQL started but refuses connections on 127.0.0.1:{port}: "
                        f"{exc}\n--- server log ---\n{_tail(log)}", pytrace=False)
        yield server
    finally:
        if started:
            subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast",
                            "-w", "stop"], capture_output=True, timeout=60, check=False)
        shutil.rmtree(root, ignore_errors=True)


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
