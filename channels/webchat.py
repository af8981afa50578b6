"""The web widget channel: Rasa's socket.io protocol plus a demo page and screenshot uploads.

Enabled in credentials.yml as `channels.webchat.WebChatInput:` (options below).
Everything is served by the Rasa server itself, under `/webhooks/webchat/`:

- `GET  /webhooks/webchat/`              the demo page (Indonesian, with a CSP)
- `GET  /webhooks/webchat/static/<name>` the widget (`widget.js`, `widget.css`) and the
                                          socket.io client, from `channels/static/`
- `POST /webhooks/webchat/upload`         multipart `session_id`, `file`, `caption`: evidence
- `GET  /webhooks/webchat/health`         `{"status": "ok"}`
- socket.io at `/webhooks/webchat/socket.io/` (option `socketio_path`)

The socket.io side speaks Rasa's protocol (events `session_request`,
`session_confirm`, `user_uttered`, `bot_uttered` with `text`, `quick_replies`
and `attachment`), so stock widgets such as rasa-webchat or chatroom can
connect too. The sender id Rasa sees is `pseudonymous_sender("web", session_id)`;
every socket of a session joins the room named by that sender id, so replies
reach every open tab of the session, and an upload is accepted only for a
session that has at least one connected socket.

Options (credentials.yml): `user_message_evt`, `bot_message_evt`, `namespace`,
`session_persistence` (default true), `socketio_path`, `jwt_key`, `jwt_method`,
`cors_allowed_origins` (default `[]`: CORS left to `rasa run --cors`),
`stored_notices` (default true: show reporters' status notices, see below).
Metadata sent by the client is ignored. Messages are capped and rate-limited
(`channels.inbound`); uploads have an hourly quota per session
(`UPLOAD_QUOTA_PER_HOUR`, bucket `uploads:<sender>`), checked before the file
is stored.

Several processes: a socket lives in one process, so the socket ids of a
session stay in that process's `SessionRegistry`; what the others need is
whether the session is connected at all, kept in the ephemeral store as
`web-presence:<sender>` for PRESENCE_SECONDS, refreshed by every socket event
of the session and removed when its last socket here disconnects. (A process
that dies leaves the mark until it expires; a session idle for longer than
that counts as away in the other processes, and a notice for it waits.) With
REDIS_URL, socket.io itself shares rooms through Redis (`AsyncRedisManager`),
so a reply reaches every tab of a session whichever process holds them.
Notices sent outside a conversation (`WebNotifier`) go to the session's room
when it is connected, else wait in `web-pending:<sender>` (7 days, at most 20)
and are emitted at the session's next `session_request` or message.

Reporters' status notices wait in the reports database instead (the outbox,
state "queued"; `channels.web_notices`): this channel shows them at the
session's next `session_request` and, every few seconds, to the sessions
connected to this process. `from_credentials` turns that on (option
`stored_notices`, default true).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import rasa.core.channels.channel
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer

from bot import server_hooks
from bot.channel_messages import channel_message
from bot.ephemeral import EphemeralStore, ephemeral_store
from bot.evidence import EvidenceRejected, max_evidence_bytes, save_evidence, too_large
from bot.settings import get_settings
from channels.common import (
    EVIDENCE_PAYLOAD,
    add_health_route,
    message_metadata,
    pseudonymous_sender,
    read_at_most,
)
from channels.inbound import InboundGuard
from channels.outbound import Delivery
from channels.web_notices import StoredWebNotices

logger = logging.getLogger(__name__)

CHANNEL = "web"
STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_SOCKETIO_PATH = "/webhooks/webchat/socket.io"
#: Room for the multipart framing (boundaries, part headers, the session id field).
MULTIPART_OVERHEAD_BYTES = 16 * 1024
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
STATIC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")
#: How long a session counts as connected after its last socket event (other processes).
PRESENCE_SECONDS = 3600.0
#: Notices for a session that is away: how long they wait, and how many.
PENDING_SECONDS = 7 * 24 * 3600.0
PENDING_LIMIT = 20

#: Sends `data` as `event` to a socket.io room.
Emitter = Callable[[str, dict[str, Any], str], Awaitable[None]]

CONTENT_TYPES: dict[str, str] = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

#: The demo page loads only its own files; images from the bot may come from https.
DEMO_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob: https:; connect-src 'self'; font-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
SAFE_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _json_error(status: int, message: str) -> HTTPResponse:
    """A JSON error `{"error": message}` with the safe headers."""
    return response.json({"error": message}, status=status, headers=dict(SAFE_HEADERS))


def _refusal(status: int, message_name: str) -> HTTPResponse:
    """A JSON error with the catalogue text `message_name` (channel_messages.yml)."""
    return _json_error(status, channel_message(message_name))


def room_of(session_id: str) -> str:
    """The sender id Rasa sees for a session, also its socket.io room."""
    return pseudonymous_sender(CHANNEL, session_id)


def presence_key(room: str) -> str:
    """The ephemeral-store key saying a session (by its room) is connected somewhere."""
    return f"web-presence:{room}"


def pending_key(room: str) -> str:
    """The ephemeral-store list of notices waiting for a session (by its room)."""
    return f"web-pending:{room}"


def valid_session_id(value: Any) -> bool:
    """True for a session id the widget may use (random, URL-safe, 16-128 characters)."""
    return isinstance(value, str) and bool(SESSION_ID.match(value))


def static_files(directory: Path = STATIC_DIR) -> dict[str, Path]:
    """The files the channel serves, by name: plain files directly in `directory`.

    Requests are looked up in this fixed map, so no request path ever reaches
    the file system (no directory traversal, no symlinks out of the folder).
    """
    files: dict[str, Path] = {}
    if not directory.is_dir():
        logger.warning("Web chat static folder %s is missing", directory)
        return files
    for path in directory.iterdir():
        if (path.is_file() and not path.is_symlink() and STATIC_NAME.match(path.name)
                and path.suffix in CONTENT_TYPES):
            files[path.name] = path
    return files


class WebChatOutput(SocketIOOutput):
    """Rasa's socket.io output, addressed to the room of the session's sender id."""

    @classmethod
    def name(cls) -> str:
        """The output channel name."""
        return "webchat"

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any],
                               **kwargs: Any) -> None:
        """Send a custom payload as the event's data (stock Rasa passes it as kwargs)."""
        await self._send_message(recipient_id, json_message)


class SessionRegistry:
    """Which sockets of this process belong to which session; which sessions are present.

    Socket ids are local to the process that holds the socket; presence (any
    socket of the session, in any process) is kept in the ephemeral store.
    """

    def __init__(self, store: EphemeralStore | None = None,
                 presence_seconds: float = PRESENCE_SECONDS) -> None:
        self.store = store if store is not None else ephemeral_store()
        self._presence_seconds = presence_seconds
        self._session_of: dict[str, str] = {}
        self._sockets_of: dict[str, set[str]] = {}

    async def bind(self, sid: str, session_id: str) -> None:
        """Attach socket `sid` to `session_id` (leaving any earlier session)."""
        if self._session_of.get(sid) != session_id:
            await self.unbind(sid)
            self._session_of[sid] = session_id
            self._sockets_of.setdefault(session_id, set()).add(sid)
        await self.touch(session_id)

    async def unbind(self, sid: str) -> None:
        """Forget socket `sid` (it disconnected or changed session)."""
        session_id = self._session_of.pop(sid, None)
        if session_id is None:
            return
        sockets = self._sockets_of.get(session_id)
        if sockets is not None:
            sockets.discard(sid)
            if not sockets:
                del self._sockets_of[session_id]
                await self.store.delete(presence_key(room_of(session_id)))

    async def touch(self, session_id: str) -> None:
        """Mark `session_id` as connected for another PRESENCE_SECONDS."""
        await self.store.put(presence_key(room_of(session_id)), "1", self._presence_seconds)

    def local_sessions(self) -> list[str]:
        """The sessions with a socket in this process."""
        return list(self._sockets_of)

    def session_of(self, sid: str) -> str | None:
        """The session id of socket `sid`, if it asked for one."""
        return self._session_of.get(sid)

    async def is_connected(self, session_id: str) -> bool:
        """True when a socket of `session_id` is connected here or (recently) elsewhere."""
        if self._sockets_of.get(session_id):
            return True
        return await self.store.get(presence_key(room_of(session_id))) is not None


class WebNotifier:
    """Sends a notice to a web session outside a conversation (`OutboundSender`).

    The recipient is the session's room (its sender key). A connected session
    gets it at once through `emit`; otherwise (or without `emit`) it waits in
    the ephemeral store for the session's next visit.
    """

    channel = "webchat"

    def __init__(self, store: EphemeralStore, emit: Emitter | None = None,
                 event: str = "bot_uttered") -> None:
        self._store = store
        self._emit = emit
        self._event = event

    async def send_text(self, recipient: str, text: str,
                        template_values: Sequence[str] = ()) -> Delivery:
        """Emit to the session's room when it is connected, else keep it for later."""
        message = {"text": text}
        if self._emit is not None and await self._store.get(presence_key(recipient)):
            try:
                await self._emit(self._event, message, recipient)
                return Delivery.SENT
            except Exception as exc:  # noqa: BLE001 - kept for later instead
                logger.warning("Web notice could not be emitted (%s); kept for later",
                               type(exc).__name__)
        await self._store.push(pending_key(recipient), json.dumps(message), PENDING_SECONDS,
                               PENDING_LIMIT)
        return Delivery.QUEUED

    async def close(self) -> None:
        """Nothing to release."""


def redis_emitter(url: str | None, namespace: str | None = None) -> Emitter | None:
    """An emitter reaching every Rasa process's sockets through Redis (None without a URL)."""
    if not url:
        return None
    manager = AsyncRedisManager(url, write_only=True)

    async def emit(event: str, data: dict[str, Any], room: str) -> None:
        await manager.emit(event, data, room=room, namespace=namespace or "/")

    return emit


class WebChatInput(InputChannel):
    """The web widget channel (socket.io, demo page, static files, evidence upload)."""

    @classmethod
    def name(cls) -> str:
        """The channel name, also the URL prefix (`/webhooks/webchat/`)."""
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Build the channel from its (optional) credentials.yml section."""
        credentials = credentials or {}
        return cls(
            user_message_evt=credentials.get("user_message_evt", "user_uttered"),
            bot_message_evt=credentials.get("bot_message_evt", "bot_uttered"),
            namespace=credentials.get("namespace"),
            session_persistence=bool(credentials.get("session_persistence", True)),
            socketio_path=credentials.get("socketio_path", DEFAULT_SOCKETIO_PATH),
            jwt_key=credentials.get("jwt_key"),
            jwt_method=credentials.get("jwt_method", "HS256"),
            cors_allowed_origins=credentials.get("cors_allowed_origins", []),
            notices=StoredWebNotices() if credentials.get("stored_notices", True) else None,
        )

    def __init__(
        self,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        namespace: str | None = None,
        session_persistence: bool = True,
        socketio_path: str = DEFAULT_SOCKETIO_PATH,
        jwt_key: str | None = None,
        jwt_method: str = "HS256",
        cors_allowed_origins: list[str] | str | None = None,
        static_dir: Path = STATIC_DIR,
        store: EphemeralStore | None = None,
        notices: StoredWebNotices | None = None,
    ) -> None:
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.namespace = namespace
        self.session_persistence = session_persistence
        self.socketio_path = socketio_path
        self.jwt_key = jwt_key
        self.jwt_method = jwt_method
        self.cors_allowed_origins = [] if cors_allowed_origins is None else cors_allowed_origins
        self.static_dir = static_dir
        self.sio: AsyncServer | None = None
        self.store = store if store is not None else ephemeral_store()
        self.sessions = SessionRegistry(self.store)
        self.guard = InboundGuard(self.store)
        self.notices = notices
        self._notice_poller: asyncio.Task[None] | None = None

    def get_output_channel(self) -> OutputChannel | None:
        """The output channel for messages Rasa sends on its own (reminders, triggers)."""
        if self.sio is None:
            return None
        return WebChatOutput(self.sio, self.bot_message_evt)

    @staticmethod
    def sender_for(session_id: str) -> str:
        """The sender id (and socket.io room) of a session."""
        return room_of(session_id)

    def notifier(self) -> WebNotifier:
        """A `WebNotifier` emitting through this process's socket.io server."""
        sio = self.sio

        async def emit(event: str, data: dict[str, Any], room: str) -> None:
            if sio is None:
                raise RuntimeError("the web chat server is not running")
            await sio.emit(event, data, room=room, namespace=self.namespace)

        return WebNotifier(self.store, emit if sio is not None else None, self.bot_message_evt)

    async def _deliver_pending(self, sio: AsyncServer, session_id: str) -> None:
        """Emit the notices that waited for this session (see `WebNotifier`)."""
        room = self.sender_for(session_id)
        for item in await self.store.drain(pending_key(room)):
            try:
                message = json.loads(item)
            except ValueError:
                continue
            await sio.emit(self.bot_message_evt, message, room=room, namespace=self.namespace)

    async def _deliver_stored(self, sio: AsyncServer, session_ids: list[str]) -> None:
        """Emit the status notices waiting in the reports database for these sessions."""
        if self.notices is None or not session_ids:
            return
        found = await self.notices.take(self.sender_for(s) for s in session_ids)
        for room, texts in found.items():
            for text in texts:
                await sio.emit(self.bot_message_evt, {"text": text}, room=room,
                               namespace=self.namespace)

    async def _poll_stored_notices(self, sio: AsyncServer, notices: StoredWebNotices) -> None:
        """Show new status notices to the sessions connected here, every few seconds."""
        while True:
            await asyncio.sleep(notices.poll_seconds)
            try:
                await self._deliver_stored(sio, self.sessions.local_sessions())
            except Exception as exc:  # noqa: BLE001 - the next round tries again
                logger.warning("Web notices could not be shown (%s)", type(exc).__name__)

    def _choose_session_id(self, data: Any) -> str:
        """The session id to confirm: the client's when persistent and valid, else a new one."""
        wanted = data.get("session_id") if isinstance(data, dict) else None
        if self.session_persistence and valid_session_id(wanted):
            return str(wanted)
        return uuid.uuid4().hex

    async def _bind(self, sio: AsyncServer, sid: str, session_id: str) -> None:
        """Attach a socket to a session and its room."""
        previous = self.sessions.session_of(sid)
        if previous is not None and previous != session_id:
            await sio.leave_room(sid, self.sender_for(previous), namespace=self.namespace)
        await self.sessions.bind(sid, session_id)
        await sio.enter_room(sid, self.sender_for(session_id), namespace=self.namespace)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The Sanic blueprint: socket.io handlers and the HTTP routes."""
        redis_url = get_settings().redis_url
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=self.cors_allowed_origins,
                          client_manager=AsyncRedisManager(redis_url) if redis_url else None)
        self.sio = sio
        blueprint = SocketBlueprint(sio, self.socketio_path, "webchat_webhook", __name__)
        server_hooks.install(blueprint)
        files = static_files(self.static_dir)
        namespace = self.namespace

        notices = self.notices
        if notices is not None:

            @blueprint.listener("after_server_start")
            async def start_notices(app: Any, loop: Any) -> None:
                self._notice_poller = asyncio.ensure_future(
                    self._poll_stored_notices(sio, notices))

            @blueprint.listener("before_server_stop")
            async def stop_notices(app: Any, loop: Any) -> None:
                poller, self._notice_poller = self._notice_poller, None
                if poller is not None:
                    poller.cancel()
                    await asyncio.gather(poller, return_exceptions=True)
                await asyncio.to_thread(notices.close)

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            if not self.jwt_key:
                return True
            token = auth.get("token") if isinstance(auth, dict) else None
            payload = None
            if token:
                payload = rasa.core.channels.channel.decode_bearer_token(
                    token, self.jwt_key, self.jwt_method)
            return bool(payload)

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str, *args: Any) -> None:
            await self.sessions.unbind(sid)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            session_id = self._choose_session_id(data)
            await self._bind(sio, sid, session_id)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)
            await self._deliver_pending(sio, session_id)
            await self._deliver_stored(sio, [session_id])

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any = None) -> None:
            if not isinstance(data, dict):
                return
            session_id = self.sessions.session_of(sid)
            if session_id is None:
                # A client that sends before session_request: adopt its session id
                # (stock widgets with persistence send it with every message).
                session_id = self._choose_session_id(data)
                await self._bind(sio, sid, session_id)
            else:
                await self.sessions.touch(session_id)
            await self._deliver_pending(sio, session_id)
            # The client's own metadata is never trusted: only what this connector
            # attests (and, for files, what the upload route checked) goes to Rasa.
            text = data.get("message")
            text = str(text) if isinstance(text, (str, int, float)) else ""
            sender = self.sender_for(session_id)
            output = WebChatOutput(sio, self.bot_message_evt)
            if not await self.guard.admit(sender, text, output):
                return
            await on_new_message(UserMessage(
                text, output, sender, input_channel=self.name(),
                metadata=message_metadata(self.name(), sender),
            ))

        @blueprint.route("/", methods=["GET"])
        async def demo_page(request: Request) -> HTTPResponse:
            page = files.get("index.html")
            if page is None:
                return _refusal(404, "web_page_not_found")
            headers = {**SAFE_HEADERS, "Content-Security-Policy": DEMO_PAGE_CSP,
                       "Cache-Control": "no-cache"}
            return response.raw(page.read_bytes(), content_type=CONTENT_TYPES[".html"],
                                 headers=headers)

        add_health_route(blueprint, "/health")

        @blueprint.route("/static/<name:str>", methods=["GET"])
        async def static(request: Request, name: str) -> HTTPResponse:
            path = files.get(name)
            if path is None:
                return _refusal(404, "web_file_not_found")
            headers = {**SAFE_HEADERS, "Cache-Control": "public, max-age=300"}
            if path.suffix == ".html":
                headers["Content-Security-Policy"] = DEMO_PAGE_CSP
            return response.raw(path.read_bytes(), content_type=CONTENT_TYPES[path.suffix],
                                headers=headers)

        @blueprint.route("/upload", methods=["POST"], stream=True)
        async def upload(request: Request) -> HTTPResponse:
            return await self._handle_upload(request, sio, on_new_message)

        return blueprint

    async def _handle_upload(self, request: Request, sio: AsyncServer,
                             on_new_message: Callable[[UserMessage], Awaitable[Any]]
                             ) -> HTTPResponse:
        """Check, store and forward one evidence file (see the module docstring)."""
        file_limit = max_evidence_bytes()
        body_limit = file_limit + MULTIPART_OVERHEAD_BYTES
        content_type = request.headers.get("content-type", "")
        if not content_type.lower().startswith("multipart/form-data"):
            return _refusal(400, "web_bad_request")
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                return _refusal(400, "web_bad_request")
            if int(declared) > body_limit:
                logger.info("Web chat upload refused by Content-Length (%s bytes)", declared)
                return _json_error(413, too_large(file_limit).message_id)
        body = await read_at_most(request.stream, body_limit)  # type: ignore[arg-type]
        if body is None:
            logger.info("Web chat upload refused: body above %d bytes", body_limit)
            return _json_error(413, too_large(file_limit).message_id)
        request.body = body
        try:
            form, uploaded = request.form, request.files
        except Exception:  # noqa: BLE001 - any malformed multipart body is a bad request
            logger.info("Web chat upload with a malformed multipart body")
            return _refusal(400, "web_bad_request")
        session_id = form.get("session_id") if form else None
        if not valid_session_id(session_id):
            return _refusal(400, "web_no_session")
        if not await self.sessions.is_connected(str(session_id)):
            return _refusal(403, "web_no_session")
        await self.sessions.touch(str(session_id))
        sender = self.sender_for(str(session_id))
        quota = get_settings().upload_quota_per_hour
        if not await self.store.take(f"uploads:{sender}", max(1, quota), max(1, quota) / 3600):
            logger.info("Web chat upload refused: the session's hourly quota is used up")
            return _refusal(429, "upload_quota_reached")
        item = uploaded.get("file") if uploaded else None
        if item is None or not item.body:
            return _refusal(400, "web_no_file")
        try:
            evidence = await asyncio.to_thread(save_evidence, item.body, item.type)
        except EvidenceRejected as rejected:
            status = 413 if rejected.reason == "file too large" else (
                415 if rejected.reason == "unsupported type" else 400)
            logger.info("Web chat upload rejected: %s", rejected.reason)
            return _json_error(status, rejected.message_id)
        except OSError:
            logger.exception("Web chat upload could not be stored")
            return _refusal(500, "web_upload_failed")
        # A caption typed in the message box goes with the file, as on WhatsApp and
        # Telegram: Rasa reads it (and the form keeps and reads the file).
        caption = " ".join(str(form.get("caption") or "").split()) if form else ""
        verdict = await self.guard.check(sender, caption or None)
        if not verdict.accept:
            # The file is stored; a later message of the session can still use it
            # (the orphan sweep removes it when nobody does).
            if verdict.reply and len(caption) > get_settings().max_message_chars:
                return _json_error(413, verdict.reply)  # the caption is too long
            return _refusal(429, "too_many_messages")
        await on_new_message(UserMessage(
            caption or EVIDENCE_PAYLOAD,
            WebChatOutput(sio, self.bot_message_evt),
            sender,
            input_channel=self.name(),
            metadata=message_metadata(self.name(), sender, evidence=[evidence]),
        ))
        return response.json(
            {"status": "ok", "kind": evidence.kind, "mime_type": evidence.mime_type,
             "size_bytes": evidence.size_bytes},
            headers=dict(SAFE_HEADERS),
        )
