"""What every channel connector shares: configuration, identity, message metadata.

The contract between connectors and the action server:

- The sender id Rasa sees is `bot.privacy.sender_key(channel, raw_id)`, never
  a phone number or a Telegram id. The raw id stays inside the connector.
- The message metadata (attestation, encrypted contact, evidence, location) is
  the typed contract `bot.channel_metadata.ChannelMetadata`; `message_metadata`
  below builds it. The action server trusts it only with a valid attestation,
  and the tracker store drops the contact token before it stores an event.
- Text sent to Rasa: the user's text; the button payload for a button reply;
  `EVIDENCE_PAYLOAD` for a file without caption (the caption otherwise);
  `LOCATION_PAYLOAD` for a location; `UNSUPPORTED_PAYLOAD` for anything else
  (stickers, voice notes, ...), which the assistant answers politely.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channel_metadata import ChannelMetadata
from bot.evidence import EvidenceFile
from bot.privacy import sender_key
from bot.settings import get_settings

logger = logging.getLogger(__name__)

EVIDENCE_PAYLOAD = "/send_evidence"
LOCATION_PAYLOAD = "/share_location"
UNSUPPORTED_PAYLOAD = "/unsupported_message"


def missing_settings(required: Mapping[str, str | None]) -> list[str]:
    """The variable names among `required` (name -> value from `bot.settings`) not set."""
    return [name for name, value in required.items() if not value]


def log_skipped(channel: str, missing: list[str], required: int | None = None) -> None:
    """The one log line for a channel left off because its configuration is missing.

    In production a half-configured channel (some of its `required` variables
    set, not all) stops the server instead (see channels/preflight.py).
    """
    if required is not None and 0 < len(missing) < required and get_settings().production:
        raise RuntimeError(f"Channel {channel} is half-configured: set {', '.join(missing)} "
                           "or none of its variables (LAPOR_ENV=production)")
    logger.info("Channel %s is not enabled: set %s to enable it.", channel, ", ".join(missing))


def pseudonymous_sender(channel: str, raw_id: str | int) -> str:
    """The sender id given to Rasa for a channel's user (a keyed hash)."""
    return sender_key(channel, raw_id)


def message_metadata(
    channel: str,
    sender: str,
    raw_contact: str | int | None = None,
    evidence: Iterable[EvidenceFile] = (),
    location: tuple[float, float] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Build `UserMessage.metadata` following the contract above
    (`bot.channel_metadata.ChannelMetadata`, whose `to_dict()` this returns).

    `channel` is the input channel name (`InputChannel.name()`) and `sender` the
    pseudonymous sender id given to Rasa: together they are attested.
    """
    return ChannelMetadata.attested(channel, sender, raw_contact=raw_contact,
                                    evidence=evidence, location=location,
                                    extra=extra).to_dict()


async def read_at_most(chunks: AsyncIterable[bytes], limit: int) -> bytes | None:
    """The bytes of a stream, or None as soon as they grow past `limit` (reading stops)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


def add_health_route(blueprint: Blueprint, path: str = "/") -> None:
    """`GET <path>` answering `{"status": "ok"}` (load balancers, smoke tests)."""

    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    blueprint.add_route(health, path, methods=["GET"], name=f"health_{blueprint.name}")
