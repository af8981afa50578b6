"""Sending Rasa's responses to a Telegram chat (python-telegram-bot's `Bot`).

- Text is sent without a parse mode: Telegram shows it exactly as written, so
  nothing needs escaping and no response can fail with "can't parse entities".
- Buttons become an inline keyboard, one button per row (titles stay readable
  on a phone). `callback_data` holds at most 64 bytes: a longer payload is sent
  as a short token (`~t:...`, a hash of the payload) that `CallbackPayloads`
  maps back to the payload through the ephemeral store (`callback:<token>`,
  7 days), so any Rasa process can read a button another one sent.
- Text longer than 4096 characters is split (`channels.rendering.split_text`);
  the keyboard goes with the last part.
- Images are sent with `sendPhoto` (falling back to the link as text).
- 429 answers are retried after `retry_after` seconds (capped), 5xx and network
  errors with a short backoff, a few times; other errors are logged, not raised,
  so one failed message does not stop the next ones.

`TelegramNotifier` writes to a chat outside a conversation (`OutboundSender`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from rasa.core.channels.channel import OutputChannel
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.channel_messages import channel_message
from bot.ephemeral import EphemeralStore, ephemeral_store
from bot.privacy import redact
from channels.outbound import Delivery
from channels.rendering import button_payload, split_text, truncate

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTON_TITLE = 64
TOKEN_PREFIX = "~t:"  # noqa: S105 - marks a callback_data token
MAX_ATTEMPTS = 4
MAX_RETRY_AFTER_SECONDS = 30.0
BACKOFF_SECONDS = (0.5, 1.0, 2.0)


class CallbackPayloads:
    """Maps button payloads too long for `callback_data` to short tokens (expiring)."""

    def __init__(self, store: EphemeralStore | None = None,
                 ttl_seconds: float = 7 * 24 * 3600) -> None:
        self.store = store if store is not None else ephemeral_store()
        self._ttl = ttl_seconds

    async def encode(self, payload: str) -> str:
        """The `callback_data` for `payload`: itself when it fits, else a remembered token."""
        if (payload and len(payload.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                and not payload.startswith(TOKEN_PREFIX)):
            return payload
        digest = hashlib.blake2b(payload.encode("utf-8"), digest_size=12).digest()
        token = TOKEN_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")
        await self.store.put(f"callback:{token}", payload, self._ttl)
        return token

    async def decode(self, data: str) -> str | None:
        """The payload behind `callback_data`; None for an unknown or expired token."""
        if not data.startswith(TOKEN_PREFIX):
            return data
        return await self.store.get(f"callback:{data}")


async def call_with_retries(call: Callable[[], Awaitable[T]], what: str) -> T:
    """Run a Bot API call, retrying on 429 (after `retry_after`) and on 5xx/network errors.

    Raises the last error when every attempt failed, and at once for errors that
    a retry cannot fix (bad request, forbidden, invalid token).
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return await call()
        except RetryAfter as exc:
            if attempt == MAX_ATTEMPTS:
                raise
            wait = min(float(exc.retry_after), MAX_RETRY_AFTER_SECONDS)
            logger.warning("Telegram %s rate-limited; retrying in %.0f s", what, wait)
            await asyncio.sleep(wait)
        except (BadRequest, Forbidden):
            raise
        except NetworkError as exc:
            if attempt == MAX_ATTEMPTS:
                raise
            wait = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS)) - 1]
            logger.warning("Telegram %s failed (%s); retrying in %.1f s", what,
                           type(exc).__name__, wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


async def inline_keyboard(buttons: list[dict[str, Any]],
                          payloads: CallbackPayloads) -> InlineKeyboardMarkup | None:
    """Rasa buttons as an inline keyboard, one button per row (URL buttons open links)."""
    rows: list[list[InlineKeyboardButton]] = []
    for button in buttons:
        title = truncate(str(button.get("title") or button_payload(button)), MAX_BUTTON_TITLE)
        if not title:
            continue
        url = button.get("url")
        if button.get("type") == "web_url" and isinstance(url, str) and url:
            rows.append([InlineKeyboardButton(title, url=url)])
            continue
        payload = button_payload(button)
        if not payload:
            continue
        rows.append([InlineKeyboardButton(title, callback_data=await payloads.encode(payload))])
    return InlineKeyboardMarkup(rows) if rows else None


class TelegramOutput(OutputChannel):
    """Sends the assistant's responses to one Telegram chat.

    Rasa's `recipient_id` is the pseudonymous sender key; the chat id needed by
    Telegram is kept here and never given to Rasa.
    """

    @classmethod
    def name(cls) -> str:
        """The channel name Rasa records."""
        return "telegram"

    def __init__(self, bot: Bot, chat_id: int, payloads: CallbackPayloads) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._payloads = payloads

    async def _send(self, what: str, call: Callable[[], Awaitable[Any]]) -> bool:
        try:
            await call_with_retries(call, what)
            return True
        except Forbidden:
            logger.info("Telegram chat %s cannot be reached (bot blocked?)",
                        redact(self._chat_id))
        except TelegramError as exc:
            logger.error("Telegram %s to chat %s failed: %s", what, redact(self._chat_id),
                         type(exc).__name__)
        return False

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send text, split into parts of at most 4096 characters, without a parse mode."""
        await self.send_parts(text, None)

    async def send_parts(self, text: str, markup: InlineKeyboardMarkup | None) -> bool:
        """Send text in parts, the keyboard with the last; False when a part failed."""
        parts = split_text(text or "", MAX_MESSAGE_LENGTH)
        if not parts and markup is not None:
            parts = [channel_message("choose_prompt")]
        for index, part in enumerate(parts):
            keyboard = markup if index == len(parts) - 1 else None

            async def send(part: str = part,
                           keyboard: InlineKeyboardMarkup | None = keyboard) -> Any:
                return await self._bot.send_message(chat_id=self._chat_id, text=part,
                                                    reply_markup=keyboard)

            if not await self._send("sendMessage", send):
                return False
        return bool(parts)

    async def send_text_with_buttons(self, recipient_id: str, text: str,
                                     buttons: list[dict[str, Any]], **kwargs: Any) -> None:
        """Send text with the buttons as an inline keyboard."""
        await self.send_parts(text, await inline_keyboard(buttons, self._payloads))

    async def send_quick_replies(self, recipient_id: str, text: str,
                                 quick_replies: list[dict[str, Any]], **kwargs: Any) -> None:
        """Quick replies are shown as inline keyboard buttons too."""
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Send a picture by URL; fall back to the link as text if Telegram refuses it."""

        async def send() -> Any:
            return await self._bot.send_photo(chat_id=self._chat_id, photo=image)

        try:
            await call_with_retries(send, "sendPhoto")
        except BadRequest as exc:
            logger.warning("Telegram refused the image (%s); sending its link", exc.message)
            await self.send_text_message(recipient_id, image)
        except TelegramError as exc:
            logger.error("Telegram sendPhoto to chat %s failed: %s", redact(self._chat_id),
                         type(exc).__name__)

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        """Attachments are sent as their link or text."""
        if isinstance(attachment, str) and attachment.strip():
            await self.send_text_message(recipient_id, attachment)
        else:
            logger.info("Telegram: non-text attachment response skipped")

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any],
                               **kwargs: Any) -> None:
        """Custom payloads are not shown to citizens (only their "text", if any)."""
        text = json_message.get("text") if isinstance(json_message, dict) else None
        if isinstance(text, str) and text.strip():
            await self.send_text_message(recipient_id, text)
        else:
            logger.info("Telegram: custom response without text skipped")


class TelegramNotifier:
    """Sends a notice to a Telegram chat outside a conversation (`OutboundSender`)."""

    channel = "telegram"

    def __init__(self, bot: Bot, store: EphemeralStore | None = None) -> None:
        self._bot = bot
        self._payloads = CallbackPayloads(store)

    async def send_text(self, recipient: str, text: str,
                        template_values: Sequence[str] = ()) -> Delivery:
        """Send `text` to the chat id `recipient` (Telegram needs no template)."""
        try:
            chat_id = int(recipient)
        except ValueError:
            logger.warning("Telegram notice not sent: the recipient is not a chat id")
            return Delivery.FAILED
        sent = await TelegramOutput(self._bot, chat_id, self._payloads).send_parts(text, None)
        return Delivery.SENT if sent else Delivery.FAILED

    async def close(self) -> None:
        """Close the Bot API client."""
        await self._bot.request.shutdown()
