"""Notices outside a conversation (`channels.outbound`), against the fakes and real sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import httpx
import pytest

from bot.ephemeral import MemoryStore, ephemeral_store
from bot.privacy import sender_key
from bot.settings import get_settings
from channels.outbound import Delivery, outbound_for
from channels.telegram_output import TelegramNotifier
from channels.webchat import WebChatInput, WebNotifier, room_of
from channels.whatsapp_api import (
    GraphApiClient,
    WhatsAppNotifier,
    mark_window_open,
)
from tests.channels.serving import Agent, WebSocketClient, serve, shutdown, until
from tests.channels.whatsapp_support import ServedChannel, dumps, sign, text_message, webhook
from tests.fakes.graph_api import NOTICE_TEMPLATE, FakeGraphApi
from tests.fakes.telegram_api import FakeTelegramApi

WA_ID = "6281234567890"
TG_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
CHAT_ID = 512345678
NOTICE = "Status laporan LP-7K2M9Q kini: sedang ditinjau.\n\nTerima kasih atas laporan Anda."


@pytest.fixture
def graph() -> Iterator[FakeGraphApi]:
    with FakeGraphApi() as fake:
        yield fake


def whatsapp_notifier(graph: FakeGraphApi, store: MemoryStore,
                      template: str | None = NOTICE_TEMPLATE,
                      language: str = "id") -> WhatsAppNotifier:
    client = GraphApiClient(graph.access_token, graph.phone_number_id, graph.base_url,
                            backoff_seconds=0.01, max_attempts=2)
    return WhatsAppNotifier(client, store, template, language)


async def test_whatsapp_inside_the_window_sends_text(graph: FakeGraphApi) -> None:
    store = MemoryStore()
    await mark_window_open(store, sender_key("whatsapp", WA_ID))
    notifier = whatsapp_notifier(graph, store)
    assert await notifier.send_text(WA_ID, NOTICE) == Delivery.SENT
    [sent] = graph.sent_messages()
    assert sent["to"] == WA_ID and sent["type"] == "text"
    assert sent["text"]["body"] == NOTICE
    await notifier.close()


async def test_whatsapp_outside_the_window_sends_the_template(graph: FakeGraphApi) -> None:
    notifier = whatsapp_notifier(graph, MemoryStore())
    values = ("LP-7K2M9Q", "Sedang ditelaah\npetugas")
    assert await notifier.send_text(WA_ID, NOTICE, template_values=values) == Delivery.SENT
    [sent] = graph.sent_messages()
    assert sent["type"] == "template"
    template = sent["template"]
    assert template["name"] == NOTICE_TEMPLATE and template["language"] == {"code": "id"}
    parameters = [p["text"] for p in template["components"][0]["parameters"]]
    # The ticket code and the status, each on one line as templates require.
    assert parameters == ["LP-7K2M9Q", "Sedang ditelaah petugas"]
    await notifier.close()


async def test_whatsapp_outside_the_window_without_a_usable_template_fails(
        graph: FakeGraphApi) -> None:
    values = ("LP-7K2M9Q", "Sedang ditelaah petugas")
    without = whatsapp_notifier(graph, MemoryStore(), template=None)
    assert await without.send_text(WA_ID, NOTICE, template_values=values) == Delivery.FAILED
    no_values = whatsapp_notifier(graph, MemoryStore())
    assert await no_values.send_text(WA_ID, NOTICE) == Delivery.FAILED
    assert graph.requests == []
    wrong_language = whatsapp_notifier(graph, MemoryStore(), language="en_US")
    assert await wrong_language.send_text(WA_ID, NOTICE, template_values=values) == \
        Delivery.FAILED
    wrong_count = whatsapp_notifier(graph, MemoryStore())
    assert await wrong_count.send_text(WA_ID, NOTICE, template_values=values[:1]) == \
        Delivery.FAILED
    assert graph.sent_messages() == []  # refused by the API (132001, 132000)
    for notifier in (without, no_values, wrong_language, wrong_count):
        await notifier.close()


def test_a_citizen_message_opens_the_window_for_notices(graph: FakeGraphApi) -> None:
    with ServedChannel(graph) as served:
        body = dumps(webhook(text_message("halo", wa_id=WA_ID)))
        assert httpx.post(served.url, content=body, headers={"X-Hub-Signature-256": sign(body)},
                          timeout=30).status_code == 200
        served.idle()
        store = served.channel.store

        async def notify() -> Delivery:
            notifier = WhatsAppNotifier(served.channel.client, store, None)
            return await notifier.send_text(WA_ID, NOTICE)

        assert served.run(notify()) == Delivery.SENT  # free text: no template configured
    assert graph.sent_messages()[-1]["type"] == "text"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramApi]:
    api = FakeTelegramApi(TG_TOKEN)
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def telegram_env(telegram: FakeTelegramApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TG_TOKEN)
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", "s3cret")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", telegram.base_url)
    get_settings.cache_clear()


async def test_telegram_notice_goes_to_the_chat(telegram: FakeTelegramApi,
                                                telegram_env: None) -> None:
    notifier = outbound_for("telegram")
    assert isinstance(notifier, TelegramNotifier)
    assert await notifier.send_text(str(CHAT_ID), NOTICE) == Delivery.SENT
    [sent] = telegram.calls_to("sendMessage")
    assert int(sent["chat_id"]) == CHAT_ID and sent["text"] == NOTICE
    telegram.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    assert await notifier.send_text(str(CHAT_ID), NOTICE) == Delivery.FAILED
    assert await notifier.send_text("not-a-chat", NOTICE) == Delivery.FAILED
    await notifier.close()


def test_outbound_for_each_channel(monkeypatch: pytest.MonkeyPatch, graph: FakeGraphApi) -> None:
    for name in ("WHATSAPP_VERIFY_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_ACCESS_TOKEN",
                 "WHATSAPP_PHONE_NUMBER_ID", "TELEGRAM_BOT_TOKEN", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    assert outbound_for("whatsapp") is None and outbound_for("telegram") is None
    assert outbound_for("rest") is None and outbound_for("nonsense") is None
    assert isinstance(outbound_for("webchat"), WebNotifier)
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", "v")
    monkeypatch.setenv("WHATSAPP_APP_SECRET", "s")
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", graph.access_token)
    monkeypatch.setenv("WHATSAPP_PHONE_NUMBER_ID", graph.phone_number_id)
    get_settings.cache_clear()
    assert isinstance(outbound_for("whatsapp"), WhatsAppNotifier)


async def test_web_notice_waits_for_an_away_session_then_arrives() -> None:
    channel = WebChatInput(store=ephemeral_store())
    server, base = await serve([channel], Agent())
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/webhooks/webchat/health") as reply:
                assert await reply.json() == {"status": "ok"}
        async with WebSocketClient(base) as first:
            session_id = first.session_id
        await until(lambda: _away(channel, session_id))
        room = room_of(session_id)
        notifier = channel.notifier()
        assert await notifier.send_text(room, NOTICE) == Delivery.QUEUED
        async with WebSocketClient(base, session_id) as back:
            assert back.session_id == session_id
            assert (await back.next_reply())["text"] == NOTICE
            # Connected now: the next notice is emitted at once.
            assert await notifier.send_text(room, "Laporan Anda selesai ditinjau.") == \
                Delivery.SENT
            assert (await back.next_reply())["text"] == "Laporan Anda selesai ditinjau."
        # Without a live server (another process, no Redis) notices always wait.
        assert await outbound_for("webchat").send_text(room, "x") == Delivery.QUEUED
    finally:
        await shutdown(server)


async def _away(channel: WebChatInput, session_id: str) -> bool:
    return not await channel.sessions.is_connected(session_id)


def test_every_channel_the_store_notifies_has_a_sender(monkeypatch: pytest.MonkeyPatch,
                                                       graph: FakeGraphApi) -> None:
    """The store marks notices "impossible" for channels outside NOTIFIABLE_CHANNELS:
    every channel inside must have an outbound sender once configured."""
    from bot.store.types import INBOX_CHANNELS, NOTIFIABLE_CHANNELS

    for name, value in (("WHATSAPP_VERIFY_TOKEN", "v"), ("WHATSAPP_APP_SECRET", "s"),
                        ("WHATSAPP_ACCESS_TOKEN", graph.access_token),
                        ("WHATSAPP_PHONE_NUMBER_ID", graph.phone_number_id),
                        ("TELEGRAM_BOT_TOKEN", TG_TOKEN), ("TELEGRAM_SECRET_TOKEN", "s3cret")):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    assert all(outbound_for(channel) is not None for channel in NOTIFIABLE_CHANNELS)
    assert outbound_for("rest") is None
    assert INBOX_CHANNELS == {WebChatInput.name()}
