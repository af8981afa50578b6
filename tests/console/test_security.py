"""Security of the console: passwords, cookies, CSRF, lockout, throttling, idle timeout,
headers, loopback binding, and a contact that shows only in the audited reveal."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import update

from bot.clock import fixed_day
from bot.settings import PROJECT_ROOT
from bot.store.models import ConsoleSession, ConsoleUser, utcnow
from console.app import make_app
from console.config import DEFAULT_HOST, ConsoleSettings
from console.store import ConsoleStore
from tests.console.conftest import (
    PASSWORD,
    PHONE,
    TODAY,
    Console,
    case_of,
    csrf_from,
    file_report,
    make_users,
    sql,
)
from tests.integration.servers import free_port
from tests.integration.test_run_script import listening_addresses


async def served(store: ConsoleStore, settings: ConsoleSettings) -> TestClient:
    client = TestClient(TestServer(make_app(store, settings, today=fixed_day(TODAY),
                                            worker_factory=None), host="127.0.0.1"))
    await client.start_server()
    return client


async def post_login(client: TestClient, name: str, password: str,
                     headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    page = await client.get("/login", headers=headers)
    token = csrf_from(await page.text())
    response = await client.post("/login", data={"csrf_token": token, "name": name,
                                                 "password": password},
                                 headers=headers, allow_redirects=False)
    return response.status, response.headers.getone("Set-Cookie", ""), await response.text()


def session_cookie(set_cookie_headers: list[str]) -> str:
    return next(h for h in set_cookie_headers if h.startswith("lapor_console="))


async def test_passwords_are_argon2_and_tokens_are_stored_hashed(console: Console) -> None:
    hashes = sql(console.store, "SELECT password_hash FROM console_users")
    assert hashes and all(h.startswith("$argon2id$") and PASSWORD not in h for (h,) in hashes)
    stored = " ".join(t for (t,) in sql(console.store,
                                        "SELECT token_sha256 FROM console_api_tokens"))
    assert all(token not in stored for token in console.tokens.values())


async def test_session_cookie_flags(console: Console, store: ConsoleStore) -> None:
    page = await console.client.get("/login")
    token = csrf_from(await page.text())
    response = await console.client.post("/login", data={
        "csrf_token": token, "name": "kora", "password": PASSWORD}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/antrian"
    cookie = session_cookie(response.headers.getall("Set-Cookie"))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback

    # CONSOLE_SECURE_COOKIES=1: every cookie is Secure (so a plain-HTTP client keeps none).
    secure = await served(store, ConsoleSettings(notify_worker=False, secure_cookies=True))
    try:
        page = await secure.get("/login")
        cookie = page.headers["Set-Cookie"]
        assert cookie.startswith("lapor_console_login=") and "Secure" in cookie
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        status, _, _ = await post_login(secure, "kora", PASSWORD)
        assert status == 403  # the login token cookie never came back over plain HTTP
    finally:
        await secure.close()


@pytest.mark.parametrize(("trusted", "expect_secure"), [(frozenset(), False),
                                                        (frozenset({"127.0.0.1"}), True)])
async def test_forwarded_https_counts_only_from_a_trusted_proxy(
        store: ConsoleStore, trusted: frozenset[str], expect_secure: bool) -> None:
    settings = ConsoleSettings(notify_worker=False, trusted_proxies=trusted)
    make_users(store, settings)
    client = await served(store, settings)
    try:
        page = await client.get("/login")
        token = csrf_from(await page.text())
        response = await client.post("/login", data={
            "csrf_token": token, "name": "kora", "password": PASSWORD},
            headers={"X-Forwarded-Proto": "https"}, allow_redirects=False)
        assert response.status == 303
        cookie = session_cookie(response.headers.getall("Set-Cookie"))
        assert ("Secure" in cookie) is expect_secure
    finally:
        await client.close()


async def test_every_form_post_needs_the_csrf_token(console: Console) -> None:
    code = file_report(console.store)
    case_id = case_of(console.store, code)
    token = await console.login("kora")
    path = f"/kasus/{case_id}/catatan"
    for data in ({"text": "tanpa token"}, {"text": "token salah", "csrf_token": "x" * 43}):
        response = await console.client.post(path, data=data, allow_redirects=False)
        assert response.status == 403
        assert "kedaluwarsa atau tidak sah" in await response.text()
    response = await console.client.post(f"/laporan/{code}/status", data={"status": "diproses"},
                                         allow_redirects=False)
    assert response.status == 403
    response = await console.client.post("/logout", allow_redirects=False)
    assert response.status == 403
    assert sql(console.store, "SELECT count(*) FROM case_notes") == [(0,)]
    assert sql(console.store, "SELECT status FROM reports") == [("baru",)]
    response = await console.client.post(path, data={"text": "dengan token",
                                                     "csrf_token": token},
                                         allow_redirects=False)
    assert response.status == 303
    assert sql(console.store, "SELECT text FROM case_notes") == [("dengan token",)]
    # The login form has its own token.
    console.client.session.cookie_jar.clear()
    response = await console.client.post("/login", data={"name": "kora", "password": PASSWORD},
                                         allow_redirects=False)
    assert response.status == 403


async def test_lockout_after_failed_logins(console: Console) -> None:
    for _ in range(5):
        status, _, text = await post_login(console.client, "kora", "salah-salah-salah")
        assert status == 401 and "salah" in text
    status, _, _ = await post_login(console.client, "kora", PASSWORD)
    assert status == 401  # locked: the right password is refused too
    assert sql(console.store, "SELECT action FROM audit_log WHERE action = 'user.locked'") == [
        ("user.locked",)]
    with console.store.write() as session:
        session.execute(update(ConsoleUser).where(ConsoleUser.name == "kora")
                        .values(locked_until=utcnow() - timedelta(seconds=1)))
    status, _, _ = await post_login(console.client, "kora", PASSWORD)
    assert status == 303
    # Unknown names get the same answer as wrong passwords.
    status, _, text = await post_login(console.client, "tidak.ada", PASSWORD)
    assert status == 401 and "salah" in text


async def test_one_client_is_throttled_after_many_failures(store: ConsoleStore) -> None:
    settings = ConsoleSettings(notify_worker=False, client_failures=3, max_failed_logins=50)
    make_users(store, settings)
    client = await served(store, settings)
    try:
        for name in ("kora", "pengawas.jateng", "admin1"):
            status, _, _ = await post_login(client, name, "tebakan-yang-salah")
            assert status == 401
        status, _, text = await post_login(client, "kora", PASSWORD)
        assert status == 429 and "Terlalu banyak percobaan" in text
    finally:
        await client.close()


async def test_idle_sessions_end(console: Console) -> None:
    await console.login("kora")
    assert (await console.client.get("/antrian", allow_redirects=False)).status == 200
    with console.store.write() as session:
        session.execute(update(ConsoleSession).values(
            last_seen_at=utcnow() - timedelta(minutes=31)))
    response = await console.client.get("/antrian", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login?habis=1"
    assert sql(console.store, "SELECT count(*) FROM console_sessions") == [(0,)]
    page = await console.client.get("/login?habis=1")
    assert "tidak ada aktivitas" in await page.text()


async def test_security_headers(console: Console) -> None:
    await console.login("kora")
    for path in ("/login", "/antrian", "/dasbor"):
        response = await console.client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "<script" not in await response.text()
    api = await console.client.get("/api/reports", headers=console.auth("kora"))
    assert api.headers["Cache-Control"] == "no-store"
    static = await console.client.get("/static/console.css")
    assert static.status == 200 and "no-store" not in static.headers.get("Cache-Control", "")


async def test_the_contact_shows_only_in_the_audited_reveal(console: Console) -> None:
    code = file_report(console.store)
    case_id = case_of(console.store, code)
    seen = []
    seen.append(await (await console.client.get(f"/api/reports/{code}",
                                                headers=console.auth("kora"))).text())
    seen.append(await (await console.client.get(f"/api/cases/{case_id}",
                                                headers=console.auth("kora"))).text())
    token = await console.login("kora")
    for path in ("/antrian", f"/kasus/{case_id}", "/dasbor", "/dasbor.csv", "/rujukan"):
        seen.append(await (await console.client.get(path)).text())
    digits = PHONE.lstrip("+")
    assert all(digits not in text and "psn_" not in text for text in seen)

    response = await console.client.post(f"/laporan/{code}/kontak", data={
        "csrf_token": token, "reason": "pendek"})
    assert response.status == 400 and digits not in await response.text()
    response = await console.client.post(f"/laporan/{code}/kontak", data={
        "csrf_token": token, "reason": "meminta bukti video asli untuk kajian"})
    assert response.status == 200
    assert PHONE in await response.text()
    assert response.headers["Cache-Control"] == "no-store"
    rows = sql(console.store, "SELECT actor, target, detail FROM audit_log "
                              "WHERE action = 'contact.reveal'")
    assert len(rows) == 1 and rows[0][:2] == ("kora", code)
    assert "meminta bukti" in rows[0][2] and digits not in rows[0][2]
    everything = " ".join(str(row) for row in sql(console.store, "SELECT * FROM audit_log"))
    assert digits not in everything

    pengawas_token = await console.login("pengawas.jateng")
    response = await console.client.post(f"/laporan/{code}/kontak", data={
        "csrf_token": pengawas_token, "reason": "meminta bukti video asli untuk kajian"})
    assert response.status == 403 and digits not in await response.text()


def test_defaults_bind_to_loopback() -> None:
    assert ConsoleSettings().host == DEFAULT_HOST == "127.0.0.1"
    assert ConsoleSettings.from_env({}).host == "127.0.0.1"
    assert ConsoleSettings.from_env({"CONSOLE_HOST": "0.0.0.0"}).host == "0.0.0.0"  # noqa: S104
    with pytest.raises(ValueError, match="CONSOLE_PORT"):
        ConsoleSettings.from_env({"CONSOLE_PORT": "70000"})


async def test_python_m_console_listens_on_loopback_only(tmp_path) -> None:  # noqa: ANN001
    port = free_port()
    env = {**os.environ, "CONSOLE_PORT": str(port), "VAR_DIR": str(tmp_path / "var"),
           "CONSOLE_NOTIFY_WORKER": "0", "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("CONSOLE_HOST", None)
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "console"], cwd=PROJECT_ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        async with ClientSession() as session:
            for _ in range(600):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if process.poll() is not None:
                    pytest.fail(f"console exited: {process.stderr.read().decode()[-2000:]}")
                await asyncio.sleep(0.1)
            else:
                pytest.fail("console did not answer")
        assert listening_addresses(port) == {"127.0.0.1"}
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_logout_ends_the_session_everywhere(console: Console) -> None:
    token = await console.login("kora")
    cookie = console.client.session.cookie_jar.filter_cookies(console.client.make_url("/"))
    session_id = cookie["lapor_console"].value
    response = await console.client.post("/logout", data={"csrf_token": token},
                                         allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login"
    assert sql(console.store, "SELECT count(*) FROM console_sessions") == [(0,)]
    # The old cookie value (say, copied from another browser) no longer works.
    replay = await console.client.get("/antrian", allow_redirects=False,
                                      cookies={"lapor_console": session_id})
    assert replay.status == 303


async def test_a_session_works_on_another_console_replica(console: Console,
                                                          database_url: str) -> None:
    token = await console.login("kora")
    cookie = console.client.session.cookie_jar.filter_cookies(console.client.make_url("/"))
    session_id = cookie["lapor_console"].value
    # A second console process on the same database (its own store and engine).
    other_store = ConsoleStore(database_url)
    other = await served(other_store, ConsoleSettings(notify_worker=False))
    try:
        page = await other.get("/antrian", cookies={"lapor_console": session_id},
                               allow_redirects=False)
        assert page.status == 200 and csrf_from(await page.text()) == token
    finally:
        await other.close()
        other_store.dispose()
