"""A fake WhatsApp Cloud API (Graph API) server on 127.0.0.1 for tests.

It speaks the parts of the real protocol the connector uses:

- `POST /{version}/{phone_number_id}/messages` (Bearer token): validates the
  message the way the Cloud API does for the limits we rely on (text 4096,
  1-3 reply buttons with titles of at most 20 characters, list rows 1-10 with
  titles of at most 24, interactive body 1024, list button 20) and answers a
  Graph error (HTTP 400, code 131009) when one is broken; records every request.
  Template messages (`type: template`) are accepted for the approved templates
  in `templates` (name -> language code and number of body parameters), as
  the Cloud API does: an unknown name or language is error 132001, a wrong
  parameter count 132000, a parameter with a line break, a tab or more than
  four spaces in a row 132018.
- `GET /{version}/{media_id}` (Bearer token): media metadata with a download URL.
- `GET /media/{media_id}` (Bearer token): the media bytes.

`fail_next(status, count, retry_after)` makes the next calls answer an error
first (429 with Graph code 130429, or 5xx). The server runs in its own thread
and event loop, so sync tests, async tests and subprocesses can all reach it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

logger = logging.getLogger(__name__)

API_VERSION = "v21.0"
ACCESS_TOKEN = "test-access-token"
PHONE_NUMBER_ID = "106540352242922"
#: The template the tests configure as WHATSAPP_NOTIFY_TEMPLATE, approved in Indonesian
#: with two body parameters: "Status laporan {{1}} Anda kini: {{2}}. ..." (ticket, status).
NOTICE_TEMPLATE = "lapor_pemberitahuan"


@dataclass
class RecordedRequest:
    """One request received by the fake."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    accepted: bool = False  # a /messages call the fake accepted


@dataclass
class MediaItem:
    """A media file served by the fake."""

    data: bytes
    mime_type: str
    announced_size: int | None = None  # what the metadata claims (default: the real size)


@dataclass
class _Failure:
    status: int
    retry_after: str | None


@dataclass
class FakeGraphApi:
    """The fake server; use `start()`/`stop()` or as a context manager."""

    access_token: str = ACCESS_TOKEN
    phone_number_id: str = PHONE_NUMBER_ID
    requests: list[RecordedRequest] = field(default_factory=list)
    media: dict[str, MediaItem] = field(default_factory=dict)
    templates: dict[str, tuple[str, int]] = field(
        default_factory=lambda: {NOTICE_TEMPLATE: ("id", 2)})
    port: int = 0

    def __post_init__(self) -> None:
        self._failures: list[_Failure] = []
        self._lock = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # -- control -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API base URL, with the pinned version (like https://graph.facebook.com/v21.0)."""
        return f"http://127.0.0.1:{self.port}/{API_VERSION}"

    def add_media(self, data: bytes, mime_type: str, announced_size: int | None = None) -> str:
        """Serve a media file; return its media id."""
        media_id = str(uuid.uuid4().int)[:16]
        with self._lock:
            self.media[media_id] = MediaItem(data, mime_type, announced_size)
        return media_id

    def fail_next(self, status: int, count: int = 1, retry_after: str | None = None) -> None:
        """Answer the next `count` requests with `status` (429 or 5xx) before serving again."""
        with self._lock:
            self._failures.extend(_Failure(status, retry_after) for _ in range(count))

    def sent_messages(self) -> list[dict[str, Any]]:
        """The bodies of the accepted `/messages` calls, in order."""
        with self._lock:
            return [r.body for r in self.requests if r.accepted]

    def wait_for_messages(self, count: int, timeout: float = 120.0) -> list[dict[str, Any]]:
        """Wait until `count` messages were accepted; raise with what was received otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                sent = self.sent_messages()
                if len(sent) >= count:
                    return sent
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} messages at the fake Graph API, got {len(sent)}: "
                        f"{json.dumps(sent, ensure_ascii=False)[:2000]}"
                    )
                self._lock.wait(remaining)

    def clear(self) -> None:
        """Forget recorded requests and pending failures."""
        with self._lock:
            self.requests.clear()
            self._failures.clear()

    # -- server --------------------------------------------------------------------------

    def start(self) -> FakeGraphApi:
        """Start listening on a free port of 127.0.0.1 in a background thread."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(f"/{API_VERSION}/{{phone_id}}/messages", self._messages)
        app.router.add_get(f"/{API_VERSION}/{{media_id}}", self._media_info)
        app.router.add_get("/media/{media_id}", self._media_download)
        self._runner = web.AppRunner(app, access_log=None)

        async def serve() -> None:
            assert self._runner is not None
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

        try:
            self._loop.run_until_complete(serve())
        except OSError as exc:
            raise RuntimeError(f"the fake Graph API could not listen on 127.0.0.1: {exc}") from exc
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="fake-graph-api")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the server and its thread."""
        if self._loop is None:
            return
        loop = self._loop
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()
        self._loop = None

    def __enter__(self) -> FakeGraphApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- handlers ------------------------------------------------------------------------

    def _record(self, request: web.Request, body: Any) -> RecordedRequest:
        recorded = RecordedRequest(request.method, request.path, dict(request.headers), body)
        with self._lock:
            self.requests.append(recorded)
            self._lock.notify_all()
        return recorded

    def _take_failure(self) -> _Failure | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.access_token}"

    @staticmethod
    def _error(status: int, code: int, message: str,
               headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response(
            {"error": {"message": message, "type": "OAuthException", "code": code,
                       "fbtrace_id": "AbCdEfGhIjK"}},
            status=status, headers=headers,
        )

    def _failure_response(self) -> web.Response | None:
        failure = self._take_failure()
        if failure is None:
            return None
        headers = {"Retry-After": failure.retry_after} if failure.retry_after else None
        if failure.status == 429:
            return self._error(429, 130429, "Rate limit hit", headers)
        return self._error(failure.status, 1, "An unknown error occurred", headers)

    async def _messages(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        recorded = self._record(request, body)
        failure = self._failure_response()
        if failure is not None:
            return failure
        if not self._authorized(request):
            return self._error(401, 190, "Invalid OAuth access token.")
        if request.match_info["phone_id"] != self.phone_number_id:
            return self._error(400, 100, "Unsupported post request.")
        problem = validate_message(body)
        if problem:
            return self._error(400, 131009, f"Parameter value is not valid: {problem}")
        if body.get("type") == "template":
            code, detail = validate_template(body["template"], self.templates)
            if code:
                return self._error(400, code, detail)
        with self._lock:
            recorded.accepted = True
            self._lock.notify_all()
        return web.json_response({
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
            "messages": [{"id": f"wamid.{uuid.uuid4().hex}"}],
        })

    async def _media_info(self, request: web.Request) -> web.Response:
        self._record(request, None)
        failure = self._failure_response()
        if failure is not None:
            return failure
        if not self._authorized(request):
            return self._error(401, 190, "Invalid OAuth access token.")
        media_id = request.match_info["media_id"]
        with self._lock:
            item = self.media.get(media_id)
        if item is None:
            return self._error(400, 100, "Unsupported get request. Object does not exist.")
        size = item.announced_size if item.announced_size is not None else len(item.data)
        return web.json_response({
            "messaging_product": "whatsapp",
            "url": f"http://127.0.0.1:{self.port}/media/{media_id}",
            "mime_type": item.mime_type,
            "sha256": hashlib.sha256(item.data).hexdigest(),
            "file_size": size,
            "id": media_id,
        })

    async def _media_download(self, request: web.Request) -> web.StreamResponse:
        self._record(request, None)
        failure = self._failure_response()
        if failure is not None:
            return failure
        if not self._authorized(request):
            return web.Response(status=401, text="unauthorized")
        with self._lock:
            item = self.media.get(request.match_info["media_id"])
        if item is None:
            return web.Response(status=404, text="not found")
        # Streamed without Content-Length, as a chunked body.
        stream = web.StreamResponse(headers={"Content-Type": item.mime_type})
        stream.enable_chunked_encoding()
        await stream.prepare(request)
        for start in range(0, len(item.data), 16 * 1024):
            await stream.write(item.data[start:start + 16 * 1024])
        await stream.write_eof()
        return stream


def validate_message(body: Any) -> str | None:
    """What the Cloud API would refuse in a `/messages` body, or None when it is valid."""
    if not isinstance(body, dict):
        return "body is not a JSON object"
    if body.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if not isinstance(body.get("to"), str) or not body["to"]:
        return "to is required"
    kind = body.get("type", "text")
    content = body.get(kind)
    if not isinstance(content, dict):
        return f"{kind} object is required"
    if kind == "text":
        text = content.get("body")
        if not isinstance(text, str) or not text.strip() or len(text) > 4096:
            return "text.body must be 1-4096 characters"
    elif kind == "image":
        if not isinstance(content.get("link"), str) and not isinstance(content.get("id"), str):
            return "image.link or image.id is required"
    elif kind == "interactive":
        return _validate_interactive(content)
    elif kind == "template":
        if not isinstance(content.get("name"), str) or not isinstance(
                (content.get("language") or {}).get("code"), str):
            return "template.name and template.language.code are required"
    return None


def validate_template(template: dict[str, Any],
                      approved: dict[str, tuple[str, int]]) -> tuple[int, str]:
    """The Cloud API error (code, message) for a template message, or (0, "") when valid."""
    name, language = template["name"], template["language"]["code"]
    if approved.get(name, ("", 0))[0] != language:
        return 132001, f"Template name does not exist in the translation: {name} ({language})"
    parameters = [parameter for component in template.get("components") or []
                  if isinstance(component, dict) and component.get("type") == "body"
                  for parameter in component.get("parameters") or []]
    if len(parameters) != approved[name][1]:
        return 132000, "Number of parameters does not match the expected number of params"
    for parameter in parameters:
        text = parameter.get("text") if isinstance(parameter, dict) else None
        if (not isinstance(text, str) or not text.strip() or "\n" in text or "\t" in text
                or "     " in text):
            return 132018, "There was an issue with the parameters in your template"
    return 0, ""


def _validate_interactive(content: dict[str, Any]) -> str | None:
    text = (content.get("body") or {}).get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > 1024:
        return "interactive.body.text must be 1-1024 characters"
    action = content.get("action") or {}
    if content.get("type") == "button":
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return "1-3 buttons are required"
        titles = [b.get("reply", {}).get("title") for b in buttons]
        ids = [b.get("reply", {}).get("id") for b in buttons]
        if any(not isinstance(t, str) or not t or len(t) > 20 for t in titles):
            return "button titles must be 1-20 characters"
        if any(not isinstance(i, str) or not i or len(i) > 256 for i in ids):
            return "button ids must be 1-256 characters"
        if len(set(titles)) != len(titles) or len(set(ids)) != len(ids):
            return "button titles and ids must be unique"
        return None
    if content.get("type") == "list":
        label = action.get("button")
        if not isinstance(label, str) or not label or len(label) > 20:
            return "list button must be 1-20 characters"
        rows = [row for section in action.get("sections") or [] for row in section.get("rows")
                or []]
        if not 1 <= len(rows) <= 10:
            return "a list needs 1-10 rows"
        for row in rows:
            if not isinstance(row.get("title"), str) or not 1 <= len(row["title"]) <= 24:
                return "row titles must be 1-24 characters"
            if not isinstance(row.get("id"), str) or not 1 <= len(row["id"]) <= 200:
                return "row ids must be 1-200 characters"
            if len(row.get("description", "")) > 72:
                return "row descriptions must be at most 72 characters"
        if len({row["id"] for row in rows}) != len(rows):
            return "row ids must be unique"
        return None
    return "unsupported interactive type"
