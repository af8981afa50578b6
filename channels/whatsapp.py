"""WhatsApp Cloud API input channel: `channels.whatsapp.WhatsAppInput` in credentials.yml.

Configuration comes from the environment (never from credentials.yml):

- WHATSAPP_VERIFY_TOKEN: the token Meta echoes in the webhook verification handshake.
- WHATSAPP_APP_SECRET: the Meta app secret; every POST must carry a valid
  `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body>`.
- WHATSAPP_ACCESS_TOKEN: the (system user) access token used to send messages.
- WHATSAPP_PHONE_NUMBER_ID: the business phone number id messages are sent from.
- WHATSAPP_API_BASE_URL: optional, default `https://graph.facebook.com/v21.0`.
- WHATSAPP_NOTIFY_TEMPLATE / WHATSAPP_NOTIFY_LANGUAGE: optional, the approved
  template for notices sent outside the 24-hour window (`WhatsAppNotifier`).

All are read through `bot.settings`. When one of the first four is missing the
channel logs one line and registers no webhook route, so Rasa still starts.
Webhook: `/webhooks/whatsapp/webhook`. The life cycle (acknowledging at once,
background handling, deduplication by message id, rate limit, evidence
storage) is `channels.webhook.WebhookChannel`'s; this module verifies the
signature, reads the Cloud API's webhook body and downloads media.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
from dataclasses import dataclass
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.ephemeral import EphemeralStore
from bot.evidence import too_large
from bot.settings import Settings
from channels.common import missing_settings
from channels.inbound import InboundGuard
from channels.rendering import ChoiceMemory
from channels.webhook import Incoming, Kind, MediaUnavailable, WebhookChannel
from channels.whatsapp_api import (
    DEFAULT_API_BASE_URL,
    GraphApiClient,
    GraphApiError,
    MediaTooLarge,
    WhatsAppOutput,
    mark_window_open,
)

logger = logging.getLogger(__name__)

CHANNEL_NAME = "whatsapp"
REQUIRED_ENV = (
    "WHATSAPP_VERIFY_TOKEN",
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_ACCESS_TOKEN",
    "WHATSAPP_PHONE_NUMBER_ID",
)

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE = re.compile(r"^sha256=([0-9a-fA-F]{64})$")
_WA_ID = re.compile(r"^\+?[0-9]{5,20}$")


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

    @classmethod
    def from_settings(cls, settings: Settings) -> tuple[WhatsAppConfig | None, list[str]]:
        """The configuration, or None and the names of the missing variables."""
        missing = missing_settings({
            "WHATSAPP_VERIFY_TOKEN": settings.whatsapp_verify_token,
            "WHATSAPP_APP_SECRET": settings.whatsapp_app_secret,
            "WHATSAPP_ACCESS_TOKEN": settings.whatsapp_access_token,
            "WHATSAPP_PHONE_NUMBER_ID": settings.whatsapp_phone_number_id,
        })
        if missing:
            return None, missing
        return cls(
            verify_token=settings.whatsapp_verify_token or "",
            app_secret=settings.whatsapp_app_secret or "",
            access_token=settings.whatsapp_access_token or "",
            phone_number_id=settings.whatsapp_phone_number_id or "",
            api_base_url=(settings.whatsapp_api_base_url or DEFAULT_API_BASE_URL).rstrip("/"),
        ), []


@dataclass(frozen=True)
class Media:
    """A media file a webhook announces: fetched with its id."""

    media_id: str
    mime_type: str | None


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


def _text(value: Any) -> str | None:
    # Not cut here: an over-long text is refused politely (channels.inbound).
    text = _str(value)
    return text.strip() if text is not None else None


def parse_message(raw: dict[str, Any]) -> Incoming | None:
    """One `value.messages[]` item; None when it lacks an id or a sender, or is empty text."""
    message_id, wa_id = _str(raw.get("id")), _str(raw.get("from"))
    if message_id is None or wa_id is None or not _WA_ID.match(wa_id):
        return None
    kind = raw.get("type") if isinstance(raw.get("type"), str) else "unknown"
    content = raw.get(kind) if isinstance(raw.get(kind), dict) else {}
    message = Incoming(key=message_id[:256], kind=Kind.UNSUPPORTED, user_id=wa_id, contact=wa_id)
    if kind == "text":
        message.kind, message.text = Kind.TEXT, _text(content.get("body"))
    elif kind == "interactive":
        reply_type = content.get("type")
        reply = content.get(reply_type) if reply_type in ("button_reply", "list_reply") else None
        if isinstance(reply, dict):
            message.kind, message.text = Kind.CHOICE, _text(reply.get("id"))
    elif kind == "button":
        message.kind = Kind.CHOICE
        message.text = _text(content.get("payload")) or _text(content.get("text"))
    elif kind in ("image", "document"):
        media_id = _str(content.get("id"))
        if media_id is not None:
            message.kind, message.text = Kind.FILE, _text(content.get("caption"))
            message.media = Media(media_id, _str(content.get("mime_type")))
    elif kind == "location":
        latitude = _coordinate(content.get("latitude"), 90.0)
        longitude = _coordinate(content.get("longitude"), 180.0)
        if latitude is not None and longitude is not None:
            message.kind, message.location = Kind.LOCATION, (latitude, longitude)
    if message.kind in (Kind.TEXT, Kind.CHOICE) and not message.text:
        return None
    return message


def parse_webhook(payload: Any) -> list[Incoming]:
    """Every message in a webhook body (`entry[].changes[].value.messages[]`).

    Status callbacks (`value.statuses`) and anything malformed are ignored.
    """
    messages: list[Incoming] = []
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


class WhatsAppInput(WebhookChannel):
    """Receives WhatsApp Cloud API webhooks and answers through the Graph API."""

    channel_name = CHANNEL_NAME
    config_class = WhatsAppConfig
    required_variables = len(REQUIRED_ENV)

    def __init__(
        self,
        config: WhatsAppConfig | None,
        client: GraphApiClient | None = None,
        store: EphemeralStore | None = None,
        guard: InboundGuard | None = None,
    ) -> None:
        super().__init__(config, store, guard)
        self.config: WhatsAppConfig | None
        self.client = client
        if self.client is None and config is not None:
            self.client = GraphApiClient(config.access_token, config.phone_number_id,
                                         config.api_base_url)
        self.memory = ChoiceMemory(self.store)

    # -- the platform -------------------------------------------------------------------

    def verify(self, request: Request) -> HTTPResponse | None:
        """The body must be signed with the app secret (X-Hub-Signature-256)."""
        assert self.config is not None
        status = signature_status(self.config.app_secret, request.body or b"",
                                  request.headers.get(SIGNATURE_HEADER))
        if status is None:
            return None
        logger.warning("WhatsApp webhook with a %s signature refused",
                       "missing or malformed" if status == 401 else "wrong")
        error = "missing signature" if status == 401 else "invalid signature"
        return response.json({"error": error}, status=status)

    def parse(self, payload: Any) -> list[Incoming]:
        """The webhook's messages (status callbacks and malformed items left out)."""
        return parse_webhook(payload)

    def output_for(self, incoming: Incoming) -> WhatsAppOutput:
        """Answers go to the sender's WhatsApp id through the Graph API."""
        assert self.client is not None
        return WhatsAppOutput(self.client, str(incoming.contact), self.memory)

    async def fetch_media(self, incoming: Incoming, limit: int) -> tuple[bytes, str | None]:
        """Download a media file (size-capped before and during the download)."""
        assert self.client is not None
        announced: Media = incoming.media
        try:
            media = await self.client.download_media(announced.media_id, limit)
        except MediaTooLarge:
            raise too_large(limit) from None
        except GraphApiError as exc:
            raise MediaUnavailable(str(exc)) from None
        return media.data, media.mime_type or announced.mime_type

    async def acknowledge(self, incoming: Incoming, sender: str) -> None:
        """Every message opens WhatsApp's 24-hour window for free-form answers."""
        await mark_window_open(self.store, sender)

    async def rasa_text(self, incoming: Incoming, sender: str) -> str | None:
        """A numbered reply ("2") stands for the payload offered under that number."""
        text = incoming.text or ""
        if incoming.kind == Kind.TEXT:
            return await self.memory.resolve(sender, text) or text
        return text

    def add_routes(self, blueprint: Blueprint) -> None:
        """Meta's verification handshake: `GET /webhook?hub.mode=subscribe&...`."""
        assert self.config is not None
        verify_token = self.config.verify_token.encode("utf-8")

        @blueprint.route("/webhook", methods=["GET"])
        async def handshake(request: Request) -> HTTPResponse:
            mode = request.args.get("hub.mode", "")
            token = request.args.get("hub.verify_token", "")
            challenge = request.args.get("hub.challenge", "")
            token_ok = hmac.compare_digest(token.encode("utf-8"), verify_token)
            if mode == "subscribe" and token_ok and challenge:
                logger.info("WhatsApp webhook verified")
                return response.text(challenge[:256], content_type="text/plain")
            logger.warning("WhatsApp webhook verification refused")
            return response.json({"error": "verification failed"}, status=403)

    async def close_platform(self) -> None:
        """Close the Graph API client."""
        if self.client is not None:
            await self.client.close()
