"""Start the real action server and Rasa server for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.settings import PROJECT_ROOT
from bot.wait_ready import wait_ready

BIN = PROJECT_ROOT / ".venv" / "bin"


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Assistant:
    """A running assistant reachable over the REST channel."""

    rasa_url: str
    action_url: str
    log_dir: Path

    def say(self, sender: str, message: str) -> list[dict]:
        """Send one user message and return the bot's replies."""
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": message}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return json.loads(response.read())

    def logs(self) -> str:
        """The tail of both servers' logs, for assertion messages."""
        parts = []
        for name in ("actions.log", "rasa.log"):
            path = self.log_dir / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)


def texts(replies: list[dict]) -> str:
    """All reply texts joined, for simple assertions."""
    return "\n".join(r.get("text", "") for r in replies if r.get("text"))


def buttons(replies: list[dict]) -> list[str]:
    """All button titles in the replies."""
    return [b["title"] for r in replies for b in r.get("buttons", []) or []]


@contextmanager
def running_assistant(model: Path, work_dir: Path, env: dict[str, str],
                      credentials: Path | None = None) -> Iterator[Assistant]:
    """Run both servers with `env` added to the environment; stop them afterwards.

    `credentials` replaces the project's credentials.yml (channels to enable).
    """
    rasa_port, action_port = free_port(), free_port()
    work_dir.mkdir(parents=True, exist_ok=True)
    endpoints = work_dir / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
        f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{work_dir / "tracker.db"}"\n'
    )
    full_env = {**os.environ, **env}
    procs: list[subprocess.Popen] = []
    logs = []
    try:
        for name, cmd in (
            ("actions.log", [str(BIN / "rasa"), "run", "actions", "--actions", "actions",
                             "--port", str(action_port)]),
            ("rasa.log", [str(BIN / "rasa"), "run", "--model", str(model), "--port",
                          str(rasa_port), "--endpoints", str(endpoints), "--credentials",
                          str(credentials or PROJECT_ROOT / "credentials.yml")]),
        ):
            log = (work_dir / name).open("w")
            logs.append(log)
            procs.append(
                subprocess.Popen(  # noqa: S603
                    cmd, cwd=PROJECT_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        assistant = Assistant(
            rasa_url=f"http://127.0.0.1:{rasa_port}",
            action_url=f"http://127.0.0.1:{action_port}",
            log_dir=work_dir,
        )
        ready = wait_ready(
            [f"{assistant.action_url}/health", f"{assistant.rasa_url}/webhooks/rest/"],
            timeout=240,
        )
        if not ready:
            raise RuntimeError(f"the assistant did not start:\n{assistant.logs()}")
        yield assistant
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        for log in logs:
            log.close()
