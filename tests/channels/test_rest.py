"""The REST channel takes nothing on trust (issue 12): channel, metadata, sender, size, rate."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from rasa.core.channels.channel import UserMessage

from bot.settings import get_settings
from tests.channels.whatsapp_support import ServedChannel
from tests.fakes.graph_api import FakeGraphApi


async def echo(user_message: UserMessage) -> None:
    await user_message.output_channel.send_text_message(user_message.sender_id,
                                                        f"Diterima: {user_message.text}")


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedChannel]:
    monkeypatch.setenv("RATE_LIMIT_BURST", "3")
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "1")
    get_settings.cache_clear()
    with FakeGraphApi() as graph, ServedChannel(graph, responder=echo) as server:
        yield server


def rest(served: ServedChannel, body: object = None, raw: bytes | None = None) -> httpx.Response:
    url = f"http://127.0.0.1:{served.port}/webhooks/rest/webhook"
    if raw is not None:
        return httpx.post(url, content=raw, headers={"Content-Type": "application/json"})
    return httpx.post(url, json=body, timeout=30)


def test_the_body_cannot_choose_the_channel_or_the_metadata(served: ServedChannel) -> None:
    response = rest(served, {"sender": "6281234567890", "message": "cek status laporan saya",
                             "input_channel": "whatsapp",
                             "metadata": {"contact_token": "gAAAA", "evidence": [{}],
                                          "attestation": "0" * 64}})
    assert response.status_code == 200
    assert response.json() == [{"recipient_id": "6281234567890",
                                "text": "Diterima: cek status laporan saya"}]
    received = served.wait_received(1)[0]
    assert received.input_channel == "rest"
    assert not received.metadata


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"sender": "psn_" + "a" * 24, "message": "halo"}, 400),
        ({"sender": "", "message": "halo"}, 400),
        ({"sender": "x" * 200, "message": "halo"}, 400),
        ({"sender": "ok", "message": 5}, 400),
        ({"message": "halo"}, 400),
        (["not", "an", "object"], 400),
    ],
)
def test_bad_bodies_get_a_json_error(served: ServedChannel, body: object, status: int) -> None:
    response = rest(served, body)
    assert response.status_code == status
    assert "error" in response.json()
    assert served.received == []


def test_malformed_json_is_a_400(served: ServedChannel) -> None:
    response = rest(served, raw=b"{not json")
    assert response.status_code == 400 and "error" in response.json()


def test_a_long_message_is_refused_politely(served: ServedChannel) -> None:
    response = rest(served, {"sender": "panjang", "message": "a" * 100_000})
    assert response.status_code == 413
    assert "terlalu panjang" in response.json()["message"]
    assert served.received == []


def test_a_fast_sender_is_slowed_down_but_not_others(served: ServedChannel) -> None:
    statuses = [rest(served, {"sender": "cepat", "message": str(n)}).status_code
                for n in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert rest(served, {"sender": "lain", "message": "halo"}).status_code == 200


def test_production_turns_rest_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAPOR_ENV", "production")
    get_settings.cache_clear()
    with FakeGraphApi() as graph, ServedChannel(graph, responder=echo) as server:
        response = rest(server, {"sender": "dev", "message": "halo"})
    assert response.status_code == 404 and "error" in response.json()


async def fail(user_message: UserMessage) -> None:
    raise RuntimeError("the lock store is unreachable")


def test_a_failed_turn_is_a_503_so_the_client_retries() -> None:
    with FakeGraphApi() as graph, ServedChannel(graph, responder=fail) as server:
        response = rest(server, {"sender": "retry-me", "message": "halo"})
    assert response.status_code == 503 and "error" in response.json()
