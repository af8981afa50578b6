"""The WhatsApp input channel against a fake Graph API, served by a real Sanic server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa.core.channels.channel import UserMessage

from bot.channel_messages import channel_message
from bot.evidence import EvidenceFile, too_large
from bot.privacy import decrypt_contact, is_sender_key, verify_attestation
from bot.settings import get_settings
from channels.common import EVIDENCE_PAYLOAD, LOCATION_PAYLOAD, UNSUPPORTED_PAYLOAD
from channels.whatsapp import (
    REQUIRED_ENV,
    WhatsAppInput,
    parse_webhook,
    signature_status,
)
from tests.channels.whatsapp_support import (
    APP_SECRET,
    VERIFY_TOKEN,
    WA_ID,
    ServedChannel,
    dumps,
    message,
    sign,
    text_message,
    webhook,
)
from tests.fakes.graph_api import FakeGraphApi

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.4\n" + b"0" * 300

GREETING_BUTTONS = [
    {"title": "Lapor pelanggaran", "payload": "/report_violation"},
    {"title": "Tanya aturan", "payload": "/ask_rules"},
]


async def reply_with_buttons(user_message: UserMessage) -> None:
    """Answer every message like the assistant's greeting (text + 2 buttons)."""
    await user_message.output_channel.send_response(
        user_message.sender_id,
        {"text": f"Diterima: {user_message.text}", "buttons": list(GREETING_BUTTONS)},
    )


@pytest.fixture
def graph() -> Iterator[FakeGraphApi]:
    """A fake Graph API for one test."""
    with FakeGraphApi() as fake:
        yield fake


@pytest.fixture
def served(graph: FakeGraphApi) -> Iterator[ServedChannel]:
    """The channel served by Sanic, answering each message with buttons."""
    with ServedChannel(graph, responder=reply_with_buttons) as server:
        yield server


def post(served: ServedChannel, payload: Any, *, signature: str | None = "sign",
         raw: bytes | None = None) -> httpx.Response:
    """POST a webhook body, signed with the app secret unless told otherwise."""
    body = raw if raw is not None else dumps(payload)
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["X-Hub-Signature-256"] = sign(body)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return httpx.post(served.url, content=body, headers=headers, timeout=30)


def deliver(served: ServedChannel, *messages: dict[str, Any]) -> list[UserMessage]:
    """Post signed messages, wait for the background work, return what reached Rasa."""
    response = post(served, webhook(*messages))
    assert response.status_code == 200, response.text
    served.idle()
    return served.received


# -- verification handshake ----------------------------------------------------------------

def test_handshake_echoes_the_challenge(served: ServedChannel) -> None:
    response = httpx.get(served.url, params={"hub.mode": "subscribe",
                                             "hub.verify_token": VERIFY_TOKEN,
                                             "hub.challenge": "1158201444"})
    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")
    health = httpx.get(served.url.removesuffix("webhook"))
    assert health.json() == {"status": "ok"}


@pytest.mark.parametrize("params", [
    {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
    {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
    {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
    {},
])
def test_handshake_refused(served: ServedChannel, params: dict[str, str]) -> None:
    response = httpx.get(served.url, params=params)
    assert response.status_code == 403
    assert "error" in response.json()


# -- signatures ----------------------------------------------------------------------------

def test_signed_text_reaches_rasa_with_pseudonymous_sender(
        served: ServedChannel, graph: FakeGraphApi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    received = deliver(served, text_message("halo"))
    assert len(received) == 1
    user_message = received[0]
    assert user_message.text == "halo"
    assert user_message.input_channel == "whatsapp"
    assert is_sender_key(user_message.sender_id)
    assert WA_ID not in user_message.sender_id
    assert decrypt_contact(user_message.metadata["contact_token"]) == WA_ID
    assert WA_ID not in str(user_message.metadata)
    # The connector vouches for the sender it verified (the action server checks it).
    assert verify_attestation("whatsapp", user_message.sender_id,
                              user_message.metadata["attestation"])
    sent = graph.wait_for_messages(1)
    assert sent[0]["to"] == WA_ID
    assert sent[0]["type"] == "interactive"
    assert sent[0]["interactive"]["type"] == "button"
    assert WA_ID not in caplog.text
    # Neither the number nor the pseudonym (a secret too) is logged.
    assert user_message.sender_id not in caplog.text


def test_a_message_over_4096_characters_is_answered_not_processed(
        served: ServedChannel, graph: FakeGraphApi) -> None:
    response = post(served, webhook(text_message("a" * 100_000)))
    assert response.status_code == 200
    sent = graph.wait_for_messages(1)
    served.idle()
    assert served.received == []
    assert sent[0]["to"] == WA_ID and "terlalu panjang" in sent[0]["text"]["body"]
    # A message of exactly the limit goes through whole.
    deliver(served, text_message("b" * 4096))
    assert served.received[0].text == "b" * 4096


@pytest.mark.parametrize(("signature", "status"), [
    (None, 401),
    ("", 401),
    ("sha1=" + "0" * 40, 401),
    ("sha256=nothex", 401),
    ("sha256=" + "0" * 64, 403),
    ("forged", 401),
])
def test_unsigned_or_forged_posts_are_refused(served: ServedChannel, signature: str | None,
                                              status: int) -> None:
    response = post(served, webhook(text_message("halo")), signature=signature)
    assert response.status_code == status
    assert "error" in response.json()
    served.idle()
    assert served.received == []


def test_signature_with_another_secret_is_forbidden(served: ServedChannel) -> None:
    body = dumps(webhook(text_message("halo")))
    response = post(served, None, raw=body, signature=sign(body, "another-secret"))
    assert response.status_code == 403
    served.idle()
    assert served.received == []


def test_signature_check_fails_closed_without_a_secret() -> None:
    body = b'{"entry": []}'
    assert signature_status(APP_SECRET, body, sign(body)) is None
    assert signature_status("", body, sign(body, "")) == 403
    assert signature_status(APP_SECRET, body, None) == 401


def test_missing_configuration_disables_the_route(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        graph: FakeGraphApi) -> None:
    for name in REQUIRED_ENV:
        monkeypatch.setenv(name, "x")
    monkeypatch.delenv("WHATSAPP_APP_SECRET")
    caplog.set_level(logging.INFO)
    channel = WhatsAppInput.from_credentials(None)
    skipped = [r for r in caplog.records if "not enabled" in r.getMessage()]
    assert len(skipped) == 1
    assert "WHATSAPP_APP_SECRET" in skipped[0].getMessage()
    assert not channel.enabled
    with ServedChannel(graph, channel=channel) as server:
        body = dumps(webhook(text_message("halo")))
        assert httpx.post(server.url, content=body,
                          headers={"X-Hub-Signature-256": sign(body)}).status_code == 404
        assert httpx.get(server.url, params={"hub.mode": "subscribe"}).status_code == 404


def test_from_credentials_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in REQUIRED_ENV:
        monkeypatch.setenv(name, f"value-{name}")
    monkeypatch.setenv("WHATSAPP_API_BASE_URL", "http://127.0.0.1:9/v21.0/")
    channel = WhatsAppInput.from_credentials({})
    assert channel.enabled and channel.client is not None
    assert channel.client.base_url == "http://127.0.0.1:9/v21.0"
    assert "value-WHATSAPP_APP_SECRET" not in repr(channel.config)
    monkeypatch.delenv("WHATSAPP_API_BASE_URL")
    get_settings.cache_clear()
    assert WhatsAppInput.from_credentials(None).client.base_url == \
        "https://graph.facebook.com/v21.0"


# -- delivery ------------------------------------------------------------------------------

def test_duplicate_delivery_is_processed_once(served: ServedChannel, graph: FakeGraphApi) -> None:
    item = text_message("halo", message_id="wamid.duplicate-1")
    deliver(served, item)
    deliver(served, item)
    post(served, webhook(item, item))
    served.idle()
    assert [m.text for m in served.received] == ["halo"]
    assert len(graph.sent_messages()) == 1


def test_status_callbacks_are_ignored(served: ServedChannel, graph: FakeGraphApi) -> None:
    statuses = [{"id": "wamid.x", "status": "delivered", "timestamp": "1700000000",
                 "recipient_id": WA_ID, "conversation": {"id": "c1"},
                 "pricing": {"billable": True, "category": "service"}}]
    response = post(served, webhook(statuses=statuses))
    assert response.status_code == 200
    served.idle()
    assert served.received == []
    assert graph.requests == []


def test_malformed_json_is_a_400(served: ServedChannel) -> None:
    response = post(served, None, raw=b'{"entry": [')
    assert response.status_code == 400
    assert response.json() == {"error": "malformed JSON"}


@pytest.mark.parametrize("payload", [
    [], 3, "x", None, {"entry": "x"}, {"entry": [{"changes": [{"value": []}]}]},
    {"entry": [{"changes": [{"value": {"messages": [{"type": "text"}]}}]}]},
    {"entry": [{"changes": [{"value": {"messages": [{"id": "a", "from": "not a number",
                                                     "type": "text",
                                                     "text": {"body": "x"}}]}}]}]},
])
def test_unexpected_structures_are_acknowledged_and_ignored(served: ServedChannel,
                                                            payload: Any) -> None:
    response = post(served, payload)
    assert response.status_code == 200
    served.idle()
    assert served.received == []


# -- message types -------------------------------------------------------------------------

@pytest.mark.parametrize(("item", "expected"), [
    (message("interactive", {"type": "button_reply",
                             "button_reply": {"id": "/report_violation",
                                              "title": "Lapor pelanggaran"}}),
     "/report_violation"),
    (message("interactive", {"type": "list_reply",
                             "list_reply": {"id": "/inform_category{\"c\": \"hoaks\"}",
                                            "title": "Hoaks", "description": "x"}}),
     "/inform_category{\"c\": \"hoaks\"}"),
    (message("button", {"text": "Cek status", "payload": "/check_status"}), "/check_status"),
    (message("location", {"latitude": -6.1754, "longitude": 106.8272, "name": "Monas",
                          "address": "Jakarta Pusat"}), LOCATION_PAYLOAD),
])
def test_replies_and_location(served: ServedChannel, item: dict[str, Any],
                              expected: str) -> None:
    received = deliver(served, item)
    assert [m.text for m in received] == [expected]
    if expected == LOCATION_PAYLOAD:
        assert received[0].metadata["location"] == {"latitude": -6.1754, "longitude": 106.8272}
    else:
        assert "location" not in received[0].metadata


@pytest.mark.parametrize("item", [
    message("audio", {"mime_type": "audio/ogg; codecs=opus", "id": "1", "voice": True}),
    message("sticker", {"mime_type": "image/webp", "id": "2", "animated": False}),
    message("video", {"mime_type": "video/mp4", "id": "3"}),
    message("contacts", None) | {"contacts": [{"name": {"formatted_name": "A"}}]},
    message("reaction", {"message_id": "wamid.a", "emoji": "👍"}),
    message("unknown", None) | {"errors": [{"code": 131051, "title": "Unsupported"}]},
    message("interactive", {"type": "nfm_reply", "nfm_reply": {"response_json": "{}"}}),
    message("location", {"latitude": "north", "longitude": 500}),
    message("image", {"mime_type": "image/png"}),
])
def test_other_types_are_unsupported(served: ServedChannel, item: dict[str, Any]) -> None:
    received = deliver(served, item)
    assert [m.text for m in received] == [UNSUPPORTED_PAYLOAD]


def test_image_with_caption_is_stored_as_evidence(served: ServedChannel,
                                                  graph: FakeGraphApi) -> None:
    media_id = graph.add_media(PNG, "image/png")
    received = deliver(served, message("image", {"id": media_id, "mime_type": "image/png",
                                                  "caption": "Ini hoaksnya",
                                                  "sha256": "abc"}))
    assert [m.text for m in received] == ["Ini hoaksnya"]
    evidence = [EvidenceFile.from_metadata(e) for e in received[0].metadata["evidence"]]
    assert evidence[0] is not None and evidence[0].mime_type == "image/png"
    assert evidence[0].size_bytes == len(PNG)
    downloads = [r for r in graph.requests if r.method == "GET"]
    assert [r.path for r in downloads] == [f"/v21.0/{media_id}", f"/media/{media_id}"]
    assert all(r.headers["Authorization"] == f"Bearer {graph.access_token}" for r in downloads)


def test_document_without_caption_sends_the_evidence_payload(served: ServedChannel,
                                                             graph: FakeGraphApi) -> None:
    media_id = graph.add_media(PDF, "application/pdf")
    received = deliver(served, message("document", {"id": media_id, "filename": "bukti.pdf",
                                                     "mime_type": "application/pdf"}))
    assert [m.text for m in received] == [EVIDENCE_PAYLOAD]
    assert received[0].metadata["evidence"][0]["kind"] == "document"


def test_file_announced_too_large_is_not_downloaded(
        served: ServedChannel, graph: FakeGraphApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCE_MAX_BYTES", str(2 * 1024 * 1024))
    get_settings.cache_clear()
    media_id = graph.add_media(PNG, "image/png", announced_size=3 * 1024 * 1024)
    received = deliver(served, message("image", {"id": media_id, "mime_type": "image/png"}))
    assert received == []
    assert not any(r.path.startswith("/media/") for r in graph.requests)
    sent = graph.wait_for_messages(1)
    assert sent[0]["text"]["body"] == too_large(2 * 1024 * 1024).message_id


def test_download_stops_when_the_file_exceeds_the_cap(
        served: ServedChannel, graph: FakeGraphApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCE_MAX_BYTES", "1024")
    get_settings.cache_clear()
    media_id = graph.add_media(PNG + b"\x00" * 100_000, "image/png", announced_size=500)
    received = deliver(served, message("image", {"id": media_id, "mime_type": "image/png"}))
    assert received == []
    assert any(r.path == f"/media/{media_id}" for r in graph.requests)
    assert graph.wait_for_messages(1)[0]["text"]["body"] == too_large(1024).message_id


def test_rejected_evidence_is_answered_with_its_message(served: ServedChannel,
                                                        graph: FakeGraphApi) -> None:
    media_id = graph.add_media(b"GIF89a" + b"\x00" * 50, "image/gif")
    received = deliver(served, message("image", {"id": media_id, "mime_type": "image/gif"}))
    assert received == []
    body = graph.wait_for_messages(1)[0]["text"]["body"]
    assert body.startswith("Jenis berkas ini belum bisa kami terima")


def test_unknown_media_is_answered_politely(served: ServedChannel, graph: FakeGraphApi) -> None:
    received = deliver(served, message("image", {"id": "999", "mime_type": "image/png"}))
    assert received == []
    assert graph.wait_for_messages(1)[0]["text"]["body"] == channel_message("download_failed")


def test_numbered_reply_maps_back_to_the_payload(graph: FakeGraphApi) -> None:
    buttons = [{"title": f"Pilihan {i}", "payload": f"/choose{{\"n\": {i}}}"} for i in range(12)]

    async def numbered(user_message: UserMessage) -> None:
        if user_message.text == "menu":
            await user_message.output_channel.send_text_with_buttons(
                user_message.sender_id, "Pilih salah satu:", buttons)

    with ServedChannel(graph, responder=numbered) as server:
        deliver(server, text_message("menu"))
        sent = graph.wait_for_messages(1)
        assert sent[0]["type"] == "text"
        assert "\n2. Pilihan 1\n" in sent[0]["text"]["body"]
        deliver(server, text_message(" 2. "))
        deliver(server, text_message("99"))
        assert [m.text for m in server.received] == ["menu", buttons[1]["payload"], "99"]


def test_several_messages_in_one_webhook_keep_their_order(served: ServedChannel) -> None:
    received = deliver(served, text_message("satu"), text_message("dua"), text_message("tiga"))
    assert [m.text for m in received] == ["satu", "dua", "tiga"]


def test_a_failing_handler_does_not_break_the_webhook(
        graph: FakeGraphApi, caplog: pytest.LogCaptureFixture) -> None:
    async def broken(user_message: UserMessage) -> None:
        raise RuntimeError("rasa is down")

    with ServedChannel(graph, responder=broken) as server:
        received = deliver(server, text_message("satu"), text_message("dua"))
        assert [m.text for m in received] == ["satu", "dua"]
    assert any("failed" in r.getMessage() and r.levelno == logging.ERROR
               for r in caplog.records)


def test_parse_webhook_ignores_statuses_only() -> None:
    payload = webhook(text_message("a"), statuses=[{"id": "x", "status": "read"}])
    assert [m.text for m in parse_webhook(payload)] == ["a"]


# -- property-based: no input produces a 500 -----------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
_field_values = _json | st.sampled_from(["text", "image", "interactive", WA_ID, "wamid.x", ""])
_message_like = st.fixed_dictionaries(
    {"from": st.sampled_from([WA_ID, "", "abc", "+62812"]) | _json,
     "id": st.text(min_size=1, max_size=30) | _json,
     "type": st.sampled_from(["text", "image", "document", "interactive", "button",
                              "location", "audio", "reaction", "zzz"]) | _json},
    optional={"text": st.fixed_dictionaries({"body": _field_values}) | _json,
              "image": st.fixed_dictionaries({"id": _field_values}) | _json,
              "interactive": st.fixed_dictionaries(
                  {"type": st.sampled_from(["button_reply", "list_reply"]) | _json,
                   "button_reply": st.fixed_dictionaries({"id": _field_values}) | _json,
                   "list_reply": st.fixed_dictionaries({"id": _field_values}) | _json}),
              "location": st.fixed_dictionaries({"latitude": _json, "longitude": _json})},
)
_webhook_like = st.builds(
    lambda messages, statuses, extra: {"entry": [{"changes": [{"value": {
        "messages": messages, "statuses": statuses, **extra}}]}]},
    st.lists(_message_like, min_size=1, max_size=3) | _json,
    _json,
    st.dictionaries(st.text(max_size=5), _json, max_size=2),
)
_bodies = st.one_of(st.binary(max_size=200), _json.map(dumps), _webhook_like.map(dumps),
                    _webhook_like.map(dumps))


class _ErrorRecords(logging.Handler):
    """Collects ERROR records of the channel (failed background work)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[tuple[ServedChannel, list[logging.LogRecord]]]:
    """One served channel for every generated example, and its ERROR log records."""
    errors = _ErrorRecords()
    channel_logger = logging.getLogger("channels.whatsapp")
    channel_logger.addHandler(errors)
    try:
        with FakeGraphApi() as fake, ServedChannel(fake) as server:
            yield server, errors.records
    finally:
        channel_logger.removeHandler(errors)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=_bodies, signed=st.booleans())
def test_no_input_produces_a_server_error(
        fuzz_server: tuple[ServedChannel, list[logging.LogRecord]], body: bytes,
        signed: bool) -> None:
    server, errors = fuzz_server
    headers = {"X-Hub-Signature-256": sign(body)} if signed else {}
    response = httpx.post(server.url, content=body, headers=headers, timeout=30)
    assert response.status_code in (200, 400, 401), response.text
    if response.status_code != 200:
        assert "error" in response.json()
    server.idle()
    assert errors == [], errors[0].getMessage()
