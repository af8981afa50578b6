"""The web widget channel: static files, uploads, the socket.io protocol, the browser widget.

Unit tests cover the pure helpers. Everything else runs against the real
assistant (action server + Rasa server with the trained model) with the
webchat channel enabled: a real socket.io client (python-socketio) plays a
stock Rasa widget, the upload endpoint is called over HTTP, and Chromium
(Debian's /usr/bin/chromium driven by Playwright) files a whole report through
the demo page. Links in reports are checked over the network; the link
checker's host overrides send those requests to a small aiohttp server on
127.0.0.1 (a short link that redirects to a video page), so nothing leaves the
machine.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
import socketio

from bot.ephemeral import MemoryStore
from channels.webchat import SessionRegistry, static_files, valid_session_id
from tests.channels.serving import WebSocketClient
from tests.integration.servers import Assistant, fake_web, running_assistant
from tests.screenshot_corpus import akunpalsu_screenshot

SOCKETIO_PATH = "/webhooks/webchat/socket.io"
#: A small evidence limit keeps the size tests quick.
EVIDENCE_LIMIT = 256 * 1024
SOCKET_WAIT_SECONDS = 90
TICKET = re.compile(r"LP-[0-9A-HJKMNP-TV-Z]{6}")


def tiny_png(width: int = 2, height: int = 2) -> bytes:
    """A valid PNG image (solid red), built without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


# --------------------------------------------------------------------- unit tests


def test_session_ids_must_be_random_looking_tokens() -> None:
    assert valid_session_id("a" * 32)
    assert valid_session_id("0f3c2b1a-9d8e_7f6a5b4c")
    assert not valid_session_id("short")
    assert not valid_session_id("../../etc/passwd-xxxxxxxx")
    assert not valid_session_id("x" * 129)
    assert not valid_session_id(None)
    assert not valid_session_id(12345678901234567890)


async def test_session_registry_tracks_connected_sockets() -> None:
    registry = SessionRegistry(MemoryStore())
    await registry.bind("sid-1", "session-a")
    await registry.bind("sid-2", "session-a")
    assert await registry.is_connected("session-a")
    await registry.unbind("sid-1")
    assert await registry.is_connected("session-a")
    await registry.bind("sid-2", "session-b")  # a socket changing session leaves the old one
    assert not await registry.is_connected("session-a")
    assert registry.session_of("sid-2") == "session-b"
    await registry.unbind("sid-2")
    assert not await registry.is_connected("session-b")
    await registry.unbind("never-seen")


async def test_session_presence_is_seen_by_another_process() -> None:
    store = MemoryStore()  # stands for the Redis both processes share
    here, there = SessionRegistry(store), SessionRegistry(store)
    await here.bind("sid-1", "session-a")
    assert await there.is_connected("session-a")
    assert there.session_of("sid-1") is None  # socket ids stay in their process
    await here.unbind("sid-1")
    assert not await there.is_connected("session-a")
    expiring = SessionRegistry(store, presence_seconds=-1)
    await expiring.touch("session-b")
    assert not await there.is_connected("session-b")


def test_static_files_are_a_fixed_list_without_links_or_folders(tmp_path: Path) -> None:
    (tmp_path / "widget.js").write_text("x")
    (tmp_path / "notes.md").write_text("x")  # unknown type
    (tmp_path / ".hidden.js").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner.js").write_text("x")
    secret = tmp_path.parent / "secret.txt"
    secret.write_text("secret")
    (tmp_path / "link.txt").symlink_to(secret)
    assert set(static_files(tmp_path)) == {"widget.js"}
    shipped = static_files()
    assert {"widget.js", "widget.css", "index.html", "socket.io.min.js",
            "socket.io.LICENSE.txt"} <= set(shipped)


# --------------------------------------------------------------------- the real assistant


@dataclass
class WebChatAssistant:
    """A running assistant with the webchat channel enabled."""

    rasa_url: str
    var_dir: Path
    servers: Assistant


@pytest.fixture(scope="module")
def webchat(trained_model: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[WebChatAssistant]:
    """The real assistant (REST + webchat channels), shared by this module's tests."""
    work = tmp_path_factory.mktemp("webchat")
    credentials = work / "credentials.yml"
    credentials.write_text("channels.rest.RestInput:\nchannels.webchat.WebChatInput:\n")
    with fake_web() as link_check_env:
        env = {
            "VAR_DIR": str(work / "var"),
            "DATABASE_URL": f"sqlite:///{work / 'reports.db'}",
            **link_check_env,
            "EVIDENCE_MAX_BYTES": str(EVIDENCE_LIMIT),
            "UPLOAD_QUOTA_PER_HOUR": "8",
        }
        with running_assistant(trained_model, work, env, credentials=credentials) as running:
            yield WebChatAssistant(rasa_url=running.rasa_url, var_dir=work / "var",
                                   servers=running)


def _raw_request(base_url: str, method: str, path: str, headers: dict[str, str] | None = None,
                 body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request with the path sent exactly as given (no client normalisation)."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        if body:
            connection.send(body)
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


def _multipart(fields: dict[str, str], filename: str | None, content: bytes,
               mime: str = "application/octet-stream") -> tuple[bytes, str]:
    boundary = "----laporwebchattest7MA4YWxk"
    lines: list[bytes] = []
    for name, value in fields.items():
        lines += [f"--{boundary}".encode(),
                  f'Content-Disposition: form-data; name="{name}"'.encode(), b"",
                  value.encode()]
    if filename is not None:
        lines += [f"--{boundary}".encode(),
                  f'Content-Disposition: form-data; name="file"; filename="{filename}"'.encode(),
                  f"Content-Type: {mime}".encode(), b"", content]
    lines += [f"--{boundary}--".encode(), b""]
    return b"\r\n".join(lines), f"multipart/form-data; boundary={boundary}"


@pytest.mark.slow
def test_demo_page_and_static_files_have_safe_headers(webchat: WebChatAssistant) -> None:
    status, headers, body = _raw_request(webchat.rasa_url, "GET", "/webhooks/webchat/")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    page = body.decode()
    assert 'lang="id"' in page and "/webhooks/webchat/static/widget.js" in page
    for name, kind in (("widget.js", "text/javascript"), ("widget.css", "text/css"),
                       ("socket.io.min.js", "text/javascript"),
                       ("socket.io.LICENSE.txt", "text/plain")):
        status, headers, body = _raw_request(webchat.rasa_url, "GET",
                                             f"/webhooks/webchat/static/{name}")
        assert status == 200, name
        assert headers["content-type"].startswith(kind), (name, headers)
        assert headers["x-content-type-options"] == "nosniff"
        assert body


@pytest.mark.slow
@pytest.mark.parametrize("path", [
    "/webhooks/webchat/static/../webchat.py",
    "/webhooks/webchat/static/..%2Fwebchat.py",
    "/webhooks/webchat/static/%2e%2e%2f%2e%2e%2fcredentials.yml",
    "/webhooks/webchat/static/..%5C..%5Ccredentials.yml",
    "/webhooks/webchat/static/%2Fetc%2Fpasswd",
    "/webhooks/webchat/static/webchat.py",
    "/webhooks/webchat/static/",
    "/webhooks/webchat/static/.",
])
def test_static_route_never_leaves_the_static_folder(webchat: WebChatAssistant,
                                                     path: str) -> None:
    status, _, body = _raw_request(webchat.rasa_url, "GET", path)
    assert status == 404, (path, status)
    assert b"import" not in body and b"root:" not in body and b"rest:" not in body


class SocketSession(WebSocketClient):
    """The stock-protocol client of tests/channels/serving.py, against the real assistant:
    a connection failure fails the test with its reason, and a test can wait for the
    reply that contains a phrase."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)

    async def __aenter__(self) -> SocketSession:
        try:
            await super().__aenter__()
        except socketio.exceptions.ConnectionError as exc:
            pytest.fail(f"cannot connect to the webchat socket: {exc}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.disconnect()

    async def reply_containing(self, fragment: str) -> dict:
        """Wait for the bot message whose text contains `fragment`."""
        seen: list[str] = []
        while True:
            try:
                reply = await asyncio.wait_for(self.replies.get(), SOCKET_WAIT_SECONDS)
            except asyncio.TimeoutError:
                pytest.fail(f"no bot message containing {fragment!r}; got {seen!r}")
            seen.append(reply.get("text", ""))
            if fragment.lower() in reply.get("text", "").lower():
                return reply


async def _upload(webchat: WebChatAssistant, session_id: str | None, filename: str,
                  content: bytes, mime: str = "image/png",
                  caption: str | None = None) -> tuple[int, dict]:
    fields = {} if session_id is None else {"session_id": session_id}
    if caption is not None:
        fields["caption"] = caption
    body, content_type = _multipart(fields, filename, content, mime)
    async with aiohttp.ClientSession() as http_session:
        async with http_session.post(f"{webchat.rasa_url}/webhooks/webchat/upload", data=body,
                                     headers={"Content-Type": content_type},
                                     timeout=aiohttp.ClientTimeout(total=120)) as answer:
            return answer.status, json.loads(await answer.read())


@pytest.mark.slow
async def test_stock_protocol_session_and_buttons(webchat: WebChatAssistant) -> None:
    async with SocketSession(webchat.rasa_url) as chat:
        assert valid_session_id(chat.session_id)
        await chat.say("halo")
        reply = await chat.reply_containing("")
        replies = [reply]
        while not any(r.get("quick_replies") for r in replies):
            replies.append(await asyncio.wait_for(chat.replies.get(), SOCKET_WAIT_SECONDS))
        titles = [q["title"] for r in replies for q in r.get("quick_replies") or []]
        assert "Lapor pelanggaran" in titles, replies
        # A client-chosen persistent session id is kept (page reloads reuse it).
        again = socketio.AsyncClient(reconnection=False)
        confirmed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        again.on("session_confirm", lambda data: confirmed.set_result(str(data)))
        await again.connect(webchat.rasa_url, socketio_path=SOCKETIO_PATH,
                            transports=["polling"])
        await again.emit("session_request", {"session_id": chat.session_id})
        assert await asyncio.wait_for(confirmed, SOCKET_WAIT_SECONDS) == chat.session_id
        await again.disconnect()


@pytest.mark.slow
async def test_upload_sends_the_evidence_to_the_assistant(webchat: WebChatAssistant) -> None:
    image = tiny_png()
    async with SocketSession(webchat.rasa_url) as chat:
        status, answer = await _upload(webchat, chat.session_id, "bukti.png", image,
                                       "application/octet-stream")
        assert status == 200, answer
        assert answer["mime_type"] == "image/png" and answer["size_bytes"] == len(image)
        reply = await chat.reply_containing("bukti sudah saya terima")
        assert reply["text"]
    stored = list((webchat.var_dir / "evidence").rglob("*.png"))
    assert stored and stored[0].read_bytes() == image


@pytest.mark.slow
async def test_an_uploaded_screenshot_with_a_caption_is_read(webchat: WebChatAssistant) -> None:
    """The caption starts the report, the picture is read: the bot names the account."""
    async with SocketSession(webchat.rasa_url) as chat:
        status, answer = await _upload(webchat, chat.session_id, "layar.jpg",
                                       akunpalsu_screenshot(), "image/jpeg",
                                       caption="saya mau lapor konten ini")
        assert status == 200, answer
        reply = await chat.reply_containing("Apakah ini akun yang Anda laporkan")
        assert "@akunpalsu" in reply["text"] and "vt.tiktok.com/ZSabc123" in reply["text"]


@pytest.mark.slow
async def test_uploads_have_an_hourly_quota_per_session(webchat: WebChatAssistant) -> None:
    async with SocketSession(webchat.rasa_url) as chat:
        statuses = []
        for seed in range(9):
            status, answer = await _upload(webchat, chat.session_id, "bukti.png",
                                           tiny_png(100 + seed))
            statuses.append(status)
        assert statuses == [200] * 8 + [429], answer
        assert "banyak berkas" in answer["error"]
    async with SocketSession(webchat.rasa_url) as other:
        status, _ = await _upload(webchat, other.session_id, "bukti.png", tiny_png(110))
        assert status == 200  # another session is not affected


@pytest.mark.slow
async def test_a_long_message_is_answered_politely_and_not_processed(
        webchat: WebChatAssistant) -> None:
    async with SocketSession(webchat.rasa_url) as chat:
        await chat.say("x" * 100_000)
        reply = await chat.reply_containing("terlalu panjang")
        assert "4.096" in reply["text"]
        await chat.say("halo")
        await chat.reply_containing("halo")


@pytest.mark.slow
async def test_upload_needs_a_connected_session(webchat: WebChatAssistant) -> None:
    status, answer = await _upload(webchat, "f" * 32, "bukti.png", tiny_png())
    assert status == 403 and "Sesi obrolan" in answer["error"]
    status, answer = await _upload(webchat, None, "bukti.png", tiny_png())
    assert status == 400 and "Sesi obrolan" in answer["error"]
    status, answer = await _upload(webchat, "../../etc/passwd", "bukti.png", tiny_png())
    assert status == 400
    # A session that was connected is refused once its socket has gone.
    async with SocketSession(webchat.rasa_url) as chat:
        session_id = chat.session_id
    status, answer = await _upload(webchat, session_id, "bukti.png", tiny_png())
    assert status == 403


@pytest.mark.slow
async def test_upload_checks_type_and_size(webchat: WebChatAssistant) -> None:
    async with SocketSession(webchat.rasa_url) as chat:
        status, answer = await _upload(webchat, chat.session_id, "catatan.txt",
                                       b"ini bukan gambar", "image/png")
        assert status == 415 and "Jenis berkas" in answer["error"]
        too_big = tiny_png() + b"\x00" * EVIDENCE_LIMIT  # within the multipart margin
        status, answer = await _upload(webchat, chat.session_id, "besar.png", too_big)
        assert status == 413 and "terlalu besar" in answer["error"]
        status, answer = await _upload(webchat, chat.session_id, "bukti.png", b"")
        assert status == 400 and "Berkas" in answer["error"]
        body, content_type = _multipart({"session_id": chat.session_id}, None, b"")
        status, _, raw = _raw_request(webchat.rasa_url, "POST", "/webhooks/webchat/upload",
                                      {"Content-Type": content_type,
                                       "Content-Length": str(len(body))}, body)
        assert status == 400 and "belum terlampir" in json.loads(raw)["error"]


@pytest.mark.slow
def test_upload_is_refused_early_by_content_length(webchat: WebChatAssistant) -> None:
    # Only the headers are sent: the answer comes without the body being read.
    status, headers, raw = _raw_request(
        webchat.rasa_url, "POST", "/webhooks/webchat/upload",
        {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(10**9)})
    assert status == 413
    assert headers["content-type"].startswith("application/json")
    assert "terlalu besar" in json.loads(raw)["error"]


@pytest.mark.slow
def test_upload_without_length_is_cut_at_the_limit(webchat: WebChatAssistant) -> None:
    parts = urlsplit(webchat.rasa_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        chunks = (b"\x00" * 65536 for _ in range(EVIDENCE_LIMIT // 65536 + 4))
        connection.request("POST", "/webhooks/webchat/upload", body=chunks,
                           headers={"Content-Type": "multipart/form-data; boundary=x"},
                           encode_chunked=True)
        answer = connection.getresponse()
        assert answer.status == 413
        assert "terlalu besar" in json.loads(answer.read())["error"]
    finally:
        connection.close()


@pytest.mark.slow
def test_upload_needs_multipart(webchat: WebChatAssistant) -> None:
    status, _, raw = _raw_request(webchat.rasa_url, "POST", "/webhooks/webchat/upload",
                                  {"Content-Type": "application/json", "Content-Length": "2"},
                                  b"{}")
    assert status == 400 and "error" in json.loads(raw)


# --------------------------------------------------------------------- the browser widget

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: Generous waits for the model and the action server; nothing is timed.
BROWSER_WAIT_MS = 120_000


def _wait_for_bot(page: object, fragment: str, after: int, servers: Assistant) -> None:
    """Wait until a bot message after the first `after` ones contains `fragment`."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(  # type: ignore[attr-defined]
            """([fragment, after]) => Array.from(document.querySelectorAll('.lwc-bot'))
                 .slice(after).some(n => n.textContent.includes(fragment))""",
            arg=[fragment, after], timeout=BROWSER_WAIT_MS)
    except PlaywrightTimeout:
        shown = page.inner_text(".lwc-messages")  # type: ignore[attr-defined]
        pytest.fail(f"the widget never showed {fragment!r}; it shows:\n{shown}\n"
                    f"{servers.logs()}")


def _bot_count(page: object) -> int:
    return page.locator(".lwc-bot").count()  # type: ignore[attr-defined]


def _press(page: object, title: str) -> None:
    """Press the newest enabled button with this title."""
    exact = re.compile(rf"^\s*{re.escape(title)}\s*$")
    page.locator(".lwc-buttons button:enabled").filter(  # type: ignore[attr-defined]
        has_text=exact).last.click()


@pytest.mark.slow
def test_browser_files_a_report_with_a_screenshot_and_keeps_history(
        webchat: WebChatAssistant, tmp_path: Path) -> None:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    servers = webchat.servers
    screenshot = tmp_path / "tangkapan-layar.png"
    screenshot.write_bytes(tiny_png(8, 8))
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except PlaywrightError as exc:
            pytest.fail(f"Chromium could not be started from {CHROMIUM} (install Debian's "
                        f"`chromium` package: scripts/system_deps.sh): {exc}")
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.set_default_timeout(BROWSER_WAIT_MS)
            page.goto(f"{webchat.rasa_url}/webhooks/webchat/")
            page.wait_for_selector("#lapor-webchat[data-session=ready]")

            # Greeting, then a button from the menu.
            seen = _bot_count(page)
            message = page.get_by_label("Ketik pesan Anda")
            message.fill("halo")
            message.press("Enter")
            page.locator(".lwc-buttons button:enabled", has_text="Lapor pelanggaran").wait_for()
            seen = _bot_count(page)
            _press(page, "Lapor pelanggaran")
            page.locator(".lwc-user", has_text="Lapor pelanggaran").wait_for()
            _wait_for_bot(page, "UU PDP", seen, servers)  # consent, asked on a first report
            seen = _bot_count(page)
            _press(page, "Setuju")
            _wait_for_bot(page, "tautan", seen, servers)

            # A screenshot through the file button.
            seen = _bot_count(page)
            page.set_input_files("#lwc-file", str(screenshot))
            page.locator(".lwc-user", has_text="tangkapan-layar.png").wait_for()
            _wait_for_bot(page, "bukti sudah saya terima", seen, servers)

            # One message fills the link, category, region and date.
            seen = _bot_count(page)
            message.fill("ada akun tiktok nyebar hoaks soal paslon 2 "
                         "http://vt.tiktok.com/ZS8xyz/ di kota pekalongan kemarin")
            message.press("Enter")
            page.locator(".lwc-user", has_text="ZS8xyz").wait_for()
            _wait_for_bot(page, "pemilik akun", seen, servers)
            seen = _bot_count(page)
            _press(page, "Lewati")
            _wait_for_bot(page, "ringkasan", seen, servers)
            summary = page.locator(".lwc-bot").last.inner_text()
            assert "Kota Pekalongan" in summary and "1 berkas" in summary, summary
            seen = _bot_count(page)
            _press(page, "Kirim")
            _wait_for_bot(page, "Kode tiket", seen, servers)
            ticket = TICKET.search(page.inner_text(".lwc-messages"))
            assert ticket, page.inner_text(".lwc-messages")

            # Text is shown as text, never run as HTML.
            seen = _bot_count(page)
            message.fill('<img src=x onerror="window.__xss=1"><b>tebal</b>')
            message.press("Enter")
            page.locator(".lwc-user", has_text="<b>tebal</b>").wait_for()
            _wait_for_bot(page, "", seen, servers)
            assert page.locator(".lwc-messages img, .lwc-messages b").count() == 0
            assert page.evaluate("window.__xss") is None

            # After a reload the conversation is still there, in the same session.
            session_before = page.evaluate(
                "Object.values(localStorage).map(JSON.parse)[0].sessionId")
            page.reload()
            page.wait_for_selector("#lapor-webchat[data-session=ready]")
            history = page.inner_text(".lwc-messages")
            for expected in ("halo", "Lapor pelanggaran", "tangkapan-layar.png",
                             ticket.group(0), "<b>tebal</b>"):
                assert expected in history, (expected, history)
            assert page.evaluate(
                "Object.values(localStorage).map(JSON.parse)[0].sessionId") == session_before
            # The conversation goes on in the same tracker after the reload.
            seen = _bot_count(page)
            message = page.get_by_label("Ketik pesan Anda")
            message.fill(f"cek status {ticket.group(0)}")
            message.press("Enter")
            _wait_for_bot(page, ticket.group(0), seen, servers)
            assert not errors, errors
        finally:
            browser.close()
