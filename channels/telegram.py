"""Telegram input channel (Bot API webhook, python-telegram-bot).

Enabled in credentials.yml as `channels.telegram.TelegramInput:` (no parameters);
configuration comes from the environment, read through `bot.settings`:

- TELEGRAM_BOT_TOKEN (required): the token from @BotFather.
- TELEGRAM_SECRET_TOKEN (required): 1-256 characters `A-Z a-z 0-9 _ -`; Telegram
  sends it in `X-Telegram-Bot-Api-Secret-Token` and requests without it are refused.
- TELEGRAM_WEBHOOK_URL (optional): when set, `setWebhook` is called at start-up
  with the secret token and the update types handled here.
- TELEGRAM_API_BASE_URL (optional, default https://api.telegram.org).

Webhook: POST /webhooks/telegram/webhook. The life cycle (answered at once,
handled in a background task, each update_id once, rate limit, evidence
storage) is `channels.webhook.WebhookChannel`'s; this module checks the secret
token, reads updates and downloads files. Only private chats are served: in a
group the bot says once (per deduplication window) that it only talks
privately, and ignores the rest.

What Rasa receives (see channels/common.py): "/start" -> "/greet"; text; the
payload of a pressed inline button; photos (largest size under the limit) and
documents as evidence with their caption as text (or EVIDENCE_PAYLOAD);
locations as LOCATION_PAYLOAD; anything else as UNSUPPORTED_PAYLOAD. The sender
id is the pseudonymous key of the Telegram user id; the chat id only travels
encrypted in `metadata["contact_token"]`.
"""

from __future__ import annotations

import hmac
import logging
import re
from dataclasses import dataclass
from typing import Any

import httpx
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot, CallbackQuery, Message, PhotoSize, Update
from telegram.error import BadRequest, TelegramError
from telegram.request import HTTPXRequest

from bot.channel_messages import channel_message
from bot.ephemeral import EphemeralStore
from bot.evidence import too_large
from bot.privacy import sender_key
from bot.settings import Settings
from channels.common import missing_settings, read_at_most
from channels.inbound import InboundGuard
from channels.telegram_output import CallbackPayloads, TelegramOutput, call_with_retries
from channels.webhook import Incoming, Kind, MediaUnavailable, NotAnUpdate, WebhookChannel

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
TOKEN_PATTERN = re.compile(r"^(\d+):[A-Za-z0-9_-]{20,}$")
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


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
    def from_settings(cls, settings: Settings) -> tuple[TelegramConfig | None, list[str]]:
        """The configuration, or None and the names of the missing/invalid variables."""
        token, secret = settings.telegram_bot_token or "", settings.telegram_secret_token or ""
        missing = missing_settings({ENV_TOKEN: token, ENV_SECRET: secret})
        if missing:
            return None, missing
        invalid = [name for name, value, pattern in ((ENV_TOKEN, token, TOKEN_PATTERN),
                                                     (ENV_SECRET, secret, SECRET_PATTERN))
                   if not pattern.match(value)]
        if invalid:
            logger.warning("Telegram: %s malformed (see docs/channels.md)", " and ".join(invalid))
            return None, invalid
        return cls(
            token=token,
            secret_token=secret,
            webhook_url=settings.telegram_webhook_url,
            api_base_url=(settings.telegram_api_base_url or DEFAULT_API_BASE_URL).rstrip("/"),
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


def _button_title(message: Any, data: str) -> str | None:
    """The title of the pressed button (used when its token is no longer remembered)."""
    markup = getattr(message, "reply_markup", None)
    for row in getattr(markup, "inline_keyboard", None) or ():
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


def _from_callback(update_id: int, query: CallbackQuery) -> Incoming | None:
    message = query.message
    chat = message.chat if message is not None else None
    if query.from_user is None or query.from_user.is_bot or query.data is None:
        return None
    if chat is not None and chat.type != chat.PRIVATE:
        return None
    return Incoming(key=str(update_id), kind=Kind.CHOICE, user_id=query.from_user.id,
                    contact=chat.id if chat is not None else query.from_user.id,
                    text=query.data, message_id=f"tg-{update_id}",
                    extra=(query.id, _button_title(message, query.data)))


def _from_message(update_id: int, message: Message) -> Incoming | None:
    user = message.from_user
    if user is None or user.is_bot:
        return None
    chat_id = message.chat.id
    if message.chat.type != message.chat.PRIVATE:
        # One notice per group and deduplication window: the key names the group.
        return Incoming(key="group-notice:" + sender_key("telegram-group", chat_id),
                        kind=Kind.NOTICE, user_id=user.id, contact=chat_id,
                        text=channel_message("group_notice"))
    common = {"key": str(update_id), "user_id": user.id, "contact": chat_id,
              "message_id": f"tg-{update_id}"}
    if message.text is not None:
        kind = Kind.TEXT if message.text.strip() else Kind.UNSUPPORTED
        return Incoming(kind=kind, text=message.text, **common)
    if message.photo or message.document is not None:
        caption = message.caption.strip() if message.caption else ""
        return Incoming(kind=Kind.FILE, text=caption or None, media=message, **common)
    if message.location is not None:
        return Incoming(kind=Kind.LOCATION, **common,
                        location=(message.location.latitude, message.location.longitude))
    return Incoming(kind=Kind.UNSUPPORTED, **common)


class TelegramInput(WebhookChannel):
    """Receives Telegram updates on a webhook and hands them to Rasa."""

    channel_name = CHANNEL
    config_class = TelegramConfig
    required_variables = 2

    def __init__(self, config: TelegramConfig | None, store: EphemeralStore | None = None,
                 guard: InboundGuard | None = None) -> None:
        super().__init__(config, store, guard)
        self.config: TelegramConfig | None
        self.bot: Bot | None = None
        self.payloads = CallbackPayloads(self.store)
        self._download_client: httpx.AsyncClient | None = None
        if config is not None:
            quiet_library_loggers()
            self.bot = make_bot(config)

    # -- the platform -------------------------------------------------------------------

    def verify(self, request: Request) -> HTTPResponse | None:
        """The secret token header must match TELEGRAM_SECRET_TOKEN (constant time)."""
        assert self.config is not None
        provided = request.headers.get(SECRET_HEADER)
        if provided is None:
            return response.json({"error": "missing secret token"}, status=401)
        if not hmac.compare_digest(provided.encode("utf-8", "replace"),
                                   self.config.secret_token.encode("utf-8")):
            return response.json({"error": "wrong secret token"}, status=403)
        return None

    def parse(self, payload: Any) -> list[Incoming]:
        """A message or a pressed inline button; other updates are ignored."""
        update_id = payload.get("update_id") if isinstance(payload, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise NotAnUpdate("not a Telegram update")
        try:
            update = Update.de_json(payload, self.bot)
        except Exception as exc:  # noqa: BLE001 - any malformed update is ignored alike
            logger.info("Telegram update %s ignored: unreadable (%s)", update_id,
                        type(exc).__name__)
            return []
        bot_id = self.config.bot_id if self.config else ""
        found: Incoming | None = None
        if update.callback_query is not None:
            found = _from_callback(update_id, update.callback_query)
        elif update.message is not None:
            found = _from_message(update_id, update.message)
        if found is None:
            logger.info("Telegram update %s ignored: nothing to hand on", update_id)
            return []
        found.key = f"{bot_id}:{found.key}"
        return [found]

    def output_for(self, incoming: Incoming) -> TelegramOutput:
        """Answers go to the chat the update came from."""
        assert self.bot is not None
        return TelegramOutput(self.bot, int(incoming.contact), self.payloads)

    async def acknowledge(self, incoming: Incoming, sender: str) -> None:
        """A pressed button is answered at once (it stops the spinner on the button)."""
        if incoming.kind != Kind.CHOICE or self.bot is None:
            return
        bot, query_id = self.bot, incoming.extra[0]
        try:
            await call_with_retries(lambda: bot.answer_callback_query(query_id),
                                    "answerCallbackQuery")
        except TelegramError as exc:
            logger.info("Telegram answerCallbackQuery failed: %s", type(exc).__name__)

    async def rasa_text(self, incoming: Incoming, sender: str) -> str | None:
        """"/start" greets; a button token stands for its payload (else the title)."""
        text = incoming.text or ""
        if incoming.kind == Kind.CHOICE:
            return await self.payloads.decode(text) or incoming.extra[1]
        command = text.split(maxsplit=1)[0] if text.strip() else ""
        if command == START_COMMAND or command.startswith(START_COMMAND + "@"):
            return GREET_PAYLOAD
        return text

    async def on_start(self) -> None:
        """Register the webhook when TELEGRAM_WEBHOOK_URL is set."""
        if self.config is not None and self.config.webhook_url:
            await self.register_webhook()

    async def register_webhook(self) -> bool:
        """Call setWebhook with the secret token and allowed updates; log failures."""
        if self.config is None or self.bot is None or not self.config.webhook_url:
            return False
        bot, config = self.bot, self.config
        try:
            await call_with_retries(
                lambda: bot.set_webhook(url=config.webhook_url, secret_token=config.secret_token,
                                        allowed_updates=ALLOWED_UPDATES), "setWebhook")
        except TelegramError as exc:
            logger.warning("Telegram setWebhook failed (%s: %s); updates will not arrive "
                           "until the webhook is set", type(exc).__name__, exc.message)
            return False
        logger.info("Telegram webhook registered")
        return True

    async def close_platform(self) -> None:
        """Close the download client and the Bot API client."""
        if self._download_client is not None:
            await self._download_client.aclose()
            self._download_client = None
        if self.bot is not None:
            await self.bot.request.shutdown()

    # -- files --------------------------------------------------------------------------

    async def fetch_media(self, incoming: Incoming, limit: int) -> tuple[bytes, str | None]:
        """Download a photo (largest size under the limit) or a document."""
        try:
            return await self._fetch(incoming.media, limit)
        except (TelegramError, httpx.HTTPError) as exc:
            raise MediaUnavailable(type(exc).__name__) from None

    async def _fetch(self, message: Message, limit: int) -> tuple[bytes, str | None]:
        assert self.bot is not None  # noqa: S101 - only called when enabled
        claimed: str | None
        if message.photo:
            photo = pick_photo(message.photo, limit)
            if photo is None:
                raise too_large(limit)
            file_id, declared, claimed = photo.file_id, photo.file_size, "image/jpeg"
        else:
            document = message.document
            assert document is not None  # noqa: S101 - checked by the parser
            file_id, declared, claimed = document.file_id, document.file_size, document.mime_type
        if declared and declared > limit:
            raise too_large(limit)
        bot = self.bot
        try:
            remote = await call_with_retries(lambda: bot.get_file(file_id), "getFile")
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                raise too_large(limit) from exc
            raise
        if remote.file_size and remote.file_size > limit:
            raise too_large(limit)
        if not remote.file_path:
            raise TelegramError("getFile returned no file_path")
        return await self._download(remote.file_path, limit), claimed

    async def _download(self, url: str, limit: int) -> bytes:
        """GET a file, stopping as soon as it is over `limit` bytes."""
        if self._download_client is None:
            self._download_client = httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT,
                                                      follow_redirects=False)
        async with self._download_client.stream("GET", url) as reply:
            if reply.status_code != 200:
                raise TelegramError(f"file download answered HTTP {reply.status_code}")
            data = await read_at_most(reply.aiter_bytes(), limit)
        if data is None:
            raise too_large(limit)
        return data
