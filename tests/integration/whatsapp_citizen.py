"""A citizen on WhatsApp for end-to-end tests: signed webhooks into the running
assistant, the bot's answers read back from the fake Graph API. Every wait is bounded
(a guard against hangs, never a measurement)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from tests.channels.whatsapp_support import dumps, sign, webhook
from tests.channels.whatsapp_support import message as whatsapp_message
from tests.channels.whatsapp_support import text_message as whatsapp_text
from tests.fakes.graph_api import FakeGraphApi


def settled(count: Callable[[], int], before: int, quiet: float = 1.5,
            timeout: float = 120) -> None:
    """Wait for the bot's answer to one message: at least one new reply, then none for
    `quiet` seconds (a turn may send several messages)."""
    deadline = time.monotonic() + timeout
    last, changed = before, time.monotonic()
    while time.monotonic() < deadline:
        now = count()
        if now != last:
            last, changed = now, time.monotonic()
        if last > before and time.monotonic() - changed >= quiet:
            return
        time.sleep(0.1)
    raise AssertionError("the bot did not answer")


def button(payload: str, wa_id: str) -> dict:
    """The message item of a tapped reply button."""
    return whatsapp_message("interactive", {"type": "button_reply", "button_reply": {
        "id": payload, "title": payload}}, wa_id=wa_id)


@dataclass
class WhatsAppCitizen:
    """One person on WhatsApp talking to the assistant at `rasa_url`."""

    rasa_url: str
    graph: FakeGraphApi
    wa_id: str

    def mine(self) -> list[dict]:
        """Everything the bot sent this person so far."""
        return [m for m in self.graph.sent_messages() if m.get("to") == self.wa_id]

    def deliver(self, item: dict) -> int:
        """Post one message item as a signed webhook; how many answers came before it."""
        before = len(self.mine())
        body = dumps(webhook(item, wa_id=self.wa_id))
        answer = httpx.post(f"{self.rasa_url}/webhooks/whatsapp/webhook", content=body,
                            timeout=30, headers={"Content-Type": "application/json",
                                                 "X-Hub-Signature-256": sign(body)})
        assert answer.status_code == 200, answer.text[:500]
        return before

    def send(self, item: dict) -> str:
        """Deliver one message item; return the bot's answers to it (JSON text)."""
        before = self.deliver(item)
        settled(lambda: len(self.mine()), before)
        return json.dumps(self.mine()[before:], ensure_ascii=False)

    def text(self, body: str) -> str:
        """Type a message; the bot's answers."""
        return self.send(whatsapp_text(body, wa_id=self.wa_id))

    def press(self, payload: str) -> str:
        """Tap a reply button; the bot's answers."""
        return self.send(button(payload, self.wa_id))
