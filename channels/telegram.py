"""Telegram input channel (Bot API webhook, python-telegram-bot).

Enabled in credentials.yml as `channels.telegram.TelegramInput:` (no parameters);
configuration comes from the environment:

- TELEGRAM_BOT_TOKEN (required): the token from @BotFather.
- TELEGRAM_SECRET_TOKEN (required): 1-256 characters `A-Z a-z 0-9 _ -`; Telegram
  sends it in `X-Telegram-Bot-Api-Secret-Token` and requests without it are refused.
- TELEGRAM_WEBHOOK_URL (optional): when set, `setWebhook` is called at start-up
  with the secret token and the update types handled here.
- TELEGRAM_API_BASE_URL (optional, default https://api.telegram.org).

Webhook: POST /webhooks/telegram/webhook. The request is checked and answered at
once; the update is handled in a background task. Each update_id is handled once
(`channels.dedup`). Only private chats are served: in a group the bot says once
(per deduplication window) that it only talks privately, and ignores the rest.

What Rasa receives (see channels/common.py): "/start" -> "/greet"; text; the
payload of a pressed inline button; photos (largest size under the limit) and
documents as evidence with their caption as text (or EVIDENCE_PAYLOAD);
locations as LOCATION_PAYLOAD; anything else as UNSUPPORTED_PAYLOAD. The sender
id is the pseudonymous key of the Telegram user id; the chat id only travels
encrypted in `metadata["contact_token"]`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot, CallbackQuery, Message, PhotoSize, Update
from telegram.error import BadRequest, TelegramError
from telegram.request import HTTPXRequest

from bot.evidence import (
    EvidenceFile,
    EvidenceRejected,
    max_evidence_bytes,
    save_evidence,
    too_large,
)
from bot.privacy import redact, sender_key
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
from channels.telegram_output import CallbackPayloads, TelegramOutput, call_with_retries

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
ENV_TOKEN = "TELEGRAM_BOT_TOKEN"  # noqa: S105 - a variable name
ENV_SECRET = "TELEGRAM_SECRET_TOKEN"  # noqa: S105 - a variable name
ENV_WEBHOOK_URL = "TELEGRAM_WEBHOOK_URL"
ENV_API_BASE_URL = "TELEGRAM_API_BASE_URL"
DEFAULT_API_BASE_URL = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
ALLOWED_UPDATES = ["message", "callback_query"]
START_COMMAND = "/start"
GREET_PAYLOAD = "/greet"
DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
SHUTDOWN_GRACE_SECONDS = 10.0
TOKEN_PATTERN = re.compile(r"^(\d+):[A-Za-z0-9_-]{20,}$")
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

GROUP_NOTICE = ("Maaf, layanan pelaporan ini hanya melayani percakapan pribadi. "
                "Silakan kirim pesan langsung kepada saya, ya. 🙏")
EXPIRED_CHOICE = ("Maaf, pilihan ini sudah tidak berlaku. Silakan ketik pesan Anda "
                  "atau ketik /start untuk kembali ke menu.")
DOWNLOAD_FAILED = ("Maaf, berkas Anda belum berhasil kami terima. "
                   "Silakan kirim ulang sebentar lagi, ya.")


@dataclass(frozen=True)
class TelegramConfig:
    """The connector's configuration, read from the environment."""

    token: str
    secret_token: str
    webhook_url: str | None
    api_base_url: str

    @property
    def bot_id(self) -> str:
        """The numeric bot id at the start of the token (not a secret)."""
        return self.token.split(":", 1)[0]

    @classmethod
    def from_env(cls) -> tuple[TelegramConfig | None, list[str]]:
        """The configuration, or None and the names of the missing/invalid variables."""
        values, missing = env_values((ENV_TOKEN, ENV_SECRET))
        if missing:
            return None, missing
        invalid = []
        if not TOKEN_PATTERN.match(values[ENV_TOKEN]):
            invalid.append(ENV_TOKEN)
        if not SECRET_PATTERN.match(values[ENV_SECRET]):
            invalid.append(ENV_SECRET)
        if invalid:
            logger.warning("Telegram: %s malformed (see docs/_parts/telegram.md)",
                           " and ".join(invalid))
            return None, invalid
        optional, _ = env_values((ENV_WEBHOOK_URL, ENV_API_BASE_URL))
        return cls(
            token=values[ENV_TOKEN],
            secret_token=values[ENV_SECRET],
            webhook_url=optional.get(ENV_WEBHOOK_URL),
            api_base_url=optional.get(ENV_API_BASE_URL, DEFAULT_API_BASE_URL).rstrip("/"),
        ), []


def quiet_library_loggers() -> None:
    """Keep the token (in request URLs) and chat ids (in debug dumps) out of the logs.

    httpx logs every request URL at INFO, and Bot API URLs contain the token;
    python-telegram-bot logs call parameters (chat ids, texts) at DEBUG.
    """
    for name, level in (("httpx", logging.WARNING), ("httpcore", logging.WARNING),
                        ("telegram", logging.INFO)):
        library_logger = logging.getLogger(name)
        if library_logger.level < level:  # NOTSET (0) would follow the root logger
            library_logger.setLevel(level)


def make_bot(config: TelegramConfig) -> Bot:
    """A python-telegram-bot `Bot` talking to `config.api_base_url` (with timeouts)."""
    request = HTTPXRequest(connection_pool_size=8, connect_timeout=5.0, read_timeout=15.0,
                           write_timeout=15.0, pool_timeout=5.0)
    return Bot(config.token, base_url=f"{config.api_base_url}/bot",
               base_file_url=f"{config.api_base_url}/file/bot", request=request,
               get_updates_request=HTTPXRequest(connection_pool_size=1))


def pick_photo(sizes: tuple[PhotoSize, ...], limit: int) -> PhotoSize | None:
    """The largest photo size not over `limit` bytes (unknown sizes count as fitting)."""
    fitting = [s for s in sizes if not s.file_size or s.file_size <= limit]
    if not fitting:
        return None
    return max(fitting, key=lambda s: (s.width * s.height, s.file_size or 0))


class TelegramInput(InputChannel):
    """Receives Telegram updates on a webhook and hands them to Rasa."""

    @classmethod
    def name(cls) -> str:
        """The channel name (URL prefix /webhooks/telegram/)."""
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TelegramInput:
        """Read the configuration from the environment; a disabled channel when incomplete."""
        config, missing = TelegramConfig.from_env()
        if config is None:
            log_skipped(CHANNEL, missing, 2)
        return cls(config)

    def __init__(self, config: TelegramConfig | None,
                 deduplicator: Deduplicator | None = None,
                 guard: InboundGuard | None = None) -> None:
        self.config = config
        self.guard = guard or InboundGuard()
        self.bot: Bot | None = None
        self.payloads = CallbackPayloads()
        self._dedup = deduplicator
        self._tasks: set[asyncio.Task] = set()
        self._download_client: httpx.AsyncClient | None = None
        if config is not None:
            quiet_library_loggers()
            self.bot = make_bot(config)

    @property
    def enabled(self) -> bool:
        """True when the configuration is complete."""
        return self.config is not None

    def get_output_channel(self) -> None:
        """No proactive output: a chat id is only known while handling its update."""
        return None

    # -- background work ---------------------------------------------------------------

    def _spawn(self, coroutine: Awaitable[Any], what: str) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)

        def done(finished: asyncio.Task) -> None:
            self._tasks.discard(finished)
            if finished.cancelled():
                return
            error = finished.exception()
            if error is not None:
                logger.error("Telegram %s failed", what, exc_info=error)

        task.add_done_callback(done)

    async def wait_idle(self) -> None:
        """Wait until every background task started so far (and those they start) is done."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Let running work finish (briefly), then close the HTTP clients."""
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=SHUTDOWN_GRACE_SECONDS)
            for task in pending:
                task.cancel()
        if self._download_client is not None:
            await self._download_client.aclose()
            self._download_client = None
        if self.bot is not None:
            await self.bot.request.shutdown()

    async def register_webhook(self) -> bool:
        """Call setWebhook with the secret token and allowed updates; log failures."""
        if self.config is None or self.bot is None or not self.config.webhook_url:
            return False
        bot, config = self.bot, self.config

        async def call() -> bool:
            return await bot.set_webhook(url=config.webhook_url,
                                         secret_token=config.secret_token,
                                         allowed_updates=ALLOWED_UPDATES)

        try:
            await call_with_retries(call, "setWebhook")
        except TelegramError as exc:
            logger.warning("Telegram setWebhook failed (%s: %s); updates will not arrive "
                           "until the webhook is set", type(exc).__name__, exc.message)
            return False
        logger.info("Telegram webhook registered")
        return True

    def _deduplicator(self) -> Deduplicator:
        if self._dedup is None:
            self._dedup = make_deduplicator()
        return self._dedup

    # -- HTTP --------------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The webhook route (none when the channel is not configured: the URL is 404)."""
        telegram_webhook = Blueprint("lapor_telegram_webhook", __name__)
        if self.config is None:
            return telegram_webhook
        secret = self.config.secret_token.encode("utf-8")

        @telegram_webhook.listener("after_server_start")
        async def start(app: Any, loop: Any) -> None:
            if self.config is not None and self.config.webhook_url:
                self._spawn(self.register_webhook(), "webhook registration")

        @telegram_webhook.listener("before_server_stop")
        async def stop(app: Any, loop: Any) -> None:
            await self.close()

        @telegram_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @telegram_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            provided = request.headers.get(SECRET_HEADER)
            if provided is None:
                return response.json({"error": "missing secret token"}, status=401)
            if not hmac.compare_digest(provided.encode("utf-8", "replace"), secret):
                return response.json({"error": "wrong secret token"}, status=403)
            try:
                data = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError):
                return response.json({"error": "malformed JSON"}, status=400)
            update_id = data.get("update_id") if isinstance(data, dict) else None
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                return response.json({"error": "not a Telegram update"}, status=400)
            try:
                update = Update.de_json(data, self.bot)
            except Exception as exc:  # noqa: BLE001 - any malformed update is ignored alike
                logger.info("Telegram update %s ignored: unreadable (%s)", update_id,
                            type(exc).__name__)
                return response.json({"status": "ignored"})
            if not await self._deduplicator().first_time(
                    f"{CHANNEL}:{self.config.bot_id if self.config else ''}:{update_id}"):
                logger.info("Telegram update %s already handled", update_id)
                return response.json({"status": "duplicate"})
            self._spawn(self.handle_update(update, on_new_message), f"update {update_id}")
            return response.json({"status": "accepted"})

        return telegram_webhook

    # -- updates -----------------------------------------------------------------------

    async def handle_update(self, update: Update,
                            on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """Handle one update: a message or a pressed inline button; ignore the rest."""
        if update.callback_query is not None:
            await self._handle_callback(update, update.callback_query, on_new_message)
        elif update.message is not None:
            await self._handle_message(update, update.message, on_new_message)
        else:
            logger.info("Telegram update %s ignored: not a message", update.update_id)

    def _output(self, chat_id: int) -> TelegramOutput:
        assert self.bot is not None  # noqa: S101 - only called when enabled
        return TelegramOutput(self.bot, chat_id, self.payloads)

    async def _reply(self, chat_id: int, text: str) -> None:
        await self._output(chat_id).send_text_message("", text)

    async def _group_notice(self, chat_id: int) -> None:
        key = "telegram-group-notice:" + sender_key("telegram-group", chat_id)
        if await self._deduplicator().first_time(key):
            await self._reply(chat_id, GROUP_NOTICE)

    async def _handle_callback(self, update: Update, query: CallbackQuery,
                               on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        assert self.bot is not None  # noqa: S101 - only called when enabled
        bot = self.bot

        async def answer() -> bool:
            return await bot.answer_callback_query(query.id)

        try:
            await call_with_retries(answer, "answerCallbackQuery")
        except TelegramError as exc:
            logger.info("Telegram answerCallbackQuery failed: %s", type(exc).__name__)
        message = query.message
        chat = message.chat if message is not None else None
        if query.from_user is None or query.from_user.is_bot or query.data is None:
            return
        if chat is not None and chat.type != chat.PRIVATE:
            return
        chat_id = chat.id if chat is not None else query.from_user.id
        payload = self.payloads.decode(query.data)
        if payload is None:
            payload = self._button_title(message, query.data)
        if not payload:
            await self._reply(chat_id, EXPIRED_CHOICE)
            return
        sender = pseudonymous_sender(CHANNEL, query.from_user.id)
        if not await self._admit(chat_id, sender, None):
            return
        await on_new_message(UserMessage(
            payload, self._output(chat_id), sender,
            input_channel=CHANNEL, message_id=f"tg-{update.update_id}",
            metadata=message_metadata(CHANNEL, sender, raw_contact=chat_id),
        ))

    async def _admit(self, chat_id: int, sender: str, text: str | None) -> bool:
        """Length and rate checks (channels.inbound); answers here when refused."""
        verdict = self.guard.check(sender, text)
        if not verdict.accept and verdict.reply:
            await self._reply(chat_id, verdict.reply)
        return verdict.accept

    @staticmethod
    def _button_title(message: Any, data: str) -> str | None:
        """The title of the pressed button, when its token is no longer remembered."""
        markup = getattr(message, "reply_markup", None)
        for row in getattr(markup, "inline_keyboard", None) or ():
            for button in row:
                if button.callback_data == data:
                    return button.text
        return None

    async def _handle_message(self, update: Update, message: Message,
                              on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        user = message.from_user
        if user is None or user.is_bot:
            return
        chat_id = message.chat.id
        if message.chat.type != message.chat.PRIVATE:
            await self._group_notice(chat_id)
            return
        sender = pseudonymous_sender(CHANNEL, user.id)
        if not await self._admit(chat_id, sender, message.text):
            return
        evidence: list[EvidenceFile] = []
        location: tuple[float, float] | None = None
        text: str
        if message.text is not None:
            text = message.text
            command = text.split(maxsplit=1)[0] if text.strip() else ""
            if command == START_COMMAND or command.startswith(START_COMMAND + "@"):
                text = GREET_PAYLOAD
        elif message.photo or message.document is not None:
            try:
                evidence.append(await self._fetch_evidence(message))
            except EvidenceRejected as rejected:
                logger.info("Telegram evidence rejected: %s", rejected.reason)
                await self._reply(chat_id, rejected.message_id)
                return
            except (TelegramError, httpx.HTTPError) as exc:
                logger.warning("Telegram evidence download failed: %s", type(exc).__name__)
                await self._reply(chat_id, DOWNLOAD_FAILED)
                return
            text = message.caption if message.caption and message.caption.strip() \
                else EVIDENCE_PAYLOAD
        elif message.location is not None:
            location = (message.location.latitude, message.location.longitude)
            text = LOCATION_PAYLOAD
        else:
            text = UNSUPPORTED_PAYLOAD
        if not text.strip():
            text = UNSUPPORTED_PAYLOAD
        logger.debug("Telegram message (chat %s)", redact(chat_id))
        await on_new_message(UserMessage(
            text, self._output(chat_id), sender, input_channel=CHANNEL,
            message_id=f"tg-{update.update_id}",
            metadata=message_metadata(CHANNEL, sender, raw_contact=chat_id, evidence=evidence,
                                      location=location),
        ))

    async def _fetch_evidence(self, message: Message) -> EvidenceFile:
        """Download a photo or document (never more than the size limit) and store it."""
        assert self.bot is not None  # noqa: S101 - only called when enabled
        limit = max_evidence_bytes()
        claimed: str | None
        if message.photo:
            photo = pick_photo(message.photo, limit)
            if photo is None:
                raise too_large(limit)
            file_id, declared, claimed = photo.file_id, photo.file_size, "image/jpeg"
        else:
            document = message.document
            assert document is not None  # noqa: S101 - checked by the caller
            file_id, declared, claimed = document.file_id, document.file_size, document.mime_type
        if declared and declared > limit:
            raise too_large(limit)
        bot = self.bot

        async def get_file() -> Any:
            return await bot.get_file(file_id)

        try:
            remote = await call_with_retries(get_file, "getFile")
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                raise too_large(limit) from exc
            raise
        if remote.file_size and remote.file_size > limit:
            raise too_large(limit)
        if not remote.file_path:
            raise TelegramError("getFile returned no file_path")
        data = await self._download(remote.file_path, limit)
        return await asyncio.to_thread(save_evidence, data, claimed)

    async def _download(self, url: str, limit: int) -> bytes:
        """GET a file, stopping as soon as it is over `limit` bytes."""
        if self._download_client is None:
            self._download_client = httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT,
                                                      follow_redirects=False)
        chunks: list[bytes] = []
        size = 0
        async with self._download_client.stream("GET", url) as reply:
            if reply.status_code != 200:
                raise TelegramError(f"file download answered HTTP {reply.status_code}")
            async for chunk in reply.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                chunks.append(chunk)
        return b"".join(chunks)
