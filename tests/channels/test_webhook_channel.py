"""What `channels.webhook.WebhookChannel` gives every platform, through a minimal third one.

`tests/channels/minimal_platform.py` is an SMS gateway written against the base
in under 100 lines; the same life cycle serves WhatsApp and Telegram.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage

import tests.channels.minimal_platform as minimal_platform
from bot.channel_messages import channel_message
from bot.ephemeral import MemoryStore
from bot.privacy import decrypt_contact, is_sender_key, verify_attestation
from bot.settings import get_settings
from channels.common import EVIDENCE_PAYLOAD, LOCATION_PAYLOAD, UNSUPPORTED_PAYLOAD
from tests.channels.minimal_platform import GatewayInput
from tests.channels.serving import Agent, serve, shutdown

TOKEN = "gateway-shared-token"
PHONE = "6281298765432"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


@dataclass
class Gateway:
    """The served minimal platform and what reached Rasa."""

    channel: GatewayInput
    agent: Agent
    url: str

    async def post(self, body: Any, token: str | None = TOKEN) -> tuple[int, Any]:
        """POST to the webhook, wait for the background work, return status and JSON."""
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["X-Gateway-Token"] = token
        data = body if isinstance(body, bytes) else json.dumps(body)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            async with session.post(f"{self.url}/webhook", data=data, headers=headers) as reply:
                status, answer = reply.status, await reply.json(content_type=None)
        await self.channel.wait_idle()
        return status, answer


def sms(message_id: str, **content: Any) -> dict[str, Any]:
    """One gateway delivery with one message."""
    return {"messages": [{"id": message_id, "from": PHONE, **content}]}


@pytest.fixture
async def gateway(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Gateway]:
    monkeypatch.setenv("EVIDENCE_MAX_BYTES", "1024")
    get_settings.cache_clear()
    channel = GatewayInput(TOKEN, {"png": PNG, "big": PNG + b"\x00" * 2000}, MemoryStore())
    agent = Agent()
    server, base = await serve([channel], agent)
    yield Gateway(channel, agent, f"{base}/webhooks/smsgw")
    await shutdown(server)


def test_the_minimal_platform_is_small() -> None:
    lines = Path(minimal_platform.__file__).read_text(encoding="utf-8").splitlines()
    assert len(lines) < 200


async def test_health_and_verification(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{gateway.url}/") as reply:
            assert await reply.json() == {"status": "ok"}
    assert (await gateway.post(sms("1", text="halo"), token=None))[0] == 401
    assert (await gateway.post(sms("1", text="halo"), token="wrong"))[0] == 403
    assert gateway.agent.messages == []


@pytest.mark.parametrize(("body", "error"), [(b"{not json", "malformed JSON"),
                                             (b"\xff\xfe", "malformed JSON"),
                                             ({"other": 1}, "not a gateway delivery")])
async def test_bodies_that_are_not_deliveries_are_a_json_400(gateway: Gateway, body: Any,
                                                             error: str) -> None:
    assert await gateway.post(body) == (400, {"error": error})


async def test_text_reaches_rasa_attested_and_pseudonymous(gateway: Gateway) -> None:
    assert await gateway.post(sms("m1", text="halo")) == (200, {"status": "accepted"})
    [message] = gateway.agent.messages
    assert message.text == "halo" and message.input_channel == "smsgw"
    assert is_sender_key(message.sender_id) and PHONE not in message.sender_id
    assert verify_attestation("smsgw", message.sender_id, message.metadata["attestation"])
    assert decrypt_contact(message.metadata["contact_token"]) == PHONE
    assert gateway.channel.sent == [(PHONE, "Diterima: halo")]


async def test_a_redelivery_is_handled_once(gateway: Gateway) -> None:
    await gateway.post(sms("m1", text="halo"))
    assert await gateway.post(sms("m1", text="halo")) == (200, {"status": "duplicate"})
    assert await gateway.post({"messages": [{"nonsense": 1}]}) == (200, {"status": "ignored"})
    assert gateway.agent.texts == ["halo"]


async def test_files_locations_and_the_rest(gateway: Gateway) -> None:
    await gateway.post({"messages": [
        {"id": "f1", "from": PHONE, "file": "png", "text": "buktinya"},
        {"id": "f2", "from": PHONE, "file": "png"},
        {"id": "l1", "from": PHONE, "lat": -6.2, "lon": 106.8},
        {"id": "s1", "from": PHONE, "sticker": "x"},
    ]})
    assert gateway.agent.texts == ["buktinya", EVIDENCE_PAYLOAD, LOCATION_PAYLOAD,
                                   UNSUPPORTED_PAYLOAD]
    assert gateway.agent.messages[0].metadata["evidence"][0]["mime_type"] == "image/png"
    assert gateway.agent.messages[2].metadata["location"] == {"latitude": -6.2,
                                                              "longitude": 106.8}


async def test_refused_files_are_answered_politely(gateway: Gateway) -> None:
    await gateway.post({"messages": [{"id": "f1", "from": PHONE, "file": "big"},
                                     {"id": "f2", "from": PHONE, "file": "missing"}]})
    assert gateway.agent.messages == []
    assert [text for _, text in gateway.channel.sent] == [
        channel_message("file_too_large", size="1 KB"), channel_message("download_failed")]


async def test_long_and_fast_messages_are_refused(gateway: Gateway,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    await gateway.post(sms("long", text="a" * 5000))
    assert gateway.agent.messages == []
    assert "terlalu panjang" in gateway.channel.sent[-1][1]
    burst = get_settings().rate_burst
    for n in range(burst + 2):
        await gateway.post(sms(f"fast-{n}", text=str(n)))
    assert len(gateway.agent.messages) == burst - 1  # the long message took a token
    refusals = [text for _, text in gateway.channel.sent if "terlalu cepat" in text]
    assert len(refusals) == 1  # told once, then dropped


async def test_one_failing_message_does_not_stop_the_next(gateway: Gateway) -> None:
    async def broken(message: UserMessage) -> None:
        if message.text == "satu":
            raise RuntimeError("rasa is down")
        gateway.agent.messages.append(message)

    gateway.agent.handle_message = broken  # type: ignore[method-assign]
    await gateway.post({"messages": [{"id": "a", "from": PHONE, "text": "satu"},
                                     {"id": "b", "from": PHONE, "text": "dua"}]})
    assert gateway.agent.texts == ["dua"]


async def test_close_lets_running_work_finish_first(gateway: Gateway) -> None:
    release, finished = asyncio.Event(), []
    closed = []

    async def slow(message: UserMessage) -> None:
        await release.wait()
        finished.append(message.text)

    async def close_platform() -> None:
        closed.append(bool(finished))

    gateway.agent.handle_message = slow  # type: ignore[method-assign]
    gateway.channel.close_platform = close_platform  # type: ignore[method-assign]
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway.url}/webhook", json=sms("slow", text="pelan"),
                                headers={"X-Gateway-Token": TOKEN}) as reply:
            assert reply.status == 200
    closing = asyncio.ensure_future(gateway.channel.close())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not closing.done() and closed == []
    release.set()
    await closing
    assert finished == ["pelan"] and closed == [True]
