"""`WebhookChannel`: what every webhook connector shares (WhatsApp, Telegram, ...).

A platform supplies four things and nothing else is written twice:

- `verify(request)`: None when the request really comes from the platform, else
  the error response (401/403);
- `parse(payload)`: the decoded JSON body as `Incoming` messages (raise
  `NotAnUpdate` for a body that is JSON but not the platform's; anything it
  cannot read is simply left out);
- `fetch_media(incoming, limit)`: the bytes of an attached file, raising
  `EvidenceRejected` (too large) or `MediaUnavailable`;
- `output_for(incoming)`: the `OutputChannel` that answers this person.

Optional hooks: `add_routes` (more routes, e.g. WhatsApp's handshake),
`acknowledge` (on every message, e.g. Telegram's answerCallbackQuery),
`rasa_text` (numbered replies, button tokens, commands), `on_start`,
`close_platform`.

The base owns the rest: `GET /` (health) and `POST /webhook`; a 400 JSON error
for a malformed body; answering at once and handling the messages in background
tasks (in order, one failure not stopping the next); deduplication by
`Incoming.key` in the ephemeral store (`dedup:<channel>:<key>`, a day); the
inbound guard (length, rate); downloading and storing files in a thread, and
the polite answers when that fails; pseudonym, attestation and metadata
(`channels.common.message_metadata`); and at shutdown, letting running work
finish (briefly) before the platform's clients are closed.
"""

from __future__ import annotations

import abc
import asyncio
import enum
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import server_hooks
from bot.channel_messages import channel_message
from bot.ephemeral import EphemeralStore, ephemeral_store
from bot.evidence import EvidenceFile, EvidenceRejected, max_evidence_bytes, save_evidence
from bot.settings import get_settings
from channels.common import (
    EVIDENCE_PAYLOAD,
    LOCATION_PAYLOAD,
    UNSUPPORTED_PAYLOAD,
    add_health_route,
    log_skipped,
    message_metadata,
    pseudonymous_sender,
)
from channels.inbound import InboundGuard

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

DEDUP_SECONDS = 24 * 3600.0
SHUTDOWN_GRACE_SECONDS = 10.0



class Kind(str, enum.Enum):
    """What an incoming message is, as far as the assistant is concerned."""

    TEXT = "text"  # typed text (maybe a numbered reply or a command)
    CHOICE = "choice"  # a pressed button: its payload, or a token standing for it
    FILE = "file"  # an image or a document, with an optional caption as text
    LOCATION = "location"
    UNSUPPORTED = "unsupported"  # stickers, voice notes, ...: the assistant says what it reads
    NOTICE = "notice"  # not for Rasa: only answered with `text` (once per key)


class NotAnUpdate(ValueError):
    """The body is JSON but not something the platform sends (answered with 400)."""


class MediaUnavailable(RuntimeError):
    """An attached file could not be fetched from the platform."""


@dataclass
class Incoming:
    """One message from a platform, before it goes to Rasa."""

    key: str  # unique per delivery on this platform; deduplicated
    kind: Kind
    user_id: str | int  # the platform's id of the person (pseudonymised for Rasa)
    contact: str | int  # where replies go (phone, chat id): travels encrypted only
    text: str | None = None
    media: Any = None  # the platform's handle of an attached file
    location: tuple[float, float] | None = None
    message_id: str | None = None
    extra: Any = None  # whatever else the platform's hooks need


class WebhookChannel(InputChannel, abc.ABC):
    """A Rasa input channel fed by a platform's webhook; subclasses add the platform.

    `config` is the platform's configuration; None leaves the channel off (no
    routes: every URL is 404), as when its settings are missing.
    """

    #: The channel name: Rasa's input channel, the URL prefix, the pseudonym's channel.
    channel_name = ""
    #: The configuration class: `from_settings(settings)` -> (config or None, missing names).
    config_class: Any = None
    #: How many variables a complete configuration has (a half-configured channel stops
    #: a production start, see `channels.common.log_skipped`).
    required_variables = 0

    @classmethod
    def name(cls) -> str:
        """The channel name (`channel_name`)."""
        return cls.channel_name

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WebhookChannel:
        """Built from `bot.settings` (never credentials.yml); off when incomplete."""
        config, missing = cls.config_class.from_settings(get_settings())
        if config is None:
            log_skipped(cls.name(), missing, cls.required_variables)
        return cls(config)

    def __init__(self, config: Any, store: EphemeralStore | None = None,
                 guard: InboundGuard | None = None) -> None:
        self.config = config
        self.store = store if store is not None else ephemeral_store()
        self.guard = guard if guard is not None else InboundGuard(self.store)
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def enabled(self) -> bool:
        """True when the channel is configured and serves its webhook."""
        return self.config is not None

    def get_output_channel(self) -> None:
        """None: Rasa only knows pseudonyms, so an address exists only while a message is
        handled. Notices outside a conversation go through `channels.outbound`."""
        return None

    # -- what a platform supplies -------------------------------------------------------

    @abc.abstractmethod
    def verify(self, request: Request) -> HTTPResponse | None:
        """None when `request` comes from the platform, else the error response."""

    @abc.abstractmethod
    def parse(self, payload: Any) -> list[Incoming]:
        """The messages in a webhook body; raise NotAnUpdate for a foreign body."""

    @abc.abstractmethod
    async def fetch_media(self, incoming: Incoming, limit: int) -> tuple[bytes, str | None]:
        """The bytes and claimed content type of `incoming`'s file (at most `limit` bytes)."""

    @abc.abstractmethod
    def output_for(self, incoming: Incoming) -> OutputChannel:
        """The output channel answering the sender of `incoming`."""

    def add_routes(self, blueprint: Blueprint) -> None:
        """Add platform routes next to `GET /` and `POST /webhook` (none by default)."""

    async def acknowledge(self, incoming: Incoming, sender: str) -> None:
        """Called for every fresh message before anything else (nothing by default)."""

    async def rasa_text(self, incoming: Incoming, sender: str) -> str | None:
        """What Rasa receives for a text or a button; None: the choice has expired."""
        return incoming.text

    async def on_start(self) -> None:
        """Run once the server has started (nothing by default)."""

    async def close_platform(self) -> None:
        """Close the platform's clients (nothing by default)."""

    # -- background work ----------------------------------------------------------------

    def spawn(self, work: Awaitable[Any], what: str) -> None:
        """Run `work` in the background, keeping a reference and logging a failure."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                logger.error("%s %s failed", self.name(), what, exc_info=finished.exception())

        task.add_done_callback(done)

    async def wait_idle(self) -> None:
        """Wait until every background task started so far (and those they start) is done."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Let running work finish (at most SHUTDOWN_GRACE_SECONDS), then close the clients."""
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=SHUTDOWN_GRACE_SECONDS)
            for task in pending:
                task.cancel()
        await self.close_platform()

    # -- HTTP ---------------------------------------------------------------------------

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """The webhook routes (none when the channel is not configured: the URLs are 404)."""
        webhook = Blueprint(f"{self.name()}_webhook_{id(self)}", __name__)
        server_hooks.install(webhook)
        if not self.enabled:
            return webhook

        @webhook.listener("after_server_start")
        async def start(app: Any, loop: Any) -> None:
            self.spawn(self.on_start(), "start-up")

        @webhook.listener("before_server_stop")
        async def stop(app: Any, loop: Any) -> None:
            await self.close()

        add_health_route(webhook)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.receive(request, on_new_message)

        self.add_routes(webhook)
        return webhook

    async def receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        """Verify, parse, deduplicate; answer at once and handle the messages later."""
        refused = self.verify(request)
        if refused is not None:
            return refused
        try:
            payload = json.loads(request.body or b"")
        except (ValueError, UnicodeDecodeError):
            return response.json({"error": "malformed JSON"}, status=400)
        try:
            messages = self.parse(payload)
        except NotAnUpdate as exc:
            return response.json({"error": str(exc)}, status=400)
        fresh = [m for m in messages
                 if await self.store.add(f"dedup:{self.name()}:{m.key}", "1", DEDUP_SECONDS)]
        if len(fresh) < len(messages):
            logger.info("%s: %d duplicate delivery(ies) ignored", self.name(),
                        len(messages) - len(fresh))
        if fresh:
            self.spawn(self.handle_all(fresh, on_new_message), "message handling")
            return response.json({"status": "accepted"})
        return response.json({"status": "duplicate" if messages else "ignored"})

    # -- messages -----------------------------------------------------------------------

    async def handle_all(self, messages: list[Incoming], on_new_message: OnNewMessage) -> None:
        """Handle a webhook's messages in order; one failure does not stop the others."""
        for incoming in messages:
            try:
                await self.handle(incoming, on_new_message)
            except Exception as exc:  # noqa: BLE001 - logged, the next message still goes
                logger.error("%s %s message failed: %s", self.name(), incoming.kind,
                             type(exc).__name__, exc_info=exc)

    async def handle(self, incoming: Incoming, on_new_message: OnNewMessage) -> None:
        """Check one message, resolve its text and file, and hand it to Rasa."""
        output = self.output_for(incoming)
        if incoming.kind == Kind.NOTICE:
            await output.send_text_message("", incoming.text or "")
            return
        sender = pseudonymous_sender(self.name(), incoming.user_id)
        await self.acknowledge(incoming, sender)
        if not await self.guard.admit(sender, incoming.text, output):
            return
        evidence: list[EvidenceFile] = []
        text: str | None
        if incoming.kind == Kind.FILE:
            stored = await self.store_file(incoming, output, sender)
            if stored is None:
                return
            evidence.append(stored)
            text = incoming.text or EVIDENCE_PAYLOAD
        elif incoming.kind == Kind.LOCATION:
            text = LOCATION_PAYLOAD
        elif incoming.kind in (Kind.TEXT, Kind.CHOICE):
            text = await self.rasa_text(incoming, sender)
            if text is None:
                await output.send_text_message(sender, channel_message("expired_choice"))
                return
        else:
            text = UNSUPPORTED_PAYLOAD
        logger.debug("%s %s message", self.name(), incoming.kind)
        await on_new_message(UserMessage(
            text, output, sender, input_channel=self.name(), message_id=incoming.message_id,
            metadata=message_metadata(self.name(), sender, raw_contact=incoming.contact,
                                      evidence=evidence, location=incoming.location)))

    async def store_file(self, incoming: Incoming, output: OutputChannel,
                         sender: str) -> EvidenceFile | None:
        """Fetch and store a file; on failure tell the citizen why and return None."""
        limit = max_evidence_bytes()
        try:
            data, claimed = await self.fetch_media(incoming, limit)
            return await asyncio.to_thread(save_evidence, data, claimed)
        except EvidenceRejected as rejected:
            logger.info("%s file refused: %s", self.name(), rejected.reason)
            reply = rejected.message_id
        except MediaUnavailable as exc:
            logger.warning("%s file could not be fetched: %s", self.name(), exc)
            reply = channel_message("download_failed")
        await output.send_text_message(sender, reply)
        return None
