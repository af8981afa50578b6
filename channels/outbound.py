"""Writing to a person outside a conversation: one interface for every channel.

The reviewers' notices (a report's status changed) reach the citizen where
they reported. `outbound_for(channel)` gives the channel's `OutboundSender`,
built from `bot.settings`, or None where nobody can be reached (REST, a channel
that is not configured). The recipient is what the report store keeps
encrypted (`StatusUpdate.contact_encrypted`, decrypted with
`bot.privacy.decrypt_contact` just before sending):

- `whatsapp`: the phone number (WhatsApp id); free text inside the 24-hour
  window, else the template WHATSAPP_NOTIFY_TEMPLATE filled with the notice's
  `template_values` (ticket code, status) (`channels.whatsapp_api.WhatsAppNotifier`);
- `telegram`: the chat id; `sendMessage` (`channels.telegram_output.TelegramNotifier`);
- `webchat`: the session's sender key (`StatusUpdate.sender_key`); emitted to
  the session's room when it is connected, else kept (7 days) and shown at its
  next visit (`channels.webchat.WebNotifier`).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from typing import Protocol

from bot.ephemeral import EphemeralStore, ephemeral_store
from bot.settings import get_settings

logger = logging.getLogger(__name__)


class Delivery(str, enum.Enum):
    """What became of a notice."""

    SENT = "sent"  # handed to the platform
    QUEUED = "queued"  # kept until the person is back (web sessions)
    FAILED = "failed"  # not sent (blocked bot, no template outside the window, API error)


class OutboundSender(Protocol):
    """Sends text to one person on one channel, outside any conversation."""

    channel: str

    async def send_text(self, recipient: str, text: str,
                        template_values: Sequence[str] = ()) -> Delivery:
        """Send `text` (plain, any length) to `recipient`; never raises for delivery failures.

        `template_values` are the few short values a channel that may only send a
        pre-approved template at this moment fills it with (WhatsApp outside the
        24-hour window: the ticket code and the status); other channels ignore them.
        """
        ...

    async def close(self) -> None:
        """Release the sender's clients."""
        ...


def outbound_for(channel: str, store: EphemeralStore | None = None) -> OutboundSender | None:
    """The sender for an input channel name; None when that channel cannot reach anyone."""
    settings = get_settings()
    store = store if store is not None else ephemeral_store()
    if channel == "whatsapp":
        from channels.whatsapp import WhatsAppConfig
        from channels.whatsapp_api import GraphApiClient, WhatsAppNotifier

        config, _ = WhatsAppConfig.from_settings(settings)
        if config is None:
            return None
        client = GraphApiClient(config.access_token, config.phone_number_id, config.api_base_url)
        return WhatsAppNotifier(client, store, settings.whatsapp_notify_template,
                                settings.whatsapp_notify_language)
    if channel == "telegram":
        from channels.telegram import TelegramConfig, make_bot, quiet_library_loggers
        from channels.telegram_output import TelegramNotifier

        config, _ = TelegramConfig.from_settings(settings)
        if config is None:
            return None
        quiet_library_loggers()
        return TelegramNotifier(make_bot(config), store)
    if channel == "webchat":
        from channels.webchat import WebNotifier, redis_emitter

        return WebNotifier(store, redis_emitter(settings.redis_url))
    logger.info("No outbound sender for channel %s", channel)
    return None
