"""`.venv/bin/lapor-admin`, run as a separate process on the store's database."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import PROJECT_ROOT
from console.app import make_app
from console.config import ConsoleSettings
from console.store import ConsoleStore
from tests.console.conftest import PASSWORD, file_report

LAPOR_ADMIN = PROJECT_ROOT / ".venv" / "bin" / "lapor-admin"


def lapor_admin(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    if not LAPOR_ADMIN.exists():
        pytest.fail(f"{LAPOR_ADMIN} is missing: run `make setup` (pyproject's [project.scripts])")
    env = {**os.environ, "VAR_DIR": str(tmp_path / "var"), "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("DATABASE_URL", None)
    return subprocess.run([str(LAPOR_ADMIN), *args], input=stdin, capture_output=True,  # noqa: S603
                          text=True, env=env, cwd=tmp_path, timeout=120, check=False)


async def test_user_add_and_token_create(tmp_path: Path) -> None:
    done = lapor_admin(tmp_path, "user", "add", "budi", "--role", "pengawas", "--region", "33",
                       "--region", "34.71", "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert "budi" in done.stdout and PASSWORD not in done.stdout + done.stderr

    refused = {
        ("user", "add", "budi", "--role", "pengawas", "--region", "33", "--password-stdin"):
            "already exists",
        ("user", "add", "sari", "--role", "pengawas", "--password-stdin"): "needs at least one",
        ("user", "add", "sari", "--role", "pengawas", "--region", "99", "--password-stdin"):
            "unknown region code '99'",
        ("user", "add", "sari", "--role", "koordinator", "--region", "33",
         "--password-stdin"): "only for a pengawas",
        ("token", "create", "tidak-ada"): "no such user",
    }
    for args, expected in refused.items():
        result = lapor_admin(tmp_path, *args, stdin=PASSWORD + "\n")
        assert result.returncode == 1 and expected in result.stderr, (args, result.stderr)
    short = lapor_admin(tmp_path, "user", "add", "sari", "--role", "admin", "--password-stdin",
                        stdin="pendek\n")
    assert short.returncode == 1 and "at least 12" in short.stderr
    usage = lapor_admin(tmp_path, "user", "add", "sari", "--role", "raja", "--password-stdin")
    assert usage.returncode == 2

    created = lapor_admin(tmp_path, "token", "create", "budi")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("lpk_") and len(token) > 40
    listed = lapor_admin(tmp_path, "user", "list")
    assert listed.stdout.split() == ["budi", "pengawas", "33", "34.71", "active"]

    # The token works against the API, with budi's regions.
    store = ConsoleStore(f"sqlite:///{tmp_path / 'var' / 'reports.db'}")
    code = file_report(store, region="33.75")
    file_report(store, "https://www.tiktok.com/@b/video/9", region="11.01")
    client = TestClient(TestServer(make_app(store, ConsoleSettings(notify_worker=False),
                                            worker_factory=None), host="127.0.0.1"))
    await client.start_server()
    try:
        response = await client.get("/api/reports",
                                    headers={"Authorization": f"Bearer {token}"})
        assert response.status == 200
        assert [r["ticket_code"] for r in (await response.json())["reports"]] == [code]
    finally:
        await client.close()
        store.dispose()
