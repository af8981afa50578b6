"""WhatsApp Cloud API input channel: `channels.whatsapp.WhatsAppInput` in credentials.yml.

Configuration comes from the environment (never from credentials.yml):

- WHATSAPP_VERIFY_TOKEN: the token Meta echoes in the webhook verification handshake.
- WHATSAPP_APP_SECRET: the Meta app secret; every POST must carry a valid
  `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body>`.
- WHATSAPP_ACCESS_TOKEN: the (system user) access token used to send messages.
- WHATSAPP_PHONE_NUMBER_ID: the business phone number id messages are sent from.
- WHATSAPP_API_BASE_URL: optional, default `https://graph.facebook.com/v21.0`.

When one of the first four is missing the channel logs one line and registers
no webhook route, so Rasa still starts. Webhook: `/webhooks/whatsapp/webhook`.
Every POST is acknowledged at once; its messages are handled in a background
task (deduplicated by message id, media downloaded and stored as evidence).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.evidence import (
    EvidenceFile,
    EvidenceRejected,
    max_evidence_bytes,
    save_evidence,
    too_large,
)
from channels.common import (
    EVIDENCE_PAYLOAD,
    LOCATION_PAYLOAD,
    UNSUPPORTED_PAYLOAD,
    env_values,
    log_skipped,
    message_metadata,
    pseudonymous_sender,
)
from channels.dedup import Deduplicator, make_deduplicator
from channels.inbound import InboundGuard
from channels.rendering import ChoiceMemory
from channels.whatsapp_api import (
    DEFAULT_API_BASE_URL,
    GraphApiClient,
    GraphApiError,
    MediaTooLarge,
    WhatsAppOutput,
)

logger = logging.getLogger(__name__)

CHANNEL_NAME = "whatsapp"
REQUIRED_ENV = (
    "WHATSAPP_VERIFY_TOKEN",
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_ACCESS_TOKEN",
    "WHATSAPP_PHONE_NUMBER_ID",
)
BASE_URL_ENV = "WHATSAPP_API_BASE_URL"

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE = re.compile(r"^sha256=([0-9a-fA-F]{64})$")
_WA_ID = re.compile(r"^\+?[0-9]{5,20}$")

UNSUPPORTED_TYPES = frozenset(
    {"audio", "sticker", "video", "contacts", "reaction", "unknown", "unsupported", "order"}
)

MEDIA_FAILED_TEXT = (
    "Maaf, berkas Anda belum berhasil kami terima. Silakan kirim ulang sebentar lagi, ya."
)


@dataclass
class WhatsAppConfig:
    """The channel's settings (secrets included: never log this object)."""

    verify_token: str
    app_secret: str
    access_token: str
    phone_number_id: str
    api_base_url: str = DEFAULT_API_BASE_URL

    def __repr__(self) -> str:
        return f"WhatsAppConfig(phone_number_id=***, api_base_url={self.api_base_url!r})"


@dataclass
class IncomingMessage:
    """One WhatsApp message, parsed from a webhook, before it goes to Rasa."""

    message_id: str
    wa_id: str
    kind: str
    text: str | None = None
    media_id: str | None = None
    mime_type: str | None = None
    location: tuple[float, float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def signature_status(app_secret: str, body: bytes, header: str | None) -> int | None:
    """None when the body is signed with `app_secret`; else the HTTP status to answer.

    401 when the header is missing or malformed, 403 when it does not match or
    no secret is configured (fail closed).
    """
    match = _SIGNATURE.match((header or "").strip())
    if match is None:
        return 401
    if not app_secret:
        return 403
    expected = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    if hmac.compare_digest(expected, match.group(1).lower()):
        return None
    return 403


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The dict items of a list (anything else: empty)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _coordinate(value: Any, bound: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and -bound <= number <= bound else None


def parse_message(raw: dict[str, Any]) -> IncomingMessage | None:
    """Parse one `value.messages[]` item; None when it lacks an id or a sender."""
    message_id, wa_id = _str(raw.get("id")), _str(raw.get("from"))
    if message_id is None or wa_id is None or not _WA_ID.match(wa_id):
        return None
    kind = raw.get("type") if isinstance(raw.get("type"), str) else "unknown"
    content = raw.get(kind) if isinstance(raw.get(kind), dict) else {}
    message = IncomingMessage(message_id=message_id[:256], wa_id=wa_id, kind=kind)
    if kind == "text":
        message.text = _str(content.get("body"))
    elif kind == "interactive":
        reply_type = content.get("type")
        if reply_type in ("button_reply", "list_reply") and isinstance(content.get(reply_type),
                                                                        dict):
            message.text = _str(content[reply_type].get("id"))
            message.kind = reply_type
        else:
            message.kind = "unsupported"
    elif kind == "button":
        message.text = _str(content.get("payload")) or _str(content.get("text"))
    elif kind in ("image", "document"):
        message.media_id = _str(content.get("id"))
        message.mime_type = _str(content.get("mime_type"))
        message.text = _str(content.get("caption"))
        if message.media_id is None:
            message.kind = "unsupported"
    elif kind == "location":
        latitude = _coordinate(content.get("latitude"), 90.0)
        longitude = _coordinate(content.get("longitude"), 180.0)
        if latitude is None or longitude is None:
            message.kind = "unsupported"
        else:
            message.location = (latitude, longitude)
    else:
        message.kind = "unsupported"
    if message.text is not None:
        # Not cut here: an over-long text is refused politely (channels.inbound).
        message.text = message.text.strip()
    return message


def parse_webhook(payload: Any) -> list[IncomingMessage]:
    """Every message in a webhook body (`entry[].changes[].value.messages[]`).

    Status callbacks (`value.statuses`) and anything malformed are ignored.
    """
    messages: list[IncomingMessage] = []
    if not isinstance(payload, dict):
        return messages
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if not isinstance(value, dict):
                continue
            for raw in _dicts(value.get("messages")):
                parsed = parse_message(raw)
                if parsed is not None:
                    messages.append(parsed)
    return messages


class WhatsAppInput(InputChannel):
    """Receives WhatsApp Cloud API webhooks and answers through the Graph API."""

    @classmethod
    def name(cls) -> str:
        """The channel name, also the webhook prefix (/webhooks/whatsapp/)."""
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WhatsAppInput:
        """Build the channel from the environment; disabled (no route) when incomplete."""
        values, missing = env_values(REQUIRED_ENV)
        if missing:
            log_skipped(CHANNEL_NAME, missing, len(REQUIRED_ENV))
            return cls(None)
        base_values, _ = env_values([BASE_URL_ENV])
        config = WhatsAppConfig(
            verify_token=values["WHATSAPP_VERIFY_TOKEN"],
            app_secret=values["WHATSAPP_APP_SECRET"],
            access_token=values["WHATSAPP_ACCESS_TOKEN"],
            phone_number_id=values["WHATSAPP_PHONE_NUMBER_ID"],
            api_base_url=base_values.get(BASE_URL_ENV, DEFAULT_API_BASE_URL).rstrip("/"),
        )
        return cls(config)

    def __init__(
        self,
        config: WhatsAppConfig | None,
        client: GraphApiClient | None = None,
        deduplicator: Deduplicator | None = None,
        memory: ChoiceMemory | None = None,
        guard: InboundGuard | None = None,
    ) -> None:
        self.config = config
        self.guard = guard or InboundGuard()
        self.client = client
        if self.client is None and config is not None:
            self.client = GraphApiClient(config.access_token, config.phone_number_id,
                                         config.api_base_url)
        self._deduplicator = deduplicator
        self.memory = memory if memory is not None else ChoiceMemory()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        """True when the channel is configured and serves its webhook."""
        return self.config is not None

    def get_output_channel(self) -> OutputChannel | None:
        """None: Rasa's sender keys are pseudonymous, so there is no address to send to."""
        return None

    async def wait_idle(self) -> None:
        """Wait until every background webhook task has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _deduplicator_instance(self) -> Deduplicator:
        if self._deduplicator is None:
            self._deduplicator = make_deduplicator()
        return self._deduplicator

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """The webhook routes (none when the channel is not configured)."""
        webhook = Blueprint(f"whatsapp_webhook_{id(self)}", __name__)
        if self.config is None:
            return webhook
        config = self.config

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            mode = request.args.get("hub.mode", "")
            token = request.args.get("hub.verify_token", "")
            challenge = request.args.get("hub.challenge", "")
            token_ok = hmac.compare_digest(token.encode("utf-8"),
                                           config.verify_token.encode("utf-8"))
            if mode == "subscribe" and token_ok and challenge:
                logger.info("WhatsApp webhook verified")
                return response.text(challenge[:256], content_type="text/plain")
            logger.warning("WhatsApp webhook verification refused")
            return response.json({"error": "verification failed"}, status=403)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.body or b""
            status = signature_status(config.app_secret, body,
                                      request.headers.get(SIGNATURE_HEADER))
            if status is not None:
                logger.warning("WhatsApp webhook with a %s signature refused",
                               "missing or malformed" if status == 401 else "wrong")
                error = "missing signature" if status == 401 else "invalid signature"
                return response.json({"error": error}, status=status)
            try:
                payload = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                return response.json({"error": "malformed JSON"}, status=400)
            messages = parse_webhook(payload)
            if messages:
                self._start(self._handle_all(messages, on_new_message))
            return response.json({"status": "ok"})

        @webhook.listener("after_server_stop")
        async def close_client(app: Any, loop: Any) -> None:
            if self.client is not None:
                await self.client.close()

        return webhook

    def _start(self, work: Awaitable[None]) -> None:
        """Run `work` in the background, keeping a reference and logging failures."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            logger.error("WhatsApp message handling failed: %s", type(exc).__name__,
                         exc_info=exc)

    async def _handle_all(
        self, messages: list[IncomingMessage],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        """Handle a webhook's messages in order; one failure does not stop the others."""
        for message in messages:
            try:
                await self.handle_message(message, on_new_message)
            except Exception as exc:  # noqa: BLE001 - logged, next message still handled
                logger.error("WhatsApp message (%s) failed: %s", message.kind,
                             type(exc).__name__, exc_info=exc)

    async def handle_message(
        self, message: IncomingMessage,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        """Deduplicate, resolve choices and media, then hand one message to Rasa."""
        if not await self._deduplicator_instance().first_time(f"whatsapp:{message.message_id}"):
            logger.info("Duplicate WhatsApp message ignored")
            return
        if self.client is None:
            raise RuntimeError("WhatsApp channel is not configured")
        sender = pseudonymous_sender(CHANNEL_NAME, message.wa_id)
        output = WhatsAppOutput(self.client, message.wa_id, self.memory)
        verdict = self.guard.check(sender, message.text)
        if not verdict.accept:
            if verdict.reply:
                await output.send_text_message(sender, verdict.reply)
            return
        evidence: list[EvidenceFile] = []
        text: str | None
        if message.kind == "text":
            if not message.text:
                return
            text = self.memory.resolve(sender, message.text) or message.text
        elif message.kind in ("button_reply", "list_reply", "button"):
            if not message.text:
                return
            text = message.text
        elif message.kind in ("image", "document"):
            stored = await self._fetch_evidence(message, output, sender)
            if stored is None:
                return
            evidence.append(stored)
            text = message.text or EVIDENCE_PAYLOAD
        elif message.kind == "location":
            text = LOCATION_PAYLOAD
        else:
            text = UNSUPPORTED_PAYLOAD
        metadata = message_metadata(CHANNEL_NAME, sender, raw_contact=message.wa_id,
                                    evidence=evidence, location=message.location)
        logger.debug("WhatsApp %s message", message.kind)
        await on_new_message(UserMessage(text, output, sender, input_channel=CHANNEL_NAME,
                                         metadata=metadata))

    async def _fetch_evidence(self, message: IncomingMessage, output: WhatsAppOutput,
                              sender: str) -> EvidenceFile | None:
        """Download and store a file; on failure tell the citizen why and return None."""
        assert self.client is not None and message.media_id is not None
        limit = max_evidence_bytes()
        try:
            media = await self.client.download_media(message.media_id, limit)
            return await asyncio.get_running_loop().run_in_executor(
                None, save_evidence, media.data, media.mime_type or message.mime_type
            )
        except MediaTooLarge:
            logger.info("WhatsApp %s over the size limit", message.kind)
            reply = too_large(limit).message_id
        except EvidenceRejected as exc:
            logger.info("WhatsApp %s rejected: %s", message.kind, exc.reason)
            reply = exc.message_id
        except GraphApiError as exc:
            logger.warning("WhatsApp media could not be fetched: %s", exc)
            reply = MEDIA_FAILED_TEXT
        await output.send_text_message(sender, reply)
        return None
