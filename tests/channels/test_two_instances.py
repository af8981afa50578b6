"""Two connector instances sharing one real redis-server behave like one.

Each instance has its own RedisStore (as two Rasa processes would): a retry
delivered to the other instance is still a duplicate, a numbered reply or a
button token is understood by the instance that did not send the list, the
rate limit counts both, and a web session connected to one is seen by the other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import httpx
import pytest
import redis
from rasa.core.channels.channel import UserMessage

from bot.ephemeral_redis import RedisStore
from bot.settings import get_settings
from channels.outbound import Delivery, outbound_for
from channels.telegram import TelegramInput
from channels.webchat import WebChatInput, room_of
from channels.whatsapp import WhatsAppConfig, WhatsAppInput
from channels.whatsapp_api import GraphApiClient
from tests.channels.redis_server import running_redis
from tests.channels.serving import Agent, WebSocketClient, serve, shutdown, until
from tests.channels.whatsapp_support import (
    APP_SECRET,
    VERIFY_TOKEN,
    ServedChannel,
    dumps,
    sign,
    text_message,
    webhook,
)
from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.telegram_api import FakeTelegramApi, Updates

TG_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TG_SECRET = "s3cr3t-Token_value"
LONG_PAYLOAD = '/inform{"region": "Kabupaten Administrasi Kepulauan Seribu, DKI Jakarta"}'
MENU = [{"title": f"Provinsi {i}", "payload": f'/inform{{"province": "{i:02d}"}}'}
        for i in range(12)]


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with running_redis() as url:
        yield url


@pytest.fixture(autouse=True)
def _shared_redis(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An empty Redis, named by REDIS_URL, for every test."""
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    monkeypatch.setenv("REDIS_URL", redis_url)
    get_settings.cache_clear()
    yield


# -- WhatsApp -------------------------------------------------------------------------------


async def menu(user_message: UserMessage) -> None:
    """Answer "menu" with more buttons than WhatsApp shows: a numbered list."""
    if user_message.text == "menu":
        await user_message.output_channel.send_text_with_buttons(
            user_message.sender_id, "Pilih provinsi:", MENU)


def whatsapp_instance(graph: FakeGraphApi, redis_url: str) -> ServedChannel:
    channel = WhatsAppInput(
        WhatsAppConfig(verify_token=VERIFY_TOKEN, app_secret=APP_SECRET,
                       access_token=graph.access_token, phone_number_id=graph.phone_number_id,
                       api_base_url=graph.base_url),
        client=GraphApiClient(graph.access_token, graph.phone_number_id, graph.base_url,
                              backoff_seconds=0.01),
        store=RedisStore(redis_url))
    return ServedChannel(graph, responder=menu, channel=channel)


def post(served: ServedChannel, *items: dict) -> None:
    body = dumps(webhook(*items))
    answer = httpx.post(served.url, content=body, headers={"X-Hub-Signature-256": sign(body)},
                        timeout=30)
    assert answer.status_code == 200, answer.text
    served.idle()


@pytest.fixture
def graph() -> Iterator[FakeGraphApi]:
    with FakeGraphApi() as fake:
        yield fake


def test_whatsapp_instances_share_dedup_and_numbered_choices(graph: FakeGraphApi,
                                                             redis_url: str) -> None:
    with whatsapp_instance(graph, redis_url) as first, \
            whatsapp_instance(graph, redis_url) as second:
        retried = text_message("menu", message_id="wamid.retried-1")
        post(first, retried)
        post(second, retried)  # Meta retried it to the other process
        assert [m.text for m in first.received] == ["menu"] and second.received == []
        assert "12. Provinsi 11" in graph.wait_for_messages(1)[0]["text"]["body"]
        post(second, text_message("2"))
        assert [m.text for m in second.received] == [MENU[1]["payload"]]


def test_whatsapp_rate_limit_counts_both_instances(graph: FakeGraphApi, redis_url: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_BURST", "3")
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "1")
    get_settings.cache_clear()
    with whatsapp_instance(graph, redis_url) as first, \
            whatsapp_instance(graph, redis_url) as second:
        post(first, text_message("satu"), text_message("dua"))
        post(second, text_message("tiga"), text_message("empat"), text_message("lima"))
        assert len(first.received) + len(second.received) == 3
        told = [m for m in graph.sent_messages() if "terlalu cepat" in str(m)]
        assert len(told) == 1  # told once across both instances


# -- Telegram -------------------------------------------------------------------------------


@pytest.fixture
async def telegram(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeTelegramApi]:
    api = FakeTelegramApi(TG_TOKEN)
    await api.start()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TG_TOKEN)
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", TG_SECRET)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", api.base_url)
    get_settings.cache_clear()
    yield api
    await api.stop()


class LongButtons(Agent):
    """Answers /greet with a button whose payload is too long for callback_data."""

    async def handle_message(self, message: UserMessage) -> None:
        self.messages.append(message)
        if message.text == "/greet":
            await message.output_channel.send_text_with_buttons(
                message.sender_id, "Pilih wilayah:",
                [{"title": "Kepulauan Seribu",
                  "payload": LONG_PAYLOAD}])


async def deliver(base: str, update: dict) -> int:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/webhooks/telegram/webhook", json=update,
                                headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}) as reply:
            return reply.status


async def test_telegram_instances_share_dedup_and_button_tokens(
        telegram: FakeTelegramApi, redis_url: str) -> None:
    first_channel = TelegramInput.from_credentials(None)
    second_channel = TelegramInput.from_credentials(None)
    first_agent, second_agent = LongButtons(), LongButtons()
    first, first_base = await serve([first_channel], first_agent)
    second, second_base = await serve([second_channel], second_agent)
    try:
        updates = Updates()
        start = updates.text("/start")
        assert await deliver(first_base, start) == 200
        await first_channel.wait_idle()
        assert await deliver(second_base, start) == 200  # the same update_id again
        await second_channel.wait_idle()
        assert first_agent.texts == ["/greet"] and second_agent.texts == []
        [sent] = telegram.calls_to("sendMessage")
        token = sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        assert token.startswith("~t:")
        # The press arrives at the other process, without the keyboard to fall back on.
        assert await deliver(second_base, updates.callback(token)) == 200
        await second_channel.wait_idle()
        assert second_agent.texts == [LONG_PAYLOAD]
    finally:
        await shutdown(first)
        await shutdown(second)


# -- Web widget -----------------------------------------------------------------------------


async def test_web_session_on_one_instance_is_served_by_the_other(redis_url: str) -> None:
    from tests.channels.test_webchat import _multipart, tiny_png

    first_channel = WebChatInput(store=RedisStore(redis_url))
    second_channel = WebChatInput(store=RedisStore(redis_url))
    first, first_base = await serve([first_channel], Agent())
    second_agent = Agent()
    second, second_base = await serve([second_channel], second_agent)
    notifier = outbound_for("webchat")  # a third process: the reviewers' console
    assert notifier is not None
    try:
        async with WebSocketClient(first_base) as chat:
            room = room_of(chat.session_id)
            # An upload reaching the other process: the session is connected (on the first).
            body, content_type = _multipart({"session_id": chat.session_id}, "bukti.png",
                                            tiny_png())
            async with aiohttp.ClientSession() as session:
                async with session.post(f"{second_base}/webhooks/webchat/upload", data=body,
                                        headers={"Content-Type": content_type}) as reply:
                    assert reply.status == 200, await reply.text()
            assert [m.text for m in await second_agent.wait_for(1)] == ["/send_evidence"]
            # The second process's reply reaches the socket held by the first (Redis rooms).
            assert (await chat.next_reply())["text"] == "Diterima: /send_evidence"
            assert await notifier.send_text(room, "Status laporan Anda berubah.") == \
                Delivery.SENT
            assert (await chat.next_reply())["text"] == "Status laporan Anda berubah."
            session_id = chat.session_id
        await until(lambda: _away(second_channel, session_id))
        assert await notifier.send_text(room, "Laporan Anda selesai ditinjau.") == \
            Delivery.QUEUED
        async with WebSocketClient(second_base, session_id) as back:
            assert (await back.next_reply())["text"] == "Laporan Anda selesai ditinjau."
    finally:
        await notifier.close()
        await shutdown(first)
        await shutdown(second)


async def _away(channel: WebChatInput, session_id: str) -> bool:
    return not await channel.sessions.is_connected(session_id)
