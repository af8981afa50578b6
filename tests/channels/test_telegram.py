"""The Telegram connector against a fake Bot API server speaking the real protocol.

The connector runs for real (Sanic app with its blueprint, python-telegram-bot,
deduplication, evidence storage). Rasa's agent is played by `RasaStandIn`,
which records each `UserMessage` and answers through its output channel the way
Rasa does (`send_response`); tests/channels/test_telegram_e2e.py uses the real
assistant.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic
from sanic import response as sanic_response

from bot.channel_messages import channel_message
from bot.ephemeral import MemoryStore
from bot.privacy import decrypt_contact, is_sender_key
from bot.settings import get_settings
from channels.common import EVIDENCE_PAYLOAD, LOCATION_PAYLOAD, UNSUPPORTED_PAYLOAD
from channels.telegram import TelegramInput
from channels.telegram_output import TOKEN_PREFIX, CallbackPayloads, TelegramOutput
from tests.fakes.telegram_api import FakeTelegramApi, Updates
from tests.integration.servers import free_port

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET = "s3cr3t-Token_value"
USER_ID = 512345678
JPEG = b"\xff\xd8\xff\xe0" + b"\x00JFIF" + bytes(200)
PDF = b"%PDF-1.7\n" + bytes(100)
EXPIRED_CHOICE = channel_message("expired_choice")
GROUP_NOTICE = channel_message("group_notice")
MENU = [{"title": "Lapor pelanggaran", "payload": "/report_violation"},
        {"title": "Tanya aturan", "payload": "/ask_rules"},
        {"title": "Cek status laporan", "payload": "/check_status"}]


class RasaStandIn:
    """Records what Rasa would receive and answers through the output channel like Rasa."""

    def __init__(self) -> None:
        self.messages: list[UserMessage] = []
        self.responses: dict[str, list[dict[str, Any]]] = {
            "/greet": [{"text": "Halo! Ada yang bisa saya bantu?", "buttons": MENU}],
        }

    async def handle_message(self, message: UserMessage) -> None:
        """What `rasa.core.agent.Agent.handle_message` is called with."""
        self.messages.append(message)
        for response in self.responses.get(message.text or "", []):
            await message.output_channel.send_response(message.sender_id, dict(response))

    @property
    def texts(self) -> list[str | None]:
        """The texts received, in order."""
        return [m.text for m in self.messages]


@dataclass
class Served:
    """A running connector with its fake Bot API."""

    fake: FakeTelegramApi
    channel: TelegramInput
    rasa: RasaStandIn
    url: str
    updates: Updates

    async def post(self, body: dict | bytes | str, secret: str | None = SECRET,
                   wait: bool = True) -> tuple[int, Any]:
        """POST to the webhook; wait for the background work; return status and JSON."""
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            async with session.post(self.url, data=data, headers=headers) as reply:
                raw = await reply.read()
                status = reply.status
        if wait:
            await self.channel.wait_idle()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw


async def serve(channel: TelegramInput, rasa: RasaStandIn) -> tuple[Any, str]:
    """Serve the channel with Rasa's own `register` (prefix /webhooks/telegram)."""
    Sanic.test_mode = True  # lets several apps start in one process (Sanic's touch-up)
    app = Sanic(f"tg_test_{uuid.uuid4().hex[:12]}")
    app.ctx.agent = rasa  # Rasa's channel handler calls app.ctx.agent.handle_message
    register([channel], app, route="/webhooks/")

    @app.get("/")
    async def root(_: Any) -> Any:  # Rasa's server always has routes of its own
        return sanic_response.text("Hello from Rasa")

    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                     access_log=False)
    if server is None:
        pytest.fail("Sanic could not start the test server")
    await server.startup()
    await server.before_start()
    await server.after_start()
    return server, f"http://127.0.0.1:{port}/webhooks/telegram/webhook"


async def shutdown(server: Any) -> None:
    """Stop a server started by `serve`."""
    await server.before_stop()
    server.close()
    await server.wait_closed()
    await server.after_stop()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramApi]:
    """The fake Bot API, listening on 127.0.0.1."""
    api = FakeTelegramApi(TOKEN)
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def telegram_env(fake: FakeTelegramApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """The connector's environment, pointed at the fake."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", SECRET)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", fake.base_url)
    monkeypatch.delenv("TELEGRAM_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("EVIDENCE_MAX_BYTES", "4096")


@pytest.fixture
async def served(fake: FakeTelegramApi, telegram_env: None) -> AsyncIterator[Served]:
    """The connector served over HTTP, with a Rasa stand-in."""
    channel = TelegramInput.from_credentials(None)
    assert channel.enabled
    rasa = RasaStandIn()
    server, url = await serve(channel, rasa)
    yield Served(fake, channel, rasa, url, Updates(user_id=USER_ID))
    await shutdown(server)


# -- configuration and security -----------------------------------------------------------


@pytest.mark.parametrize("missing", ["TELEGRAM_BOT_TOKEN", "TELEGRAM_SECRET_TOKEN"])
async def test_not_configured_logs_one_line_and_has_no_webhook(
        missing: str, fake: FakeTelegramApi, telegram_env: None,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv(missing)
    with caplog.at_level(logging.INFO):
        channel = TelegramInput.from_credentials(None)
    assert not channel.enabled
    lines = [r.getMessage() for r in caplog.records if "telegram" in r.getMessage().lower()]
    assert len(lines) == 1 and missing in lines[0]
    rasa = RasaStandIn()
    server, url = await serve(channel, rasa)
    try:
        status, _ = await Served(fake, channel, rasa, url, Updates()).post(
            Updates().text("halo"))
        assert status == 404
    finally:
        await shutdown(server)
    assert rasa.messages == [] and fake.calls == []


async def test_malformed_secret_setting_disables_the_channel(
        telegram_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", "has spaces and é")
    assert not TelegramInput.from_credentials(None).enabled


@pytest.mark.parametrize(("secret", "expected"), [(None, 401), ("wrong-secret", 403),
                                                  (SECRET + "x", 403), ("", 403),
                                                  ("s3cr3t-Token_valuf", 403)])
async def test_wrong_or_missing_secret_is_refused(served: Served, secret: str | None,
                                                  expected: int) -> None:
    status, body = await served.post(served.updates.text("halo"), secret=secret)
    assert status == expected and "error" in body
    assert served.rasa.messages == []


async def test_right_secret_is_accepted(served: Served) -> None:
    status, body = await served.post(served.updates.text("halo"))
    assert status == 200 and body == {"status": "accepted"}
    assert served.rasa.texts == ["halo"]


async def test_duplicate_update_is_processed_once(served: Served) -> None:
    update = served.updates.text("ada hoaks di facebook")
    for _ in range(3):
        status, _ = await served.post(update)
        assert status == 200
    assert served.rasa.texts == ["ada hoaks di facebook"]


# -- incoming messages --------------------------------------------------------------------


async def test_start_greets_with_pseudonymous_sender_and_inline_keyboard(served: Served) -> None:
    await served.post(served.updates.text("/start"))
    [message] = served.rasa.messages
    assert message.text == "/greet" and message.input_channel == "telegram"
    assert is_sender_key(message.sender_id) and str(USER_ID) not in message.sender_id
    assert str(USER_ID) not in json.dumps(message.metadata)
    assert decrypt_contact(message.metadata["contact_token"]) == str(USER_ID)
    [sent] = served.fake.calls_to("sendMessage")
    assert int(sent["chat_id"]) == USER_ID and sent["text"] == "Halo! Ada yang bisa saya bantu?"
    assert "parse_mode" not in sent
    assert sent["reply_markup"] == {"inline_keyboard": [
        [{"text": "Lapor pelanggaran", "callback_data": "/report_violation"}],
        [{"text": "Tanya aturan", "callback_data": "/ask_rules"}],
        [{"text": "Cek status laporan", "callback_data": "/check_status"}],
    ]}


async def test_start_with_deep_link_parameter_greets(served: Served) -> None:
    await served.post(served.updates.text("/start kampanye"))
    assert served.rasa.texts == ["/greet"]


async def test_text_is_forwarded(served: Served) -> None:
    await served.post(served.updates.text("Saya mau lapor akun penyebar hoaks"))
    assert served.rasa.texts == ["Saya mau lapor akun penyebar hoaks"]
    assert served.rasa.messages[0].metadata.keys() == {"contact_token", "attestation"}


async def test_a_message_over_4096_characters_is_answered_not_processed(served: Served) -> None:
    await served.post(served.updates.text("a" * 5000))
    assert served.rasa.texts == []
    [reply] = served.fake.calls_to("sendMessage")
    assert "terlalu panjang" in reply["text"]


async def test_callback_query_is_answered_then_forwarded(served: Served) -> None:
    update = served.updates.callback("/report_violation")
    await served.post(update)
    [answer] = served.fake.calls_to("answerCallbackQuery")
    assert answer["callback_query_id"] == update["callback_query"]["id"]
    assert served.rasa.texts == ["/report_violation"]
    assert is_sender_key(served.rasa.messages[0].sender_id)


async def test_long_payload_travels_as_token_and_comes_back(served: Served) -> None:
    long_payload = '/inform{"region": "Kabupaten Kepulauan Seribu, DKI Jakarta, Indonesia"}'
    assert len(long_payload.encode()) > 64
    served.rasa.responses["/greet"] = [{"text": "Pilih wilayah:", "buttons": [
        {"title": "Kepulauan Seribu", "payload": long_payload},
        {"title": "Lainnya", "payload": "/other"}]}]
    await served.post(served.updates.text("/start"))
    [sent] = served.fake.calls_to("sendMessage")
    rows = sent["reply_markup"]["inline_keyboard"]
    token = rows[0][0]["callback_data"]
    assert token.startswith(TOKEN_PREFIX) and len(token.encode()) <= 64
    assert rows[1][0]["callback_data"] == "/other"
    await served.post(served.updates.callback(token, message_markup=sent["reply_markup"]))
    assert served.rasa.texts == ["/greet", long_payload]


async def test_forgotten_token_falls_back_to_button_title_or_apology(served: Served) -> None:
    token = TOKEN_PREFIX + "forgotten000000"
    markup = {"inline_keyboard": [[{"text": "Kepulauan Seribu", "callback_data": token}]]}
    await served.post(served.updates.callback(token, message_markup=markup))
    assert served.rasa.texts == ["Kepulauan Seribu"]
    await served.post(served.updates.callback(TOKEN_PREFIX + "unknown"))
    assert served.rasa.texts == ["Kepulauan Seribu"]
    assert served.fake.calls_to("sendMessage")[-1]["text"] == EXPIRED_CHOICE
    assert len(served.fake.calls_to("answerCallbackQuery")) == 2


async def test_photo_largest_fitting_size_is_saved_with_caption(served: Served) -> None:
    small = served.fake.add_file(JPEG[:120])
    large = served.fake.add_file(JPEG)
    too_big = served.fake.add_file(JPEG + bytes(5000))
    update = served.updates.photo([(small, 90, 60, 120), (large, 320, 240, len(JPEG)),
                                   (too_big, 1280, 960, len(JPEG) + 5000)],
                                  caption="Postingan ini menghina peserta pemilu")
    await served.post(update)
    [message] = served.rasa.messages
    assert message.text == "Postingan ini menghina peserta pemilu"
    [evidence] = message.metadata["evidence"]
    assert evidence["mime_type"] == "image/jpeg" and evidence["size_bytes"] == len(JPEG)
    assert served.fake.downloads == [p for p in served.fake.downloads if "photos/" in p]
    assert len(served.fake.downloads) == 1
    var_dir = Path(os.environ["VAR_DIR"])
    assert (var_dir / evidence["storage_path"]).read_bytes() == JPEG


async def test_document_without_caption_is_evidence(served: Served) -> None:
    file_id = served.fake.add_file(PDF, suffix="pdf")
    await served.post(served.updates.document(file_id, "bukti.pdf", "application/pdf", len(PDF)))
    [message] = served.rasa.messages
    assert message.text == EVIDENCE_PAYLOAD
    assert message.metadata["evidence"][0]["mime_type"] == "application/pdf"


async def test_document_declared_too_large_is_refused_without_download(served: Served) -> None:
    file_id = served.fake.add_file(PDF + bytes(10_000), suffix="pdf")
    await served.post(served.updates.document(file_id, "besar.pdf", "application/pdf", 10_109))
    assert served.rasa.messages == [] and served.fake.downloads == []
    assert served.fake.calls_to("getFile") == []
    assert served.fake.calls_to("sendMessage")[-1]["text"].startswith("Berkas terlalu besar")


async def test_document_larger_than_declared_is_cut_off(served: Served) -> None:
    file_id = served.fake.add_file(PDF + bytes(50_000), declared_size=200, suffix="pdf")
    await served.post(served.updates.document(file_id, "bohong.pdf", "application/pdf", 200))
    assert served.rasa.messages == []
    assert served.fake.calls_to("sendMessage")[-1]["text"].startswith("Berkas terlalu besar")


async def test_document_over_telegram_download_limit_is_refused(
        served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCE_MAX_BYTES", str(50 * 1024 * 1024))
    get_settings.cache_clear()
    file_id = served.fake.add_file(PDF, declared_size=30 * 1024 * 1024, suffix="pdf")
    await served.post(served.updates.document(file_id, "x.pdf", "application/pdf", 0))
    assert served.rasa.messages == []
    assert served.fake.calls_to("sendMessage")[-1]["text"].startswith("Berkas terlalu besar")


async def test_document_of_wrong_type_is_refused(served: Served) -> None:
    file_id = served.fake.add_file(b"PK\x03\x04" + bytes(100), suffix="zip")
    await served.post(served.updates.document(file_id, "arsip.zip", "application/zip", 104))
    assert served.rasa.messages == []
    assert served.fake.calls_to("sendMessage")[-1]["text"].startswith("Jenis berkas ini")


async def test_download_failure_is_told_politely(served: Served) -> None:
    await served.post(served.updates.document("unknown-file-id", "a.pdf", "application/pdf", 10))
    assert served.rasa.messages == []
    assert served.fake.calls_to("sendMessage")[-1]["text"].startswith("Maaf, berkas Anda")


async def test_location_is_forwarded_with_metadata(served: Served) -> None:
    await served.post(served.updates.location(-6.1754, 106.8272))
    [message] = served.rasa.messages
    assert message.text == LOCATION_PAYLOAD
    assert message.metadata["location"] == {"latitude": -6.1754, "longitude": 106.8272}


@pytest.mark.parametrize("kind", ["sticker", "voice"])
async def test_other_content_is_unsupported(served: Served, kind: str) -> None:
    await served.post(getattr(served.updates, kind)())
    assert served.rasa.texts == [UNSUPPORTED_PAYLOAD]


async def test_group_chat_is_told_once_and_not_forwarded(served: Served) -> None:
    for text in ("/start", "halo bot", "lapor"):
        await served.post(served.updates.text(text, chat_type="group", chat_id=-100123))
    assert served.rasa.messages == []
    sent = served.fake.calls_to("sendMessage")
    assert [s["text"] for s in sent] == [GROUP_NOTICE] and int(sent[0]["chat_id"]) == -100123


@pytest.mark.parametrize(("body", "expected"), [
    (b"{not json", 400), (b"", 400), (b"\xff\xfe", 400), ("[1, 2]", 400),
    ('{"message": {}}', 400), ('{"update_id": "7"}', 400), ('{"update_id": true}', 400),
    ('{"update_id": 7, "message": "text"}', 200), ('{"update_id": 8, "message": {}}', 200),
    ('{"update_id": 9, "edited_message": {"message_id": 1, "date": 0, '
     '"chat": {"id": 1, "type": "private"}, "text": "x"}}', 200),
    ('{"update_id": 10, "poll": {"id": "1"}}', 200),
])
async def test_malformed_requests(served: Served, body: str | bytes, expected: int) -> None:
    status, answer = await served.post(body)
    assert status == expected
    if expected == 400:
        assert "error" in answer
    assert served.rasa.messages == []


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["id", "type", "text", "chat", "from", "photo", "file_id",
                                       "data", "message", "location", "latitude", "document",
                                       "file_size", "width", "height", "date", "is_bot",
                                       "caption", "first_name", "message_id"]),
                      children, max_size=5),
    max_leaves=12,
)
UPDATES = st.fixed_dictionaries(
    {"update_id": st.integers(min_value=0, max_value=2**40)},
    optional={"message": JSON_VALUES, "callback_query": JSON_VALUES,
              "edited_message": JSON_VALUES},
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(UPDATES.map(json.dumps), JSON_VALUES.map(json.dumps),
                      st.binary(max_size=40)))
async def test_no_input_gives_a_server_error(served: Served, body: str | bytes,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="channels"):
        status, _ = await served.post(body)
    assert status in (200, 400)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# -- outgoing messages --------------------------------------------------------------------


@pytest.fixture
async def output(fake: FakeTelegramApi, telegram_env: None) -> AsyncIterator[TelegramOutput]:
    """An output channel for the user's chat, with the connector's bot."""
    channel = TelegramInput.from_credentials(None)
    assert channel.bot is not None
    yield TelegramOutput(channel.bot, USER_ID, channel.payloads)
    await channel.close()


async def test_long_text_is_split_with_keyboard_on_last_part(
        fake: FakeTelegramApi, output: TelegramOutput) -> None:
    paragraph = "Kampanye di media sosial wajib didaftarkan ke KPU. " * 40
    text = "\n\n".join([paragraph.strip()] * 5)
    assert len(text) > 8192
    await output.send_response("psn_x", {"text": text, "buttons": MENU})
    sent = fake.calls_to("sendMessage")
    assert len(sent) == 3 and all(len(s["text"]) <= 4096 for s in sent)
    assert "\n\n".join(s["text"] for s in sent) == text
    assert [("reply_markup" in s) for s in sent] == [False, False, True]


async def test_text_is_sent_verbatim_without_parse_mode(
        fake: FakeTelegramApi, output: TelegramOutput) -> None:
    text = "Pasal <b>280</b> & *huruf* _c_ [lihat](x) `kode` \\ ~coret~ > kutip #tag"
    await output.send_response("psn_x", {"text": text})
    [sent] = fake.calls_to("sendMessage")
    assert sent["text"] == text and "parse_mode" not in sent


async def test_image_is_sent_with_send_photo(fake: FakeTelegramApi,
                                             output: TelegramOutput) -> None:
    await output.send_response("psn_x", {"text": "Contoh:", "image": "https://example.org/a.png"})
    assert [s["text"] for s in fake.calls_to("sendMessage")] == ["Contoh:"]
    [photo] = fake.calls_to("sendPhoto")
    assert photo["photo"] == "https://example.org/a.png" and int(photo["chat_id"]) == USER_ID


async def test_url_button_and_buttons_without_text(fake: FakeTelegramApi,
                                                   output: TelegramOutput) -> None:
    await output.send_response("psn_x", {"text": "", "buttons": [
        {"title": "Situs Bawaslu", "type": "web_url", "url": "https://bawaslu.go.id"},
        {"title": "Menu", "payload": "/menu"}]})
    [sent] = fake.calls_to("sendMessage")
    assert sent["text"] == "Silakan pilih:"
    assert sent["reply_markup"]["inline_keyboard"] == [
        [{"text": "Situs Bawaslu", "url": "https://bawaslu.go.id"}],
        [{"text": "Menu", "callback_data": "/menu"}]]


async def test_rate_limit_is_retried_after_retry_after(fake: FakeTelegramApi,
                                                       output: TelegramOutput) -> None:
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    await output.send_response("psn_x", {"text": "Laporan Anda sudah kami terima."})
    assert fake.attempts("sendMessage") == [429, 200]
    assert fake.calls_to("sendMessage")[0]["text"] == "Laporan Anda sudah kami terima."


async def test_server_errors_are_retried_a_limited_number_of_times(
        fake: FakeTelegramApi, output: TelegramOutput) -> None:
    fake.fail_next("sendMessage", 502, "Bad Gateway", times=2)
    await output.send_response("psn_x", {"text": "satu"})
    assert fake.attempts("sendMessage") == [502, 502, 200]
    fake.fail_next("sendMessage", 500, "Internal Server Error", times=10)
    await output.send_response("psn_x", {"text": "dua"})
    assert fake.attempts("sendMessage")[3:] == [500, 500, 500, 500]


async def test_bad_request_is_not_retried(fake: FakeTelegramApi, output: TelegramOutput) -> None:
    fake.fail_next("sendMessage", 400, "Bad Request: chat not found")
    await output.send_response("psn_x", {"text": "halo"})
    assert fake.attempts("sendMessage") == [400]


async def test_callback_payloads_map() -> None:
    payloads = CallbackPayloads(MemoryStore(max_keys=2))
    assert await payloads.encode("/ask_rules") == "/ask_rules"
    assert (await payloads.encode("~t:looks-like-a-token")).startswith(TOKEN_PREFIX)
    long = "/inform" + "x" * 80
    token = await payloads.encode(long)
    assert await payloads.encode(long) == token and await payloads.decode(token) == long
    await payloads.encode("/a" + "y" * 80)
    await payloads.encode("/b" + "z" * 80)
    assert await payloads.decode(token) is None
    assert await payloads.encode("ä" * 33) != "ä" * 33  # 66 bytes in UTF-8


# -- start-up -----------------------------------------------------------------------------


async def test_set_webhook_at_start_up(fake: FakeTelegramApi, telegram_env: None,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://lapor.example.id/webhooks/telegram/webhook")
    channel = TelegramInput.from_credentials(None)
    rasa = RasaStandIn()
    server, url = await serve(channel, rasa)
    try:
        await channel.wait_idle()
        assert fake.webhook == {"url": "https://lapor.example.id/webhooks/telegram/webhook",
                                "secret_token": SECRET,
                                "allowed_updates": ["message", "callback_query"]}
        status = await fake.deliver(Updates(user_id=USER_ID).text("/start"), url=url)
        await channel.wait_idle()
        assert status == 200 and rasa.texts == ["/greet"]
    finally:
        await shutdown(server)


async def test_set_webhook_failure_is_not_fatal(fake: FakeTelegramApi, telegram_env: None,
                                                monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://lapor.example.id/webhooks/telegram/webhook")
    fake.fail_next("setWebhook", 400, "Bad Request: bad webhook: Failed to resolve host")
    channel = TelegramInput.from_credentials(None)
    rasa = RasaStandIn()
    with caplog.at_level(logging.WARNING):
        server, url = await serve(channel, rasa)
        await channel.wait_idle()
    try:
        assert fake.webhook is None
        assert any("setWebhook failed" in r.getMessage() for r in caplog.records)
        status, _ = await Served(fake, channel, rasa, url, Updates()).post(Updates().text("hai"))
        assert status == 200 and rasa.texts == ["hai"]
    finally:
        await shutdown(server)


async def test_token_and_ids_stay_out_of_logs(served: Served,
                                              caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        await served.post(served.updates.text("/start"))
        file_id = served.fake.add_file(PDF, suffix="pdf")
        await served.post(served.updates.document(file_id, "b.pdf", "application/pdf", len(PDF)))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert TOKEN not in logged and TOKEN.split(":")[1] not in logged
    assert str(USER_ID) not in logged
