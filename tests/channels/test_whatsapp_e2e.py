"""End to end: a signed WhatsApp webhook to the real assistant, replies at the fake Graph API."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.privacy import is_sender_key
from tests.channels.whatsapp_support import (
    APP_SECRET,
    VERIFY_TOKEN,
    WA_ID,
    dumps,
    message,
    sign,
    text_message,
    webhook,
)
from tests.fakes.graph_api import FakeGraphApi
from tests.integration.servers import Assistant, running_assistant


@pytest.fixture(scope="module")
def graph() -> Iterator[FakeGraphApi]:
    """The fake Graph API the assistant sends its replies to."""
    with FakeGraphApi() as fake:
        yield fake


@pytest.fixture(scope="module")
def assistant(trained_model: Path, tmp_path_factory: pytest.TempPathFactory,
              graph: FakeGraphApi) -> Iterator[Assistant]:
    """The real action server and Rasa server with the REST and WhatsApp channels."""
    work = tmp_path_factory.mktemp("whatsapp-assistant")
    credentials = work / "credentials.yml"
    credentials.write_text("channels.rest.RestInput:\nchannels.whatsapp.WhatsAppInput:\n")
    env = {
        "VAR_DIR": str(work / "var"),
        "DATABASE_URL": f"sqlite:///{work / 'reports.db'}",
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_ACCESS_TOKEN": graph.access_token,
        "WHATSAPP_PHONE_NUMBER_ID": graph.phone_number_id,
        "WHATSAPP_API_BASE_URL": graph.base_url,
    }
    with running_assistant(trained_model, work, env, credentials=credentials) as running:
        yield running


def _post(assistant: Assistant, payload: dict) -> httpx.Response:
    body = dumps(payload)
    return httpx.post(f"{assistant.rasa_url}/webhooks/whatsapp/webhook", content=body,
                      headers={"Content-Type": "application/json",
                               "X-Hub-Signature-256": sign(body)}, timeout=30)


@pytest.mark.slow
def test_signed_halo_gets_buttons_at_the_graph_api(assistant: Assistant,
                                                   graph: FakeGraphApi) -> None:
    url = f"{assistant.rasa_url}/webhooks/whatsapp/webhook"
    handshake = httpx.get(url, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                       "hub.challenge": "42"})
    assert handshake.text == "42"
    forged = httpx.post(url, content=b"{}", headers={"X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert forged.status_code == 403

    response = _post(assistant, webhook(text_message("halo")))
    assert response.status_code == 200, assistant.logs()
    try:
        sent = graph.wait_for_messages(1)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{assistant.logs()}") from None
    interactive = [m for m in sent if m["type"] == "interactive"]
    assert interactive, sent
    assert all(m["to"] == WA_ID for m in sent)
    reply = interactive[0]["interactive"]
    assert reply["type"] == "button"
    ids = [b["reply"]["id"] for b in reply["action"]["buttons"]]
    assert "/report_violation" in ids

    # Pressing a reply button sends its id to Rasa as the payload.
    before = len(graph.sent_messages())
    press = message("interactive", {"type": "button_reply",
                                    "button_reply": {"id": "/ask_rules",
                                                     "title": "Tanya aturan"}})
    assert _post(assistant, webhook(press)).status_code == 200
    graph.wait_for_messages(before + 1)

    # Rasa only ever saw the pseudonymous key, and no log shows the number.
    with sqlite3.connect(assistant.log_dir / "tracker.db") as db:
        senders = {row[0] for row in db.execute("SELECT DISTINCT sender_id FROM events")}
    assert senders and all(is_sender_key(s) for s in senders), senders
    for name in ("rasa.log", "actions.log"):
        assert WA_ID not in (assistant.log_dir / name).read_text(errors="replace")
