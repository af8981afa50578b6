"""Start the real action server and Rasa server for end-to-end tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bot.settings import PROJECT_ROOT
from bot.wait_ready import wait_ready

BIN = PROJECT_ROOT / ".venv" / "bin"


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: Hosts the fake web stands in for (through the link checker's host overrides).
FAKE_WEB_HOSTS = ("vt.tiktok.com", "www.tiktok.com", "tiktok.com", "web.example.id")


def fake_web_app() -> web.Application:
    """Pages reports link to: a short link that redirects, a video page, a deleted page."""

    async def short(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://www.tiktok.com/@akun_palsu/video/7301234567890?is_from_webapp=1")

    async def video(request: web.Request) -> web.Response:
        return web.Response(
            text="<html><head><title>Video hoaks paslon</title></head><body>x</body></html>",
            content_type="text/html",
        )

    async def gone(request: web.Request) -> web.Response:
        return web.Response(status=404, text="not found")

    async def meta_flood(request: web.Request) -> web.Response:
        # 256 KiB of "<meta": hours for the old title regexes, on the event loop.
        return web.Response(body=b"<meta" * (256 * 1024 // 5), content_type="text/html")

    app = web.Application()
    app.router.add_get("/ZS8xyz/", short)
    app.router.add_get("/ZSabc123", short)  # the short link of the screenshot test
    app.router.add_get("/@akun_palsu/video/7301234567890", video)
    app.router.add_get("/hapus/1", gone)
    app.router.add_get("/banjir-meta", meta_flood)
    return app


@contextmanager
def fake_web() -> Iterator[dict[str, str]]:
    """Serve `fake_web_app` on 127.0.0.1 in a thread; yield the link-checker environment
    that sends its hosts there."""
    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(fake_web_app())

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

    loop.run_until_complete(start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield {
            "LINK_CHECK_HOST_OVERRIDES": ",".join(f"{h}=127.0.0.1:{port}"
                                                  for h in FAKE_WEB_HOSTS),
            "LINK_CHECK_ALLOWED_NETWORKS": "127.0.0.1/32",
            "LINK_CHECK_TIMEOUT": "3",
        }
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.run_until_complete(runner.cleanup())
        loop.close()


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
        f'tracker_store:\n  type: bot.tracker_stores.ProtectedSQLTrackerStore\n'
        f'  dialect: "sqlite"\n  db: "{work_dir / "tracker.db"}"\n'
    )
    # As `make run` starts them (scripts/run.sh): one compute thread for the model.
    full_env = {"OMP_NUM_THREADS": "1", "TF_INTRA_OP_PARALLELISM_THREADS": "1",
                "TF_INTER_OP_PARALLELISM_THREADS": "1", **os.environ, **env}
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
