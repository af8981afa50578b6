"""A throwaway real PostgreSQL server for the store tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _pg_bin() -> Path:
    for candidate in PG_BIN_CANDIDATES:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    pytest.fail("PostgreSQL server binaries not found under /usr/lib/postgresql: "
                "install Debian's `postgresql` package (scripts/system_deps.sh does).")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Start PostgreSQL in a temporary folder; yield a database URL; stop it."""
    bin_dir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="pgtest-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    if as_root:
        # PostgreSQL refuses to run as root: run it as the `postgres` system user.
        if shutil.which("runuser") is None:
            pytest.fail("running as root needs `runuser` to start PostgreSQL as `postgres`")
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    log = root / "server.log"

    def run(*args: str) -> None:
        result = subprocess.run([*prefix, *args], capture_output=True, text=True)  # noqa: S603
        if result.returncode != 0:
            pytest.fail(f"{args[0]} failed: {result.stderr or result.stdout}")

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
        "--no-sync", "-E", "UTF8")
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
            "reports")
        yield f"postgresql://postgres@127.0.0.1:{port}/reports"
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast",  # noqa: S603
                        "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
