"""The REST channel for development and tests, with nothing taken on trust.

`channels.rest.RestInput` in credentials.yml replaces Rasa's `rest:` channel
at the same URL (`POST /webhooks/rest/webhook {"sender": "...", "message": "..."}`),
with these differences, because nobody is verified on this channel:

- the input channel is always `rest`, whatever the body says, and the body's
  `metadata` is ignored (no contact token, evidence, location or attestation
  can be smuggled in); the action server keys such a sender as `rest`;
- a sender id that looks like a pseudonym (`psn_...`) is refused, so a REST
  conversation can never be written into a WhatsApp/Telegram/web conversation;
- text is capped and senders are rate-limited like on every channel;
- a malformed body gets HTTP 400 with a JSON error;
- in production (`LAPOR_ENV=production`) the channel answers 404 unless
  `REST_ENABLED=1`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import server_hooks
from bot.privacy import PSEUDONYM_PREFIX
from bot.settings import get_settings
from channels.inbound import InboundGuard

logger = logging.getLogger(__name__)

CHANNEL = "rest"
_SENDER = re.compile(r"^[A-Za-z0-9_.:@+-]{1,128}$")


def _error(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)


class RestInput(InputChannel):
    """Rasa's REST protocol without trusting the body's channel or metadata."""

    @classmethod
    def name(cls) -> str:
        """The channel name, also the URL prefix (/webhooks/rest/)."""
        return CHANNEL

    def __init__(self, guard: InboundGuard | None = None) -> None:
        self.guard = guard or InboundGuard(scope=CHANNEL)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """`GET /` (health) and `POST /webhook` (one message, the replies as a JSON list)."""
        webhook = Blueprint(f"rest_webhook_{id(self)}", __name__)
        server_hooks.install(webhook)
        enabled = get_settings().rest_enabled
        if not enabled:
            logger.info("The REST channel is off (production); set REST_ENABLED=1 to enable it")

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            if not enabled:
                return _error(404, "the REST channel is disabled")
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not enabled:
                return _error(404, "the REST channel is disabled")
            try:
                body = request.json
            except Exception:  # noqa: BLE001 - any unparsable body is the client's error
                body = None
            if not isinstance(body, dict):
                return _error(400, "the body must be a JSON object")
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not _SENDER.match(sender):
                return _error(400, "sender must be 1-128 letters, digits or _.:@+-")
            if sender.startswith(PSEUDONYM_PREFIX):
                return _error(400, "sender ids starting with psn_ are reserved")
            if not isinstance(text, str):
                return _error(400, "message must be a string")
            verdict = await self.guard.check(sender, text)
            if not verdict.accept:
                too_long = len(text) > self.guard.max_chars
                return response.json(
                    {"error": "message too long" if too_long else "too many messages",
                     "message": verdict.reply},
                    status=413 if too_long else 429)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=CHANNEL,
                                                 metadata=None))
            except Exception as exc:  # noqa: BLE001 - the client is told to retry
                # Unlike Rasa's REST channel (200 with whatever was said), a failed
                # turn is a 503: a client can retry, and nothing looks answered.
                logger.error("REST message handling failed: %s", type(exc).__name__,
                             exc_info=exc)
                return _error(503, "the assistant could not handle the message; retry")
            return response.json(collector.messages)

        return webhook
