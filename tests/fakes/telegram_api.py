"""A fake Telegram Bot API server on 127.0.0.1 that speaks the real protocol.

- `POST|GET /bot<token>/<method>` with JSON, form-urlencoded or multipart bodies
  (or query parameters), answered with `{"ok": true, "result": ...}`, or
  `{"ok": false, "error_code": ..., "description": ...}` (plus
  `parameters.retry_after` for 429), exactly as api.telegram.org does.
- `GET /file/bot<token>/<file_path>` serves files registered with `add_file`
  (after `getFile` gave their `file_path`).
- `setWebhook` remembers the URL and secret token; `deliver()` then posts an
  update to that URL with the `X-Telegram-Bot-Api-Secret-Token` header, as
  Telegram does.

Every call is recorded (`calls`, `calls_to`); `fail_next` scripts errors. The
server runs in the test's event loop (`start`/`stop`) or in its own thread
(`run_in_thread`) for tests that drive synchronous servers.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

logger = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses bigger files
SECRET_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
JSON_FIELDS = {"reply_markup", "allowed_updates", "entities", "caption_entities",
               "link_preview_options", "reply_parameters"}
BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Lapor Bawaslu",
            "username": "lapor_bawaslu_test_bot"}


@dataclass
class ApiCall:
    """One request received by the fake: the method, its parameters, and the answer status."""

    method: str
    params: dict[str, Any]
    status: int = 200
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    declared_size: int


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def response(self) -> web.Response:
        """The error as the Bot API sends it."""
        body: dict[str, Any] = {"ok": False, "error_code": self.code,
                                "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return web.json_response(body, status=self.code)


class FakeTelegramApi:
    """The fake Bot API for one bot token."""

    def __init__(self, token: str) -> None:
        if not TOKEN_PATTERN.match(token):
            raise ValueError("a bot token looks like 123456:ABC-def")
        self.token = token
        self.calls: list[ApiCall] = []
        self.downloads: list[str] = []
        self.webhook: dict[str, Any] | None = None
        self._files: dict[str, _StoredFile] = {}
        self._failures: dict[str, deque[ApiError]] = defaultdict(deque)
        self._message_ids = itertools.count(1000)
        self._condition = threading.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- setup -------------------------------------------------------------------------

    def add_file(self, data: bytes, declared_size: int | None = None,
                 suffix: str = "jpg") -> str:
        """Register a downloadable file; return its file_id."""
        file_id = "AgAC" + secrets.token_urlsafe(24)
        unique = secrets.token_urlsafe(8)
        folder = "photos" if suffix in ("jpg", "png", "webp") else "documents"
        path = f"{folder}/file_{unique}.{suffix}"
        self._files[file_id] = _StoredFile(file_id, unique, path, data,
                                           len(data) if declared_size is None else declared_size)
        return file_id

    def fail_next(self, method: str, code: int, description: str,
                  retry_after: int | None = None, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with this error."""
        for _ in range(times):
            self._failures[method].append(ApiError(code, description, retry_after))

    # -- inspection --------------------------------------------------------------------

    def calls_to(self, method: str, succeeded_only: bool = True) -> list[dict[str, Any]]:
        """The parameters of every call of `method` (by default only the answered ones)."""
        with self._condition:
            return [c.params for c in self.calls
                    if c.method == method and (c.status == 200 or not succeeded_only)]

    def attempts(self, method: str) -> list[int]:
        """The HTTP statuses answered to every call of `method`, in order."""
        with self._condition:
            return [c.status for c in self.calls if c.method == method]

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 120) -> list[dict]:
        """Block until `count` successful calls of `method` were seen; fail clearly if not."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                found = [c.params for c in self.calls if c.method == method and c.status == 200]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(c.method, c.status) for c in self.calls]
                    raise AssertionError(
                        f"the fake Bot API did not receive {count} {method} call(s); saw {seen}")
                self._condition.wait(remaining)

    # -- server ------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_download)
        return app

    async def start(self) -> str:
        """Start listening on a free port of 127.0.0.1; return the base URL."""
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        """Stop the server."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @contextmanager
    def run_in_thread(self) -> Iterator[FakeTelegramApi]:
        """Run the server in a thread with its own event loop (for synchronous tests)."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to the test below
                errors.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()

        thread = threading.Thread(target=serve, name="fake-telegram-api", daemon=True)
        thread.start()
        started.wait(30)
        if errors or not self.base_url:
            raise RuntimeError(f"the fake Telegram Bot API could not start: {errors}")
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(30)
            loop.close()

    async def deliver(self, update: dict[str, Any], url: str | None = None,
                      secret_token: str | None = None) -> int:
        """POST an update to the webhook like Telegram does; return the HTTP status."""
        target = url or (self.webhook or {}).get("url")
        if not target:
            raise AssertionError("no webhook registered with setWebhook and no URL given")
        secret = secret_token if secret_token is not None else (self.webhook or {}).get(
            "secret_token")
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.post(target, data=json.dumps(update), headers=headers) as resp:
                await resp.read()
                return resp.status

    # -- protocol ----------------------------------------------------------------------

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, bytes] = {}
        if request.method == "POST" and request.can_read_body:
            content_type = request.content_type
            if content_type == "application/json":
                body = await request.json()
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: invalid JSON body")
                params.update(body)
            elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        files[key] = value.file.read()
                    else:
                        params[key] = value
        for key in JSON_FIELDS & params.keys():
            if isinstance(params[key], str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError as exc:
                    raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from exc
        return params, files

    def _record(self, call: ApiCall) -> None:
        with self._condition:
            self.calls.append(call)
            self._condition.notify_all()

    async def _handle_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        try:
            params, files = await self._read_params(request)
        except ApiError as error:
            self._record(ApiCall(method, {}, error.code))
            return error.response()
        call = ApiCall(method, params, files=files)
        try:
            if self._failures[method]:
                raise self._failures[method].popleft()
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = handler(params, files)
        except ApiError as error:
            call.status = error.code
            self._record(call)
            return error.response()
        self._record(call)
        return web.json_response({"ok": True, "result": result})

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        path = request.match_info["path"]
        for stored in self._files.values():
            if stored.file_path == path:
                with self._condition:
                    self.downloads.append(path)
                    self._condition.notify_all()
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return ApiError(404, "Not Found").response()

    # -- methods -----------------------------------------------------------------------

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise ApiError(400, "Bad Request: chat_id is empty")
        try:
            chat = int(chat_id)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "Bad Request: chat not found") from exc
        self._check_markup(params.get("reply_markup"))
        message = {"message_id": next(self._message_ids), "date": int(time.time()),
                   "chat": {"id": chat, "type": "private" if chat > 0 else "group"},
                   "from": BOT_USER, **content}
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    @staticmethod
    def _check_markup(markup: Any) -> None:
        if markup in (None, ""):
            return
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise ApiError(400, "Bad Request: field \"inline_keyboard\" must be an Array")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed")
                data = button.get("callback_data")
                if data is not None:
                    size = len(str(data).encode("utf-8"))
                    if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                elif not button.get("url"):
                    raise ApiError(400, "Bad Request: inline keyboard button must have a "
                                        "callback_data or url")

    @staticmethod
    def _check_parse_mode(params: dict[str, Any]) -> None:
        mode = params.get("parse_mode")
        if mode not in (None, "", "HTML", "Markdown", "MarkdownV2"):
            raise ApiError(400, f"Bad Request: unsupported parse_mode \"{mode}\"")

    def _api_getMe(self, params: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
        return dict(BOT_USER)

    def _api_setWebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> bool:
        url = str(params.get("url", ""))
        secret = params.get("secret_token")
        if secret is not None and not SECRET_TOKEN_PATTERN.match(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if url and not url.startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided "
                                "for webhook")
        self.webhook = {"url": url, "secret_token": secret,
                        "allowed_updates": params.get("allowed_updates")} if url else None
        return True

    def _api_deleteWebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> bool:
        self.webhook = None
        return True

    def _api_sendMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> dict:
        text = str(params.get("text", ""))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        self._check_parse_mode(params)
        return self._message(params, text=text)

    def _api_sendPhoto(self, params: dict[str, Any], files: dict[str, bytes]) -> dict:
        if not params.get("photo") and "photo" not in files:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        caption = str(params.get("caption", ""))
        if len(caption) > MAX_CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long")
        photo = [{"file_id": "AgAC" + secrets.token_urlsafe(12), "file_unique_id": "u1",
                  "width": 320, "height": 240, "file_size": 1234}]
        extra = {"caption": caption} if caption else {}
        return self._message(params, photo=photo, **extra)

    def _api_sendChatAction(self, params: dict[str, Any], files: dict[str, bytes]) -> bool:
        self._message(params)
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, bytes]) -> bool:
        if not params.get("callback_query_id"):
            raise ApiError(400, "Bad Request: query is too old and response timeout expired "
                                "or query ID is invalid")
        return True

    def _api_getFile(self, params: dict[str, Any], files: dict[str, bytes]) -> dict:
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.declared_size > MAX_DOWNLOAD_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": stored.declared_size, "file_path": stored.file_path}


class Updates:
    """Builds Telegram `Update` JSON objects as the Bot API sends them."""

    def __init__(self, user_id: int = 512345678, first_update_id: int = 90_000) -> None:
        self.user_id = user_id
        self._ids = itertools.count(first_update_id)
        self._message_ids = itertools.count(1)

    def _user(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": "Warga",
                "language_code": "id"}

    def message(self, chat_type: str = "private", chat_id: int | None = None,
                update_id: int | None = None, **content: Any) -> dict[str, Any]:
        """An update with a `message` carrying `content` (text, photo, document, ...)."""
        chat: dict[str, Any] = {"id": chat_id if chat_id is not None else self.user_id,
                                "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "Warga"
        else:
            chat["title"] = "Grup Diskusi"
        return {"update_id": update_id if update_id is not None else next(self._ids),
                "message": {"message_id": next(self._message_ids), "date": int(time.time()),
                            "chat": chat, "from": self._user(), **content}}

    def text(self, text: str, **kwargs: Any) -> dict[str, Any]:
        """A text message (commands get a bot_command entity, as Telegram sends them)."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        return self.message(**content, **kwargs)

    def photo(self, sizes: list[tuple[str, int, int, int]], caption: str | None = None,
              **kwargs: Any) -> dict[str, Any]:
        """A photo message; `sizes` are (file_id, width, height, file_size)."""
        photo = [{"file_id": fid, "file_unique_id": f"u{i}", "width": w, "height": h,
                  "file_size": size} for i, (fid, w, h, size) in enumerate(sizes)]
        extra = {"caption": caption} if caption else {}
        return self.message(photo=photo, **extra, **kwargs)

    def document(self, file_id: str, file_name: str, mime_type: str, file_size: int,
                 caption: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """A document message."""
        extra = {"caption": caption} if caption else {}
        return self.message(document={"file_id": file_id, "file_unique_id": "d1",
                                      "file_name": file_name, "mime_type": mime_type,
                                      "file_size": file_size}, **extra, **kwargs)

    def location(self, latitude: float, longitude: float, **kwargs: Any) -> dict[str, Any]:
        """A shared location."""
        return self.message(location={"latitude": latitude, "longitude": longitude}, **kwargs)

    def sticker(self, **kwargs: Any) -> dict[str, Any]:
        """A sticker message."""
        return self.message(sticker={"file_id": "CAAC1", "file_unique_id": "s1", "width": 512,
                                     "height": 512, "is_animated": False, "is_video": False,
                                     "type": "regular", "emoji": "👍"}, **kwargs)

    def voice(self, **kwargs: Any) -> dict[str, Any]:
        """A voice note."""
        return self.message(voice={"file_id": "AwAC1", "file_unique_id": "v1", "duration": 3,
                                   "mime_type": "audio/ogg", "file_size": 4000}, **kwargs)

    def callback(self, data: str, message_markup: dict[str, Any] | None = None,
                 update_id: int | None = None) -> dict[str, Any]:
        """A callback query from an inline keyboard button on one of the bot's messages."""
        message: dict[str, Any] = {"message_id": next(self._message_ids),
                                   "date": int(time.time()),
                                   "chat": {"id": self.user_id, "type": "private",
                                            "first_name": "Warga"},
                                   "from": BOT_USER, "text": "Silakan pilih:"}
        if message_markup is not None:
            message["reply_markup"] = message_markup
        return {"update_id": update_id if update_id is not None else next(self._ids),
                "callback_query": {"id": str(4_000_000_000 + next(self._message_ids)),
                                   "from": self._user(), "chat_instance": "-123456",
                                   "data": data, "message": message}}
